#pragma once
// The yardstick every modelling change is judged by (issue 10): how well the per-layer models
// of a host predict what was measured, reported per host and per model kind in five parts:
//   (a) held-out random rows: fit with a 20 % test split, the test split's RMSPE and share
//       within +-10 % per layer type, pass and quantity (what `fit` prints);
//   (b) real-network layers, leave one network out: for each network with `measure --net
//       --layers` samples, refit without that network's samples and predict each of its
//       distinct layer configs (layers, gradient accumulations, loss, optimizer step) against
//       the same config measured in isolation;
//   (c) networks, leave one network out: the prediction of a measured network (`measure --net`
//       or an imported prototype measurement) from the models fitted without its own layers,
//       against the median over its measured iterations, per phase; the iterations of every
//       run of the network at that batch size with the same definition are pooled (the machine
//       drifts between runs);
//   (d) the composition gap: the sum of a network's isolated layer measurements (the newest
//       sample of each path and pass) against its measured phases; what no per-layer model can
//       fix. Where measure counted page faults (schema 6, measure/page_faults.h), also the
//       isolated passes' minor faults against the network phase's, and the gap left once the
//       extra fresh pages are charged at the host's first-touch cost
//       (measure/first_touch_probe.h): how much of the gap is the kernel handing out pages;
//   (e) every metric for each model kind side by side, the first kind being the one under test
//       and "maclinear" (fit/model_bundle.h) the baseline;
//   (f) fresh pages in the measured networks: per network and phase, the line time = base +
//       cost x minor faults over its pooled iterations (predict/fault_time_fit.h), where the
//       fault counts vary: the phase's time without fresh pages, and what a fault costs in it.
// Why held-out random rows alone mislead: Getzner et al. (2023) report per-layer CPU energy
// models with R^2 0.998 on random configs but 0.31 on layers of real networks.
//
// A network is never scored on its own layers: its net-layers samples, and the `measure
// --near` samples drawn near its layers, are removed from the fit that predicts it, in (b) and
// (c). Only samples of the same host are used.
// Errors are (predicted - measured) / measured. Medians of measured phases are over the stored
// iterations; spread = (p75 - p25) / 2 / median.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fit/model_fit.h"
#include "predict/fault_time_fit.h"

namespace lj {

struct EvaluationOptions {
  // The kinds compared; the first is the one under test (default nnlasso), "maclinear" the
  // baseline. Each kind is fitted with `fit` (kind overwritten per entry).
  std::vector<ModelKind> kinds = {ModelKind::kNnLasso, ModelKind::kMacLinear};
  FitOptions fit;
  // Where net.json files are looked up by network name when the database does not hold the
  // network's definition (imported prototype measurements): <nets_dir>/<network>.json.
  std::string nets_dir = "configs/nets";
  // Divide every layer and network time by the host's speed-probe factor at its time
  // (fit/drift_correction.h), so that all are compared at the host's median speed.
  bool drift_correction = false;
  // Only the runs measured under this malloc setting (fit/store_samples.h ReadHostSamples; ""
  // = every run, one setting per host). Networks measured under another setting than their
  // host's layers are left out either way, with a note.
  std::string malloc;
};

// Error statistics of predictions against measurements (all measured > 0).
struct ErrorSummary {
  int64_t n = 0;
  double rmspe_pct = 0;   // sqrt(mean(e^2)) * 100
  double median_pct = 0;  // median signed error * 100
  double within_10 = 0;   // share |e| <= 0.10
  double within_25 = 0;   // share |e| <= 0.25
  double min_ratio = 0;   // smallest predicted / measured
  double max_ratio = 0;   // largest predicted / measured
};
// Throws std::invalid_argument for mismatched sizes or a measured value <= 0. Empty: n = 0.
ErrorSummary Summarise(const std::vector<double>& predicted, const std::vector<double>& measured);

// (a) one model's held-out metrics, one entry per kind (empty where that kind had no model).
struct HeldOutRow {
  std::string layer, pass, quantity;
  std::vector<std::optional<Metrics>> by_kind;
};

// (b) one real-network layer config and pass.
struct LayerScore {
  std::string network;
  std::string paths;  // the network's paths using this config, comma separated
  std::string layer, pass, quantity;
  double measured = 0;
  std::vector<std::optional<double>> predicted_by_kind;  // empty: no model of that kind
};

// (c) one phase of one measured network.
struct PhaseScore {
  std::string network;
  int64_t batch_size = 0;
  std::string phase;  // forward, loss, backward, optimizer, backward+step, iteration
  std::string quantity;
  int64_t iterations = 0;
  double measured_median = 0;
  double measured_spread = 0;  // (p75 - p25) / 2 / median
  std::vector<std::optional<double>> predicted_by_kind;
  std::vector<bool> lower_bound_by_kind;  // the prediction misses unmodelled layers
  bool own_layers_left_out = false;       // the network had net-layers samples, removed
};

// (d) one phase of one network.
struct CompositionRow {
  std::string network;
  int64_t batch_size = 0;
  std::string phase;  // forward, loss, backward, optimizer, iteration
  std::string quantity;
  double isolated_sum = 0;
  double measured_median = 0;
  // Time rows where measure counted them (schema 6): the sum of the isolated passes' minor
  // faults per execution, and the median of the network phase's per iteration.
  std::optional<double> isolated_faults;
  std::optional<double> measured_faults;
  // The host's median first-touch cost per page, seconds (its speed_probes; unset without).
  std::optional<double> first_touch_s;
  // The isolated sum plus the extra pages' first-touch time, (measured_faults -
  // isolated_faults) x first_touch_s; unset unless all three are known.
  std::optional<double> FaultCorrectedSum() const;
};

// (f) one phase of one measured network whose iterations' page faults vary.
struct FaultFitRow {
  std::string network;
  int64_t batch_size = 0;
  std::string phase;  // forward, backward, iteration
  FaultTimeFit fit;
};

struct HostEvaluation {
  std::string host, cpu_model, blas, torch_version;
  std::string malloc_setting;  // the layer runs' (core/malloc_setting.h); "" when not recorded
  int threads_used = 0;
  std::vector<std::string> kinds;  // names, in EvaluationOptions order
  std::vector<HeldOutRow> held_out;
  std::vector<LayerScore> layers;
  std::vector<PhaseScore> phases;
  std::vector<CompositionRow> composition;
  std::vector<FaultFitRow> fault_fits;
  std::vector<std::string> notes;  // what was skipped and why
};

// Evaluates every host in the databases (or only `host`). Throws ConfigError for a missing
// database or no samples, StoreError from the store.
std::vector<HostEvaluation> Evaluate(const std::vector<std::string>& db_paths,
                                     const std::string& host, const EvaluationOptions& options);

// Markdown: per host the tables (a)-(d), each with a column group per kind, and a summary of
// (b) and (c) per kind.
std::string FormatEvaluation(const std::vector<HostEvaluation>& hosts);
// The same as JSON: [{"host", "cpu_model", ..., "kinds", "held_out", "layers",
// "layer_summary": {kind: {network|"all": ErrorSummary}}, "phases", "composition", "fault_fits",
// "notes"}].
nlohmann::json ToJson(const std::vector<HostEvaluation>& hosts);

}  // namespace lj
