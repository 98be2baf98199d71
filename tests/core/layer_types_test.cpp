// Tests of the layer types beyond conv2d, maxpool2d and linear in core: names, JSON, validation,
// shapes, MACs, sizes, memory estimates, shipped bounds files and sampling within them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/bounds.h"
#include "core/config_sampler.h"
#include "core/cost_model.h"
#include "core/errors.h"
#include "core/layer_config.h"
#include "tests/support/config_error.h"
#include "tests/support/layer_configs.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

using nlohmann::json;
using test::Adaptive;
using test::CrossEntropy;
using test::Dropout;
using test::Nchw;
using test::ParameterStep;
using test::Pool;
using Shape = std::vector<int64_t>;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

const std::vector<LayerType> kNewTypes = test::TypesBeyondConvPoolLinear();

// One valid config of every new type.
std::vector<LayerConfig> Examples() {
  std::vector<LayerConfig> out;
  for (LayerType t : {LayerType::kBatchNorm2d, LayerType::kReLU, LayerType::kReLU6,
                      LayerType::kHardswish, LayerType::kHardsigmoid, LayerType::kSigmoid,
                      LayerType::kAdd, LayerType::kMul, LayerType::kTanh, LayerType::kBiasAdd}) {
    out.push_back(Nchw(t, 8, 16, 14, 12));
  }
  out.push_back(Pool(LayerType::kAvgPool2d, 4, 8, 15, 3, 2, 1));
  out.back().ceil_mode = true;  // written only when true: every field is then in the JSON
  LayerConfig cat = Nchw(LayerType::kCat, 8, 16, 14, 12);
  cat.inputs = 3;
  out.push_back(cat);
  out.push_back(Adaptive(4, 8, 7, 3));
  out.push_back(Dropout(64, 4096, 1, 50));
  out.push_back(CrossEntropy(64, 10));
  out.push_back(ParameterStep(LayerType::kSgd, 11181642, 62));
  out.push_back(ParameterStep(LayerType::kAdam, 1528106, 142));
  out.push_back(test::Bmm(96, 197, 64, 197));
  out.push_back(test::Embedding(32, 128, 30522, 768));
  return out;
}

TEST(LayerTypesTest, NamesAliasesAndPasses) {
  const std::vector<std::pair<std::string, LayerType>> names = {
      {"batchnorm2d", LayerType::kBatchNorm2d},
      {"batchnorm", LayerType::kBatchNorm2d},
      {"bn", LayerType::kBatchNorm2d},
      {"relu", LayerType::kReLU},
      {"relu6", LayerType::kReLU6},
      {"hardswish", LayerType::kHardswish},
      {"hardsigmoid", LayerType::kHardsigmoid},
      {"sigmoid", LayerType::kSigmoid},
      {"avgpool2d", LayerType::kAvgPool2d},
      {"avgpool", LayerType::kAvgPool2d},
      {"adaptive_avgpool2d", LayerType::kAdaptiveAvgPool2d},
      {"adaptive_avgpool", LayerType::kAdaptiveAvgPool2d},
      {"add", LayerType::kAdd},
      {"mul", LayerType::kMul},
      {"dropout", LayerType::kDropout},
      {"cross_entropy", LayerType::kCrossEntropy},
      {"loss", LayerType::kCrossEntropy},
      {"sgd", LayerType::kSgd},
      {"adam", LayerType::kAdam},
      {"grad_accumulate", LayerType::kGradAccumulate},
      {"zero_grad", LayerType::kZeroGrad}};
  for (const auto& [name, type] : names) EXPECT_EQ(ParseLayerType(name), type) << name;
  EXPECT_EQ(ParseLayerType("pool"), LayerType::kMaxPool2d);  // the old alias is unchanged
  EXPECT_EQ(AllLayerTypes().size(), 3 + kNewTypes.size());
  for (LayerType t : AllLayerTypes()) {
    EXPECT_EQ(HasBackwardPass(t), t != LayerType::kSgd && t != LayerType::kAdam &&
                                      t != LayerType::kGradAccumulate && t != LayerType::kZeroGrad)
        << ToString(t);
    EXPECT_EQ(IsOptimizerStep(t), !HasBackwardPass(t));
  }
  // The old enum values keep their numbers (stored nowhere, but cheap to keep).
  EXPECT_EQ(static_cast<int>(LayerType::kLinear), 2);
}

