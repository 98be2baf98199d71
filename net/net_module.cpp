#include "net/net_module.h"

#include <torch/torch.h>

#include <stdexcept>
#include <utility>

#include "net/activations.h"

namespace lj {

void SequenceImpl::Append(const std::string& name, torch::nn::AnyModule module) {
  register_module(name, module.ptr());
  children_.push_back(std::move(module));
}

torch::Tensor SequenceImpl::forward(torch::Tensor x) {
  for (auto& child : children_) x = child.forward<torch::Tensor>(std::move(x));
  return x;
}

ActivationImpl::ActivationImpl(std::string type) : type_(std::move(type)) {
  LayerType layer_type;
  const ActivationOp* op = FindLayerType(type_, &layer_type) ? FindActivation(layer_type) : nullptr;
  if (!op) throw std::invalid_argument("unknown activation '" + type_ + "'");
  forward_ = op->forward;
}

torch::Tensor ActivationImpl::forward(torch::Tensor x) { return forward_(x); }

ChannelLayerNormImpl::ChannelLayerNormImpl(int64_t channels, double eps) : eps_(eps) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelLayerNormImpl::forward(torch::Tensor x) {
  const int64_t c = weight_.size(0);
  if (x.dim() != 4) return torch::layer_norm(x, {c}, weight_, bias_, eps_);
  return torch::layer_norm(x.permute({0, 2, 3, 1}), {c}, weight_, bias_, eps_)
      .permute({0, 3, 1, 2});
}

torch::Tensor ChannelShuffleImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4, "channel_shuffle expects (N, C, H, W), got ", x.sizes());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  TORCH_CHECK(c % groups_ == 0, "channel_shuffle: groups ", groups_, " must divide ", c);
  return x.view({n, groups_, c / groups_, h, w}).transpose(1, 2).contiguous().view({n, c, h, w});
}

ResidualImpl::ResidualImpl(std::string shortcut_name, std::string activation)
    : shortcut_name_(std::move(shortcut_name)), activation_(std::move(activation)) {
  if (activation_ != "none") {
    activation_module_ = register_module("activation", Activation(activation_));
  }
}

void ResidualImpl::AppendBranch(const std::string& name, torch::nn::AnyModule module) {
  register_module(name, module.ptr());
  branch_.push_back(std::move(module));
}

Sequence& ResidualImpl::shortcut() {
  if (shortcut_.is_empty()) shortcut_ = register_module(shortcut_name_, Sequence());
  return shortcut_;
}

torch::Tensor ResidualImpl::Sum(const torch::Tensor& branch_out, const torch::Tensor& x) {
  return branch_out + (shortcut_.is_empty() ? x : shortcut_->forward(x));
}

torch::Tensor ResidualImpl::Activate(const torch::Tensor& sum) {
  return activation_module_.is_empty() ? sum : activation_module_->forward(sum);
}

torch::Tensor ResidualImpl::forward(torch::Tensor x) {
  torch::Tensor out = x;
  for (auto& child : branch_) out = child.forward<torch::Tensor>(std::move(out));
  return Activate(Sum(out, x));
}

void ConcatImpl::AppendBranch(const std::string& name, torch::nn::AnyModule module) {
  register_module(name, module.ptr());
  branches_.push_back(std::move(module));
}

torch::Tensor ConcatImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> outputs;
  outputs.reserve(branches_.size());
  for (auto& branch : branches_) outputs.push_back(branch.forward<torch::Tensor>(x));
  return torch::cat(outputs, 1);
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels,
                                             const std::string& activation_type,
                                             const std::string& scale_activation_type) {
  avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(1));
  fc1 = register_module("fc1",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, squeeze_channels, 1)));
  activation = register_module("activation", Activation(activation_type));
  fc2 = register_module("fc2",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(squeeze_channels, channels, 1)));
  scale_activation = register_module("scale_activation", Activation(scale_activation_type));
}

torch::Tensor SqueezeExcitationImpl::forward(torch::Tensor x) {
  torch::Tensor scale = avgpool->forward(x);
  scale = scale_activation->forward(fc2->forward(activation->forward(fc1->forward(scale))));
  return scale * x;
}

}  // namespace lj
