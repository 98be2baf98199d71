// Tests for net/torchscript_layers.h. The TorchScript files are exported by the tests
// with tools/export_torchscript.py with a python3 that has torchvision (LJ_PYTHON, /usr/bin/python3
// or python3 on PATH); without one the tests are skipped with the reason printed.
#include "net/torchscript_layers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "core/file_read.h"
#include "net/net_builder.h"
#include "tests/net/torchscript_exports.h"
#include "tests/support/layer_configs.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

using test::SourceDir;
using test::TorchScriptExports;

int64_t ReferenceParameterCount(const std::string& name) {
  std::ifstream in(SourceDir() + "/tests/net/data/param_counts.json");
  return nlohmann::json::parse(in).at(name).at("parameter_count").get<int64_t>();
}

std::vector<LayerInstance> Modelled(const std::vector<LayerInstance>& layers) {
  std::vector<LayerInstance> out;
  for (const LayerInstance& l : layers) {
    if (l.type == "conv2d" || l.type == "maxpool2d" || l.type == "linear") out.push_back(l);
  }
  return out;
}

class TorchScriptTest : public ::testing::TestWithParam<std::string> {};  // script / trace

TEST_P(TorchScriptTest, ResNet18LayersMatchNetJson) {
  EXPORTED_OR_SKIP(path, GetParam(), "resnet18");
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 224, 224}, 32);

  std::map<std::string, int> counts;
  int64_t parameters = 0;
  for (const LayerInstance& l : layers) {
    EXPECT_TRUE(HasKnownType(l)) << l.path << ": " << l.type << " from " << l.source;
    EXPECT_EQ(l.input_shape.at(0), 32) << l.path;
    ++counts[l.type];
    parameters += l.parameter_count;
  }
  EXPECT_EQ(counts["conv2d"], 20);  // incl. 3 downsample convolutions
  EXPECT_EQ(counts["batchnorm2d"], 20);
  EXPECT_EQ(counts["add"], 8);
  EXPECT_EQ(counts["relu"], 17);
  EXPECT_EQ(counts["maxpool2d"], 1);
  EXPECT_EQ(counts["adaptive_avgpool2d"], 1);
  EXPECT_EQ(counts["linear"], 1);
  EXPECT_EQ(parameters, ReferenceParameterCount("resnet18"));
  EXPECT_EQ(layers.front().path, "conv1");
  EXPECT_EQ(layers.front().output_shape, std::vector<int64_t>({32, 64, 112, 112}));
  EXPECT_EQ(layers.back().path, "fc");
  EXPECT_EQ(layers.back().output_shape, std::vector<int64_t>({32, 10}));

  // Same modelled layers, in the same order, with the same paths and configs as net.json.
  NetSpec spec = LoadNetSpec(SourceDir() + "/configs/nets/resnet18.json");
  spec.batch_size = 32;
  const std::vector<LayerInstance> expected = Modelled(LayersFromNetSpec(spec));
  const std::vector<LayerInstance> actual = Modelled(layers);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].path, expected[i].path);
    ASSERT_TRUE(actual[i].config.has_value()) << actual[i].path << ": " << actual[i].note;
    EXPECT_EQ(*actual[i].config, *expected[i].config) << actual[i].path;
    EXPECT_EQ(actual[i].parameter_count, expected[i].parameter_count) << actual[i].path;
    EXPECT_DOUBLE_EQ(actual[i].forward_macs, expected[i].forward_macs) << actual[i].path;
  }
}

TEST_P(TorchScriptTest, MobileNetV3SmallLayersMatchNetJson) {
  EXPORTED_OR_SKIP(path, GetParam(), "mobilenet_v3_small");
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 224, 224}, 8);
  std::map<std::string, int> counts;
  int64_t parameters = 0;
  for (const LayerInstance& l : layers) {
    EXPECT_TRUE(HasKnownType(l)) << l.path << ": " << l.type << " from " << l.source;
    ++counts[l.type];
    parameters += l.parameter_count;
  }
  EXPECT_EQ(counts["mul"], 9);
  EXPECT_EQ(counts["hardsigmoid"], 9);
  EXPECT_EQ(counts["add"], 6);
  EXPECT_EQ(counts["dropout"], 1);
  EXPECT_EQ(parameters, ReferenceParameterCount("mobilenet_v3_small"));

  NetSpec spec = LoadNetSpec(SourceDir() + "/configs/nets/mobilenet_v3_small.json");
  spec.batch_size = 8;
  const std::vector<LayerInstance> expected = Modelled(LayersFromNetSpec(spec));
  const std::vector<LayerInstance> actual = Modelled(layers);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].path, expected[i].path);
    ASSERT_TRUE(actual[i].config.has_value()) << actual[i].path << ": " << actual[i].note;
    EXPECT_EQ(*actual[i].config, *expected[i].config) << actual[i].path;
  }
  // The SE product reports the feature map, not the (N, C, 1, 1) scale, as its input.
  for (const LayerInstance& l : layers) {
    if (l.type == "mul") {
      EXPECT_EQ(l.input_shape, l.output_shape) << l.path;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ScriptAndTrace, TorchScriptTest, ::testing::Values("script", "trace"));

// The shipped Transformer text classifier: PyTorch's own nn.TransformerEncoderLayer, traced in
// training mode (tools/export_torchscript.py), and net.json's transformer_encoder_layer block
// (net/transformer_block.h) give the same costed layers in the same order, with the same
// configs, MACs, parameters and gradient accumulations, at two batch sizes.
// The layers of `layers` that cost something (no views).
std::vector<LayerInstance> Costed(const std::vector<LayerInstance>& layers) {
  std::vector<LayerInstance> out;
  for (const LayerInstance& l : layers) {
    if (!l.no_cost) out.push_back(l);
  }
  return out;
}

// Layer i of `actual` (a trace) against layer i of `expected` (the net.json): the same type,
// config, MACs, parameters and gradient accumulations.
void ExpectSameCostedLayers(const std::vector<LayerInstance>& actual,
                            const std::vector<LayerInstance>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    SCOPED_TRACE(expected[i].path + " / " + actual[i].path);
    EXPECT_EQ(actual[i].type, expected[i].type);
    ASSERT_TRUE(actual[i].config.has_value()) << actual[i].note;
    ASSERT_TRUE(expected[i].config.has_value()) << expected[i].note;
    EXPECT_EQ(*actual[i].config, *expected[i].config);
    EXPECT_DOUBLE_EQ(actual[i].forward_macs, expected[i].forward_macs);
    EXPECT_EQ(actual[i].parameter_count, expected[i].parameter_count);
    EXPECT_EQ(actual[i].grad_accumulations, expected[i].grad_accumulations);
  }
}

// A traced PyTorch text classifier with pre-norm encoder layers (norm_first=True), a final
// LayerNorm and a pooled head, against the net.json that writes it with the
// transformer_encoder_layer block's norm_first, a layer_norm leaf and a mean (over the
// sequence) or select (the first token, x.select(1, 0)) leaf: the same costed layers in the same
// order, with equal configs, MACs, parameters and gradient accumulations, at batch 1 and 4.
TEST(TorchScriptTransformerTest, PreNormEncoderWithMeanOrClassTokenHeadMatchesNetJson) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  for (const std::string pooling : {"mean", "select"}) {
    SCOPED_TRACE(pooling);
    const std::string path = (exports.dir() / ("prenorm_" + pooling + ".pt")).string();
    ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(50, 12)
        self.encoder = nn.Sequential(*[nn.TransformerEncoderLayer(
            12, 3, dim_feedforward=20, dropout=0.1, activation="gelu", batch_first=True,
            norm_first=True) for _ in range(2)])
        self.norm = nn.LayerNorm(12)
        self.fc = nn.Linear(12, 2)
    def forward(self, ids):
        x = self.norm(self.encoder(self.embedding(ids)))
        return self.fc(x.mean(dim=1) if ")" +
                                  pooling + R"(" == "mean" else x.select(1, 0))
torch.manual_seed(0)
model = Classifier().train()
torch.jit.trace(model, torch.randint(0, 50, (1, 16)), check_trace=False).save(")" +
                                  path + R"(")
)")) << exports.error;
    const std::string head = pooling == "mean"
                                 ? R"({"type": "mean", "name": "pool", "dim": 1})"
                                 : R"({"type": "select", "name": "cls", "dim": 1, "index": 0})";
    NetSpec spec = ParseNetSpec(nlohmann::json::parse(R"({"name": "prenorm",
        "input": {"sequence_length": 16, "vocabulary": 50},
        "batch_size": 1, "dataset_size": 8, "epochs": 1, "layers": [
        {"type": "embedding", "name": "embedding", "num_embeddings": 50, "embedding_dim": 12},
        {"type": "sequential", "name": "encoder", "layers": [
          {"type": "transformer_encoder_layer", "nhead": 3, "dim_feedforward": 20,
           "activation": "gelu", "norm_first": true},
          {"type": "transformer_encoder_layer", "nhead": 3, "dim_feedforward": 20,
           "activation": "gelu", "norm_first": true}]},
        {"type": "layer_norm", "name": "norm"}, )" + head +
                                                      R"(,
        {"type": "linear", "name": "fc", "out_features": 2}]})"),
                                "net.json");
    for (int64_t batch : {1, 4}) {
      SCOPED_TRACE(batch);
      spec.batch_size = batch;
      const std::vector<LayerInstance> actual =
          Costed(LayersFromTorchScript(path, spec.input, batch));
      const std::vector<LayerInstance> expected = Costed(LayersFromNetSpec(spec));
      ASSERT_NO_FATAL_FAILURE(ExpectSameCostedLayers(actual, expected));
      // Pre-norm: each encoder layer starts with norm1, and norm2 comes right after add1.
      ASSERT_GE(expected.size(), 3u);
      EXPECT_EQ(expected[1].path, "encoder.0.norm1");
      EXPECT_EQ(expected[2].path, "encoder.0.self_attn.in_proj");
      const auto at = [&](const std::string& p) {
        return std::find_if(expected.begin(), expected.end(),
                            [&](const LayerInstance& l) { return l.path == p; }) -
               expected.begin();
      };
      EXPECT_EQ(at("encoder.0.norm2"), at("encoder.0.add1") + 1);
      // The head: (N, 16, 12) pooled to (N, 12), a (N, 16, 1, 12) select or mean config.
      const LayerInstance& pooled = expected[expected.size() - 2];
      EXPECT_EQ(pooled.type, pooling);
      EXPECT_EQ(pooled.config->batch_size, batch);
      EXPECT_EQ(pooled.config->in_channels, 16);
      EXPECT_EQ(pooled.config->width, 12);
      EXPECT_EQ(pooled.output_shape, (std::vector<int64_t>{batch, 12}));
    }
  }
}

