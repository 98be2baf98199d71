#include "predict/comparison.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "core/errors.h"
#include "db/vocabulary.h"
#include "predict/report.h"

namespace lj {
namespace {

std::optional<double> ErrorPct(const std::optional<double>& predicted,
                               const std::optional<double>& measured) {
  if (!predicted || !measured || *measured <= 0) return std::nullopt;
  return 100.0 * (*predicted - *measured) / *measured;
}

std::string FormatPct(const std::optional<double>& pct) {
  if (!pct) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%+.1f %%", *pct);
  return buf;
}

nlohmann::json OrNull(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

std::string Cell(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

}  // namespace

MeasuredNetwork ReadMeasuredNetwork(Store& store, const std::string& network, int64_t batch_size,
                                    const std::string& host) {
  const std::vector<NetworkSampleRow> rows = store.ReadNetworkSamples(network);
  if (rows.empty()) {
    throw ConfigError(store.path() + ": no measurements of network '" + network +
                      "'; measure it first, e.g. `measure --net NET --iterations 20 --db " +
                      store.path() + "`");
  }
  std::set<int64_t> batch_sizes;
  std::set<int64_t> runs;  // runs at the wanted batch size
  for (const NetworkSampleRow& r : rows) {
    batch_sizes.insert(r.batch_size);
    if (r.batch_size == batch_size) runs.insert(r.run_id);
  }
  if (runs.empty()) {
    std::string sizes;
    for (int64_t b : batch_sizes) sizes += (sizes.empty() ? "" : ", ") + std::to_string(b);
    throw ConfigError(store.path() + ": network '" + network + "' was measured at batch size" +
                      (batch_sizes.size() > 1 ? "s " : " ") + sizes + ", not " +
                      std::to_string(batch_size) +
                      "; predict with --batch-size of a measured run, or measure with "
                      "--batch-size " +
                      std::to_string(batch_size));
  }
  // The newest run on `host`, else the newest of any host.
  MeasuredNetwork m;
  m.network = network;
  m.batch_size = batch_size;
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (store.HostnameOfRun(*it) == host) {
      m.run_id = *it;
      break;
    }
  }
  if (m.run_id == 0) m.run_id = *runs.rbegin();
  m.hostname = store.HostnameOfRun(m.run_id);
  if (!host.empty() && m.hostname != host) {
    m.note = "measured on host '" + m.hostname + "', the models are of host '" + host + "'";
  }

  struct Sum {
    int64_t n = 0, with_energy = 0;
    double time_s = 0, energy_j = 0;
  };
  std::map<std::string, Sum> sums;
  for (const NetworkSampleRow& r : rows) {
    if (r.run_id != m.run_id || r.batch_size != batch_size) continue;
    m.meter = r.meter;
    Sum& s = sums[r.phase];
    ++s.n;
    s.time_s += r.time_s;
    if (r.energy_j) {
      ++s.with_energy;
      s.energy_j += *r.energy_j;
    }
  }
  for (const std::string& phase : AllNetworkPhaseNames()) {
    const auto it = sums.find(phase);
    if (it == sums.end()) continue;
    const Sum& s = it->second;
    MeasuredPhase p;
    p.phase = phase;
    p.iterations = s.n;
    p.time_s = s.time_s / static_cast<double>(s.n);
    if (s.with_energy == s.n) p.energy_j = s.energy_j / static_cast<double>(s.n);
    m.phases.push_back(p);
  }
  return m;
}

Comparison Compare(const NetworkPrediction& prediction, const MeasuredNetwork& measured) {
  Comparison c;
  c.measured = measured;
  const PhaseTotals& b = prediction.per_batch;
  for (NetworkPhase phase : AllNetworkPhases()) {
    PhaseComparison pc;
    pc.phase = std::string(ToString(phase));
    if (phase == NetworkPhase::kForward) {
      pc.predicted_time_s = b.forward_time_s;
      pc.predicted_lower_bound = b.forward_lower_bound;
      pc.predicted_energy_j = b.forward_energy_j;
    } else if (phase == NetworkPhase::kBackward) {
      pc.predicted_time_s = b.backward_time_s;
      pc.predicted_lower_bound = b.backward_lower_bound;
      pc.predicted_energy_j = b.backward_energy_j;
    } else if (phase == NetworkPhase::kLoss) {
      pc.predicted_time_s = b.loss_time_s;
      pc.predicted_energy_j = b.loss_energy_j;
    } else if (phase == NetworkPhase::kOptimizer) {
      pc.predicted_time_s = b.optimizer_time_s;
      pc.predicted_energy_j = b.optimizer_energy_j;
    } else if (phase == NetworkPhase::kIteration) {
      pc.predicted_time_s = b.time_s;
      pc.predicted_lower_bound = b.time_lower_bound;
      pc.predicted_energy_j = b.energy_j;
    }
    for (const MeasuredPhase& m : measured.phases) {
      if (m.phase != pc.phase) continue;
      pc.measured_time_s = m.time_s;
      pc.measured_energy_j = m.energy_j;
    }
    pc.time_error_pct = ErrorPct(pc.predicted_time_s, pc.measured_time_s);
    pc.energy_error_pct = ErrorPct(pc.predicted_energy_j, pc.measured_energy_j);
    c.phases.push_back(pc);
  }
  return c;
}

std::string FormatComparison(const Comparison& c) {
  const MeasuredNetwork& m = c.measured;
  int64_t iterations = 0;
  for (const MeasuredPhase& p : m.phases) iterations = std::max(iterations, p.iterations);
  const bool energy = std::any_of(c.phases.begin(), c.phases.end(), [](const PhaseComparison& p) {
    return p.predicted_energy_j && p.measured_energy_j;
  });
  std::ostringstream out;
  out << m.network << " at batch " << m.batch_size << ": predicted vs measured (run " << m.run_id
      << " on host " << m.hostname << ", " << iterations << " iterations, meter " << m.meter
      << ")\n";
  if (!m.note.empty()) out << "note: " << m.note << "\n";
  out << "phase      " << Cell("predicted", 13) << "  " << Cell("measured", 11) << "  "
      << Cell("error", 9);
  if (energy) {
    out << "  " << Cell("pred. energy", 14) << "  " << Cell("meas. energy", 12) << "  "
        << Cell("error", 9);
  }
  out << "\n";
  for (const PhaseComparison& p : c.phases) {
    std::string predicted = p.predicted_time_s ? FormatSeconds(p.predicted_time_s) : "unmodelled";
    if (p.predicted_time_s && p.predicted_lower_bound) predicted = ">= " + predicted;
    std::string line = p.phase + std::string(11 - std::min<size_t>(p.phase.size(), 10), ' ') +
                       Cell(predicted, 13) + "  " + Cell(FormatSeconds(p.measured_time_s), 11) +
                       "  " + Cell(FormatPct(p.time_error_pct), 9);
    if (energy) {
      std::string pe = p.predicted_energy_j ? FormatJoules(p.predicted_energy_j) : "unmodelled";
      if (p.predicted_energy_j && p.predicted_lower_bound) pe = ">= " + pe;
      line += "  " + Cell(pe, 14) + "  " + Cell(FormatJoules(p.measured_energy_j), 12) + "  " +
              Cell(FormatPct(p.energy_error_pct), 9);
    }
    out << line << "\n";
  }
  out << "error = (predicted - measured) / measured. Predictions marked >= leave out "
         "unmodelled parts (layers, or the loss or optimizer step for the iteration), so their "
         "error is biased low. The predicted loss is the cross_entropy forward; its backward is "
         "in the backward phase, as in the measurement; the measured optimizer phase also "
         "holds zero_grad().\n";
  if (!energy) {
    out << "energy: not compared (the bundle has no energy models or the run had no meter)\n";
  }
  return out.str();
}

nlohmann::json ToJson(const Comparison& c) {
  nlohmann::json phases = nlohmann::json::array();
  for (const PhaseComparison& p : c.phases) {
    int64_t iterations = 0;
    for (const MeasuredPhase& m : c.measured.phases) {
      if (m.phase == p.phase) iterations = m.iterations;
    }
    phases.push_back({{"phase", p.phase},
                      {"predicted_time_s", OrNull(p.predicted_time_s)},
                      {"predicted_lower_bound", p.predicted_lower_bound},
                      {"measured_time_s", OrNull(p.measured_time_s)},
                      {"time_error_pct", OrNull(p.time_error_pct)},
                      {"predicted_energy_j", OrNull(p.predicted_energy_j)},
                      {"measured_energy_j", OrNull(p.measured_energy_j)},
                      {"energy_error_pct", OrNull(p.energy_error_pct)},
                      {"iterations", iterations}});
  }
  const MeasuredNetwork& m = c.measured;
  return {{"network", m.network}, {"batch_size", m.batch_size}, {"run_id", m.run_id},
          {"host", m.hostname},   {"meter", m.meter},           {"note", m.note},
          {"phases", phases}};
}

}  // namespace lj
