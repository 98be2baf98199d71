#include "net/activations.h"

#include <stdexcept>
#include <string>

namespace lj {

const std::vector<ActivationOp>& Activations() {
  static const std::vector<ActivationOp> kActivations = [] {
    std::vector<ActivationOp> rows = {
        {LayerType::kReLU,
         [](const torch::Tensor& x) { return torch::relu(x); },
         {"aten::relu", "aten::relu_"}},
        // torch.nn.ReLU6; TorchScript also records it as hardtanh(x, 0, 6)
        // (net/torchscript_layers.cpp).
        {LayerType::kReLU6,
         [](const torch::Tensor& x) { return torch::hardtanh(x, 0.0, 6.0); },
         {"aten::relu6", "aten::relu6_"}},
        {LayerType::kHardswish,
         [](const torch::Tensor& x) { return torch::hardswish(x); },
         {"aten::hardswish", "aten::hardswish_"}},
        {LayerType::kHardsigmoid,
         [](const torch::Tensor& x) { return torch::hardsigmoid(x); },
         {"aten::hardsigmoid", "aten::hardsigmoid_"}},
        {LayerType::kSigmoid,
         [](const torch::Tensor& x) { return torch::sigmoid(x); },
         {"aten::sigmoid", "aten::sigmoid_"}},
        // torch.nn.SiLU: x * sigmoid(x) (EfficientNet, MobileNet-style blocks).
        {LayerType::kSiLU,
         [](const torch::Tensor& x) { return torch::silu(x); },
         {"aten::silu", "aten::silu_"}},
        // torch.nn.GELU with approximate='none' (ConvNeXt, ViT, Transformer encoders).
        {LayerType::kGELU, [](const torch::Tensor& x) { return torch::gelu(x); }, {"aten::gelu"}},
        // torch.nn.Tanh (MaxViT's classifier head, recurrent cells).
        {LayerType::kTanh,
         [](const torch::Tensor& x) { return torch::tanh(x); },
         {"aten::tanh", "aten::tanh_"}},
        // torch.nn.Softmax(dim=-1): over the last dim only (attention's scores (N, heads, L, L),
        // a classifier's (N, F)); its config puts that dim in `width` (ElementwiseConfig).
        {LayerType::kSoftmax,
         [](const torch::Tensor& x) { return torch::softmax(x, -1); },
         {"aten::softmax", "aten::_softmax"}},
        // x * c with a constant scalar c (attention's q / sqrt(head_dim), Swin's q * scale):
        // TorchScript's mul and div by a number or a 0-dim tensor (net/torchscript_layers.cpp
        // TypeName). The cost does not depend on c.
        {LayerType::kScale,
         [](const torch::Tensor& x) { return x * 0.125; },
         {"aten::div", "aten::div_"}},
        // clamp_min(x, eps) by a number (F.normalize's clamp of the norm at eps = 1e-12; by a
        // tensor it stays unmapped: net/torchscript_layers.cpp TypeName). Not relu's cost,
        // although ATen's relu is clamp_min(x, 0): its backward, where(x >= eps, grad, 0),
        // measured 2.5-2.8x relu's pair on Swin v2's norms (JOURNAL.md 2026-12-07 fourth
        // session).
        {LayerType::kClampMin,
         [](const torch::Tensor& x) { return torch::clamp_min(x, 1e-12); },
         {"aten::clamp_min", "aten::clamp_min_"}},
    };
    for (const ActivationOp& a : rows) {
      if (Describe(a.type).role != LayerRole::kActivation) {
        throw std::logic_error("net/activations.cpp: " + std::string(ToString(a.type)) +
                               " is not an activation in core/layer_types.def");
      }
    }
    return rows;
  }();
  return kActivations;
}

const ActivationOp* FindActivation(LayerType type) {
  for (const ActivationOp& a : Activations()) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

}  // namespace lj
