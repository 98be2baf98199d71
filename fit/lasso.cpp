#include "fit/lasso.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace lj {

GramStats GramStats::From(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  if (x.rows() != y.size()) {
    throw std::invalid_argument("GramStats: X has " + std::to_string(x.rows()) +
                                " rows but y has " + std::to_string(y.size()));
  }
  GramStats s;
  s.xtx = Eigen::MatrixXd::Zero(x.cols(), x.cols());
  s.xtx.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
  s.xtx = s.xtx.selfadjointView<Eigen::Lower>();
  s.xty = x.transpose() * y;
  s.x_sum = x.colwise().sum().transpose();
  s.y_sum = y.sum();
  s.yty = y.squaredNorm();
  s.n = static_cast<double>(x.rows());
  return s;
}

GramStats GramStats::From(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                          const std::vector<int64_t>& rows) {
  Eigen::MatrixXd xs(static_cast<Eigen::Index>(rows.size()), x.cols());
  Eigen::VectorXd ys(static_cast<Eigen::Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    xs.row(static_cast<Eigen::Index>(i)) = x.row(rows[i]);
    ys(static_cast<Eigen::Index>(i)) = y(rows[i]);
  }
  return From(xs, ys);
}

GramStats& GramStats::operator-=(const GramStats& other) {
  xtx -= other.xtx;
  xty -= other.xty;
  x_sum -= other.x_sum;
  y_sum -= other.y_sum;
  yty -= other.yty;
  n -= other.n;
  return *this;
}

namespace {

// The (possibly centred) problem coordinate descent works on: minimise
// (1/2) w^T G w - c^T w + n alpha sum_j penalty_j |w_j|, with ||y||^2 = yy for the gap.
struct Problem {
  Eigen::MatrixXd g;
  Eigen::VectorXd c;
  double yy = 0;
  double n = 0;
  Eigen::VectorXd penalty;
  // Features whose (centred) column is zero up to rounding: never updated.
  std::vector<bool> degenerate;
};

Problem MakeProblem(const GramStats& s, const LassoOptions& options) {
  const Eigen::Index p = s.p();
  if (options.penalty_factors.size() != 0 && options.penalty_factors.size() != p) {
    throw std::invalid_argument("Lasso: penalty_factors has " +
                                std::to_string(options.penalty_factors.size()) +
                                " entries but there are " + std::to_string(p) + " features");
  }
  if (s.n <= 0) throw std::invalid_argument("Lasso: no rows");
  Problem pr;
  pr.n = s.n;
  if (options.fit_intercept) {
    const Eigen::VectorXd mean = s.x_sum / s.n;
    pr.g = s.xtx - s.n * mean * mean.transpose();
    pr.c = s.xty - mean * s.y_sum;
    pr.yy = s.yty - s.y_sum * s.y_sum / s.n;
  } else {
    pr.g = s.xtx;
    pr.c = s.xty;
    pr.yy = s.yty;
  }
  pr.penalty =
      options.penalty_factors.size() == p ? options.penalty_factors : Eigen::VectorXd::Ones(p);
  if ((pr.penalty.array() < 0).any()) throw std::invalid_argument("Lasso: negative penalty factor");
  pr.degenerate.resize(static_cast<size_t>(p));
  for (Eigen::Index j = 0; j < p; ++j) {
    pr.degenerate[static_cast<size_t>(j)] = !(pr.g(j, j) > 1e-12 * s.xtx(j, j));
  }
  return pr;
}

// Duality gap of w for the Gram problem, q = G w (scikit-learn's enet_coordinate_descent_gram).
double DualGap(const Problem& pr, const Eigen::VectorXd& w, const Eigen::VectorXd& q,
               double n_alpha, bool positive) {
  const double w_dot_c = w.dot(pr.c);
  const double r_norm2 = std::max(0.0, pr.yy - 2.0 * w_dot_c + w.dot(q));
  const double y_dot_r = pr.yy - w_dot_c;
  double dual_norm = 0;
  double penalty_term = 0;
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    if (pr.penalty(j) == 0) continue;
    const double xtr = pr.c(j) - q(j);
    dual_norm = std::max(dual_norm, (positive ? xtr : std::abs(xtr)) / pr.penalty(j));
    if (w(j) != 0) penalty_term += n_alpha * pr.penalty(j) * std::abs(w(j));
  }
  double scale = 1.0;
  double gap = r_norm2;
  if (dual_norm > n_alpha) {
    scale = n_alpha / dual_norm;
    gap = 0.5 * (r_norm2 + r_norm2 * scale * scale);
  }
  return gap + penalty_term - scale * y_dot_r;
}

