#include "fit/store_samples.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/errors.h"
#include "core/layer_config.h"
#include "core/malloc_setting.h"
#include "db/store.h"
#include "db/vocabulary.h"
#include "fit/drift_correction.h"
#include "fit/metrics.h"

namespace lj {
namespace {

// Appends `value` to a " | "-joined list unless already present.
void JoinDistinct(std::string& field, const std::string& value) {
  if (field.empty()) {
    field = value;
    return;
  }
  size_t start = 0;
  while (true) {
    const size_t end = field.find(" | ", start);
    if (field.compare(start, end == std::string::npos ? std::string::npos : end - start, value) ==
        0)
      return;
    if (end == std::string::npos) break;
    start = end + 3;
  }
  field += " | " + value;
}

// samples.notes of a net-layers sample: "<network> layer <path>, <path>, ...".
void ParseNetworkNotes(const std::string& notes, PassSample& s) {
  const std::string marker = " layer ";
  const size_t at = notes.find(marker);
  if (at == std::string::npos) return;
  s.network = notes.substr(0, at);
  size_t start = at + marker.size();
  while (start <= notes.size()) {
    const size_t end = notes.find(", ", start);
    s.network_paths.push_back(notes.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 2;
  }
}

void RequireDatabase(const std::string& path) {
  if (path != ":memory:" && !std::filesystem::exists(path)) {
    throw ConfigError(path + ": no such database");  // Store would create an empty one
  }
}

double StoredTime_s(const std::string& text, const std::string& context) {
  try {
    return ParseUtcTime_s(text);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(context + ": " + e.what());
  }
}

// The hostname of a run of one store, looked up once per run.
class RunHostnames {
 public:
  explicit RunHostnames(Store& store) : store_(store) {}
  const std::string& operator()(int64_t run_id) {
    auto it = by_run_.find(run_id);
    if (it == by_run_.end()) it = by_run_.emplace(run_id, store_.HostnameOfRun(run_id)).first;
    return it->second;
  }

 private:
  Store& store_;
  std::map<int64_t, std::string> by_run_;
};

// Calls fn(path, hostname, row) for every speed-probe row of every database, in the order
// stored, skipping hosts other than `host` when it is non-empty; one hostname lookup per run.
void ForEachSpeedProbe(
    const std::vector<std::string>& db_paths, const std::string& host,
    const std::function<void(const std::string&, const std::string&, const SpeedProbeRow&)>& fn) {
  for (const std::string& path : db_paths) {
    RequireDatabase(path);
    Store store(path, Store::Access::kReadOnly);
    RunHostnames hostname_of_run(store);
    for (const SpeedProbeRow& row : store.ReadSpeedProbes()) {
      const std::string& hostname = hostname_of_run(row.run_id);
      if (!host.empty() && hostname != host) continue;
      fn(path, hostname, row);
    }
  }
}

}  // namespace

std::map<std::string, DriftCorrection> ReadDriftCorrections(
    const std::vector<std::string>& db_paths, const std::string& host) {
  std::map<std::string, std::vector<ProbeReading>> readings;
  ForEachSpeedProbe(
      db_paths, host,
      [&](const std::string& path, const std::string& hostname, const SpeedProbeRow& row) {
        if (row.layer == kFirstTouchProbeLayer) return;  // a cost, not a speed
        const std::string context = path + ": speed probe of run " + std::to_string(row.run_id);
        readings[hostname].push_back(
            {StoredTime_s(row.measured_at, context), row.layer + " " + row.pass, row.time_s});
      });
  std::map<std::string, DriftCorrection> out;
  for (const auto& [name, r] : readings) out.emplace(name, DriftCorrection(r));
  return out;
}

std::map<std::string, std::vector<double>> ReadFirstTouchCosts(
    const std::vector<std::string>& db_paths, const std::string& host) {
  std::map<std::string, std::vector<double>> out;
  ForEachSpeedProbe(
      db_paths, host,
      [&](const std::string& path, const std::string& hostname, const SpeedProbeRow& row) {
        if (row.layer != kFirstTouchProbeLayer) return;
        const std::string context =
            path + ": first-touch probe of run " + std::to_string(row.run_id);
        double bytes = 0, page_bytes = 0;
        try {
          const nlohmann::json config = nlohmann::json::parse(row.config);
          bytes = config.at("bytes").get<double>();
          page_bytes = config.at("page_bytes").get<double>();
        } catch (const nlohmann::json::exception& e) {
          throw ConfigError(context + ": config " + row.config + ": " + e.what());
        }
        if (!(bytes >= page_bytes && page_bytes > 0)) {
          throw ConfigError(context + ": bytes must be >= page_bytes > 0, got " + row.config);
        }
        out[hostname].push_back(row.time_s / std::floor(bytes / page_bytes));
      });
  return out;
}

std::map<std::string, FrameworkMemory> ReadFrameworkMemory(const std::vector<std::string>& db_paths,
                                                           const std::string& host) {
  struct Peaks {
    std::vector<double> bytes;
    std::set<std::pair<std::string, int64_t>> runs;  // (database, run id)
  };
  // hostname -> probe network -> its iteration peaks
  std::map<std::string, std::map<std::string, Peaks>> peaks;
  for (const std::string& path : db_paths) {
    RequireDatabase(path);
    Store store(path, Store::Access::kReadOnly);
    RunHostnames hostname_of_run(store);
    for (const char* network : {kFrameworkProbeNetwork, kConvFrameworkProbeNetwork}) {
      for (const NetworkSampleRow& row : store.ReadNetworkSamples(network)) {
        if (row.phase != "iteration" || !row.peak_memory_bytes) continue;
        const std::string& hostname = hostname_of_run(row.run_id);
        if (!host.empty() && hostname != host) continue;
        Peaks& p = peaks[hostname][network];
        p.bytes.push_back(static_cast<double>(*row.peak_memory_bytes));
        p.runs.insert({path, row.run_id});
      }
    }
  }
  // Peaks are positive byte counts: truncating the median keeps it a whole byte.
  const auto median = [](const std::vector<double>& v) { return static_cast<int64_t>(Median(v)); };
  std::map<std::string, FrameworkMemory> out;
  for (const auto& [hostname, by_network] : peaks) {
    const auto base = by_network.find(kFrameworkProbeNetwork);
    if (base == by_network.end()) continue;
    FrameworkMemory m;
    m.base_bytes = median(base->second.bytes);
    m.runs = static_cast<int64_t>(base->second.runs.size());
    const auto conv = by_network.find(kConvFrameworkProbeNetwork);
    if (conv != by_network.end()) {
      m.conv2d_bytes = std::max<int64_t>(0, median(conv->second.bytes) - m.base_bytes);
      m.runs += static_cast<int64_t>(conv->second.runs.size());
    }
    out.emplace(hostname, m);
  }
  return out;
}

double DriftCorrected(double time_s, const std::string& created_at, const std::string& hostname,
                      const std::map<std::string, DriftCorrection>& drift, int64_t* uncorrected,
                      const std::string& context) {
  const auto correction = drift.find(hostname);
  const std::optional<double> factor =
      correction == drift.end() ? std::nullopt
                                : correction->second.FactorAt(StoredTime_s(created_at, context));
  if (factor) return time_s / *factor;
  if (uncorrected) ++*uncorrected;
  return time_s;
}

std::map<std::string, HostSamples> ReadHostSamples(
    const std::vector<std::string>& db_paths, const std::string& host,
    const std::map<std::string, DriftCorrection>* drift, int64_t* uncorrected,
    const std::string& malloc) {
  std::map<std::string, HostSamples> hosts;
  // Per hostname, per recorded malloc setting: "db run N, ..." (runs recording none are not in).
  std::map<std::string, std::map<std::string, std::string>> malloc_runs;
  const std::string wanted_malloc = malloc.empty() ? "" : CanonicalMallocSetting(malloc);
  if (uncorrected) *uncorrected = 0;
  for (const std::string& path : db_paths) {
    RequireDatabase(path);
    Store store(path, Store::Access::kReadOnly);
    std::map<int64_t, std::string> hostname_of_run;       // "" = skip the run
    std::set<int64_t> net_layer_runs;                     // runs of kind "net-layers"
    std::set<int64_t> near_runs;                          // runs of kind "near"
    std::set<std::pair<std::string, int64_t>> described;  // (hostname, host_id) already merged
    for (const SampleRow& row : store.ReadSamples()) {
      auto it = hostname_of_run.find(row.run_id);
      if (it == hostname_of_run.end()) {
        const auto run = store.GetRun(row.run_id);
        const auto info = run ? store.GetHost(run->host_id) : std::nullopt;
        std::string name;
        const std::optional<std::string> setting =
            run ? store.GetRunOption(run->id, kMallocRunOption) : std::nullopt;
        if (run && info && run->kind != ToString(RunKind::kNetwork) &&
            (host.empty() || info->hostname == host) &&
            (wanted_malloc.empty() || !setting || *setting == wanted_malloc)) {
          name = info->hostname;
          if (setting) {
            std::string& runs = malloc_runs[name][*setting];
            runs += (runs.empty() ? "" : ", ") + path + " run " + std::to_string(run->id);
          }
          if (run->kind == ToString(RunKind::kNetLayers)) net_layer_runs.insert(row.run_id);
          if (run->kind == ToString(RunKind::kNear)) near_runs.insert(row.run_id);
          HostSamples& h = hosts[name];
          if (described.insert({name, run->host_id}).second) {
            ModelBundle& b = h.header;
            const bool first = b.hostname.empty();
            b.hostname = name;
            JoinDistinct(b.cpu_model, info->cpu_model);
            JoinDistinct(b.torch_version, info->torch_version);
            JoinDistinct(b.blas, info->blas);
            JoinDistinct(b.rapl_domains, info->rapl_domains);
            if (first) {
              b.sockets = info->sockets;
              b.cores = info->cores;
              b.threads_used = info->threads_used;
            }
          }
          if (h.header.sources.empty() || h.header.sources.back() != path) {
            h.header.sources.push_back(path);
          }
        }
        it = hostname_of_run.emplace(row.run_id, name).first;
      }
      if (it->second.empty()) continue;
      const std::string context = path + ": run " + std::to_string(row.run_id) + " sample " +
                                  std::to_string(row.sample_index) + " (" + row.layer + ")";
      PassSample s;
      try {
        s.config = LayerConfigFromJson(ParseLayerType(row.layer), nlohmann::json::parse(row.config),
                                       context);
      } catch (const nlohmann::json::exception& e) {
        throw ConfigError(context + ": config is not valid JSON: " + e.what());
      }
      s.pass = ParsePass(row.pass);
      s.time_s = row.time_s;
      if (drift) {
        s.time_s =
            DriftCorrected(row.time_s, row.created_at, it->second, *drift, uncorrected, context);
      }
      s.time_spread = row.time_s > 0 ? row.time_std_s / row.time_s : 0;
      s.contended = row.contended.value_or(false);
      s.energy_j = row.energy_j;
      s.meter = row.meter;
      s.minor_faults = row.minor_faults;
      if (net_layer_runs.count(row.run_id) && row.notes) ParseNetworkNotes(*row.notes, s);
      if (near_runs.count(row.run_id) && row.notes && row.notes->rfind("near ", 0) == 0) {
        const std::string rest = row.notes->substr(5);
        s.near_network = rest.substr(0, rest.find(' '));
      }
      hosts[it->second].samples.push_back(std::move(s));
    }
  }
  for (const auto& [name, settings] : malloc_runs) {
    if (settings.size() > 1) {
      std::string list;
      for (const auto& [setting, runs] : settings) {
        list += (list.empty() ? "" : "; ") + std::string("'") + setting + "' (" + runs + ")";
      }
      throw ConfigError("host " + name +
                        ": its runs were measured under different malloc settings, which change "
                        "what a layer costs (core/malloc_setting.h): " +
                        list +
                        ". Fit them apart: --malloc default, --malloc keep-freed or "
                        "--malloc 'SETTING'");
    }
    hosts[name].header.malloc_setting = settings.begin()->first;
  }
  return hosts;
}

}  // namespace lj
