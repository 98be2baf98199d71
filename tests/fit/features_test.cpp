#include "fit/features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/bounds.h"
#include "core/config_sampler.h"
#include "core/errors.h"
#include "core/layer_config.h"
#include "fit/bundle_fit.h"
#include "fit/feature_export.h"
#include "fit/model_bundle.h"
#include "fit/model_fit.h"
#include "tests/support/layer_configs.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

LayerConfig Conv() {
  LayerConfig c;
  c.type = LayerType::kConv2d;
  c.batch_size = 2;
  c.in_channels = 3;
  c.out_channels = 8;
  c.height = c.width = 10;
  c.kernel_size = 3;
  c.stride = 1;
  c.padding = 1;
  return c;
}

TEST(FeaturesTest, ExportHasEveryFeatureOfEachDistinctValidConfigOnce) {
  LayerConfig invalid = Conv();
  invalid.kernel_size = 0;
  const LayerConfig relu = test::Nchw(LayerType::kReLU, 2, 3, 4, 4);
  const nlohmann::json j = ExportFeatures({Conv(), relu, Conv(), invalid});
  const nlohmann::json& entries = j.at("features");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].at("layer"), "conv2d");
  EXPECT_EQ(entries[0].at("config"), ToJson(Conv()));
  const std::vector<double> values = FeatureValues(Conv());
  ASSERT_EQ(entries[0].at("values").size(), FeatureNames(LayerType::kConv2d).size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(entries[0].at("values").at(FeatureNames(LayerType::kConv2d)[i]), values[i]);
  }
  EXPECT_EQ(entries[0].at("values").at("macs"), ForwardMacs(Conv()));
  EXPECT_EQ(entries[1].at("layer"), "relu");
  EXPECT_EQ(entries[1].at("values").at("elements"), 2.0 * 3 * 4 * 4);
}

// parallel_region is ATen's grain-size gate: 0 up to 32768 elements (the calling thread runs the
// kernel), 1 above (an OpenMP parallel region). It has no log term, no MAC-linear baseline term,
// and its linear term is the one the Lasso leaves unpenalised.
TEST(FeaturesTest, ParallelRegionGatesAtAtensGrainSize) {
  const int gate = FeatureIndex(LayerType::kReLU, "parallel_region");
  ASSERT_GE(gate, 0);
  EXPECT_EQ(FeatureValues(test::Nchw(LayerType::kReLU, 2, 16, 32, 32))[gate], 0.0);  // 32768
  EXPECT_EQ(FeatureValues(test::Nchw(LayerType::kReLU, 2, 16, 32, 33))[gate], 1.0);  // 33792
  EXPECT_GE(FeatureIndex(LayerType::kDropout, "parallel_region"), 0);
  EXPECT_EQ(FeatureIndex(LayerType::kConv2d, "parallel_region"), -1);
  for (const Term& t : LogTerms(LayerType::kReLU)) EXPECT_EQ(t.exponents[gate], 0);
  for (const Term& t : MacLinearTerms(LayerType::kReLU)) EXPECT_EQ(t.exponents[gate], 0);
  int unpenalised = 0;
  for (const Term& t : CappedPolynomialTerms(LayerType::kReLU, 3)) {
    if (IsUnpenalisedTerm(LayerType::kReLU, t)) {
      ++unpenalised;
      EXPECT_EQ(TermName(LayerType::kReLU, t), "parallel_region");
    }
  }
  EXPECT_EQ(unpenalised, 1);
  EXPECT_FALSE(IsUnpenalisedTerm(LayerType::kReLU, ParseTerm(LayerType::kReLU, "elements")));
}

TEST(FeaturesTest, ConvFeatureValuesForKnownConfig) {
  const std::vector<std::string> names = {"batch_size",
                                          "in_channels_per_group",
                                          "out_channels",
                                          "input_size",
                                          "kernel_size",
                                          "stride",
                                          "groups",
                                          "macs",
                                          "input_elements",
                                          "output_elements",
                                          "weight_elements",
                                          "mmap_input_elements",
                                          "mmap_output_elements",
                                          "mmap_weight_elements",
                                          "grouped_macs",
                                          "input_grad",
                                          "bias"};
  EXPECT_EQ(FeatureNames(LayerType::kConv2d), names);
  EXPECT_EQ(NumBase(LayerType::kConv2d), 7);
  // Output 10x10 (padding 1, k 3): MACs = 2*8*10*10 * 3*9; weights 8*3*9 + 8 bias.
  const std::vector<double> expected = {2,    3,   8, 12, 3, 1, 1, 43200, 600,
                                        1600, 224, 1, 1,  1, 1, 1, 1};
  EXPECT_EQ(FeatureValues(Conv()), expected);
}

