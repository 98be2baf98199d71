#pragma once
// Runs one layer (torch.nn Conv2d, MaxPool2d or Linear) with LibTorch on the CPU, the way an
// inner layer runs during training: float32, default-initialised random weights, a random
// input that requires grad, autograd on. LibTorch stays behind a pimpl so that code including
// this header compiles without torch headers.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/layer_config.h"

namespace lj {

// Name, shape and magnitude of one gradient produced by the last Backward(). Test hook: lets
// tests check that the backward pass really computes what training needs.
struct GradientInfo {
  std::string name;            // "input", "weight" or "bias"
  std::vector<int64_t> shape;  // e.g. {N, C_in, H, W} for "input"
  double abs_sum = 0;          // sum of |g|; > 0 for a gradient that was really computed
};

class LayerRunner {
 public:
  // Builds the layer and its input from `config`:
  //   conv2d:    torch::nn::Conv2d(in_channels, out_channels, kernel_size) with stride, padding,
  //              groups and bias; input torch::randn({N, C_in, H, W}).
  //   maxpool2d: torch::nn::MaxPool2d(kernel_size) with stride and padding;
  //              input torch::randn({N, C, H, W}).
  //   linear:    torch::nn::Linear(in_features, out_features) with bias;
  //              input torch::randn({N, in_features}).
  // Weights keep torch's default initialisation (kaiming_uniform). The input requires grad, as
  // the input of an inner layer does in training. `seed` seeds torch's global CPU generator
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
  // its graph are released before returning.
  void Forward();

  // One forward pass whose output and graph are kept, plus a random grad_output
  // (torch::randn_like(output)) standing in for the gradient from the layer above.
  // Must be called before Backward(); calling it again replaces the retained graph.
  void PrepareBackward();

  // One backward pass through the graph kept by PrepareBackward():
  // torch::autograd::grad({output}, {input, weight[, bias]}, {grad_output}, retain_graph=true).
  // Gradients are returned fresh on each call (not accumulated into .grad); no loss, no
  // optimizer step. maxpool2d has no parameters, so only the input gradient is computed.
  // Throws: std::logic_error if PrepareBackward() was not called.
  void Backward();

  // Shape of the output of the last Forward() or PrepareBackward(); empty before any.
  std::vector<int64_t> LastOutputShape() const;
  // Gradients computed by the last Backward() (input first, then weight and bias); empty before.
  std::vector<GradientInfo> LastGradients() const;
  // True if the last Backward() produced a defined input gradient of the input's shape.
  bool BackwardProducesInputGrad() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lj
