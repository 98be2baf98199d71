#include "core/cost_model.h"

#include <gtest/gtest.h>

namespace lj {
namespace {

// Conv2d(2 -> 4, k3, s1, p0) on 5x5, batch 1: H_out = W_out = 3.
// input 2*5*5 = 50, output 4*3*3 = 36, weights 4*2*3*3 + 4 = 76,
// im2col workspace 1 * 2 * 3*3 * 3*3 = 162 elements.
TEST(CostModelTest, ConvCountsTensorsGradientsAndIm2col) {
  LayerConfig c;
  c.type = LayerType::kConv2d;
  c.batch_size = 1;
  c.in_channels = 2;
  c.out_channels = 4;
  c.height = c.width = 5;
  c.kernel_size = 3;
  EXPECT_DOUBLE_EQ(Im2colWorkspaceElements(c), 162.0);
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(c), 4.0 * (2 * 50 + 2 * 36 + 2 * 76 + 162));

  // Batch scales input, output and workspace but not weights.
  c.batch_size = 3;
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(c), 4.0 * (2 * 150 + 2 * 108 + 2 * 76 + 3 * 162));

  // groups = 2: the workspace unfolds C_in / groups = 1 channel per group.
  c.batch_size = 1;
  c.groups = 2;
  EXPECT_DOUBLE_EQ(Im2colWorkspaceElements(c), 81.0);
}

// MaxPool2d(k2, s2) on 2x4x4: output 2*2*2 = 8 elements, plus int64 argmax indices.
TEST(CostModelTest, MaxPoolCountsArgmaxIndices) {
  LayerConfig c;
  c.type = LayerType::kMaxPool2d;
  c.batch_size = 1;
  c.in_channels = 2;
  c.height = c.width = 4;
  c.kernel_size = 2;
  c.stride = 2;
  EXPECT_DOUBLE_EQ(Im2colWorkspaceElements(c), 0.0);
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(c), 4.0 * (2 * 32 + 2 * 8) + 8.0 * 8);
}

// Linear(3 -> 4) with bias, batch 2: input 6, output 8, weights 12 + 4.
TEST(CostModelTest, LinearCountsWeightsAndBias) {
  LayerConfig c;
  c.type = LayerType::kLinear;
  c.batch_size = 2;
  c.in_features = 3;
  c.out_features = 4;
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(c), 4.0 * (2 * 6 + 2 * 8 + 2 * 16));
  c.bias = false;
  EXPECT_DOUBLE_EQ(EstimateTrainingMemoryBytes(c), 4.0 * (2 * 6 + 2 * 8 + 2 * 12));
}

}  // namespace
}  // namespace lj
