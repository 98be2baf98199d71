#pragma once
// One layer configuration: what `measure` samples, `fit` models and `predict` sums.
// Field names follow torch.nn (Conv2d, MaxPool2d, Linear, BatchNorm2d, Dropout, ...); sizes are
// element counts, not bytes. All tensors are float32 (class labels int64).
//
// Layer types: the fields of each (JSON keys of ToJson, in this order; integers except "bias"
// and "input_grad")
// and what one forward execution (and one backward execution) of it runs in LayerRunner:
//   conv2d       batch_size in_channels out_channels height width kernel_size stride padding
//                groups bias [input_grad] [kernel_width] [padding_width]: nn::Conv2d on NCHW
//                (grads of input, weight, bias; with input_grad false, as a network's first
//                layer, of weight and bias only). A non-square kernel, as Inception v3's 1x7
//                and 7x1: kernel_size and padding are the height's, kernel_width and
//                padding_width the width's (Conv2d(kernel_size=(kernel_size, kernel_width),
//                padding=(padding, padding_width))); stride stays square
//   maxpool2d    batch_size in_channels height width kernel_size stride padding [ceil_mode]:
//                nn::MaxPool2d on NCHW (grad of input)
//   linear       batch_size in_features out_features bias [input_grad]: nn::Linear on
//                (N, in_features) (gradients as conv2d)
//   batchnorm2d  batch_size num_features height width: nn::BatchNorm2d(num_features) in training
//                mode, affine, updating its running statistics (grads of input, weight, bias)
//   layer_norm   batch_size normalized_size height width: nn::LayerNorm(normalized_size) on a
//                contiguous (batch_size, height, width, normalized_size) tensor, affine (grads of
//                input, weight, bias). A (N, T, D) sequence is (N, D, 1, T) (net/layer_instance.h
//                LayerNormConfig); a channels-first (N, C, H, W), as ConvNeXt's LayerNorm2d, is
//                (N, C, H, W): the cost depends on the element count and the normalized size.
//   relu, relu6, hardswish, hardsigmoid, sigmoid, silu, gelu, tanh, softmax, scale (the
//   activations,
//                role kActivation; scale is x * c with a constant scalar c)
//                batch_size in_channels height width: the activation on NCHW, out of place
//                (grad of input); its function: net/activations.cpp
//   avgpool2d    as maxpool2d: nn::AvgPool2d, count_include_pad (grad of input)
//   cat          batch_size in_channels height width inputs: torch.cat of `inputs` (N, C_i, H, W)
//                tensors along dim 1, sum C_i = in_channels (grads of every input: views of
//                the output gradient)
//   contiguous   batch_size in_channels height width: the copy that .contiguous() makes of a
//                permuted tensor: a (batch_size, height, in_channels, width) leaf transposed to
//                (batch_size, in_channels, height, width) order and copied, runs of `width`
//                contiguous elements (grad of input: the gradient transposed back and copied,
//                as autograd reshapes it before a channel shuffle's transpose)
//   bmm          batch_size rows inner_size columns: torch::bmm(input, mat2) of input
//                (batch_size, rows, inner_size) and mat2 (batch_size, inner_size, columns) into
//                (batch_size, rows, columns), both operands leaves (grads of input and mat2:
//                grad x mat2^T and input^T x grad, two more batched products of the forward's
//                MACs). Attention's scores q k^T ((N x heads, L, d) x (N x heads, d, L)) and
//                values (N x heads, L, L) x (N x heads, L, d), as nn.MultiheadAttention computes
//                them (aten::bmm); Swin's 4-D q @ k^T is batch_size = B x heads.
//   embedding    batch_size sequence_length num_embeddings embedding_dim: nn::Embedding(
//                num_embeddings, embedding_dim) on int64 token ids (batch_size, sequence_length),
//                drawn uniformly in [0, num_embeddings) with a fixed seed, into (batch_size,
//                sequence_length, embedding_dim): a gather of rows (aten::embedding). The ids need
//                no gradient; the backward pass computes only the weight's
//                (aten::embedding_dense_backward: a zero-filled (num_embeddings, embedding_dim)
//                gradient into which the output gradient's rows are scatter-added).
//   select       batch_size in_channels height width: x.select(1, 0) of an (N, C, H, W) leaf into
//                the (N, H, W) view of its first channel, as ViT's class token x[:, 0] of
//                (N, T, D) = (N, T, 1, D). The forward pass is a view (no copy); the backward
//                pass (aten::select_backward) allocates a zero-filled input-sized gradient and
//                copies the output gradient into its slot. Output (batch_size, height, width).
//   mean         batch_size in_channels height width: x.mean(1) of an (N, C, H, W) leaf into
//                (N, H, W), the mean over C (a text classifier's mean over the sequence of
//                (N, S, D) = (N, S, 1, D)). The backward pass expands the gradient / C into an
//                input-sized tensor. Output (batch_size, height, width).
//   adaptive_avgpool2d
//                batch_size in_channels height width output_size: nn::AdaptiveAvgPool2d with a
//                square output_size (grad of input)
//   add          batch_size in_channels height width: a + b, both NCHW, as a residual sum
//                (grads of a and b)
//   mul          batch_size in_channels height width: scale * x with x NCHW and scale
//                (N, C, 1, 1), as the squeeze-excitation product (grads of x and scale)
//   bias_add     batch_size in_channels height width: x + b with x NCHW and b a (C, H, W) leaf
//                broadcast over N, as a learnt position embedding or relative-position bias
//                (grads of x, handed through, and of b: the output gradient summed over N)
//   dropout      batch_size in_channels height width p_percent: torch::dropout in training mode
//                with p = p_percent / 100 (grad of input)
//   cross_entropy
//                batch_size num_classes: mean cross-entropy of logits (N, num_classes) and
//                random int64 labels; forward = the loss value, backward = grad of the logits
//   sgd, adam    parameters parameter_tensors: one optimizer.step() of torch::optim::SGD (lr 0.01,
//                momentum 0.9) or torch::optim::Adam (lr 1e-3, default betas), no weight decay,
//                over `parameters` float32 elements split into `parameter_tensors` tensors of
//                (nearly) equal size, each with its .grad present. No backward pass: one step is
//                one forward execution, and only a "forward" row is measured and stored
//                (HasBackwardPass).
//   grad_accumulate
//                parameters parameter_tensors: what loss.backward() does to every trainable tensor
//                whose .grad already exists (zero_grad() zero-filled it, the default of torch and
//                LibTorch 1.13): .grad += the new gradient, in place (tensor.grad().add_(g)),
//                over tensors split as for sgd. No layer measurement contains it (LayerRunner
//                returns fresh gradients through autograd::grad). Forward row only.
//   zero_grad    parameters parameter_tensors: optimizer.zero_grad() of torch::optim::SGD over
//                such tensors: detach_() and zero_() of every .grad (1.13's only convention; with
//                set_to_none, PyTorch >= 2.0's default, there is nothing to run and the next
//                backward assigns instead of accumulating). Forward row only.
//
// Element-wise and normalisation types take any NCHW input; a 2-D input (N, F), e.g. a ReLU or
// Dropout after a Linear, is (batch_size N, in_channels F, height 1, width 1): the cost depends
// on the element count, not on the layout.
//
// Mapping for `predict` (net layer type, net/layer_instance.h -> LayerConfig):
//   conv2d, maxpool2d, linear   the LayerInstance's config as before (groups up to depthwise).
//   batchnorm2d                 input (N, C, H, W) -> batch_size N, num_features C, height H,
//                               width W. eps and momentum do not change the cost.
//   relu, relu6, hardswish,     input (N, C, H, W) -> batch_size N, in_channels C, height H,
//   hardsigmoid, sigmoid,       width W; input (N, F) -> (N, F, 1, 1). In-place variants
//   dropout                     (inplace=True) are measured out of place. dropout: p_percent =
//                               round(100 * p); p = 0 is the identity (no cost; skip the layer).
//   avgpool2d                   as maxpool2d (square kernel, ceil_mode, count_include_pad).
//   adaptive_avgpool2d          input (N, C, H, W), output_size o (square; [o, o] only) ->
//                               batch_size N, in_channels C, height H, width W, output_size o.
//   add                         the residual sum of two (N, C, H, W) tensors -> batch_size N,
//                               in_channels C, height H, width W. Its backward only hands
//                               grad_output to both operands (almost free); the sum of the two
//                               gradients where the residual forks (autograd's accumulation into
//                               the block input) is an element-wise add of the same shape that no
//                               layer's backward includes: charge one add forward per residual
//                               block to the backward pass if it matters.
//   mul                         the SE product (N, C, H, W) * (N, C, 1, 1) -> batch_size N,
//                               in_channels C, height H, width W of the large operand.
//   bias_add                    aten::add of a derived x and a constant b (a parameter after
//                               freezing) whose shape, leading 1s dropped, is x's trailing
//                               shape: ViT's position embedding (N, T, D) + (1, T, D), MaxViT's
//                               and Swin's relative-position bias (B, G, H, P, P) + (H, P, P)
//                               -> batch_size = x's elements / b's elements, and b's shape as
//                               ElementwiseConfig folds (batch_size, b...) (net/layer_instance.h
//                               BiasAddConfig).
//   bmm                         aten::bmm of (B, n, k) and (B, k, m), or aten::matmul of
//                               (b1, ..., bj, n, k) and (b1, ..., bj, k, m) (equal leading
//                               dims, no broadcast) -> batch_size b1 x ... x bj, rows n,
//                               inner_size k, columns m (net/torchscript_layers.h).
//   embedding                   aten::embedding(weight (V, D), indices (N, S)) -> batch_size N,
//                               sequence_length S, num_embeddings V, embedding_dim D; a
//                               sparse=True embedding or ids of another rank are not mapped
//                               (net/torchscript_layers.h). net.json: an "embedding" leaf
//                               (num_embeddings, embedding_dim) on a sequence input
//                               {"sequence_length", "vocabulary"}.
//   flatten                     no model (a view, no cost).
//   the loss                    one cross_entropy per step: batch_size N, num_classes = the
//                               network's output features (net.json num_classes).
//   the optimizer step          one sgd or adam per step (net.json optimizer.type; sgd is measured
//                               with momentum 0.9 whatever the net's momentum): parameters = the
//                               network's trainable parameter elements (sum of
//                               LayerInstance::parameter_count), parameter_tensors = its number of
//                               trainable parameter tensors (each weight and each bias is one:
//                               conv2d 1 or 2, linear 1 or 2, batchnorm2d 2). Forward pass only.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer_type.h"

