#include "predict/blas_workspace.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/layer_instance.h"
#include "predict/training_memory.h"
#include "tests/support/layer_configs.h"

namespace lj {
namespace {

constexpr int64_t kPage = 4096;

LayerInstance Linear(std::string path, int64_t batch, int64_t in, int64_t out,
                     bool input_grad = true) {
  LayerConfig c = test::Linear(batch, in, out);
  c.input_grad = input_grad;
  LayerInstance l;
  l.path = std::move(path);
  l.layer_type = LayerType::kLinear;
  l.type = "linear";
  l.input_shape = {batch, in};
  l.output_shape = {batch, out};
  l.parameter_count = in * out + out;
  l.parameter_tensors = 2;
  l.config = c;
  return l;
}

// LeNet-5's classifier at batch 16: fc1 400 -> 120, fc2 120 -> 84, fc3 84 -> 10.
std::vector<LayerInstance> LeNetClassifier() {
  return {Linear("fc1", 16, 400, 120), Linear("fc2", 16, 120, 84), Linear("fc3", 16, 84, 10)};
}

TEST(BlasWorkspaceTest, EachLinearLayerIsThreeGemms) {
  const std::vector<GemmShape> g = LinearLayerGemms({Linear("fc", 16, 400, 120)});
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].m, 120);  // forward: m = out, n = batch, k = in
  EXPECT_EQ(g[0].n, 16);
  EXPECT_EQ(g[0].k, 400);
  EXPECT_EQ(g[1].m, 400);  // grad_input: m = in, n = batch, k = out
  EXPECT_EQ(g[1].n, 16);
  EXPECT_EQ(g[1].k, 120);
  EXPECT_EQ(g[2].m, 400);  // grad_weight: m = in, n = out, k = batch
  EXPECT_EQ(g[2].n, 120);
  EXPECT_EQ(g[2].k, 16);
  // A first layer computes no grad_input; other types contribute nothing.
  EXPECT_EQ(LinearLayerGemms({Linear("fc", 16, 400, 120, /*input_grad=*/false)}).size(), 2u);
  LayerInstance relu;
  relu.type = "relu";
  relu.layer_type = LayerType::kReLU;
  EXPECT_TRUE(LinearLayerGemms({relu}).empty());
}

TEST(BlasWorkspaceTest, OpenBlasThreadsAGemmOnlyAboveItsThreshold) {
  EXPECT_EQ(OpenBlasGemmThreads({64, 64, 64}, 2), 1);     // 262,144: not above
  EXPECT_EQ(OpenBlasGemmThreads({64, 64, 65}, 2), 1);     // 1.02 x the threshold: one thread
  EXPECT_EQ(OpenBlasGemmThreads({64, 64, 192}, 4), 3);    // 3 x the threshold
  EXPECT_EQ(OpenBlasGemmThreads({640, 640, 640}, 2), 2);  // capped by the threads allowed
  EXPECT_THROW(OpenBlasGemmThreads({1, 1, 1}, 0), std::invalid_argument);
}

// By hand (4 bytes per float, 4 KiB pages; block(x) = x up to 320, ceil(x / 2) up to 640):
// 2 threads: fc1's three GEMMs (m n k = 768,000) run on both. Per thread the largest A share is
// grad_input's 200 rows x 120 = 96,000 B -> 24 pages; the largest B share is the forward's
// block(400) = 200 x 8 columns = 6,400 B -> 2 pages. fc2 and fc3 (m n k <= 161,280) run on
// thread 0 only, and their shares are smaller (at most 10 and 2 pages). 2 x 26 pages.
// 1 thread: the forward's A share is 120 x 200 = 96,000 B (24 pages) as is grad_input's
// (block(400) = 200 rows x 120); B: the forward's 200 x 16 = 12,800 B -> 4 pages. 28 pages.
TEST(BlasWorkspaceTest, LeNetClassifierByHand) {
  const std::vector<GemmShape> gemms = LinearLayerGemms(LeNetClassifier());
  EXPECT_EQ(OpenBlasPackingBytes(gemms, 2), 2 * 26 * kPage);
  EXPECT_EQ(OpenBlasPackingBytes(gemms, 1), 28 * kPage);
  EXPECT_EQ(OpenBlasPackingBytes({}, 2), 0);
  EXPECT_THROW(OpenBlasPackingBytes(gemms, 0), std::invalid_argument);
}

// Above twice the cap a dimension is packed 320 at a time: a 4096 x 4096 layer at batch 64
// writes at most 320 x 320 floats of A (100 pages) per thread, whatever its size.
TEST(BlasWorkspaceTest, LargeGemmsAreCappedByTheBlocking) {
  const int64_t big = OpenBlasPackingBytes({{4096, 64, 4096}}, 1);
  const int64_t bigger = OpenBlasPackingBytes({{8192, 64, 8192}}, 1);
  EXPECT_EQ(big, bigger);
  EXPECT_EQ(big, (100 + 20) * kPage);  // A 320 x 320; B 320 x 64 = 81,920 B -> 20 pages
}

// B's share is packed in chunks that fit in the thread's 128 MiB buffer beside A's block: a
// grad_weight GEMM of a million output features does not count 640 MB per thread.
TEST(BlasWorkspaceTest, NoThreadCountsMoreThanItsBuffer) {
  EXPECT_EQ(OpenBlasPackingBytes({{4096, 1000000, 4096}}, 1), int64_t{128} << 20);
  EXPECT_EQ(OpenBlasPackingBytes({{4096, 1000000, 4096}}, 2), 2 * (int64_t{128} << 20));
}

TEST(BlasWorkspaceTest, TheTrainingPeakIncludesIt) {
  TrainingMemory m;
  m.tensor_peak_bytes = 1000;
  m.framework_bytes = 500;
  AddBlasWorkspace(m, LeNetClassifier(), 2);
  EXPECT_EQ(m.blas_workspace_bytes, 2 * 26 * kPage);
  EXPECT_EQ(m.peak_bytes, 1000 + 500 + 2 * 26 * kPage);
  AddFrameworkMemory(m, LeNetClassifier(), 700, std::nullopt);
  EXPECT_EQ(m.peak_bytes, 1000 + 700 + 2 * 26 * kPage);
}

}  // namespace
}  // namespace lj
