// One LayerOp per layer type and the registry of their factories (measure/layer_ops.h).
// Adding a layer type that is not an activation: a factory here and its row in Registry().
#include "measure/layer_ops.h"

#include <utility>

#include "net/activations.h"

namespace lj {
namespace {

const auto kFloat = torch::TensorOptions().dtype(torch::kFloat32);

std::vector<int64_t> Nchw(const LayerConfig& c) {
  return {c.batch_size, c.in_channels, c.height, c.width};
}

// Makes `t` a leaf that requires grad and a gradient target named `name`.
void AddInput(LayerOp& op, torch::Tensor t, const char* name) {
  t.set_requires_grad(true);
  op.grad_targets.push_back(t);
  op.grad_names.emplace_back(name);
}

StateInfo Summary(const std::string& name, const torch::Tensor& t) {
  StateInfo info;
  info.name = name;
  info.shape = t.sizes().vec();
  info.sum = t.sum().item<double>();
  return info;
}

// A torch::nn module on one input: conv2d, the pools, linear, batchnorm2d. Its parameters
// (weight, then bias if any) are gradient targets after the input; its buffers (batchnorm2d's
// running statistics) are its state. Without input_grad (conv2d and linear as a network's first
// layer) the input is data: no gradient target, and autograd computes no input gradient.
template <typename Module>
class ModuleOp : public LayerOp {
 public:
  ModuleOp(Module module, const std::vector<int64_t>& input_shape, bool input_grad)
      : module_(std::move(module)) {
    input = torch::randn(input_shape, kFloat);
    if (input_grad) AddInput(*this, input, "input");
    for (const auto& p : module_->named_parameters(/*recurse=*/false)) {
      grad_targets.push_back(p.value());
      grad_names.push_back(p.key());
    }
  }
  torch::Tensor Run() override { return module_->forward(input); }
  std::vector<StateInfo> State() const override {
    torch::NoGradGuard no_grad;
    std::vector<StateInfo> out;
    for (const auto& b : module_->named_buffers(/*recurse=*/false)) {
      out.push_back(Summary(b.key(), b.value()));
    }
    return out;
  }

 private:
  Module module_;
};

template <typename Module>
std::unique_ptr<LayerOp> MakeModuleOp(Module module, const std::vector<int64_t>& input_shape,
                                      bool input_grad = true) {
  return std::make_unique<ModuleOp<Module>>(std::move(module), input_shape, input_grad);
}

// Dropout on one NCHW input in training mode (a fresh mask per execution), out of place.
class DropoutOp : public LayerOp {
 public:
  explicit DropoutOp(const LayerConfig& c) : p_(static_cast<double>(c.p_percent) / 100.0) {
    input = torch::randn(Nchw(c), kFloat);
    AddInput(*this, input, "input");
  }
  torch::Tensor Run() override { return torch::dropout(input, p_, /*train=*/true); }

 private:
  double p_;
};

// An activation (core LayerRole::kActivation) on one NCHW input, out of place: its function in
// net/activations.cpp, shared with the networks `measure --net` builds.
class ActivationRunOp : public LayerOp {
 public:
  ActivationRunOp(const LayerConfig& c, ActivationFn f) : f_(f) {
    input = torch::randn(Nchw(c), kFloat);
    AddInput(*this, input, "input");
  }
  torch::Tensor Run() override { return f_(input); }

 private:
  ActivationFn f_;
};

std::unique_ptr<LayerOp> MakeActivationOp(const LayerConfig& c) {
  return std::make_unique<ActivationRunOp>(c, FindActivation(c.type)->forward);
}

// A function of the input and a second operand: add (a + b, as a residual sum) and mul (scale *
// x, as the squeeze-excitation product).
class BinaryOp : public LayerOp {
 public:
  enum class Kind { kAdd, kMul, kDiv };
  BinaryOp(torch::Tensor a, torch::Tensor b, const char* b_name, Kind kind) : kind_(kind) {
    input = std::move(a);
    other_ = std::move(b);
    AddInput(*this, input, "input");
    AddInput(*this, other_, b_name);
  }
  torch::Tensor Run() override {
    switch (kind_) {
      case Kind::kMul:
        return other_ * input;
      case Kind::kDiv:
        return input / other_;
      case Kind::kAdd:
        break;
    }
    return input + other_;
  }

