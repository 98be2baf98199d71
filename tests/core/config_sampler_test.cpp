#include "core/config_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/cost_model.h"
#include "core/errors.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

using nlohmann::json;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

LayerBounds Shipped(LayerType type) {
  return LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(type));
}

SamplingCaps Caps(const LayerBounds& b, double max_memory_bytes) {
  SamplingCaps caps;
  caps.max_forward_macs = b.max_forward_macs;
  caps.max_memory_bytes = max_memory_bytes;
  return caps;
}

// A linear layer with one log-uniform or uniform parameter under test, the others fixed.
LayerBounds LinearBounds(const json& batch_size, double max_forward_macs = 1e12) {
  json doc = {{"layer", "linear"},
              {"max_forward_macs", max_forward_macs},
              {"parameters",
               {{"batch_size", batch_size},
                {"in_features", {{"choices", {8}}}},
                {"out_features", {{"choices", {8}}}}}}};
  return ParseBounds(doc, "test");
}

LayerBounds ConvBounds(const std::function<void(json&)>& edit) {
  json doc = json::parse(R"({
    "layer": "conv2d", "max_forward_macs": 1e12,
    "parameters": {
      "batch_size": {"min": 1, "max": 4}, "in_channels": {"min": 1, "max": 64},
      "out_channels": {"min": 1, "max": 64}, "image_size": {"min": 4, "max": 16},
      "kernel_size": {"min": 1, "max": 5}, "stride": {"min": 1, "max": 2},
      "padding": {"min": 0, "max": 2}}})");
  edit(doc);
  return ParseBounds(doc, "test");
}

// SplitMix64 reference outputs (Vigna's splitmix64.c with state 0: first two next() values).
TEST(ConfigSamplerTest, SplitMix64MatchesReference) {
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64(0x9e3779b97f4a7c15ULL), 0x6e789e6aa1b965f4ULL);
}

TEST(ConfigSamplerTest, TenThousandDrawsStayWithinBoundsAndCaps) {
  for (LayerType type : AllLayerTypes()) {
    const LayerBounds b = Shipped(type);
    SCOPED_TRACE(b.source);
    const SamplingCaps caps = Caps(b, 2 * kGiB);
    const ConfigSampler sampler(b, 20240601, caps);
    int64_t rejected = 0;
    std::set<int64_t> batch_sizes;
    for (int64_t i = 0; i < 10000; ++i) {
      const SampledConfig s = sampler.Sample(i);
      ASSERT_EQ(s.index, i);
      ASSERT_EQ(s.config.type, type);
      std::string reason;
      ASSERT_TRUE(IsValid(s.config, &reason)) << reason << " " << ToJson(s.config);
      ASSERT_TRUE(WithinBounds(b, s.config, &reason)) << reason << " " << ToJson(s.config);
      ASSERT_LE(ForwardMacs(s.config), caps.max_forward_macs) << ToJson(s.config);
      ASSERT_LE(EstimateTrainingMemoryBytes(s.config), caps.max_memory_bytes);
      ASSERT_DOUBLE_EQ(s.forward_macs, ForwardMacs(s.config));
      ASSERT_DOUBLE_EQ(s.training_memory_bytes, EstimateTrainingMemoryBytes(s.config));
      rejected += s.rejected_total();
      batch_sizes.insert(s.config.batch_size);
    }
    // Most draws are accepted.
    EXPECT_LT(rejected, 10000);
    // The caps of the original three types bite (their space is larger than a night); the
    // other types are tested in tests/core/new_layer_types_test.cpp.
    if (type == LayerType::kConv2d || type == LayerType::kMaxPool2d || type == LayerType::kLinear) {
      EXPECT_GT(rejected, 0);
    }
    // Log-uniform over 1..512 spreads widely (sgd/adam have no batch).
    if (!IsOptimizerStep(type)) {
      EXPECT_GT(batch_sizes.size(), 100u);
    }
  }
}

TEST(ConfigSamplerTest, SameSeedAndIndexGiveTheSameConfigWhateverCameBefore) {
  const LayerBounds b = Shipped(LayerType::kConv2d);
  const ConfigSampler a(b, 7, Caps(b, 4 * kGiB));
  const ConfigSampler c(b, 7, Caps(b, 4 * kGiB));
  std::vector<SampledConfig> forward;
  for (int64_t i = 0; i < 200; ++i) forward.push_back(a.Sample(i));
  for (int64_t i = 199; i >= 0; --i) {  // another sampler, reverse order, as after a resume
    const SampledConfig s = c.Sample(i);
    EXPECT_EQ(s.config, forward[i].config) << i;
    EXPECT_EQ(s.rejected_total(), forward[i].rejected_total()) << i;
  }
  EXPECT_EQ(a.Sample(123).config, forward[123].config);  // repeated calls agree too
}

