#include "core/config_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include "core/cost_model.h"
#include "core/errors.h"
#include "core/json_reader.h"

namespace lj {
namespace {

// Uniform integer in [0, range) from raw 64-bit outputs, by rejection (unbiased, portable).
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t range) {
  const uint64_t threshold = (0 - range) % range;  // 2^64 mod range
  uint64_t r;
  do {
    r = rng();
  } while (r < threshold);
  return r % range;
}

// Uniform double in [0, 1) with 53 random bits.
double UniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

int64_t DrawValue(const ParameterBounds& p, std::mt19937_64& rng) {
  switch (p.distribution) {
    case Distribution::kChoices:
      return p.choices[UniformBelow(rng, p.choices.size())];
    case Distribution::kUniform:
      return p.min +
             static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(p.max - p.min) + 1));
    case Distribution::kLogUniform: {
      const double lo = std::log(static_cast<double>(p.min));
      const double hi = std::log(static_cast<double>(p.max) + 1.0);
      const double v = std::floor(std::exp(lo + UniformUnit(rng) * (hi - lo)));
      // exp(log(x)) may round just below x or above max + 1: clamp into [min, max].
      return std::min(p.max, std::max(p.min, static_cast<int64_t>(v)));
    }
  }
  return p.min;
}

// The multiple of `groups` nearest to `value` (ties down, at least `groups`), moved inside
// [p.min, p.max] if possible. The caller checks p.Admits() on the result.
int64_t NearestMultiple(int64_t value, int64_t groups, const ParameterBounds& p) {
  const int64_t below = (value / groups) * groups;
  const int64_t above = below + groups;
  int64_t m = (below >= groups && value - below <= above - value) ? below : above;
  if (m > p.max) m = (p.max / groups) * groups;
  if (m < p.min) m = ((p.min + groups - 1) / groups) * groups;
  return m;
}

// A conv2d draw made depthwise (groups = out_channels = in_channels), or with groups > 1 its
// channel counts moved to the nearest multiples of groups within their bounds.
void ApplyGrouping(LayerConfig& c, const LayerBounds& bounds, bool depthwise) {
  if (depthwise) {
    c.groups = c.out_channels = c.in_channels;
  } else if (c.groups > 1) {
    c.in_channels = NearestMultiple(c.in_channels, c.groups, bounds.Get("in_channels"));
    c.out_channels = NearestMultiple(c.out_channels, c.groups, bounds.Get("out_channels"));
  }
}

// The parameters a near draw perturbs; every other parameter keeps the anchor's value.
bool IsSizeParameter(const std::string& name) {
  return name == "batch_size" || name == "channels" || name == "in_channels" ||
         name == "out_channels" || name == "in_features" || name == "out_features" ||
         name == "num_features" || name == "image_size" || name == "num_classes" ||
         name == "parameters" || name == "parameter_tensors";
}

