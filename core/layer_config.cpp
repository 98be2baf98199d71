#include "core/layer_config.h"

#include <algorithm>
#include <numeric>
#include <optional>

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
  // A boolean field that is optional in JSON: this value when absent, written only when the
  // config's value differs (input_grad: true, ceil_mode: false).
  std::optional<bool> omitted_default = std::nullopt;
  // An integer field that is optional in JSON (conv2d's kernel_width, padding_width): absent,
  // it holds LayerConfig::kSquare and means the value of this member (the height's); written
  // only when its value differs from it.
  int64_t LayerConfig::*square_of = nullptr;
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
const Field kInputGrad{"input_grad", nullptr, &LayerConfig::input_grad, 0, true};
const Field kCeilMode{"ceil_mode", nullptr, &LayerConfig::ceil_mode, 0, false};
const Field kKernelWidth{"kernel_width", &LayerConfig::kernel_width, nullptr, 1,
                         std::nullopt,   &LayerConfig::kernel_size};
const Field kPaddingWidth{"padding_width", &LayerConfig::padding_width, nullptr, 0,
                          std::nullopt,    &LayerConfig::padding};
const Field kInFeatures{"in_features", &LayerConfig::in_features, nullptr, 1};
const Field kOutFeatures{"out_features", &LayerConfig::out_features, nullptr, 1};
// batchnorm2d's channel count: torch.nn.BatchNorm2d(num_features), stored in in_channels.
const Field kNumFeatures{"num_features", &LayerConfig::in_channels, nullptr, 1};
// layer_norm's normalized elements: the product of torch.nn.LayerNorm's normalized_shape (the
// last dims of its input), stored in in_channels.
const Field kNormalizedSize{"normalized_size", &LayerConfig::in_channels, nullptr, 1};
const Field kOutputSize{"output_size", &LayerConfig::output_size, nullptr, 1};
const Field kPPercent{"p_percent", &LayerConfig::p_percent, nullptr, 0};
const Field kNumClasses{"num_classes", &LayerConfig::num_classes, nullptr, 1};
const Field kParameters{"parameters", &LayerConfig::parameters, nullptr, 1};
const Field kParameterTensors{"parameter_tensors", &LayerConfig::parameter_tensors, nullptr, 1};
const Field kInputs{"inputs", &LayerConfig::inputs, nullptr, 1};
const Field kRows{"rows", &LayerConfig::rows, nullptr, 1};
const Field kInnerSize{"inner_size", &LayerConfig::inner_size, nullptr, 1};
const Field kColumns{"columns", &LayerConfig::columns, nullptr, 1};
const Field kSequenceLength{"sequence_length", &LayerConfig::sequence_length, nullptr, 1};
const Field kNumEmbeddings{"num_embeddings", &LayerConfig::num_embeddings, nullptr, 1};
const Field kEmbeddingDim{"embedding_dim", &LayerConfig::embedding_dim, nullptr, 1};

// Every serialisable field, by JSON key. A descriptor's `fields` name rows of this table.
const std::vector<Field>& AllFields() {
  static const std::vector<Field> kFields = {kBatchSize,      kInChannels,     kOutChannels,
                                             kHeight,         kWidth,          kKernelSize,
                                             kStride,         kPadding,        kGroups,
                                             kBias,           kInFeatures,     kOutFeatures,
                                             kNumFeatures,    kOutputSize,     kPPercent,
                                             kNumClasses,     kParameters,     kParameterTensors,
                                             kInputGrad,      kCeilMode,       kInputs,
                                             kNormalizedSize, kRows,           kInnerSize,
                                             kColumns,        kSequenceLength, kNumEmbeddings,
                                             kEmbeddingDim,   kKernelWidth,    kPaddingWidth};
  return kFields;
}

// The fields of each type, in the descriptor's order (built once).
const std::vector<Field>& FieldsOf(LayerType type) {
  static const std::vector<std::vector<Field>> kByType = [] {
    std::vector<std::vector<Field>> by_type;
    for (LayerType t : AllLayerTypes()) {
      std::vector<Field> fields;
      for (const std::string& name : Describe(t).fields) {
        const auto& all = AllFields();
        auto it =
            std::find_if(all.begin(), all.end(), [&](const Field& f) { return name == f.name; });
        if (it == all.end()) {
          throw std::logic_error("core/layer_types.cpp: " + std::string(ToString(t)) +
                                 " names unknown field '" + name + "'");
        }
        fields.push_back(*it);
      }
      by_type.push_back(std::move(fields));
    }
    return by_type;
  }();
  return kByType.at(static_cast<size_t>(type));
}

