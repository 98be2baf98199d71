// Tests for net/net_builder.h: networks built in LibTorch from configs/nets/*.json match
// the reference PyTorch models (parameter counts and per-module output shapes written by
// tools/torchvision_param_counts.py into tests/net/data/param_counts.json).
#include "net/net_builder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "core/errors.h"
#include "net/net_module.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

const nlohmann::json& Reference() {
  static const nlohmann::json j = [] {
    const std::string path = test::SourceDir() + "/tests/net/data/param_counts.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
  }();
  return j;
}

NetSpec ShippedNet(const std::string& name) {
  return LoadNetSpec(test::SourceDir() + "/configs/nets/" + name + ".json");
}

const LayerInstance* Find(const std::vector<LayerInstance>& layers, const std::string& path) {
  for (const LayerInstance& l : layers) {
    if (l.path == path) return &l;
  }
  return nullptr;
}

int Count(const std::vector<LayerInstance>& layers, const std::string& type) {
  int n = 0;
  for (const LayerInstance& l : layers) n += l.type == type;
  return n;
}

// ---- The shipped nets against torch ------------------------------------------------------

class ShippedNetTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ShippedNetTest, MatchesReferenceModel) {
  const std::string name = GetParam();
  const nlohmann::json& ref = Reference().at(name);
  const NetSpec spec = ShippedNet(name);
  EXPECT_EQ(std::vector<int64_t>({spec.input.channels, spec.input.height, spec.input.width}),
            ref.at("input").get<std::vector<int64_t>>());

  const BuiltNet net = BuildNet(spec);
  EXPECT_EQ(net.parameter_count, ref.at("parameter_count").get<int64_t>());
  int64_t layer_sum = 0;
  for (const LayerInstance& l : net.layers) layer_sum += l.parameter_count;
  EXPECT_EQ(layer_sum, net.parameter_count) << "per-layer counts must add up";
  EXPECT_EQ(net.output_shape, std::vector<int64_t>({spec.batch_size, 10}));

  // Every leaf module torch ran once has a layer with the same path and output shape.
  const auto& shapes = ref.at("output_shapes");
  ASSERT_GT(shapes.size(), 5u);
  for (const auto& item : shapes.items()) {
    const LayerInstance* layer = Find(net.layers, item.key());
    ASSERT_NE(layer, nullptr) << "no layer at path " << item.key();
    std::vector<int64_t> expected = {spec.batch_size};
    for (int64_t d : item.value().get<std::vector<int64_t>>()) expected.push_back(d);
    EXPECT_EQ(layer->output_shape, expected) << item.key();
  }

  // Paths are unique; every layer but the no-cost ones (flatten, dropout p = 0) carries a
  // valid config of its type at the batch size, whose output has the recorded shape (element-
  // wise types on (N, F): (N, F, 1, 1)); conv2d / maxpool2d / linear MACs are the config's.
  std::set<std::string> paths;
  for (const LayerInstance& l : net.layers) {
    EXPECT_TRUE(paths.insert(l.path).second) << "duplicate path " << l.path;
    EXPECT_TRUE(HasKnownType(l)) << l.type;
    EXPECT_EQ(l.input_shape.at(0), spec.batch_size) << l.path;
    ASSERT_EQ(l.config.has_value(), !l.no_cost) << l.path << ": " << l.note;
    EXPECT_EQ(l.no_cost, l.type == "flatten") << l.path;  // no dropout with p = 0 here
    if (l.no_cost) continue;
    EXPECT_EQ(ToString(l.config->type), l.type) << l.path;
    EXPECT_EQ(l.config->batch_size, spec.batch_size);
    EXPECT_NO_THROW(Validate(*l.config));
    if (OutputShape(*l.config).size() == l.output_shape.size()) {
      EXPECT_EQ(OutputShape(*l.config), l.output_shape) << l.path;
    } else {
      EXPECT_EQ(NumElements(OutputShape(*l.config)), NumElements(l.output_shape)) << l.path;
    }
    const bool spatial = l.type == "conv2d" || l.type == "maxpool2d" || l.type == "linear";
    if (spatial) {
      EXPECT_DOUBLE_EQ(l.forward_macs, ForwardMacs(*l.config)) << l.path;
    }
    EXPECT_GT(ForwardMacs(*l.config), 0) << l.path;
  }
  // The parameter tensors add up to the module's.
  int64_t tensors = 0;
  for (const LayerInstance& l : net.layers) tensors += l.parameter_tensors;
  EXPECT_EQ(tensors, static_cast<int64_t>(net.module->parameters().size()));
}