TEST(ConfigSamplerTest, DifferentSeedsAndIndicesDiffer) {
  const LayerBounds b = Shipped(LayerType::kConv2d);
  const ConfigSampler one(b, 1, Caps(b, 4 * kGiB));
  const ConfigSampler two(b, 2, Caps(b, 4 * kGiB));
  int same_across_seeds = 0;
  int same_as_next_index = 0;
  for (int64_t i = 0; i < 200; ++i) {
    same_across_seeds += one.Sample(i).config == two.Sample(i).config;
    same_as_next_index += one.Sample(i).config == one.Sample(i + 1).config;
  }
  EXPECT_LE(same_across_seeds, 2);
  EXPECT_LE(same_as_next_index, 2);
}

TEST(ConfigSamplerTest, LogUniformReachesBothEndsWithLogDensity) {
  const ConfigSampler sampler(
      LinearBounds({{"min", 1}, {"max", 512}, {"distribution", "log_uniform"}}), 3, {});
  std::map<int64_t, int> counts;
  const int n = 20000;
  for (int64_t i = 0; i < n; ++i) ++counts[sampler.Sample(i).config.batch_size];
  EXPECT_EQ(counts.begin()->first, 1);
  EXPECT_EQ(counts.rbegin()->first, 512);
  // P(v) = log((v+1)/v) / log(513): P(1) = 0.111, P(512) = 0.000305 (about 6 of 20000).
  const double p1 = std::log(2.0) / std::log(513.0);
  EXPECT_NEAR(counts[1] / double(n), p1, 0.01);
  int at_least_256 = 0;
  for (const auto& [v, k] : counts) at_least_256 += v >= 256 ? k : 0;
  EXPECT_NEAR(at_least_256 / double(n), std::log(513.0 / 256.0) / std::log(513.0), 0.01);

  // A narrow range: every integer is reachable, the top one included.
  const ConfigSampler narrow(
      LinearBounds({{"min", 3}, {"max", 5}, {"distribution", "log_uniform"}}), 3, {});
  std::map<int64_t, int> small;
  for (int64_t i = 0; i < 3000; ++i) ++small[narrow.Sample(i).config.batch_size];
  ASSERT_EQ(small.size(), 3u);
  EXPECT_NEAR(small[5] / 3000.0, std::log(6.0 / 5.0) / std::log(2.0), 0.03);
}

TEST(ConfigSamplerTest, UniformAndChoicesCoverTheirValues) {
  const ConfigSampler uniform(LinearBounds({{"min", 10}, {"max", 14}}), 5, {});
  std::map<int64_t, int> counts;
  for (int64_t i = 0; i < 5000; ++i) ++counts[uniform.Sample(i).config.batch_size];
  ASSERT_EQ(counts.size(), 5u);
  EXPECT_EQ(counts.begin()->first, 10);
  EXPECT_EQ(counts.rbegin()->first, 14);
  for (const auto& [v, k] : counts) EXPECT_NEAR(k / 5000.0, 0.2, 0.03) << v;

  const ConfigSampler choices(LinearBounds({{"choices", {3, 7, 100}}}), 5, {});
  std::map<int64_t, int> picked;
  for (int64_t i = 0; i < 3000; ++i) ++picked[choices.Sample(i).config.batch_size];
  EXPECT_EQ(picked.size(), 3u);
  for (const auto& [v, k] : picked) EXPECT_NEAR(k / 3000.0, 1.0 / 3, 0.04) << v;
}

