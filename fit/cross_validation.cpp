#include "fit/cross_validation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace lj {

std::vector<int64_t> ShuffledIndices(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

TrainTestSplit SplitTrainTest(int64_t n, double test_fraction, uint64_t seed) {
  if (!(test_fraction >= 0 && test_fraction < 1)) {
    throw std::invalid_argument("test fraction must be in [0, 1), got " +
                                std::to_string(test_fraction));
  }
  const std::vector<int64_t> order = ShuffledIndices(n, seed);
  const auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(n)));
  TrainTestSplit split;
  split.test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
  split.train.assign(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
  std::sort(split.test.begin(), split.test.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

std::vector<std::vector<int64_t>> KFolds(int64_t n, int k, uint64_t seed) {
  if (k < 2 || k > n) {
    throw std::invalid_argument("k-fold cross-validation needs 2 <= k <= rows, got k = " +
                                std::to_string(k) + " with " + std::to_string(n) + " rows");
  }
  const std::vector<int64_t> order = ShuffledIndices(n, seed);
  std::vector<std::vector<int64_t>> folds(static_cast<size_t>(k));
  for (size_t i = 0; i < order.size(); ++i) folds[i % static_cast<size_t>(k)].push_back(order[i]);
  for (auto& fold : folds) std::sort(fold.begin(), fold.end());
  return folds;
}

CvResult CrossValidateLasso(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                            const LassoOptions& options, const CvOptions& cv) {
  const GramStats total = GramStats::From(x, y);
  CvResult result;
  result.alphas = AlphaGrid(total, options, cv.n_alphas, cv.eps);
  const auto folds = KFolds(x.rows(), cv.folds, cv.seed);
  const auto n_alphas = static_cast<Eigen::Index>(result.alphas.size());
  result.validation_mse.resize(n_alphas, cv.folds);
  for (int f = 0; f < cv.folds; ++f) {
    const GramStats validation = GramStats::From(x, y, folds[static_cast<size_t>(f)]);
    GramStats train = total;
    train -= validation;
    const std::vector<LassoFit> path = LassoPath(train, result.alphas, options);
    for (Eigen::Index a = 0; a < n_alphas; ++a) {
      result.validation_mse(a, f) =
          SumSquaredError(validation, path[static_cast<size_t>(a)]) / validation.n;
    }
  }
  result.mean_mse.resize(static_cast<size_t>(n_alphas));
  for (Eigen::Index a = 0; a < n_alphas; ++a) {
    result.mean_mse[static_cast<size_t>(a)] = result.validation_mse.row(a).mean();
    if (result.mean_mse[static_cast<size_t>(a)] <
        result.mean_mse[static_cast<size_t>(result.best_index)]) {
      result.best_index = static_cast<int>(a);
    }
  }
  result.best_alpha = result.alphas[static_cast<size_t>(result.best_index)];
  return result;
}

}  // namespace lj
