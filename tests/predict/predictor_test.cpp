// lj::PredictTraining and bundle selection, on the hand-made layers and bundle of
// tests/predict/prediction_fixture.h (models exact in MACs, so every sum has a known value).
#include "predict/predictor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.h"
#include "fit/model_bundle.h"
#include "tests/predict/prediction_fixture.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

using namespace lj::test;  // NOLINT: the fixture's helpers

const LayerPrediction& Find(const NetworkPrediction& p, const std::string& path) {
  for (const LayerPrediction& l : p.layers) {
    if (l.layer.path == path) return l;
  }
  throw std::runtime_error("no layer " + path);
}

TEST(PredictorTest, SumsLayersPerBatchAndScalesToEpochsAndTraining) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  const double conv_macs = ForwardMacs(Conv());
  const double fc_macs = ForwardMacs(Fc());
  ASSERT_EQ(p.layers.size(), 5u);
  const LayerPrediction& conv = Find(p, "features.0");
  EXPECT_EQ(conv.status, LayerStatus::kModelled);
  EXPECT_NEAR(*conv.forward_time_s, kForwardSPerMac * conv_macs, 1e-15);
  EXPECT_NEAR(*conv.backward_time_s, kBackwardSPerMac * conv_macs, 1e-15);
  EXPECT_NEAR(*conv.forward_energy_j, kForwardJPerMac * conv_macs, 1e-12);
  EXPECT_NEAR(*conv.backward_energy_j, kBackwardJPerMac * conv_macs, 1e-12);

  const double macs = conv_macs + fc_macs;
  EXPECT_NEAR(p.per_batch.forward_time_s, kForwardSPerMac * macs, 1e-15);
  EXPECT_NEAR(p.per_batch.backward_time_s, kBackwardSPerMac * macs, 1e-15);
  EXPECT_NEAR(p.per_batch.time_s, (kForwardSPerMac + kBackwardSPerMac) * macs, 1e-15);
  ASSERT_TRUE(p.per_batch.energy_j.has_value());
  EXPECT_NEAR(*p.per_batch.energy_j, (kForwardJPerMac + kBackwardJPerMac) * macs, 1e-12);

  EXPECT_EQ(p.steps_per_epoch, 13);
  EXPECT_NEAR(p.per_epoch.time_s, 13 * p.per_batch.time_s, 1e-12);
  EXPECT_NEAR(p.training.time_s, 3 * 13 * p.per_batch.time_s, 1e-12);
  EXPECT_NEAR(*p.training.energy_j, 3 * 13 * *p.per_batch.energy_j, 1e-9);
  EXPECT_NEAR(p.inference_time_per_sample_s, p.per_batch.forward_time_s / 8, 1e-15);
  EXPECT_NEAR(*p.inference_energy_per_sample_j, *p.per_batch.forward_energy_j / 8, 1e-12);
}

// The prototype's imported backward rows never compute an input gradient (input_grad bounds
// [0, 0]): a network layer that does gets its forward cost added for it, in time and energy;
// a layer without an input gradient (the first) and a bundle that measured it are unchanged.
TEST(PredictorTest, AnInputGradientNeverMeasuredCostsTheForwardPass) {
  const auto with_input_grad_bounds = [](double max) {
    ModelBundle b = MakeBundle(true);
    for (Model& m : b.models) {
      for (FeatureBound& bound : m.bounds) {
        if (bound.name == "input_grad") bound.max = max;
      }
    }
    return b;
  };
  LayerConfig first = Conv();
  first.input_grad = false;
  const std::vector<LayerInstance> layers = {Modelled("features.0", first, {8, 3, 32, 32}),
                                             Modelled("features.1", Conv(), {8, 3, 32, 32}),
                                             Modelled("fc", Fc(), {8, 4096})};
  const double conv_macs = ForwardMacs(Conv());
  const double fc_macs = ForwardMacs(Fc());
  const NetworkPrediction never = PredictTraining(layers, with_input_grad_bounds(0), SmallRun());
  EXPECT_NEAR(*Find(never, "features.0").backward_time_s, kBackwardSPerMac * conv_macs, 1e-15);
  EXPECT_NEAR(*Find(never, "features.1").backward_time_s,
              (kBackwardSPerMac + kForwardSPerMac) * conv_macs, 1e-15);
  EXPECT_NEAR(*Find(never, "features.1").backward_energy_j,
              (kBackwardJPerMac + kForwardJPerMac) * conv_macs, 1e-12);
  EXPECT_NEAR(*Find(never, "fc").backward_time_s, (kBackwardSPerMac + kForwardSPerMac) * fc_macs,
              1e-15);
  bool warned = false;
  for (const std::string& w : never.warnings) {
    warned = warned || w.find("conv2d backward: no training row computed an input gradient") !=
                           std::string::npos;
  }
  EXPECT_TRUE(warned);

  const NetworkPrediction measured = PredictTraining(layers, with_input_grad_bounds(1), SmallRun());
  EXPECT_NEAR(*Find(measured, "features.1").backward_time_s, kBackwardSPerMac * conv_macs, 1e-15);
  EXPECT_NEAR(*Find(measured, "fc").backward_time_s, kBackwardSPerMac * fc_macs, 1e-15);
}

