#pragma once
// The measurement protocol: time (and, with a meter, RAPL energy) of one forward or backward
// pass of one layer, as means per single execution over several trials.
//
// Protocol, for each pass (forward first, then backward), with E = one execution:
//   1. Warm-up: max(1, warmup_runs) executions, each timed; an execution of >= min_time_s ends
//      the warm-up early (that layer runs once per trial). The first execution pays one-off
//      costs (oneDNN primitive creation, lazy init, first-touch page faults of new buffers).
//      An execution that faulted in kSettledFaults fresh pages or more (measure/page_faults.h)
//      is followed by another, up to kMaxFreshPageWarmups more, whatever its time: glibc's heap
//      needs a few executions of a layer with large tensors before it reuses its freed chunks
//      (under measure --malloc keep-freed, AlexNet's 9216 -> 4096 linear backward faulted in its
//      144 MiB weight gradient in each of its first 3-4 executions, then none; the same layer in
//      the network faults none per iteration; JOURNAL.md 2026-12-08). Under glibc's default,
//      every execution faults in its mmap'd tensors and the cap ends the warm-up.
//   2. Calibration: if the last warm-up execution alone lasted >= min_time_s, n = 1. Otherwise
//      a pilot run of ceil(0.1 * min_time_s / t_last_warmup) executions gives the sustained
//      time per execution t_pilot, and n = ceil(1.1 * min_time_s / t_pilot). The pilot costs
//      about 0.1 x min_time_s per pass (a calibration that grew n over runs of min_time_s each
//      cost 1-1.5 x min_time_s: 45 % of a night's wall time, JOURNAL.md 2026-12-03).
//   3. Trials: `trials` times { counters = meter->Read(); t0 = steady_clock::now();
//      n executions; t1 = now(); counters' = meter->Read() }. A trial that
//      lasted less than 0.5 x min_time_s (the trials ran faster than the pilot) is discarded, n
//      grows from its rate (with the 10 % margin, by at least 1) and the trials start again, so
//      every stored trial lasts >= 0.5 x min_time_s, typically 1.0-1.2 x min_time_s. Per-execution
//      time of a trial is (t1 - t0) / n, per-execution energy is meter->Between(counters,
//      counters') / n. Nothing but the executions (and one relaxed load of `stop` each) runs inside
//      the timed loop.
//   Reported: mean and sample standard deviation (n - 1; 0 for one trial) over the trials.
//   4. Conditions (measure/sample_conditions.h): /proc/stat, getrusage and the package sensors
//      are read before and after the trials (outside the timed loops). While other processes
//      took more than max_contention of all cores' time, step 3 runs again (contention_retries
//      times at most) and the least contended attempt is kept, flagged if still above.
//   5. Page faults (measure/page_faults.h): getrusage's minor faults are read around each
//      stored trial (outside the timed loop); their sum over n x trials executions is the
//      pass's faults per execution.
//
// Why min_time_s matters: RAPL counters update about every 1 ms and count in energy units of
// 15.3-61 uJ (2^-ESU J), so a window of W seconds carries up to ~1 ms of update jitter plus
// one unit of quantisation. At tens of watts, W >= 0.1-0.25 s keeps both below 1 % of the
// window's energy; the steady_clock resolution (ns) is then irrelevant too. Short layers are
// therefore repeated n times per trial instead of being measured once.
//
// Energy is never estimated: without a meter (nullptr, or a meter with no zones, e.g. "none")
// all energy fields stay empty.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <vector>

#include "core/layer_config.h"
#include "measure/energy_meter.h"
#include "measure/sample_conditions.h"

