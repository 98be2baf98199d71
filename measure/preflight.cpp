#include "measure/preflight.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/file_read.h"
#include "measure/blas_kernel.h"
#include "measure/sample_conditions.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

// The first line of a small kernel file, or "" when it cannot be read.
std::string ReadLine(const std::string& path) {
  try {
    std::string text = ReadTextFile(path, int64_t{1} << 20);
    const size_t end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
  } catch (const std::exception&) {
    return "";
  }
}

PreflightItem Governor(const PreflightSources& s) {
  PreflightItem item{"governor", "unknown", "", ""};
  std::map<std::string, std::vector<std::string>> cores_by_governor;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(s.sys_cpu, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 4 || name.compare(0, 3, "cpu") != 0 ||
        name.find_first_not_of("0123456789", 3) != std::string::npos) {
      continue;
    }
    const std::string governor = ReadLine(entry.path().string() + "/cpufreq/scaling_governor");
    if (!governor.empty()) cores_by_governor[governor].push_back(name);
  }
  if (cores_by_governor.empty()) {
    item.detail = "no cpufreq scaling_governor under " + s.sys_cpu +
                  " (a VM or a kernel without cpufreq): the frequency is not under our control";
    return item;
  }
  item.status = "ok";
  for (const auto& [governor, cores] : cores_by_governor) {
    item.detail +=
        (item.detail.empty() ? "" : "; ") + std::to_string(cores.size()) + " cores " + governor;
    if (governor != "performance") item.status = "warn";
  }
  if (item.status == "warn") {
    item.fix = "cpupower frequency-set -g performance (or: echo performance | tee " + s.sys_cpu +
               "/cpu*/cpufreq/scaling_governor)";
  }
  return item;
}

PreflightItem Turbo(const PreflightSources& s) {
  PreflightItem item{"turbo", "unknown", "", ""};
  const std::string no_turbo = ReadLine(s.sys_cpu + "/intel_pstate/no_turbo");
  const std::string boost = ReadLine(s.sys_cpu + "/cpufreq/boost");
  if (no_turbo == "0") {
    item.status = "warn";
    item.detail = "intel_pstate no_turbo = 0: turbo on, the clock follows temperature and load";
    item.fix = "echo 1 > " + s.sys_cpu + "/intel_pstate/no_turbo";
  } else if (no_turbo == "1") {
    item.status = "ok";
    item.detail = "intel_pstate no_turbo = 1";
  } else if (boost == "1") {
    item.status = "warn";
    item.detail = "cpufreq boost = 1: turbo on, the clock follows temperature and load";
    item.fix = "echo 0 > " + s.sys_cpu + "/cpufreq/boost";
  } else if (boost == "0") {
    item.status = "ok";
    item.detail = "cpufreq boost = 0";
  } else {
    item.detail = "neither intel_pstate/no_turbo nor cpufreq/boost is readable";
  }
  return item;
}

PreflightItem Smt(const PreflightSources& s) {
  PreflightItem item{"smt", "unknown", "", ""};
  const std::string active = ReadLine(s.sys_cpu + "/smt/active");
  if (active == "1") {
    item.status = "warn";
    item.detail = "SMT active: a sibling thread shares the core's units with the layer";
    item.fix = "echo off > " + s.sys_cpu + "/smt/control (or measure --threads = physical cores)";
  } else if (active == "0") {
    item.status = "ok";
    item.detail = "SMT off or absent";
  } else {
    item.detail = "smt/active is not readable";
  }
  return item;
}

PreflightItem OtherLoad(const PreflightSources& s) {
  PreflightItem item{"other load", "unknown", "", ""};
  try {
    const std::string before = ReadTextFile(s.proc + "/stat", int64_t{1} << 20);
    std::this_thread::sleep_for(std::chrono::duration<double>(s.load_window_s));
    const std::string after = ReadTextFile(s.proc + "/stat", int64_t{1} << 20);
    const double busy = BusyShare(before, after);
    char text[96];
    std::snprintf(text, sizeof text, "%.0f %% of all cores busy over %.1f s while measure slept",
                  100 * busy, s.load_window_s);
    item.detail = text;
    item.status = busy > 0.05 ? "warn" : "ok";
    if (item.status == "warn") {
      item.fix = "stop the other work (top -o %CPU shows it), or run measure on an idle host";
    }
  } catch (const std::exception& e) {
    item.detail = std::string("cannot read ") + s.proc + "/stat: " + e.what();
  }
  return item;
}

PreflightItem Swap(const PreflightSources& s) {
  PreflightItem item{"swap", "unknown", "", ""};
  try {
    std::istringstream in(ReadTextFile(s.proc + "/meminfo", int64_t{1} << 20));
    std::string key;
    long long value = 0, total = -1, free = -1;
    std::string unit;
    while (in >> key >> value) {
      std::getline(in, unit);
      if (key == "SwapTotal:") total = value;
      if (key == "SwapFree:") free = value;
    }
    if (total < 0 || free < 0) throw std::runtime_error("no SwapTotal/SwapFree");
    const long long used_kib = total - free;
    item.detail = std::to_string(used_kib / 1024) + " MiB of " + std::to_string(total / 1024) +
                  " MiB swap in use";
    item.status = used_kib > 0 ? "warn" : "ok";
    if (used_kib > 0)
      item.fix = "swapoff -a && swapon -a (with enough free memory), or --max-memory";
  } catch (const std::exception& e) {
    item.detail = std::string("cannot read ") + s.proc + "/meminfo: " + e.what();
  }
  return item;
}

PreflightItem Blas(const PreflightSources& s) {
  PreflightItem item{"blas kernel", "unknown", "", ""};
  const std::string core = s.blas_corename.empty() ? LoadedOpenBlasCorename() : s.blas_corename;
  const VectorIsa cpu = CpuVectorIsa();
  if (core.empty()) {
    item.detail = "not OpenBLAS (no openblas_get_corename in this process)";
    return item;
  }
  const std::optional<std::string> warning = BlasKernelWarning(core, cpu);
  item.detail = "OpenBLAS core " + core + " (" + ToString(KernelVectorIsa(core)) + ") on an " +
                ToString(cpu) + " CPU; " + BlasCoretypeSetting();
  item.status = warning ? "warn" : "ok";
  if (warning)
    item.fix =
        "export OPENBLAS_CORETYPE=" + CoretypeFor(cpu) + " (or measure --blas-coretype auto)";
  return item;
}

// user nice system idle iowait irq softirq steal of the "cpu " line.
}  // namespace

std::vector<PreflightItem> RunPreflightChecks(const PreflightSources& sources) {
  return {Governor(sources),  Turbo(sources), Smt(sources),
          OtherLoad(sources), Swap(sources),  Blas(sources)};
}

std::string FormatPreflight(const std::vector<PreflightItem>& items) {
  std::string out;
  int warnings = 0;
  for (const PreflightItem& item : items) {
    out += "[" + item.status + "] " + item.name + ": " + item.detail + "\n";
    if (!item.fix.empty()) out += "       fix: " + item.fix + "\n";
    warnings += item.status == "warn";
  }
  out += std::to_string(warnings) + " of " + std::to_string(items.size()) +
         " checks warn; measured rows carry this report (run option 'preflight')\n";
  return out;
}

nlohmann::json PreflightJson(const std::vector<PreflightItem>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const PreflightItem& item : items) {
    out.push_back(
        {{"name", item.name}, {"status", item.status}, {"detail", item.detail}, {"fix", item.fix}});
  }
  return out;
}

}  // namespace lj
