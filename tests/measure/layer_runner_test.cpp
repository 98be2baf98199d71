// Tests of LayerRunner: the layers LibTorch builds have the shapes core/layer_config.h promises,
// and the backward pass computes the gradients training needs (input, weight, bias).
#include "measure/layer_runner.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/layer_config.h"
#include "tests/support/layer_configs.h"

namespace lj {
namespace {

using Shape = std::vector<int64_t>;
using test::Linear;

LayerConfig Conv(int64_t n, int64_t c_in, int64_t c_out, int64_t hw, int64_t k, int64_t stride,
                 int64_t padding, int64_t groups, bool bias) {
  LayerConfig c = test::Conv(n, c_in, c_out, hw, k, stride, padding, groups, bias);
  c.width = hw + 3;  // non-square input catches height/width mix-ups
  return c;
}

LayerConfig Pool(int64_t n, int64_t c_in, int64_t hw, int64_t k, int64_t stride, int64_t padding) {
  LayerConfig c = test::Pool(LayerType::kMaxPool2d, n, c_in, hw, k, stride, padding);
  c.width = hw + 2;
  return c;
}

std::map<std::string, GradientInfo> ByName(const std::vector<GradientInfo>& grads) {
  std::map<std::string, GradientInfo> out;
  for (const GradientInfo& g : grads) out[g.name] = g;
  return out;
}

// Runs forward and backward and checks output shape and the expected gradients.
void ExpectRunsWithGradients(const LayerConfig& config,
                             const std::map<std::string, Shape>& expected_grads) {
  SCOPED_TRACE(ToJson(config).dump());
  LayerRunner runner(config);
  EXPECT_TRUE(runner.LastOutputShape().empty());
  runner.Forward();
  EXPECT_EQ(runner.LastOutputShape(), OutputShape(config));

  EXPECT_FALSE(runner.BackwardProducesInputGrad());
  runner.PrepareBackward();
  EXPECT_EQ(runner.LastOutputShape(), OutputShape(config));
  runner.Backward();
  EXPECT_TRUE(runner.BackwardProducesInputGrad());

  const std::vector<GradientInfo> grads = runner.LastGradients();
  ASSERT_EQ(grads.size(), expected_grads.size());
  EXPECT_EQ(grads.front().name, "input");
  const auto by_name = ByName(grads);
  for (const auto& [name, shape] : expected_grads) {
    ASSERT_EQ(by_name.count(name), 1u) << "missing gradient of " << name;
    EXPECT_EQ(by_name.at(name).shape, shape) << name;
    EXPECT_GT(by_name.at(name).abs_sum, 0.0) << name << " gradient is all zeros";
  }
}

TEST(LayerRunnerTest, Conv2dWithBiasAndPadding) {
  const LayerConfig c = Conv(2, 3, 8, 10, 3, 1, 1, 1, true);
  ExpectRunsWithGradients(c, {{"input", {2, 3, 10, 13}}, {"weight", {8, 3, 3, 3}}, {"bias", {8}}});
}

TEST(LayerRunnerTest, Conv2dStridedWithoutBias) {
  const LayerConfig c = Conv(3, 4, 5, 17, 5, 2, 0, 1, false);
  ExpectRunsWithGradients(c, {{"input", {3, 4, 17, 20}}, {"weight", {5, 4, 5, 5}}});
}

TEST(LayerRunnerTest, GroupedConv2d) {
  const LayerConfig c = Conv(2, 4, 6, 9, 3, 1, 1, 2, true);
  ExpectRunsWithGradients(c, {{"input", {2, 4, 9, 12}}, {"weight", {6, 2, 3, 3}}, {"bias", {6}}});
}

TEST(LayerRunnerTest, DepthwiseConv2d) {
  const LayerConfig c = Conv(2, 8, 8, 12, 3, 2, 1, 8, true);
  ExpectRunsWithGradients(c, {{"input", {2, 8, 12, 15}}, {"weight", {8, 1, 3, 3}}, {"bias", {8}}});
}

// Inception v3's 1x7 and 7x1 convs: the weight has the kernel's (height, width), and the
// output core's shape (a swapped kernel or padding would change both).
TEST(LayerRunnerTest, NonSquareConv2d) {
  LayerConfig wide = Conv(2, 3, 4, 9, 1, 1, 0, 1, true);
  wide.kernel_width = 7;
  wide.padding_width = 2;  // W 12 + 4 - 7 + 1 = 10
  ExpectRunsWithGradients(wide,
                          {{"input", {2, 3, 9, 12}}, {"weight", {4, 3, 1, 7}}, {"bias", {4}}});
  EXPECT_EQ(OutputShape(wide), (Shape{2, 4, 9, 10}));
  LayerConfig tall = Conv(2, 3, 4, 9, 7, 1, 3, 1, false);
  tall.kernel_width = 1;
  tall.padding_width = 0;
  ExpectRunsWithGradients(tall, {{"input", {2, 3, 9, 12}}, {"weight", {4, 3, 7, 1}}});
  EXPECT_EQ(OutputShape(tall), (Shape{2, 4, 9, 12}));
}

TEST(LayerRunnerTest, MaxPool2dHasInputGradientOnly) {
  ExpectRunsWithGradients(Pool(2, 3, 8, 2, 2, 0), {{"input", {2, 3, 8, 10}}});
  ExpectRunsWithGradients(Pool(1, 4, 13, 3, 2, 1), {{"input", {1, 4, 13, 15}}});
}

TEST(LayerRunnerTest, LinearWithAndWithoutBias) {
  ExpectRunsWithGradients(Linear(4, 16, 8, true),
                          {{"input", {4, 16}}, {"weight", {8, 16}}, {"bias", {8}}});
  ExpectRunsWithGradients(Linear(1, 7, 3, false), {{"input", {1, 7}}, {"weight", {3, 7}}});
}

// A network's first layer (input_grad false): the backward pass computes the weight and bias
// gradients only, and is cheaper than with the input gradient.
TEST(LayerRunnerTest, FirstLayerComputesNoInputGradient) {
  // Linear with batch == out_features: the weight gradient has the input's shape, which must
  // not be mistaken for an input gradient.
  for (LayerConfig c : {Conv(2, 3, 8, 10, 3, 1, 1, 1, true), Linear(8, 16, 8, true)}) {
    SCOPED_TRACE(ToJson(c).dump());
    c.input_grad = false;
    LayerRunner runner(c);
    runner.PrepareBackward();
    runner.Backward();
    EXPECT_FALSE(runner.BackwardProducesInputGrad());
    const auto grads = ByName(runner.LastGradients());
    EXPECT_EQ(grads.count("input"), 0u);
    ASSERT_EQ(grads.count("weight"), 1u);
    EXPECT_GT(grads.at("weight").abs_sum, 0.0);
    EXPECT_EQ(grads.count("bias"), 1u);
  }
}

TEST(LayerRunnerTest, RepeatedBackwardGivesFreshNotAccumulatedGradients) {
  LayerRunner runner(Linear(4, 32, 16, true));
  runner.PrepareBackward();
  runner.Backward();
  const auto first = ByName(runner.LastGradients());
  runner.Backward();  // would throw if the graph were not retained
  runner.Backward();
  const auto third = ByName(runner.LastGradients());
  for (const char* name : {"input", "weight", "bias"}) {
    // Accumulation (as into .grad) would triple the magnitude.
    EXPECT_DOUBLE_EQ(third.at(name).abs_sum, first.at(name).abs_sum) << name;
  }
}

TEST(LayerRunnerTest, SameSeedSameGradientsOtherSeedOtherGradients) {
  const LayerConfig c = Conv(1, 2, 3, 6, 3, 1, 0, 1, true);
  auto weight_grad = [&c](uint64_t seed) {
    LayerRunner runner(c, seed);
    runner.PrepareBackward();
    runner.Backward();
    return ByName(runner.LastGradients()).at("weight").abs_sum;
  };
  EXPECT_DOUBLE_EQ(weight_grad(7), weight_grad(7));
  EXPECT_NE(weight_grad(7), weight_grad(8));
}

TEST(LayerRunnerTest, BackwardBeforePrepareThrows) {
  LayerRunner runner(Pool(1, 1, 4, 2, 2, 0));
  runner.Forward();  // a plain forward keeps no graph
  EXPECT_THROW(runner.Backward(), std::logic_error);
}

TEST(LayerRunnerTest, InvalidConfigThrowsConfigError) {
  LayerConfig c = Conv(1, 3, 4, 8, 3, 1, 0, 2, true);  // groups 2 does not divide 3 channels
  EXPECT_THROW(LayerRunner{c}, ConfigError);
  c = Conv(1, 3, 4, 8, 0, 1, 0, 1, true);  // kernel_size 0
  EXPECT_THROW(LayerRunner{c}, ConfigError);
}

TEST(LayerRunnerTest, MovedRunnerStillRuns) {
  LayerRunner a(Linear(2, 3, 4, true));
  LayerRunner b(std::move(a));
  b.Forward();
  EXPECT_EQ(b.LastOutputShape(), (Shape{2, 4}));
  EXPECT_EQ(b.config().out_features, 4);
}

}  // namespace
}  // namespace lj