 private:
  torch::Tensor other_;
  Kind kind_;
};

// torch.cat of c.inputs NCHW tensors along the channels, c.in_channels split as evenly as
// possible (the first ones get the remainder). Every input is a gradient target ("input",
// "input1", ...): the backward pass gives each its slice of the output gradient, a view.
class CatOp : public LayerOp {
 public:
  explicit CatOp(const LayerConfig& c) {
    const int64_t k = c.inputs;
    for (int64_t i = 0; i < k; ++i) {
      const int64_t channels = c.in_channels / k + (i < c.in_channels % k ? 1 : 0);
      torch::Tensor t = torch::randn({c.batch_size, channels, c.height, c.width}, kFloat);
      if (i == 0) input = t;
      parts_.push_back(t);
      const std::string name = i == 0 ? "input" : "input" + std::to_string(i);
      AddInput(*this, t, name.c_str());
    }
  }
  torch::Tensor Run() override { return torch::cat(parts_, 1); }

 private:
  std::vector<torch::Tensor> parts_;
};

// The copy .contiguous() makes of a permuted tensor: the leaf (N, C, H, W) viewed as
// (N, H, C, W) and transposed back to (N, C, H, W) order, runs of W contiguous elements whose
// outer dims C and H are swapped (with H or C of 1, a plain copy of the whole tensor). Its backward
// pass copies the transposed gradient back, as the view before a channel shuffle's transpose does
// when autograd reshapes it (ShuffleNetV2).
class ContiguousOp : public LayerOp {
 public:
  explicit ContiguousOp(const LayerConfig& c) : c_(c) {
    input = torch::randn(Nchw(c), kFloat);
    AddInput(*this, input, "input");
  }
  torch::Tensor Run() override {
    if (c_.height == 1 || c_.in_channels == 1) {
      // The transpose is the identity and .contiguous() would copy nothing: a plain copy in
      // both passes instead, as TorchScript's roll and constant pad run (and a strided layout
      // with one outer dim, ContiguousConfig): roll of the flattened tensor by one element,
      // whose backward rolls the gradient back.
      return torch::roll(input.reshape({-1}), 1).view(input.sizes());
    }
    return input.view({c_.batch_size, c_.height, c_.in_channels, c_.width})
        .transpose(1, 2)
        .contiguous();
  }

 private:
  LayerConfig c_;
};

// x.select(1, 0) of the leaf (N, C, H, W): the forward pass is a view of the first channel; the
// backward pass (select_backward) zero-fills an input-sized gradient and copies the output
// gradient into that channel, as for ViT's class token x[:, 0].
class SelectOp : public LayerOp {
 public:
  explicit SelectOp(const LayerConfig& c) {
    input = torch::randn(Nchw(c), kFloat);
    AddInput(*this, input, "input");
  }
  torch::Tensor Run() override { return input.select(1, 0); }
};

// A reduction of dim 1 (C) of the leaf (N, C, H, W) into (N, H, W). kMean: x.mean(1), whose
// backward pass writes grad / C into every channel of an input-sized gradient. kNorm:
// x.norm(2, 1), the aten::norm F.normalize runs, whose backward pass (norm_backward) writes
// x * grad / norm into an input-sized gradient, reading the input and the saved norm.
class ReduceOp : public LayerOp {
 public:
  enum class Kind { kMean, kNorm };
  ReduceOp(const LayerConfig& c, Kind kind) : kind_(kind) {
    input = torch::randn(Nchw(c), kFloat);
    AddInput(*this, input, "input");
  }
  torch::Tensor Run() override { return kind_ == Kind::kMean ? input.mean(1) : input.norm(2, {1}); }

