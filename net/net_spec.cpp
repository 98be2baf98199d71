#include "net/net_spec.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>
#include <utility>

#include "core/errors.h"
#include "core/json_reader.h"
#include "net/layer_instance.h"
#include "net/training_run.h"

namespace lj {
namespace {

// The net.json leaves of a layer type, registered against the enum, and the keys each may have
// besides "type" and "name"; then every activation of core/layer_types.def, which has none and
// also serves as a block's activation.
struct NetLeaf {
  LayerType type;
  std::vector<std::string> fields;
  bool activation;
};

const std::vector<NetLeaf>& NetLeaves() {
  static const std::vector<NetLeaf> kLeaves = {
      {LayerType::kConv2d,
       {"out_channels", "kernel_size", "stride", "padding", "groups", "bias"},
       false},
      {LayerType::kMaxPool2d, {"kernel_size", "stride", "padding", "ceil_mode"}, false},
      {LayerType::kAvgPool2d, {"kernel_size", "stride", "padding", "ceil_mode"}, false},
      {LayerType::kAdaptiveAvgPool2d, {"output_size"}, false},
      {LayerType::kLinear, {"out_features", "bias"}, false},
      {LayerType::kBatchNorm2d, {"eps", "momentum"}, false},
      {LayerType::kLayerNorm, {"eps"}, false},
      {LayerType::kDropout, {"p"}, false},
      {LayerType::kEmbedding, {"num_embeddings", "embedding_dim"}, false},
      {LayerType::kMean, {"dim"}, false},
      {LayerType::kNorm, {"dim"}, false},
      {LayerType::kSelect, {"dim", "index"}, false},
      {LayerType::kBiasAdd, {}, false},
  };
  static const std::vector<NetLeaf> kWithActivations = [] {
    std::vector<NetLeaf> leaves = kLeaves;
    for (LayerType t : AllLayerTypes()) {
      if (Describe(t).role == LayerRole::kActivation) leaves.push_back({t, {}, true});
    }
    return leaves;
  }();
  return kWithActivations;
}

const NetLeaf* FindLeaf(const std::string& type) {
  for (const NetLeaf& leaf : NetLeaves()) {
    if (type == ToString(leaf.type)) return &leaf;
  }
  return nullptr;
}

std::vector<std::string> LeafNames(bool activations) {
  std::vector<std::string> names;
  for (const NetLeaf& leaf : NetLeaves()) {
    if (leaf.activation == activations) names.emplace_back(ToString(leaf.type));
  }
  return names;
}

// Non-activation leaves, then the view (no layer type).
const std::vector<std::string> kLeafTypes = [] {
  std::vector<std::string> v = LeafNames(false);
  v.emplace_back(kFlattenType);
  return v;
}();
const std::vector<std::string> kActivationTypes = LeafNames(true);
const std::vector<std::string> kBlockTypes = {"sequential",         "residual",
                                              "squeeze_excitation", "concat",
                                              "channel_shuffle",    "transformer_encoder_layer"};

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The keys a layer of `type` may have besides "type" and "name".
std::vector<std::string> FieldsOf(const std::string& type) {
  if (const NetLeaf* leaf = FindLeaf(type)) return leaf->fields;
  if (type == kFlattenType) return {"start_dim", "end_dim"};
  if (type == "sequential") return {"layers"};
  if (type == "residual") return {"layers", "shortcut", "shortcut_name", "activation"};
  if (type == "squeeze_excitation") return {"squeeze_channels", "activation", "scale_activation"};
  if (type == "concat") return {"branches"};
  if (type == "channel_shuffle") return {"groups"};
  if (type == "transformer_encoder_layer") {
    return {"nhead", "dim_feedforward", "dropout", "activation", "layer_norm_eps", "norm_first"};
  }
  return {};
}

// Reads the layer field `key` of `j` as a positive (min 1) or non-negative (min 0) integer.
// Absent: `fallback` when given, else "missing key".
int64_t IntField(const nlohmann::json& j, const std::string& key, const std::string& ctx,
                 int64_t min, std::optional<int64_t> fallback) {
  if (!j.contains(key) && fallback) return *fallback;
  const std::string where = At(ctx, key);
  const int64_t value = ReadInt(RequireKey(j, key, ctx), where);
  if (value < min) {
    throw ConfigError(where + " must be " + (min == 0 ? ">= 0" : "> 0") + ", got " +
                      std::to_string(value));
  }
  return value;
}

// Reads the layer field `key` of `j` as torch.nn's size of two sides: an integer (both sides)
// or [height, width], each >= min. Absent: (fallback, fallback) when given, else "missing key".
std::pair<int64_t, int64_t> SizePairField(const nlohmann::json& j, const std::string& key,
                                          const std::string& ctx, int64_t min,
                                          std::optional<int64_t> fallback) {
  if (!j.contains(key) && fallback) return {*fallback, *fallback};
  const nlohmann::json& size = RequireKey(j, key, ctx);
  const std::string where = At(ctx, key);
  std::pair<int64_t, int64_t> sides;
  if (size.is_array()) {
    if (size.size() != 2) {
      throw ConfigError(where + " must be an integer or [height, width], got " + Describe(size));
    }
    sides = {ReadInt(size[0], where + "[0]"), ReadInt(size[1], where + "[1]")};
  } else {
    sides.first = sides.second = ReadInt(size, where);
  }
  if (sides.first < min || sides.second < min) {
    throw ConfigError(where + " must be " + (min == 0 ? ">= 0" : "> 0") + ", got " +
                      Describe(size));
  }
  return sides;
}

double NumberField(const nlohmann::json& j, const std::string& key, const std::string& ctx,
                   double fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  return ReadNumber(*it, At(ctx, key));
}

std::string FormatNumber(double v) {
  nlohmann::json j = v;
  return j.dump();
}

void CheckSegment(const std::string& name, const std::string& where) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      })) {
    throw ConfigError(where + " must be a non-empty name of letters, digits and '_', got \"" +
                      name + "\"");
  }
}

