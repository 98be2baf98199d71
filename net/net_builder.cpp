#include "net/net_builder.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <utility>

#include "core/errors.h"
#include "core/json_reader.h"
#include "net/net_module.h"
#include "net/transformer_block.h"

namespace lj {
namespace {

using torch::Tensor;
using torch::nn::AnyModule;

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::vector<int64_t> ShapeOf(const Tensor& t) { return t.sizes().vec(); }

int64_t ParameterCount(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const Tensor& p : module.parameters()) n += p.numel();
  return n;
}

int64_t ParameterTensors(const torch::nn::Module& module) {
  return static_cast<int64_t>(module.parameters().size());
}

class Builder {
 public:
  explicit Builder(const NetSpec& spec) : spec_(spec) {}

  // Builds `layer` at module path `path`, running it on x, which becomes its output.
  AnyModule Build(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    const std::string ids_mismatch = TokenIdsMismatch(layer, x.scalar_type() == torch::kLong,
                                                      AtBatchSize(x), spec_.input.vocabulary);
    if (!ids_mismatch.empty()) throw ConfigError(Context(layer, path) + ": " + ids_mismatch);
    if (layer.type == "sequential") return BuildSequential(layer, path, x);
    if (layer.type == "residual") return BuildResidual(layer, path, x);
    if (layer.type == "squeeze_excitation") return BuildSqueezeExcitation(layer, path, x);
    if (layer.type == "concat") return BuildConcat(layer, path, x);
    if (layer.type == "channel_shuffle") return BuildChannelShuffle(layer, path, x);
    if (layer.type == "transformer_encoder_layer") {
      return BuildTransformerEncoderLayer(layer, path, x);
    }
    return BuildLeaf(layer, path, x);
  }

  std::vector<LayerInstance> TakeLayers() { return std::move(layers_); }

 private:
  std::string Context(const NetLayerSpec& layer, const std::string& path) const {
    return At(spec_.source, layer.where + " (" + layer.type + ", " + path + ")");
  }

  static std::string Segment(const NetLayerSpec& layer, size_t index) {
    return layer.name.empty() ? std::to_string(index) : layer.name;
  }

  // Runs `run` on x and appends the LayerInstance; returns the output.
  // `module` (may be null) holds the layer's trainable parameters. A `config` that core
  // Validate rejects (e.g. batchnorm2d on a single value per channel) is dropped and its reason
  // kept as the note; conv2d, maxpool2d, avgpool2d and linear configs are validated (and throw)
  // before their module is built.
  Tensor Record(const std::string& type, const std::string& path, const NetLayerSpec& layer,
                const std::function<Tensor(const Tensor&)>& run, const Tensor& x,
                const torch::nn::Module* module, std::optional<LayerConfig> config,
                int64_t kernel_elements = 0) {
    Tensor y;
    try {
      y = run(x);
    } catch (const c10::Error& e) {
      throw ConfigError(Context(layer, path) + ": " + FirstLine(e.what_without_backtrace()));
    }
    layers_.push_back(MakeLayerInstance(type, path, layer.where, AtBatchSize(x), AtBatchSize(y),
                                        std::move(config), module ? ParameterCount(*module) : 0,
                                        module ? ParameterTensors(*module) : 0, kernel_elements,
                                        layer.groups, layer.p == 0.0));
    return y;
  }

  // The element-wise config of `type` ("relu", "add", ...) on x at the net's batch size.
  std::optional<LayerConfig> Elementwise(const std::string& type, const Tensor& x) const {
    return ElementwiseConfig(ParseLayerType(type), AtBatchSize(x));
  }

  std::vector<int64_t> AtBatchSize(const Tensor& t) const {
    std::vector<int64_t> shape = ShapeOf(t);
    if (!shape.empty()) shape[0] = spec_.batch_size;
    return shape;
  }

  void RequireRank(const NetLayerSpec& layer, const std::string& path, const Tensor& x,
                   int64_t rank, const std::string& layout, const std::string& hint = "") {
    if (x.dim() == rank) return;
    throw ConfigError(Context(layer, path) + ": expects a " + std::to_string(rank) + "-D input " +
                      layout + ", got " + ShapeToString(AtBatchSize(x)) + hint);
  }

