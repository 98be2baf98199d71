#include "fit/model_bundle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/errors.h"
#include "fit/model_fit.h"
#include "tests/fit/synthetic.h"

namespace lj {
namespace {

class ModelBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lj_bundle_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_);
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  static ModelBundle Fitted() {
    FitOptions o;
    o.folds = 5;
    o.n_alphas = 20;
    ModelBundle b;
    b.hostname = "raptorlake";
    b.cpu_model = "13th Gen Intel(R) Core(TM) i7-13700";
    b.sockets = 1;
    b.cores = 16;
    b.threads_used = 8;
    b.torch_version = "1.13.1";
    b.blas = "OpenBLAS 0.3.21 (pthread)";
    b.rapl_domains = "package-0";
    b.tool_version = "0.1.0";
    b.created_at = "2025-04-28T12:00:00Z";
    b.sources = {"db/a.sqlite"};
    for (const LayerType type : {LayerType::kConv2d, LayerType::kLinear}) {
      const auto rows = testing::SyntheticRows(type, 200, 0.1, 21);
      b.models.push_back(FitModel(type, Pass::kForward, Quantity::kTimeS, rows, o, "rapl"));
      o.kind = ModelKind::kLogLasso;
      b.models.push_back(FitModel(type, Pass::kBackward, Quantity::kEnergyJ, rows, o, "rapl"));
      o.kind = ModelKind::kNnLasso;
    }
    return b;
  }
  std::filesystem::path dir_;
};

TEST_F(ModelBundleTest, RoundTripKeepsEveryFieldAndPrediction) {
  const ModelBundle original = Fitted();
  const std::string path = (dir_ / "models" / "raptorlake.json").string();
  SaveBundle(original, path);  // creates the parent directory
  const ModelBundle loaded = LoadBundle(path);
  EXPECT_EQ(ToJson(loaded), ToJson(original));
  EXPECT_EQ(loaded.hostname, "raptorlake");
  EXPECT_EQ(loaded.blas, original.blas);
  ASSERT_EQ(loaded.models.size(), 4u);
  std::mt19937_64 rng(1);
  for (const Model& m : original.models) {
    const Model* other = loaded.Find(m.layer, m.pass, m.quantity);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(other->terms.size(), m.terms.size());
    for (int i = 0; i < 20; ++i) {
      const LayerConfig c = testing::RandomConfig(m.layer, rng);
      EXPECT_DOUBLE_EQ(Predict(*other, c).value, Predict(m, c).value);
    }
  }
  EXPECT_EQ(loaded.Find(LayerType::kMaxPool2d, Pass::kForward, Quantity::kTimeS), nullptr);
  EXPECT_FALSE(loaded.framework_memory);
  EXPECT_FALSE(ToJson(loaded).contains("framework_memory"));
}

TEST_F(ModelBundleTest, FrameworkMemoryRoundTripsWithOrWithoutItsConvPart) {
  for (const std::optional<int64_t> conv :
       {std::optional<int64_t>{151552}, std::optional<int64_t>{}}) {
    ModelBundle original = Fitted();
    original.framework_memory = FrameworkMemory{1175552, conv, 6};
    const std::string path = (dir_ / "framework.json").string();
    SaveBundle(original, path);
    const ModelBundle loaded = LoadBundle(path);
    ASSERT_TRUE(loaded.framework_memory);
    EXPECT_EQ(loaded.framework_memory->base_bytes, 1175552);
    EXPECT_EQ(loaded.framework_memory->conv2d_bytes, conv);
    EXPECT_EQ(loaded.framework_memory->runs, 6);
  }
}

