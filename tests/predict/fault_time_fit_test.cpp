// Tests of the time-on-faults line (predict/fault_time_fit.h): it recovers a known base and
// cost per fault, says how well the points lie on it, and refuses what cannot give a slope.
#include "predict/fault_time_fit.h"

#include <gtest/gtest.h>

#include <vector>

namespace lj {
namespace {

TEST(FaultTimeFitTest, RecoversTheBaseAndTheCostPerFault) {
  // 100 ms of arithmetic and 8 us per fault, as MobileNetV3-Small's forward pass measured.
  const std::vector<double> faults = {0, 0, 3000, 6000, 15000, 30000};
  std::vector<double> time_s;
  for (double f : faults) time_s.push_back(0.100 + 8e-6 * f);
  const auto fit = FitTimeOnFaults(faults, time_s);
  ASSERT_TRUE(fit);
  EXPECT_EQ(fit->n, 6);
  EXPECT_DOUBLE_EQ(fit->min_faults, 0);
  EXPECT_DOUBLE_EQ(fit->max_faults, 30000);
  EXPECT_NEAR(fit->base_s, 0.100, 1e-12);
  EXPECT_NEAR(fit->s_per_fault, 8e-6, 1e-15);
  EXPECT_NEAR(fit->r2, 1.0, 1e-12);
  // Noise that does not follow the faults lowers R^2, not the slope's sign.
  time_s[0] += 0.05;
  time_s[3] -= 0.05;
  const auto noisy = FitTimeOnFaults(faults, time_s);
  ASSERT_TRUE(noisy);
  EXPECT_LT(noisy->r2, 0.95);
  EXPECT_GT(noisy->s_per_fault, 0);
}

TEST(FaultTimeFitTest, RefusesWhatCannotGiveASlope) {
  EXPECT_FALSE(FitTimeOnFaults({0, 1000, 2000}, {0.1, 0.2, 0.3}));            // 3 points
  EXPECT_FALSE(FitTimeOnFaults({0, 1000, 2000, 3000}, {0.1, 0.2, 0.3}));      // sizes differ
  EXPECT_FALSE(FitTimeOnFaults({500, 520, 540, 560}, {0.1, 0.2, 0.3, 0.4}));  // range < 100
  EXPECT_FALSE(FitTimeOnFaults({}, {}));
}

}  // namespace
}  // namespace lj