TEST(PredictorTest, UnmodelledLayersAreListedEmptyAndMakeTotalsALowerBound) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  for (const char* path : {"features.1", "features.2"}) {
    const LayerPrediction& l = Find(p, path);
    EXPECT_EQ(l.status, LayerStatus::kUnmodelled) << path;
    EXPECT_FALSE(l.forward_time_s.has_value()) << path;
    EXPECT_FALSE(l.backward_time_s.has_value()) << path;
    EXPECT_FALSE(l.forward_energy_j.has_value()) << path;
    EXPECT_FALSE(l.reason.empty()) << path;
  }
  EXPECT_NE(Find(p, "features.1").reason.find("relu"), std::string::npos);
  EXPECT_NE(Find(p, "features.2").reason.find("maxpool2d"), std::string::npos);

  EXPECT_TRUE(p.per_batch.forward_lower_bound);
  EXPECT_TRUE(p.per_batch.backward_lower_bound);
  EXPECT_TRUE(p.per_batch.time_lower_bound);
  EXPECT_TRUE(p.per_batch.energy_lower_bound);
  EXPECT_TRUE(p.training.time_lower_bound);
  EXPECT_TRUE(p.LowerBound());

  // Coverage: 2 of the 4 layers that cost something; MACs of conv + linear of all MACs.
  EXPECT_EQ(p.coverage.layers_total, 5);
  EXPECT_EQ(p.coverage.layers_modelled, 2);
  EXPECT_EQ(p.coverage.layers_unmodelled, 2);
  EXPECT_EQ(p.coverage.layers_no_cost, 1);
  EXPECT_DOUBLE_EQ(p.coverage.LayerShare(), 0.5);
  const double modelled = ForwardMacs(Conv()) + ForwardMacs(Fc());
  EXPECT_DOUBLE_EQ(p.coverage.MacShare(), modelled / (modelled + ForwardMacs(Pool())));
  EXPECT_LT(p.coverage.MacShare(), 1.0);

  // Listed: both layers, then the loss and the optimizer step (no cross_entropy or sgd
  // model in this bundle), which have no value, then the accumulation into .grad and
  // zero_grad (no parameters here).
  ASSERT_EQ(p.unmodelled.size(), 6u);
  EXPECT_EQ(p.unmodelled[4],
            "grad accumulation (.grad) (grad_accumulate): the network has no trainable parameters");
  EXPECT_EQ(p.unmodelled[5].rfind("zero_grad (zero_grad): ", 0), 0u) << p.unmodelled[5];
  EXPECT_EQ(p.unmodelled[0].rfind("features.1 (relu)", 0), 0u) << p.unmodelled[0];
  EXPECT_EQ(p.unmodelled[1].rfind("features.2 (maxpool2d)", 0), 0u) << p.unmodelled[1];
  EXPECT_EQ(p.unmodelled[2].rfind("loss (cross_entropy, 10 classes): no cross_entropy forward "
                                  "time_s",
                                  0),
            0u)
      << p.unmodelled[2];
  // SmallNet's hand-made layers carry no parameter counts.
  EXPECT_EQ(p.unmodelled[3], "optimizer step (sgd): the network has no trainable parameters");
  EXPECT_FALSE(p.per_batch.loss_time_s.has_value());
  EXPECT_FALSE(p.per_batch.optimizer_time_s.has_value());
  EXPECT_FALSE(p.per_batch.optimizer_energy_j.has_value());
}

