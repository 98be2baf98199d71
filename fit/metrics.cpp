#include "fit/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lj {

Metrics ComputeMetrics(const std::vector<double>& predicted, const std::vector<double>& y) {
  if (predicted.size() != y.size()) {
    throw std::invalid_argument("metrics: " + std::to_string(predicted.size()) +
                                " predictions for " + std::to_string(y.size()) + " values");
  }
  if (y.empty()) throw std::invalid_argument("metrics: no rows");
  Metrics m;
  m.n = static_cast<int64_t>(y.size());
  double abs_rel = 0, sq_rel = 0, sse = 0, mean = 0;
  int64_t within = 0;
  m.min_prediction = predicted.front();
  for (size_t i = 0; i < y.size(); ++i) {
    if (!(y[i] > 0)) {
      throw std::invalid_argument("metrics: value " + std::to_string(i) + " must be > 0, got " +
                                  std::to_string(y[i]));
    }
    const double rel = (predicted[i] - y[i]) / y[i];
    abs_rel += std::abs(rel);
    sq_rel += rel * rel;
    if (std::abs(rel) <= 0.10 + 1e-12) ++within;  // 1.1 vs 1.0 is "within 10 %"
    sse += (predicted[i] - y[i]) * (predicted[i] - y[i]);
    mean += y[i];
    m.min_prediction = std::min(m.min_prediction, predicted[i]);
  }
  const auto n = static_cast<double>(y.size());
  mean /= n;
  double sst = 0;
  for (const double v : y) sst += (v - mean) * (v - mean);
  m.mape = 100.0 * abs_rel / n;
  m.rmspe = 100.0 * std::sqrt(sq_rel / n);
  m.r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
  m.within_10 = static_cast<double>(within) / n;
  return m;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

nlohmann::json ToJson(const Metrics& m) {
  return {{"n", m.n},   {"mape_pct", m.mape},          {"rmspe_pct", m.rmspe},
          {"r2", m.r2}, {"within_10pct", m.within_10}, {"min_prediction", m.min_prediction}};
}

Metrics MetricsFromJson(const nlohmann::json& j) {
  Metrics m;
  m.n = j.at("n").get<int64_t>();
  m.mape = j.at("mape_pct").get<double>();
  m.rmspe = j.at("rmspe_pct").get<double>();
  m.r2 = j.at("r2").get<double>();
  m.within_10 = j.at("within_10pct").get<double>();
  m.min_prediction = j.at("min_prediction").get<double>();
  return m;
}

}  // namespace lj