TEST(LayerTypesTest, JsonUsesTorchNamesAndRoundTrips) {
  for (const LayerConfig& c : Examples()) {
    SCOPED_TRACE(std::string(ToString(c.type)));
    ASSERT_TRUE(IsValid(c));
    const json j = ToJson(c);
    ASSERT_EQ(j.size(), FieldNames(c.type).size()) << j.dump();
    EXPECT_EQ(LayerConfigFromJson(c.type, json::parse(j.dump())), c);
  }
  EXPECT_EQ(ToJson(Nchw(LayerType::kBatchNorm2d, 64, 64, 56, 56)),
            json::parse(R"({"batch_size":64,"num_features":64,"height":56,"width":56})"));
  EXPECT_EQ(ToJson(Nchw(LayerType::kReLU6, 2, 3, 4, 5)),
            json::parse(R"({"batch_size":2,"in_channels":3,"height":4,"width":5})"));
  EXPECT_EQ(
      ToJson(Adaptive(64, 512, 7, 1)),
      json::parse(R"({"batch_size":64,"in_channels":512,"height":7,"width":7,"output_size":1})"));
  EXPECT_EQ(
      ToJson(Dropout(64, 4096, 1, 50)),
      json::parse(R"({"batch_size":64,"in_channels":4096,"height":1,"width":1,"p_percent":50})"));
  EXPECT_EQ(ToJson(CrossEntropy(64, 10)), json::parse(R"({"batch_size":64,"num_classes":10})"));
  EXPECT_EQ(ToJson(ParameterStep(LayerType::kAdam, 11181642, 62)),
            json::parse(R"({"parameters":11181642,"parameter_tensors":62})"));
  // Keys of other types are rejected.
  EXPECT_THROW(
      LayerConfigFromJson(LayerType::kBatchNorm2d, json::parse(R"({"batch_size":1,"in_channels":2,
                                                   "height":3,"width":3})")),
      ConfigError);
  EXPECT_THROW(LayerConfigFromJson(LayerType::kSgd, json::parse(R"({"parameters":10})")),
               ConfigError);
}

TEST(LayerTypesTest, ValidateAppliesTorchRules) {
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Nchw(LayerType::kBatchNorm2d, 1, 8, 1, 1)); }),
            "batchnorm2d: batch_size * height * width must be > 1 in training mode, got 1 * 1 * 1");
  EXPECT_TRUE(IsValid(Nchw(LayerType::kBatchNorm2d, 2, 8, 1, 1)));
  EXPECT_TRUE(IsValid(Nchw(LayerType::kBatchNorm2d, 1, 8, 2, 1)));
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Nchw(LayerType::kReLU, 1, 0, 4, 4)); }),
            "relu: in_channels must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Nchw(LayerType::kBatchNorm2d, 2, 0, 4, 4)); }),
            "batchnorm2d: num_features must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Pool(LayerType::kAvgPool2d, 1, 1, 8, 3, 1, 2)); }),
            "avgpool2d: padding 2 must be <= kernel_size / 2 = 1 for avgpool2d");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Pool(LayerType::kAvgPool2d, 1, 1, 2, 5, 1, 1)); }),
            "avgpool2d: kernel_size 5 exceeds padded input height 2 + 2*1 = 4");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Adaptive(1, 1, 4, 0)); }),
            "adaptive_avgpool2d: output_size must be > 0, got 0");
  EXPECT_TRUE(IsValid(Adaptive(1, 1, 1, 6)));  // upsampling is allowed, as in torch
  EXPECT_TRUE(IsValid(Dropout(1, 1, 1, 0)));
  EXPECT_TRUE(IsValid(Dropout(1, 1, 1, 100)));
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Dropout(1, 1, 1, 101)); }),
            "dropout: p_percent must be <= 100, got 101");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Dropout(1, 1, 1, -1)); }),
            "dropout: p_percent must be >= 0, got -1");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(CrossEntropy(4, 0)); }),
            "cross_entropy: num_classes must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(ParameterStep(LayerType::kSgd, 3, 4)); }),
            "sgd: parameter_tensors 4 must be <= parameters 3");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(ParameterStep(LayerType::kAdam, 0, 1)); }),
            "adam: parameters must be > 0, got 0");
}

