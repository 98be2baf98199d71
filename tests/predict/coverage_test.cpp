// Coverage of the shipped networks: every layer of configs/nets/*.json and of the TorchScript
// exports of resnet18 and mobilenet_v3_small maps to a known type with a valid core
// LayerConfig (net/layer_instance.h) or is no-cost; with a bundle that has a model for
// every core layer type (built with the fit library's types, tests/predict/prediction_fixture.h)
// the predictor covers 100 % of the layers, the loss and the optimizer step, and the totals are
// exact sums; a bundle without one of the types the network uses makes them a lower bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "net/network_input.h"
#include "net/torchscript_layers.h"
#include "predict/predictor.h"
#include "tests/net/torchscript_exports.h"
#include "tests/predict/prediction_fixture.h"

namespace lj {
namespace {

namespace fs = std::filesystem;
using test::kBackwardSPerMac;
using test::kForwardSPerMac;
using test::MakeFullBundle;
using test::SourceDir;
using test::TorchScriptExports;

std::vector<std::string> ShippedNets() {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(SourceDir() + "/configs/nets")) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Every layer: a known type, and a config that core Validate accepts (whose shape matches
// the layer's input) or no-cost; every gradient accumulation a valid add.
void ExpectEveryLayerMapped(const std::vector<LayerInstance>& layers, const std::string& net) {
  ASSERT_FALSE(layers.empty()) << net;
  for (const LayerInstance& l : layers) {
    const std::string where = net + ": " + l.path + " (" + l.type + ")";
    EXPECT_TRUE(HasKnownType(l)) << where << " from " << l.source;
    if (l.no_cost) {
      EXPECT_FALSE(l.config.has_value()) << where;
      EXPECT_TRUE(l.type == "flatten" || l.type == "dropout") << where;
      continue;
    }
    ASSERT_TRUE(l.config.has_value()) << where << ": " << l.note;
    std::string reason;
    EXPECT_TRUE(IsValid(*l.config, &reason)) << where << ": " << reason;
    EXPECT_EQ(ToString(l.config->type), l.type) << where;
    const LayerType t = l.config->type;
    if (t == LayerType::kLinear) {  // over the last dim: every leading dim is a row
      EXPECT_EQ(l.config->batch_size * l.config->in_features, NumElements(l.input_shape)) << where;
    } else if (t != LayerType::kContiguous) {  // a copy's batch is its layout's outer dim
      EXPECT_EQ(l.config->batch_size, l.input_shape.at(0)) << where;
    }
    EXPECT_DOUBLE_EQ(l.forward_macs, ForwardMacs(*l.config)) << where;
    if (t != LayerType::kConv2d && t != LayerType::kLinear && t != LayerType::kMaxPool2d &&
        t != LayerType::kAvgPool2d && t != LayerType::kAdaptiveAvgPool2d && t != LayerType::kBmm &&
        t != LayerType::kEmbedding) {
      // Element-wise types: (N, C, H, W) or (N, F) as (N, F, 1, 1), the same elements.
      EXPECT_DOUBLE_EQ(ForwardMacs(*l.config), static_cast<double>(NumElements(l.input_shape)))
          << where;
    }
    if (t == LayerType::kEmbedding) {  // the rows it gathers; its input is the ids
      EXPECT_DOUBLE_EQ(ForwardMacs(*l.config), static_cast<double>(NumElements(l.output_shape)))
          << where;
    }
    for (const LayerConfig& acc : l.grad_accumulations) {
      // A fork's sum, or a chunk's backward (a cat of its parts' gradients).
      EXPECT_TRUE(acc.type == LayerType::kAdd || acc.type == LayerType::kCat) << where;
      EXPECT_TRUE(IsValid(acc)) << where;
    }
  }
}

struct Expected {
  int64_t parameters = 0;
  int64_t parameter_tensors = 0;
};

// Full bundle: 100 % coverage, loss and optimizer step modelled, totals exact.
void ExpectFullCoverage(const std::vector<LayerInstance>& layers, const TrainingRun& run,
                        const std::string& net) {
  const NetworkPrediction p = PredictTraining(layers, MakeFullBundle(true), run);
  EXPECT_EQ(p.coverage.layers_unmodelled, 0) << net;
  EXPECT_EQ(p.coverage.layers_modelled + p.coverage.layers_no_cost, p.coverage.layers_total) << net;
  EXPECT_DOUBLE_EQ(p.coverage.LayerShare(), 1.0) << net;
  EXPECT_DOUBLE_EQ(p.coverage.MacShare(), 1.0) << net;
  EXPECT_TRUE(p.unmodelled.empty()) << net << ": " << p.unmodelled.front();
  EXPECT_FALSE(p.LowerBound()) << net;
  EXPECT_FALSE(p.per_batch.energy_lower_bound) << net;

  // The loss: cross_entropy on (N, num_classes) = the network output.
  ASSERT_EQ(p.loss.status, LayerStatus::kModelled) << net << ": " << p.loss.reason;
  ASSERT_TRUE(p.loss.layer.config.has_value());
  const std::vector<int64_t>& out = layers.back().output_shape;
  EXPECT_EQ(p.loss.layer.config->type, LayerType::kCrossEntropy);
  EXPECT_EQ(p.loss.layer.config->batch_size, run.batch_size);
  EXPECT_EQ(p.loss.layer.config->num_classes, out.at(1));
  const double logits = static_cast<double>(run.batch_size * out.at(1));
  ASSERT_TRUE(p.per_batch.loss_time_s.has_value());
  EXPECT_NEAR(*p.per_batch.loss_time_s, kForwardSPerMac * logits, 1e-15);

  // The optimizer step: sgd / adam over every parameter, forward pass only.
  ASSERT_EQ(p.optimizer_step.status, LayerStatus::kModelled)
      << net << ": " << p.optimizer_step.reason;
  int64_t parameters = 0, tensors = 0;
  for (const LayerInstance& l : layers) {
    parameters += l.parameter_count;
    tensors += l.parameter_tensors;
  }
  const LayerConfig& step = p.optimizer_step.layer.config.value();
  EXPECT_EQ(ToString(step.type), run.optimizer.type);
  EXPECT_EQ(step.parameters, parameters);
  EXPECT_EQ(step.parameter_tensors, tensors);
  ASSERT_TRUE(p.per_batch.optimizer_time_s.has_value());
  // The step and zero_grad (zero-filling, the default convention), each over every parameter.
  EXPECT_EQ(p.zero_grad.status, LayerStatus::kModelled) << net << ": " << p.zero_grad.reason;
  EXPECT_EQ(p.grad_accumulation.status, LayerStatus::kModelled) << net;
  EXPECT_EQ(p.grad_accumulation.layer.config->parameters, parameters);
  EXPECT_NEAR(*p.per_batch.optimizer_time_s, 2 * kForwardSPerMac * static_cast<double>(parameters),
              1e-12);
  EXPECT_FALSE(p.optimizer_step.backward_time_s.has_value());

  // Totals are the sums of the rows: forward, loss, backward (layers with their gradient
  // accumulations, and the loss backward), optimizer.
  double forward = 0, backward = 0;
  for (const LayerInstance& l : layers) {
    if (!l.config) continue;
    forward += kForwardSPerMac * ForwardMacs(*l.config);
    backward += kBackwardSPerMac * ForwardMacs(*l.config);
    for (const LayerConfig& acc : l.grad_accumulations) {
      backward += kForwardSPerMac * ForwardMacs(acc);
    }
  }
  backward += kBackwardSPerMac * logits;
  backward += kForwardSPerMac * static_cast<double>(parameters);  // grad accumulation (.grad)
  const PhaseTotals& b = p.per_batch;
  EXPECT_NEAR(b.forward_time_s, forward, 1e-9 * forward);
  EXPECT_NEAR(b.backward_time_s, backward, 1e-9 * backward);
  EXPECT_NEAR(b.time_s, forward + *b.loss_time_s + backward + *b.optimizer_time_s, 1e-9 * b.time_s);
  ASSERT_TRUE(b.energy_j.has_value());
  ASSERT_TRUE(b.loss_energy_j.has_value());
  ASSERT_TRUE(b.optimizer_energy_j.has_value());
  EXPECT_NEAR(*b.energy_j,
              *b.forward_energy_j + *b.loss_energy_j + *b.backward_energy_j + *b.optimizer_energy_j,
              1e-9 * *b.energy_j);
  EXPECT_NEAR(p.training.time_s, b.time_s * p.steps_per_epoch * run.epochs,
              1e-9 * p.training.time_s);
}

// Leaving out any one type the network uses (a layer type, add for the gradient
// accumulations, cross_entropy or the optimizer) makes the totals a lower bound and lists
// what is missing.
void ExpectEachMissingTypeMakesALowerBound(const std::vector<LayerInstance>& layers,
                                           const TrainingRun& run, const std::string& net) {
  std::set<LayerType> used = {LayerType::kCrossEntropy,
                              run.optimizer.type == "adam" ? LayerType::kAdam : LayerType::kSgd};
  for (const LayerInstance& l : layers) {
    if (l.config) used.insert(l.config->type);
    if (!l.grad_accumulations.empty()) used.insert(LayerType::kAdd);
  }
  for (LayerType missing : used) {
    const NetworkPrediction p = PredictTraining(layers, MakeFullBundle(true, {missing}), run);
    const std::string what = net + " without " + std::string(ToString(missing));
    EXPECT_TRUE(p.LowerBound()) << what;
    EXPECT_TRUE(p.per_batch.time_lower_bound) << what;
    EXPECT_TRUE(p.per_batch.energy_lower_bound) << what;
    ASSERT_FALSE(p.unmodelled.empty()) << what;
    bool named = false;
    for (const std::string& line : p.unmodelled) {
      named = named ||
              line.find(std::string(ToString(missing)) + " forward time_s") != std::string::npos;
    }
    EXPECT_TRUE(named) << what << ": " << p.unmodelled.front();
    if (missing == LayerType::kCrossEntropy) {
      EXPECT_FALSE(p.per_batch.loss_time_s.has_value()) << what;
      EXPECT_EQ(p.loss.status, LayerStatus::kUnmodelled) << what;
      EXPECT_EQ(p.coverage.layers_unmodelled, 0) << what;
    } else if (IsOptimizerStep(missing)) {
      EXPECT_FALSE(p.per_batch.optimizer_time_s.has_value()) << what;
      EXPECT_EQ(p.optimizer_step.status, LayerStatus::kUnmodelled) << what;
    } else {
      EXPECT_GT(p.coverage.layers_unmodelled, 0) << what;
      EXPECT_LT(p.coverage.LayerShare(), 1.0) << what;
    }
  }
}

TEST(CoverageTest, EveryShippedNetIsFullyMappedAndPredicted) {
  const std::vector<std::string> nets = ShippedNets();
  ASSERT_GE(nets.size(), 5u);
  for (const std::string& path : nets) {
    SCOPED_TRACE(path);
    const NetworkLayers network = LoadNetworkLayers(path, {});
    ExpectEveryLayerMapped(network.layers, path);
    ExpectFullCoverage(network.layers, network.run, path);
    ExpectEachMissingTypeMakesALowerBound(network.layers, network.run, path);
  }
}

TEST(CoverageTest, ParameterTensorsAndGradientAccumulationsOfResNetAndMobileNet) {
  const NetworkLayers resnet = LoadNetworkLayers(SourceDir() + "/configs/nets/resnet18.json", {});
  const NetworkLayers mobilenet =
      LoadNetworkLayers(SourceDir() + "/configs/nets/mobilenet_v3_small.json", {});
  auto tensors = [](const std::vector<LayerInstance>& layers) {
    int64_t n = 0;
    for (const LayerInstance& l : layers) n += l.parameter_tensors;
    return n;
  };
  EXPECT_EQ(tensors(resnet.layers), 62);
  EXPECT_EQ(tensors(mobilenet.layers), 142);
  // One accumulation per residual block (of the block input's shape) and per SE block.
  std::map<std::string, int> accumulations;
  for (const LayerInstance& l : resnet.layers) {
    accumulations[l.type] += static_cast<int>(l.grad_accumulations.size());
  }
  EXPECT_EQ(accumulations["add"], 8);
  EXPECT_EQ(accumulations["relu"] + accumulations["conv2d"] + accumulations["batchnorm2d"], 0);
  for (const LayerInstance& l : resnet.layers) {
    if (l.path == "layer2.0.add") {
      ASSERT_EQ(l.grad_accumulations.size(), 1u);
      // The block input [N, 64, 56, 56] forks (the sum is [N, 128, 28, 28]).
      EXPECT_EQ(l.grad_accumulations[0].in_channels, 64);
      EXPECT_EQ(l.grad_accumulations[0].height, 56);
      EXPECT_EQ(l.config->in_channels, 128);
    }
  }
  int se = 0, residual = 0;
  for (const LayerInstance& l : mobilenet.layers) {
    if (l.type == "mul") se += static_cast<int>(l.grad_accumulations.size());
    if (l.type == "add") residual += static_cast<int>(l.grad_accumulations.size());
  }
  EXPECT_EQ(se, 9);
  EXPECT_EQ(residual, 6);
}

TEST(CoverageTest, TorchScriptOptimizerDefaultsToSgdAndFollowsTheOverride) {
  NetworkOverrides o;
  o.optimizer = "adam";
  const NetworkLayers adam = LoadNetworkLayers(SourceDir() + "/configs/nets/lenet5.json", o);
  EXPECT_EQ(adam.run.optimizer.type, "adam");
  const NetworkPrediction p = PredictTraining(adam.layers, MakeFullBundle(false), adam.run);
  ASSERT_TRUE(p.optimizer_step.layer.config.has_value());
  EXPECT_EQ(p.optimizer_step.layer.config->type, LayerType::kAdam);
  o.optimizer = "rmsprop";
  EXPECT_THROW(LoadNetworkLayers(SourceDir() + "/configs/nets/lenet5.json", o), ConfigError);
}

class TorchScriptCoverageTest : public ::testing::TestWithParam<std::string> {};  // method

TEST_P(TorchScriptCoverageTest, ResNet18AndMobileNetV3SmallAreFullyMappedAndMatchNetJson) {
  for (const std::string name : {"resnet18", "mobilenet_v3_small"}) {
    SCOPED_TRACE(name + std::string(" (") + GetParam() + ")");
    EXPORTED_OR_SKIP(path, GetParam(), name);
    const int64_t batch = 16;
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 224, 224}, batch);
    ExpectEveryLayerMapped(layers, path);
    TrainingRun run;
    run.network = name;
    run.input = {3, 224, 224};
    run.batch_size = batch;
    run.dataset_size = 1000;
    run.epochs = 2;
    ExpectFullCoverage(layers, run, path);
    ExpectEachMissingTypeMakesALowerBound(layers, run, path);

    // The same configs (every type), gradient accumulations and parameter tensors as net.json.
    NetworkOverrides o;
    o.batch_size = batch;
    const NetworkLayers reference =
        LoadNetworkLayers(SourceDir() + "/configs/nets/" + name + ".json", o);
    auto configs = [](const std::vector<LayerInstance>& ls) {
      std::multiset<std::string> out;
      for (const LayerInstance& l : ls) {
        if (l.config) out.insert(std::string(ToString(l.config->type)) + ToJson(*l.config).dump());
        for (const LayerConfig& acc : l.grad_accumulations) {
          out.insert("accumulation " + ToJson(acc).dump());
        }
      }
      return out;
    };
    EXPECT_EQ(configs(layers), configs(reference.layers));
    int64_t tensors = 0, reference_tensors = 0;
    for (const LayerInstance& l : layers) tensors += l.parameter_tensors;
    for (const LayerInstance& l : reference.layers) reference_tensors += l.parameter_tensors;
    EXPECT_EQ(tensors, reference_tensors);
    EXPECT_EQ(tensors, name == "resnet18" ? 62 : 142);
  }
}

INSTANTIATE_TEST_SUITE_P(ScriptAndTrace, TorchScriptCoverageTest,
                         ::testing::Values("script", "trace"));

// Issue 12 item 3: one classifier of each torchvision 0.14 family that needed new mappings,
// traced as tools/torchvision_coverage.py traces all 80 (random weights, eval mode, autograd
// on), is 100 % mapped: every costed op has a valid config, and a full bundle predicts it
// without a lower bound.
class TorchvisionFamilyTest : public ::testing::TestWithParam<std::string> {};  // constructor

TEST_P(TorchvisionFamilyTest, IsFullyMapped) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string name = GetParam();
  const int64_t side = name == "inception_v3" ? 299 : 224;
  const std::string path = (exports.dir() / (name + ".pt")).string();
  ASSERT_TRUE(
      exports.RunPython("import torch, torchvision\ntorch.manual_seed(0)\n"
                        "m = torchvision.models.get_model('" +
                        name +
                        "').eval()\n"
                        "torch.jit.trace(m, torch.randn(1, 3, " +
                        std::to_string(side) + ", " + std::to_string(side) +
                        "), check_trace=False).save('" + path + "')\n"))
      << exports.error;
  const int64_t batch = 2;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, side, side}, batch);
  int64_t costed = 0;
  for (const LayerInstance& l : layers) {
    if (l.no_cost) continue;
    ++costed;
    const std::string where = name + ": " + l.path + " (" + l.type + ") from " + l.source;
    ASSERT_TRUE(l.config.has_value()) << where << ": " << l.note;
    std::string reason;
    EXPECT_TRUE(IsValid(*l.config, &reason)) << where << ": " << reason;
    EXPECT_EQ(ToString(l.config->type), l.type) << where;
  }
  EXPECT_GT(costed, 10) << name;
  TrainingRun run;
  run.network = name;
  run.input = {3, side, side};
  run.batch_size = batch;
  run.dataset_size = 1000;
  run.epochs = 1;
  ExpectFullCoverage(layers, run, name);
}

INSTANTIATE_TEST_SUITE_P(OnePerFamily, TorchvisionFamilyTest,
                         ::testing::Values("squeezenet1_1", "googlenet", "inception_v3",
                                           "densenet121", "shufflenet_v2_x0_5", "mnasnet0_5",
                                           "regnet_x_400mf", "efficientnet_b0", "convnext_tiny",
                                           "vit_b_32", "swin_t", "swin_v2_t", "maxvit_t"));

}  // namespace
}  // namespace lj