INSTANTIATE_TEST_SUITE_P(AllNets, ShippedNetTest,
                         ::testing::Values("lenet5", "alexnet", "alexnet_legacy", "vgg11",
                                           "resnet18", "mobilenet_v3_small"));

TEST(NetBuilderTest, AlexNetFirstConvShapesAndConfig) {
  const NetSpec spec = ShippedNet("alexnet");
  const std::vector<LayerInstance> layers = LayersFromNetSpec(spec);
  const LayerInstance* conv = Find(layers, "features.0");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->type, "conv2d");
  EXPECT_EQ(conv->source, "layers[0].layers[0]");
  EXPECT_EQ(conv->input_shape, std::vector<int64_t>({spec.batch_size, 3, 224, 224}));
  EXPECT_EQ(conv->output_shape, std::vector<int64_t>({spec.batch_size, 64, 55, 55}));
  ASSERT_TRUE(conv->config.has_value());
  EXPECT_EQ(conv->config->in_channels, 3);
  EXPECT_EQ(conv->config->out_channels, 64);
  EXPECT_EQ(conv->config->kernel_size, 11);
  EXPECT_EQ(conv->config->stride, 4);
  EXPECT_EQ(conv->config->padding, 2);
  EXPECT_EQ(conv->parameter_count, 64 * 3 * 11 * 11 + 64);
  // 128 * 64 * 55 * 55 * 3 * 121 multiply-accumulates.
  EXPECT_DOUBLE_EQ(conv->forward_macs, 128.0 * 64 * 55 * 55 * 3 * 121);

  const LayerInstance* pool = Find(layers, "avgpool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->type, "adaptive_avgpool2d");
  EXPECT_EQ(pool->output_shape, std::vector<int64_t>({spec.batch_size, 256, 6, 6}));
  const LayerInstance* fc = Find(layers, "classifier.1");
  ASSERT_NE(fc, nullptr);
  EXPECT_EQ(fc->config->in_features, 9216);
  EXPECT_EQ(fc->config->out_features, 4096);
}

// The first layer with parameters takes the data: no input gradient (MarkFirstTrainableLayer).
// Every other layer computes one.
TEST(NetBuilderTest, OnlyTheFirstTrainableLayerSkipsTheInputGradient) {
  for (const char* name : {"lenet5", "alexnet", "resnet18", "mobilenet_v3_small"}) {
    SCOPED_TRACE(name);
    const std::vector<LayerInstance> layers = LayersFromNetSpec(ShippedNet(name));
    int without = 0;
    for (const LayerInstance& l : layers) {
      if (l.config && !l.config->input_grad) ++without;
    }
    EXPECT_EQ(without, 1);
    const auto first = std::find_if(layers.begin(), layers.end(),
                                    [](const LayerInstance& l) { return l.parameter_count > 0; });
    ASSERT_NE(first, layers.end());
    ASSERT_TRUE(first->config.has_value());
    EXPECT_EQ(first->config->type, LayerType::kConv2d);
    EXPECT_FALSE(first->config->input_grad);
    EXPECT_EQ(ToJson(*first->config).at("input_grad"), false);
  }
  std::vector<LayerInstance> pool_first(2);
  pool_first[0].config = LayerConfig{};
  pool_first[0].config->type = LayerType::kMaxPool2d;
  pool_first[1].config = LayerConfig{};
  pool_first[1].config->type = LayerType::kLinear;
  pool_first[1].parameter_count = 10;
  MarkFirstTrainableLayer(pool_first);
  EXPECT_TRUE(pool_first[0].config->input_grad);
  EXPECT_FALSE(pool_first[1].config->input_grad);
}