TEST(LayerTypesTest, ShapesMacsAndSizes) {
  const LayerConfig bn = Nchw(LayerType::kBatchNorm2d, 2, 3, 4, 5);
  EXPECT_EQ(OutputShape(bn), (Shape{2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(ForwardMacs(bn), 120.0);
  EXPECT_DOUBLE_EQ(Sizes(bn).input_elements, 120.0);
  EXPECT_DOUBLE_EQ(Sizes(bn).output_elements, 120.0);
  EXPECT_DOUBLE_EQ(Sizes(bn).weight_elements, 6.0);  // weight and bias; running stats are buffers

  const LayerConfig relu = Nchw(LayerType::kReLU, 64, 4096, 1, 1);  // after a Linear
  EXPECT_DOUBLE_EQ(ForwardMacs(relu), 64.0 * 4096);
  EXPECT_DOUBLE_EQ(Sizes(relu).weight_elements, 0.0);

  const LayerConfig add = Nchw(LayerType::kAdd, 2, 3, 4, 5);
  EXPECT_DOUBLE_EQ(Sizes(add).input_elements, 240.0);  // both operands
  EXPECT_DOUBLE_EQ(Sizes(add).output_elements, 120.0);
  const LayerConfig mul = Nchw(LayerType::kMul, 2, 3, 4, 5);
  EXPECT_DOUBLE_EQ(Sizes(mul).input_elements, 126.0);  // tensor and (N, C, 1, 1) scale
  EXPECT_DOUBLE_EQ(ForwardMacs(mul), 120.0);

  // ResNet-style 3x3/2 pooling on 112 px: 56 px out, 9 additions per output.
  const LayerConfig avg = Pool(LayerType::kAvgPool2d, 2, 64, 112, 3, 2, 1);
  EXPECT_EQ(OutputShape(avg), (Shape{2, 64, 56, 56}));
  EXPECT_DOUBLE_EQ(ForwardMacs(avg), 2.0 * 64 * 56 * 56 * 9);

  // Adaptive windows [floor(i*H/o), ceil((i+1)*H/o)): 7 -> 3 gives [0,3), [2,5), [4,7).
  EXPECT_EQ(OutputShape(Adaptive(2, 5, 7, 3)), (Shape{2, 5, 3, 3}));
  EXPECT_DOUBLE_EQ(ForwardMacs(Adaptive(2, 5, 7, 3)), 2.0 * 5 * 9 * 9);
  EXPECT_DOUBLE_EQ(ForwardMacs(Adaptive(2, 5, 7, 1)), 2.0 * 5 * 49);  // global: the input
  EXPECT_DOUBLE_EQ(ForwardMacs(Adaptive(2, 5, 14, 7)), 2.0 * 5 * 196);
  EXPECT_DOUBLE_EQ(ForwardMacs(Adaptive(2, 5, 1, 6)), 2.0 * 5 * 36);  // replication
  EXPECT_DOUBLE_EQ(Sizes(Adaptive(2, 5, 1, 6)).output_elements, 2.0 * 5 * 36);

  EXPECT_TRUE(OutputShape(CrossEntropy(64, 1000)).empty());
  EXPECT_DOUBLE_EQ(ForwardMacs(CrossEntropy(64, 1000)), 64000.0);
  EXPECT_DOUBLE_EQ(Sizes(CrossEntropy(64, 1000)).input_elements, 64000.0);
  EXPECT_DOUBLE_EQ(Sizes(CrossEntropy(64, 1000)).output_elements, 1.0);

  const LayerConfig sgd = ParameterStep(LayerType::kSgd, 1000000, 10);
  EXPECT_TRUE(OutputShape(sgd).empty());
  EXPECT_DOUBLE_EQ(ForwardMacs(sgd), 1e6);
  EXPECT_DOUBLE_EQ(Sizes(sgd).input_elements, 0.0);
  EXPECT_DOUBLE_EQ(Sizes(sgd).output_elements, 0.0);
  EXPECT_DOUBLE_EQ(Sizes(sgd).weight_elements, 1e6);
}

TEST(LayerTypesTest, MemoryEstimatesCountOptimizerStateMasksAndLogits) {
  // Parameters and grads (8 bytes) plus momentum (4) for SGD, exp_avg and exp_avg_sq (8) for Adam.
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(ParameterStep(LayerType::kSgd, 1000, 1)), 12000.0);
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(ParameterStep(LayerType::kAdam, 1000, 1)), 16000.0);
  // Dropout keeps a float mask: 4 * (2 + 2 + 1) bytes per element; ReLU only 4 * (2 + 2).
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(Dropout(10, 10, 1, 50)), 2000.0);
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(Nchw(LayerType::kReLU, 10, 10, 1, 1)), 1600.0);
  // cross_entropy: logits + grad (8), loss + grad (8), log-softmax (4), labels (8 per row).
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(CrossEntropy(10, 100)),
                   4.0 * (2 * 1000 + 2 * 1) + 4.0 * 1000 + 8.0 * 10);
  EXPECT_DOUBLE_EQ(Im2colWorkspaceElements(Nchw(LayerType::kAdd, 1, 1, 4, 4)), 0.0);
}

