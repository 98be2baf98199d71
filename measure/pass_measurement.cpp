#include "measure/pass_measurement.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "measure/layer_runner.h"
#include "measure/page_faults.h"
#include "measure/sample_conditions.h"

namespace lj {
namespace {

using Clock = std::chrono::steady_clock;

// The pilot run that calibrates the repetition count lasts about this share of min_time_s.
constexpr double kPilotShare = 0.1;
// A trial after a pilot shorter than this share of min_time_s is measured again with more
// repetitions. Well below 1: on a host whose speed drifts by 5-10 % between trials (this VM, some
// hours), restarting at every trial a little under min_time_s cost more than the pilot saved,
// and at 0.8 a fifth of the passes still restarted because the pilot right after the warm-ups
// runs slower than the trials (JOURNAL.md 2026-12-03, 2026-12-04). A window of 0.5 x min_time_s
// (0.125 s at the default) keeps RAPL's ~1 ms update jitter and its quantisation near 1 %.
constexpr double kShortTrialShare = 0.5;

double SecondsBetween(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

bool StopRequested(const std::atomic<bool>* stop) {
  return stop != nullptr && stop->load(std::memory_order_relaxed);
}

[[noreturn]] void ThrowInterrupted(const char* label) {
  throw MeasurementInterrupted(std::string("measurement of ") + label +
                               " interrupted by stop request");
}

// Runs `n` executions, checking `stop` before each; returns the elapsed wall time in seconds.
// Kept minimal: this loop is the timed region of a trial.
double RunTimed(const std::function<void()>& execute, int64_t n, const std::atomic<bool>* stop,
                const char* label) {
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    if (StopRequested(stop)) ThrowInterrupted(label);
    execute();
  }
  const Clock::time_point end = Clock::now();
  return SecondsBetween(start, end);
}

// Runs `execute` n times with the meter read before, after, and in between whenever the window
// since the last read reaches half of meter.MaxWindowS(), so that no window can hide a second
// wraparound (issue 11); returns the elapsed seconds and the summed energy in *energy. One
// execution longer than MaxWindowS cannot be measured unambiguously: the trial ends at once with
// *long_execution_s set to its duration (> 0) and the energy is not valid; the caller decides
// whether that was a preemption or the layer. CounterResetError from any window propagates.
double RunMeteredInWindows(const std::function<void()>& execute, int64_t n, EnergyMeter& meter,
                           const std::atomic<bool>* stop, const char* label, EnergyDelta* energy,
                           double* long_execution_s) {
  *long_execution_s = 0;
  const double window_s = meter.MaxWindowS();
  WindowedEnergy windows(meter);
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    if (StopRequested(stop)) ThrowInterrupted(label);
    const Clock::time_point before = Clock::now();
    execute();
    const Clock::time_point now = Clock::now();
    if (SecondsBetween(before, now) > window_s) {
      *long_execution_s = SecondsBetween(before, now);
      return SecondsBetween(start, now);
    }
    if (windows.SecondsSinceRead() >= 0.5 * window_s || i + 1 == n) windows.Read();
  }
  const double elapsed_s = SecondsBetween(start, Clock::now());
  *energy = windows.Total();
  return elapsed_s;
}

// Trials in a row with one execution longer than the meter's window before the config fails.
constexpr int kMaxLongExecutions = 3;

// One execution longer than the window a RAPL counter of this range measures unambiguously.
std::runtime_error LongExecutionError(const char* label, double execution_s, double window_s) {
  return std::runtime_error(std::string(label) + ": one execution took " +
                            std::to_string(execution_s) + " s, longer than the " +
                            std::to_string(window_s) +
                            " s a RAPL counter of this range measures unambiguously");
}

struct MeanStd {
  double mean = 0;
  double std = 0;  // sample standard deviation (n - 1); 0 for a single value
};

MeanStd Summarise(const std::vector<double>& values) {
  MeanStd out;
  if (values.empty()) return out;
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = sum / static_cast<double>(values.size());
  if (values.size() > 1) {
    double sq = 0;
    for (double v : values) sq += (v - out.mean) * (v - out.mean);
    out.std = std::sqrt(sq / static_cast<double>(values.size() - 1));
  }
  return out;
}

// Which energy fields the meter can fill.
struct MeterDomains {
  bool package = false;
  bool dram = false;
  bool psys = false;
};

MeterDomains DomainsOf(const EnergyMeter* meter) {
  MeterDomains d;
  if (meter == nullptr) return d;
  for (const RaplZone& zone : meter->Zones()) {
    if (zone.domain == RaplDomain::kPackage) d.package = true;
    if (zone.domain == RaplDomain::kDram) d.dram = true;
    if (zone.domain == RaplDomain::kPsys) d.psys = true;
  }
  return d;
}

}  // namespace