TEST(ConfigSamplerTest, CountsRejectionsByReason) {
  // Images of 4 pixels, no padding, kernels up to 5: kernel 5 never fits.
  const LayerBounds geometry = ConvBounds([](json& d) {
    d["parameters"]["image_size"] = {{"min", 4}, {"max", 4}};
    d["parameters"]["padding"] = {{"min", 0}, {"max", 0}};
  });
  const ConfigSampler g(geometry, 11, {});
  int64_t impossible = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const SampledConfig s = g.Sample(i);
    EXPECT_LE(s.config.kernel_size, 4);
    EXPECT_EQ(s.rejected_over_mac_cap + s.rejected_over_memory_cap, 0);
    impossible += s.rejected_impossible_geometry;
  }
  EXPECT_GT(impossible, 20);  // about 1 in 5 draws has kernel 5

  LayerBounds macs = ConvBounds([](json&) {});
  SamplingCaps mac_cap;
  mac_cap.max_forward_macs = 1e5;
  const ConfigSampler m(macs, 11, mac_cap);
  int64_t over_macs = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const SampledConfig s = m.Sample(i);
    EXPECT_LE(ForwardMacs(s.config), 1e5);
    over_macs += s.rejected_over_mac_cap;
  }
  EXPECT_GT(over_macs, 0);

  SamplingCaps memory_cap;
  memory_cap.max_memory_bytes = 64 * 1024;
  const ConfigSampler mem(macs, 11, memory_cap);
  int64_t over_memory = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const SampledConfig s = mem.Sample(i);
    EXPECT_LE(EstimateTrainingMemoryBytes(s.config), 64 * 1024);
    over_memory += s.rejected_over_memory_cap;
  }
  EXPECT_GT(over_memory, 0);
}

TEST(ConfigSamplerTest, GroupsAndDepthwise) {
  // groups 4: channels are moved to multiples of 4 instead of being rejected.
  const LayerBounds grouped = ConvBounds([](json& d) {
    d["parameters"]["groups"] = {{"choices", {4}}};
  });
  const ConfigSampler g(grouped, 5, {});
  int64_t impossible = 0;
  std::set<int64_t> in_channels;
  for (int64_t i = 0; i < 2000; ++i) {
    const SampledConfig s = g.Sample(i);
    EXPECT_EQ(s.config.groups, 4);
    EXPECT_EQ(s.config.in_channels % 4, 0);
    EXPECT_EQ(s.config.out_channels % 4, 0);
    in_channels.insert(s.config.in_channels);
    impossible += s.rejected_impossible_geometry;
  }
  EXPECT_EQ(*in_channels.begin(), 4);
  EXPECT_EQ(*in_channels.rbegin(), 64);
  EXPECT_EQ(in_channels.size(), 16u);  // every multiple of 4 in [4, 64]
  // Only kernel-vs-image rejections remain (kernel 5 on a 4-pixel image without padding).
  EXPECT_LT(impossible, 2000 / 10);

  // depthwise_probability 0.3: about 30% of configs are depthwise.
  const LayerBounds dw = ConvBounds([](json& d) {
    d["parameters"]["groups"] = {{"choices", {1}}, {"depthwise_probability", 0.3}};
  });
  const ConfigSampler d(dw, 5, {});
  int depthwise = 0;
  const int n = 4000;
  for (int64_t i = 0; i < n; ++i) {
    const LayerConfig c = d.Sample(i).config;
    if (c.groups > 1) {  // groups is 1 unless the draw is depthwise
      EXPECT_EQ(c.groups, c.in_channels);
      EXPECT_EQ(c.out_channels, c.in_channels);
    }
    // Counts also the rare plain draw with in = out = 1 (P = 1/64^2).
    depthwise += c.groups == c.in_channels && c.out_channels == c.in_channels;
  }
  EXPECT_NEAR(depthwise / double(n), 0.3, 0.03);
}

TEST(ConfigSamplerTest, ThrowsWhenNothingFitsTheCaps) {
  SamplingCaps caps;
  caps.max_forward_macs = 10;  // every linear 8 -> 8 layer has >= 64 MACs
  const ConfigSampler sampler(LinearBounds({{"min", 1}, {"max", 4}}), 9, caps);
  try {
    sampler.Sample(3);
    ADD_FAILURE() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("test: no valid linear config in 10000 draws (seed 9, index 3): 0 "
                        "impossible geometry, 10000 over the MAC cap 10"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("admit (almost) no config"), std::string::npos) << what;
  }
}

TEST(ConfigSamplerTest, RejectsBadCapsAndIndices) {
  const LayerBounds b = LinearBounds({{"min", 1}, {"max", 4}});
  SamplingCaps zero_memory;
  zero_memory.max_memory_bytes = 0;
  EXPECT_THROW(ConfigSampler(b, 1, zero_memory), ConfigError);
  SamplingCaps nan_macs;
  nan_macs.max_forward_macs = std::nan("");
  EXPECT_THROW(ConfigSampler(b, 1, nan_macs), ConfigError);
  const ConfigSampler ok(b, 1, {});
  EXPECT_THROW(ok.Sample(-1), ConfigError);
}

