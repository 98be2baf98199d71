#pragma once
// What `predict` says about fresh memory on a host where a page fault is expensive (issue 10).
//
// measure's first-touch probe (measure/first_touch_probe.h) times the fault of a fresh page:
// ~0.2-0.5 us on bare metal, 10-17 us on the paravirtualised KVM guests of JOURNAL.md. On such
// a host a training step's time depends on how many fresh pages glibc's heap hands out, which
// changes between processes (MobileNetV3-Small's forward pass: 0 to 30,000 faults, 103 to
// 324 ms), so no per-layer sum can be exact there. A malloc that keeps freed memory for reuse
// (never mmaps, never trims) removed those faults in LibTorch and in Python alike: measured on
// the 11.5 us guest of JOURNAL.md 2026-12-06 (second session), ResNet-18 at batch 16 from
// ~75,000 faults and 1.17-1.34 s to 0-2,100 faults and 0.71-0.73 s per iteration, for 5-11 %
// more peak memory. The note says so, with the setting, where the bundle's host pays
// kExpensiveFirstTouchS or more per page.
#include <optional>
#include <string>

#include "core/malloc_setting.h"
#include "fit/model_bundle.h"

namespace lj {

// 2 us per page: ~5x bare metal's; where a fresh 4 KiB page costs as much as ~100k MACs.
inline constexpr double kExpensiveFirstTouchS = 2e-6;

// The note for `bundle`'s host, or nullopt when there is nothing to say:
//   - compute-only models (ModelBundle fault_time_removed_s_per_fault, fit
//     --subtract-fault-time): the totals leave out the training step's fresh pages; said first,
//     as it changes what every time means;
//   - models measured under a malloc setting other than glibc's default (ModelBundle
//     malloc_setting, core/malloc_setting.h): the totals hold for training under that setting,
//     which the note names (with the first-touch cost that glibc's default would add per fresh
//     page, where known);
//   - else, where the first-touch cost is kExpensiveFirstTouchS or more: the totals depend on
//     fresh pages, and kKeepFreedMemoryTunables avoids them.
std::optional<std::string> FreshMemoryNote(const ModelBundle& bundle);

}  // namespace lj
