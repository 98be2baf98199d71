#include "fit/model_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "fit/cross_validation.h"
#include "fit/lasso.h"

namespace lj {
namespace {

std::string ModelName(LayerType layer, Pass pass, Quantity quantity) {
  return std::string(ToString(layer)) + "/" + std::string(ToString(pass)) + "/" +
         std::string(ToString(quantity));
}

std::string LossName(ModelKind kind, Quantity quantity, bool reweighted) {
  switch (kind) {
    case ModelKind::kNnLasso:
      return reweighted
                 ? "mean squared error relative to the previous fit's prediction ((y - pred) / m)^2"
                 : "mean squared relative error ((y - pred) / y)^2";
    case ModelKind::kLogLasso:
      return "mean squared error of ln(y)";
    case ModelKind::kLasso:
      return "mean squared error of y (" + std::string(ToString(quantity)) + ")";
    case ModelKind::kMacLinear:
      return "mean squared relative error ((y - pred) / y)^2, no penalty (alpha 1e-9 alpha_max)";
    case ModelKind::kGbTree:
      return "mean squared error of ln(y / roofline proxy); alpha = the number of trees";
  }
  return "";
}

// A Lasso problem and how its coefficients map back to model terms:
// term j = coef(j + offset) at center(j) and scale(j); intercept from coef(0) / intercept_scale
// when offset == 1 (explicit non-negative intercept column), else from the fit's intercept.
struct Design {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LassoOptions lasso;
  Eigen::VectorXd center, scale;
  double intercept_scale = 1;
  int offset = 0;
};

// Lasso design for nnlasso with row multipliers m_i^(-exponent / 2) (see model_fit.h): the
// loss weights row i by m_i^-exponent (2: relative error; 1: variance proportional to the mean;
// 0: absolute error), times its TrainingRow::weight `w` (empty: 1 for every row).
// unpenalised (empty, or one flag per column of t): columns whose coefficient is not penalised,
// like the intercept's (IsUnpenalisedTerm).
Design WeightedDesign(const Eigen::MatrixXd& t, const Eigen::VectorXd& y, const Eigen::VectorXd& m,
                      double exponent = 2, const std::vector<bool>& unpenalised = {},
                      const Eigen::VectorXd& w = {}) {
  const Eigen::Index n = t.rows(), p = t.cols();
  Design d;
  Eigen::ArrayXd r = m.array().pow(-exponent / 2);
  if (w.size() == n) r *= w.array().sqrt();
  d.x.resize(n, p + 1);
  d.x.col(0) = r.matrix();
  d.x.rightCols(p) = t.array().colwise() * r;
  d.center = Eigen::VectorXd::Zero(p);
  d.scale = Eigen::VectorXd::Ones(p);
  for (Eigen::Index j = 0; j <= p; ++j) {
    const double rms = std::sqrt(d.x.col(j).squaredNorm() / static_cast<double>(n));
    const double s = rms > 0 ? rms : 1.0;
    d.x.col(j) /= s;
    if (j == 0) {
      d.intercept_scale = s;
    } else {
      d.scale(j - 1) = s;
    }
  }
  d.y = (y.array() * r).matrix();
  d.lasso.fit_intercept = false;
  d.lasso.positive = true;
  d.lasso.penalty_factors = Eigen::VectorXd::Ones(p + 1);
  d.lasso.penalty_factors(0) = 0;  // the intercept column
  for (size_t j = 0; j < unpenalised.size(); ++j) {
    if (unpenalised[j]) d.lasso.penalty_factors(static_cast<Eigen::Index>(j) + 1) = 0;
  }
  d.offset = 1;
  return d;
}

// Lasso design on standardised (centred, unit variance) terms with a free intercept.
Design StandardisedDesign(const Eigen::MatrixXd& t, const Eigen::VectorXd& y) {
  const Eigen::Index n = t.rows(), p = t.cols();
  Design d;
  d.center = t.colwise().mean().transpose();
  d.scale = Eigen::VectorXd::Ones(p);
  d.x = t.rowwise() - d.center.transpose();
  for (Eigen::Index j = 0; j < p; ++j) {
    const double sd = std::sqrt(d.x.col(j).squaredNorm() / static_cast<double>(n));
    d.scale(j) = sd > 0 ? sd : 1.0;
    d.x.col(j) /= d.scale(j);
  }
  d.y = y;
  d.lasso.fit_intercept = true;
  return d;
}

// Cross-validates alpha, refits on all rows of the design, and stores intercept and non-zero
// terms in `model`.
// fixed_alpha_fraction > 0: no cross-validation, alpha = fixed_alpha_fraction * alpha_max.
void FitDesign(Design& d, LayerType layer, const std::vector<Term>& terms,
               const FitOptions& options, Model& model, double fixed_alpha_fraction = 0) {
  d.lasso.max_iter = options.max_iter;
  d.lasso.tol = options.tol;
  LassoFit fit;
  if (fixed_alpha_fraction > 0) {
    const GramStats stats = GramStats::From(d.x, d.y);
    d.lasso.max_iter = std::max(options.max_iter, 10000);
    model.alpha = fixed_alpha_fraction * AlphaMax(stats, d.lasso);
    model.cv_mse = 0;
    fit = FitLasso(stats, model.alpha, d.lasso);
  } else {
    CvOptions cv;
    cv.folds = options.folds;
    cv.seed = options.seed;
    cv.n_alphas = options.n_alphas;
    cv.eps = options.eps;
    const CvResult result = CrossValidateLasso(d.x, d.y, d.lasso, cv);
    model.alpha = result.best_alpha;
    model.cv_mse = result.mean_mse[static_cast<size_t>(result.best_index)];
    const std::vector<double> path_alphas(result.alphas.begin(),
                                          result.alphas.begin() + result.best_index + 1);
    fit = LassoPath(GramStats::From(d.x, d.y), path_alphas, d.lasso).back();
  }
  model.intercept = d.offset == 1 ? fit.coef(0) / d.intercept_scale : fit.intercept;
  model.terms.clear();
  for (size_t j = 0; j < terms.size(); ++j) {
    const double c = fit.coef(static_cast<Eigen::Index>(j) + d.offset);
    if (c == 0) continue;
    model.terms.push_back({TermName(layer, terms[j]), terms[j], c,
                           d.center(static_cast<Eigen::Index>(j)),
                           d.scale(static_cast<Eigen::Index>(j))});
  }
}

// Pilot for the nnlasso weights: a log-log Lasso at alpha = 1e-3 * alpha_max (no CV),
// exp(prediction) for every training row. Always > 0.
Eigen::VectorXd PilotPrediction(LayerType layer, const std::vector<LayerConfig>& configs,
                                const Eigen::VectorXd& y) {
  const Eigen::MatrixXd t = DesignMatrix(layer, LogTerms(layer), configs);
  Design d = StandardisedDesign(t, y.array().log().matrix());
  const GramStats stats = GramStats::From(d.x, d.y);
  const LassoFit fit = FitLasso(stats, 1e-3 * AlphaMax(stats, d.lasso), d.lasso);
  return PredictLinear(d.x, fit).array().exp().matrix();
}

constexpr double kNnlsAlphaFraction = 1e-9;

// The terms whose value varies over the rows, and their design matrix. A term that is constant
// in the training data cannot be told from the intercept, and its coefficient would be
// extrapolated arbitrarily (a feature that never left 1 there, such as groups on dense-only
// data or mmap_*_elements on small layers, would scale it by its value outside), so it is left
// out of the fit.
struct VaryingDesign {
  std::vector<Term> terms;
  Eigen::MatrixXd t;  // rows x terms.size()
};
VaryingDesign VaryingTerms(LayerType layer, const std::vector<Term>& terms,
                           const std::vector<LayerConfig>& configs) {
  const Eigen::MatrixXd all = DesignMatrix(layer, terms, configs);
  std::vector<Eigen::Index> keep;
  VaryingDesign out;
  for (Eigen::Index j = 0; j < all.cols(); ++j) {
    const double hi = all.col(j).maxCoeff(), lo = all.col(j).minCoeff();
    if (hi - lo > 1e-12 * std::max(1.0, std::abs(hi))) {
      keep.push_back(j);
      out.terms.push_back(terms[static_cast<size_t>(j)]);
    }
  }
  out.t = all(Eigen::all, keep);
  return out;
}

// The model's own value (Prediction::unclamped: no envelope, no groups rule) for each config.
std::vector<double> RawPredictions(const Model& model, const std::vector<LayerConfig>& configs) {
  std::vector<double> out;
  out.reserve(configs.size());
  for (const LayerConfig& c : configs) out.push_back(Predict(model, c).unclamped);
  return out;
}

// Multiplies the model by the calibration factor over the rows with a prediction > 0.
void Calibrate(Model& model, const std::vector<LayerConfig>& configs, const Eigen::VectorXd& y,
               FitOptions::Calibration how) {
  const std::vector<double> predicted = RawPredictions(model, configs);
  double sum_y = 0, sum_p = 0;
  std::vector<double> ratios;
  for (size_t i = 0; i < predicted.size(); ++i) {
    if (!(predicted[i] > 0)) continue;
    const double yi = y(static_cast<Eigen::Index>(i));
    sum_y += yi;
    sum_p += predicted[i];
    ratios.push_back(yi / predicted[i]);
  }
  if (ratios.empty()) return;
  double c = 1;
  switch (how) {
    case FitOptions::Calibration::kNone:
      return;
    case FitOptions::Calibration::kSum:
      c = sum_y / sum_p;
      break;
    case FitOptions::Calibration::kMedian: {
      const auto mid = ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2);
      std::nth_element(ratios.begin(), mid, ratios.end());
      c = *mid;
      break;
    }
    case FitOptions::Calibration::kMean: {
      double s = 0;
      for (double r : ratios) s += r;
      c = s / static_cast<double>(ratios.size());
      break;
    }
  }
  if (!(c > 0) || !std::isfinite(c)) return;
  model.calibration = c;
  model.intercept *= c;
  for (ModelTerm& t : model.terms) t.coefficient *= c;
}

// The roofline proxy and the measured / proxy range of the training rows.
Envelope FitEnvelope(LayerType layer, const std::vector<LayerConfig>& configs,
                     const Eigen::VectorXd& y, const FitOptions& options) {
  const VaryingDesign v = VaryingTerms(layer, MacLinearTerms(layer), configs);
  const std::vector<Term>& used = v.terms;
  Design d = WeightedDesign(v.t, y, y);
  Model proxy;
  proxy.layer = layer;
  FitDesign(d, layer, used, options, proxy, kNnlsAlphaFraction);
  Envelope e;
  e.intercept = proxy.intercept;
  for (const ModelTerm& mt : proxy.terms) {
    ModelTerm folded = mt;
    folded.coefficient = mt.coefficient / mt.scale;
    folded.center = 0;
    folded.scale = 1;
    e.terms.push_back(folded);
  }
  e.min_ratio = std::numeric_limits<double>::infinity();
  e.max_ratio = 0;
  for (size_t i = 0; i < configs.size(); ++i) {
    const double p = e.Proxy(FeatureValues(configs[i]));
    if (!(p > 0)) continue;
    const double r = y(static_cast<Eigen::Index>(i)) / p;
    e.min_ratio = std::min(e.min_ratio, r);
    e.max_ratio = std::max(e.max_ratio, r);
  }
  if (!(e.max_ratio > 0) || !std::isfinite(e.min_ratio)) {
    e.min_ratio = 0;  // no usable proxy: the envelope then never clamps
    e.max_ratio = std::numeric_limits<double>::max();
  }
  return e;
}

// gbtree: the roofline proxy (the envelope's fit), then boosted trees on every feature for
// ln(y / proxy), their number chosen by k-fold cross-validation (fit/boosted_trees.h).
void FitGbTree(LayerType layer, const std::vector<LayerConfig>& configs, const Eigen::VectorXd& y,
               const FitOptions& options, Model& model) {
  Envelope proxy = FitEnvelope(layer, configs, y, options);
  Eigen::MatrixXd x(static_cast<Eigen::Index>(configs.size()),
                    static_cast<Eigen::Index>(FeatureNames(layer).size()));
  Eigen::VectorXd r(x.rows());
  bool usable = proxy.max_ratio < std::numeric_limits<double>::max();
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const std::vector<double> f = FeatureValues(configs[static_cast<size_t>(i)]);
    for (Eigen::Index k = 0; k < x.cols(); ++k) x(i, k) = f[static_cast<size_t>(k)];
    const double p = proxy.Proxy(f);
    usable = usable && p > 0 && std::isfinite(p);
    r(i) = usable ? std::log(y(i) / p) : 0;
  }
  if (!usable) {
    // No positive proxy for every row: a constant proxy (the geometric mean), trees do the rest.
    proxy = Envelope{};
    proxy.intercept = std::exp(y.array().log().mean());
    proxy.min_ratio = (y.array() / proxy.intercept).minCoeff();
    proxy.max_ratio = (y.array() / proxy.intercept).maxCoeff();
    r = (y.array() / proxy.intercept).log();
  }
  BoostingOptions bo;
  bo.folds = std::min(options.folds, 5);
  bo.seed = options.seed;
  const BoostingFit fit = FitBoostedTreesCv(x, r, bo);
  model.envelope = proxy;
  model.trees = fit.model;
  model.alpha = fit.n_trees;  // the cross-validated hyperparameter: the number of trees
  model.cv_mse = fit.cv_mse;
  model.intercept = 0;
  model.terms.clear();
}

