#include "net/layer_instance.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "core/errors.h"

namespace lj {

void SetLayerType(LayerInstance& layer, std::string_view name) {
  LayerType type;
  if (FindLayerType(name, &type)) {
    layer.layer_type = type;
  } else {
    layer.layer_type.reset();
  }
  layer.type = std::string(name);
}

bool HasKnownType(const LayerInstance& layer) {
  return layer.layer_type.has_value() || layer.type == kFlattenType;
}

std::optional<LayerConfig> ElementwiseConfig(LayerType type, const std::vector<int64_t>& shape) {
  if (type == LayerType::kSoftmax && shape.size() >= 2) {
    LayerConfig c;
    c.type = type;
    c.batch_size = shape[0];
    c.in_channels = 1;
    for (size_t d = 1; d + 1 < shape.size(); ++d) c.in_channels *= shape[d];
    c.height = 1;
    c.width = shape.back();
    return c;
  }
  if (shape.size() < 2) return std::nullopt;
  LayerConfig c;
  c.type = type;
  c.batch_size = shape[0];
  if (shape.size() == 4 || shape.size() == 2) {
    c.in_channels = shape[1];
    c.height = shape.size() == 4 ? shape[2] : 1;
    c.width = shape.size() == 4 ? shape[3] : 1;
    return c;
  }
  // (N, d1, ..., dk, L) of rank 3 or >= 5, e.g. a Transformer's (N, T, D): (N, d1 x ... x dk,
  // 1, L), the same elements in the same memory order.
  c.in_channels = 1;
  for (size_t d = 1; d + 1 < shape.size(); ++d) c.in_channels *= shape[d];
  c.height = 1;
  c.width = shape.back();
  return c;
}

std::optional<LayerConfig> BiasAddConfig(const std::vector<int64_t>& shape,
                                         const std::vector<int64_t>& bias_shape) {
  size_t first = 0;  // b's leading 1s broadcast too
  while (first < bias_shape.size() && bias_shape[first] == 1) ++first;
  const std::vector<int64_t> bias(bias_shape.begin() + static_cast<std::ptrdiff_t>(first),
                                  bias_shape.end());
  if (bias.empty() || bias.size() > shape.size() ||
      !std::equal(bias.begin(), bias.end(),
                  shape.end() - static_cast<std::ptrdiff_t>(bias.size()))) {
    return std::nullopt;
  }
  int64_t leading = 1;
  for (size_t d = 0; d + bias.size() < shape.size(); ++d) leading *= shape[d];
  std::vector<int64_t> folded{leading};
  folded.insert(folded.end(), bias.begin(), bias.end());
  return ElementwiseConfig(LayerType::kBiasAdd, folded);
}

std::optional<LayerConfig> LayerNormConfig(const std::vector<int64_t>& shape,
                                           int64_t normalized_dims) {
  const auto rank = static_cast<int64_t>(shape.size());
  if (normalized_dims < 1 || normalized_dims > rank) return std::nullopt;
  LayerConfig c;
  c.type = LayerType::kLayerNorm;
  c.batch_size = normalized_dims < rank ? shape[0] : 1;
  c.in_channels = 1;
  for (int64_t d = rank - normalized_dims; d < rank; ++d) c.in_channels *= shape[d];
  c.height = 1;
  c.width = 1;
  for (int64_t d = 1; d < rank - normalized_dims; ++d) c.width *= shape[d];
  return c;
}

std::optional<LayerConfig> ContiguousConfig(const std::vector<int64_t>& shape,
                                            const std::vector<int64_t>& layout_sizes,
                                            const std::vector<int64_t>& layout_strides) {
  if (shape.size() != layout_sizes.size() || shape.size() != layout_strides.size()) {
    throw std::invalid_argument("ContiguousConfig: shape " + ShapeToString(shape) +
                                ", layout sizes " + ShapeToString(layout_sizes) + " and strides " +
                                ShapeToString(layout_strides) + " differ in rank");
  }
  // The trailing dims laid out as a contiguous tensor's (size-1 dims have any stride).
  std::vector<bool> in_run(shape.size(), false);
  int64_t expected = 1;
  bool contiguous = true;
  for (size_t k = shape.size(); k-- > 0;) {
    if (layout_sizes[k] == 1) continue;
    if (layout_strides[k] != expected) {
      contiguous = false;
      break;
    }
    in_run[k] = true;
    expected *= layout_sizes[k];
  }
  if (contiguous) return std::nullopt;
  LayerConfig c;
  c.type = LayerType::kContiguous;
  c.width = 1;
  std::vector<int64_t> outer;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (in_run[d]) {
      c.width *= shape[d];
    } else if (shape[d] > 1) {
      outer.push_back(shape[d]);
    }
  }
  while (outer.size() < 2) outer.push_back(1);
  if (outer.size() == 2) outer.insert(outer.begin(), 1);
  c.batch_size = outer.front();
  c.in_channels = 1;
  for (size_t d = 1; d + 1 < outer.size(); ++d) c.in_channels *= outer[d];
  c.height = outer.back();
  return c;
}