// The shipped pre-norm text classifier against tools/reference_models.py's PyTorch twin.
TEST(TorchScriptTransformerTest, ShippedPreNormTextTransformerMatchesNetJson) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = exports.Path("trace", "text_transformer_prenorm");
  ASSERT_FALSE(path.empty()) << exports.error;
  NetSpec spec = LoadNetSpec(SourceDir() + "/configs/nets/text_transformer_prenorm.json");
  spec.batch_size = 2;
  const std::vector<LayerInstance> expected = Costed(LayersFromNetSpec(spec));
  ASSERT_NO_FATAL_FAILURE(
      ExpectSameCostedLayers(Costed(LayersFromTorchScript(path, spec.input, 2)), expected));
  int64_t parameters = 0;
  for (const LayerInstance& l : expected) parameters += l.parameter_count;
  EXPECT_EQ(parameters, 10973698);  // tools/reference_models.py text_transformer_prenorm
  ASSERT_GE(expected.size(), 3u);
  EXPECT_EQ(expected[expected.size() - 2].type, "mean");
  EXPECT_EQ(*expected.back().config, test::Linear(2, 256, 2));
}

TEST(TorchScriptTransformerTest, TextTransformerLayersMatchNetJson) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = exports.Path("trace", "text_transformer");
  ASSERT_FALSE(path.empty()) << exports.error;
  NetSpec spec = LoadNetSpec(SourceDir() + "/configs/nets/text_transformer.json");
  for (int64_t batch : {1, 8}) {
    SCOPED_TRACE(batch);
    spec.batch_size = batch;
    const std::vector<LayerInstance> traced = LayersFromTorchScript(path, spec.input, batch);
    const std::vector<LayerInstance> built = LayersFromNetSpec(spec);
    const std::vector<LayerInstance> actual = Costed(traced);
    const std::vector<LayerInstance> expected = Costed(built);
    ASSERT_NO_FATAL_FAILURE(ExpectSameCostedLayers(actual, expected));
    int64_t parameters = 0, expected_parameters = 0;
    std::map<std::string, int> counts;
    for (size_t i = 0; i < actual.size(); ++i) {
      parameters += actual[i].parameter_count;
      expected_parameters += expected[i].parameter_count;
      ++counts[expected[i].type];
    }
    EXPECT_EQ(parameters, expected_parameters);
    EXPECT_EQ(expected_parameters, 11038210);  // tools/reference_models.py text_transformer
    // Per encoder layer: in_proj, out_proj, linear1, linear2; two bmm, three dropouts in the
    // block and one on the attention weights, q/k/v and the heads' output copied.
    EXPECT_EQ(counts["linear"], 4 * 4 + 1);
    EXPECT_EQ(counts["bmm"], 4 * 2);
    EXPECT_EQ(counts["contiguous"], 4 * 4);
    EXPECT_EQ(counts["dropout"], 4 * 4);
    EXPECT_EQ(counts["layer_norm"], 4 * 2);
    EXPECT_EQ(counts["softmax"], 4);
    EXPECT_EQ(counts["scale"], 4);
    EXPECT_EQ(counts["add"], 4 * 2);
    EXPECT_EQ(counts["embedding"], 1);
    EXPECT_EQ(expected.front().path, "embedding");
    EXPECT_EQ(expected[1].path, "encoder.0.self_attn.in_proj");
    EXPECT_EQ(*expected[1].config, test::Linear(batch * 128, 256, 3 * 256));
    EXPECT_EQ(expected.back().path, "fc");
    EXPECT_EQ(*expected.back().config, test::Linear(batch, 128 * 256, 2));
  }
}

std::string ErrorOf(const std::string& path) {
  try {
    LayersFromTorchScript(path, {3, 32, 32}, 4);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for " << path;
  return "";
}

TEST(TorchScriptErrorTest, MissingFile) {
  const std::string error = ErrorOf("no/such/model.pt");
  EXPECT_EQ(error.rfind("no/such/model.pt: cannot open file (", 0), 0u) << error;
}

TEST(TorchScriptErrorTest, NotATorchScriptFile) {
  const fs::path file = fs::temp_directory_path() / "lj_not_torchscript.pt";
  std::ofstream(file) << "this is not a zip archive";
  const std::string error = ErrorOf(file.string());
  fs::remove(file);
  EXPECT_EQ(error.rfind(file.string() + ": not a TorchScript module: ", 0), 0u) << error;
}

TEST(TorchScriptErrorTest, AFileAbove2GiBIsReadWhenTheHostHasTheMemory) {
  // ViT-H/14's archive is 2.53 GB: the cap is a quarter of this host's memory, not 2 GiB.
  const int64_t limit = MaxTorchScriptBytes();
  if (limit <= kTorchScriptBytesWithoutMemorySize) {
    GTEST_SKIP() << "this host's memory cap (" << limit << " bytes) is not above 2 GiB";
  }
  const fs::path file = fs::temp_directory_path() / "lj_sparse_torchscript.pt";
  std::ofstream(file) << "this is not a zip archive";
  fs::resize_file(file, kTorchScriptBytesWithoutMemorySize + 1);  // sparse: nothing written
  const std::string past_the_size_check = ErrorOf(file.string());
  fs::resize_file(file, limit + 1);
  const std::string too_large = ErrorOf(file.string());
  fs::remove(file);
  EXPECT_EQ(past_the_size_check.rfind(file.string() + ": not a TorchScript module: ", 0), 0u)
      << past_the_size_check;
  EXPECT_EQ(too_large, file.string() + ": file too large (" + std::to_string(limit + 1) +
                           " bytes, the limit is " + std::to_string(limit) + ")");
}

TEST(TorchScriptErrorTest, WrongInputChannelsNamesTheCause) {
  EXPORTED_OR_SKIP(path, "script", "resnet18");
  try {
    LayersFromTorchScript(path, {1, 32, 32}, 4);  // resnet18 wants 3 channels
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": forward pass on input [1, 1, 32, 32] failed: ", 0), 0u)
        << message;
    // The cause from the end of the TorchScript traceback, on one line.
    EXPECT_NE(message.find("expected input[1, 1, 32, 32] to have 3 channels"), std::string::npos)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(TorchScriptLimitsTest, UnmodelledGeometryAndBakedBatchSize) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "odd.pt").string();
  // A traced module whose view() has the tracing batch size 8 baked in, with a non-square
  // kernel, a dilated convolution, a ceil_mode pooling (modelled) and an op with no net.json name.
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.wide = nn.Conv2d(3, 4, kernel_size=(1, 3), padding=(0, 1))
        self.dilated = nn.Conv2d(4, 4, kernel_size=3, dilation=2, padding=2)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(8 * 5 * 10, 2)
    def forward(self, x):
        y = self.pool(self.dilated(self.wide(x)))
        y = torch.cat([y, y], dim=1)
        z = torch.cat([y, y], dim=3)
        return self.fc(torch.flip(z, [3]).view(8, -1)) + torch.cat([y, y], dim=0).sum()
