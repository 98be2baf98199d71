// measure_run_bench: runs the real `measure` binary on N small random linear configs and prints
//   - resident memory (VmRSS) of the measure process after 100 and after N stored configs,
//   - the share of wall time spent outside the timed loops (warm-up, calibration, building
//     layers, SQLite, sampling): 1 - sum(repetitions * trials * time_s) / wall time.
//   - the trial CV (time_std_s / time_s over the trials of a sample), median and 90th
//     percentile per pass: a protocol that spends less time outside must not raise it.
// Usage: measure_run_bench [N=1000] [MIN_TIME_S=0.01] [TRIALS=3]  (numbers go to JOURNAL.md;
// TRIALS 3 is measure's default)
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/process_util.h"

namespace {

long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = -1;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      break;
    }
  }
  return value;
}

long long StoredConfigs(const std::string& db) {
  try {
    return lj::test::QueryInt(db, "SELECT COUNT(DISTINCT sample_index) FROM samples");
  } catch (const std::exception&) {
    return 0;  // not created yet
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long long n = argc > 1 ? std::stoll(argv[1]) : 1000;
  const std::string min_time = argc > 2 ? argv[2] : "0.01";
  const std::string trials = argc > 3 ? argv[3] : "3";
  const std::string dir = lj::test::ScratchDir();
  const std::string db = dir + "/bench.sqlite", bounds = dir + "/bounds.json";
  lj::test::WriteText(bounds, R"({"layer":"linear","max_forward_macs":1e8,"parameters":{
      "batch_size":{"min":1,"max":64,"distribution":"log_uniform"},
      "in_features":{"min":8,"max":1024,"distribution":"log_uniform"},
      "out_features":{"min":8,"max":1024,"distribution":"log_uniform"}}})");
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid =
      lj::test::Spawn({lj::test::Bin("measure"), "--layer", "linear", "--n", std::to_string(n),
                       "--db", db, "--bounds", bounds, "--meter", "none", "--min-time", min_time,
                       "--trials", trials, "--idle", "0", "--lock-file", dir + "/lock"},
                      dir + "/measure.log");
  long rss_100 = -1, rss_last = -1, rss_peak_seen = 0;
  long long stored = 0;
  while (stored < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stored = StoredConfigs(db);
    const long rss = RssKib(pid);
    if (rss < 0) break;  // exited
    rss_peak_seen = std::max(rss_peak_seen, rss);
    if (rss_100 < 0 && stored >= 100) rss_100 = rss;
    rss_last = rss;
  }
  const int code = lj::test::WaitFor(pid, 120);
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double timed_s =
      std::stod(lj::test::QueryText(db, "SELECT SUM(repetitions * trials * time_s) FROM samples"));
  std::printf("measure_run_bench: %lld linear configs, --min-time %s, %s trials, exit %d\n", stored,
              min_time.c_str(), trials.c_str(), code);
  std::printf("  resident memory after 100 configs: %.1f MiB\n", rss_100 / 1024.0);
  std::printf("  resident memory after %lld configs: %.1f MiB (peak seen %.1f MiB)\n", stored,
              rss_last / 1024.0, rss_peak_seen / 1024.0);
  std::printf("  wall %.1f s, inside timed loops %.1f s, outside %.1f%% of wall\n", wall_s, timed_s,
              100.0 * (1.0 - timed_s / wall_s));
  std::printf("  %.0f configs per hour\n", 3600.0 * static_cast<double>(stored) / wall_s);
  for (const char* pass : {"forward", "backward"}) {
    // Nearest-rank percentiles of the trial CV in SQL (no window functions needed).
    const std::string cv = "time_std_s / time_s";
    const std::string where = " FROM samples WHERE pass = '" + std::string(pass) + "'";
    auto percentile = [&](double p) {
      return std::stod(lj::test::QueryText(
          db, "SELECT " + cv + where + " ORDER BY " + cv + " LIMIT 1 OFFSET (SELECT CAST(" +
                  std::to_string(p) + " * (COUNT(*) - 1) AS INTEGER)" + where + ")"));
    };
    std::printf("  %s trial CV: median %.2f%%, p90 %.2f%%\n", pass, 100 * percentile(0.5),
                100 * percentile(0.9));
  }
  return code == 0 ? 0 : 1;
}
