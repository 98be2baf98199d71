#include "measure/layer_runner.h"

#include <stdexcept>
#include <utility>

#include <torch/torch.h>

namespace lj {

struct LayerRunner::Impl {
  LayerConfig config;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::MaxPool2d pool{nullptr};
  torch::nn::Linear linear{nullptr};
  torch::Tensor input;
  // Tensors whose gradients Backward() computes: input, then weight and bias if any.
  std::vector<torch::Tensor> grad_targets;
  std::vector<std::string> grad_names;
  // Kept by PrepareBackward().
  torch::Tensor output;
  torch::Tensor grad_output;
  // Produced by the last Backward().
  std::vector<torch::Tensor> grads;
  std::vector<int64_t> last_output_shape;

  torch::Tensor Run() {
    switch (config.type) {
      case LayerType::kConv2d:
        return conv->forward(input);
      case LayerType::kMaxPool2d:
        return pool->forward(input);
      case LayerType::kLinear:
        return linear->forward(input);
    }
    throw std::logic_error("LayerRunner: unknown layer type");
  }

  void RecordShape(const torch::Tensor& out) {
    // assign() reuses the vector's capacity: no allocation after the first call.
    last_output_shape.assign(out.sizes().begin(), out.sizes().end());
  }
};

namespace {

// Adds `t` (if defined, e.g. bias=false leaves it undefined) to the gradient targets.
void AddTarget(std::vector<torch::Tensor>& targets, std::vector<std::string>& names,
               const torch::Tensor& t, const char* name) {
  if (t.defined()) {
    targets.push_back(t);
    names.emplace_back(name);
  }
}

}  // namespace

LayerRunner::LayerRunner(const LayerConfig& config, uint64_t seed) : impl_(new Impl) {
  Validate(config, std::string(ToString(config.type)));
  Impl& m = *impl_;
  m.config = config;
  try {
    torch::manual_seed(seed);
    const auto options = torch::TensorOptions().dtype(torch::kFloat32);
    switch (config.type) {
      case LayerType::kConv2d:
        m.conv = torch::nn::Conv2d(
            torch::nn::Conv2dOptions(config.in_channels, config.out_channels, config.kernel_size)
                .stride(config.stride)
                .padding(config.padding)
                .groups(config.groups)
                .bias(config.bias));
        m.input = torch::randn({config.batch_size, config.in_channels, config.height, config.width},
                               options);
        break;
      case LayerType::kMaxPool2d:
        m.pool = torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(config.kernel_size)
                                          .stride(config.stride)
                                          .padding(config.padding));
        m.input = torch::randn({config.batch_size, config.in_channels, config.height, config.width},
                               options);
        break;
      case LayerType::kLinear:
        m.linear = torch::nn::Linear(
            torch::nn::LinearOptions(config.in_features, config.out_features).bias(config.bias));
        m.input = torch::randn({config.batch_size, config.in_features}, options);
        break;
    }
    m.input.set_requires_grad(true);
    AddTarget(m.grad_targets, m.grad_names, m.input, "input");
    if (m.conv) {
      AddTarget(m.grad_targets, m.grad_names, m.conv->weight, "weight");
      AddTarget(m.grad_targets, m.grad_names, m.conv->bias, "bias");
    }
    if (m.linear) {
      AddTarget(m.grad_targets, m.grad_names, m.linear->weight, "weight");
      AddTarget(m.grad_targets, m.grad_names, m.linear->bias, "bias");
    }
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
  try {
    torch::Tensor out = impl_->Run();
    impl_->RecordShape(out);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(impl_->config.type)) +
                             " forward: " + e.what_without_backtrace());
  }
}

void LayerRunner::PrepareBackward() {
  Impl& m = *impl_;
  try {
    m.output = torch::Tensor();  // release an older graph before building the new one
    m.output = m.Run();
    m.RecordShape(m.output);
    m.grad_output = torch::randn_like(m.output);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(m.config.type)) +
                             " forward (kept for backward): " + e.what_without_backtrace());
  }
}

void LayerRunner::Backward() {
  Impl& m = *impl_;
  if (!m.output.defined()) {
    throw std::logic_error("LayerRunner::Backward: call PrepareBackward() first");
  }
  try {
    m.grads = torch::autograd::grad({m.output}, m.grad_targets, {m.grad_output},
                                    /*retain_graph=*/true, /*create_graph=*/false);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(ToString(m.config.type)) +
                             " backward: " + e.what_without_backtrace());
  }
}

std::vector<int64_t> LayerRunner::LastOutputShape() const { return impl_->last_output_shape; }

std::vector<GradientInfo> LayerRunner::LastGradients() const {
  const Impl& m = *impl_;
  std::vector<GradientInfo> out;
  for (size_t i = 0; i < m.grads.size() && i < m.grad_names.size(); ++i) {
    GradientInfo info;
    info.name = m.grad_names[i];
    if (m.grads[i].defined()) {
      info.shape = m.grads[i].sizes().vec();
      info.abs_sum = m.grads[i].abs().sum().item<double>();
    }
    out.push_back(std::move(info));
  }
  return out;
}

bool LayerRunner::BackwardProducesInputGrad() const {
  const Impl& m = *impl_;
  return !m.grads.empty() && m.grads[0].defined() && m.grads[0].sizes() == m.input.sizes();
}

}  // namespace lj