LayerFamily FamilyOf(LayerType type) { return Describe(type).family; }

// The value of an integer field, resolving a square field's kSquare to its height's value.
int64_t Value(const LayerConfig& c, const Field& f) {
  const int64_t v = c.*f.int_member;
  return (f.square_of && v == LayerConfig::kSquare) ? c.*f.square_of : v;
}

// Types with a kernel sliding over a padded input.
bool IsSpatial(LayerType type) {
  const LayerFamily f = FamilyOf(type);
  return f == LayerFamily::kConv || f == LayerFamily::kPool;
}

// Sum over the o output positions of an adaptive pool of their window lengths along a side of
// `input` elements: window i is [floor(i*input/o), ceil((i+1)*input/o)) (ATen's start_index /
// end_index). In closed form (no loop over o, which may be 2^31: issue 11): the sum telescopes
// to input + #{j in 1..o : o does not divide j*input} = input + o - gcd(input, o). Equals
// `input` when o divides it.
double AdaptiveWindowSum(int64_t input, int64_t o) {
  if (o < 1 || input < 1) return 0;
  return static_cast<double>(input) + static_cast<double>(o) -
         static_cast<double>(std::gcd(input, o));
}

// floor((input + 2*padding - kernel) / stride) + 1; 0 for a stride < 1 (an invalid config,
// guarded so that shape queries on unvalidated configs cannot divide by zero).
int64_t OutputSide(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                   bool ceil_mode = false) {
  if (stride < 1) return 0;
  const int64_t span = input + 2 * padding - kernel;
  if (!ceil_mode || span < 0) return span / stride + 1;
  // ATen's pooling_output_shape: rounded up, then the last window must start inside the input
  // or its left padding.
  int64_t out = (span + stride - 1) / stride + 1;
  if ((out - 1) * stride >= input + padding) --out;
  return out;
}

// Type-specific rules beyond "each field >= its minimum". Returns "" when valid.
std::string CheckGeometry(const LayerConfig& c) {
  if (IsSpatial(c.type)) {
    struct Side {
      const char* kernel_name;
      int64_t kernel;
      const char* side_name;
      int64_t side;
      int64_t padding;
    };
    for (const Side& s : {Side{"kernel_size", c.kernel_size, "height", c.height, c.padding},
                          Side{KernelWidth(c) == c.kernel_size ? "kernel_size" : "kernel_width",
                               KernelWidth(c), "width", c.width, PaddingWidth(c)}}) {
      if (s.kernel > s.side + 2 * s.padding) {
        return std::string(s.kernel_name) + " " + std::to_string(s.kernel) +
               " exceeds padded input " + s.side_name + " " + std::to_string(s.side) + " + 2*" +
               std::to_string(s.padding) + " = " + std::to_string(s.side + 2 * s.padding);
      }
    }
  }
  const LayerFamily family = FamilyOf(c.type);
  if (family == LayerFamily::kConv &&
      (c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0)) {
    return "groups " + std::to_string(c.groups) + " must divide in_channels " +
           std::to_string(c.in_channels) + " and out_channels " + std::to_string(c.out_channels);
  }
  if (c.type == LayerType::kCat && c.inputs > c.in_channels) {
    return "inputs " + std::to_string(c.inputs) + " must be <= in_channels " +
           std::to_string(c.in_channels) + " (each input has at least one channel)";
  }
  // torch: "pad should be at most half of effective kernel size" (max_pool2d) and "pad
  // should be at most half of kernel size" (avg_pool2d).
  if (family == LayerFamily::kPool && c.padding > c.kernel_size / 2) {
    return "padding " + std::to_string(c.padding) +
           " must be <= kernel_size / 2 = " + std::to_string(c.kernel_size / 2) + " for " +
           std::string(ToString(c.type));
  }
  // torch: "Expected more than 1 value per channel when training".
  if (c.type == LayerType::kBatchNorm2d && c.batch_size * c.height * c.width <= 1) {
    return "batch_size * height * width must be > 1 in training mode, got " +
           std::to_string(c.batch_size) + " * " + std::to_string(c.height) + " * " +
           std::to_string(c.width);
  }
  if (c.type == LayerType::kDropout && c.p_percent > 100) {
    return "p_percent must be <= 100, got " + std::to_string(c.p_percent);
  }
  if (family == LayerFamily::kOptimizer && c.parameter_tensors > c.parameters) {
    return "parameter_tensors " + std::to_string(c.parameter_tensors) + " must be <= parameters " +
           std::to_string(c.parameters);
  }
  return "";
}

}  // namespace

