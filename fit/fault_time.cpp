#include "fit/fault_time.h"

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "fit/metrics.h"

namespace lj {
namespace {

constexpr int kMinGroupRows = 10;
constexpr int kMinEachSide = 3;
constexpr double kFaultedPages = 100;
// A slope below this is rounding, not a cost: a fault takes at least ~0.1 us on bare metal.
constexpr double kMinSPerFault = 1e-8;

struct Row {
  double macs, elements, faults, time_s;
};

// Non-negative least squares of time on [1, macs, elements, faults], rows weighted by 1/time,
// by trying every subset of the three slopes (the intercept always in) and keeping the best
// solution whose coefficients are all >= 0. Empty when none is.
std::optional<std::array<double, 4>> SmallNnls(const std::vector<Row>& rows) {
  std::optional<std::array<double, 4>> best;
  double best_rss = std::numeric_limits<double>::infinity();
  for (int mask = 0; mask < 8; ++mask) {
    std::vector<int> columns = {0};
    for (int j = 0; j < 3; ++j) {
      if (mask & (1 << j)) columns.push_back(j + 1);
    }
    const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
    Eigen::MatrixXd x(n, static_cast<Eigen::Index>(columns.size()));
    Eigen::VectorXd y(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const Row& r = rows[static_cast<size_t>(i)];
      const double w = 1.0 / r.time_s;
      const std::array<double, 4> all = {1.0, r.macs, r.elements, r.faults};
      for (size_t c = 0; c < columns.size(); ++c) {
        x(i, static_cast<Eigen::Index>(c)) = all[static_cast<size_t>(columns[c])] * w;
      }
      y(i) = 1.0;  // time / time
    }
    // Scale columns for conditioning; undo on the solution.
    Eigen::VectorXd scale = x.colwise().norm().transpose();
    for (Eigen::Index c = 0; c < scale.size(); ++c) {
      if (scale(c) <= 0) scale(c) = 1;
    }
    const Eigen::MatrixXd xs = x * scale.cwiseInverse().asDiagonal();
    const Eigen::VectorXd z = xs.colPivHouseholderQr().solve(y);
    const Eigen::VectorXd coef = z.cwiseQuotient(scale);
    if ((coef.array() < 0).any() || !coef.allFinite()) continue;
    const double rss = (x * coef - y).squaredNorm();
    if (rss < best_rss) {
      best_rss = rss;
      std::array<double, 4> full = {0, 0, 0, 0};
      for (size_t c = 0; c < columns.size(); ++c) {
        full[static_cast<size_t>(columns[c])] = coef(static_cast<Eigen::Index>(c));
      }
      best = full;
    }
  }
  return best;
}

}  // namespace

std::optional<FaultTimeEstimate> EstimateFaultTime(const std::vector<PassSample>& samples) {
  std::map<std::pair<LayerType, Pass>, std::vector<Row>> groups;
  for (const PassSample& s : samples) {
    if (!s.minor_faults || !(s.time_s > 0)) continue;
    const TensorSizes sizes = Sizes(s.config);
    groups[{s.config.type, s.pass}].push_back({ForwardMacs(s.config),
                                               sizes.input_elements + sizes.output_elements,
                                               *s.minor_faults, s.time_s});
  }
  std::vector<double> slopes;
  for (const auto& [key, rows] : groups) {
    if (static_cast<int>(rows.size()) < kMinGroupRows) continue;
    const auto faulted = std::count_if(rows.begin(), rows.end(),
                                       [](const Row& r) { return r.faults >= kFaultedPages; });
    const auto clean = static_cast<std::ptrdiff_t>(rows.size()) - faulted;
    if (faulted < kMinEachSide || clean < kMinEachSide) continue;
    const std::optional<std::array<double, 4>> coef = SmallNnls(rows);
    if (coef && (*coef)[3] > kMinSPerFault) slopes.push_back((*coef)[3]);
  }
  if (slopes.empty()) return std::nullopt;
  return FaultTimeEstimate{Median(slopes), static_cast<int>(slopes.size())};
}

int SubtractFaultTime(std::vector<PassSample>& samples, double s_per_fault) {
  if (!(s_per_fault >= 0)) {
    throw std::invalid_argument("seconds per fault must be >= 0, got " +
                                std::to_string(s_per_fault));
  }
  int changed = 0;
  for (PassSample& s : samples) {
    if (!s.minor_faults || *s.minor_faults <= 0 || s_per_fault == 0) continue;
    s.time_s = std::max(s.time_s - *s.minor_faults * s_per_fault, kMinComputeShare * s.time_s);
    ++changed;
  }
  return changed;
}

}  // namespace lj