TEST(LayerTypesTest, ShippedBoundsCoverTheReferenceNets) {
  // Layer shapes of the five reference nets (configs/nets/) at batch 1 and 512.
  for (int64_t n : {1, 512}) {
    std::vector<LayerConfig> shapes = {
        Nchw(LayerType::kBatchNorm2d, n, 64, 112, 112),  // ResNet-18 bn1
        Nchw(LayerType::kBatchNorm2d, n, 576, 7, 7),     // MobileNetV3-Small last conv
        Nchw(LayerType::kReLU, n, 512, 7, 7),
        Nchw(LayerType::kReLU, n, 4096, 1, 1),  // AlexNet/VGG classifier
        Nchw(LayerType::kReLU, n, 6, 28, 28),   // LeNet-5 conv1
        Nchw(LayerType::kHardswish, n, 16, 112, 112),
        Nchw(LayerType::kHardswish, n, 1024, 1, 1),
        Nchw(LayerType::kHardsigmoid, n, 576, 1, 1),
        Nchw(LayerType::kAdd, n, 64, 56, 56),
        Nchw(LayerType::kMul, n, 96, 7, 7),
        Dropout(n, 4096, 1, 50),
        Dropout(n, 1024, 1, 20),
        Adaptive(n, 512, 7, 1),
        Adaptive(n, 256, 6, 6),
        Adaptive(n, 512, 7, 7),
        Adaptive(n, 256, 1, 6),  // alexnet_legacy
        CrossEntropy(n, 10),
        CrossEntropy(n, 1000)};
    for (const LayerConfig& c : shapes) {
      const LayerBounds b = LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(c.type));
      std::string reason;
      EXPECT_TRUE(WithinBounds(b, c, &reason)) << ToJson(c) << ": " << reason;
    }
  }
  for (LayerType t : {LayerType::kSgd, LayerType::kAdam}) {
    const LayerBounds b = LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(t));
    for (const LayerConfig& c : {ParameterStep(t, 61706, 10), ParameterStep(t, 57044810, 16),
                                 ParameterStep(t, 128807306, 22), ParameterStep(t, 11181642, 62),
                                 ParameterStep(t, 1528106, 142)}) {
      std::string reason;
      EXPECT_TRUE(WithinBounds(b, c, &reason)) << ToJson(c) << ": " << reason;
    }
  }
}

