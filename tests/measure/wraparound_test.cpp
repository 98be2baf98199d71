#include "measure/wraparound.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace lj {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kIntelRangeUj = 262143328850;  // 0xffffffff * 61.035 uJ

TEST(WraparoundTest, NoWrapIsPlainDifference) {
  EXPECT_EQ(CounterDeltaUj(100, 250, 1000), 150u);
  EXPECT_EQ(CounterDeltaUj(0, 1000, 1000), 1000u);  // full range without wrapping
  EXPECT_EQ(CounterDeltaUj(kIntelRangeUj - 5, kIntelRangeUj, kIntelRangeUj), 5u);
}

TEST(WraparoundTest, EqualReadingsAreZero) {
  EXPECT_EQ(CounterDeltaUj(0, 0, 1000), 0u);
  EXPECT_EQ(CounterDeltaUj(1000, 1000, 1000), 0u);
  EXPECT_EQ(CounterDeltaUj(42, 42, kU64Max), 0u);
}

TEST(WraparoundTest, OneStepPastMaxReadsZero) {
  // The counter takes max itself, then 0: max -> 0 is one microjoule.
  EXPECT_EQ(CounterDeltaUj(1000, 0, 1000), 1u);
  EXPECT_EQ(CounterDeltaUj(999, 0, 1000), 2u);
  EXPECT_EQ(CounterDeltaUj(1000, 1, 1000), 2u);
}

TEST(WraparoundTest, WrapAddsRemainingRangePlusAfter) {
  // 900 -> 1000 (100 uJ), -> 0 (1 uJ), -> 50 (50 uJ).
  EXPECT_EQ(CounterDeltaUj(900, 50, 1000), 151u);
  // Almost a full circle: 1 -> ... -> 0 is max steps.
  EXPECT_EQ(CounterDeltaUj(1, 0, 1000), 1000u);
  // Realistic Intel range: 10 J before the wrap, 5 J after it.
  EXPECT_EQ(CounterDeltaUj(kIntelRangeUj - 10000000, 4999999, kIntelRangeUj), 15000000u);
}

TEST(WraparoundTest, FullWidthRangeDoesNotOverflow) {
  EXPECT_EQ(CounterDeltaUj(kU64Max, 0, kU64Max), 1u);
  EXPECT_EQ(CounterDeltaUj(1, 0, kU64Max), kU64Max);
  EXPECT_EQ(CounterDeltaUj(0, kU64Max, kU64Max), kU64Max);
  EXPECT_EQ(CounterDeltaUj(kU64Max - 1, 1, kU64Max), 3u);
}

TEST(WraparoundTest, RangeOfOneMicrojoule) {
  EXPECT_EQ(CounterDeltaUj(0, 1, 1), 1u);
  EXPECT_EQ(CounterDeltaUj(1, 0, 1), 1u);
  EXPECT_EQ(CounterDeltaUj(1, 1, 1), 0u);
}

// Every pair of readings for every small range: the delta must be the unique d in 0..max with
// (before + d) mod (max + 1) == after.
TEST(WraparoundTest, ExhaustiveSmallRanges) {
  for (uint64_t max = 1; max <= 40; ++max) {
    for (uint64_t before = 0; before <= max; ++before) {
      for (uint64_t after = 0; after <= max; ++after) {
        const uint64_t d = CounterDeltaUj(before, after, max);
        ASSERT_LE(d, max) << "before=" << before << " after=" << after << " max=" << max;
        ASSERT_EQ((before + d) % (max + 1), after)
            << "before=" << before << " after=" << after << " max=" << max;
      }
    }
  }
}

// A counter advanced by known steps (with wraps) and read after each step gives the steps back.
TEST(WraparoundTest, RecoversKnownStepsAcrossManyWraps) {
  const uint64_t max = 999983;  // odd range so wraps land at varying offsets
  uint64_t counter = 123456;
  uint64_t total_in = 0, total_out = 0;
  for (uint64_t i = 0; i < 10000; ++i) {
    const uint64_t step = (i * 7919) % (max + 1);  // 0 .. max
    const uint64_t next = (counter + step) % (max + 1);
    ASSERT_EQ(CounterDeltaUj(counter, next, max), step) << "step " << i;
    total_in += step;
    total_out += CounterDeltaUj(counter, next, max);
    counter = next;
  }
  EXPECT_EQ(total_in, total_out);
}

TEST(WraparoundTest, ReadingAboveRangeThrowsNamingValues) {
  try {
    CounterDeltaUj(300, 10, 200);
    FAIL() << "expected MeterError";
  } catch (const MeterError& e) {
    EXPECT_EQ(std::string(e.what()),
              "RAPL counter reading 300 uJ exceeds max_energy_range_uj 200 uJ (reading 'before')");
  }
  try {
    CounterDeltaUj(10, 201, 200);
    FAIL() << "expected MeterError";
  } catch (const MeterError& e) {
    EXPECT_EQ(std::string(e.what()),
              "RAPL counter reading 201 uJ exceeds max_energy_range_uj 200 uJ (reading 'after')");
  }
  EXPECT_NO_THROW(CounterDeltaUj(200, 200, 200));
}

TEST(WraparoundTest, ZeroRangeThrows) { EXPECT_THROW(CounterDeltaUj(0, 0, 0), MeterError); }

TEST(WraparoundTest, WrapPeriod) {
  // Common Intel range at 100 W: (262143328850 + 1) uJ / 1e8 uJ/s = 2621.43 s, about 44 min.
  EXPECT_NEAR(WrapPeriodS(kIntelRangeUj, 100.0), 2621.43328851, 1e-6);
  EXPECT_DOUBLE_EQ(WrapPeriodS(999999, 1.0), 1.0);
  EXPECT_TRUE(std::isinf(WrapPeriodS(kIntelRangeUj, 0.0)));
  EXPECT_TRUE(std::isinf(WrapPeriodS(kIntelRangeUj, -3.0)));
}

// Half the wrap period at 2 kW: 65.5 s for Intel's range, ~16.4 s for AMD's 2^32 x 15.26 uJ.
TEST(WraparoundTest, MaxUnambiguousWindow) {
  EXPECT_NEAR(MaxUnambiguousWindowS(kIntelRangeUj), 65.5358322, 1e-6);
  EXPECT_NEAR(MaxUnambiguousWindowS(65535999999), 16.384, 1e-6);
  EXPECT_DOUBLE_EQ(MaxUnambiguousWindowS(3999999), 0.001);
}

}  // namespace
}  // namespace lj
