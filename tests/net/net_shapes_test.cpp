// net/net_shapes.h (core's shape rules, no LibTorch) against net/net_builder.h (the modules
// built and run in LibTorch): the same layers, field by field, for every shipped net at several
// batch sizes and for small nets of every layer type and block; the same errors for geometries
// that do not work (issue 13 § 5).
#include "net/net_shapes.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "net/net_builder.h"
#include "net/net_module.h"
#include "tests/support/layer_configs.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

nlohmann::json AsJson(const std::vector<LayerInstance>& layers) {
  nlohmann::json j = nlohmann::json::array();
  for (const LayerInstance& l : layers) j.push_back(ToJson(l));
  return j;
}

void ExpectSameLayers(const NetSpec& spec) {
  const nlohmann::json built = AsJson(LayersFromNetSpec(spec));
  const nlohmann::json inferred = AsJson(LayerShapesFromNetSpec(spec));
  ASSERT_EQ(inferred.size(), built.size()) << spec.name;
  for (size_t i = 0; i < built.size(); ++i) {
    EXPECT_EQ(inferred[i], built[i])
        << spec.name << " at batch " << spec.batch_size << ", layer " << i;
  }
}

std::vector<std::string> ShippedNets() {
  std::vector<std::string> paths;
  for (const auto& entry :
       std::filesystem::directory_iterator(test::SourceDir() + "/configs/nets")) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
  }
  return paths;
}

TEST(NetShapesTest, EveryShippedNetHasLibTorchsLayersAtEveryBatchSize) {
  const std::vector<std::string> paths = ShippedNets();
  ASSERT_GE(paths.size(), 5u);
  for (const std::string& path : paths) {
    NetSpec spec = LoadNetSpec(path);
    for (const int64_t batch : {int64_t{1}, int64_t{7}, spec.batch_size}) {
      spec.batch_size = batch;
      ExpectSameLayers(spec);
    }
  }
}

NetSpec Parse(const std::string& layers_json, int64_t size = 8) {
  return ParseNetSpec(
      nlohmann::json::parse(R"({"name": "t", "input": {"channels": 3, "height": )" +
                            std::to_string(size) + R"(, "width": )" + std::to_string(size) +
                            R"(}, "batch_size": 4, "dataset_size": 8, "epochs": 1,
                              "layers": )" +
                            layers_json + "}"),
      "net.json");
}