TEST(NetBuilderTest, ResNet18BlocksAndModuleNames) {
  const BuiltNet net = BuildNet(ShippedNet("resnet18"));
  EXPECT_EQ(Count(net.layers, "conv2d"), 20);  // 17 3x3/7x7 + 3 downsample 1x1
  EXPECT_EQ(Count(net.layers, "add"), 8);
  EXPECT_EQ(Count(net.layers, "batchnorm2d"), 20);
  const LayerInstance* down = Find(net.layers, "layer2.0.downsample.0");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->config->kernel_size, 1);
  EXPECT_EQ(down->config->stride, 2);
  EXPECT_FALSE(down->config->bias);
  const LayerInstance* add = Find(net.layers, "layer2.0.add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->output_shape, std::vector<int64_t>({64, 128, 28, 28}));
  EXPECT_EQ(Find(net.layers, "layer2.0.activation")->type, "relu");

  // Parameter names follow torchvision, so state dicts line up.
  std::set<std::string> names;
  for (const auto& item : net.module->named_parameters()) names.insert(item.key());
  for (const char* name :
       {"conv1.weight", "bn1.bias", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.weight", "layer4.1.bn2.bias", "fc.weight", "fc.bias"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  EXPECT_EQ(names.size(), 62u);  // as torchvision resnet18().named_parameters()
}

TEST(NetBuilderTest, MobileNetV3SmallSqueezeExcitation) {
  const std::vector<LayerInstance> layers = LayersFromNetSpec(ShippedNet("mobilenet_v3_small"));
  EXPECT_EQ(Count(layers, "mul"), 9);  // one SE scale per SE block
  EXPECT_EQ(Count(layers, "hardsigmoid"), 9);
  EXPECT_EQ(Count(layers, "add"), 6);  // identity shortcuts of the stride-1 blocks
  EXPECT_EQ(Count(layers, "dropout"), 1);
  const LayerInstance* fc1 = Find(layers, "features.1.block.1.fc1");
  ASSERT_NE(fc1, nullptr);
  EXPECT_EQ(fc1->input_shape, std::vector<int64_t>({64, 16, 1, 1}));
  EXPECT_EQ(fc1->output_shape, std::vector<int64_t>({64, 8, 1, 1}));
  const LayerInstance* scale = Find(layers, "features.1.block.1.mul");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->input_shape, std::vector<int64_t>({64, 16, 56, 56}));
  EXPECT_EQ(scale->output_shape, std::vector<int64_t>({64, 16, 56, 56}));
  const LayerInstance* depthwise = Find(layers, "features.1.block.0.0");
  ASSERT_NE(depthwise, nullptr);
  EXPECT_EQ(depthwise->config->groups, 16);
}

TEST(NetBuilderTest, ModuleTrainsOnRandomData) {
  const BuiltNet net = BuildNet(ShippedNet("lenet5"));
  ASSERT_TRUE(net.module->is_training());
  const torch::Tensor x = torch::randn({2, 1, 32, 32});
  const torch::Tensor y = net.module->forward(x);
  EXPECT_EQ(y.sizes().vec(), std::vector<int64_t>({2, 10}));
  torch::nn::functional::cross_entropy(y, torch::tensor({1, 3})).backward();
  int with_grad = 0;
  for (const torch::Tensor& p : net.module->parameters()) with_grad += p.grad().defined();
  EXPECT_EQ(with_grad, 10);  // 5 weighted layers x (weight, bias)
}

// ---- Geometry errors ---------------------------------------------------------------------

NetSpec Parse(const std::string& layers_json, int64_t size = 8) {
  return ParseNetSpec(
      nlohmann::json::parse(R"({"name": "t", "input": {"channels": 3, "height": )" +
                            std::to_string(size) + R"(, "width": )" + std::to_string(size) +
                            R"(}, "batch_size": 4, "dataset_size": 8, "epochs": 1,
                              "layers": )" +
                            layers_json + "}"),
      "net.json");
}

