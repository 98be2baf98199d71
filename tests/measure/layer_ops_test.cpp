// Tests of LayerRunner and MeasureLayer for the layer types beyond conv2d, maxpool2d and linear:
// each forward and backward really runs its operation (shapes, which gradients exist and what
// they look like), training-mode side effects happen (batch norm running statistics, optimizer
// parameter updates), and the optimizer steps have exactly one (forward) pass.
#include "measure/layer_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/layer_config.h"
#include "measure/layer_runner.h"
#include "measure/pass_measurement.h"
#include "net/activations.h"
#include "tests/support/layer_configs.h"

namespace lj {
namespace {

using Shape = std::vector<int64_t>;
using test::Nchw;
using test::ParameterStep;

std::map<std::string, GradientInfo> Backward(LayerRunner& runner) {
  runner.PrepareBackward();
  runner.Backward();
  std::map<std::string, GradientInfo> out;
  for (const GradientInfo& g : runner.LastGradients()) out[g.name] = g;
  return out;
}

std::map<std::string, StateInfo> StateOf(const LayerRunner& runner) {
  std::map<std::string, StateInfo> out;
  for (const StateInfo& s : runner.State()) out[s.name] = s;
  return out;
}

// Forward gives OutputShape; backward gives exactly `names` gradients, each computed (> 0).
void ExpectRuns(const LayerConfig& config, const std::vector<std::string>& names) {
  SCOPED_TRACE(ToJson(config).dump() + " " + std::string(ToString(config.type)));
  LayerRunner runner(config, 7);
  runner.Forward();
  EXPECT_EQ(runner.LastOutputShape(), OutputShape(config));
  const auto grads = Backward(runner);
  ASSERT_EQ(grads.size(), names.size());
  for (const std::string& name : names) {
    ASSERT_EQ(grads.count(name), 1u) << name;
    EXPECT_GT(grads.at(name).abs_sum, 0) << name;
    EXPECT_TRUE(std::isfinite(grads.at(name).abs_sum)) << name;
  }
  EXPECT_TRUE(runner.BackwardProducesInputGrad());
  EXPECT_EQ(grads.at("input").shape,
            (Shape{config.batch_size, config.in_channels, config.height, config.width}));
}

TEST(LayerOpsTest, ActivationsProduceInputGradients) {
  int activations = 0;
  for (LayerType type : AllLayerTypes()) {
    if (Describe(type).role != LayerRole::kActivation) continue;
    ++activations;
    ExpectRuns(Nchw(type, 2, 3, 5, 7), {"input"});
  }
  EXPECT_GE(activations, 7);
  // On randn input, ReLU and ReLU6 pass the gradient only where 0 < x (< 6): about half;
  // sigmoid's gradient is nowhere zero.
  const auto zero_fraction = [](LayerType type) {
    LayerRunner runner(Nchw(type, 4, 16, 16, 16), 3);
    return Backward(runner).at("input").zero_fraction;
  };
  EXPECT_NEAR(zero_fraction(LayerType::kReLU), 0.5, 0.05);
  EXPECT_NEAR(zero_fraction(LayerType::kReLU6), 0.5, 0.05);
  EXPECT_EQ(zero_fraction(LayerType::kSigmoid), 0.0);
  // Hardsigmoid is flat only outside [-3, 3]: 0.27 % of a standard normal.
  EXPECT_LT(zero_fraction(LayerType::kHardsigmoid), 0.02);
  // SiLU's and GELU's gradients vanish only at single points (x = -1.28 and -0.75), never on
  // a range: unlike ReLU, almost every input gradient is non-zero.
  EXPECT_LT(zero_fraction(LayerType::kSiLU), 0.01);
  EXPECT_LT(zero_fraction(LayerType::kGELU), 0.01);
}

// softmax normalises over the last dim (width), where its config puts the dim it reduces
// (net/layer_instance.h ElementwiseConfig): every row of W values sums to 1, and the other dims
// do not.
TEST(LayerOpsTest, SoftmaxNormalisesTheLastDim) {
  const ActivationOp* softmax = FindActivation(LayerType::kSoftmax);
  ASSERT_NE(softmax, nullptr);
  const torch::Tensor y = softmax->forward(torch::randn({2, 3, 5, 7}));
  EXPECT_TRUE(torch::allclose(y.sum(-1), torch::ones({2, 3, 5}), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(y.sum(1), torch::ones({2, 5, 7}), 1e-2, 1e-2));
}

// layer_norm's config (N, D, H, W) runs nn.LayerNorm(D) on a contiguous (N, H, W, D) tensor: every
// row of D values has mean 0 and variance 1 (weight 1, bias 0 at initialisation), the channels
// of an NCHW reading do not, and the backward pass gives the input, weight and bias gradients.
TEST(LayerOpsTest, LayerNormNormalisesTheLastDimWithAffineGradients) {
  const LayerConfig config = Nchw(LayerType::kLayerNorm, 2, 6, 3, 4);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kLayerNorm);
  ASSERT_NE(make, nullptr);
  const torch::Tensor y = make(config)->Run().detach();
  EXPECT_EQ(y.sizes().vec(), (Shape{2, 3, 4, 6}));
  EXPECT_TRUE(torch::allclose(y.mean(-1), torch::zeros({2, 3, 4}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(y.var(-1, /*unbiased=*/false), torch::ones({2, 3, 4}), 1e-3, 1e-3));
  EXPECT_FALSE(torch::allclose(y.mean(1), torch::zeros({2, 4, 6}), 1e-2, 1e-2));

  LayerRunner runner(config, 7);
  runner.Forward();
  const auto grads = Backward(runner);
  ASSERT_EQ(grads.size(), 3u);
  for (const char* name : {"input", "weight", "bias"}) {
    ASSERT_EQ(grads.count(name), 1u) << name;
    EXPECT_GT(grads.at(name).abs_sum, 0) << name;
  }
  EXPECT_EQ(grads.at("input").shape, (Shape{2, 3, 4, 6}));
  EXPECT_EQ(grads.at("weight").shape, (Shape{6}));
  // Two affine vectors of the normalized size: the element-wise family's weights per channel.
  EXPECT_DOUBLE_EQ(Sizes(config).weight_elements, 12.0);
}

// contiguous's config (N, C, H, W) copies a (N, H, C, W) leaf transposed to (N, C, H, W) order:
// the output is contiguous and holds the transposed values, and the input gradient is the
// output gradient transposed back (a copy: contiguous like the leaf).
TEST(LayerOpsTest, ContiguousCopiesATransposedTensor) {
  const LayerConfig config = Nchw(LayerType::kContiguous, 2, 3, 4, 5);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kContiguous);
  ASSERT_NE(make, nullptr);
  std::unique_ptr<LayerOp> op = make(config);
  const torch::Tensor y = op->Run();
  EXPECT_EQ(y.sizes().vec(), (Shape{2, 3, 4, 5}));
  EXPECT_TRUE(y.is_contiguous());
  const torch::Tensor source = op->input.detach().view({2, 4, 3, 5});
  EXPECT_TRUE(torch::equal(y.detach(), source.transpose(1, 2)));
  EXPECT_FALSE(torch::equal(y.detach(), op->input.detach()));
  const torch::Tensor g = torch::randn_like(y);
  const torch::Tensor dx = torch::autograd::grad({y}, {op->input}, {g})[0];
  EXPECT_EQ(dx.sizes().vec(), (Shape{2, 3, 4, 5}));
  EXPECT_TRUE(torch::equal(dx.view({2, 4, 3, 5}), g.transpose(1, 2)));
  ExpectRuns(config, {"input"});
  EXPECT_DOUBLE_EQ(ForwardMacs(config), 2.0 * 3 * 4 * 5);
}

// With height 1 the transpose is the identity, and .contiguous() would copy nothing; the
// config stands for a plain copy (TorchScript's roll and constant pad), which both passes make.
TEST(LayerOpsTest, ContiguousOfHeightOneStillCopiesInBothPasses) {
  for (const LayerConfig& config :
       {Nchw(LayerType::kContiguous, 2, 16, 1, 3), Nchw(LayerType::kContiguous, 2, 1, 4, 5)}) {
    std::unique_ptr<LayerOp> op = FindLayerOpFactory(LayerType::kContiguous)(config);
    const torch::Tensor y = op->Run();
    EXPECT_EQ(y.sizes(), op->input.sizes());
    EXPECT_NE(y.data_ptr(), op->input.data_ptr());
    EXPECT_TRUE(torch::equal(y.detach().flatten(), torch::roll(op->input.detach().flatten(), 1)));
    const torch::Tensor g = torch::randn_like(y);
    const torch::Tensor dx = torch::autograd::grad({y}, {op->input}, {g})[0];
    EXPECT_NE(dx.data_ptr(), g.data_ptr());
    EXPECT_TRUE(torch::equal(dx.flatten(), torch::roll(g.flatten(), -1)));
  }
}

// select's config (N, C, H, W) picks channel 0: the output is the (N, H, W) view of it, and the
// input gradient is zero everywhere but that channel, which holds the output gradient.
TEST(LayerOpsTest, SelectViewsTheFirstChannelAndScattersItsGradient) {
  const LayerConfig config = Nchw(LayerType::kSelect, 2, 3, 1, 5);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kSelect);
  ASSERT_NE(make, nullptr);
  std::unique_ptr<LayerOp> op = make(config);
  const torch::Tensor y = op->Run();
  EXPECT_EQ(y.sizes().vec(), (Shape{2, 1, 5}));
  EXPECT_EQ(OutputShape(config), (Shape{2, 1, 5}));
  EXPECT_TRUE(torch::equal(y.detach(), op->input.detach().select(1, 0)));
  const torch::Tensor g = torch::randn_like(y);
  const torch::Tensor dx = torch::autograd::grad({y}, {op->input}, {g})[0];
  EXPECT_EQ(dx.sizes().vec(), (Shape{2, 3, 1, 5}));
  EXPECT_TRUE(torch::equal(dx.select(1, 0), g));
  EXPECT_EQ(dx.slice(1, 1).abs().sum().item<float>(), 0.0f);
  ExpectRuns(config, {"input"});
  // Its cost scales with the input's elements (the zero-filled gradient).
  EXPECT_DOUBLE_EQ(ForwardMacs(config), 2.0 * 3 * 1 * 5);
  EXPECT_DOUBLE_EQ(Sizes(config).output_elements, 2.0 * 1 * 5);
}

// mean's config (N, C, H, W) reduces C: the output is x.mean(1), (N, H, W), and the input
// gradient is the output gradient / C in every channel.
TEST(LayerOpsTest, MeanReducesTheChannelsAndSpreadsItsGradient) {
  const LayerConfig config = Nchw(LayerType::kMean, 2, 4, 1, 3);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kMean);
  ASSERT_NE(make, nullptr);
  std::unique_ptr<LayerOp> op = make(config);
  const torch::Tensor y = op->Run();
  EXPECT_EQ(y.sizes().vec(), (Shape{2, 1, 3}));
  EXPECT_EQ(OutputShape(config), (Shape{2, 1, 3}));
  EXPECT_TRUE(torch::allclose(y.detach(), op->input.detach().mean(1)));
  const torch::Tensor g = torch::randn_like(y);
  const torch::Tensor dx = torch::autograd::grad({y}, {op->input}, {g})[0];
  EXPECT_EQ(dx.sizes().vec(), (Shape{2, 4, 1, 3}));
  for (int64_t c = 0; c < 4; ++c) EXPECT_TRUE(torch::allclose(dx.select(1, c), g / 4));
  ExpectRuns(config, {"input"});
  EXPECT_DOUBLE_EQ(ForwardMacs(config), 2.0 * 4 * 1 * 3);
}

// norm's config (N, C, H, W) reduces C to its L2 norm: the output is x.norm(2, 1), (N, H, W),
// and the input gradient is x * grad / norm (norm_backward), not mean's grad / C.
TEST(LayerOpsTest, NormTakesTheL2NormOfTheChannels) {
  const LayerConfig config = Nchw(LayerType::kNorm, 2, 4, 1, 3);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kNorm);
  ASSERT_NE(make, nullptr);
  std::unique_ptr<LayerOp> op = make(config);
  const torch::Tensor y = op->Run();
  EXPECT_EQ(y.sizes().vec(), (Shape{2, 1, 3}));
  EXPECT_EQ(OutputShape(config), (Shape{2, 1, 3}));
  const torch::Tensor x = op->input.detach();
  const torch::Tensor norm = x.pow(2).sum(1).sqrt();
  EXPECT_TRUE(torch::allclose(y.detach(), norm));
  const torch::Tensor g = torch::randn_like(y);
  const torch::Tensor dx = torch::autograd::grad({y}, {op->input}, {g})[0];
  EXPECT_EQ(dx.sizes().vec(), (Shape{2, 4, 1, 3}));
  EXPECT_TRUE(torch::allclose(dx, x * (g / norm).unsqueeze(1), 1e-5, 1e-6));
  ExpectRuns(config, {"input"});
  EXPECT_DOUBLE_EQ(ForwardMacs(config), 2.0 * 4 * 1 * 3);
}