// input_grad is a 0/1 gate: only the input gradient's linear terms use it, no log term, and the
// forward pass sees every config with input_grad = true.
TEST(FeaturesTest, InputGradGatesTheInputGradientTerms) {
  LayerConfig first = Conv();
  first.input_grad = false;
  const int gate = InputGradIndex(LayerType::kConv2d);
  ASSERT_GE(gate, 0);
  EXPECT_EQ(FeatureValues(first)[static_cast<size_t>(gate)], 0.0);
  EXPECT_EQ(FeatureValues(Conv())[static_cast<size_t>(gate)], 1.0);
  EXPECT_EQ(InputGradIndex(LayerType::kMaxPool2d), -1);
  const Term gated = ParseTerm(LayerType::kConv2d, "macs*input_grad");
  EXPECT_EQ(TermValue(gated, FeatureValues(first)), 0.0);
  EXPECT_EQ(TermValue(gated, FeatureValues(Conv())), 43200.0);
  for (LayerType type : {LayerType::kConv2d, LayerType::kLinear}) {
    std::vector<std::string> with_gate;
    for (const Term& t : CappedPolynomialTerms(type, DefaultDegree(type))) {
      if (t.exponents[static_cast<size_t>(InputGradIndex(type))] > 0)
        with_gate.push_back(TermName(type, t));
    }
    EXPECT_EQ(with_gate, (std::vector<std::string>{"input_grad", "macs*input_grad",
                                                   "input_elements*input_grad",
                                                   "mmap_input_elements*input_grad"}));
    for (const Term& t : LogTerms(type))
      EXPECT_EQ(t.exponents[static_cast<size_t>(InputGradIndex(type))], 0);
    for (const Term& t : MacLinearTerms(type))
      EXPECT_EQ(t.exponents[static_cast<size_t>(InputGradIndex(type))], 0);
  }
  EXPECT_TRUE(ForPass(first, Pass::kForward).input_grad);
  EXPECT_FALSE(ForPass(first, Pass::kBackward).input_grad);
}

// bias (conv2d) is a 0/1 gate like input_grad: a conv without a bias (as in networks with batch
// norm) loses exactly the bias's terms, in both passes; no log or maclinear term uses it.
TEST(FeaturesTest, BiasGatesTheBiasTermsOfConv2d) {
  LayerConfig without = Conv();
  without.bias = false;
  const int gate = BiasIndex(LayerType::kConv2d);
  ASSERT_GE(gate, 0);
  EXPECT_EQ(BiasIndex(LayerType::kLinear), -1);
  EXPECT_EQ(FeatureValues(without)[static_cast<size_t>(gate)], 0.0);
  EXPECT_EQ(FeatureValues(Conv())[static_cast<size_t>(gate)], 1.0);
  EXPECT_EQ(FeatureValues(ForPass(without, Pass::kForward))[static_cast<size_t>(gate)], 0.0);
  std::vector<std::string> with_gate;
  for (const Term& t : CappedPolynomialTerms(LayerType::kConv2d, 3)) {
    if (t.exponents[static_cast<size_t>(gate)] > 0)
      with_gate.push_back(TermName(LayerType::kConv2d, t));
  }
  EXPECT_EQ(with_gate, (std::vector<std::string>{"bias", "macs*bias", "output_elements*bias"}));
  const Term per_mac = ParseTerm(LayerType::kConv2d, "macs*bias");
  EXPECT_EQ(TermValue(per_mac, FeatureValues(without)), 0.0);
  EXPECT_EQ(TermValue(per_mac, FeatureValues(Conv())), 43200.0);
  for (const Term& t : LogTerms(LayerType::kConv2d))
    EXPECT_EQ(t.exponents[static_cast<size_t>(gate)], 0);
  for (const Term& t : PowerTerms(LayerType::kConv2d, true)) {
    if (t.kind != Term::Kind::kMonomial) {
      EXPECT_EQ(t.exponents[static_cast<size_t>(gate)], 0);
    }
  }
  for (const Term& t : MacLinearTerms(LayerType::kConv2d))
    EXPECT_EQ(t.exponents[static_cast<size_t>(gate)], 0);
}

