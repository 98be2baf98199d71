#include "core/sweep.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/bounds.h"
#include "core/errors.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

using nlohmann::json;
using test::TempFile;

json GoodConv() {
  return json::parse(R"({
    "name": "t", "layer": "conv2d",
    "defaults": {"batch_size": 2, "in_channels": 4, "out_channels": 8, "image_size": 16,
                 "kernel_size": 3, "stride": 1, "padding": 1, "groups": 1, "bias": true},
    "vary": {"parameter": "kernel_size", "values": [1, 3, 5]},
    "repeats": 2})");
}

std::vector<std::string> ShippedSweeps() {
  const std::string dir = test::SourceDir() + "/configs/sweeps";
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 5 && name.substr(name.size() - 5) == ".json") {
        files.push_back(dir + "/" + name);
      }
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The value of a sweep parameter in a config.
int64_t ValueOf(const LayerConfig& c, const std::string& parameter) {
  if (parameter == "image_size") return c.height;
  return ToJson(c)[parameter].get<int64_t>();
}

TEST(SweepTest, EveryShippedSweepLoadsAndExpands) {
  const std::vector<std::string> files = ShippedSweeps();
  ASSERT_EQ(files.size(), 9u);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const SweepSpec spec = LoadSweep(path);
    // Named like the file, 8-15 values, repeated.
    const std::string stem = path.substr(path.rfind('/') + 1);
    EXPECT_EQ(spec.name + ".json", stem);
    EXPECT_GE(spec.values.size(), 8u);
    EXPECT_LE(spec.values.size(), 15u);
    EXPECT_GE(spec.repeats, 2);

    const std::vector<SweepPoint> points = ExpandSweep(spec);
    ASSERT_EQ(points.size(), spec.values.size() * spec.repeats);
    // Every point stays under the random-sampling MAC cap of its layer type, so a sweep is
    // as cheap per point as a night's random configs (see the bounds files' _comment).
    const LayerBounds bounds = LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(spec.type));
    for (size_t k = 0; k < points.size(); ++k) {
      const SweepPoint& p = points[k];
      const size_t i = k % spec.values.size();
      EXPECT_EQ(p.repeat, static_cast<int>(k / spec.values.size()));
      EXPECT_DOUBLE_EQ(p.value, static_cast<double>(spec.values[i]));
      EXPECT_EQ(ValueOf(p.config, spec.parameter), spec.values[i]);
      EXPECT_NO_THROW(Validate(p.config));
      EXPECT_LE(ForwardMacs(p.config), bounds.max_forward_macs) << ToJson(p.config);
      // Only the varied parameter differs from the defaults.
      json a = ToJson(p.config);
      json b = ToJson(spec.defaults);
      if (spec.parameter == "image_size") {
        for (const char* key : {"height", "width"}) a.erase(key), b.erase(key);
      } else {
        a.erase(spec.parameter);
        b.erase(spec.parameter);
      }
      EXPECT_EQ(a, b);
    }
  }
}

TEST(SweepTest, ParsesValuesRangeAndImageSize) {
  const SweepSpec spec = ParseSweep(GoodConv(), "mem");
  EXPECT_EQ(spec.name, "t");
  EXPECT_EQ(spec.type, LayerType::kConv2d);
  EXPECT_EQ(spec.defaults.height, 16);
  EXPECT_EQ(spec.defaults.width, 16);
  EXPECT_EQ(spec.parameter, "kernel_size");
  EXPECT_EQ(spec.values, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(spec.repeats, 2);
  const std::vector<SweepPoint> points = ExpandSweep(spec);
  ASSERT_EQ(points.size(), 6u);
  // Repeat-major: all values once, then all values again.
  EXPECT_EQ(points[0].config.kernel_size, 1);
  EXPECT_EQ(points[2].config.kernel_size, 5);
  EXPECT_EQ(points[2].repeat, 0);
  EXPECT_EQ(points[3].config.kernel_size, 1);
  EXPECT_EQ(points[3].repeat, 1);

  json range = GoodConv();
  range["vary"] = {{"parameter", "image_size"}, {"range", {4, 13, 3}}};
  range.erase("repeats");
  const SweepSpec r = ParseSweep(range, "mem");
  EXPECT_EQ(r.values, (std::vector<int64_t>{4, 7, 10, 13}));
  EXPECT_EQ(r.repeats, 1);  // the default
  const std::vector<SweepPoint> rp = ExpandSweep(r);
  ASSERT_EQ(rp.size(), 4u);
  EXPECT_EQ(rp[1].config.height, 7);
  EXPECT_EQ(rp[1].config.width, 7);
  EXPECT_DOUBLE_EQ(rp[1].value, 7.0);

  json uneven = range;
  uneven["vary"]["range"] = {4, 12, 3};  // 12 is not reached: 4, 7, 10
  EXPECT_EQ(ParseSweep(uneven, "mem").values, (std::vector<int64_t>{4, 7, 10}));

  json explicit_hw = GoodConv();
  explicit_hw["defaults"].erase("image_size");
  explicit_hw["defaults"]["height"] = 10;
  explicit_hw["defaults"]["width"] = 12;
  explicit_hw["layer"] = "conv";  // alias
  const SweepSpec hw = ParseSweep(explicit_hw, "mem");
  EXPECT_EQ(hw.defaults.height, 10);
  EXPECT_EQ(hw.defaults.width, 12);

  json linear = json::parse(R"({"name": "l", "layer": "linear", "_comment": "x",
    "defaults": {"batch_size": 4, "in_features": 8, "out_features": 2, "bias": false},
    "vary": {"parameter": "out_features", "values": [1, 1000]}})");
  const std::vector<SweepPoint> lp = ExpandSweep(ParseSweep(linear, "mem"));
  ASSERT_EQ(lp.size(), 2u);
  EXPECT_EQ(lp[1].config.out_features, 1000);
  EXPECT_FALSE(lp[1].config.bias);
}

