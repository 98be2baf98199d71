#include "net/torchscript_layers.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/jit_trace.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_set>

#include "core/errors.h"
#include "core/file_read.h"
#include "net/activations.h"
#include "net/einsum_matmul.h"

namespace lj {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// The useful line of an exception's message: the first, without a c10::Error's backtrace, or
// for TorchScript interpreter errors (a TorchScript traceback) the last non-empty line, which
// holds the cause ("RuntimeError: Given groups=1, weight of size ...").
std::string Message(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  const std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  if (text.rfind("The following operation failed in the TorchScript interpreter", 0) == 0) {
    const size_t end = text.find_last_not_of(" \n");
    if (end != std::string::npos) {
      const size_t newline = text.rfind('\n', end);
      const size_t start = newline == std::string::npos ? 0 : newline + 1;
      return text.substr(start, end + 1 - start);
    }
  }
  return FirstLine(text);
}

bool IsTensor(const Value* v) { return v->type()->cast<c10::TensorType>() != nullptr; }

bool IsNone(const Value* v) { return v->type()->kind() == c10::TypeKind::NoneType; }

// Tensors and containers of tensors carry the data flow from the network input.
bool CarriesTensors(const Value* v) {
  const c10::TypePtr& t = v->type();
  if (t->cast<c10::TensorType>()) return true;
  if (auto list = t->cast<c10::ListType>())
    return list->getElementType()->cast<c10::TensorType>() != nullptr;
  return t->cast<c10::TupleType>() != nullptr;
}

// The traced sizes of a tensor value, if complete.
std::optional<std::vector<int64_t>> ConcreteSizes(const Value* v) {
  auto tensor_type = v->type()->cast<c10::TensorType>();
  if (!tensor_type) return std::nullopt;
  auto concrete = tensor_type->sizes().concrete_sizes();
  if (!concrete) return std::nullopt;
  return *concrete;
}

// The sizes and strides (in elements; empty if not recorded) of a traced tensor value.
struct TracedLayout {
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

std::optional<TracedLayout> Layout(const Value* v) {
  auto tensor_type = v->type()->cast<c10::TensorType>();
  if (!tensor_type) return std::nullopt;
  auto sizes = tensor_type->sizes().concrete_sizes();
  if (!sizes) return std::nullopt;
  auto strides = tensor_type->strides().concrete_sizes();
  if (!strides || strides->size() != sizes->size()) return TracedLayout{*sizes, {}};
  return TracedLayout{*sizes, *strides};
}

std::vector<int64_t> Shape(const Value* v, const std::string& what) {
  const std::optional<std::vector<int64_t>> sizes = ConcreteSizes(v);
  if (!sizes) throw ConfigError(what + ": no shape recorded for value %" + v->debugName());
  return *sizes;
}

std::optional<std::vector<int64_t>> IntList(const Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (!iv) return std::nullopt;
  if (iv->isIntList()) return iv->toIntVector();
  if (iv->isInt()) return std::vector<int64_t>{iv->toInt()};
  return std::nullopt;
}

std::optional<int64_t> Int(const Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (iv && iv->isInt()) return iv->toInt();
  return std::nullopt;
}

std::optional<double> Double(const Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (iv && iv->isDouble()) return iv->toDouble();
  if (iv && iv->isInt()) return static_cast<double>(iv->toInt());
  return std::nullopt;
}

std::optional<bool> Bool(const Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (iv && iv->isBool()) return iv->toBool();
  return std::nullopt;
}

// The config of a square max or average pooling over an NCHW input (the real batch size
// replaces the traced one).
LayerConfig SquarePoolConfig(lj::LayerType type, int64_t batch_size,
                             const std::vector<int64_t>& input_nchw, int64_t kernel_size,
                             int64_t stride, int64_t padding, bool ceil_mode) {
  LayerConfig c;
  c.type = type;
  c.batch_size = batch_size;
  c.in_channels = input_nchw[1];
  c.height = input_nchw[2];
  c.width = input_nchw[3];
  c.kernel_size = kernel_size;
  c.stride = stride;
  c.padding = padding;
  c.ceil_mode = ceil_mode;
  return c;
}

// The (height, width) of a 1- or 2-element size list (a 1-element list is both).
std::optional<std::pair<int64_t, int64_t>> Sides(const std::optional<std::vector<int64_t>>& v) {
  if (!v) return std::nullopt;
  if (v->size() == 1) return std::pair{(*v)[0], (*v)[0]};
  if (v->size() == 2) return std::pair{(*v)[0], (*v)[1]};
  return std::nullopt;
}

// The single value of a 1- or 2-element size list with equal elements.
std::optional<int64_t> Square(const std::optional<std::vector<int64_t>>& v) {
  const auto sides = Sides(v);
  if (sides && sides->first == sides->second) return sides->first;
  return std::nullopt;
}

std::string ListText(const std::optional<std::vector<int64_t>>& v) {
  return v ? ShapeToString(*v) : std::string("(not a constant)");
}

// Module path from the inlined call stack: module instance names, without the "SELF" frames
// of methods calling methods of the same module. Sets *leaf to whether the innermost module
// has no submodules.
std::string ModulePath(const Node* n, bool* leaf) {
  *leaf = false;
  auto callstack = n->callstack();
  if (!callstack) return "";
  std::string path;
  c10::ClassTypePtr last;
  for (const auto& entry : (*callstack)->vec()) {
    const auto& info = std::get<2>(entry);
    if (!info) continue;
    last = info->class_type();
    const std::string name = info->instance_name();
    if (name.empty() || name == "SELF") continue;
    path = path.empty() ? name : path + "." + name;
  }
  if (last) {
    *leaf = true;
    for (size_t i = 0; i < last->numAttributes(); ++i) {
      if (last->getAttribute(i)->is_module()) *leaf = false;
    }
  }
  return path;
}

// The TorchScript op mapping, registered against the LayerType enum: the aten ops of each layer
// type (in-place variants included); the activations' ops come from net/activations.cpp. A
// network-layer type without a row here fails tests/integration/layer_registry_test.cpp.
const std::map<std::string, lj::LayerType>& AtenLayerTypes() {
  using T = lj::LayerType;
  static const std::map<std::string, T> kTypes = [] {
    std::map<std::string, T> types = {
        {"aten::conv2d", T::kConv2d},
        {"aten::_convolution", T::kConv2d},
        {"aten::convolution", T::kConv2d},
        {"aten::max_pool2d", T::kMaxPool2d},
        {"aten::avg_pool2d", T::kAvgPool2d},
        {"aten::adaptive_avg_pool2d", T::kAdaptiveAvgPool2d},
        // Over adjacent dims (ReducedAxes); TypeName makes the mean over (H, W) of (N, C, H, W) an
        // adaptive_avgpool2d to 1x1, what ATen's adaptive_avg_pool2d runs for a 1x1 output
        // (MNASNet's and ShuffleNetV2's x.mean([2, 3])).
        {"aten::mean", T::kMean},
        // The L2 norm over adjacent dims (TypeName): F.normalize's x.norm(2, -1, keepdim=True).
        {"aten::norm", T::kNorm},
        {"aten::linear", T::kLinear},
        {"aten::addmm", T::kLinear},
        {"aten::batch_norm", T::kBatchNorm2d},
        {"aten::hardtanh", T::kReLU6},  // only hardtanh(x, 0, 6): see TypeName
        {"aten::hardtanh_", T::kReLU6},
        {"aten::dropout", T::kDropout},
        {"aten::dropout_", T::kDropout},
        {"aten::feature_dropout", T::kDropout},
        {"aten::feature_dropout_", T::kDropout},
        {"aten::add", T::kAdd},
        {"aten::add_", T::kAdd},
        {"aten::mul", T::kMul},
        {"aten::mul_", T::kMul},
        {"aten::cat", T::kCat},
        {"aten::layer_norm", T::kLayerNorm},
        {"aten::contiguous", T::kContiguous},
        // Copies of the whole tensor, forward and backward (SetCopy): Swin's cyclic shift and
        // its padding to whole windows.
        {"aten::roll", T::kContiguous},
        {"aten::pad", T::kContiguous},
        {"aten::constant_pad_nd", T::kContiguous},
        {"aten::bmm", T::kBmm},
        // Only a product of two batches of matrices with equal leading dims (Swin's 4-D
        // q @ k^T); by a 2-D weight or broadcast it stays aten::matmul (MatmulNotBatched).
        {"aten::matmul", T::kBmm},
        // Only a batched matrix product of two operands (MaxViT's attention); any other
        // equation stays aten::einsum (net/einsum_matmul.h).
        {"aten::einsum", T::kBmm},
        // Only a dense embedding of 2-D ids; sparse=True or other ranks get a note (SetEmbedding).
        {"aten::embedding", T::kEmbedding},
        // Along any dim (SetSelect): ViT's class token x[:, 0], Swin's qkv[0].
        {"aten::select", T::kSelect},
    };
    for (const ActivationOp& a : Activations()) {
      for (std::string_view op : a.aten_ops) types.emplace(std::string(op), a.type);
    }
    return types;
  }();
  return kTypes;
}

// Views of the same memory: no layer type, no cost (LayerInstance type "flatten"). Their
// backward passes are views too (the gradient permuted, transposed or reshaped back). Not here:
// select, slice and expand, whose backward passes allocate and fill an input-sized gradient,
// and contiguous, which copies. An op that needs its input contiguous copies a permuted one
// itself (layer_norm after ConvNeXt's permute); that copy is in no measured row.
bool IsViewOp(const std::string& kind) {
  return kind == "aten::flatten" || kind == "aten::view" || kind == "aten::reshape" ||
         kind == "aten::permute" || kind == "aten::transpose" || kind == "aten::t" ||
         kind == "aten::unsqueeze" || kind == "aten::squeeze";
}

// aten::slice(self, dim, start = 0, end = INT64_MAX, step = 1), the `:` of Python indexing
// (ViT's x[:, 0]). PyTorch 1.13 runs it in eager training too (x[:, 0] of a tensor that
// requires grad has SliceBackward0 under its SelectBackward0): a view forward, and backward
// slice_backward's zero-filled input-sized gradient plus a copy of the output gradient into
// it, which a select measures (SetSlice). Full: start 0, step 1 and an end at or beyond the
// dim's size (Swin's unpadding x[:, :H, :W] when nothing was padded): a select of a dim of size
// 1. Strided (IsStridedSlice): Swin's patch merging x[..., 0::2, 1::2, :].
struct SliceArgs {
  int64_t dim = 0;  // non-negative
  int64_t start = 0;
  int64_t end = 0;        // clamped to the dim's size
  bool open_end = false;  // end omitted (INT64_MAX)
  int64_t step = 1;
  int64_t size = 0;  // the input's size along dim (traced)
};

std::optional<SliceArgs> Slice(const Node* n) {
  if (std::string(n->kind().toQualString()) != "aten::slice" || n->inputs().size() != 5) {
    return std::nullopt;
  }
  const std::optional<std::vector<int64_t>> sizes = ConcreteSizes(n->input(0));
  const auto dim = Int(n->input(1));
  if (!sizes || !dim) return std::nullopt;
  const auto rank = static_cast<int64_t>(sizes->size());
  SliceArgs a;
  a.dim = *dim < 0 ? *dim + rank : *dim;
  if (a.dim < 0 || a.dim >= rank) return std::nullopt;
  a.size = (*sizes)[static_cast<size_t>(a.dim)];
  auto int_or = [](const Value* v, int64_t none) -> std::optional<int64_t> {
    if (v->type()->kind() == c10::TypeKind::NoneType) return none;
    return Int(v);
  };
  const auto start = int_or(n->input(2), 0);
  auto end = int_or(n->input(3), std::numeric_limits<int64_t>::max());
  const auto step = Int(n->input(4));
  const std::optional<std::vector<int64_t>> out = ConcreteSizes(n->output(0));
  if (!end && start && step && out && out->size() == sizes->size()) {
    // An end computed from sizes (Swin's x[:, :H, :W]): where the traced output ends.
    const int64_t taken = (*out)[static_cast<size_t>(a.dim)];
    end = taken == 0 ? *start : *start + (taken - 1) * *step + 1;
  }
  if (!start || !end || !step || *start < 0 || *end < 0 || *step < 1) return std::nullopt;
  a.start = *start;
  a.end = std::min(*end, a.size);
  a.open_end = *end == std::numeric_limits<int64_t>::max();
  a.step = *step;
  return a;
}

// Whether a tensor of shape `small` broadcasts to `big` (every trailing-aligned dim equal or 1)
// without growing it.
bool Broadcasts(const std::vector<int64_t>& small, const std::vector<int64_t>& big) {
  if (small.size() > big.size()) return false;
  for (size_t i = 1; i <= small.size(); ++i) {
    const int64_t s = small[small.size() - i];
    if (s != 1 && s != big[big.size() - i]) return false;
  }
  return true;
}

bool IsFullSlice(const Node* n) {
  const std::optional<SliceArgs> a = Slice(n);
  // Along the batch dim only an omitted end: a constant one was the trace's batch size.
  return a && a->start == 0 && a->step == 1 && a->end == a->size && (a->dim > 0 || a->open_end);
}

// Every step-th element of a dim, from a start below the step, of a dim that the step divides
// (Swin's x[..., 1::2, :, :]): a select of index `start` of that dim viewed as (size / step,
// step), the same zero fill and copy.
bool IsStridedSlice(const Node* n) {
  const std::optional<SliceArgs> a = Slice(n);
  return a && a->dim > 0 && a->step > 1 && a->start < a->step && a->end == a->size &&
         a->size % a->step == 0;
}

// A run [start, end) of a dim after the batch, not all of it (Swin v2's unpadding
// x[:, :H, :W] of windows padded to 8): the same zero fill of the input's size backward, and
// a copy of the run's elements into it (SetSlice).
bool IsPartialSlice(const Node* n) {
  const std::optional<SliceArgs> a = Slice(n);
  return a && a->dim > 0 && a->step == 1 && a->end > a->start && !IsFullSlice(n);
}

// The view of a broadcast operand (aten::expand_as, aten::expand): its input, else v.
const Value* Unexpanded(const Value* v) {
  const std::string kind = v->node()->kind().toQualString();
  return kind == "aten::expand_as" || kind == "aten::expand" ? v->node()->input(0) : v;
}

// Whether `scale` is one value per row of `x`: the same rank (>= 2), equal dims but the last,
// which is 1 (F.normalize's x / norm of (B, heads, L, d) by (B, heads, L, 1)).
bool IsRowScale(const std::vector<int64_t>& x, const std::vector<int64_t>& scale) {
  return x.size() >= 2 && scale.size() == x.size() && scale.back() == 1 && x.back() > 1 &&
         std::equal(x.begin(), x.end() - 1, scale.begin());
}

// x / y with y (seen through an expand) one value per row of x (IsRowScale): a div layer, the
// division by a scale that div measures.
bool IsRowScaleDivision(const Node* n) {
  if (n->inputs().size() != 2) return false;
  const auto x = ConcreteSizes(n->input(0));
  const auto y = ConcreteSizes(Unexpanded(n->input(1)));
  return x && y && IsRowScale(*x, *y);
}

// " (file.py:line)" of the Python source a node came from, or "" when not recorded.
std::string SourceLine(const Node* n) {
  if (auto line = n->sourceRange().file_line_col()) {
    return " (" + std::get<0>(*line) + ":" + std::to_string(std::get<1>(*line)) + ")";
  }
  return "";
}

// The dims [first, last] that a reduction reduces, its dim list at input `dims_input`
// (aten::mean(self, dim, keepdim, dtype): 1; aten::norm(self, p, dim, keepdim): 2), when they
// are adjacent, constant and not every dim; nothing otherwise.
std::optional<std::pair<int64_t, int64_t>> ReducedAxes(const Node* n, size_t dims_input) {
  const auto tensor = n->input(0)->type()->cast<c10::TensorType>();
  if (!tensor || !tensor->dim() || n->inputs().size() <= dims_input) return std::nullopt;
  const auto rank = static_cast<int64_t>(*tensor->dim());
  const auto dims = IntList(n->input(dims_input));
  if (!dims || dims->empty()) return std::nullopt;
  std::set<int64_t> axes;
  for (int64_t d : *dims) axes.insert(d < 0 ? d + rank : d);
  const int64_t first = *axes.begin(), last = *axes.rbegin();
  if (first < 0 || last >= rank || last - first + 1 != static_cast<int64_t>(axes.size()) ||
      static_cast<int64_t>(axes.size()) == rank) {
    return std::nullopt;
  }
  return std::make_pair(first, last);
}

// LayerInstance type of an aten op (see the header), or its qualified name.
std::string TypeName(const Node* n) {
  const std::string kind = n->kind().toQualString();
  if (IsViewOp(kind)) return kFlattenType;
  if (IsFullSlice(n) || IsStridedSlice(n) || IsPartialSlice(n)) {
    return std::string(ToString(lj::LayerType::kSelect));
  }
  if (kind == "aten::expand_as" || kind == "aten::expand") {
    // A view whose every use is a product or division by it (IsRowScaleDivision): the measured
    // mul or div broadcasts its scale and sums its gradient back, the expand's backward.
    bool feeds_scale = !n->output(0)->uses().empty();
    for (const torch::jit::Use& use : n->output(0)->uses()) {
      const std::string user = TypeName(use.user);
      feeds_scale =
          feeds_scale && use.offset == 1 &&
          (user == ToString(lj::LayerType::kMul) || user == ToString(lj::LayerType::kDiv));
    }
    return feeds_scale ? std::string(kFlattenType) : kind;
  }
  auto it = AtenLayerTypes().find(kind);
  if (it == AtenLayerTypes().end()) return kind;
  if ((kind == "aten::clamp_min" || kind == "aten::clamp_min_") &&
      !n->input(1)->type()->isSubtypeOf(*c10::NumberType::get())) {
    return kind;  // by a tensor: not relu's kernel
  }
  if (kind == "aten::norm") {
    // norm(self, p, dim, keepdim): the L2 norm over adjacent constant dims (ReducedAxes); other
    // orders, every dim, or a dtype stay unmapped.
    const auto p = Double(n->input(1));
    const bool l2 = p && *p == 2.0;
    return l2 && n->inputs().size() == 4 && ReducedAxes(n, 2) ? std::string(ToString(it->second))
                                                              : kind;
  }
  if (kind == "aten::hardtanh" || kind == "aten::hardtanh_") {
    auto lo = Double(n->input(1));
    auto hi = Double(n->input(2));
    if (!(lo && hi && *lo == 0.0 && *hi == 6.0)) return kind;
  }
  // x * c and x / c with a constant scalar c (a number, or a 0-dim tensor not derived from the
  // input) are scale; a division by a tensor is not.
  if (kind == "aten::mul" || kind == "aten::mul_" || kind == "aten::div" || kind == "aten::div_") {
    const auto self = n->input(0)->type()->cast<c10::TensorType>();
    const auto other = n->input(1)->type()->cast<c10::TensorType>();
    const bool scalar =
        !other ? n->input(1)->type()->isSubtypeOf(*c10::NumberType::get())
               : other->dim() == 0 && n->input(1)->node()->kind() == c10::prim::Constant;
    const bool self_is_tensor = self && self->dim().value_or(0) > 0;
    if (scalar && self_is_tensor && n->inputs().size() == 2)
      return std::string(ToString(lj::LayerType::kScale));
    if (kind == "aten::div" || kind == "aten::div_") {
      return kind == "aten::div" && IsRowScaleDivision(n)
                 ? std::string(ToString(lj::LayerType::kDiv))
                 : kind;
    }
  }
  if (kind == "aten::mean") {
    // Over (H, W) of (N, C, H, W): a pool; over other adjacent dims and with no dtype: a mean;
    // otherwise (every dim, dims not adjacent or not constant, a dtype) unmapped.
    const auto axes = ReducedAxes(n, 1);
    if (!axes) return kind;
    if (n->input(0)->type()->cast<c10::TensorType>()->dim() == 4 &&
        *axes == std::pair<int64_t, int64_t>(2, 3)) {
      return std::string(ToString(lj::LayerType::kAdaptiveAvgPool2d));
    }
    const bool dtype =
        n->inputs().size() >= 4 && n->input(3)->type()->kind() != c10::TypeKind::NoneType;
    return dtype ? kind : std::string(ToString(it->second));
  }
  if (kind == "aten::_convolution" || kind == "aten::convolution") {
    auto transposed = Bool(n->input(6));
    if (!transposed || *transposed) return "aten::conv_transpose2d";
  }
  if (it->second == lj::LayerType::kConv2d && n->input(1)->type()->cast<c10::TensorType>() &&
      n->input(1)->type()->cast<c10::TensorType>()->dim() != 4) {
    return kind;  // conv1d / conv3d through the generic convolution ops
  }
  return std::string(ToString(it->second));
}

// The shape of each traced value at a second batch size (BatchScaling), keyed by the value of
// the first trace.
using SecondShapes = std::unordered_map<const Value*, TracedLayout>;

// The shapes of the first trace (at trace_batch) scaled to batch_size. With the shapes of a
// second trace at trace_batch + 1, every dim that changes between the two is a linear function
// of the batch, size = offset + per_sample * batch: dim 0 of a batch-first tensor, dim 1 of
// nn.MultiheadAttention's (L, N, E), the N x heads of its (N x heads, L, L) scores, the
// N x H x W rows of a linear on channels-last pixels. Where a dim does not fit (it shrinks as
// the batch grows), only a dim 0 equal to trace_batch is rescaled; the shape is unresolved if
// dim 0 is not that.
class BatchScaling {
 public:
  BatchScaling(int64_t trace_batch, int64_t batch_size, const SecondShapes* second)
      : trace_batch_(trace_batch), batch_size_(batch_size), second_(second) {}