void Validate(const MeasureOptions& options) {
  if (!(options.min_time_s > 0) || !std::isfinite(options.min_time_s)) {
    throw ConfigError("min_time_s must be > 0, got " + std::to_string(options.min_time_s));
  }
  if (options.trials < 1) {
    throw ConfigError("trials must be >= 1, got " + std::to_string(options.trials));
  }
  if (options.warmup_runs < 0) {
    throw ConfigError("warmup_runs must be >= 0, got " + std::to_string(options.warmup_runs));
  }
  if (!(options.max_contention >= 0 && options.max_contention <= 1)) {
    throw ConfigError("max_contention must be in [0, 1], got " +
                      std::to_string(options.max_contention));
  }
  if (options.contention_retries < 0) {
    throw ConfigError("contention_retries must be >= 0, got " +
                      std::to_string(options.contention_retries));
  }
}

namespace {

// The repetition count for trials of >= min_time_s when one execution takes per_execution_s,
// with a 10 % margin; `fallback` when that is not known (a zero reading).
int64_t RepetitionsFor(double min_time_s, double per_execution_s, int64_t fallback) {
  if (!(per_execution_s > 0)) return fallback;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.1 * min_time_s / per_execution_s)));
}

// Step 3 of the protocol: `options.trials` trials of n executions each (probe_s: the last
// warm-up execution, for the choice of metered windows). A trial shorter than
// kShortTrialShare x options.min_time_s (after a pilot that overstated the time per execution,
// or, with n = 1, after a cold first execution that was the only warm-up) ends the attempt:
// *short_per_execution_s is set to its time per execution (> 0) and the result is discarded.
PassResult RunTrials(Pass pass, const std::function<void()>& execute, const MeasureOptions& options,
                     EnergyMeter* meter, const MeterDomains& domains, int64_t n, double probe_s,
                     double* short_per_execution_s, const std::atomic<bool>* stop,
                     const char* label) {
  *short_per_execution_s = 0;
  // Buffers are sized before the first trial; only the meter reads, two clock
  // reads and the executions happen between the counter reads.
  const auto trials = static_cast<size_t>(options.trials);
  std::vector<double> time_s(trials), package_j(trials), dram_j(trials), psys_j(trials);
  std::vector<std::vector<double>> socket_j(trials);
  EnergyCounters before, after;
  const double per_execution = 1.0 / static_cast<double>(n);
  int resets_in_a_row = 0;  // a counter reset at every attempt of a trial is broken
  // A trial expected to last longer than half the meter's unambiguous window (16 s on AMD's
  // range, 65 s on Intel's) is read in several windows; every other trial keeps the two reads
  // around it. A plain trial that turned out longer than the window is measured again in
  // windows.
  const double window_s = meter != nullptr ? meter->MaxWindowS() : 0;
  // A layer whose warm execution is longer than the window cannot be metered at all: the config
  // fails (the meter is fine). One execution stretched past it in a trial is a preemption: the
  // trial is measured again, and only kMaxLongExecutions in a row fail the config.
  if (meter != nullptr && probe_s > window_s) throw LongExecutionError(label, probe_s, window_s);
  int long_in_a_row = 0;
  bool in_windows = meter != nullptr && probe_s * static_cast<double>(n) >= 0.5 * window_s;
  // Minor page faults of the stored trials (measure/page_faults.h), read around each trial.
  int64_t trial_faults = 0;
  bool faults_known = true;
  for (size_t t = 0; t < trials; ++t) {
    const std::optional<int64_t> faults_before = ProcessMinorFaults();
    const auto count_faults = [&] {
      const std::optional<int64_t> faults_after = ProcessMinorFaults();
      if (faults_before && faults_after && *faults_after >= *faults_before) {
        trial_faults += *faults_after - *faults_before;
      } else {
        faults_known = false;
      }
    };
    if (meter == nullptr) {
      const double elapsed_s = RunTimed(execute, n, stop, label);
      if (elapsed_s < kShortTrialShare * options.min_time_s) {
        *short_per_execution_s = std::max(elapsed_s, 1e-9) * per_execution;
        return {};
      }
      time_s[t] = elapsed_s * per_execution;
      count_faults();
      continue;
    }
    double elapsed_s = 0;
    EnergyDelta delta;
    try {
      if (in_windows) {
        double long_execution_s = 0;
        elapsed_s = RunMeteredInWindows(execute, n, *meter, stop, label, &delta, &long_execution_s);
        if (long_execution_s > 0) {
          if (++long_in_a_row >= kMaxLongExecutions) {
            throw LongExecutionError(label, long_execution_s, window_s);
          }
          spdlog::warn(
              "{}: one execution took {:.3g} s, longer than the {:.3g} s window: trial "
              "measured again",
              label, long_execution_s, window_s);
          --t;
          continue;
        }
        long_in_a_row = 0;
      } else {
        before = meter->Read();
        elapsed_s = RunTimed(execute, n, stop, label);
        after = meter->Read();
        if (elapsed_s > window_s) {
          in_windows = true;  // this trial's energy may hide a wraparound: measure it again
          --t;
          continue;
        }
        delta = meter->Between(before, after, elapsed_s);
      }
      if (elapsed_s < kShortTrialShare * options.min_time_s) {
        *short_per_execution_s = std::max(elapsed_s, 1e-9) * per_execution;
        return {};
      }
    } catch (const CounterResetError& e) {
      // Not stored: this trial is measured again. Resets far apart (a reboot, a driver reload)
      // never hit one trial twice; a counter that resets in four attempts in a row is broken.
      if (++resets_in_a_row > 3) throw;
      spdlog::warn("{}: counter reset in a trial, measured again: {}", label, e.what());
      --t;
      continue;
    }
    resets_in_a_row = 0;
    package_j[t] = delta.package_j * per_execution;
    dram_j[t] = delta.dram_j.value_or(0) * per_execution;
    psys_j[t] = delta.psys_j.value_or(0) * per_execution;
    socket_j[t] = delta.package_by_socket_j;
    for (double& e : socket_j[t]) e *= per_execution;
    time_s[t] = elapsed_s * per_execution;
    count_faults();
  }

  PassResult result;
  result.pass = pass;
  result.repetitions = n;
  result.trials = options.trials;
  if (faults_known) {
    result.minor_faults = MinorFaultsPerExecution(0, trial_faults, n * options.trials);
  }
  const MeanStd time = Summarise(time_s);
  result.time_s = time.mean;
  result.time_std_s = time.std;
  if (domains.package) {
    const MeanStd energy = Summarise(package_j);
    result.energy_j = energy.mean;
    result.energy_std_j = energy.std;
    const size_t sockets = socket_j.front().size();
    result.energy_by_socket_j.assign(sockets, 0.0);
    for (const std::vector<double>& trial : socket_j) {
      for (size_t s = 0; s < sockets && s < trial.size(); ++s) {
        result.energy_by_socket_j[s] += trial[s] / static_cast<double>(trials);
      }
    }
  }
  if (domains.dram) result.dram_energy_j = Summarise(dram_j).mean;
  if (domains.psys) result.psys_energy_j = Summarise(psys_j).mean;
  return result;
}

}  // namespace