  AnyModule BuildSequential(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    Sequence seq;
    for (size_t i = 0; i < layer.layers.size(); ++i) {
      const std::string segment = Segment(layer.layers[i], i);
      seq->Append(segment, Build(layer.layers[i], Join(path, segment), x));
    }
    return AnyModule(seq);
  }

  AnyModule BuildResidual(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    Residual block(layer.shortcut_name, layer.activation);
    block->eval();
    const Tensor input = x;
    Tensor branch = x;
    for (size_t i = 0; i < layer.layers.size(); ++i) {
      const std::string segment = Segment(layer.layers[i], i);
      block->AppendBranch(segment, Build(layer.layers[i], Join(path, segment), branch));
    }
    Tensor shortcut = input;
    for (size_t i = 0; i < layer.shortcut.size(); ++i) {
      const std::string segment = Segment(layer.shortcut[i], i);
      block->shortcut()->Append(
          segment,
          Build(layer.shortcut[i], Join(Join(path, layer.shortcut_name), segment), shortcut));
    }
    if (branch.sizes() != shortcut.sizes()) {
      throw ConfigError(Context(layer, path) + ": branch output " +
                        ShapeToString(AtBatchSize(branch)) + " and " +
                        (layer.shortcut.empty() ? "identity shortcut " : "shortcut output ") +
                        ShapeToString(AtBatchSize(shortcut)) + " differ");
    }
    x = Record(
        "add", Join(path, "add"), layer, [&](const Tensor& b) { return b + shortcut; }, branch,
        nullptr, Elementwise("add", branch));
    // The block input feeds the branch and the shortcut: autograd sums their gradients.
    if (auto acc = Elementwise("add", input)) layers_.back().grad_accumulations.push_back(*acc);
    if (layer.activation != "none") {
      x = Record(
          layer.activation, Join(path, "activation"), layer,
          [&](const Tensor& in) { return block->Activate(in); }, x, nullptr,
          Elementwise(layer.activation, x));
    }
    return AnyModule(block);
  }

  AnyModule BuildConcat(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    Concat block;
    block->eval();
    const Tensor input = x;
    std::vector<Tensor> outputs;
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = 0; i < layer.layers.size(); ++i) {
      const std::string segment = Segment(layer.layers[i], i);
      Tensor branch = input;
      block->AppendBranch(segment, Build(layer.layers[i], Join(path, segment), branch));
      outputs.push_back(branch);
      shapes.push_back(AtBatchSize(branch));
    }
    const LayerConfig config = CatConfig(shapes, Context(layer, path));
    x = Record(
        "cat", Join(path, "cat"), layer, [&](const Tensor&) { return torch::cat(outputs, 1); },
        outputs.front(), nullptr, config);
    // The block input feeds every branch: autograd sums their gradients.
    if (auto acc = Elementwise("add", input)) {
      for (size_t i = 1; i < layer.layers.size(); ++i) {
        layers_.back().grad_accumulations.push_back(*acc);
      }
    }
    return AnyModule(block);
  }

  AnyModule BuildChannelShuffle(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    const LayerConfig config =
        ChannelShuffleConfig(AtBatchSize(x), layer.groups, Context(layer, path));
    ChannelShuffle shuffle(layer.groups);
    x = Record(
        "contiguous", path, layer, [&](const Tensor& in) { return shuffle->forward(in); }, x,
        nullptr, config);
    return AnyModule(shuffle);
  }

  // Runs the block as LibTorch modules; its layers are net/transformer_block.h's (shared with
  // net_shapes), whose parameter count must be the module's.
  AnyModule BuildTransformerEncoderLayer(const NetLayerSpec& layer, const std::string& path,
                                         Tensor& x) {
    const std::string context = Context(layer, path);
    TransformerEncoderLayerShape shape = TransformerEncoderLayerShapeOf(
        AtBatchSize(x), layer.nhead, layer.dim_feedforward, layer.p, layer.activation, context);
    shape.norm_first = layer.norm_first;
    TransformerEncoderLayer block(nullptr);
    try {  // an allocation that fails (a huge dim_feedforward) is an error of the file
      block = TransformerEncoderLayer(shape.d_model, layer.nhead, layer.dim_feedforward, layer.p,
                                      layer.activation, layer.eps, layer.norm_first);
      block->eval();
      x = block->forward(x);
    } catch (const c10::Error& e) {
      throw ConfigError(context + ": " + FirstLine(e.what_without_backtrace()));
    }
    int64_t parameters = 0;
    for (LayerInstance& li : TransformerEncoderLayerInstances(shape, path, layer.where, context)) {
      parameters += li.parameter_count;
      layers_.push_back(std::move(li));
    }
    if (parameters != ParameterCount(*block)) {
      throw std::logic_error(context + ": the block's layers count " + std::to_string(parameters) +
                             " parameters, its modules " + std::to_string(ParameterCount(*block)));
    }
    return AnyModule(block);
  }

