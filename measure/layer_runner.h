#pragma once
// Runs one layer (every LayerType of core/layer_config.h: torch.nn modules, element-wise ops,
// the loss and the optimizer step) with LibTorch on the CPU, the way it runs during training:
// float32, default-initialised random weights, random inputs that require grad, autograd on,
// modules in training mode. LibTorch stays behind a pimpl so that code including this header
// compiles without torch headers.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/layer_config.h"

namespace lj {

// Name, shape and magnitude of one gradient produced by the last Backward(). Test hook: lets
// tests check that the backward pass really computes what training needs.
struct GradientInfo {
  // "input", "weight" or "bias"; add: "input" and "other" (the second operand); mul: "input"
  // and "scale"; bmm: "input" and "mat2"; embedding: "weight" only (its input is int64 ids);
  // cross_entropy: "input" (the logits).
  std::string name;
  std::vector<int64_t> shape;  // e.g. {N, C_in, H, W} for "input"
  double abs_sum = 0;          // sum of |g|; > 0 for a gradient that was really computed
  double zero_fraction = 0;    // share of exact zeros (dropout: about p of the input gradient)
};

// Name, shape and sum of state that a forward execution updates in place. Test hook: lets
// tests check that training-mode side effects really happen.
struct StateInfo {
  // batchnorm2d: "running_mean", "running_var", "num_batches_tracked";
  // sgd/adam/grad_accumulate/zero_grad: "parameters" (all parameter tensors together) and
  // "grads" (their .grad tensors together).
  std::string name;
  std::vector<int64_t> shape;  // "parameters": {total elements}
  int64_t tensors = 1;         // tensors summarised ("parameters": parameter_tensors)
  double sum = 0;              // sum of all elements
};

// Tensor memory of one forward and one backward execution, counted by TensorMemoryScope
// (measure/tensor_memory.h): c10 allocations, oneDNN's buffers included. Bytes above what was
// allocated before the pass (weights, inputs).
struct MeasuredLayerMemory {
  // Peak during one forward execution: output, saved tensors and transients (oneDNN copies).
  int64_t forward_peak_bytes = 0;
  // What the forward leaves allocated while only its graph is kept (the output itself
  // released): the activation memory autograd keeps for backward, beyond the layer's input and
  // weights (relu: its output; maxpool2d: int64 indices; dropout: its noise; conv2d,
  // linear: 0). Empty for sgd/adam (no backward pass).
  std::optional<int64_t> saved_bytes;
  // Peak during one backward execution above the kept graph and grad_output: the gradients
  // and transients. Empty for sgd/adam.
  std::optional<int64_t> backward_peak_bytes;
};

// Whether measure/layer_ops.cpp registers a runner for `type` (every type must:
// tests/core/layer_registry_test.cpp).
bool HasLayerRunner(LayerType type);

class LayerRunner {
 public:
  // Builds the layer and its inputs from `config`:
  //   conv2d:    torch::nn::Conv2d(in_channels, out_channels, kernel_size) with stride, padding,
  //              groups and bias; input torch::randn({N, C_in, H, W}).
  //   maxpool2d: torch::nn::MaxPool2d(kernel_size) with stride and padding;
  //              input torch::randn({N, C, H, W}).
  //   avgpool2d: torch::nn::AvgPool2d(kernel_size) with stride and padding (floor mode,
  //              count_include_pad); input torch::randn({N, C, H, W}).
  //   adaptive_avgpool2d: torch::nn::AdaptiveAvgPool2d(output_size); input randn({N, C, H, W}).
  //   linear:    torch::nn::Linear(in_features, out_features) with bias;
  //              input torch::randn({N, in_features}).
  //   batchnorm2d: torch::nn::BatchNorm2d(num_features) (affine, track_running_stats, training
  //              mode); input torch::randn({N, C, H, W}).
  //   relu, relu6, hardswish, hardsigmoid, sigmoid: torch::relu, torch::hardtanh(x, 0, 6) (as
  //              torch.nn.ReLU6), torch::hardswish, torch::hardsigmoid, torch::sigmoid, out of
  //              place; input torch::randn({N, C, H, W}).
  //   add:       input + other, both torch::randn({N, C, H, W}), both requiring grad.
  //   mul:       scale * input, input torch::randn({N, C, H, W}), scale torch::rand({N, C, 1, 1})
  //              (a sigmoid-like gate), both requiring grad.
  //   dropout:   torch::dropout(input, p_percent / 100, train = true); input randn({N, C, H, W}).
  //   cross_entropy: torch::nn::functional::cross_entropy (mean) of logits
  //              torch::randn({N, num_classes}) and labels torch::randint(num_classes, {N}).
  //   sgd, adam: `parameter_tensors` leaf tensors of (nearly) equal size, `parameters` elements
  //              in all, from torch::randn, each with a torch::randn .grad; optimizer
  //              torch::optim::SGD(lr 0.01, momentum 0.9) or torch::optim::Adam(lr 1e-3).
  //   grad_accumulate: such tensors and one torch::randn incoming gradient each; one forward
  //              execution is .grad().add_(incoming) for every tensor, without grad mode.
  //   embedding: torch::nn::Embedding(num_embeddings, embedding_dim) on int64 ids
  //              torch::randint(num_embeddings, {N, sequence_length}), which need no gradient.
  //   zero_grad: such tensors and torch::optim::SGD over them; one forward execution is
  //              optimizer.zero_grad() (detach_ and zero_ of every .grad).
  // Weights keep torch's default initialisation (kaiming_uniform). Inputs require grad, as the
  // input of an inner layer does in training. `seed` seeds torch's global CPU generator
  // first, so the same config and seed give the same weights and input.
  // Throws: ConfigError (from Validate) for an invalid config; std::runtime_error with the
  // torch message if LibTorch cannot build it (e.g. out of memory), prefixed by the layer type.
  explicit LayerRunner(const LayerConfig& config, uint64_t seed = 0);
  ~LayerRunner();
  LayerRunner(const LayerRunner&) = delete;
  LayerRunner& operator=(const LayerRunner&) = delete;
  LayerRunner(LayerRunner&&) noexcept;
  LayerRunner& operator=(LayerRunner&&) noexcept;

