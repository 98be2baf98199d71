#include "net/net_module.h"

#include <torch/torch.h>

#include <cmath>
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

BiasAddImpl::BiasAddImpl(std::vector<int64_t> sample_shape) {
  sample_shape.insert(sample_shape.begin(), 1);
  bias_ = register_parameter("bias", torch::randn(sample_shape) * 0.02);
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

SelfAttentionImpl::SelfAttentionImpl(int64_t d_model, int64_t nhead, double dropout)
    : nhead_(nhead), dropout_(dropout) {
  TORCH_CHECK(nhead > 0 && d_model % nhead == 0, "d_model ", d_model, " is not divisible by nhead ",
              nhead);
  // torch.nn.MultiheadAttention's initialisation: Xavier-uniform projections, zero biases.
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * d_model, d_model}));
  torch::nn::init::xavier_uniform_(in_proj_weight);
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * d_model}));
  out_proj = register_module("out_proj", torch::nn::Linear(d_model, d_model));
  torch::nn::init::zeros_(out_proj->bias);
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3, "self-attention expects (S, N, D), got ", x.sizes());
  const int64_t s = x.size(0), n = x.size(1), d = x.size(2);
  const int64_t head_dim = d / nhead_;
  const std::vector<torch::Tensor> qkv =
      torch::nn::functional::linear(x, in_proj_weight, in_proj_bias).chunk(3, -1);
  auto heads = [&](const torch::Tensor& t) {
    return t.contiguous().view({s, n * nhead_, head_dim}).transpose(0, 1);
  };
  const torch::Tensor q = heads(qkv[0]) / std::sqrt(static_cast<double>(head_dim));
  const torch::Tensor k = heads(qkv[1]);
  const torch::Tensor v = heads(qkv[2]);
  torch::Tensor attention = torch::softmax(torch::bmm(q, k.transpose(-2, -1)), -1);
  if (dropout_ > 0 && is_training()) attention = torch::dropout(attention, dropout_, true);
  const torch::Tensor out = torch::bmm(attention, v).transpose(0, 1).contiguous().view({s * n, d});
  return out_proj->forward(out).view({s, n, d});
}

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead,
                                                         int64_t dim_feedforward, double dropout_p,
                                                         const std::string& activation_type,
                                                         double eps, bool norm_first)
    : norm_first_(norm_first) {
  namespace nn = torch::nn;
  self_attn = register_module("self_attn", SelfAttention(d_model, nhead, dropout_p));
  linear1 = register_module("linear1", nn::Linear(d_model, dim_feedforward));
  dropout = register_module("dropout", nn::Dropout(dropout_p));
  linear2 = register_module("linear2", nn::Linear(dim_feedforward, d_model));
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({d_model}).eps(eps)));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({d_model}).eps(eps)));
  dropout1 = register_module("dropout1", nn::Dropout(dropout_p));
  dropout2 = register_module("dropout2", nn::Dropout(dropout_p));
  activation = register_module("activation", Activation(activation_type));
}

torch::Tensor TransformerEncoderLayerImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 3, "transformer_encoder_layer expects (N, S, D), got ", x.sizes());
  // batch_first: the attention runs on the (S, N, D) view, and its output is viewed back.
  auto sa = [&](const torch::Tensor& in) {
    return dropout1->forward(self_attn->forward(in.transpose(0, 1)).transpose(0, 1));
  };
  auto ff = [&](const torch::Tensor& in) {
    return dropout2->forward(
        linear2->forward(dropout->forward(activation->forward(linear1->forward(in)))));
  };
  if (norm_first_) {
    x = x + sa(norm1->forward(x));
    return x + ff(norm2->forward(x));
  }
  x = norm1->forward(x + sa(x));
  return norm2->forward(x + ff(x));
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
