#include "fit/boosted_trees.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/errors.h"

namespace lj {
namespace {

// A step in feature 0 and a linear trend in feature 1; feature 2 is noise-free but irrelevant.
double StepTarget(double a, double b) { return (a > 0.5 ? 1.0 : -1.0) + 0.5 * b; }

void StepData(int n, uint64_t seed, Eigen::MatrixXd& x, Eigen::VectorXd& r) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  x.resize(n, 3);
  r.resize(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = u(rng);
    x(i, 1) = u(rng);
    x(i, 2) = u(rng);
    r(i) = StepTarget(x(i, 0), x(i, 1));
  }
}

TEST(BoostedTreesTest, LearnsAStepThatNoPolynomialOfLowDegreeCan) {
  Eigen::MatrixXd x;
  Eigen::VectorXd r;
  StepData(400, 1, x, r);
  BoostingOptions o;
  o.max_trees = 200;
  const BoostingFit fit = FitBoostedTreesCv(x, r, o);
  EXPECT_GT(fit.n_trees, 20);
  EXPECT_LT(fit.cv_mse, 0.02);  // the target's variance is ~1.02
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0, 1);
  double sse = 0;
  for (int i = 0; i < 200; ++i) {
    const std::vector<double> q = {u(rng), u(rng), u(rng)};
    const double e = fit.model.Value(q) - StepTarget(q[0], q[1]);
    sse += e * e;
  }
  EXPECT_LT(sse / 200, 0.02);
}

// Outside the training range a tree ensemble is constant: it never leaves the targets' range.
TEST(BoostedTreesTest, StaysWithinTheTargetsRangeFarOutside) {
  Eigen::MatrixXd x;
  Eigen::VectorXd r;
  StepData(300, 3, x, r);
  const BoostedTrees m = FitTrees(x, r, 100, BoostingOptions{});
  for (const double far : {-1e9, -10.0, 10.0, 1e9}) {
    const double v = m.Value(std::vector<double>{far, far, far});
    EXPECT_GE(v, r.minCoeff() - 1e-9) << far;
    EXPECT_LE(v, r.maxCoeff() + 1e-9) << far;
  }
  // Beyond the largest feature values it equals the value at them.
  EXPECT_DOUBLE_EQ(m.Value(std::vector<double>{1e9, 1e9, 1e9}),
                   m.Value(std::vector<double>{1.0, 1.0, 1.0}));
}

TEST(BoostedTreesTest, TooFewRowsGiveTheMeanAndLeavesHoldMinLeafRows) {
  Eigen::MatrixXd x(6, 1);
  Eigen::VectorXd r(6);
  for (int i = 0; i < 6; ++i) {
    x(i, 0) = i;
    r(i) = i;
  }
  BoostingOptions o;  // min_leaf 5, 5 folds: no split is possible
  const BoostingFit fit = FitBoostedTreesCv(x, r, o);
  EXPECT_EQ(fit.n_trees, 0);
  EXPECT_DOUBLE_EQ(fit.model.Value(std::vector<double>{0.0}), 2.5);
  // With 10 rows one split at most, between 4 and 5.
  Eigen::MatrixXd x10(10, 1);
  Eigen::VectorXd r10(10);
  for (int i = 0; i < 10; ++i) {
    x10(i, 0) = i;
    r10(i) = i < 5 ? 0 : 1;
  }
  const BoostedTrees one = FitTrees(x10, r10, 1, o);
  ASSERT_EQ(one.trees.size(), 1u);
  ASSERT_EQ(one.trees[0].nodes.size(), 3u);
  EXPECT_DOUBLE_EQ(one.trees[0].nodes[0].threshold, 4.5);
  EXPECT_THROW(FitTrees(Eigen::MatrixXd(3, 1), Eigen::VectorXd(2), 1, o), std::invalid_argument);
  // A leaf of 0 rows has no mean: refused, by both entry points.
  BoostingOptions empty_leaves;
  empty_leaves.min_leaf = 0;
  EXPECT_THROW(FitTrees(x10, r10, 1, empty_leaves), std::invalid_argument);
  EXPECT_THROW(FitBoostedTreesCv(x10, r10, empty_leaves), std::invalid_argument);
  BoostingOptions no_step;
  no_step.learning_rate = 0;
  EXPECT_THROW(FitBoostedTreesCv(x10, r10, no_step), std::invalid_argument);
}

TEST(BoostedTreesTest, JsonRoundTripsAndRefusesMalformedTrees) {
  Eigen::MatrixXd x;
  Eigen::VectorXd r;
  StepData(200, 4, x, r);
  const BoostedTrees m = FitTrees(x, r, 20, BoostingOptions{});
  const BoostedTrees back = BoostedTreesFromJson(ToJson(m), 3);
  for (int i = 0; i < 20; ++i) {
    const std::vector<double> q = {x(i, 0), x(i, 1), x(i, 2)};
    EXPECT_DOUBLE_EQ(back.Value(q), m.Value(q));
  }
  const auto bad = [](const char* text, int n_features) {
    try {
      BoostedTreesFromJson(nlohmann::json::parse(text), n_features);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // A child that points back to its parent would loop forever.
  EXPECT_NE(bad(R"({"base":0,"trees":[[[0,0.5,0,1,0],[-1,0,-1,-1,1]]]})", 1).find("children 0, 1"),
            std::string::npos);
  EXPECT_NE(bad(R"({"base":0,"trees":[[[3,0.5,1,2,0],[-1,0,-1,-1,1],[-1,0,-1,-1,2]]]})", 3)
                .find("splits on feature 3, the layer has 3"),
            std::string::npos);
  EXPECT_NE(bad(R"({"base":0,"trees":[[]]})", 1).find("tree 0 must be a non-empty"),
            std::string::npos);
  EXPECT_NE(bad(R"({"base":0,"trees":[[[-1,0,-1,-1]]]})", 1).find("tree 0 node 0 must be"),
            std::string::npos);
}

}  // namespace
}  // namespace lj