TEST(LayerTypesTest, SamplerStaysWithinShippedBoundsAndCaps) {
  for (LayerType type : kNewTypes) {
    const std::string path = test::SourceDir() + "/" + DefaultBoundsPath(type);
    SCOPED_TRACE(path);
    const LayerBounds b = LoadBounds(path);
    ASSERT_EQ(b.type, type);
    SamplingCaps caps;
    caps.max_forward_macs = b.max_forward_macs;
    caps.max_memory_bytes = 4 * kGiB;  // measure's default --max-memory
    const ConfigSampler sampler(b, 20240601, caps);
    std::set<std::string> distinct;
    double smallest = INFINITY, largest = 0;
    for (int64_t i = 0; i < 2000; ++i) {
      const SampledConfig s = sampler.Sample(i);
      std::string reason;
      ASSERT_EQ(s.config.type, type);
      ASSERT_TRUE(IsValid(s.config, &reason)) << reason << " " << ToJson(s.config);
      ASSERT_TRUE(WithinBounds(b, s.config, &reason)) << reason << " " << ToJson(s.config);
      ASSERT_LE(ForwardMacs(s.config), caps.max_forward_macs) << ToJson(s.config);
      ASSERT_LE(EstimateTrainingMemoryBytes(s.config), caps.max_memory_bytes);
      distinct.insert(ToJson(s.config).dump());
      smallest = std::min(smallest, s.forward_macs);
      largest = std::max(largest, s.forward_macs);
    }
    // The configs spread over several orders of magnitude, most distinct (cross_entropy's
    // two log-uniform parameters repeat small values most often).
    EXPECT_GT(distinct.size(), 1000u) << distinct.size();
    EXPECT_GT(largest / smallest, 1e4);
  }
}

// bmm's shipped bounds: attention's shapes (ViT-B/16's (12 N, 197, 64) x (12 N, 64, 197) at
// batch 8, Swin-T's windows (B x 64 x 3, 49, 32)) are inside, the MAC cap bites, and no
// operand exceeds 2.5e8 elements (1 GB): max_forward_macs / the smallest matrix dim, 8.
TEST(LayerTypesTest, BmmBoundsCoverAttentionAndKeepOperandsSmall) {
  const LayerBounds b = LoadBounds(test::SourceDir() + "/configs/bounds/bmm.json");
  EXPECT_EQ(BoundsParameterNames(LayerType::kBmm),
            (std::vector<std::string>{"batch_size", "rows", "inner_size", "columns"}));
  std::string reason;
  EXPECT_TRUE(WithinBounds(b, test::Bmm(96, 197, 64, 197), &reason)) << reason;
  EXPECT_TRUE(WithinBounds(b, test::Bmm(96, 197, 197, 64), &reason)) << reason;
  EXPECT_TRUE(WithinBounds(b, test::Bmm(8 * 64 * 3, 49, 32, 49), &reason)) << reason;
  EXPECT_LE(ForwardMacs(test::Bmm(96, 197, 64, 197)), b.max_forward_macs);
  SamplingCaps caps;
  caps.max_forward_macs = b.max_forward_macs;
  caps.max_memory_bytes = 4 * kGiB;
  const ConfigSampler sampler(b, 11, caps);
  int64_t over_cap = 0;
  double largest_operand = 0;
  std::set<int64_t> inner_sizes;
  for (int64_t i = 0; i < 2000; ++i) {
    const SampledConfig s = sampler.Sample(i);
    const LayerConfig& c = s.config;
    over_cap += s.rejected_over_mac_cap;
    ASSERT_EQ(OutputShape(c), (Shape{c.batch_size, c.rows, c.columns}));
    largest_operand = std::max({largest_operand, 1.0 * c.batch_size * c.rows * c.inner_size,
                                1.0 * c.batch_size * c.inner_size * c.columns,
                                1.0 * c.batch_size * c.rows * c.columns});
    inner_sizes.insert(c.inner_size);
  }
  EXPECT_GT(over_cap, 0);
  EXPECT_LE(largest_operand, 2.5e8);
  EXPECT_GT(inner_sizes.size(), 100u);
}

