#pragma once
// Layer configs for tests (core/layer_config.h), built field by field. Square inputs; a test
// that needs another width sets it on the result. Not validated.
#include <cstdint>
#include <vector>

#include "core/layer_config.h"

namespace lj::test {

// An NCHW input of batch n, c channels, h x w: the element-wise types.
inline LayerConfig Nchw(LayerType type, int64_t n, int64_t c, int64_t h, int64_t w) {
  LayerConfig config;
  config.type = type;
  config.batch_size = n;
  config.in_channels = c;
  config.height = h;
  config.width = w;
  return config;
}

// The NCHW fields of a config, {batch_size, in_channels, height, width}: what Nchw sets, and how
// element-wise configs of other ranks lay out their elements (net/layer_instance.h).
inline std::vector<int64_t> NchwOf(const LayerConfig& config) {
  return {config.batch_size, config.in_channels, config.height, config.width};
}

inline LayerConfig Conv(int64_t n, int64_t c_in, int64_t c_out, int64_t hw, int64_t k,
                        int64_t stride, int64_t padding, int64_t groups = 1, bool bias = true) {
  LayerConfig c = Nchw(LayerType::kConv2d, n, c_in, hw, hw);
  c.out_channels = c_out;
  c.kernel_size = k;
  c.stride = stride;
  c.padding = padding;
  c.groups = groups;
  c.bias = bias;
  return c;
}

// maxpool2d or avgpool2d.
inline LayerConfig Pool(LayerType type, int64_t n, int64_t c, int64_t hw, int64_t k, int64_t stride,
                        int64_t padding) {
  LayerConfig config = Nchw(type, n, c, hw, hw);
  config.kernel_size = k;
  config.stride = stride;
  config.padding = padding;
  return config;
}

// bmm of input (b, rows, inner) and mat2 (b, inner, columns).
inline LayerConfig Bmm(int64_t b, int64_t rows, int64_t inner, int64_t columns) {
  LayerConfig c;
  c.type = LayerType::kBmm;
  c.batch_size = b;
  c.rows = rows;
  c.inner_size = inner;
  c.columns = columns;
  return c;
}

// embedding: nn.Embedding(vocabulary, dim) on ids (b, sequence_length).
inline LayerConfig Embedding(int64_t b, int64_t sequence_length, int64_t vocabulary, int64_t dim) {
  LayerConfig c;
  c.type = LayerType::kEmbedding;
  c.batch_size = b;
  c.sequence_length = sequence_length;
  c.num_embeddings = vocabulary;
  c.embedding_dim = dim;
  return c;
}

inline LayerConfig Linear(int64_t n, int64_t in, int64_t out, bool bias = true) {
  LayerConfig c;
  c.type = LayerType::kLinear;
  c.batch_size = n;
  c.in_features = in;
  c.out_features = out;
  c.bias = bias;
  return c;
}

inline LayerConfig Adaptive(int64_t n, int64_t c, int64_t hw, int64_t output_size) {
  LayerConfig config = Nchw(LayerType::kAdaptiveAvgPool2d, n, c, hw, hw);
  config.output_size = output_size;
  return config;
}

inline LayerConfig Dropout(int64_t n, int64_t c, int64_t hw, int64_t p_percent) {
  LayerConfig config = Nchw(LayerType::kDropout, n, c, hw, hw);
  config.p_percent = p_percent;
  return config;
}

inline LayerConfig CrossEntropy(int64_t n, int64_t classes) {
  LayerConfig config;
  config.type = LayerType::kCrossEntropy;
  config.batch_size = n;
  config.num_classes = classes;
  return config;
}

// sgd, adam, grad_accumulate or zero_grad over `parameters` elements in `tensors` tensors.
inline LayerConfig ParameterStep(LayerType type, int64_t parameters, int64_t tensors) {
  LayerConfig config;
  config.type = type;
  config.parameters = parameters;
  config.parameter_tensors = tensors;
  return config;
}

// Every layer type but conv2d, maxpool2d and linear, in enum order.
inline std::vector<LayerType> TypesBeyondConvPoolLinear() {
  std::vector<LayerType> out;
  for (LayerType t : AllLayerTypes()) {
    if (t != LayerType::kConv2d && t != LayerType::kMaxPool2d && t != LayerType::kLinear) {
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace lj::test
