#pragma once
// Test helper: speed probe rows (db/rows.h SpeedProbeRow) of one reference config and pass,
// inserted into a store at given times, for the drift correction tests.
#include <string>
#include <utility>
#include <vector>

#include "db/store.h"

namespace lj::test {

// One probe row of `layer`, `pass` and `config` per (measured_at, time_s) of `probes`, all of
// run `run_id`.
inline void InsertProbes(Store& store, int64_t run_id, const std::string& layer,
                         const std::string& pass, const std::string& config,
                         const std::vector<std::pair<std::string, double>>& probes) {
  for (const auto& [at, time_s] : probes) {
    SpeedProbeRow p;
    p.run_id = run_id;
    p.measured_at = at;
    p.layer = layer;
    p.pass = pass;
    p.config = config;
    p.time_s = time_s;
    store.InsertSpeedProbe({p});
  }
}

// One "conv2d forward" probe row per (measured_at, time_s) of `probes`, all of run `run_id`.
inline void InsertConvProbes(Store& store, int64_t run_id,
                             const std::vector<std::pair<std::string, double>>& probes) {
  InsertProbes(store, run_id, "conv2d", "forward", "{}", probes);
}

// One first-touch probe row (db/rows.h kFirstTouchProbeLayer) per (measured_at, time_s), each
// of 64 MiB in 4 KiB pages (16384 pages), all of run `run_id`.
inline void InsertFirstTouchProbes(Store& store, int64_t run_id,
                                   const std::vector<std::pair<std::string, double>>& probes) {
  InsertProbes(store, run_id, kFirstTouchProbeLayer, "forward",
               R"({"bytes":67108864,"page_bytes":4096})", probes);
}

}  // namespace lj::test