std::string BuildError(const NetSpec& spec) {
  try {
    BuildNet(spec);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return "";
}

TEST(NetBuilderTest, EveryLayerTypeGetsItsCoreConfig) {
  const BuiltNet net = BuildNet(Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "batchnorm2d"},
      {"type": "hardswish", "name": "act"},
      {"type": "avgpool2d", "kernel_size": 2, "stride": 2},
      {"type": "adaptive_avgpool2d", "output_size": [2, 2], "name": "square"},
      {"type": "adaptive_avgpool2d", "output_size": [2, 1], "name": "wide"},
      {"type": "flatten"},
      {"type": "dropout", "p": 0.0, "name": "off"},
      {"type": "dropout", "p": 0.3, "name": "on"},
      {"type": "linear", "out_features": 10}])"));
  const auto config = [&](const std::string& path) -> const LayerInstance& {
    const LayerInstance* l = Find(net.layers, path);
    if (l == nullptr) throw std::runtime_error("no layer " + path);
    return *l;
  };
  const LayerInstance& bn = config("1");
  ASSERT_TRUE(bn.config.has_value());
  EXPECT_EQ(ToJson(*bn.config),
            nlohmann::json({{"batch_size", 4}, {"num_features", 4}, {"height", 8}, {"width", 8}}));
  EXPECT_EQ(bn.parameter_tensors, 2);
  EXPECT_EQ(config("0").parameter_tensors, 2);  // weight and bias
  EXPECT_EQ(config("act").config->type, LayerType::kHardswish);
  const LayerInstance& avg = config("3");
  ASSERT_TRUE(avg.config.has_value());
  EXPECT_EQ(avg.config->type, LayerType::kAvgPool2d);
  EXPECT_EQ(avg.config->kernel_size, 2);
  EXPECT_EQ(avg.config->stride, 2);
  EXPECT_EQ(OutputShape(*avg.config), avg.output_shape);
  ASSERT_TRUE(config("square").config.has_value());
  EXPECT_EQ(config("square").config->output_size, 2);
  EXPECT_EQ(config("square").config->height, 4);
  EXPECT_FALSE(config("wide").config.has_value());  // 2x1 is not modelled
  EXPECT_EQ(config("wide").note, "output size 2x1 is not square");
  EXPECT_TRUE(config("6").no_cost);  // flatten
  EXPECT_TRUE(config("off").no_cost);
  EXPECT_FALSE(config("off").config.has_value());
  // A no-cost layer does no work: its MACs would make predict's MAC share below 100 %.
  EXPECT_EQ(config("off").forward_macs, 0.0);
  EXPECT_EQ(config("on").forward_macs, static_cast<double>(NumElements(config("on").input_shape)));
  const LayerInstance& on = config("on");
  ASSERT_TRUE(on.config.has_value());
  // (N, F) = (4, 8) as (N, F, 1, 1), p_percent = round(100 p).
  EXPECT_EQ(
      ToJson(*on.config),
      nlohmann::json(
          {{"batch_size", 4}, {"in_channels", 8}, {"height", 1}, {"width", 1}, {"p_percent", 30}}));
  EXPECT_FALSE(on.no_cost);
}

TEST(NetBuilderTest, ActivationsAreLeavesAndBlockActivations) {
  // SiLU and GELU (net/activations.cpp) as leaves, after a Linear (N, F) and in a residual block.
  const BuiltNet net = BuildNet(Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "silu", "name": "act"},
      {"type": "residual", "activation": "gelu", "name": "block",
       "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 1}]},
      {"type": "flatten"},
      {"type": "linear", "out_features": 6},
      {"type": "gelu", "name": "mlp_act"}])"));
  const LayerInstance* silu = Find(net.layers, "act");
  ASSERT_NE(silu, nullptr);
  EXPECT_EQ(silu->layer_type, LayerType::kSiLU);
  ASSERT_TRUE(silu->config.has_value());
  EXPECT_EQ(ToJson(*silu->config),
            nlohmann::json({{"batch_size", 4}, {"in_channels", 4}, {"height", 8}, {"width", 8}}));
  EXPECT_EQ(silu->forward_macs, 4.0 * 4 * 8 * 8);  // core ForwardMacs: one per element
  const LayerInstance* block_act = Find(net.layers, "block.activation");
  ASSERT_NE(block_act, nullptr);
  EXPECT_EQ(block_act->layer_type, LayerType::kGELU);
  const LayerInstance* mlp = Find(net.layers, "mlp_act");
  ASSERT_NE(mlp, nullptr);
  ASSERT_TRUE(mlp->config.has_value());
  EXPECT_EQ(mlp->config->type, LayerType::kGELU);
  EXPECT_EQ(mlp->config->in_channels, 6);  // (N, F) as (N, F, 1, 1)
  EXPECT_EQ(net.output_shape, (std::vector<int64_t>{4, 6}));
}