torch.jit.trace(Odd().eval(), torch.randn(8, 3, 9, 9)).save(")" +
                                path + R"(")
)")) << exports.error;

  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 9, 9}, 8);
  std::map<std::string, const LayerInstance*> by_path;
  for (const LayerInstance& l : layers) by_path[l.path] = &l;
  ASSERT_EQ(by_path.count("wide"), 1u);
  EXPECT_EQ(by_path["wide"]->type, "conv2d");
  // A non-square kernel and padding map (Inception v3's 1x7 / 7x1): the height's in
  // kernel_size / padding, the width's in kernel_width / padding_width.
  ASSERT_TRUE(by_path["wide"]->config.has_value()) << by_path["wide"]->note;
  const LayerConfig& wide = *by_path["wide"]->config;
  EXPECT_EQ(wide.kernel_size, 1);
  EXPECT_EQ(KernelWidth(wide), 3);
  EXPECT_EQ(wide.padding, 0);
  EXPECT_EQ(PaddingWidth(wide), 1);
  EXPECT_EQ(OutputShape(wide), (std::vector<int64_t>{8, 4, 9, 9}));
  EXPECT_DOUBLE_EQ(by_path["wide"]->forward_macs, 8.0 * 4 * 9 * 9 * 3 * (1 * 3));
  EXPECT_DOUBLE_EQ(ForwardMacs(wide), 8.0 * 4 * 9 * 9 * 3 * (1 * 3));
  ASSERT_EQ(by_path.count("dilated"), 1u);
  EXPECT_FALSE(by_path["dilated"]->config.has_value());
  EXPECT_EQ(by_path["dilated"]->note, "dilation [2, 2] is not modelled");
  ASSERT_EQ(by_path.count("pool"), 1u);
  // ceil_mode is modelled: the config's shape rule gives the traced 9 -> 5 (floor: 4).
  EXPECT_EQ(by_path["pool"]->note, "");
  ASSERT_TRUE(by_path["pool"]->config.has_value());
  EXPECT_TRUE(by_path["pool"]->config->ceil_mode);
  EXPECT_EQ(OutputShape(*by_path["pool"]->config), std::vector<int64_t>({8, 4, 5, 5}));
  EXPECT_EQ(by_path["pool"]->output_shape, std::vector<int64_t>({8, 4, 5, 5}));
  // cat along the channels is a cat layer, and so is one along the width (the cat along the
  // channels of (N x C x H, W_i, 1, 1): the same runs); along the batch it gets a note; flip
  // has no type.
  std::vector<const LayerInstance*> cats;
  bool found_flip = false;
  for (const LayerInstance& l : layers) {
    if (l.type == "cat") cats.push_back(&l);
    if (l.type == "aten::flip") {
      found_flip = true;
      EXPECT_FALSE(HasKnownType(l));
    }
  }
  EXPECT_TRUE(found_flip);
  ASSERT_EQ(cats.size(), 3u);
  ASSERT_TRUE(cats[0]->config.has_value()) << cats[0]->note;
  EXPECT_EQ(cats[0]->config->inputs, 2);
  EXPECT_EQ(cats[0]->config->in_channels, 8);
  EXPECT_EQ(OutputShape(*cats[0]->config), std::vector<int64_t>({8, 8, 5, 5}));
  ASSERT_TRUE(cats[1]->config.has_value()) << cats[1]->note;
  EXPECT_EQ(cats[1]->config->inputs, 2);
  EXPECT_EQ(test::NchwOf(*cats[1]->config), std::vector<int64_t>({8 * 8 * 5, 10, 1, 1}));
  EXPECT_FALSE(cats[2]->config.has_value());
  EXPECT_EQ(cats[2]->note, "cat along dim 0 is not modelled (only along a dim after the batch)");
  ASSERT_EQ(by_path.count("fc"), 1u);
  ASSERT_TRUE(by_path["fc"]->config.has_value());
  EXPECT_EQ(by_path["fc"]->config->batch_size, 8);  // run at batch 8 after batch 1 failed
  EXPECT_EQ(by_path["fc"]->config->in_features, 400);
}

// softmax over the last dim (attention's scores, a classifier's (N, F)) maps to a softmax layer
// whose config puts that dim in `width`; over another dim it is named with a note, not dropped.
TEST(TorchScriptLimitsTest, SoftmaxOverTheLastDimOnly) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "softmax.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Scores(nn.Module):
    def forward(self, x):
        scores = torch.softmax(x, dim=-1)
        channels = torch.softmax(scores, dim=1)
        return torch.softmax(channels.flatten(1), dim=1)
torch.jit.trace(Scores().eval(), torch.randn(2, 4, 6, 6)).save(")" +
                                path + R"(")
)")) << exports.error;
  std::vector<const LayerInstance*> softmaxes;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {4, 6, 6}, 2);
  for (const LayerInstance& l : layers) {
    if (l.type == "softmax") softmaxes.push_back(&l);
  }
  ASSERT_EQ(softmaxes.size(), 3u);
  ASSERT_TRUE(softmaxes[0]->config.has_value()) << softmaxes[0]->note;
  const LayerConfig& last = *softmaxes[0]->config;
  EXPECT_EQ(test::NchwOf(last), std::vector<int64_t>({2, 24, 1, 6}));
  EXPECT_FALSE(softmaxes[1]->config.has_value());
  EXPECT_EQ(softmaxes[1]->note,
            "softmax over dim 1 of a rank-4 tensor; only the last dim is modelled");
  ASSERT_TRUE(softmaxes[2]->config.has_value()) << softmaxes[2]->note;  // (N, F): dim 1 is last
  EXPECT_EQ(softmaxes[2]->config->in_channels, 1);
  EXPECT_EQ(softmaxes[2]->config->width, 144);
}

// aten::layer_norm over the last dims of any rank maps to a layer_norm layer (normalized_size =
// the product of normalized_shape, the dims between the batch and them in width), with its
// weight and bias as parameters; a Linear on a (N, T, D) sequence counts every leading dim in
// its batch_size, so its MACs are N x T x D x out; element-wise ops and a cat along dim 1 of
// (N, T, D) are (N, T, 1, D); permute is a free view; ConvNeXt's layer scale is a mul.
TEST(TorchScriptLimitsTest, LayerNormOfAnyRankAndLinearOnSequences) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "layer_norm.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Norms(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.channels_last = nn.LayerNorm(8)
        self.proj = nn.Linear(8, 12)
        self.tokens = nn.LayerNorm(12)
        self.plane = nn.LayerNorm([4, 12], elementwise_affine=False)
        self.gamma = nn.Parameter(torch.full((8, 1, 1), 1e-6))
    def forward(self, x):
        y = (self.gamma * self.conv(x)).permute(0, 2, 3, 1)  # (N, 4, 4, 8), as ConvNeXt's
        y = self.channels_last(y).flatten(1, 2)           # (N, 16, 8): a sequence of 16 tokens
        y = self.tokens(self.proj(y))                     # (N, 16, 12)
        y = torch.cat([y, nn.functional.gelu(y) + y], dim=1)  # (N, 32, 12)
        return self.plane(y.view(-1, 8, 4, 12))
torch.jit.trace(Norms().eval(), torch.randn(2, 3, 4, 4)).save(")" +
                                path + R"(")
)")) << exports.error;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 4, 4}, 2);
  std::vector<const LayerInstance*> norms;
  const LayerInstance* proj = nullptr;
  const LayerInstance* scale = nullptr;
  std::map<std::string, const LayerInstance*> sequence_ops;  // gelu, add, cat on (N, T, D)
  int permutes = 0;
  for (const LayerInstance& l : layers) {
    if (l.type == "layer_norm") norms.push_back(&l);
    if (l.type == "gelu" || l.type == "add" || l.type == "cat") sequence_ops[l.type] = &l;
    if (l.path == "proj") proj = &l;
    if (l.type == "mul") scale = &l;
    if (l.source == "aten::permute") {  // a view: no type, no cost
      EXPECT_EQ(l.type, "flatten");
      EXPECT_TRUE(l.no_cost);
      ++permutes;
    }
  }
  EXPECT_EQ(permutes, 1);
  ASSERT_EQ(norms.size(), 3u);
  for (const LayerInstance* l : norms) ASSERT_TRUE(l->config.has_value()) << l->path << l->note;
  EXPECT_EQ(test::NchwOf(*norms[0]->config), std::vector<int64_t>({2, 8, 1, 16}));
  EXPECT_EQ(norms[0]->parameter_count, 16);
  EXPECT_EQ(norms[0]->parameter_tensors, 2);
  EXPECT_EQ(test::NchwOf(*norms[1]->config), std::vector<int64_t>({2, 12, 1, 16}));
  EXPECT_EQ(test::NchwOf(*norms[2]->config), std::vector<int64_t>({2, 48, 1, 8}));  // over [4, 12]
  EXPECT_EQ(norms[2]->parameter_count, 0);
  EXPECT_EQ(norms[2]->parameter_tensors, 0);
  ASSERT_NE(proj, nullptr);
  ASSERT_TRUE(proj->config.has_value()) << proj->note;
  EXPECT_EQ(proj->config->batch_size, 2 * 16);
  EXPECT_EQ(proj->config->in_features, 8);
  EXPECT_DOUBLE_EQ(proj->forward_macs, 2.0 * 16 * 8 * 12);
  // Element-wise ops and a cat along dim 1 of (N, T, D) tensors: (N, T, 1, D).
  ASSERT_EQ(sequence_ops.size(), 3u);
  for (const auto& [type, l] : sequence_ops) ASSERT_TRUE(l->config.has_value()) << type << l->note;
  EXPECT_EQ(test::NchwOf(*sequence_ops["gelu"]->config), std::vector<int64_t>({2, 16, 1, 12}));
  EXPECT_EQ(test::NchwOf(*sequence_ops["add"]->config), std::vector<int64_t>({2, 16, 1, 12}));
  EXPECT_EQ(test::NchwOf(*sequence_ops["cat"]->config), std::vector<int64_t>({2, 32, 1, 12}));
  EXPECT_EQ(sequence_ops["cat"]->config->inputs, 2);
  // The (N, 16, 12) tensor feeds gelu, add and cat: two gradient accumulations of its shape,
  // charged to the last consumer.
  ASSERT_EQ(sequence_ops["cat"]->grad_accumulations.size(), 2u);
  EXPECT_EQ(test::NchwOf(sequence_ops["cat"]->grad_accumulations[0]),
            std::vector<int64_t>({2, 16, 1, 12}));
  // ConvNeXt's layer scale, gamma (C, 1, 1) * x (N, C, H, W): a mul over x's elements, whose
  // C-element parameter is trainable.
  ASSERT_NE(scale, nullptr);
  ASSERT_TRUE(scale->config.has_value()) << scale->note;
  EXPECT_EQ(test::NchwOf(*scale->config), std::vector<int64_t>({2, 8, 4, 4}));
  EXPECT_EQ(scale->parameter_count, 8);
  EXPECT_EQ(scale->parameter_tensors, 1);
}

