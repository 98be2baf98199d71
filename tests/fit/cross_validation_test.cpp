#include "fit/cross_validation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace lj {
namespace {

TEST(CrossValidationTest, HeldOutSplitIsDisjointCompleteAndSeeded) {
  const TrainTestSplit split = SplitTrainTest(1001, 0.2, 42);
  EXPECT_EQ(split.test.size(), 200u);
  EXPECT_EQ(split.train.size(), 801u);
  std::set<int64_t> all(split.train.begin(), split.train.end());
  for (const int64_t i : split.test) EXPECT_TRUE(all.insert(i).second) << "row " << i << " in both";
  EXPECT_EQ(all.size(), 1001u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 1000);
  EXPECT_EQ(SplitTrainTest(1001, 0.2, 42).test, split.test);
  EXPECT_NE(SplitTrainTest(1001, 0.2, 43).test, split.test);
  EXPECT_TRUE(SplitTrainTest(10, 0.0, 1).test.empty());
  EXPECT_THROW(SplitTrainTest(10, 1.0, 1), std::invalid_argument);
  EXPECT_THROW(SplitTrainTest(10, -0.1, 1), std::invalid_argument);
}

TEST(CrossValidationTest, FoldsPartitionTheRows) {
  const auto folds = KFolds(103, 10, 9);
  ASSERT_EQ(folds.size(), 10u);
  std::set<int64_t> seen;
  for (const auto& fold : folds) {
    EXPECT_TRUE(fold.size() == 10u || fold.size() == 11u);
    EXPECT_TRUE(std::is_sorted(fold.begin(), fold.end()));
    for (const int64_t i : fold) EXPECT_TRUE(seen.insert(i).second);
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_NE(KFolds(103, 10, 9)[0], KFolds(103, 10, 10)[0]);
  EXPECT_THROW(KFolds(5, 10, 1), std::invalid_argument);
  EXPECT_THROW(KFolds(5, 1, 1), std::invalid_argument);
}

// Sparse signal plus noise: CV should pick an alpha inside the grid (not the empty model at
// alpha_max, not the least-regularised end), that keeps the true features and whose validation
// error is close to the noise variance.
TEST(CrossValidationTest, PicksSensibleAlpha) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  const int n = 400, p = 30;
  const double noise = 1.0;
  Eigen::MatrixXd x(n, p);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < p; ++j) x(i, j) = normal(rng);
    y(i) = 2.0 * x(i, 0) - 1.5 * x(i, 5) + 1.0 * x(i, 9) + noise * normal(rng);
  }
  CvOptions cv;
  cv.folds = 10;
  cv.n_alphas = 60;
  cv.eps = 1e-4;
  const CvResult r = CrossValidateLasso(x, y, LassoOptions{}, cv);
  ASSERT_EQ(r.alphas.size(), 60u);
  ASSERT_EQ(r.validation_mse.rows(), 60);
  ASSERT_EQ(r.validation_mse.cols(), 10);
  EXPECT_GT(r.best_index, 0);
  EXPECT_LT(r.best_index, 59);
  for (const double m : r.mean_mse) EXPECT_GE(m, r.mean_mse[r.best_index]);
  EXPECT_NEAR(r.mean_mse[r.best_index], noise * noise, 0.25);
  EXPECT_GT(r.mean_mse.front(), 3.0 * r.mean_mse[r.best_index]);  // empty model is much worse
  const LassoFit fit = FitLasso(x, y, r.best_alpha, LassoOptions{});
  EXPECT_GT(std::abs(fit.coef(0)), 1.5);
  EXPECT_GT(std::abs(fit.coef(5)), 1.0);
  EXPECT_GT(std::abs(fit.coef(9)), 0.5);

  // Pure noise: the best model is (nearly) empty, so CV picks a large alpha.
  Eigen::VectorXd noise_only(n);
  for (int i = 0; i < n; ++i) noise_only(i) = normal(rng);
  const CvResult r0 = CrossValidateLasso(x, noise_only, LassoOptions{}, cv);
  EXPECT_GT(r0.best_alpha, 0.2 * r0.alphas.front());
}

}  // namespace
}  // namespace lj
