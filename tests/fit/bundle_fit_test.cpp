#include "fit/bundle_fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "layerjoule/version.h"
#include "tests/fit/synthetic.h"

namespace lj {
namespace {

std::vector<PassSample> Samples(LayerType type, int n, bool energy, uint64_t seed) {
  std::vector<PassSample> out;
  for (const auto& r : testing::SyntheticRows(type, n, 0.05, seed)) {
    for (const Pass pass : {Pass::kForward, Pass::kBackward}) {
      PassSample s;
      s.config = r.config;
      s.pass = pass;
      s.time_s = r.value * (pass == Pass::kBackward ? 2.0 : 1.0);
      if (energy) s.energy_j = s.time_s * 40.0;
      s.meter = energy ? "rapl" : "none";
      out.push_back(s);
    }
  }
  return out;
}

FitOptions Fast() {
  FitOptions o;
  o.folds = 5;
  o.n_alphas = 20;
  return o;
}

TEST(BundleFitTest, EnergyRowsGiveThreeQuantitiesTimeOnlyRowsOne) {
  auto samples = Samples(LayerType::kLinear, 80, true, 1);
  const auto conv = Samples(LayerType::kConv2d, 80, false, 2);
  samples.insert(samples.end(), conv.begin(), conv.end());
  ModelBundle header;
  header.hostname = "h1";
  header.torch_version = "1.13.1";
  std::vector<std::string> warnings;
  const ModelBundle b =
      FitBundle(header, samples, Fast(), [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(b.hostname, "h1");
  EXPECT_EQ(b.torch_version, "1.13.1");
  EXPECT_EQ(b.tool_version, LAYERJOULE_VERSION);
  EXPECT_FALSE(b.created_at.empty());
  ASSERT_EQ(b.models.size(), 6u + 2u);
  for (const Pass pass : {Pass::kForward, Pass::kBackward}) {
    for (const Quantity q : {Quantity::kTimeS, Quantity::kEnergyJ, Quantity::kPowerW}) {
      const Model* m = b.Find(LayerType::kLinear, pass, q);
      ASSERT_NE(m, nullptr);
      EXPECT_EQ(m->meter, "rapl");
    }
    EXPECT_NE(b.Find(LayerType::kConv2d, pass, Quantity::kTimeS), nullptr);
    EXPECT_EQ(b.Find(LayerType::kConv2d, pass, Quantity::kEnergyJ), nullptr);
  }
  // Power is energy / time = 40 W for every row: a near-exact fit.
  const Model* power = b.Find(LayerType::kLinear, Pass::kForward, Quantity::kPowerW);
  ASSERT_TRUE(power->test_metrics);
  EXPECT_LT(power->test_metrics->rmspe, 1.0);

  const std::string table = MetricsTable({b});
  EXPECT_NE(table.find("RMSPE%"), std::string::npos);
  EXPECT_NE(table.find("h1           linear    backward energy_j nnlasso"), std::string::npos)
      << table;
  EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 9);
}

// FitOptions::network_row_weight goes to samples of a network's layers and samples drawn near
// one, not to random ones: here the network rows are twice as slow as the random rows, and a
// weight of 50 makes the fit follow them; weight 1 leaves it with the random majority.
TEST(BundleFitTest, NetworkRowWeightGoesToNetworkAndNearSamples) {
  auto samples = Samples(LayerType::kLinear, 240, false, 9);
  for (size_t i = 0; i < samples.size(); i += 8) {
    samples[i].time_s *= 2;
    samples[i + 1].time_s *= 2;  // its backward pass
    samples[i].network = samples[i + 1].network = "netA";
    if (i % 16 == 0) samples[i].network = samples[i + 1].network = "";
    if (i % 16 == 0) samples[i].near_network = samples[i + 1].near_network = "netB";
  }
  const auto median_ratio = [&](const ModelBundle& b) {
    const Model* m = b.Find(LayerType::kLinear, Pass::kForward, Quantity::kTimeS);
    EXPECT_NE(m, nullptr);
    std::vector<double> ratios;
    for (const auto& r : testing::SyntheticRows(LayerType::kLinear, 101, 0.0, 10)) {
      ratios.push_back(Predict(*m, r.config).value / r.value);
    }
    std::nth_element(ratios.begin(), ratios.begin() + 50, ratios.end());
    return ratios[50];
  };
  FitOptions o = Fast();
  o.test_fraction = 0;
  EXPECT_LT(median_ratio(FitBundle({}, samples, o)), 1.5);
  o.network_row_weight = 50;
  EXPECT_GT(median_ratio(FitBundle({}, samples, o)), 1.7);
}

TEST(BundleFitTest, TooFewRowsSkipsTheModelWithAWarning) {
  auto samples = Samples(LayerType::kLinear, 80, false, 3);
  const auto pool = Samples(LayerType::kMaxPool2d, 10, false, 4);
  samples.insert(samples.end(), pool.begin(), pool.end());
  std::vector<std::string> warnings;
  const ModelBundle b = FitBundle(ModelBundle{}, samples, Fast(),
                                  [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(b.models.size(), 2u);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("skipping maxpool2d/forward/time_s: 10 usable rows"),
            std::string::npos)
      << warnings[0];
}

// Samples whose trials disagree by more than max_spread are left out, with a warning; 0 keeps
// every sample.
TEST(BundleFitTest, NoisySamplesAreLeftOut) {
  auto samples = Samples(LayerType::kLinear, 80, false, 5);
  for (size_t i = 0; i < samples.size(); i += 4) {
    samples[i].time_spread = 0.4;
    samples[i].time_s *= 5;  // what a preempted trial does to the mean
  }
  std::vector<std::string> warnings;
  FitOptions o = Fast();
  o.test_fraction = 0;
  const ModelBundle b =
      FitBundle(ModelBundle{}, samples, o, [&](const std::string& w) { warnings.push_back(w); });
  const Model* m = b.Find(LayerType::kLinear, Pass::kForward, Quantity::kTimeS);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->n_rows, 40);  // every other forward sample
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("linear/forward: left out 40 samples whose trials disagree by more "
                             "than 25 %"),
            std::string::npos)
      << warnings[0];
  o.max_spread = 0;
  const ModelBundle all = FitBundle(ModelBundle{}, samples, o);
  EXPECT_EQ(all.Find(LayerType::kLinear, Pass::kForward, Quantity::kTimeS)->n_rows, 80);
}

// Samples that measure flagged as measured under contention are left out unless asked for.
TEST(BundleFitTest, ContendedSamplesAreLeftOutUnlessIncluded) {
  auto samples = Samples(LayerType::kLinear, 80, false, 5);
  for (size_t i = 0; i < samples.size(); i += 4) {
    samples[i].contended = true;
    samples[i].time_s *= 2;  // another process took half of the cores
  }
  std::vector<std::string> warnings;
  FitOptions o = Fast();
  o.test_fraction = 0;
  const ModelBundle b =
      FitBundle(ModelBundle{}, samples, o, [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(b.Find(LayerType::kLinear, Pass::kForward, Quantity::kTimeS)->n_rows, 40);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("linear/forward: left out 40 samples measured under contention"),
            std::string::npos)
      << warnings[0];
  o.include_contended = true;
  const ModelBundle all = FitBundle(ModelBundle{}, samples, o);
  EXPECT_EQ(all.Find(LayerType::kLinear, Pass::kForward, Quantity::kTimeS)->n_rows, 80);
}

}  // namespace
}  // namespace lj