// embedding's shipped bounds: BERT-base's token embedding (30522 x 768) at batch 8 and 128
// tokens, and small vocabularies (positions, characters) are inside; the output cap bites; and
// one sample's tensors (weight and its gradient, output and its gradient, the int64 ids) stay
// below 0.5 GB, by the sampler's own estimate and by summing the tensors here.
TEST(LayerTypesTest, EmbeddingBoundsCoverLanguageModelsAndStayBelowHalfAGigabyte) {
  const LayerBounds b = LoadBounds(test::SourceDir() + "/configs/bounds/embedding.json");
  EXPECT_EQ(BoundsParameterNames(LayerType::kEmbedding),
            (std::vector<std::string>{"batch_size", "sequence_length", "num_embeddings",
                                      "embedding_dim"}));
  std::string reason;
  EXPECT_TRUE(WithinBounds(b, test::Embedding(8, 128, 30522, 768), &reason)) << reason;
  EXPECT_LE(ForwardMacs(test::Embedding(8, 128, 30522, 768)), b.max_forward_macs);
  EXPECT_TRUE(WithinBounds(b, test::Embedding(256, 8, 512, 16), &reason)) << reason;
  EXPECT_FALSE(WithinBounds(b, test::Embedding(8, 128, 60000, 768), &reason));
  EXPECT_EQ(reason, "num_embeddings 60000 outside [100, 50000]");
  SamplingCaps caps;
  caps.max_forward_macs = b.max_forward_macs;
  caps.max_memory_bytes = 4 * kGiB;
  const ConfigSampler sampler(b, 12, caps);
  int64_t over_cap = 0;
  double largest_bytes = 0;
  std::set<int64_t> vocabularies;
  for (int64_t i = 0; i < 2000; ++i) {
    const SampledConfig s = sampler.Sample(i);
    const LayerConfig& c = s.config;
    over_cap += s.rejected_over_mac_cap;
    ASSERT_EQ(OutputShape(c), (Shape{c.batch_size, c.sequence_length, c.embedding_dim}));
    const double output = 1.0 * c.batch_size * c.sequence_length * c.embedding_dim;
    const double weight = 1.0 * c.num_embeddings * c.embedding_dim;
    const double ids = 1.0 * c.batch_size * c.sequence_length;
    const double bytes = 4 * (2 * output + 2 * weight) + 8 * ids;
    EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(c), bytes) << ToJson(c);
    largest_bytes = std::max(largest_bytes, bytes);
    vocabularies.insert(c.num_embeddings);
  }
  EXPECT_GT(over_cap, 0);
  EXPECT_LT(largest_bytes, 0.5e9);
  EXPECT_GT(vocabularies.size(), 500u);
}