  // Sets *resolved to whether the batch dims are known (always, for a trace at batch_size).
  std::vector<int64_t> Scale(const Value* v, std::vector<int64_t> shape, bool* resolved) const {
    *resolved = true;
    if (trace_batch_ == batch_size_) return shape;  // traced at the batch size: exact
    if (second_) {
      auto it = second_->find(v);
      if (it != second_->end() && it->second.sizes.size() == shape.size()) {
        std::vector<int64_t> out = shape;
        bool fits = true;
        for (size_t d = 0; d < shape.size() && fits; ++d) {
          const int64_t per_sample = it->second.sizes[d] - shape[d];  // the batches differ by 1
          if (per_sample == 0) continue;
          const int64_t offset = shape[d] - per_sample * trace_batch_;
          fits = per_sample > 0 && offset >= 0;
          out[d] = offset + per_sample * batch_size_;
        }
        if (fits) return out;
      }
    }
    // Batch-first, as far as one trace can tell.
    *resolved = !shape.empty() && shape[0] == trace_batch_;
    if (*resolved) shape[0] = batch_size_;
    return shape;
  }

  int64_t trace_batch() const { return trace_batch_; }

  // Whether `v` has the same sizes in both traces (false without a second trace).
  bool SameAtBothBatches(const Value* v) const {
    if (!second_) return false;
    auto it = second_->find(v);
    const std::optional<std::vector<int64_t>> sizes = ConcreteSizes(v);
    return it != second_->end() && sizes && it->second.sizes == *sizes;
  }

