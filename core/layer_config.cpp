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
// batchnorm2d's channel count: torch.nn.BatchNorm2d(num_features), stored in in_channels.
const Field kNumFeatures{"num_features", &LayerConfig::in_channels, nullptr, 1};
const Field kOutputSize{"output_size", &LayerConfig::output_size, nullptr, 1};
const Field kPPercent{"p_percent", &LayerConfig::p_percent, nullptr, 0};
const Field kNumClasses{"num_classes", &LayerConfig::num_classes, nullptr, 1};
const Field kParameters{"parameters", &LayerConfig::parameters, nullptr, 1};
const Field kParameterTensors{"parameter_tensors", &LayerConfig::parameter_tensors, nullptr, 1};

// What a type computes, for the shape, MAC and size rules shared by several types.
enum class Family {
  kConv,          // conv2d
  kPool,          // maxpool2d, avgpool2d: kernel, stride, padding
  kLinear,        // linear
  kElementwise,   // batchnorm2d, activations, add, mul, dropout: output shape = input shape
  kAdaptivePool,  // adaptive_avgpool2d
  kLoss,          // cross_entropy
  kOptimizer,     // sgd, adam, grad_accumulate, zero_grad: over the trainable parameters
};

// One row per layer type: its names and the fields it uses. Adding a layer type means adding
// an enum value, a row here, and its cases in OutputShape/ForwardMacs/Sizes/CheckGeometry when
// its family's rules do not fit.
struct TypeInfo {
  LayerType type;
  const char* name;
  Family family;
  std::vector<std::string_view> aliases;  // accepted by ParseLayerType besides `name`
  std::vector<Field> fields;              // serialisation order
  std::vector<std::string> field_names;   // names of `fields`, filled in Types()
};