// x.mean([2, 3]) of (N, C, H, W) (MNASNet, ShuffleNetV2) is ATen's 1x1 adaptive average pool; a
// mean over other dims stays an unmapped aten::mean; an element-wise op after a transpose that
// moved the batch dim gets a note.
TEST(TorchScriptLimitsTest, SpatialMeanIsAPoolToOneByOneOtherMeansAreMean) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "mean.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Means(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
    def forward(self, x):
        y = self.conv(x)
        moved = torch.relu(y.flatten(2).transpose(0, 1))  # (8, N, 25): batch no longer dim 0
        seq = y.flatten(2).transpose(1, 2)  # (N, 25, 8), a sequence
        return ((y.mean([2, 3]) + y.mean([-1, -2], keepdim=True).flatten(1) +
                 y.mean(1).flatten(1)[:, :8] + moved.transpose(0, 1).flatten(1)[:, :8]).sum() +
                seq.mean(1).sum() + seq.mean([0, 1, 2]) + y.mean([1, 3]).sum())
torch.jit.trace(Means().eval(), torch.randn(2, 3, 5, 5)).save(")" +
                                path + R"(")
)")) << exports.error;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 5, 5}, 2);
  std::vector<const LayerInstance*> means;
  const LayerInstance* moved = nullptr;
  for (const LayerInstance& l : layers) {
    if (l.source == "aten::mean") means.push_back(&l);
    if (l.type == "relu") moved = &l;
  }
  ASSERT_EQ(means.size(), 6u);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(means[i]->config.has_value()) << means[i]->note;
    EXPECT_EQ(means[i]->type, "adaptive_avgpool2d");
    EXPECT_EQ(means[i]->config->output_size, 1);
    EXPECT_EQ(means[i]->config->in_channels, 8);
    EXPECT_EQ(means[i]->config->height, 5);
  }
  // Over other adjacent dims: a mean, the dims before them its batch, after them its width;
  // over the channels of (N, 8, 5, 5), and over the sequence of (N, 25, 8).
  EXPECT_EQ(means[2]->type, "mean");
  ASSERT_TRUE(means[2]->config.has_value()) << means[2]->note;
  EXPECT_EQ(*means[2]->config, test::Nchw(LayerType::kMean, 2, 8, 1, 25));
  EXPECT_EQ(means[3]->type, "mean");
  ASSERT_TRUE(means[3]->config.has_value()) << means[3]->note;
  EXPECT_EQ(*means[3]->config, test::Nchw(LayerType::kMean, 2, 25, 1, 8));
  EXPECT_DOUBLE_EQ(means[3]->forward_macs, 2.0 * 25 * 8);
  // Over every dim, or dims that are not adjacent: unmapped, with their aten name.
  for (int i : {4, 5}) {
    EXPECT_EQ(means[i]->type, "aten::mean") << i;
    EXPECT_FALSE(HasKnownType(*means[i])) << i;
  }
  // An element-wise op on a tensor whose batch dim was transposed to dim 1: the traces at
  // batch 1 and 2 find the batch dim, and the config is at batch 2 wherever it is.
  ASSERT_NE(moved, nullptr);
  ASSERT_TRUE(moved->config.has_value()) << moved->note;
  EXPECT_EQ(moved->input_shape, (std::vector<int64_t>{8, 2, 25}));
  EXPECT_DOUBLE_EQ(ForwardMacs(*moved->config), 8.0 * 2 * 25);
}

// Batch dims merged with others are scaled too: nn.MultiheadAttention's (N x heads, L, L)
// scores and its (L, N, E) layout, at any batch size. Where the traces at batch 1 and 2 differ
// in structure (control flow on the batch size), the graph is traced at the batch size. Where a
// dim does not scale linearly, only a dim 0 equal to the trace batch is rescaled, and an
// element-wise op whose batch moved gets a note.
TEST(TorchScriptLimitsTest, BatchDimsFoundByTwoTraces) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string merged = (exports.dir() / "merged_batch.pt").string();
  const std::string branchy = (exports.dir() / "branchy_batch.pt").string();
  const std::string shrinking = (exports.dir() / "shrinking_batch.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Merged(nn.Module):
    def forward(self, x):  # x (N, 4, 3, 2)
        t = x.flatten(2).transpose(1, 2)          # (N, 6, 4)
        heads = t.reshape(-1, 6, 2, 2).transpose(1, 2).reshape(-1, 6, 2)  # (N x 2, 6, 2)
        return torch.softmax(heads, dim=-1).sum() + torch.relu(t.transpose(0, 1)).sum()
torch.jit.trace(Merged().eval(), torch.randn(3, 4, 3, 2)).save(")" +
                                merged + R"(")
class Branchy(nn.Module):
    def forward(self, x):
        t = x.flatten(2).transpose(0, 1)  # (4, N, 6)
        if x.size(0) == 1:
            return torch.relu(t).sum()
        return torch.sigmoid(t).sum()
torch.jit.script(Branchy().eval()).save(")" +
                                branchy + R"(")
class Shrinking(nn.Module):
    def forward(self, x):
        y = x.flatten(1)[:, :24 - x.size(0)]  # (N, 24 - N)
        return torch.relu(y.t()).sum()
torch.jit.script(Shrinking().eval()).save(")" +
                                shrinking + R"(")
)")) << exports.error;
  for (int64_t batch : {1, 5, 64}) {
    const std::vector<LayerInstance> layers = LayersFromTorchScript(merged, {4, 3, 2}, batch);
    const LayerInstance* softmax = nullptr;
    const LayerInstance* relu = nullptr;
    for (const LayerInstance& l : layers) {
      if (l.type == "softmax") softmax = &l;
      if (l.type == "relu") relu = &l;
    }
    ASSERT_NE(softmax, nullptr);
    ASSERT_NE(relu, nullptr);
    ASSERT_TRUE(softmax->config.has_value()) << softmax->note;
    EXPECT_EQ(softmax->input_shape, (std::vector<int64_t>{2 * batch, 6, 2}));
    EXPECT_EQ(softmax->config->width, 2);
    ASSERT_TRUE(relu->config.has_value()) << relu->note;
    EXPECT_EQ(relu->input_shape, (std::vector<int64_t>{6, batch, 4}));
  }
  const std::vector<LayerInstance> branchy_layers = LayersFromTorchScript(branchy, {4, 3, 2}, 8);
  // flatten, transpose, sigmoid and sum: the branch at batch 8
  ASSERT_EQ(branchy_layers.size(), 4u);
  EXPECT_EQ(branchy_layers[2].type, "sigmoid");
  ASSERT_TRUE(branchy_layers[2].config.has_value()) << branchy_layers[2].note;
  EXPECT_EQ(branchy_layers[2].input_shape, (std::vector<int64_t>{4, 8, 6}));

  std::optional<LayerInstance> shrunk;
  for (const LayerInstance& l : LayersFromTorchScript(shrinking, {4, 3, 2}, 8)) {
    if (l.type == "relu") shrunk = l;
  }
  ASSERT_TRUE(shrunk.has_value());
  EXPECT_FALSE(shrunk->config.has_value());
  EXPECT_EQ(shrunk->note,
            "batch dims unknown: input [23, 1] traced at batch 1 only; only dim 0 is rescaled "
            "to the batch size");
}