  AnyModule BuildSqueezeExcitation(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    RequireRank(layer, path, x, 4, "(N, C, H, W)");
    const int64_t channels = x.size(1);
    SqueezeExcitation se(channels, layer.squeeze_channels, layer.activation,
                         layer.scale_activation);
    se->eval();
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
    const LayerConfig pool = AdaptiveAvgPoolConfig(AtBatchSize(x), 1);
    Tensor s = Record(
        "adaptive_avgpool2d", Join(path, "avgpool"), layer,
        [&](const Tensor& in) { return se->avgpool->forward(in); }, x, nullptr, pool);
    s = Record(
        "conv2d", Join(path, "fc1"), layer, [&](const Tensor& in) { return se->fc1->forward(in); },
        s, se->fc1.get(), conv1x1(channels, layer.squeeze_channels));
    s = Record(
        layer.activation, Join(path, "activation"), layer,
        [&](const Tensor& in) { return se->activation->forward(in); }, s, nullptr,
        Elementwise(layer.activation, s));
    s = Record(
        "conv2d", Join(path, "fc2"), layer, [&](const Tensor& in) { return se->fc2->forward(in); },
        s, se->fc2.get(), conv1x1(layer.squeeze_channels, channels));
    s = Record(
        layer.scale_activation, Join(path, "scale_activation"), layer,
        [&](const Tensor& in) { return se->scale_activation->forward(in); }, s, nullptr,
        Elementwise(layer.scale_activation, s));
    x = Record(
        "mul", Join(path, "mul"), layer, [&](const Tensor& in) { return s * in; }, x, nullptr,
        Elementwise("mul", x));
    // The block input feeds the avgpool and the product: autograd sums their gradients.
    // (x has the shape of the block input.)
    if (auto acc = Elementwise("add", x)) layers_.back().grad_accumulations.push_back(*acc);
    return AnyModule(se);
  }