const std::vector<TypeInfo>& Types() {
  static const std::vector<TypeInfo> kTypes = [] {
    const std::vector<Field> nchw = {kBatchSize, kInChannels, kHeight, kWidth};
    const std::vector<Field> pool = {kBatchSize,  kInChannels, kHeight, kWidth,
                                     kKernelSize, kStride,     kPadding};
    std::vector<TypeInfo> types = {
        {LayerType::kConv2d,
         "conv2d",
         Family::kConv,
         {"conv"},
         {kBatchSize, kInChannels, kOutChannels, kHeight, kWidth, kKernelSize, kStride, kPadding,
          kGroups, kBias},
         {}},
        {LayerType::kMaxPool2d, "maxpool2d", Family::kPool, {"maxpool", "pool"}, pool, {}},
        {LayerType::kLinear,
         "linear",
         Family::kLinear,
         {},
         {kBatchSize, kInFeatures, kOutFeatures, kBias},
         {}},
        {LayerType::kBatchNorm2d,
         "batchnorm2d",
         Family::kElementwise,
         {"batchnorm", "bn"},
         {kBatchSize, kNumFeatures, kHeight, kWidth},
         {}},
        {LayerType::kReLU, "relu", Family::kElementwise, {}, nchw, {}},
        {LayerType::kReLU6, "relu6", Family::kElementwise, {}, nchw, {}},
        {LayerType::kHardswish, "hardswish", Family::kElementwise, {}, nchw, {}},
        {LayerType::kHardsigmoid, "hardsigmoid", Family::kElementwise, {}, nchw, {}},
        {LayerType::kSigmoid, "sigmoid", Family::kElementwise, {}, nchw, {}},
        {LayerType::kAvgPool2d, "avgpool2d", Family::kPool, {"avgpool"}, pool, {}},
        {LayerType::kAdaptiveAvgPool2d,
         "adaptive_avgpool2d",
         Family::kAdaptivePool,
         {"adaptive_avgpool"},
         {kBatchSize, kInChannels, kHeight, kWidth, kOutputSize},
         {}},
        {LayerType::kAdd, "add", Family::kElementwise, {}, nchw, {}},
        {LayerType::kMul, "mul", Family::kElementwise, {}, nchw, {}},
        {LayerType::kDropout,
         "dropout",
         Family::kElementwise,
         {},
         {kBatchSize, kInChannels, kHeight, kWidth, kPPercent},
         {}},
        {LayerType::kCrossEntropy,
         "cross_entropy",
         Family::kLoss,
         {"crossentropy", "loss"},
         {kBatchSize, kNumClasses},
         {}},
        {LayerType::kSgd, "sgd", Family::kOptimizer, {}, {kParameters, kParameterTensors}, {}},
        {LayerType::kAdam, "adam", Family::kOptimizer, {}, {kParameters, kParameterTensors}, {}},
        {LayerType::kGradAccumulate,
         "grad_accumulate",
         Family::kOptimizer,
         {},
         {kParameters, kParameterTensors},
         {}},
        {LayerType::kZeroGrad,
         "zero_grad",
         Family::kOptimizer,
         {},
         {kParameters, kParameterTensors},
         {}},
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

Family FamilyOf(LayerType type) { return Info(type).family; }

// Types with a square kernel sliding over a padded input.
bool IsSpatial(LayerType type) {
  const Family f = FamilyOf(type);
  return f == Family::kConv || f == Family::kPool;
}

// Sum over the o output positions of an adaptive pool of their window lengths along a side of
// `input` elements: window i is [floor(i*input/o), ceil((i+1)*input/o)) (ATen's start_index /
// end_index). Equals `input` when o divides it.
double AdaptiveWindowSum(int64_t input, int64_t o) {
  if (o < 1 || input < 1) return 0;
  double sum = 0;
  for (int64_t i = 0; i < o; ++i) {
    const int64_t start = (i * input) / o;
    const int64_t end = ((i + 1) * input + o - 1) / o;
    sum += static_cast<double>(end - start);
  }
  return sum;
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
    case LayerType::kAvgPool2d:
      // torch: "pad should be at most half of effective kernel size" (max_pool2d) and "pad
      // should be at most half of kernel size" (avg_pool2d).
      if (c.padding > c.kernel_size / 2) {
        return "padding " + std::to_string(c.padding) +
               " must be <= kernel_size / 2 = " + std::to_string(c.kernel_size / 2) + " for " +
               std::string(Info(c.type).name);
      }
      break;
    case LayerType::kBatchNorm2d:
      // torch: "Expected more than 1 value per channel when training".
      if (c.batch_size * c.height * c.width <= 1) {
        return "batch_size * height * width must be > 1 in training mode, got " +
               std::to_string(c.batch_size) + " * " + std::to_string(c.height) + " * " +
               std::to_string(c.width);
      }
      break;
    case LayerType::kDropout:
      if (c.p_percent > 100) {
        return "p_percent must be <= 100, got " + std::to_string(c.p_percent);
      }
      break;
    case LayerType::kSgd:
    case LayerType::kAdam:
    case LayerType::kGradAccumulate:
    case LayerType::kZeroGrad:
      if (c.parameter_tensors > c.parameters) {
        return "parameter_tensors " + std::to_string(c.parameter_tensors) +
               " must be <= parameters " + std::to_string(c.parameters);
      }
      break;
    default:
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

bool IsOptimizerStep(LayerType type) { return FamilyOf(type) == Family::kOptimizer; }

bool HasBackwardPass(LayerType type) { return !IsOptimizerStep(type); }

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
  switch (FamilyOf(c.type)) {
    case Family::kConv:
    case Family::kPool: {
      const int64_t channels = c.type == LayerType::kConv2d ? c.out_channels : c.in_channels;
      return {c.batch_size, channels, OutputSide(c.height, c.kernel_size, c.stride, c.padding),
              OutputSide(c.width, c.kernel_size, c.stride, c.padding)};
    }
    case Family::kLinear:
      return {c.batch_size, c.out_features};
    case Family::kElementwise:
      return {c.batch_size, c.in_channels, c.height, c.width};
    case Family::kAdaptivePool:
      return {c.batch_size, c.in_channels, c.output_size, c.output_size};
    case Family::kLoss:
    case Family::kOptimizer:
      return {};
  }
  return {};
}

double ForwardMacs(const LayerConfig& c) {
  const double k2 = static_cast<double>(c.kernel_size) * static_cast<double>(c.kernel_size);
  const double nchw = static_cast<double>(c.batch_size) * static_cast<double>(c.in_channels) *
                      static_cast<double>(c.height) * static_cast<double>(c.width);
  switch (FamilyOf(c.type)) {
    case Family::kConv: {
      const std::vector<int64_t> out = OutputShape(c);
      return static_cast<double>(out[0]) * out[1] * out[2] * out[3] *
             (static_cast<double>(c.in_channels) / c.groups) * k2;
    }
    case Family::kPool: {
      const std::vector<int64_t> out = OutputShape(c);
      return static_cast<double>(out[0]) * out[1] * out[2] * out[3] * k2;
    }
    case Family::kLinear:
      return static_cast<double>(c.batch_size) * c.in_features * c.out_features;
    case Family::kElementwise:
      return nchw;
    case Family::kAdaptivePool:
      return static_cast<double>(c.batch_size) * static_cast<double>(c.in_channels) *
             AdaptiveWindowSum(c.height, c.output_size) * AdaptiveWindowSum(c.width, c.output_size);
    case Family::kLoss:
      return static_cast<double>(c.batch_size) * static_cast<double>(c.num_classes);
    case Family::kOptimizer:
      return static_cast<double>(c.parameters);
  }
  return 0;
}

TensorSizes Sizes(const LayerConfig& c) {
  TensorSizes s;
  double out = 1;
  for (int64_t d : OutputShape(c)) out *= static_cast<double>(d);
  s.output_elements = out;
  const double nchw = static_cast<double>(c.batch_size) * static_cast<double>(c.in_channels) *
                      static_cast<double>(c.height) * static_cast<double>(c.width);
  switch (FamilyOf(c.type)) {
    case Family::kConv:
      s.input_elements = nchw;
      s.weight_elements = static_cast<double>(c.out_channels) *
                              (static_cast<double>(c.in_channels) / c.groups) * c.kernel_size *
                              c.kernel_size +
                          (c.bias ? static_cast<double>(c.out_channels) : 0.0);
      break;
    case Family::kPool:
    case Family::kAdaptivePool:
      s.input_elements = nchw;
      break;
    case Family::kLinear:
      s.input_elements = static_cast<double>(c.batch_size) * c.in_features;
      s.weight_elements = static_cast<double>(c.in_features) * c.out_features +
                          (c.bias ? static_cast<double>(c.out_features) : 0.0);
      break;
    case Family::kElementwise:
      s.input_elements = nchw;
      if (c.type == LayerType::kAdd) s.input_elements = 2 * nchw;
      if (c.type == LayerType::kMul) {
        s.input_elements = nchw + static_cast<double>(c.batch_size) * c.in_channels;
      }
      if (c.type == LayerType::kBatchNorm2d) s.weight_elements = 2.0 * c.in_channels;
      break;
    case Family::kLoss:
      s.input_elements = static_cast<double>(c.batch_size) * static_cast<double>(c.num_classes);
      break;
    case Family::kOptimizer:
      s.output_elements = 0;
      s.weight_elements = static_cast<double>(c.parameters);
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