 private:
  Kind kind_;
};

// torch::bmm of input (B, rows, inner_size) and mat2 (B, inner_size, columns), both leaves:
// the backward pass computes both gradients, grad x mat2^T and input^T x grad (two batched
// products of the forward's MACs), as for attention's q k^T and scores x v, whose operands
// are both activations.
class BmmOp : public LayerOp {
 public:
  explicit BmmOp(const LayerConfig& c) {
    input = torch::randn({c.batch_size, c.rows, c.inner_size}, kFloat);
    mat2_ = torch::randn({c.batch_size, c.inner_size, c.columns}, kFloat);
    AddInput(*this, input, "input");
    AddInput(*this, mat2_, "mat2");
  }
  torch::Tensor Run() override { return torch::bmm(input, mat2_); }

 private:
  torch::Tensor mat2_;
};

// nn::Embedding(num_embeddings, embedding_dim) on int64 ids (batch_size, sequence_length),
// uniform in [0, num_embeddings) from the generator LayerRunner seeds (a fixed seed: the same ids
// for the same config and seed). The ids are data, no gradient target: the backward pass computes
// only the weight's gradient (aten::embedding_dense_backward: a zero-filled (num_embeddings,
// embedding_dim) tensor into which the output gradient's rows are scatter-added).
class EmbeddingOp : public LayerOp {
 public:
  explicit EmbeddingOp(const LayerConfig& c)
      : module_(torch::nn::EmbeddingOptions(c.num_embeddings, c.embedding_dim)) {
    input = torch::randint(c.num_embeddings, {c.batch_size, c.sequence_length},
                           torch::TensorOptions().dtype(torch::kInt64));
    grad_targets.push_back(module_->weight);
    grad_names.emplace_back("weight");
  }
  torch::Tensor Run() override { return module_->forward(input); }

 private:
  torch::nn::Embedding module_;
};

// Mean cross-entropy of logits (N, num_classes) and random int64 labels.
class CrossEntropyOp : public LayerOp {
 public:
  explicit CrossEntropyOp(const LayerConfig& c) {
    input = torch::randn({c.batch_size, c.num_classes}, kFloat);
    labels_ =
        torch::randint(c.num_classes, {c.batch_size}, torch::TensorOptions().dtype(torch::kInt64));
    AddInput(*this, input, "input");
  }
  torch::Tensor Run() override { return torch::nn::functional::cross_entropy(input, labels_); }
  torch::Tensor GradOutput(const torch::Tensor& output) const override {
    return torch::ones_like(output);
  }

 private:
  torch::Tensor labels_;
};

// A parameter-wide step over `parameter_tensors` leaf tensors of (nearly) equal size, each
// with a .grad: sgd and adam (optimizer.step()), zero_grad (optimizer.zero_grad()) and
// grad_accumulate (.grad += an incoming gradient, as autograd's AccumulateGrad).
class StepOp : public LayerOp {
 public:
  explicit StepOp(const LayerConfig& c) : type_(c.type) {
    const int64_t k = c.parameter_tensors;
    const int64_t base = c.parameters / k;
    const int64_t remainder = c.parameters % k;
    for (int64_t i = 0; i < k; ++i) {
      torch::Tensor p = torch::randn({base + (i < remainder ? 1 : 0)});
      p.set_requires_grad(true);
      p.mutable_grad() = torch::randn_like(p);
      parameters_.push_back(p);
    }
    if (type_ == LayerType::kGradAccumulate) {
      for (const torch::Tensor& p : parameters_) incoming_.push_back(torch::randn_like(p));
    } else if (type_ == LayerType::kAdam) {
      optimizer_ =
          std::make_unique<torch::optim::Adam>(parameters_, torch::optim::AdamOptions(1e-3));
    } else {  // sgd, zero_grad
      optimizer_ = std::make_unique<torch::optim::SGD>(
          parameters_, torch::optim::SGDOptions(0.01).momentum(0.9));
    }
  }
  torch::Tensor Run() override {
    if (type_ == LayerType::kGradAccumulate) {
      torch::NoGradGuard no_grad;  // as the autograd engine's AccumulateGrad
      for (size_t i = 0; i < parameters_.size(); ++i) {
        parameters_[i].mutable_grad().add_(incoming_[i]);
      }
    } else if (type_ == LayerType::kZeroGrad) {
      optimizer_->zero_grad();
    } else {
      optimizer_->step();
    }
    return {};
  }
  std::vector<StateInfo> State() const override {
    torch::NoGradGuard no_grad;
    StateInfo params;
    params.name = "parameters";
    params.tensors = static_cast<int64_t>(parameters_.size());
    StateInfo grads;
    grads.name = "grads";
    grads.tensors = params.tensors;
    int64_t elements = 0;
    for (const torch::Tensor& p : parameters_) {
      elements += p.numel();
      params.sum += p.sum().item<double>();
      grads.sum += p.grad().sum().item<double>();
    }
    params.shape = grads.shape = {elements};
    return {params, grads};
  }

