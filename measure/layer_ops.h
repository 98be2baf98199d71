#pragma once
// measure's runner factory: the LibTorch side of each layer type, registered against the
// LayerType enum (core/layer_type.h). LayerRunner (measure/layer_runner.h) builds one LayerOp
// per config and times it. Private to lj_runner: this header includes torch.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/layer_config.h"
#include "measure/layer_runner.h"

namespace lj {

// One built layer: its module or function, its inputs and its parameters.
class LayerOp {
 public:
  virtual ~LayerOp() = default;
  // One forward execution with autograd on: the output of a type with a backward pass. A
  // parameter-wide step (sgd, adam, grad_accumulate, zero_grad) runs the whole step and returns
  // an undefined tensor.
  virtual torch::Tensor Run() = 0;
  // The gradient of the output standing in for the layer above: torch::randn_like(output);
  // a loss returns 1, the gradient of the loss itself.
  virtual torch::Tensor GradOutput(const torch::Tensor& output) const {
    return torch::randn_like(output);
  }
  // State updated in place by forward executions (see StateInfo); empty for stateless types.
  virtual std::vector<StateInfo> State() const { return {}; }

  // The main input (undefined for the parameter-wide steps) and the tensors whose gradients
  // a backward pass computes: inputs first, then the module's parameters, with their names
  // ("input", "other" / "scale", "weight", "bias").
  torch::Tensor input;
  std::vector<torch::Tensor> grad_targets;
  std::vector<std::string> grad_names;
};

// Builds the op of `config` (already validated); torch::randn inputs from the global generator.
using LayerOpFactory = std::unique_ptr<LayerOp> (*)(const LayerConfig& config);

// The factory registered for `type`, or nullptr.
LayerOpFactory FindLayerOpFactory(LayerType type);

}  // namespace lj
