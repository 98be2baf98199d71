#include "measure/session.h"

#include <spdlog/spdlog.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/malloc_setting.h"
#include "measure/blas_kernel.h"
#include "measure/energy_meter.h"
#include "measure/host_info.h"
#include "measure/idle_power.h"
#include "measure/openmp_env.h"
#include "measure/pass_measurement.h"
#include "measure/preflight.h"
#include "measure/speed_probe.h"
#include "measure/torch_info.h"

namespace lj {

MeasureSession::MeasureSession(const SessionOptions& options, MeterChoice meter, int threads)
    : options_(options) {
  lock_ = std::make_unique<InstanceLock>(options.lock_path.empty() ? DefaultLockPath()
                                                                   : options.lock_path);
  meter_ = SelectMeter(meter);
  if (!meter_.fallback_reason.empty()) {
    spdlog::warn("==================================================================");
    spdlog::warn("NO ENERGY METER: {}", meter_.fallback_reason);
    spdlog::warn("Recording TIME ONLY: the energy columns of this run will be NULL.");
    spdlog::warn("==================================================================");
  }
  const int used = TorchThreadsFor(threads);
  SetTorchThreads(used);
  host_ = DetectHost();
  host_.threads_used = used;
  host_.torch_version = TorchVersion();
  host_.blas = BlasInfo() + "; " + OpenMpWaitPolicy() + "; " + BlasCoretypeSetting();
  host_.rapl_domains = DescribeZones(meter_.meter.get());
  PreflightSources sources;
  sources.load_window_s = 0.2;
  const std::vector<PreflightItem> preflight = RunPreflightChecks(sources);
  for (const PreflightItem& item : preflight) {
    if (item.status != "warn") continue;
    if (item.name == "blas kernel")
      spdlog::warn("==================================================================");
    spdlog::warn("pre-flight, {}: {}. Fix: {}", item.name, item.detail, item.fix);
    if (item.name == "blas kernel")
      spdlog::warn("==================================================================");
  }
  preflight_json_ = PreflightJson(preflight).dump();
  malloc_setting_ = DescribeMallocSetting();
  spdlog::info("malloc: {} (measure --malloc keep-freed|default)", malloc_setting_);
}

Store& MeasureSession::store() {
  if (!store_) store_ = std::make_unique<Store>(options_.db_path);
  return *store_;
}

RunInfo MeasureSession::NewRun(RunKind kind) {
  if (host_id_ == 0) host_id_ = store().UpsertHost(host_);
  RunInfo run;
  run.host_id = host_id_;
  run.command_line = options_.command_line;
  run.seed = options_.seed;
  run.kind = std::string(ToString(kind));
  run.meter = meter_.name;
  return run;
}

int64_t MeasureSession::CreateRun(const RunInfo& run,
                                  const std::vector<std::pair<std::string, std::string>>& options) {
  Store::Transaction create(store());  // the run and its options, or neither
  const int64_t id = store().CreateRun(run);
  store().SetRunOption(id, kPreflightOption, preflight_json_);
  store().SetRunOption(id, kMallocRunOption, malloc_setting_);
  for (const auto& [name, value] : options) store().SetRunOption(id, name, value);
  create.Commit();
  Announce(id);
  return id;
}

void MeasureSession::Announce(int64_t run_id) const {
  if (options_.on_run) options_.on_run(run_id);
}

std::optional<double> MeasureSession::MeasureIdlePower(int64_t run_id,
                                                       const std::atomic<bool>* stop) {
  if (meter_.meter == nullptr || options_.idle_s <= 0) return std::nullopt;
  IdleRow idle = MeasureIdle(*meter_.meter, options_.idle_s, stop);
  idle.run_id = run_id;
  store().InsertIdle(idle);
  spdlog::info("idle power: {:.2f} W package over {:.1f} s", idle.package_power_w, idle.duration_s);
  return idle.package_power_w;
}

bool MeasureSession::MaybeProbeSpeed(int64_t run_id, const std::atomic<bool>* stop, bool force) {
  if (options_.probe_every_s <= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  if (!force && last_probe_ &&
      std::chrono::duration<double>(now - *last_probe_).count() < options_.probe_every_s) {
    return true;
  }
  std::vector<SpeedProbeRow> rows;
  try {
    // The first probe of a process is slow (first parallel regions, oneDNN primitives, fresh
    // heap: conv2d forward 2.2 ms against 0.9 ms a second later here): measured once untimed.
    if (!last_probe_) MeasureSpeedProbe(run_id, stop);
    rows = MeasureSpeedProbe(run_id, stop);
  } catch (const MeasurementInterrupted&) {
    return false;
  } catch (const std::exception& e) {
    spdlog::warn("run {}: speed probe failed, going on without it: {}", run_id, e.what());
    last_probe_ = std::chrono::steady_clock::now();
    return true;
  }
#ifdef __GLIBC__
  // Give the probe's freed tensors (up to 6.4 MB each) back to the kernel, so that the resident
  // memory a network run measures next (measure/peak_memory.h) does not include them.
  malloc_trim(0);
#endif
  if (stop != nullptr && stop->load()) return false;
  store().InsertSpeedProbe(rows);
  last_probe_ = std::chrono::steady_clock::now();
  std::string times;
  for (const SpeedProbeRow& r : rows) {
    times += fmt::format("{}{} {} {:.3g} ms", times.empty() ? "" : ", ", r.layer, r.pass,
                         r.time_s * 1e3);
  }
  spdlog::info("speed probe: {}", times);
  return true;
}

}  // namespace lj
