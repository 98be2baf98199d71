// Tests for net/net_spec.h: strict net.json parsing (no LibTorch).
#include "net/net_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/errors.h"
#include "net/training_run.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

// A valid two-layer net; tests modify it.
nlohmann::json TinyNet() {
  return nlohmann::json::parse(R"({
    "name": "tiny",
    "input": {"channels": 3, "height": 8, "width": 8},
    "batch_size": 4, "dataset_size": 10, "epochs": 2,
    "layers": [
      {"type": "conv2d", "out_channels": 8, "kernel_size": 3},
      {"type": "maxpool2d", "kernel_size": 2}
    ]
  })");
}

// The ConfigError message of parsing j with context "net.json" (fails the test if none).
std::string ErrorOf(const nlohmann::json& j) {
  try {
    ParseNetSpec(j, "net.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << j.dump();
  return "";
}

TEST(NetSpecTest, ParsesFieldsAndTorchDefaults) {
  nlohmann::json j = TinyNet();
  j["layers"].push_back({{"type", "dropout"}});
  j["layers"].push_back({{"type", "batchnorm2d"}, {"eps", 0.001}});
  j["layers"].push_back({{"type", "adaptive_avgpool2d"}, {"output_size", {6, 5}}});
  j["num_classes"] = 10;
  const NetSpec spec = ParseNetSpec(j, "net.json");
  EXPECT_EQ(spec.name, "tiny");
  EXPECT_EQ(spec.input.channels, 3);
  EXPECT_EQ(spec.batch_size, 4);
  EXPECT_EQ(StepsPerEpoch(spec.dataset_size, spec.batch_size), 3);  // ceil(10 / 4)
  ASSERT_TRUE(spec.num_classes.has_value());
  EXPECT_EQ(*spec.num_classes, 10);
  EXPECT_EQ(spec.optimizer.type, "sgd");
  EXPECT_DOUBLE_EQ(spec.optimizer.lr, 0.01);
  EXPECT_DOUBLE_EQ(spec.optimizer.momentum, 0.9);
  ASSERT_EQ(spec.layers.size(), 5u);
  const NetLayerSpec& conv = spec.layers[0];
  EXPECT_EQ(conv.where, "layer 0");
  EXPECT_EQ(conv.out_channels, 8);
  EXPECT_EQ(conv.stride, 1);
  EXPECT_EQ(conv.padding, 0);
  EXPECT_EQ(conv.groups, 1);
  EXPECT_TRUE(conv.bias);
  EXPECT_EQ(spec.layers[1].stride, 2);  // torch: pooling stride defaults to kernel_size
  EXPECT_DOUBLE_EQ(spec.layers[2].p, 0.5);
  EXPECT_DOUBLE_EQ(spec.layers[3].eps, 0.001);
  EXPECT_DOUBLE_EQ(spec.layers[3].momentum, 0.1);
  EXPECT_EQ(spec.layers[4].output_height, 6);
  EXPECT_EQ(spec.layers[4].output_width, 5);
}

// conv2d's kernel_size and padding are an integer or [height, width], as torch.nn.Conv2d's.
TEST(NetSpecTest, ParsesNonSquareConvKernelsAndPadding) {
  nlohmann::json j = TinyNet();
  j["layers"][0]["kernel_size"] = {1, 7};
  j["layers"][0]["padding"] = {0, 3};
  const NetSpec spec = ParseNetSpec(j, "net.json");
  const NetLayerSpec& conv = spec.layers[0];
  EXPECT_EQ(conv.kernel_size, 1);
  EXPECT_EQ(conv.kernel_width, 7);
  EXPECT_EQ(conv.padding, 0);
  EXPECT_EQ(conv.padding_width, 3);

  j["layers"][0]["kernel_size"] = 5;
  j["layers"][0].erase("padding");
  const NetLayerSpec square = ParseNetSpec(j, "net.json").layers[0];
  EXPECT_EQ(square.kernel_width, 5);
  EXPECT_EQ(square.padding, 0);
  EXPECT_EQ(square.padding_width, 0);

  j["layers"][0]["kernel_size"] = {1, 7, 7};
  EXPECT_EQ(ErrorOf(j),
            "net.json: layer 0 (conv2d): kernel_size must be an integer or [height, width], got "
            "[1,7,7]");
  j["layers"][0]["kernel_size"] = {1, 0};
  EXPECT_EQ(ErrorOf(j), "net.json: layer 0 (conv2d): kernel_size must be > 0, got [1,0]");
  j["layers"][0]["kernel_size"] = 3;
  j["layers"][0]["padding"] = {1, -1};
  EXPECT_EQ(ErrorOf(j), "net.json: layer 0 (conv2d): padding must be >= 0, got [1,-1]");
}

TEST(NetSpecTest, ParsesBlocksWithNestedLocations) {
  nlohmann::json j = TinyNet();
  j["layers"] = nlohmann::json::parse(R"([
    {"type": "sequential", "name": "features", "layers": [
      {"type": "relu"},
      {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 3, "kernel_size": 1}],
       "shortcut_name": "downsample",
       "shortcut": [{"type": "conv2d", "out_channels": 3, "kernel_size": 1}],
       "activation": "relu"},
      {"type": "squeeze_excitation", "squeeze_channels": 2, "scale_activation": "hardsigmoid"}
    ]}
  ])");
  const NetSpec spec = ParseNetSpec(j, "net.json");
  const NetLayerSpec& features = spec.layers[0];
  EXPECT_TRUE(features.IsBlock());
  EXPECT_EQ(features.name, "features");
  const NetLayerSpec& residual = features.layers[1];
  EXPECT_EQ(residual.where, "layers[0].layers[1]");
  EXPECT_EQ(residual.layers[0].where, "layers[0].layers[1].layers[0]");
  EXPECT_EQ(residual.shortcut[0].where, "layers[0].layers[1].shortcut[0]");
  EXPECT_EQ(residual.shortcut_name, "downsample");
  EXPECT_EQ(residual.activation, "relu");
  const NetLayerSpec& se = features.layers[2];
  EXPECT_EQ(se.squeeze_channels, 2);
  EXPECT_EQ(se.activation, "relu");  // torchvision default
  EXPECT_EQ(se.scale_activation, "hardsigmoid");
}

