#pragma once
// A measurement run: random configs within bounds, or a one-factor sweep, stored sample by
// sample. This is the "overnight" loop of `measure`: it takes the host-wide lock, measures
// idle power at start and periodically, stores each config's forward and backward pass in one
// transaction, records configs that throw as failures and goes on, stops cleanly within a few
// seconds on SIGINT/SIGTERM, and can be resumed to exactly N configs with the same seed stream.
// The lock, meter, threads, host row and idle power come from a MeasureSession
// (measure/session.h), shared with network runs.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config_sampler.h"
#include "db/store.h"
#include "measure/pass_measurement.h"
#include "measure/session.h"

namespace lj {

struct RunOptions {
  SessionOptions session;   // database, lock, meter, seed, threads, idle length, on_run
  MeasureOptions protocol;  // per pass: min_time_s 0.25 (JOURNAL.md), 3 trials, 2 warm-ups
  double max_memory_bytes = 4.0 * (1ull << 30);
  // --max-memory given on the command line: a resume refuses a value other than the run's
  // (stored in run_options); without it a resume uses the run's stored value.
  bool max_memory_given = false;
  double idle_every_s = 600.0;  // re-measure idle power this often
  bool resume = false;
  // --continue (issue 14, for a service that restarts measure): resume the unfinished run of
  // this same campaign (kind, layer, seed, bounds or sweep file, --n, --shard) if the database
  // holds one, return at once if it finished, refuse if it failed, else start it.
  bool continue_campaign = false;
  int64_t max_failures = 100;  // give up when this many configs in a row throw
  // --shard K/N (issue 14): only the indices i of the config stream with i mod N = K, so that
  // N hosts with one seed measure one campaign between them; the shard's target is the number
  // of such indices below --n (or among the sweep's points). Stored in run_options ("shard");
  // a resume keeps the run's shard and refuses another one.
  int64_t shard_index = 0;
  int64_t shard_count = 1;
  bool shard_given = false;
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

}  // namespace lj
