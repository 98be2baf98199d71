#include "measure/measurement_run.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "core/bounds.h"
#include "core/config_sampler.h"
#include "core/cost_model.h"
#include "core/errors.h"
#include "core/json_reader.h"
#include "core/malloc_setting.h"
#include "core/sweep.h"
#include "db/store.h"
#include "db/vocabulary.h"
#include "measure/pass_measurement.h"
#include "measure/progress.h"
#include "measure/sample_rows.h"

namespace lj {
namespace {

using Clock = std::chrono::steady_clock;

// One unit of work: the config at one index of the run's stream.
struct WorkItem {
  LayerConfig config;
  std::optional<std::string> sweep;
  std::optional<double> sweep_value;
  std::optional<std::string> notes;  // near runs: "near <network> <path>" of an anchored draw
  // Set for a sweep point over --max-memory or the MAC cap: recorded as a failure, not run.
  std::optional<std::string> skip_reason;
};

// runs_options name of --max-memory (bytes, "%.17g"): it changes a random run's config stream
// and which sweep points run, so a resume must use the stored value (issue 11).
constexpr const char* kMaxMemoryOption = "max_memory_bytes";
constexpr const char* kShardOption = "shard";

// "K/N" as stored in run_options and given to --shard.
std::string ShardText(int64_t index, int64_t count) {
  return std::to_string(index) + "/" + std::to_string(count);
}

// The indices below `total` that shard index/count measures.
int64_t ShardTarget(int64_t total, int64_t index, int64_t count) {
  return total > index ? (total - index + count - 1) / count : 0;
}

// The first index >= `from` of shard index/count.
int64_t FirstShardIndex(int64_t from, int64_t index, int64_t count) {
  const int64_t offset = ((index - from) % count + count) % count;
  return from + offset;
}

// A stored option's value; a database edited by hand gets a clear error, not a wrong stream.
double ParseStoredDouble(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v <= 0) {
    throw ConfigError(what + ": not a positive number: '" + text.substr(0, 40) + "'");
  }
  return v;
}

std::string Gib(double bytes) { return fmt::format("{:.4g} GiB", bytes / double(1ull << 30)); }

// The run's stream of configs: deterministic per index, so a resumed run sees the same stream.
struct WorkPlan {
  std::string kind;         // random | sweep
  std::string layer;        // conv2d | maxpool2d | linear
  std::string spec_json;    // bounds or sweep document (compact JSON), stored in runs.source_json
  int64_t target = 0;       // configs to store
  int64_t last_index = -1;  // sweeps end at their last point; random runs are open-ended
  std::function<WorkItem(int64_t, RunSummary&)> item;
};

// The stored document of a near run (runs.source_json): {"bounds": <bounds file>, "near_share":
// s, "near": [{"network", "path", "config"}, ...]}; everything a resume needs.
nlohmann::json NearSpec(const nlohmann::json& bounds, const NearOptions& near) {
  nlohmann::json anchors = nlohmann::json::array();
  for (const NearAnchor& a : near.anchors) {
    anchors.push_back({{"network", a.network}, {"path", a.path}, {"config", ToJson(a.config)}});
  }
  return {{"bounds", bounds}, {"near_share", near.near_share}, {"near", anchors}};
}

NearOptions NearFromSpec(const nlohmann::json& spec, LayerType type, const std::string& context) {
  NearOptions near;
  try {
    near.near_share = spec.at("near_share").get<double>();
    for (const auto& a : spec.at("near")) {
      near.anchors.push_back({a.at("network").get<std::string>(), a.at("path").get<std::string>(),
                              LayerConfigFromJson(type, a.at("config"), context)});
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(context + ": not a near-run document: " + e.what());
  }
  return near;
}

WorkPlan RandomPlan(const std::string& layer_name, const nlohmann::json& spec,
                    const std::string& context, uint64_t seed, int64_t n, double max_memory_bytes,
                    const NearOptions& near = {}) {
  if (n <= 0) throw ConfigError("--n must be > 0, got " + std::to_string(n));
  const LayerType type = ParseLayerType(layer_name);
  auto bounds = ParseBounds(spec, context);
  if (bounds.type != type) {
    throw ConfigError(context + ": layer is '" + std::string(ToString(bounds.type)) +
                      "', but --layer asks for '" + std::string(ToString(type)) + "'");
  }
  SamplingCaps caps;
  caps.max_forward_macs = bounds.max_forward_macs;
  caps.max_memory_bytes = max_memory_bytes;
  auto sampler = std::make_shared<ConfigSampler>(bounds, seed, caps, near);
  // Every index is checked before anything is written (issue 11: a rare index whose draws
  // all fail used to abort the run mid-night, and every --resume at the same index). Sampling
  // is microseconds per index; beyond the first kPrecheckedIndices (or past n, after failed
  // configs) the loop's own check marks the run failed instead.
  constexpr int64_t kPrecheckedIndices = 100000;
  for (int64_t i = 0; i < std::min(n, kPrecheckedIndices); ++i) sampler->Sample(i);

  WorkPlan plan;
  plan.kind = std::string(ToString(near.anchors.empty() ? RunKind::kRandom : RunKind::kNear));
  plan.layer = std::string(ToString(type));
  plan.spec_json = near.anchors.empty() ? spec.dump() : NearSpec(spec, near).dump();
  plan.target = n;
  plan.item = [sampler](int64_t index, RunSummary& summary) {
    const SampledConfig sampled = sampler->Sample(index);
    summary.rejected_geometry += sampled.rejected_impossible_geometry;
    summary.rejected_mac_cap += sampled.rejected_over_mac_cap;
    summary.rejected_memory_cap += sampled.rejected_over_memory_cap;
    WorkItem item{sampled.config, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    if (sampled.anchor >= 0) {
      const NearAnchor& a = sampler->near().anchors[static_cast<size_t>(sampled.anchor)];
      item.notes = "near " + a.network + " " + a.path;
    }
    return item;
  };
  return plan;
}

// A resumed run goes on only on the setup it was measured with (issue 11): the same host
// (hostname, CPU, threads, LibTorch, BLAS, RAPL domains), the same meter and the same malloc
// setting (core/malloc_setting.h; runs stored before it was recorded have none to compare); a
// RAPL run resumed without RAPL access would otherwise append time-only rows to an energy data
// set.
void RefuseChangedSetup(Store& store, const RunInfo& run, const HostInfo& now,
                        const std::string& meter, const std::string& flag) {
  const std::string what = flag + ": run " + std::to_string(run.id) + " in " + store.path();
  if (run.meter != meter) {
    throw ConfigError(what + " was measured with meter '" + run.meter + "', this process has '" +
                      meter + "'" +
                      (run.meter == "rapl" ? " (is RAPL readable? run as root, see --meter)" : ""));
  }
  const std::optional<HostInfo> then = store.GetHost(run.host_id);
  if (!then)
    throw ConfigError(what + " names host " + std::to_string(run.host_id) + ", not stored");
  const auto differs = [&](const std::string& field, const std::string& a, const std::string& b) {
    if (a != b) {
      throw ConfigError(what + " was measured with " + field + " '" + a + "', this process has '" +
                        b + "'");
    }
  };
  differs("hostname", then->hostname, now.hostname);
  differs("CPU", then->cpu_model, now.cpu_model);
  differs("threads (--threads)", std::to_string(then->threads_used),
          std::to_string(now.threads_used));
  differs("LibTorch", then->torch_version, now.torch_version);
  differs("BLAS", then->blas, now.blas);
  differs("RAPL domains", then->rapl_domains, now.rapl_domains);
  differs("sockets and cores", std::to_string(then->sockets) + "/" + std::to_string(then->cores),
          std::to_string(now.sockets) + "/" + std::to_string(now.cores));
  if (const std::optional<std::string> malloc_then = store.GetRunOption(run.id, kMallocRunOption)) {
    differs("malloc setting (measure --malloc)", *malloc_then, DescribeMallocSetting());
  }
}

// The MAC cap of a sweep: its layer type's default bounds file's max_forward_macs (sweeps are
// run from the repository root, as the shipped ones say), or none without that file.
double SweepMacCap(LayerType type) {
  const std::string path = DefaultBoundsPath(type);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    spdlog::info("sweep: no {} here, so no MAC cap (only --max-memory)", path);
    return std::numeric_limits<double>::infinity();
  }
  return LoadBounds(path).max_forward_macs;
}

// Points over --max-memory or the MAC cap are skipped (recorded as failures, issue 11); a sweep
// whose every point is over them is refused before anything is written.
WorkPlan SweepPlan(const nlohmann::json& spec_json, const std::string& context,
                   double max_memory_bytes) {
  const SweepSpec spec = ParseSweep(spec_json, context);
  auto points = std::make_shared<std::vector<SweepPoint>>(ExpandSweep(spec));
  const double max_macs = SweepMacCap(spec.type);
  auto skip = std::make_shared<std::vector<std::optional<std::string>>>();
  int64_t runnable = 0;
  for (const SweepPoint& point : *points) {
    const double macs = ForwardMacs(point.config);
    const double bytes = EstimateTrainingMemoryBytes(point.config);
    std::optional<std::string> reason;
    if (bytes > max_memory_bytes) {
      reason = fmt::format("{}: {} = {}: needs about {} to train, over --max-memory {}", context,
                           spec.parameter, point.value, Gib(bytes), Gib(max_memory_bytes));
    } else if (macs > max_macs) {
      reason =
          fmt::format("{}: {} = {}: {:.3g} forward MACs, over the MAC cap {:.3g} of {}", context,
                      spec.parameter, point.value, macs, max_macs, DefaultBoundsPath(spec.type));
    } else {
      ++runnable;
    }
    skip->push_back(reason);
  }
  if (runnable == 0 && !points->empty()) {
    throw ConfigError("every point of the sweep is over a cap, nothing to measure; first: " +
                      *skip->front());
  }
  WorkPlan plan;
  plan.kind = std::string(ToString(RunKind::kSweep));
  plan.layer = std::string(ToString(spec.type));
  plan.spec_json = spec_json.dump();
  plan.target = static_cast<int64_t>(points->size());
  plan.last_index = plan.target - 1;
  const std::string name = spec.name;
  plan.item = [points, skip, name](int64_t index, RunSummary&) {
    const SweepPoint& point = points->at(static_cast<size_t>(index));
    return WorkItem{point.config, name, point.value, std::nullopt,
                    skip->at(static_cast<size_t>(index))};
  };
  return plan;
}

// Best effort, for the error paths: the store may be the thing that failed (disk full); the
// status then stays 'running', which a resume also accepts.
void MarkRunStatus(Store& store, int64_t run_id, RunStatus status) {
  try {
    store.SetRunStatus(run_id, std::string(ToString(status)));
  } catch (const StoreError& e) {
    spdlog::error("could not mark run {} {}: {}", run_id, ToString(status), e.what());
  }
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// --continue: the newest run in db_path of the campaign `plan` describes (same kind, layer,
// seed, stored bounds or sweep document, target and shard), or nullopt for none (or no file).
// Throws ConfigError for a failed one: restarting would fail again or hide why.
std::optional<RunInfo> CampaignRun(const std::string& db_path, const WorkPlan& plan, uint64_t seed,
                                   int64_t target, const std::string& shard) {
  if (!FileExists(db_path)) return std::nullopt;
  Store probe(db_path, Store::Access::kReadOnly);
  std::vector<RunInfo> runs = probe.ReadRuns();
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (it->kind != plan.kind || it->layer != plan.layer || it->seed != seed ||
        it->source_json != plan.spec_json || it->target_n != target ||
        probe.GetRunOption(it->id, kShardOption).value_or("0/1") != shard) {
      continue;
    }
    if (it->status == ToString(RunStatus::kFailed)) {
      throw ConfigError("--continue: run " + std::to_string(it->id) + " of this campaign in " +
                        db_path +
                        " failed (its errors are in table failures); fix the cause and start it "
                        "anew without --continue");
    }
    return *it;
  }
  return std::nullopt;
}

}  // namespace

RunSummary RunMeasurement(const RunOptions& options, const std::atomic<bool>& stop) {
  const auto wall_start = Clock::now();

  // 1. Validate every input before anything is written.
  const SessionOptions& session_options = options.session;
  const std::string& db_path = session_options.db_path;
  if (options.protocol.min_time_s <= 0) {
    throw ConfigError("--min-time must be > 0 s, got " +
                      std::to_string(options.protocol.min_time_s));
  }
  if (options.protocol.trials < 1) {
    throw ConfigError("--trials must be >= 1, got " + std::to_string(options.protocol.trials));
  }
  std::optional<RunInfo> resumed;
  int threads_wanted = session_options.threads;
  int64_t shard_index = options.shard_index;
  int64_t shard_count = options.shard_count;
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count) {
    throw ConfigError("--shard must be K/N with 0 <= K < N, got " +
                      ShardText(shard_index, shard_count));
  }
  double max_memory_bytes = options.max_memory_bytes;
  // The flag that continues a stored run, for its errors.
  const std::string flag = options.resume ? "--resume" : "--continue";
  WorkPlan plan;
  if (options.resume) {
    if (!FileExists(db_path)) throw ConfigError("--resume: no database at " + db_path);
    // Read-only: an empty or foreign file is refused, not given a schema (issue 11).
    Store probe(db_path, Store::Access::kReadOnly);
    if (options.sweep_path.empty()) {
      // The newer of the last unfinished random and near runs.
      resumed = probe.LastUnfinishedRun(std::string(ToString(RunKind::kRandom)));
      const std::optional<RunInfo> near_run =
          probe.LastUnfinishedRun(std::string(ToString(RunKind::kNear)));
      if (near_run && (!resumed || near_run->id > resumed->id)) resumed = near_run;
    } else {
      resumed = probe.LastUnfinishedRun(std::string(ToString(RunKind::kSweep)));
    }
    if (!resumed) {
      throw ConfigError("--resume: " + db_path + " has no unfinished " +
                        (options.sweep_path.empty() ? "random or near" : "sweep") + " run");
    }
  } else {
    if (!options.sweep_path.empty()) {
      plan = SweepPlan(LoadJsonFile(options.sweep_path), options.sweep_path, max_memory_bytes);
    } else {
      if (options.layer.empty()) {
        throw ConfigError(
            "--layer is required (e.g. conv, maxpool, linear, batchnorm2d, relu, sgd)");
      }
      const std::string layer = std::string(ToString(ParseLayerType(options.layer)));
      const std::string bounds_path = options.bounds_path.empty()
                                          ? DefaultBoundsPath(ParseLayerType(options.layer))
                                          : options.bounds_path;
      NearOptions near;
      near.anchors = options.near_anchors;
      near.near_share = options.near_share;
      if (!options.near_paths.empty() && near.anchors.empty()) {
        throw ConfigError("--near: the networks have no " + layer + " layers to sample near");
      }
      plan = RandomPlan(layer, LoadJsonFile(bounds_path), bounds_path, session_options.seed,
                        options.n, options.max_memory_bytes, near);
    }
    if (options.continue_campaign) {
      const int64_t target =
          shard_count > 1 ? ShardTarget(plan.target, shard_index, shard_count) : plan.target;
      resumed = CampaignRun(db_path, plan, session_options.seed, target,
                            ShardText(shard_index, shard_count));
      if (resumed && resumed->status == ToString(RunStatus::kFinished)) {
        spdlog::info("--continue: run {} of this campaign in {} finished already", resumed->id,
                     db_path);
        RunSummary done;
        done.run_id = resumed->id;
        done.status = resumed->status;
        done.meter = resumed->meter;
        done.target = resumed->target_n;
        Store probe(db_path, Store::Access::kReadOnly);
        done.stored = probe.CountStoredConfigs(resumed->id);
        done.failed = probe.CountFailures(resumed->id);
        return done;
      }
      if (resumed) spdlog::info("--continue: resuming run {} of this campaign", resumed->id);
    }
  }
  if (resumed) {
    Store probe(db_path, Store::Access::kReadOnly);
    // Without --threads, a resumed run keeps the thread count it was measured with.
    if (threads_wanted == 0) {
      if (const std::optional<HostInfo> then = probe.GetHost(resumed->host_id)) {
        threads_wanted = then->threads_used;
      }
    }
    const std::string context = db_path + ": run " + std::to_string(resumed->id);
    // --max-memory changes the config stream: a resume samples with the run's own value.
    if (const std::optional<std::string> then = probe.GetRunOption(resumed->id, kMaxMemoryOption)) {
      const double then_bytes = ParseStoredDouble(*then, context + ": " + kMaxMemoryOption);
      if (options.max_memory_given && then_bytes != options.max_memory_bytes) {
        throw ConfigError(flag + ": " + context + " was sampled with --max-memory " +
                          Gib(then_bytes) + ", this process asks for " +
                          Gib(options.max_memory_bytes) +
                          " (the config stream would differ); leave --max-memory out");
      }
      max_memory_bytes = then_bytes;
    } else {
      spdlog::warn(
          "{}: no stored --max-memory (written before run_options existed); resuming "
          "with {}: if the run was started with another value, its configs differ",
          context, Gib(max_memory_bytes));
    }
    // --shard also changes the stream: a resume keeps the run's own shard.
    if (const std::optional<std::string> then = probe.GetRunOption(resumed->id, kShardOption)) {
      if (std::sscanf(then->c_str(), "%" SCNd64 "/%" SCNd64, &shard_index, &shard_count) != 2 ||
          shard_count < 1 || shard_index < 0 || shard_index >= shard_count ||
          ShardText(shard_index, shard_count) != *then) {
        throw ConfigError(context + ": stored option shard is '" + *then + "', not K/N");
      }
    } else {
      shard_index = 0;
      shard_count = 1;
    }
    if (options.shard_given &&
        (options.shard_index != shard_index || options.shard_count != shard_count)) {
      throw ConfigError(flag + ": " + context + " is shard " + ShardText(shard_index, shard_count) +
                        ", this process asks for --shard " +
                        ShardText(options.shard_index, options.shard_count) +
                        " (the configs would differ); leave --shard out");
    }
    const nlohmann::json stored = ParseJsonText(resumed->source_json, context);
    // The indices checked up front: a shard's run to target_n reaches index K + (target - 1) N.
    const int64_t checked_n = resumed->target_n * shard_count;
    if (ParseRunKind(resumed->kind) == RunKind::kSweep) {
      plan = SweepPlan(stored, context, max_memory_bytes);
    } else if (ParseRunKind(resumed->kind) == RunKind::kNear) {
      plan = RandomPlan(resumed->layer, stored.at("bounds"), context, resumed->seed, checked_n,
                        max_memory_bytes,
                        NearFromSpec(stored, ParseLayerType(resumed->layer), context));
    } else {
      plan =
          RandomPlan(resumed->layer, stored, context, resumed->seed, checked_n, max_memory_bytes);
    }
  }