  // The memory layout of `v` at a batch > 1 (the second trace's), or at the first trace's batch
  // when there is no second trace (which is then batch_size); nullopt if not recorded.
  std::optional<TracedLayout> LayoutBeyondOne(const Value* v) const {
    if (!second_) return Layout(v);
    auto it = second_->find(v);
    if (it == second_->end()) return std::nullopt;
    return it->second;
  }

 private:
  int64_t trace_batch_;
  int64_t batch_size_;
  const SecondShapes* second_;
};

// The shapes of `second`'s values keyed by the values of `first`: two traces of one graph at
// batch sizes b and b + 1, paired node by node. Empty where their structures differ (control
// flow that depends on the batch size); the graph is then traced at the batch size itself.
SecondShapes PairShapes(const torch::jit::Graph& first, const torch::jit::Graph& second) {
  SecondShapes shapes;
  auto a = first.nodes().begin();
  auto b = second.nodes().begin();
  for (; a != first.nodes().end() && b != second.nodes().end(); ++a, ++b) {
    if (a->kind() != b->kind() || a->outputs().size() != b->outputs().size()) return {};
    for (size_t i = 0; i < a->outputs().size(); ++i) {
      if (auto layout = Layout(b->output(i))) shapes[a->output(i)] = *layout;
    }
  }
  if (a != first.nodes().end() || b != second.nodes().end()) return {};
  for (size_t i = 0; i < first.inputs().size() && i < second.inputs().size(); ++i) {
    if (auto layout = Layout(second.inputs()[i])) shapes[first.inputs()[i]] = *layout;
  }
  return shapes;
}

class GraphReader {
 public:
  GraphReader(std::string file, const BatchScaling& scaling,
              std::unordered_set<const void*> buffers)
      : file_(std::move(file)), scaling_(scaling), buffers_(std::move(buffers)) {}