namespace lj {

// Step 1's rule: a warm-up execution with fewer minor faults than this (1 MiB of 4 KiB pages)
// has settled; at most kMaxFreshPageWarmups warm-ups are added for executions that had not.
inline constexpr int64_t kSettledFaults = 256;
inline constexpr int kMaxFreshPageWarmups = 4;

struct MeasureOptions {
  double min_time_s = 0.25;  // minimum duration of one trial (n executions), seconds; > 0
  int trials = 3;            // trials per pass; >= 1
  int warmup_runs = 2;       // untimed warm-up executions per pass before calibration; >= 0
  // A pass whose trials shared the host with other work (measure/sample_conditions.h) above
  // this share of all cores' time is measured again, up to contention_retries more times; the
  // least contended attempt is kept and flagged `contended` if it is still above. In [0, 1].
  double max_contention = 0.10;
  int contention_retries = 2;   // >= 0
  ConditionSources conditions;  // where /proc and /sys/class are (tests: a fake tree)
};

// Checks min_time_s > 0, trials >= 1, warmup_runs >= 0, max_contention in [0, 1],
// contention_retries >= 0.
// Throws: ConfigError naming the field and value, e.g. "min_time_s must be > 0, got 0".
void Validate(const MeasureOptions& options);

// Result of one pass; times and energies are means PER SINGLE EXECUTION over the trials.
struct PassResult {
  Pass pass = Pass::kForward;
  int64_t repetitions = 0;  // executions per trial
  int trials = 0;
  double time_s = 0;      // mean wall time of one execution
  double time_std_s = 0;  // std over trials of the per-execution time
  // Package energy summed over sockets (only when the meter has a package zone).
  std::optional<double> energy_j;
  std::optional<double> energy_std_j;
  std::vector<double> energy_by_socket_j;  // package energy per socket; empty without energy
  std::optional<double> dram_energy_j;     // only with a dram zone
  std::optional<double> psys_energy_j;     // only with a psys zone
  // Tensor memory (LayerRunner::MeasureMemory, one extra untimed execution after the trials;
  // set by MeasureLayer, not by MeasurePass): the pass's peak, and on the forward pass what it
  // keeps for backward (unset for sgd/adam).
  std::optional<int64_t> peak_memory_bytes;
  std::optional<int64_t> saved_bytes;
  // Conditions of the kept trials (measure/sample_conditions.h): other processes' share of all
  // cores' time (unset where /proc/stat is unreadable), the package temperature before and
  // after them in degrees Celsius (unset without a sensor), whether the share stayed above
  // MeasureOptions::max_contention, and how many times the trials were run.
  std::optional<double> contention_share;
  std::optional<double> temperature_start_c;
  std::optional<double> temperature_end_c;
  bool contended = false;
  int attempts = 1;
  // Minor page faults per execution over the kept trials (measure/page_faults.h; the faults
  // of all threads, read around each trial); unset where getrusage failed.
  std::optional<double> minor_faults;
};

// Thrown when `stop` became true during a measurement. what() names the layer and pass.
class MeasurementInterrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Measures one pass given a callable that performs one execution of it (steps 1-3 above).
// `label` is used in error messages (e.g. "conv2d forward"). `stop` is checked between
// executions, so an interruption takes at most one execution.
// Throws: ConfigError for invalid options; MeasurementInterrupted when `stop` became true;
// MeterError from the meter; std::runtime_error ("longer than the ... s a RAPL counter ...
// measures") when the warm execution, or one execution in each of 3 trials in a row, lasts
// longer than meter->MaxWindowS() (a single preempted execution only repeats its trial);
// whatever `execute` throws.
PassResult MeasurePass(Pass pass, const std::function<void()>& execute,
                       const MeasureOptions& options, EnergyMeter* meter,
                       const std::atomic<bool>* stop = nullptr, const char* label = "pass");

// Builds a LayerRunner for `config` (seeded with `seed`) and measures its forward pass, then
// its backward pass (after LayerRunner::PrepareBackward). meter == nullptr measures time only.
// Then one untimed forward and backward execution under LayerRunner::MeasureMemory gives the
// results' tensor memory.
// Returns: {forward, backward}; {forward} alone for types without a backward pass
// (HasBackwardPass: the optimizer steps sgd and adam, whose forward execution is one
// optimizer.step()), so that `measure` stores exactly the rows that exist.
// Throws: as MeasurePass, and ConfigError / std::runtime_error from building the layer.
std::vector<PassResult> MeasureLayer(const LayerConfig& config, const MeasureOptions& options,
                                     EnergyMeter* meter, const std::atomic<bool>* stop = nullptr,
                                     uint64_t seed = 0);

}  // namespace lj