TEST(NetBuilderTest, KernelLargerThanInputNamesTheLayer) {
  const std::string error = BuildError(Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
      {"type": "maxpool2d", "kernel_size": 2},
      {"type": "relu"},
      {"type": "conv2d", "name": "late", "out_channels": 4, "kernel_size": 5}])"));
  EXPECT_NE(error.find("net.json: layer 3 (conv2d, late): "), std::string::npos) << error;
  EXPECT_NE(error.find("kernel_size"), std::string::npos) << error;
}

TEST(NetBuilderTest, NestedErrorsNameIndexPathAndModulePath) {
  const std::string error = BuildError(Parse(R"([
      {"type": "sequential", "name": "features", "layers": [
        {"type": "maxpool2d", "kernel_size": 4},
        {"type": "avgpool2d", "kernel_size": 3}]}])"));
  EXPECT_NE(error.find("net.json: layers[0].layers[1] (avgpool2d, features.1): kernel_size 3 is "
                       "larger than the padded input 2x2"),
            std::string::npos)
      << error;
}

TEST(NetBuilderTest, ResidualShapeMismatch) {
  const std::string error = BuildError(Parse(R"([
      {"type": "residual", "name": "block", "activation": "relu", "layers": [
        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1}]}])"));
  EXPECT_EQ(error,
            "net.json: layer 0 (residual, block): branch output [4, 3, 4, 4] and identity "
            "shortcut [4, 3, 8, 8] differ");

  // The projection shortcut fixes it.
  const BuiltNet net = BuildNet(Parse(R"([
      {"type": "residual", "name": "block", "activation": "relu", "layers": [
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1}],
       "shortcut": [{"type": "conv2d", "out_channels": 6, "kernel_size": 1, "stride": 2}]}])"));
  ASSERT_EQ(net.layers.size(), 4u);
  EXPECT_EQ(net.layers[1].path, "block.shortcut.0");
  EXPECT_EQ(net.layers[2].path, "block.add");
  EXPECT_EQ(net.layers[3].path, "block.activation");
  EXPECT_EQ(net.output_shape, std::vector<int64_t>({4, 6, 4, 4}));
}

TEST(NetBuilderTest, LinearNeedsFlattenAndGroupsMustDivideChannels) {
  const std::string linear = BuildError(Parse(R"([{"type": "linear", "out_features": 2}])"));
  EXPECT_EQ(linear,
            "net.json: layer 0 (linear, 0): expects a 2-D input (batch, features) or a 3-D "
            "(batch, sequence, features), got [4, 3, 8, 8]; add a flatten layer before it");
  const std::string groups = BuildError(
      Parse(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "groups": 2}])"));
  EXPECT_NE(groups.find("net.json: layer 0 (conv2d, 0): "), std::string::npos) << groups;
  EXPECT_NE(groups.find("groups"), std::string::npos) << groups;
}

TEST(NetBuilderTest, NumClassesMustMatchOutput) {
  NetSpec spec = Parse(R"([{"type": "flatten"}, {"type": "linear", "out_features": 5}])");
  spec.num_classes = 10;
  EXPECT_EQ(BuildError(spec), "net.json: output [4, 5] does not match num_classes 10");
  spec.num_classes = 5;
  EXPECT_EQ(BuildNet(spec).parameter_count, 3 * 8 * 8 * 5 + 5);
}

}  // namespace
}  // namespace lj