json With(json doc, const std::function<void(json&)>& edit) {
  edit(doc);
  return doc;
}

TEST(SweepTest, RejectsBadFilesNamingParameterAndValue) {
  struct Case {
    json doc;
    std::string expected;  // the message after the file path
  };
  const std::vector<Case> cases = {
      {With(GoodConv(), [](json& d) { d["repeat"] = 3; }),
       ": unknown key 'repeat' (expected name, layer, defaults, vary, repeats)"},
      {With(GoodConv(), [](json& d) { d["vary"]["step"] = 1; }),
       ": vary: unknown key 'step' (expected parameter, values, range)"},
      {With(GoodConv(), [](json& d) { d["defaults"]["dilation"] = 1; }),
       ": defaults: unknown key 'dilation' (expected batch_size, in_channels, out_channels, "
       "height, width, kernel_size, stride, padding, groups, bias, input_grad, "
       "kernel_width, padding_width)"},
      {With(GoodConv(), [](json& d) { d["defaults"].erase("stride"); }),
       ": defaults: missing key 'stride'"},
      {With(GoodConv(), [](json& d) { d["defaults"]["height"] = 16; }),
       ": defaults: give either image_size or height and width, not both ('height' = 16)"},
      {With(GoodConv(), [](json& d) { d["defaults"]["groups"] = 3; }),
       ": defaults: groups 3 must divide in_channels 4 and out_channels 8"},
      {With(GoodConv(), [](json& d) { d["defaults"]["bias"] = "yes"; }),
       ": defaults: bias must be true or false, got \"yes\""},
      {With(GoodConv(), [](json& d) { d["repeats"] = "3"; }),
       ": repeats must be an integer, got \"3\""},
      {With(GoodConv(), [](json& d) { d["repeats"] = 0; }),
       ": repeats must be in [1, 1000], got 0"},
      {With(GoodConv(), [](json& d) { d["name"] = ""; }), ": name must not be empty"},
      {With(GoodConv(), [](json& d) { d.erase("name"); }), ": missing key 'name'"},
      {With(GoodConv(), [](json& d) { d["layer"] = "conv1d"; }),
       ": layer: unknown layer type 'conv1d' (expected conv2d, maxpool2d, linear, batchnorm2d, "
       "relu, relu6, hardswish, hardsigmoid, sigmoid, avgpool2d, adaptive_avgpool2d, add, mul, "
       "dropout, cross_entropy, sgd, adam, grad_accumulate, zero_grad, silu, gelu, cat, "
       "softmax, layer_norm, contiguous, scale, bmm, embedding, select, mean, tanh, bias_add, "
       "norm, div or clamp_min)"},
      {With(GoodConv(), [](json& d) { d["vary"]["parameter"] = "dilation"; }),
       ": vary.parameter: cannot vary 'dilation' of conv2d (expected batch_size, in_channels, "
       "out_channels, height, width, kernel_size, stride, padding, groups, kernel_width, "
       "padding_width, image_size)"},
      {With(GoodConv(), [](json& d) { d["vary"]["parameter"] = "bias"; }),
       ": vary.parameter: cannot vary 'bias' of conv2d (expected batch_size, in_channels, "
       "out_channels, height, width, kernel_size, stride, padding, groups, kernel_width, "
       "padding_width, image_size)"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"]["range"] = {1, 3, 1};
            }),
       ": vary: give exactly one of 'values' or 'range' (got both)"},
      {With(GoodConv(), [](json& d) { d["vary"].erase("values"); }),
       ": vary: give exactly one of 'values' or 'range' (got neither)"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"]["values"] = {1, 2.5};
            }),
       ": vary.values[1] must be an integer, got 2.5"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"]["values"] = {3, 5, 3};
            }),
       ": vary.values[2]: value 3 is listed twice"},
      {With(GoodConv(), [](json& d) { d["vary"]["values"] = json::array(); }),
       ": vary.values must be a non-empty array of integers, got []"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"]["values"] = {3, 19};
            }),
       ": vary.values[1]: kernel_size = 19 gives an invalid conv2d: kernel_size 19 exceeds "
       "padded input height 16 + 2*1 = 18"},
      {With(GoodConv(), [](json& d) { d["vary"]["values"] = {0}; }),
       ": vary.values[0]: kernel_size = 0 gives an invalid conv2d: kernel_size must be > 0, "
       "got 0"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"] = {{"parameter", "in_channels"}, {"values", {4, 6}}};
              d["defaults"]["groups"] = 4;
            }),
       ": vary.values[1]: in_channels = 6 gives an invalid conv2d: groups 4 must divide "
       "in_channels 6 and out_channels 8"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"] = {{"parameter", "stride"}, {"range", {1, 5, 0}}};
            }),
       ": vary.range: step must be > 0, got 0"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"] = {{"parameter", "stride"}, {"range", {5, 1, 1}}};
            }),
       ": vary.range: min 5 > max 1"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"] = {{"parameter", "stride"}, {"range", {1, 5}}};
            }),
       ": vary.range must be [min, max, step], got [1,5]"},
      {With(GoodConv(),
            [](json& d) {
              d["vary"] = {{"parameter", "stride"}, {"range", {1, "5", 1}}};
            }),
       ": vary.range[1] (max) must be an integer, got \"5\""},
      {With(GoodConv(),
            [](json& d) {
              d["vary"] = {{"parameter", "stride"}, {"range", {1, 100000, 1}}};
            }),
       ": vary.range gives 100000 values, at most 10000 allowed"},
      {With(GoodConv(),
            [](json& d) {
              d["defaults"]["padding"] = 0;
              d["vary"] = {{"parameter", "image_size"}, {"range", {1, 9, 2}}};
            }),
       ": vary.range: image_size = 1 gives an invalid conv2d: kernel_size 3 exceeds padded input "
       "height 1 + 2*0 = 1"},
      {json::array(), " must be a JSON object, got []"},
  };
  for (const Case& c : cases) {
    TempFile file(c.doc.dump(), "sweep.json");
    try {
      LoadSweep(file.path());
      ADD_FAILURE() << "no ConfigError for " << c.doc.dump();
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()), file.path() + c.expected) << c.doc.dump();
    }
  }
}

TEST(SweepTest, RejectsMissingAndUnparsableFiles) {
  EXPECT_THROW(
      {
        try {
          LoadSweep("/nonexistent/sweep.json");
        } catch (const ConfigError& e) {
          EXPECT_EQ(std::string(e.what()),
                    "/nonexistent/sweep.json: cannot open file (No such file or directory)");
          throw;
        }
      },
      ConfigError);
  TempFile broken("{\"name\": \"x\"\n  \"layer\": 1}", "sweep.json");
  try {
    LoadSweep(broken.path());
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find(broken.path() + ": invalid JSON: "), 0u) << what;
    EXPECT_NE(what.find("line 2"), std::string::npos) << what;
  }
}

TEST(SweepTest, SweepConfigRejectsInvalidValues) {
  const SweepSpec spec = ParseSweep(GoodConv(), "mem");
  EXPECT_EQ(SweepConfig(spec, 7).kernel_size, 7);
  EXPECT_THROW(SweepConfig(spec, 40), ConfigError);
  SweepSpec edited = spec;
  edited.values.push_back(-1);  // a hand-built spec is checked again on expansion
  EXPECT_THROW(ExpandSweep(edited), ConfigError);
}

}  // namespace
}  // namespace lj