const std::vector<std::string>& FieldNames(LayerType type) { return Describe(type).fields; }

int64_t KernelWidth(const LayerConfig& config) { return Value(config, kKernelWidth); }
int64_t PaddingWidth(const LayerConfig& config) { return Value(config, kPaddingWidth); }

bool HasInputGradField(LayerType type) {
  const std::vector<std::string>& names = FieldNames(type);
  return std::find(names.begin(), names.end(), kInputGrad.name) != names.end();
}

bool LayerConfig::operator==(const LayerConfig& other) const {
  if (type != other.type) return false;
  for (const Field& f : FieldsOf(type)) {
    if (f.int_member && Value(*this, f) != Value(other, f)) return false;
    if (f.bool_member && this->*f.bool_member != other.*f.bool_member) return false;
  }
  return true;
}

bool IsValid(const LayerConfig& config, std::string* reason) {
  std::string error;
  for (const Field& f : FieldsOf(config.type)) {
    if (!f.int_member) continue;
    const int64_t value = Value(config, f);
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
    case LayerFamily::kConv:
    case LayerFamily::kPool: {
      const int64_t channels =
          FamilyOf(c.type) == LayerFamily::kConv ? c.out_channels : c.in_channels;
      const bool ceil_mode = FamilyOf(c.type) == LayerFamily::kPool && c.ceil_mode;
      return {c.batch_size, channels,
              OutputSide(c.height, c.kernel_size, c.stride, c.padding, ceil_mode),
              OutputSide(c.width, KernelWidth(c), c.stride, PaddingWidth(c), ceil_mode)};
    }
    case LayerFamily::kLinear:
      return {c.batch_size, c.out_features};
    case LayerFamily::kElementwise:
      // select picks index 0 of dim 1 (in_channels), mean and norm reduce it.
      if (c.type == LayerType::kSelect || c.type == LayerType::kMean ||
          c.type == LayerType::kNorm) {
        return {c.batch_size, c.height, c.width};
      }
      return {c.batch_size, c.in_channels, c.height, c.width};
    case LayerFamily::kAdaptivePool:
      return {c.batch_size, c.in_channels, c.output_size, c.output_size};
    case LayerFamily::kBatchedMatmul:
      return {c.batch_size, c.rows, c.columns};
    case LayerFamily::kEmbedding:
      return {c.batch_size, c.sequence_length, c.embedding_dim};
    case LayerFamily::kLoss:
    case LayerFamily::kOptimizer:
      return {};
  }
  return {};
}