  if (resumed) {
    plan.target = resumed->target_n;  // the shard's own count for a sharded run
  } else if (shard_count > 1) {
    const int64_t total = plan.target;
    plan.target = ShardTarget(total, shard_index, shard_count);
    if (plan.target == 0) {
      throw ConfigError("--shard " + ShardText(shard_index, shard_count) + " of " +
                        std::to_string(total) + " configs leaves this shard nothing to measure");
    }
  }

  // 2. One measure per host; then the meter; then the database.
  // A resumed run keeps its meter unless --meter says otherwise (then RefuseChangedSetup).
  MeterChoice meter_choice = session_options.meter;
  if (resumed && meter_choice == MeterChoice::kAuto) {
    meter_choice = resumed->meter == "rapl" ? MeterChoice::kRapl : MeterChoice::kNone;
  }
  MeasureSession session(session_options, meter_choice, threads_wanted);
  const HostInfo& host = session.host();
  const std::string& meter_name = session.meter_name();
  EnergyMeter* meter = session.meter();
  Store& store = session.store();
  if (resumed) RefuseChangedSetup(store, *resumed, host, meter_name, flag);  // before any write

  RunSummary summary;
  summary.meter = meter_name;
  summary.target = plan.target;
  MeasureOptions measure_options = options.protocol;
  if (resumed) {
    summary.run_id = resumed->id;
    measure_options.min_time_s = resumed->min_time_s;
    measure_options.trials = resumed->trials;
    store.SetRunStatus(resumed->id, std::string(ToString(RunStatus::kRunning)));
    spdlog::info("resuming run {} ({} {}, seed {}): {} of {} configs stored", resumed->id,
                 resumed->kind, resumed->layer, resumed->seed,
                 store.CountStoredConfigs(resumed->id), resumed->target_n);
    session.Announce(summary.run_id);
  } else {
    RunInfo run = session.NewRun(ParseRunKind(plan.kind));
    run.layer = plan.layer;
    run.source_json = plan.spec_json;
    run.target_n = plan.target;
    run.min_time_s = measure_options.min_time_s;
    run.trials = measure_options.trials;
    std::vector<std::pair<std::string, std::string>> run_options = {
        {kMaxMemoryOption, fmt::format("{:.17g}", max_memory_bytes)}};
    if (shard_count > 1)
      run_options.emplace_back(kShardOption, ShardText(shard_index, shard_count));
    summary.run_id = session.CreateRun(run, run_options);
  }
  spdlog::info("run {}: {} {} on {} ({} threads, {}, {}), meter {}", summary.run_id, plan.kind,
               plan.layer, host.cpu_model, session.threads(), host.torch_version, host.blas,
               meter_name);