TEST(NetShapesTest, EveryLayerTypeAndBlockAsLibTorchBuildsIt) {
  ExpectSameLayers(Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": false},
      {"type": "batchnorm2d"},
      {"type": "hardswish", "name": "act"},
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "groups": 4},
      {"type": "squeeze_excitation", "squeeze_channels": 2, "activation": "relu",
       "scale_activation": "hardsigmoid"},
      {"type": "residual", "activation": "gelu", "name": "block",
       "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 1}, {"type": "relu6"}]},
      {"type": "residual", "activation": "none", "name": "down",
       "layers": [{"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2,
                   "padding": 1}],
       "shortcut": [{"type": "conv2d", "out_channels": 6, "kernel_size": 1, "stride": 2}]},
      {"type": "maxpool2d", "kernel_size": 2, "stride": 1, "padding": 1},
      {"type": "avgpool2d", "kernel_size": 2, "stride": 2},
      {"type": "adaptive_avgpool2d", "output_size": [2, 1], "name": "wide"},
      {"type": "adaptive_avgpool2d", "output_size": 2, "name": "square"},
      {"type": "silu"},
      {"type": "channel_shuffle", "name": "shuffle", "groups": 3},
      {"type": "scale"},
      {"type": "layer_norm", "name": "channels_norm", "eps": 1e-6},
      {"type": "softmax", "name": "rows"},
      {"type": "flatten"},
      {"type": "dropout", "p": 0.0, "name": "off"},
      {"type": "dropout", "p": 0.3, "name": "on"},
      {"type": "linear", "out_features": 10},
      {"type": "layer_norm", "name": "features_norm"},
      {"type": "sigmoid"},
      {"type": "linear", "out_features": 3, "bias": false},
      {"type": "softmax", "name": "probs"}])",
                         17));
  // ceil_mode pools: 17 -> 9 (floor: 8), then a side of 3 where ATen drops the last window.
  ExpectSameLayers(Parse(R"([
      {"type": "maxpool2d", "kernel_size": 2, "stride": 2, "ceil_mode": true},
      {"type": "avgpool2d", "kernel_size": 3, "stride": 3, "ceil_mode": true},
      {"type": "maxpool2d", "kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": true},
      {"type": "flatten"}, {"type": "linear", "out_features": 2}])",
                         17));
  // A concat block (Inception-like: a 1x1 branch, a sequential branch, a pooling branch), nested
  // in a residual branch, and a Fire-like concat of two expand convs after a squeeze conv.
  ExpectSameLayers(Parse(R"([
      {"type": "concat", "name": "inception", "branches": [
        {"type": "conv2d", "name": "branch1", "out_channels": 4, "kernel_size": 1},
        {"type": "sequential", "name": "branch2", "layers": [
          {"type": "conv2d", "out_channels": 2, "kernel_size": 1}, {"type": "relu"},
          {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1}]},
        {"type": "sequential", "name": "branch4", "layers": [
          {"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1, "ceil_mode": true},
          {"type": "conv2d", "out_channels": 3, "kernel_size": 1}]}]},
      {"type": "residual", "activation": "relu", "layers": [
        {"type": "conv2d", "name": "squeeze", "out_channels": 4, "kernel_size": 1},
        {"type": "concat", "name": "expand", "branches": [
          {"type": "conv2d", "out_channels": 6, "kernel_size": 1},
          {"type": "conv2d", "out_channels": 7, "kernel_size": 3, "padding": 1}]}]},
      {"type": "flatten"}, {"type": "linear", "out_features": 2}])",
                         9));
  // Inception v3's factorised 7x7: a 1x7 and a 7x1 conv, each padded to keep 17x17, then an
  // unpadded 1x3 that narrows the width only.
  ExpectSameLayers(Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": [1, 7], "padding": [0, 3]},
      {"type": "conv2d", "out_channels": 5, "kernel_size": [7, 1], "padding": [3, 0],
       "bias": false},
      {"type": "conv2d", "out_channels": 2, "kernel_size": [1, 3], "stride": 2},
      {"type": "flatten"}, {"type": "linear", "out_features": 2}])",
                         17));
  // A batch of 1 makes batchnorm2d's config invalid on a 1x1 input (one value per channel).
  NetSpec one = Parse(R"([{"type": "adaptive_avgpool2d", "output_size": 1},
                          {"type": "batchnorm2d"}, {"type": "flatten", "start_dim": 2},
                          {"type": "relu"}])");
  one.batch_size = 1;
  ExpectSameLayers(one);
}

// softmax reduces the last dim: its config puts that dim in width and the dims between the
// batch and it in in_channels, on an image (N, C, H, W) and on features (N, F).
TEST(NetShapesTest, SoftmaxConfigsPutTheReducedDimInWidth) {
  const NetSpec spec = Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "softmax", "name": "rows"},
      {"type": "flatten"}, {"type": "linear", "out_features": 3},
      {"type": "softmax", "name": "probs"}])",
                             5);
  std::map<std::string, LayerConfig> configs;
  for (const LayerInstance& l : LayerShapesFromNetSpec(spec)) {
    if (l.config) configs[l.path] = *l.config;
  }
  ASSERT_EQ(configs.count("rows"), 1u);
  ASSERT_EQ(configs.count("probs"), 1u);
  EXPECT_EQ(test::NchwOf(configs["rows"]), std::vector<int64_t>({4, 4 * 5, 1, 5}));
  EXPECT_EQ(test::NchwOf(configs["probs"]), std::vector<int64_t>({4, 1, 1, 3}));
}