TEST(NetSpecTest, ReportsValueErrorsWithFileLayerAndValue) {
  nlohmann::json j = TinyNet();
  j["layers"].push_back({{"type", "relu"}});
  j["layers"].push_back({{"type", "conv2d"}, {"out_channels", 4}, {"kernel_size", 0}});
  EXPECT_EQ(ErrorOf(j), "net.json: layer 3 (conv2d): kernel_size must be > 0, got 0");
}

// A sequence input, {"sequence_length", "vocabulary"}, and the embedding leaf with its two
// required fields; bad values name the file, the layer and the value.
TEST(NetSpecTest, ParsesASequenceInputAndEmbeddings) {
  nlohmann::json j = TinyNet();
  j["input"] = {{"sequence_length", 128}, {"vocabulary", 30522}};
  j["layers"] = nlohmann::json::parse(R"([
    {"type": "embedding", "name": "tok", "num_embeddings": 30522, "embedding_dim": 768},
    {"type": "flatten"}, {"type": "linear", "out_features": 2}])");
  const NetSpec spec = ParseNetSpec(j, "net.json");
  EXPECT_TRUE(spec.input.IsTokenIds());
  EXPECT_EQ(spec.input.sequence_length, 128);
  EXPECT_EQ(spec.input.vocabulary, 30522);
  EXPECT_EQ(spec.input.channels, 0);
  ASSERT_EQ(spec.layers.size(), 3u);
  EXPECT_EQ(spec.layers[0].layer_type, LayerType::kEmbedding);
  EXPECT_EQ(spec.layers[0].num_embeddings, 30522);
  EXPECT_EQ(spec.layers[0].embedding_dim, 768);
  EXPECT_TRUE(IsNetJsonLeaf(LayerType::kEmbedding));
  EXPECT_FALSE(IsTorchScriptOnly(LayerType::kEmbedding));
  EXPECT_TRUE(IsNetJsonLeaf(LayerType::kMean));
  EXPECT_TRUE(IsNetJsonLeaf(LayerType::kSelect));
  EXPECT_TRUE(IsTorchScriptOnly(LayerType::kBmm));  // two computed operands

  nlohmann::json zero = j;
  zero["layers"][0]["num_embeddings"] = 0;
  EXPECT_EQ(ErrorOf(zero), "net.json: layer 0 (embedding): num_embeddings must be > 0, got 0");
  nlohmann::json missing = j;
  missing["layers"][0].erase("embedding_dim");
  EXPECT_EQ(ErrorOf(missing), "net.json: layer 0 (embedding): missing key 'embedding_dim'");
  nlohmann::json padding = j;
  padding["layers"][0]["padding_idx"] = 0;
  EXPECT_EQ(ErrorOf(padding),
            "net.json: layer 0 (embedding): unknown key 'padding_idx' (expected type, name, "
            "num_embeddings, embedding_dim)");
  nlohmann::json no_vocabulary = j;
  no_vocabulary["input"].erase("vocabulary");
  EXPECT_EQ(ErrorOf(no_vocabulary), "net.json: input: missing key 'vocabulary'");
  nlohmann::json short_sequence = j;
  short_sequence["input"]["sequence_length"] = -1;
  EXPECT_EQ(ErrorOf(short_sequence), "net.json: input: sequence_length must be > 0, got -1");
  nlohmann::json mixed = j;
  mixed["input"]["channels"] = 3;
  EXPECT_EQ(ErrorOf(mixed),
            "net.json: input: unknown key 'channels' (expected sequence_length, vocabulary)");
}

