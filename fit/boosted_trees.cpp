#include "fit/boosted_trees.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "fit/cross_validation.h"

namespace lj {

double RegressionTree::Value(const double* x) const {
  int i = 0;
  while (nodes[static_cast<size_t>(i)].feature >= 0) {
    const TreeNode& n = nodes[static_cast<size_t>(i)];
    i = x[n.feature] <= n.threshold ? n.left : n.right;
  }
  return nodes[static_cast<size_t>(i)].value;
}

double BoostedTrees::Value(const double* x) const {
  double z = base;
  for (const RegressionTree& t : trees) z += t.Value(x);
  return z;
}

double BoostedTrees::Value(const std::vector<double>& x) const { return Value(x.data()); }

namespace {

// Rows of x sorted by each feature, once for all trees of a fit.
std::vector<std::vector<int64_t>> SortedByFeature(const Eigen::MatrixXd& x) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(x.cols()));
  for (Eigen::Index f = 0; f < x.cols(); ++f) {
    auto& order = out[static_cast<size_t>(f)];
    order.resize(static_cast<size_t>(x.rows()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return x(a, f) < x(b, f); });
  }
  return out;
}

// One least-squares tree on the residuals g of the rows with in_fit[i], grown level by level.
// Leaf values are learning_rate x the mean residual of their rows.
RegressionTree GrowTree(const Eigen::MatrixXd& x, const std::vector<double>& g,
                        const std::vector<char>& in_fit,
                        const std::vector<std::vector<int64_t>>& sorted,
                        const BoostingOptions& options) {
  RegressionTree tree;
  const size_t n = g.size();
  std::vector<int> node_of(n, -1);
  TreeNode root;
  double root_sum = 0;
  int64_t root_count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!in_fit[i]) continue;
    node_of[i] = 0;
    root_sum += g[i];
    ++root_count;
  }
  tree.nodes.push_back(root);
  std::vector<double> sum{root_sum};
  std::vector<int64_t> count{root_count};
  std::vector<int> frontier{0};
  for (int depth = 0; depth < options.max_depth && !frontier.empty(); ++depth) {
    struct Best {
      double gain = 0;
      int feature = -1;
      double threshold = 0;
    };
    std::vector<Best> best(tree.nodes.size());
    std::vector<char> open(tree.nodes.size(), 0);
    for (int id : frontier) open[static_cast<size_t>(id)] = 1;
    std::vector<double> left_sum(tree.nodes.size());
    std::vector<int64_t> left_count(tree.nodes.size());
    std::vector<double> last(tree.nodes.size());
    for (size_t f = 0; f < sorted.size(); ++f) {
      std::fill(left_sum.begin(), left_sum.end(), 0.0);
      std::fill(left_count.begin(), left_count.end(), 0);
      for (const int64_t i : sorted[f]) {
        const int id = node_of[static_cast<size_t>(i)];
        if (id < 0 || !open[static_cast<size_t>(id)]) continue;
        const auto k = static_cast<size_t>(id);
        const double v = x(i, static_cast<Eigen::Index>(f));
        const int64_t nl = left_count[k], nr = count[k] - nl;
        if (nl >= options.min_leaf && nr >= options.min_leaf && v > last[k]) {
          const double sl = left_sum[k], sr = sum[k] - sl;
          const double gain = sl * sl / static_cast<double>(nl) +
                              sr * sr / static_cast<double>(nr) -
                              sum[k] * sum[k] / static_cast<double>(count[k]);
          if (gain > best[k].gain * (1 + 1e-12) + 1e-300) {
            best[k] = {gain, static_cast<int>(f), last[k] + (v - last[k]) / 2};
          }
        }
        left_sum[k] += g[static_cast<size_t>(i)];
        left_count[k] += 1;
        last[k] = v;
      }
    }
    std::vector<int> next;
    for (int id : frontier) {
      const Best& b = best[static_cast<size_t>(id)];
      if (b.feature < 0) continue;
      const int left = static_cast<int>(tree.nodes.size());
      tree.nodes.push_back({});
      tree.nodes.push_back({});
      TreeNode& node = tree.nodes[static_cast<size_t>(id)];
      node.feature = b.feature;
      node.threshold = b.threshold;
      node.left = left;
      node.right = left + 1;
      sum.push_back(0);
      sum.push_back(0);
      count.push_back(0);
      count.push_back(0);
      next.push_back(left);
      next.push_back(left + 1);
    }
    if (next.empty()) break;
    for (size_t i = 0; i < n; ++i) {
      const int id = node_of[i];
      if (id < 0) continue;
      const TreeNode& node = tree.nodes[static_cast<size_t>(id)];
      if (node.feature < 0) continue;
      const int child =
          x(static_cast<Eigen::Index>(i), node.feature) <= node.threshold ? node.left : node.right;
      node_of[i] = child;
      sum[static_cast<size_t>(child)] += g[i];
      count[static_cast<size_t>(child)] += 1;
    }
    frontier = std::move(next);
  }
  for (size_t k = 0; k < tree.nodes.size(); ++k) {
    TreeNode& node = tree.nodes[k];
    if (node.feature < 0 && count[k] > 0) {
      node.value = options.learning_rate * sum[k] / static_cast<double>(count[k]);
    }
  }
  return tree;
}

