#include "predict/fault_time_fit.h"

#include <algorithm>

namespace lj {

std::optional<FaultTimeFit> FitTimeOnFaults(const std::vector<double>& faults,
                                            const std::vector<double>& time_s) {
  constexpr size_t kMinPoints = 4;
  constexpr double kMinFaultRange = 100;
  if (faults.size() != time_s.size() || faults.size() < kMinPoints) return std::nullopt;
  FaultTimeFit f;
  f.n = static_cast<int64_t>(faults.size());
  const auto [lo, hi] = std::minmax_element(faults.begin(), faults.end());
  f.min_faults = *lo;
  f.max_faults = *hi;
  if (f.max_faults - f.min_faults < kMinFaultRange) return std::nullopt;
  const double n = static_cast<double>(faults.size());
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < faults.size(); ++i) {
    mean_x += faults[i] / n;
    mean_y += time_s[i] / n;
  }
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t i = 0; i < faults.size(); ++i) {
    const double dx = faults[i] - mean_x, dy = time_s[i] - mean_y;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  f.s_per_fault = sxy / sxx;
  f.base_s = mean_y - f.s_per_fault * mean_x;
  f.r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
  return f;
}

}  // namespace lj
