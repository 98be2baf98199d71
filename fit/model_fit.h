#pragma once
// Fits one model (layer type x pass x quantity) from plain rows: NeuralPower's recipe (Cai et
// al., ACML 2017, Sec. 3) of polynomial + special terms, Lasso with alpha chosen by k-fold
// cross-validation, with a held-out test split for honest error and non-negative model kinds.
//
// Steps: drop rows whose value is not finite and > 0; split off test_fraction of the rows
// (seeded, never used for choosing alpha); build the design matrix of the kind's terms
// (polynomial terms of fit/features.h for time_s and energy_j, PowerTerms for power_w, LogTerms
// for loglasso); transform (see ModelKind in fit/model_bundle.h); choose alpha by k-fold CV on
// the training rows; refit on all training rows at that alpha; score train and test rows.
// The stored model is the one fitted on the training rows, so its test metrics describe it.
//
// nnlasso in detail: with terms T_ij >= 0 and targets y_i > 0 it minimises
//     (1/(2n)) sum_i ((y_i - b - sum_j w_j T_ij / s_j) / y_i)^2 + alpha sum_j |w_j|
// over w >= 0, b >= 0 (b unpenalised), where s_j = sqrt(mean_i (T_ij / y_i)^2) scales each
// weighted column to unit root mean square (not centred: centring would break w >= 0 => z >= 0).
// This is a Lasso on rows divided by y_i with target 1: the fitted loss is the squared relative
// error, whose root is RMSPE, the metric reported.
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "core/layer_config.h"
#include "fit/model_bundle.h"

namespace lj {

// Too few usable rows for a model; the caller skips it with a warning.
class FitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainingRow {
  LayerConfig config;
  double value = 0;  // unit of the quantity (s, J, W) per execution on the whole batch
};

struct FitOptions {
  ModelKind kind = ModelKind::kNnLasso;
  int degree = 0;              // 0: DefaultDegree(layer)
  int folds = 10;
  double test_fraction = 0.2;  // in [0, 1)
  uint64_t seed = 1;           // held-out split and fold assignment
  int n_alphas = 100;
  double eps = 1e-4;           // smallest alpha on the path = eps * alpha_max
  int max_iter = 1000;         // coordinate descent sweeps per alpha
  double tol = 1e-4;
  // Replaces the kind's candidate terms (ModelTerms) when non-empty; for experiments.
  std::vector<Term> terms;
};

// Rows a model needs: 5 per fold in the training split, i.e. ceil(5 * folds / (1 - test_fraction)).
int64_t MinRows(const FitOptions& options);

// Fits one model. `meter` is recorded in the model; for energy_j and power_w the RAPL domain is
// "package". Throws FitError when fewer than MinRows usable rows remain, ConfigError for bad
// options (degree < 1 after defaulting, folds < 2, test_fraction outside [0, 1)).
Model FitModel(LayerType layer, Pass pass, Quantity quantity, const std::vector<TrainingRow>& rows,
               const FitOptions& options, const std::string& meter = "");

// The candidate terms a kind uses for a quantity (see above).
std::vector<Term> ModelTerms(LayerType layer, Quantity quantity, ModelKind kind, int degree);

}  // namespace lj