std::string ActivationField(const nlohmann::json& j, const std::string& key, const std::string& ctx,
                            std::optional<std::string> fallback, bool allow_none) {
  if (!j.contains(key) && fallback) return *fallback;
  const std::string where = At(ctx, key);
  const std::string value = ReadString(RequireKey(j, key, ctx), where);
  if (Contains(kActivationTypes, value) || (allow_none && value == "none")) return value;
  throw ConfigError(where + " must be " + (allow_none ? "none, " : "") +
                    JoinNames(kActivationTypes) + ", got \"" + value + "\"");
}

// Reads the fields of a net.json leaf of layer type `type` into `layer` (activations have none).
// A network-layer type without a NetLeaves() row or a block that makes it fails
// tests/integration/layer_registry_test.cpp.
void ParseLeafFields(LayerType type, const nlohmann::json& j, const std::string& ctx,
                     NetLayerSpec& layer) {
  if (Describe(type).role == LayerRole::kActivation) return;  // no fields
  switch (type) {
    case LayerType::kConv2d: {
      layer.out_channels = IntField(j, "out_channels", ctx, 1, std::nullopt);
      std::tie(layer.kernel_size, layer.kernel_width) =
          SizePairField(j, "kernel_size", ctx, 1, std::nullopt);
      layer.stride = IntField(j, "stride", ctx, 1, 1);
      std::tie(layer.padding, layer.padding_width) = SizePairField(j, "padding", ctx, 0, 0);
      layer.groups = IntField(j, "groups", ctx, 1, 1);
      if (j.contains("bias")) layer.bias = ReadBool(j["bias"], At(ctx, "bias"));
      if (layer.out_channels % layer.groups != 0) {
        throw ConfigError(At(ctx, "groups " + std::to_string(layer.groups) +
                                      " must divide out_channels " +
                                      std::to_string(layer.out_channels)));
      }
      break;
    }
    case LayerType::kMaxPool2d:
    case LayerType::kAvgPool2d: {
      layer.kernel_size = IntField(j, "kernel_size", ctx, 1, std::nullopt);
      layer.stride = IntField(j, "stride", ctx, 1, layer.kernel_size);
      layer.padding = IntField(j, "padding", ctx, 0, 0);
      if (j.contains("ceil_mode")) layer.ceil_mode = ReadBool(j["ceil_mode"], At(ctx, "ceil_mode"));
      if (layer.padding > layer.kernel_size / 2) {
        throw ConfigError(At(
            ctx, "padding must be <= kernel_size / 2 = " + std::to_string(layer.kernel_size / 2) +
                     ", got " + std::to_string(layer.padding)));
      }
      break;
    }
    case LayerType::kAdaptiveAvgPool2d: {
      const auto [height, width] = SizePairField(j, "output_size", ctx, 1, std::nullopt);
      layer.output_height = height;
      layer.output_width = width;
      break;
    }
    case LayerType::kLinear: {
      layer.out_features = IntField(j, "out_features", ctx, 1, std::nullopt);
      if (j.contains("bias")) layer.bias = ReadBool(j["bias"], At(ctx, "bias"));
      break;
    }
    case LayerType::kBatchNorm2d: {
      layer.eps = NumberField(j, "eps", ctx, 1e-5);
      layer.momentum = NumberField(j, "momentum", ctx, 0.1);
      if (!(layer.eps > 0)) {
        throw ConfigError(At(ctx, "eps") + " must be > 0, got " + FormatNumber(layer.eps));
      }
      if (!(layer.momentum >= 0 && layer.momentum <= 1)) {
        throw ConfigError(At(ctx, "momentum") + " must be in [0, 1], got " +
                          FormatNumber(layer.momentum));
      }
      break;
    }
    case LayerType::kLayerNorm: {
      layer.eps = NumberField(j, "eps", ctx, 1e-5);
      if (!(layer.eps > 0)) {
        throw ConfigError(At(ctx, "eps") + " must be > 0, got " + FormatNumber(layer.eps));
      }
      break;
    }
    case LayerType::kEmbedding: {
      layer.num_embeddings = IntField(j, "num_embeddings", ctx, 1, std::nullopt);
      layer.embedding_dim = IntField(j, "embedding_dim", ctx, 1, std::nullopt);
      break;
    }
    case LayerType::kMean:
    case LayerType::kNorm: {  // "dim": an integer or a non-empty list of them
      const nlohmann::json& dim = RequireKey(j, "dim", ctx);
      const std::string where = At(ctx, "dim");
      if (dim.is_array()) {
        if (dim.empty() || dim.size() > 8) {
          throw ConfigError(where + " must be an integer or a list of 1 to 8 integers, got " +
                            Describe(dim));
        }
        for (size_t i = 0; i < dim.size(); ++i) {
          layer.dims.push_back(ReadInt(dim[i], where + "[" + std::to_string(i) + "]"));
        }
      } else {
        layer.dims.push_back(ReadInt(dim, where));
      }
      break;
    }
    case LayerType::kSelect: {
      layer.dims.push_back(ReadInt(RequireKey(j, "dim", ctx), At(ctx, "dim")));
      layer.index = ReadInt(RequireKey(j, "index", ctx), At(ctx, "index"));
      break;
    }
    case LayerType::kDropout: {
      layer.p = NumberField(j, "p", ctx, 0.5);
      if (!(layer.p >= 0 && layer.p <= 1)) {
        throw ConfigError(At(ctx, "p") + " must be in [0, 1], got " + FormatNumber(layer.p));
      }
      break;
    }
    case LayerType::kBiasAdd:  // no fields: its bias has the shape of one sample
      break;
    default:  // add and mul (made by blocks), the training steps: no net.json leaf
      throw std::logic_error("net/net_spec.cpp: " + std::string(ToString(type)) +
                             " is not a net.json leaf with fields");
  }
}