// channel_shuffle is one contiguous copy at the block's path: (N, C/g, g, H x W), runs of an
// image's H x W elements; LibTorch's module shuffles the channels as torchvision does.
TEST(NetShapesTest, ChannelShuffleIsOneContiguousCopy) {
  const NetSpec spec = Parse(R"([
      {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1},
      {"type": "channel_shuffle", "name": "shuffle", "groups": 2}])",
                             5);
  const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(spec);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[1].path, "shuffle");
  EXPECT_EQ(layers[1].type, "contiguous");
  ASSERT_TRUE(layers[1].config.has_value()) << layers[1].note;
  EXPECT_EQ(test::NchwOf(*layers[1].config), std::vector<int64_t>({4, 3, 2, 25}));
  EXPECT_EQ(layers[1].output_shape, (std::vector<int64_t>{4, 6, 5, 5}));
  EXPECT_EQ(layers[1].parameter_count, 0);
  ChannelShuffle shuffle(2);
  const torch::Tensor x = torch::arange(6).view({1, 6, 1, 1}).to(torch::kFloat);
  EXPECT_TRUE(torch::equal(shuffle->forward(x).flatten(),
                           torch::tensor({0, 3, 1, 4, 2, 5}).to(torch::kFloat)));
}

// layer_norm normalizes the channels of (N, C, H, W) (torchvision's LayerNorm2d) or the features of
// (N, F): its config is the element-wise (N, C, H, W) / (N, F, 1, 1), with weight and bias of C (F)
// elements, the same in the shape walker and in the LibTorch-built network.
TEST(NetShapesTest, LayerNormNormalizesChannelsOrFeatures) {
  const NetSpec spec = Parse(R"([
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
      {"type": "layer_norm", "name": "channels_norm"},
      {"type": "flatten"}, {"type": "linear", "out_features": 3},
      {"type": "layer_norm", "name": "features_norm"}])",
                             5);
  std::map<std::string, LayerInstance> layers;
  for (const LayerInstance& l : LayerShapesFromNetSpec(spec)) layers[l.path] = l;
  ASSERT_EQ(layers.count("channels_norm"), 1u);
  ASSERT_EQ(layers.count("features_norm"), 1u);
  ASSERT_TRUE(layers["channels_norm"].config.has_value());
  EXPECT_EQ(test::NchwOf(*layers["channels_norm"].config), std::vector<int64_t>({4, 4, 5, 5}));
  EXPECT_EQ(layers["channels_norm"].parameter_count, 8);
  EXPECT_EQ(layers["channels_norm"].parameter_tensors, 2);
  ASSERT_TRUE(layers["features_norm"].config.has_value());
  EXPECT_EQ(test::NchwOf(*layers["features_norm"].config), std::vector<int64_t>({4, 3, 1, 1}));
  EXPECT_EQ(layers["features_norm"].parameter_count, 6);
  ExpectSameLayers(spec);
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no ConfigError";
}

