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
// nnlasso in detail: with terms T_ij >= 0, targets y_i > 0 and row weights 1/m_i^2 it minimises
//     (1/(2n)) sum_i ((y_i - b - sum_j w_j T_ij / s_j) / m_i)^2 + alpha sum_j |w_j|
// over w >= 0, b >= 0 (b unpenalised), where s_j = sqrt(mean_i (T_ij / m_i)^2) scales each
// weighted column to unit root mean square (not centred: centring would break w >= 0 => z >= 0).
// That is a Lasso on rows divided by m_i. The loss is a relative error: with m_i = y_i
// (reweight_iterations = 0) exactly the squared relative error, whose root is RMSPE; but that
// estimator is biased low (under-predicting costs at most 100 %, over-predicting is unbounded)
// and lets one tiny, noisy y_i dominate. By default m_i is a model prediction instead, as in
// iteratively reweighted least squares for a Gamma GLM (variance proportional to mean^2, which
// gives unbiased means): m = the prediction of a lightly regularised log-log pilot fit, then each
// of reweight_iterations fits (each with its own cross-validated alpha) sets m for the next.
//
// maclinear: the design of nnlasso with m_i = y_i on MacLinearTerms, at a fixed alpha of 1e-9 *
// alpha_max (no cross-validation): relative-error non-negative least squares.
//
// After the fit, calibration (FitOptions::calibrate), the envelope (FitOptions::envelope) and
// the residual correction (FitOptions::residual_correction) as described there.
//
// Term sets: TermSet::kCapped (default) uses CappedPolynomialTerms for time_s and energy_j and
// log2(x) terms for power_w; kFull uses NeuralPower's full PolynomialTerms and [x, log2 x] power
// terms. See fit/features.h for why capped extrapolates sanely, and tests/bench/fit_candidates.cpp
// for the comparison that chose the defaults.
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
  // Multiplies the row's weight in the nnlasso and maclinear loss (> 0; 1: as every row).
  // FitBundle gives FitOptions::network_row_weight to layers of real networks.
  double weight = 1;
};

enum class TermSet { kCapped, kFull };
std::string_view ToString(TermSet set);       // "capped", "full"
TermSet ParseTermSet(std::string_view name);  // throws ConfigError