// The residual correction from the training rows: ln(measured / model) where the model (with
// calibration and envelope, without a correction) is > 0.
ResidualCorrection FitResidualCorrection(const Model& model,
                                         const std::vector<LayerConfig>& configs,
                                         const Eigen::VectorXd& y) {
  Model plain = model;
  plain.residuals.reset();
  std::vector<std::vector<double>> points;
  std::vector<double> residuals;
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::vector<double> features = FeatureValues(configs[i]);
    const Prediction p = Predict(plain, configs[i]);
    const double yi = y(static_cast<Eigen::Index>(i));
    if (!(p.value > 0) || !std::isfinite(p.value)) continue;
    points.push_back(CorrectionPoint(model.layer, features));
    residuals.push_back(std::log(yi / p.value));
  }
  return ResidualCorrection::Fit(std::move(points), std::move(residuals));
}

}  // namespace

std::string_view ToString(TermSet set) { return set == TermSet::kCapped ? "capped" : "full"; }

TermSet ParseTermSet(std::string_view name) {
  if (name == "capped") return TermSet::kCapped;
  if (name == "full") return TermSet::kFull;
  throw ConfigError("unknown term set '" + std::string(name) + "' (expected capped or full)");
}

std::string_view ToString(FitOptions::Calibration calibration) {
  switch (calibration) {
    case FitOptions::Calibration::kNone:
      return "none";
    case FitOptions::Calibration::kSum:
      return "sum";
    case FitOptions::Calibration::kMedian:
      return "median";
    case FitOptions::Calibration::kMean:
      return "mean";
  }
  return "?";
}