TEST(NetShapesTest, BadGeometriesGiveLibTorchBuildersErrors) {
  for (
      const char* layers : {
          R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3},
               {"type": "maxpool2d", "kernel_size": 2},
               {"type": "conv2d", "name": "late", "out_channels": 4, "kernel_size": 5}])",
          R"([{"type": "sequential", "name": "features", "layers": [
               {"type": "maxpool2d", "kernel_size": 4}, {"type": "avgpool2d", "kernel_size": 3}]}])",
          R"([{"type": "residual", "name": "block", "activation": "relu", "layers": [
               {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2,
                "padding": 1}]}])",
          R"([{"type": "linear", "out_features": 2}])",
          R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "groups": 2}])",
          R"([{"type": "flatten"}, {"type": "squeeze_excitation", "squeeze_channels": 2}])",
          R"([{"type": "flatten", "start_dim": 4}])",
          R"([{"type": "concat", "name": "mixed", "branches": [
               {"type": "conv2d", "out_channels": 2, "kernel_size": 1},
               {"type": "conv2d", "out_channels": 2, "kernel_size": 3}]}])",
          R"([{"type": "flatten"}, {"type": "flatten", "start_dim": 2}])",
          // a transformer encoder layer takes (N, S, D) with D divisible by nhead
          R"([{"type": "flatten", "start_dim": 2},
               {"type": "transformer_encoder_layer", "name": "enc", "nhead": 5}])",
          R"([{"type": "transformer_encoder_layer", "nhead": 1}])",
          R"([{"type": "channel_shuffle", "groups": 2}])",
          R"([{"type": "flatten"}, {"type": "channel_shuffle", "groups": 3}])",
          // mean and select: never the batch dim, dims in range and adjacent, index in range
          R"([{"type": "mean", "dim": 0}])", R"([{"type": "mean", "dim": [1, 3]}])",
          R"([{"type": "mean", "dim": [2, -2]}])", R"([{"type": "mean", "dim": 4}])",
          R"([{"type": "select", "dim": 1, "index": 3}])",
          R"([{"type": "select", "dim": -5, "index": 0}])",
          // a non-square kernel wider than the padded width (8 + 2*1)
          R"([{"type": "conv2d", "out_channels": 2, "kernel_size": [1, 11], "padding": [0, 1]}])"}) {
    const NetSpec spec = Parse(layers);
    const std::string built = ErrorOf([&] { LayersFromNetSpec(spec); });
    EXPECT_NE(built, "no ConfigError") << layers;
    EXPECT_EQ(ErrorOf([&] { LayerShapesFromNetSpec(spec); }), built) << layers;
  }
  EXPECT_EQ(ErrorOf([&] {
              LayerShapesFromNetSpec(Parse(R"([{"type": "flatten", "start_dim": 2},
                  {"type": "transformer_encoder_layer", "name": "enc", "nhead": 5}])"));
            }),
            "net.json: layer 1 (transformer_encoder_layer, enc): d_model 64 is not divisible by "
            "nhead 5");
  EXPECT_EQ(ErrorOf([&] {
              LayerShapesFromNetSpec(Parse(R"([{"type": "sequential", "name": "encoder", "layers": [
                      {"type": "transformer_encoder_layer", "nhead": 1}]}])"));
            }),
            "net.json: layers[0].layers[0] (transformer_encoder_layer, encoder.0): expects a 3-D "
            "input (N, S, D), got [4, 3, 8, 8]");
  EXPECT_EQ(ErrorOf([&] {
              LayerShapesFromNetSpec(Parse(R"([{"type": "conv2d", "name": "wide",
                  "out_channels": 2, "kernel_size": [1, 11], "padding": [0, 1]}])"));
            }),
            "net.json: layer 0 (conv2d, wide): kernel_width 11 exceeds padded input width 8 + 2*1 "
            "= 10");
  EXPECT_EQ(ErrorOf([&] {
              LayerShapesFromNetSpec(Parse(R"([{"type": "channel_shuffle", "groups": 2}])"));
            }),
            "net.json: layer 0 (channel_shuffle, 0): groups 2 must divide the 3 channels of "
            "input [4, 3, 8, 8]");
  // Sizes LibTorch could not allocate are errors, never an int64 overflow.
  EXPECT_EQ(
      ErrorOf([&] {
        LayerShapesFromNetSpec(Parse(
            R"([{"type": "flatten"}, {"type": "linear", "out_features": 9223372036854775807}])"));
      }),
      "net.json: layer 1 (linear, 1): 1.78e+21 parameters, more than 2^36 (256 GiB of "
      "float32)");
  EXPECT_NE(ErrorOf([&] {
              LayerShapesFromNetSpec(Parse(
                  R"([{"type": "conv2d", "out_channels": 4000000000, "kernel_size": 1}])", 1024));
            }).find("elements, more than 2^40"),
            std::string::npos);
  // A feed-forward width no one could allocate: an error in both, never a crash.
  const NetSpec huge_encoder = Parse(R"([{"type": "flatten", "start_dim": 2},
      {"type": "transformer_encoder_layer", "nhead": 1,
       "dim_feedforward": 9223372036854775807}])");
  EXPECT_EQ(ErrorOf([&] { LayerShapesFromNetSpec(huge_encoder); }),
            "net.json: layer 1 (transformer_encoder_layer, 1): 1.19e+21 parameters, more than "
            "2^36 (256 GiB of float32)");
  EXPECT_EQ(ErrorOf([&] {
              LayersFromNetSpec(huge_encoder);
            }).rfind("net.json: layer 1 (transformer_encoder_layer, 1): ", 0),
            0u);
  for (const auto& [layers, message] : std::vector<std::pair<std::string, std::string>>{
           {R"([{"type": "mean", "name": "pool", "dim": 0}])",
            "net.json: layer 0 (mean, pool): dim 0 is the batch dim"},
           {R"([{"type": "mean", "dim": [1, 3]}])",
            "net.json: layer 0 (mean, 0): dims [1, 3] are not adjacent (only a mean over "
            "adjacent dims is modelled)"},
           {R"([{"type": "mean", "dim": [2, -2]}])",
            "net.json: layer 0 (mean, 0): dim 2 is repeated"},
           {R"([{"type": "select", "dim": 1, "index": -4}])",
            "net.json: layer 0 (select, 0): index -4 is out of range for dim 1 of size 3"},
           {R"([{"type": "select", "dim": 4, "index": 0}])",
            "net.json: layer 0 (select, 0): dim 4 is out of range for input [4, 3, 8, 8]"}}) {
    EXPECT_EQ(ErrorOf([&] { LayerShapesFromNetSpec(Parse(layers)); }), message);
  }
  NetSpec spec = Parse(R"([{"type": "flatten"}, {"type": "linear", "out_features": 5}])");
  spec.num_classes = 10;
  EXPECT_EQ(ErrorOf([&] { LayerShapesFromNetSpec(spec); }),
            "net.json: output [4, 5] does not match num_classes 10");
}

