#pragma once
// The layer types and their descriptors: one row per type (core/layer_types.def) holding what
// every module needs to know about it — its names, fields, family (shape, MAC and tensor-size
// rules), bounds parameters and shipped bounds file, and the feature set fit uses. Backends
// (measure's runner factory, net's net.json leaf builder and TorchScript op mapping) register
// against the LayerType enum, never against strings; tests/core/layer_registry_test.cpp fails
// when a type lacks a registration. CONTRIBUTING.md: adding a layer type.
// No LibTorch, no Eigen, no SQLite.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lj {

// Layer types, one per row of core/layer_types.def (their names as stored in the database
// column samples.layer; core/layer_config.h documents each). New types are appended there: the
// enum values of existing types do not change.
enum class LayerType {
#define LJ_LAYER(id, ...) id,
#include "core/layer_types.def"
#undef LJ_LAYER
};

// Pass of a training step. Names as stored in samples.pass.
enum class Pass { kForward, kBackward };

// What a type computes, for the shape, MAC and size rules shared by several types
// (core/layer_config.h OutputShape, ForwardMacs, Sizes).
enum class LayerFamily {
  kConv,           // conv2d: kernel sliding over a padded NCHW input, weights
  kPool,           // maxpool2d, avgpool2d: kernel, stride, padding, no weights
  kLinear,         // linear: (N, in_features) -> (N, out_features)
  kElementwise,    // batchnorm2d, activations, add, mul, dropout: output shape = input shape
  kAdaptivePool,   // adaptive_avgpool2d
  kLoss,           // cross_entropy: logits -> a scalar
  kOptimizer,      // sgd, adam, grad_accumulate, zero_grad: over the trainable parameters
  kBatchedMatmul,  // bmm: (B, rows, inner_size) x (B, inner_size, columns), no weights
  kEmbedding,      // embedding: int64 ids (B, S) -> rows of a (V, D) weight, (B, S, D)
};

// Where a type occurs in training: a layer of the network (net.json leaf or made by a block,
// TorchScript op, forward and backward pass); an activation, a network layer that is an
// element-wise function of one input without parameters (a net.json leaf without fields, also a
// block's activation; its LibTorch function in net/activations.cpp); or a part of the training
// step that is not a layer (the loss and the parameter-wide steps, which predict adds once per
// step).
enum class LayerRole { kNetworkLayer, kActivation, kTrainingStep };

// The operand besides the main input of an element-wise type (its tensor sizes).
enum class SecondOperand {
  kNone,
  kSameShape,      // add: a second (N, C, H, W) tensor
  kChannelScale,   // mul: an (N, C, 1, 1) scale
  kBroadcastBias,  // bias_add: a trainable (C, H, W) tensor broadcast over N
};

// The feature set fit builds its polynomial terms from (fit/features.h documents each).
enum class FeatureKind {
  kConv,
  kPool,
  kLinear,
  kElementwise,
  kDropout,
  kAdaptivePool,
  kLoss,
  kOptimizer,
  kBatchedMatmul,
  kEmbedding,
};

struct LayerDescriptor {
  LayerType type;
  // samples.layer, net.json "type" and the CLI's --layer: "conv2d".
  std::string_view name;
  // Other names ParseLayerType accepts: short CLI names ("conv") and the torch.nn class name
  // ("Conv2d").
  std::vector<std::string_view> aliases;
  LayerFamily family;
  LayerRole role;
  // The LayerConfig fields the type uses, as JSON keys (torch.nn names) in serialisation order.
  std::vector<std::string> fields;
  // The parameters of its bounds file (core/bounds.h), in canonical order, and the shipped
  // file, relative to the source tree.
  std::vector<std::string_view> bounds_parameters;
  std::string_view default_bounds_path;
  FeatureKind features;
  // Element-wise types: the second operand, and trainable weights per channel (batchnorm2d: 2,
  // its affine weight and bias; the running statistics are buffers).
  SecondOperand second_operand = SecondOperand::kNone;
  int64_t weights_per_channel = 0;
};

// The descriptor of `type`. Throws ConfigError for a value outside the enum.
const LayerDescriptor& Describe(LayerType type);

// All layer types, in enum order.
const std::vector<LayerType>& AllLayerTypes();

// "conv2d", "maxpool2d", "linear", "batchnorm2d", "relu", "relu6", "hardswish", "hardsigmoid",
// "sigmoid", "avgpool2d", "adaptive_avgpool2d", "add", "mul", "dropout", "cross_entropy", "sgd",
// "adam", "grad_accumulate", "zero_grad".
std::string_view ToString(LayerType type);
// "forward", "backward".
std::string_view ToString(Pass pass);
// Accepts the names and aliases above. Throws ConfigError("unknown layer type 'x' (expected
// conv2d, maxpool2d, ..., grad_accumulate or zero_grad)").
LayerType ParseLayerType(std::string_view name);
// The type named exactly `name` (no aliases), or false.
bool FindLayerType(std::string_view name, LayerType* type);
Pass ParsePass(std::string_view name);

// Whether a type has a backward pass that `measure` measures and stores: false for the
// parameter-wide steps (sgd, adam, grad_accumulate, zero_grad), whose one execution is the
// whole step and is stored as pass "forward"; true for every other type.
bool HasBackwardPass(LayerType type);
// The parameter-wide steps of training (family kOptimizer): fields parameters and
// parameter_tensors.
bool IsOptimizerStep(LayerType type);

}  // namespace lj
