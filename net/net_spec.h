#pragma once
// A network definition read from a net.json file (format: predict/NET_FORMAT.md, schema:
// configs/schemas/net.schema.json). Parsing is strict and needs no LibTorch: unknown layer
// types, unknown keys, missing required fields, mistyped values and out-of-range values all
// throw ConfigError naming the file, the layer and the value, e.g.
//   configs/nets/x.json: layer 3 (conv2d): kernel_size must be > 0, got 0
//   configs/nets/x.json: layers[4].layers[1] (relu): unknown key 'inplace' (expected name, type)
// Sizes that depend on the input (in_channels, in_features, kernel vs. input size, residual
// shapes) are checked when the network is built (net/net_builder.h).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer_type.h"

namespace lj {

// One entry of a "layers" list. Field names and defaults follow torch.nn; only the fields of
// `type` are meaningful. in_channels / in_features / num_features are never written: they come
// from the previous layer's output when the network is built.
struct NetLayerSpec {
  // Leaves: "conv2d", "maxpool2d", "avgpool2d", "adaptive_avgpool2d", "linear", "batchnorm2d",
  // "layer_norm", "embedding", "dropout", "mean", "norm", "select", "bias_add", "flatten", "relu",
  // "relu6",
  // "hardswish", "hardsigmoid", "sigmoid" (and the other activations). Blocks: "sequential",
  // "residual", "squeeze_excitation", "concat", "channel_shuffle", "transformer_encoder_layer".
  std::string type;
  // The layer type of a leaf that is one (every leaf but flatten); empty for flatten and blocks.
  std::optional<LayerType> layer_type;
  // Path segment of this layer ("features", "conv1"); empty: its index in the parent list
  // (for a residual shortcut: "<shortcut_name>.<index>").
  std::string name;
  // Where the layer is in the file, for messages: "layer 3" at the top level,
  // "layers[4].layers[1]" or "layers[4].shortcut[0]" when nested.
  std::string where;

  // conv2d: kernel_size and padding are an integer or [height, width] in the file (kernel_size
  // and padding hold the height's, kernel_width and padding_width the width's; equal when
  // square); maxpool2d / avgpool2d: square kernel_size, stride (default kernel_size), padding,
  // ceil_mode (default false).
  int64_t out_channels = 0;
  int64_t kernel_size = 0;
  int64_t kernel_width = 0;  // conv2d
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t padding_width = 0;  // conv2d
  int64_t groups = 1;         // conv2d; channel_shuffle (>= 2, dividing the input channels)
  bool bias = true;           // conv2d, linear
  bool ceil_mode = false;     // maxpool2d, avgpool2d
  // linear
  int64_t out_features = 0;
  // adaptive_avgpool2d: output (height, width); a single integer in the file means square.
  int64_t output_height = 0;
  int64_t output_width = 0;
  // batchnorm2d, layer_norm; transformer_encoder_layer's layer_norm_eps
  double eps = 1e-5;
  double momentum = 0.1;
  // dropout; transformer_encoder_layer's dropout (its default 0.1 is set by the parser)
  double p = 0.5;
  // embedding: torch.nn.Embedding(num_embeddings, embedding_dim) on the token ids of a sequence
  // input (the first layer that costs something).
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
  // flatten: torch.flatten(x, start_dim, end_dim); start_dim >= 1 keeps the batch dimension.
  int64_t start_dim = 1;
  int64_t end_dim = -1;
  // mean: torch.mean(x, dims) (net.json "dim": an integer or a list; keepdim false); norm: the
  // L2 norm x.norm(2, dims), the same "dim"; select: x.select(dims[0], index) (net.json "dim",
  // "index"). Negative values count from the end; they are checked against the input when the
  // network is built (net/layer_instance.h MeanLayerOf, NormLayerOf, SelectLayerOf).
  std::vector<int64_t> dims;
  int64_t index = 0;

  // sequential: layers. residual: layers is the branch, shortcut the optional projection
  // (empty: identity), output = activation(branch(x) + shortcut(x)). concat (net.json
  // "branches", Inception and Fire modules): layers are the >= 2 branches, each one layer (a
  // leaf or a block) applied to the block input, output = torch.cat([branch(x), ...], dim 1).
  // channel_shuffle (ShuffleNetV2; no children): one `contiguous` layer, the copy of the
  // shuffled channels (net/net_module.h ChannelShuffle, net/layer_instance.h
  // ChannelShuffleConfig).
  std::vector<NetLayerSpec> layers;
  std::vector<NetLayerSpec> shortcut;
  std::string shortcut_name = "shortcut";
  // residual: "none" or an activation type applied after the sum (required in the file).
  // squeeze_excitation: activation after fc1 (default "relu").
  std::string activation;
  // squeeze_excitation (torchvision.ops.SqueezeExcitation): scale = scale_activation(fc2(
  // activation(fc1(adaptive_avgpool2d(x, 1))))), output = scale * x. fc1: 1x1 conv2d
  // C -> squeeze_channels, fc2: 1x1 conv2d squeeze_channels -> C, both with bias.
  int64_t squeeze_channels = 0;
  std::string scale_activation = "sigmoid";
  // transformer_encoder_layer (torch.nn.TransformerEncoderLayer with batch_first=True;
  // net/transformer_block.h): nhead, dim_feedforward, norm_first (pre-norm, default false:
  // post-norm as torch's default); its dropout is `p` (default 0.1), its layer_norm_eps `eps`,
  // its activation "relu" or "gelu" `activation`.
  int64_t nhead = 0;
  int64_t dim_feedforward = 2048;
  bool norm_first = false;