void Check(const Eigen::MatrixXd& x, const Eigen::VectorXd& r, const BoostingOptions& options) {
  if (x.rows() != r.size() || x.rows() == 0) {
    throw std::invalid_argument("boosted trees: " + std::to_string(x.rows()) + " rows of x, " +
                                std::to_string(r.size()) + " targets");
  }
  // A leaf of no rows would have no mean; a depth or tree count below 0 and a step outside
  // (0, 1] are not boosting.
  if (options.min_leaf < 1 || options.max_depth < 0 || options.max_trees < 0 ||
      !(options.learning_rate > 0 && options.learning_rate <= 1)) {
    throw std::invalid_argument(
        "boosted trees: need min_leaf >= 1, max_depth >= 0, max_trees >= 0 and learning_rate in "
        "(0, 1], got min_leaf " +
        std::to_string(options.min_leaf) + ", max_depth " + std::to_string(options.max_depth) +
        ", max_trees " + std::to_string(options.max_trees) + ", learning_rate " +
        std::to_string(options.learning_rate));
  }
}

// Boosts `n_trees` trees on the rows with in_fit[i]. If `validation_sse` is given, adds after
// every stage s (0 = the base alone) the squared error of the other rows to (*validation_sse)[s].
BoostedTrees Boost(const Eigen::MatrixXd& x, const Eigen::VectorXd& r,
                   const std::vector<char>& in_fit, const std::vector<std::vector<int64_t>>& sorted,
                   int n_trees, const BoostingOptions& options,
                   std::vector<double>* validation_sse) {
  const size_t n = static_cast<size_t>(r.size());
  BoostedTrees model;
  double total = 0;
  int64_t fitted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!in_fit[i]) continue;
    total += r(static_cast<Eigen::Index>(i));
    ++fitted;
  }
  model.base = fitted > 0 ? total / static_cast<double>(fitted) : 0;
  std::vector<double> f(n, model.base), g(n);
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = x;
  const auto add_validation = [&](int stage) {
    if (validation_sse == nullptr) return;
    double sse = 0;
    for (size_t i = 0; i < n; ++i) {
      if (in_fit[i]) continue;
      const double e = r(static_cast<Eigen::Index>(i)) - f[i];
      sse += e * e;
    }
    (*validation_sse)[static_cast<size_t>(stage)] += sse;
  };
  add_validation(0);
  for (int t = 0; t < n_trees; ++t) {
    for (size_t i = 0; i < n; ++i) g[i] = r(static_cast<Eigen::Index>(i)) - f[i];
    RegressionTree tree = GrowTree(x, g, in_fit, sorted, options);
    for (size_t i = 0; i < n; ++i)
      f[i] += tree.Value(rows.row(static_cast<Eigen::Index>(i)).data());
    model.trees.push_back(std::move(tree));
    add_validation(t + 1);
  }
  return model;
}

}  // namespace

BoostedTrees FitTrees(const Eigen::MatrixXd& x, const Eigen::VectorXd& r, int trees,
                      const BoostingOptions& options) {
  Check(x, r, options);
  const std::vector<char> all(static_cast<size_t>(r.size()), 1);
  return Boost(x, r, all, SortedByFeature(x), trees, options, nullptr);
}

