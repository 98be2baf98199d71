#include "fit/residual_correction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/errors.h"
#include "fit/model_fit.h"
#include "tests/fit/synthetic.h"

namespace lj {
namespace {

TEST(ResidualCorrectionTest, NoPointsNoCorrection) {
  const ResidualCorrection c;
  EXPECT_EQ(c.LogFactor({0.0, 1.0}), 0.0);
}

// One point exactly at the query has weight 1 against the prior weight 1: half its residual.
TEST(ResidualCorrectionTest, ShrinksTowardsNoCorrection) {
  ResidualCorrection c;
  c.bandwidth = 0.5;
  c.points = {{1.0, 2.0}};
  c.log_residuals = {0.4};
  EXPECT_NEAR(c.LogFactor({1.0, 2.0}), 0.2, 1e-12);
  // One bandwidth away in one coordinate: weight e^-1/2.
  const double w = std::exp(-0.5);
  EXPECT_NEAR(c.LogFactor({1.5, 2.0}), w * 0.4 / (1 + w), 1e-12);
  // Far away: nothing.
  EXPECT_NEAR(c.LogFactor({9.0, 2.0}), 0.0, 1e-12);
  // Leaving the only point out: nothing.
  EXPECT_EQ(c.LogFactor({1.0, 2.0}, 0), 0.0);
}

TEST(ResidualCorrectionTest, FactorIsBoundedByThree) {
  ResidualCorrection c;
  c.points.assign(100, {0.0});
  c.log_residuals.assign(100, 5.0);  // e^5 = 148x slower than the model
  EXPECT_NEAR(c.LogFactor({0.0}), std::log(3.0), 1e-12);
  c.log_residuals.assign(100, -5.0);
  EXPECT_NEAR(c.LogFactor({0.0}), -std::log(3.0), 1e-12);
}

// Two clusters whose rows are 1.5x slower and 1.5x faster than the model: leave-one-out picks
// a bandwidth, and the correction recovers each cluster's factor.
TEST(ResidualCorrectionTest, FitLearnsLocalBias) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> jitter(0.0, 0.05);
  std::vector<std::vector<double>> points;
  std::vector<double> residuals;
  for (int i = 0; i < 200; ++i) {
    const bool slow = i % 2 == 0;
    points.push_back({(slow ? 1.0 : 4.0) + jitter(rng), 2.0 + jitter(rng)});
    residuals.push_back((slow ? 1 : -1) * std::log(1.5) + jitter(rng));
  }
  const ResidualCorrection c = ResidualCorrection::Fit(points, residuals);
  ASSERT_FALSE(c.points.empty());
  EXPECT_NEAR(c.LogFactor({1.0, 2.0}), std::log(1.5), 0.03);
  EXPECT_NEAR(c.LogFactor({4.0, 2.0}), -std::log(1.5), 0.03);
  EXPECT_NEAR(c.LogFactor({20.0, 2.0}), 0.0, 1e-9);  // far from both
}

// Residuals that do not depend on the position: no bandwidth beats the model alone.
TEST(ResidualCorrectionTest, FitKeepsNoCorrectionForUnstructuredResiduals) {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> x(0.0, 10.0);
  std::normal_distribution<double> noise(0.0, 0.1);
  std::vector<std::vector<double>> points;
  std::vector<double> residuals;
  for (int i = 0; i < 60; ++i) {
    points.push_back({x(rng), x(rng), x(rng)});  // sparse: no two rows within a bandwidth
    residuals.push_back(noise(rng));
  }
  const ResidualCorrection c = ResidualCorrection::Fit(points, residuals);
  EXPECT_TRUE(c.points.empty());
}

TEST(ResidualCorrectionTest, FitRefusesMismatchedSizes) {
  EXPECT_THROW(ResidualCorrection::Fit({{1.0}, {2.0}}, {0.1}), std::invalid_argument);
  EXPECT_THROW(ResidualCorrection::Fit({{1.0}, {2.0, 3.0}}, {0.1, 0.2}), std::invalid_argument);
}

TEST(ResidualCorrectionTest, JsonRoundTripAndMalformedInput) {
  ResidualCorrection c;
  c.bandwidth = 0.25;
  c.points = {{0.0, 1.0}, {2.0, 3.0}};
  c.log_residuals = {0.1, -0.2};
  const ResidualCorrection back = ResidualCorrectionFromJson(ToJson(c));
  EXPECT_EQ(back.bandwidth, 0.25);
  EXPECT_EQ(back.points, c.points);
  EXPECT_EQ(back.log_residuals, c.log_residuals);
  EXPECT_DOUBLE_EQ(back.LogFactor({0.5, 1.0}), c.LogFactor({0.5, 1.0}));

  nlohmann::json bad = ToJson(c);
  bad["bandwidth"] = 0;
  EXPECT_THROW(ResidualCorrectionFromJson(bad), ConfigError);
  bad = ToJson(c);
  bad["log_residuals"] = {0.1};
  EXPECT_THROW(ResidualCorrectionFromJson(bad), ConfigError);
  bad = ToJson(c);
  bad["points"] = {{0.0, 1.0}, {2.0}};
  EXPECT_THROW(ResidualCorrectionFromJson(bad), ConfigError);
  bad = ToJson(c);
  bad.erase("points");
  EXPECT_THROW(ResidualCorrectionFromJson(bad), ConfigError);
}

// End to end in FitModel: 1x1 convolutions are 2x slower than the smooth cost law the other
// rows follow (as a kernel path of its own would be). The global polynomial cannot bend to
// that one kernel size; the correction learns it from the 1x1 training rows and predicts held-
// out 1x1 configs closer, while far-from-data predictions keep the model's value.
TEST(ResidualCorrectionTest, FitModelCorrectsALocallySlowRegion) {
  std::mt19937_64 rng(5);
  std::vector<TrainingRow> rows;
  const auto slow = [](const LayerConfig& c) { return c.kernel_size == 1 ? 2.0 : 1.0; };
  for (int i = 0; i < 600; ++i) {
    LayerConfig c = testing::RandomConfig(LayerType::kConv2d, rng);
    if (i % 4 == 0) {
      c.kernel_size = 1;
      c.padding = 0;
    }
    rows.push_back({c, slow(c) * testing::SyntheticTimeS(c, 0.03, rng)});
  }
  FitOptions without;
  without.folds = 5;
  without.n_alphas = 30;
  EXPECT_FALSE(without.residual_correction);  // off by default
  FitOptions with = without;
  with.residual_correction = true;
  const Model corrected =
      FitModel(LayerType::kConv2d, Pass::kForward, Quantity::kTimeS, rows, with);
  const Model plain = FitModel(LayerType::kConv2d, Pass::kForward, Quantity::kTimeS, rows, without);
  ASSERT_TRUE(corrected.residuals.has_value());
  EXPECT_FALSE(plain.residuals.has_value());
  double log_error_corrected = 0, log_error_plain = 0;
  for (int i = 0; i < 100; ++i) {
    LayerConfig c = testing::RandomConfig(LayerType::kConv2d, rng);
    c.kernel_size = 1;
    c.padding = 0;
    const double truth = 2.0 * testing::SyntheticTimeS(c, 0.0, rng);
    log_error_corrected += std::abs(std::log(Predict(corrected, c).value / truth));
    log_error_plain += std::abs(std::log(Predict(plain, c).value / truth));
  }
  EXPECT_LT(log_error_corrected, 0.7 * log_error_plain);
  // A bundle round trip keeps the correction.
  const Model back = ModelFromJson(ToJson(corrected));
  ASSERT_TRUE(back.residuals.has_value());
  LayerConfig probe = rows.front().config;
  EXPECT_DOUBLE_EQ(Predict(back, probe).value, Predict(corrected, probe).value);
}

}  // namespace
}  // namespace lj