  bool IsBlock() const;
};

// Optimizer of the training run. sgd uses lr, momentum, weight_decay; adam lr, weight_decay.
struct OptimizerSpec {
  std::string type = "sgd";  // "sgd" or "adam"
  // The training loop's zero_grad() convention: "zero" fills every .grad with zeros (torch and
  // LibTorch 1.13, and torch >= 2.0 with set_to_none=False), so the next backward accumulates
  // into it (grad_accumulate) and zero_grad costs a fill (zero_grad); "none" sets .grad to None
  // (torch >= 2.0's default): neither costs anything. predict/NET_FORMAT.md.
  std::string zero_grad = "zero";
  double lr = 0.01;
  double momentum = 0.9;
  double weight_decay = 0.0;
};

// One input sample: an image of channels x height x width floats (NCHW without N); or, with
// sequence_length > 0, a sequence of sequence_length int64 token ids (a language model's input:
// (N, sequence_length) per batch; net.json "input": {"sequence_length", "vocabulary"},
// `predict model.pt --input-ids 128`), channels, height and width then 0.
struct InputSpec {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t sequence_length = 0;
  // Token ids: their range, [0, vocabulary) (net.json); 0 when unknown (TorchScript's
  // --input-ids: measure --net takes the first nn.Embedding's rows).
  int64_t vocabulary = 0;

  bool IsTokenIds() const { return sequence_length > 0; }
  // One sample's shape: {sequence_length} for token ids, else {channels, height, width}.
  std::vector<int64_t> SampleShape() const {
    if (IsTokenIds()) return {sequence_length};
    return {channels, height, width};
  }
  // Bytes of one sample: 8 per int64 token id, 4 per float32 element.
  int64_t SampleBytes() const {
    return IsTokenIds() ? 8 * sequence_length : 4 * channels * height * width;
  }
};

// "3x224x224", or "128 token ids".
std::string InputToString(const InputSpec& input);

struct NetSpec {
  std::string name;
  InputSpec input;
  int64_t batch_size = 0;
  int64_t dataset_size = 0;  // training samples per epoch
  int64_t epochs = 0;
  OptimizerSpec optimizer;
  std::optional<int64_t> num_classes;  // when set, the output must be (batch_size, num_classes)
  std::vector<NetLayerSpec> layers;
  // The file the spec came from (or the context given to ParseNetSpec), prefixed to messages.
  std::string source;
};

// The activation names accepted as layer types and as "activation" fields.
const std::vector<std::string>& ActivationTypes();
// Whether net.json has a leaf of `type` (its own layer object); add and mul are made by the
// residual and squeeze_excitation blocks instead (NetBlockOf).
bool IsNetJsonLeaf(LayerType type);
// The net.json block that makes `type` ("residual" for add, "squeeze_excitation" for mul,
// "concat" for cat, "channel_shuffle" for contiguous), or "" when none does.
std::string_view NetBlockOf(LayerType type);
// Network-layer types that only TorchScript models have, with neither a net.json leaf nor a
// block: bmm, whose two operands are both computed (attention's q k^T and scores x v), and div
// (x / norm, F.normalize), where net.json chains layers of one input (the
// transformer_encoder_layer block has its own).
bool IsTorchScriptOnly(LayerType type);
// Why `layer` cannot take the current tensor, or "" when it can: an embedding needs the token ids
// of a sequence input (`input_is_ids`) with num_embeddings >= their `vocabulary`; every other
// layer and block but sequential needs a float tensor, so token ids go through an embedding
// first. `shape` (at the batch size) is quoted. Shared by net/net_shapes.cpp and
// net/net_builder.cpp, which prefix the layer's place.
std::string TokenIdsMismatch(const NetLayerSpec& layer, bool input_is_ids,
                             const std::vector<int64_t>& shape, int64_t vocabulary);
// Why a net.json linear or layer_norm cannot take an input of `shape` (at the batch size),
// shared by net/net_shapes.cpp and net/net_builder.cpp, which prefix the layer's place: linear
// takes (N, F) or (N, S, F) (over the last dim); layer_norm (N, F) or (N, S, F) (over the last
// dim) or (N, C, H, W) (over C, ConvNeXt's LayerNorm2d).
std::string LinearRankError(const std::vector<int64_t>& shape);
std::string LayerNormRankError(const std::vector<int64_t>& shape);
// Every accepted layer type (leaves, activations and blocks).
const std::vector<std::string>& NetLayerTypes();

// Parses a net.json document. `context` (usually the file path) prefixes every message.
// Throws: ConfigError as described at the top of this file.
NetSpec ParseNetSpec(const nlohmann::json& j, const std::string& context);

// Sizes that would overflow or be allocated for real (predict and measure --net build the
// network and run it): one batch of at most 2^33 input elements (32 GiB of float32), and at
// most 2^53 training steps in all (issue 11). ParseNetSpec checks the file's values; callers
// that override them (net/network_input.h) check again. Throws ConfigError at `context`.
void CheckRunSizes(const NetSpec& spec, const std::string& context);

// Reads and parses a net.json file.
// Throws: ConfigError "<path>: cannot open file (...)", "<path>: invalid JSON: ..." or as above.
NetSpec LoadNetSpec(const std::string& path);

}  // namespace lj