// torch.nn.TransformerEncoderLayer's arguments but d_model (the input's last dim) and batch_first
// (always): nhead, dim_feedforward (2048), dropout (0.1), activation ("relu" or "gelu"),
// layer_norm_eps (1e-5), norm_first (false).
void ParseTransformerEncoderLayer(const nlohmann::json& j, const std::string& ctx,
                                  NetLayerSpec& layer) {
  layer.nhead = IntField(j, "nhead", ctx, 1, std::nullopt);
  layer.dim_feedforward = IntField(j, "dim_feedforward", ctx, 1, 2048);
  layer.p = NumberField(j, "dropout", ctx, 0.1);
  if (!(layer.p >= 0 && layer.p < 1)) {
    throw ConfigError(At(ctx, "dropout") + " must be in [0, 1), got " + FormatNumber(layer.p));
  }
  layer.activation = j.contains("activation") ? ReadString(j["activation"], At(ctx, "activation"))
                                              : std::string("relu");
  if (layer.activation != "relu" && layer.activation != "gelu") {
    throw ConfigError(At(ctx, "activation") + " must be relu or gelu, got \"" + layer.activation +
                      "\"");
  }
  layer.eps = NumberField(j, "layer_norm_eps", ctx, 1e-5);
  if (!(layer.eps > 0)) {
    throw ConfigError(At(ctx, "layer_norm_eps") + " must be > 0, got " + FormatNumber(layer.eps));
  }
  if (j.contains("norm_first")) layer.norm_first = ReadBool(j["norm_first"], At(ctx, "norm_first"));
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  // Parses a "layers" or "shortcut" array. `key_path` names the array itself ("layers",
  // "layers[4].layers"); `where` is the full message prefix for the array (with the file).
  std::vector<NetLayerSpec> ParseList(const nlohmann::json& list, const std::string& key_path,
                                      const std::string& where, bool allow_empty) {
    if (!list.is_array()) {
      throw ConfigError(where + " must be an array of layers, got " + Describe(list));
    }
    if (list.empty() && !allow_empty) throw ConfigError(where + " must not be empty");
    std::vector<NetLayerSpec> layers;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item_path = key_path + "[" + std::to_string(i) + "]";
      const std::string item_where =
          key_path == "layers" ? "layer " + std::to_string(i) : item_path;
      layers.push_back(ParseLayer(list[i], item_path, item_where));
    }
    return layers;
  }

 private:
  NetLayerSpec ParseLayer(const nlohmann::json& j, const std::string& key_path,
                          const std::string& where) {
    RequireObject(j, At(source_, where));
    NetLayerSpec layer;
    layer.where = where;
    layer.type =
        ReadString(RequireKey(j, "type", At(source_, where)), At(source_, where + ": type"));
    if (!Contains(NetLayerTypes(), layer.type)) {
      throw ConfigError(At(source_, where + ": unknown layer type '" + layer.type + "' (expected " +
                                        JoinNames(NetLayerTypes()) + ")"));
    }
    const std::string ctx = At(source_, where + " (" + layer.type + ")");
    std::vector<std::string> allowed = {"type", "name"};
    for (const std::string& f : FieldsOf(layer.type)) allowed.push_back(f);
    RejectUnknownKeys(j, allowed, ctx);
    if (j.contains("name")) {
      layer.name = ReadString(j["name"], At(ctx, "name"));
      CheckSegment(layer.name, At(ctx, "name"));
    }

    const std::string& t = layer.type;
    if (const NetLeaf* leaf = FindLeaf(t)) layer.layer_type = leaf->type;
    if (layer.layer_type) {
      ParseLeafFields(*layer.layer_type, j, ctx, layer);
    } else if (t == kFlattenType) {
      layer.start_dim = IntField(j, "start_dim", ctx, 1, 1);
      if (j.contains("end_dim")) layer.end_dim = ReadInt(j["end_dim"], At(ctx, "end_dim"));
      if (layer.end_dim >= 0 && layer.end_dim < layer.start_dim) {
        throw ConfigError(At(ctx, "end_dim") + " must be -1 or >= start_dim " +
                          std::to_string(layer.start_dim) + ", got " +
                          std::to_string(layer.end_dim));
      }
    } else if (t == "sequential") {
      layer.layers =
          ParseList(RequireKey(j, "layers", ctx), key_path + ".layers", ctx + ": layers", false);
      CheckUniqueSegments(layer.layers, {});
    } else if (t == "residual") {
      layer.layers =
          ParseList(RequireKey(j, "layers", ctx), key_path + ".layers", ctx + ": layers", false);
      layer.activation = ActivationField(j, "activation", ctx, std::nullopt, true);
      if (j.contains("shortcut")) {
        layer.shortcut = ParseList(j["shortcut"], key_path + ".shortcut", ctx + ": shortcut", true);
        CheckUniqueSegments(layer.shortcut, {});
      }
      if (j.contains("shortcut_name")) {
        layer.shortcut_name = ReadString(j["shortcut_name"], At(ctx, "shortcut_name"));
        CheckSegment(layer.shortcut_name, At(ctx, "shortcut_name"));
      }
      std::vector<std::string> reserved = {"add", "activation"};
      if (!layer.shortcut.empty()) reserved.push_back(layer.shortcut_name);
      CheckUniqueSegments(layer.layers, reserved);
    } else if (t == "concat") {
      layer.layers = ParseList(RequireKey(j, "branches", ctx), key_path + ".branches",
                               ctx + ": branches", false);
      if (layer.layers.size() < 2) {
        throw ConfigError(At(ctx, "branches") + " must hold at least 2 branches, got " +
                          std::to_string(layer.layers.size()));
      }
      CheckUniqueSegments(layer.layers, {"cat"});
    } else if (t == "channel_shuffle") {
      layer.groups = IntField(j, "groups", ctx, 2, std::nullopt);
    } else if (t == "transformer_encoder_layer") {
      ParseTransformerEncoderLayer(j, ctx, layer);
    } else if (t == "squeeze_excitation") {
      layer.squeeze_channels = IntField(j, "squeeze_channels", ctx, 1, std::nullopt);
      layer.activation = ActivationField(j, "activation", ctx, std::string("relu"), false);
      layer.scale_activation =
          ActivationField(j, "scale_activation", ctx, std::string("sigmoid"), false);
    }
    return layer;
  }

 public:
  // Path segments of `layers` (name or index) must be distinct and not in `reserved` (the
  // segments a residual block uses itself).
  void CheckUniqueSegments(const std::vector<NetLayerSpec>& layers,
                           const std::vector<std::string>& reserved) {
    std::set<std::string> seen(reserved.begin(), reserved.end());
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::string segment = layers[i].name.empty() ? std::to_string(i) : layers[i].name;
      if (!seen.insert(segment).second) {
        throw ConfigError(At(source_, layers[i].where + " (" + layers[i].type + "): name '" +
                                          segment + "' is already used in the same block"));
      }
    }
  }

 private:
  std::string source_;
};

}  // namespace