PassResult MeasurePass(Pass pass, const std::function<void()>& execute,
                       const MeasureOptions& options, EnergyMeter* meter,
                       const std::atomic<bool>* stop, const char* label) {
  Validate(options);
  if (meter != nullptr && meter->Zones().empty()) meter = nullptr;  // e.g. the "none" meter
  const MeterDomains domains = DomainsOf(meter);

  // 1. Warm-up; the last execution is the probe for calibration. An execution that lasts
  // min_time_s or more ends the warm-up: such a layer runs once per trial, its one-off costs
  // were paid in that execution, and a second warm-up would cost as much as a trial.
  // A warm-up execution that faulted in kSettledFaults pages or more has not reached the heap's
  // steady state yet and is followed by another, up to kMaxFreshPageWarmups (see the header).
  double probe_s = 0;
  const int warmups = std::max(1, options.warmup_runs);
  int fresh_page_warmups = 0;
  for (int i = 0;; ++i) {
    const std::optional<int64_t> faults_before = ProcessMinorFaults();
    probe_s = RunTimed(execute, 1, stop, label);
    const std::optional<int64_t> faults = MinorFaultsBetween(faults_before, ProcessMinorFaults());
    if (faults && *faults >= kSettledFaults && fresh_page_warmups < kMaxFreshPageWarmups) {
      ++fresh_page_warmups;
      continue;
    }
    if (i + 1 >= warmups || probe_s >= options.min_time_s) break;
  }

  // 2. Calibration of the repetition count n from a pilot run of about kPilotShare x
  // min_time_s: its time per execution is the sustained one (warm caches), which a single
  // warm-up execution overstates for short layers.
  const double min_time_s = options.min_time_s;
  int64_t n = 1;
  if (probe_s < min_time_s) {
    const int64_t pilot = RepetitionsFor(kPilotShare * min_time_s / 1.1, probe_s, 10);
    const double pilot_s = RunTimed(execute, pilot, stop, label);
    n = RepetitionsFor(min_time_s, pilot_s / static_cast<double>(pilot), pilot * 10);
  }

  // 3. Trials, measured again while other processes took more than options.max_contention of
  // the host's CPU time (measure/sample_conditions.h); the least contended attempt is kept.
  PassResult result;
  for (int attempt = 0;; ++attempt) {
    const std::optional<double> temperature_start_c = PackageTemperatureC(options.conditions);
    const CpuTimeSnapshot cpu_before = ReadCpuTimes(options.conditions);
    double short_per_execution_s = 0;
    PassResult attempt_result = RunTrials(pass, execute, options, meter, domains, n, probe_s,
                                          &short_per_execution_s, stop, label);
    if (short_per_execution_s > 0) {
      // A trial fell short (the trials ran faster than the pilot): grow n from the short
      // trial's rate and start the trials again; not an attempt.
      spdlog::debug("{}: a trial of {} executions lasted {:.3g} s: measured again", label, n,
                    short_per_execution_s * static_cast<double>(n));
      n = std::max(n + 1, RepetitionsFor(min_time_s, short_per_execution_s, n * 10));
      --attempt;
      continue;
    }
    attempt_result.contention_share = ContentionShare(cpu_before, ReadCpuTimes(options.conditions));
    attempt_result.temperature_start_c = temperature_start_c;
    attempt_result.temperature_end_c = PackageTemperatureC(options.conditions);
    attempt_result.attempts = attempt + 1;
    const double share = attempt_result.contention_share.value_or(0);
    attempt_result.contended = share > options.max_contention;
    if (attempt == 0 || share < result.contention_share.value_or(0)) {
      result = std::move(attempt_result);
    }
    result.attempts = attempt + 1;
    if (!result.contended || attempt >= options.contention_retries) break;
    spdlog::warn(
        "{}: other processes took {:.0f} % of the CPU time during the trials (more than "
        "{:.0f} %): measured again",
        label, 100 * share, 100 * options.max_contention);
  }
  return result;
}

