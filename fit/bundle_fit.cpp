#include "fit/bundle_fit.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>
#include <sstream>

#include "fit/fault_time.h"
#include "layerjoule/version.h"

namespace lj {
namespace {

std::string JoinMeters(const std::set<std::string>& meters) {
  std::string out;
  for (const auto& m : meters) out += (out.empty() ? "" : ",") + m;
  return out;
}

}  // namespace

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

ModelBundle FitBundle(const ModelBundle& header, const std::vector<PassSample>& measured,
                      const FitOptions& options,
                      const std::function<void(const std::string&)>& warn) {
  std::vector<PassSample> compute_only;
  std::optional<double> removed_s_per_fault;
  if (options.subtract_fault_time) {
    if (const std::optional<FaultTimeEstimate> fault = EstimateFaultTime(measured)) {
      compute_only = measured;
      const int changed = SubtractFaultTime(compute_only, fault->s_per_fault);
      removed_s_per_fault = fault->s_per_fault;
      if (warn) {
        char cost_us[32];
        std::snprintf(cost_us, sizeof(cost_us), "%.2f", fault->s_per_fault * 1e6);
        warn(header.hostname + ": " + cost_us + " us per minor page fault (median of " +
             std::to_string(fault->groups) + " layer types and passes); taken out of " +
             std::to_string(changed) + " samples");
      }
    } else if (warn) {
      warn(header.hostname +
           ": no layer type has enough samples with and without page faults to estimate their "
           "cost; times are fitted as measured");
    }
  }
  // The copy exists only where a fault cost was estimated and taken out.
  const std::vector<PassSample>& samples = removed_s_per_fault ? compute_only : measured;
  ModelBundle bundle = header;
  bundle.fault_time_removed_s_per_fault = removed_s_per_fault;
  bundle.models.clear();
  bundle.tool_version = LAYERJOULE_VERSION;
  bundle.created_at = UtcNow();
  for (const LayerType layer : AllLayerTypes()) {
    for (const Pass pass : {Pass::kForward, Pass::kBackward}) {
      if (pass == Pass::kBackward && !HasBackwardPass(layer)) continue;  // sgd/adam
      std::vector<TrainingRow> time_rows, energy_rows, power_rows;
      std::set<std::string> meters, energy_meters;
      int64_t noisy = 0, contended = 0;
      for (const PassSample& s : samples) {
        if (s.config.type != layer || s.pass != pass) continue;
        if (s.contended && !options.include_contended) {
          ++contended;
          continue;
        }
        if (options.max_spread > 0 && s.time_spread > options.max_spread) {
          ++noisy;
          continue;
        }
        const double weight =
            s.network.empty() && s.near_network.empty() ? 1.0 : options.network_row_weight;
        time_rows.push_back({s.config, s.time_s, weight});
        meters.insert(s.meter);
        if (s.energy_j) {
          energy_rows.push_back({s.config, *s.energy_j, weight});
          power_rows.push_back({s.config, s.time_s > 0 ? *s.energy_j / s.time_s : 0.0, weight});
          energy_meters.insert(s.meter);
        }
      }
      if (noisy > 0 && warn) {
        warn(header.hostname + ": " + std::string(ToString(layer)) + "/" +
             std::string(ToString(pass)) + ": left out " + std::to_string(noisy) +
             " samples whose trials disagree by more than " +
             std::to_string(static_cast<int>(options.max_spread * 100 + 0.5)) +
             " % (relative standard deviation)");
      }
      if (contended > 0 && warn) {
        warn(header.hostname + ": " + std::string(ToString(layer)) + "/" +
             std::string(ToString(pass)) + ": left out " + std::to_string(contended) +
             " samples measured under contention (samples.contended; fit --include-contended "
             "keeps them)");
      }
      if (time_rows.empty()) continue;
      const struct {
        Quantity quantity;
        const std::vector<TrainingRow>& rows;
        std::string meter;
      } jobs[] = {{Quantity::kTimeS, time_rows, JoinMeters(meters)},
                  {Quantity::kEnergyJ, energy_rows, JoinMeters(energy_meters)},
                  {Quantity::kPowerW, power_rows, JoinMeters(energy_meters)}};
      for (const auto& job : jobs) {
        if (job.rows.empty()) continue;  // no meter: time models only
        try {
          bundle.models.push_back(
              FitModel(layer, pass, job.quantity, job.rows, options, job.meter));
        } catch (const FitError& e) {
          if (warn) warn(header.hostname + ": skipping " + e.what());
        }
      }
    }
  }
  return bundle;
}

std::string MetricsTable(const std::vector<ModelBundle>& bundles) {
  std::ostringstream out;
  char line[512];
  // The layer column is as wide as the longest layer name (at least 9: "maxpool2d").
  int layer_width = 9;
  for (const ModelBundle& b : bundles) {
    for (const Model& m : b.models) {
      layer_width = std::max(layer_width, static_cast<int>(ToString(m.layer).size()));
    }
  }
  std::snprintf(line, sizeof(line),
                "%-12s %-*s %-8s %-8s %-8s %7s %6s %9s %9s %8s %8s %7s %7s %10s\n", "host",
                layer_width, "layer", "pass", "quantity", "kind", "n_train", "n_test", "terms",
                "alpha", "MAPE%", "RMSPE%", "R2", "<=10%", "min_pred");
  out << line;
  for (const ModelBundle& b : bundles) {
    for (const Model& m : b.models) {
      const std::string terms =
          std::to_string(m.terms.size()) + "/" + std::to_string(m.n_terms_total);
      if (m.test_metrics) {
        const Metrics& t = *m.test_metrics;
        std::snprintf(
            line, sizeof(line),
            "%-12s %-*s %-8s %-8s %-8s %7lld %6lld %9s %9.3g %8.2f %8.2f %7.3f %7.3f %10.3g\n",
            b.hostname.c_str(), layer_width, std::string(ToString(m.layer)).c_str(),
            std::string(ToString(m.pass)).c_str(), std::string(ToString(m.quantity)).c_str(),
            std::string(ToString(m.kind)).c_str(), static_cast<long long>(m.n_train),
            static_cast<long long>(m.n_test), terms.c_str(), m.alpha, t.mape, t.rmspe, t.r2,
            t.within_10, t.min_prediction);
      } else {
        std::snprintf(
            line, sizeof(line),
            "%-12s %-*s %-8s %-8s %-8s %7lld %6lld %9s %9.3g %8s %8s %7s %7s %10s\n",
            b.hostname.c_str(), layer_width, std::string(ToString(m.layer)).c_str(),
            std::string(ToString(m.pass)).c_str(), std::string(ToString(m.quantity)).c_str(),
            std::string(ToString(m.kind)).c_str(), static_cast<long long>(m.n_train),
            static_cast<long long>(m.n_test), terms.c_str(), m.alpha, "-", "-", "-", "-", "-");
      }
      out << line;
    }
  }
  return out.str();
}

}  // namespace lj
