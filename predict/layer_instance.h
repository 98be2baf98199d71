#pragma once
// One layer of a concrete network with its shapes at the network's batch size: what
// predict/net_builder.h (net.json) and predict/torchscript_layers.h (TorchScript) produce and
// the predictor sums. No LibTorch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer_config.h"

namespace lj {

struct LayerInstance {
  // Module path as torch.nn names parameters: "features.3", "layer1.0.conv1",
  // "layer1.0.add" (the residual sum), "features.1.block.1.mul" (the SE product).
  std::string path;
  // torch.nn lowercase name: conv2d, maxpool2d, avgpool2d, adaptive_avgpool2d, linear,
  // batchnorm2d, dropout, flatten, relu, relu6, hardswish, hardsigmoid, sigmoid, add (residual
  // sum), mul (squeeze-excitation scale). A TorchScript op with no such name keeps its
  // qualified op name, e.g. "aten::cat" (see IsKnownLayerType).
  std::string type;
  // Where it came from, for messages: the net.json location ("layer 3" at the top level,
  // "layers[4].layers[1]" when nested) or the TorchScript op ("aten::_convolution").
  std::string source;
  // Input (the main operand) and output shapes, dimension 0 = the network's batch size,
  // e.g. {64, 3, 224, 224} -> {64, 64, 112, 112}.
  std::vector<int64_t> input_shape;
  std::vector<int64_t> output_shape;
  // Set for conv2d, maxpool2d and linear when core/layer_config.h can describe the layer
  // (square kernel, no dilation, floor mode), with batch_size = the network's batch size
  // (for linear on N-D input: the product of the leading dimensions).
  std::optional<LayerConfig> config;
  // Why config is unset for a conv2d / maxpool2d / linear, e.g. "dilation 2 is not modelled";
  // empty otherwise.
  std::string note;
  // Trainable parameter elements of this layer (weights and biases; BatchNorm running
  // statistics are buffers and not counted).
  int64_t parameter_count = 0;
  // Multiply-accumulates of one forward pass over the whole batch; see ForwardMacsOf.
  double forward_macs = 0;
};

// True for the type names listed in LayerInstance::type (not for "aten::..." names).
bool IsKnownLayerType(std::string_view type);

// Product of the dimensions (1 for an empty shape).
int64_t NumElements(const std::vector<int64_t>& shape);

// "[64, 3, 224, 224]".
std::string ShapeToString(const std::vector<int64_t>& shape);

// Forward multiply-accumulates of a layer over the whole batch:
//   conv2d / maxpool2d / linear with a config: core ForwardMacs (NeuralPower's counting);
//   without a config: conv2d N*C_out*H_out*W_out*(C_in/groups)*kernel_elements,
//     linear in_features*out_features per row, maxpool2d/avgpool2d output*kernel_elements;
//   avgpool2d: output elements * kernel_elements (kernel_elements = kernel height * width);
//   adaptive_avgpool2d: input elements (each input summed once);
//   batchnorm2d, add, mul: output elements (one multiply-add per element);
//   activations, dropout, flatten and unknown types: 0.
// `kernel_elements` and `groups` are used only where stated.
double ForwardMacsOf(const LayerInstance& layer, int64_t kernel_elements = 0, int64_t groups = 1);

// {"path", "type", "source", "input_shape", "output_shape", "config" (core ToJson, or null),
//  "note" (only when set), "parameter_count", "forward_macs"}.
nlohmann::json ToJson(const LayerInstance& layer);

}  // namespace lj