LassoFit Solve(const Problem& pr, const GramStats& s, double alpha, const LassoOptions& options,
               const Eigen::VectorXd* warm_start) {
  const Eigen::Index p = pr.c.size();
  if (!(alpha >= 0))
    throw std::invalid_argument("Lasso: alpha must be >= 0, got " + std::to_string(alpha));
  LassoFit fit;
  fit.alpha = alpha;
  fit.coef = Eigen::VectorXd::Zero(p);
  if (warm_start != nullptr) {
    if (warm_start->size() != p) throw std::invalid_argument("Lasso: warm start has wrong size");
    fit.coef = *warm_start;
    if (options.positive) fit.coef = fit.coef.cwiseMax(0.0);
    for (Eigen::Index j = 0; j < p; ++j) {
      if (pr.degenerate[static_cast<size_t>(j)]) fit.coef(j) = 0;
    }
  }
  Eigen::VectorXd& w = fit.coef;
  Eigen::VectorXd q = pr.g * w;
  const double n_alpha = pr.n * alpha;
  const double gap_tol = options.tol * pr.yy;
  for (int iter = 0; iter < options.max_iter; ++iter) {
    double w_max = 0;
    double dw_max = 0;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (pr.degenerate[static_cast<size_t>(j)]) continue;  // constant or zero column
      const double gjj = pr.g(j, j);
      const double old = w(j);
      const double rho = pr.c(j) - q(j) + gjj * old;
      const double threshold = pr.penalty(j) == 0 ? 0.0 : n_alpha * pr.penalty(j);
      double updated;
      if (options.positive) {
        updated = rho > threshold ? (rho - threshold) / gjj : 0.0;
      } else {
        const double shrunk = std::abs(rho) - threshold;
        updated = shrunk > 0 ? std::copysign(shrunk, rho) / gjj : 0.0;
      }
      if (updated != old) {
        q.noalias() += pr.g.col(j) * (updated - old);
        w(j) = updated;
      }
      dw_max = std::max(dw_max, std::abs(updated - old));
      w_max = std::max(w_max, std::abs(updated));
    }
    fit.n_iter = iter + 1;
    if (w_max == 0 || dw_max / w_max < options.tol || iter == options.max_iter - 1) {
      fit.dual_gap = DualGap(pr, w, q, n_alpha, options.positive);
      if (fit.dual_gap < gap_tol) {
        fit.converged = true;
        break;
      }
    }
  }
  fit.intercept = options.fit_intercept ? (s.y_sum - s.x_sum.dot(w)) / s.n : 0.0;
  return fit;
}

}  // namespace

LassoFit FitLasso(const GramStats& stats, double alpha, const LassoOptions& options,
                  const Eigen::VectorXd* warm_start) {
  return Solve(MakeProblem(stats, options), stats, alpha, options, warm_start);
}

LassoFit FitLasso(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double alpha,
                  const LassoOptions& options) {
  return FitLasso(GramStats::From(x, y), alpha, options);
}

std::vector<LassoFit> LassoPath(const GramStats& stats, const std::vector<double>& alphas,
                                const LassoOptions& options) {
  const Problem pr = MakeProblem(stats, options);
  std::vector<LassoFit> fits;
  fits.reserve(alphas.size());
  for (const double alpha : alphas) {
    fits.push_back(Solve(pr, stats, alpha, options, fits.empty() ? nullptr : &fits.back().coef));
  }
  return fits;
}

double AlphaMax(const GramStats& stats, const LassoOptions& options) {
  const Problem pr = MakeProblem(stats, options);
  Eigen::VectorXd xtr = pr.c;  // X^T r0 with w = 0
  if ((pr.penalty.array() == 0).any()) {
    // Fit the unpenalised features alone: an infinite alpha keeps every penalised one at 0.
    LassoOptions unpenalised = options;
    unpenalised.max_iter = std::max(options.max_iter, 10000);
    unpenalised.tol = std::min(options.tol, 1e-10);
    const LassoFit fit =
        Solve(pr, stats, std::numeric_limits<double>::infinity(), unpenalised, nullptr);
    xtr = pr.c - pr.g * fit.coef;
  }
  double best = 0;
  for (Eigen::Index j = 0; j < xtr.size(); ++j) {
    if (pr.penalty(j) == 0) continue;
    best = std::max(best, (options.positive ? xtr(j) : std::abs(xtr(j))) / pr.penalty(j));
  }
  return best / pr.n;
}

std::vector<double> AlphaGrid(const GramStats& stats, const LassoOptions& options, int n_alphas,
                              double eps) {
  if (n_alphas < 1) throw std::invalid_argument("AlphaGrid: n_alphas must be >= 1");
  if (!(eps > 0 && eps < 1)) throw std::invalid_argument("AlphaGrid: eps must be in (0, 1)");
  double alpha_max = AlphaMax(stats, options);
  if (!(alpha_max > 0)) alpha_max = std::numeric_limits<double>::epsilon();
  std::vector<double> alphas(static_cast<size_t>(n_alphas));
  for (int i = 0; i < n_alphas; ++i) {
    const double t = n_alphas == 1 ? 0.0 : static_cast<double>(i) / (n_alphas - 1);
    alphas[static_cast<size_t>(i)] = alpha_max * std::pow(eps, t);
  }
  return alphas;
}

double SumSquaredError(const GramStats& s, const LassoFit& fit) {
  const Eigen::VectorXd& w = fit.coef;
  const double b = fit.intercept;
  const double sse = s.yty - 2.0 * w.dot(s.xty) - 2.0 * b * s.y_sum + w.dot(s.xtx * w) +
                     2.0 * b * w.dot(s.x_sum) + s.n * b * b;
  return std::max(0.0, sse);
}

Eigen::VectorXd PredictLinear(const Eigen::MatrixXd& x, const LassoFit& fit) {
  return (x * fit.coef).array() + fit.intercept;
}

}  // namespace lj
