// The fit tool end to end: a store with synthetic samples -> bin/fit -> model bundle; and
// lj::ReadHostSamples, which feeds it.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/malloc_setting.h"
#include "db/store.h"
#include "fit/model_bundle.h"
#include "fit/store_samples.h"
#include "tests/fit/synthetic.h"
#include "tests/support/speed_probes.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

struct Output {
  int status = 0;
  std::string text;  // stdout and stderr
};

Output RunFit(const std::string& args) {
  const char* bin = std::getenv("LJ_BIN_DIR");
  const std::string command = std::string(bin ? bin : "build/bin") + "/fit " + args + " 2>&1";
  Output out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 4096> buffer;
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) out.text += buffer.data();
  const int status = pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class FitCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lj_fit_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Adds one run of `n` configs (forward and backward samples) of `type` on host `hostname`;
  // with energy when meter is "rapl".
  static int64_t AddRun(Store& store, const std::string& hostname, LayerType type, int n,
                        const std::string& meter, uint64_t seed,
                        const std::string& kind = "random") {
    HostInfo host;
    host.hostname = hostname;
    host.cpu_model = "Test CPU";
    host.torch_version = "1.13.1";
    host.blas = "OpenBLAS 0.3.21";
    host.rapl_domains = meter == "rapl" ? "package-0" : "";
    RunInfo run;
    run.host_id = store.UpsertHost(host);
    run.kind = kind;
    run.layer = std::string(ToString(type));
    run.meter = meter;
    const int64_t run_id = store.CreateRun(run);
    int64_t index = 0;
    for (const TrainingRow& r : testing::SyntheticRows(type, n, 0.05, seed)) {
      std::vector<SampleRow> rows;
      for (const Pass pass : {Pass::kForward, Pass::kBackward}) {
        SampleRow s;
        s.run_id = run_id;
        s.sample_index = index;
        s.layer = std::string(ToString(type));
        s.pass = std::string(ToString(pass));
        s.config = ToJson(r.config).dump();
        s.repetitions = 10;
        s.trials = 3;
        s.time_s = r.value * (pass == Pass::kBackward ? 2 : 1);
        if (meter == "rapl") s.energy_j = s.time_s * 35.0;
        s.meter = meter;
        rows.push_back(s);
      }
      store.InsertSamples(rows);
      ++index;
    }
    store.SetRunStatus(run_id, "finished");
    return run_id;
  }

  fs::path dir_;
};

TEST_F(FitCliTest, ReadHostSamplesGroupsByHostAndSkipsNetworkRuns) {
  const std::string db = (dir_ / "a.sqlite").string();
  {
    Store store(db);
    AddRun(store, "alpha", LayerType::kLinear, 30, "rapl", 1);
    AddRun(store, "beta", LayerType::kConv2d, 20, "none", 2);
    AddRun(store, "alpha", LayerType::kLinear, 5, "rapl", 3, "network");
  }
  const auto hosts = ReadHostSamples({db});
  ASSERT_EQ(hosts.size(), 2u);
  const HostSamples& alpha = hosts.at("alpha");
  EXPECT_EQ(alpha.samples.size(), 60u);  // the network run is skipped
  EXPECT_EQ(alpha.header.hostname, "alpha");
  EXPECT_EQ(alpha.header.torch_version, "1.13.1");
  EXPECT_EQ(alpha.header.rapl_domains, "package-0");
  EXPECT_EQ(alpha.header.sources, std::vector<std::string>{db});
  ASSERT_TRUE(alpha.samples[0].energy_j.has_value());
  EXPECT_EQ(alpha.samples[0].config.type, LayerType::kLinear);
  EXPECT_FALSE(hosts.at("beta").samples[0].energy_j.has_value());
  EXPECT_EQ(ReadHostSamples({db}, "beta").size(), 1u);
  EXPECT_TRUE(ReadHostSamples({db}, "gamma").empty());
}