TEST(LayerTypesTest, ElementCapsBiteAndImpossibleDrawsAreRedrawn) {
  SamplingCaps caps;
  caps.max_memory_bytes = 4 * kGiB;
  for (LayerType type : {LayerType::kBatchNorm2d, LayerType::kReLU, LayerType::kDropout}) {
    const LayerBounds b = LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(type));
    caps.max_forward_macs = b.max_forward_macs;
    const ConfigSampler sampler(b, 7, caps);
    int64_t over_cap = 0, impossible = 0;
    for (int64_t i = 0; i < 2000; ++i) {
      const SampledConfig s = sampler.Sample(i);
      over_cap += s.rejected_over_mac_cap;
      impossible += s.rejected_impossible_geometry;
    }
    EXPECT_GT(over_cap, 0) << ToString(type);
    // batchnorm2d at batch 1 and 1x1 is impossible in training mode (0.13 * 0.11 of draws).
    if (type == LayerType::kBatchNorm2d) {
      EXPECT_GT(impossible, 0);
    }
  }
}

TEST(LayerTypesTest, ParseBoundsChecksTheNewParameters) {
  const json dropout = json::parse(R"({"layer": "dropout", "max_forward_macs": 1e8,
      "parameters": {"batch_size": {"min": 1, "max": 8}, "channels": {"min": 1, "max": 8},
                     "image_size": {"min": 1, "max": 8},
                     "p_percent": {"min": 0, "max": 101}}})");
  EXPECT_EQ(test::ConfigErrorOf([&] { ParseBounds(dropout, "d.json"); }),
            "d.json: parameters.p_percent.max must be <= 100, got 101");
  const json sgd = json::parse(R"({"layer": "sgd", "max_forward_macs": 1e8,
      "parameters": {"parameters": {"min": 1, "max": 8},
                     "parameter_tensors": {"min": 16, "max": 32}}})");
  EXPECT_EQ(test::ConfigErrorOf([&] { ParseBounds(sgd, "s.json"); }),
            "s.json: parameters.parameter_tensors.min 16 > parameters.max 8 (each tensor holds "
            "at least one element)");
  const json avg = json::parse(R"({"layer": "avgpool", "max_forward_macs": 1e8,
      "parameters": {"batch_size": {"min": 1, "max": 8}, "channels": {"min": 1, "max": 8},
                     "image_size": {"min": 4, "max": 8}, "kernel_size": {"min": 2, "max": 3},
                     "stride": {"min": 1, "max": 2}, "padding": {"min": 2, "max": 2}}})");
  EXPECT_EQ(test::ConfigErrorOf([&] { ParseBounds(avg, "a.json"); }),
            "a.json: parameters.padding.min 2 > kernel_size.max / 2 = 1 (avgpool2d needs padding "
            "<= kernel_size / 2)");
  // A parameter of another type.
  const json relu = json::parse(R"({"layer": "relu", "max_forward_macs": 1e8,
      "parameters": {"batch_size": {"min": 1, "max": 8}, "channels": {"min": 1, "max": 8},
                     "image_size": {"min": 1, "max": 8}, "kernel_size": {"min": 1, "max": 3}}})");
  EXPECT_NE(test::ConfigErrorOf([&] { ParseBounds(relu, "r.json"); }).find("kernel_size"),
            std::string::npos);
  // Missing parameter.
  const json ce = json::parse(R"({"layer": "cross_entropy", "max_forward_macs": 1e8,
      "parameters": {"batch_size": {"min": 1, "max": 8}}})");
  EXPECT_NE(test::ConfigErrorOf([&] { ParseBounds(ce, "c.json"); }).find("num_classes"),
            std::string::npos);
  // ApplyBoundsParameter maps "channels" to in_channels (num_features for batchnorm2d).
  LayerConfig c;
  c.type = LayerType::kBatchNorm2d;
  ApplyBoundsParameter(c, "channels", 32);
  EXPECT_EQ(ToJson(c)["num_features"], 32);
  c.type = LayerType::kAdam;
  ApplyBoundsParameter(c, "parameter_tensors", 7);
  EXPECT_EQ(c.parameter_tensors, 7);
}

}  // namespace
}  // namespace lj
