#pragma once
// The element-wise activations (LayerRole::kActivation in core/layer_types.def): their LibTorch
// function and the aten ops TorchScript records for them, one row per type in
// net/activations.cpp. net.json leaves and block activations (net_spec, net_builder,
// net_module), the TorchScript op mapping (torchscript_layers) and measure's runner
// (measure/layer_ops.cpp) all read this table, so a new activation is a row here plus its
// descriptor row (CONTRIBUTING.md). Includes torch.
#include <torch/torch.h>

#include <string_view>
#include <vector>

#include "core/layer_type.h"

namespace lj {

// One forward execution, out of place, as torch.nn's module computes it.
using ActivationFn = torch::Tensor (*)(const torch::Tensor& input);

struct ActivationOp {
  LayerType type;
  ActivationFn forward;
  // The aten ops of the function and its in-place variant, e.g. "aten::relu", "aten::relu_".
  std::vector<std::string_view> aten_ops;
};

// Every activation, in enum order.
const std::vector<ActivationOp>& Activations();
// The row of `type`, or nullptr when it is not an activation.
const ActivationOp* FindActivation(LayerType type);

}  // namespace lj
