#pragma once
// Layers of a TorchScript network (a .pt file from torch.jit.script or torch.jit.trace, e.g. by
// tools/export_torchscript.py). No LibTorch in this header.
//
// Method: torch::jit::load, eval(), torch::jit::freeze_module (parameters become constants, no
// numeric rewrites such as conv-batchnorm folding), Inline, then torch::jit::TraceGraph runs
// the graph on random inputs of batch 1 and batch 2 and returns it with complete tensor shapes
// and with data-dependent control flow resolved. Every dim that differs between the two traces
// is a linear function of the batch (size = offset + per-sample size x batch) and is scaled to
// batch_size: dim 0 of batch-first tensors, dim 1 of nn.MultiheadAttention's (L, N, E), the
// N x heads of its (N x heads, L, L) scores, the N x H x W rows of a linear on channels-last
// pixels. Every aten op whose input derives from the network
// input is one LayerInstance; ops on constants only (weight transposes) and non-tensor ops
// (aten::size) are skipped. Paths come from the inlined call stacks' module instance names
// ("layer1.0.conv1"); an op used more than once at the same path (ResNet's shared relu) gets
// "#2", "#3", ... appended.
//
// Op mapping: aten::conv2d / _convolution / convolution -> conv2d, max_pool2d -> maxpool2d,
// avg_pool2d -> avgpool2d, adaptive_avg_pool2d and mean over dims (2, 3) of a 4-D tensor ->
// adaptive_avgpool2d, linear / addmm -> linear, batch_norm -> batchnorm2d, layer_norm ->
// layer_norm, cat -> cat, relu(_) -> relu, relu6(_) and hardtanh(_)(0, 6) -> relu6,
// hardswish(_), hardsigmoid(_), sigmoid(_), silu(_), gelu, tanh(_), softmax / _softmax, dropout(_)
// / feature_dropout(_) -> dropout, add(_) -> add (of a derived tensor and a fixed constant that
// broadcasts to it -> add of the derived tensor's shape, no gradient for the constant: a
// buffer, a tensor built from sizes or from fixed tensors alone, as Swin's attention mask or a
// causal mask; of a derived tensor and another constant, a parameter or what freezing folded
// from parameters, broadcast over its leading dims -> bias_add: a position embedding, a gathered
// relative-position bias), mul(_) -> mul, mul(_)
// and div(_) by a constant scalar (a number, a 0-dim constant tensor, or for mul a 0-dim
// tensor computed from sizes) -> scale, contiguous -> contiguous (a copy
// where the input's layout at a batch > 1 is not contiguous, else no cost: ContiguousConfig),
// roll, pad (constant mode) and constant_pad_nd -> contiguous (a plain copy, height 1),
// slice -> select when it takes a whole dim (start 0, step 1, an end at or past the dim's size,
// constant or computed from sizes; along the batch dim only an omitted end) or every step-th
// element of a dim the step divides (Swin's patch merging x[..., 0::2, 1::2, :]),
// bmm -> bmm, matmul of two batches of matrices with equal leading dims (at the batch size)
// -> bmm (a matmul by a 2-D operand or with broadcast leading dims keeps its name, with a note
// naming the operands' shapes and the source line), einsum of two operands that is a batched
// matrix product (MaxViT's "BGHID,BGHJD->BGHIJ", net/einsum_matmul.h) -> bmm (another equation
// keeps the name aten::einsum, with a note naming the equation and why);
// embedding -> embedding (sparse=True, or indices not 2-D: the type with no config and a note
// naming the op, its operands and the source line);
// the views flatten, view, reshape, permute, transpose, t, unsqueeze and squeeze -> flatten (no
// cost). Any other op keeps its qualified name (e.g. "aten::baddbmm", "aten::div");
// HasKnownType() is false for it.
//
// Configs (LayerInstance::config, core/layer_config.h) at batch_size: conv2d, maxpool2d,
// avgpool2d, adaptive_avgpool2d, linear (any rank: the leading dims are its batch),
// batchnorm2d, layer_norm (over the last dims of any rank), the activations, dropout (p > 0),
// add of two equal-shape tensors, cat along dim 1 (along another dim d > 0: the cat along
// channels of (d0 x ... x d(d-1), dd, 1, d(d+1) x ... x dk)), and mul x (N, C, H, W) * scale
// (N, C, 1, 1)
// or * a per-channel constant (C, 1, 1) (ConvNeXt's layer scale); element-wise types of any
// rank >= 2, wherever the batch dims are (ElementwiseConfig); bmm of (b1, ..., bj, n, k) x
// (b1, ..., bj, k, m): batch_size b1 x ... x bj, rows n, inner_size k, columns m (both
// operands' batch dims must be known); embedding of indices (N, S) and weight (V, D): batch_size
// N, sequence_length S, num_embeddings V, embedding_dim D (one parameter tensor, V x D); in-place
// variants map to the same
// types. The views and dropout with p = 0 are no-cost. Trainable parameter tensors per layer:
// conv2d / linear 1 + bias, batch_norm and layer_norm weight + bias, layer-scale mul 1 (after
// freezing, parameters and buffers are both constants, so a constant (C, 1, 1) buffer
// multiplied in would count too). Gradient
// accumulation: a derived tensor (not the network input) consumed by k > 1 layers gets k - 1
// `add` configs of its shape on its last consumer (LayerInstance::grad_accumulations). A chunk,
// split or unbind of a derived tensor (no layer: its parts are views) adds a `cat` config of the
// input's shape to the last consumer of its parts: its backward pass concatenates their
// gradients.
//
// Input: an image batch torch::randn(N, C, H, W), or with InputSpec::sequence_length token ids
// torch::zeros(N, S) of int64 (valid for any vocabulary; the shapes do not depend on the values).
// An aten::embedding whose indices do not derive from the input (position ids from a buffer) is
// an op on constants and skipped: its weight gradient is not counted. x.new_zeros / new_ones /
// new_full / new_empty of a size that does not grow with the batch takes only x's dtype: it and
// the ops on it alone are constants of the step and skipped too (Swin's shifted-window mask,
// about 0.15 M elements per block, no backward pass).
//
// Limits: the module's forward must take one tensor; shapes are those of this input size only;
// conv2d with a non-square stride, dilation != 1 or string padding, maxpool2d / avgpool2d with
// a non-square kernel, stride or padding, dilation != 1 or a non-constant ceil_mode (avgpool2d:
// count_include_pad=False, divisor_override), non-square
// adaptive output sizes, add with a scalar or another broadcast, other mul shapes, and element-wise
// ops whose batch dims are unknown (a dim that does not grow linearly with the batch: only dim 0 is
// rescaled then) get no LayerConfig (LayerInstance::note says why). A traced module with a batch
// size baked into view/reshape, or whose traces at batch 1 and 2 differ in structure (control
// flow on the batch size), is run at batch_size instead (exact shapes). Parameters used by
// several ops are counted once per op.
#include <cstdint>
#include <string>
#include <vector>

#include "net/layer_instance.h"
#include "net/net_spec.h"

namespace lj {

// input: one sample (channels, height, width), or sequence_length token ids; batch_size: reported
// in every shape and config. Throws: ConfigError "<path>: cannot open file (...)", "<path>: not a
// TorchScript module:
// ...", "<path>: forward pass on input [1, 3, 224, 224] failed: ..." or "<path>: ...".
std::vector<LayerInstance> LayersFromTorchScript(const std::string& path, const InputSpec& input,
                                                 int64_t batch_size);

// Whether some aten op maps to `type` (the TorchScript op mapping in torchscript_layers.cpp);
// every network-layer type must (tests/integration/layer_registry_test.cpp).
bool HasTorchScriptMapping(LayerType type);

}  // namespace lj
