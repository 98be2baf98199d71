#pragma once
// One layer of a concrete network with its shapes at the network's batch size: what
// net/net_builder.h (net.json) and net/torchscript_layers.h (TorchScript) produce and
// the predictor sums. No LibTorch.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer_config.h"

namespace lj {

struct LayerInstance {
  // Module path as torch.nn names parameters: "features.3", "layer1.0.conv1",
  // "layer1.0.add" (the residual sum), "features.1.block.1.mul" (the SE product).
  std::string path;
  // The layer type (core/layer_type.h) when the layer is one: conv2d, maxpool2d, avgpool2d,
  // adaptive_avgpool2d, linear, batchnorm2d, dropout, relu, relu6, hardswish, hardsigmoid,
  // sigmoid, add (residual sum), mul (squeeze-excitation scale). Empty for views (flatten) and
  // for TorchScript ops with no layer type.
  std::optional<LayerType> layer_type;
  // The name shown and written: ToString(*layer_type) when set, "flatten" for a view, else the
  // qualified op name, e.g. "aten::cat".
  std::string type;
  // Where it came from, for messages: the net.json location ("layer 3" at the top level,
  // "layers[4].layers[1]" when nested) or the TorchScript op ("aten::_convolution").
  std::string source;
  // Input (the main operand) and output shapes, dimension 0 = the network's batch size,
  // e.g. {64, 3, 224, 224} -> {64, 64, 112, 112}.
  std::vector<int64_t> input_shape;
  std::vector<int64_t> output_shape;
  // The layer as core/layer_config.h describes it (see the mapping notes there), with
  // batch_size = the network's batch size, checked with core Validate: conv2d (square stride,
  // no dilation), maxpool2d and avgpool2d (square kernel, stride and padding, no dilation;
  // avgpool2d with count_include_pad and no divisor_override), linear (on N-D input: batch_size =
  // the product of the leading dimensions), batchnorm2d, layer_norm, the activations,
  // adaptive_avgpool2d (square output), add (two operands of one shape), mul
  // ((N, C, H, W) * (N, C, 1, 1) or * (C, 1, 1)), cat, dropout (p > 0), bmm (TorchScript's
  // batched matmuls) and embedding (token ids of net.json's sequence input, TorchScript's
  // aten::embedding). 2-D inputs (N, F) of the element-wise types are (N, F, 1, 1), other
  // ranks ElementwiseConfig's (N, d1 x ... x dk, 1, L). Unset for no-cost layers and for geometries
  // the core cannot describe (then `note` says why).
  std::optional<LayerConfig> config;
  // Why config is unset for a layer of a known type that costs something, e.g. "dilation 2 is
  // not modelled"; empty otherwise.
  std::string note;
  // True for layers that are the identity in training and cost nothing: flatten (and
  // TorchScript's views: view, reshape, permute, transpose, t, unsqueeze, squeeze) and dropout
  // with p = 0.
  bool no_cost = false;
  // Gradient accumulation: where a tensor feeds two layers (the input of a residual block
  // feeds the branch and the shortcut; the input of a squeeze-excitation block feeds its
  // avgpool and the product), autograd sums the two incoming gradients in the backward pass,
  // an element-wise add of that tensor's shape that no layer's own backward includes. One
  // `add` config (batch_size N, in_channels C, height H, width W of the forked tensor; (N, F)
  // as (N, F, 1, 1)) per extra consumer, attached to the layer that joins the fork (the
  // residual add, the SE mul; TorchScript: the last consumer in forward order). The predictor
  // adds its add forward model to this layer's backward pass.
  std::vector<LayerConfig> grad_accumulations;
  // Trainable parameter elements of this layer (weights and biases; BatchNorm running
  // statistics are buffers and not counted).
  int64_t parameter_count = 0;
  // Trainable parameter tensors of this layer: each weight and each bias is one (conv2d and
  // linear 1 or 2, batchnorm2d 2 when affine, 0 otherwise); the optimizer loops over them.
  int64_t parameter_tensors = 0;
  // Multiply-accumulates of one forward pass over the whole batch; see ForwardMacsOf.
  double forward_macs = 0;
};

// Paths of the parts of a training step that are not layers: the predictor's items
// (predict/predictor.h) and the samples.notes of `measure --net --layers`, which
// predict/evaluation.cpp reads back to assign each sample to its phase.
inline constexpr char kLossPath[] = "loss";
inline constexpr char kOptimizerStepPath[] = "optimizer step";
inline constexpr char kGradAccumulationPath[] = "grad accumulation (.grad)";
inline constexpr char kZeroGradPath[] = "zero_grad";
// Appended to the path of the layer that joins a fork (LayerInstance::grad_accumulations).
inline constexpr char kForkAccumulationSuffix[] = " grad accumulation";

// The name of a view that costs nothing (net.json "flatten"; TorchScript's flatten, view,
// reshape, permute, transpose, t, unsqueeze and squeeze): LayerInstance::type of such a layer,
// which has no layer_type (LayerInstance::source keeps the aten op).
inline constexpr char kFlattenType[] = "flatten";

// The LayerInstance of a net.json layer (net_shapes, net_builder and the Transformer block make
// theirs here): op `type` (SetLayerType) at `path` from `source`, shapes `in` -> `out`, its
// `config` unless core IsValid rejects it (then unset, the reason as the note), its parameters,
// and forward_macs = ForwardMacsOf(kernel_elements, groups). no_cost for a view (flatten) and a
// dropout of p = 0 (`zero_dropout`).
LayerInstance MakeLayerInstance(std::string_view type, std::string path, std::string source,
                                std::vector<int64_t> in, std::vector<int64_t> out,
                                std::optional<LayerConfig> config, int64_t parameters = 0,
                                int64_t parameter_tensors = 0, int64_t kernel_elements = 0,
                                int64_t groups = 1, bool zero_dropout = false);

// The p_percent of a dropout config of probability p in [0, 1] (core/layer_config.h): round(100 p).
int64_t DropoutPercent(double p);

// A LayerInstance's type fields for the op `name`: layer_type set when `name` is a layer type
// (core ToString), `type` = name in every case.
void SetLayerType(LayerInstance& layer, std::string_view name);

// True for a layer of a layer type or a view (flatten); false for an op with no layer type.
bool HasKnownType(const LayerInstance& layer);

// The element-wise config (batchnorm2d, activations, add, mul, dropout, cat) of `type` for a
// (N, C, H, W) or (N, F) input: batch_size N, in_channels C (F), height H (1), width W (1).
// Other ranks >= 2, (N, d1, ..., dk, L) such as a Transformer's (N, T, D): batch_size N,
// in_channels d1 x ... x dk, height 1, width L (the same elements in the same order; dim 1 stays
// in_channels for rank 3, so a cat along it is a cat along in_channels). Empty for rank < 2.
// softmax (over the last dim) takes that form for every rank >= 2 (N, d1, ..., L), 2 and 4
// included, so that its runner's softmax over the last dim reduces over L. Not validated.
std::optional<LayerConfig> ElementwiseConfig(LayerType type, const std::vector<int64_t>& shape);

// The bias_add config of x + b, x of `shape` (at the batch size) and b of `bias_shape`
// broadcast over x's leading dims: b's shape without its leading 1s must equal x's trailing
// dims. batch_size = x's elements / b's elements, and b's dims as ElementwiseConfig folds
// (batch_size, b...): ViT's position embedding (N, T, D) + (1, T, D) is (N, T, 1, D), MaxViT's
// relative-position bias (B, G, H, P, P) + (1, H, P, P) is (B x G, H, P, P). Empty when b does
// not broadcast so or is a scalar (mul and div by one are scale; add of one is not modelled).
// Not validated.
std::optional<LayerConfig> BiasAddConfig(const std::vector<int64_t>& shape,
                                         const std::vector<int64_t>& bias_shape);

// The layer_norm config of torch.nn.LayerNorm over the last `normalized_dims` dims of `shape`
// (torch.nn.functional.layer_norm's normalized_shape): normalized_size = the product of those
// dims, batch_size = shape[0] (1 when every dim is normalized), height 1, width = the product of
// the dims between. (N, T, D) over D is (N, D, 1, T); ConvNeXt's channels-last (N, H, W, C) over
// C is (N, C, 1, H x W). Empty when normalized_dims is < 1 or > the rank. Not validated.
std::optional<LayerConfig> LayerNormConfig(const std::vector<int64_t>& shape,
                                           int64_t normalized_dims);

// The contiguous config of Tensor.contiguous() on a tensor of `shape` (at the network's batch
// size) whose memory layout is `layout_sizes` / `layout_strides` (elements) at some batch > 1:
// nothing (no copy: .contiguous() returns the tensor itself) when that layout is contiguous,
// size-1 dims ignored. Otherwise the copy's runs of width W = the product of the trailing
// dims laid out contiguously, and its other dims of size > 1, o_1 ... o_k in order: batch_size
// o_1, in_channels o_2 x ... x o_(k-1), height o_k for k >= 3; batch_size 1, in_channels o_1,
// height o_2 for k = 2; batch_size 1, in_channels o_1, height 1 for k = 1. ShuffleNetV2's
// transposed (N, C/g, g, H, W) is (N, C/g, g, H x W); nn.MultiheadAttention's packed (3, L, N, E)
// is (3, L, N, E). Throws std::invalid_argument if the ranks differ. Not validated.
std::optional<LayerConfig> ContiguousConfig(const std::vector<int64_t>& shape,
                                            const std::vector<int64_t>& layout_sizes,
                                            const std::vector<int64_t>& layout_strides);

// The contiguous config of ShuffleNet's channel shuffle of an (N, C, H, W) input into `groups`
// (torchvision's channel_shuffle: view (N, g, C/g, H, W), transpose(1, 2), contiguous, view
// (N, C, H, W)): (N, C/g, g, H x W), as ContiguousConfig gives for the transposed tensor.
// Throws ConfigError "<context>: expects a 4-D input (N, C, H, W), got [...]" or "<context>:
// groups 3 must divide the 8 channels of input [...]"; groups < 2 is a std::invalid_argument.
LayerConfig ChannelShuffleConfig(const std::vector<int64_t>& shape, int64_t groups,
                                 const std::string& context);

// The (N, C, H, W) config of `type` (select, mean) that splits `shape` at its dims
// [first, last]: batch_size the product of the dims before first, in_channels of first..last,
// height 1, width of the dims after last (select takes index 0 of that C, mean reduces it).
// Empty products are 1 (first > last: in_channels 1). Not validated.
LayerConfig DimsSplitConfig(LayerType type, const std::vector<int64_t>& shape, int64_t first,
                            int64_t last);

// The adaptive_avgpool2d config of an (N, C, H, W) input `shape` (at the network's batch size)
// pooled to a square `output_size`: batch_size N, in_channels C, height H, width W. Not
// validated; `shape` must be 4-D.
LayerConfig AdaptiveAvgPoolConfig(const std::vector<int64_t>& shape, int64_t output_size);

// A net.json layer whose geometry only its input decides: its layer type name, its config and
// its output shape (at the network's batch size).
struct ShapedLayer {
  std::string type;
  LayerConfig config;
  std::vector<int64_t> output_shape;
};

// torch.mean(x, dims) (keepdim=False) of x of `shape` (net.json's mean leaf). Negative dims
// count from the end. The dims must be distinct and adjacent once sorted, and none the batch
// dim 0. Over (H, W) of an (N, C, H, W) tensor it is the adaptive_avgpool2d to 1x1 (what torch
// runs, as TorchScript's aten::mean over them maps), output (N, C); else a mean config
// (DimsSplitConfig over the dims: (N, S, D) over S is (N, S, 1, D)). Throws ConfigError
// "<context>: dim 3 is out of range for input [8, 128, 256]", "...: dims [1, 3] are not
// adjacent", "...: dim 0 is the batch dim", "...: dim 1 is repeated".
ShapedLayer MeanLayerOf(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                        const std::string& context);

// torch.linalg.vector_norm(x, 2, dims) (keepdim=False) of x of `shape` (net.json's norm leaf;
// F.normalize's norm): a norm config (DimsSplitConfig over the dims: (N, L, D) over D is
// (N x L, D, 1, 1)), output `shape` without the dims. The same dims and errors as MeanLayerOf.
ShapedLayer NormLayerOf(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                        const std::string& context);

// x.select(dim, index) of x of `shape` (net.json's select leaf; x[:, 0], a class token): a
// select config (DimsSplitConfig at dim), output `shape` without dim. Negative dim and index
// count from the end. Throws ConfigError "<context>: dim 3 is out of range for input [...]",
// "...: dim 0 is the batch dim", "...: index 9 is out of range for dim 1 of size 8".
ShapedLayer SelectLayerOf(const std::vector<int64_t>& shape, int64_t dim, int64_t index,
                          const std::string& context);

// x + b with b a learnt tensor of one sample's shape (net.json's bias_add leaf, a position
// embedding): BiasAddConfig(shape, shape without its batch dim), output `shape`. Throws
// ConfigError "<context>: expects an input with a batch dim and at least one more, got [8]".
ShapedLayer BiasAddLayerOf(const std::vector<int64_t>& shape, const std::string& context);

// The cat config (core/layer_config.h) of concatenating tensors of `shapes` along dim 1:
// batch_size N, in_channels = the sum of their C, height H, width W (1 for (N, F) tensors),
// inputs = their number. Throws ConfigError naming `context` when the shapes are not all 4-D or
// all 2-D, or differ in any dimension but 1 (what torch.cat would reject).
LayerConfig CatConfig(const std::vector<std::vector<int64_t>>& shapes, const std::string& context);

// The training loss core/layer_config.h models: one cross_entropy on the network's output
// (the last layer's output shape, which must be (N, num_classes)): batch_size N, num_classes.
// Empty, with the reason in *reason, for no layers or another output rank.
std::optional<LayerConfig> LossConfigOf(const std::vector<LayerInstance>& layers,
                                        std::string* reason = nullptr);

// One optimizer step: sgd or adam (`optimizer` "sgd" / "adam") with parameters = the sum of
// parameter_count and parameter_tensors = the sum of parameter_tensors over `layers`.
// Empty, with the reason in *reason, for another optimizer or no trainable parameters.
std::optional<LayerConfig> OptimizerConfigOf(const std::vector<LayerInstance>& layers,
                                             const std::string& optimizer,
                                             std::string* reason = nullptr);

// A parameter-wide step of `type` (sgd, adam, grad_accumulate or zero_grad) over the network's
// trainable parameters, counted as OptimizerConfigOf does. Empty, with the reason in *reason,
// for a type that is not a parameter-wide step or no trainable parameters.
std::optional<LayerConfig> ParameterStepConfigOf(const std::vector<LayerInstance>& layers,
                                                 LayerType type, std::string* reason = nullptr);

// The network's input is data (it requires no gradient), and autograd computes no gradient of
// a tensor that depends on no trainable parameter: the first layer with parameters, in forward
// order (every earlier layer is parameter-free), needs no input gradient. Sets input_grad =
// false in that layer's config when it is a conv2d or linear (core/layer_config.h); no-op
// otherwise. net_builder and torchscript_layers call it on the layers they return.
void MarkFirstTrainableLayer(std::vector<LayerInstance>& layers);

// Product of the dimensions (1 for an empty shape).
int64_t NumElements(const std::vector<int64_t>& shape);

// "[64, 3, 224, 224]".
std::string ShapeToString(const std::vector<int64_t>& shape);

// Forward multiply-accumulates of a layer over the whole batch, core's definition (core
// ForwardMacs, the one fit's "macs" feature and the bounds' max_forward_macs use) whenever the
// layer has a config. Without one (a geometry core cannot describe), the same counting from the
// shapes: conv2d output * (C_in / groups) * kernel_elements, linear output * in_features,
// maxpool2d / avgpool2d output * kernel_elements, adaptive_avgpool2d input elements, bmm output
// * the last dim of its first operand (the contracted one), embedding output elements, the other
// element-wise types output elements; views, no-cost layers (dropout with p = 0, a contiguous
// of a contiguous tensor: no work) and ops without a layer type 0.
// `kernel_elements` and `groups` are used only where stated.
double ForwardMacsOf(const LayerInstance& layer, int64_t kernel_elements = 0, int64_t groups = 1);

// {"path", "type", "source", "input_shape", "output_shape", "config" (core ToJson, or null),
//  "note" (only when set), "no_cost" (only when true), "grad_accumulations" (core ToJson
//  each, only when any), "parameter_count", "parameter_tensors", "forward_macs"}.
nlohmann::json ToJson(const LayerInstance& layer);

}  // namespace lj
