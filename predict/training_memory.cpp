#include "predict/training_memory.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "predict/blas_workspace.h"

namespace lj {
namespace {

constexpr int64_t kFloatBytes = 4;
constexpr int64_t kIndexBytes = 8;

int64_t FloatBytes(const std::vector<int64_t>& shape) { return NumElements(shape) * kFloatBytes; }

// What autograd keeps of one layer for its backward (PyTorch 1.13's derivatives.yaml).
struct Kept {
  bool input = false;         // the layer's (main) input tensor
  bool output = false;        // the layer's output tensor
  int64_t extra_bytes = 0;    // tensors of its own: indices, masks, statistics
  int64_t operand_bytes = 0;  // a second operand it keeps (mul: the scale)
  // Transient while its forward or its backward runs, on top of its operands: conv2d's oneDNN
  // copies in the channel-blocked layout it computes in (BlockedBytes). The backward's input
  // copy is the blocked grad_input, or the blocked input for the weight gradient when the
  // input has the channel block or more; a conv2d with fewer input channels reads its
  // plain input, so as the first layer (no grad_input) it copies only grad_output.
  int64_t forward_workspace_bytes = 0;
  int64_t backward_output_copy_bytes = 0;
  int64_t backward_input_copy_bytes = 0;
  bool input_copy_without_input_grad = false;
  // Whether its backward computes a gradient of its input (embedding: none, the ids are
  // integers).
  bool input_grad = true;
};

// oneDNN computes a conv2d in a channel-blocked layout and reorders its operands into it: a
// tensor of C channels takes ceil(C / block) * block channels there (OneDnnChannelBlock).
// Measured per conv2d, c10 allocations counted and VmHWM (JOURNAL.md, 2026-12-03): the forward
// copies its output, and with >= block input channels its input too (the larger of the two is
// counted); the backward copies grad_output and grad_input (or the input).
int64_t BlockedBytes(const std::vector<int64_t>& shape, int64_t block) {
  if (shape.size() < 2 || shape[1] <= 0) return FloatBytes(shape);
  const int64_t channels = shape[1];
  const int64_t padded = (channels + block - 1) / block * block;
  return FloatBytes(shape) / channels * padded;
}

// The largest parameter tensor of a layer: the weight of conv2d and linear (the parameters
// less the bias of out_channels / out_features), a batchnorm2d's weight (= its bias).
int64_t LargestParameterTensorBytes(const LayerInstance& layer) {
  if (layer.parameter_tensors <= 0) return 0;
  int64_t elements = layer.parameter_count / layer.parameter_tensors;
  if (layer.config && layer.layer_type && layer.config->bias) {
    if (*layer.layer_type == LayerType::kConv2d) {
      elements = layer.parameter_count - layer.config->out_channels;
    } else if (*layer.layer_type == LayerType::kLinear) {
      elements = layer.parameter_count - layer.config->out_features;
    }
  }
  return elements * kFloatBytes;
}

Kept KeptFor(const LayerInstance& layer, int64_t block) {
  Kept k;
  if (!layer.layer_type || layer.no_cost) return k;
  const int64_t out_elements = NumElements(layer.output_shape);
  const int64_t in_elements = NumElements(layer.input_shape);
  const int64_t channels = layer.input_shape.size() >= 2 ? layer.input_shape[1] : 1;
  switch (*layer.layer_type) {
    case LayerType::kConv2d:  // input (for the weight gradient) and the weight (a parameter)
      k.input = true;
      k.forward_workspace_bytes = BlockedBytes(layer.output_shape, block);
      if (channels >= block) {
        k.forward_workspace_bytes =
            std::max(k.forward_workspace_bytes, BlockedBytes(layer.input_shape, block));
      }
      k.backward_output_copy_bytes = BlockedBytes(layer.output_shape, block);
      k.backward_input_copy_bytes = BlockedBytes(layer.input_shape, block);
      // A first layer reads its plain input when it has fewer channels than the block, except
      // on AVX2 (block 8) with 1 or 2 channels, where oneDNN still copies it (3 reads plain;
      // measured on Zen 3, JOURNAL.md 2026-12-03 second session).
      k.input_copy_without_input_grad = channels >= block || (block == 8 && channels < 3);
      break;
    case LayerType::kLinear:
    case LayerType::kAvgPool2d:
    case LayerType::kAdaptiveAvgPool2d:
    case LayerType::kReLU6:  // hardtanh_backward(grad, self)
    case LayerType::kHardswish:
    case LayerType::kHardsigmoid:
      k.input = true;
      break;
    case LayerType::kMaxPool2d:  // input and int64 indices of the output's size
      k.input = true;
      k.extra_bytes = out_elements * kIndexBytes;
      break;
    case LayerType::kBatchNorm2d:  // input, save_mean and save_invstd per channel
      k.input = true;
      k.extra_bytes = 2 * channels * kFloatBytes;
      break;
    case LayerType::kLayerNorm:  // input, and mean and rstd per normalized row
      k.input = true;
      if (layer.config && layer.config->in_channels > 0) {
        k.extra_bytes = 2 * (in_elements / layer.config->in_channels) * kFloatBytes;
      }
      break;
    case LayerType::kNorm:  // norm_backward(grad, self, p, result, dim, keepdim)
      k.input = true;
      k.output = true;
      break;
    case LayerType::kReLU:  // threshold_backward(grad, result)
    case LayerType::kSigmoid:
    case LayerType::kTanh:     // tanh_backward(grad, result)
    case LayerType::kSoftmax:  // _softmax_backward_data(grad, output, dim, dtype)
      k.output = true;
      break;
    case LayerType::kMul:  // both operands: the (N, C, H, W) input and the (N, C, 1, 1) scale
    case LayerType::kDiv:  // (x / norm: the norm, one per row, batch_size x in_channels)
      k.input = true;
      k.operand_bytes = (layer.config ? layer.config->batch_size * layer.config->in_channels
                         : layer.input_shape.size() >= 2 ? layer.input_shape[0] * channels
                                                         : 0) *
                        kFloatBytes;
      break;
    case LayerType::kBmm:  // both operands: input (B, n, k) and mat2 (B, k, m)
      k.input = true;
      if (layer.config) {
        k.operand_bytes = layer.config->batch_size * layer.config->inner_size *
                          layer.config->columns * kFloatBytes;
      }
      break;
    case LayerType::kEmbedding:  // its input, the int64 indices (embedding_dense_backward)
      k.input = true;
      k.input_grad = false;  // integers: no grad_input
      break;
    case LayerType::kDropout:  // at::dropout = input * noise: the float noise, input-sized
      k.extra_bytes = in_elements * kFloatBytes;
      break;
    case LayerType::kAdd:         // nothing
    case LayerType::kBiasAdd:     // nothing: its backward sums the gradient over N by sizes alone
    case LayerType::kCat:         // nothing: its backward slices the output gradient by sizes alone
    case LayerType::kContiguous:  // nothing: its backward copies the gradient by sizes alone
    case LayerType::kScale:       // nothing: its backward is grad * c
    case LayerType::kSelect:      // nothing: its backward needs the input's sizes alone
    case LayerType::kMean:        // nothing: its backward expands grad / C by sizes alone
      break;
    case LayerType::kCrossEntropy:  // log_softmax's result and nll_loss's 0-dim total_weight
      k.extra_bytes = in_elements * kFloatBytes + kFloatBytes;
      break;
    default:  // silu, gelu and what a network may gain: keep the input
      k.input = true;
      break;
  }
  return k;
}

}  // namespace

int64_t OneDnnChannelBlock(VectorIsa isa) { return isa == VectorIsa::kAvx512 ? 16 : 8; }

int64_t SavedBeyondOperandsBytes(const LayerInstance& layer) {
  // The block changes only the transient copies, not what is saved.
  const Kept k = KeptFor(layer, OneDnnChannelBlock(CpuVectorIsa()));
  return k.extra_bytes + (k.output ? FloatBytes(layer.output_shape) : 0);
}

TrainingMemory PredictTrainingMemory(const std::vector<LayerInstance>& layers,
                                     const TrainingRun& run, int64_t conv_channel_block) {
  if (conv_channel_block <= 0) {
    throw std::invalid_argument("conv_channel_block must be > 0, got " +
                                std::to_string(conv_channel_block));
  }
  TrainingMemory m;
  const size_t n = layers.size();
  std::vector<int64_t> in_bytes(n), out_bytes(n);
  int64_t largest_parameter_tensor = 0;
  for (size_t i = 0; i < n; ++i) {
    const LayerInstance& l = layers[i];
    // An embedding's input is int64 token ids.
    const int64_t input_element_bytes =
        l.layer_type == LayerType::kEmbedding ? kIndexBytes : kFloatBytes;
    in_bytes[i] = l.no_cost ? 0 : NumElements(l.input_shape) * input_element_bytes;
    out_bytes[i] = l.no_cost ? 0 : FloatBytes(l.output_shape);
    m.parameter_bytes += l.parameter_count * kFloatBytes;
    largest_parameter_tensor = std::max(largest_parameter_tensor, LargestParameterTensorBytes(l));
  }
  m.gradient_bytes = m.parameter_bytes;
  const OptimizerSpec& opt = run.optimizer;
  if (opt.type == "adam") {
    m.optimizer_state_bytes = 2 * m.parameter_bytes;
  } else if (opt.momentum > 0) {
    m.optimizer_state_bytes = m.parameter_bytes;
  }
  // One batch: the samples (float32 images, or int64 token ids) and the int64 labels.
  m.batch_bytes = run.batch_size * (run.input.SampleBytes() + kIndexBytes);
  const bool grads_always = opt.zero_grad != "none";

  // Saved bytes per layer, a kept input counting once when the previous layer keeps it as its
  // output (the same tensor: relu -> conv2d) and never for the batch itself (static).
  std::vector<int64_t> saved(n, 0), extra(n, 0), forward_workspace(n, 0), backward_workspace(n, 0);
  std::vector<bool> input_already_counted(n, false);
  // Whether the backward of layer i computes a grad_input: not the first layer's (the batch
  // needs none), nor an embedding's (integer ids).
  std::vector<bool> grad_input(n, false);
  bool previous_kept_output = false;
  // The first layer that costs something reads the batch (through any views before it).
  size_t first = 0;
  while (first < n && layers[first].no_cost) ++first;
  for (size_t i = 0; i < n; ++i) {
    const LayerInstance& l = layers[i];
    const Kept k = KeptFor(l, conv_channel_block);
    const bool same_as_previous = i > 0 && layers[i - 1].output_shape == l.input_shape;
    input_already_counted[i] = i <= first || (previous_kept_output && same_as_previous);
    int64_t bytes = k.extra_bytes + k.operand_bytes;
    if (k.input && !input_already_counted[i]) bytes += in_bytes[i];
    if (k.output) bytes += out_bytes[i];
    // A view (flatten) passes its neighbour's tensor on: the chain's state goes through it.
    if (!l.no_cost) previous_kept_output = k.output;
    saved[i] = bytes;
    extra[i] = k.extra_bytes + k.operand_bytes;
    forward_workspace[i] = k.forward_workspace_bytes;
    // The first layer computes no grad_input (the batch needs none).
    backward_workspace[i] = k.backward_output_copy_bytes;
    grad_input[i] = i > first && k.input_grad;
    if (i > first || k.input_copy_without_input_grad) {
      backward_workspace[i] += k.backward_input_copy_bytes;
    }
    m.saved_bytes += bytes;
    LayerMemory lm;
    lm.path = l.path;
    lm.type = l.type;
    lm.saved_bytes = bytes;
    lm.output_bytes = out_bytes[i];
    lm.parameter_bytes = l.parameter_count * kFloatBytes;
    m.layers.push_back(std::move(lm));
  }

  const int64_t fixed = m.parameter_bytes + m.optimizer_state_bytes + m.batch_bytes;
  auto consider = [&](int64_t bytes, std::string where) {
    if (bytes > m.peak_bytes) {
      m.peak_bytes = bytes;
      m.peak_at = std::move(where);
    }
  };
  // Forward at layer i: what layers before it keep, its input (unless counted there or the
  // batch), its output and its own extra tensors.
  const int64_t grads_forward = grads_always ? m.gradient_bytes : 0;
  int64_t kept_before = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t live = fixed + grads_forward + kept_before +
                         (input_already_counted[i] ? 0 : in_bytes[i]) + out_bytes[i] + extra[i] +
                         forward_workspace[i];
    consider(live, "forward of " + layers[i].path);
    kept_before += saved[i];
  }
  // The loss keeps log_softmax of the logits (and a 0-dim total weight) for its backward.
  const int64_t logits = n > 0 ? out_bytes[n - 1] : 0;
  consider(fixed + grads_forward + kept_before + 2 * logits + kFloatBytes, "end of forward");
  // Backward, from the last layer: layers up to i still keep theirs; grad_output and
  // grad_input of layer i (none for the first layer: the batch needs no gradient); .grad of the
  // layers from i on (set_to_none) or all (zero-fill).
  int64_t grads_so_far = 0;
  for (size_t r = n; r-- > 0;) {
    grads_so_far += layers[r].parameter_count * kFloatBytes;
    const int64_t grads = grads_always ? m.gradient_bytes : grads_so_far;
    // With zero-filled .grad, a layer's new weight gradient is a temporary added into it; with
    // set_to_none the first gradient becomes .grad itself.
    const int64_t new_grad = grads_always ? LargestParameterTensorBytes(layers[r]) : 0;
    const int64_t live = fixed + grads + kept_before + out_bytes[r] +
                         (grad_input[r] ? in_bytes[r] : 0) + backward_workspace[r] + new_grad;
    consider(live, "backward of " + layers[r].path);
    kept_before -= saved[r];
  }
  const int64_t adam_temporary = opt.type == "adam" ? largest_parameter_tensor : 0;
  consider(fixed + m.gradient_bytes + adam_temporary, "optimizer step");
  m.tensor_peak_bytes = m.peak_bytes;
  return m;
}