BoostingFit FitBoostedTreesCv(const Eigen::MatrixXd& x, const Eigen::VectorXd& r,
                              const BoostingOptions& options) {
  Check(x, r, options);
  if (options.folds < 2) {
    throw std::invalid_argument("boosted trees: folds must be >= 2, got " +
                                std::to_string(options.folds));
  }
  const auto sorted = SortedByFeature(x);
  const int64_t n = r.size();
  BoostingFit out;
  if (n / options.folds * (options.folds - 1) < 2 * options.min_leaf || n < options.folds) {
    out.model =
        Boost(x, r, std::vector<char>(static_cast<size_t>(n), 1), sorted, 0, options, nullptr);
    out.cv_mse = (r.array() - out.model.base).square().mean();
    return out;
  }
  std::vector<double> sse(static_cast<size_t>(options.max_trees) + 1, 0.0);
  for (const std::vector<int64_t>& fold : KFolds(n, options.folds, options.seed)) {
    std::vector<char> in_fit(static_cast<size_t>(n), 1);
    for (const int64_t i : fold) in_fit[static_cast<size_t>(i)] = 0;
    Boost(x, r, in_fit, sorted, options.max_trees, options, &sse);
  }
  const auto best = std::min_element(sse.begin(), sse.end());
  out.n_trees = static_cast<int>(best - sse.begin());
  out.cv_mse = *best / static_cast<double>(n);
  out.model = Boost(x, r, std::vector<char>(static_cast<size_t>(n), 1), sorted, out.n_trees,
                    options, nullptr);
  return out;
}

nlohmann::json ToJson(const BoostedTrees& model) {
  nlohmann::json trees = nlohmann::json::array();
  for (const RegressionTree& t : model.trees) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const TreeNode& node : t.nodes) {
      nodes.push_back({node.feature, node.threshold, node.left, node.right, node.value});
    }
    trees.push_back(std::move(nodes));
  }
  return {{"base", model.base}, {"trees", trees}};
}

BoostedTrees BoostedTreesFromJson(const nlohmann::json& j, int n_features) {
  BoostedTrees model;
  const auto finite = [](double v, const std::string& what) {
    if (!std::isfinite(v)) throw ConfigError("trees: " + what + " is not finite");
    return v;
  };
  model.base = finite(j.at("base").get<double>(), "base");
  const auto& trees = j.at("trees");
  if (!trees.is_array()) throw ConfigError("trees: 'trees' must be an array");
  for (size_t t = 0; t < trees.size(); ++t) {
    const auto& nodes = trees[t];
    const std::string where = "tree " + std::to_string(t);
    if (!nodes.is_array() || nodes.empty()) {
      throw ConfigError("trees: " + where + " must be a non-empty array of nodes");
    }
    RegressionTree tree;
    const int size = static_cast<int>(nodes.size());
    for (int k = 0; k < size; ++k) {
      const auto& v = nodes[static_cast<size_t>(k)];
      const std::string at = where + " node " + std::to_string(k);
      if (!v.is_array() || v.size() != 5) {
        throw ConfigError("trees: " + at + " must be [feature, threshold, left, right, value]");
      }
      TreeNode node;
      node.feature = v[0].get<int>();
      node.threshold = finite(v[1].get<double>(), at + " threshold");
      node.left = v[2].get<int>();
      node.right = v[3].get<int>();
      node.value = finite(v[4].get<double>(), at + " value");
      if (node.feature < -1 || node.feature >= n_features) {
        throw ConfigError("trees: " + at + " splits on feature " + std::to_string(node.feature) +
                          ", the layer has " + std::to_string(n_features));
      }
      if (node.feature >= 0 &&
          (node.left <= k || node.right <= k || node.left >= size || node.right >= size)) {
        throw ConfigError("trees: " + at + " has children " + std::to_string(node.left) + ", " +
                          std::to_string(node.right) + " (must be after it and < " +
                          std::to_string(size) + ")");
      }
      tree.nodes.push_back(node);
    }
    model.trees.push_back(std::move(tree));
  }
  return model;
}

}  // namespace lj