namespace lj {

// The parameters of one layer and its input. Unused fields for a type keep their defaults and
// are not serialised. The channel count of every NCHW type other than conv2d is in_channels
// (out_channels is unused; batchnorm2d serialises it as "num_features").
struct LayerConfig {
  LayerType type = LayerType::kConv2d;
  int64_t batch_size = 1;
  // NCHW types: input (batch_size, in_channels, height, width).
  int64_t in_channels = 0;
  int64_t out_channels = 0;  // conv2d only
  int64_t height = 0;        // input height before padding
  int64_t width = 0;         // input width before padding
  // conv2d, maxpool2d, avgpool2d: the kernel and zero padding along the height, and along the
  // width too unless kernel_width / padding_width say otherwise (read them through KernelWidth
  // and PaddingWidth).
  int64_t kernel_size = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  // conv2d only: the kernel and padding along the width when they differ from the height's
  // (torch.nn.Conv2d(kernel_size=(kernel_size, kernel_width), padding=(padding,
  // padding_width))); kSquare: the same as the height's. Serialised only when they differ
  // ("kernel_width": 7), so square configs keep their text.
  static constexpr int64_t kSquare = -1;
  int64_t kernel_width = kSquare;
  int64_t padding_width = kSquare;
  int64_t groups = 1;  // conv2d only; groups == in_channels is depthwise
  // maxpool2d, avgpool2d: torch's ceil_mode (output sides rounded up; a last window must start
  // inside the input or its left padding). Serialised only when true ("ceil_mode": true), so
  // configs stored before the field existed keep their text.
  bool ceil_mode = false;
  bool bias = true;  // conv2d and linear
  // conv2d and linear: the backward pass computes the gradient of the input. False for a
  // network's first layer, whose input is data (autograd then computes only the weight and
  // bias gradients; for a 1-channel 5x5 conv that is a fifth of the backward time, JOURNAL.md
  // 2026-12-02). Serialised only when false ("input_grad": false), so configs stored before
  // the field existed keep their text.
  bool input_grad = true;
  // linear: input (batch_size, in_features).
  int64_t in_features = 0;
  int64_t out_features = 0;
  // adaptive_avgpool2d: output (batch_size, in_channels, output_size, output_size).
  int64_t output_size = 0;
  // dropout: drop probability in percent, 0..100 (torch.nn.Dropout p = p_percent / 100).
  int64_t p_percent = 50;
  // cat: `inputs` NCHW tensors of equal batch_size, height and width concatenated along the
  // channels (torch.cat(tensors, dim=1)); in_channels is their sum, the output's channels, split
  // as evenly as possible among them when measured.
  int64_t inputs = 2;
  // bmm: input (batch_size, rows, inner_size) times mat2 (batch_size, inner_size, columns)
  // gives (batch_size, rows, columns); inner_size is the contracted dim (attention's head dim
  // in q k^T, the sequence length in scores x v).
  int64_t rows = 0;
  int64_t inner_size = 0;
  int64_t columns = 0;
  // embedding: a (num_embeddings, embedding_dim) weight looked up by int64 ids (batch_size,
  // sequence_length), giving (batch_size, sequence_length, embedding_dim).
  int64_t sequence_length = 0;
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
  // cross_entropy: logits (batch_size, num_classes).
  int64_t num_classes = 0;
  // sgd, adam: trainable float32 elements updated by one step, and the number of tensors they
  // are split into (the optimizer loops over tensors: many small tensors cost more per element).
  int64_t parameters = 0;
  int64_t parameter_tensors = 1;

