#include "fit/model_fit.h"

#include <gtest/gtest.h>

#include <random>

#include "core/errors.h"
#include "tests/fit/synthetic.h"

namespace lj {
namespace {

FitOptions Fast(ModelKind kind) {
  FitOptions o;
  o.kind = kind;
  o.folds = 5;
  o.n_alphas = 30;
  return o;
}

TEST(ModelFitTest, NnLassoFitsSyntheticConvTimeWithHeldOutError) {
  const auto rows = testing::SyntheticRows(LayerType::kConv2d, 600, 0.05, 1);
  const Model m = FitModel(LayerType::kConv2d, Pass::kForward, Quantity::kTimeS, rows,
                           Fast(ModelKind::kNnLasso), "none");
  EXPECT_EQ(m.n_train + m.n_test, 600);
  EXPECT_EQ(m.n_test, 120);
  EXPECT_EQ(m.n_terms_total, 81);  // capped polynomial, degree 3
  EXPECT_EQ(m.term_set, "capped_polynomial");
  EXPECT_EQ(m.degree, 3);
  EXPECT_GT(m.terms.size(), 0u);
  EXPECT_LT(m.terms.size(), 81u);
  EXPECT_GE(m.intercept, 0);
  for (const ModelTerm& t : m.terms) {
    EXPECT_GT(t.coefficient, 0) << t.name;
    EXPECT_EQ(t.center, 0) << t.name;
  }
  ASSERT_TRUE(m.test_metrics.has_value());
  // Noise is 5 % (RMS), so a good model's held-out RMSPE is near 5 %.
  EXPECT_LT(m.test_metrics->rmspe, 8.0);
  EXPECT_GT(m.test_metrics->within_10, 0.8);
  EXPECT_GT(m.test_metrics->r2, 0.95);
  EXPECT_GT(m.alpha, 0);
  EXPECT_EQ(m.cv_folds, 5);
  EXPECT_EQ(m.meter, "none");
  EXPECT_EQ(m.rapl_domain, "");
}

// The non-negative model family: predictions >= 0 and non-decreasing in every feature, also on
// a grid far outside the training bounds (every feature 10x its maximum, and all at 1).
TEST(ModelFitTest, NnLassoPredictionsNonNegativeFarOutsideBounds) {
  for (const LayerType type : {LayerType::kConv2d, LayerType::kMaxPool2d, LayerType::kLinear}) {
    // A target that rises and then falls with the batch size inside the bounds, so an
    // unconstrained fit wants negative (quadratic) batch terms.
    auto rows = testing::SyntheticRows(type, 400, 0.2, 2);
    for (auto& r : rows) r.value *= std::exp(-static_cast<double>(r.config.batch_size) / 32.0);
    const Model m =
        FitModel(type, Pass::kBackward, Quantity::kEnergyJ, rows, Fast(ModelKind::kNnLasso));
    const Model plain =
        FitModel(type, Pass::kBackward, Quantity::kEnergyJ, rows, Fast(ModelKind::kLasso));
    int plain_negative = 0;
    std::mt19937_64 rng(3);
    int extrapolated = 0;
    for (int i = 0; i < 300; ++i) {
      LayerConfig c = testing::RandomConfig(type, rng);
      std::uniform_int_distribution<int64_t> factor(1, 10);
      c.batch_size *= 10 * factor(rng);
      if (type == LayerType::kLinear) {
        c.in_features *= 10 * factor(rng);
        c.out_features *= 10;
      } else {
        c.in_channels *= 10;
        if (type == LayerType::kConv2d) c.out_channels *= factor(rng) * 10;
        c.height *= 10;
        c.width *= factor(rng) * 10;
        if (i % 2 == 0) c.kernel_size = std::min<int64_t>(c.height, c.kernel_size * 10);
      }
      const Prediction p = Predict(m, c);
      EXPECT_GE(p.value, 0) << ToJson(c).dump();
      if (Predict(plain, c).value < 0) ++plain_negative;
      if (p.extrapolated) ++extrapolated;
      // Monotone: growing the batch never lowers the prediction.
      LayerConfig bigger = c;
      bigger.batch_size *= 2;
      EXPECT_GE(Predict(m, bigger).value, p.value);
    }
    EXPECT_EQ(extrapolated, 300) << "every grid point lies outside the training bounds";
    // The grid has teeth: plain Lasso (the prototype's model) goes negative on it.
    EXPECT_GT(plain_negative, 0) << ToString(type);
    LayerConfig smallest = testing::RandomConfig(type, rng);
    smallest.batch_size = 1;
    smallest.in_channels = smallest.out_channels = smallest.in_features = smallest.out_features = 1;
    if (type != LayerType::kLinear) {
      smallest.out_channels = type == LayerType::kConv2d ? 1 : 0;
      smallest.kernel_size = 1 + (type == LayerType::kMaxPool2d);
      smallest.height = smallest.width = smallest.kernel_size;
      smallest.padding = 0;
    }
    EXPECT_GE(Predict(m, smallest).value, 0);
  }
}

TEST(ModelFitTest, LogLassoIsPositiveAndLassoCentresTerms) {
  const auto rows = testing::SyntheticRows(LayerType::kLinear, 300, 0.05, 4);
  const Model log_model = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kTimeS, rows,
                                   Fast(ModelKind::kLogLasso));
  EXPECT_TRUE(log_model.log_target);
  EXPECT_EQ(log_model.n_terms_total, 7);
  EXPECT_EQ(log_model.degree, 0);
  ASSERT_TRUE(log_model.test_metrics);
  EXPECT_GT(log_model.test_metrics->min_prediction, 0);
  const Model plain =
      FitModel(LayerType::kLinear, Pass::kForward, Quantity::kTimeS, rows, Fast(ModelKind::kLasso));
  EXPECT_FALSE(plain.log_target);
  EXPECT_EQ(plain.degree, 2);
  bool centred = false;
  for (const ModelTerm& t : plain.terms) centred |= t.center != 0;
  EXPECT_TRUE(centred);
}

TEST(ModelFitTest, FullTermSetIsNeuralPowersPolynomial) {
  const auto rows = testing::SyntheticRows(LayerType::kConv2d, 300, 0.05, 5);
  FitOptions o = Fast(ModelKind::kNnLasso);
  o.term_set = TermSet::kFull;
  const Model m = FitModel(LayerType::kConv2d, Pass::kForward, Quantity::kTimeS, rows, o);
  EXPECT_EQ(m.n_terms_total, 123);
  EXPECT_EQ(m.term_set, "polynomial");
  EXPECT_EQ(ParseTermSet(ToString(TermSet::kFull)), TermSet::kFull);
  EXPECT_THROW(ParseTermSet("cubic"), ConfigError);
}

TEST(ModelFitTest, PowerUsesLog2TermsOrNeuralPowersLinearAndLog2) {
  auto rows = testing::SyntheticRows(LayerType::kLinear, 200, 0.05, 6);
  for (auto& r : rows) r.value = 30.0 + 2.0 * std::log2(ForwardMacs(r.config));  // watts
  FitOptions o = Fast(ModelKind::kNnLasso);
  const Model m = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kPowerW, rows, o);
  EXPECT_EQ(m.n_terms_total, 7);
  EXPECT_EQ(m.term_set, "log2_power");
  EXPECT_EQ(m.rapl_domain, "package");
  ASSERT_TRUE(m.test_metrics);
  EXPECT_LT(m.test_metrics->rmspe, 2.0);
  o.term_set = TermSet::kFull;
  const Model full = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kPowerW, rows, o);
  EXPECT_EQ(full.n_terms_total, 14);
  EXPECT_EQ(full.term_set, "power");
}

