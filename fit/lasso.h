#pragma once
// Lasso by cyclic coordinate descent with covariance (Gram) updates, after scikit-learn's
// enet_coordinate_descent_gram (sklearn/linear_model/_cd_fast.pyx) and Friedman, Hastie and
// Tibshirani, "Regularization Paths for Generalized Linear Models via Coordinate Descent" (2010).
//
// Minimises, for data X: n_samples x n_features (one row per sample) and y: n_samples,
//     (1 / (2 n)) * ||y - X w - b||^2 + alpha * sum_j penalty_j * |w_j|
// which is scikit-learn's Lasso objective when all penalty_j = 1. With fit_intercept, X and y
// are centred and b = mean(y) - mean(X) w (unpenalised); otherwise b = 0. With positive, every
// w_j >= 0 (scikit-learn's positive=True). penalty_j = 0 leaves w_j unpenalised (used for an
// explicit intercept column that must stay >= 0).
//
// The solver works on sufficient statistics (GramStats), so one sweep costs O(p^2) whatever n,
// and k-fold cross-validation subtracts a fold's statistics from the total instead of
// recomputing X^T X. Forming the statistics costs O(n p^2) once.
#include <Eigen/Dense>
#include <optional>
#include <vector>

namespace lj {

// Sufficient statistics of a least-squares problem over n rows.
struct GramStats {
  Eigen::MatrixXd xtx;    // p x p, X^T X
  Eigen::VectorXd xty;    // p, X^T y
  Eigen::VectorXd x_sum;  // p, column sums of X
  double y_sum = 0;
  double yty = 0;
  double n = 0;  // number of rows

  // Throws std::invalid_argument if X.rows() != y.size().
  static GramStats From(const Eigen::MatrixXd& x, const Eigen::VectorXd& y);
  // Statistics of the rows of x selected by `rows`.
  static GramStats From(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                        const std::vector<int64_t>& rows);
  GramStats& operator-=(const GramStats& other);
  Eigen::Index p() const { return xty.size(); }
};

struct LassoOptions {
  bool fit_intercept = true;
  bool positive = false;
  // Per-feature penalty factors (size p, >= 0); empty means all 1.
  Eigen::VectorXd penalty_factors;
  int max_iter = 1000;  // sweeps over all coordinates
  // Stop when max|dw| / max|w| < tol and the duality gap < tol * ||y - mean(y)||^2 (or ||y||^2
  // without intercept), as scikit-learn does. The gap ignores the dual constraint of
  // unpenalised features; their fit is exact at each coordinate step.
  double tol = 1e-4;
};

struct LassoFit {
  Eigen::VectorXd coef;  // p
  double intercept = 0;
  double alpha = 0;
  int n_iter = 0;       // sweeps done
  double dual_gap = 0;  // at exit, in units of (1/2)||.||^2 (scikit-learn's dual_gap_ * n)
  bool converged = false;
};

// Fits one alpha. `warm_start` (size p) starts coordinate descent from given coefficients.
// Throws std::invalid_argument for alpha < 0 or a penalty_factors size != p.
LassoFit FitLasso(const GramStats& stats, double alpha, const LassoOptions& options,
                  const Eigen::VectorXd* warm_start = nullptr);
LassoFit FitLasso(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double alpha,
                  const LassoOptions& options);

// Fits the alphas in the given order (normally decreasing), each warm-started from the last:
// the regularisation path.
std::vector<LassoFit> LassoPath(const GramStats& stats, const std::vector<double>& alphas,
                                const LassoOptions& options);

// Smallest alpha at which all penalised coefficients are 0: max_j |X_j^T r0| / (n penalty_j)
// (max_j X_j^T r0 / (n penalty_j) with positive), where r0 is the residual of the fit of the
// intercept and the unpenalised features alone (r0 = y - mean(y) in the plain case).
double AlphaMax(const GramStats& stats, const LassoOptions& options);

// n_alphas values log-spaced from AlphaMax down to eps * AlphaMax, decreasing.
std::vector<double> AlphaGrid(const GramStats& stats, const LassoOptions& options,
                              int n_alphas = 100, double eps = 1e-3);

// Sum of squared residuals sum_i (y_i - x_i w - b)^2 of a fit over the rows in `stats`,
// computed from the statistics alone (O(p^2)).
double SumSquaredError(const GramStats& stats, const LassoFit& fit);

// Predictions X w + b (X: n x p).
Eigen::VectorXd PredictLinear(const Eigen::MatrixXd& x, const LassoFit& fit);

}  // namespace lj