TEST(NetSpecTest, RejectsUnknownLayerType) {
  nlohmann::json j = TinyNet();
  j["layers"][1] = {{"type", "conv3d"}};
  const std::string error = ErrorOf(j);
  EXPECT_NE(error.find("net.json: layer 1: unknown layer type 'conv3d'"), std::string::npos)
      << error;
}

TEST(NetSpecTest, RejectsMissingAndMistypedFields) {
  nlohmann::json missing = TinyNet();
  missing["layers"][0].erase("kernel_size");
  EXPECT_EQ(ErrorOf(missing), "net.json: layer 0 (conv2d): missing key 'kernel_size'");

  nlohmann::json string_kernel = TinyNet();
  string_kernel["layers"][0]["kernel_size"] = "3";
  EXPECT_NE(ErrorOf(string_kernel)
                .find("net.json: layer 0 (conv2d): kernel_size must be an integer, got \"3\""),
            std::string::npos);

  nlohmann::json fractional = TinyNet();
  fractional["layers"][0]["stride"] = 1.5;
  EXPECT_NE(ErrorOf(fractional).find("layer 0 (conv2d): stride must be an integer"),
            std::string::npos);

  nlohmann::json bias = TinyNet();
  bias["layers"][0]["bias"] = "yes";
  EXPECT_NE(ErrorOf(bias).find("layer 0 (conv2d): bias"), std::string::npos);

  nlohmann::json type_number = TinyNet();
  type_number["layers"][1]["type"] = 7;
  EXPECT_NE(ErrorOf(type_number).find("layer 1: type must be a string"), std::string::npos)
      << ErrorOf(type_number);
}

TEST(NetSpecTest, RejectsUnknownKeysInLayersAndTopLevel) {
  nlohmann::json layer_key = TinyNet();
  layer_key["layers"].push_back({{"type", "relu"}, {"inplace", true}});
  EXPECT_NE(ErrorOf(layer_key).find("net.json: layer 2 (relu): unknown key 'inplace'"),
            std::string::npos)
      << ErrorOf(layer_key);

  nlohmann::json in_channels = TinyNet();
  in_channels["layers"][0]["in_channels"] = 3;  // inferred, never written
  EXPECT_NE(ErrorOf(in_channels).find("unknown key 'in_channels'"), std::string::npos);

  nlohmann::json top = TinyNet();
  top["batchsize"] = 4;
  EXPECT_NE(ErrorOf(top).find("net.json: unknown key 'batchsize'"), std::string::npos);

  nlohmann::json comment = TinyNet();
  comment["_comment"] = "comments are allowed";
  comment["layers"][0]["_comment"] = "here too";
  EXPECT_NO_THROW(ParseNetSpec(comment, "net.json"));
}