// A few rows far below the truth (a reading below RAPL resolution, a bad subtraction) must not
// take over a fit weighted by 1/y^2: the outlier filter leaves them out of training.
TEST(ModelFitTest, OutlierFilterProtectsTheRelativeFit) {
  auto rows = testing::SyntheticRows(LayerType::kLinear, 300, 0.05, 12);
  for (size_t i = 0; i < rows.size(); i += 50) rows[i].value *= 1e-4;
  FitOptions o = Fast(ModelKind::kNnLasso);
  const Model filtered = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kTimeS, rows, o);
  EXPECT_GE(filtered.n_outliers, 3);
  EXPECT_LE(filtered.n_outliers, 6);
  o.outlier_factor = 0;
  const Model unfiltered = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kTimeS, rows, o);
  EXPECT_EQ(unfiltered.n_outliers, 0);
  // Score both on clean rows.
  std::vector<double> pf, pu, y;
  for (const auto& r : testing::SyntheticRows(LayerType::kLinear, 200, 0.0, 13)) {
    pf.push_back(Predict(filtered, r.config).value);
    pu.push_back(Predict(unfiltered, r.config).value);
    y.push_back(r.value);
  }
  EXPECT_LT(ComputeMetrics(pf, y).rmspe, 10.0);
  EXPECT_GT(ComputeMetrics(pu, y).rmspe, 50.0);
}

