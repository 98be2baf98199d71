#include "net/transformer_block.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "core/errors.h"
#include "core/json_reader.h"
#include "core/layer_config.h"

namespace lj {
namespace {

using Shape = std::vector<int64_t>;

class BlockLayers {
 public:
  BlockLayers(std::string path, std::string source)
      : path_(std::move(path)), source_(std::move(source)) {}

  // Appends one layer (MakeLayerInstance: a config that core Validate rejects is dropped with
  // its reason as the note).
  LayerInstance& Add(const std::string& type, const std::string& segment, Shape in, Shape out,
                     std::optional<LayerConfig> config, int64_t parameters = 0,
                     int64_t tensors = 0) {
    layers_.push_back(MakeLayerInstance(type, Join(path_, segment), source_, std::move(in),
                                        std::move(out), std::move(config), parameters, tensors));
    return layers_.back();
  }

  std::vector<LayerInstance> Take() { return std::move(layers_); }

 private:
  std::string path_;
  std::string source_;
  std::vector<LayerInstance> layers_;
};

LayerConfig Linear(int64_t rows, int64_t in, int64_t out) {
  LayerConfig c;
  c.type = LayerType::kLinear;
  c.batch_size = rows;
  c.in_features = in;
  c.out_features = out;
  c.bias = true;
  return c;
}

LayerConfig Bmm(int64_t batch, int64_t rows, int64_t inner, int64_t columns) {
  LayerConfig c;
  c.type = LayerType::kBmm;
  c.batch_size = batch;
  c.rows = rows;
  c.inner_size = inner;
  c.columns = columns;
  return c;
}

std::optional<LayerConfig> Dropout(const Shape& shape, double p) {
  std::optional<LayerConfig> c = ElementwiseConfig(LayerType::kDropout, shape);
  if (c) c->p_percent = DropoutPercent(p);
  return c;
}

}  // namespace

TransformerEncoderLayerShape TransformerEncoderLayerShapeOf(const std::vector<int64_t>& input,
                                                            int64_t nhead, int64_t dim_feedforward,
                                                            double dropout,
                                                            const std::string& activation,
                                                            const std::string& context) {
  if (input.size() != 3) {
    throw ConfigError(context + ": expects a 3-D input (N, S, D), got " + ShapeToString(input));
  }
  if (nhead <= 0 || input[2] % nhead != 0) {
    throw ConfigError(context + ": d_model " + std::to_string(input[2]) +
                      " is not divisible by nhead " + std::to_string(nhead));
  }
  TransformerEncoderLayerShape b;
  b.batch_size = input[0];
  b.sequence_length = input[1];
  b.d_model = input[2];
  b.nhead = nhead;
  b.dim_feedforward = dim_feedforward;
  b.dropout = dropout;
  b.activation = activation;
  return b;
}

std::vector<LayerInstance> TransformerEncoderLayerInstances(
    const TransformerEncoderLayerShape& block, const std::string& path, const std::string& source,
    const std::string& context) {
  const int64_t n = block.batch_size, s = block.sequence_length, d = block.d_model;
  const int64_t f = block.dim_feedforward;
  TransformerEncoderLayerShapeOf({n, s, d}, block.nhead, f, block.dropout, block.activation,
                                 context);
  const int64_t heads = n * block.nhead, head_dim = d / block.nhead;
  const bool dropout = block.dropout > 0;
  const Shape x{n, s, d}, sequence_first{s, n, d}, packed{s, n, 3 * d};
  const Shape per_head{heads, s, head_dim}, scores{heads, s, s};
  const Shape heads_first{s, heads, head_dim}, hidden{n, s, f};
  BlockLayers out(path, source);

  auto norm = [&](const char* name) {
    out.Add("layer_norm", name, x, x, LayerNormConfig(x, 1), 2 * d, 2);
  };
  if (block.norm_first) norm("norm1");
  // Multi-head attention on x viewed as (S, N, D) (batch_first: a transpose, free).
  out.Add("linear", "self_attn.in_proj", sequence_first, packed, Linear(n * s, d, 3 * d),
          3 * d * d + 3 * d, 2);
  // chunk(3, -1) gives three (S, N, D) views with the packed row stride 3 D; each is copied.
  LayerInstance* last_part = nullptr;
  for (const char* part : {"q", "k", "v"}) {
    last_part = &out.Add("contiguous", std::string("self_attn.contiguous_") + part, sequence_first,
                         sequence_first,
                         ContiguousConfig(sequence_first, sequence_first, {n * 3 * d, 3 * d, 1}));
  }
  // The chunk's backward pass: the three gradients concatenated into one of the packed shape
  // ((S, N, 3 D) as a cat along N: no more inputs than N, as net/torchscript_layers.cpp counts
  // a split's backward).
  if (auto cat = ElementwiseConfig(LayerType::kCat, packed)) {
    cat->inputs = std::min<int64_t>(3, cat->in_channels);
    if (IsValid(*cat)) last_part->grad_accumulations.push_back(*cat);
  }
  out.Add("scale", "self_attn.scale", per_head, per_head,
          ElementwiseConfig(LayerType::kScale, per_head));
  out.Add("bmm", "self_attn.bmm", per_head, scores, Bmm(heads, s, head_dim, s));
  out.Add("softmax", "self_attn.softmax", scores, scores,
          ElementwiseConfig(LayerType::kSoftmax, scores));
  if (dropout)
    out.Add("dropout", "self_attn.dropout", scores, scores, Dropout(scores, block.dropout));
  out.Add("bmm", "self_attn.bmm_values", scores, per_head, Bmm(heads, s, s, head_dim));
  // (N h, S, d) transposed to (S, N h, d) and copied, then viewed as (S N, D).
  out.Add("contiguous", "self_attn.contiguous_out", heads_first, heads_first,
          ContiguousConfig(heads_first, heads_first, {head_dim, s * head_dim, 1}));
  out.Add("linear", "self_attn.out_proj", {s * n, d}, {s * n, d}, Linear(s * n, d, d), d * d + d,
          2);

  const std::optional<LayerConfig> add = ElementwiseConfig(LayerType::kAdd, x);
  auto residual = [&](const char* dropout_name, const char* add_name) {
    if (dropout) out.Add("dropout", dropout_name, x, x, Dropout(x, block.dropout));
    // The sum's other operand also fed the sublayer: autograd sums the two gradients.
    LayerInstance& sum = out.Add("add", add_name, x, x, add);
    if (add) sum.grad_accumulations.push_back(*add);
  };
  residual("dropout1", "add1");
  norm(block.norm_first ? "norm2" : "norm1");
  // Feed-forward: linear1, activation, dropout, linear2 on (N, S, .).
  out.Add("linear", "linear1", x, hidden, Linear(n * s, d, f), d * f + f, 2);
  out.Add(block.activation, "activation", hidden, hidden,
          ElementwiseConfig(ParseLayerType(block.activation), hidden));
  if (dropout) out.Add("dropout", "dropout", hidden, hidden, Dropout(hidden, block.dropout));
  out.Add("linear", "linear2", hidden, x, Linear(n * s, f, d), f * d + d, 2);
  residual("dropout2", "add2");
  if (!block.norm_first) norm("norm2");
  return out.Take();
}

}  // namespace lj