// div's config (N, C, H, W) divides x by a scale (N, C, 1, 1) kept away from 0: the scale's
// gradient is -grad * x / scale^2 summed over (H, W), the input's grad / scale.
TEST(LayerOpsTest, DivDividesByAPerRowScaleAndGivesItsGradient) {
  const LayerConfig config = Nchw(LayerType::kDiv, 2, 3, 1, 4);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kDiv);
  ASSERT_NE(make, nullptr);
  std::unique_ptr<LayerOp> op = make(config);
  ASSERT_EQ(op->grad_targets.size(), 2u);
  EXPECT_EQ(op->grad_names, (std::vector<std::string>{"input", "scale"}));
  const torch::Tensor x = op->grad_targets[0].detach();
  const torch::Tensor s = op->grad_targets[1].detach();
  EXPECT_EQ(s.sizes().vec(), (Shape{2, 3, 1, 1}));
  EXPECT_GE(s.min().item<float>(), 0.5f);
  const torch::Tensor y = op->Run();
  EXPECT_TRUE(torch::allclose(y.detach(), x / s));
  const torch::Tensor g = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, op->grad_targets, {g});
  EXPECT_TRUE(torch::allclose(grads[0], g / s, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(grads[1], (-g * x / (s * s)).sum({2, 3}, true), 1e-4, 1e-5));
  ExpectRuns(config, {"input", "scale"});
  // Its sizes count the scale's N x C elements as a second input, as mul's.
  EXPECT_DOUBLE_EQ(Sizes(config).input_elements, 2.0 * 3 * 4 + 2 * 3);
}