  // 3. Idle power at start, then periodically.
  std::optional<double> idle_power_w;
  auto last_idle = Clock::now();
  auto measure_idle = [&] {
    const auto measured = session.MeasureIdlePower(summary.run_id, &stop);
    if (!measured) return;
    idle_power_w = measured;
    last_idle = Clock::now();
  };
  int64_t index = 0;
  // A meter that fails (a RAPL zone gone, a counter that keeps resetting) ends the run as
  // failed; a store that fails (disk full) leaves it resumable (issue 11). Either way the
  // process exits non-zero with the cause.
  const std::string run_text = "run " + std::to_string(summary.run_id);
  try {
    measure_idle();
    // The machine's speed at the start, between configs and at the end (measure/speed_probe.h).
    session.MaybeProbeSpeed(summary.run_id, &stop, true);

    // 4. The loop: one transaction per config; failures recorded and skipped.
    summary.stored = store.CountStoredConfigs(summary.run_id);
    Progress progress(plan.target, summary.stored);
    index = FirstShardIndex(store.MaxAttemptedIndex(summary.run_id) + 1, shard_index, shard_count);
    int64_t failures_in_a_row = 0;
    while (summary.stored < plan.target && !stop.load()) {
      if (plan.last_index >= 0 && index > plan.last_index) break;
      if (!session.MaybeProbeSpeed(summary.run_id, &stop)) break;
      if (meter != nullptr &&
          std::chrono::duration<double>(Clock::now() - last_idle).count() > options.idle_every_s) {
        measure_idle();
      }
      WorkItem item;
      try {
        item = plan.item(index, summary);
      } catch (const ConfigError& e) {
        store.SetRunStatus(summary.run_id, std::string(ToString(RunStatus::kFailed)));
        throw ConfigError(std::string(e.what()) + "; run " + std::to_string(summary.run_id) +
                          " is marked failed (a resume would stop at the same index)");
      }
      try {
        if (item.skip_reason) throw std::runtime_error(*item.skip_reason);
        const auto results =
            MeasureLayer(item.config, measure_options, meter, &stop, static_cast<uint64_t>(index));
        if (stop.load()) break;  // an interrupted config is neither stored nor a failure
        std::vector<SampleRow> rows =
            ToSampleRows(results, item.config, summary.run_id, index, meter_name, idle_power_w,
                         item.sweep, item.sweep_value);
        if (item.notes) {
          for (SampleRow& r : rows) r.notes = item.notes;
        }
        store.InsertSamples(rows);
        ++summary.stored;
        ++summary.measured_here;
        failures_in_a_row = 0;
        std::string times = fmt::format("fwd {:.3g} s", results.at(0).time_s);
        if (results.size() > 1) times += fmt::format(" bwd {:.3g} s", results[1].time_s);
        spdlog::info("[{}] #{} {} | {}", plan.layer, index, times, progress.Advance());
      } catch (const MeasurementInterrupted&) {
        break;
      } catch (const StoreError&) {
        throw;  // the database is the product; do not go on without it
      } catch (const MeterError&) {
        throw;  // the meter, not this config, failed: every later config would fail too
      } catch (const std::exception& e) {
        FailureRow failure{summary.run_id, index, plan.layer, ToJson(item.config).dump(), e.what()};
        store.InsertFailure(failure);
        spdlog::warn("[{}] #{} failed: {} (config {})", plan.layer, index, e.what(),
                     failure.config);
        if (++failures_in_a_row >= options.max_failures) {
          store.SetRunStatus(summary.run_id, std::string(ToString(RunStatus::kFailed)));
          throw std::runtime_error("giving up after " + std::to_string(failures_in_a_row) +
                                   " failed configs in a row; last error: " + e.what());
        }
      }
      index += shard_count;
    }
    if (!stop.load()) session.MaybeProbeSpeed(summary.run_id, &stop, true);
  } catch (const MeterError& e) {
    MarkRunStatus(store, summary.run_id, RunStatus::kFailed);
    throw MeterError(std::string(e.what()) + "; " + run_text + " is marked failed");
  } catch (const StoreError& e) {
    MarkRunStatus(store, summary.run_id, RunStatus::kInterrupted);
    throw StoreError(std::string(e.what()) + "; " + run_text +
                     " can be resumed (--resume) once the cause is fixed");
  }