struct FitOptions {
  ModelKind kind = ModelKind::kNnLasso;
  TermSet term_set = TermSet::kCapped;  // polynomial terms of time_s and energy_j models
  int degree = 0;                       // 0: DefaultDegree(layer)
  int folds = 10;
  double test_fraction = 0.2;  // in [0, 1)
  uint64_t seed = 1;           // held-out split and fold assignment
  int n_alphas = 100;
  double eps = 1e-4;    // smallest alpha on the path = eps * alpha_max
  int max_iter = 1000;  // coordinate descent sweeps per alpha
  double tol = 1e-4;
  int reweight_iterations = 0;  // nnlasso: weighted fits after the pilot; 0: weights 1/y^2
  // nnlasso and maclinear: rows weigh 1/m^loss_exponent in the squared-error loss (m = y, or the
  // reweighting's prediction): 2 is the squared relative error (every row counts alike, a 10 us
  // ReLU as much as a 1 s conv), 1 weighs rows by their size (variance proportional to the
  // mean, as for counts: large layers, which dominate a network's total, count more), 0 is the
  // absolute error.
  double loss_exponent = 2;
  // Training rows whose value differs from the log-log pilot fit by more than this factor
  // (either way) are left out of the fit (a preempted timing, a reading below RAPL resolution).
  // Held-out rows are always scored. 0 disables.
  double outlier_factor = 10;
  // FitBundle leaves out samples whose trials disagree: relative standard deviation of the
  // per-execution time over the trials (PassSample::time_spread) above this. 0 keeps all.
  double max_spread = 0.25;
  // FitBundle keeps samples flagged contended (PassSample::contended) only when true.
  bool include_contended = false;
  // Replaces the kind's candidate terms (ModelTerms) when non-empty; for experiments.
  std::vector<Term> terms;
  // nnlasso and maclinear: multiply the fitted model by a factor c over the training rows
  // (Model::calibration). A fit to relative error is biased low under multiplicative noise
  // (over-predicting is penalised more than under-predicting by the same factor). kSum: c =
  // sum(y) / sum(prediction), the training rows' total; kMedian: median(y / prediction);
  // kMean: mean(y / prediction). Default kNone: on real-network layers left out of the fit
  // every calibration made the error worse (JOURNAL.md 2026-12-01: random rows that are slow
  // for their size pull c up), so it is an option to evaluate, not a fix.
  enum class Calibration { kNone, kSum, kMedian, kMean };
  Calibration calibration = Calibration::kNone;
  // nnlasso and loglasso: attach an Envelope (fit/model_bundle.h) fitted on the training rows.
  bool envelope = true;
  // nnlasso, loglasso and lasso: attach a ResidualCorrection (fit/residual_correction.h) from
  // the training rows' residuals after calibration and envelope; never for maclinear, the
  // baseline. Off by default: on real-network layers left out of the fit it made the error
  // worse (JOURNAL.md 2026-12-02: rows measured together share the machine's state, so nearby
  // residuals predict each other within a run but not across runs).
  bool residual_correction = false;
  // Model::extrapolation of the fitted model (fit/model_bundle.h); only models with an envelope
  // (nnlasso, loglasso, gbtree) extrapolate differently under kBoundary. The default since
  // 2026-12-06 (JOURNAL.md, fourth session): on ViT-B/32, whose patch embedding lies far outside
  // the conv bounds, it took the real-network layers' RMSPE from 95 % to 31 % and the worst
  // layer from 6.7x to 2.0x its isolated measurement; on the five reference nets, whose layers
  // lie inside the bounds, nothing changed.
  Extrapolation extrapolation = Extrapolation::kBoundary;
  // FitBundle: the weight (TrainingRow::weight) of samples taken from a real network
  // (`measure --net --layers`) or drawn near one (`measure --near`), against 1 for random rows.
  // Random rows are drawn log-uniformly within the bounds and mostly lie where no network is
  // (issue 10 item 4); > 1 leans the fit toward the shapes networks use. 1: no preference.
  // An importance weight, not a way to score a network on its own layers: evaluate leaves a
  // network's own samples out of the fit that predicts it.
  double network_row_weight = 1;
  // FitBundle: estimate the host's wall time per minor page fault from its samples and take
  // faults x that out of every sample's time before fitting (fit/fault_time.h), so that time
  // models describe compute without fresh pages. Off by default: measured in JOURNAL.md
  // 2026-12-07 (sixth session).
  bool subtract_fault_time = false;
};

// "none", "sum", "median", "mean"; Parse throws ConfigError.
std::string_view ToString(FitOptions::Calibration calibration);
FitOptions::Calibration ParseCalibration(std::string_view name);

// Rows a model needs: 5 per fold in the training split, i.e. ceil(5 * folds / (1 - test_fraction)).
int64_t MinRows(const FitOptions& options);

// Fits one model. `meter` is recorded in the model; for energy_j and power_w the RAPL domain is
// "package". Throws FitError when fewer than MinRows usable rows remain, ConfigError for bad
// options (degree < 1 after defaulting, folds < 2, test_fraction outside [0, 1)).
Model FitModel(LayerType layer, Pass pass, Quantity quantity, const std::vector<TrainingRow>& rows,
               const FitOptions& options, const std::string& meter = "");

// The candidate terms a kind uses for a quantity (see above).
std::vector<Term> ModelTerms(LayerType layer, Quantity quantity, ModelKind kind, int degree,
                             TermSet term_set = TermSet::kCapped);

}  // namespace lj
