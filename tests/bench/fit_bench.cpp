// fit_bench: cost of fitting one model on 100,000 synthetic conv2d samples with the default
// settings (degree 3: 123 terms, 10-fold cross-validation over 100 alphas, 20 % held out).
// Prints the time of each stage and the whole FitModel call, for each model kind.
// Usage: fit_bench [N_SAMPLES] [KIND[:full] ...]
//   (defaults: 100000, nnlasso nnlasso:full loglasso lasso:full; ":full" = NeuralPower's full
//   polynomial, 123 terms, instead of the capped one, 81 terms)
// Target (README): < 10 s per model on a 2-core machine, Release build.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fit/cross_validation.h"
#include "fit/features.h"
#include "fit/lasso.h"
#include "fit/model_fit.h"
#include "tests/fit/synthetic.h"

namespace {
double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  std::vector<std::string> kinds;
  for (int i = 2; i < argc; ++i) kinds.push_back(argv[i]);
  if (kinds.empty()) kinds = {"nnlasso", "nnlasso:full", "loglasso", "lasso:full"};

  auto t0 = std::chrono::steady_clock::now();
  const auto rows = lj::testing::SyntheticRows(lj::LayerType::kConv2d, n, 0.05, 1);
  std::printf("generate %d conv2d rows: %.3f s\n", n, Seconds(t0));

  std::vector<lj::LayerConfig> configs;
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    configs.push_back(rows[i].config);
    y(i) = rows[i].value;
  }
  const auto terms = lj::PolynomialTerms(lj::LayerType::kConv2d, 3);
  t0 = std::chrono::steady_clock::now();
  const Eigen::MatrixXd x = lj::DesignMatrix(lj::LayerType::kConv2d, terms, configs);
  std::printf("full degree-3 design matrix %lld x %lld: %.3f s\n", static_cast<long long>(x.rows()),
              static_cast<long long>(x.cols()), Seconds(t0));
  t0 = std::chrono::steady_clock::now();
  const lj::GramStats stats = lj::GramStats::From(x, y);
  std::printf("Gram statistics X^T X: %.3f s\n", Seconds(t0));

  for (const std::string& kind : kinds) {
    lj::FitOptions options;
    const auto colon = kind.find(':');
    options.kind = lj::ParseModelKind(kind.substr(0, colon));
    if (colon != std::string::npos) options.term_set = lj::ParseTermSet(kind.substr(colon + 1));
    t0 = std::chrono::steady_clock::now();
    const lj::Model m = lj::FitModel(lj::LayerType::kConv2d, lj::Pass::kForward,
                                     lj::Quantity::kTimeS, rows, options);
    const double s = Seconds(t0);
    std::printf(
        "FitModel %-12s n=%d (train %lld, test %lld), %d terms -> %zu kept, alpha %.3g, "
        "10-fold CV x %d alphas: %.2f s; held-out RMSPE %.2f %%\n",
        kind.c_str(), n, static_cast<long long>(m.n_train), static_cast<long long>(m.n_test),
        m.n_terms_total, m.terms.size(), m.alpha, options.n_alphas, s, m.test_metrics->rmspe);
  }
  return 0;
}
