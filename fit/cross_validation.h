#pragma once
// Seeded splits and k-fold cross-validation of the Lasso regularisation strength alpha.
// Shuffles use std::mt19937_64 with an explicit Fisher-Yates loop, so a seed gives the same
// split on every platform and standard library.
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "fit/lasso.h"

namespace lj {

// 0..n-1 in a seeded random order.
std::vector<int64_t> ShuffledIndices(int64_t n, uint64_t seed);

// Held-out split: round(test_fraction * n) rows go to `test`, the rest to `train`; disjoint,
// together 0..n-1, each sorted ascending. Throws std::invalid_argument unless
// 0 <= test_fraction < 1.
struct TrainTestSplit {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};
TrainTestSplit SplitTrainTest(int64_t n, double test_fraction, uint64_t seed);

// k folds of 0..n-1 after a seeded shuffle: fold f holds the validation rows of fold f (sorted);
// sizes differ by at most one. Throws std::invalid_argument unless 2 <= k <= n.
std::vector<std::vector<int64_t>> KFolds(int64_t n, int k, uint64_t seed);

struct CvOptions {
  int folds = 10;
  uint64_t seed = 1;
  int n_alphas = 100;
  double eps = 1e-3;  // smallest alpha = eps * alpha_max
};

struct CvResult {
  std::vector<double> alphas;      // decreasing, from AlphaGrid on all rows
  Eigen::MatrixXd validation_mse;  // n_alphas x folds: fold's sum of squared errors / rows
  std::vector<double> mean_mse;    // n_alphas, mean over folds
  int best_index = 0;              // argmin of mean_mse (the larger alpha on ties)
  double best_alpha = 0;
};

// k-fold cross-validation as scikit-learn's LassoCV: the alpha grid comes from all rows of
// (x, y); for each fold the path is fitted on the other folds (warm starts) and scored by the
// mean squared error on the fold; the alpha with the lowest mean over folds wins. Fold
// statistics are subtracted from the total Gram statistics (O(n p^2) once, then O(p^2) per
// sweep). x: n_samples x n_features.
CvResult CrossValidateLasso(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                            const LassoOptions& options, const CvOptions& cv);

}  // namespace lj
