#include "measure/sample_conditions.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/file_read.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxKernelFileBytes = int64_t{1} << 20;
// 20 ticks of 10 ms: a shorter window's share would be mostly tick quantisation.
constexpr double kMinResolvableS = 0.2;

// The first 8 fields of /proc/stat's "cpu " line: user nice system idle iowait irq softirq
// steal, in USER_HZ ticks (guest time is already inside user).
std::vector<long long> CpuTicks(const std::string& stat) {
  const size_t at = stat.rfind("cpu ", 0) == 0 ? 0 : stat.find("\ncpu ");
  if (at == std::string::npos) throw std::runtime_error("no 'cpu ' line in /proc/stat");
  std::istringstream in(stat.substr(at == 0 ? 4 : at + 5));
  std::vector<long long> ticks;
  long long t = 0;
  for (int i = 0; i < 8 && in >> t; ++i) ticks.push_back(t);
  if (ticks.size() < 5) throw std::runtime_error("short 'cpu ' line in /proc/stat");
  return ticks;
}

// Busy and total ticks of a "cpu " line.
std::pair<long long, long long> BusyAndTotal(const std::vector<long long>& ticks) {
  long long total = 0, idle = 0;
  for (size_t i = 0; i < ticks.size(); ++i) {
    total += ticks[i];
    if (i == 3 || i == 4) idle += ticks[i];  // idle, iowait
  }
  return {total - idle, total};
}

std::string FirstLine(const fs::path& path) {
  try {
    std::string text = ReadTextFile(path.string(), kMaxKernelFileBytes);
    const size_t end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
  } catch (const std::exception&) {
    return "";
  }
}

// A sysfs temperature in millidegrees, as degrees; nullopt when unreadable or implausible.
std::optional<double> ReadMillidegrees(const fs::path& path) {
  const std::string text = FirstLine(path);
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    const long long milli = std::stoll(text, &used);
    if (milli < -50000 || milli > 200000) return std::nullopt;
    return static_cast<double>(milli) / 1000.0;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void KeepHottest(std::optional<double>& hottest, std::optional<double> t) {
  if (t && (!hottest || *t > *hottest)) hottest = t;
}

}  // namespace

CpuTimeSnapshot ReadCpuTimes(const ConditionSources& sources) {
  CpuTimeSnapshot s;
  try {
    const auto [busy, total] =
        BusyAndTotal(CpuTicks(ReadTextFile(sources.proc + "/stat", kMaxKernelFileBytes)));
    const long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0) return s;
    s.busy_s = static_cast<double>(busy) / static_cast<double>(hz);
    s.total_s = static_cast<double>(total) / static_cast<double>(hz);
  } catch (const std::exception&) {
    return s;
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return s;
  s.own_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  s.valid = true;
  return s;
}

std::optional<double> ContentionShare(const CpuTimeSnapshot& before, const CpuTimeSnapshot& after) {
  if (!before.valid || !after.valid) return std::nullopt;
  const double total = after.total_s - before.total_s;
  if (total < kMinResolvableS) return std::nullopt;
  const double others = (after.busy_s - before.busy_s) - (after.own_s - before.own_s);
  return std::clamp(others / total, 0.0, 1.0);
}

double BusyShare(const std::string& stat_before, const std::string& stat_after) {
  const auto [busy_a, total_a] = BusyAndTotal(CpuTicks(stat_before));
  const auto [busy_b, total_b] = BusyAndTotal(CpuTicks(stat_after));
  const long long total = total_b - total_a;
  if (total <= 0) return 0.0;
  return std::clamp(static_cast<double>(busy_b - busy_a) / static_cast<double>(total), 0.0, 1.0);
}

std::optional<double> PackageTemperatureC(const ConditionSources& sources) {
  std::optional<double> hottest;
  std::error_code ec;
  // hwmon: a CPU driver's package (or die) sensors.
  for (const auto& dir : fs::directory_iterator(sources.sys_class + "/hwmon", ec)) {
    const std::string driver = FirstLine(dir.path() / "name");
    if (driver != "coretemp" && driver != "k10temp" && driver != "zenpower") continue;
    for (int i = 1; i <= 64; ++i) {
      const std::string prefix = "temp" + std::to_string(i);
      const std::string label = FirstLine(dir.path() / (prefix + "_label"));
      const bool package = label.rfind("Package id", 0) == 0 || label == "Tctl" ||
                           label == "Tdie" || (label.empty() && driver != "coretemp" && i == 1);
      if (package) KeepHottest(hottest, ReadMillidegrees(dir.path() / (prefix + "_input")));
    }
  }
  if (hottest) return hottest;
  for (const auto& dir : fs::directory_iterator(sources.sys_class + "/thermal", ec)) {
    if (FirstLine(dir.path() / "type") != "x86_pkg_temp") continue;
    KeepHottest(hottest, ReadMillidegrees(dir.path() / "temp"));
  }
  return hottest;
}

}  // namespace lj
