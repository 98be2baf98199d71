#pragma once
// Gradient-boosted regression trees (Friedman, "Greedy function approximation: a gradient
// boosting machine", Ann. Statist. 2001, Sec. 4.1: least-squares boosting with shrinkage), the
// learner behind the "gbtree" model kind (fit/model_fit.h).
//
// What it is for: a layer's cost per unit of work is a step-like function of its geometry (which
// ATen/oneDNN kernel runs, whether a tensor fits a cache level, whether the batch splits evenly
// over the threads). A tree ensemble represents steps that a polynomial cannot; and because a
// tree's value is constant beyond the last split, the ensemble never leaves the range of the
// targets it was fitted on: fitted to ln(cost / roofline proxy), it extrapolates as the proxy
// (MACs and bytes) scales, which is the physical rule issue 10 § 3 asks for.
//
// Data layout: x is n_rows x n_features (one row per sample; any monotone feature scale gives
// the same trees, so raw feature values are used), r the targets, one per row.
// Model: F(x) = base + sum_t learning_rate * tree_t(x); each tree has depth <= max_depth and
// leaves of >= min_leaf rows, split points midway between neighbouring distinct values.
// The number of trees is chosen by k-fold cross-validation of the squared error, stage by
// stage, up to max_trees (FitBoostedTrees).
#include <Eigen/Dense>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace lj {

struct TreeNode {
  int feature = -1;           // -1: a leaf
  double threshold = 0;       // rows with x[feature] <= threshold go left
  int left = -1, right = -1;  // indices into RegressionTree::nodes
  double value = 0;           // a leaf's value (already multiplied by the learning rate)
};

struct RegressionTree {
  std::vector<TreeNode> nodes;  // nodes[0] is the root
  double Value(const double* x) const;
};

struct BoostedTrees {
  double base = 0;  // mean target of the training rows
  std::vector<RegressionTree> trees;
  double Value(const std::vector<double>& x) const;
  double Value(const double* x) const;
};

struct BoostingOptions {
  int max_trees = 300;
  int max_depth = 3;
  int min_leaf = 5;
  double learning_rate = 0.1;
  int folds = 5;
  uint64_t seed = 1;
};

// Fits `trees` trees on all rows (no cross-validation). Throws std::invalid_argument if
// x.rows() != r.size(), there are no rows, or the options are out of range (min_leaf < 1,
// max_depth < 0, max_trees < 0, learning_rate outside (0, 1]).
BoostedTrees FitTrees(const Eigen::MatrixXd& x, const Eigen::VectorXd& r, int trees,
                      const BoostingOptions& options);

struct BoostingFit {
  BoostedTrees model;
  int n_trees = 0;    // chosen by cross-validation
  double cv_mse = 0;  // mean validation squared error at n_trees
};
// Chooses the number of trees in [0, max_trees] by k-fold cross-validation (the stage count
// with the least validation squared error summed over the folds), then fits that many on all
// rows. With fewer than 2 * min_leaf rows per training fold no split is possible: the ensemble
// is the constant base. Throws std::invalid_argument as FitTrees, and for folds < 2.
BoostingFit FitBoostedTreesCv(const Eigen::MatrixXd& x, const Eigen::VectorXd& r,
                              const BoostingOptions& options);

// {"base": b, "trees": [[[feature, threshold, left, right, value], ...], ...]}
nlohmann::json ToJson(const BoostedTrees& model);
// Throws ConfigError for a malformed ensemble: a child index out of range or not after its
// parent (so evaluation always terminates), a feature index < -1 or >= n_features, a non-finite
// number.
BoostedTrees BoostedTreesFromJson(const nlohmann::json& j, int n_features);

}  // namespace lj