  std::vector<LayerInstance> Read(const torch::jit::Graph& graph) {
    derived_.insert(graph.inputs()[1]);
    std::vector<LayerInstance> layers;
    // Layers (indices) consuming each derived tensor other than the network input, which
    // needs no gradient.
    std::vector<std::pair<const Value*, std::vector<size_t>>> consumers;
    std::map<const Value*, size_t> consumer_index;
    for (const Node* n : graph.nodes()) {
      bool from_input = false;
      for (const Value* in : n->inputs()) from_input = from_input || derived_.count(in) > 0;
      if (!from_input || IsShapeOnlyFactory(n)) {
        // A constant of the step. Fixed (no gradient) when it is a buffer, a shape-only
        // factory's tensor, or computed from fixed tensors alone (Swin's mask); a parameter, or
        // what freezing folded from parameters (MaxViT's gathered relative-position bias, whose
        // provenance folding loses), is not.
        bool fixed = from_input || (n->kind() == c10::prim::Constant && n->outputs().size() == 1 &&
                                    IsBuffer(n->output(0)));
        if (!fixed && n->kind() != c10::prim::Constant) {
          fixed = true;
          for (const Value* in : n->inputs()) {
            if (IsTensor(in) && !fixed_.count(in)) fixed = false;
          }
        }
        if (fixed) {
          for (const Value* out : n->outputs()) fixed_.insert(out);
        }
        continue;
      }
      for (const Value* out : n->outputs()) {
        if (CarriesTensors(out)) derived_.insert(out);
      }
      if (n->kind().is_aten() && n->outputs().size() == 1 && !IsTensor(n->output(0))) {
        SplitBackward(n);
        continue;
      }
      if (!n->kind().is_aten() || n->outputs().empty() || !IsTensor(n->output(0))) continue;
      layers.push_back(Layer(n));
      std::unordered_set<const Value*> seen;
      // The tensors of a list built in the graph (cat's inputs) are consumed by this layer too.
      std::vector<const Value*> operands;
      for (const Value* in : n->inputs()) {
        if (!IsTensor(in) && in->node()->kind() == c10::prim::ListConstruct) {
          for (const Value* item : in->node()->inputs()) operands.push_back(item);
        } else {
          operands.push_back(in);
        }
      }
      for (const Value* in : operands) {
        if (in == graph.inputs()[1] || !derived_.count(in) || !IsTensor(in)) continue;
        if (!seen.insert(in).second) continue;  // x * x: one consumer
        auto [it, inserted] = consumer_index.emplace(in, consumers.size());
        if (inserted) consumers.push_back({in, {}});
        consumers[it->second].second.push_back(layers.size() - 1);
      }
    }
    // The backward pass of a chunk or split concatenates its parts' gradients into one tensor of
    // the input's shape (split_backward): a `cat` charged to the last consumer of a part.
    for (const auto& [parts, cat] : splits_) {
      std::optional<size_t> last;
      for (const Value* part : parts) {
        auto it = consumer_index.find(part);
        if (it == consumer_index.end()) continue;
        const size_t user = consumers[it->second].second.back();
        last = last ? std::max(*last, user) : user;
      }
      if (last) layers[*last].grad_accumulations.push_back(cat);
    }
    // Gradient accumulation where a tensor feeds k > 1 layers: k - 1 element-wise adds of its
    // shape in the backward pass, charged to the last consumer.
    for (const auto& [value, users] : consumers) {
      if (users.size() < 2) continue;
      bool resolved = false;
      const std::vector<int64_t> shape = scaling_.Scale(value, Shape(value, file_), &resolved);
      if (!resolved) continue;
      const auto acc = ElementwiseConfig(lj::LayerType::kAdd, shape);
      if (!acc || !IsValid(*acc)) continue;
      for (size_t i = 1; i < users.size(); ++i) {
        layers[users.back()].grad_accumulations.push_back(*acc);
      }
    }
    return layers;
  }

 private:
  // aten::chunk / split / split_with_sizes / unbind of a derived tensor into a list unpacked in
  // the graph: its parts are views (free in the forward pass); their gradients are
  // concatenated in the backward pass, recorded in splits_ as a cat of the input's shape.
  void SplitBackward(const Node* n) {
    const std::string kind = n->kind().toQualString();
    if (kind != "aten::chunk" && kind != "aten::split" && kind != "aten::split_with_sizes" &&
        kind != "aten::unsafe_chunk" && kind != "aten::unsafe_split" && kind != "aten::unbind") {
      return;
    }
    const Value* list = n->output(0);
    const Node* unpack = nullptr;
    for (const torch::jit::Use& use : list->uses()) {
      if (use.user->kind() == c10::prim::ListUnpack) unpack = use.user;
    }
    if (!unpack || !IsTensor(n->input(0)) || unpack->outputs().size() < 2) return;
    bool resolved = false;
    const std::vector<int64_t> shape =
        scaling_.Scale(n->input(0), Shape(n->input(0), file_ + ": " + kind), &resolved);
    auto cat = resolved ? ElementwiseConfig(lj::LayerType::kCat, shape) : std::nullopt;
    if (!cat) return;
    cat->inputs = static_cast<int64_t>(unpack->outputs().size());
    if (cat->inputs > cat->in_channels) cat->inputs = cat->in_channels;
    if (!IsValid(*cat)) return;
    std::vector<const Value*> parts(unpack->outputs().begin(), unpack->outputs().end());
    splits_.emplace_back(std::move(parts), *cat);
  }

  // The operand whose shape is reported as the layer input; nullptr if there is none.
  const Value* MainInput(const Node* n, const std::string& type,
                         const std::vector<int64_t>& out_shape) const {
    if (n->kind() == c10::Symbol::fromQualString("aten::addmm")) return n->input(1);
    const Value* first = nullptr;
    for (const Value* in : n->inputs()) {
      if (!derived_.count(in)) continue;
      // A tensor list (aten::cat): its first element.
      if (!IsTensor(in) && in->node()->kind() == c10::prim::ListConstruct &&
          in->node()->inputs().size() > 0) {
        in = in->node()->input(0);
      }
      if (!IsTensor(in)) continue;
      if (!first) first = in;
      if ((type == "add" || type == "mul") && Shape(in, file_) == out_shape) return in;
    }
    return first;
  }

  int64_t Numel(const Value* v) const {
    if (IsNone(v) || !IsTensor(v)) return 0;
    return NumElements(Shape(v, file_));
  }

  // Whether a constant tensor is one of the module's buffers (the same storage: freezing and
  // tracing keep the tensors they do not fold).
  bool IsBuffer(const Value* v) const {
    if (!IsTensor(v)) return false;
    const std::optional<c10::IValue> iv = torch::jit::toIValue(v);
    return iv && iv->isTensor() && iv->toTensor().defined() &&
           buffers_.count(iv->toTensor().data_ptr()) > 0;
  }

  // x.new_zeros(size) and its kin: a tensor that takes only x's dtype and device, not its
  // values, and needs no gradient. With a size that does not grow with the batch (both traces
  // agree), it and what is computed from it alone are constants of the step, like ops on
  // parameters: Swin's shifted-window attention mask, built each forward pass from a
  // (H, W) new_zeros by slice fills, sub, ne and masked_fill (about 0.15 M elements per block,
  // no backward pass). Not counted; a batch-sized one stays an op of the network.
  bool IsShapeOnlyFactory(const Node* n) const {
    static const std::set<std::string> kFactories = {"aten::new_zeros", "aten::new_ones",
                                                     "aten::new_full", "aten::new_empty"};
    return kFactories.count(n->kind().toQualString()) > 0 && n->outputs().size() == 1 &&
           scaling_.SameAtBothBatches(n->output(0));
  }

  // The scaled shapes of a matmul's or bmm's two operands, or of the batched matmul an einsum
  // of two operands is (net/einsum_matmul.h); false when either is not a tensor with recorded
  // sizes or the einsum is no batched matmul (the reason in *why). *resolved: whether the
  // batch dims of both are known (BatchScaling).
  bool MatmulOperands(const Node* n, std::vector<int64_t>* a, std::vector<int64_t>* b,
                      bool* resolved, std::string* why = nullptr) const {
    const bool einsum = n->kind() == c10::Symbol::fromQualString("aten::einsum");
    std::vector<const Value*> operands;
    if (einsum && n->inputs().size() >= 2 &&
        n->input(1)->node()->kind() == c10::prim::ListConstruct) {
      for (const Value* v : n->input(1)->node()->inputs()) operands.push_back(v);
    } else if (!einsum) {
      for (const Value* v : n->inputs()) operands.push_back(v);
    }
    if (operands.size() < 2 || (einsum && operands.size() != 2) || !IsTensor(operands[0]) ||
        !IsTensor(operands[1])) {
      if (why && einsum) *why = "not two tensor operands";
      return false;
    }
    const std::optional<std::vector<int64_t>> raw_a = ConcreteSizes(operands[0]);
    const std::optional<std::vector<int64_t>> raw_b = ConcreteSizes(operands[1]);
    if (!raw_a || !raw_b) return false;
    bool resolved_a = false;
    bool resolved_b = false;
    *a = scaling_.Scale(operands[0], *raw_a, &resolved_a);
    *b = scaling_.Scale(operands[1], *raw_b, &resolved_b);
    *resolved = resolved_a && resolved_b;
    if (!einsum) return true;
    const auto iv = torch::jit::toIValue(n->input(0));
    std::string reason;
    const std::optional<lj::EinsumMatmulShapes> shapes =
        iv && iv->isString() ? lj::EinsumAsBatchedMatmul(iv->toStringRef(), *a, *b, &reason)
                             : std::nullopt;
    if (!shapes) {
      if (why) *why = reason.empty() ? "the equation is not a constant string" : reason;
      return false;
    }
    *a = shapes->a;
    *b = shapes->b;
    return true;
  }

