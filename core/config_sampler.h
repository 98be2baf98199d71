#pragma once
// Seeded random layer configs within a bounds file (core/bounds.h), for `measure`'s random runs.
//
// Sample(index) is a pure function of (bounds, seed, caps, index): config i of a run is the same
// whatever was sampled before, so a resumed run continues the same stream. The generator of
// index i is std::mt19937_64 seeded with SplitMix64(SplitMix64(seed) ^ i) (a bijection of i for a
// given seed, so two indices never share a generator). Integers are drawn from the raw 64-bit
// output by rejection (not std::uniform_int_distribution, whose algorithm differs between
// standard libraries), so streams are the same with libstdc++ and libc++.
//
// One draw: each parameter in bounds order (BoundsParameterNames), then for conv2d one uniform
// number u in [0, 1):
//   uniform      integer uniform in [min, max]
//   log_uniform  floor(exp(U(log(min), log(max + 1)))), clamped to max: every integer in
//                [min, max] is reachable, v with probability log((v+1)/v) / log((max+1)/min)
//   choices      one of the choices, equal chance
// conv2d: if u < depthwise_probability the draw is depthwise: groups = out_channels =
// in_channels. Otherwise with groups g > 1, in_channels and out_channels are moved to the
// nearest multiple of g within their [min, max] (ties go down; e.g. g = 4: 1..5 -> 4, 6 -> 4,
// 7 -> 8) so that grouped convs are not rejected three times out of four.
// A draw is rejected, counted by reason, and redrawn until it passes, in this order:
//   impossible_geometry  Validate fails (kernel > padded image, pooling padding > k/2, groups
//                        not dividing channels, batchnorm2d with batch_size*height*width = 1,
//                        sgd/adam with parameter_tensors > parameters) or the adjusted config
//                        left the bounds
//   over_mac_cap         ForwardMacs(config) > caps.max_forward_macs
//   over_memory_cap      EstimateTrainingMemoryBytes(config) > caps.max_memory_bytes
// Every returned config passes Validate, WithinBounds and both caps.
//
// Sampling near real networks (issue 10 § 4; `measure --near NET.json`): with anchors, every
// draw first takes one uniform number u; if u < near_share it starts from an anchor (a layer
// of a real network at the batch size it is trained with, chosen with equal chance) instead of
// the bounds: the size parameters (batch_size, channel and feature counts, image_size,
// num_classes, parameters and parameter_tensors) are each multiplied by exp(sigma * z),
// z ~ N(0, 1) (Box-Muller), rounded and clamped into their bounds; the structure (kernel_size,
// stride, padding, output_size, p_percent, bias) stays the anchor's; a depthwise anchor stays
// depthwise (groups = out_channels = in_channels), a grouped one keeps its groups with channels
// moved to multiples of them. Otherwise (u >= near_share) the draw is the uniform one above. The
// same rejection rules apply. Without anchors no u is drawn, so those streams are as before.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/bounds.h"
#include "core/layer_config.h"

namespace lj {

struct SamplingCaps {
  // Usually LayerBounds::max_forward_macs (from the bounds file).
  double max_forward_macs = std::numeric_limits<double>::infinity();
  // Bytes, estimated by EstimateTrainingMemoryBytes (core/cost_model.h); usually from the CLI.
  double max_memory_bytes = std::numeric_limits<double>::infinity();
};

// A layer of a real network to sample near: its config at the network's batch size.
struct NearAnchor {
  std::string network;  // net.json "name"
  std::string path;     // the layer's path in the network ("layer1.0.conv1")
  LayerConfig config;
};

struct NearOptions {
  std::vector<NearAnchor> anchors;  // empty: plain sampling
  double near_share = 0.7;          // in [0, 1]
  double sigma = 0.35;              // log-normal spread of the size parameters
};

struct SampledConfig {
  LayerConfig config;
  int64_t index = 0;
  double forward_macs = 0;           // ForwardMacs(config)
  double training_memory_bytes = 0;  // EstimateTrainingMemoryBytes(config)
  // Draws rejected before this one was accepted, by reason (see the header comment).
  int64_t rejected_impossible_geometry = 0;
  int64_t rejected_over_mac_cap = 0;
  int64_t rejected_over_memory_cap = 0;
  int64_t anchor = -1;  // index into NearOptions::anchors of a near draw; -1 for a uniform one

  int64_t rejected_total() const {
    return rejected_impossible_geometry + rejected_over_mac_cap + rejected_over_memory_cap;
  }
};

class ConfigSampler {
 public:
  // Draws per Sample() before giving up.
  static constexpr int64_t kMaxDraws = 10000;

  // Throws ConfigError when a cap is NaN or <= 0, near_share is outside [0, 1], sigma < 0, or
  // an anchor is not of the bounds' layer type.
  ConfigSampler(const LayerBounds& bounds, uint64_t seed, SamplingCaps caps, NearOptions near = {});

  // The config at `index` (>= 0) of this seed's stream.
  // Throws ConfigError when index < 0, or when kMaxDraws draws in a row are rejected; the
  // message names the bounds source, seed, index, the rejection counts and the caps, and says
  // that the bounds and caps admit (almost) no config.
  SampledConfig Sample(int64_t index) const;

  const LayerBounds& bounds() const { return bounds_; }
  uint64_t seed() const { return seed_; }
  const SamplingCaps& caps() const { return caps_; }
  const NearOptions& near() const { return near_; }

 private:
  LayerBounds bounds_;
  uint64_t seed_;
  SamplingCaps caps_;
  NearOptions near_;
};

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix.
uint64_t SplitMix64(uint64_t x);

}  // namespace lj