// Runs measured under two malloc settings are refused together, naming both, and read apart
// with --malloc; runs that recorded no setting (older files, imports) are read either way.
TEST_F(FitCliTest, ReadHostSamplesKeepsMallocSettingsApart) {
  const std::string db = (dir_ / "a.sqlite").string();
  const std::string keep = CanonicalMallocSetting("keep-freed");
  {
    Store store(db);
    store.SetRunOption(AddRun(store, "alpha", LayerType::kLinear, 20, "none", 1), kMallocRunOption,
                       kGlibcDefaultMalloc);
    store.SetRunOption(AddRun(store, "alpha", LayerType::kLinear, 24, "none", 2), kMallocRunOption,
                       keep);
    AddRun(store, "alpha", LayerType::kConv2d, 20, "none", 3);  // recorded none
  }
  try {
    ReadHostSamples({db});
    FAIL() << "two settings were read together";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("host alpha: its runs were measured under different malloc settings"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("'glibc default' (" + db + " run 1)"), std::string::npos) << what;
    EXPECT_NE(what.find("'" + keep + "' (" + db + " run 2)"), std::string::npos) << what;
  }
  const auto by_default = ReadHostSamples({db}, "", nullptr, nullptr, "default");
  EXPECT_EQ(by_default.at("alpha").samples.size(), 2u * (20 + 20));
  EXPECT_EQ(by_default.at("alpha").header.malloc_setting, kGlibcDefaultMalloc);
  const auto kept = ReadHostSamples({db}, "", nullptr, nullptr, "keep-freed");
  EXPECT_EQ(kept.at("alpha").samples.size(), 2u * (24 + 20));
  EXPECT_EQ(kept.at("alpha").header.malloc_setting, keep);
  // The text a run recorded selects it too.
  EXPECT_EQ(ReadHostSamples({db}, "", nullptr, nullptr, keep).at("alpha").samples.size(),
            2u * (24 + 20));
  // fit names the settings and writes nothing; with --malloc it fits.
  const std::string out = (dir_ / "alpha.json").string();
  const Output refused = RunFit("--db " + db + " --out " + out);
  EXPECT_EQ(refused.status, 1) << refused.text;
  EXPECT_NE(refused.text.find("different malloc settings"), std::string::npos) << refused.text;
  EXPECT_FALSE(fs::exists(out));
  const Output fitted = RunFit("--db " + db + " --out " + out + " --malloc keep-freed --folds 3");
  ASSERT_EQ(fitted.status, 0) << fitted.text;
  EXPECT_EQ(LoadBundle(out).malloc_setting, keep);
}

