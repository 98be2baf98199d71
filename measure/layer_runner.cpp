#include "measure/layer_runner.h"

#include <torch/torch.h>

#include <stdexcept>
#include <utility>

#include "measure/layer_ops.h"
#include "measure/tensor_memory.h"

namespace lj {

struct LayerRunner::Impl {
  LayerConfig config;
  std::unique_ptr<LayerOp> op;
  // Kept by PrepareBackward().
  torch::Tensor output;
  torch::Tensor grad_output;
  // Produced by the last Backward().
  std::vector<torch::Tensor> grads;
  std::vector<int64_t> last_output_shape;

  void RecordShape(const torch::Tensor& out) {
    // assign() reuses the vector's capacity: no allocation after the first call.
    last_output_shape.assign(out.sizes().begin(), out.sizes().end());
  }
};

LayerRunner::LayerRunner(const LayerConfig& config, uint64_t seed) : impl_(new Impl) {
  Validate(config, std::string(ToString(config.type)));
  const LayerOpFactory make = FindLayerOpFactory(config.type);
  if (!make) {
    throw std::logic_error("LayerRunner: no runner registered for " +
                           std::string(ToString(config.type)) + " (measure/layer_ops.cpp)");
  }
  impl_->config = config;
  try {
    torch::manual_seed(seed);
    impl_->op = make(config);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(config.type)) +
                             ": LibTorch could not build the layer: " + e.what_without_backtrace());
  }
}

LayerRunner::~LayerRunner() = default;
LayerRunner::LayerRunner(LayerRunner&&) noexcept = default;
LayerRunner& LayerRunner::operator=(LayerRunner&&) noexcept = default;

const LayerConfig& LayerRunner::config() const { return impl_->config; }

void LayerRunner::Forward() {
  Impl& m = *impl_;
  try {
    torch::Tensor out = m.op->Run();
    if (out.defined()) m.RecordShape(out);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(m.config.type)) +
                             " forward: " + e.what_without_backtrace());
  }
}

void LayerRunner::PrepareBackward() {
  Impl& m = *impl_;
  if (!HasBackwardPass(m.config.type)) {
    throw std::logic_error("LayerRunner::PrepareBackward: " + std::string(ToString(m.config.type)) +
                           " has no backward pass");
  }
  try {
    m.output = torch::Tensor();  // release an older graph before building the new one
    m.output = m.op->Run();
    m.RecordShape(m.output);
    m.grad_output = m.op->GradOutput(m.output);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(m.config.type)) +
                             " forward (kept for backward): " + e.what_without_backtrace());
  }
}

void LayerRunner::Backward() {
  Impl& m = *impl_;
  if (!HasBackwardPass(m.config.type)) {
    throw std::logic_error("LayerRunner::Backward: " + std::string(ToString(m.config.type)) +
                           " has no backward pass");
  }
  if (!m.output.defined()) {
    throw std::logic_error("LayerRunner::Backward: call PrepareBackward() first");
  }
  try {
    m.grads = torch::autograd::grad({m.output}, m.op->grad_targets, {m.grad_output},
                                    /*retain_graph=*/true, /*create_graph=*/false);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(m.config.type)) +
                             " backward: " + e.what_without_backtrace());
  }
}

MeasuredLayerMemory LayerRunner::MeasureMemory() {
  Impl& m = *impl_;
  MeasuredLayerMemory memory;
  m.output = torch::Tensor();
  m.grad_output = torch::Tensor();
  m.grads.clear();
  try {
    {
      TensorMemoryScope scope;
      torch::Tensor out = m.op->Run();
      memory.forward_peak_bytes = scope.peak_bytes();
      if (HasBackwardPass(m.config.type) && out.defined()) {
        // Hold only the graph: what stays allocated is what autograd saved for backward.
        std::shared_ptr<torch::autograd::Node> graph = out.grad_fn();
        out = torch::Tensor();
        memory.saved_bytes = scope.live_bytes();
      }
    }
    if (!HasBackwardPass(m.config.type)) return memory;
    PrepareBackward();
    TensorMemoryScope scope;
    Backward();
    memory.backward_peak_bytes = scope.peak_bytes();
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(m.config.type)) +
                             " memory: " + e.what_without_backtrace());
  }
  return memory;
}

std::vector<int64_t> LayerRunner::LastOutputShape() const { return impl_->last_output_shape; }

std::vector<GradientInfo> LayerRunner::LastGradients() const {
  const Impl& m = *impl_;
  std::vector<GradientInfo> out;
  for (size_t i = 0; i < m.grads.size() && i < m.op->grad_names.size(); ++i) {
    GradientInfo info;
    info.name = m.op->grad_names[i];
    if (m.grads[i].defined()) {
      info.shape = m.grads[i].sizes().vec();
      info.abs_sum = m.grads[i].abs().sum().item<double>();
      if (m.grads[i].numel() > 0) {
        info.zero_fraction =
            m.grads[i].eq(0).sum().item<double>() / static_cast<double>(m.grads[i].numel());
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

bool LayerRunner::BackwardProducesInputGrad() const {
  const Impl& m = *impl_;
  return m.op->input.defined() && !m.grads.empty() && m.grads[0].defined() &&
         !m.op->grad_names.empty() && m.op->grad_names[0] == "input" &&
         m.grads[0].sizes() == m.op->input.sizes();
}

std::vector<StateInfo> LayerRunner::State() const { return impl_->op->State(); }

}  // namespace lj