// The host's first-touch cost round-trips; a bundle without it reads as unknown, and one that
// is not a number > 0 is refused naming the field.
TEST_F(ModelBundleTest, FirstTouchCostRoundTripsAndIsChecked) {
  ModelBundle original = Fitted();
  const std::string path = (dir_ / "touch.json").string();
  SaveBundle(original, path);
  EXPECT_FALSE(LoadBundle(path).first_touch_s_per_page);
  EXPECT_FALSE(ToJson(original).contains("first_touch_s_per_page"));
  original.first_touch_s_per_page = 1.15e-5;
  SaveBundle(original, path);
  ASSERT_TRUE(LoadBundle(path).first_touch_s_per_page);
  EXPECT_DOUBLE_EQ(*LoadBundle(path).first_touch_s_per_page, 1.15e-5);
  for (const nlohmann::json& bad :
       {nlohmann::json(0.0), nlohmann::json(-1e-6), nlohmann::json("x")}) {
    nlohmann::json j = ToJson(original);
    j["first_touch_s_per_page"] = bad;
    try {
      BundleFromJson(j, "b.json");
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("first_touch_s_per_page"), std::string::npos)
          << e.what();
    }
  }
}

// The cost per fault that fit --subtract-fault-time took out round-trips; absent it reads as
// times fitted as measured, and a value that is not a number > 0 is refused naming the field.
TEST_F(ModelBundleTest, RemovedFaultTimeRoundTripsAndIsChecked) {
  ModelBundle original = Fitted();
  const std::string path = (dir_ / "fault.json").string();
  SaveBundle(original, path);
  EXPECT_FALSE(LoadBundle(path).fault_time_removed_s_per_fault);
  original.fault_time_removed_s_per_fault = 8e-6;
  SaveBundle(original, path);
  ASSERT_TRUE(LoadBundle(path).fault_time_removed_s_per_fault);
  EXPECT_DOUBLE_EQ(*LoadBundle(path).fault_time_removed_s_per_fault, 8e-6);
  nlohmann::json j = ToJson(original);
  j["fault_time_removed_s_per_fault"] = -1;
  try {
    BundleFromJson(j, "b.json");
    ADD_FAILURE() << "accepted -1";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("fault_time_removed_s_per_fault must be"),
              std::string::npos)
        << e.what();
  }
}

// The runs' malloc setting round-trips in "host"; a bundle without it reads as not recorded,
// and one that is not text is refused.
TEST_F(ModelBundleTest, MallocSettingRoundTrips) {
  ModelBundle original = Fitted();
  const std::string path = (dir_ / "malloc.json").string();
  SaveBundle(original, path);
  EXPECT_EQ(LoadBundle(path).malloc_setting, "");
  EXPECT_FALSE(ToJson(original).at("host").contains("malloc"));
  original.malloc_setting = "GLIBC_TUNABLES=glibc.malloc.mmap_max=0";
  SaveBundle(original, path);
  EXPECT_EQ(LoadBundle(path).malloc_setting, "GLIBC_TUNABLES=glibc.malloc.mmap_max=0");
  nlohmann::json j = ToJson(original);
  j["host"]["malloc"] = 3;
  EXPECT_THROW(BundleFromJson(j, "b.json"), ConfigError);
}

TEST_F(ModelBundleTest, PredictionNamesFeaturesOutsideTrainingBounds) {
  const ModelBundle b = Fitted();
  const Model* m = b.Find(LayerType::kLinear, Pass::kForward, Quantity::kTimeS);
  ASSERT_NE(m, nullptr);
  LayerConfig inside;
  inside.type = LayerType::kLinear;
  inside.batch_size = 32;
  inside.in_features = 256;
  inside.out_features = 256;
  const Prediction p = Predict(*m, inside);
  EXPECT_FALSE(p.extrapolated);
  EXPECT_TRUE(p.outside.empty());
  EXPECT_GT(p.value, 0);
  LayerConfig big = inside;
  big.in_features = 9216;
  const Prediction q = Predict(*m, big);
  EXPECT_TRUE(q.extrapolated);
  ASSERT_FALSE(q.outside.empty());
  EXPECT_EQ(q.outside[0].rfind("in_features=9216 > max ", 0), 0u) << q.outside[0];
  std::mt19937_64 rng(1);
  const LayerConfig conv = testing::RandomConfig(LayerType::kConv2d, rng);
  EXPECT_THROW(Predict(*m, conv), ConfigError);
}

