#include "fit/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lj {
namespace {

TEST(MetricsTest, KnownValues) {
  // Relative errors +10 %, -20 %, 0 %, +5 %.
  const Metrics m = ComputeMetrics({1.1, 1.6, 3.0, 4.2}, {1.0, 2.0, 3.0, 4.0});
  EXPECT_EQ(m.n, 4);
  EXPECT_NEAR(m.mape, (10 + 20 + 0 + 5) / 4.0, 1e-9);
  EXPECT_NEAR(m.rmspe, std::sqrt((100 + 400 + 0 + 25) / 4.0), 1e-9);
  EXPECT_NEAR(m.within_10, 0.75, 1e-12);  // |+10 %| counts as within
  // SSE = 0.01 + 0.16 + 0 + 0.04 = 0.21; SST = 5.
  EXPECT_NEAR(m.r2, 1 - 0.21 / 5.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.min_prediction, 1.1);
  const Metrics back = MetricsFromJson(ToJson(m));
  EXPECT_DOUBLE_EQ(back.rmspe, m.rmspe);
  EXPECT_EQ(back.n, 4);
}

TEST(MetricsTest, NegativePredictionsShowUp) {
  const Metrics m = ComputeMetrics({-5.0, 1.0}, {1.0, 1.0});
  EXPECT_DOUBLE_EQ(m.min_prediction, -5.0);
  EXPECT_NEAR(m.mape, 300.0, 1e-9);
}

TEST(MetricsTest, RejectsBadInput) {
  EXPECT_THROW(ComputeMetrics({1.0}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(ComputeMetrics({}, {}), std::invalid_argument);
  EXPECT_THROW(ComputeMetrics({1.0}, {0.0}), std::invalid_argument);
}

}  // namespace
}  // namespace lj