// ContiguousConfig from a layout: nothing for a contiguous layout (size-1 dims have any stride);
// a transposed one is runs of the trailing contiguous dims, its other dims N, C..., H.
TEST(ContiguousConfigTest, RunsAndOuterDimsOfATransposedLayout) {
  // ShuffleNetV2: (N, g, C/g, H, W) = (8, 2, 58, 7, 7) transposed to (8, 58, 2, 7, 7).
  const std::vector<int64_t> shuffled = {8, 58, 2, 7, 7};
  const std::vector<int64_t> shuffled_strides = {2 * 58 * 49, 49, 58 * 49, 7, 1};
  const auto shuffle = ContiguousConfig(shuffled, shuffled, shuffled_strides);
  ASSERT_TRUE(shuffle.has_value());
  EXPECT_EQ(shuffle->type, LayerType::kContiguous);
  EXPECT_EQ(test::NchwOf(*shuffle), std::vector<int64_t>({8, 58, 2, 49}));
  // The same at batch 32, from the layout traced at batch 2: sizes come from the shape.
  const auto scaled =
      ContiguousConfig({32, 58, 2, 7, 7}, {2, 58, 2, 7, 7}, {2 * 58 * 49, 49, 58 * 49, 7, 1});
  ASSERT_TRUE(scaled.has_value());
  EXPECT_EQ(test::NchwOf(*scaled), std::vector<int64_t>({32, 58, 2, 49}));
  EXPECT_TRUE(IsValid(*scaled));
  // Multi-head attention's output (N x heads, L, d) transposed to (L, N x heads, d): one outer
  // pair, so batch 1.
  const auto attention = ContiguousConfig({197, 24, 64}, {197, 24, 64}, {64, 197 * 64, 1});
  ASSERT_TRUE(attention.has_value());
  EXPECT_EQ(test::NchwOf(*attention), std::vector<int64_t>({1, 197, 24, 64}));
  // Contiguous: no copy. A size-1 dim with an odd stride does not make it a copy.
  EXPECT_FALSE(ContiguousConfig({4, 3, 5}, {4, 3, 5}, {15, 5, 1}).has_value());
  EXPECT_FALSE(ContiguousConfig({4, 1, 5}, {4, 1, 5}, {5, 99, 1}).has_value());
  // A column slice (L, E) of (L, 3E): runs of E, one outer dim.
  const auto slice = ContiguousConfig({10, 4}, {10, 4}, {12, 1});
  ASSERT_TRUE(slice.has_value());
  EXPECT_EQ(test::NchwOf(*slice), std::vector<int64_t>({1, 10, 1, 4}));
  EXPECT_THROW(ContiguousConfig({4, 3}, {4, 3, 1}, {3, 1, 1}), std::invalid_argument);
}

// aten::contiguous: a copy after ShuffleNetV2's channel shuffle (view, transpose), no cost on a
// tensor that is already contiguous; the copy's batch follows the batch size.
TEST(TorchScriptLimitsTest, ContiguousCopiesOnlyPermutedTensors) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "shuffle.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Shuffle(nn.Module):
    def forward(self, x):  # x (N, 6, 5, 5)
        n, c, h, w = x.size()
        y = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        return torch.relu(y).contiguous()
torch.jit.trace(Shuffle().eval(), torch.randn(2, 6, 5, 5)).save(")" +
                                path + R"(")
)")) << exports.error;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {6, 5, 5}, 16);
  std::vector<const LayerInstance*> copies;
  for (const LayerInstance& l : layers) {
    if (l.source == "aten::contiguous") copies.push_back(&l);
  }
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0]->type, "contiguous");
  ASSERT_TRUE(copies[0]->config.has_value()) << copies[0]->note;
  EXPECT_EQ(test::NchwOf(*copies[0]->config), std::vector<int64_t>({16, 3, 2, 25}));
  EXPECT_FALSE(copies[0]->no_cost);
  EXPECT_FALSE(copies[1]->config.has_value());
  EXPECT_TRUE(copies[1]->no_cost);
  EXPECT_TRUE(copies[1]->note.empty()) << copies[1]->note;
}

// x * c and x / c with a constant scalar c (a number or a 0-dim constant tensor) are scale, an
// element-wise config of x; a division by a tensor keeps its aten name (unmapped), and a mul of
// two tensors stays mul.
TEST(TorchScriptLimitsTest, ScalarMulAndDivAreScale) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "scale.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Scales(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("c", torch.tensor(0.5))
    def forward(self, x):  # x (N, 4, 3, 3)
        a = x / 8.0
        b = a * 0.25
        d = b * self.c
        return d / (x.abs() + 1.0)
torch.jit.trace(Scales().eval(), torch.randn(2, 4, 3, 3)).save(")" +
                                path + R"(")
)")) << exports.error;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {4, 3, 3}, 16);
  std::vector<const LayerInstance*> scales;
  std::vector<const LayerInstance*> divisions;
  for (const LayerInstance& l : layers) {
    if (l.type == "scale") scales.push_back(&l);
    if (l.type == "aten::div") divisions.push_back(&l);
  }
  ASSERT_EQ(scales.size(), 3u);
  for (const LayerInstance* l : scales) {
    ASSERT_TRUE(l->config.has_value()) << l->source << ": " << l->note;
    EXPECT_EQ(l->config->type, LayerType::kScale);
    EXPECT_EQ(test::NchwOf(*l->config), std::vector<int64_t>({16, 4, 3, 3}));
  }
  EXPECT_EQ(scales[0]->source, "aten::div");
  EXPECT_EQ(scales[1]->source, "aten::mul");
  ASSERT_EQ(divisions.size(), 1u);
  EXPECT_FALSE(HasKnownType(*divisions[0]));
}

// x + b with b a parameter broadcast over x's leading dims is bias_add at any batch size (at
// trace batch 1 a position embedding has x's shape): ViT's (N, T, D) + (1, T, D) and MaxViT's
// (N, G, H, P, P) + (H, P, P), b's elements counted as trainable. A buffer broadcast to x is an
// add of x's shape without parameters; a parameter broadcast over other dims ((N, C, H, W) +
// (C, 1, 1)) is not modelled, two same-shape tensors stay add, and tanh maps.
TEST(TorchScriptLimitsTest, BroadcastParameterAddsAreBiasAdd) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "bias_add.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Biases(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, 12, 6))
        self.rel = nn.Parameter(torch.randn(3, 4, 4))
        self.channel = nn.Parameter(torch.randn(2, 1, 1))
        self.register_buffer("mask", torch.randn(4, 4))
    def forward(self, x):  # x (N, 2, 6, 6)
        t = x.flatten(2).transpose(1, 2).reshape(x.size(0), 12, 6)  # (N, 12, 6)
        t = t + self.pos
        s = t.reshape(x.size(0), 2, 3, 4, 3).sum(-1).unsqueeze(-1).expand(-1, -1, -1, -1, 4)
        s = s + self.rel  # (N, 2, 3, 4, 4) + (3, 4, 4)
        s = s + self.mask  # a buffer: no gradient, not a parameter
        c = x + self.channel
        return torch.tanh(t).sum() + s.sum() + (c + x).sum()
torch.jit.script(Biases().eval()).save(")" +
                                path + R"(")
)")) << exports.error;
  for (int64_t batch : {1, 16}) {
    std::vector<const LayerInstance*> bias_adds, adds, tanhs;
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {2, 6, 6}, batch);
    for (const LayerInstance& l : layers) {
      if (l.type == "bias_add") bias_adds.push_back(&l);
      if (l.type == "add") adds.push_back(&l);
      if (l.type == "tanh") tanhs.push_back(&l);
    }
    ASSERT_EQ(bias_adds.size(), 2u) << batch;
    for (const LayerInstance* l : bias_adds) {
      ASSERT_TRUE(l->config.has_value()) << l->note;
      EXPECT_EQ(l->config->type, LayerType::kBiasAdd);
      EXPECT_EQ(l->parameter_tensors, 1);
    }
    EXPECT_EQ(test::NchwOf(*bias_adds[0]->config), std::vector<int64_t>({batch, 12, 1, 6}));
    EXPECT_EQ(bias_adds[0]->parameter_count, 12 * 6);
    EXPECT_EQ(bias_adds[0]->output_shape, std::vector<int64_t>({batch, 12, 6}));
    EXPECT_EQ(test::NchwOf(*bias_adds[1]->config), std::vector<int64_t>({batch * 2, 3, 4, 4}));
    EXPECT_EQ(bias_adds[1]->parameter_count, 3 * 4 * 4);
    // The buffer's broadcast add is an add of s's shape with no parameter; x + channel (C, 1,
    // 1), a parameter broadcast over H and W: a note; c + x is a residual add.
    ASSERT_GE(adds.size(), 3u) << batch;
    ASSERT_TRUE(adds[0]->config.has_value()) << adds[0]->note;
    EXPECT_EQ(test::NchwOf(*adds[0]->config), std::vector<int64_t>({batch, 2 * 3 * 4, 1, 4}));
    EXPECT_EQ(adds[0]->parameter_count, 0);
    EXPECT_FALSE(adds[1]->config.has_value());
    EXPECT_NE(adds[1]->note.find("and [2, 1, 1] differ; only equal shapes are modelled"),
              std::string::npos)
        << adds[1]->note;
    const auto residual = std::find_if(adds.begin() + 2, adds.end(), [](const LayerInstance* l) {
      return l->output_shape.size() == 4;
    });
    ASSERT_NE(residual, adds.end());
    ASSERT_TRUE((*residual)->config.has_value()) << (*residual)->note;
    EXPECT_EQ(test::NchwOf(*(*residual)->config), std::vector<int64_t>({batch, 2, 6, 6}));
    ASSERT_EQ(tanhs.size(), 1u);
    ASSERT_TRUE(tanhs[0]->config.has_value()) << tanhs[0]->note;
    EXPECT_EQ(test::NchwOf(*tanhs[0]->config), std::vector<int64_t>({batch, 12, 1, 6}));
  }
}