// Extrapolation::kBoundary: inside the bounds it is kModel; outside, the model at the clamped
// features times the proxy's ratio. Here time = 1e-6 * in_features^2 (bounds: in_features
// and macs 1-100, as a fit bounds every feature) and proxy = 1e-4 * macs: at in_features 200 the
// polynomial says 4e-2 s, the boundary rule 1e-2 s (the model at 100) * 2 (twice the MACs).
TEST(ExtrapolationTest, BoundaryScalesTheBoundaryValueByTheProxy) {
  Model m;
  m.layer = LayerType::kLinear;
  m.pass = Pass::kForward;
  m.quantity = Quantity::kTimeS;
  m.terms.push_back({"in_features^2", ParseTerm(LayerType::kLinear, "in_features^2"), 1e-6});
  m.bounds.push_back({"in_features", 1, 100});
  m.bounds.push_back({"macs", 1, 100});
  Envelope e;
  e.terms.push_back({"macs", ParseTerm(LayerType::kLinear, "macs"), 1e-4});
  e.min_ratio = 1e-3;
  e.max_ratio = 1e3;
  m.envelope = e;
  Model boundary = m;
  boundary.extrapolation = Extrapolation::kBoundary;
  LayerConfig c;
  c.type = LayerType::kLinear;
  c.batch_size = 1;
  c.out_features = 1;
  c.in_features = 50;
  EXPECT_DOUBLE_EQ(Predict(boundary, c).value, Predict(m, c).value);
  EXPECT_NEAR(Predict(m, c).value, 2.5e-3, 1e-12);
  EXPECT_FALSE(Predict(boundary, c).clamped);
  c.in_features = 200;
  EXPECT_NEAR(Predict(m, c).value, 4e-2, 1e-12);
  const Prediction p = Predict(boundary, c);
  EXPECT_NEAR(p.value, 2e-2, 1e-12);
  EXPECT_TRUE(p.extrapolated);
  EXPECT_TRUE(p.clamped);
  EXPECT_NEAR(p.unclamped, 4e-2, 1e-12);  // the model's own value, for the table's note
  boundary.envelope.reset();              // no proxy: as kModel
  EXPECT_NEAR(Predict(boundary, c).value, 4e-2, 1e-12);
}

