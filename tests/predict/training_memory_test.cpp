#include "predict/training_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/layer_instance.h"
#include "net/training_run.h"

namespace lj {
namespace {

LayerInstance Layer(std::string path, std::optional<LayerType> type, std::vector<int64_t> in,
                    std::vector<int64_t> out, int64_t parameters = 0) {
  LayerInstance l;
  l.path = std::move(path);
  l.layer_type = type;
  l.type = type ? std::string(ToString(*type)) : "aten::mystery";
  l.input_shape = std::move(in);
  l.output_shape = std::move(out);
  l.parameter_count = parameters;
  l.parameter_tensors = parameters > 0 ? 2 : 0;
  return l;
}

// fc1 = linear(10 -> 20), relu, fc2 = linear(20 -> 5) at batch size 4: 325 parameters.
std::vector<LayerInstance> Mlp() {
  return {Layer("fc1", LayerType::kLinear, {4, 10}, {4, 20}, 10 * 20 + 20),
          Layer("relu", LayerType::kReLU, {4, 20}, {4, 20}),
          Layer("fc2", LayerType::kLinear, {4, 20}, {4, 5}, 20 * 5 + 5)};
}

TrainingRun MakeRun(std::string optimizer, double momentum, std::string zero_grad) {
  TrainingRun run;
  run.network = "mlp";
  run.input = {10, 1, 1};
  run.batch_size = 4;
  run.dataset_size = 40;
  run.epochs = 1;
  run.optimizer.type = std::move(optimizer);
  run.optimizer.momentum = momentum;
  run.optimizer.zero_grad = std::move(zero_grad);
  return run;
}

// The accounting of docs/memory_accounting.md by hand, in bytes (4 per float):
//   parameters 325 x 4 = 1300, gradients 1300, momentum 1300, batch 4 x (10 x 4 + 8) = 192;
//   saved: fc1 keeps its input (the batch: static), relu its output (320), fc2 its input (the
//   same tensor as relu's output: counted once) -> 320.
//   With zero_grad "none" the largest moment is fc1's backward: static 2792 + fc1's and fc2's
//   .grad 1300 + grad_output of fc1 320 (no grad_input to the batch) = 4412.
TEST(TrainingMemoryTest, AnMlpByHandWithGradsSetToNone) {
  const TrainingMemory m = PredictTrainingMemory(Mlp(), MakeRun("sgd", 0.9, "none"));
  EXPECT_EQ(m.parameter_bytes, 1300);
  EXPECT_EQ(m.gradient_bytes, 1300);
  EXPECT_EQ(m.optimizer_state_bytes, 1300);
  EXPECT_EQ(m.batch_bytes, 192);
  EXPECT_EQ(m.saved_bytes, 320);
  ASSERT_EQ(m.layers.size(), 3u);
  EXPECT_EQ(m.layers[0].saved_bytes, 0);
  EXPECT_EQ(m.layers[1].saved_bytes, 320);
  EXPECT_EQ(m.layers[2].saved_bytes, 0);
  EXPECT_EQ(m.layers[2].output_bytes, 80);
  EXPECT_EQ(m.layers[0].parameter_bytes, 880);
  EXPECT_EQ(m.peak_bytes, 2792 + 1300 + 320);
  EXPECT_EQ(m.peak_at, "backward of fc1");
}

// zero_grad "zero": every .grad lives through the whole step. The largest moment is relu's
// backward: static 2792 + all .grad 1300 + relu's kept output 320 + grad_output and grad_input
// 320 + 320 = 5052.
TEST(TrainingMemoryTest, ZeroFilledGradsLiveThroughTheWholeStep) {
  const TrainingMemory m = PredictTrainingMemory(Mlp(), MakeRun("sgd", 0.9, "zero"));
  EXPECT_EQ(m.peak_bytes, 2792 + 1300 + 3 * 320);
  EXPECT_EQ(m.peak_at, "backward of relu");
  EXPECT_GT(m.peak_bytes, PredictTrainingMemory(Mlp(), MakeRun("sgd", 0.9, "none")).peak_bytes);
}

TEST(TrainingMemoryTest, OptimizerStateFollowsTheOptimizer) {
  EXPECT_EQ(PredictTrainingMemory(Mlp(), MakeRun("sgd", 0.0, "none")).optimizer_state_bytes, 0);
  EXPECT_EQ(PredictTrainingMemory(Mlp(), MakeRun("sgd", 0.9, "none")).optimizer_state_bytes, 1300);
  const TrainingMemory adam = PredictTrainingMemory(Mlp(), MakeRun("adam", 0.0, "none"));
  EXPECT_EQ(adam.optimizer_state_bytes, 2600);
  // Without momentum the peak is 1300 lower. With Adam it moves to the optimizer step: static
  // 192 + 1300 + 2600, all .grad 1300, and one temporary of the largest parameter tensor (fc1's
  // 880 bytes over its 2 tensors, taken as 440).
  EXPECT_EQ(PredictTrainingMemory(Mlp(), MakeRun("sgd", 0.0, "none")).peak_bytes, 4412 - 1300);
  EXPECT_EQ(adam.peak_bytes, 192 + 1300 + 2600 + 1300 + 440);
  EXPECT_EQ(adam.peak_at, "optimizer step");
}

// conv2d -> maxpool2d -> conv2d on (2, 3, 8, 8): maxpool2d keeps its input (conv1's output,
// which nothing else keeps) and int64 indices of its output's size; conv2 keeps its own input,
// since maxpool2d keeps its input, not its output. relu -> conv2d share one tensor.
TEST(TrainingMemoryTest, KeptTensorsPerTypeAndSharedOnesOnce) {
  const std::vector<LayerInstance> layers{
      Layer("conv1", LayerType::kConv2d, {2, 3, 8, 8}, {2, 4, 8, 8}, 4 * 3 * 9 + 4),
      Layer("pool", LayerType::kMaxPool2d, {2, 4, 8, 8}, {2, 4, 4, 4}),
      Layer("conv2", LayerType::kConv2d, {2, 4, 4, 4}, {2, 4, 4, 4}, 4 * 4 * 9 + 4),
      Layer("relu", LayerType::kReLU, {2, 4, 4, 4}, {2, 4, 4, 4}),
      Layer("conv3", LayerType::kConv2d, {2, 4, 4, 4}, {2, 4, 4, 4}, 4 * 4 * 9 + 4)};
  TrainingRun run = MakeRun("sgd", 0.9, "none");
  run.input = {3, 8, 8};
  run.batch_size = 2;
  const TrainingMemory m = PredictTrainingMemory(layers, run, /*conv_channel_block=*/16);
  ASSERT_EQ(m.layers.size(), 5u);
  EXPECT_EQ(m.layers[0].saved_bytes, 0);                                // the batch
  EXPECT_EQ(m.layers[1].saved_bytes, 2 * 4 * 64 * 4 + 2 * 4 * 16 * 8);  // input + indices
  EXPECT_EQ(m.layers[2].saved_bytes, 2 * 4 * 16 * 4);                   // its input
  EXPECT_EQ(m.layers[3].saved_bytes, 2 * 4 * 16 * 4);                   // its output ...
  EXPECT_EQ(m.layers[4].saved_bytes, 0);  // ... which is conv3's input
  EXPECT_EQ(m.batch_bytes, 2 * (3 * 64 * 4 + 8));
  // The peak is conv1's backward: static 4816 (parameters and momentum 2 x 1632, batch 1552)
  // + every .grad 1632 + its grad_output 2048 (no grad_input: the batch) + oneDNN's copy of
  // grad_output, 4 channels padded to 16: 2 x 16 x 64 x 4 (with 3 input channels it reads its
  // input plain). Without the copy it would be 8496, at another layer.
  EXPECT_EQ(m.peak_bytes, 4816 + 1632 + 2048 + 8192);
  EXPECT_EQ(m.peak_at, "backward of conv1");
  // On an AVX2 host oneDNN pads to 8 channels: conv1's backward is 4816 + 1632 + 2048 + 2 x 8 x
  // 64 x 4 = 12592, and conv2's is higher: static 4816 + .grad of conv3 and conv2 1184 + what
  // pool and conv2 keep 3584 + grad_output and grad_input 2 x 512 + their copies 2 x 1024.
  const TrainingMemory avx2 = PredictTrainingMemory(layers, run, /*conv_channel_block=*/8);
  EXPECT_EQ(avx2.peak_bytes, 4816 + 1184 + 3584 + 2 * 512 + 2 * 1024);
  EXPECT_EQ(avx2.peak_at, "backward of conv2");
  EXPECT_THROW(PredictTrainingMemory(layers, run, 0), std::invalid_argument);
}

TEST(TrainingMemoryTest, TheChannelBlockFollowsTheVectorIsa) {
  EXPECT_EQ(OneDnnChannelBlock(VectorIsa::kAvx512), 16);
  EXPECT_EQ(OneDnnChannelBlock(VectorIsa::kAvx2), 8);
  EXPECT_EQ(OneDnnChannelBlock(VectorIsa::kSse), 8);
}

// oneDNN's blocked copies: channels padded to the block (16 or 8), so a conv2d of 16 -> 32
// channels copies its tensors at their own size on both. The forward holds the larger copy,
// the backward both.
TEST(TrainingMemoryTest, ConvCopiesPadChannelsToTheBlock) {
  const std::vector<LayerInstance> layers{
      Layer("relu", LayerType::kReLU, {1, 16, 4, 4}, {1, 16, 4, 4}),
      Layer("conv", LayerType::kConv2d, {1, 16, 4, 4}, {1, 32, 4, 4}, 32 * 16 + 32)};
  TrainingRun run = MakeRun("sgd", 0, "none");
  run.input = {16, 4, 4};
  run.batch_size = 1;
  const int64_t in = 16 * 16 * 4, out = 32 * 16 * 4, params = (32 * 16 + 32) * 4;
  const int64_t fixed = params + in + 8;  // parameters, batch (no momentum)
  for (int64_t block : {8, 16}) {
    const TrainingMemory m = PredictTrainingMemory(layers, run, block);
    // backward of conv: fixed + its .grad + relu's kept output (= conv's input) + grad_output +
    // grad_input + both copies (dense: 16 and 32 channels need no padding).
    EXPECT_EQ(m.peak_bytes, fixed + params + in + out + in + (in + out)) << block;
    EXPECT_EQ(m.peak_at, "backward of conv");
  }
}

// The host's measured framework memory comes on top of the tensors' peak: the base once, and
// the per-conv2d part once per distinct conv2d config (two identical convs share their oneDNN
// primitives); layers that are not conv2d add nothing.
TEST(TrainingMemoryTest, FrameworkMemoryAddsTheBaseAndOneSharePerDistinctConv) {
  const auto conv = [](std::string path, int64_t in_channels, int64_t out_channels) {
    LayerInstance l = Layer(std::move(path), LayerType::kConv2d, {2, in_channels, 8, 8},
                            {2, out_channels, 8, 8}, out_channels * in_channels * 9 + out_channels);
    LayerConfig c;
    c.type = LayerType::kConv2d;
    c.batch_size = 2;
    c.in_channels = in_channels;
    c.out_channels = out_channels;
    c.height = 8;
    c.width = 8;
    c.kernel_size = 3;
    c.padding = 1;
    l.config = c;
    return l;
  };
  const std::vector<LayerInstance> layers{
      conv("a", 4, 4), Layer("relu", LayerType::kReLU, {2, 4, 8, 8}, {2, 4, 8, 8}), conv("b", 4, 4),
      conv("c", 4, 8)};
  TrainingRun run = MakeRun("sgd", 0, "none");
  run.input = {4, 8, 8};
  run.batch_size = 2;
  TrainingMemory m = PredictTrainingMemory(layers, run, 8);
  const int64_t tensors = m.peak_bytes;
  EXPECT_EQ(m.tensor_peak_bytes, tensors);
  EXPECT_FALSE(m.framework_bytes);
  AddFrameworkMemory(m, layers, 1000000, 150000);
  EXPECT_EQ(m.distinct_conv2d, 2);  // a and b are the same config
  ASSERT_TRUE(m.framework_bytes);
  EXPECT_EQ(*m.framework_bytes, 1000000 + 2 * 150000);
  EXPECT_EQ(m.peak_bytes, tensors + 1300000);
  EXPECT_EQ(m.tensor_peak_bytes, tensors);
  AddFrameworkMemory(m, layers, 1000000, std::nullopt);  // no conv2d probe: the base only
  EXPECT_EQ(m.peak_bytes, tensors + 1000000);
  EXPECT_THROW(AddFrameworkMemory(m, layers, -1, 0), std::invalid_argument);
  EXPECT_THROW(AddFrameworkMemory(m, layers, 0, -5), std::invalid_argument);
}

// flatten -> linear (the MLP the net.json error message asks for): the linear reads the batch
// through a view, so it keeps nothing of its own and computes no grad_input.
TEST(TrainingMemoryTest, AViewBeforeTheFirstLayerStillReadsTheBatch) {
  LayerInstance flatten = Layer("flatten", std::nullopt, {2, 4, 2, 2}, {2, 16});
  flatten.type = "flatten";
  flatten.no_cost = true;
  const std::vector<LayerInstance> layers{
      flatten, Layer("fc", LayerType::kLinear, {2, 16}, {2, 8}, 16 * 8 + 8)};
  TrainingRun run = MakeRun("sgd", 0.9, "none");
  run.input = {4, 2, 2};
  run.batch_size = 2;
  const TrainingMemory m = PredictTrainingMemory(layers, run);
  EXPECT_EQ(m.batch_bytes, 2 * (16 * 4 + 8));
  EXPECT_EQ(m.saved_bytes, 0);
  // static 544 + 544 + 144, fc's .grad 544, its grad_output 64.
  EXPECT_EQ(m.peak_bytes, 1232 + 544 + 64);
  EXPECT_EQ(m.peak_at, "backward of fc");
}

// batchnorm2d keeps its input and 2 x C statistics, sigmoid its output, hardswish its input,
// mul its input and the (N, C, 1, 1) scale.
TEST(TrainingMemoryTest, WhatTheOtherTypesKeep) {
  const std::vector<LayerInstance> layers{
      Layer("conv", LayerType::kConv2d, {2, 3, 4, 4}, {2, 8, 4, 4}, 8 * 3 * 9 + 8),
      Layer("bn", LayerType::kBatchNorm2d, {2, 8, 4, 4}, {2, 8, 4, 4}, 16),
      Layer("hs", LayerType::kHardswish, {2, 8, 4, 4}, {2, 8, 4, 4}),
      Layer("sig", LayerType::kSigmoid, {2, 8, 4, 4}, {2, 8, 4, 4}),
      Layer("mul", LayerType::kMul, {2, 8, 4, 4}, {2, 8, 4, 4})};
  TrainingRun run = MakeRun("sgd", 0.9, "none");
  run.input = {3, 4, 4};
  run.batch_size = 2;
  const TrainingMemory m = PredictTrainingMemory(layers, run);
  const int64_t t = 2 * 8 * 16 * 4;  // one (2, 8, 4, 4) float tensor
  EXPECT_EQ(m.layers[1].saved_bytes, t + 2 * 8 * 4);
  EXPECT_EQ(m.layers[2].saved_bytes, t);
  EXPECT_EQ(m.layers[3].saved_bytes, t);
  EXPECT_EQ(m.layers[4].saved_bytes, 2 * 8 * 4);  // its input is sig's output: counted there
}

// Token ids: 8 bytes each in the batch and where an embedding keeps them, and an embedding's
// backward computes no grad_input. An op of no known type on the ids (4, 16) first, then
// tok = embedding(50 x 8) at batch 4 (400 parameters), SGD with momentum, zero_grad "none":
//   parameters 1600, momentum 1600, batch 4 x (16 x 8 + 8) = 544: static 3744 (the .grad of
//   1600 exists from tok's backward on); tok keeps its input, the ids: 64 x 8 = 512 (the op
//   before it keeps nothing). End of forward: 3744 + kept 512 + the logits (tok's output, 2048)
//   and their log-softmax 2048 + 4 = 8356. tok's backward: 3744 + .grad 1600 + kept 512 +
//   grad_output 2048 = 7904; a grad_input of the ids' size would make it 8416, the peak.
TEST(TrainingMemoryTest, TokenIdsAreInt64AndAnEmbeddingHasNoGradInput) {
  InputSpec ids;
  ids.sequence_length = 16;
  TrainingRun run = MakeRun("sgd", 0.9, "none");
  run.input = ids;
  run.batch_size = 4;
  const std::vector<LayerInstance> layers{
      Layer("offset", std::nullopt, {4, 16}, {4, 16}),
      Layer("tok", LayerType::kEmbedding, {4, 16}, {4, 16, 8}, 50 * 8)};
  const TrainingMemory m = PredictTrainingMemory(layers, run);
  EXPECT_EQ(m.batch_bytes, 4 * (16 * 8 + 8));
  EXPECT_EQ(m.layers[0].saved_bytes, 0);
  EXPECT_EQ(m.layers[1].saved_bytes, 4 * 16 * 8);
  EXPECT_EQ(m.tensor_peak_bytes, 3744 + 512 + 2048 + 2048 + 4);
  EXPECT_EQ(m.peak_at, "end of forward");
}

// A view passes the tensor on (relu -> flatten -> linear shares relu's output); a layer of no
// known type keeps nothing (a lower bound), and dropout keeps its float noise.
TEST(TrainingMemoryTest, ViewsPassTensorsOnAndUnknownLayersKeepNothing) {
  LayerInstance flatten = Layer("flatten", std::nullopt, {2, 4, 2, 2}, {2, 16});
  flatten.type = "flatten";
  flatten.no_cost = true;
  const std::vector<LayerInstance> layers{
      Layer("relu", LayerType::kReLU, {2, 4, 2, 2}, {2, 4, 2, 2}), flatten,
      Layer("fc", LayerType::kLinear, {2, 16}, {2, 16}, 16 * 16 + 16),
      Layer("mystery", std::nullopt, {2, 16}, {2, 16}),
      Layer("drop", LayerType::kDropout, {2, 16}, {2, 16})};
  TrainingRun run = MakeRun("sgd", 0.9, "none");
  run.input = {4, 2, 2};
  run.batch_size = 2;
  const TrainingMemory m = PredictTrainingMemory(layers, run);
  EXPECT_EQ(m.layers[0].saved_bytes, 2 * 16 * 4);
  EXPECT_EQ(m.layers[1].saved_bytes, 0);
  EXPECT_EQ(m.layers[2].saved_bytes, 0);
  EXPECT_EQ(m.layers[3].saved_bytes, 0);
  EXPECT_EQ(m.layers[4].saved_bytes, 2 * 16 * 4);
  EXPECT_EQ(m.saved_bytes, 2 * 2 * 16 * 4);
}

TEST(TrainingMemoryTest, FormatsBytesInBinaryUnits) {
  EXPECT_EQ(FormatBytes(812), "812 B");
  EXPECT_EQ(FormatBytes(4096), "4.0 KiB");
  EXPECT_EQ(FormatBytes(int64_t{12897485}), "12.3 MiB");
  EXPECT_EQ(FormatBytes(int64_t{1610612736}), "1.50 GiB");
}

}  // namespace
}  // namespace lj