TEST(PredictorTest, WithoutLossAndOptimizerModelsAFullyModelledNetworkIsALowerBound) {
  std::vector<LayerInstance> layers = {Modelled("fc", Fc(), {8, 4096})};
  layers[0].parameter_count = 4096 * 10 + 10;
  layers[0].parameter_tensors = 2;
  const NetworkPrediction p = PredictTraining(layers, MakeBundle(false), SmallRun());
  EXPECT_FALSE(p.per_batch.forward_lower_bound);
  EXPECT_TRUE(p.per_batch.backward_lower_bound);  // the loss backward has no model
  EXPECT_TRUE(p.per_batch.time_lower_bound);      // the loss and optimizer step are missing
  EXPECT_DOUBLE_EQ(p.coverage.LayerShare(), 1.0);
  EXPECT_DOUBLE_EQ(p.coverage.MacShare(), 1.0);
  ASSERT_EQ(p.unmodelled.size(), 4u);
  EXPECT_EQ(p.unmodelled[2].rfind("grad accumulation (.grad) (grad_accumulate, 40970 parameters "
                                  "in 2 tensors): no grad_accumulate forward time_s model",
                                  0),
            0u)
      << p.unmodelled[2];
  EXPECT_TRUE(p.per_batch.optimizer_lower_bound);
  EXPECT_EQ(p.unmodelled[0].rfind("loss (cross_entropy", 0), 0u) << p.unmodelled[0];
  EXPECT_EQ(p.unmodelled[1].rfind("optimizer step (sgd, 40970 parameters in 2 tensors): no sgd "
                                  "forward time_s model in the bundle",
                                  0),
            0u)
      << p.unmodelled[1];
}

// conv -> relu -> residual-style add (with one gradient accumulation) -> dropout p = 0 ->
// flatten -> linear, every layer with its config, and a bundle with every type.
std::vector<LayerInstance> FullyMappedNet() {
  LayerInstance conv = Modelled("conv", Conv(), {8, 3, 32, 32});
  conv.parameter_count = 16 * 3 * 9 + 16;
  conv.parameter_tensors = 2;
  const std::vector<int64_t> map = {8, 16, 32, 32};
  LayerInstance relu = Modelled("relu", *ElementwiseConfig(LayerType::kReLU, map), map);
  LayerInstance add = Modelled("add", *ElementwiseConfig(LayerType::kAdd, map), map);
  add.grad_accumulations.push_back(*ElementwiseConfig(LayerType::kAdd, map));
  LayerInstance dropout = Plain("dropout", "dropout", map);
  dropout.no_cost = true;  // p = 0
  LayerConfig fc = Fc();
  fc.in_features = 16 * 32 * 32;
  LayerInstance linear = Modelled("fc", fc, {8, 16 * 32 * 32});
  linear.parameter_count = 16 * 32 * 32 * 10 + 10;
  linear.parameter_tensors = 2;
  return {conv, relu, add, dropout, Plain("flatten", "flatten", {8, 16 * 32 * 32}), linear};
}

