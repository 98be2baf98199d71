#pragma once
// Bounds files: the space of layer configs that `measure` samples at random (configs/bounds/).
// Schema: configs/schemas/bounds.schema.json. Example (configs/bounds/conv.json):
//
//   {"layer": "conv2d",
//    "max_forward_macs": 1.0e10,
//    "parameters": {
//      "batch_size":   {"min": 1, "max": 512, "distribution": "log_uniform"},
//      "in_channels":  {"min": 1, "max": 512, "distribution": "log_uniform"},
//      "out_channels": {"min": 1, "max": 512, "distribution": "log_uniform"},
//      "image_size":   {"min": 4, "max": 224, "distribution": "log_uniform"},
//      "kernel_size":  {"min": 1, "max": 11},
//      "stride":       {"min": 1, "max": 4},
//      "padding":      {"min": 0, "max": 3},
//      "groups":       {"choices": [1, 2, 4], "depthwise_probability": 0.1},
//      "bias":         {"choices": [true]}}}
//
// Top level: "layer" (a type name or alias of ParseLayerType), "max_forward_macs" (> 0: draws
// whose ForwardMacs exceed it are rejected; for element-wise types that is an element cap, for
// sgd/adam a parameter cap), "parameters", optional "_comment".
// Parameters per layer type (names as torch.nn; images are square, height = width = image_size;
// "channels" sets in_channels, which batchnorm2d serialises as num_features):
//   conv2d:    batch_size, in_channels, out_channels, image_size, kernel_size, stride, padding,
//              groups (optional, default {"choices":[1]}), bias (optional, default [true]),
//              input_grad (optional, default [true]; false: no input gradient in the backward
//              pass, as for a network's first layer)
//   maxpool2d, avgpool2d:
//              batch_size, channels, image_size, kernel_size, stride, padding, ceil_mode
//              (optional, default [false]; true: torch's ceil_mode, a last window that may start
//              in the padding is kept)
//   linear:    batch_size, in_features, out_features, bias and input_grad (optional, default
//              [true])
//   batchnorm2d, relu, relu6, hardswish, hardsigmoid, sigmoid, add, mul:
//              batch_size, channels, image_size
//   dropout:   batch_size, channels, image_size, p_percent (0..100)
//   cat:       batch_size, channels (the output's, the sum over the inputs), image_size, inputs
//              (the number of tensors; a draw with inputs > channels is invalid and redrawn)
//   adaptive_avgpool2d:
//              batch_size, channels, image_size, output_size
//   cross_entropy: batch_size, num_classes
//   bmm:       batch_size, rows, inner_size, columns
//   embedding: batch_size, sequence_length, num_embeddings, embedding_dim (max_forward_macs
//              caps the output elements batch_size x sequence_length x embedding_dim)
//   sgd, adam: parameters, parameter_tensors
// Each parameter is an object with either
//   "min", "max" (integers, inclusive) and "distribution": "uniform" (default) | "log_uniform",
// or
//   "choices": [v, ...] (distinct integers, or booleans for "bias", "input_grad" and "ceil_mode";
//   drawn with equal chance),
// and an optional "_comment". padding and p_percent may be 0, every other integer must be >= 1;
// log_uniform needs min >= 1. "groups" may also carry "depthwise_probability" in [0, 1]: the chance
// that a draw is a depthwise conv (groups = in_channels, out_channels = in_channels).
//
// All errors are ConfigError naming the file, the key path and the value, e.g.
//   configs/bounds/conv.json: parameters.kernel_size.min must be > 0, got 0
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer_config.h"

namespace lj {

enum class Distribution { kUniform, kLogUniform, kChoices };
// "uniform", "log_uniform", "choices".
std::string_view ToString(Distribution distribution);

// The range of one parameter. Integers throughout; booleans ("bias") are stored as 0/1.
struct ParameterBounds {
  std::string name;  // as in the bounds file: "batch_size", "channels", "image_size", ...
  Distribution distribution = Distribution::kUniform;
  int64_t min = 0;               // inclusive; for kChoices the smallest choice
  int64_t max = 0;               // inclusive; for kChoices the largest choice
  std::vector<int64_t> choices;  // kChoices only, in file order
  bool is_bool = false;          // "bias"

  // Whether `value` can be drawn: min <= value <= max, or one of the choices.
  bool Admits(int64_t value) const;
};

struct LayerBounds {
  std::string source;  // file path or context, prefix of messages
  LayerType type = LayerType::kConv2d;
  double max_forward_macs = 0;
  // One entry per parameter of the type (optional ones filled with their defaults), in the
  // order listed above (BoundsParameterNames).
  std::vector<ParameterBounds> parameters;
  // conv2d: chance that a draw is depthwise (groups = out_channels = in_channels); else 0.
  double depthwise_probability = 0;

  // The parameter called `name`, or nullptr.
  const ParameterBounds* Find(std::string_view name) const;
  // Throws ConfigError "<source>: no parameter 'name' for <type>" when absent.
  const ParameterBounds& Get(std::string_view name) const;
};

// The parameter names of a bounds file for `type`, in canonical order (required and optional).
std::vector<std::string> BoundsParameterNames(LayerType type);

// Parses and checks a bounds document. `context` (usually the file path) prefixes messages.
// Throws ConfigError for: unknown keys (top level, in "parameters", in a parameter), missing or
// unknown parameters for the layer type, wrong JSON types, non-integers, unknown distribution,
// min > max, sizes <= 0 (padding < 0), log_uniform with min < 1, empty or duplicate choices,
// depthwise_probability outside [0, 1] or on a parameter other than groups,
// max_forward_macs <= 0, a kernel larger than every possible padded image
// (kernel_size.min > image_size.max + 2 * padding.max), pooling padding.min > kernel_size.max / 2,
// dropout p_percent.max > 100, batchnorm2d with batch_size.max = image_size.max = 1, and
// sgd/adam parameter_tensors.min > parameters.max.
LayerBounds ParseBounds(const nlohmann::json& j, const std::string& context);

// Reads `path` and calls ParseBounds(j, path). Also throws ConfigError for a missing file and
// for unparsable JSON (with the parser's message, line and column).
LayerBounds LoadBounds(const std::string& path);

// The shipped bounds file of a type, relative to the repository root:
// configs/bounds/conv.json, configs/bounds/maxpool.json, configs/bounds/linear.json, and
// configs/bounds/<type name>.json for every other type (e.g. configs/bounds/batchnorm2d.json).
std::string DefaultBoundsPath(LayerType type);

// Sets the config fields behind a bounds parameter: "image_size" sets height and width,
// "channels" sets in_channels, "bias" takes 0/1, others set the field of the same name.
// Throws ConfigError for a name that is not a parameter of config.type.
void ApplyBoundsParameter(LayerConfig& config, std::string_view name, int64_t value);
// The value of bounds parameter `name` in `config` (image_size: height), the inverse of
// ApplyBoundsParameter. Throws ConfigError as ApplyBoundsParameter.
int64_t BoundsParameterValue(const LayerConfig& config, std::string_view name);

// Whether config (of bounds.type) lies within the bounds: every parameter admitted, and for
// "image_size" height == width. A depthwise conv (groups == in_channels == out_channels) is
// within bounds when depthwise_probability > 0 even if groups is not among the choices.
// Caps (MACs, memory) are not checked here. On false, *reason (if non-null) says which value.
bool WithinBounds(const LayerBounds& bounds, const LayerConfig& config,
                  std::string* reason = nullptr);

}  // namespace lj
