#include "net/net_shapes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "core/errors.h"
#include "core/json_reader.h"
#include "core/layer_config.h"
#include "net/transformer_block.h"

namespace lj {
namespace {

using Shape = std::vector<int64_t>;  // dimension 0 = the net's batch size

std::string Approx(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", value);
  return buf;
}

class ShapeWalker {
 public:
  explicit ShapeWalker(const NetSpec& spec) : spec_(spec), ids_(spec.input.IsTokenIds()) {}

  void Walk(const NetLayerSpec& layer, const std::string& path, Shape& x) {
    const std::string ids_mismatch = TokenIdsMismatch(layer, ids_, x, spec_.input.vocabulary);
    if (!ids_mismatch.empty()) throw ConfigError(Context(layer, path) + ": " + ids_mismatch);
    if (layer.type == "sequential") {
      for (size_t i = 0; i < layer.layers.size(); ++i) {
        Walk(layer.layers[i], Join(path, Segment(layer.layers[i], i)), x);
      }
    } else if (layer.type == "residual") {
      Residual(layer, path, x);
    } else if (layer.type == "squeeze_excitation") {
      SqueezeExcitation(layer, path, x);
    } else if (layer.type == "concat") {
      Concatenate(layer, path, x);
    } else if (layer.type == "channel_shuffle") {
      Record("contiguous", path, layer, x, x,
             ChannelShuffleConfig(x, layer.groups, Context(layer, path)), 0, 0);
    } else if (layer.type == "transformer_encoder_layer") {
      TransformerEncoderLayer(layer, path, x);
    } else {
      Leaf(layer, path, x);
    }
  }

  std::vector<LayerInstance> TakeLayers() { return std::move(layers_); }

 private:
  std::string Context(const NetLayerSpec& layer, const std::string& path) const {
    return At(spec_.source, layer.where + " (" + layer.type + ", " + path + ")");
  }

  static std::string Segment(const NetLayerSpec& layer, size_t index) {
    return layer.name.empty() ? std::to_string(index) : layer.name;
  }

  void RequireLinearRank(const NetLayerSpec& layer, const std::string& path, const Shape& x) const {
    if (x.size() == 2 || x.size() == 3) return;
    throw ConfigError(Context(layer, path) + ": " + LinearRankError(x));
  }

  void RequireLayerNormRank(const NetLayerSpec& layer, const std::string& path,
                            const Shape& x) const {
    if (x.size() >= 2 && x.size() <= 4) return;
    throw ConfigError(Context(layer, path) + ": " + LayerNormRankError(x));
  }

  void RequireRank(const NetLayerSpec& layer, const std::string& path, const Shape& x, size_t rank,
                   const std::string& layout, const std::string& hint = "") const {
    if (x.size() == rank) return;
    throw ConfigError(Context(layer, path) + ": expects a " + std::to_string(rank) + "-D input " +
                      layout + ", got " + ShapeToString(x) + hint);
  }

  // Sizes LibTorch's builder could not allocate (it builds every parameter and runs the layer),
  // and that would overflow int64 byte counts at the batch size: at most 2^36 parameters per
  // layer (256 GiB of float32) and 2^40 output elements per batch (4 TiB). Computed in double.
  void CheckSizes(const NetLayerSpec& layer, const std::string& path, double parameters,
                  const Shape& out) const {
    constexpr double kMaxParameters = 68719476736.0;        // 2^36
    constexpr double kMaxOutputElements = 1099511627776.0;  // 2^40
    if (parameters > kMaxParameters) {
      throw ConfigError(Context(layer, path) + ": " + Approx(parameters) +
                        " parameters, more than 2^36 (256 GiB of float32)");
    }
    double elements = 1;
    for (const int64_t d : out) elements *= static_cast<double>(d);
    if (elements > kMaxOutputElements) {
      throw ConfigError(Context(layer, path) + ": output " + ShapeToString(out) + " has " +
                        Approx(elements) + " elements, more than 2^40 (4 TiB of float32)");
    }
  }

  // As net_builder's Record: an invalid config is dropped, its reason kept as the note.
  void Record(const std::string& type, const std::string& path, const NetLayerSpec& layer,
              const Shape& in, const Shape& out, std::optional<LayerConfig> config,
              int64_t parameters, int64_t parameter_tensors, int64_t kernel_elements = 0) {
    layers_.push_back(MakeLayerInstance(type, path, layer.where, in, out, std::move(config),
                                        parameters, parameter_tensors, kernel_elements,
                                        layer.groups, layer.p == 0.0));
  }

  static std::optional<LayerConfig> Elementwise(const std::string& type, const Shape& x) {
    return ElementwiseConfig(ParseLayerType(type), x);
  }

