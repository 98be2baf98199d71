#include "predict/fresh_memory_note.h"

#include <cstdio>

namespace lj {

std::optional<std::string> FreshMemoryNote(const ModelBundle& bundle) {
  if (!bundle.first_touch_s_per_page || *bundle.first_touch_s_per_page < kExpensiveFirstTouchS) {
    return std::nullopt;
  }
  char cost[32];
  std::snprintf(cost, sizeof(cost), "%.3g us", *bundle.first_touch_s_per_page * 1e6);
  return std::string("fresh memory: on ") + bundle.hostname + " the first touch of a page costs " +
         cost +
         " (its first-touch probes; ~0.3 us on bare metal), so a training step's time there "
         "changes with how many fresh pages glibc's heap hands out, which differs between "
         "processes: these totals can be off by that. Training with GLIBC_TUNABLES=" +
         kKeepFreedMemoryTunables +
         " keeps freed memory for reuse (measured on an 11.5 us host: ResNet-18 at batch 16 "
         "-42 % per iteration, +5-11 % peak memory; JOURNAL.md 2026-12-06)";
}

}  // namespace lj