// Sampling near real-network layers (issue 10 § 4): with near_share 1 every config starts from
// an anchor, keeps its structure (kernel, stride, padding, depthwise), has sizes within the
// log-normal spread of the anchor's (batch size included), stays in bounds, and is a pure
// function of the index.
TEST(ConfigSamplerTest, NearDrawsPerturbSizesOfAnchorsAndKeepTheirStructure) {
  const LayerBounds b = Shipped(LayerType::kConv2d);
  LayerConfig dense;
  dense.type = LayerType::kConv2d;
  dense.batch_size = 16;
  dense.in_channels = 64;
  dense.out_channels = 128;
  dense.height = dense.width = 28;
  dense.kernel_size = 3;
  dense.stride = 2;
  dense.padding = 1;
  LayerConfig dw = dense;
  dw.in_channels = dw.out_channels = dw.groups = 96;
  dw.stride = 1;
  dw.kernel_size = 5;
  dw.padding = 2;
  NearOptions near;
  near.anchors = {{"netA", "features.3", dense}, {"netB", "block.1", dw}};
  near.near_share = 1.0;
  const ConfigSampler sampler(b, 5, Caps(b, 4 * kGiB), near);
  int from_dense = 0, from_dw = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const SampledConfig s = sampler.Sample(i);
    ASSERT_GE(s.anchor, 0);
    EXPECT_TRUE(WithinBounds(b, s.config)) << ToJson(s.config).dump();
    const LayerConfig& a = near.anchors[static_cast<size_t>(s.anchor)].config;
    EXPECT_EQ(s.config.kernel_size, a.kernel_size);
    EXPECT_EQ(s.config.stride, a.stride);
    EXPECT_EQ(s.config.padding, a.padding);
    // Within 5 sigma (sigma 0.35: a factor 5.75) of the anchor, or at a bound.
    for (const auto& [got, want] :
         {std::pair<int64_t, int64_t>{s.config.out_channels, a.out_channels},
          {s.config.batch_size, a.batch_size},
          {s.config.height, a.height}}) {
      EXPECT_LT(std::abs(std::log(static_cast<double>(got) / want)), 5 * 0.35 + 0.1)
          << ToJson(s.config).dump();
    }
    if (s.anchor == 1) {
      ++from_dw;
      EXPECT_EQ(s.config.groups, s.config.in_channels);
      EXPECT_EQ(s.config.out_channels, s.config.in_channels);
    } else {
      ++from_dense;
      EXPECT_EQ(s.config.groups, 1);
    }
    EXPECT_EQ(sampler.Sample(i).config, s.config) << "config i depends only on (seed, i)";
  }
  EXPECT_GT(from_dense, 50);
  EXPECT_GT(from_dw, 50);
  // The mixed default: some uniform draws (anchor -1) among the near ones.
  NearOptions mixed = near;
  mixed.near_share = 0.5;
  const ConfigSampler half(b, 5, Caps(b, 4 * kGiB), mixed);
  int uniform = 0;
  for (int64_t i = 0; i < 200; ++i) uniform += half.Sample(i).anchor < 0;
  EXPECT_GT(uniform, 60);
  EXPECT_LT(uniform, 140);
  // Without anchors the stream is the plain one.
  const ConfigSampler plain(b, 5, Caps(b, 4 * kGiB));
  const ConfigSampler none(b, 5, Caps(b, 4 * kGiB), NearOptions{});
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(plain.Sample(i).config, none.Sample(i).config);
}

TEST(ConfigSamplerTest, NearOptionsAreChecked) {
  const LayerBounds b = Shipped(LayerType::kConv2d);
  LayerConfig lin;
  lin.type = LayerType::kLinear;
  lin.in_features = lin.out_features = 8;
  NearOptions wrong;
  wrong.anchors = {{"netA", "fc", lin}};
  EXPECT_THROW(ConfigSampler(b, 1, Caps(b, kGiB), wrong), ConfigError);
  NearOptions share;
  share.near_share = 1.5;
  EXPECT_THROW(ConfigSampler(b, 1, Caps(b, kGiB), share), ConfigError);
}

}  // namespace
}  // namespace lj
