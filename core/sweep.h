#pragma once
// One-factor sweep files (configs/sweeps/): one layer config, one parameter varied over a list of
// values, each point measured `repeats` times. Schema: configs/schemas/sweep.schema.json.
// Example (configs/sweeps/conv_batch_size.json):
//
//   {"name": "conv_batch_size",
//    "layer": "conv2d",
//    "defaults": {"batch_size": 32, "in_channels": 64, "out_channels": 64, "image_size": 56,
//                 "kernel_size": 3, "stride": 1, "padding": 1, "groups": 1, "bias": true},
//    "vary": {"parameter": "batch_size", "values": [1, 2, 4, 8, 16, 32, 64]},
//    "repeats": 3}
//
// Keys: "name" (non-empty string, stored as samples.sweep), "layer" (as ParseLayerType),
// "defaults" (a full config as ToJson writes it, torch.nn names; "image_size" may replace
// "height" and "width"), "vary" with "parameter" (an integer field of the layer type, or
// "image_size" for conv2d/maxpool2d, which sets height and width) and exactly one of
// "values" (non-empty array of distinct integers) or "range": [min, max, step] (integers,
// step > 0, min <= max; values min, min+step, ... <= max), optional "repeats" (integer >= 1,
// default 1), optional "_comment" at every level. At most 10000 values.
//
// All errors are ConfigError naming the file, the key or parameter and the value, e.g.
//   configs/sweeps/x.json: vary.values[3]: kernel_size = 61 gives an invalid conv2d:
//   kernel_size 61 exceeds padded input height 56 + 2*1 = 58
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/layer_config.h"

namespace lj {

struct SweepSpec {
  std::string source;  // file path or context, prefix of messages
  std::string name;
  LayerType type = LayerType::kConv2d;
  LayerConfig defaults;         // passes Validate
  std::string parameter;        // FieldNames(type) integer field, or "image_size"
  std::vector<int64_t> values;  // in file order (range: ascending)
  int repeats = 1;
};

struct SweepPoint {
  LayerConfig config;  // defaults with parameter = value
  double value = 0;    // value of the varied parameter (stored as samples.sweep_value)
  int repeat = 0;      // 0 .. repeats-1
};

// Parses and checks a sweep document; every point is built and validated here, so a value giving
// an invalid geometry fails at load time. `context` (usually the file path) prefixes messages.
// Throws ConfigError for unknown or missing keys, wrong types, non-integers, an unknown layer or
// parameter, both or neither of values/range, step <= 0, min > max, duplicate values,
// repeats < 1, invalid defaults, and any value giving an invalid config.
SweepSpec ParseSweep(const nlohmann::json& j, const std::string& context);

// Reads `path` and calls ParseSweep(j, path); also throws ConfigError for a missing file and
// unparsable JSON (with the parser's message).
SweepSpec LoadSweep(const std::string& path);

// The defaults with `parameter` set to `value` ("image_size" sets height and width).
// Throws ConfigError naming spec.source, the parameter and value if the result fails Validate.
LayerConfig SweepConfig(const SweepSpec& spec, int64_t value);

// All points, repeat-major: values[0..n-1] for repeat 0, then for repeat 1, ... so that slow
// drift (temperature, background load) spreads over all values instead of biasing some.
// Size: values.size() * repeats. Throws like SweepConfig.
std::vector<SweepPoint> ExpandSweep(const SweepSpec& spec);

}  // namespace lj
