#include "predict/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/errors.h"
#include "core/malloc_setting.h"
#include "db/store.h"
#include "fit/bundle_fit.h"
#include "fit/store_samples.h"
#include "net/net_builder.h"
#include "net/network_input.h"
#include "predict/predictor.h"

namespace lj {
namespace {

const char* const kPhases[] = {"forward",   "loss",          "backward",
                               "optimizer", "backward+step", "iteration"};

// Linear-interpolation quantile of a non-empty vector.
double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// A measured phase over its iterations. Time: the median iteration. Energy: the sum over
// iterations / iterations, since a single short RAPL window is off by up to one counter
// update (measure/network_run.h).
double MeasuredValue(const std::vector<double>& per_iteration, bool energy) {
  return energy ? Mean(per_iteration) : Quantile(per_iteration, 0.5);
}

// One measured network run: per phase, the values of each stored iteration (by index).
struct MeasuredRun {
  std::string db, host, network, definition;
  int64_t batch_size = 0;
  int64_t run_id = 0;
  std::map<std::string, std::map<int64_t, double>> time_s, energy_j;
  std::map<std::string, std::map<int64_t, double>> minor_faults;  // schema 6 rows only
  std::string malloc_setting;  // run option kMallocRunOption; "" when the run recorded none
};

// Adds "backward+step" = iteration - forward for the iterations that have both.
void AddBackwardStep(std::map<std::string, std::map<int64_t, double>>& by_phase) {
  if (!by_phase.count("iteration") || !by_phase.count("forward")) return;
  const auto& forward = by_phase.at("forward");
  std::map<int64_t, double> derived;
  for (const auto& [iteration, total] : by_phase.at("iteration")) {
    const auto it = forward.find(iteration);
    if (it != forward.end() && total > it->second) derived[iteration] = total - it->second;
  }
  if (!derived.empty()) by_phase["backward+step"] = std::move(derived);
}

std::vector<double> Values(const std::map<int64_t, double>& m) {
  std::vector<double> v;
  for (const auto& [i, x] : m) v.push_back(x);
  return v;
}

// Adds the iterations of `from` to `into` under fresh iteration keys (after every key of
// `into`), phase by phase.
void PoolIterations(std::map<std::string, std::map<int64_t, double>>& into,
                    const std::map<std::string, std::map<int64_t, double>>& from) {
  int64_t offset = 0;
  for (const auto& [phase, values] : into) {
    if (!values.empty()) offset = std::max(offset, values.rbegin()->first + 1);
  }
  for (const auto& [phase, values] : from) {
    for (const auto& [iteration, x] : values) into[phase][offset + iteration] = x;
  }
}

// The measured runs per (host, network, batch size) over all databases, pooled: runs with the
// same definition as the newest one add their iterations to it (the machine drifts between
// runs: the medians of three runs of LeNet-5 within 70 minutes were 11.5, 7.1 and 11.7 ms,
// JOURNAL.md 2026-12-02, so one run is a sample of the machine's state, not its typical cost);
// a run with another definition under the same name is replaced by the newer one.
// With `drift`, every phase time is divided by its host's factor at the row's created_at, as
// ReadHostSamples does for the layers (rows with no probe near them are counted in
// *uncorrected and keep their time).
// Runs are pooled only under one malloc setting (core/malloc_setting.h); with a non-empty
// `malloc`, runs that recorded another setting are not read (those that recorded none are).
std::vector<MeasuredRun> ReadMeasuredRuns(const std::vector<std::string>& db_paths,
                                          const std::string& host, const std::string& malloc,
                                          const std::map<std::string, DriftCorrection>* drift,
                                          int64_t* uncorrected) {
  std::map<std::tuple<std::string, std::string, int64_t, std::string>, MeasuredRun> newest;
  const std::string wanted_malloc = malloc.empty() ? "" : CanonicalMallocSetting(malloc);
  for (const std::string& path : db_paths) {
    Store store(path, Store::Access::kReadOnly);
    std::map<int64_t, MeasuredRun> by_run;
    for (const NetworkSampleRow& row : store.ReadNetworkSamples()) {
      // The framework-memory probes measure LibTorch's memory, not a network to predict.
      if (IsFrameworkProbeNetwork(row.network)) continue;
      auto it = by_run.find(row.run_id);
      if (it == by_run.end()) {
        MeasuredRun m;
        m.db = path;
        m.run_id = row.run_id;
        m.network = row.network;
        m.batch_size = row.batch_size;
        if (const auto run = store.GetRun(row.run_id)) {
          m.definition = run->source_json;
          if (const auto info = store.GetHost(run->host_id)) m.host = info->hostname;
        }
        m.malloc_setting = store.GetRunOption(row.run_id, kMallocRunOption).value_or("");
        it = by_run.emplace(row.run_id, std::move(m)).first;
      }
      const double time_s =
          drift ? DriftCorrected(row.time_s, row.created_at, it->second.host, *drift, uncorrected,
                                 path + ": network sample of run " + std::to_string(row.run_id))
                : row.time_s;
      it->second.time_s[row.phase][row.iteration] = time_s;
      if (row.energy_j) it->second.energy_j[row.phase][row.iteration] = *row.energy_j;
      if (row.minor_faults) {
        it->second.minor_faults[row.phase][row.iteration] = static_cast<double>(*row.minor_faults);
      }
    }
    for (auto& [id, m] : by_run) {
      if (!host.empty() && m.host != host) continue;
      if (!wanted_malloc.empty() && !m.malloc_setting.empty() &&
          m.malloc_setting != wanted_malloc) {
        continue;
      }
      AddBackwardStep(m.time_s);
      AddBackwardStep(m.energy_j);
      const auto key = std::make_tuple(m.host, m.network, m.batch_size, m.malloc_setting);
      auto found = newest.find(key);
      if (found != newest.end() && found->second.definition == m.definition) {
        PoolIterations(m.time_s, found->second.time_s);
        PoolIterations(m.energy_j, found->second.energy_j);
        PoolIterations(m.minor_faults, found->second.minor_faults);
      }
      newest[key] = std::move(m);  // ids ascend: the newest run names the pool
    }
  }
  std::vector<MeasuredRun> out;
  for (auto& [key, m] : newest) out.push_back(std::move(m));
  return out;
}

// The layers of a measured network at its measured batch size: from the net.json text stored
// with the run, else <nets_dir>/<network>.json. Empty, with the reason in *why, if neither.
std::optional<NetworkLayers> LayersOf(const MeasuredRun& m, const EvaluationOptions& options,
                                      std::string* why) {
  const std::string context = m.db + ": run " + std::to_string(m.run_id) + " (" + m.network + ")";
  NetworkOverrides overrides;
  overrides.batch_size = m.batch_size;
  NetworkLayers out;
  nlohmann::json stored;
  try {
    stored = nlohmann::json::parse(m.definition);
  } catch (const nlohmann::json::exception&) {
    stored = nullptr;
  }
  if (stored.is_object() && stored.contains("layers")) {
    NetSpec spec = ParseNetSpec(stored, context);
    spec.batch_size = m.batch_size;
    out = NetworkLayersFromSpec(spec);
  } else if (stored.is_object() && stored.contains("torchscript") &&
             stored.at("torchscript").is_string() &&
             std::filesystem::exists(stored.at("torchscript").get<std::string>())) {
    overrides.input = InputFromSampleShape(stored.at("input").get<std::vector<int64_t>>(),
                                           stored.value("input_ids", false));
    overrides.dataset_size = m.batch_size;  // a TorchScript file has no training run
    overrides.epochs = 1;
    out = LoadNetworkLayers(stored.at("torchscript").get<std::string>(), overrides);
  } else {
    const std::string path = options.nets_dir + "/" + m.network + ".json";
    if (!std::filesystem::exists(path)) {
      *why = m.network + " (batch " + std::to_string(m.batch_size) +
             "): no network definition in the database and no " + path;
      return std::nullopt;
    }
    out = LoadNetworkLayers(path, overrides);
  }
  out.run.network = m.network;
  return out;
}

struct PhaseValue {
  std::optional<double> value;
  bool lower_bound = false;
};

PhaseValue PredictedPhase(const PhaseTotals& t, const std::string& phase, bool energy) {
  PhaseValue v;
  const auto known = [](const std::optional<double>& x) { return x.value_or(0.0); };
  if (!energy) {
    if (phase == "forward") return {t.forward_time_s, t.forward_lower_bound};
    if (phase == "loss") return {t.loss_time_s, !t.loss_time_s};
    if (phase == "backward") return {t.backward_time_s, t.backward_lower_bound};
    if (phase == "optimizer") {
      return {t.optimizer_time_s, !t.optimizer_time_s || t.optimizer_lower_bound};
    }
    if (phase == "backward+step") {
      return {known(t.loss_time_s) + t.backward_time_s + known(t.optimizer_time_s),
              t.time_lower_bound};
    }
    if (phase == "iteration") return {t.time_s, t.time_lower_bound};
    return v;
  }
  if (!t.energy_j) return v;
  const bool lb = t.energy_lower_bound;
  if (phase == "forward") return {t.forward_energy_j, lb};
  if (phase == "loss") return {t.loss_energy_j, !t.loss_energy_j};
  if (phase == "backward") return {t.backward_energy_j, lb};
  if (phase == "optimizer") return {t.optimizer_energy_j, !t.optimizer_energy_j};
  if (phase == "backward+step") {
    return {known(t.loss_energy_j) + known(t.backward_energy_j) + known(t.optimizer_energy_j), lb};
  }
  if (phase == "iteration") return {t.energy_j, lb};
  return v;
}

// The phase a path of a net-layers sample belongs to, for the composition gap; "" to skip.
std::string PhaseOfPath(const std::string& path, Pass pass) {
  const std::string acc = kForkAccumulationSuffix;
  if (path == kLossPath) return pass == Pass::kForward ? "loss" : "backward";
  if (path == kOptimizerStepPath || path == kZeroGradPath) {
    return pass == Pass::kForward ? "optimizer" : "";
  }
  if (path == kGradAccumulationPath) return pass == Pass::kForward ? "backward" : "";
  if (path.size() > acc.size() && path.compare(path.size() - acc.size(), acc.size(), acc) == 0) {
    return pass == Pass::kForward ? "backward" : "";  // the add's forward is the accumulation
  }
  return pass == Pass::kForward ? "forward" : "backward";
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// The net-layers samples of one network, one per (config, pass): the last stored wins; in
// stored order.
std::vector<const PassSample*> SamplesOf(const std::vector<PassSample>& samples,
                                         const std::string& network) {
  std::map<std::string, size_t> newest;  // config and pass -> index of its newest sample
  for (size_t i = 0; i < samples.size(); ++i) {
    const PassSample& s = samples[i];
    if (s.network != network) continue;
    newest[std::string(ToString(s.config.type)) + ToJson(s.config).dump() +
           std::string(ToString(s.pass))] = i;
  }
  std::vector<size_t> indices;
  for (const auto& [key, i] : newest) indices.push_back(i);
  std::sort(indices.begin(), indices.end());  // stored order: older samples first
  std::vector<const PassSample*> out;
  for (size_t i : indices) out.push_back(&samples[i]);
  return out;
}

std::vector<ModelBundle> FitKinds(const ModelBundle& header, const std::vector<PassSample>& samples,
                                  const EvaluationOptions& options, double test_fraction) {
  std::vector<ModelBundle> out;
  for (const ModelKind kind : options.kinds) {
    FitOptions fo = options.fit;
    fo.kind = kind;
    fo.test_fraction = test_fraction;
    out.push_back(FitBundle(header, samples, fo));
  }
  return out;
}

}  // namespace

std::optional<double> CompositionRow::FaultCorrectedSum() const {
  if (!isolated_faults || !measured_faults || !first_touch_s) return std::nullopt;
  return isolated_sum + (*measured_faults - *isolated_faults) * *first_touch_s;
}

ErrorSummary Summarise(const std::vector<double>& predicted, const std::vector<double>& measured) {
  if (predicted.size() != measured.size()) {
    throw std::invalid_argument("Summarise: " + std::to_string(predicted.size()) +
                                " predictions for " + std::to_string(measured.size()) +
                                " measurements");
  }
  ErrorSummary s;
  s.n = static_cast<int64_t>(measured.size());
  if (s.n == 0) return s;
  std::vector<double> errors;
  double squares = 0;
  s.min_ratio = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < measured.size(); ++i) {
    if (!(measured[i] > 0)) {
      throw std::invalid_argument("Summarise: measured value " + std::to_string(measured[i]) +
                                  " is not > 0");
    }
    const double ratio = predicted[i] / measured[i];
    const double e = ratio - 1;
    errors.push_back(e);
    squares += e * e;
    if (std::abs(e) <= 0.10) s.within_10 += 1;
    if (std::abs(e) <= 0.25) s.within_25 += 1;
    s.min_ratio = std::min(s.min_ratio, ratio);
    s.max_ratio = std::max(s.max_ratio, ratio);
  }
  const double n = static_cast<double>(s.n);
  s.rmspe_pct = 100 * std::sqrt(squares / n);
  s.median_pct = 100 * Quantile(errors, 0.5);
  s.within_10 /= n;
  s.within_25 /= n;
  return s;
}

namespace {

// "fresh memory: ..." from a host's first-touch probes (seconds per page, >= 1 of them).
std::string FirstTouchNote(std::vector<double> per_page_s) {
  std::sort(per_page_s.begin(), per_page_s.end());
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "fresh memory: the first touch of a page took %.3g us (median of %zu first-touch "
                "probes, range %.3g-%.3g us); a tensor above glibc's 32 MiB mmap threshold pays "
                "it per 4 KiB page on every allocation (measure/first_touch_probe.h)",
                per_page_s[per_page_s.size() / 2] * 1e6, per_page_s.size(),
                per_page_s.front() * 1e6, per_page_s.back() * 1e6);
  return buf;
}

}  // namespace