// The setting is part of the model: it round-trips through JSON, a bundle written before it
// existed reads as "model", and an unknown value is refused by name.
TEST(ExtrapolationTest, RoundTripsAndRefusesUnknownValues) {
  Model m;
  m.layer = LayerType::kReLU;
  m.extrapolation = Extrapolation::kBoundary;
  nlohmann::json j = ToJson(m);
  EXPECT_EQ(j.at("extrapolation"), "boundary");
  EXPECT_EQ(ModelFromJson(j).extrapolation, Extrapolation::kBoundary);
  j.erase("extrapolation");
  EXPECT_EQ(ModelFromJson(j).extrapolation, Extrapolation::kModel);
  j["extrapolation"] = "polynomial";
  try {
    ModelFromJson(j, "m.json");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("polynomial"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParseExtrapolation("Boundary"), ConfigError);
}

// Grouped conv under kBoundary: the dense conv of the same shape, also extrapolated from the
// boundary, stays an upper bound. The model (1 ms per group, fitted on dense convs only: groups
// bounded to [1, 1]) would make a depthwise conv 64x the dense one.
TEST(ExtrapolationTest, BoundaryKeepsTheDenseConvAsUpperBound) {
  Model m;
  m.layer = LayerType::kConv2d;
  m.pass = Pass::kForward;
  m.quantity = Quantity::kTimeS;
  m.extrapolation = Extrapolation::kBoundary;
  m.terms.push_back({"groups", ParseTerm(LayerType::kConv2d, "groups"), 1e-3});
  m.bounds.push_back({"groups", 1, 1});
  Envelope e;
  e.terms.push_back({"macs", ParseTerm(LayerType::kConv2d, "macs"), 1e-9});
  e.min_ratio = 1e-6;
  e.max_ratio = 1e6;
  m.envelope = e;
  LayerConfig dense;
  dense.type = LayerType::kConv2d;
  dense.batch_size = 1;
  dense.in_channels = dense.out_channels = 64;
  dense.height = dense.width = 8;
  dense.kernel_size = 3;
  dense.stride = 1;
  dense.padding = 1;
  dense.groups = 1;
  LayerConfig depthwise = dense;
  depthwise.groups = 64;
  const Prediction d = Predict(m, dense);
  const Prediction g = Predict(m, depthwise);
  EXPECT_NEAR(d.value, 1e-3, 1e-12);
  EXPECT_TRUE(g.extrapolated);
  EXPECT_TRUE(g.clamped);
  EXPECT_LE(g.value, d.value);
  EXPECT_GT(g.value, 0.0);
  m.extrapolation = Extrapolation::kModel;
  EXPECT_LE(Predict(m, depthwise).value, Predict(m, dense).value);
}

// A host name from a database must not steer fit's output out of db/models/ (issue 11).
TEST(DefaultBundlePathTest, KeepsEveryHostNameInsideDbModels) {
  EXPECT_EQ(DefaultBundlePath("node7"), "db/models/node7.json");
  EXPECT_EQ(DefaultBundlePath("raptor-lake_2.lan"), "db/models/raptor-lake_2.lan.json");
  EXPECT_EQ(DefaultBundlePath("../../etc/x"), "db/models/_.._.._etc_x.json");
  EXPECT_EQ(DefaultBundlePath("/abs"), "db/models/_abs.json");
  EXPECT_EQ(DefaultBundlePath(".."), "db/models/_...json");
  EXPECT_EQ(DefaultBundlePath(""), "db/models/_.json");
  EXPECT_EQ(DefaultBundlePath(std::string("a\0b", 3)), "db/models/a_b.json");
  EXPECT_EQ(DemoBundlePath("node7"), "db/demo-models/node7.json");
  EXPECT_EQ(DemoBundlePath("../../etc/x"), "db/demo-models/_.._.._etc_x.json");
}

TEST_F(ModelBundleTest, BadBundlesThrowConfigErrorNamingTheFile) {
  const auto expect_error = [](const std::string& path, const std::string& part) {
    try {
      LoadBundle(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path, 0), 0u) << what;
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  };
  expect_error((dir_ / "missing.json").string(), "cannot open");
  expect_error(Write("broken.json", "{\"format\": "), "invalid JSON");
  expect_error(Write("other.json", "{\"format\": \"something-else\"}"),
               "not a layerjoule model bundle");
  nlohmann::json j = ToJson(Fitted());
  j["format_version"] = 99;
  expect_error(Write("future.json", j.dump()), "format_version 99");
  j = ToJson(Fitted());
  j["models"][1]["terms"].push_back(
      {{"name", "batch_size*colour"}, {"coefficient", 1.0}, {"center", 0.0}, {"scale", 1.0}});
  expect_error(Write("term.json", j.dump()), "unknown feature 'colour'");
  j = ToJson(Fitted());
  j["models"][0]["layer"] = "lstm";
  expect_error(Write("layer.json", j.dump()), "lstm");
  j = ToJson(Fitted());
  j["models"][2].erase("alpha");
  expect_error(Write("alpha.json", j.dump()), "alpha");
  j = ToJson(Fitted());
  j["framework_memory"] = {{"base_bytes", -1}, {"runs", 2}};
  expect_error(Write("framework.json", j.dump()), "framework_memory: base_bytes");
  j["framework_memory"] = {{"base_bytes", 1024}, {"runs", 0}};
  expect_error(Write("runs.json", j.dump()), "runs >= 1");
  j["framework_memory"] = {{"base_bytes", 1024}};
  expect_error(Write("no_runs.json", j.dump()), "runs");
}

TEST(ModelBundleNamesTest, QuantityAndKindNames) {
  for (const Quantity q : {Quantity::kTimeS, Quantity::kEnergyJ, Quantity::kPowerW}) {
    EXPECT_EQ(ParseQuantity(ToString(q)), q);
  }
  for (const ModelKind k : {ModelKind::kNnLasso, ModelKind::kLogLasso, ModelKind::kLasso}) {
    EXPECT_EQ(ParseModelKind(ToString(k)), k);
  }
  EXPECT_THROW(ParseQuantity("energy_uj"), ConfigError);
  EXPECT_THROW(ParseModelKind("ridge"), ConfigError);
}

}  // namespace
}  // namespace lj