NetSpec ParseTokens(const std::string& layers_json) {
  return ParseNetSpec(
      nlohmann::json::parse(R"({"name": "t", "input": {"sequence_length": 16, "vocabulary": 50},
                              "batch_size": 4, "dataset_size": 8, "epochs": 1, "layers": )" +
                            layers_json + "}"),
      "net.json");
}

// A Transformer on token ids: embedding, two encoder layers (dropout on and off, relu and
// gelu), then layer_norm and linear over the last dim of (N, S, D), as LibTorch builds and runs
// them (net/transformer_block.h); the block's paths, its attention shapes and a linear's rows.
TEST(NetShapesTest, TransformerEncoderLayersAsLibTorchRunsThem) {
  NetSpec spec = ParseTokens(R"([
      {"type": "embedding", "name": "tok", "num_embeddings": 64, "embedding_dim": 12},
      {"type": "sequential", "name": "encoder", "layers": [
        {"type": "transformer_encoder_layer", "nhead": 3, "dim_feedforward": 20},
        {"type": "transformer_encoder_layer", "nhead": 2, "dim_feedforward": 8, "dropout": 0,
         "activation": "gelu", "layer_norm_eps": 1e-6}]},
      {"type": "layer_norm", "name": "norm"},
      {"type": "linear", "name": "proj", "out_features": 5},
      {"type": "flatten"},
      {"type": "linear", "name": "fc", "out_features": 2}])");
  for (const int64_t batch : {int64_t{1}, int64_t{3}}) {
    spec.batch_size = batch;
    ExpectSameLayers(spec);
  }
  spec.batch_size = 4;
  const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(spec);
  std::map<std::string, const LayerInstance*> by_path;
  for (const LayerInstance& l : layers) by_path[l.path] = &l;
  // tok; 21 layers with dropout 0.1, 17 with none (its four dropouts are not run); norm, proj,
  // flatten, fc
  EXPECT_EQ(layers.size(), 1u + 21u + 17u + 4u);
  ASSERT_TRUE(by_path.count("encoder.0.self_attn.in_proj"));
  EXPECT_EQ(*by_path["encoder.0.self_attn.in_proj"]->config, test::Linear(4 * 16, 12, 36));
  EXPECT_EQ(by_path["encoder.0.self_attn.in_proj"]->parameter_count, 3 * 12 * 12 + 3 * 12);
  EXPECT_EQ(*by_path["encoder.0.self_attn.bmm"]->config, test::Bmm(4 * 3, 16, 4, 16));
  EXPECT_EQ(*by_path["encoder.0.self_attn.bmm_values"]->config, test::Bmm(4 * 3, 16, 16, 4));
  EXPECT_EQ(by_path["encoder.0.self_attn.dropout"]->config->p_percent, 10);
  EXPECT_FALSE(by_path.count("encoder.1.self_attn.dropout"));
  EXPECT_EQ(by_path["encoder.1.activation"]->type, "gelu");
  EXPECT_EQ(by_path["encoder.0.self_attn.contiguous_v"]->grad_accumulations.size(), 1u);
  EXPECT_EQ(by_path["encoder.0.self_attn.contiguous_v"]->grad_accumulations[0].inputs, 3);
  EXPECT_EQ(by_path["encoder.0.add1"]->grad_accumulations.size(), 1u);
  EXPECT_EQ(by_path["encoder.0.norm2"]->parameter_count, 2 * 12);
  // layer_norm and linear over the last dim of (N, S, D): N x S rows.
  EXPECT_EQ(by_path["norm"]->config->in_channels, 12);  // the normalized size
  EXPECT_EQ(*by_path["proj"]->config, test::Linear(4 * 16, 12, 5));
  EXPECT_EQ(by_path["proj"]->output_shape, (std::vector<int64_t>{4, 16, 5}));
  EXPECT_EQ(*by_path["fc"]->config, test::Linear(4, 16 * 5, 2));
}

