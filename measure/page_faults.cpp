#include "measure/page_faults.h"

#include <sys/resource.h>

namespace lj {

std::optional<int64_t> ProcessMinorFaults() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return std::nullopt;
  return static_cast<int64_t>(usage.ru_minflt);
}

std::optional<int64_t> MinorFaultsBetween(std::optional<int64_t> before,
                                          std::optional<int64_t> after) {
  if (!before || !after || *after < *before) return std::nullopt;
  return *after - *before;
}

std::optional<double> MinorFaultsPerExecution(std::optional<int64_t> before,
                                              std::optional<int64_t> after, int64_t executions) {
  const std::optional<int64_t> faults = MinorFaultsBetween(before, after);
  if (!faults || executions <= 0) return std::nullopt;
  return static_cast<double>(*faults) / static_cast<double>(executions);
}

}  // namespace lj