// bmm: the output is the batched product, and the backward pass computes the gradients of both
// operands, grad x mat2^T for the input and input^T x grad for mat2, each of its operand's shape.
TEST(LayerOpsTest, BmmMultipliesBatchesAndGivesBothOperandsGradients) {
  const LayerConfig config = test::Bmm(3, 4, 5, 6);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kBmm);
  ASSERT_NE(make, nullptr);
  std::unique_ptr<LayerOp> op = make(config);
  ASSERT_EQ(op->grad_targets.size(), 2u);
  EXPECT_EQ(op->grad_names, (std::vector<std::string>{"input", "mat2"}));
  const torch::Tensor a = op->grad_targets[0];
  const torch::Tensor b = op->grad_targets[1];
  EXPECT_EQ(a.sizes().vec(), (Shape{3, 4, 5}));
  EXPECT_EQ(b.sizes().vec(), (Shape{3, 5, 6}));
  const torch::Tensor y = op->Run();
  EXPECT_EQ(y.sizes().vec(), (Shape{3, 4, 6}));
  // Two kernels (bmm, matmul) round differently: a tolerance, as for the gradients below (the
  // default atol of 1e-8 failed once in a parallel ctest run on 2026-12-07).
  EXPECT_TRUE(torch::allclose(y.detach()[1], a.detach()[1].matmul(b.detach()[1]), 1e-5, 1e-5));
  const torch::Tensor g = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, {a, b}, {g});
  EXPECT_TRUE(torch::allclose(grads[0], g.bmm(b.detach().transpose(1, 2)), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(grads[1], a.detach().transpose(1, 2).bmm(g), 1e-5, 1e-5));

  LayerRunner runner(config, 7);
  runner.Forward();
  EXPECT_EQ(runner.LastOutputShape(), OutputShape(config));
  const auto named = Backward(runner);
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named.at("input").shape, (Shape{3, 4, 5}));
  EXPECT_EQ(named.at("mat2").shape, (Shape{3, 5, 6}));
  for (const auto& [name, info] : named) {
    EXPECT_GT(info.abs_sum, 0) << name;
    EXPECT_TRUE(std::isfinite(info.abs_sum)) << name;
  }
  EXPECT_TRUE(runner.BackwardProducesInputGrad());
  EXPECT_DOUBLE_EQ(ForwardMacs(config), 3.0 * 4 * 5 * 6);
}