// Pre-norm encoder layers and the pooled heads of text classifiers: the mean over the sequence
// and the first token (select), as LibTorch builds and runs them; a mean over an image's (H, W)
// is the 1x1 adaptive_avgpool2d torch runs, over its channels a mean config.
TEST(NetShapesTest, PreNormMeanAndSelectAsLibTorchRunsThem) {
  for (const char* head : {R"({"type": "mean", "name": "pool", "dim": 1})",
                           R"({"type": "mean", "name": "pool", "dim": [-2]})",
                           R"({"type": "select", "name": "pool", "dim": 1, "index": -1})"}) {
    SCOPED_TRACE(head);
    NetSpec spec = ParseTokens(std::string(R"([
        {"type": "embedding", "name": "tok", "num_embeddings": 64, "embedding_dim": 12},
        {"type": "transformer_encoder_layer", "name": "enc", "nhead": 3, "dim_feedforward": 20,
         "norm_first": true},
        {"type": "layer_norm", "name": "norm"}, )") +
                               head + R"(, {"type": "linear", "name": "fc", "out_features": 2}])");
    for (const int64_t batch : {int64_t{1}, int64_t{3}}) {
      spec.batch_size = batch;
      ExpectSameLayers(spec);
    }
    spec.batch_size = 4;
    const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(spec);
    ASSERT_GE(layers.size(), 4u);
    EXPECT_EQ(layers[1].path, "enc.norm1");  // pre-norm: the norm before the attention
    EXPECT_EQ(layers[2].path, "enc.self_attn.in_proj");
    const LayerInstance& pool = layers[layers.size() - 2];
    EXPECT_EQ(pool.path, "pool");
    ASSERT_TRUE(pool.config.has_value()) << pool.note;
    // (4, 16, 12) split at dim 1: batch 4, in_channels 16, height 1, width 12.
    EXPECT_EQ(pool.config->batch_size, 4);
    EXPECT_EQ(pool.config->in_channels, 16);
    EXPECT_EQ(pool.config->height, 1);
    EXPECT_EQ(pool.config->width, 12);
    EXPECT_EQ(pool.output_shape, (std::vector<int64_t>{4, 12}));
    EXPECT_EQ(*layers.back().config, test::Linear(4, 12, 2));
  }
  const NetSpec pooled = Parse(R"([{"type": "conv2d", "out_channels": 6, "kernel_size": 3},
      {"type": "mean", "name": "gap", "dim": [-1, -2]},
      {"type": "linear", "out_features": 2}])");
  ExpectSameLayers(pooled);
  const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(pooled);
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[1].type, "adaptive_avgpool2d");
  EXPECT_EQ(layers[1].config->output_size, 1);
  EXPECT_EQ(layers[1].config->in_channels, 6);
  EXPECT_EQ(layers[1].output_shape, (std::vector<int64_t>{4, 6}));
  const NetSpec over_channels = Parse(R"([{"type": "mean", "name": "gray", "dim": 1}])");
  ExpectSameLayers(over_channels);
  const LayerInstance gray = LayerShapesFromNetSpec(over_channels).at(0);
  EXPECT_EQ(gray.type, "mean");
  EXPECT_EQ(gray.config->in_channels, 3);
  EXPECT_EQ(gray.config->width, 64);  // (4, 3, 8, 8): the 8 x 8 after the reduced dim
  EXPECT_EQ(gray.output_shape, (std::vector<int64_t>{4, 8, 8}));
}