 private:
  LayerType type_;
  std::vector<torch::Tensor> parameters_;
  std::vector<torch::Tensor> incoming_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

std::unique_ptr<LayerOp> MakeStepOp(const LayerConfig& c) { return std::make_unique<StepOp>(c); }

using torch::nn::AdaptiveAvgPool2d;
using torch::nn::AdaptiveAvgPool2dOptions;
using torch::nn::AvgPool2d;
using torch::nn::AvgPool2dOptions;
using torch::nn::BatchNorm2d;
using torch::nn::BatchNorm2dOptions;
using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;
using torch::nn::LayerNorm;
using torch::nn::LayerNormOptions;
using torch::nn::Linear;
using torch::nn::LinearOptions;
using torch::nn::MaxPool2d;
using torch::nn::MaxPool2dOptions;

struct Registration {
  LayerType type;
  LayerOpFactory make;
};

// One row per layer type that is not an activation (those come from net/activations.cpp): what
// one forward execution runs (core/layer_config.h, LayerRunner).
const std::vector<Registration>& Registry() {
  static const std::vector<Registration> kRegistry = {
      {LayerType::kConv2d,
       [](const LayerConfig& c) {
         return MakeModuleOp(
             Conv2d(Conv2dOptions(c.in_channels, c.out_channels, {c.kernel_size, KernelWidth(c)})
                        .stride(c.stride)
                        .padding({c.padding, PaddingWidth(c)})
                        .groups(c.groups)
                        .bias(c.bias)),
             Nchw(c), c.input_grad);
       }},
      {LayerType::kMaxPool2d,
       [](const LayerConfig& c) {
         return MakeModuleOp(MaxPool2d(MaxPool2dOptions(c.kernel_size)
                                           .stride(c.stride)
                                           .padding(c.padding)
                                           .ceil_mode(c.ceil_mode)),
                             Nchw(c));
       }},
      {LayerType::kLinear,
       [](const LayerConfig& c) {
         return MakeModuleOp(Linear(LinearOptions(c.in_features, c.out_features).bias(c.bias)),
                             {c.batch_size, c.in_features}, c.input_grad);
       }},
      {LayerType::kBatchNorm2d,
       [](const LayerConfig& c) {
         BatchNorm2d bn(BatchNorm2dOptions(c.in_channels));
         bn->train();  // updates its running statistics, as in training
         return MakeModuleOp(bn, Nchw(c));
       }},
      {LayerType::kAvgPool2d,
       [](const LayerConfig& c) {
         return MakeModuleOp(AvgPool2d(AvgPool2dOptions(c.kernel_size)
                                           .stride(c.stride)
                                           .padding(c.padding)
                                           .ceil_mode(c.ceil_mode)),
                             Nchw(c));
       }},
      {LayerType::kAdaptiveAvgPool2d,
       [](const LayerConfig& c) {
         return MakeModuleOp(
             AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions({c.output_size, c.output_size})), Nchw(c));
       }},
      {LayerType::kAdd,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         torch::Tensor a = torch::randn(Nchw(c), kFloat);
         torch::Tensor b = torch::randn(Nchw(c), kFloat);
         return std::make_unique<BinaryOp>(a, b, "other", BinaryOp::Kind::kAdd);
       }},
      {LayerType::kMul,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         torch::Tensor x = torch::randn(Nchw(c), kFloat);
         // A sigmoid-like gate in [0, 1), as torchvision's SqueezeExcitation scale.
         torch::Tensor scale = torch::rand({c.batch_size, c.in_channels, 1, 1}, kFloat);
         return std::make_unique<BinaryOp>(x, scale, "scale", BinaryOp::Kind::kMul);
       }},
      // x + b with b a (C, H, W) leaf broadcast over N: autograd sums the output gradient
      // over N into b's gradient (a position embedding, a relative-position bias).
      {LayerType::kBiasAdd,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         torch::Tensor x = torch::randn(Nchw(c), kFloat);
         torch::Tensor bias = torch::randn({c.in_channels, c.height, c.width}, kFloat);
         return std::make_unique<BinaryOp>(x, bias, "bias", BinaryOp::Kind::kAdd);
       }},
      {LayerType::kDropout,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<DropoutOp>(c);
       }},
      {LayerType::kCat,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> { return std::make_unique<CatOp>(c); }},
      // Over the last dim of a contiguous (N, H, W, D) tensor: a Transformer's (N, T, D) with
      // T = H * W, or ConvNeXt's channels-last activations.
      {LayerType::kLayerNorm,
       [](const LayerConfig& c) {
         return MakeModuleOp(LayerNorm(LayerNormOptions({c.in_channels})),
                             {c.batch_size, c.height, c.width, c.in_channels});
       }},
      {LayerType::kCrossEntropy,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<CrossEntropyOp>(c);
       }},
      {LayerType::kContiguous,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<ContiguousOp>(c);
       }},
      {LayerType::kBmm,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> { return std::make_unique<BmmOp>(c); }},
      {LayerType::kSelect,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<SelectOp>(c);
       }},
      {LayerType::kMean,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<ReduceOp>(c, ReduceOp::Kind::kMean);
       }},
      // x / scale, scale (N, C, 1, 1) in [0.5, 1.5) (a norm clamped away from 0), both leaves:
      // autograd computes the scale's gradient input-sized and sums it over (H, W).
      {LayerType::kDiv,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         torch::Tensor x = torch::randn(Nchw(c), kFloat);
         torch::Tensor scale = torch::rand({c.batch_size, c.in_channels, 1, 1}, kFloat) + 0.5;
         return std::make_unique<BinaryOp>(x, scale, "scale", BinaryOp::Kind::kDiv);
       }},
      {LayerType::kNorm,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<ReduceOp>(c, ReduceOp::Kind::kNorm);
       }},
      {LayerType::kEmbedding,
       [](const LayerConfig& c) -> std::unique_ptr<LayerOp> {
         return std::make_unique<EmbeddingOp>(c);
       }},
      {LayerType::kSgd, MakeStepOp},
      {LayerType::kAdam, MakeStepOp},
      {LayerType::kGradAccumulate, MakeStepOp},
      {LayerType::kZeroGrad, MakeStepOp},
  };
  return kRegistry;
}

}  // namespace

LayerOpFactory FindLayerOpFactory(LayerType type) {
  for (const Registration& r : Registry()) {
    if (r.type == type) return r.make;
  }
  if (FindActivation(type)) return MakeActivationOp;
  return nullptr;
}

bool HasLayerRunner(LayerType type) { return FindLayerOpFactory(type) != nullptr; }

}  // namespace lj
