#pragma once
// The time a layer pass spends faulting in fresh pages, estimated from the samples and taken
// out of them (issue 10: "fit should model compute only").
//
// Why. On the paravirtualised guests of JOURNAL.md a minor page fault costs 6-12 us of wall
// time. glibc serves a block above its mmap threshold (up to 32 MiB) with fresh pages at every
// allocation, but only when its heap has no free chunk large enough. So a random layer
// measured in a fresh process faults its large tensors at every pass, while the same layer in a
// network's process, whose heap is already large, often does not. On Swin v2-T (2026-12-07,
// fifth session) the first stage's GELUs were over-predicted 17x because random gelu rows above
// about 20 M elements spent most of their time faulting: 5,749 faults per pass on average.
//
// Method. Per layer type and pass with enough rows that faulted and rows that did not, the
// non-negative least-squares fit, weighted by 1 / time (relative error),
//     time = b + c_macs MACs + c_elements (input + output elements) + cost_per_fault faults
// over every subset of the three slopes (the intercept always in; exact NNLS for four columns).
// The host's cost is the median over the groups. Measured on the Zen 5 guest: 6.0-11.9 us per
// fault over 44 groups of two databases, median about 8 us, against the first-touch probe's
// 11.7 us (which faults from one thread; a layer's two threads fault in parallel).
#include <optional>
#include <vector>

#include "fit/bundle_fit.h"

namespace lj {

struct FaultTimeEstimate {
  double s_per_fault = 0;  // the median of the groups' slopes
  int groups = 0;          // type x pass groups that gave a slope
};

// The estimate above from `samples` (one host's), or empty when no group qualifies: a group
// needs >= 10 samples with minor_faults, of which >= 3 faulted >= 100 pages per execution and
// >= 3 faulted fewer, and a fit whose fault slope is > 10 ns.
std::optional<FaultTimeEstimate> EstimateFaultTime(const std::vector<PassSample>& samples);

// time_s -= minor_faults x s_per_fault for every sample with minor_faults, never below
// kMinComputeShare of the measured time (a slope estimated across types can exceed one row's
// own cost per fault). Energy is left as measured. Returns how many samples changed. Throws
// std::invalid_argument for s_per_fault < 0.
inline constexpr double kMinComputeShare = 0.05;
int SubtractFaultTime(std::vector<PassSample>& samples, double s_per_fault);

}  // namespace lj
