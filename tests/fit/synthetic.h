#pragma once
// Synthetic layer configs and targets for the fit tests and benchmark: random valid configs in
// bounds like the Raptor Lake data set, and a target with a fixed overhead plus a cost per MAC
// and per element moved (the shape measured layer times have), with multiplicative noise.
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/layer_config.h"
#include "fit/model_fit.h"

namespace lj::testing {

inline LayerConfig RandomConfig(LayerType type, std::mt19937_64& rng) {
  const auto uniform = [&rng](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  LayerConfig c;
  c.type = type;
  c.batch_size = uniform(1, 64);
  switch (type) {
    case LayerType::kConv2d:
      c.in_channels = uniform(1, 16);
      c.out_channels = uniform(1, 64);
      c.kernel_size = uniform(1, 7);
      c.height = c.width = uniform(c.kernel_size, 64);
      c.stride = uniform(1, 3);
      c.padding = uniform(0, c.kernel_size / 2);
      break;
    case LayerType::kMaxPool2d:
      c.in_channels = uniform(1, 32);
      c.kernel_size = uniform(2, 5);
      c.height = c.width = uniform(c.kernel_size, 64);
      c.stride = uniform(1, 3);
      break;
    case LayerType::kLinear:
      c.in_features = uniform(1, 512);
      c.out_features = uniform(1, 512);
      break;
    default:
      throw std::invalid_argument("RandomConfig: only conv2d, maxpool2d and linear");
  }
  return c;
}

// Seconds: 20 us + 0.05 ns per MAC + 0.5 ns per input/output element, times (1 + noise * N(0,1)).
inline double SyntheticTimeS(const LayerConfig& c, double noise, std::mt19937_64& rng) {
  const TensorSizes s = Sizes(c);
  const double t = 2e-5 + 5e-11 * ForwardMacs(c) + 5e-10 * (s.input_elements + s.output_elements);
  return t * (1.0 + noise * std::normal_distribution<double>(0.0, 1.0)(rng));
}

inline std::vector<TrainingRow> SyntheticRows(LayerType type, int n, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<TrainingRow> rows;
  for (int i = 0; i < n; ++i) {
    const LayerConfig c = RandomConfig(type, rng);
    rows.push_back({c, SyntheticTimeS(c, noise, rng)});
  }
  return rows;
}

}  // namespace lj::testing