// Standard normal from two uniforms (Box-Muller), portable across standard libraries.
double StandardNormal(std::mt19937_64& rng) {
  const double u1 = 1.0 - UniformUnit(rng);  // (0, 1]
  const double u2 = UniformUnit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

// A perturbed copy of an anchor (see the header).
LayerConfig NearDraw(const LayerBounds& bounds, const NearAnchor& anchor, double sigma,
                     std::mt19937_64& rng) {
  LayerConfig c = anchor.config;
  const bool depthwise = c.type == LayerType::kConv2d && c.groups > 1 &&
                         c.groups == c.in_channels && c.out_channels == c.in_channels;
  for (const ParameterBounds& p : bounds.parameters) {
    const double z = StandardNormal(rng);  // drawn for every parameter: a fixed stream shape
    if (!IsSizeParameter(p.name)) continue;
    const double v = static_cast<double>(BoundsParameterValue(c, p.name));
    int64_t x = static_cast<int64_t>(std::llround(v * std::exp(sigma * z)));
    if (p.distribution == Distribution::kChoices) {
      int64_t best = p.choices.front();
      for (int64_t choice : p.choices) {
        if (std::llabs(choice - x) < std::llabs(best - x)) best = choice;
      }
      x = best;
    }
    ApplyBoundsParameter(c, p.name, std::min(p.max, std::max(p.min, x)));
  }
  if (c.type == LayerType::kConv2d) ApplyGrouping(c, bounds, depthwise);
  return c;
}

std::string FormatNumber(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace

uint64_t SplitMix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

ConfigSampler::ConfigSampler(const LayerBounds& bounds, uint64_t seed, SamplingCaps caps,
                             NearOptions near)
    : bounds_(bounds), seed_(seed), caps_(caps), near_(std::move(near)) {
  if (!(near_.near_share >= 0 && near_.near_share <= 1)) {
    throw ConfigError("near share must be in [0, 1], got " + FormatNumber(near_.near_share));
  }
  if (!(near_.sigma >= 0)) {
    throw ConfigError("near sigma must be >= 0, got " + FormatNumber(near_.sigma));
  }
  for (const NearAnchor& a : near_.anchors) {
    if (a.config.type != bounds_.type) {
      throw ConfigError(a.network + ": layer " + a.path + " is a " +
                        std::string(ToString(a.config.type)) + ", not a " +
                        std::string(ToString(bounds_.type)));
    }
  }
  // !(x > 0) also catches NaN.
  if (!(caps_.max_forward_macs > 0)) {
    throw ConfigError(At(bounds_.source, "MAC cap max_forward_macs must be > 0, got " +
                                             FormatNumber(caps_.max_forward_macs)));
  }
  if (!(caps_.max_memory_bytes > 0)) {
    throw ConfigError("memory cap max_memory_bytes must be > 0, got " +
                      FormatNumber(caps_.max_memory_bytes));
  }
}

SampledConfig ConfigSampler::Sample(int64_t index) const {
  if (index < 0) {
    throw ConfigError("sample index must be >= 0, got " + std::to_string(index));
  }
  std::mt19937_64 rng(SplitMix64(SplitMix64(seed_) ^ static_cast<uint64_t>(index)));
  SampledConfig out;
  out.index = index;
  for (int64_t draw = 0; draw < kMaxDraws; ++draw) {
    LayerConfig c;
    c.type = bounds_.type;
    out.anchor = -1;
    if (!near_.anchors.empty() && UniformUnit(rng) < near_.near_share) {
      out.anchor = static_cast<int64_t>(UniformBelow(rng, near_.anchors.size()));
      c = NearDraw(bounds_, near_.anchors[static_cast<size_t>(out.anchor)], near_.sigma, rng);
    } else {
      for (const ParameterBounds& p : bounds_.parameters) {
        ApplyBoundsParameter(c, p.name, DrawValue(p, rng));
      }
    }
    if (c.type == LayerType::kConv2d && out.anchor < 0) {
      ApplyGrouping(c, bounds_, UniformUnit(rng) < bounds_.depthwise_probability);
    }
    if (!IsValid(c) || !WithinBounds(bounds_, c)) {
      ++out.rejected_impossible_geometry;
      continue;
    }
    const double macs = ForwardMacs(c);
    if (macs > caps_.max_forward_macs) {
      ++out.rejected_over_mac_cap;
      continue;
    }
    const double bytes = EstimateTrainingMemoryBytes(c);
    if (bytes > caps_.max_memory_bytes) {
      ++out.rejected_over_memory_cap;
      continue;
    }
    out.config = c;
    out.forward_macs = macs;
    out.training_memory_bytes = bytes;
    return out;
  }
  throw ConfigError(
      At(bounds_.source, "no valid " + std::string(ToString(bounds_.type)) + " config in " +
                             std::to_string(kMaxDraws) + " draws (seed " + std::to_string(seed_) +
                             ", index " + std::to_string(index) +
                             "): " + std::to_string(out.rejected_impossible_geometry) +
                             " impossible geometry, " + std::to_string(out.rejected_over_mac_cap) +
                             " over the MAC cap " + FormatNumber(caps_.max_forward_macs) + ", " +
                             std::to_string(out.rejected_over_memory_cap) +
                             " over the memory cap " + FormatNumber(caps_.max_memory_bytes) +
                             " bytes; the bounds and caps admit (almost) no config"));
}

}  // namespace lj
