#include "predict/fresh_memory_note.h"

#include <cstdio>

namespace lj {
namespace {

// "11.5 us" for 1.15e-5 s: three significant digits.
std::string Microseconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g us", seconds * 1e6);
  return text;
}

}  // namespace

std::optional<std::string> FreshMemoryNote(const ModelBundle& bundle) {
  const std::string cost =
      bundle.first_touch_s_per_page ? Microseconds(*bundle.first_touch_s_per_page) : "";
  if (bundle.fault_time_removed_s_per_fault) {
    return std::string(
               "compute only: these time models were fitted with their samples' page-"
               "fault time taken out (") +
           Microseconds(*bundle.fault_time_removed_s_per_fault) +
           " per minor fault, fit --subtract-fault-time), so the totals leave out the fresh "
           "pages a training step faults in on " +
           bundle.hostname;
  }
  if (!bundle.malloc_setting.empty() && bundle.malloc_setting != kGlibcDefaultMalloc) {
    return "malloc: these models were measured under '" + bundle.malloc_setting +
           "' (measure --malloc), so the totals are for training under the same setting" +
           (cost.empty() ? std::string()
                         : "; under glibc's default each fresh page a step faults in adds " + cost +
                               " on " + bundle.hostname);
  }
  if (!bundle.first_touch_s_per_page || *bundle.first_touch_s_per_page < kExpensiveFirstTouchS) {
    return std::nullopt;
  }
  return std::string("fresh memory: on ") + bundle.hostname + " the first touch of a page costs " +
         cost +
         " (its first-touch probes; ~0.3 us on bare metal), so a training step's time there "
         "changes with how many fresh pages glibc's heap hands out, which differs between "
         "processes: these totals can be off by that. Training with GLIBC_TUNABLES=" +
         kKeepFreedMemoryTunables +
         " keeps freed memory for reuse (measured on an 11.5 us host: ResNet-18 at batch 16 "
         "-42 % per iteration, +5-11 % peak memory; JOURNAL.md 2026-12-06). Models for that "
         "setting: measure --malloc keep-freed, then fit";
}

}  // namespace lj