// embedding: the input is int64 ids in [0, num_embeddings), drawn from the seeded generator (the
// same seed, the same ids), with no gradient; the output gathers the weight's rows; the backward
// pass gives only the weight's gradient, the output gradient's rows scatter-added per id.
TEST(LayerOpsTest, EmbeddingGathersRowsAndGivesOnlyTheWeightAGradient) {
  const LayerConfig config = test::Embedding(3, 7, 11, 5);
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kEmbedding);
  ASSERT_NE(make, nullptr);
  torch::manual_seed(3);
  std::unique_ptr<LayerOp> op = make(config);
  EXPECT_EQ(op->grad_names, (std::vector<std::string>{"weight"}));
  ASSERT_EQ(op->grad_targets.size(), 1u);
  const torch::Tensor ids = op->input;
  const torch::Tensor weight = op->grad_targets[0];
  EXPECT_EQ(ids.scalar_type(), torch::kLong);
  EXPECT_FALSE(ids.requires_grad());
  EXPECT_EQ(ids.sizes().vec(), (Shape{3, 7}));
  EXPECT_GE(ids.min().item<int64_t>(), 0);
  EXPECT_LT(ids.max().item<int64_t>(), 11);
  EXPECT_LT(ids.min().item<int64_t>(), ids.max().item<int64_t>());  // drawn, not constant
  EXPECT_TRUE(weight.requires_grad());
  EXPECT_EQ(weight.sizes().vec(), (Shape{11, 5}));
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(make(config)->input, ids));  // a fixed seed gives the same ids

  const torch::Tensor y = op->Run();
  ASSERT_EQ(y.sizes().vec(), OutputShape(config));
  EXPECT_TRUE(torch::equal(y.detach()[1][4], weight.detach()[ids[1][4].item<int64_t>()]));
  const torch::Tensor g = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, {weight}, {g});
  const torch::Tensor expected =
      torch::zeros({11, 5}).index_add_(0, ids.reshape(-1), g.reshape({-1, 5}));
  EXPECT_TRUE(torch::allclose(grads[0], expected, 1e-5, 1e-5));

  LayerRunner runner(config, 7);
  runner.Forward();
  EXPECT_EQ(runner.LastOutputShape(), (Shape{3, 7, 5}));
  const auto named = Backward(runner);
  ASSERT_EQ(named.size(), 1u);
  ASSERT_EQ(named.count("weight"), 1u);
  EXPECT_EQ(named.at("weight").shape, (Shape{11, 5}));
  EXPECT_GT(named.at("weight").abs_sum, 0);
  EXPECT_TRUE(std::isfinite(named.at("weight").abs_sum));
  EXPECT_FALSE(runner.BackwardProducesInputGrad());
  EXPECT_DOUBLE_EQ(ForwardMacs(config), 3.0 * 7 * 5);
}