  void Residual(const NetLayerSpec& layer, const std::string& path, Shape& x) {
    const Shape input = x;
    Shape branch = x;
    for (size_t i = 0; i < layer.layers.size(); ++i) {
      Walk(layer.layers[i], Join(path, Segment(layer.layers[i], i)), branch);
    }
    Shape shortcut = input;
    for (size_t i = 0; i < layer.shortcut.size(); ++i) {
      Walk(layer.shortcut[i], Join(Join(path, layer.shortcut_name), Segment(layer.shortcut[i], i)),
           shortcut);
    }
    if (branch != shortcut) {
      throw ConfigError(Context(layer, path) + ": branch output " + ShapeToString(branch) +
                        " and " +
                        (layer.shortcut.empty() ? "identity shortcut " : "shortcut output ") +
                        ShapeToString(shortcut) + " differ");
    }
    Record("add", Join(path, "add"), layer, branch, branch, Elementwise("add", branch), 0, 0);
    if (auto acc = Elementwise("add", input)) layers_.back().grad_accumulations.push_back(*acc);
    x = branch;
    if (layer.activation != "none") {
      Record(layer.activation, Join(path, "activation"), layer, x, x,
             Elementwise(layer.activation, x), 0, 0);
    }
  }

  void Concatenate(const NetLayerSpec& layer, const std::string& path, Shape& x) {
    const Shape input = x;
    std::vector<Shape> outputs;
    for (size_t i = 0; i < layer.layers.size(); ++i) {
      Shape branch = input;
      Walk(layer.layers[i], Join(path, Segment(layer.layers[i], i)), branch);
      outputs.push_back(branch);
    }
    const LayerConfig config = CatConfig(outputs, Context(layer, path));
    Shape out = outputs.front();
    out[1] = config.in_channels;  // the sum of the branches' channels
    Record("cat", Join(path, "cat"), layer, outputs.front(), out, config, 0, 0);
    if (auto acc = Elementwise("add", input)) {
      for (size_t i = 1; i < layer.layers.size(); ++i) {
        layers_.back().grad_accumulations.push_back(*acc);
      }
    }
    x = out;
  }

  void SqueezeExcitation(const NetLayerSpec& layer, const std::string& path, Shape& x) {
    RequireRank(layer, path, x, 4, "(N, C, H, W)");
    const int64_t n = x[0], channels = x[1], squeeze = layer.squeeze_channels;
    auto conv1x1 = [&](int64_t in, int64_t out) {
      LayerConfig c;
      c.type = LayerType::kConv2d;
      c.batch_size = spec_.batch_size;
      c.in_channels = in;
      c.out_channels = out;
      c.height = c.width = 1;
      c.kernel_size = 1;
      return c;
    };
    const LayerConfig pool = AdaptiveAvgPoolConfig(x, 1);
    const Shape pooled{n, channels, 1, 1}, squeezed{n, squeeze, 1, 1};
    CheckSizes(layer, path, 2.0 * static_cast<double>(channels) * static_cast<double>(squeeze),
               squeezed);
    Record("adaptive_avgpool2d", Join(path, "avgpool"), layer, x, pooled, pool, 0, 0);
    Record("conv2d", Join(path, "fc1"), layer, pooled, squeezed, conv1x1(channels, squeeze),
           channels * squeeze + squeeze, 2);
    Record(layer.activation, Join(path, "activation"), layer, squeezed, squeezed,
           Elementwise(layer.activation, squeezed), 0, 0);
    Record("conv2d", Join(path, "fc2"), layer, squeezed, pooled, conv1x1(squeeze, channels),
           squeeze * channels + channels, 2);
    Record(layer.scale_activation, Join(path, "scale_activation"), layer, pooled, pooled,
           Elementwise(layer.scale_activation, pooled), 0, 0);
    Record("mul", Join(path, "mul"), layer, x, x, Elementwise("mul", x), 0, 0);
    if (auto acc = Elementwise("add", x)) layers_.back().grad_accumulations.push_back(*acc);
  }

  void TransformerEncoderLayer(const NetLayerSpec& layer, const std::string& path, const Shape& x) {
    const std::string context = Context(layer, path);
    TransformerEncoderLayerShape block = TransformerEncoderLayerShapeOf(
        x, layer.nhead, layer.dim_feedforward, layer.p, layer.activation, context);
    block.norm_first = layer.norm_first;
    // Its parameters; its largest activations: the scores (N, h S, S), the packed projection
    // (N, S, 3 D) and the feed-forward's (N, S, F).
    const double d = static_cast<double>(block.d_model);
    const double f = static_cast<double>(block.dim_feedforward);
    CheckSizes(layer, path, 4 * d * d + 2 * d * f + 9 * d + f,
               {x[0], block.nhead * block.sequence_length, block.sequence_length});
    CheckSizes(layer, path, 0,
               {x[0], block.sequence_length, std::max(3 * block.d_model, block.dim_feedforward)});
    for (LayerInstance& li : TransformerEncoderLayerInstances(block, path, layer.where, context)) {
      layers_.push_back(std::move(li));
    }
  }