LayerConfig ChannelShuffleConfig(const std::vector<int64_t>& shape, int64_t groups,
                                 const std::string& context) {
  if (groups < 2) {
    throw std::invalid_argument("ChannelShuffleConfig: groups must be >= 2, got " +
                                std::to_string(groups));
  }
  if (shape.size() != 4) {
    throw ConfigError(context + ": expects a 4-D input (N, C, H, W), got " + ShapeToString(shape));
  }
  if (shape[1] % groups != 0) {
    throw ConfigError(context + ": groups " + std::to_string(groups) + " must divide the " +
                      std::to_string(shape[1]) + " channels of input " + ShapeToString(shape));
  }
  LayerConfig c;
  c.type = LayerType::kContiguous;
  c.batch_size = shape[0];
  c.in_channels = shape[1] / groups;
  c.height = groups;
  c.width = shape[2] * shape[3];
  return c;
}

LayerInstance MakeLayerInstance(std::string_view type, std::string path, std::string source,
                                std::vector<int64_t> in, std::vector<int64_t> out,
                                std::optional<LayerConfig> config, int64_t parameters,
                                int64_t parameter_tensors, int64_t kernel_elements, int64_t groups,
                                bool zero_dropout) {
  std::string invalid;
  if (config && !IsValid(*config, &invalid)) config.reset();
  LayerInstance li;
  li.path = std::move(path);
  SetLayerType(li, type);
  li.source = std::move(source);
  li.input_shape = std::move(in);
  li.output_shape = std::move(out);
  li.config = std::move(config);
  li.note = invalid;
  li.no_cost = type == kFlattenType || (type == "dropout" && zero_dropout);
  li.parameter_count = parameters;
  li.parameter_tensors = parameter_tensors;
  li.forward_macs = ForwardMacsOf(li, kernel_elements, groups);
  return li;
}

int64_t DropoutPercent(double p) { return static_cast<int64_t>(std::lround(100.0 * p)); }

LayerConfig DimsSplitConfig(LayerType type, const std::vector<int64_t>& shape, int64_t first,
                            int64_t last) {
  LayerConfig c;
  c.type = type;
  c.batch_size = 1;
  c.in_channels = 1;
  c.height = 1;
  c.width = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    int64_t& into = i < first ? c.batch_size : i <= last ? c.in_channels : c.width;
    into *= shape[static_cast<size_t>(i)];
  }
  return c;
}

LayerConfig AdaptiveAvgPoolConfig(const std::vector<int64_t>& shape, int64_t output_size) {
  LayerConfig c;
  c.type = LayerType::kAdaptiveAvgPool2d;
  c.batch_size = shape.at(0);
  c.in_channels = shape.at(1);
  c.height = shape.at(2);
  c.width = shape.at(3);
  c.output_size = output_size;
  return c;
}

namespace {

// `dim` of a tensor of `shape` in [1, rank) (negative: from the end), or a ConfigError.
int64_t NonBatchDim(const std::vector<int64_t>& shape, int64_t dim, const std::string& context) {
  const auto rank = static_cast<int64_t>(shape.size());
  const int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) {
    throw ConfigError(context + ": dim " + std::to_string(dim) + " is out of range for input " +
                      ShapeToString(shape));
  }
  if (d == 0) throw ConfigError(context + ": dim " + std::to_string(dim) + " is the batch dim");
  return d;
}

