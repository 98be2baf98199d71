#include "measure/layer_runner.h"

#include <stdexcept>
#include <utility>

#include <torch/torch.h>

namespace lj {

struct LayerRunner::Impl {
  LayerConfig config;
  // The module of the type, if it has one (conv2d, maxpool2d, avgpool2d, adaptive_avgpool2d,
  // linear, batchnorm2d); exactly one is set.
  torch::nn::Conv2d conv{nullptr};
  torch::nn::MaxPool2d pool{nullptr};
  torch::nn::AvgPool2d avgpool{nullptr};
  torch::nn::AdaptiveAvgPool2d adaptive_pool{nullptr};
  torch::nn::Linear linear{nullptr};
  torch::nn::BatchNorm2d batchnorm{nullptr};
  torch::Tensor input;
  torch::Tensor other;   // add: the second operand; mul: the (N, C, 1, 1) scale
  torch::Tensor labels;  // cross_entropy: int64 class indices (N)
  double dropout_p = 0;
  // sgd/adam/zero_grad: the parameter tensors (with .grad) and the optimizer over them;
  // grad_accumulate: the parameter tensors and the incoming gradients added into their .grad.
  std::vector<torch::Tensor> parameters;
  std::vector<torch::Tensor> incoming;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  // Tensors whose gradients Backward() computes: inputs, then weight and bias if any.
  std::vector<torch::Tensor> grad_targets;
  std::vector<std::string> grad_names;
  // Kept by PrepareBackward().
  torch::Tensor output;
  torch::Tensor grad_output;
  // Produced by the last Backward().
  std::vector<torch::Tensor> grads;
  std::vector<int64_t> last_output_shape;

  // One forward execution of a type with an output (all but sgd/adam).
  torch::Tensor Run() {
    switch (config.type) {
      case LayerType::kConv2d:
        return conv->forward(input);
      case LayerType::kMaxPool2d:
        return pool->forward(input);
      case LayerType::kAvgPool2d:
        return avgpool->forward(input);
      case LayerType::kAdaptiveAvgPool2d:
        return adaptive_pool->forward(input);
      case LayerType::kLinear:
        return linear->forward(input);
      case LayerType::kBatchNorm2d:
        return batchnorm->forward(input);
      case LayerType::kReLU:
        return torch::relu(input);
      case LayerType::kReLU6:
        return torch::hardtanh(input, 0.0, 6.0);  // torch.nn.ReLU6
      case LayerType::kHardswish:
        return torch::hardswish(input);
      case LayerType::kHardsigmoid:
        return torch::hardsigmoid(input);
      case LayerType::kSigmoid:
        return torch::sigmoid(input);
      case LayerType::kAdd:
        return input + other;
      case LayerType::kMul:
        return other * input;  // torchvision SqueezeExcitation: scale * input
      case LayerType::kDropout:
        return torch::dropout(input, dropout_p, /*train=*/true);
      case LayerType::kCrossEntropy:
        return torch::nn::functional::cross_entropy(input, labels);
      case LayerType::kSgd:
      case LayerType::kAdam:
      case LayerType::kGradAccumulate:
      case LayerType::kZeroGrad:
        break;
    }
    throw std::logic_error("LayerRunner: " + std::string(ToString(config.type)) +
                           " has no forward output");
  }

  void RecordShape(const torch::Tensor& out) {
    // assign() reuses the vector's capacity: no allocation after the first call.
    last_output_shape.assign(out.sizes().begin(), out.sizes().end());
  }

