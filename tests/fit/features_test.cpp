#include "fit/features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/errors.h"

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
                                          "mmap_weight_elements"};
  EXPECT_EQ(FeatureNames(LayerType::kConv2d), names);
  EXPECT_EQ(NumBase(LayerType::kConv2d), 7);
  // Output 10x10 (padding 1, k 3): MACs = 2*8*10*10 * 3*9; weights 8*3*9 + 8 bias.
  const std::vector<double> expected = {2, 3, 8, 12, 3, 1, 1, 43200, 600, 1600, 224, 1, 1, 1};
  EXPECT_EQ(FeatureValues(Conv()), expected);
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
            (std::vector<double>{16, 100, 10, 16000, 1600, 160, 1010, 1, 1, 1}));
}

TEST(FeaturesTest, PolynomialTermCountsAndNames) {
  // C(n_base + d, d) - 1 monomials plus the special terms.
  EXPECT_EQ(PolynomialTerms(LayerType::kConv2d, 3).size(), 119u + 7u);
  EXPECT_EQ(PolynomialTerms(LayerType::kMaxPool2d, 3).size(), 55u + 5u);
  EXPECT_EQ(PolynomialTerms(LayerType::kLinear, 2).size(), 9u + 7u);
  EXPECT_EQ(PolynomialTerms(LayerType::kLinear, 1).size(), 3u + 7u);
  std::set<std::string> names;
  for (const Term& t : PolynomialTerms(LayerType::kConv2d, 3)) {
    names.insert(TermName(LayerType::kConv2d, t));
  }
  EXPECT_EQ(names.size(), 126u) << "term names must be unique";
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
  EXPECT_EQ(CappedPolynomialTerms(LayerType::kConv2d, 3).size(), 77u + 7u);
  EXPECT_EQ(CappedPolynomialTerms(LayerType::kMaxPool2d, 3).size(), 35u + 5u);
  EXPECT_EQ(CappedPolynomialTerms(LayerType::kLinear, 2).size(), 6u + 7u);
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
  EXPECT_EQ(PowerTerms(LayerType::kLinear).size(), 20u);
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

}  // namespace
}  // namespace lj
