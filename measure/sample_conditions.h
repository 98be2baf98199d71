#pragma once
// The conditions one sample was measured under (issue 14): how much of the host's CPU time
// other processes (or, in a VM, the hypervisor: steal time) took while the trials ran, and the
// package temperature at their start and end. measure/pass_measurement.h reads a snapshot
// before and after the trials of every pass; a pass whose contention share exceeds
// MeasureOptions::max_contention is measured again, and flagged (samples.contended) if it stays
// above; `fit` leaves flagged samples out unless --include-contended.
//
// Contention share = (busy CPU time of all cores, from the "cpu " line of /proc/stat: user,
// nice, system, irq, softirq, steal - this process's own user + system time, getrusage) / all
// cores' time, both over the trials, in [0, 1]. /proc/stat counts in USER_HZ ticks (10 ms), so
// over a pass's ~0.75 s of trials on 2 cores it resolves about 1 %; a share of 0.5 on a 2-core
// host is one core's worth of other work.
//
// Temperature: the hottest of hwmon's CPU package sensors (coretemp "Package id N", k10temp
// "Tctl"/"Tdie", zenpower) or, failing those, thermal zones of type x86_pkg_temp; unset when
// the host exposes none (a KVM guest).
#include <optional>
#include <string>

namespace lj {

// Where the kernel's files are; tests point these at a fake tree.
struct ConditionSources {
  std::string proc = "/proc";
  std::string sys_class = "/sys/class";
};

// CPU time totals at one instant, seconds.
struct CpuTimeSnapshot {
  double busy_s = 0;   // all cores, not idle or iowait
  double total_s = 0;  // all cores, everything
  double own_s = 0;    // this process, user + system, all threads
  bool valid = false;  // false when /proc/stat could not be read or parsed
};

// Reads /proc/stat and getrusage(RUSAGE_SELF). Never throws (valid = false instead).
CpuTimeSnapshot ReadCpuTimes(const ConditionSources& sources = {});

// Other processes' share of all cores' time between two snapshots, in [0, 1]; nullopt when
// either is invalid or the window held less than 0.2 s of all cores' time (20 ticks: too
// short to resolve; trials of min_time_s 0.25 on 2 cores hold 1.5 s).
std::optional<double> ContentionShare(const CpuTimeSnapshot& before, const CpuTimeSnapshot& after);

// The share of CPU time that was not idle (or iowait) between two /proc/stat texts, from their
// "cpu " lines, in [0, 1] (measure --check's other load). Throws std::runtime_error for text
// without a "cpu " line.
double BusyShare(const std::string& stat_before, const std::string& stat_after);

// The hottest CPU package sensor in degrees Celsius, or nullopt when none is readable.
std::optional<double> PackageTemperatureC(const ConditionSources& sources = {});

}  // namespace lj