double ForwardMacs(const LayerConfig& c) {
  const double k2 = static_cast<double>(c.kernel_size) * static_cast<double>(KernelWidth(c));
  const double nchw = static_cast<double>(c.batch_size) * static_cast<double>(c.in_channels) *
                      static_cast<double>(c.height) * static_cast<double>(c.width);
  switch (FamilyOf(c.type)) {
    case LayerFamily::kConv: {
      const std::vector<int64_t> out = OutputShape(c);
      return static_cast<double>(out[0]) * out[1] * out[2] * out[3] *
             (static_cast<double>(c.in_channels) / c.groups) * k2;
    }
    case LayerFamily::kPool: {
      const std::vector<int64_t> out = OutputShape(c);
      return static_cast<double>(out[0]) * out[1] * out[2] * out[3] * k2;
    }
    case LayerFamily::kLinear:
      return static_cast<double>(c.batch_size) * c.in_features * c.out_features;
    case LayerFamily::kElementwise:
      return nchw;
    case LayerFamily::kAdaptivePool:
      return static_cast<double>(c.batch_size) * static_cast<double>(c.in_channels) *
             AdaptiveWindowSum(c.height, c.output_size) * AdaptiveWindowSum(c.width, c.output_size);
    case LayerFamily::kLoss:
      return static_cast<double>(c.batch_size) * static_cast<double>(c.num_classes);
    case LayerFamily::kOptimizer:
      return static_cast<double>(c.parameters);
    case LayerFamily::kBatchedMatmul:
      return static_cast<double>(c.batch_size) * static_cast<double>(c.rows) *
             static_cast<double>(c.inner_size) * static_cast<double>(c.columns);
    case LayerFamily::kEmbedding:  // elements gathered, no multiply-accumulates
      return static_cast<double>(c.batch_size) * static_cast<double>(c.sequence_length) *
             static_cast<double>(c.embedding_dim);
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
    case LayerFamily::kConv:
      s.input_elements = nchw;
      s.weight_elements = static_cast<double>(c.out_channels) *
                              (static_cast<double>(c.in_channels) / c.groups) * c.kernel_size *
                              KernelWidth(c) +
                          (c.bias ? static_cast<double>(c.out_channels) : 0.0);
      break;
    case LayerFamily::kPool:
    case LayerFamily::kAdaptivePool:
      s.input_elements = nchw;
      break;
    case LayerFamily::kLinear:
      s.input_elements = static_cast<double>(c.batch_size) * c.in_features;
      s.weight_elements = static_cast<double>(c.in_features) * c.out_features +
                          (c.bias ? static_cast<double>(c.out_features) : 0.0);
      break;
    case LayerFamily::kElementwise: {
      const LayerDescriptor& d = Describe(c.type);
      const double nc = static_cast<double>(c.batch_size) * static_cast<double>(c.in_channels);
      s.input_elements = nchw;
      if (d.second_operand == SecondOperand::kSameShape) s.input_elements += nchw;
      if (d.second_operand == SecondOperand::kChannelScale) s.input_elements += nc;
      s.weight_elements =
          static_cast<double>(d.weights_per_channel) * static_cast<double>(c.in_channels);
      if (d.second_operand == SecondOperand::kBroadcastBias) {
        // The (C, H, W) bias: read once per sample in the forward pass, its gradient the sum
        // of the output gradient over N.
        const double chw = nchw / static_cast<double>(c.batch_size);
        s.input_elements += chw;
        s.weight_elements = chw;
      }
      break;
    }
    case LayerFamily::kLoss:
      s.input_elements = static_cast<double>(c.batch_size) * static_cast<double>(c.num_classes);
      break;
    case LayerFamily::kBatchedMatmul:
      s.input_elements = static_cast<double>(c.batch_size) * static_cast<double>(c.inner_size) *
                         (static_cast<double>(c.rows) + static_cast<double>(c.columns));
      break;
    case LayerFamily::kEmbedding:
      s.input_elements = static_cast<double>(c.batch_size) * static_cast<double>(c.sequence_length);
      s.weight_elements =
          static_cast<double>(c.num_embeddings) * static_cast<double>(c.embedding_dim);
      break;
    case LayerFamily::kOptimizer:
      s.output_elements = 0;
      s.weight_elements = static_cast<double>(c.parameters);
      break;
  }
  return s;
}

nlohmann::json ToJson(const LayerConfig& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field& f : FieldsOf(config.type)) {
    if (f.int_member && (!f.square_of || Value(config, f) != config.*f.square_of)) {
      j[f.name] = Value(config, f);
    }
    if (f.bool_member && f.omitted_default != config.*f.bool_member) {
      j[f.name] = config.*f.bool_member;
    }
  }
  return j;
}

LayerConfig LayerConfigFromJson(LayerType type, const nlohmann::json& j,
                                const std::string& context) {
  const LayerDescriptor& info = Describe(type);
  const std::string where = context.empty() ? std::string(info.name) : context;
  RequireObject(j, where);
  RejectUnknownKeys(j, info.fields, where);
  LayerConfig config;
  config.type = type;
  for (const Field& f : FieldsOf(type)) {
    if (f.omitted_default && !j.contains(f.name)) {
      config.*f.bool_member = *f.omitted_default;
      continue;
    }
    if (f.square_of && !j.contains(f.name)) continue;  // kSquare
    const nlohmann::json& value = RequireKey(j, f.name, where);
    const std::string value_where = At(where, f.name);
    if (f.int_member) config.*f.int_member = ReadInt(value, value_where);
    // An explicit value is a size: a negative one must not read as kSquare.
    if (f.square_of && config.*f.int_member < f.min_value) {
      throw ConfigError(value_where + " must be " + (f.min_value == 0 ? ">= 0" : "> 0") + ", got " +
                        std::to_string(config.*f.int_member));
    }
    if (f.bool_member) config.*f.bool_member = ReadBool(value, value_where);
  }
  return config;
}

}  // namespace lj
