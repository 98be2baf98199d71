#include "core/layer_config.h"

#include <algorithm>

#include "core/errors.h"
#include "core/json_reader.h"

namespace lj {
namespace {

// One serialised field of LayerConfig: exactly one of int_member / bool_member is set.
struct Field {
  const char* name;
  int64_t LayerConfig::*int_member;
  bool LayerConfig::*bool_member;
  int64_t min_value;  // smallest valid value of an integer field
};

const Field kBatchSize{"batch_size", &LayerConfig::batch_size, nullptr, 1};
const Field kInChannels{"in_channels", &LayerConfig::in_channels, nullptr, 1};
const Field kOutChannels{"out_channels", &LayerConfig::out_channels, nullptr, 1};
const Field kHeight{"height", &LayerConfig::height, nullptr, 1};
const Field kWidth{"width", &LayerConfig::width, nullptr, 1};
const Field kKernelSize{"kernel_size", &LayerConfig::kernel_size, nullptr, 1};
const Field kStride{"stride", &LayerConfig::stride, nullptr, 1};
const Field kPadding{"padding", &LayerConfig::padding, nullptr, 0};
const Field kGroups{"groups", &LayerConfig::groups, nullptr, 1};
const Field kBias{"bias", nullptr, &LayerConfig::bias, 0};
const Field kInFeatures{"in_features", &LayerConfig::in_features, nullptr, 1};
const Field kOutFeatures{"out_features", &LayerConfig::out_features, nullptr, 1};

// One row per layer type: its names and the fields it uses. Adding a layer type means adding
// an enum value, a row here, and its cases in OutputShape/ForwardMacs/Sizes/CheckGeometry.
struct TypeInfo {
  LayerType type;
  const char* name;
  std::vector<std::string_view> aliases;  // accepted by ParseLayerType besides `name`
  std::vector<Field> fields;              // serialisation order
  std::vector<std::string> field_names;   // names of `fields`, filled in Types()
};

const std::vector<TypeInfo>& Types() {
  static const std::vector<TypeInfo> kTypes = [] {
    std::vector<TypeInfo> types = {
        {LayerType::kConv2d,
         "conv2d",
         {"conv"},
         {kBatchSize, kInChannels, kOutChannels, kHeight, kWidth, kKernelSize, kStride, kPadding,
          kGroups, kBias},
         {}},
        {LayerType::kMaxPool2d,
         "maxpool2d",
         {"maxpool", "pool"},
         {kBatchSize, kInChannels, kHeight, kWidth, kKernelSize, kStride, kPadding},
         {}},
        {LayerType::kLinear, "linear", {}, {kBatchSize, kInFeatures, kOutFeatures, kBias}, {}},
    };
    for (TypeInfo& t : types) {
      for (const Field& f : t.fields) t.field_names.emplace_back(f.name);
    }
    return types;
  }();
  return kTypes;
}

const TypeInfo& Info(LayerType type) {
  for (const TypeInfo& t : Types()) {
    if (t.type == type) return t;
  }
  throw ConfigError("unknown layer type value " + std::to_string(static_cast<int>(type)));
}

std::string ExpectedTypeNames() {
  std::string out;
  const auto& types = Types();
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += (i + 1 == types.size()) ? " or " : ", ";
    out += types[i].name;
  }
  return out;
}

bool IsSpatial(LayerType type) {
  return type == LayerType::kConv2d || type == LayerType::kMaxPool2d;
}

// floor((input + 2*padding - kernel) / stride) + 1; 0 for a stride < 1 (an invalid config,
// guarded so that shape queries on unvalidated configs cannot divide by zero).
int64_t OutputSide(int64_t input, int64_t kernel, int64_t stride, int64_t padding) {
  if (stride < 1) return 0;
  return (input + 2 * padding - kernel) / stride + 1;
}

// Type-specific rules beyond "each field >= its minimum". Returns "" when valid.
std::string CheckGeometry(const LayerConfig& c) {
  if (IsSpatial(c.type)) {
    for (const auto& [side_name, side] : {std::pair<const char*, int64_t>{"height", c.height},
                                          std::pair<const char*, int64_t>{"width", c.width}}) {
      if (c.kernel_size > side + 2 * c.padding) {
        return "kernel_size " + std::to_string(c.kernel_size) + " exceeds padded input " +
               side_name + " " + std::to_string(side) + " + 2*" + std::to_string(c.padding) +
               " = " + std::to_string(side + 2 * c.padding);
      }
    }
  }
  switch (c.type) {
    case LayerType::kConv2d:
      if (c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0) {
        return "groups " + std::to_string(c.groups) + " must divide in_channels " +
               std::to_string(c.in_channels) + " and out_channels " +
               std::to_string(c.out_channels);
      }
      break;
    case LayerType::kMaxPool2d:
      // torch: "pad should be at most half of effective kernel size".
      if (c.padding > c.kernel_size / 2) {
        return "padding " + std::to_string(c.padding) +
               " must be <= kernel_size / 2 = " + std::to_string(c.kernel_size / 2) +
               " for maxpool2d";
      }
      break;
    case LayerType::kLinear:
      break;
  }
  return "";
}

}  // namespace

std::string_view ToString(LayerType type) { return Info(type).name; }

std::string_view ToString(Pass pass) {
  switch (pass) {
    case Pass::kForward:
      return "forward";
    case Pass::kBackward:
      return "backward";
  }
  return "unknown";
}