  // Compares the type and the fields the type uses (FieldNames); unused fields are ignored, so a
  // config equals its JSON round trip.
  bool operator==(const LayerConfig& other) const;
  bool operator!=(const LayerConfig& other) const { return !(*this == other); }
};

// Checks that the layer can be built and run: every field >= 1 (padding and p_percent >= 0),
// kernel fits the padded input, groups divides in_channels and out_channels, padding <=
// kernel_size / 2 for maxpool2d and avgpool2d (a torch rule), batch_size * height * width > 1
// for batchnorm2d (torch: "Expected more than 1 value per channel when training"), p_percent
// <= 100, parameter_tensors <= parameters. Throws ConfigError naming the field and value,
// prefixed with `context` (e.g. "configs/bounds/conv.json" or "net.json: layer 3 (conv2d)").
// With an empty context the message is prefixed with the type, e.g.
// "conv2d: kernel_size must be > 0, got 0".
void Validate(const LayerConfig& config, const std::string& context = "");
// Non-throwing Validate: false, and the message (without context) in *reason if non-null.
bool IsValid(const LayerConfig& config, std::string* reason = nullptr);

// The JSON keys (torch.nn names) ToJson writes for `type`, in declaration order, e.g. linear:
// {"batch_size", "in_features", "out_features", "bias", "input_grad"}. "bias" and "input_grad"
// are the boolean fields; "input_grad" is optional (default true) and written only when false,
// "ceil_mode" optional (default false) and written only when true.
const std::vector<std::string>& FieldNames(LayerType type);

// The kernel and padding along the width: kernel_width / padding_width when set (conv2d's
// non-square kernels), else kernel_size / padding.
int64_t KernelWidth(const LayerConfig& config);
int64_t PaddingWidth(const LayerConfig& config);

// True for the types whose configs carry input_grad (conv2d, linear: FieldNames has it).
bool HasInputGradField(LayerType type);

// Output shape:
//   conv2d, maxpool2d, avgpool2d: {N, C_out, H_out, W_out} with
//     H_out = floor((height + 2*padding - kernel_size) / stride) + 1 (C_out = C for pools),
//     W_out the same with width, PaddingWidth and KernelWidth;
//     pools with ceil_mode: ceil instead of floor, minus 1 when that last window would start at
//     or beyond height + padding (ATen's pooling_output_shape);
//   linear: {N, out_features};
//   batchnorm2d, activations, add, mul, dropout: {N, C, H, W} (the input's shape);
//   adaptive_avgpool2d: {N, C, output_size, output_size};
//   bmm: {batch_size, rows, columns};
//   embedding: {batch_size, sequence_length, embedding_dim};
//   cross_entropy: {} (the 0-dim loss: one element);
//   sgd, adam: {} (the step updates the parameters in place and produces no tensor).
std::vector<int64_t> OutputShape(const LayerConfig& config);

// Multiply-accumulates of one forward pass over the whole batch: the compute measure that the
// bounds files cap (max_forward_macs) and fit uses as a feature.
//   conv2d: N * C_out * H_out * W_out * (C_in / groups) * k_h * k_w; linear: N * in * out;
//   maxpool2d, avgpool2d: N * C * H_out * W_out * k^2 (comparisons / additions, counted as
//     MACs as NeuralPower does);
//   adaptive_avgpool2d: N * C * (sum of the output rows' window heights) * (sum of the output
//     columns' window widths), window i spanning [floor(i*H/o), ceil((i+1)*H/o)): the input
//     elements summed, = N*C*H*W when o divides H and W (e.g. o = 1);
//   batchnorm2d, activations, add, mul, dropout: N * C * H * W (one operation per element);
//   cross_entropy: N * num_classes (the logits);
//   bmm: batch_size * rows * inner_size * columns;
//   embedding: batch_size * sequence_length * embedding_dim (no multiply-accumulates: the
//     elements gathered, each copied once, counted as the element-wise types count theirs;
//     so max_forward_macs caps the output elements);
//   sgd, adam: parameters (elements updated).
double ForwardMacs(const LayerConfig& config);

// Element counts of the tensors a layer touches (multiply by 4 for float32 bytes).
struct TensorSizes {
  // All inputs: N*C*H*W, N*in_features, N*num_classes (logits); add: 2*N*C*H*W (both
  // operands); mul: N*C*H*W + N*C (tensor and scale); bmm: B*rows*inner_size +
  // B*inner_size*columns (both operands); embedding: B*S (the int64 ids; 8 bytes
  // each, not 4); 0 for sgd/adam.
  double input_elements = 0;
  // Product of OutputShape (1 for cross_entropy's scalar); 0 for sgd/adam.
  double output_elements = 0;
  // Trainable weights + bias: conv2d, linear; batchnorm2d 2*C (weight and bias; the running
  // statistics are buffers); embedding: num_embeddings * embedding_dim; sgd/adam: parameters;
  // 0 otherwise.
  double weight_elements = 0;
};
TensorSizes Sizes(const LayerConfig& config);

// JSON with torch.nn field names, only the fields that matter for the type, e.g.
// {"batch_size":8,"in_channels":3,"out_channels":16,"height":32,"width":32,"kernel_size":3,
//  "stride":1,"padding":1,"groups":1,"bias":true}, batchnorm2d
// {"batch_size":64,"num_features":64,"height":56,"width":56}, dropout
// {"batch_size":64,"in_channels":4096,"height":1,"width":1,"p_percent":50}, cross_entropy
// {"batch_size":64,"num_classes":10}, sgd {"parameters":11181642,"parameter_tensors":62}.
// Stored as text in samples.config.
nlohmann::json ToJson(const LayerConfig& config);
// Inverse of ToJson for a given type. Unknown keys, missing keys and wrong types throw
// ConfigError naming `context`, the key and the value. Does not call Validate.
LayerConfig LayerConfigFromJson(LayerType type, const nlohmann::json& j,
                                const std::string& context = "");

}  // namespace lj
