#include "fit/residual_correction.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/errors.h"
#include "fit/features.h"

namespace lj {
namespace {

// Candidate bandwidths in ln units: a neighbour off by a factor e^h in one base feature has
// weight e^-1/2. The smallest is about a factor 1.13 per feature, the largest a factor 2.7.
constexpr double kBandwidths[] = {0.125, 0.25, 0.5, 1.0};

double SquaredDistance(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t k = 0; k < a.size(); ++k) d += (a[k] - b[k]) * (a[k] - b[k]);
  return d;
}

// Mean squared leave-one-out error of the corrected log residual.
double LeaveOneOutError(const ResidualCorrection& c) {
  double sum = 0;
  for (size_t i = 0; i < c.points.size(); ++i) {
    const double e = c.log_residuals[i] - c.LogFactor(c.points[i], static_cast<long>(i));
    sum += e * e;
  }
  return sum / static_cast<double>(c.points.size());
}

}  // namespace

double ResidualCorrection::LogFactor(const std::vector<double>& q, long skip) const {
  if (points.empty()) return 0;
  const double inv = 1.0 / (2 * bandwidth * bandwidth);
  double weights = 0, weighted = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    if (static_cast<long>(i) == skip) continue;
    const double d2 = SquaredDistance(q, points[i]);
    if (d2 * inv > 30) continue;  // weight < 1e-13
    const double w = std::exp(-d2 * inv);
    weights += w;
    weighted += w * log_residuals[i];
  }
  const double f = weighted / (prior_weight + weights);
  return std::clamp(f, -kMaxLogFactor, kMaxLogFactor);
}

ResidualCorrection ResidualCorrection::Fit(std::vector<std::vector<double>> points,
                                           std::vector<double> log_residuals) {
  if (points.size() != log_residuals.size()) {
    throw std::invalid_argument("ResidualCorrection::Fit: " + std::to_string(points.size()) +
                                " points but " + std::to_string(log_residuals.size()) +
                                " residuals");
  }
  for (const auto& p : points) {
    if (p.size() != points.front().size())
      throw std::invalid_argument("ResidualCorrection::Fit: points of different dimension");
  }
  ResidualCorrection best;
  if (points.size() < 2) return best;  // nothing to cross-validate: no correction
  double no_correction = 0;
  for (double r : log_residuals) no_correction += r * r;
  double best_error = no_correction / static_cast<double>(log_residuals.size());
  ResidualCorrection c;
  c.points = std::move(points);
  c.log_residuals = std::move(log_residuals);
  double chosen = 0;
  for (double h : kBandwidths) {
    c.bandwidth = h;
    const double error = LeaveOneOutError(c);
    if (error < best_error) {
      best_error = error;
      chosen = h;
    }
  }
  if (chosen == 0) return best;  // no bandwidth beats the model alone
  c.bandwidth = chosen;
  return c;
}

std::vector<double> CorrectionPoint(LayerType type, const std::vector<double>& features) {
  std::vector<double> out;
  const auto n = std::min(features.size(), static_cast<size_t>(NumBase(type)));
  out.reserve(n + 1);
  for (size_t k = 0; k < n; ++k) out.push_back(std::log(std::max(features[k], 1.0)));
  const int gate = InputGradIndex(type);
  if (gate >= 0 && static_cast<size_t>(gate) < features.size()) {
    out.push_back(kGateSeparation * features[static_cast<size_t>(gate)]);
  }
  return out;
}

size_t CorrectionDimension(LayerType type) {
  return static_cast<size_t>(NumBase(type)) + (InputGradIndex(type) >= 0 ? 1 : 0);
}

nlohmann::json ToJson(const ResidualCorrection& c) {
  return {{"bandwidth", c.bandwidth},
          {"prior_weight", c.prior_weight},
          {"points", c.points},
          {"log_residuals", c.log_residuals}};
}

ResidualCorrection ResidualCorrectionFromJson(const nlohmann::json& j) {
  ResidualCorrection c;
  try {
    c.bandwidth = j.at("bandwidth").get<double>();
    c.prior_weight = j.at("prior_weight").get<double>();
    c.points = j.at("points").get<std::vector<std::vector<double>>>();
    c.log_residuals = j.at("log_residuals").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("residual_correction: ") + e.what());
  }
  if (!(c.bandwidth > 0) || !std::isfinite(c.bandwidth) || !(c.prior_weight > 0) ||
      !std::isfinite(c.prior_weight)) {
    throw ConfigError("residual_correction: bandwidth and prior_weight must be finite and > 0");
  }
  if (c.points.size() != c.log_residuals.size()) {
    throw ConfigError("residual_correction: " + std::to_string(c.points.size()) + " points but " +
                      std::to_string(c.log_residuals.size()) + " residuals");
  }
  for (size_t i = 0; i < c.points.size(); ++i) {
    if (c.points[i].size() != c.points.front().size())
      throw ConfigError("residual_correction: point " + std::to_string(i) +
                        " has another dimension");
    for (double v : c.points[i]) {
      if (!std::isfinite(v))
        throw ConfigError("residual_correction: point " + std::to_string(i) + " is not finite");
    }
    if (!std::isfinite(c.log_residuals[i]))
      throw ConfigError("residual_correction: residual " + std::to_string(i) + " is not finite");
  }
  return c;
}

}  // namespace lj