std::vector<HostEvaluation> Evaluate(const std::vector<std::string>& db_paths,
                                     const std::string& host, const EvaluationOptions& options) {
  if (options.kinds.empty()) throw ConfigError("evaluate: no model kinds to compare");
  std::map<std::string, DriftCorrection> drift;
  if (options.drift_correction) drift = ReadDriftCorrections(db_paths, host);
  int64_t uncorrected_samples = 0;
  const auto hosts = ReadHostSamples(db_paths, host, options.drift_correction ? &drift : nullptr,
                                     &uncorrected_samples, options.malloc);
  if (hosts.empty()) {
    throw ConfigError(host.empty() ? "no samples in the given databases"
                                   : "no samples of host '" + host + "' in the given databases");
  }
  int64_t uncorrected_network_rows = 0;
  std::vector<MeasuredRun> measured =
      ReadMeasuredRuns(db_paths, host, options.malloc, options.drift_correction ? &drift : nullptr,
                       &uncorrected_network_rows);
  // A network measured under another malloc setting than its host's layers is another machine
  // to their models: left out, and each host's report says which (runs recording none are kept).
  std::map<std::string, std::vector<std::string>> other_malloc;
  measured.erase(std::remove_if(measured.begin(), measured.end(),
                                [&](const MeasuredRun& m) {
                                  const auto layers = hosts.find(m.host);
                                  if (layers == hosts.end() || m.malloc_setting.empty() ||
                                      layers->second.header.malloc_setting.empty() ||
                                      m.malloc_setting == layers->second.header.malloc_setting) {
                                    return false;
                                  }
                                  other_malloc[m.host].push_back(m.network + " (run " +
                                                                 std::to_string(m.run_id) + ", '" +
                                                                 m.malloc_setting + "')");
                                  return true;
                                }),
                 measured.end());
  const auto first_touch = ReadFirstTouchCosts(db_paths, host);
  std::vector<HostEvaluation> out;
  for (const auto& [name, data] : hosts) {
    HostEvaluation ev;
    // The host's median cost per fresh page, for (d); unset without probes.
    std::optional<double> first_touch_s;
    if (const auto touch = first_touch.find(name); touch != first_touch.end()) {
      ev.notes.push_back(FirstTouchNote(touch->second));
      first_touch_s = Quantile(touch->second, 0.5);
    }
    if (const auto other = other_malloc.find(name); other != other_malloc.end()) {
      ev.notes.push_back("malloc: the layers were measured under '" + data.header.malloc_setting +
                         "'; left out, measured under another setting: " +
                         Join(other->second, ", ") + " (evaluate --malloc chooses)");
    }
    ev.host = name;
    ev.cpu_model = data.header.cpu_model;
    ev.blas = data.header.blas;
    ev.malloc_setting = data.header.malloc_setting;
    ev.torch_version = data.header.torch_version;
    ev.threads_used = data.header.threads_used;
    for (const ModelKind k : options.kinds) ev.kinds.emplace_back(ToString(k));
    const size_t n_kinds = options.kinds.size();
    if (options.drift_correction) {
      const auto it = drift.find(name);
      if (it == drift.end() || it->second.probes().empty()) {
        ev.notes.push_back("drift correction: no speed probes of this host; times are as measured");
      } else {
        double lo = it->second.probes().front().factor, hi = lo;
        for (const auto& p : it->second.probes()) {
          lo = std::min(lo, p.factor);
          hi = std::max(hi, p.factor);
        }
        char buf[320];
        std::snprintf(buf, sizeof(buf),
                      "drift correction: times at this host's median speed (%zu speed probes, "
                      "factor %.3g-%.3g); %lld samples and %lld network rows (all hosts) had no "
                      "probe within %g minutes and keep their measured time",
                      it->second.probes().size(), lo, hi,
                      static_cast<long long>(uncorrected_samples),
                      static_cast<long long>(uncorrected_network_rows),
                      DriftCorrection::kDefaultMaxGap_s / 60);
        ev.notes.push_back(buf);
      }
    }

    // (a) held-out random rows.
    const std::vector<ModelBundle> split =
        FitKinds(data.header, data.samples, options, options.fit.test_fraction);
    std::map<std::tuple<std::string, std::string, std::string>, size_t> row_of;
    for (size_t k = 0; k < n_kinds; ++k) {
      for (const Model& m : split[k].models) {
        if (m.quantity == Quantity::kPowerW) continue;
        const auto key =
            std::make_tuple(std::string(ToString(m.layer)), std::string(ToString(m.pass)),
                            std::string(ToString(m.quantity)));
        auto it = row_of.find(key);
        if (it == row_of.end()) {
          it = row_of.emplace(key, ev.held_out.size()).first;
          ev.held_out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                                 std::vector<std::optional<Metrics>>(n_kinds)});
        }
        ev.held_out[it->second].by_kind[k] = m.test_metrics;
      }
    }

    // Bundles fitted on every sample, and on every sample but one network's own layers.
    // Per network: its net-layers samples, one per (config, pass); own_data: the networks with
    // net-layers or near samples, which their own fits leave out.
    std::map<std::string, std::vector<const PassSample*>> layer_samples;
    std::set<std::string> own_data;
    for (const PassSample& s : data.samples) {
      if (!s.network.empty()) {
        own_data.insert(s.network);
        layer_samples[s.network];
      }
      if (!s.near_network.empty()) own_data.insert(s.near_network);
    }
    for (auto& [network, samples] : layer_samples) samples = SamplesOf(data.samples, network);
    const std::vector<ModelBundle> all = FitKinds(data.header, data.samples, options, 0);
    std::map<std::string, std::vector<ModelBundle>> without;
    for (const std::string& network : own_data) {
      std::vector<PassSample> rest;
      for (const PassSample& s : data.samples) {
        if (s.network != network && s.near_network != network) rest.push_back(s);
      }
      without[network] = FitKinds(data.header, rest, options, 0);
    }

    // (b) real-network layers, leave one network out.
    for (const auto& [network, samples] : layer_samples) {
      for (const PassSample* s : samples) {
        std::vector<std::pair<Quantity, double>> quantities = {{Quantity::kTimeS, s->time_s}};
        if (s->energy_j && *s->energy_j > 0)
          quantities.push_back({Quantity::kEnergyJ, *s->energy_j});
        for (const auto& [quantity, value] : quantities) {
          if (!(value > 0)) continue;
          LayerScore score;
          score.network = network;
          score.paths = Join(s->network_paths, ", ");
          score.layer = std::string(ToString(s->config.type));
          score.pass = std::string(ToString(s->pass));
          score.quantity = std::string(ToString(quantity));
          score.measured = value;
          for (size_t k = 0; k < n_kinds; ++k) {
            const Model* model = without[network][k].Find(s->config.type, s->pass, quantity);
            score.predicted_by_kind.push_back(
                model ? std::optional<double>(Predict(*model, s->config).value) : std::nullopt);
          }
          ev.layers.push_back(std::move(score));
        }
      }
    }

    // (c) networks, leave one network out; (d) the composition gap; (f) fresh pages.
    for (const MeasuredRun& m : measured) {
      if (m.host != name) continue;
      for (const char* phase : {"forward", "backward", "iteration"}) {
        const auto faults = m.minor_faults.find(phase);
        const auto times = m.time_s.find(phase);
        if (faults == m.minor_faults.end() || times == m.time_s.end()) continue;
        std::vector<double> x, y;
        for (const auto& [iteration, count] : faults->second) {
          if (const auto t = times->second.find(iteration); t != times->second.end()) {
            x.push_back(count);
            y.push_back(t->second);
          }
        }
        if (const std::optional<FaultTimeFit> fit = FitTimeOnFaults(x, y)) {
          ev.fault_fits.push_back({m.network, m.batch_size, phase, *fit});
        }
      }
      std::string why;
      std::optional<NetworkLayers> net;
      try {
        net = LayersOf(m, options, &why);
      } catch (const std::exception& e) {
        why = m.network + " (batch " + std::to_string(m.batch_size) + "): " + e.what();
      }
      const bool own = without.count(m.network) > 0;
      const std::vector<ModelBundle>& bundles = own ? without.at(m.network) : all;
      std::vector<std::optional<NetworkPrediction>> predictions(n_kinds);
      if (net) {
        for (size_t k = 0; k < n_kinds; ++k) {
          try {
            predictions[k] = PredictTraining(net->layers, bundles[k], net->run);
          } catch (const std::exception& e) {
            why = m.network + ": " + e.what();
          }
        }
      }
      if (!why.empty()) ev.notes.push_back("(c) skipped " + why);
      for (const bool energy : {false, true}) {
        const auto& by_phase = energy ? m.energy_j : m.time_s;
        for (const char* phase : kPhases) {
          const auto it = by_phase.find(phase);
          if (it == by_phase.end() || it->second.empty()) continue;
          const std::vector<double> values = Values(it->second);
          PhaseScore p;
          p.network = m.network;
          p.batch_size = m.batch_size;
          p.phase = phase;
          p.quantity = energy ? "energy_j" : "time_s";
          p.iterations = static_cast<int64_t>(values.size());
          p.measured_median = MeasuredValue(values, energy);
          if (!(p.measured_median > 0)) continue;
          p.measured_spread =
              (Quantile(values, 0.75) - Quantile(values, 0.25)) / 2 / p.measured_median;
          p.own_layers_left_out = own;
          for (size_t k = 0; k < n_kinds; ++k) {
            PhaseValue v;
            if (predictions[k]) v = PredictedPhase(predictions[k]->per_batch, phase, energy);
            p.predicted_by_kind.push_back(v.value);
            p.lower_bound_by_kind.push_back(v.lower_bound);
          }
          ev.phases.push_back(std::move(p));
        }
      }
    }
    for (const auto& [network, samples] : layer_samples) {
      const int64_t batch = samples.front()->config.batch_size;
      const MeasuredRun* m = nullptr;
      for (const MeasuredRun& r : measured) {
        if (r.host == name && r.network == network) m = &r;  // the newest of this network
      }
      if (m == nullptr) {
        ev.notes.push_back("(d) " + network + ": net-layers samples but no measured iterations");
        continue;
      }
      for (const bool energy : {false, true}) {
        // One value per path and pass: the newest sample (samples ascend by id), since a path's
        // config can change between runs (the first layer measured without its input
        // gradient since 2026-12-02).
        std::map<std::pair<std::string, Pass>, std::pair<std::string, const PassSample*>> by_path;
        bool complete = true;
        for (const PassSample* s : samples) {
          if (energy && !s->energy_j) complete = false;
          for (const std::string& path : s->network_paths) {
            const std::string phase = PhaseOfPath(path, s->pass);
            if (!phase.empty()) by_path[{path, s->pass}] = {phase, s};
          }
        }
        std::map<std::string, double> sums;
        // Page faults per phase; a phase with a sample that has no count has none.
        std::map<std::string, std::optional<double>> fault_sums;
        for (const auto& [key, phase_sample] : by_path) {
          const PassSample& s = *phase_sample.second;
          const double v = energy ? s.energy_j.value_or(0.0) : s.time_s;
          for (const std::string& phase : {phase_sample.first, std::string("iteration")}) {
            sums[phase] += v;
            auto [it, added] = fault_sums.emplace(phase, 0.0);
            if (it->second && s.minor_faults) {
              *it->second += *s.minor_faults;
            } else {
              it->second.reset();
            }
          }
        }
        if (energy && !complete) continue;
        const auto& by_phase = energy ? m->energy_j : m->time_s;
        for (const char* phase : {"forward", "loss", "backward", "optimizer", "iteration"}) {
          const auto it = by_phase.find(phase);
          if (it == by_phase.end() || !sums.count(phase)) continue;
          const std::vector<double> values = Values(it->second);
          CompositionRow row;
          row.network = network;
          row.batch_size = m->batch_size;
          row.phase = phase;
          row.quantity = energy ? "energy_j" : "time_s";
          row.isolated_sum = sums.at(phase);
          row.measured_median = MeasuredValue(values, energy);
          const auto faults = m->minor_faults.find(phase);
          if (!energy && fault_sums.at(phase) && faults != m->minor_faults.end() &&
              !faults->second.empty()) {
            row.isolated_faults = fault_sums.at(phase);
            row.measured_faults = Quantile(Values(faults->second), 0.5);
            row.first_touch_s = first_touch_s;
          }
          if (row.measured_median > 0) ev.composition.push_back(row);
        }
      }
      if (m->batch_size != batch) {
        ev.notes.push_back("(d) " + network + ": layers measured at batch " +
                           std::to_string(batch) + ", iterations at batch " +
                           std::to_string(m->batch_size));
      }
    }
    out.push_back(std::move(ev));
  }
  return out;
}