  // Why an aten::matmul (or aten::einsum) is not a batched matmul of two (b1, ..., bj, n, k) x
  // (b1, ..., bj, k, m) operands, naming the op, its operands' shapes (at the batch size) and
  // its source line; "" when it is one (then it maps to bmm).
  std::string MatmulNotBatched(const Node* n) const {
    std::vector<int64_t> a;
    std::vector<int64_t> b;
    bool resolved = false;
    std::string why;
    if (!MatmulOperands(n, &a, &b, &resolved, &why)) {
      if (why.empty()) why = "an operand is not a tensor with recorded sizes";
    } else if (a.size() < 3 || b.size() < 3) {
      why = "a product with a " + std::to_string(std::min(a.size(), b.size())) +
            "-D operand (a weight or a vector) is not modelled; only batches of matrices of "
            "equal leading dims map to bmm";
    } else if (a.size() != b.size() ||
               !std::equal(a.begin(), a.end() - 2, b.begin(), b.end() - 2)) {
      why =
          "the leading dims broadcast; only batches of matrices of equal leading dims map to "
          "bmm";
    }
    if (why.empty()) return "";
    const std::string where = SourceLine(n);
    const std::string shapes = a.empty() && b.empty()
                                   ? std::string()
                                   : " of " + ShapeToString(a) + " and " + ShapeToString(b);
    return std::string(n->kind().toQualString()) + shapes + where + ": " + why;
  }

  // bmm(self, mat2) or a batched matmul(self, other): (b1, ..., bj, n, k) x (b1, ..., bj, k, m)
  // -> batch_size b1 x ... x bj, rows n, inner_size k, columns m, at the batch size.
  void SetBatchedMatmul(LayerInstance* li, const Node* n) const {
    std::vector<int64_t> a;
    std::vector<int64_t> b;
    bool resolved = false;
    if (!MatmulOperands(n, &a, &b, &resolved) || a.size() < 3 || b.size() != a.size()) {
      li->note = "operands are not two batches of matrices of one rank";
      return;
    }
    if (!resolved) {
      li->note = "batch dims unknown: operands " + ShapeToString(a) + " and " + ShapeToString(b) +
                 " traced at batch " + std::to_string(scaling_.trace_batch()) +
                 " only; only dim 0 is rescaled to the batch size";
      return;
    }
    LayerConfig c;
    c.type = lj::LayerType::kBmm;
    c.batch_size = NumElements(std::vector<int64_t>(a.begin(), a.end() - 2));
    c.rows = a[a.size() - 2];
    c.inner_size = a.back();
    c.columns = b.back();
    SetConfig(li, c);
  }

  // embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse): weight (V, D) looked up
  // by int64 indices (N, S) into (N, S, D) -> batch_size N, sequence_length S (at the batch size),
  // num_embeddings V, embedding_dim D. The weight is the layer's one parameter tensor. A sparse
  // embedding (a sparse weight gradient), indices of another rank or unknown batch dims: no
  // config, and a note naming the op, its operands and its source line.
  void SetEmbedding(LayerInstance* li, const Node* n, const std::string& what,
                    bool indices_resolved) const {
    const std::vector<int64_t> w = Shape(n->input(0), what);
    if (w.size() == 2) {
      li->parameter_count = w[0] * w[1];
      li->parameter_tensors = 1;
    }
    const std::optional<bool> sparse =
        n->inputs().size() > 4 ? Bool(n->input(4)) : std::optional<bool>(false);
    std::string why;
    if (w.size() != 2) {
      why = "the weight is not 2-D";
    } else if (!sparse) {
      why = "sparse is not a constant";
    } else if (*sparse) {
      why =
          "sparse=True (a sparse weight gradient) is not modelled; only dense embeddings map to "
          "embedding";
    } else if (li->input_shape.size() != 2) {
      why = "indices of rank " + std::to_string(li->input_shape.size()) +
            " are not modelled; only 2-D (batch, sequence_length) ids map to embedding";
    } else if (!indices_resolved) {
      why = "batch dims unknown: traced at batch " + std::to_string(scaling_.trace_batch()) +
            " only; only dim 0 is rescaled to the batch size";
    }
    if (!why.empty()) {
      li->note = std::string(n->kind().toQualString()) + " of weight " + ShapeToString(w) +
                 " and indices " + ShapeToString(li->input_shape) + SourceLine(n) + ": " + why;
      return;
    }
    LayerConfig c;
    c.type = lj::LayerType::kEmbedding;
    c.batch_size = li->input_shape[0];
    c.sequence_length = li->input_shape[1];
    c.num_embeddings = w[0];
    c.embedding_dim = w[1];
    SetConfig(li, c);
  }

  // aten::select(self, dim, index) along dim d: a select config with the product of the dims
  // before d as its batch_size, d as in_channels and the product of the dims after it as width.
  // ViT's class token, dim 1 of (N, T, D): (N, T, 1, D). Swin's q, k, v = qkv[0], qkv[1],
  // qkv[2] of (3, B x windows, heads, L, d): (1, 3, 1, B x windows x heads x L x d), each
  // zero-filling the whole input in its backward pass. A dim that is not a constant: a note.
  static void SetSelect(LayerInstance* li, const Node* n) {
    const std::vector<int64_t>& shape = li->input_shape;
    const auto rank = static_cast<int64_t>(shape.size());
    const std::optional<int64_t> dim = Int(n->input(1));
    const int64_t d = dim && *dim < 0 ? *dim + rank : dim.value_or(0);
    if (!dim || d < 0 || d >= rank) {
      li->note = std::string(n->kind().toQualString()) + " of " + ShapeToString(shape) +
                 SourceLine(n) + ": " +
                 (dim ? "dim " + std::to_string(*dim) + " is out of range"
                      : std::string("dim is not a constant"));
      return;
    }
    SetConfig(li, lj::DimsSplitConfig(lj::LayerType::kSelect, shape, d, d));
  }

  // aten::mean over the adjacent dims [a, b] (ReducedAxes): a mean config with the product of the
  // dims before a as its batch_size, of a..b as in_channels, of the dims after b as width; a
  // text classifier's mean over the sequence of (N, S, D) is (N, S, 1, D).
  // aten::norm (TypeName: p = 2) the same way as a norm config: F.normalize's norm over the
  // last dim of (B, heads, L, d) is (B x heads x L, d, 1, 1).
  static void SetReduction(LayerInstance* li, const Node* n, lj::LayerType type) {
    const std::vector<int64_t>& shape = li->input_shape;
    const auto axes = ReducedAxes(n, type == lj::LayerType::kNorm ? 2 : 1);
    if (!axes || static_cast<int64_t>(shape.size()) <= axes->second) {
      li->note = "the reduced dims are not adjacent constants";
      return;
    }
    SetConfig(li, lj::DimsSplitConfig(type, shape, axes->first, axes->second));
  }

  // roll(self, shifts, dims) and constant padding (pad(self, pad, "constant", value),
  // constant_pad_nd): a copy of the output's elements forward, and backward a copy of the
  // gradient (rolled back, or the unpadded part cloned; measured: a zero pad clones in both
  // passes in PyTorch 1.13). A contiguous config of height 1: its transpose is the identity,
  // a plain copy in runs of in_channels x width elements, (N, d1 x ... x d(k-1), 1, dk).
  // Padding modes other than constant are not modelled.
  static void SetCopy(LayerInstance* li, const Node* n) {
    const std::string kind = n->kind().toQualString();
    if (kind == "aten::pad") {
      const auto mode = torch::jit::toIValue(n->input(2));
      if (!mode || !mode->isString() || mode->toStringRef() != "constant") {
        li->note = "padding mode " +
                   (mode && mode->isString() ? "'" + mode->toStringRef() + "'" : std::string("?")) +
                   " is not modelled (only constant)" + SourceLine(n);
        return;
      }
    }
    const std::vector<int64_t>& shape = li->output_shape;
    if (shape.size() < 2) {
      li->note = "output " + ShapeToString(shape) + " has fewer than 2 dims";
      return;
    }
    LayerConfig c = lj::DimsSplitConfig(lj::LayerType::kContiguous, shape, 1,
                                        static_cast<int64_t>(shape.size()) - 2);
    SetConfig(li, c);
  }

  // A full aten::slice (IsFullSlice) of (N, d1, ..., dk): a select of one channel of
  // (N, 1, 1, d1 x ... x dk) (no dim in [first, last] = [1, 0]), the same zero fill and copy of
  // every element. A strided one (IsStridedSlice) of dim d with step s: a select of one of s
  // channels of (d0 x ... x d(d-1) x size / s, s, 1, d(d+1) x ... x dk). A partial one
  // (IsPartialSlice) taking t of size elements of dim d: a select of one of c channels of
  // (d0 x ... x d(d-1), c, 1, size / c x d(d+1) x ... x dk), c the divisor of size nearest
  // size / t: the zero fill is exact, the copy exact when t divides size (Swin v2's 28 of 32
  // rows: c = 1, a copy of 32 rows for 28).
  static void SetSlice(LayerInstance* li, const Node* n) {
    const std::vector<int64_t>& shape = li->input_shape;
    if (shape.empty()) {
      li->note = "a slice of a 0-dim tensor";
      return;
    }
    const std::optional<SliceArgs> a = Slice(n);
    if (!a || IsFullSlice(n)) {
      SetConfig(li, lj::DimsSplitConfig(lj::LayerType::kSelect, shape, 1, 0));
      return;
    }
    const auto d = static_cast<size_t>(a->dim);
    const int64_t size = shape[d];
    const int64_t channels = a->step > 1 ? a->step : NearestDivisor(size, a->end - a->start);
    int64_t outer = a->step > 1 ? size / a->step : 1;
    for (size_t i = 0; i < d; ++i) outer *= shape[i];
    int64_t inner = a->step > 1 ? 1 : size / channels;
    for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
    SetConfig(li, lj::DimsSplitConfig(lj::LayerType::kSelect, {outer, channels, inner}, 1, 1));
  }