TEST(LayerOpsTest, BatchNormUpdatesRunningStatisticsAndHasAffineGradients) {
  const LayerConfig config = Nchw(LayerType::kBatchNorm2d, 4, 6, 5, 5);
  ExpectRuns(config, {"input", "weight", "bias"});
  LayerRunner runner(config, 1);
  auto before = StateOf(runner);
  ASSERT_EQ(before.count("running_mean"), 1u);
  EXPECT_EQ(before.at("running_mean").shape, (Shape{6}));
  EXPECT_DOUBLE_EQ(before.at("running_mean").sum, 0.0);  // initialised to zeros
  EXPECT_DOUBLE_EQ(before.at("running_var").sum, 6.0);   // and ones
  runner.Forward();
  runner.Forward();
  const auto after = StateOf(runner);
  // Training mode: each forward moves the running statistics by momentum 0.1 towards the
  // batch statistics and counts the batch.
  EXPECT_NE(after.at("running_mean").sum, 0.0);
  EXPECT_NE(after.at("running_var").sum, 6.0);
  EXPECT_DOUBLE_EQ(after.at("num_batches_tracked").sum, 2.0);
  const auto grads = Backward(runner);
  EXPECT_EQ(grads.at("weight").shape, (Shape{6}));
  EXPECT_EQ(grads.at("bias").shape, (Shape{6}));
}

TEST(LayerOpsTest, BatchNormRejectsASingleValuePerChannel) {
  EXPECT_THROW(LayerRunner(Nchw(LayerType::kBatchNorm2d, 1, 8, 1, 1)), ConfigError);
  ExpectRuns(Nchw(LayerType::kBatchNorm2d, 2, 8, 1, 1), {"input", "weight", "bias"});
}

