// DriftCorrection (fit/drift_correction.h): per-probe factors against the host's median probe,
// the windowed median at a row's time, the gaps, and the timestamps SQLite writes.
#include "fit/drift_correction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace lj {
namespace {

// Three probes 60 s apart; conv2d takes 1, 2, 4 ms (median 2) and relu 1, 1, 1 ms.
std::vector<ProbeReading> ThreeProbes() {
  return {{0, "conv2d forward", 0.001},   {0, "relu forward", 0.001},
          {60, "conv2d forward", 0.002},  {60, "relu forward", 0.001},
          {120, "conv2d forward", 0.004}, {120, "relu forward", 0.001}};
}

TEST(DriftCorrectionTest, AProbesFactorIsTheGeometricMeanOfItsRatiosToTheMedianProbe) {
  const DriftCorrection d(ThreeProbes());
  ASSERT_EQ(d.probes().size(), 3u);
  // sqrt(0.5 * 1), sqrt(1 * 1), sqrt(2 * 1)
  EXPECT_NEAR(d.probes()[0].factor, std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(d.probes()[1].factor, 1.0, 1e-12);
  EXPECT_NEAR(d.probes()[2].factor, std::sqrt(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(d.probes()[2].t_s, 120);
}

TEST(DriftCorrectionTest, ARowGetsTheMedianFactorOfTheProbesWithinTheWindow) {
  const DriftCorrection d(ThreeProbes(), /*window_s=*/70, /*max_gap_s=*/900);
  // At t = 60 all three are within 70 s: median sqrt(0.5), 1, sqrt(2) -> 1.
  EXPECT_NEAR(*d.FactorAt(60), 1.0, 1e-12);
  // At t = 125 only the probes at 60 and 120: the median of two is their mean.
  EXPECT_NEAR(*d.FactorAt(125), 0.5 * (1.0 + std::sqrt(2.0)), 1e-12);
  // At t = 300 none is within the window: the nearest (t = 120) within the gap.
  EXPECT_NEAR(*d.FactorAt(300), std::sqrt(2.0), 1e-12);
  // One slow outlier among five probes in the window does not move the factor.
  std::vector<ProbeReading> r;
  for (int i = 0; i < 5; ++i) r.push_back({10.0 * i, "relu backward", i == 2 ? 0.004 : 0.001});
  EXPECT_NEAR(*DriftCorrection(r, 60, 900).FactorAt(20), 1.0, 1e-12);
}

TEST(DriftCorrectionTest, NoFactorFarFromEveryProbeOrWithoutProbes) {
  const DriftCorrection d(ThreeProbes(), 70, /*max_gap_s=*/600);
  EXPECT_FALSE(d.FactorAt(720.5).has_value());
  EXPECT_FALSE(d.FactorAt(-600.5).has_value());
  EXPECT_TRUE(d.FactorAt(-599).has_value());
  EXPECT_FALSE(DriftCorrection().FactorAt(0).has_value());
  EXPECT_FALSE(DriftCorrection(std::vector<ProbeReading>{}).FactorAt(0).has_value());
}

TEST(DriftCorrectionTest, AReadingThatIsNotAPositiveFiniteTimeIsRefused) {
  EXPECT_THROW(DriftCorrection({{0, "conv2d forward", 0}}), std::invalid_argument);
  EXPECT_THROW(DriftCorrection({{0, "conv2d forward", -1e-3}}), std::invalid_argument);
  EXPECT_THROW(DriftCorrection({{0, "conv2d forward", NAN}}), std::invalid_argument);
  EXPECT_THROW(DriftCorrection({{INFINITY, "conv2d forward", 1e-3}}), std::invalid_argument);
}

TEST(DriftCorrectionTest, ParsesTheTimestampsSqliteWrites) {
  // date -u -d 2026-12-04T19:25:01Z +%s
  EXPECT_DOUBLE_EQ(ParseUtcTime_s("2026-12-04T19:25:01Z"), 1796412301.0);
  EXPECT_NEAR(ParseUtcTime_s("2026-12-04T19:25:01.123Z"), 1796412301.123, 1e-6);
  EXPECT_DOUBLE_EQ(ParseUtcTime_s("1970-01-01T00:00:00"), 0.0);
  for (const char* bad : {"", "yesterday", "2026-12-04 19:25:01", "2026-13-04T19:25:01Z",
                          "2026-12-04T24:00:00Z", "2026-12-04T19:25:01.5Zx", "2026-12-4T1:2:3Z"}) {
    EXPECT_THROW(ParseUtcTime_s(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace lj
