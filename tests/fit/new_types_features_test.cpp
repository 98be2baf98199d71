// Tests of fit for the layer types beyond conv2d, maxpool2d and linear: every type has features
// (all >= 1, so polynomial terms are >= 0 and logs finite), term names round-trip, and a model
// fitted to synthetic measurements of configs drawn from the shipped bounds files has held-out
// metrics, recorded training bounds, and non-negative predictions far outside those bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/bounds.h"
#include "core/config_sampler.h"
#include "core/layer_config.h"
#include "fit/bundle_fit.h"
#include "fit/features.h"
#include "fit/model_bundle.h"
#include "fit/model_fit.h"

namespace lj {
namespace {

const std::vector<LayerType> kNewTypes = {LayerType::kBatchNorm2d,
                                          LayerType::kReLU,
                                          LayerType::kReLU6,
                                          LayerType::kHardswish,
                                          LayerType::kHardsigmoid,
                                          LayerType::kSigmoid,
                                          LayerType::kAvgPool2d,
                                          LayerType::kAdaptiveAvgPool2d,
                                          LayerType::kAdd,
                                          LayerType::kMul,
                                          LayerType::kDropout,
                                          LayerType::kCrossEntropy,
                                          LayerType::kSgd,
                                          LayerType::kAdam,
                                          LayerType::kGradAccumulate,
                                          LayerType::kZeroGrad};

std::string SourceDir() {
  const char* dir = std::getenv("LJ_SOURCE_DIR");
  return dir ? dir : ".";
}

// `n` configs drawn from the shipped bounds file of `type` (caps as measure applies them).
std::vector<LayerConfig> Draw(LayerType type, int n, uint64_t seed) {
  const LayerBounds bounds = LoadBounds(SourceDir() + "/" + DefaultBoundsPath(type));
  SamplingCaps caps;
  caps.max_forward_macs = bounds.max_forward_macs;
  caps.max_memory_bytes = 4.0 * (1ull << 30);
  const ConfigSampler sampler(bounds, seed, caps);
  std::vector<LayerConfig> out;
  for (int i = 0; i < n; ++i) out.push_back(sampler.Sample(i).config);
  return out;
}

// Seconds, shaped like measured element-wise and optimizer costs: 10 us + 2 ns per element
// (ForwardMacs) + 5 us per parameter tensor (sgd/adam), times (1 + 3 % noise).
double SyntheticTimeS(const LayerConfig& c, std::mt19937_64& rng) {
  const double tensors = IsOptimizerStep(c.type) ? static_cast<double>(c.parameter_tensors) : 0;
  const double t = 1e-5 + 2e-9 * ForwardMacs(c) + 5e-6 * tensors;
  return t * (1.0 + 0.03 * std::normal_distribution<double>(0.0, 1.0)(rng));
}

FitOptions Fast() {
  FitOptions o;
  o.folds = 5;
  o.n_alphas = 20;
  return o;
}

TEST(NewTypesFeaturesTest, EveryTypeHasFeaturesOfAtLeastOne) {
  for (LayerType type : AllLayerTypes()) {
    SCOPED_TRACE(std::string(ToString(type)));
    const auto& names = FeatureNames(type);
    ASSERT_GE(NumBase(type), 2);
    ASSERT_LE(NumBase(type), static_cast<int>(names.size()));
    for (const LayerConfig& c : Draw(type, 300, 3)) {
      const std::vector<double> f = FeatureValues(c);
      ASSERT_EQ(f.size(), names.size());
      for (size_t i = 0; i < f.size(); ++i) {
        ASSERT_GE(f[i], 1.0) << names[i] << " of " << ToJson(c);
        ASSERT_TRUE(std::isfinite(std::log(f[i])));
      }
    }
    // Every candidate term set builds and its names parse back.
    for (const Term& t : CappedPolynomialTerms(type, DefaultDegree(type))) {
      EXPECT_EQ(ParseTerm(type, TermName(type, t)), t) << TermName(type, t);
    }
    EXPECT_FALSE(PowerTerms(type, false).empty());
    EXPECT_EQ(LogTerms(type).size(), names.size());
  }
}

TEST(NewTypesFeaturesTest, FeaturesFollowTheBrief) {
  LayerConfig bn;
  bn.type = LayerType::kBatchNorm2d;
  bn.batch_size = 8;
  bn.in_channels = 64;
  bn.height = bn.width = 56;
  EXPECT_EQ(FeatureNames(LayerType::kBatchNorm2d),
            (std::vector<std::string>{"batch_size", "channels", "input_size", "elements",
                                      "mmap_input_elements", "mmap_output_elements"}));
  EXPECT_EQ(FeatureValues(bn), (std::vector<double>{8, 64, 56, 8.0 * 64 * 56 * 56, 1, 1}));

  LayerConfig ce;
  ce.type = LayerType::kCrossEntropy;
  ce.batch_size = 32;
  ce.num_classes = 1000;
  EXPECT_EQ(FeatureValues(ce), (std::vector<double>{32, 1000, 32000, 1, 1}));

  LayerConfig adam;
  adam.type = LayerType::kAdam;
  adam.parameters = 11181642;
  adam.parameter_tensors = 62;
  EXPECT_EQ(FeatureNames(LayerType::kAdam),
            (std::vector<std::string>{"parameters", "parameter_tensors"}));
  EXPECT_EQ(FeatureValues(adam), (std::vector<double>{11181642, 62}));

  LayerConfig adaptive;
  adaptive.type = LayerType::kAdaptiveAvgPool2d;
  adaptive.batch_size = 2;
  adaptive.in_channels = 3;
  adaptive.height = adaptive.width = 7;
  adaptive.output_size = 1;
  EXPECT_EQ(FeatureValues(adaptive)[static_cast<size_t>(
                FeatureIndex(LayerType::kAdaptiveAvgPool2d, "output_size"))],
            1.0);
  EXPECT_EQ(MaxExponent(LayerType::kAdaptiveAvgPool2d,
                        FeatureIndex(LayerType::kAdaptiveAvgPool2d, "output_size")),
            2);

  // Dropout's cost feature is the rarer outcome of the mask: symmetric in p, at least 1.
  LayerConfig dropout;
  dropout.type = LayerType::kDropout;
  dropout.batch_size = 4;
  dropout.in_channels = 4096;
  dropout.height = dropout.width = 1;
  const int minority = FeatureIndex(LayerType::kDropout, "minority_percent");
  ASSERT_GE(minority, 0);
  const auto minority_of = [&](int64_t p) {
    dropout.p_percent = p;
    return FeatureValues(dropout)[static_cast<size_t>(minority)];
  };
  EXPECT_EQ(minority_of(20), 20.0);
  EXPECT_EQ(minority_of(80), 20.0);
  EXPECT_EQ(minority_of(50), 50.0);
  EXPECT_EQ(minority_of(0), 1.0);
  EXPECT_EQ(minority_of(100), 1.0);

  EXPECT_EQ(DefaultDegree(LayerType::kAvgPool2d), 3);
  EXPECT_EQ(DefaultDegree(LayerType::kReLU), 2);
}

TEST(NewTypesFeaturesTest, ModelsAreNonNegativeWithHeldOutMetricsAndBounds) {
  std::mt19937_64 rng(42);
  for (LayerType type : kNewTypes) {
    SCOPED_TRACE(std::string(ToString(type)));
    std::vector<TrainingRow> rows;
    for (const LayerConfig& c : Draw(type, 150, 11)) rows.push_back({c, SyntheticTimeS(c, rng)});
    const Model m = FitModel(type, Pass::kForward, Quantity::kTimeS, rows, Fast());
    ASSERT_TRUE(m.test_metrics.has_value());
    EXPECT_EQ(m.n_test, 30);
    // 3 % noise: the held-out error stays near it.
    EXPECT_LT(m.test_metrics->rmspe, 10.0);
    EXPECT_GT(m.test_metrics->min_prediction, 0.0);
    ASSERT_EQ(m.bounds.size(), FeatureNames(type).size());
    for (const FeatureBound& b : m.bounds) EXPECT_LE(b.min, b.max) << b.name;

    // Far outside the training bounds (the largest training config, 1000 times larger, and the
    // smallest possible one), predictions stay >= 0, and are flagged.
    LayerConfig far = rows.front().config;
    for (const TrainingRow& r : rows) {
      if (ForwardMacs(r.config) > ForwardMacs(far)) far = r.config;
    }
    if (IsOptimizerStep(type)) {
      far.parameters *= 1000;
      far.parameter_tensors = 5000;
    } else {
      far.batch_size *= 1000;
    }
    LayerConfig tiny = far;
    if (IsOptimizerStep(type)) {
      tiny.parameters = tiny.parameter_tensors = 1;
    } else {
      tiny.batch_size = 2;  // batchnorm2d needs batch_size * height * width > 1
      if (type == LayerType::kCrossEntropy) tiny.num_classes = 1;
    }
    for (const LayerConfig& c : {far, tiny}) {
      ASSERT_TRUE(IsValid(c)) << ToJson(c);
      const Prediction p = Predict(m, c);
      EXPECT_GE(p.value, 0.0) << ToJson(c);
      EXPECT_TRUE(std::isfinite(p.value));
    }
    const Prediction p_far = Predict(m, far);
    EXPECT_TRUE(p_far.extrapolated);
    // The cost grows with the size far outside: at least the prediction at the largest row.
    double largest = 0;
    for (const TrainingRow& r : rows) largest = std::max(largest, Predict(m, r.config).value);
    EXPECT_GT(p_far.value, largest);

    // The log-log model is a product of powers: always > 0.
    FitOptions log = Fast();
    log.kind = ModelKind::kLogLasso;
    const Model lm = FitModel(type, Pass::kForward, Quantity::kTimeS, rows, log);
    EXPECT_GT(Predict(lm, far).value, 0.0);
    EXPECT_GT(Predict(lm, tiny).value, 0.0);

    // The model survives its JSON round trip.
    const Model back = ModelFromJson(ToJson(m), "test");
    EXPECT_DOUBLE_EQ(Predict(back, far).value, p_far.value);
  }
}

TEST(NewTypesFeaturesTest, FitBundleModelsEveryTypeAndNoOptimizerBackward) {
  std::mt19937_64 rng(5);
  std::vector<PassSample> samples;
  for (LayerType type : AllLayerTypes()) {
    for (const LayerConfig& c : Draw(type, 70, 17)) {
      for (Pass pass : {Pass::kForward, Pass::kBackward}) {
        if (pass == Pass::kBackward && !HasBackwardPass(type)) continue;
        PassSample s;
        s.config = c;
        s.pass = pass;
        s.time_s = SyntheticTimeS(c, rng) * (pass == Pass::kBackward ? 2.0 : 1.0);
        s.meter = "none";
        samples.push_back(s);
      }
    }
  }
  std::vector<std::string> warnings;
  const ModelBundle b = FitBundle(ModelBundle{}, samples, Fast(),
                                  [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  for (LayerType type : AllLayerTypes()) {
    EXPECT_NE(b.Find(type, Pass::kForward, Quantity::kTimeS), nullptr) << ToString(type);
    EXPECT_EQ(b.Find(type, Pass::kBackward, Quantity::kTimeS) != nullptr, HasBackwardPass(type))
        << ToString(type);
    EXPECT_EQ(b.Find(type, Pass::kForward, Quantity::kEnergyJ), nullptr);  // no meter
  }
  // The bundle (with every type's name) survives its JSON round trip.
  const ModelBundle back = BundleFromJson(ToJson(b), "test");
  EXPECT_EQ(back.models.size(), b.models.size());
  const std::string table = MetricsTable({b});
  EXPECT_NE(table.find("adaptive_avgpool2d forward  time_s"), std::string::npos) << table;
}

}  // namespace
}  // namespace lj
