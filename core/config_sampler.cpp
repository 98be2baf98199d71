#include "core/config_sampler.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>

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

ConfigSampler::ConfigSampler(const LayerBounds& bounds, uint64_t seed, SamplingCaps caps)
    : bounds_(bounds), seed_(seed), caps_(caps) {
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
    for (const ParameterBounds& p : bounds_.parameters) {
      ApplyBoundsParameter(c, p.name, DrawValue(p, rng));
    }
    if (c.type == LayerType::kConv2d) {
      const double u = UniformUnit(rng);
      if (u < bounds_.depthwise_probability) {
        c.groups = c.in_channels;
        c.out_channels = c.in_channels;
      } else if (c.groups > 1) {
        c.in_channels = NearestMultiple(c.in_channels, c.groups, bounds_.Get("in_channels"));
        c.out_channels = NearestMultiple(c.out_channels, c.groups, bounds_.Get("out_channels"));
      }
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
