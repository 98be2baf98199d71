#pragma once
// How much of a measured network phase is fresh pages (issue 10): the least-squares line
// time_s = base_s + s_per_fault x minor_faults over the phase's measured iterations.
//
// On a host where a page fault is expensive, a training phase's time is its arithmetic plus the
// first touch of the fresh pages it gets from the kernel, and how many it gets changes between
// processes with glibc's heap state (JOURNAL.md 2026-12-06, second session: MobileNetV3-Small's
// forward pass at batch 32 took 103 ms with no faults and 324 ms with 29,800, in runs minutes
// apart). Iterations of several runs with different fault counts then lie on one line whose
// slope is the cost of a fault in that phase (the first-touch probe's cost per page, divided by
// the threads that fault in parallel) and whose intercept is the phase without fresh pages: the
// part a per-layer compute model can be judged against. predict/evaluation.h reports it as (f).
#include <cstdint>
#include <optional>
#include <vector>

namespace lj {

struct FaultTimeFit {
  int64_t n = 0;          // iterations
  double min_faults = 0;  // fewest and most faults of an iteration
  double max_faults = 0;
  double base_s = 0;       // intercept: the phase's time without fresh pages
  double s_per_fault = 0;  // slope: seconds per minor fault
  double r2 = 0;           // coefficient of determination of the line
};

// The line through (faults[i], time_s[i]). nullopt for mismatched sizes, fewer than 4 points,
// or faults that do not vary by at least 100 pages (no slope can be resolved then).
std::optional<FaultTimeFit> FitTimeOnFaults(const std::vector<double>& faults,
                                            const std::vector<double>& time_s);

}  // namespace lj
