#include "measure/wraparound.h"

#include <algorithm>
#include <limits>
#include <string>

namespace lj {
namespace {

void CheckReading(uint64_t reading_uj, uint64_t max_energy_range_uj, const char* which) {
  if (reading_uj > max_energy_range_uj) {
    throw MeterError("RAPL counter reading " + std::to_string(reading_uj) +
                     " uJ exceeds max_energy_range_uj " + std::to_string(max_energy_range_uj) +
                     " uJ (reading '" + which + "')");
  }
}

}  // namespace

uint64_t CounterDeltaUj(uint64_t before_uj, uint64_t after_uj, uint64_t max_energy_range_uj) {
  if (max_energy_range_uj == 0) {
    throw MeterError("RAPL counter has max_energy_range_uj 0; cannot correct for wraparound");
  }
  CheckReading(before_uj, max_energy_range_uj, "before");
  CheckReading(after_uj, max_energy_range_uj, "after");
  if (after_uj >= before_uj) return after_uj - before_uj;
  // Wrapped once: up from `before` to max (max - before steps), one step to 0, then `after`
  // steps. Since after < before <= max, the sum is at most max: no overflow.
  return (max_energy_range_uj - before_uj) + after_uj + 1;
}

bool PlausibleStep(uint64_t before_uj, uint64_t after_uj, uint64_t max_energy_range_uj,
                   double elapsed_s) {
  if (after_uj >= before_uj) return true;
  const double delta_j =
      static_cast<double>(CounterDeltaUj(before_uj, after_uj, max_energy_range_uj)) * 1e-6;
  return delta_j <= kMaxPlausibleZonePowerW * std::max(elapsed_s, 1e-3);
}

double MaxUnambiguousWindowS(uint64_t max_energy_range_uj) {
  return 0.5 * WrapPeriodS(max_energy_range_uj, kMaxPlausibleZonePowerW);
}

double WrapPeriodS(uint64_t max_energy_range_uj, double power_w) {
  if (!(power_w > 0)) return std::numeric_limits<double>::infinity();
  return (static_cast<double>(max_energy_range_uj) + 1.0) / (power_w * 1e6);
}

}  // namespace lj
