// measure: per-layer forward/backward time and energy into SQLite. See README.md.
#include <semaphore.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "db/store.h"
#include "db/vocabulary.h"
#include "measure/legacy_import.h"
#include "measure/measurement_run.h"
#include "measure/near_anchors.h"
#include "measure/network_run.h"
#include "measure/openmp_env.h"

namespace {

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
std::atomic<int> g_interrupts{0};
std::atomic<int64_t> g_run_id{0};  // the run being measured, 0 before one exists
sem_t g_force_exit;                // posted by a second SIGINT

// The first SIGINT, SIGTERM, SIGHUP or SIGPIPE stops the run after the current execution; a
// second SIGINT (an impatient Ctrl-C during a long execution) wakes the watcher below, which
// exits at once. Only async-signal-safe calls here: lock-free atomics and sem_post.
extern "C" void OnSignal(int signo) {
  g_signal = signo;
  g_stop.store(true);
  if (signo == SIGINT && g_interrupts.fetch_add(1) >= 1) sem_post(&g_force_exit);
}

// Marks the current run interrupted on its own connection and exits with 130, without waiting
// for the measuring thread (a config's stored rows are one transaction, so whatever it was
// writing is rolled back, never half there).
void StartForceExitWatcher(const std::string& db_path) {
  sem_init(&g_force_exit, 0, 0);
  std::thread([db_path] {
    while (sem_wait(&g_force_exit) != 0) {
    }
    const int64_t run = g_run_id.load();
    std::string marked = "no run had started";
    if (run > 0) {
      try {
        lj::Store store(db_path);
        store.SetRunStatus(run, std::string(lj::ToString(lj::RunStatus::kInterrupted)));
        marked = "run " + std::to_string(run) + " marked interrupted";
      } catch (const std::exception& e) {
        marked = "run " + std::to_string(run) + " not marked: " + e.what();
      }
    }
    std::fprintf(stderr, "measure: second SIGINT: exiting now (%s)\n", marked.c_str());
    std::fflush(stderr);
    std::_Exit(128 + SIGINT);
  }).detach();
}

std::string JoinArgs(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) out += (i ? " " : "") + std::string(argv[i]);
  return out;
}

// A number in [lo, hi] (lo itself excluded when !lo_inclusive) and finite: rejects nan, inf and
// values such as 1e300 that would overflow the calibration (issue 11).
CLI::Validator FiniteIn(double lo, double hi, bool lo_inclusive, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && end == text.c_str() + text.size();
        if (number && std::isfinite(v) && (lo_inclusive ? v >= lo : v > lo) && v <= hi) {
          return "";
        }
        return what + " must be a finite number in " + (lo_inclusive ? "[" : "(") +
               CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "], got '" + text +
               "'";
      },
      what);
}

// A plain decimal integer in [lo, hi]: no sign, no leading zero (CLI11 reads "010" as octal 8
// and "-1" into a uint64 as 2^64 - 1), no exponent.
CLI::Validator DecimalIn(uint64_t lo, uint64_t hi, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.size() <= 20 &&
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            (text.size() == 1 || text[0] != '0');
        if (digits) {
          errno = 0;
          const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
          if (errno == 0 && v >= lo && v <= hi) return "";
        }
        return what + " must be a decimal integer in [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "], got '" + text + "'";
      },
      what);
}

// A database file: not empty, not SQLite's ":memory:" or a "file:" URI (either would silently
// discard a night of measurements, issue 11). The type of an existing path is Store's check.
CLI::Validator DatabaseFile() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty()) return "--db must name a database file, got ''";
        if (text == ":memory:" || text.rfind("file:", 0) == 0) {
          return "--db must name a database file, got '" + text +
                 "' (an in-memory or URI database would discard the run)";
        }
        return "";
      },
      "FILE");
}

}  // namespace