// Speed probes at 19:00 (machine at its median speed) and 19:30 (twice as slow), then
// samples stored at 19:00:30, 19:30:30 and 20:30 (an hour from every probe): the reader divides
// the first two by their factors and leaves the third, counted, as measured.
TEST_F(FitCliTest, DriftCorrectionDividesEachSampleByTheSpeedAtItsTime) {
  const std::string db = (dir_ / "drift.sqlite").string();
  {
    Store store(db);
    AddRun(store, "alpha", LayerType::kLinear, 3, "rapl", 1);
    const int64_t run_id = store.ReadRuns().back().id;
    // Three probes: 1 ms at 19:00 and 19:00:10, 2 ms at 19:30 (median 1 ms: factors 1, 1, 2).
    test::InsertConvProbes(store, run_id,
                           {{"2026-12-04T19:00:00.000Z", 0.001},
                            {"2026-12-04T19:00:10.000Z", 0.001},
                            {"2026-12-04T19:30:00.000Z", 0.002}});
    const char* times[] = {"2026-12-04T19:00:30.000Z", "2026-12-04T19:30:30.000Z",
                           "2026-12-04T20:30:00.000Z"};
    for (int i = 0; i < 3; ++i) {
      const std::string sql = std::string("UPDATE samples SET created_at = '") + times[i] +
                              "' WHERE sample_index = " + std::to_string(i);
      ASSERT_EQ(sqlite3_exec(store.handle(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    }
  }
  const auto plain = ReadHostSamples({db}).at("alpha").samples;
  const auto drift = ReadDriftCorrections({db});
  ASSERT_EQ(drift.count("alpha"), 1u);
  EXPECT_EQ(drift.at("alpha").probes().size(), 3u);
  EXPECT_TRUE(ReadDriftCorrections({db}, "beta").empty());
  int64_t uncorrected = -1;
  const auto corrected = ReadHostSamples({db}, "", &drift, &uncorrected).at("alpha").samples;
  ASSERT_EQ(plain.size(), 6u);  // 3 configs, forward and backward
  ASSERT_EQ(corrected.size(), 6u);
  const double expected_factor[] = {1, 1, 2, 2, 1, 1};  // rows ordered by id: config 0, 1, 2
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_DOUBLE_EQ(corrected[i].time_s, plain[i].time_s / expected_factor[i]) << i;
    EXPECT_EQ(corrected[i].energy_j, plain[i].energy_j) << i;  // energy is never scaled
  }
  EXPECT_EQ(uncorrected, 2);  // config 2's forward and backward rows
  // fit --drift-correction reads through the same path and says what it left as measured; a
  // database without probes is said to be fitted as measured.
  const std::string bundle = (dir_ / "drift.json").string();
  const Output plain_fit = RunFit("--db " + db + " --out " + bundle);
  const Output drift_fit = RunFit("--db " + db + " --drift-correction --out " + bundle);
  EXPECT_EQ(drift_fit.status, plain_fit.status) << drift_fit.text;
  EXPECT_NE(drift_fit.text.find("--drift-correction: 2 samples had no speed probe within 15 "
                                "minutes and keep their measured time"),
            std::string::npos)
      << drift_fit.text;
  const std::string no_probes = (dir_ / "no_probes.sqlite").string();
  {
    Store store(no_probes);
    AddRun(store, "alpha", LayerType::kLinear, 3, "rapl", 1);
  }
  const Output none_fit = RunFit("--db " + no_probes + " --drift-correction --out " + bundle);
  EXPECT_NE(none_fit.text.find("--drift-correction: no speed probes; times as measured"),
            std::string::npos)
      << none_fit.text;
  // fit --drift-correction reads the same way; a bad timestamp names the file and the run.
  ASSERT_EQ(
      sqlite3_exec(Store(db).handle(), "UPDATE speed_probes SET measured_at = 'soon' WHERE id = 1",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  try {
    ReadDriftCorrections({db});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(db + ": speed probe of run "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("'soon'"), std::string::npos) << e.what();
  }
}

TEST_F(FitCliTest, FitsEveryModelAndWritesTheBundle) {
  const std::string db = (dir_ / "a.sqlite").string();
  {
    Store store(db);
    AddRun(store, "alpha", LayerType::kLinear, 120, "rapl", 1);
    AddRun(store, "alpha", LayerType::kConv2d, 120, "none", 2);
    AddRun(store, "alpha", LayerType::kMaxPool2d, 12, "none", 3);
  }
  const std::string out = (dir_ / "models" / "alpha.json").string();
  const Output r = RunFit("--db " + db + " --out " + out + " --folds 5 --seed 7");
  ASSERT_EQ(r.status, 0) << r.text;
  // Pool has 12 configs: fewer than 5 folds x 5 rows / 0.8 -> skipped with a warning.
  EXPECT_NE(r.text.find("skipping maxpool2d/forward/time_s"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("RMSPE%"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("alpha        linear    forward  power_w  nnlasso"), std::string::npos)
      << r.text;
  const ModelBundle b = LoadBundle(out);
  EXPECT_EQ(b.hostname, "alpha");
  EXPECT_EQ(b.blas, "OpenBLAS 0.3.21");
  ASSERT_EQ(b.models.size(), 6u + 2u);  // linear: 3 quantities x 2 passes; conv2d: time x 2
  const Model* m = b.Find(LayerType::kLinear, Pass::kBackward, Quantity::kEnergyJ);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->meter, "rapl");
  EXPECT_EQ(m->rapl_domain, "package");
  EXPECT_EQ(m->cv_folds, 5);
  EXPECT_EQ(m->cv_seed, 7u);
  EXPECT_EQ(m->n_train + m->n_test, 120);
  ASSERT_TRUE(m->test_metrics);
  EXPECT_LT(m->test_metrics->rmspe, 15.0);
  EXPECT_EQ(b.Find(LayerType::kConv2d, Pass::kForward, Quantity::kEnergyJ), nullptr);
  for (const Model& model : b.models) {  // the default: extrapolated from the boundary
    EXPECT_EQ(model.extrapolation, Extrapolation::kBoundary) << ToString(model.layer);
  }
  const Output own = RunFit("--db " + db + " --out " + out + " --folds 5 --extrapolation model");
  ASSERT_EQ(own.status, 0) << own.text;
  for (const Model& model : LoadBundle(out).models) {
    EXPECT_EQ(model.extrapolation, Extrapolation::kModel) << ToString(model.layer);
  }
}

// One `measure --net` run of network `name` on host `hostname`: an iteration row per peak (the
// phase rows carry no peak) and a forward row.
void AddNetworkRun(Store& store, const std::string& hostname, const std::string& name,
                   const std::vector<std::optional<int64_t>>& peaks) {
  HostInfo host;
  host.hostname = hostname;
  host.cpu_model = "Test CPU";
  RunInfo run;
  run.host_id = store.UpsertHost(host);
  run.kind = "network";
  const int64_t run_id = store.CreateRun(run);
  for (size_t i = 0; i < peaks.size(); ++i) {
    NetworkSampleRow r;
    r.run_id = run_id;
    r.network = name;
    r.batch_size = 1;
    r.iteration = static_cast<int64_t>(i);
    r.time_s = 0.01;
    r.meter = "none";
    r.phase = "forward";
    r.peak_memory_bytes = int64_t{1} << 40;  // never on phase rows; must be ignored
    NetworkSampleRow it = r;
    it.phase = "iteration";
    it.peak_memory_bytes = peaks[i];
    store.InsertNetworkSamples({r, it});
  }
}

// The framework memory is the probes' median iteration peak (base) and the conv2d probe's
// median minus it; other networks, phase rows and rows without a peak do not count.
TEST_F(FitCliTest, ReadFrameworkMemoryTakesTheProbesMedianPeaks) {
  const std::string db = (dir_ / "a.sqlite").string();
  {
    Store store(db);
    AddNetworkRun(store, "alpha", kFrameworkProbeNetwork, {1000, 1100, std::nullopt, 1200});
    AddNetworkRun(store, "alpha", kFrameworkProbeNetwork, {1300});
    AddNetworkRun(store, "alpha", kConvFrameworkProbeNetwork, {1500, 1400, 1600});
    AddNetworkRun(store, "alpha", "lenet5", {9000000});
    AddNetworkRun(store, "beta", kFrameworkProbeNetwork, {2000});
    AddNetworkRun(store, "beta", kConvFrameworkProbeNetwork, {1500});   // below the base
    AddNetworkRun(store, "gamma", kConvFrameworkProbeNetwork, {1500});  // no base: nothing
  }
  const auto all = ReadFrameworkMemory({db});
  ASSERT_EQ(all.size(), 2u);
  const FrameworkMemory& alpha = all.at("alpha");
  EXPECT_EQ(alpha.base_bytes, 1150);  // median of 1000, 1100, 1200, 1300
  EXPECT_EQ(alpha.conv2d_bytes, 1500 - 1150);
  EXPECT_EQ(alpha.runs, 3);
  EXPECT_EQ(all.at("beta").conv2d_bytes, 0);  // floored at 0
  EXPECT_EQ(ReadFrameworkMemory({db}, "beta").size(), 1u);
  EXPECT_TRUE(ReadFrameworkMemory({db}, "gamma").empty());
}

// fit stores the framework memory in the bundle of the host whose probes measured it, and
// says so when a host has none.
TEST_F(FitCliTest, FitWritesTheHostsFrameworkMemoryIntoItsBundle) {
  const std::string db = (dir_ / "a.sqlite").string();
  {
    Store store(db);
    AddRun(store, "alpha", LayerType::kLinear, 60, "none", 1);
    AddRun(store, "beta", LayerType::kLinear, 60, "none", 2);
    AddNetworkRun(store, "alpha", kFrameworkProbeNetwork, {1048576});
    AddNetworkRun(store, "alpha", kConvFrameworkProbeNetwork, {1200000});
    // alpha's first-touch probes: 1, 3 and 2 us per 4 KiB page of 64 MiB.
    test::InsertFirstTouchProbes(store, store.ReadRuns().back().id,
                                 {{"2020-01-01T12:00:00.000Z", 0.016384},
                                  {"2020-01-01T12:01:00.000Z", 0.049152},
                                  {"2020-01-01T12:02:00.000Z", 0.032768}});
  }
  const std::string models = (dir_ / "models").string();
  Output r = RunFit("--db " + db + " --host alpha --out " + models + "/alpha.json --folds 3");
  ASSERT_EQ(r.status, 0) << r.text;
  const ModelBundle alpha = LoadBundle(models + "/alpha.json");
  ASSERT_TRUE(alpha.framework_memory);
  EXPECT_EQ(alpha.framework_memory->base_bytes, 1048576);
  EXPECT_EQ(alpha.framework_memory->conv2d_bytes, 1200000 - 1048576);
  ASSERT_TRUE(alpha.first_touch_s_per_page);  // the median probe, per page
  EXPECT_NEAR(*alpha.first_touch_s_per_page, 2e-6, 1e-12);
  r = RunFit("--db " + db + " --host beta --out " + models + "/beta.json --folds 3");
  ASSERT_EQ(r.status, 0) << r.text;
  EXPECT_NE(r.text.find("beta: no run of the framework-memory probes"), std::string::npos)
      << r.text;
  EXPECT_FALSE(LoadBundle(models + "/beta.json").framework_memory);
  EXPECT_FALSE(LoadBundle(models + "/beta.json").first_touch_s_per_page);
}

TEST_F(FitCliTest, ErrorsExitOneWithAMessage) {
  const std::string db = (dir_ / "a.sqlite").string();
  {
    Store store(db);
    AddRun(store, "alpha", LayerType::kLinear, 60, "none", 1);
    AddRun(store, "beta", LayerType::kLinear, 60, "none", 2);
  }
  Output r = RunFit("--db " + db + " --model ridge");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find("fit: error: unknown model kind 'ridge'"), std::string::npos) << r.text;
  r = RunFit("--db " + db + " --out " + (dir_ / "x.json").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find("fit: error: --out names one file but the databases hold 2 hosts"),
            std::string::npos)
      << r.text;
  r = RunFit("--db " + db + " --host gamma");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find("fit: error: no samples of host 'gamma'"), std::string::npos) << r.text;
  r = RunFit("--db " + db + " --extrapolation linear --host alpha");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find("unknown extrapolation 'linear' (expected model or boundary)"),
            std::string::npos)
      << r.text;
  r = RunFit("--db " + db + " --terms cubic --host alpha");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find("unknown term set 'cubic'"), std::string::npos) << r.text;
  r = RunFit("--db " + (dir_ / "missing.sqlite").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.text.find("missing.sqlite: no such database"), std::string::npos) << r.text;
  EXPECT_FALSE(fs::exists(dir_ / "missing.sqlite"));
  r = RunFit("");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.text.find("--db is required"), std::string::npos) << r.text;
}

}  // namespace
}  // namespace lj
