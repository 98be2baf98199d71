#pragma once
// A measure session: what every measuring path of one `measure` process shares (random, near
// and sweep runs in measure/measurement_run.h, network runs in measure/network_run.h), set up in
// this order:
//   1. the host-wide single-instance lock (measure/instance_lock.h), so that two measures never
//      time each other;
//   2. the meter (measure/meter_selection.h): auto falls back to time only with a loud warning,
//      rapl without a working RAPL throws MeterError;
//   3. LibTorch's intra-op thread count;
//   4. the host description (table hosts);
//   5. the database, opened only when first asked for, so that a path that fails before
//      writing (a network that does not run) creates no file.
// It then creates runs of a kind with the host, command line, seed and meter filled in, tells
// the caller each run id (for a second SIGINT), and measures and stores idle power.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/store.h"
#include "db/vocabulary.h"
#include "measure/instance_lock.h"
#include "measure/meter_selection.h"

namespace lj {

// The run option (table run_options) holding measure/preflight.h's report as JSON.
inline constexpr const char* kPreflightOption = "preflight";

// The options every measuring path takes from the command line.
struct SessionOptions {
  std::string db_path = "db/layerjoule.sqlite";
  std::string lock_path;     // "" = DefaultLockPath()
  std::string command_line;  // stored in runs.command_line
  MeterChoice meter = MeterChoice::kAuto;
  uint64_t seed = 1;    // of the config stream, weights and data
  int threads = 0;      // LibTorch intra-op threads; 0 = all hardware threads
  double idle_s = 2.0;  // idle measurement length (with a meter); 0 = none
  // Speed probes (measure/speed_probe.h): at most this many seconds between two probes of a
  // run, between its configs or iterations; <= 0 = no probes at all.
  double probe_every_s = 60.0;
  // Called with the id of each run as it starts or resumes (measure's main remembers it, so a
  // second SIGINT can mark it interrupted before exiting at once).
  std::function<void(int64_t run_id)> on_run;
};

class MeasureSession {
 public:
  // Steps 1 to 4 above; `meter` and `threads` may differ from the options' (a resumed run keeps
  // its own). Throws std::runtime_error if another measure holds the lock, MeterError for rapl
  // without a working RAPL.
  MeasureSession(const SessionOptions& options, MeterChoice meter, int threads);
  explicit MeasureSession(const SessionOptions& options)
      : MeasureSession(options, options.meter, options.threads) {}

  // The database at options.db_path, opened on first use (throws StoreError).
  Store& store();
  EnergyMeter* meter() const { return meter_.meter.get(); }      // nullptr: time only
  const std::string& meter_name() const { return meter_.name; }  // "rapl" or "none"
  const HostInfo& host() const { return host_; }
  int threads() const { return host_.threads_used; }
  // measure/preflight.h's report at session start (JSON text), stored as run option
  // kPreflightOption on every run created; its warnings were logged.
  const std::string& preflight_json() const { return preflight_json_; }
  // DescribeMallocSetting() of this process (core/malloc_setting.h), stored with every run.
  const std::string& malloc_setting() const { return malloc_setting_; }
  const SessionOptions& options() const { return options_; }

  // A run of `kind` for this host (its row upserted on first use), with command_line, seed and
  // meter filled in; the caller adds layer, source_json, target_n and the protocol.
  RunInfo NewRun(RunKind kind);
  // Stores `run` (status "running") with the pre-flight report, the malloc setting (run option
  // kMallocRunOption, core/malloc_setting.h) and `options` (run_options name, value), all or
  // nothing, and announces it; returns its id.
  int64_t CreateRun(const RunInfo& run,
                    const std::vector<std::pair<std::string, std::string>>& options = {});
  // Tells options.on_run that `run_id` is being measured (CreateRun does; a resume calls it).
  void Announce(int64_t run_id) const;

  // Measures idle power for options.idle_s seconds, stores it for `run_id` and logs it.
  // Returns the package idle power in watts, or nullopt (nothing measured) without a meter or
  // with idle_s <= 0.
  std::optional<double> MeasureIdlePower(int64_t run_id, const std::atomic<bool>* stop);
  // Measures and stores a speed probe (measure/speed_probe.h) for `run_id` when `force` is set
  // or options.probe_every_s have passed since this session's last probe (at once for the
  // first); never with probe_every_s <= 0. Call it between configs or iterations, with force at
  // a run's start and end. Returns false when `stop` became true meanwhile (nothing stored). A
  // probe that fails otherwise is logged and skipped: the run goes on without it. Throws
  // StoreError when the store fails.
  bool MaybeProbeSpeed(int64_t run_id, const std::atomic<bool>* stop, bool force = false);

 private:
  SessionOptions options_;
  std::unique_ptr<InstanceLock> lock_;
  SelectedMeter meter_;
  HostInfo host_;
  std::string preflight_json_;
  std::string malloc_setting_;
  std::unique_ptr<Store> store_;
  std::optional<std::chrono::steady_clock::time_point> last_probe_;
  int64_t host_id_ = 0;  // 0 until the host row is upserted
};

}  // namespace lj