int main(int argc, char** argv) {
  lj::EnsureOpenMpWaitPolicy(argv);  // before any timing; see measure/openmp_env.h
  CLI::App app{"measure: time and energy of single layers (forward and backward) into SQLite"};
  lj::RunOptions opt;
  std::string meter = "auto", import_dir, import_host;
  double max_memory_gib = opt.max_memory_bytes / double(1ull << 30);
  std::string layer_names;
  for (lj::LayerType t : lj::AllLayerTypes()) {
    layer_names += (layer_names.empty() ? "" : ", ") + std::string(lj::ToString(t));
  }
  app.add_option("--layer", opt.layer, "layer type (or an alias such as conv): " + layer_names);
  app.add_option("--n", opt.n, "configs to measure (each stores a forward and a backward row)")
      ->check(DecimalIn(0, 1000000000, "--n"));
  app.add_option("--sweep", opt.sweep_path, "one-factor sweep file (configs/sweeps/*.json)");
  app.add_option("--db", opt.db_path, "SQLite database")
      ->capture_default_str()
      ->check(DatabaseFile());
  app.add_option("--bounds", opt.bounds_path, "bounds file [configs/bounds/<layer>.json]");
  app.add_option("--meter", meter, "auto | rapl | none")->capture_default_str();
  app.add_option("--seed", opt.seed, "seed of the config stream")
      ->capture_default_str()
      ->check(DecimalIn(0, UINT64_MAX, "--seed"));
  app.add_option("--threads", opt.threads, "LibTorch intra-op threads [all]")
      ->check(DecimalIn(1, 1024, "--threads"));
  app.add_option("--min-time", opt.min_time_s, "seconds per trial of each pass")
      ->capture_default_str()
      ->check(FiniteIn(0, 3600, false, "--min-time"));
  app.add_option("--trials", opt.trials, "trials per pass")
      ->capture_default_str()
      ->check(DecimalIn(1, 1000, "--trials"));
  app.add_option("--max-memory", max_memory_gib, "skip configs needing more GiB")
      ->capture_default_str()
      ->check(FiniteIn(0, 1048576, false, "--max-memory"));
  app.add_option("--idle", opt.idle_s, "seconds of idle-power measurement")
      ->capture_default_str()
      ->check(FiniteIn(0, 3600, true, "--idle"));
  app.add_option("--idle-every", opt.idle_every_s, "re-measure idle power every S seconds")
      ->capture_default_str()
      ->check(FiniteIn(0, 1e7, false, "--idle-every"));
  app.add_flag("--resume", opt.resume, "continue the last unfinished run in --db");
  app.add_option("--lock-file", opt.lock_path,
                 "host-wide lock [/run/lock/layerjoule-measure.lock]");
  app.add_option("--import-legacy", import_dir, "import the Python prototype's CSV files from DIR");
  app.add_option("--host", import_host, "host name for --import-legacy");
  lj::NetworkRunOptions net;
  int64_t batch_size = 0;
  std::string input;
  app.add_option("--net", net.net_path, "train a whole network: net.json or TorchScript file");
  app.add_option("--iterations", net.iterations, "--net: measured training iterations")
      ->check(DecimalIn(1, 1000000, "--iterations"));
  app.add_option("--batch-size", batch_size, "--net: batch size (overrides net.json)")
      ->check(DecimalIn(1, 1048576, "--batch-size"));
  app.add_option("--input", input, "--net: one sample CxHxW, e.g. 3x64x64");
  app.add_flag("--layers", net.layers, "--net: also measure its conv/maxpool/linear layers");
  app.add_option("--near", opt.near_paths,
                 "with --layer: sample near that type's layers of these net.json files "
                 "(repeatable; run kind near)");
  app.add_option("--near-share", opt.near_share,
                 "with --near: share of draws perturbed from a network layer, the rest uniform")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);

  try {
    opt.meter = lj::ParseMeterChoice(meter);
    opt.max_memory_bytes = max_memory_gib * double(1ull << 30);
    opt.max_memory_given = app.count("--max-memory") > 0;
    opt.command_line = JoinArgs(argc, argv);
    if (!import_dir.empty()) {
      if (import_host.empty()) throw lj::ConfigError("--import-legacy needs --host NAME");
      lj::CheckLegacyDir(import_dir);  // before the database is created
      lj::Store store(opt.db_path);
      std::cout << lj::FormatImportSummary(
          lj::ImportLegacy(import_dir, import_host, store, opt.command_line));
      return 0;
    }
    // A closed ssh session (SIGHUP) or a closed pipe on stdout/stderr (SIGPIPE) stops the run
    // like SIGTERM: the current config finishes and the run is marked interrupted (issue 11).
    for (const int signo : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(signo, OnSignal);
    StartForceExitWatcher(opt.db_path);
    opt.on_run = [](int64_t run_id) { g_run_id.store(run_id); };
    if (!net.net_path.empty()) {
      if (app.count("--batch-size")) net.overrides.batch_size = batch_size;
      if (!input.empty()) net.overrides.input = lj::ParseInputSpec(input);
      net.db_path = opt.db_path;
      net.lock_path = opt.lock_path;
      net.command_line = opt.command_line;
      net.meter = opt.meter;
      net.seed = opt.seed;
      net.threads = opt.threads;
      net.idle_s = opt.idle_s;
      net.layer_options = {opt.min_time_s, opt.trials, opt.warmup_runs};
      net.on_run = opt.on_run;
      const lj::NetworkRunSummary summary = lj::RunNetworkMeasurement(net, g_stop);
      std::cout << lj::FormatNetworkSummary(summary) << std::flush;
      return summary.status == lj::ToString(lj::RunStatus::kFinished)
                 ? 0
                 : 128 + static_cast<int>(g_signal);
    }
    if (opt.sweep_path.empty() && !opt.resume && (opt.layer.empty() || opt.n <= 0)) {
      throw lj::ConfigError(
          "give --layer and --n, --sweep FILE, --net FILE, --resume or --import-legacy DIR");
    }
    if (!opt.near_paths.empty()) {
      if (opt.layer.empty()) throw lj::ConfigError("--near needs --layer");
      opt.near_anchors = lj::AnchorsFromNets(opt.near_paths, lj::ParseLayerType(opt.layer));
    }
    const lj::RunSummary summary = lj::RunMeasurement(opt, g_stop);
    std::cout << lj::FormatSummary(summary) << std::endl;
    if (summary.status == lj::ToString(lj::RunStatus::kFailed)) {
      std::cerr << "measure: error: run " << summary.run_id << ": no config could be measured ("
                << summary.failed << " failed; their errors are in table failures)" << std::endl;
      return 1;
    }
    return summary.status == lj::ToString(lj::RunStatus::kFinished)
               ? 0
               : 128 + static_cast<int>(g_signal);
  } catch (const std::exception& e) {
    std::cerr << "measure: error: " << e.what() << std::endl;
    return 1;
  }
}
