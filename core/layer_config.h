#pragma once
// One layer configuration: what `measure` samples, `fit` models and `predict` sums.
// Field names follow torch.nn (Conv2d, MaxPool2d, Linear); sizes are element counts, not bytes.
// Input tensors are NCHW float32 for conv2d/maxpool2d and (batch_size, in_features) for linear.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lj {

// Layer types. Names as stored in the database column samples.layer.
enum class LayerType { kConv2d, kMaxPool2d, kLinear };

// Pass of a training step. Names as stored in samples.pass.
enum class Pass { kForward, kBackward };

// "conv2d", "maxpool2d", "linear".
std::string_view ToString(LayerType type);
// "forward", "backward".
std::string_view ToString(Pass pass);
// Accepts the names above and the short CLI aliases "conv", "maxpool"/"pool".
// Throws ConfigError("unknown layer type 'x' (expected conv2d, maxpool2d or linear)").
LayerType ParseLayerType(std::string_view name);
Pass ParsePass(std::string_view name);

// The parameters of one layer and its input. Unused fields for a type keep their defaults and
// are not serialised. For maxpool2d the channel count is in_channels (out_channels == in_channels).
struct LayerConfig {
  LayerType type = LayerType::kConv2d;
  int64_t batch_size = 1;
  // conv2d and maxpool2d: input (batch_size, in_channels, height, width), square kernel.
  int64_t in_channels = 0;
  int64_t out_channels = 0;  // conv2d only
  int64_t height = 0;        // input height before padding
  int64_t width = 0;         // input width before padding
  int64_t kernel_size = 0;
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t groups = 1;  // conv2d only; groups == in_channels is depthwise
  bool bias = true;    // conv2d and linear
  // linear: input (batch_size, in_features).
  int64_t in_features = 0;
  int64_t out_features = 0;

  // Compares the type and the fields the type uses (FieldNames); unused fields are ignored, so a
  // config equals its JSON round trip.
  bool operator==(const LayerConfig& other) const;
  bool operator!=(const LayerConfig& other) const { return !(*this == other); }
};

// Checks that the layer can be built and run: sizes > 0, kernel fits the padded input,
// groups divides in_channels and out_channels, padding <= kernel_size / 2 for maxpool2d (a
// torch rule). Throws ConfigError naming the field and value, prefixed with `context`
// (e.g. "configs/bounds/conv.json" or "net.json: layer 3 (conv2d)").
// With an empty context the message is prefixed with the type, e.g.
// "conv2d: kernel_size must be > 0, got 0".
void Validate(const LayerConfig& config, const std::string& context = "");
// Non-throwing Validate: false, and the message (without context) in *reason if non-null.
bool IsValid(const LayerConfig& config, std::string* reason = nullptr);

// All layer types, in enum order.
const std::vector<LayerType>& AllLayerTypes();
// The JSON keys (torch.nn names) ToJson writes for `type`, in declaration order, e.g. linear:
// {"batch_size", "in_features", "out_features", "bias"}. "bias" is the only boolean field.
const std::vector<std::string>& FieldNames(LayerType type);

// Output shape: conv2d/maxpool2d {N, C_out, H_out, W_out} with
// H_out = floor((height + 2*padding - kernel_size) / stride) + 1; linear {N, out_features}.
std::vector<int64_t> OutputShape(const LayerConfig& config);

// Multiply-accumulates of one forward pass over the whole batch.
// conv2d: N * C_out * H_out * W_out * (C_in / groups) * k^2; linear: N * in * out;
// maxpool2d: N * C * H_out * W_out * k^2 (comparisons, counted as MACs as NeuralPower does).
double ForwardMacs(const LayerConfig& config);

// Element counts of the tensors a layer touches (multiply by 4 for float32 bytes).
struct TensorSizes {
  double input_elements = 0;   // N*C*H*W or N*in_features
  double output_elements = 0;  // product of OutputShape
  double weight_elements = 0;  // weights + bias; 0 for maxpool2d
};
TensorSizes Sizes(const LayerConfig& config);

// JSON with torch.nn field names, only the fields that matter for the type, e.g.
// {"batch_size":8,"in_channels":3,"out_channels":16,"height":32,"width":32,"kernel_size":3,
//  "stride":1,"padding":1,"groups":1,"bias":true}. Stored as text in samples.config.
nlohmann::json ToJson(const LayerConfig& config);
// Inverse of ToJson for a given type. Unknown keys, missing keys and wrong types throw
// ConfigError naming `context`, the key and the value. Does not call Validate.
LayerConfig LayerConfigFromJson(LayerType type, const nlohmann::json& j,
                                const std::string& context = "");

}  // namespace lj