// A norm leaf: the L2 norm over the last dim of (4, 3, 8, 8), as LibTorch builds and runs it, is
// a norm config of (4 x 3 x 8, 8, 1, 1) with output (4, 3, 8); over dims that are not adjacent
// it is an error naming the layer.
TEST(NetShapesTest, NormLeafReducesItsDimsAsLibTorchRunsIt) {
  const NetSpec spec = Parse(R"([{"type": "norm", "name": "l2", "dim": -1},
      {"type": "linear", "name": "fc", "out_features": 2}])");
  ExpectSameLayers(spec);
  const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(spec);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].type, "norm");
  ASSERT_TRUE(layers[0].config.has_value()) << layers[0].note;
  EXPECT_EQ(*layers[0].config, test::Nchw(LayerType::kNorm, 4 * 3 * 8, 8, 1, 1));
  EXPECT_EQ(layers[0].output_shape, (std::vector<int64_t>{4, 3, 8}));
  EXPECT_EQ(layers[1].config->batch_size, 4 * 3);  // a linear over the last dim of (4, 3, 8)
  EXPECT_EQ(layers[1].config->in_features, 8);
  EXPECT_EQ(ErrorOf([&] {
              LayerShapesFromNetSpec(Parse(R"([{"type": "norm", "name": "l2", "dim": [1, 3]}])"));
            }),
            "net.json: layer 0 (norm, l2): dims [1, 3] are not adjacent (only a norm over "
            "adjacent dims is modelled)");
}

// A sequence input: int64 ids (N, S) through an embedding into (N, S, D) floats, then the
// element-wise types and a flatten and linear, as LibTorch builds and runs them; the embedding's
// config, table and the dropout on (N, S, D) after it.
TEST(NetShapesTest, TokenIdsGoThroughAnEmbeddingFirst) {
  const NetSpec spec = ParseTokens(R"([
      {"type": "embedding", "name": "tok", "num_embeddings": 64, "embedding_dim": 8},
      {"type": "dropout", "p": 0.1}, {"type": "gelu"},
      {"type": "flatten"}, {"type": "layer_norm"}, {"type": "linear", "out_features": 3}])");
  ExpectSameLayers(spec);
  const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(spec);
  ASSERT_EQ(layers.size(), 6u);
  const LayerInstance& tok = layers[0];
  EXPECT_EQ(tok.path, "tok");
  EXPECT_EQ(tok.input_shape, (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(tok.output_shape, (std::vector<int64_t>{4, 16, 8}));
  ASSERT_TRUE(tok.config.has_value()) << tok.note;
  EXPECT_EQ(*tok.config, test::Embedding(4, 16, 64, 8));
  EXPECT_EQ(tok.parameter_count, 64 * 8);
  EXPECT_EQ(tok.parameter_tensors, 1);
  EXPECT_DOUBLE_EQ(tok.forward_macs, 4.0 * 16 * 8);
  ASSERT_TRUE(layers[1].config.has_value());
  EXPECT_EQ(OutputShape(*layers[1].config), (std::vector<int64_t>{4, 16, 1, 8}));
  EXPECT_EQ(layers[5].config->in_features, 16 * 8);

  // The built module runs on ids (and trains: the table gets a gradient).
  BuiltNet built = BuildNet(spec);
  const torch::Tensor ids = torch::randint(50, {4, 16}, torch::kLong);
  const torch::Tensor out = built.module->forward(ids);
  EXPECT_EQ(out.sizes().vec(), (std::vector<int64_t>{4, 3}));
}

// bias_add is a learnt position embedding: b of one sample's shape (S, D), broadcast over the
// batch, one parameter tensor of S x D elements; on an image, b is (C, H, W); tanh follows.
TEST(NetShapesTest, BiasAddIsALearntPositionEmbedding) {
  const NetSpec spec = ParseTokens(R"([
      {"type": "embedding", "name": "tok", "num_embeddings": 64, "embedding_dim": 8},
      {"type": "bias_add", "name": "pos"}, {"type": "tanh"},
      {"type": "flatten"}, {"type": "linear", "out_features": 3}])");
  ExpectSameLayers(spec);
  const std::vector<LayerInstance> layers = LayerShapesFromNetSpec(spec);
  ASSERT_EQ(layers.size(), 5u);
  const LayerInstance& pos = layers[1];
  EXPECT_EQ(pos.path, "pos");
  EXPECT_EQ(pos.output_shape, (std::vector<int64_t>{4, 16, 8}));
  ASSERT_TRUE(pos.config.has_value()) << pos.note;
  EXPECT_EQ(pos.config->type, LayerType::kBiasAdd);
  EXPECT_EQ(test::NchwOf(*pos.config), (std::vector<int64_t>{4, 16, 1, 8}));
  EXPECT_EQ(pos.parameter_count, 16 * 8);
  EXPECT_EQ(pos.parameter_tensors, 1);
  ASSERT_TRUE(layers[2].config.has_value());
  EXPECT_EQ(layers[2].config->type, LayerType::kTanh);

  const NetSpec image = Parse(R"([{"type": "bias_add"}, {"type": "flatten"}, {"type": "bias_add"},
                                  {"type": "linear", "out_features": 2}])");
  ExpectSameLayers(image);
  const std::vector<LayerInstance> image_layers = LayerShapesFromNetSpec(image);
  ASSERT_EQ(image_layers.size(), 4u);
  EXPECT_EQ(image_layers[0].parameter_count, 3 * 8 * 8);
  EXPECT_EQ(test::NchwOf(*image_layers[0].config), (std::vector<int64_t>{4, 3, 8, 8}));
  EXPECT_EQ(test::NchwOf(*image_layers[2].config), (std::vector<int64_t>{4, 192, 1, 1}));

  // The built module trains b: its gradient is the output gradient summed over the batch.
  BuiltNet built = BuildNet(spec);
  const torch::Tensor out = built.module->forward(torch::randint(50, {4, 16}, torch::kLong));
  out.sum().backward();
  int64_t biases = 0;
  for (const auto& p : built.module->named_parameters()) {
    if (p.key().find("pos") == std::string::npos) continue;
    ++biases;
    EXPECT_EQ(p.value().sizes().vec(), (std::vector<int64_t>{1, 16, 8}));
    ASSERT_TRUE(p.value().grad().defined());
  }
  EXPECT_EQ(biases, 1);
}

