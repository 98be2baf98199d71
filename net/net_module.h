#pragma once
// The torch::nn modules a net.json network is built from (net/net_builder.h builds them).
// Include this header only where the module is run or trained: it pulls in LibTorch.
// Child modules are registered under the net.json path segments, so parameter names follow
// torchvision ("layer1.0.conv1.weight", "features.1.block.1.fc1.bias").
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

namespace lj {

// Named children run in order: torch.nn.Sequential with chosen child names.
class SequenceImpl : public torch::nn::Module {
 public:
  // Registers `module` as child `name` (no dots) and runs it after the existing children.
  void Append(const std::string& name, torch::nn::AnyModule module);
  // x: the first child's input; returns the last child's output.
  torch::Tensor forward(torch::Tensor x);
  const std::vector<torch::nn::AnyModule>& children_in_order() const { return children_; }

 private:
  std::vector<torch::nn::AnyModule> children_;
};
TORCH_MODULE(Sequence);

// Parameter-free elementwise activation: a type of role kActivation (relu, relu6, hardswish,
// hardsigmoid, sigmoid: torch.nn.ReLU, ReLU6, Hardswish, Hardsigmoid, Sigmoid), computed by its
// function in net/activations.cpp.
class ActivationImpl : public torch::nn::Module {
 public:
  // Throws std::invalid_argument for other names.
  explicit ActivationImpl(std::string type);
  torch::Tensor forward(torch::Tensor x);
  const std::string& type() const { return type_; }

 private:
  std::string type_;
  torch::Tensor (*forward_)(const torch::Tensor&) = nullptr;
};
TORCH_MODULE(Activation);

// torch.nn.LayerNorm over the features of a (N, F) input, or over the channels of a
// channels-first (N, C, H, W) input as torchvision's LayerNorm2d (ConvNeXt): permute to
// (N, H, W, C), layer_norm over C, permute back. Affine: weight and bias of C elements,
// registered as "weight" and "bias" as in torchvision.
class ChannelLayerNormImpl : public torch::nn::Module {
 public:
  ChannelLayerNormImpl(int64_t channels, double eps);
  // x: (N, F) or (N, C, H, W); throws c10::Error for a wrong channel count.
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::Tensor weight_;
  torch::Tensor bias_;
  double eps_;
};
TORCH_MODULE(ChannelLayerNorm);

// torch.mean(x, dims) with keepdim=False (net.json's mean leaf): a text classifier's mean over
// the sequence of (N, S, D) (dims {1}), or an image's global average (dims {2, 3}).
class MeanImpl : public torch::nn::Module {
 public:
  explicit MeanImpl(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  // Throws c10::Error for a dim out of range.
  torch::Tensor forward(const torch::Tensor& x) { return x.mean(dims_); }

 private:
  std::vector<int64_t> dims_;
};
TORCH_MODULE(Mean);

// The L2 norm over dims with keepdim=False (net.json's norm leaf), as x.norm(2, dims).
class NormImpl : public torch::nn::Module {
 public:
  explicit NormImpl(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  // Throws c10::Error for a dim out of range.
  torch::Tensor forward(const torch::Tensor& x) { return x.norm(2, dims_); }

 private:
  std::vector<int64_t> dims_;
};
TORCH_MODULE(Norm);

// x.select(dim, index) (net.json's select leaf): x[:, 0] of (N, S, D) is the class token.
class SelectImpl : public torch::nn::Module {
 public:
  SelectImpl(int64_t dim, int64_t index) : dim_(dim), index_(index) {}
  // Throws c10::Error for a dim or index out of range.
  torch::Tensor forward(const torch::Tensor& x) { return x.select(dim_, index_); }

 private:
  int64_t dim_;
  int64_t index_;
};
TORCH_MODULE(Select);

// x + b with b a learnt tensor of one sample's shape, broadcast over the batch (net.json's
// bias_add leaf): ViT's position embedding, torch.nn.Parameter of shape (1, T, D), registered
// as "bias", initialised N(0, 0.02^2) as torchvision's.
class BiasAddImpl : public torch::nn::Module {
 public:
  // sample_shape: x's shape without its batch dim, e.g. {T, D}.
  explicit BiasAddImpl(std::vector<int64_t> sample_shape);
  // Throws c10::Error when x's trailing dims are not sample_shape.
  torch::Tensor forward(const torch::Tensor& x) { return x + bias_; }

 private:
  torch::Tensor bias_;
};
TORCH_MODULE(BiasAdd);

// ShuffleNet's channel shuffle as torchvision 0.14 writes it: x (N, C, H, W) viewed as
// (N, g, C/g, H, W), transpose(1, 2), contiguous (the copy), viewed back as (N, C, H, W).
class ChannelShuffleImpl : public torch::nn::Module {
 public:
  explicit ChannelShuffleImpl(int64_t groups) : groups_(groups) {}
  // x: (N, C, H, W) with C divisible by groups; throws c10::Error otherwise.
  torch::Tensor forward(torch::Tensor x);