TEST(LayerOpsTest, AddGivesBothOperandsTheOutputGradient) {
  const LayerConfig config = Nchw(LayerType::kAdd, 2, 4, 6, 6);
  ExpectRuns(config, {"input", "other"});
  LayerRunner runner(config, 2);
  const auto grads = Backward(runner);
  EXPECT_EQ(grads.at("other").shape, grads.at("input").shape);
  // d(a + b)/da = d(a + b)/db = grad_output.
  EXPECT_DOUBLE_EQ(grads.at("input").abs_sum, grads.at("other").abs_sum);
}

// x + b with b (C, H, W) broadcast over N: x's gradient is the output gradient, b's its sum
// over N (what a position embedding or relative-position bias costs in the backward pass).
TEST(LayerOpsTest, BiasAddBroadcastsItsBiasAndSumsItsGradientOverTheBatch) {
  const LayerConfig config = Nchw(LayerType::kBiasAdd, 3, 2, 5, 7);
  ExpectRuns(config, {"input", "bias"});
  const LayerOpFactory make = FindLayerOpFactory(LayerType::kBiasAdd);
  ASSERT_NE(make, nullptr);
  const std::unique_ptr<LayerOp> op = make(config);
  ASSERT_EQ(op->grad_targets.size(), 2u);
  EXPECT_EQ(op->grad_targets[1].sizes().vec(), (Shape{2, 5, 7}));
  const torch::Tensor y = op->Run();
  EXPECT_TRUE(torch::allclose(y[1] - op->grad_targets[0][1], op->grad_targets[1]));
  const torch::Tensor g = torch::randn_like(y);
  const auto grads = torch::autograd::grad({y}, op->grad_targets, {g});
  EXPECT_TRUE(torch::allclose(grads[0], g));
  EXPECT_TRUE(torch::allclose(grads[1], g.sum(0), 1e-5, 1e-5));
}

TEST(LayerOpsTest, TanhSavesNoZeroGradients) {
  // tanh'(x) = 1 - tanh(x)^2 is nowhere zero on randn input, unlike ReLU's.
  LayerRunner runner(Nchw(LayerType::kTanh, 4, 16, 8, 8), 3);
  EXPECT_EQ(Backward(runner).at("input").zero_fraction, 0.0);
  const ActivationOp* tanh = FindActivation(LayerType::kTanh);
  ASSERT_NE(tanh, nullptr);
  const torch::Tensor x = torch::randn({2, 3, 4, 5});
  EXPECT_TRUE(torch::allclose(tanh->forward(x), torch::tanh(x)));
}

TEST(LayerOpsTest, MulBroadcastsAChannelScaleAndReducesItsGradient) {
  const LayerConfig config = Nchw(LayerType::kMul, 3, 5, 7, 7);
  ExpectRuns(config, {"input", "scale"});
  LayerRunner runner(config, 2);
  const auto grads = Backward(runner);
  EXPECT_EQ(grads.at("scale").shape, (Shape{3, 5, 1, 1}));
}

TEST(LayerOpsTest, DropoutMasksAboutPOfTheGradient) {
  for (int64_t p : {20, 50, 80}) {
    LayerConfig config = Nchw(LayerType::kDropout, 8, 64, 8, 8);
    config.p_percent = p;
    SCOPED_TRACE(p);
    ExpectRuns(config, {"input"});
    LayerRunner runner(config, 5);
    // 32768 elements: the share of dropped elements is within 0.02 of p with high probability.
    EXPECT_NEAR(Backward(runner).at("input").zero_fraction, p / 100.0, 0.02);
  }
  LayerConfig none = Nchw(LayerType::kDropout, 4, 16, 4, 4);
  none.p_percent = 0;
  LayerRunner runner(none, 5);
  EXPECT_EQ(Backward(runner).at("input").zero_fraction, 0.0);
}