// Swin's ops: the cyclic shift (roll) and a zero padding are copies (contiguous configs of
// height 1); the patch merging's strided slices are selects of one of `step` channels and
// its cat along the last dim a cat of (N x H x W, C_i, 1, 1); the unpadding slice whose end
// is computed from sizes is a full slice; the attention mask built from x.new_zeros of a
// batch-independent size is a constant of the step (its slice fills, sub and masked_fill are
// not layers) and its broadcast add an add of the scores' shape; q * (C // heads) ** -0.5 is
// scale.
TEST(TorchScriptLimitsTest, SwinShiftsPadsSlicesMasksAndMerges) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "swin_ops.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
import torch.nn.functional as F
from torch import nn
class SwinOps(nn.Module):
    def forward(self, x):  # x (N, 3, 4, 4)
        x = x.permute(0, 2, 3, 1)  # (N, H, W, C) = (N, 4, 4, 3)
        B, H, W, C = x.shape
        x = F.pad(x, (0, 0, 0, 0, 0, 0))
        x = torch.roll(x, shifts=(-1, -1), dims=(1, 2))
        mask = x.new_zeros((H, W))
        mask[0:-2, 0:-1] = 1.0
        mask = mask.view(1, 1, H * W)
        mask = mask.unsqueeze(2) - mask.unsqueeze(3)  # (1, 1, 16, 16)
        mask = mask.masked_fill(mask != 0, -100.0)
        t = x.reshape(B, H * W, C) * (C // 3) ** -0.5
        scores = torch.matmul(t, t.transpose(1, 2)).unsqueeze(1)  # (N, 1, 16, 16)
        scores = scores + mask
        x = x[:, :H, :W, :].contiguous()
        x0 = x[..., 0::2, 0::2, :]
        x1 = x[..., 1::2, 0::2, :]
        merged = torch.cat([x0, x1], -1)  # (N, 2, 2, 6)
        return merged.sum() + scores.sum()
torch.jit.trace(SwinOps().eval(), torch.randn(1, 3, 4, 4), check_trace=False).save(")" +
                                path +
                                R"(")
)")) << exports.error;
  for (int64_t batch : {1, 8}) {
    SCOPED_TRACE(batch);
    std::map<std::string, std::vector<const LayerInstance*>> by_source;
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {3, 4, 4}, batch);
    for (const LayerInstance& l : layers) {
      // Every op maps but the sums that make the output a scalar.
      EXPECT_TRUE(HasKnownType(l) || l.source == "aten::sum") << l.type << " at " << l.path;
      by_source[l.source].push_back(&l);
    }
    // The mask's ops are not layers: only the scores' add, and the sums of the result.
    for (const char* kind : {"aten::new_zeros", "aten::fill_", "aten::sub", "aten::ne",
                             "aten::masked_fill", "aten::copy_"}) {
      EXPECT_EQ(by_source.count(kind), 0u) << kind;
    }
    for (const char* kind : {"aten::pad", "aten::roll"}) {
      ASSERT_EQ(by_source[kind].size(), 1u) << kind;
      const LayerInstance& copy = *by_source[kind][0];
      ASSERT_TRUE(copy.config.has_value()) << kind << ": " << copy.note;
      EXPECT_EQ(copy.type, "contiguous");
      EXPECT_EQ(test::NchwOf(*copy.config), std::vector<int64_t>({batch, 16, 1, 3})) << kind;
    }
    std::vector<const LayerInstance*> strided;
    for (const LayerInstance* l : by_source["aten::slice"]) {
      ASSERT_TRUE(l->config.has_value()) << l->path << ": " << l->note;
      EXPECT_EQ(l->type, "select");
      if (test::NchwOf(*l->config)[1] == 2) strided.push_back(l);
    }
    // x[..., 0::2, 0::2, :] and x[..., 1::2, 0::2, :]: along H (N x 2 of 2 channels of 4 x 3),
    // then along W (N x 2 x 2 of 2 channels of 3).
    ASSERT_GE(strided.size(), 3u);
    EXPECT_EQ(test::NchwOf(*strided[0]->config), std::vector<int64_t>({batch * 2, 2, 1, 12}));
    EXPECT_EQ(test::NchwOf(*strided.back()->config), std::vector<int64_t>({batch * 4, 2, 1, 3}));
    ASSERT_EQ(by_source["aten::cat"].size(), 1u);
    const LayerInstance& cat = *by_source["aten::cat"][0];
    ASSERT_TRUE(cat.config.has_value()) << cat.note;
    EXPECT_EQ(test::NchwOf(*cat.config), std::vector<int64_t>({batch * 4, 6, 1, 1}));
    EXPECT_EQ(cat.config->inputs, 2);
    const LayerInstance* scores_add = nullptr;
    for (const LayerInstance* l : by_source["aten::add"]) {
      if (l->output_shape.size() == 4) scores_add = l;
    }
    ASSERT_NE(scores_add, nullptr);
    ASSERT_TRUE(scores_add->config.has_value()) << scores_add->note;
    EXPECT_EQ(scores_add->type, "add");
    EXPECT_EQ(test::NchwOf(*scores_add->config), std::vector<int64_t>({batch, 1, 16, 16}));
    EXPECT_EQ(scores_add->parameter_count, 0);
    ASSERT_EQ(by_source["aten::mul"].size(), 1u);
    EXPECT_EQ(by_source["aten::mul"][0]->type, "scale");
    ASSERT_TRUE(by_source["aten::mul"][0]->config.has_value());
  }
}

// A chunk's parts are views; its backward pass concatenates their gradients into one tensor of
// the input's shape: a cat config charged to the part's last consumer.
TEST(TorchScriptLimitsTest, ChunkBackwardIsACatOfThePartsGradients) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "chunk.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Split(nn.Module):
    def forward(self, x):  # x (N, 6, 5, 5)
        a, b = x.relu().chunk(2, dim=1)
        return torch.cat((a, torch.sigmoid(b)), dim=1)
torch.jit.trace(Split().eval(), torch.randn(2, 6, 5, 5)).save(")" +
                                path + R"(")
)")) << exports.error;
  const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {6, 5, 5}, 16);
  ASSERT_EQ(layers.size(), 3u);  // relu, sigmoid, cat: the chunk is no layer
  EXPECT_EQ(layers[2].type, "cat");
  ASSERT_EQ(layers[2].grad_accumulations.size(), 1u);
  const LayerConfig& cat = layers[2].grad_accumulations[0];
  EXPECT_EQ(cat.type, LayerType::kCat);
  EXPECT_EQ(cat.inputs, 2);
  EXPECT_EQ(test::NchwOf(cat), std::vector<int64_t>({16, 6, 5, 5}));
  EXPECT_TRUE(layers[0].grad_accumulations.empty());
  EXPECT_TRUE(layers[1].grad_accumulations.empty());
}

// Batched matrix products are bmm layers: nn.MultiheadAttention's two aten::bmm (scores
// (N x heads, L, d) x (N x heads, d, L) and values (N x heads, L, L) x (N x heads, L, d)) and a
// 4-D aten::matmul of equal leading dims (Swin's q @ k^T, batch = B x heads), at any batch
// size. A matmul by a 2-D weight or with broadcast leading dims keeps its aten name, with a
// note naming the op, its operands and its source line.
TEST(TorchScriptLimitsTest, BatchedMatmulsAreBmm) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "bmm.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.w = nn.Parameter(torch.randn(8, 3))
        self.p = nn.Parameter(torch.randn(1, 2, 4, 3))
    def forward(self, x):  # x (N, 8, 3, 2)
        t = x.flatten(2).transpose(1, 2)  # (N, 6, 8)
        y, _ = self.mha(t, t, t, need_weights=False)
        q = t.reshape(-1, 6, 2, 4).transpose(1, 2)  # (N, 2, 6, 4)
        s = q @ q.transpose(-2, -1)  # (N, 2, 6, 6)
        by_weight = t @ self.w  # (N, 6, 3)
        broadcast = torch.matmul(q, self.p)  # (N, 2, 6, 3)
        return y.sum() + s.sum() + by_weight.sum() + broadcast.sum()
