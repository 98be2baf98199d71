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

std::string LossName(ModelKind kind, Quantity quantity) {
  switch (kind) {
    case ModelKind::kNnLasso:
      return "mean squared relative error ((pred - y) / y)^2";
    case ModelKind::kLogLasso:
      return "mean squared error of ln(y)";
    case ModelKind::kLasso:
      return "mean squared error of y (" + std::string(ToString(quantity)) + ")";
  }
  return "";
}

struct Design {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  LassoOptions lasso;
};

}  // namespace

int64_t MinRows(const FitOptions& options) {
  return static_cast<int64_t>(std::ceil(5.0 * options.folds / (1.0 - options.test_fraction) - 1e-9));
}

std::vector<Term> ModelTerms(LayerType layer, Quantity quantity, ModelKind kind, int degree) {
  if (kind == ModelKind::kLogLasso) return LogTerms(layer);
  if (quantity == Quantity::kPowerW) return PowerTerms(layer);
  return PolynomialTerms(layer, degree);
}

Model FitModel(LayerType layer, Pass pass, Quantity quantity, const std::vector<TrainingRow>& rows,
               const FitOptions& options, const std::string& meter) {
  const std::string name = ModelName(layer, pass, quantity);
  const int degree = options.degree == 0 ? DefaultDegree(layer) : options.degree;
  if (degree < 1) throw ConfigError(name + ": degree must be >= 1, got " + std::to_string(degree));
  if (options.folds < 2) throw ConfigError(name + ": folds must be >= 2, got " + std::to_string(options.folds));
  if (!(options.test_fraction >= 0 && options.test_fraction < 1)) {
    throw ConfigError(name + ": test fraction must be in [0, 1), got " +
                      std::to_string(options.test_fraction));
  }

  std::vector<TrainingRow> usable;
  for (const TrainingRow& r : rows) {
    if (r.config.type != layer) {
      throw ConfigError(name + ": got a " + std::string(ToString(r.config.type)) + " row");
    }
    if (std::isfinite(r.value) && r.value > 0) usable.push_back(r);
  }
  const auto n = static_cast<int64_t>(usable.size());
  if (n < MinRows(options)) {
    throw FitError(name + ": " + std::to_string(n) + " usable rows (value > 0), need at least " +
                   std::to_string(MinRows(options)) + " for " + std::to_string(options.folds) +
                   "-fold cross-validation");
  }

  Model model;
  model.layer = layer;
  model.pass = pass;
  model.quantity = quantity;
  model.kind = options.kind;
  model.log_target = options.kind == ModelKind::kLogLasso;
  model.degree = (options.kind == ModelKind::kLogLasso || quantity == Quantity::kPowerW) ? 0 : degree;
  model.meter = meter;
  model.rapl_domain = quantity == Quantity::kTimeS ? "" : "package";
  model.n_rows = static_cast<int64_t>(rows.size());
  model.n_dropped = static_cast<int64_t>(rows.size()) - n;
  model.cv_folds = options.folds;
  model.cv_seed = options.seed;
  model.cv_loss = LossName(options.kind, quantity);

  const TrainTestSplit split = SplitTrainTest(n, options.test_fraction, options.seed);
  model.n_train = static_cast<int64_t>(split.train.size());
  model.n_test = static_cast<int64_t>(split.test.size());
  std::vector<LayerConfig> train_configs;
  std::vector<double> train_y;
  for (const int64_t i : split.train) {
    train_configs.push_back(usable[static_cast<size_t>(i)].config);
    train_y.push_back(usable[static_cast<size_t>(i)].value);
  }

  const std::vector<Term> terms =
      options.terms.empty() ? ModelTerms(layer, quantity, options.kind, degree) : options.terms;
  model.n_terms_total = static_cast<int>(terms.size());
  const Eigen::MatrixXd t = DesignMatrix(layer, terms, train_configs);
  const Eigen::Index n_train = t.rows();
  const Eigen::Index p = t.cols();
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(train_y.data(), n_train);

  // Transform to a Lasso problem; remember how to map coefficients back to terms.
  Design d;
  Eigen::VectorXd center = Eigen::VectorXd::Zero(p);
  Eigen::VectorXd scale = Eigen::VectorXd::Ones(p);
  double intercept_scale = 1;
  if (options.kind == ModelKind::kNnLasso) {
    const Eigen::ArrayXd inv_y = y.array().inverse();
    d.x.resize(n_train, p + 1);
    d.x.col(0) = inv_y.matrix();
    d.x.rightCols(p) = t.array().colwise() * inv_y;
    for (Eigen::Index j = 0; j <= p; ++j) {
      const double rms = std::sqrt(d.x.col(j).squaredNorm() / static_cast<double>(n_train));
      const double s = rms > 0 ? rms : 1.0;
      d.x.col(j) /= s;
      if (j == 0) {
        intercept_scale = s;
      } else {
        scale(j - 1) = s;
      }
    }
    d.y = Eigen::VectorXd::Ones(n_train);
    d.lasso.fit_intercept = false;
    d.lasso.positive = true;
    d.lasso.penalty_factors = Eigen::VectorXd::Ones(p + 1);
    d.lasso.penalty_factors(0) = 0;  // the intercept column
  } else {
    center = t.colwise().mean().transpose();
    d.x = t.rowwise() - center.transpose();
    for (Eigen::Index j = 0; j < p; ++j) {
      const double sd = std::sqrt(d.x.col(j).squaredNorm() / static_cast<double>(n_train));
      scale(j) = sd > 0 ? sd : 1.0;
      d.x.col(j) /= scale(j);
    }
    d.y = model.log_target ? Eigen::VectorXd(y.array().log()) : y;
    d.lasso.fit_intercept = true;
    d.lasso.positive = false;
  }
  d.lasso.max_iter = options.max_iter;
  d.lasso.tol = options.tol;

  CvOptions cv;
  cv.folds = options.folds;
  cv.seed = options.seed;
  cv.n_alphas = options.n_alphas;
  cv.eps = options.eps;
  const CvResult cv_result = CrossValidateLasso(d.x, d.y, d.lasso, cv);
  model.alpha = cv_result.best_alpha;
  model.cv_mse = cv_result.mean_mse[static_cast<size_t>(cv_result.best_index)];
  const std::vector<double> path_alphas(cv_result.alphas.begin(),
                                        cv_result.alphas.begin() + cv_result.best_index + 1);
  const LassoFit fit = LassoPath(GramStats::From(d.x, d.y), path_alphas, d.lasso).back();

  if (options.kind == ModelKind::kNnLasso) {
    model.intercept = fit.coef(0) / intercept_scale;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (fit.coef(j + 1) == 0) continue;
      model.terms.push_back({TermName(layer, terms[static_cast<size_t>(j)]),
                             terms[static_cast<size_t>(j)], fit.coef(j + 1), 0.0, scale(j)});
    }
  } else {
    model.intercept = fit.intercept;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (fit.coef(j) == 0) continue;
      model.terms.push_back({TermName(layer, terms[static_cast<size_t>(j)]),
                             terms[static_cast<size_t>(j)], fit.coef(j), center(j), scale(j)});
    }
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
  for (size_t k = 0; k < feature_names.size(); ++k) model.bounds.push_back({feature_names[k], lo[k], hi[k]});

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