// The dims of `shape` a reduction over `dims` removes, sorted, and its output shape; a
// ConfigError where MeanLayerOf documents one ("a mean", "a norm" in the adjacency error).
std::vector<int64_t> ReducedDims(const std::vector<int64_t>& shape,
                                 const std::vector<int64_t>& dims, const std::string& context,
                                 const char* what, std::vector<int64_t>* output_shape) {
  if (dims.empty()) throw ConfigError(context + ": no dim to reduce");
  std::vector<int64_t> sorted;
  for (const int64_t dim : dims) sorted.push_back(NonBatchDim(shape, dim, context));
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] == sorted[i - 1]) {
      throw ConfigError(context + ": dim " + std::to_string(sorted[i]) + " is repeated");
    }
    if (sorted[i] != sorted[i - 1] + 1) {
      throw ConfigError(context + ": dims " + ShapeToString(sorted) + " are not adjacent (only " +
                        what + " over adjacent dims is modelled)");
    }
  }
  output_shape->clear();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (!std::binary_search(sorted.begin(), sorted.end(), static_cast<int64_t>(i))) {
      output_shape->push_back(shape[i]);
    }
  }
  return sorted;
}

}  // namespace

ShapedLayer MeanLayerOf(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                        const std::string& context) {
  ShapedLayer out;
  const std::vector<int64_t> sorted =
      ReducedDims(shape, dims, context, "a mean", &out.output_shape);
  if (shape.size() == 4 && sorted == std::vector<int64_t>{2, 3}) {
    out.type = "adaptive_avgpool2d";
    out.config = AdaptiveAvgPoolConfig(shape, 1);
    return out;
  }
  out.type = "mean";
  out.config = DimsSplitConfig(LayerType::kMean, shape, sorted.front(), sorted.back());
  return out;
}

ShapedLayer NormLayerOf(const std::vector<int64_t>& shape, const std::vector<int64_t>& dims,
                        const std::string& context) {
  ShapedLayer out;
  const std::vector<int64_t> sorted =
      ReducedDims(shape, dims, context, "a norm", &out.output_shape);
  out.type = "norm";
  out.config = DimsSplitConfig(LayerType::kNorm, shape, sorted.front(), sorted.back());
  return out;
}

ShapedLayer SelectLayerOf(const std::vector<int64_t>& shape, int64_t dim, int64_t index,
                          const std::string& context) {
  const int64_t d = NonBatchDim(shape, dim, context);
  const int64_t size = shape[static_cast<size_t>(d)];
  if (index < -size || index >= size) {
    throw ConfigError(context + ": index " + std::to_string(index) + " is out of range for dim " +
                      std::to_string(d) + " of size " + std::to_string(size));
  }
  ShapedLayer out;
  out.type = "select";
  out.config = DimsSplitConfig(LayerType::kSelect, shape, d, d);
  out.output_shape = shape;
  out.output_shape.erase(out.output_shape.begin() + d);
  return out;
}

ShapedLayer BiasAddLayerOf(const std::vector<int64_t>& shape, const std::string& context) {
  const std::optional<LayerConfig> config =
      shape.size() < 2 ? std::nullopt
                       : BiasAddConfig(shape, std::vector<int64_t>(shape.begin() + 1, shape.end()));
  if (!config) {
    throw ConfigError(context + ": expects an input with a batch dim and at least one more, got " +
                      ShapeToString(shape));
  }
  return {"bias_add", *config, shape};
}

LayerConfig CatConfig(const std::vector<std::vector<int64_t>>& shapes, const std::string& context) {
  if (shapes.empty()) throw ConfigError(context + ": nothing to concatenate");
  std::string all;
  for (const std::vector<int64_t>& s : shapes) all += (all.empty() ? "" : ", ") + ShapeToString(s);
  const std::vector<int64_t>& first = shapes.front();
  for (const std::vector<int64_t>& s : shapes) {
    bool same = s.size() == first.size() && (s.size() == 4 || s.size() == 2);
    for (size_t d = 0; same && d < s.size(); ++d) same = d == 1 || s[d] == first[d];
    if (!same) {
      throw ConfigError(context + ": branch outputs " + all +
                        " cannot be concatenated along the channels (all (N, C, H, W) or all "
                        "(N, F), equal but for C)");
    }
  }
  std::optional<LayerConfig> c = ElementwiseConfig(LayerType::kCat, first);
  c->in_channels = 0;
  for (const std::vector<int64_t>& s : shapes) c->in_channels += s[1];
  c->inputs = static_cast<int64_t>(shapes.size());
  return *c;
}