  LayerConfig SpatialConfig(const NetLayerSpec& layer, const std::string& path, const Shape& x,
                            LayerType type) const {
    LayerConfig c;
    c.type = type;
    c.batch_size = spec_.batch_size;
    c.in_channels = x[1];
    c.height = x[2];
    c.width = x[3];
    c.kernel_size = layer.kernel_size;
    c.stride = layer.stride;
    c.padding = layer.padding;
    if (type == LayerType::kConv2d) {
      c.kernel_width = layer.kernel_width;
      c.padding_width = layer.padding_width;
      c.out_channels = layer.out_channels;
      c.groups = layer.groups;
      c.bias = layer.bias;
    } else {
      c.ceil_mode = layer.ceil_mode;
    }
    Validate(c, Context(layer, path));
    return c;
  }

  std::string NeitherNote(const Shape& x) const {
    return "input " + ShapeToString(x) + " has fewer than 2 dims";
  }

  void Leaf(const NetLayerSpec& layer, const std::string& path, Shape& x) {
    const std::string& t = layer.type;
    const Shape in = x;
    std::optional<LayerConfig> config;
    std::string note;
    int64_t parameters = 0, tensors = 0, kernel_elements = 0;
    Shape out = in;
    std::string recorded = t;  // a mean over (H, W) is recorded as adaptive_avgpool2d
    if (!layer.layer_type) {   // flatten, a view
      const auto rank = static_cast<int64_t>(in.size());
      const int64_t end = layer.end_dim < 0 ? rank + layer.end_dim : layer.end_dim;
      if (layer.start_dim >= rank || end >= rank || end < layer.start_dim) {
        throw ConfigError(Context(layer, path) + ": start_dim " + std::to_string(layer.start_dim) +
                          " and end_dim " + std::to_string(layer.end_dim) +
                          " do not fit the input " + ShapeToString(in));
      }
      out.assign(in.begin(), in.begin() + layer.start_dim);
      int64_t merged = 1;
      for (int64_t d = layer.start_dim; d <= end; ++d) merged *= in[static_cast<size_t>(d)];
      out.push_back(merged);
      out.insert(out.end(), in.begin() + end + 1, in.end());
    } else if (Describe(*layer.layer_type).role == LayerRole::kActivation) {
      config = Elementwise(t, in);
      if (!config) note = NeitherNote(in);
    } else {
      switch (*layer.layer_type) {
        case LayerType::kConv2d:
        case LayerType::kMaxPool2d: {
          RequireRank(layer, path, in, 4, "(N, C, H, W)");
          config = SpatialConfig(layer, path, in, *layer.layer_type);
          out = OutputShape(*config);
          if (*layer.layer_type == LayerType::kConv2d) {
            const double weights = static_cast<double>(layer.out_channels) *
                                   static_cast<double>(in[1] / layer.groups) *
                                   static_cast<double>(layer.kernel_size) *
                                   static_cast<double>(layer.kernel_width);
            CheckSizes(layer, path, weights + static_cast<double>(layer.out_channels), out);
            parameters = layer.out_channels * (in[1] / layer.groups) * layer.kernel_size *
                             layer.kernel_width +
                         (layer.bias ? layer.out_channels : 0);
            tensors = layer.bias ? 2 : 1;
          }
          break;
        }
        case LayerType::kAvgPool2d: {
          RequireRank(layer, path, in, 4, "(N, C, H, W)");
          const int64_t padded_h = in[2] + 2 * layer.padding;
          const int64_t padded_w = in[3] + 2 * layer.padding;
          if (layer.kernel_size > padded_h || layer.kernel_size > padded_w) {
            throw ConfigError(Context(layer, path) + ": kernel_size " +
                              std::to_string(layer.kernel_size) +
                              " is larger than the padded input " + std::to_string(padded_h) + "x" +
                              std::to_string(padded_w));
          }
          kernel_elements = layer.kernel_size * layer.kernel_size;
          config = SpatialConfig(layer, path, in, LayerType::kAvgPool2d);
          out = OutputShape(*config);
          break;
        }
        case LayerType::kAdaptiveAvgPool2d: {
          RequireRank(layer, path, in, 4, "(N, C, H, W)");
          if (layer.output_height == layer.output_width) {
            config = AdaptiveAvgPoolConfig(in, layer.output_height);
          } else {
            note = "output size " + std::to_string(layer.output_height) + "x" +
                   std::to_string(layer.output_width) + " is not square";
          }
          out = {in[0], in[1], layer.output_height, layer.output_width};
          break;
        }
        case LayerType::kLinear: {  // over the last dim of (N, F) or (N, S, F)
          RequireLinearRank(layer, path, in);
          const int64_t features = in.back();
          LayerConfig c;
          c.type = LayerType::kLinear;
          c.batch_size = spec_.batch_size * (in.size() == 3 ? in[1] : 1);
          c.in_features = features;
          c.out_features = layer.out_features;
          c.bias = layer.bias;
          Validate(c, Context(layer, path));
          config = c;
          out = in;
          out.back() = layer.out_features;
          CheckSizes(layer, path,
                     static_cast<double>(features) * static_cast<double>(layer.out_features) +
                         static_cast<double>(layer.out_features),
                     out);
          parameters = features * layer.out_features + (layer.bias ? layer.out_features : 0);
          tensors = layer.bias ? 2 : 1;
          break;
        }
        case LayerType::kBatchNorm2d:
          RequireRank(layer, path, in, 4, "(N, C, H, W)");
          config = Elementwise(t, in);
          parameters = 2 * in[1];
          tensors = 2;
          break;
        case LayerType::kLayerNorm:  // over F of (N, F) or (N, S, F), C of (N, C, H, W)
          RequireLayerNormRank(layer, path, in);
          config = in.size() == 3 ? LayerNormConfig(in, 1) : Elementwise(t, in);
          parameters = 2 * (in.size() == 3 ? in[2] : in[1]);
          tensors = 2;
          break;
        case LayerType::kEmbedding: {  // the token ids (N, S), checked in Walk
          LayerConfig c;
          c.type = LayerType::kEmbedding;
          c.batch_size = spec_.batch_size;
          c.sequence_length = in[1];
          c.num_embeddings = layer.num_embeddings;
          c.embedding_dim = layer.embedding_dim;
          Validate(c, Context(layer, path));
          config = c;
          out = OutputShape(c);
          const double table =
              static_cast<double>(layer.num_embeddings) * static_cast<double>(layer.embedding_dim);
          CheckSizes(layer, path, table, out);
          parameters = layer.num_embeddings * layer.embedding_dim;
          tensors = 1;
          ids_ = false;  // float rows from here on
          break;
        }
        case LayerType::kMean:
        case LayerType::kNorm:
        case LayerType::kSelect: {
          const std::string context = Context(layer, path);
          const LayerType type = *layer.layer_type;
          const ShapedLayer shaped =
              type == LayerType::kMean ? MeanLayerOf(in, layer.dims, context)
              : type == LayerType::kNorm
                  ? NormLayerOf(in, layer.dims, context)
                  : SelectLayerOf(in, layer.dims.at(0), layer.index, context);
          recorded = shaped.type;
          config = shaped.config;
          out = shaped.output_shape;
          break;
        }
        case LayerType::kBiasAdd:  // b of one sample's shape, broadcast over the batch
          config = BiasAddLayerOf(in, Context(layer, path)).config;
          parameters = NumElements(in) / in[0];
          tensors = 1;
          break;
        case LayerType::kDropout:
          if (layer.p > 0) {
            config = Elementwise(t, in);
            if (!config) {
              note = NeitherNote(in);
            } else {
              config->p_percent = DropoutPercent(layer.p);
            }
          }
          break;
        default:
          throw std::logic_error(Context(layer, path) + ": not a net.json leaf");
      }
    }
    CheckSizes(layer, path, static_cast<double>(parameters), out);
    Record(recorded, path, layer, in, out, config, parameters, tensors, kernel_elements);
    if (!note.empty()) layers_.back().note = note;
    x = out;
  }

  const NetSpec& spec_;
  // Whether the current tensor is the int64 token ids of a sequence input (until an embedding).
  bool ids_;
  std::vector<LayerInstance> layers_;
};

}  // namespace

std::vector<LayerInstance> LayerShapesFromNetSpec(const NetSpec& spec) {
  ShapeWalker walker(spec);
  Shape x{spec.batch_size};  // (N, C, H, W), or the token ids (N, S)
  for (int64_t d : spec.input.SampleShape()) x.push_back(d);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const NetLayerSpec& layer = spec.layers[i];
    walker.Walk(layer, layer.name.empty() ? std::to_string(i) : layer.name, x);
  }
  if (spec.num_classes && (x.size() != 2 || x[1] != *spec.num_classes)) {
    throw ConfigError(At(spec.source, "output " + ShapeToString(x) +
                                          " does not match num_classes " +
                                          std::to_string(*spec.num_classes)));
  }
  std::vector<LayerInstance> layers = walker.TakeLayers();
  MarkFirstTrainableLayer(layers);
  return layers;
}

}  // namespace lj