  // The divisor c of size whose size / c is nearest `taken` (by ratio); 1 for a size above
  // 2^24, whose divisors are not searched (the search is over pairs i, size / i up to sqrt).
  static int64_t NearestDivisor(int64_t size, int64_t taken) {
    int64_t best = 1;
    if (size > (int64_t{1} << 24) || taken <= 0) return best;
    auto distance = [&](int64_t c) {
      return std::abs(std::log(static_cast<double>(size) / c / static_cast<double>(taken)));
    };
    for (int64_t i = 1; i * i <= size; ++i) {
      if (size % i != 0) continue;
      for (const int64_t c : {i, size / i}) {
        if (distance(c) < distance(best)) best = c;
      }
    }
    return best;
  }

  LayerInstance Layer(const Node* n) {
    const std::string kind = n->kind().toQualString();
    LayerInstance li;
    SetLayerType(li, TypeName(n));
    if (kind == "aten::matmul" || kind == "aten::einsum") {
      // By a weight, with broadcast leading dims or another equation: no layer type, the
      // reason in the note.
      const std::string why = MatmulNotBatched(n);
      if (!why.empty()) {
        SetLayerType(li, kind);
        li.note = why;
      }
    }
    const std::optional<lj::LayerType> lt = li.layer_type;
    li.source = kind;
    bool leaf = false;
    std::string path = ModulePath(n, &leaf);
    if (path.empty() || !leaf) path = path.empty() ? li.type : path + "." + li.type;
    const int uses = ++path_uses_[path];
    li.path = uses == 1 ? path : path + "#" + std::to_string(uses);
    const std::string what = file_ + ": " + kind + " at " + li.path;

    const std::vector<int64_t> out_raw = Shape(n->output(0), what);
    const Value* main_input = MainInput(n, li.type, out_raw);
    const std::vector<int64_t> in_raw =
        main_input ? Shape(main_input, what) : std::vector<int64_t>();
    bool input_resolved = true;
    bool output_resolved = true;
    li.input_shape = main_input ? scaling_.Scale(main_input, in_raw, &input_resolved) : in_raw;
    li.output_shape = scaling_.Scale(n->output(0), out_raw, &output_resolved);

    int64_t kernel_elements = 0;
    int64_t groups = 1;
    if (lt == lj::LayerType::kConv2d) {
      const bool generic = kind != "aten::conv2d";
      const std::vector<int64_t> w = Shape(n->input(1), what);  // [out, in/groups, kh, kw]
      li.parameter_count = NumElements(w) + Numel(n->input(2));
      li.parameter_tensors = 1 + (IsNone(n->input(2)) ? 0 : 1);
      kernel_elements = w[2] * w[3];
      groups = Int(n->input(generic ? 8 : 6)).value_or(1);
      const auto stride = IntList(n->input(3));
      const auto padding = IntList(n->input(4));
      const auto dilation = IntList(n->input(5));
      const std::optional<std::pair<int64_t, int64_t>> padding_sides = Sides(padding);
      std::string note;
      if (!Square(stride))
        note = "stride " + ListText(stride) + " is not square";
      else if (!padding_sides)
        note = "padding " + ListText(padding) + " is not a size";
      else if (Square(dilation).value_or(0) != 1)
        note = "dilation " + ListText(dilation) + " is not modelled";
      else if (in_raw.size() != 4)
        note = "input is not 4-D";
      if (note.empty()) {
        LayerConfig c;
        c.type = lj::LayerType::kConv2d;
        c.batch_size = li.input_shape[0];
        c.in_channels = in_raw[1];
        c.out_channels = w[0];
        c.height = in_raw[2];
        c.width = in_raw[3];
        c.kernel_size = w[2];
        c.kernel_width = w[3];
        c.stride = *Square(stride);
        c.padding = padding_sides->first;
        c.padding_width = padding_sides->second;
        c.groups = groups;
        c.bias = !IsNone(n->input(2));
        SetConfig(&li, c);
      } else {
        li.note = note;
      }
    } else if (lt == lj::LayerType::kMaxPool2d || lt == lj::LayerType::kAvgPool2d) {
      const auto kernel = IntList(n->input(1));
      auto stride = IntList(n->input(2));
      if (stride && stride->empty()) stride = kernel;
      const auto padding = IntList(n->input(3));
      if (kernel) kernel_elements = NumElements(*kernel) * (kernel->size() == 1 ? (*kernel)[0] : 1);
      if (lt == lj::LayerType::kMaxPool2d) {
        const auto dilation = IntList(n->input(4));
        const auto ceil_mode = Bool(n->input(5));
        std::string note;
        if (!Square(kernel))
          note = "kernel_size " + ListText(kernel) + " is not square";
        else if (!Square(stride))
          note = "stride " + ListText(stride) + " is not square";
        else if (!Square(padding))
          note = "padding " + ListText(padding) + " is not square";
        else if (Square(dilation).value_or(0) != 1)
          note = "dilation " + ListText(dilation) + " is not modelled";
        else if (!ceil_mode)
          note = "ceil_mode is not a constant";
        else if (in_raw.size() != 4)
          note = "input is not 4-D";
        if (note.empty()) {
          SetConfig(&li, SquarePoolConfig(lj::LayerType::kMaxPool2d, li.input_shape[0], in_raw,
                                          *Square(kernel), *Square(stride), *Square(padding),
                                          *ceil_mode));
        } else {
          li.note = note;
        }
      } else {  // avg_pool2d(self, kernel_size, stride, padding, ceil_mode, count_include_pad,
                //            divisor_override)
        const auto ceil_mode = Bool(n->input(4));
        const auto count_include_pad = Bool(n->input(5));
        std::string note;
        if (!Square(kernel))
          note = "kernel_size " + ListText(kernel) + " is not square";
        else if (!Square(stride))
          note = "stride " + ListText(stride) + " is not square";
        else if (!Square(padding))
          note = "padding " + ListText(padding) + " is not square";
        else if (!ceil_mode)
          note = "ceil_mode is not a constant";
        else if (!count_include_pad.value_or(false))
          note = "count_include_pad=False is not modelled";
        else if (n->inputs().size() > 6 && !IsNone(n->input(6)))
          note = "divisor_override is not modelled";
        else if (in_raw.size() != 4)
          note = "input is not 4-D";
        if (note.empty()) {
          SetConfig(&li, SquarePoolConfig(lj::LayerType::kAvgPool2d, li.input_shape[0], in_raw,
                                          *Square(kernel), *Square(stride), *Square(padding),
                                          *ceil_mode));
        } else {
          li.note = note;
        }
      }
    } else if (lt == lj::LayerType::kAdaptiveAvgPool2d) {
      // aten::mean(self, dim, keepdim, dtype) reaches here only over dims {2, 3} of a 4-D
      // tensor (TypeName): a pool to 1x1.
      const std::optional<int64_t> output_size =
          kind == "aten::mean" ? std::optional<int64_t>(1) : Square(IntList(n->input(1)));
      if (!output_size) {
        li.note = "output size " + ListText(IntList(n->input(1))) + " is not square";
      } else if (in_raw.size() != 4) {
        li.note = "input is not 4-D";
      } else {
        SetConfig(&li, lj::AdaptiveAvgPoolConfig(
                           {li.input_shape[0], in_raw[1], in_raw[2], in_raw[3]}, *output_size));
      }
    } else if (lt == lj::LayerType::kLinear) {
      int64_t in_features = 0;
      int64_t out_features = 0;
      bool bias = false;
      if (kind == "aten::addmm") {  // addmm(bias, input, weight^T)
        const std::vector<int64_t> w = Shape(n->input(2), what);
        in_features = w[0];
        out_features = w[1];
        bias = true;
        li.parameter_count = NumElements(w) + Numel(n->input(0));
        li.parameter_tensors = 2;
      } else {
        const std::vector<int64_t> w = Shape(n->input(1), what);  // [out, in]
        out_features = w[0];
        in_features = w[1];
        bias = !IsNone(n->input(2));
        li.parameter_count = NumElements(w) + Numel(n->input(2));
        li.parameter_tensors = 1 + (bias ? 1 : 0);
      }
      LayerConfig c;
      c.type = lj::LayerType::kLinear;
      c.batch_size = in_features > 0 ? NumElements(li.input_shape) / in_features : 0;
      c.in_features = in_features;
      c.out_features = out_features;
      c.bias = bias;
      SetConfig(&li, c);
    } else if (lt == lj::LayerType::kCat) {
      // cat(tensors, dim) along dim 1 of (N, C, H, W), (N, T, D) (ViT's class token and patches)
      // or (N, F) tensors, whose list is built in the graph (prim::ListConstruct).
      // Along another dim d > 0 (Swin's patch merging along the channels-last -1): the cat
      // along channels of (d0 x ... x d(d-1), dd, 1, d(d+1) x ... x dk), the same runs copied.
      const Node* list = n->input(0)->node();
      const auto dim = Int(n->input(1));
      const auto rank = static_cast<int64_t>(out_raw.size());
      const int64_t d = dim && *dim < 0 ? *dim + rank : dim.value_or(-1);
      const auto inputs = static_cast<int64_t>(list->inputs().size());
      if (list->kind() != c10::prim::ListConstruct) {
        li.note = "the tensor list is not built in the graph";
      } else if (rank < 2) {
        li.note = "output " + ShapeToString(li.output_shape) + " has fewer than 2 dims";
      } else if (!dim || d < 1 || d >= rank) {
        li.note = "cat along dim " + (dim ? std::to_string(*dim) : std::string("?")) +
                  " is not modelled (only along a dim after the batch)";
      } else if (d == 1 && rank <= 4) {
        auto c = ElementwiseConfig(lj::LayerType::kCat, li.output_shape);
        c->inputs = inputs;
        SetConfig(&li, *c);
      } else {
        LayerConfig c = lj::DimsSplitConfig(lj::LayerType::kCat, li.output_shape, d, d);
        c.inputs = inputs;
        SetConfig(&li, c);
      }
    } else if (lt == lj::LayerType::kBatchNorm2d) {
      li.parameter_count = Numel(n->input(1)) + Numel(n->input(2));
      li.parameter_tensors = (IsNone(n->input(1)) ? 0 : 1) + (IsNone(n->input(2)) ? 0 : 1);
      if (in_raw.size() == 4) {
        SetConfig(&li, *ElementwiseConfig(lj::LayerType::kBatchNorm2d, li.input_shape));
      } else {
        li.note = "input " + ShapeToString(li.input_shape) + " is not 4-D";
      }
    } else if (lt == lj::LayerType::kLayerNorm) {
      // layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable): over the last
      // len(normalized_shape) dims of the input, whatever its rank.
      const auto normalized = IntList(n->input(1));
      li.parameter_count = Numel(n->input(2)) + Numel(n->input(3));
      li.parameter_tensors = (IsNone(n->input(2)) ? 0 : 1) + (IsNone(n->input(3)) ? 0 : 1);
      auto c = normalized
                   ? LayerNormConfig(li.input_shape, static_cast<int64_t>(normalized->size()))
                   : std::nullopt;
      if (!normalized) {
        li.note = "normalized_shape is not a constant list";
      } else if (normalized->empty()) {
        li.note = "normalized_shape is empty";
      } else if (!c) {
        li.note = "normalized_shape " + ListText(normalized) + " has more dims than input " +
                  ShapeToString(li.input_shape);
      } else {
        SetConfig(&li, *c);
      }
    } else if (lt == lj::LayerType::kContiguous && kind != "aten::contiguous") {
      SetCopy(&li, n);
    } else if (lt == lj::LayerType::kContiguous) {
      // contiguous(self, memory_format): a copy if the input's layout at a batch > 1 is not
      // contiguous, else the tensor itself (no cost).
      const auto format = n->inputs().size() > 1 ? Int(n->input(1)) : std::optional<int64_t>(0);
      const std::optional<TracedLayout> layout = scaling_.LayoutBeyondOne(n->input(0));
      if (!format || *format != static_cast<int64_t>(c10::MemoryFormat::Contiguous)) {
        li.note = "memory_format other than torch.contiguous_format is not modelled";
      } else if (!layout || layout->strides.empty()) {
        li.note = "the input's strides were not recorded";
      } else if (auto c = ContiguousConfig(li.input_shape, layout->sizes, layout->strides)) {
        SetConfig(&li, *c);
      } else {
        li.no_cost = true;
      }
    } else if (lt == lj::LayerType::kBmm) {
      SetBatchedMatmul(&li, n);
    } else if (lt == lj::LayerType::kMean || lt == lj::LayerType::kNorm) {
      SetReduction(&li, n, *lt);
    } else if (lt == lj::LayerType::kSelect) {
      if (kind == "aten::slice") {
        SetSlice(&li, n);
      } else {
        SetSelect(&li, n);
      }
    } else if (lt == lj::LayerType::kEmbedding) {
      SetEmbedding(&li, n, what, input_resolved);
    } else if (li.type == kFlattenType) {
      li.no_cost = true;
    } else if (lt == lj::LayerType::kDropout) {
      const auto p = Double(n->input(1));
      if (p && *p == 0.0) {
        li.no_cost = true;
      } else if (!p) {
        li.note = "p is not a constant";
      } else {
        SetElementwise(&li, lj::LayerType::kDropout);
        if (li.config) {
          LayerConfig c = *li.config;
          c.p_percent = lj::DropoutPercent(*p);
          SetConfig(&li, c);
        }
      }
    } else if (lt == lj::LayerType::kSoftmax) {
      // softmax(self, dim, dtype) / _softmax(self, dim, half_to_float): modelled over the last
      // dim only (the runner's), as attention and classifiers use it.
      const auto dim = Int(n->input(1));
      const auto rank = static_cast<int64_t>(li.input_shape.size());
      if (!dim) {
        li.note = "softmax dim is not a constant";
      } else if (*dim != -1 && *dim != rank - 1) {
        li.note = "softmax over dim " + std::to_string(*dim) + " of a rank-" +
                  std::to_string(rank) + " tensor; only the last dim is modelled";
      } else {
        SetElementwise(&li, *lt);
      }
    } else if (lt && Describe(*lt).role == LayerRole::kActivation) {
      SetElementwise(&li, *lt);
    } else if (lt == lj::LayerType::kAdd) {
      // add(self, other, alpha): the residual sum of two tensors of one shape; x + c with c a
      // fixed constant (fixed_: a buffer, an attention mask) that broadcasts to x: no gradient
      // for c; x + b with b another constant (a parameter, or folded from parameters) broadcast
      // over x's leading dims: bias_add, decided on x's shape at the batch size (at trace batch
      // 1 a position embedding (1, T, D) has x's shape).
      const Value* bias = nullptr;
      for (size_t i = 0; i < 2 && IsTensor(n->input(0)) && IsTensor(n->input(1)); ++i) {
        if (derived_.count(n->input(1 - i)) && !derived_.count(n->input(i))) bias = n->input(i);
      }
      const std::optional<LayerConfig> bias_add =
          bias ? lj::BiasAddConfig(li.output_shape, Shape(bias, what)) : std::nullopt;
      if (!IsTensor(n->input(1)) || !IsTensor(n->input(0))) {
        li.note = "adds a scalar; only the sum of two tensors is modelled";
      } else if (bias && fixed_.count(bias) &&
                 Broadcasts(Shape(bias, what), Shape(n->output(0), what))) {
        // A constant that is no parameter broadcast over x (Swin's shifted-window mask
        // (1, G, 1, P, P) on the scores (B, G, H, P, P), a causal mask buffer (S, S)): no
        // gradient, so the backward pass only hands x its gradient, as the residual sum's does;
        // the forward pass is costed as that sum of x's shape (it reads a second x-sized tensor,
        // not a small one).
        SetElementwise(&li, lj::LayerType::kAdd);
      } else if (bias && bias_add) {
        SetLayerType(li, lj::ToString(lj::LayerType::kBiasAdd));
        SetConfig(&li, *bias_add);
        // b's elements count as trainable: exact for a position embedding; for a gathered
        // relative-position bias its gradient's size, more than its table's (MaxViT: 7^4
        // against 13^2 per head), which is a constant whose gather was skipped.
        li.parameter_count = Numel(bias);
        li.parameter_tensors = 1;
      } else if (Shape(n->input(0), what) != Shape(n->input(1), what)) {
        li.note = "operands " + ShapeToString(Shape(n->input(0), what)) + " and " +
                  ShapeToString(Shape(n->input(1), what)) +
                  " differ; only equal shapes are modelled";
      } else {
        SetElementwise(&li, lj::LayerType::kAdd);
      }
    } else if (lt == lj::LayerType::kMul || lt == lj::LayerType::kDiv) {
      // The squeeze-excitation product x (N, C, H, W) * scale (N, C, 1, 1), either order; or
      // a per-channel parameter, ConvNeXt's layer scale x * gamma (C, 1, 1), the same
      // element-wise product whose backward reduces x * grad over N, H, W (to C instead of
      // N x C values). The parameter's C elements count as trainable.
      // One value per row of x: x * s, or F.normalize's x / norm.expand_as(x) (TypeName's div:
      // IsRowScaleDivision): a mul or div config with the rows in batch_size x in_channels and
      // the last dim in width, (B, heads, L, d) as (B x heads, L, 1, d), whose scale
      // (B x heads, L, 1, 1) is the norm.
      const bool division = lt == lj::LayerType::kDiv;
      std::string note;
      bool scalar = false;
      bool row_scale = false;
      if (!IsTensor(n->input(0)) || !IsTensor(n->input(1))) {
        note = "multiplies by a scalar; only x * scale (N, C, 1, 1) is modelled";
      } else {
        const std::vector<int64_t> a = Shape(Unexpanded(n->input(0)), what);
        const std::vector<int64_t> b = Shape(Unexpanded(n->input(1)), what);
        const bool a_is_big = a == out_raw;
        const std::vector<int64_t>& big = a_is_big ? a : b;
        const std::vector<int64_t>& small = a_is_big ? b : a;
        const Value* small_value = a_is_big ? n->input(1) : n->input(0);
        const bool se = !division && big == out_raw && big.size() == 4 && small.size() == 4 &&
                        small[0] == big[0] && small[1] == big[1] && small[2] == 1 && small[3] == 1;
        const bool layer_scale =
            !division && big == out_raw && big.size() == 4 && !derived_.count(small_value) &&
            ((small.size() == 3 && small[0] == big[1] && small[1] == 1 && small[2] == 1) ||
             (small.size() == 4 && small[0] == 1 && small[1] == big[1] && small[2] == 1 &&
              small[3] == 1));
        // x * c with c a 0-dim tensor computed from sizes alone (Swin's
        // q * (C // num_heads) ** -0.5): scale, as a constant c is (TypeName).
        scalar = !division && small.empty() && !big.empty() && !derived_.count(small_value);
        row_scale = !se && big == out_raw && IsRowScale(big, small) && (!division || a_is_big);
        if (scalar) {
          SetLayerType(li, lj::ToString(lj::LayerType::kScale));
        } else if (layer_scale) {
          li.parameter_count = big[1];
          li.parameter_tensors = 1;
        } else if (!se && !row_scale) {
          note = "operands " + ShapeToString(a) + " and " + ShapeToString(b) +
                 " are not x (N, C, H, W) * scale (N, C, 1, 1), a per-channel parameter "
                 "(C, 1, 1) or one value per row";
        }
      }
      const auto rank = static_cast<int64_t>(li.input_shape.size());
      if (note.empty() && row_scale && rank >= 2) {
        SetConfig(&li, lj::DimsSplitConfig(division ? lj::LayerType::kDiv : lj::LayerType::kMul,
                                           li.input_shape, rank - 2, rank - 2));
      } else if (note.empty()) {
        SetElementwise(&li, scalar ? lj::LayerType::kScale : lj::LayerType::kMul);
      } else {
        li.note = note;
      }
    }
    // A config at the trace batch would be wrong: where the batch dims of the shape are not
    // known (BatchScaling), an element-wise op gets a note instead.
    const bool resolved = lt == lj::LayerType::kCat ? output_resolved : input_resolved;
    if (li.config && Describe(*lt).family == LayerFamily::kElementwise && !resolved) {
      li.config.reset();
      li.note = "batch dims unknown: input " + ShapeToString(li.input_shape) + " traced at batch " +
                std::to_string(scaling_.trace_batch()) +
                " only; only dim 0 is rescaled to the batch size";
    }
    li.forward_macs = ForwardMacsOf(li, kernel_elements, groups);
    return li;
  }