bool NetLayerSpec::IsBlock() const { return Contains(kBlockTypes, type); }

const std::vector<std::string>& ActivationTypes() { return kActivationTypes; }

bool IsNetJsonLeaf(LayerType type) {
  for (const NetLeaf& leaf : NetLeaves()) {
    if (leaf.type == type) return true;
  }
  return false;
}

std::string_view NetBlockOf(LayerType type) {
  if (type == LayerType::kAdd) return "residual";
  if (type == LayerType::kMul) return "squeeze_excitation";
  if (type == LayerType::kCat) return "concat";
  if (type == LayerType::kContiguous) return "channel_shuffle";
  return "";
}

bool IsTorchScriptOnly(LayerType type) {
  return type == LayerType::kBmm || type == LayerType::kDiv;
}

std::string InputToString(const InputSpec& input) {
  if (input.IsTokenIds()) return std::to_string(input.sequence_length) + " token ids";
  return std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
         std::to_string(input.width);
}

std::string LinearRankError(const std::vector<int64_t>& shape) {
  return "expects a 2-D input (batch, features) or a 3-D (batch, sequence, features), got " +
         ShapeToString(shape) + "; add a flatten layer before it";
}

std::string LayerNormRankError(const std::vector<int64_t>& shape) {
  return "input " + ShapeToString(shape) + " is neither (N, F), (N, S, F) nor (N, C, H, W)";
}