TEST(PredictorTest, LossBackwardAndGradientAccumulationsEnterTheBackwardPass) {
  const std::vector<LayerInstance> layers = FullyMappedNet();
  const NetworkPrediction p = PredictTraining(layers, MakeFullBundle(true), SmallRun());
  EXPECT_TRUE(p.unmodelled.empty()) << p.unmodelled.front();
  EXPECT_FALSE(p.LowerBound());
  EXPECT_EQ(Find(p, "dropout").status, LayerStatus::kNoCost);
  EXPECT_EQ(p.coverage.layers_no_cost, 2);
  EXPECT_DOUBLE_EQ(p.coverage.LayerShare(), 1.0);

  const double elements = 8.0 * 16 * 32 * 32;
  // The add's backward: its own backward model plus one add forward (the accumulation).
  EXPECT_NEAR(*Find(p, "add").backward_time_s,
              kBackwardSPerMac * elements + kForwardSPerMac * elements, 1e-15);
  EXPECT_NEAR(*Find(p, "add").backward_energy_j,
              kBackwardJPerMac * elements + kForwardJPerMac * elements, 1e-12);
  // The loss on the (8, 10) logits; its backward in the backward phase.
  ASSERT_TRUE(p.per_batch.loss_time_s.has_value());
  EXPECT_NEAR(*p.per_batch.loss_time_s, kForwardSPerMac * 80, 1e-18);
  EXPECT_NEAR(*p.loss.backward_time_s, kBackwardSPerMac * 80, 1e-18);
  EXPECT_EQ(p.loss.layer.config->num_classes, 10);
  // The optimizer step over all parameters, no backward.
  const double parameters = 16 * 3 * 9 + 16 + 16 * 32 * 32 * 10 + 10;
  EXPECT_EQ(p.optimizer_step.layer.config->parameters, static_cast<int64_t>(parameters));
  EXPECT_EQ(p.optimizer_step.layer.config->parameter_tensors, 4);
  // The step and zero_grad, both over every parameter (the fixture's models are MACs-linear).
  EXPECT_NEAR(*p.per_batch.optimizer_time_s, 2 * kForwardSPerMac * parameters, 1e-15);
  EXPECT_FALSE(p.optimizer_step.backward_time_s.has_value());

  // The loss and the accumulation of every gradient into its zero-filled .grad.
  double backward = kBackwardSPerMac * 80 + kForwardSPerMac * parameters;
  for (const LayerPrediction& l : p.layers) backward += l.backward_time_s.value_or(0.0);
  EXPECT_NEAR(p.per_batch.backward_time_s, backward, 1e-15);
  EXPECT_NEAR(p.per_batch.time_s,
              p.per_batch.forward_time_s + *p.per_batch.loss_time_s + p.per_batch.backward_time_s +
                  *p.per_batch.optimizer_time_s,
              1e-15);
  EXPECT_NEAR(*p.per_batch.energy_j,
              *p.per_batch.forward_energy_j + *p.per_batch.loss_energy_j +
                  *p.per_batch.backward_energy_j + *p.per_batch.optimizer_energy_j,
              1e-12);

  // Without an add model, the add layer (its forward and its accumulation) is unmodelled.
  const NetworkPrediction no_add =
      PredictTraining(layers, MakeFullBundle(true, {LayerType::kAdd}), SmallRun());
  EXPECT_TRUE(no_add.LowerBound());
  EXPECT_EQ(Find(no_add, "add").status, LayerStatus::kUnmodelled);
  EXPECT_FALSE(Find(no_add, "add").backward_time_s.has_value());
}

TEST(PredictorTest, ALossNeedsClassScoresAndAnOptimizerTrainableParameters) {
  const std::vector<LayerInstance> layers = {Modelled("conv", Conv(), {8, 3, 32, 32})};
  TrainingRun run = SmallRun();
  run.optimizer.type = "adam";
  const NetworkPrediction p = PredictTraining(layers, MakeFullBundle(false), run);
  EXPECT_EQ(p.loss.status, LayerStatus::kUnmodelled);
  EXPECT_NE(p.loss.reason.find("[8, 16, 32, 32] is not (batch_size, num_classes)"),
            std::string::npos)
      << p.loss.reason;
  EXPECT_EQ(p.optimizer_step.status, LayerStatus::kUnmodelled);  // parameter_count 0 here
  EXPECT_NE(p.optimizer_step.reason.find("no trainable parameters"), std::string::npos)
      << p.optimizer_step.reason;
  EXPECT_TRUE(p.LowerBound());
  ASSERT_EQ(p.unmodelled.size(), 4u);  // loss, optimizer step, grad accumulation, zero_grad
  EXPECT_EQ(p.unmodelled[1].rfind("optimizer step (adam): ", 0), 0u) << p.unmodelled[1];
}

// optimizer.zero_grad "none" (set_to_none): no accumulation into .grad and no fill, both
// no-cost; "zero" (the default) charges both.
TEST(PredictorTest, ZeroGradNoneMakesAccumulationAndFillFree) {
  std::vector<LayerInstance> layers = {Modelled("fc", Fc(), {8, 4096})};
  layers[0].parameter_count = 4096 * 10 + 10;
  layers[0].parameter_tensors = 2;
  TrainingRun run = SmallRun();
  const NetworkPrediction zero = PredictTraining(layers, MakeFullBundle(false), run);
  run.optimizer.zero_grad = "none";
  const NetworkPrediction none = PredictTraining(layers, MakeFullBundle(false), run);
  EXPECT_EQ(none.grad_accumulation.status, LayerStatus::kNoCost);
  EXPECT_EQ(none.zero_grad.status, LayerStatus::kNoCost);
  EXPECT_FALSE(none.LowerBound());
  const double params = 4096 * 10 + 10;
  EXPECT_NEAR(zero.per_batch.backward_time_s - none.per_batch.backward_time_s,
              kForwardSPerMac * params, 1e-15);
  EXPECT_NEAR(*zero.per_batch.optimizer_time_s - *none.per_batch.optimizer_time_s,
              kForwardSPerMac * params, 1e-15);
}