// Token ids only through an embedding, an embedding only on token ids, and a table that covers
// the vocabulary: the same errors from core's shapes as from LibTorch's builder, naming the layer.
TEST(NetShapesTest, EmbeddingsAndTokenIdsAreCheckedWhereTheyMeet) {
  const std::vector<std::pair<NetSpec, std::string>> cases = {
      {ParseTokens(R"([{"type": "linear", "out_features": 2}])"),
       "net.json: layer 0 (linear, 0): expects a float tensor, got the token ids [4, 16] of the "
       "sequence input; an embedding layer must take them first"},
      {ParseTokens(R"([{"type": "sequential", "name": "body", "layers": [{"type": "relu"}]}])"),
       "net.json: layers[0].layers[0] (relu, body.0): expects a float tensor, got the token ids "
       "[4, 16] of the sequence input; an embedding layer must take them first"},
      {ParseTokens(R"([{"type": "embedding", "num_embeddings": 40, "embedding_dim": 8}])"),
       "net.json: layer 0 (embedding, 0): num_embeddings 40 is less than the input's vocabulary "
       "50 (the ids are in [0, vocabulary))"},
      {ParseTokens(R"([{"type": "embedding", "num_embeddings": 50, "embedding_dim": 8},
                       {"type": "embedding", "name": "again", "num_embeddings": 50,
                        "embedding_dim": 8}])"),
       "net.json: layer 1 (embedding, again): expects the token ids (batch, sequence_length) of a "
       "sequence input (\"input\": {\"sequence_length\", \"vocabulary\"}), got a float tensor "
       "[4, 16, 8]"},
      {Parse(R"([{"type": "embedding", "num_embeddings": 50, "embedding_dim": 8}])"),
       "net.json: layer 0 (embedding, 0): expects the token ids (batch, sequence_length) of a "
       "sequence input (\"input\": {\"sequence_length\", \"vocabulary\"}), got a float tensor "
       "[4, 3, 8, 8]"}};
  for (const auto& c : cases) {
    const NetSpec& spec = c.first;  // not a structured binding: lambdas capture it
    EXPECT_EQ(ErrorOf([&] { LayerShapesFromNetSpec(spec); }), c.second);
    EXPECT_EQ(ErrorOf([&] { LayersFromNetSpec(spec); }), c.second);
  }
}

}  // namespace
}  // namespace lj