TEST(LayerOpsTest, PoolsHaveTheirOutputShapes) {
  LayerConfig avg = Nchw(LayerType::kAvgPool2d, 2, 3, 11, 9);
  avg.kernel_size = 3;
  avg.stride = 2;
  avg.padding = 1;
  ExpectRuns(avg, {"input"});
  EXPECT_EQ(OutputShape(avg), (Shape{2, 3, 6, 5}));
  // ceil_mode: LibTorch's output shape is core's (ExpectRuns), for both pools, on sides where the
  // modes differ (10 with k3 s2) and where ATen drops the last window (3 with k2 s2 p1).
  for (LayerType type : {LayerType::kMaxPool2d, LayerType::kAvgPool2d}) {
    LayerConfig ceil = Nchw(type, 2, 3, 10, 3);
    ceil.kernel_size = 3;
    ceil.stride = 2;
    ceil.ceil_mode = true;
    ExpectRuns(ceil, {"input"});
    EXPECT_EQ(OutputShape(ceil), (Shape{2, 3, 5, 1}));
    ceil.kernel_size = 2;
    ceil.padding = 1;
    ExpectRuns(ceil, {"input"});
    EXPECT_EQ(OutputShape(ceil), (Shape{2, 3, 6, 2}));
  }

  LayerConfig adaptive = Nchw(LayerType::kAdaptiveAvgPool2d, 2, 3, 7, 7);
  adaptive.output_size = 1;  // global average pooling (ATen: a mean)
  ExpectRuns(adaptive, {"input"});
  adaptive.output_size = 3;  // overlapping windows
  ExpectRuns(adaptive, {"input"});
  adaptive.height = adaptive.width = 1;
  adaptive.output_size = 6;  // upsampling, as alexnet_legacy's 1x1 -> 6x6
  ExpectRuns(adaptive, {"input"});
}

// cat: 7 channels over 3 inputs as 3 + 2 + 2; each input's gradient is its slice of the output
// gradient.
TEST(LayerOpsTest, CatGivesEveryInputItsSliceOfTheGradient) {
  LayerConfig config = Nchw(LayerType::kCat, 2, 7, 3, 5);
  config.inputs = 3;
  LayerRunner runner(config, 7);
  runner.Forward();
  EXPECT_EQ(runner.LastOutputShape(), OutputShape(config));
  EXPECT_EQ(OutputShape(config), (Shape{2, 7, 3, 5}));
  const auto grads = Backward(runner);
  ASSERT_EQ(grads.size(), 3u);
  EXPECT_EQ(grads.at("input").shape, (Shape{2, 3, 3, 5}));
  EXPECT_EQ(grads.at("input1").shape, (Shape{2, 2, 3, 5}));
  EXPECT_EQ(grads.at("input2").shape, (Shape{2, 2, 3, 5}));
  for (const auto& [name, g] : grads) EXPECT_GT(g.abs_sum, 0) << name;
  // More inputs than channels cannot be built.
  config.inputs = 8;
  EXPECT_THROW(Validate(config), ConfigError);
}

TEST(LayerOpsTest, CrossEntropyGivesTheLossAndTheLogitGradient) {
  LayerConfig config;
  config.type = LayerType::kCrossEntropy;
  config.batch_size = 16;
  config.num_classes = 10;
  LayerRunner runner(config, 4);
  runner.Forward();
  EXPECT_TRUE(runner.LastOutputShape().empty());  // a 0-dim loss
  const auto grads = Backward(runner);
  ASSERT_EQ(grads.size(), 1u);
  EXPECT_EQ(grads.at("input").shape, (Shape{16, 10}));
  // Row i of the gradient of the mean loss is (softmax_i - onehot_i) / N, whose absolute
  // values sum to 2 (1 - p_label) / N: in all 2 * mean(1 - p_label), strictly in (0, 2).
  EXPECT_GT(grads.at("input").abs_sum, 0.0);
  EXPECT_LT(grads.at("input").abs_sum, 2.0);
  EXPECT_TRUE(runner.BackwardProducesInputGrad());
}

TEST(LayerOpsTest, OptimizerStepsChangeTheParametersAndHaveNoBackward) {
  for (LayerType type : {LayerType::kSgd, LayerType::kAdam}) {
    SCOPED_TRACE(std::string(ToString(type)));
    LayerRunner runner(ParameterStep(type, 1003, 4), 9);
    const auto before = StateOf(runner);
    ASSERT_EQ(before.count("parameters"), 1u);
    EXPECT_EQ(before.at("parameters").shape, (Shape{1003}));
    EXPECT_EQ(before.at("parameters").tensors, 4);
    runner.Forward();
    const double after_one = StateOf(runner).at("parameters").sum;
    EXPECT_NE(after_one, before.at("parameters").sum);
    runner.Forward();
    EXPECT_NE(StateOf(runner).at("parameters").sum, after_one);
    EXPECT_TRUE(runner.LastOutputShape().empty());
    EXPECT_THROW(runner.PrepareBackward(), std::logic_error);
    EXPECT_THROW(runner.Backward(), std::logic_error);
  }
  // One tensor per element at the smallest split.
  LayerRunner one_each(ParameterStep(LayerType::kSgd, 5, 5), 1);
  EXPECT_EQ(StateOf(one_each).at("parameters").tensors, 5);
  EXPECT_THROW(LayerRunner(ParameterStep(LayerType::kAdam, 3, 4)), ConfigError);
}