// A grouped conv's fan-in feature is in_channels / groups, so a depthwise conv looks like the
// dense conv with one input channel whose MACs it has.
TEST(FeaturesTest, GroupedConvUsesInChannelsPerGroup) {
  LayerConfig c = Conv();
  c.in_channels = c.out_channels = 8;
  c.groups = 8;  // depthwise
  const std::vector<double> f = FeatureValues(c);
  EXPECT_EQ(f[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "in_channels_per_group"))], 1);
  EXPECT_EQ(f[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "groups"))], 8);
  LayerConfig one = Conv();
  one.in_channels = 1;
  one.out_channels = 8;
  EXPECT_EQ(f[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "macs"))],
            FeatureValues(one)[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "macs"))]);
}

// grouped_macs gives grouped convs a cost per MAC of their own: 1 + MACs when groups > 1, 1 for
// a dense conv; the maclinear baseline keeps its definition without it.
TEST(FeaturesTest, GroupedMacsCountOnlyGroupedConvs) {
  const auto at = [](const LayerConfig& c, const char* name) {
    return FeatureValues(c)[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, name))];
  };
  LayerConfig dense = Conv();
  dense.in_channels = dense.out_channels = 8;
  EXPECT_EQ(at(dense, "grouped_macs"), 1);
  for (int64_t groups : {2, 4, 8}) {
    LayerConfig grouped = dense;
    grouped.groups = groups;
    EXPECT_EQ(at(grouped, "grouped_macs"), 1 + at(grouped, "macs")) << groups;
    EXPECT_EQ(at(grouped, "macs"), at(dense, "macs") / static_cast<double>(groups));
  }
  for (const Term& t : MacLinearTerms(LayerType::kConv2d))
    EXPECT_NE(TermName(LayerType::kConv2d, t), "grouped_macs");
  bool in_polynomial = false;
  for (const Term& t : CappedPolynomialTerms(LayerType::kConv2d, 3))
    in_polynomial = in_polynomial || TermName(LayerType::kConv2d, t) == "grouped_macs";
  EXPECT_TRUE(in_polynomial);
}

// Tensors of 8 Mi elements or more (always mmap-ed by glibc) count in the mmap features.
TEST(FeaturesTest, MmapFeaturesCountOnlyTensorsAboveTheMmapThreshold) {
  LayerConfig big;
  big.type = LayerType::kReLU;
  big.batch_size = 16;
  big.in_channels = 64;
  big.height = big.width = 112;  // 12.8 M elements
  const std::vector<double> f = FeatureValues(big);
  EXPECT_EQ(f[static_cast<size_t>(FeatureIndex(LayerType::kReLU, "mmap_output_elements"))],
            1 + 16.0 * 64 * 112 * 112);
  big.height = big.width = 56;  // 3.2 M elements: reused heap memory
  EXPECT_EQ(FeatureValues(
                big)[static_cast<size_t>(FeatureIndex(LayerType::kReLU, "mmap_output_elements"))],
            1);
}

TEST(FeaturesTest, MacLinearTermsAreTheSpecialFeatures) {
  std::vector<std::string> names;
  for (const Term& t : MacLinearTerms(LayerType::kConv2d)) {
    names.push_back(TermName(LayerType::kConv2d, t));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"macs", "input_elements", "output_elements",
                                             "weight_elements", "mmap_input_elements",
                                             "mmap_output_elements", "mmap_weight_elements"}));
  names.clear();
  for (const Term& t : MacLinearTerms(LayerType::kSgd))
    names.push_back(TermName(LayerType::kSgd, t));
  EXPECT_EQ(names, (std::vector<std::string>{"parameters", "parameter_tensors"}));
}

TEST(FeaturesTest, NonSquareInputUsesGeometricMeanOfPaddedSides) {
  LayerConfig c = Conv();
  c.height = 6;  // padded 8 x 12 -> sqrt(96)
  EXPECT_DOUBLE_EQ(FeatureValues(c)[3], std::sqrt(96.0));
}