std::string TokenIdsMismatch(const NetLayerSpec& layer, bool input_is_ids,
                             const std::vector<int64_t>& shape, int64_t vocabulary) {
  if (layer.type == "sequential") return "";  // its layers are checked one by one
  if (layer.layer_type == LayerType::kEmbedding) {
    if (!input_is_ids) {
      return "expects the token ids (batch, sequence_length) of a sequence input (\"input\": "
             "{\"sequence_length\", \"vocabulary\"}), got a float tensor " +
             ShapeToString(shape);
    }
    if (layer.num_embeddings < vocabulary) {
      return "num_embeddings " + std::to_string(layer.num_embeddings) +
             " is less than the input's vocabulary " + std::to_string(vocabulary) +
             " (the ids are in [0, vocabulary))";
    }
    return "";
  }
  if (input_is_ids) {
    return "expects a float tensor, got the token ids " + ShapeToString(shape) +
           " of the sequence input; an embedding layer must take them first";
  }
  return "";
}

const std::vector<std::string>& NetLayerTypes() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v = kLeafTypes;
    v.insert(v.end(), kActivationTypes.begin(), kActivationTypes.end());
    v.insert(v.end(), kBlockTypes.begin(), kBlockTypes.end());
    return v;
  }();
  return all;
}

void CheckRunSizes(const NetSpec& spec, const std::string& context) {
  constexpr double kMaxBatchElements = 8589934592.0;
  double batch_elements = static_cast<double>(spec.batch_size);
  for (int64_t d : spec.input.SampleShape()) batch_elements *= static_cast<double>(d);
  if (batch_elements > kMaxBatchElements) {
    throw ConfigError(At(context, "input") + ": batch_size x channels x height x width = " +
                      Describe(nlohmann::json(batch_elements)) +
                      " elements, more than the limit of 2^33 (32 GiB of float32)");
  }
  const double total_steps =
      static_cast<double>(StepsPerEpoch(spec.dataset_size, spec.batch_size)) *
      static_cast<double>(spec.epochs);
  if (total_steps > 9007199254740992.0) {
    throw ConfigError(At(context, "epochs") + ": dataset_size / batch_size x epochs = " +
                      Describe(nlohmann::json(total_steps)) +
                      " training steps, more than 2^53; totals would overflow");
  }
}

