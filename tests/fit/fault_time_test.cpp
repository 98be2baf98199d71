#include "fit/fault_time.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "fit/model_fit.h"

namespace lj {
namespace {

// A gelu pass over batch x 64 x 32 x 32 elements: 1 ms + 1 ns per element (input + output)
// of compute, plus 8 us per fresh page; the larger half of the rows faults one page per 1024
// output elements (their output is mmapped afresh), the smaller half none.
std::vector<PassSample> GeluRows(double s_per_fault) {
  std::vector<PassSample> rows;
  for (int batch = 1; batch <= 16; ++batch) {
    PassSample s;
    s.config = LayerConfigFromJson(
        LayerType::kGELU,
        {{"batch_size", batch}, {"in_channels", 64}, {"height", 32}, {"width", 32}});
    const double elements = batch * 64.0 * 32 * 32;
    const double faults = batch > 8 ? elements / 1024 : 0;
    s.minor_faults = faults;
    s.time_s = 1e-3 + 1e-9 * 2 * elements + s_per_fault * faults;
    s.meter = "none";
    rows.push_back(s);
  }
  return rows;
}

TEST(FaultTimeTest, RecoversTheCostPerFaultOfSyntheticRows) {
  const std::optional<FaultTimeEstimate> e = EstimateFaultTime(GeluRows(8e-6));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->groups, 1);
  EXPECT_NEAR(e->s_per_fault, 8e-6, 8e-6 * 1e-6);
}

TEST(FaultTimeTest, NeedsRowsThatFaultedAndRowsThatDidNot) {
  std::vector<PassSample> rows = GeluRows(8e-6);
  for (PassSample& s : rows) s.minor_faults = 0;  // nothing faulted
  EXPECT_FALSE(EstimateFaultTime(rows));
  rows = GeluRows(8e-6);
  for (PassSample& s : rows) s.minor_faults.reset();  // not counted (imported rows)
  EXPECT_FALSE(EstimateFaultTime(rows));
  rows = GeluRows(8e-6);
  rows.resize(9);  // too few rows in the group
  EXPECT_FALSE(EstimateFaultTime(rows));
  // Faults that cost nothing give no slope.
  EXPECT_FALSE(EstimateFaultTime(GeluRows(0)));
}

TEST(FaultTimeTest, SubtractsFaultTimeButKeepsAShareOfTheMeasurement) {
  std::vector<PassSample> rows = GeluRows(8e-6);
  const std::vector<PassSample> before = rows;
  EXPECT_EQ(SubtractFaultTime(rows, 8e-6), 8);  // the eight rows that faulted
  for (size_t i = 0; i < rows.size(); ++i) {
    const double elements = (i + 1) * 64.0 * 32 * 32;
    EXPECT_NEAR(rows[i].time_s, 1e-3 + 2e-9 * elements, 1e-12) << i;
  }
  // A cost per fault above the row's own leaves kMinComputeShare of it.
  rows = before;
  SubtractFaultTime(rows, 1.0);
  EXPECT_DOUBLE_EQ(rows.back().time_s, kMinComputeShare * before.back().time_s);
  EXPECT_DOUBLE_EQ(rows.front().time_s, before.front().time_s);  // no faults: unchanged
  EXPECT_THROW(SubtractFaultTime(rows, -1e-6), std::invalid_argument);
}

// FitBundle with subtract_fault_time fits the compute-only times: a row's fault time does not
// reach the model, which then predicts a faulting config at its compute cost.
TEST(FaultTimeTest, FitBundleFitsComputeOnlyTimesWhenAsked) {
  std::vector<PassSample> rows;
  for (int repeat = 0; repeat < 4; ++repeat) {
    for (const PassSample& s : GeluRows(8e-6)) rows.push_back(s);
  }
  ModelBundle header;
  header.hostname = "h";
  FitOptions options;
  options.folds = 3;
  const PassSample& large = rows[15];  // batch 16: 1,024 faults, 8.2 ms of 11.3 ms
  const double compute_s = 1e-3 + 2e-9 * 16 * 64 * 32 * 32;
  std::vector<std::string> warnings;
  auto predict = [&](bool subtract) {
    options.subtract_fault_time = subtract;
    const ModelBundle b =
        FitBundle(header, rows, options, [&](const std::string& w) { warnings.push_back(w); });
    EXPECT_EQ(b.fault_time_removed_s_per_fault.has_value(), subtract);
    if (subtract && b.fault_time_removed_s_per_fault) {
      EXPECT_NEAR(*b.fault_time_removed_s_per_fault, 8e-6, 8e-12);
    }
    const Model* m = b.Find(LayerType::kGELU, Pass::kForward, Quantity::kTimeS);
    EXPECT_NE(m, nullptr);
    return m ? Predict(*m, large.config).value : 0.0;
  };
  EXPECT_GT(predict(false), 1.5 * compute_s);  // the fault time is in the model
  EXPECT_NEAR(predict(true), compute_s, 0.1 * compute_s);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.back().find("per minor page fault"), std::string::npos) << warnings.back();
}

}  // namespace
}  // namespace lj
