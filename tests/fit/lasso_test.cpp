#include "fit/lasso.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/test_files.h"

namespace lj {
namespace {

// mlpack GenerateProblem style: X n x p standard normal, y = X w + intercept + noise.
struct Problem {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Eigen::VectorXd w;
};
Problem GenerateProblem(int n, int p, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Problem pr;
  pr.x.resize(n, p);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) pr.x(i, j) = normal(rng);
  pr.w = Eigen::VectorXd::Zero(p);
  // Non-zero true coefficients at 1, 4, 7 and p - 1 (those that exist for small p).
  const std::pair<int, double> nonzero[] = {{1, 3.0}, {4, -2.0}, {7, 1.5}, {p - 1, 0.75}};
  for (const auto& [j, value] : nonzero) {
    if (j < p) pr.w(j) = value;
  }
  pr.y.resize(n);
  for (int i = 0; i < n; ++i) pr.y(i) = pr.x.row(i).dot(pr.w) + 4.0 + noise * normal(rng);
  return pr;
}

// scikit-learn 1.2.1 solutions written by tools/sklearn_lasso_reference.py (tol 1e-12).
// Tolerance: |ours - sklearn| <= 1e-6 * (1 + max |sklearn coefficient|) for coefficients,
// intercept and predictions: both solve the same strictly convex-in-fit problem to ~1e-12.
TEST(LassoTest, AgreesWithScikitLearn) {
  const std::string path = test::SourceDir() + "/tests/fit/data/lasso_reference.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << " (run tools/sklearn_lasso_reference.py)";
  const nlohmann::json ref = nlohmann::json::parse(in);
  const auto rows = ref.at("x").get<std::vector<std::vector<double>>>();
  const auto y_ref = ref.at("y").get<std::vector<double>>();
  Eigen::MatrixXd x(rows.size(), rows[0].size());
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) x(i, j) = rows[i][j];
  const Eigen::VectorXd y = Eigen::Map<const Eigen::VectorXd>(y_ref.data(), y_ref.size());
  ASSERT_EQ(x.rows(), 200);
  ASSERT_EQ(ref.at("cases").size(), 7u);
  for (const auto& c : ref.at("cases")) {
    LassoOptions options;
    options.positive = c.at("positive").get<bool>();
    options.fit_intercept = c.at("fit_intercept").get<bool>();
    options.tol = 1e-14;
    options.max_iter = 1000000;
    const double alpha = c.at("alpha").get<double>();
    const LassoFit fit = FitLasso(x, y, alpha, options);
    SCOPED_TRACE("alpha " + std::to_string(alpha) + " positive " +
                 std::to_string(options.positive) + " fit_intercept " +
                 std::to_string(options.fit_intercept));
    EXPECT_TRUE(fit.converged);
    const auto coef = c.at("coef").get<std::vector<double>>();
    const double tol =
        1e-6 *
        (1.0 + Eigen::Map<const Eigen::VectorXd>(coef.data(), coef.size()).cwiseAbs().maxCoeff());
    for (size_t j = 0; j < coef.size(); ++j) EXPECT_NEAR(fit.coef(j), coef[j], tol) << "coef " << j;
    EXPECT_NEAR(fit.intercept, c.at("intercept").get<double>(), tol);
    const auto pred = c.at("predictions").get<std::vector<double>>();
    const Eigen::VectorXd ours = PredictLinear(x, fit);
    for (size_t i = 0; i < pred.size(); ++i) EXPECT_NEAR(ours(i), pred[i], tol) << "row " << i;
    if (options.positive) {
      EXPECT_GE(fit.coef.minCoeff(), 0.0);
    }
  }
}

TEST(LassoTest, RecoversKnownSparseCoefficients) {
  const Problem pr = GenerateProblem(2000, 20, 0.1, 7);
  LassoOptions options;
  options.tol = 1e-10;
  const LassoFit fit = FitLasso(pr.x, pr.y, 0.01, options);
  ASSERT_TRUE(fit.converged);
  for (int j = 0; j < 20; ++j) {
    if (pr.w(j) != 0) {
      EXPECT_NEAR(fit.coef(j), pr.w(j), 0.03) << "coef " << j;
    } else {
      EXPECT_NEAR(fit.coef(j), 0.0, 0.01) << "coef " << j;
    }
  }
  EXPECT_NEAR(fit.intercept, 4.0, 0.02);
  // A larger alpha zeroes the noise features exactly and shrinks the true ones by ~alpha.
  const LassoFit sparse = FitLasso(pr.x, pr.y, 0.2, options);
  for (int j = 0; j < 20; ++j) EXPECT_EQ(sparse.coef(j) != 0, pr.w(j) != 0) << "coef " << j;
  EXPECT_NEAR(sparse.coef(1), 3.0 - 0.2, 0.03);
}

TEST(LassoTest, PositiveKeepsCoefficientsNonNegative) {
  const Problem pr = GenerateProblem(500, 20, 0.1, 3);
  LassoOptions options;
  options.positive = true;
  const LassoFit fit = FitLasso(pr.x, pr.y, 0.001, options);
  EXPECT_GE(fit.coef.minCoeff(), 0.0);
  EXPECT_EQ(fit.coef(4), 0.0);  // true coefficient -2
  EXPECT_GT(fit.coef(1), 2.5);
}