 private:
  int64_t groups_;
};
TORCH_MODULE(ChannelShuffle);

// Residual block: activation(branch(x) + shortcut(x)); shortcut empty = identity,
// activation "none" = no activation. Branch children are registered directly under the block,
// the shortcut as one Sequence named `shortcut_name` (torchvision's "downsample").
class ResidualImpl : public torch::nn::Module {
 public:
  ResidualImpl(std::string shortcut_name, std::string activation);
  void AppendBranch(const std::string& name, torch::nn::AnyModule module);
  // The shortcut Sequence, created and registered on first use.
  Sequence& shortcut();
  bool has_shortcut() const { return !shortcut_.is_empty(); }
  // "none" or an ActivationImpl type.
  const std::string& activation() const { return activation_; }
  // Branch output plus shortcut output, before the activation.
  torch::Tensor Sum(const torch::Tensor& branch_out, const torch::Tensor& x);
  // The activation after the sum (identity for "none").
  torch::Tensor Activate(const torch::Tensor& sum);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<torch::nn::AnyModule> branch_;
  Sequence shortcut_{nullptr};
  std::string shortcut_name_;
  std::string activation_;
  Activation activation_module_{nullptr};
};
TORCH_MODULE(Residual);

// Branches on one input whose outputs are concatenated along the channels (dim 1), as
// torchvision's Inception blocks and SqueezeNet's Fire modules: torch.cat([b(x) for b in
// branches], 1). Children: the branches, by name.
class ConcatImpl : public torch::nn::Module {
 public:
  void AppendBranch(const std::string& name, torch::nn::AnyModule module);
  torch::Tensor forward(torch::Tensor x);

 private:
  std::vector<torch::nn::AnyModule> branches_;
};
TORCH_MODULE(Concat);

// Squeeze-and-excitation as torchvision.ops.SqueezeExcitation (Hu et al. 2018):
// scale = scale_activation(fc2(activation(fc1(avgpool(x))))), output = scale * x, with
// avgpool = AdaptiveAvgPool2d(1), fc1 = Conv2d(C, squeeze_channels, 1), fc2 =
// Conv2d(squeeze_channels, C, 1). Children: avgpool, fc1, activation, fc2, scale_activation.
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels, const std::string& activation,
                        const std::string& scale_activation);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Conv2d fc1{nullptr};
  Activation activation{nullptr};
  torch::nn::Conv2d fc2{nullptr};
  Activation scale_activation{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

// torch.nn.MultiheadAttention(d_model, nhead, dropout) as a Transformer encoder layer calls it,
// self-attention on one input with a packed projection (PyTorch 1.13's
// multi_head_attention_forward without masks and with need_weights=False; net/transformer_block.h
// lists its ops). Parameters as torch.nn names them: in_proj_weight (3 D, D), in_proj_bias (3 D),
// out_proj.weight (D, D), out_proj.bias (D).
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t d_model, int64_t nhead, double dropout);
  // x: (S, N, D), sequence first; returns (S, N, D). Throws c10::Error for another D.
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor in_proj_weight;
  torch::Tensor in_proj_bias;
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t nhead_;
  double dropout_;
};
TORCH_MODULE(SelfAttention);

// torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
// layer_norm_eps, batch_first=True, norm_first) (Vaswani et al. 2017, § 3.1): post-norm
// x = norm1(x + sa(x)); x = norm2(x + ff(x)), or with norm_first (pre-norm, Xiong et al. 2020)
// x = x + sa(norm1(x)); x = x + ff(norm2(x)), where sa(x) = dropout1(self_attn(x)) and ff(x) =
// dropout2(linear2(dropout(activation(linear1(x))))). Children: self_attn, linear1, dropout,
// linear2, norm1, norm2, dropout1, dropout2, activation ("relu" or "gelu").
class TransformerEncoderLayerImpl : public torch::nn::Module {
 public:
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead, int64_t dim_feedforward,
                              double dropout, const std::string& activation, double eps,
                              bool norm_first = false);
  // x: (N, S, D); returns (N, S, D). Throws c10::Error for another D.
  torch::Tensor forward(torch::Tensor x);

  SelfAttention self_attn{nullptr};
  torch::nn::Linear linear1{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  torch::nn::Dropout dropout1{nullptr};
  torch::nn::Dropout dropout2{nullptr};
  Activation activation{nullptr};

 private:
  bool norm_first_;
};
TORCH_MODULE(TransformerEncoderLayer);

// A whole net.json network: input (N, C, H, W) -> output of the last layer.
class NetModuleImpl : public SequenceImpl {};

}  // namespace lj
