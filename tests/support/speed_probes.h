#pragma once
// Test helper: speed probe rows (db/rows.h SpeedProbeRow) of one reference config and pass,
// inserted into a store at given times, for the drift correction tests.
#include <string>
#include <utility>
#include <vector>

#include "db/store.h"

namespace lj::test {

// One "conv2d forward" probe row per (measured_at, time_s) of `probes`, all of run `run_id`.
inline void InsertConvProbes(Store& store, int64_t run_id,
                             const std::vector<std::pair<std::string, double>>& probes) {
  for (const auto& [at, time_s] : probes) {
    SpeedProbeRow p;
    p.run_id = run_id;
    p.measured_at = at;
    p.layer = "conv2d";
    p.pass = "forward";
    p.config = "{}";
    p.time_s = time_s;
    store.InsertSpeedProbe({p});
  }
}

}  // namespace lj::test