// Reweighting by the previous fit's prediction (IRLS, Gamma-GLM-like) also fits well and keeps
// predictions non-negative.
TEST(ModelFitTest, ReweightedFitWorks) {
  const auto rows = testing::SyntheticRows(LayerType::kConv2d, 400, 0.05, 14);
  FitOptions o = Fast(ModelKind::kNnLasso);
  o.reweight_iterations = 2;
  const Model m = FitModel(LayerType::kConv2d, Pass::kForward, Quantity::kTimeS, rows, o);
  ASSERT_TRUE(m.test_metrics);
  EXPECT_LT(m.test_metrics->rmspe, 8.0);
  EXPECT_GE(m.test_metrics->min_prediction, 0.0);
  EXPECT_NE(m.cv_loss.find("previous fit"), std::string::npos);
}

TEST(ModelFitTest, DropsNonPositiveRowsAndRefusesTooFewRows) {
  auto rows = testing::SyntheticRows(LayerType::kLinear, 100, 0.05, 8);
  rows[0].value = 0;
  rows[1].value = -3;
  rows[2].value = std::nan("");
  FitOptions o = Fast(ModelKind::kNnLasso);
  const Model m = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kEnergyJ, rows, o);
  EXPECT_EQ(m.n_rows, 100);
  EXPECT_EQ(m.n_dropped, 3);
  EXPECT_EQ(m.n_train + m.n_test, 97);
  EXPECT_EQ(MinRows(o), 32);  // ceil(5 * 5 / 0.8)
  rows.resize(33);            // 30 usable
  EXPECT_THROW(FitModel(LayerType::kLinear, Pass::kForward, Quantity::kEnergyJ, rows, o), FitError);
  o.test_fraction = 1.0;
  EXPECT_THROW(FitModel(LayerType::kLinear, Pass::kForward, Quantity::kEnergyJ, rows, o),
               ConfigError);
  EXPECT_THROW(FitModel(LayerType::kConv2d, Pass::kForward, Quantity::kEnergyJ, rows,
                        Fast(ModelKind::kNnLasso)),
               ConfigError);
}

TEST(ModelFitTest, NoTestMetricsWithoutHeldOutRows) {
  const auto rows = testing::SyntheticRows(LayerType::kLinear, 100, 0.05, 9);
  FitOptions o = Fast(ModelKind::kNnLasso);
  o.test_fraction = 0;
  const Model m = FitModel(LayerType::kLinear, Pass::kForward, Quantity::kTimeS, rows, o);
  EXPECT_EQ(m.n_test, 0);
  EXPECT_EQ(m.n_train, 100);
  EXPECT_FALSE(m.test_metrics.has_value());
}

}  // namespace
}  // namespace lj