  // conv2d / maxpool2d config of the layer on input x, checked with core Validate.
  LayerConfig SpatialConfig(const NetLayerSpec& layer, const std::string& path, const Tensor& x,
                            LayerType type) {
    LayerConfig c;
    c.type = type;
    c.batch_size = spec_.batch_size;
    c.in_channels = x.size(1);
    c.height = x.size(2);
    c.width = x.size(3);
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

  AnyModule BuildLeaf(const NetLayerSpec& layer, const std::string& path, Tensor& x) {
    namespace nn = torch::nn;
    const std::string& t = layer.type;
    AnyModule module;
    std::optional<LayerConfig> config;
    std::string note;
    int64_t kernel_elements = 0;
    std::string recorded = t;  // a mean over (H, W) is recorded as adaptive_avgpool2d
    try {
      if (!layer.layer_type) {  // flatten, a view
        const int64_t end = layer.end_dim < 0 ? x.dim() + layer.end_dim : layer.end_dim;
        if (layer.start_dim >= x.dim() || end >= x.dim() || end < layer.start_dim) {
          throw ConfigError(Context(layer, path) + ": start_dim " +
                            std::to_string(layer.start_dim) + " and end_dim " +
                            std::to_string(layer.end_dim) + " do not fit the input " +
                            ShapeToString(AtBatchSize(x)));
        }
        module = AnyModule(
            nn::Flatten(nn::FlattenOptions().start_dim(layer.start_dim).end_dim(layer.end_dim)));
      } else if (Describe(*layer.layer_type).role == LayerRole::kActivation) {
        module = AnyModule(Activation(t));
        config = Elementwise(t, x);
        if (!config) {
          note = "input " + ShapeToString(AtBatchSize(x)) + " has fewer than 2 dims";
        }
      } else {
        switch (*layer.layer_type) {
          case LayerType::kConv2d: {
            RequireRank(layer, path, x, 4, "(N, C, H, W)");
            config = SpatialConfig(layer, path, x, LayerType::kConv2d);
            module = AnyModule(nn::Conv2d(nn::Conv2dOptions(x.size(1), layer.out_channels,
                                                            {layer.kernel_size, layer.kernel_width})
                                              .stride(layer.stride)
                                              .padding({layer.padding, layer.padding_width})
                                              .groups(layer.groups)
                                              .bias(layer.bias)));
            break;
          }
          case LayerType::kMaxPool2d: {
            RequireRank(layer, path, x, 4, "(N, C, H, W)");
            config = SpatialConfig(layer, path, x, LayerType::kMaxPool2d);
            module = AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(layer.kernel_size)
                                                 .stride(layer.stride)
                                                 .padding(layer.padding)
                                                 .ceil_mode(layer.ceil_mode)));
            break;
          }
          case LayerType::kAvgPool2d: {
            RequireRank(layer, path, x, 4, "(N, C, H, W)");
            const int64_t padded_h = x.size(2) + 2 * layer.padding;
            const int64_t padded_w = x.size(3) + 2 * layer.padding;
            if (layer.kernel_size > padded_h || layer.kernel_size > padded_w) {
              throw ConfigError(Context(layer, path) + ": kernel_size " +
                                std::to_string(layer.kernel_size) +
                                " is larger than the padded input " + std::to_string(padded_h) +
                                "x" + std::to_string(padded_w));
            }
            kernel_elements = layer.kernel_size * layer.kernel_size;
            config = SpatialConfig(layer, path, x, LayerType::kAvgPool2d);
            module = AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(layer.kernel_size)
                                                 .stride(layer.stride)
                                                 .padding(layer.padding)
                                                 .ceil_mode(layer.ceil_mode)));
            break;
          }
          case LayerType::kAdaptiveAvgPool2d: {
            RequireRank(layer, path, x, 4, "(N, C, H, W)");
            if (layer.output_height == layer.output_width) {
              config = AdaptiveAvgPoolConfig(AtBatchSize(x), layer.output_height);
            } else {
              note = "output size " + std::to_string(layer.output_height) + "x" +
                     std::to_string(layer.output_width) + " is not square";
            }
            module = AnyModule(nn::AdaptiveAvgPool2d(
                nn::AdaptiveAvgPool2dOptions({layer.output_height, layer.output_width})));
            break;
          }
          case LayerType::kLinear: {  // over the last dim of (N, F) or (N, S, F)
            if (x.dim() != 2 && x.dim() != 3) {
              throw ConfigError(Context(layer, path) + ": " + LinearRankError(AtBatchSize(x)));
            }
            LayerConfig c;
            c.type = LayerType::kLinear;
            c.batch_size = spec_.batch_size * (x.dim() == 3 ? x.size(1) : 1);
            c.in_features = x.size(-1);
            c.out_features = layer.out_features;
            c.bias = layer.bias;
            Validate(c, Context(layer, path));
            config = c;
            module = AnyModule(
                nn::Linear(nn::LinearOptions(x.size(-1), layer.out_features).bias(layer.bias)));
            break;
          }
          case LayerType::kBatchNorm2d: {
            RequireRank(layer, path, x, 4, "(N, C, H, W)");
            config = Elementwise(t, x);
            module = AnyModule(nn::BatchNorm2d(
                nn::BatchNorm2dOptions(x.size(1)).eps(layer.eps).momentum(layer.momentum)));
            break;
          }
          case LayerType::kLayerNorm: {  // over F of (N, F) or (N, S, F), C of (N, C, H, W)
            if (x.dim() < 2 || x.dim() > 4) {
              throw ConfigError(Context(layer, path) + ": " + LayerNormRankError(AtBatchSize(x)));
            }
            config = x.dim() == 3 ? LayerNormConfig(AtBatchSize(x), 1) : Elementwise(t, x);
            module = AnyModule(ChannelLayerNorm(x.size(x.dim() == 4 ? 1 : -1), layer.eps));
            break;
          }
          case LayerType::kEmbedding: {  // the int64 token ids (N, S), checked in Build
            LayerConfig c;
            c.type = LayerType::kEmbedding;
            c.batch_size = spec_.batch_size;
            c.sequence_length = x.size(1);
            c.num_embeddings = layer.num_embeddings;
            c.embedding_dim = layer.embedding_dim;
            Validate(c, Context(layer, path));
            config = c;
            module = AnyModule(
                nn::Embedding(nn::EmbeddingOptions(layer.num_embeddings, layer.embedding_dim)));
            break;
          }
          case LayerType::kMean:
          case LayerType::kNorm:
          case LayerType::kSelect: {
            const std::string context = Context(layer, path);
            const LayerType type = *layer.layer_type;
            const ShapedLayer shaped =
                type == LayerType::kMean ? MeanLayerOf(AtBatchSize(x), layer.dims, context)
                : type == LayerType::kNorm
                    ? NormLayerOf(AtBatchSize(x), layer.dims, context)
                    : SelectLayerOf(AtBatchSize(x), layer.dims.at(0), layer.index, context);
            recorded = shaped.type;
            config = shaped.config;
            module = type == LayerType::kMean   ? AnyModule(Mean(layer.dims))
                     : type == LayerType::kNorm ? AnyModule(Norm(layer.dims))
                                                : AnyModule(Select(layer.dims.at(0), layer.index));
            break;
          }
          case LayerType::kBiasAdd: {  // b of one sample's shape, broadcast over the batch
            const std::vector<int64_t> shape = AtBatchSize(x);
            config = BiasAddLayerOf(shape, Context(layer, path)).config;
            module = AnyModule(BiasAdd(std::vector<int64_t>(shape.begin() + 1, shape.end())));
            break;
          }
          case LayerType::kDropout: {
            if (layer.p > 0) {  // p = 0 is the identity: no cost, no config
              config = Elementwise(t, x);
              if (!config) {
                note = "input " + ShapeToString(AtBatchSize(x)) + " has fewer than 2 dims";
              } else {
                config->p_percent = DropoutPercent(layer.p);
              }
            }
            module = AnyModule(nn::Dropout(nn::DropoutOptions(layer.p)));
            break;
          }
          default:  // add and mul (made by blocks), the training steps
            throw std::logic_error(Context(layer, path) + ": not a net.json leaf");
        }
      }
    } catch (const c10::Error& e) {
      throw ConfigError(Context(layer, path) + ": " + FirstLine(e.what_without_backtrace()));
    }
    module.ptr()->eval();
    x = Record(
        recorded, path, layer, [&](const Tensor& in) { return module.forward<Tensor>(in); }, x,
        module.ptr().get(), config, kernel_elements);
    if (!note.empty()) layers_.back().note = note;
    return module;
  }

  const NetSpec& spec_;
  std::vector<LayerInstance> layers_;
};

}  // namespace