LayerType ParseLayerType(std::string_view name) {
  for (const TypeInfo& t : Types()) {
    if (name == t.name) return t.type;
    for (std::string_view alias : t.aliases) {
      if (name == alias) return t.type;
    }
  }
  throw ConfigError("unknown layer type '" + std::string(name) + "' (expected " +
                    ExpectedTypeNames() + ")");
}

Pass ParsePass(std::string_view name) {
  if (name == "forward") return Pass::kForward;
  if (name == "backward") return Pass::kBackward;
  throw ConfigError("unknown pass '" + std::string(name) + "' (expected forward or backward)");
}

const std::vector<LayerType>& AllLayerTypes() {
  static const std::vector<LayerType> kAll = [] {
    std::vector<LayerType> all;
    for (const TypeInfo& t : Types()) all.push_back(t.type);
    return all;
  }();
  return kAll;
}

const std::vector<std::string>& FieldNames(LayerType type) { return Info(type).field_names; }

bool LayerConfig::operator==(const LayerConfig& other) const {
  if (type != other.type) return false;
  for (const Field& f : Info(type).fields) {
    if (f.int_member && this->*f.int_member != other.*f.int_member) return false;
    if (f.bool_member && this->*f.bool_member != other.*f.bool_member) return false;
  }
  return true;
}

bool IsValid(const LayerConfig& config, std::string* reason) {
  std::string error;
  for (const Field& f : Info(config.type).fields) {
    if (!f.int_member) continue;
    const int64_t value = config.*f.int_member;
    if (value < f.min_value) {
      error = std::string(f.name) + " must be " + (f.min_value == 0 ? ">= 0" : "> 0") + ", got " +
              std::to_string(value);
      break;
    }
  }
  if (error.empty()) error = CheckGeometry(config);
  if (reason) *reason = error;
  return error.empty();
}

void Validate(const LayerConfig& config, const std::string& context) {
  std::string reason;
  if (!IsValid(config, &reason)) {
    throw ConfigError(At(context.empty() ? std::string(ToString(config.type)) : context, reason));
  }
}

std::vector<int64_t> OutputShape(const LayerConfig& c) {
  switch (c.type) {
    case LayerType::kConv2d:
    case LayerType::kMaxPool2d: {
      const int64_t channels = c.type == LayerType::kConv2d ? c.out_channels : c.in_channels;
      return {c.batch_size, channels, OutputSide(c.height, c.kernel_size, c.stride, c.padding),
              OutputSide(c.width, c.kernel_size, c.stride, c.padding)};
    }
    case LayerType::kLinear:
      return {c.batch_size, c.out_features};
  }
  return {};
}

double ForwardMacs(const LayerConfig& c) {
  const std::vector<int64_t> out = OutputShape(c);
  const double k2 = static_cast<double>(c.kernel_size) * static_cast<double>(c.kernel_size);
  switch (c.type) {
    case LayerType::kConv2d:
      return static_cast<double>(out[0]) * out[1] * out[2] * out[3] *
             (static_cast<double>(c.in_channels) / c.groups) * k2;
    case LayerType::kMaxPool2d:
      return static_cast<double>(out[0]) * out[1] * out[2] * out[3] * k2;
    case LayerType::kLinear:
      return static_cast<double>(c.batch_size) * c.in_features * c.out_features;
  }
  return 0;
}

TensorSizes Sizes(const LayerConfig& c) {
  TensorSizes s;
  double out = 1;
  for (int64_t d : OutputShape(c)) out *= static_cast<double>(d);
  s.output_elements = out;
  switch (c.type) {
    case LayerType::kConv2d:
      s.input_elements = static_cast<double>(c.batch_size) * c.in_channels * c.height * c.width;
      s.weight_elements = static_cast<double>(c.out_channels) *
                              (static_cast<double>(c.in_channels) / c.groups) * c.kernel_size *
                              c.kernel_size +
                          (c.bias ? static_cast<double>(c.out_channels) : 0.0);
      break;
    case LayerType::kMaxPool2d:
      s.input_elements = static_cast<double>(c.batch_size) * c.in_channels * c.height * c.width;
      s.weight_elements = 0;
      break;
    case LayerType::kLinear:
      s.input_elements = static_cast<double>(c.batch_size) * c.in_features;
      s.weight_elements = static_cast<double>(c.in_features) * c.out_features +
                          (c.bias ? static_cast<double>(c.out_features) : 0.0);
      break;
  }
  return s;
}

nlohmann::json ToJson(const LayerConfig& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field& f : Info(config.type).fields) {
    if (f.int_member) j[f.name] = config.*f.int_member;
    if (f.bool_member) j[f.name] = config.*f.bool_member;
  }
  return j;
}

LayerConfig LayerConfigFromJson(LayerType type, const nlohmann::json& j,
                                const std::string& context) {
  const TypeInfo& info = Info(type);
  const std::string where = context.empty() ? std::string(info.name) : context;
  RequireObject(j, where);
  RejectUnknownKeys(j, info.field_names, where);
  LayerConfig config;
  config.type = type;
  for (const Field& f : info.fields) {
    const nlohmann::json& value = RequireKey(j, f.name, where);
    const std::string value_where = At(where, f.name);
    if (f.int_member) config.*f.int_member = ReadInt(value, value_where);
    if (f.bool_member) config.*f.bool_member = ReadBool(value, value_where);
  }
  return config;
}

}  // namespace lj
