#include "predict/blas_workspace.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace lj {
namespace {

// OpenBLAS 0.3.21 param.h, x86-64 Haswell sgemm (the kernel measure selects on this project's
// hosts, JOURNAL.md 2026-12-03): GEMM_P rows of A by GEMM_Q of k per packed block.
constexpr int64_t kGemmP = 320;
constexpr int64_t kGemmQ = 320;
// interface/gemm.c: SMP_THRESHOLD_MIN x GEMM_MULTITHREAD_THRESHOLD.
constexpr double kThreadedMnk = 65536.0 * 4;
// common_x86_64.h BUFFER_SIZE: each thread's buffer, 128 MiB; B's share is packed in chunks of
// GEMM_R columns that fit in it with A's block.
constexpr int64_t kBufferBytes = int64_t{32} << 22;
constexpr int64_t kPageBytes = 4096;
constexpr int64_t kFloatBytes = 4;

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t Pages(int64_t floats) { return CeilDiv(floats * kFloatBytes, kPageBytes); }

// The block of a dimension of `extent` that OpenBLAS packs at once under a cap of `cap`
// (driver/level3/level3.c and level3_thread.c, min_i and min_l): all of it up to the cap, the
// cap from twice the cap, and half of it between (two even blocks rather than cap + a sliver).
int64_t Block(int64_t extent, int64_t cap) {
  if (extent <= cap) return extent;
  if (extent >= 2 * cap) return cap;
  return CeilDiv(extent, 2);
}

void RequireThreads(int threads) {
  if (threads < 1) {
    throw std::invalid_argument("BLAS threads must be >= 1, got " + std::to_string(threads));
  }
}

}  // namespace

std::vector<GemmShape> LinearLayerGemms(const std::vector<LayerInstance>& layers) {
  std::vector<GemmShape> gemms;
  for (const LayerInstance& layer : layers) {
    if (layer.layer_type != LayerType::kLinear || !layer.config) continue;
    const LayerConfig& c = *layer.config;
    const int64_t rows = c.batch_size, in = c.in_features, out = c.out_features;
    gemms.push_back({out, rows, in});
    if (c.input_grad) gemms.push_back({in, rows, out});
    gemms.push_back({in, out, rows});
  }
  return gemms;
}

int OpenBlasGemmThreads(const GemmShape& gemm, int threads) {
  RequireThreads(threads);
  const double mnk =
      static_cast<double>(gemm.m) * static_cast<double>(gemm.n) * static_cast<double>(gemm.k);
  if (mnk <= kThreadedMnk) return 1;
  return static_cast<int>(std::min<double>(threads, std::max(1.0, mnk / kThreadedMnk)));
}

int64_t OpenBlasPackingBytes(const std::vector<GemmShape>& gemms, int threads) {
  RequireThreads(threads);
  // Pages of the largest A and B shares per thread index (thread t writes its own buffer).
  std::vector<int64_t> a_pages(threads, 0), b_pages(threads, 0);
  for (const GemmShape& g : gemms) {
    if (g.m <= 0 || g.n <= 0 || g.k <= 0) continue;
    const int t = OpenBlasGemmThreads(g, threads);
    const int64_t k_block = Block(g.k, kGemmQ);
    const int64_t a = Pages(Block(CeilDiv(g.m, t), kGemmP) * k_block);
    const int64_t b = std::min(Pages(k_block * CeilDiv(g.n, t)), kBufferBytes / kPageBytes - a);
    for (int i = 0; i < t; ++i) {
      a_pages[i] = std::max(a_pages[i], a);
      b_pages[i] = std::max(b_pages[i], b);
    }
  }
  int64_t pages = 0;
  for (int i = 0; i < threads; ++i) pages += a_pages[i] + b_pages[i];
  return pages * kPageBytes;
}

}  // namespace lj
