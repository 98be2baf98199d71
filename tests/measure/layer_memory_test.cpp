// Per-layer tensor memory (issue 13): TensorMemoryScope counts c10 allocations exactly, and
// what LayerRunner::MeasureMemory finds a layer's forward keeps for backward equals what
// predict's accounting (predict/training_memory.h, docs/memory_accounting.md) says, for
// random configs of every layer type's shipped bounds file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/bounds.h"
#include "core/config_sampler.h"
#include "core/layer_config.h"
#include "measure/layer_runner.h"
#include "measure/tensor_memory.h"
#include "net/layer_instance.h"
#include "predict/training_memory.h"
#include "tests/support/layer_configs.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

TEST(TensorMemoryScopeTest, CountsTensorsAllocatedInsideTheScopeUntilFreed) {
  torch::Tensor before = torch::empty({1000});  // 4000 bytes, not counted
  TensorMemoryScope scope;
  EXPECT_EQ(scope.live_bytes(), 0);
  torch::Tensor a = torch::empty({1024});
  torch::Tensor b = torch::empty({256}, torch::kInt64);
  EXPECT_EQ(scope.live_bytes(), 1024 * 4 + 256 * 8);
  a = torch::Tensor();
  EXPECT_EQ(scope.live_bytes(), 256 * 8);
  EXPECT_EQ(scope.peak_bytes(), 1024 * 4 + 256 * 8);
  before = torch::Tensor();  // freeing an uncounted tensor changes nothing
  EXPECT_EQ(scope.live_bytes(), 256 * 8);
  scope.ResetPeak();
  EXPECT_EQ(scope.peak_bytes(), 256 * 8);
}

TEST(TensorMemoryScopeTest, AnEarlierScopesTensorsDoNotCountInALaterOne) {
  torch::Tensor kept;
  {
    TensorMemoryScope first;
    kept = torch::empty({4096});
    EXPECT_EQ(first.live_bytes(), 4096 * 4);
  }
  TensorMemoryScope second;
  kept = torch::Tensor();  // allocated in the first scope: not subtracted here
  torch::Tensor c = torch::empty({10});
  EXPECT_EQ(second.live_bytes(), 40);
}

TEST(TensorMemoryScopeTest, SeesOneDnnBuffersOfAConv) {
  // A 1 -> 6 channel conv2d: oneDNN computes into a copy of the output blocked by 16 channels
  // on AVX-512, by 8 below, so the forward's peak exceeds its output by that copy
  // (docs/memory_accounting.md).
  LayerRunner runner(test::Conv(16, 1, 6, 32, 5, 1, 0), 3);
  runner.Forward();  // oneDNN primitives created
  const MeasuredLayerMemory m = runner.MeasureMemory();
  const int64_t output = 16 * 6 * 28 * 28 * 4;
  const int64_t block = OneDnnChannelBlock(CpuVectorIsa());
  EXPECT_GE(m.forward_peak_bytes, output + output / 6 * block) << "block " << block;
  ASSERT_TRUE(m.saved_bytes.has_value());
  EXPECT_EQ(*m.saved_bytes, 0);  // conv2d keeps its input and weight, which existed before
  ASSERT_TRUE(m.backward_peak_bytes.has_value());
  // At least grad_input (16 x 1 x 32 x 32) and the weight and bias gradients.
  EXPECT_GE(*m.backward_peak_bytes, 16 * 32 * 32 * 4 + (6 * 25 + 6) * 4);
}

// The layer's main input shape: (N, C, H, W); linear (N, in_features); cross_entropy
// (N, num_classes); embedding (N, sequence_length).
std::vector<int64_t> InputShape(const LayerConfig& c) {
  if (c.type == LayerType::kLinear) return {c.batch_size, c.in_features};
  if (c.type == LayerType::kCrossEntropy) return {c.batch_size, c.num_classes};
  if (c.type == LayerType::kEmbedding) return {c.batch_size, c.sequence_length};  // the ids
  return {c.batch_size, c.in_channels, c.height, c.width};
}

TEST(LayerMemoryTest, SavedForBackwardMatchesTheAccountingForEveryType) {
  int types = 0;
  for (LayerType type : AllLayerTypes()) {
    if (!HasBackwardPass(type) || type == LayerType::kGradAccumulate ||
        type == LayerType::kZeroGrad) {
      continue;
    }
    const LayerBounds bounds = LoadBounds(test::SourceDir() + "/" + DefaultBoundsPath(type));
    SamplingCaps caps;
    caps.max_forward_macs = bounds.max_forward_macs;
    caps.max_memory_bytes = 64.0 * 1024 * 1024;
    const ConfigSampler sampler(bounds, 11, caps);
    for (int64_t i = 0; i < 3; ++i) {
      const LayerConfig config = sampler.Sample(i).config;
      SCOPED_TRACE(ToJson(config).dump());
      LayerRunner runner(config, 5);
      runner.Forward();
      const MeasuredLayerMemory measured = runner.MeasureMemory();
      LayerInstance layer;
      SetLayerType(layer, ToString(type));
      layer.config = config;
      layer.input_shape = InputShape(config);
      layer.output_shape = OutputShape(config);
      ASSERT_TRUE(measured.saved_bytes.has_value());
      EXPECT_EQ(*measured.saved_bytes, SavedBeyondOperandsBytes(layer));
      if (type == LayerType::kSelect) {  // a view of its input: its forward allocates nothing
        EXPECT_EQ(measured.forward_peak_bytes, 0);
      } else {
        EXPECT_GT(measured.forward_peak_bytes, 0);
      }
    }
    ++types;
  }
  EXPECT_GE(types, 15);
}

TEST(LayerMemoryTest, AnOptimizerStepHasOnlyAForwardPeak) {
  LayerRunner runner(test::ParameterStep(LayerType::kAdam, 4096, 2), 1);
  runner.Forward();
  const MeasuredLayerMemory m = runner.MeasureMemory();
  EXPECT_FALSE(m.saved_bytes.has_value());
  EXPECT_FALSE(m.backward_peak_bytes.has_value());
}

}  // namespace
}  // namespace lj