void AddFrameworkMemory(TrainingMemory& memory, const std::vector<LayerInstance>& layers,
                        int64_t base_bytes, std::optional<int64_t> conv2d_bytes) {
  if (base_bytes < 0 || conv2d_bytes.value_or(0) < 0) {
    throw std::invalid_argument("framework memory must be >= 0 bytes, got base " +
                                std::to_string(base_bytes) + ", per conv2d " +
                                std::to_string(conv2d_bytes.value_or(0)));
  }
  std::set<std::string> convs;
  for (const LayerInstance& layer : layers) {
    if (layer.layer_type == LayerType::kConv2d && layer.config) {
      convs.insert(ToJson(*layer.config).dump());
    }
  }
  memory.distinct_conv2d = static_cast<int64_t>(convs.size());
  memory.framework_bytes = base_bytes + memory.distinct_conv2d * conv2d_bytes.value_or(0);
  memory.peak_bytes =
      memory.tensor_peak_bytes + memory.blas_workspace_bytes + *memory.framework_bytes;
}

void AddBlasWorkspace(TrainingMemory& memory, const std::vector<LayerInstance>& layers,
                      int threads) {
  memory.blas_workspace_bytes = OpenBlasPackingBytes(LinearLayerGemms(layers), threads);
  memory.peak_bytes =
      memory.tensor_peak_bytes + memory.blas_workspace_bytes + memory.framework_bytes.value_or(0);
}

std::string FormatBytes(int64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  } else if (b < 1024.0 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  } else if (b < 1024.0 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  }
  return buf;
}

}  // namespace lj