// grad_accumulate adds the incoming gradients into .grad (the parameters do not move);
// zero_grad fills every .grad with zeros.
TEST(LayerOpsTest, GradAccumulateAddsIntoGradAndZeroGradClearsIt) {
  LayerRunner acc(ParameterStep(LayerType::kGradAccumulate, 1003, 4), 9);
  const auto before = StateOf(acc);
  ASSERT_EQ(before.count("grads"), 1u);
  acc.Forward();
  const double after_one = StateOf(acc).at("grads").sum;
  acc.Forward();
  const double after_two = StateOf(acc).at("grads").sum;
  // Each execution adds the same incoming gradients: the sum moves by the same step twice.
  EXPECT_NE(after_one, before.at("grads").sum);
  EXPECT_NEAR(after_two - after_one, after_one - before.at("grads").sum, 1e-6 * 1003);
  EXPECT_DOUBLE_EQ(StateOf(acc).at("parameters").sum, before.at("parameters").sum);
  EXPECT_THROW(acc.PrepareBackward(), std::logic_error);

  LayerRunner zero(ParameterStep(LayerType::kZeroGrad, 1003, 4), 9);
  EXPECT_NE(StateOf(zero).at("grads").sum, 0.0);
  zero.Forward();
  EXPECT_EQ(StateOf(zero).at("grads").sum, 0.0);
  EXPECT_EQ(StateOf(zero).at("parameters").tensors, 4);
  zero.Forward();  // again: still valid, still zero
  EXPECT_EQ(StateOf(zero).at("grads").sum, 0.0);
  MeasureOptions quick;
  quick.min_time_s = 0.002;
  quick.trials = 2;
  quick.warmup_runs = 1;
  const auto rows = MeasureLayer(ParameterStep(LayerType::kZeroGrad, 10000, 3), quick, nullptr);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].pass, Pass::kForward);
}

TEST(LayerOpsTest, SgdAndAdamUpdateDifferently) {
  // Same parameters and grads (same seed): one SGD step moves them by lr * grad = 0.01 * g,
  // one Adam step by about lr * sign(g) = 1e-3 per element.
  LayerRunner sgd(ParameterStep(LayerType::kSgd, 4000, 2), 11);
  LayerRunner adam(ParameterStep(LayerType::kAdam, 4000, 2), 11);
  const double start = StateOf(sgd).at("parameters").sum;
  ASSERT_DOUBLE_EQ(StateOf(adam).at("parameters").sum, start);
  sgd.Forward();
  adam.Forward();
  EXPECT_NE(StateOf(sgd).at("parameters").sum, StateOf(adam).at("parameters").sum);
}

TEST(LayerOpsTest, MeasureLayerStoresOnlyTheRowsThatExist) {
  MeasureOptions options;
  options.min_time_s = 0.002;
  options.trials = 2;
  options.warmup_runs = 1;
  const auto relu = MeasureLayer(Nchw(LayerType::kReLU, 2, 4, 8, 8), options, nullptr);
  ASSERT_EQ(relu.size(), 2u);
  EXPECT_EQ(relu[0].pass, Pass::kForward);
  EXPECT_EQ(relu[1].pass, Pass::kBackward);
  for (LayerType type : {LayerType::kSgd, LayerType::kAdam}) {
    const auto step = MeasureLayer(ParameterStep(type, 10000, 3), options, nullptr);
    ASSERT_EQ(step.size(), 1u) << ToString(type);
    EXPECT_EQ(step[0].pass, Pass::kForward);
    EXPECT_GT(step[0].time_s, 0);
    EXPECT_GE(step[0].repetitions, 1);
    EXPECT_FALSE(step[0].energy_j.has_value());
  }
}

}  // namespace
}  // namespace lj