  summary.failed = store.CountFailures(summary.run_id);
  const bool complete =
      summary.stored >= plan.target || (plan.last_index >= 0 && index > plan.last_index);
  // A run (a sweep whose points all failed, say) that stored nothing is not a success.
  const bool all_failed = complete && summary.stored == 0 && summary.failed > 0;
  summary.status = std::string(ToString(all_failed ? RunStatus::kFailed
                                        : complete ? RunStatus::kFinished
                                                   : RunStatus::kInterrupted));
  store.SetRunStatus(summary.run_id, summary.status);
  summary.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  return summary;
}

std::string FormatSummary(const RunSummary& s) {
  std::ostringstream out;
  out << "run " << s.run_id << " " << s.status << ": " << s.stored << "/" << s.target
      << " configs stored (" << s.measured_here << " in this process, " << s.failed
      << " failed), meter " << s.meter << ", " << FormatDuration(s.wall_s) << " wall";
  if (s.rejected_geometry + s.rejected_mac_cap + s.rejected_memory_cap > 0) {
    out << "; resampled draws: " << s.rejected_geometry << " impossible geometry, "
        << s.rejected_mac_cap << " over the MAC cap, " << s.rejected_memory_cap
        << " over the memory cap";
  }
  if (s.status == ToString(RunStatus::kInterrupted)) out << "; continue with --resume";
  return out.str();
}

}  // namespace lj
