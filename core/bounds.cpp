#include "core/bounds.h"

#include <algorithm>
#include <unordered_set>

#include "core/errors.h"
#include "core/json_reader.h"

namespace lj {
namespace {

// Largest value any integer parameter may take: far above any real layer, and small enough that
// products of a few of them stay exact in double and sums stay within int64.
constexpr int64_t kMaxParameterValue = 2147483647;

// One parameter of a bounds file and the LayerConfig fields behind it.
struct ParameterSpec {
  const char* name;
  bool is_bool;
  int64_t min_value;  // smallest valid value (0 for padding, else 1)
  bool required;
  int64_t default_choice;  // the single choice of an omitted optional parameter
  int64_t (*get)(const LayerConfig&);
  void (*set)(LayerConfig&, int64_t);
};

#define LJ_INT_PARAMETER(NAME, FIELD, MIN)                                              \
  ParameterSpec {                                                                       \
    NAME, false, MIN, true, 0, [](const LayerConfig& c) -> int64_t { return c.FIELD; }, \
        [](LayerConfig& c, int64_t v) { c.FIELD = v; }                                  \
  }

const ParameterSpec kBatchSize = LJ_INT_PARAMETER("batch_size", batch_size, 1);
const ParameterSpec kInChannels = LJ_INT_PARAMETER("in_channels", in_channels, 1);
const ParameterSpec kOutChannels = LJ_INT_PARAMETER("out_channels", out_channels, 1);
const ParameterSpec kChannels = LJ_INT_PARAMETER("channels", in_channels, 1);
const ParameterSpec kKernelSize = LJ_INT_PARAMETER("kernel_size", kernel_size, 1);
const ParameterSpec kStride = LJ_INT_PARAMETER("stride", stride, 1);
const ParameterSpec kPadding = LJ_INT_PARAMETER("padding", padding, 0);
const ParameterSpec kInFeatures = LJ_INT_PARAMETER("in_features", in_features, 1);
const ParameterSpec kOutFeatures = LJ_INT_PARAMETER("out_features", out_features, 1);
const ParameterSpec kOutputSize = LJ_INT_PARAMETER("output_size", output_size, 1);
const ParameterSpec kPPercent = LJ_INT_PARAMETER("p_percent", p_percent, 0);
const ParameterSpec kNumClasses = LJ_INT_PARAMETER("num_classes", num_classes, 1);
const ParameterSpec kParameters = LJ_INT_PARAMETER("parameters", parameters, 1);
const ParameterSpec kParameterTensors = LJ_INT_PARAMETER("parameter_tensors", parameter_tensors, 1);
const ParameterSpec kInputs = LJ_INT_PARAMETER("inputs", inputs, 1);
const ParameterSpec kRows = LJ_INT_PARAMETER("rows", rows, 1);
const ParameterSpec kInnerSize = LJ_INT_PARAMETER("inner_size", inner_size, 1);
const ParameterSpec kColumns = LJ_INT_PARAMETER("columns", columns, 1);
const ParameterSpec kSequenceLength = LJ_INT_PARAMETER("sequence_length", sequence_length, 1);
const ParameterSpec kNumEmbeddings = LJ_INT_PARAMETER("num_embeddings", num_embeddings, 1);
const ParameterSpec kEmbeddingDim = LJ_INT_PARAMETER("embedding_dim", embedding_dim, 1);
#undef LJ_INT_PARAMETER

const ParameterSpec kImageSize{"image_size",
                               false,
                               1,
                               true,
                               0,
                               [](const LayerConfig& c) -> int64_t { return c.height; },
                               [](LayerConfig& c, int64_t v) {
                                 c.height = v;
                                 c.width = v;
                               }};
const ParameterSpec kGroups{"groups",
                            false,
                            1,
                            false,
                            1,
                            [](const LayerConfig& c) -> int64_t { return c.groups; },
                            [](LayerConfig& c, int64_t v) { c.groups = v; }};
const ParameterSpec kBias{"bias",
                          true,
                          0,
                          false,
                          1,
                          [](const LayerConfig& c) -> int64_t { return c.bias ? 1 : 0; },
                          [](LayerConfig& c, int64_t v) { c.bias = v != 0; }};
const ParameterSpec kCeilMode{"ceil_mode",
                              true,
                              0,
                              false,
                              0,
                              [](const LayerConfig& c) -> int64_t { return c.ceil_mode ? 1 : 0; },
                              [](LayerConfig& c, int64_t v) { c.ceil_mode = v != 0; }};
const ParameterSpec kInputGrad{"input_grad",
                               true,
                               0,
                               false,
                               1,
                               [](const LayerConfig& c) -> int64_t { return c.input_grad ? 1 : 0; },
                               [](LayerConfig& c, int64_t v) { c.input_grad = v != 0; }};

// Every bounds parameter, by name. A descriptor's `bounds_parameters` name rows of this table.
const std::vector<ParameterSpec>& AllParameterSpecs() {
  static const std::vector<ParameterSpec> kAll = {
      kBatchSize,     kInChannels,       kOutChannels, kChannels,   kKernelSize, kStride,
      kPadding,       kInFeatures,       kOutFeatures, kOutputSize, kPPercent,   kNumClasses,
      kParameters,    kParameterTensors, kImageSize,   kGroups,     kBias,       kInputGrad,
      kCeilMode,      kInputs,           kRows,        kInnerSize,  kColumns,    kSequenceLength,
      kNumEmbeddings, kEmbeddingDim};
  return kAll;
}

// The bounds parameters of each type, in the descriptor's canonical order (built once).
const std::vector<ParameterSpec>& ParameterSpecsOf(LayerType type) {
  static const std::vector<std::vector<ParameterSpec>> kByType = [] {
    std::vector<std::vector<ParameterSpec>> by_type;
    for (LayerType t : AllLayerTypes()) {
      std::vector<ParameterSpec> specs;
      for (std::string_view name : Describe(t).bounds_parameters) {
        const auto& all = AllParameterSpecs();
        auto it = std::find_if(all.begin(), all.end(),
                               [&](const ParameterSpec& p) { return name == p.name; });
        if (it == all.end()) {
          throw std::logic_error("core/layer_types.cpp: " + std::string(ToString(t)) +
                                 " names unknown bounds parameter '" + std::string(name) + "'");
        }
        specs.push_back(*it);
      }
      by_type.push_back(std::move(specs));
    }
    return by_type;
  }();
  return kByType.at(static_cast<size_t>(type));
}

const ParameterSpec* FindSpec(LayerType type, std::string_view name) {
  for (const ParameterSpec& p : ParameterSpecsOf(type)) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string DescribeRange(const ParameterBounds& p) {
  if (p.distribution != Distribution::kChoices) {
    return "[" + std::to_string(p.min) + ", " + std::to_string(p.max) + "]";
  }
  std::string out = "choices [";
  constexpr size_t kShown = 8;  // a message quotes a long list in part
  for (size_t i = 0; i < p.choices.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += p.is_bool ? (p.choices[i] ? "true" : "false") : std::to_string(p.choices[i]);
  }
  if (p.choices.size() > kShown) {
    out += ", ... (" + std::to_string(p.choices.size()) + " in all)";
  }
  return out + "]";
}

// Reads one integer value of a parameter and checks its sign and magnitude.
int64_t ReadParameterInt(const nlohmann::json& value, const ParameterSpec& spec,
                         const std::string& where) {
  const int64_t v = ReadInt(value, where);
  if (v < spec.min_value) {
    throw ConfigError(where + " must be " + (spec.min_value == 0 ? ">= 0" : "> 0") + ", got " +
                      std::to_string(v));
  }
  if (v > kMaxParameterValue) {
    throw ConfigError(where + " must be <= " + std::to_string(kMaxParameterValue) + ", got " +
                      std::to_string(v));
  }
  return v;
}

ParameterBounds ParseParameter(const ParameterSpec& spec, const nlohmann::json& j,
                               const std::string& where, double* depthwise_probability) {
  RequireObject(j, where);
  std::vector<std::string> allowed = {"min", "max", "distribution", "choices"};
  const bool is_groups = std::string_view(spec.name) == "groups";
  if (is_groups) allowed.push_back("depthwise_probability");
  RejectUnknownKeys(j, allowed, where);

  ParameterBounds p;
  p.name = spec.name;
  p.is_bool = spec.is_bool;
  if (j.contains("choices")) {
    for (const char* key : {"min", "max", "distribution"}) {
      if (j.contains(key)) {
        throw ConfigError(At(where, std::string("'choices' cannot be combined with '") + key +
                                        "' (give either choices or min/max)"));
      }
    }
    const nlohmann::json& choices = j["choices"];
    const std::string choices_where = Join(where, "choices");
    if (!choices.is_array() || choices.empty()) {
      throw ConfigError(choices_where + " must be a non-empty array, got " + Describe(choices));
    }
    p.distribution = Distribution::kChoices;
    std::unordered_set<int64_t> seen;
    for (size_t i = 0; i < choices.size(); ++i) {
      const std::string item_where = choices_where + "[" + std::to_string(i) + "]";
      const int64_t v = spec.is_bool ? (ReadBool(choices[i], item_where) ? 1 : 0)
                                     : ReadParameterInt(choices[i], spec, item_where);
      if (!seen.insert(v).second) {  // a set: O(n) for the whole list, not O(n^2)
        throw ConfigError(choices_where + " lists " + Describe(choices[i]) + " twice");
      }
      p.choices.push_back(v);
    }
    p.min = *std::min_element(p.choices.begin(), p.choices.end());
    p.max = *std::max_element(p.choices.begin(), p.choices.end());
  } else {
    if (spec.is_bool) {
      throw ConfigError(At(where,
                           "missing key 'choices' (a boolean parameter takes "
                           "\"choices\": [true], [false] or [true, false])"));
    }
    p.min = ReadParameterInt(RequireKey(j, "min", where), spec, Join(where, "min"));
    p.max = ReadParameterInt(RequireKey(j, "max", where), spec, Join(where, "max"));
    if (p.min > p.max) {
      throw ConfigError(
          At(where, "min " + std::to_string(p.min) + " > max " + std::to_string(p.max)));
    }
    p.distribution = Distribution::kUniform;
    if (j.contains("distribution")) {
      const std::string dist_where = Join(where, "distribution");
      const std::string d = ReadString(j["distribution"], dist_where);
      if (d == "uniform") {
        p.distribution = Distribution::kUniform;
      } else if (d == "log_uniform") {
        p.distribution = Distribution::kLogUniform;
      } else {
        throw ConfigError(dist_where + ": unknown distribution '" + d +
                          "' (expected uniform or log_uniform)");
      }
    }
    if (p.distribution == Distribution::kLogUniform && p.min < 1) {
      throw ConfigError(At(where, "log_uniform needs min >= 1, got min " + std::to_string(p.min)));
    }
  }
  if (is_groups && j.contains("depthwise_probability")) {
    const std::string dw_where = Join(where, "depthwise_probability");
    const double prob = ReadNumber(j["depthwise_probability"], dw_where);
    if (prob < 0 || prob > 1) {
      throw ConfigError(dw_where + " must be in [0, 1], got " +
                        Describe(j["depthwise_probability"]));
    }
    *depthwise_probability = prob;
  }
  return p;
}

}  // namespace

std::string_view ToString(Distribution distribution) {
  switch (distribution) {
    case Distribution::kUniform:
      return "uniform";
    case Distribution::kLogUniform:
      return "log_uniform";
    case Distribution::kChoices:
      return "choices";
  }
  return "unknown";
}

bool ParameterBounds::Admits(int64_t value) const {
  if (distribution == Distribution::kChoices) {
    return std::find(choices.begin(), choices.end(), value) != choices.end();
  }
  return value >= min && value <= max;
}

const ParameterBounds* LayerBounds::Find(std::string_view name) const {
  for (const ParameterBounds& p : parameters) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ParameterBounds& LayerBounds::Get(std::string_view name) const {
  const ParameterBounds* p = Find(name);
  if (!p) {
    throw ConfigError(
        At(source, "no parameter '" + std::string(name) + "' for " + std::string(ToString(type))));
  }
  return *p;
}

std::vector<std::string> BoundsParameterNames(LayerType type) {
  std::vector<std::string> names;
  for (const ParameterSpec& p : ParameterSpecsOf(type)) names.emplace_back(p.name);
  return names;
}

LayerBounds ParseBounds(const nlohmann::json& j, const std::string& context) {
  RequireObject(j, context.empty() ? "bounds" : context);
  RejectUnknownKeys(j, {"layer", "max_forward_macs", "parameters"}, context);

  LayerBounds bounds;
  bounds.source = context;
  const std::string layer_where = At(context, "layer");
  const std::string layer = ReadString(RequireKey(j, "layer", context), layer_where);
  try {
    bounds.type = ParseLayerType(layer);
  } catch (const ConfigError& e) {
    throw ConfigError(layer_where + ": " + e.what());
  }
  const std::string macs_where = At(context, "max_forward_macs");
  bounds.max_forward_macs = ReadNumber(RequireKey(j, "max_forward_macs", context), macs_where);
  if (bounds.max_forward_macs <= 0) {
    throw ConfigError(macs_where + " must be > 0, got " + Describe(j["max_forward_macs"]));
  }

  const std::string params_where = At(context, "parameters");
  const nlohmann::json& params = RequireKey(j, "parameters", context);
  RequireObject(params, params_where);
  const std::string type_name(ToString(bounds.type));
  const std::vector<std::string> names = BoundsParameterNames(bounds.type);
  for (const auto& item : params.items()) {
    if (item.key() == "_comment") continue;
    if (std::find(names.begin(), names.end(), item.key()) == names.end()) {
      throw ConfigError(params_where + ": unknown parameter '" + item.key() + "' for " + type_name +
                        " (expected " + JoinNames(names) + ")");
    }
  }
  for (const ParameterSpec& spec : ParameterSpecsOf(bounds.type)) {
    auto it = params.find(spec.name);
    if (it == params.end()) {
      if (spec.required) {
        throw ConfigError(params_where + ": missing parameter '" + spec.name + "' for " +
                          type_name + " (required: " + JoinNames(names) + ")");
      }
      ParameterBounds p;
      p.name = spec.name;
      p.is_bool = spec.is_bool;
      p.distribution = Distribution::kChoices;
      p.choices = {spec.default_choice};
      p.min = p.max = spec.default_choice;
      bounds.parameters.push_back(p);
      continue;
    }
    bounds.parameters.push_back(ParseParameter(
        spec, *it, At(context, Join("parameters", spec.name)), &bounds.depthwise_probability));
  }

  // Cross-parameter checks: some draw must be able to give a valid geometry.
  const LayerFamily family = Describe(bounds.type).family;
  const bool pool = family == LayerFamily::kPool;
  if (family == LayerFamily::kConv || pool) {
    const ParameterBounds& kernel = bounds.Get("kernel_size");
    const ParameterBounds& image = bounds.Get("image_size");
    const ParameterBounds& padding = bounds.Get("padding");
    if (kernel.min > image.max + 2 * padding.max) {
      throw ConfigError(At(context, "parameters.kernel_size.min " + std::to_string(kernel.min) +
                                        " exceeds every padded image: image_size.max " +
                                        std::to_string(image.max) + " + 2 * padding.max " +
                                        std::to_string(padding.max) + " = " +
                                        std::to_string(image.max + 2 * padding.max)));
    }
    if (pool && padding.min > kernel.max / 2) {
      throw ConfigError(At(
          context, "parameters.padding.min " + std::to_string(padding.min) +
                       " > kernel_size.max / 2 = " + std::to_string(kernel.max / 2) + " (" +
                       std::string(ToString(bounds.type)) + " needs padding <= kernel_size / 2)"));
    }
  }
  if (bounds.type == LayerType::kDropout && bounds.Get("p_percent").max > 100) {
    throw ConfigError(At(context, "parameters.p_percent.max must be <= 100, got " +
                                      std::to_string(bounds.Get("p_percent").max)));
  }
  if (bounds.type == LayerType::kBatchNorm2d && bounds.Get("batch_size").max < 2 &&
      bounds.Get("image_size").max < 2) {
    throw ConfigError(At(context,
                         "batch_size.max and image_size.max are 1: batchnorm2d in training "
                         "mode needs batch_size * height * width > 1"));
  }
  if (IsOptimizerStep(bounds.type) &&
      bounds.Get("parameter_tensors").min > bounds.Get("parameters").max) {
    throw ConfigError(At(context, "parameters.parameter_tensors.min " +
                                      std::to_string(bounds.Get("parameter_tensors").min) +
                                      " > parameters.max " +
                                      std::to_string(bounds.Get("parameters").max) +
                                      " (each tensor holds at least one element)"));
  }
  return bounds;
}

LayerBounds LoadBounds(const std::string& path) { return ParseBounds(LoadJsonFile(path), path); }

std::string DefaultBoundsPath(LayerType type) {
  return std::string(Describe(type).default_bounds_path);
}

void ApplyBoundsParameter(LayerConfig& config, std::string_view name, int64_t value) {
  const ParameterSpec* spec = FindSpec(config.type, name);
  if (!spec) {
    throw ConfigError("no bounds parameter '" + std::string(name) + "' for " +
                      std::string(ToString(config.type)) + " (expected " +
                      JoinNames(BoundsParameterNames(config.type)) + ")");
  }
  spec->set(config, value);
}

int64_t BoundsParameterValue(const LayerConfig& config, std::string_view name) {
  const ParameterSpec* spec = FindSpec(config.type, name);
  if (!spec) {
    throw ConfigError("no bounds parameter '" + std::string(name) + "' for " +
                      std::string(ToString(config.type)) + " (expected " +
                      JoinNames(BoundsParameterNames(config.type)) + ")");
  }
  return spec->get(config);
}

bool WithinBounds(const LayerBounds& bounds, const LayerConfig& config, std::string* reason) {
  auto fail = [&](const std::string& why) {
    if (reason) *reason = why;
    return false;
  };
  if (config.type != bounds.type) {
    return fail("layer type " + std::string(ToString(config.type)) + " is not " +
                std::string(ToString(bounds.type)));
  }
  const bool depthwise = bounds.depthwise_probability > 0 && config.groups == config.in_channels &&
                         config.out_channels == config.in_channels;
  for (const ParameterBounds& p : bounds.parameters) {
    const ParameterSpec* spec = FindSpec(bounds.type, p.name);
    if (!spec) return fail("unknown parameter '" + p.name + "'");
    if (p.name == "image_size" && config.height != config.width) {
      return fail("image_size: height " + std::to_string(config.height) + " != width " +
                  std::to_string(config.width));
    }
    if (p.name == "groups" && depthwise) continue;
    const int64_t value = spec->get(config);
    if (!p.Admits(value)) {
      return fail(p.name + " " + std::to_string(value) + " outside " + DescribeRange(p));
    }
  }
  if (reason) reason->clear();
  return true;
}

}  // namespace lj
