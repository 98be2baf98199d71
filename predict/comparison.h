#pragma once
// `predict --compare`: a prediction (predict/predictor.h) against the ground truth that
// `measure --net` stored in table network_samples (db/schema.sql), per phase of a training
// iteration: forward, loss, backward, optimizer and the whole iteration.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "db/store.h"
#include "predict/predictor.h"

namespace lj {

// Means over the measured iterations of one phase.
struct MeasuredPhase {
  std::string phase;  // "forward", "loss", "backward", "optimizer", "iteration"
  int64_t iterations = 0;
  double time_s = 0;  // mean per iteration
  // Sum of the phase's energy over all iterations / iterations; only when every row has
  // energy. Single rows of short phases carry up to one RAPL update (~1 ms of power) of
  // error; the mean over many iterations does not (see measure/network_run.h).
  std::optional<double> energy_j;
};

struct MeasuredNetwork {
  std::string network;
  int64_t batch_size = 0;
  int64_t run_id = 0;                 // the run the phases come from (the newest that matches)
  std::string hostname;               // host of that run
  std::string meter;                  // "rapl" or "none"
  std::vector<MeasuredPhase> phases;  // in the order forward, loss, backward, optimizer, iteration
  std::string note;  // e.g. "measured on host 'a', the models are of host 'b'"; else empty
};

// The newest run in `store` with samples of `network` at `batch_size`, preferring runs on
// `host` (when no run of that host exists, the newest of any host, with a note).
// Throws: ConfigError "<db>: no measurements of network 'x'; run `measure --net ...`" or
// "<db>: network 'x' was measured at batch sizes 32, 128, not 64; ..."; StoreError.
MeasuredNetwork ReadMeasuredNetwork(Store& store, const std::string& network, int64_t batch_size,
                                    const std::string& host);

struct PhaseComparison {
  std::string phase;
  std::optional<double> predicted_time_s;  // empty: not modelled (loss or optimizer model missing)
  bool predicted_lower_bound = false;      // the prediction misses some unmodelled part
  std::optional<double> measured_time_s;   // empty: the phase was not measured
  std::optional<double> time_error_pct;    // 100 * (predicted - measured) / measured
  std::optional<double> predicted_energy_j;
  std::optional<double> measured_energy_j;
  std::optional<double> energy_error_pct;
};

struct Comparison {
  MeasuredNetwork measured;
  std::vector<PhaseComparison> phases;  // forward, loss, backward, optimizer, iteration
};

// Pairs the per-batch prediction with the measured means, phase by phase (see
// predict/predictor.h: the loss phase is the cross_entropy forward, its backward is in the
// backward phase). The predicted iteration is forward + loss + backward + optimizer and is
// flagged as a lower bound when it misses something.
Comparison Compare(const NetworkPrediction& prediction, const MeasuredNetwork& measured);

// A table: phase, predicted, measured, error % (time; energy too where both sides have it).
std::string FormatComparison(const Comparison& comparison);

// {"network", "batch_size", "run_id", "host", "meter", "note",
//  "phases": [{"phase", "predicted_time_s", "predicted_lower_bound", "measured_time_s",
//              "time_error_pct", "predicted_energy_j", "measured_energy_j",
//              "energy_error_pct", "iterations"}]}; unknown values are null.
nlohmann::json ToJson(const Comparison& comparison);

}  // namespace lj