TEST(NetSpecTest, NamesNestedLayersByIndexPath) {
  nlohmann::json j = TinyNet();
  j["layers"].push_back(nlohmann::json::parse(R"(
    {"type": "sequential", "layers": [
      {"type": "relu"},
      {"type": "residual", "activation": "none", "layers": [{"type": "relu"}],
       "shortcut": [{"type": "conv2d", "out_channels": 3, "kernel_size": -1}]}
    ]})"));
  EXPECT_EQ(ErrorOf(j),
            "net.json: layers[2].layers[1].shortcut[0] (conv2d): kernel_size must be > 0, got -1");

  nlohmann::json missing_layers = TinyNet();
  missing_layers["layers"].push_back({{"type", "sequential"}});
  EXPECT_EQ(ErrorOf(missing_layers), "net.json: layer 2 (sequential): missing key 'layers'");
}

TEST(NetSpecTest, ResidualNeedsExplicitActivation) {
  nlohmann::json j = TinyNet();
  j["layers"].push_back({{"type", "residual"}, {"layers", {{{"type", "relu"}}}}});
  EXPECT_EQ(ErrorOf(j), "net.json: layer 2 (residual): missing key 'activation'");
  j["layers"][2]["activation"] = "mish";
  EXPECT_NE(ErrorOf(j).find("activation must be none, relu, relu6, hardswish, hardsigmoid, "
                            "sigmoid, silu, gelu, softmax, scale, tanh, clamp_min, got \"mish\""),
            std::string::npos)
      << ErrorOf(j);
}

TEST(NetSpecTest, ConcatNeedsTwoNamedDistinctBranches) {
  nlohmann::json j = TinyNet();
  j["layers"].push_back({{"type", "concat"}, {"name", "fire"}});
  EXPECT_EQ(ErrorOf(j), "net.json: layer 2 (concat): missing key 'branches'");
  j["layers"][2]["branches"] = {{{"type", "relu"}}};
  EXPECT_EQ(ErrorOf(j),
            "net.json: layer 2 (concat): branches must hold at least 2 branches, got 1");
  j["layers"][2]["branches"] = {{{"type", "relu"}, {"name", "cat"}}, {{"type", "relu"}}};
  EXPECT_NE(ErrorOf(j).find("name 'cat' is already used in the same block"), std::string::npos)
      << ErrorOf(j);
  j["layers"][2]["branches"] = {{{"type", "relu"}, {"name", "a"}},
                                {{"type", "conv2d"}, {"name", "b"}, {"kernel_size", 1}}};
  EXPECT_EQ(ErrorOf(j), "net.json: layers[2].branches[1] (conv2d): missing key 'out_channels'");
  j["layers"][2]["branches"][1]["out_channels"] = 3;
  const NetSpec spec = ParseNetSpec(j, "net.json");
  ASSERT_EQ(spec.layers.size(), 3u);
  EXPECT_EQ(spec.layers[2].type, "concat");
  ASSERT_EQ(spec.layers[2].layers.size(), 2u);
  EXPECT_EQ(spec.layers[2].layers[1].where, "layers[2].branches[1]");
}

TEST(NetSpecTest, RejectsDuplicateAndInvalidNames) {
  nlohmann::json duplicate = TinyNet();
  duplicate["layers"][0]["name"] = "conv";
  duplicate["layers"][1]["name"] = "conv";
  EXPECT_EQ(ErrorOf(duplicate),
            "net.json: layer 1 (maxpool2d): name 'conv' is already used in the same block");

  nlohmann::json index_clash = TinyNet();
  index_clash["layers"][0]["name"] = "1";  // layer 1 is unnamed and so "1"
  EXPECT_NE(ErrorOf(index_clash).find("name '1' is already used"), std::string::npos);

  nlohmann::json dotted = TinyNet();
  dotted["layers"][0]["name"] = "a.b";
  EXPECT_NE(ErrorOf(dotted).find("layer 0 (conv2d): name must be a non-empty name"),
            std::string::npos);
}

TEST(NetSpecTest, RejectsBadTopLevelValues) {
  nlohmann::json missing = TinyNet();
  missing.erase("batch_size");
  EXPECT_EQ(ErrorOf(missing), "net.json: missing key 'batch_size'");

  nlohmann::json zero_width = TinyNet();
  zero_width["input"]["width"] = 0;
  EXPECT_EQ(ErrorOf(zero_width), "net.json: input: width must be > 0, got 0");

  nlohmann::json optimizer = TinyNet();
  optimizer["optimizer"] = {{"type", "rmsprop"}};
  EXPECT_NE(ErrorOf(optimizer).find("optimizer: type must be sgd or adam, got \"rmsprop\""),
            std::string::npos);

  nlohmann::json adam_momentum = TinyNet();
  adam_momentum["optimizer"] = {{"type", "adam"}, {"momentum", 0.9}};
  EXPECT_NE(ErrorOf(adam_momentum).find("unknown key 'momentum'"), std::string::npos);

  nlohmann::json norm_eps = TinyNet();
  norm_eps["layers"].push_back({{"type", "layer_norm"}, {"eps", -1e-5}});
  EXPECT_EQ(ErrorOf(norm_eps), "net.json: layer 2 (layer_norm): eps must be > 0, got -1e-05");

  nlohmann::json shuffle_one = TinyNet();
  shuffle_one["layers"].push_back({{"type", "channel_shuffle"}, {"groups", 1}});
  EXPECT_EQ(ErrorOf(shuffle_one).substr(0, 48), "net.json: layer 2 (channel_shuffle): groups must");
  nlohmann::json shuffle_missing = TinyNet();
  shuffle_missing["layers"].push_back({{"type", "channel_shuffle"}});
  EXPECT_NE(ErrorOf(shuffle_missing).find("missing key 'groups'"), std::string::npos);
  nlohmann::json shuffle_extra = TinyNet();
  shuffle_extra["layers"].push_back({{"type", "channel_shuffle"}, {"groups", 2}, {"p", 0.5}});
  EXPECT_NE(ErrorOf(shuffle_extra).find("unknown key 'p'"), std::string::npos);

  nlohmann::json encoder = TinyNet();
  encoder["layers"].push_back({{"type", "transformer_encoder_layer"}, {"nhead", 2}});
  EXPECT_NO_THROW(ParseNetSpec(encoder, "net.json"));
  const NetLayerSpec parsed = ParseNetSpec(encoder, "net.json").layers.back();
  EXPECT_EQ(parsed.nhead, 2);
  EXPECT_EQ(parsed.dim_feedforward, 2048);  // torch.nn's defaults
  EXPECT_DOUBLE_EQ(parsed.p, 0.1);
  EXPECT_EQ(parsed.activation, "relu");
  EXPECT_DOUBLE_EQ(parsed.eps, 1e-5);
  encoder["layers"].back()["dropout"] = 1;
  EXPECT_EQ(ErrorOf(encoder),
            "net.json: layer 2 (transformer_encoder_layer): dropout must be in [0, 1), got 1.0");
  encoder["layers"].back() = {
      {"type", "transformer_encoder_layer"}, {"nhead", 2}, {"activation", "tanh"}};
  EXPECT_EQ(ErrorOf(encoder),
            "net.json: layer 2 (transformer_encoder_layer): activation must be relu or gelu, got "
            "\"tanh\"");
  encoder["layers"].back() = {{"type", "transformer_encoder_layer"}};
  EXPECT_NE(ErrorOf(encoder).find("missing key 'nhead'"), std::string::npos);
  EXPECT_FALSE(parsed.norm_first);  // post-norm, torch's default
  encoder["layers"].back() = {
      {"type", "transformer_encoder_layer"}, {"nhead", 2}, {"norm_first", true}};
  EXPECT_TRUE(ParseNetSpec(encoder, "net.json").layers.back().norm_first);
  encoder["layers"].back()["norm_first"] = 1;
  EXPECT_NE(ErrorOf(encoder).find("layer 2 (transformer_encoder_layer): norm_first"),
            std::string::npos)
      << ErrorOf(encoder);
  encoder["layers"].back() = {
      {"type", "transformer_encoder_layer"}, {"nhead", 2}, {"key_padding_mask", true}};
  EXPECT_NE(ErrorOf(encoder).find("unknown key 'key_padding_mask'"), std::string::npos);
  encoder["layers"].back() = {{"type", "transformer_encoder_layer"}, {"nhead", 0}};
  EXPECT_EQ(ErrorOf(encoder),
            "net.json: layer 2 (transformer_encoder_layer): nhead must be > 0, got 0");

  nlohmann::json pooled = TinyNet();
  pooled["layers"].push_back({{"type", "mean"}, {"dim", {-1, -2}}});
  pooled["layers"].push_back({{"type", "select"}, {"dim", 1}, {"index", -1}});
  const NetSpec pooled_spec = ParseNetSpec(pooled, "net.json");
  EXPECT_EQ(pooled_spec.layers[2].dims, (std::vector<int64_t>{-1, -2}));
  EXPECT_EQ(pooled_spec.layers[3].dims, (std::vector<int64_t>{1}));
  EXPECT_EQ(pooled_spec.layers[3].index, -1);
  pooled["layers"][2] = {{"type", "mean"}, {"dim", 2}};
  EXPECT_EQ(ParseNetSpec(pooled, "net.json").layers[2].dims, (std::vector<int64_t>{2}));
  pooled["layers"][2] = {{"type", "mean"}};
  EXPECT_NE(ErrorOf(pooled).find("layer 2 (mean): missing key 'dim'"), std::string::npos)
      << ErrorOf(pooled);
  pooled["layers"][2] = {{"type", "mean"}, {"dim", nlohmann::json::array()}};
  EXPECT_NE(ErrorOf(pooled).find("dim must be an integer or a list of 1 to 8 integers"),
            std::string::npos)
      << ErrorOf(pooled);
  pooled["layers"][2] = {{"type", "mean"}, {"dim", {1, "2"}}};
  EXPECT_NE(ErrorOf(pooled).find("layer 2 (mean): dim[1]"), std::string::npos) << ErrorOf(pooled);
  pooled["layers"][2] = {{"type", "select"}, {"dim", 1}};
  EXPECT_NE(ErrorOf(pooled).find("layer 2 (select): missing key 'index'"), std::string::npos)
      << ErrorOf(pooled);
  pooled["layers"][2] = {{"type", "select"}, {"dim", 1}, {"index", 0}, {"keepdim", true}};
  EXPECT_NE(ErrorOf(pooled).find("unknown key 'keepdim'"), std::string::npos) << ErrorOf(pooled);

  nlohmann::json empty = TinyNet();
  empty["layers"] = nlohmann::json::array();
  EXPECT_EQ(ErrorOf(empty), "net.json: layers must not be empty");

  nlohmann::json pool_padding = TinyNet();
  pool_padding["layers"][1]["padding"] = 2;
  EXPECT_EQ(ErrorOf(pool_padding),
            "net.json: layer 1 (maxpool2d): padding must be <= kernel_size / 2 = 1, got 2");
}

TEST(NetSpecTest, AdamDefaultsToTorchLearningRate) {
  nlohmann::json j = TinyNet();
  j["optimizer"] = {{"type", "adam"}};
  const NetSpec spec = ParseNetSpec(j, "net.json");
  EXPECT_EQ(spec.optimizer.type, "adam");
  EXPECT_DOUBLE_EQ(spec.optimizer.lr, 0.001);
  EXPECT_DOUBLE_EQ(spec.optimizer.momentum, 0.0);
}

TEST(NetSpecTest, LoadsEveryShippedNet) {
  const std::filesystem::path dir = std::filesystem::path(test::SourceDir()) / "configs" / "nets";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    const NetSpec spec = LoadNetSpec(entry.path().string());
    EXPECT_EQ(spec.name, entry.path().stem().string());
    EXPECT_EQ(spec.source, entry.path().string());
    EXPECT_FALSE(spec.layers.empty());
    ++count;
  }
  EXPECT_GE(count, 6);
}

TEST(NetSpecTest, LoadReportsMissingFile) {
  try {
    LoadNetSpec("configs/nets/does_not_exist.json");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("configs/nets/does_not_exist.json: cannot open file"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lj