// Inception v3's 1x7 conv: the kernel side is sqrt(1 * 7), the input side uses each side's own
// padding, and MACs and weights count the 7 kernel elements.
TEST(FeaturesTest, NonSquareKernelUsesGeometricMeanOfItsSides) {
  LayerConfig c = Conv();  // 2 x 3 -> 8, 10x10
  c.kernel_size = 1;
  c.padding = 0;
  c.kernel_width = 7;
  c.padding_width = 3;
  const std::vector<double> v = FeatureValues(c);
  EXPECT_DOUBLE_EQ(v[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "kernel_size"))],
                   std::sqrt(7.0));
  EXPECT_DOUBLE_EQ(v[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "input_size"))],
                   std::sqrt(10.0 * 16.0));
  EXPECT_DOUBLE_EQ(v[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "macs"))],
                   2.0 * 8 * 10 * 10 * 3 * 7);
  EXPECT_DOUBLE_EQ(v[static_cast<size_t>(FeatureIndex(LayerType::kConv2d, "weight_elements"))],
                   8.0 * 3 * 7 + 8);
}

TEST(FeaturesTest, PoolAndLinearFeatures) {
  LayerConfig pool;
  pool.type = LayerType::kMaxPool2d;
  pool.batch_size = 4;
  pool.in_channels = 5;
  pool.height = pool.width = 9;
  pool.kernel_size = 3;
  pool.stride = 2;
  // Output 4x4; MACs (comparisons) = 4*5*4*4*9.
  EXPECT_EQ(FeatureValues(pool), (std::vector<double>{4, 5, 9, 3, 2, 2880, 1620, 320, 1, 1}));
  EXPECT_EQ(FeatureNames(LayerType::kMaxPool2d).size(), 10u);

  LayerConfig linear;
  linear.type = LayerType::kLinear;
  linear.batch_size = 16;
  linear.in_features = 100;
  linear.out_features = 10;
  EXPECT_EQ(FeatureValues(linear),
            (std::vector<double>{16, 100, 10, 16000, 1600, 160, 1010, 1, 1, 1, 1}));
}

// embedding: the four dims, then its traffic: the rows gathered (= its "MACs", B*S*D), the ids
// (B*S), the table its backward zero-fills (V*D), and the first-touch faults of a fresh output
// (B*S*D >= 8 Mi) and of a fresh weight gradient (V*D >= 8 Mi).
TEST(FeaturesTest, EmbeddingFeaturesAreItsTraffic) {
  EXPECT_EQ(FeatureNames(LayerType::kEmbedding),
            (std::vector<std::string>{"batch_size", "sequence_length", "num_embeddings",
                                      "embedding_dim", "elements", "tokens", "weight_elements",
                                      "mmap_output_elements", "mmap_weight_elements"}));
  EXPECT_EQ(NumBase(LayerType::kEmbedding), 4);
  const LayerConfig bert = test::Embedding(8, 128, 30522, 768);
  const double output = 8.0 * 128 * 768;  // 786,432: below the mmap threshold
  const double table = 30522.0 * 768;     // 23.4 M: above it
  EXPECT_EQ(FeatureValues(bert),
            (std::vector<double>{8, 128, 30522, 768, output, 8 * 128, table, 1, 1 + table}));
  EXPECT_DOUBLE_EQ(FeatureValues(bert)[4], ForwardMacs(bert));
  const LayerConfig long_batch = test::Embedding(128, 512, 1000, 256);  // 16.8 M output elements
  EXPECT_EQ(FeatureValues(long_batch)[7], 1 + 128.0 * 512 * 256);
  EXPECT_EQ(FeatureValues(long_batch)[8], 1);
  std::vector<std::string> names;
  for (const Term& t : MacLinearTerms(LayerType::kEmbedding)) {
    names.push_back(TermName(LayerType::kEmbedding, t));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"elements", "tokens", "weight_elements",
                                             "mmap_output_elements", "mmap_weight_elements"}));
  EXPECT_EQ(DefaultDegree(LayerType::kEmbedding), 2);
}

