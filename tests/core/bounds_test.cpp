#include "core/bounds.h"

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "core/errors.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

using nlohmann::json;
using test::TempFile;

json GoodConv() {
  return json::parse(R"({
    "layer": "conv2d", "max_forward_macs": 1e10,
    "parameters": {
      "batch_size": {"min": 1, "max": 64, "distribution": "log_uniform"},
      "in_channels": {"min": 1, "max": 64, "distribution": "log_uniform"},
      "out_channels": {"min": 1, "max": 64, "distribution": "log_uniform"},
      "image_size": {"min": 4, "max": 32, "distribution": "log_uniform"},
      "kernel_size": {"min": 1, "max": 5},
      "stride": {"min": 1, "max": 2, "distribution": "uniform"},
      "padding": {"min": 0, "max": 2},
      "groups": {"choices": [1, 2], "depthwise_probability": 0.25},
      "bias": {"choices": [true, false]}}})");
}

json GoodMaxPool() {
  return json::parse(R"({
    "layer": "maxpool", "max_forward_macs": 1e8,
    "parameters": {
      "batch_size": {"min": 1, "max": 8}, "channels": {"min": 1, "max": 8},
      "image_size": {"min": 4, "max": 16}, "kernel_size": {"min": 2, "max": 5},
      "stride": {"min": 1, "max": 3}, "padding": {"min": 0, "max": 2}}})");
}

// Writes doc (or raw text) to a temp file, loads it, and returns the ConfigError message; fails
// the test if nothing is thrown. Checks that the message names the file.
std::string LoadError(const std::string& text) {
  TempFile file(text, "bounds.json");
  try {
    LoadBounds(file.path());
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(file.path()), std::string::npos) << what;
    // Messages refer to the file by path; strip it so expectations are path-independent.
    return what.substr(what.find(file.path()) + file.path().size());
  }
  ADD_FAILURE() << "no ConfigError for " << text;
  return "";
}

std::string LoadError(const json& doc) { return LoadError(doc.dump()); }

json With(json doc, const std::function<void(json&)>& edit) {
  edit(doc);
  return doc;
}

TEST(BoundsTest, ShippedFilesLoad) {
  for (LayerType type : AllLayerTypes()) {
    const std::string path = test::SourceDir() + "/" + DefaultBoundsPath(type);
    SCOPED_TRACE(path);
    const LayerBounds b = LoadBounds(path);
    EXPECT_EQ(b.type, type);
    EXPECT_EQ(b.source, path);
    EXPECT_GT(b.max_forward_macs, 0);
    ASSERT_EQ(b.parameters.size(), BoundsParameterNames(type).size());
    for (size_t i = 0; i < b.parameters.size(); ++i) {
      EXPECT_EQ(b.parameters[i].name, BoundsParameterNames(type)[i]);
    }
    if (IsOptimizerStep(type)) continue;  // sgd/adam: no batch (parameters, parameter_tensors)
    EXPECT_EQ(b.Get("batch_size").min, 1);
    // embedding: language-model batches of 1-256 sequences (up to 512 tokens each).
    EXPECT_GE(b.Get("batch_size").max, type == LayerType::kEmbedding ? 256 : 512);
  }
  const LayerBounds conv = LoadBounds(test::SourceDir() + "/configs/bounds/conv.json");
  EXPECT_EQ(conv.Get("image_size").max, 224);
  EXPECT_EQ(conv.Get("kernel_size").max, 11);
  EXPECT_EQ(conv.Get("in_channels").distribution, Distribution::kLogUniform);
  EXPECT_GT(conv.depthwise_probability, 0);
}