NetSpec ParseNetSpec(const nlohmann::json& j, const std::string& context) {
  RequireObject(j, context.empty() ? "net.json" : context);
  RejectUnknownKeys(j,
                    {"name", "input", "batch_size", "dataset_size", "epochs", "optimizer",
                     "num_classes", "layers"},
                    context);
  NetSpec spec;
  spec.source = context;
  spec.name = ReadString(RequireKey(j, "name", context), At(context, "name"));
  if (spec.name.empty()) throw ConfigError(At(context, "name must not be empty"));

  const nlohmann::json& input = RequireKey(j, "input", context);
  const std::string input_ctx = At(context, "input");
  RequireObject(input, input_ctx);
  if (input.contains("sequence_length")) {  // token ids of a language model
    RejectUnknownKeys(input, {"sequence_length", "vocabulary"}, input_ctx);
    spec.input.sequence_length = IntField(input, "sequence_length", input_ctx, 1, std::nullopt);
    spec.input.vocabulary = IntField(input, "vocabulary", input_ctx, 1, std::nullopt);
  } else {
    RejectUnknownKeys(input, {"channels", "height", "width"}, input_ctx);
    spec.input.channels = IntField(input, "channels", input_ctx, 1, std::nullopt);
    spec.input.height = IntField(input, "height", input_ctx, 1, std::nullopt);
    spec.input.width = IntField(input, "width", input_ctx, 1, std::nullopt);
  }

  spec.batch_size = IntField(j, "batch_size", context, 1, std::nullopt);
  spec.dataset_size = IntField(j, "dataset_size", context, 1, std::nullopt);
  spec.epochs = IntField(j, "epochs", context, 1, std::nullopt);
  CheckRunSizes(spec, context);
  if (j.contains("num_classes")) {
    spec.num_classes = IntField(j, "num_classes", context, 1, std::nullopt);
  }

  if (j.contains("optimizer")) {
    const nlohmann::json& opt = j["optimizer"];
    const std::string opt_ctx = At(context, "optimizer");
    RequireObject(opt, opt_ctx);
    spec.optimizer.type = ReadString(RequireKey(opt, "type", opt_ctx), At(opt_ctx, "type"));
    if (spec.optimizer.type == "sgd") {
      RejectUnknownKeys(opt, {"type", "lr", "momentum", "weight_decay", "zero_grad"}, opt_ctx);
    } else if (spec.optimizer.type == "adam") {
      RejectUnknownKeys(opt, {"type", "lr", "weight_decay", "zero_grad"}, opt_ctx);
      spec.optimizer.momentum = 0.0;
      spec.optimizer.lr = 0.001;  // torch.optim.Adam default
    } else {
      throw ConfigError(At(opt_ctx, "type") + " must be sgd or adam, got \"" + spec.optimizer.type +
                        "\"");
    }
    if (opt.contains("zero_grad")) {
      spec.optimizer.zero_grad = ReadString(opt["zero_grad"], At(opt_ctx, "zero_grad"));
      if (spec.optimizer.zero_grad != "zero" && spec.optimizer.zero_grad != "none") {
        throw ConfigError(At(opt_ctx, "zero_grad") + " must be \"zero\" or \"none\", got \"" +
                          spec.optimizer.zero_grad + "\"");
      }
    }
    spec.optimizer.lr = NumberField(opt, "lr", opt_ctx, spec.optimizer.lr);
    spec.optimizer.momentum = NumberField(opt, "momentum", opt_ctx, spec.optimizer.momentum);
    spec.optimizer.weight_decay = NumberField(opt, "weight_decay", opt_ctx, 0.0);
    if (!(spec.optimizer.lr > 0)) {
      throw ConfigError(At(opt_ctx, "lr") + " must be > 0, got " + FormatNumber(spec.optimizer.lr));
    }
    if (spec.optimizer.momentum < 0) {
      throw ConfigError(At(opt_ctx, "momentum") + " must be >= 0, got " +
                        FormatNumber(spec.optimizer.momentum));
    }
    if (spec.optimizer.weight_decay < 0) {
      throw ConfigError(At(opt_ctx, "weight_decay") + " must be >= 0, got " +
                        FormatNumber(spec.optimizer.weight_decay));
    }
  }

  Parser parser(context);
  spec.layers =
      parser.ParseList(RequireKey(j, "layers", context), "layers", At(context, "layers"), false);
  parser.CheckUniqueSegments(spec.layers, {});
  return spec;
}

NetSpec LoadNetSpec(const std::string& path) { return ParseNetSpec(LoadJsonFile(path), path); }

}  // namespace lj