  // The element-wise config of the layer's (N, C, H, W) or (N, F) input.
  static void SetElementwise(LayerInstance* li, lj::LayerType type) {
    auto c = ElementwiseConfig(type, li->input_shape);
    if (c) {
      SetConfig(li, *c);
    } else {
      li->note = "input " + ShapeToString(li->input_shape) + " has fewer than 2 dims";
    }
  }

  static void SetConfig(LayerInstance* li, const LayerConfig& c) {
    li->config.reset();
    std::string reason;
    if (IsValid(c, &reason)) {
      li->config = c;
    } else {
      li->note = reason;
    }
  }

  std::string file_;
  const BatchScaling& scaling_;
  std::unordered_set<const Value*> derived_;
  // Data pointers of the module's buffers (before freezing made them constants), and the
  // constants that need no gradient (see Read).
  std::unordered_set<const void*> buffers_;
  std::unordered_set<const Value*> fixed_;
  std::map<std::string, int> path_uses_;
  std::vector<std::pair<std::vector<const Value*>, LayerConfig>> splits_;
};

}  // namespace

bool HasTorchScriptMapping(LayerType type) {
  // aten::add of a derived tensor and a broadcast constant (Layer's add branch); aten::div by
  // one value per row (TypeName, IsRowScaleDivision).
  if (type == LayerType::kBiasAdd || type == LayerType::kDiv) return true;
  for (const auto& entry : AtenLayerTypes()) {
    if (entry.second == type) return true;
  }
  return false;
}

std::vector<LayerInstance> LayersFromTorchScript(const std::string& path, const InputSpec& input,
                                                 int64_t batch_size) {
  if (batch_size <= 0) {
    throw ConfigError(path + ": batch_size must be > 0, got " + std::to_string(batch_size));
  }
  CheckInputFile(path, MaxTorchScriptBytes());  // refuses a FIFO before torch opens it
  torch::NoGradGuard no_grad;
  std::shared_ptr<torch::jit::Graph> graph;
  torch::jit::Module module;
  torch::jit::Module frozen;
  try {
    module = torch::jit::load(path);
    module.eval();
    frozen = torch::jit::freeze_module(module);
    graph = frozen.get_method("forward").graph()->copy();
    torch::jit::Inline(*graph);
  } catch (const std::exception& e) {
    throw ConfigError(path + ": not a TorchScript module: " + Message(e));
  }
  if (graph->inputs().size() != 2) {
    throw ConfigError(path + ": forward takes " + std::to_string(graph->inputs().size() - 1) +
                      " inputs; expected one tensor (N, C, H, W) or (N, S) token ids");
  }

  // Batch 1 and 2 first (cheap), which tell the batch dims of every shape apart (BatchScaling);
  // a traced module may have its batch size baked into view/reshape, so retry at batch_size,
  // whose shapes are exact.
  std::string failure;
  auto trace_at = [&](int64_t b) -> std::shared_ptr<torch::jit::Graph> {
    std::vector<int64_t> shape = {b};
    for (int64_t d : input.SampleShape()) shape.push_back(d);
    try {
      // Token ids: int64 zeros, valid for any vocabulary (the shapes do not depend on them).
      const torch::Tensor x =
          input.IsTokenIds() ? torch::zeros(shape, torch::kLong) : torch::randn(shape);
      // A failing op makes the interpreter format a TorchScript traceback. In the frozen graph
      // the inlined call stacks still point at the submodule methods that freeze_module has
      // deleted (LibTorch 1.13), so a failure inside TraceGraph reads freed memory (found by
      // AddressSanitizer; it crashes without ASan too when glibc's tcache is off). A shape error
      // is therefore raised by the loaded module, whose methods are alive, before tracing.
      module.forward({x});
      torch::jit::Stack stack{frozen._ivalue(), x};
      return torch::jit::TraceGraph(graph, stack);
    } catch (const std::exception& e) {
      if (failure.empty()) {
        failure = "forward pass on input " + ShapeToString(shape) + " failed: " + Message(e);
      }
      return nullptr;
    }
  };
  int64_t trace_batch = 1;
  std::shared_ptr<torch::jit::Graph> traced = trace_at(1);
  std::shared_ptr<torch::jit::Graph> second = traced ? trace_at(2) : nullptr;
  SecondShapes second_shapes;
  if (traced && second) second_shapes = PairShapes(*traced, *second);
  // Traces of different structure (control flow on the batch size) say nothing about the
  // batch dims, nor about the ops at batch_size.
  if (second_shapes.empty()) second = nullptr;
  if (!traced || (!second && batch_size != 1)) {
    traced = batch_size != 1 ? trace_at(batch_size) : traced;
    trace_batch = batch_size;
  }
  if (!traced) throw ConfigError(path + ": " + failure);
  const bool two_traces = trace_batch == 1 && second != nullptr;
  const BatchScaling scaling(trace_batch, batch_size, two_traces ? &second_shapes : nullptr);
  std::unordered_set<const void*> buffers;
  for (const torch::Tensor& b : module.buffers()) {
    if (b.numel() > 0) buffers.insert(b.data_ptr());
  }
  std::vector<LayerInstance> layers = GraphReader(path, scaling, std::move(buffers)).Read(*traced);
  MarkFirstTrainableLayer(layers);
  return layers;
}

}  // namespace lj