torch.jit.trace(Attention().eval(), torch.randn(2, 8, 3, 2), check_trace=False).save(")" +
                                path + R"(")
)")) << exports.error;
  for (int64_t batch : {1, 16}) {
    SCOPED_TRACE(batch);
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {8, 3, 2}, batch);
    std::vector<const LayerInstance*> bmms;
    std::vector<const LayerInstance*> matmuls;
    for (const LayerInstance& l : layers) {
      if (l.type == "bmm") bmms.push_back(&l);
      if (l.type == "aten::matmul") matmuls.push_back(&l);
    }
    // At batch 1 the "broadcast" product has equal leading dims, (1, 2, 6, 4) x (1, 2, 4, 3):
    // a bmm of 2 matrices, as ATen runs it.
    ASSERT_EQ(bmms.size(), batch == 1 ? 4u : 3u);
    ASSERT_EQ(matmuls.size(), batch == 1 ? 1u : 2u);
    for (const LayerInstance* l : bmms) {
      ASSERT_TRUE(l->config.has_value()) << l->path << ": " << l->note;
      EXPECT_EQ(l->config->type, LayerType::kBmm);
      EXPECT_DOUBLE_EQ(l->forward_macs, ForwardMacs(*l->config));
    }
    // The attention scores and values of nn.MultiheadAttention, 2 heads of 4 over L = 6.
    EXPECT_EQ(bmms[0]->source, "aten::bmm");
    EXPECT_EQ(bmms[0]->path.rfind("mha", 0), 0u) << bmms[0]->path;
    EXPECT_EQ(*bmms[0]->config, test::Bmm(2 * batch, 6, 4, 6));
    EXPECT_EQ(bmms[0]->output_shape, (std::vector<int64_t>{2 * batch, 6, 6}));
    EXPECT_EQ(bmms[1]->source, "aten::bmm");
    EXPECT_EQ(*bmms[1]->config, test::Bmm(2 * batch, 6, 6, 4));
    // The 4-D matmul: batch = N x heads.
    EXPECT_EQ(bmms[2]->source, "aten::matmul");
    EXPECT_EQ(*bmms[2]->config, test::Bmm(2 * batch, 6, 4, 6));
    EXPECT_EQ(bmms[2]->input_shape, (std::vector<int64_t>{batch, 2, 6, 4}));
    EXPECT_EQ(bmms[2]->output_shape, (std::vector<int64_t>{batch, 2, 6, 6}));
    EXPECT_DOUBLE_EQ(bmms[2]->forward_macs, 2.0 * batch * 6 * 4 * 6);

    for (const LayerInstance* l : matmuls) {
      EXPECT_FALSE(HasKnownType(*l));
      EXPECT_FALSE(l->config.has_value());
      EXPECT_FALSE(l->no_cost);
      EXPECT_EQ(l->source, "aten::matmul");
    }
    const std::string b = std::to_string(batch);
    EXPECT_EQ(matmuls[0]->note.rfind("aten::matmul of [" + b + ", 6, 8] and [8, 3] (", 0), 0u)
        << matmuls[0]->note;
    EXPECT_NE(matmuls[0]->note.find(".py:"), std::string::npos) << matmuls[0]->note;
    EXPECT_NE(matmuls[0]->note.find("): a product with a 2-D operand (a weight or a vector) is "
                                    "not modelled; only batches of matrices of equal leading "
                                    "dims map to bmm"),
              std::string::npos)
        << matmuls[0]->note;
    if (batch == 1) {
      EXPECT_EQ(*bmms[3]->config, test::Bmm(2, 6, 4, 3));
      continue;
    }
    EXPECT_EQ(matmuls[1]->note.rfind("aten::matmul of [" + b + ", 2, 6, 4] and [1, 2, 4, 3]", 0),
              0u)
        << matmuls[1]->note;
    EXPECT_NE(matmuls[1]->note.find("the leading dims broadcast"), std::string::npos)
        << matmuls[1]->note;
  }
}

// MaxViT's attention writes its two products as einsums: both map to bmm with the batch
// B x G x H scaled to the batch size; an einsum that is no batched matmul keeps its name and
// says why.
TEST(TorchScriptLimitsTest, BatchedMatmulEinsumsAreBmm) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "einsum.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class WindowAttention(nn.Module):
    def forward(self, x):  # x (N, 6, 6, 4) -> (N, 2, 3, 6, 4): (B, G, H, P, D)
        x = x.unflatten(1, (2, 3))
        q = x * 0.5
        s = torch.einsum("B G H I D, B G H J D -> B G H I J", q, x)  # (N, 2, 3, 6, 6)
        o = torch.einsum("B G H I J, B G H J D -> B G H I D", s.softmax(-1), x)
        d = torch.einsum("bghid,bghid->bghi", o, x)  # a row-wise dot product: no matmul
        return o.sum() + d.sum()
torch.jit.trace(WindowAttention().eval(), torch.randn(2, 6, 6, 4),
                check_trace=False).save(")" +
                                path + R"(")
)")) << exports.error;
  for (int64_t batch : {1, 5}) {
    SCOPED_TRACE(batch);
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {6, 6, 4}, batch);
    std::vector<const LayerInstance*> bmms;
    std::vector<const LayerInstance*> einsums;
    for (const LayerInstance& l : layers) {
      if (l.type == "bmm") bmms.push_back(&l);
      if (l.type == "aten::einsum") einsums.push_back(&l);
    }
    ASSERT_EQ(bmms.size(), 2u);
    for (const LayerInstance* l : bmms) {
      EXPECT_EQ(l->source, "aten::einsum");
      ASSERT_TRUE(l->config.has_value()) << l->path << ": " << l->note;
      EXPECT_DOUBLE_EQ(l->forward_macs, ForwardMacs(*l->config));
    }
    EXPECT_EQ(*bmms[0]->config, test::Bmm(batch * 2 * 3, 6, 4, 6));
    EXPECT_EQ(bmms[0]->output_shape, (std::vector<int64_t>{batch, 2, 3, 6, 6}));
    EXPECT_EQ(*bmms[1]->config, test::Bmm(batch * 2 * 3, 6, 6, 4));
    ASSERT_EQ(einsums.size(), 1u);
    EXPECT_FALSE(einsums[0]->config.has_value());
    EXPECT_FALSE(einsums[0]->no_cost);
    EXPECT_NE(einsums[0]->note.find("equation 'bghid,bghid->bghi' is not a batched matrix "
                                    "product"),
              std::string::npos)
        << einsums[0]->note;
    EXPECT_NE(einsums[0]->note.find(".py:"), std::string::npos) << einsums[0]->note;
  }
}

// ViT's class token x[:, 0] of (N, T, D) is traced as a full aten::slice along dim 0 and an
// aten::select along dim 1. Both run in eager training (SliceBackward0, SelectBackward0): the
// select is a select of (N, T, 1, D), the full slice a select of one channel of
// (N, 1, 1, T x D). A select along dim 0 (x[0], or Swin's qkv[0]) zero-fills the whole input
// too: (1, N, 1, T x D). A partial slice t[:, 1:3] of dim 1 (size 6) is a select of one of
// 3 channels, (N, 3, 1, 2 x D): the same zero fill, and a copy of the 2 rows taken.
TEST(TorchScriptLimitsTest, ClassTokenSelectAndFullSlice) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "select.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class ClassToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 5)
    def forward(self, x):  # x (N, 8, 3, 2)
        t = self.fc(x.flatten(2).transpose(1, 2))  # (N, 6, 5)
        first = t[0]  # select along dim 0
        part = t[:, 1:3]  # a partial slice
        return t[:, 0].sum() + first.sum() + part.sum()
torch.jit.trace(ClassToken().eval(), torch.randn(2, 8, 3, 2), check_trace=False).save(")" +
                                path + R"(")
)")) << exports.error;
  for (int64_t batch : {1, 16}) {
    SCOPED_TRACE(batch);
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {8, 3, 2}, batch);
    std::vector<const LayerInstance*> selects;
    std::vector<const LayerInstance*> slices;
    for (const LayerInstance& l : layers) {
      if (l.type == "select") selects.push_back(&l);
      if (l.type == "aten::slice") slices.push_back(&l);
    }
    // t[0], the full dim-0 slice (t[:, 1:3] and t[:, 0] slice the same way: the frozen
    // graph keeps one), t[:, 1:3] and t[:, 0]'s select.
    ASSERT_EQ(selects.size(), 4u);
    EXPECT_TRUE(slices.empty());
    EXPECT_EQ(selects[0]->source, "aten::select");
    ASSERT_TRUE(selects[0]->config.has_value()) << selects[0]->note;
    EXPECT_EQ(*selects[0]->config, test::Nchw(LayerType::kSelect, 1, batch, 1, 6 * 5));
    EXPECT_EQ(selects[1]->source, "aten::slice");
    ASSERT_TRUE(selects[1]->config.has_value()) << selects[1]->note;
    EXPECT_EQ(*selects[1]->config, test::Nchw(LayerType::kSelect, batch, 1, 1, 6 * 5));
    EXPECT_EQ(selects[2]->source, "aten::slice");
    EXPECT_EQ(selects[2]->output_shape, (std::vector<int64_t>{batch, 2, 5}));
    ASSERT_TRUE(selects[2]->config.has_value()) << selects[2]->note;
    EXPECT_EQ(*selects[2]->config, test::Nchw(LayerType::kSelect, batch, 3, 1, 2 * 5));
    EXPECT_EQ(selects[3]->source, "aten::select");
    ASSERT_TRUE(selects[3]->config.has_value()) << selects[3]->note;
    EXPECT_EQ(*selects[3]->config, test::Nchw(LayerType::kSelect, batch, 6, 1, 5));
    EXPECT_EQ(selects[3]->output_shape, (std::vector<int64_t>{batch, 5}));
    EXPECT_DOUBLE_EQ(selects[3]->forward_macs, batch * 6.0 * 5);
  }
}