TEST(FeaturesTest, PolynomialTermCountsAndNames) {
  // C(n_base + d, d) - 1 monomials plus the special terms (and for conv2d and linear the four
  // input-gradient terms, for conv2d the three bias terms).
  EXPECT_EQ(PolynomialTerms(LayerType::kConv2d, 3).size(), 119u + 8u + 4u + 3u);
  EXPECT_EQ(PolynomialTerms(LayerType::kMaxPool2d, 3).size(), 55u + 5u);
  EXPECT_EQ(PolynomialTerms(LayerType::kLinear, 2).size(), 9u + 7u + 4u);
  EXPECT_EQ(PolynomialTerms(LayerType::kLinear, 1).size(), 3u + 7u + 4u);
  std::set<std::string> names;
  for (const Term& t : PolynomialTerms(LayerType::kConv2d, 3)) {
    names.insert(TermName(LayerType::kConv2d, t));
  }
  EXPECT_EQ(names.size(), 134u) << "term names must be unique";
  for (const char* expected :
       {"batch_size", "kernel_size^2", "batch_size*in_channels_per_group*kernel_size", "stride^3",
        "macs", "weight_elements"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  EXPECT_FALSE(names.count("batch_size^4"));
  EXPECT_EQ(DefaultDegree(LayerType::kConv2d), 3);
  EXPECT_EQ(DefaultDegree(LayerType::kLinear), 2);
}

TEST(FeaturesTest, CappedTermsKeepExponentsWithinMacs) {
  EXPECT_EQ(CappedPolynomialTerms(LayerType::kConv2d, 3).size(), 77u + 8u + 4u + 3u);
  EXPECT_EQ(CappedPolynomialTerms(LayerType::kMaxPool2d, 3).size(), 35u + 5u);
  EXPECT_EQ(CappedPolynomialTerms(LayerType::kLinear, 2).size(), 6u + 7u + 4u);
  for (const LayerType type : {LayerType::kConv2d, LayerType::kMaxPool2d, LayerType::kLinear}) {
    for (const Term& t : CappedPolynomialTerms(type, 3)) {
      for (int i = 0; i < NumBase(type); ++i) {
        EXPECT_LE(t.exponents[i], MaxExponent(type, i)) << TermName(type, t);
      }
    }
  }
  EXPECT_EQ(MaxExponent(LayerType::kConv2d, FeatureIndex(LayerType::kConv2d, "kernel_size")), 2);
  EXPECT_EQ(
      MaxExponent(LayerType::kConv2d, FeatureIndex(LayerType::kConv2d, "in_channels_per_group")),
      1);
  std::set<std::string> names;
  for (const Term& t : CappedPolynomialTerms(LayerType::kConv2d, 3))
    names.insert(TermName(LayerType::kConv2d, t));
  EXPECT_TRUE(names.count("batch_size*in_channels_per_group*kernel_size"));
  EXPECT_TRUE(names.count("input_size^2*kernel_size"));
  EXPECT_FALSE(names.count("in_channels_per_group^2"));
  EXPECT_EQ(PowerTerms(LayerType::kLinear).size(), 21u);  // 11 linear, 10 log2 (no gate)
  EXPECT_EQ(PowerTerms(LayerType::kLinear, false).size(), 10u);
}

TEST(FeaturesTest, TermValueOfNamedTerm) {
  const std::vector<double> f = FeatureValues(Conv());
  EXPECT_DOUBLE_EQ(
      TermValue(ParseTerm(LayerType::kConv2d, "batch_size*in_channels_per_group*kernel_size^2"), f),
      2.0 * 3 * 9);
  EXPECT_DOUBLE_EQ(TermValue(ParseTerm(LayerType::kConv2d, "macs"), f), 43200);
  EXPECT_DOUBLE_EQ(TermValue(ParseTerm(LayerType::kConv2d, "log(macs)"), f), std::log(43200.0));
  EXPECT_DOUBLE_EQ(TermValue(ParseTerm(LayerType::kConv2d, "log2(out_channels)"), f), 3.0);
}

TEST(FeaturesTest, NamesRoundTripThroughParse) {
  for (const LayerType type : {LayerType::kConv2d, LayerType::kMaxPool2d, LayerType::kLinear}) {
    std::vector<Term> all = PolynomialTerms(type, 3);
    for (const auto& set : {LogTerms(type), PowerTerms(type)})
      all.insert(all.end(), set.begin(), set.end());
    for (const Term& t : all) {
      const std::string name = TermName(type, t);
      EXPECT_EQ(ParseTerm(type, name), t) << name;
    }
  }
}

TEST(FeaturesTest, ParseRejectsUnknownOrMalformedTerms) {
  EXPECT_THROW(ParseTerm(LayerType::kLinear, "in_channels"), ConfigError);
  EXPECT_THROW(ParseTerm(LayerType::kMaxPool2d, "weight_elements"), ConfigError);
  EXPECT_THROW(ParseTerm(LayerType::kConv2d, "stride^x"), ConfigError);
  EXPECT_THROW(ParseTerm(LayerType::kConv2d, "log(macs"), ConfigError);
  EXPECT_THROW(ParseTerm(LayerType::kConv2d, ""), ConfigError);
  try {
    ParseTerm(LayerType::kLinear, "batch_size*width");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("unknown feature 'width' in term 'batch_size*width' for linear"),
        std::string::npos)
        << e.what();
  }
}

TEST(FeaturesTest, DesignMatrixRowsAreTermValues) {
  const std::vector<Term> terms = PolynomialTerms(LayerType::kConv2d, 2);
  LayerConfig other = Conv();
  other.batch_size = 5;
  const Eigen::MatrixXd x = DesignMatrix(LayerType::kConv2d, terms, {Conv(), other});
  ASSERT_EQ(x.rows(), 2);
  ASSERT_EQ(x.cols(), static_cast<Eigen::Index>(terms.size()));
  const std::vector<double> f = FeatureValues(other);
  for (size_t j = 0; j < terms.size(); ++j) EXPECT_DOUBLE_EQ(x(1, j), TermValue(terms[j], f));
  EXPECT_TRUE((x.array() >= 0).all());
  LayerConfig linear;
  linear.type = LayerType::kLinear;
  linear.in_features = linear.out_features = 4;
  EXPECT_THROW(DesignMatrix(LayerType::kConv2d, terms, {linear}), ConfigError);
}

// Tests of fit for the layer types beyond conv2d, maxpool2d and linear: every type has features
// (all >= 1, so polynomial terms are >= 0 and logs finite), term names round-trip, and a model
// fitted to synthetic measurements of configs drawn from the shipped bounds files has held-out
// metrics, recorded training bounds, and non-negative predictions far outside those bounds.

const std::vector<LayerType> kNewTypes = test::TypesBeyondConvPoolLinear();

// `n` configs drawn from the shipped bounds file of `type` (caps as measure applies them).
std::vector<LayerConfig> Draw(LayerType type, int n, uint64_t seed) {
  const LayerBounds bounds = LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(type));
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

TEST(FeaturesAllTypesTest, EveryTypeHasFeaturesOfAtLeastOne) {
  for (LayerType type : AllLayerTypes()) {
    SCOPED_TRACE(std::string(ToString(type)));
    const auto& names = FeatureNames(type);
    ASSERT_GE(NumBase(type), 2);
    ASSERT_LE(NumBase(type), static_cast<int>(names.size()));
    for (const LayerConfig& c : Draw(type, 300, 3)) {
      const std::vector<double> f = FeatureValues(c);
      ASSERT_EQ(f.size(), names.size());
      for (size_t i = 0; i < f.size(); ++i) {
        const int index = static_cast<int>(i);
        if (index == InputGradIndex(type) || index == FeatureIndex(type, "parallel_region") ||
            index == BiasIndex(type)) {
          // a 0/1 gate, never logged
          ASSERT_TRUE(f[i] == 0.0 || f[i] == 1.0) << ToJson(c);
          continue;
        }
        ASSERT_GE(f[i], 1.0) << names[i] << " of " << ToJson(c);
        ASSERT_TRUE(std::isfinite(std::log(f[i])));
      }
    }
    // Every candidate term set builds and its names parse back.
    for (const Term& t : CappedPolynomialTerms(type, DefaultDegree(type))) {
      EXPECT_EQ(ParseTerm(type, TermName(type, t)), t) << TermName(type, t);
    }
    EXPECT_FALSE(PowerTerms(type, false).empty());
    const size_t gates = (InputGradIndex(type) >= 0 ? 1 : 0) +
                         (FeatureIndex(type, "parallel_region") >= 0 ? 1 : 0) +
                         (BiasIndex(type) >= 0 ? 1 : 0);
    EXPECT_EQ(LogTerms(type).size(), names.size() - gates);
  }
}

TEST(FeaturesAllTypesTest, FeaturesFollowTheBrief) {
  LayerConfig bn;
  bn.type = LayerType::kBatchNorm2d;
  bn.batch_size = 8;
  bn.in_channels = 64;
  bn.height = bn.width = 56;
  EXPECT_EQ(
      FeatureNames(LayerType::kBatchNorm2d),
      (std::vector<std::string>{"batch_size", "channels", "input_size", "elements",
                                "mmap_input_elements", "mmap_output_elements", "parallel_region"}));
  EXPECT_EQ(FeatureValues(bn), (std::vector<double>{8, 64, 56, 8.0 * 64 * 56 * 56, 1, 1, 1}));

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

TEST(FeaturesAllTypesTest, ModelsAreNonNegativeWithHeldOutMetricsAndBounds) {
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

TEST(FeaturesAllTypesTest, FitBundleModelsEveryTypeAndNoOptimizerBackward) {
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