BuiltNet BuildNet(const NetSpec& spec) {
  torch::NoGradGuard no_grad;
  Builder builder(spec);
  auto root = std::make_shared<NetModuleImpl>();
  std::vector<int64_t> shape = {1};
  for (int64_t d : spec.input.SampleShape()) shape.push_back(d);
  // Token ids: int64 zeros, valid for any vocabulary (the shapes do not depend on them).
  Tensor x = spec.input.IsTokenIds() ? torch::zeros(shape, torch::kLong) : torch::randn(shape);
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    const NetLayerSpec& layer = spec.layers[i];
    const std::string segment = layer.name.empty() ? std::to_string(i) : layer.name;
    root->Append(segment, builder.Build(layer, segment, x));
  }
  BuiltNet net;
  net.output_shape = ShapeOf(x);
  if (!net.output_shape.empty()) net.output_shape[0] = spec.batch_size;
  if (spec.num_classes &&
      (net.output_shape.size() != 2 || net.output_shape[1] != *spec.num_classes)) {
    throw ConfigError(At(spec.source, "output " + ShapeToString(net.output_shape) +
                                          " does not match num_classes " +
                                          std::to_string(*spec.num_classes)));
  }
  root->train();
  net.parameter_count = ParameterCount(*root);
  net.layers = builder.TakeLayers();
  MarkFirstTrainableLayer(net.layers);
  net.module = std::move(root);
  return net;
}

std::vector<LayerInstance> LayersFromNetSpec(const NetSpec& spec) { return BuildNet(spec).layers; }

}  // namespace lj