std::vector<PassResult> MeasureLayer(const LayerConfig& config, const MeasureOptions& options,
                                     EnergyMeter* meter, const std::atomic<bool>* stop,
                                     uint64_t seed) {
  Validate(options);
  if (StopRequested(stop)) {
    throw MeasurementInterrupted("measurement of " + std::string(ToString(config.type)) +
                                 " interrupted by stop request");
  }
  LayerRunner runner(config, seed);
  const std::string layer(ToString(config.type));
  const std::string forward_label = layer + " forward";
  const std::string backward_label = layer + " backward";

  std::vector<PassResult> results;
  results.reserve(2);
  results.push_back(MeasurePass(
      Pass::kForward, [&runner] { runner.Forward(); }, options, meter, stop,
      forward_label.c_str()));
  if (HasBackwardPass(config.type)) {  // sgd/adam: the step is the forward row
    if (StopRequested(stop)) ThrowInterrupted(backward_label.c_str());
    runner.PrepareBackward();
    results.push_back(MeasurePass(
        Pass::kBackward, [&runner] { runner.Backward(); }, options, meter, stop,
        backward_label.c_str()));
  }
  const MeasuredLayerMemory memory = runner.MeasureMemory();
  results[0].peak_memory_bytes = memory.forward_peak_bytes;
  results[0].saved_bytes = memory.saved_bytes;
  if (results.size() > 1) results[1].peak_memory_bytes = memory.backward_peak_bytes;
  return results;
}

}  // namespace lj