  void BuildOptimizer() {
    const int64_t k = config.parameter_tensors;
    const int64_t base = config.parameters / k;
    const int64_t remainder = config.parameters % k;
    for (int64_t i = 0; i < k; ++i) {
      torch::Tensor p = torch::randn({base + (i < remainder ? 1 : 0)});
      p.set_requires_grad(true);
      p.mutable_grad() = torch::randn_like(p);
      parameters.push_back(p);
    }
    if (config.type == LayerType::kGradAccumulate) {
      for (const torch::Tensor& p : parameters) incoming.push_back(torch::randn_like(p));
    } else if (config.type == LayerType::kSgd || config.type == LayerType::kZeroGrad) {
      optimizer = std::make_unique<torch::optim::SGD>(parameters,
                                                      torch::optim::SGDOptions(0.01).momentum(0.9));
    } else {
      optimizer = std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(1e-3));
    }
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
    const std::vector<int64_t> nchw = {config.batch_size, config.in_channels, config.height,
                                       config.width};
    switch (config.type) {
      case LayerType::kConv2d:
        m.conv = torch::nn::Conv2d(
            torch::nn::Conv2dOptions(config.in_channels, config.out_channels, config.kernel_size)
                .stride(config.stride)
                .padding(config.padding)
                .groups(config.groups)
                .bias(config.bias));
        m.input = torch::randn(nchw, options);
        break;
      case LayerType::kMaxPool2d:
        m.pool = torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(config.kernel_size)
                                          .stride(config.stride)
                                          .padding(config.padding));
        m.input = torch::randn(nchw, options);
        break;
      case LayerType::kAvgPool2d:
        m.avgpool = torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(config.kernel_size)
                                             .stride(config.stride)
                                             .padding(config.padding));
        m.input = torch::randn(nchw, options);
        break;
      case LayerType::kAdaptiveAvgPool2d:
        m.adaptive_pool = torch::nn::AdaptiveAvgPool2d(
            torch::nn::AdaptiveAvgPool2dOptions({config.output_size, config.output_size}));
        m.input = torch::randn(nchw, options);
        break;
      case LayerType::kLinear:
        m.linear = torch::nn::Linear(
            torch::nn::LinearOptions(config.in_features, config.out_features).bias(config.bias));
        m.input = torch::randn({config.batch_size, config.in_features}, options);
        break;
      case LayerType::kBatchNorm2d:
        m.batchnorm = torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(config.in_channels));
        m.batchnorm->train();
        m.input = torch::randn(nchw, options);
        break;
      case LayerType::kReLU:
      case LayerType::kReLU6:
      case LayerType::kHardswish:
      case LayerType::kHardsigmoid:
      case LayerType::kSigmoid:
        m.input = torch::randn(nchw, options);
        break;
      case LayerType::kAdd:
        m.input = torch::randn(nchw, options);
        m.other = torch::randn(nchw, options);
        break;
      case LayerType::kMul:
        m.input = torch::randn(nchw, options);
        m.other = torch::rand({config.batch_size, config.in_channels, 1, 1}, options);
        break;
      case LayerType::kDropout:
        m.input = torch::randn(nchw, options);
        m.dropout_p = static_cast<double>(config.p_percent) / 100.0;
        break;
      case LayerType::kCrossEntropy:
        m.input = torch::randn({config.batch_size, config.num_classes}, options);
        m.labels = torch::randint(config.num_classes, {config.batch_size},
                                  torch::TensorOptions().dtype(torch::kInt64));
        break;
      case LayerType::kSgd:
      case LayerType::kAdam:
      case LayerType::kGradAccumulate:
      case LayerType::kZeroGrad:
        m.BuildOptimizer();
        break;
    }
    if (m.input.defined()) {
      m.input.set_requires_grad(true);
      AddTarget(m.grad_targets, m.grad_names, m.input, "input");
    }
    if (m.other.defined()) {
      m.other.set_requires_grad(true);
      AddTarget(m.grad_targets, m.grad_names, m.other,
                config.type == LayerType::kMul ? "scale" : "other");
    }
    if (m.conv) {
      AddTarget(m.grad_targets, m.grad_names, m.conv->weight, "weight");
      AddTarget(m.grad_targets, m.grad_names, m.conv->bias, "bias");
    }
    if (m.linear) {
      AddTarget(m.grad_targets, m.grad_names, m.linear->weight, "weight");
      AddTarget(m.grad_targets, m.grad_names, m.linear->bias, "bias");
    }
    if (m.batchnorm) {
      AddTarget(m.grad_targets, m.grad_names, m.batchnorm->weight, "weight");
      AddTarget(m.grad_targets, m.grad_names, m.batchnorm->bias, "bias");
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
  Impl& m = *impl_;
  try {
    if (m.config.type == LayerType::kGradAccumulate) {
      torch::NoGradGuard no_grad;  // as the autograd engine's AccumulateGrad
      for (size_t i = 0; i < m.parameters.size(); ++i) {
        m.parameters[i].mutable_grad().add_(m.incoming[i]);
      }
      return;
    }
    if (m.config.type == LayerType::kZeroGrad) {
      m.optimizer->zero_grad();
      return;
    }
    if (m.optimizer) {
      m.optimizer->step();
      return;
    }
    torch::Tensor out = m.Run();
    m.RecordShape(out);
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
    m.output = m.Run();
    m.RecordShape(m.output);
    m.grad_output = m.config.type == LayerType::kCrossEntropy ? torch::ones_like(m.output)
                                                              : torch::randn_like(m.output);
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
  return m.input.defined() && !m.grads.empty() && m.grads[0].defined() &&
         m.grads[0].sizes() == m.input.sizes();
}

std::vector<StateInfo> LayerRunner::State() const {
  const Impl& m = *impl_;
  torch::NoGradGuard no_grad;
  std::vector<StateInfo> out;
  const auto summary = [](const char* name, const torch::Tensor& t) {
    StateInfo info;
    info.name = name;
    info.shape = t.sizes().vec();
    info.sum = t.sum().item<double>();
    return info;
  };
  if (m.batchnorm) {
    out.push_back(summary("running_mean", m.batchnorm->running_mean));
    out.push_back(summary("running_var", m.batchnorm->running_var));
    out.push_back(summary("num_batches_tracked", m.batchnorm->num_batches_tracked));
  }
  if (!m.parameters.empty()) {
    StateInfo info;
    info.name = "parameters";
    info.tensors = static_cast<int64_t>(m.parameters.size());
    int64_t elements = 0;
    for (const torch::Tensor& p : m.parameters) {
      elements += p.numel();
      info.sum += p.sum().item<double>();
    }
    info.shape = {elements};
    out.push_back(std::move(info));
    StateInfo grads;
    grads.name = "grads";
    grads.tensors = info.tensors;
    grads.shape = {elements};
    for (const torch::Tensor& p : m.parameters) grads.sum += p.grad().sum().item<double>();
    out.push_back(std::move(grads));
  }
  return out;
}

}  // namespace lj