  const LayerConfig& config() const;

  // One forward pass with autograd on (the graph is recorded as in training); the output and
  // its graph are released before returning. sgd/adam: one optimizer.step() (the whole step;
  // these types have no backward pass, see HasBackwardPass).
  void Forward();

  // One forward pass whose output and graph are kept, plus a random grad_output
  // (torch::randn_like(output); cross_entropy: 1, the gradient of the loss itself) standing in
  // for the gradient from the layer above. Must be called before Backward(); calling it again
  // replaces the retained graph.
  // Throws: std::logic_error for sgd/adam (no backward pass).
  void PrepareBackward();

  // One backward pass through the graph kept by PrepareBackward():
  // torch::autograd::grad({output}, {inputs..., weight[, bias]}, {grad_output},
  // retain_graph=true). Gradients are returned fresh on each call (not accumulated into .grad);
  // no loss, no optimizer step. Types without parameters compute only their input gradients
  // (add: both operands; mul: input and scale).
  // Throws: std::logic_error if PrepareBackward() was not called (or for sgd/adam).
  void Backward();

  // One forward execution (its output released, then its graph) and one backward execution
  // (through a fresh graph, as PrepareBackward) under a TensorMemoryScope. Replaces the graph
  // kept by PrepareBackward(). Not for timed loops: it takes a lock per allocation.
  MeasuredLayerMemory MeasureMemory();

  // Shape of the output of the last Forward() or PrepareBackward(); empty before any, and
  // empty for cross_entropy (a 0-dim loss) and sgd/adam (no output), as OutputShape.
  std::vector<int64_t> LastOutputShape() const;
  // Gradients computed by the last Backward() (input first, then weight and bias); empty before.
  std::vector<GradientInfo> LastGradients() const;
  // True if the last Backward() produced a defined input gradient of the input's shape.
  bool BackwardProducesInputGrad() const;
  // State updated in place by forward executions (see StateInfo); empty for stateless types.
  std::vector<StateInfo> State() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lj
