#pragma once
// A local correction of a fitted model by the residuals of its training rows near the query
// (issue 10 § 3 "models that generalise"): kernel regression (Nadaraya-Watson) on log residuals
// over the log base features, shrunk towards no correction where the data are sparse.
//
// Why: a global polynomial fitted to thousands of log-uniform random rows is right on average
// but systematically off in regions that real networks use (a 3-channel 11x11 stride-4 conv,
// a 1x1 conv on 7x7 images); where measured rows lie nearby (sweeps, `measure --near`
// samples of other networks) their residuals say by how much. Far from every row the factor is
// 1 and the model (with its envelope) speaks alone. This is the parametric-mean-plus-local-
// residual structure of semi-parametric regression; the factor is bounded so that it can
// never move a prediction by more than kMaxLogFactor.
//
// For a query at q = CorrectionPoint(type, features) (ln of fit/features.h's base features):
//     w_i = exp(-|q - p_i|^2 / (2 h^2))
//     factor = exp(clamp(sum_i w_i r_i / (prior_weight + sum_i w_i), -kMaxLogFactor,
//                        kMaxLogFactor))
// with p_i, r_i = ln(measured_i / model_i) of the training rows. h (bandwidth) is chosen from
// kBandwidths by leave-one-out cross-validation of the corrected log error on the training rows
// (Fit); prior_weight = 1 is one exact neighbour's worth of "no correction".
#include <nlohmann/json.hpp>
#include <vector>

#include "core/layer_type.h"

namespace lj {

struct ResidualCorrection {
  static constexpr double kMaxLogFactor = 1.0986122886681098;  // ln 3
  double bandwidth = 0.5;                   // h, in ln units of the base features
  double prior_weight = 1;                  // pseudo-weight of "factor 1"
  std::vector<std::vector<double>> points;  // ln base features per training row
  std::vector<double> log_residuals;        // ln(measured / model) per training row

  // ln of the correction factor at log base features `q` (0 when there are no points).
  // `skip` excludes one point (leave-one-out); -1 none.
  double LogFactor(const std::vector<double>& q, long skip = -1) const;

  // Chooses the bandwidth by leave-one-out over the given points and residuals (all the same
  // dimension, sizes equal). Throws std::invalid_argument for mismatched sizes.
  static ResidualCorrection Fit(std::vector<std::vector<double>> points,
                                std::vector<double> log_residuals);
};

// The point of a feature vector (fit/features.h FeatureValues of a `type` config): ln of each
// base feature (values below 1 taken as 1), and for conv2d and linear kGateSeparation *
// input_grad, so that rows with and without an input gradient are never neighbours.
inline constexpr double kGateSeparation = 10;
std::vector<double> CorrectionPoint(LayerType type, const std::vector<double>& features);
// The dimension of CorrectionPoint for `type`.
size_t CorrectionDimension(LayerType type);

// {"bandwidth", "prior_weight", "points": [[...]], "log_residuals": [...]}; FromJson throws
// ConfigError for a malformed object (sizes, non-finite values, bandwidth <= 0).
nlohmann::json ToJson(const ResidualCorrection& c);
ResidualCorrection ResidualCorrectionFromJson(const nlohmann::json& j);

}  // namespace lj