TEST(PredictorTest, FlattenCostsNothingAndIsNotUnmodelled) {
  const NetworkPrediction with = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  const LayerPrediction& f = Find(with, "flatten");
  EXPECT_EQ(f.status, LayerStatus::kNoCost);
  EXPECT_EQ(f.forward_time_s, std::optional<double>(0.0));
  EXPECT_EQ(f.backward_energy_j, std::optional<double>(0.0));
  const NetworkPrediction without = PredictTraining(SmallNet(), MakeBundle(false), SmallRun());
  EXPECT_FALSE(Find(without, "flatten").forward_energy_j.has_value());
  EXPECT_EQ(ToString(LayerStatus::kNoCost), "no-cost");
  EXPECT_TRUE(IsNoCostLayerType("flatten"));
  EXPECT_FALSE(IsNoCostLayerType("dropout"));  // dropout computes a mask in training
}

TEST(PredictorTest, ExtrapolationIsFlaggedPerLayerWithTheFeatureOutsideTheBounds) {
  // Bounds [0, 1e6] on every feature: the conv (1.1 M MACs) and the linear layer (327 K MACs,
  // 32768 input elements) compared against them.
  const double conv_macs = ForwardMacs(Conv());
  ASSERT_GT(conv_macs, 1e6);
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(false, 1e6), SmallRun());
  const LayerPrediction& conv = Find(p, "features.0");
  EXPECT_EQ(conv.status, LayerStatus::kExtrapolated);
  ASSERT_FALSE(conv.outside.empty());
  EXPECT_NE(conv.outside[0].find("> max 1e+06"), std::string::npos) << conv.outside[0];
  // Still predicted and summed.
  EXPECT_NEAR(*conv.forward_time_s, kForwardSPerMac * conv_macs, 1e-15);
  EXPECT_EQ(Find(p, "fc").status, LayerStatus::kModelled);
  EXPECT_EQ(p.coverage.layers_extrapolated, 1);
  EXPECT_EQ(p.coverage.layers_modelled, 2);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0].rfind("features.0 (conv2d): outside the training bounds", 0), 0u)
      << p.warnings[0];
  EXPECT_NE(p.warnings[0].find("macs="), std::string::npos) << p.warnings[0];
}

TEST(PredictorTest, EnergyIsEmptyWithoutEnergyModels) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(false), SmallRun());
  EXPECT_FALSE(p.has_energy_models);
  EXPECT_GT(p.per_batch.time_s, 0);
  for (const LayerPrediction& l : p.layers) {
    EXPECT_FALSE(l.forward_energy_j.has_value()) << l.layer.path;
    EXPECT_FALSE(l.backward_energy_j.has_value()) << l.layer.path;
  }
  for (const PhaseTotals* t : {&p.per_batch, &p.per_epoch, &p.training}) {
    EXPECT_FALSE(t->energy_j.has_value());
    EXPECT_FALSE(t->forward_energy_j.has_value());
    EXPECT_FALSE(t->backward_energy_j.has_value());
  }
  EXPECT_FALSE(p.inference_energy_per_sample_j.has_value());
  // Time models alone make conv and linear fully modelled.
  EXPECT_EQ(Find(p, "features.0").status, LayerStatus::kModelled);
}

TEST(PredictorTest, ALayerMissingOneOfTheBundlesEnergyModelsIsUnmodelled) {
  ModelBundle bundle = MakeBundle(true);
  // Drop the linear backward energy model.
  bundle.models.erase(std::remove_if(bundle.models.begin(), bundle.models.end(),
                                     [](const Model& m) {
                                       return m.layer == LayerType::kLinear &&
                                              m.pass == Pass::kBackward &&
                                              m.quantity == Quantity::kEnergyJ;
                                     }),
                      bundle.models.end());
  const NetworkPrediction p = PredictTraining(SmallNet(), bundle, SmallRun());
  const LayerPrediction& fc = Find(p, "fc");
  EXPECT_EQ(fc.status, LayerStatus::kUnmodelled);
  EXPECT_NE(fc.reason.find("linear backward energy_j"), std::string::npos) << fc.reason;
  EXPECT_TRUE(fc.backward_time_s.has_value());  // what exists is still predicted
  EXPECT_FALSE(fc.backward_energy_j.has_value());
  EXPECT_TRUE(p.per_batch.energy_lower_bound);
  EXPECT_EQ(p.coverage.layers_modelled, 1);
}