std::optional<LayerConfig> LossConfigOf(const std::vector<LayerInstance>& layers,
                                        std::string* reason) {
  auto fail = [&](const std::string& why) -> std::optional<LayerConfig> {
    if (reason) *reason = why;
    return std::nullopt;
  };
  if (layers.empty()) return fail("the network has no layers");
  const std::vector<int64_t>& out = layers.back().output_shape;
  if (out.size() != 2) {
    return fail("the network output " + ShapeToString(out) +
                " is not (batch_size, num_classes); cross_entropy needs class scores");
  }
  LayerConfig c;
  c.type = LayerType::kCrossEntropy;
  c.batch_size = out[0];
  c.num_classes = out[1];
  std::string why;
  if (!IsValid(c, &why)) return fail(why);
  return c;
}

std::optional<LayerConfig> OptimizerConfigOf(const std::vector<LayerInstance>& layers,
                                             const std::string& optimizer, std::string* reason) {
  auto fail = [&](const std::string& why) -> std::optional<LayerConfig> {
    if (reason) *reason = why;
    return std::nullopt;
  };
  if (optimizer == "sgd") return ParameterStepConfigOf(layers, LayerType::kSgd, reason);
  if (optimizer == "adam") return ParameterStepConfigOf(layers, LayerType::kAdam, reason);
  return fail("optimizer '" + optimizer + "' is not modelled (sgd or adam)");
}

std::optional<LayerConfig> ParameterStepConfigOf(const std::vector<LayerInstance>& layers,
                                                 LayerType type, std::string* reason) {
  auto fail = [&](const std::string& why) -> std::optional<LayerConfig> {
    if (reason) *reason = why;
    return std::nullopt;
  };
  if (!IsOptimizerStep(type)) {
    return fail(std::string(ToString(type)) + " is not a parameter-wide step");
  }
  LayerConfig c;
  c.type = type;
  c.parameters = 0;
  c.parameter_tensors = 0;
  for (const LayerInstance& l : layers) {
    c.parameters += l.parameter_count;
    c.parameter_tensors += l.parameter_tensors;
  }
  if (c.parameters <= 0) return fail("the network has no trainable parameters");
  std::string why;
  if (!IsValid(c, &why)) return fail(why);
  return c;
}

void MarkFirstTrainableLayer(std::vector<LayerInstance>& layers) {
  for (LayerInstance& layer : layers) {
    if (layer.parameter_count == 0) continue;
    if (layer.config && HasInputGradField(layer.config->type)) layer.config->input_grad = false;
    return;
  }
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

double ForwardMacsOf(const LayerInstance& layer, int64_t kernel_elements, int64_t groups) {
  if (layer.config) return ForwardMacs(*layer.config);
  if (!layer.layer_type || layer.no_cost) return 0;
  const double out = static_cast<double>(NumElements(layer.output_shape));
  switch (Describe(*layer.layer_type).family) {
    case LayerFamily::kConv:
      if (layer.input_shape.size() < 2 || groups <= 0) return 0;
      return out * static_cast<double>(layer.input_shape[1] / groups) *
             static_cast<double>(kernel_elements);
    case LayerFamily::kLinear:
      if (layer.input_shape.empty()) return 0;
      return out * static_cast<double>(layer.input_shape.back());
    case LayerFamily::kPool:
      return out * static_cast<double>(kernel_elements);
    case LayerFamily::kAdaptivePool:
      return static_cast<double>(NumElements(layer.input_shape));
    case LayerFamily::kElementwise:
      return out;
    case LayerFamily::kBatchedMatmul:  // output elements x the contracted dim
      if (layer.input_shape.empty()) return 0;
      return out * static_cast<double>(layer.input_shape.back());
    case LayerFamily::kEmbedding:  // the rows gathered: output elements
      return out;
    case LayerFamily::kLoss:
    case LayerFamily::kOptimizer:
      return 0;  // not layers of a network
  }
  return 0;
}

nlohmann::json ToJson(const LayerInstance& layer) {
  nlohmann::json j = {{"path", layer.path},
                      {"type", layer.type},
                      {"source", layer.source},
                      {"input_shape", layer.input_shape},
                      {"output_shape", layer.output_shape},
                      {"config", layer.config ? ToJson(*layer.config) : nlohmann::json()},
                      {"parameter_count", layer.parameter_count},
                      {"parameter_tensors", layer.parameter_tensors},
                      {"forward_macs", layer.forward_macs}};
  if (!layer.note.empty()) j["note"] = layer.note;
  if (layer.no_cost) j["no_cost"] = true;
  if (!layer.grad_accumulations.empty()) {
    j["grad_accumulations"] = nlohmann::json::array();
    for (const LayerConfig& c : layer.grad_accumulations)
      j["grad_accumulations"].push_back(ToJson(c));
  }
  return j;
}

}  // namespace lj
