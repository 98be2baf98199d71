#pragma once
// `measure --check`: what on this host would move layer times and energy by tens of percent,
// each finding with the command that fixes it (issue 14). Also written into every run as the
// run option "preflight" (JSON), so that a row says under which conditions it was measured.
//
// Checked: the cpufreq scaling governor of every core (not "performance"); turbo (intel_pstate
// no_turbo = 0, or cpufreq boost = 1); SMT (/sys/devices/system/cpu/smt/active); other load
// (the share of all cores' time that was not idle over a 0.5 s window while measure itself
// sleeps, from /proc/stat); swap in use (/proc/meminfo); the BLAS kernel (measure/blas_kernel.h).
// What a host does not expose (no cpufreq in a VM) is reported as "unknown", never as fine.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lj {

struct PreflightItem {
  std::string name;    // "governor", "turbo", "smt", "other load", "swap", "blas kernel"
  std::string status;  // "ok", "warn" or "unknown"
  std::string detail;  // what was found, e.g. "cpu0-1: powersave"
  std::string fix;     // for "warn": the command or setting that fixes it; else ""
};

// Where the kernel's files are (tests point these at a fake tree) and the load window.
struct PreflightSources {
  std::string sys_cpu = "/sys/devices/system/cpu";
  std::string proc = "/proc";
  double load_window_s = 0.5;
  // The OpenBLAS core name; "" asks the process (LoadedOpenBlasCorename).
  std::string blas_corename;
};

// Runs every check. Never throws: an unreadable source makes its item "unknown".
std::vector<PreflightItem> RunPreflightChecks(const PreflightSources& sources = {});

// The report `measure --check` prints: one line per item, "[warn] governor: cpu0-1:
// powersave\n       fix: ...".
std::string FormatPreflight(const std::vector<PreflightItem>& items);

// [{"name", "status", "detail", "fix"}, ...], stored as run option "preflight".
nlohmann::json PreflightJson(const std::vector<PreflightItem>& items);

}  // namespace lj