TEST(PredictorTest, ANegativePredictionCountsAsZeroWithAWarning) {
  ModelBundle bundle;
  bundle.hostname = "node7";
  bundle.models.push_back(
      LinearMacsModel(LayerType::kLinear, Pass::kForward, Quantity::kTimeS, 1e-12, 1e15, -1.0));
  bundle.models.push_back(
      LinearMacsModel(LayerType::kLinear, Pass::kBackward, Quantity::kTimeS, kBackwardSPerMac));
  const NetworkPrediction p =
      PredictTraining({Modelled("fc", Fc(), {8, 4096})}, bundle, SmallRun());
  EXPECT_EQ(p.layers[0].forward_time_s, std::optional<double>(0.0));
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("fc (linear): the forward time_s model predicts"), std::string::npos)
      << p.warnings[0];
}

TEST(PredictorTest, UnknownOperationsAndLayersWithoutConfigAreUnmodelled) {
  LayerInstance dilated = Plain("conv_d", "conv2d", {8, 3, 32, 32}, 5e5);
  dilated.note = "dilation 2 is not modelled";
  const std::vector<LayerInstance> layers = {dilated, Plain("cat", "aten::cat", {8, 6, 32, 32})};
  const NetworkPrediction p = PredictTraining(layers, MakeBundle(false), SmallRun());
  EXPECT_EQ(p.layers[0].status, LayerStatus::kUnmodelled);
  EXPECT_EQ(p.layers[0].reason, "dilation 2 is not modelled");
  EXPECT_EQ(p.layers[1].status, LayerStatus::kUnmodelled);
  EXPECT_EQ(p.per_batch.time_s, 0);
  EXPECT_TRUE(p.per_batch.time_lower_bound);
  EXPECT_DOUBLE_EQ(p.coverage.MacShare(), 0.0);
}

TEST(PredictorTest, RejectsANonPositiveTrainingRun) {
  TrainingRun r = SmallRun();
  r.batch_size = 0;
  EXPECT_THROW(PredictTraining(SmallNet(), MakeBundle(false), r), ConfigError);
  r = SmallRun();
  r.epochs = 0;
  EXPECT_THROW(PredictTraining(SmallNet(), MakeBundle(false), r), ConfigError);
}

class BundleFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lj_predictor_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(BundleFileTest, LoadsTheBundleOfTheAskedHostFromItsJsonFile) {
  const std::string path = (dir_ / "node7.json").string();
  SaveBundle(MakeBundle(true), path);
  const ModelBundle b = LoadBundleForHost(path, "node7");
  EXPECT_EQ(b.hostname, "node7");
  EXPECT_EQ(b.models.size(), 8u);
  // The round trip through the file predicts exactly what the in-memory bundle does.
  const NetworkPrediction from_file = PredictTraining(SmallNet(), b, SmallRun());
  const NetworkPrediction in_memory = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  EXPECT_DOUBLE_EQ(from_file.training.time_s, in_memory.training.time_s);
  EXPECT_EQ(LoadBundleForHost(path, "").hostname, "node7");  // no host asked: any
}

TEST_F(BundleFileTest, ABundleOfAnotherHostIsAnErrorNamingTheFile) {
  const std::string path = (dir_ / "node8.json").string();
  SaveBundle(MakeBundle(false), path);
  try {
    LoadBundleForHost(path, "node8");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("'node7', not 'node8'"), std::string::npos) << what;
  }
}

TEST_F(BundleFileTest, AMissingBundleSaysHowToMakeOne) {
  const std::string path = (dir_ / "nowhere.json").string();
  try {
    LoadBundleForHost(path, "nowhere");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path, 0), 0u) << what;
    EXPECT_NE(what.find("measure --layer"), std::string::npos) << what;
    EXPECT_NE(what.find("fit --db"), std::string::npos) << what;
  }
  EXPECT_FALSE(LocalHostname().empty());
}

}  // namespace
}  // namespace lj
