#pragma once
// A measurement run: random configs within bounds, or a one-factor sweep, stored sample by
// sample. This is the "overnight" loop of `measure`: it takes the host-wide lock, measures
// idle power at start and periodically, stores each config's forward and backward pass in one
// transaction, records configs that throw as failures and goes on, stops cleanly within a few
// seconds on SIGINT/SIGTERM, and can be resumed to exactly N configs with the same seed stream.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config_sampler.h"
#include "db/store.h"
#include "measure/instance_lock.h"
#include "measure/meter_selection.h"
#include "measure/pass_measurement.h"

namespace lj {

struct RunOptions {
  std::string db_path = "db/layerjoule.sqlite";
  std::string lock_path;     // "" = DefaultLockPath()
  std::string command_line;  // stored in runs.command_line
  MeterChoice meter = MeterChoice::kAuto;
  uint64_t seed = 1;
  int threads = 0;           // 0 = all hardware threads
  double min_time_s = 0.25;  // per trial; see JOURNAL.md for why
  int trials = 3;
  int warmup_runs = 2;
  double max_memory_bytes = 4.0 * (1ull << 30);
  // --max-memory given on the command line: a resume refuses a value other than the run's
  // (stored in run_options); without it a resume uses the run's stored value.
  bool max_memory_given = false;
  double idle_s = 2.0;          // idle measurement length (with a meter)
  double idle_every_s = 600.0;  // re-measure idle power this often
  bool resume = false;
  int64_t max_failures = 100;  // give up when this many configs in a row throw
  // Random sampling (kind "random"):
  std::string layer;        // conv2d, maxpool2d, linear (or aliases)
  std::string bounds_path;  // "" = configs/bounds/<layer>.json
  int64_t n = 0;
  // One-factor sweep (kind "sweep"): non-empty selects a sweep.
  std::string sweep_path;
  // --near NET.json ...: sample near these layers of real networks (core/config_sampler.h,
  // run kind "near"); near_paths are the files, near_anchors their layers of --layer's type
  // (AnchorsFromNets, measure/near_anchors.h), near_share the share of near draws.
  std::vector<std::string> near_paths;
  std::vector<NearAnchor> near_anchors;
  double near_share = 0.7;
  // Called with the id of each run as it starts or resumes (measure's main remembers it, so a
  // second SIGINT can mark it interrupted before exiting at once).
  std::function<void(int64_t run_id)> on_run;
};

struct RunSummary {
  int64_t run_id = 0;
  int64_t stored = 0;  // configs stored in the run (all processes)
  int64_t target = 0;
  int64_t failed = 0;             // failures recorded in the run
  int64_t measured_here = 0;      // configs stored by this process
  int64_t rejected_geometry = 0;  // sampler draws resampled by reason (this process)
  int64_t rejected_mac_cap = 0;
  int64_t rejected_memory_cap = 0;
  std::string status;  // finished, interrupted, failed
  std::string meter;
  double wall_s = 0;
};

// Runs (or resumes) a measurement. Inputs are fully validated before anything is written:
// a bad bounds or sweep file throws ConfigError and leaves no database behind.
// `stop` is polled between executions; the caller's SIGINT/SIGTERM handlers set it.
RunSummary RunMeasurement(const RunOptions& options, const std::atomic<bool>& stop);

std::string FormatSummary(const RunSummary& summary);

// The host-wide setup every measuring run shares (random and sweep runs here, network runs in
// measure/network_run.h), in this order: the single-instance lock, the meter (auto falls back
// to time only with a loud warning), LibTorch's thread count, and the host description.
struct MeasurementHost {
  std::unique_ptr<InstanceLock> lock;
  SelectedMeter meter;
  int threads = 0;  // intra-op threads set for LibTorch
  HostInfo host;    // incl. threads_used, torch_version, blas and rapl_domains
};

// lock_path "" = DefaultLockPath(); threads 0 = all hardware threads.
// Throws: std::runtime_error if another measure holds the lock; MeterError for --meter rapl
// without a working RAPL.
MeasurementHost PrepareMeasurementHost(const std::string& lock_path, MeterChoice meter,
                                       int threads);

// Measures idle power for idle_s seconds, stores it for `run_id` and logs it. Returns the
// package idle power in watts, or nullopt (nothing measured) without a meter or with
// idle_s <= 0.
std::optional<double> MeasureAndStoreIdle(EnergyMeter* meter, double idle_s, Store& store,
                                          int64_t run_id, const std::atomic<bool>* stop);

// The sample rows of one measured config (one per PassResult, normally forward and backward);
// idle_power_w is stored only on rows with energy.
std::vector<SampleRow> ToSampleRows(const std::vector<PassResult>& results,
                                    const LayerConfig& config, int64_t run_id, int64_t sample_index,
                                    const std::string& meter, std::optional<double> idle_power_w,
                                    std::optional<std::string> sweep = std::nullopt,
                                    std::optional<double> sweep_value = std::nullopt);

}  // namespace lj
