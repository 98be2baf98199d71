#pragma once
// Error metrics of predictions against measurements, as reported by NeuralPower (Cai et al.,
// ACML 2017, Sec. 4): relative errors, because targets span several orders of magnitude.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace lj {

struct Metrics {
  int64_t n = 0;              // rows scored
  double mape = 0;            // mean |pred - y| / y, percent
  double rmspe = 0;           // sqrt(mean(((pred - y) / y)^2)), percent
  double r2 = 0;              // 1 - SSE / SST on the raw values (can be < 0)
  double within_10 = 0;       // share of rows with |pred - y| / y <= 0.10, in [0, 1]
  double min_prediction = 0;  // smallest prediction (negative reveals a broken model)
};

// Metrics of predictions for measured values y (all y > 0; same sizes). Throws
// std::invalid_argument on a size mismatch, an empty set or a y <= 0.
Metrics ComputeMetrics(const std::vector<double>& predicted, const std::vector<double>& y);

// The median of a non-empty vector (the mean of the two middle values for an even count).
double Median(std::vector<double> v);

nlohmann::json ToJson(const Metrics& m);
Metrics MetricsFromJson(const nlohmann::json& j);  // throws nlohmann::json::exception

}  // namespace lj