TEST(BoundsTest, ParsesRangesChoicesAndDefaults) {
  const LayerBounds b = ParseBounds(GoodConv(), "mem");
  EXPECT_EQ(b.type, LayerType::kConv2d);
  EXPECT_DOUBLE_EQ(b.max_forward_macs, 1e10);
  EXPECT_EQ(b.Get("stride").distribution, Distribution::kUniform);
  EXPECT_EQ(b.Get("padding").distribution, Distribution::kUniform);  // the default
  EXPECT_EQ(b.Get("padding").min, 0);
  const ParameterBounds& groups = b.Get("groups");
  EXPECT_EQ(groups.distribution, Distribution::kChoices);
  EXPECT_EQ(groups.choices, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(groups.min, 1);
  EXPECT_EQ(groups.max, 2);
  EXPECT_DOUBLE_EQ(b.depthwise_probability, 0.25);
  EXPECT_TRUE(b.Get("bias").is_bool);
  EXPECT_EQ(b.Get("bias").choices, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(b.Find("channels"), nullptr);
  EXPECT_THROW(b.Get("channels"), ConfigError);

  // Optional groups and bias default to a single choice; "_comment" keys are ignored.
  json doc = GoodConv();
  doc["parameters"].erase("groups");
  doc["parameters"].erase("bias");
  doc["_comment"] = "why";
  doc["parameters"]["_comment"] = "why";
  doc["parameters"]["stride"]["_comment"] = "why";
  const LayerBounds d = ParseBounds(doc, "mem");
  EXPECT_EQ(d.Get("groups").choices, (std::vector<int64_t>{1}));
  EXPECT_EQ(d.Get("bias").choices, (std::vector<int64_t>{1}));
  EXPECT_DOUBLE_EQ(d.depthwise_probability, 0);

  const LayerBounds pool = ParseBounds(GoodMaxPool(), "mem");
  EXPECT_EQ(pool.type, LayerType::kMaxPool2d);
  EXPECT_EQ(pool.Get("channels").max, 8);
}

TEST(BoundsTest, AdmitsAndWithinBounds) {
  const LayerBounds b = ParseBounds(GoodConv(), "mem");
  EXPECT_TRUE(b.Get("stride").Admits(2));
  EXPECT_FALSE(b.Get("stride").Admits(3));
  EXPECT_FALSE(b.Get("groups").Admits(3));

  LayerConfig c;
  c.type = LayerType::kConv2d;
  for (auto [name, value] :
       std::initializer_list<std::pair<const char*, int64_t>>{{"batch_size", 4},
                                                              {"in_channels", 8},
                                                              {"out_channels", 16},
                                                              {"image_size", 32},
                                                              {"kernel_size", 3},
                                                              {"stride", 1},
                                                              {"padding", 1},
                                                              {"groups", 2},
                                                              {"bias", 0}}) {
    ApplyBoundsParameter(c, name, value);
  }
  EXPECT_EQ(c.height, 32);
  EXPECT_EQ(c.width, 32);
  EXPECT_FALSE(c.bias);
  std::string reason;
  EXPECT_TRUE(WithinBounds(b, c, &reason)) << reason;

  LayerConfig big = c;
  big.out_channels = 128;
  EXPECT_FALSE(WithinBounds(b, big, &reason));
  EXPECT_EQ(reason, "out_channels 128 outside [1, 64]");

  LayerConfig rect = c;
  rect.width = 16;
  EXPECT_FALSE(WithinBounds(b, rect, &reason));
  EXPECT_EQ(reason, "image_size: height 32 != width 16");

  LayerConfig grouped = c;
  grouped.groups = 4;
  EXPECT_FALSE(WithinBounds(b, grouped, &reason));
  EXPECT_EQ(reason, "groups 4 outside choices [1, 2]");

  // Depthwise (groups = in = out) is within bounds because depthwise_probability > 0.
  LayerConfig depthwise = c;
  depthwise.groups = depthwise.out_channels = depthwise.in_channels = 8;
  EXPECT_TRUE(WithinBounds(b, depthwise, &reason)) << reason;

  EXPECT_THROW(ApplyBoundsParameter(c, "channels", 3), ConfigError);  // maxpool2d only
}

TEST(BoundsTest, RejectsBadFilesNamingKeyAndValue) {
  struct Case {
    json doc;
    std::string expected;  // the message after the file path
  };
  const std::vector<Case> cases = {
      {With(GoodConv(), [](json& d) { d["max_macs"] = 1; }),
       ": unknown key 'max_macs' (expected layer, max_forward_macs, parameters)"},
      {With(GoodConv(), [](json& d) { d["parameters"]["stride"]["mn"] = 1; }),
       ": parameters.stride: unknown key 'mn' (expected min, max, distribution, choices)"},
      {With(GoodConv(),
            [](json& d) {
              d["parameters"]["dilation"] = {{"min", 1}, {"max", 2}};
            }),
       ": parameters: unknown parameter 'dilation' for conv2d (expected batch_size, "
       "in_channels, out_channels, image_size, kernel_size, stride, padding, groups, bias, "
       "input_grad)"},
      {With(GoodConv(), [](json& d) { d["parameters"].erase("kernel_size"); }),
       ": parameters: missing parameter 'kernel_size' for conv2d (required: batch_size, "
       "in_channels, out_channels, image_size, kernel_size, stride, padding, groups, bias, "
       "input_grad)"},
      {With(GoodConv(),
            [](json& d) {
              d["parameters"]["batch_size"]["min"] = 10;
              d["parameters"]["batch_size"]["max"] = 5;
            }),
       ": parameters.batch_size: min 10 > max 5"},
      {With(GoodConv(), [](json& d) { d["parameters"]["kernel_size"]["min"] = 0; }),
       ": parameters.kernel_size.min must be > 0, got 0"},
      {With(GoodConv(), [](json& d) { d["parameters"]["in_channels"]["max"] = -3; }),
       ": parameters.in_channels.max must be > 0, got -3"},
      {With(GoodConv(), [](json& d) { d["parameters"]["padding"]["min"] = -1; }),
       ": parameters.padding.min must be >= 0, got -1"},
      {With(GoodConv(), [](json& d) { d["parameters"]["stride"]["max"] = "4"; }),
       ": parameters.stride.max must be an integer, got \"4\""},
      {With(GoodConv(), [](json& d) { d["parameters"]["image_size"]["max"] = 22.5; }),
       ": parameters.image_size.max must be an integer, got 22.5"},
      {With(GoodConv(), [](json& d) { d["parameters"]["image_size"]["max"] = 3e9; }),
       ": parameters.image_size.max must be <= 2147483647, got 3000000000"},
      {With(GoodConv(),
            [](json& d) { d["parameters"]["batch_size"]["distribution"] = "gaussian"; }),
       ": parameters.batch_size.distribution: unknown distribution 'gaussian' (expected uniform "
       "or log_uniform)"},
      {With(GoodConv(), [](json& d) { d["parameters"]["batch_size"]["distribution"] = 1; }),
       ": parameters.batch_size.distribution must be a string, got 1"},
      {With(GoodConv(),
            [](json& d) { d["parameters"]["padding"]["distribution"] = "log_uniform"; }),
       ": parameters.padding: log_uniform needs min >= 1, got min 0"},
      {With(GoodConv(),
            [](json& d) {
              d["parameters"]["kernel_size"] = {{"min", 12}, {"max", 13}};
              d["parameters"]["image_size"] = {{"min", 4}, {"max", 8}};
              d["parameters"]["padding"] = {{"min", 0}, {"max", 1}};
            }),
       ": parameters.kernel_size.min 12 exceeds every padded image: image_size.max 8 + 2 * "
       "padding.max 1 = 10"},
      {With(GoodConv(), [](json& d) { d["layer"] = "conv3d"; }),
       ": layer: unknown layer type 'conv3d' (expected conv2d, maxpool2d, linear, batchnorm2d, "
       "relu, relu6, hardswish, hardsigmoid, sigmoid, avgpool2d, adaptive_avgpool2d, add, mul, "
       "dropout, cross_entropy, sgd, adam, grad_accumulate, zero_grad, silu, gelu, cat, "
       "softmax, layer_norm, contiguous, scale, bmm, embedding, select, mean, tanh, bias_add, "
       "norm, div or clamp_min)"},
      {With(GoodConv(), [](json& d) { d["layer"] = 2; }), ": layer must be a string, got 2"},
      {With(GoodConv(), [](json& d) { d.erase("layer"); }), ": missing key 'layer'"},
      {With(GoodConv(), [](json& d) { d.erase("max_forward_macs"); }),
       ": missing key 'max_forward_macs'"},
      {With(GoodConv(), [](json& d) { d["max_forward_macs"] = 0; }),
       ": max_forward_macs must be > 0, got 0"},
      {With(GoodConv(), [](json& d) { d["max_forward_macs"] = "1e10"; }),
       ": max_forward_macs must be a number, got \"1e10\""},
      {With(GoodConv(), [](json& d) { d["parameters"] = json::array(); }),
       ": parameters must be a JSON object, got []"},
      {With(GoodConv(), [](json& d) { d["parameters"]["stride"] = 2; }),
       ": parameters.stride must be a JSON object, got 2"},
      {With(GoodConv(), [](json& d) { d["parameters"]["stride"].erase("max"); }),
       ": parameters.stride: missing key 'max'"},
      {With(GoodConv(), [](json& d) { d["parameters"]["groups"]["min"] = 1; }),
       ": parameters.groups: 'choices' cannot be combined with 'min' (give either choices or "
       "min/max)"},
      {With(GoodConv(),
            [](json& d) {
              d["parameters"]["groups"]["choices"] = {1, 2, 2};
            }),
       ": parameters.groups.choices lists 2 twice"},
      {With(GoodConv(), [](json& d) { d["parameters"]["groups"]["choices"] = json::array(); }),
       ": parameters.groups.choices must be a non-empty array, got []"},
      {With(GoodConv(),
            [](json& d) {
              d["parameters"]["groups"]["choices"] = {1, 0};
            }),
       ": parameters.groups.choices[1] must be > 0, got 0"},
      {With(GoodConv(), [](json& d) { d["parameters"]["bias"]["choices"] = {1}; }),
       ": parameters.bias.choices[0] must be true or false, got 1"},
      {With(GoodConv(),
            [](json& d) {
              d["parameters"]["bias"] = {{"min", 0}, {"max", 1}};
            }),
       ": parameters.bias: missing key 'choices' (a boolean parameter takes \"choices\": "
       "[true], [false] or [true, false])"},
      {With(GoodConv(), [](json& d) { d["parameters"]["groups"]["depthwise_probability"] = 1.5; }),
       ": parameters.groups.depthwise_probability must be in [0, 1], got 1.5"},
      {With(GoodConv(), [](json& d) { d["parameters"]["stride"]["depthwise_probability"] = 0.5; }),
       ": parameters.stride: unknown key 'depthwise_probability' (expected min, max, "
       "distribution, choices)"},
      {With(GoodMaxPool(),
            [](json& d) {
              d["parameters"]["padding"] = {{"min", 3}, {"max", 3}};
              d["parameters"]["image_size"]["max"] = 64;
            }),
       ": parameters.padding.min 3 > kernel_size.max / 2 = 2 (maxpool2d needs padding <= "
       "kernel_size / 2)"},
      {With(GoodMaxPool(),
            [](json& d) {
              d["parameters"]["in_channels"] = d["parameters"]["channels"];
              d["parameters"].erase("channels");
            }),
       ": parameters: unknown parameter 'in_channels' for maxpool2d (expected batch_size, "
       "channels, image_size, kernel_size, stride, padding, ceil_mode)"},
      {json::array(), " must be a JSON object, got []"},
  };
  for (const Case& c : cases) EXPECT_EQ(LoadError(c.doc), c.expected) << c.doc.dump();
}

TEST(BoundsTest, RejectsUnparsableAndMissingFiles) {
  const std::string parse = LoadError(std::string("{\"layer\": \"conv2d\",,}"));
  EXPECT_NE(parse.find(": invalid JSON: "), std::string::npos) << parse;
  EXPECT_NE(parse.find("line 1, column 20"), std::string::npos) << parse;

  const std::string missing = "/nonexistent/dir/bounds.json";
  try {
    LoadBounds(missing);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot open file (No such file or directory)");
  }
}

TEST(BoundsTest, DefaultPathsAndNames) {
  EXPECT_EQ(DefaultBoundsPath(LayerType::kConv2d), "configs/bounds/conv.json");
  EXPECT_EQ(DefaultBoundsPath(LayerType::kMaxPool2d), "configs/bounds/maxpool.json");
  EXPECT_EQ(DefaultBoundsPath(LayerType::kLinear), "configs/bounds/linear.json");
  EXPECT_EQ(BoundsParameterNames(LayerType::kLinear),
            (std::vector<std::string>{"batch_size", "in_features", "out_features", "bias",
                                      "input_grad"}));
  EXPECT_EQ(ToString(Distribution::kLogUniform), "log_uniform");
}

}  // namespace
}  // namespace lj