// Swin v2's cosine attention and unpadding. F.normalize(t, dim=-1) of (N, heads, L, d) traces
// as norm, clamp_min, expand_as and div: the L2 norm over the last dim is a norm of
// (N x heads x L, d, 1, 1), clamp_min by a number a clamp_min, expand_as a free view, and the
// division by one value per row a div of (N x heads, L, 1, d). x[:, a:b] of part of a dim
// is a select of one of c channels, c the divisor of the dim nearest size / (b - a). An L1 norm,
// a clamp_min by a tensor and a division of equal shapes stay unmapped.
TEST(TorchScriptLimitsTest, SwinV2NormalizeAndPartialSlices) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "normalize.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
import torch.nn.functional as F
from torch import nn
class CosineAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
    def forward(self, x):  # x (N, 8, 3, 4)
        t = self.fc(x.flatten(2).transpose(1, 2))  # (N, 12, 8)
        h = t.reshape(-1, 12, 2, 4).transpose(1, 2)  # (N, 2 heads, 12, 4)
        q = F.normalize(h, dim=-1)
        scores = q @ q.transpose(-2, -1)  # (N, 2, 12, 12)
        rows = t[:, :9]  # 9 of 12 rows: c = 1
        middle = t[:, 3:9]  # 6 of 12: c = 2
        other = t.norm(1, -1).sum() + torch.clamp_min(t, t.flip(1)).sum() + (t / t.flip(1)).sum()
        return scores.sum() + rows.sum() + middle.sum() + other
torch.jit.trace(CosineAttention().eval(), torch.randn(2, 8, 3, 4), check_trace=False).save(")" +
                                path + R"(")
)")) << exports.error;
  for (int64_t batch : {1, 8}) {
    SCOPED_TRACE(batch);
    std::map<std::string, std::vector<const LayerInstance*>> by_source;
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, {8, 3, 4}, batch);
    for (const LayerInstance& l : layers) by_source[l.source].push_back(&l);
    ASSERT_EQ(by_source["aten::norm"].size(), 2u);
    const LayerInstance& norm = *by_source["aten::norm"][0];
    EXPECT_EQ(norm.type, "norm");
    ASSERT_TRUE(norm.config.has_value()) << norm.note;
    EXPECT_EQ(*norm.config, test::Nchw(LayerType::kNorm, batch * 2 * 12, 4, 1, 1));
    EXPECT_EQ(norm.output_shape, (std::vector<int64_t>{batch, 2, 12, 1}));
    EXPECT_DOUBLE_EQ(norm.forward_macs, batch * 2.0 * 12 * 4);
    EXPECT_EQ(by_source["aten::norm"][1]->type, "aten::norm");  // p = 1
    ASSERT_EQ(by_source["aten::clamp_min"].size(), 2u);
    const LayerInstance& clamp = *by_source["aten::clamp_min"][0];
    EXPECT_EQ(clamp.type, "clamp_min");
    ASSERT_TRUE(clamp.config.has_value()) << clamp.note;
    EXPECT_EQ(test::NchwOf(*clamp.config), std::vector<int64_t>({batch, 2, 12, 1}));
    EXPECT_EQ(by_source["aten::clamp_min"][1]->type, "aten::clamp_min");  // by a tensor
    ASSERT_EQ(by_source["aten::expand_as"].size(), 1u);
    EXPECT_TRUE(by_source["aten::expand_as"][0]->no_cost);
    ASSERT_EQ(by_source["aten::div"].size(), 2u);
    const LayerInstance& div = *by_source["aten::div"][0];
    EXPECT_EQ(div.type, "div");
    ASSERT_TRUE(div.config.has_value()) << div.note;
    EXPECT_EQ(*div.config, test::Nchw(LayerType::kDiv, batch * 2, 12, 1, 4));
    EXPECT_EQ(by_source["aten::div"][1]->type, "aten::div");  // equal shapes
    std::vector<std::vector<int64_t>> slices;
    for (const LayerInstance* l : by_source["aten::slice"]) {
      if (l->output_shape.size() != 3 || l->output_shape[1] == 12) continue;  // full slices
      ASSERT_TRUE(l->config.has_value()) << l->path << ": " << l->note;
      EXPECT_EQ(l->type, "select");
      slices.push_back(test::NchwOf(*l->config));
    }
    EXPECT_EQ(slices,
              (std::vector<std::vector<int64_t>>{{batch, 1, 1, 12 * 8}, {batch, 2, 1, 6 * 8}}));
  }
}

// Token ids through nn.Embedding (aten::embedding) are embedding layers: weight (V, D) and ids
// (N, S) give batch_size N, sequence_length S, num_embeddings V, embedding_dim D, at any batch
// size, with the table as the layer's one parameter tensor. A sparse=True embedding and ids of
// rank 3 keep the type but get no config, with a note naming the op, its operands and its
// source line. The module is traced on int64 ids (InputSpec::sequence_length), not on images.
TEST(TorchScriptLimitsTest, EmbeddingsOfTokenIds) {
  TorchScriptExports& exports = TorchScriptExports::Get();
  if (!exports.skip_reason.empty()) GTEST_SKIP() << exports.skip_reason;
  const std::string path = (exports.dir() / "embedding.pt").string();
  ASSERT_TRUE(exports.RunPython(R"(
import torch
from torch import nn
class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(50, 8, padding_idx=0)
        self.sparse = nn.Embedding(50, 8, sparse=True)
        self.fc = nn.Linear(8, 3)
    def forward(self, ids):  # ids (N, 6), int64
        x = self.tok(ids)  # (N, 6, 8)
        s = self.sparse(ids)  # a sparse weight gradient: not modelled
        w = self.tok(ids.unsqueeze(2))  # ids (N, 6, 1): not modelled
        return self.fc(x + s + w.squeeze(2)).sum(1)  # (N, 3)
torch.jit.trace(Tokens().eval(), torch.zeros(2, 6, dtype=torch.long), check_trace=False).save(")" +
                                path + R"(")
)")) << exports.error;
  InputSpec ids;
  ids.sequence_length = 6;
  for (int64_t batch : {1, 16}) {
    SCOPED_TRACE(batch);
    const std::vector<LayerInstance> layers = LayersFromTorchScript(path, ids, batch);
    std::vector<const LayerInstance*> embeddings;
    for (const LayerInstance& l : layers) {
      if (l.type == "embedding") embeddings.push_back(&l);
    }
    ASSERT_EQ(embeddings.size(), 3u);
    const LayerInstance& tok = *embeddings[0];
    EXPECT_EQ(tok.path, "tok");
    EXPECT_EQ(tok.source, "aten::embedding");
    ASSERT_TRUE(tok.config.has_value()) << tok.note;
    EXPECT_EQ(*tok.config, test::Embedding(batch, 6, 50, 8));
    EXPECT_EQ(tok.input_shape, (std::vector<int64_t>{batch, 6}));
    EXPECT_EQ(tok.output_shape, (std::vector<int64_t>{batch, 6, 8}));
    EXPECT_EQ(tok.parameter_count, 50 * 8);
    EXPECT_EQ(tok.parameter_tensors, 1);
    EXPECT_DOUBLE_EQ(tok.forward_macs, ForwardMacs(*tok.config));
    EXPECT_DOUBLE_EQ(tok.forward_macs, batch * 6.0 * 8);

    const std::string b = std::to_string(batch);
    const LayerInstance& sparse = *embeddings[1];
    EXPECT_EQ(sparse.path, "sparse");
    EXPECT_TRUE(HasKnownType(sparse));
    EXPECT_FALSE(sparse.config.has_value());
    EXPECT_FALSE(sparse.no_cost);
    EXPECT_EQ(sparse.parameter_count, 50 * 8);
    EXPECT_EQ(
        sparse.note.rfind("aten::embedding of weight [50, 8] and indices [" + b + ", 6] (", 0), 0u)
        << sparse.note;
    EXPECT_NE(sparse.note.find(".py:"), std::string::npos) << sparse.note;
    EXPECT_NE(sparse.note.find("): sparse=True (a sparse weight gradient) is not modelled"),
              std::string::npos)
        << sparse.note;

    const LayerInstance& rank3 = *embeddings[2];
    EXPECT_EQ(rank3.path, "tok#2");
    EXPECT_FALSE(rank3.config.has_value());
    EXPECT_EQ(
        rank3.note.rfind("aten::embedding of weight [50, 8] and indices [" + b + ", 6, 1] (", 0),
        0u)
        << rank3.note;
    EXPECT_NE(rank3.note.find("): indices of rank 3 are not modelled; only 2-D (batch, "
                              "sequence_length) ids map to embedding"),
              std::string::npos)
        << rank3.note;

    // The linear on (N, 6, 8) after them: its batch is N x 6.
    const auto fc = std::find_if(layers.begin(), layers.end(),
                                 [](const LayerInstance& l) { return l.type == "linear"; });
    ASSERT_NE(fc, layers.end());
    ASSERT_TRUE(fc->config.has_value()) << fc->note;
    EXPECT_EQ(fc->config->batch_size, batch * 6);
  }
  // The same file on an image input fails in its forward pass, naming the input.
  try {
    LayersFromTorchScript(path, {3, 8, 8}, 2);
    ADD_FAILURE() << "no error for an image input";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": forward pass on input [1, 3, 8, 8] failed"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lj