FitOptions::Calibration ParseCalibration(std::string_view name) {
  for (const auto c : {FitOptions::Calibration::kNone, FitOptions::Calibration::kSum,
                       FitOptions::Calibration::kMedian, FitOptions::Calibration::kMean}) {
    if (name == ToString(c)) return c;
  }
  throw ConfigError("unknown calibration '" + std::string(name) +
                    "' (expected none, sum, median or mean)");
}

int64_t MinRows(const FitOptions& options) {
  return static_cast<int64_t>(
      std::ceil(5.0 * options.folds / (1.0 - options.test_fraction) - 1e-9));
}

std::vector<Term> ModelTerms(LayerType layer, Quantity quantity, ModelKind kind, int degree,
                             TermSet term_set) {
  if (kind == ModelKind::kLogLasso) return LogTerms(layer);
  if (quantity == Quantity::kPowerW) return PowerTerms(layer, term_set == TermSet::kFull);
  if (kind == ModelKind::kMacLinear || kind == ModelKind::kGbTree) return MacLinearTerms(layer);
  return term_set == TermSet::kCapped ? CappedPolynomialTerms(layer, degree)
                                      : PolynomialTerms(layer, degree);
}

Model FitModel(LayerType layer, Pass pass, Quantity quantity, const std::vector<TrainingRow>& rows,
               const FitOptions& options, const std::string& meter) {
  const std::string name = ModelName(layer, pass, quantity);
  const int degree = options.degree == 0 ? DefaultDegree(layer) : options.degree;
  if (degree < 1) throw ConfigError(name + ": degree must be >= 1, got " + std::to_string(degree));
  if (options.folds < 2)
    throw ConfigError(name + ": folds must be >= 2, got " + std::to_string(options.folds));
  if (!(options.test_fraction >= 0 && options.test_fraction < 1)) {
    throw ConfigError(name + ": test fraction must be in [0, 1), got " +
                      std::to_string(options.test_fraction));
  }
  if (options.reweight_iterations < 0)
    throw ConfigError(name + ": reweight_iterations must be >= 0");

  std::vector<TrainingRow> usable;
  for (const TrainingRow& r : rows) {
    if (r.config.type != layer) {
      throw ConfigError(name + ": got a " + std::string(ToString(r.config.type)) + " row");
    }
    if (!(r.weight > 0) || !std::isfinite(r.weight)) {
      throw ConfigError(name + ": a row's weight must be > 0, got " + std::to_string(r.weight));
    }
    if (std::isfinite(r.value) && r.value > 0)
      usable.push_back({ForPass(r.config, pass), r.value, r.weight});
  }
  const auto n = static_cast<int64_t>(usable.size());
  if (n < MinRows(options)) {
    throw FitError(name + ": " + std::to_string(n) + " usable rows (value > 0), need at least " +
                   std::to_string(MinRows(options)) + " for " + std::to_string(options.folds) +
                   "-fold cross-validation");
  }

  const bool custom = !options.terms.empty();
  const std::vector<Term> terms =
      custom ? options.terms : ModelTerms(layer, quantity, options.kind, degree, options.term_set);
  Model model;
  model.layer = layer;
  model.pass = pass;
  model.quantity = quantity;
  model.kind = options.kind;
  model.log_target = options.kind == ModelKind::kLogLasso;
  const bool maclinear = options.kind == ModelKind::kMacLinear;
  const bool polynomial = !custom && options.kind != ModelKind::kLogLasso && !maclinear &&
                          options.kind != ModelKind::kGbTree && quantity != Quantity::kPowerW;
  model.degree = polynomial ? degree : 0;
  model.term_set = options.kind == ModelKind::kGbTree           ? "trees"
                   : custom                                     ? "custom"
                   : options.kind == ModelKind::kLogLasso       ? "log"
                   : maclinear && quantity != Quantity::kPowerW ? "maclinear"
                   : quantity == Quantity::kPowerW
                       ? (options.term_set == TermSet::kCapped ? "log2_power" : "power")
                   : options.term_set == TermSet::kCapped ? "capped_polynomial"
                                                          : "polynomial";
  model.meter = meter;
  model.rapl_domain = quantity == Quantity::kTimeS ? "" : "package";
  model.n_rows = static_cast<int64_t>(rows.size());
  model.n_dropped = static_cast<int64_t>(rows.size()) - n;
  model.n_terms_total = static_cast<int>(terms.size());
  model.cv_folds = options.folds;
  model.max_spread = options.max_spread;
  model.cv_seed = options.seed;
  const bool reweighted = options.kind == ModelKind::kNnLasso && options.reweight_iterations > 0;
  model.cv_loss = LossName(options.kind, quantity, reweighted);

  const TrainTestSplit split = SplitTrainTest(n, options.test_fraction, options.seed);
  model.n_train = static_cast<int64_t>(split.train.size());
  model.n_test = static_cast<int64_t>(split.test.size());
  std::vector<LayerConfig> train_configs;
  Eigen::VectorXd y(model.n_train), w(model.n_train);
  for (size_t k = 0; k < split.train.size(); ++k) {
    const TrainingRow& r = usable[static_cast<size_t>(split.train[k])];
    train_configs.push_back(r.config);
    y(static_cast<Eigen::Index>(k)) = r.value;
    w(static_cast<Eigen::Index>(k)) = r.weight;
  }
  Eigen::VectorXd pilot;
  if (options.outlier_factor > 0 ||
      (options.kind == ModelKind::kNnLasso && options.reweight_iterations > 0)) {
    pilot = PilotPrediction(layer, train_configs, y);
  }
  if (options.outlier_factor > 0) {
    const double limit = std::log(options.outlier_factor);
    std::vector<LayerConfig> kept_configs;
    std::vector<double> kept_y, kept_pilot, kept_w;
    for (size_t k = 0; k < train_configs.size(); ++k) {
      const auto i = static_cast<Eigen::Index>(k);
      if (std::abs(std::log(y(i) / pilot(i))) > limit) continue;
      kept_configs.push_back(train_configs[k]);
      kept_y.push_back(y(i));
      kept_pilot.push_back(pilot(i));
      kept_w.push_back(w(i));
    }
    model.n_outliers = static_cast<int64_t>(train_configs.size() - kept_configs.size());
    if (static_cast<int64_t>(kept_configs.size()) < 5 * options.folds) {
      throw FitError(name + ": only " + std::to_string(kept_configs.size()) +
                     " training rows within a factor " + std::to_string(options.outlier_factor) +
                     " of the pilot fit");
    }
    train_configs = std::move(kept_configs);
    y = Eigen::Map<const Eigen::VectorXd>(kept_y.data(), static_cast<Eigen::Index>(kept_y.size()));
    pilot = Eigen::Map<const Eigen::VectorXd>(kept_pilot.data(),
                                              static_cast<Eigen::Index>(kept_pilot.size()));
    w = Eigen::Map<const Eigen::VectorXd>(kept_w.data(), static_cast<Eigen::Index>(kept_w.size()));
  }
  // gbtree fits on FeatureValues, not on terms: no design matrix.
  const VaryingDesign varying = options.kind == ModelKind::kGbTree
                                    ? VaryingDesign{}
                                    : VaryingTerms(layer, terms, train_configs);
  const std::vector<Term>& used = varying.terms;
  const Eigen::MatrixXd& t = varying.t;

  if (options.kind == ModelKind::kGbTree) {
    FitGbTree(layer, train_configs, y, options, model);
  } else if (maclinear) {
    Design d = WeightedDesign(t, y, y, options.loss_exponent, {}, w);
    FitDesign(d, layer, used, options, model, kNnlsAlphaFraction);
  } else if (options.kind == ModelKind::kNnLasso) {
    Eigen::VectorXd m = reweighted ? pilot : y;
    std::vector<bool> unpenalised;
    for (const Term& term : used) unpenalised.push_back(IsUnpenalisedTerm(layer, term));
    for (int iteration = 0; iteration < std::max(1, options.reweight_iterations); ++iteration) {
      Design d = WeightedDesign(t, y, m, options.loss_exponent, unpenalised, w);
      FitDesign(d, layer, used, options, model);
      if (!reweighted) break;
      // Next weights: this fit's predictions, floored at 1e-3 of their median so that a row the
      // model predicts as ~0 cannot take all the weight.
      Eigen::VectorXd z = Eigen::VectorXd::Constant(t.rows(), model.intercept);
      for (size_t j = 0; j < used.size(); ++j) {
        for (const ModelTerm& mt : model.terms) {
          if (mt.term == used[j])
            z += t.col(static_cast<Eigen::Index>(j)) * (mt.coefficient / mt.scale);
        }
      }
      std::vector<double> sorted(z.data(), z.data() + z.size());
      std::nth_element(sorted.begin(),
                       sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2),
                       sorted.end());
      const double floor =
          std::max(1e-3 * sorted[sorted.size() / 2], std::numeric_limits<double>::min());
      m = z.cwiseMax(floor);
    }
  } else {
    Design d = StandardisedDesign(t, model.log_target ? Eigen::VectorXd(y.array().log()) : y);
    FitDesign(d, layer, used, options, model);
  }

  if (options.calibration != FitOptions::Calibration::kNone &&
      (maclinear || options.kind == ModelKind::kNnLasso)) {
    Calibrate(model, train_configs, y, options.calibration);
  }
  if (options.envelope &&
      (options.kind == ModelKind::kNnLasso || options.kind == ModelKind::kLogLasso)) {
    model.envelope = FitEnvelope(layer, train_configs, y, options);
  }
  model.extrapolation = options.extrapolation;
  if (options.residual_correction && !maclinear) {
    model.residuals = FitResidualCorrection(model, train_configs, y);
    if (model.residuals->points.empty()) model.residuals.reset();
  }

  // Training bounds of every feature.
  const auto& feature_names = FeatureNames(layer);
  std::vector<double> lo(feature_names.size(), std::numeric_limits<double>::infinity());
  std::vector<double> hi(feature_names.size(), -std::numeric_limits<double>::infinity());
  for (const LayerConfig& c : train_configs) {
    const std::vector<double> f = FeatureValues(c);
    for (size_t k = 0; k < f.size(); ++k) {
      lo[k] = std::min(lo[k], f[k]);
      hi[k] = std::max(hi[k], f[k]);
    }
  }
  for (size_t k = 0; k < feature_names.size(); ++k)
    model.bounds.push_back({feature_names[k], lo[k], hi[k]});

  const auto score = [&](const std::vector<int64_t>& index) {
    std::vector<double> predicted, measured;
    for (const int64_t i : index) {
      const TrainingRow& r = usable[static_cast<size_t>(i)];
      predicted.push_back(Predict(model, r.config).value);
      measured.push_back(r.value);
    }
    return ComputeMetrics(predicted, measured);
  };
  model.train_metrics = score(split.train);
  if (!split.test.empty()) model.test_metrics = score(split.test);
  return model;
}

}  // namespace lj