TEST(LassoTest, AlphaMaxIsWhereAllCoefficientsVanish) {
  const Problem pr = GenerateProblem(300, 12, 0.5, 11);
  for (const bool positive : {false, true}) {
    LassoOptions options;
    options.positive = positive;
    const GramStats stats = GramStats::From(pr.x, pr.y);
    const double alpha_max = AlphaMax(stats, options);
    EXPECT_GT(alpha_max, 0);
    EXPECT_EQ(FitLasso(stats, alpha_max * 1.0001, options).coef.cwiseAbs().maxCoeff(), 0.0);
    EXPECT_GT(FitLasso(stats, alpha_max * 0.99, options).coef.cwiseAbs().maxCoeff(), 0.0);
    const auto grid = AlphaGrid(stats, options, 50, 1e-3);
    ASSERT_EQ(grid.size(), 50u);
    EXPECT_DOUBLE_EQ(grid.front(), alpha_max);
    EXPECT_NEAR(grid.back(), 1e-3 * alpha_max, 1e-12 * alpha_max);
    for (size_t i = 1; i < grid.size(); ++i) EXPECT_LT(grid[i], grid[i - 1]);
  }
}

TEST(LassoTest, UnpenalisedFeatureActsAsFreeIntercept) {
  // Without fit_intercept, a column of ones with penalty factor 0 must reproduce the
  // fit_intercept solution (the intercept is unpenalised in both).
  const Problem pr = GenerateProblem(400, 8, 0.3, 5);
  Eigen::MatrixXd x1(pr.x.rows(), pr.x.cols() + 1);
  x1.col(0).setOnes();
  x1.rightCols(pr.x.cols()) = pr.x;
  LassoOptions free_intercept;
  free_intercept.fit_intercept = false;
  free_intercept.tol = 1e-12;
  free_intercept.max_iter = 100000;
  free_intercept.penalty_factors = Eigen::VectorXd::Ones(x1.cols());
  free_intercept.penalty_factors(0) = 0;
  LassoOptions centred;
  centred.tol = 1e-12;
  const LassoFit a = FitLasso(x1, pr.y, 0.05, free_intercept);
  const LassoFit b = FitLasso(pr.x, pr.y, 0.05, centred);
  EXPECT_NEAR(a.coef(0), b.intercept, 1e-6);
  for (int j = 0; j < pr.x.cols(); ++j) EXPECT_NEAR(a.coef(j + 1), b.coef(j), 1e-6);
  // Alpha max is measured from the residual of the unpenalised fit: same value.
  EXPECT_NEAR(AlphaMax(GramStats::From(x1, pr.y), free_intercept),
              AlphaMax(GramStats::From(pr.x, pr.y), centred), 1e-9);
}

TEST(LassoTest, WarmStartedPathMatchesColdFits) {
  const Problem pr = GenerateProblem(300, 15, 0.5, 13);
  LassoOptions options;
  options.tol = 1e-12;
  options.max_iter = 100000;
  const GramStats stats = GramStats::From(pr.x, pr.y);
  const auto alphas = AlphaGrid(stats, options, 20, 1e-3);
  const auto path = LassoPath(stats, alphas, options);
  ASSERT_EQ(path.size(), alphas.size());
  for (size_t k : {size_t{3}, size_t{10}, size_t{19}}) {
    const LassoFit cold = FitLasso(stats, alphas[k], options);
    EXPECT_LT((path[k].coef - cold.coef).cwiseAbs().maxCoeff(), 1e-7) << "alpha index " << k;
    EXPECT_NEAR(path[k].intercept, cold.intercept, 1e-7);
  }
}

TEST(LassoTest, StatisticsGiveDirectSumOfSquaresAndSubtract) {
  const Problem pr = GenerateProblem(100, 6, 1.0, 17);
  const LassoFit fit = FitLasso(pr.x, pr.y, 0.1, LassoOptions{});
  const double direct = (pr.y - PredictLinear(pr.x, fit)).squaredNorm();
  EXPECT_NEAR(SumSquaredError(GramStats::From(pr.x, pr.y), fit), direct, 1e-9 * direct);
  std::vector<int64_t> first, rest;
  for (int64_t i = 0; i < 100; ++i) (i < 30 ? first : rest).push_back(i);
  GramStats difference = GramStats::From(pr.x, pr.y);
  difference -= GramStats::From(pr.x, pr.y, first);
  const GramStats expected = GramStats::From(pr.x, pr.y, rest);
  EXPECT_EQ(difference.n, 70);
  EXPECT_LT((difference.xtx - expected.xtx).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT((difference.xty - expected.xty).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_NEAR(difference.yty, expected.yty, 1e-9);
}

TEST(LassoTest, RejectsBadArguments) {
  const Problem pr = GenerateProblem(20, 5, 0.1, 1);
  EXPECT_THROW(FitLasso(pr.x, pr.y, -1.0, LassoOptions{}), std::invalid_argument);
  LassoOptions options;
  options.penalty_factors = Eigen::VectorXd::Ones(3);
  EXPECT_THROW(FitLasso(pr.x, pr.y, 0.1, options), std::invalid_argument);
  EXPECT_THROW(GramStats::From(pr.x, Eigen::VectorXd::Ones(5)), std::invalid_argument);
}

}  // namespace
}  // namespace lj