namespace {

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Pct(double e) { return Fmt("%+.1f %%", 100 * e); }

// Seconds as ms, joules as J, 4 significant digits.
std::string Amount(double v, const std::string& quantity) {
  return quantity == "time_s" ? Fmt("%.4g ms", 1e3 * v) : Fmt("%.4g J", v);
}

// Per kind: (b) summaries per network and "all", time and energy apart.
std::map<std::string, std::map<std::string, ErrorSummary>> LayerSummaries(const HostEvaluation& ev,
                                                                          size_t k) {
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> groups;
  for (const LayerScore& s : ev.layers) {
    if (!s.predicted_by_kind[k]) continue;
    for (const std::string& g : {s.network, std::string("all")}) {
      auto& [p, m] = groups[s.quantity + "|" + g];
      p.push_back(*s.predicted_by_kind[k]);
      m.push_back(s.measured);
    }
  }
  std::map<std::string, std::map<std::string, ErrorSummary>> out;
  for (const auto& [key, pm] : groups) {
    const size_t bar = key.find('|');
    out[key.substr(0, bar)][key.substr(bar + 1)] = Summarise(pm.first, pm.second);
  }
  return out;
}

nlohmann::json SummaryJson(const ErrorSummary& s) {
  return {{"n", s.n},
          {"rmspe_pct", s.rmspe_pct},
          {"median_pct", s.median_pct},
          {"within_10", s.within_10},
          {"within_25", s.within_25},
          {"min_ratio", s.min_ratio},
          {"max_ratio", s.max_ratio}};
}

template <typename T>
nlohmann::json OptionalJson(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

std::string FormatEvaluation(const std::vector<HostEvaluation>& hosts) {
  std::ostringstream out;
  for (const HostEvaluation& ev : hosts) {
    const size_t n_kinds = ev.kinds.size();
    out << "# Evaluation of host " << ev.host << "\n\n"
        << ev.cpu_model << ", " << ev.threads_used << " threads, " << ev.blas << ", torch "
        << ev.torch_version
        << ", malloc: " << (ev.malloc_setting.empty() ? "not recorded" : ev.malloc_setting)
        << ". Model kinds: " << ev.kinds[0] << " (under test)";
    for (size_t k = 1; k < n_kinds; ++k) out << ", " << ev.kinds[k];
    out << ". Errors are (predicted - measured) / measured.\n\n";

    out << "## (a) Held-out random rows (test split, never used for fitting)\n\n| layer | pass "
           "| quantity |";
    for (const auto& k : ev.kinds) out << " " << k << " RMSPE | " << k << " ±10 % |";
    out << "\n|---|---|---|";
    for (size_t k = 0; k < n_kinds; ++k) out << "---|---|";
    out << "\n";
    for (const HeldOutRow& r : ev.held_out) {
      out << "| " << r.layer << " | " << r.pass << " | " << r.quantity << " |";
      for (const auto& m : r.by_kind) {
        if (m) {
          out << Fmt(" %.1f %% |", m->rmspe) << Fmt(" %.0f %% |", 100 * m->within_10);
        } else {
          out << " — | — |";
        }
      }
      out << "\n";
    }

    out << "\n## (b) Real-network layers, leave one network out (prediction vs the same "
           "config measured in isolation)\n\n";
    if (ev.layers.empty()) {
      out << "No `measure --net --layers` samples for this host.\n";
    } else {
      out << "| quantity | network | kind | n | RMSPE | median | within ±10 % | within ±25 % | "
             "predicted/measured min–max |\n|---|---|---|---|---|---|---|---|---|\n";
      std::vector<std::map<std::string, std::map<std::string, ErrorSummary>>> summaries;
      for (size_t k = 0; k < n_kinds; ++k) summaries.push_back(LayerSummaries(ev, k));
      for (const auto& [quantity, by_network] : summaries[0]) {
        for (const auto& [network, unused] : by_network) {
          for (size_t k = 0; k < n_kinds; ++k) {
            if (!summaries[k].count(quantity) || !summaries[k].at(quantity).count(network))
              continue;
            const ErrorSummary& s = summaries[k].at(quantity).at(network);
            out << "| " << quantity << " | " << (network == "all" ? "**all**" : network) << " | "
                << ev.kinds[k] << " | " << s.n << Fmt(" | %.1f %%", s.rmspe_pct)
                << Fmt(" | %+.1f %%", s.median_pct) << Fmt(" | %.0f %%", 100 * s.within_10)
                << Fmt(" | %.0f %%", 100 * s.within_25) << Fmt(" | %.2f", s.min_ratio)
                << Fmt("–%.2f |", s.max_ratio) << "\n";
          }
        }
      }
      // The layers the kind under test misses most.
      std::vector<const LayerScore*> worst;
      for (const LayerScore& s : ev.layers) {
        if (s.predicted_by_kind[0]) worst.push_back(&s);
      }
      const auto miss = [](const LayerScore* s) {
        return std::abs(std::log(std::max(*s->predicted_by_kind[0], 1e-300) / s->measured));
      };
      std::sort(worst.begin(), worst.end(),
                [&](const LayerScore* a, const LayerScore* b) { return miss(a) > miss(b); });
      if (worst.size() > 8) worst.resize(8);
      out << "\nWorst layers of " << ev.kinds[0]
          << ":\n\n| network | paths | layer | pass | quantity | measured |";
      for (const auto& k : ev.kinds) out << " " << k << " |";
      out << "\n|---|---|---|---|---|---|";
      for (size_t k = 0; k < n_kinds; ++k) out << "---|";
      out << "\n";
      for (const LayerScore* s : worst) {
        std::string paths = s->paths.size() > 40 ? s->paths.substr(0, 37) + "..." : s->paths;
        out << "| " << s->network << " | " << paths << " | " << s->layer << " | " << s->pass
            << " | " << s->quantity << " | " << Amount(s->measured, s->quantity) << " |";
        for (const auto& p : s->predicted_by_kind) {
          out << " " << (p ? Pct(*p / s->measured - 1) : std::string("—")) << " |";
        }
        out << "\n";
      }
    }

    out << "\n## (c) Networks, leave one network out (prediction vs the median measured "
           "iteration)\n\n";
    if (ev.phases.empty()) {
      out << "No measured networks for this host.\n";
    } else {
      out << "| network | batch | phase | quantity | measured (spread, n) |";
      for (const auto& k : ev.kinds) out << " " << k << " | error |";
      out << "\n|---|---|---|---|---|";
      for (size_t k = 0; k < n_kinds; ++k) out << "---|---|";
      out << "\n";
      for (const PhaseScore& p : ev.phases) {
        out << "| " << p.network << (p.own_layers_left_out ? "" : "¹") << " | " << p.batch_size
            << " | " << p.phase << " | " << p.quantity << " | "
            << Amount(p.measured_median, p.quantity) << Fmt(" (±%.1f %%", 100 * p.measured_spread)
            << ", " << p.iterations << ") |";
        for (size_t k = 0; k < n_kinds; ++k) {
          const auto& v = p.predicted_by_kind[k];
          const std::string lb = p.lower_bound_by_kind[k] ? "≥ " : "";
          if (v) {
            out << " " << lb << Amount(*v, p.quantity) << " | " << lb
                << Pct(*v / p.measured_median - 1) << " |";
          } else {
            out << " — | — |";
          }
        }
        out << "\n";
      }
      out << "\n¹ no `--layers` or `--near` samples of this network were measured, so none had to "
             "be left "
             "out.\n";
    }

    out << "\n## (d) Composition gap (sum of the network's isolated layer measurements vs its "
           "measured phases)\n\n";
    if (ev.composition.empty()) {
      out << "No network with both `--layers` samples and measured iterations.\n";
    } else {
      out << "| network | batch | phase | quantity | isolated sum | measured | gap | isolated "
             "faults | network faults | gap with the extra faults² |\n"
             "|---|---|---|---|---|---|---|---|---|---|\n";
      bool faults_shown = false;
      for (const CompositionRow& r : ev.composition) {
        const auto count = [](const std::optional<double>& faults) {
          if (!faults) return std::string("–");
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.0f", *faults);
          return std::string(buf);
        };
        const std::optional<double> corrected = r.FaultCorrectedSum();
        faults_shown = faults_shown || r.isolated_faults.has_value();
        out << "| " << r.network << " | " << r.batch_size << " | " << r.phase << " | " << r.quantity
            << " | " << Amount(r.isolated_sum, r.quantity) << " | "
            << Amount(r.measured_median, r.quantity) << " | "
            << Pct(r.isolated_sum / r.measured_median - 1) << " | " << count(r.isolated_faults)
            << " | " << count(r.measured_faults) << " | "
            << (corrected ? Pct(*corrected / r.measured_median - 1) : std::string("–")) << " |\n";
      }
      if (faults_shown) {
        out << "\n² minor page faults (measure/page_faults.h): the isolated passes' sum per "
               "execution and the network phase's median per iteration; the last column adds the "
               "network's extra faults × the host's median first-touch cost per page to the "
               "isolated sum. What is left is not fresh memory.\n";
      }
    }

    out << "\n## (e) " << ev.kinds[0] << " against the other kinds\n\n";
    for (size_t k = 1; k < n_kinds; ++k) {
      for (const std::string quantity : {"time_s", "energy_j"}) {
        int better = 0, total = 0;
        std::vector<std::string> lost;
        for (const PhaseScore& p : ev.phases) {
          if (p.quantity != quantity || p.phase != "iteration") continue;
          if (!p.predicted_by_kind[0] || !p.predicted_by_kind[k]) continue;
          ++total;
          const double e0 = std::abs(*p.predicted_by_kind[0] / p.measured_median - 1);
          const double ek = std::abs(*p.predicted_by_kind[k] / p.measured_median - 1);
          if (e0 <= ek) {
            ++better;
          } else {
            lost.push_back(p.network);
          }
        }
        if (total == 0) continue;
        out << "- " << quantity << ", per iteration: " << ev.kinds[0] << " is at least as close "
            << "as " << ev.kinds[k] << " on " << better << " of " << total << " networks";
        if (!lost.empty()) out << " (not on " << Join(lost, ", ") << ")";
        out << ".\n";
      }
      const auto s0 = LayerSummaries(ev, 0), sk = LayerSummaries(ev, k);
      for (const auto& [quantity, by_network] : s0) {
        if (!by_network.count("all") || !sk.count(quantity) || !sk.at(quantity).count("all"))
          continue;
        const ErrorSummary& a = by_network.at("all");
        const ErrorSummary& b = sk.at(quantity).at("all");
        out << "- " << quantity << ", real-network layers: RMSPE " << Fmt("%.1f %%", a.rmspe_pct)
            << " vs " << Fmt("%.1f %%", b.rmspe_pct) << ", within ±10 % "
            << Fmt("%.0f %%", 100 * a.within_10) << " vs " << Fmt("%.0f %%", 100 * b.within_10)
            << ".\n";
      }
    }
    out << "\n## (f) Fresh pages in the measured networks (time = base + cost × minor faults "
           "over the pooled iterations)\n\n";
    if (ev.fault_fits.empty()) {
      out << "No measured network phase whose page faults vary (schema 6 rows, >= 4 iterations, "
             "a range of >= 100 faults).\n";
    } else {
      out << "| network | batch | phase | iterations | faults | base (no fresh pages) | cost per "
             "fault | R² |\n|---|---|---|---|---|---|---|---|\n";
      bool extrapolated = false;
      for (const FaultFitRow& r : ev.fault_fits) {
        // A base far below the fewest faults measured is the line's, not a measurement.
        const bool far = r.fit.min_faults > 0.1 * r.fit.max_faults;
        extrapolated = extrapolated || far;
        char buf[192];
        std::snprintf(buf, sizeof(buf), "%.0f-%.0f | %s%s | %.3g us | %.2f", r.fit.min_faults,
                      r.fit.max_faults, Amount(r.fit.base_s, "time_s").c_str(), far ? "³" : "",
                      r.fit.s_per_fault * 1e6, r.fit.r2);
        out << "| " << r.network << " | " << r.batch_size << " | " << r.phase << " | " << r.fit.n
            << " | " << buf << " |\n";
      }
      if (extrapolated) {
        out << "\n³ extrapolated: no iteration came near 0 faults (fewest > 10 % of the most); "
               "the phase's real time without fresh pages may differ (a malloc that never "
               "trims gave ResNet-18 at batch 16 0.71 s per iteration where its line said "
               "0.24 s, JOURNAL.md 2026-12-06).\n";
      }
    }

    for (const std::string& note : ev.notes) out << "- note: " << note << "\n";
    out << "\n";
  }
  return out.str();
}

nlohmann::json ToJson(const std::vector<HostEvaluation>& hosts) {
  nlohmann::json out = nlohmann::json::array();
  for (const HostEvaluation& ev : hosts) {
    nlohmann::json h = {{"host", ev.host},
                        {"cpu_model", ev.cpu_model},
                        {"blas", ev.blas},
                        {"torch_version", ev.torch_version},
                        {"malloc", ev.malloc_setting},
                        {"threads_used", ev.threads_used},
                        {"kinds", ev.kinds},
                        {"notes", ev.notes}};
    nlohmann::json held_out = nlohmann::json::array();
    for (const HeldOutRow& r : ev.held_out) {
      nlohmann::json by_kind = nlohmann::json::object();
      for (size_t k = 0; k < ev.kinds.size(); ++k) {
        by_kind[ev.kinds[k]] = r.by_kind[k] ? ToJson(*r.by_kind[k]) : nlohmann::json(nullptr);
      }
      held_out.push_back(
          {{"layer", r.layer}, {"pass", r.pass}, {"quantity", r.quantity}, {"metrics", by_kind}});
    }
    h["held_out"] = held_out;
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerScore& s : ev.layers) {
      nlohmann::json predicted = nlohmann::json::object();
      for (size_t k = 0; k < ev.kinds.size(); ++k) {
        predicted[ev.kinds[k]] = OptionalJson(s.predicted_by_kind[k]);
      }
      layers.push_back({{"network", s.network},
                        {"paths", s.paths},
                        {"layer", s.layer},
                        {"pass", s.pass},
                        {"quantity", s.quantity},
                        {"measured", s.measured},
                        {"predicted", predicted}});
    }
    h["layers"] = layers;
    nlohmann::json summary = nlohmann::json::object();
    for (size_t k = 0; k < ev.kinds.size(); ++k) {
      for (const auto& [quantity, by_network] : LayerSummaries(ev, k)) {
        for (const auto& [network, s] : by_network) {
          summary[ev.kinds[k]][quantity][network] = SummaryJson(s);
        }
      }
    }
    h["layer_summary"] = summary;
    nlohmann::json phases = nlohmann::json::array();
    for (const PhaseScore& p : ev.phases) {
      nlohmann::json predicted = nlohmann::json::object();
      for (size_t k = 0; k < ev.kinds.size(); ++k) {
        const auto& v = p.predicted_by_kind[k];
        predicted[ev.kinds[k]] = {
            {"value", OptionalJson(v)},
            {"lower_bound", static_cast<bool>(p.lower_bound_by_kind[k])},
            {"error_pct",
             v ? nlohmann::json(100 * (*v / p.measured_median - 1)) : nlohmann::json(nullptr)}};
      }
      phases.push_back({{"network", p.network},
                        {"batch_size", p.batch_size},
                        {"phase", p.phase},
                        {"quantity", p.quantity},
                        {"iterations", p.iterations},
                        {"measured_median", p.measured_median},
                        {"measured_spread", p.measured_spread},
                        {"own_layers_left_out", p.own_layers_left_out},
                        {"predicted", predicted}});
    }
    h["phases"] = phases;
    nlohmann::json composition = nlohmann::json::array();
    for (const CompositionRow& r : ev.composition) {
      composition.push_back({{"network", r.network},
                             {"batch_size", r.batch_size},
                             {"phase", r.phase},
                             {"quantity", r.quantity},
                             {"isolated_sum", r.isolated_sum},
                             {"measured_median", r.measured_median},
                             {"gap_pct", 100 * (r.isolated_sum / r.measured_median - 1)},
                             {"isolated_faults", OptionalJson(r.isolated_faults)},
                             {"measured_faults", OptionalJson(r.measured_faults)},
                             {"first_touch_s", OptionalJson(r.first_touch_s)},
                             {"fault_corrected_sum", OptionalJson(r.FaultCorrectedSum())}});
    }
    h["composition"] = composition;
    nlohmann::json fault_fits = nlohmann::json::array();
    for (const FaultFitRow& r : ev.fault_fits) {
      fault_fits.push_back({{"network", r.network},
                            {"batch_size", r.batch_size},
                            {"phase", r.phase},
                            {"iterations", r.fit.n},
                            {"min_faults", r.fit.min_faults},
                            {"max_faults", r.fit.max_faults},
                            {"base_s", r.fit.base_s},
                            {"s_per_fault", r.fit.s_per_fault},
                            {"r2", r.fit.r2}});
    }
    h["fault_fits"] = fault_fits;
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace lj
