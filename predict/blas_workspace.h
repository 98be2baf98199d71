#pragma once
// OpenBLAS's packing buffers: memory of a training step that is no tensor (issue 13 item 2,
// "the largest transient workspace"). No LibTorch.
//
// What it is. ATen runs linear layers (addmm, mm) through BLAS sgemm. OpenBLAS packs the
// operands of C[m x n] = A[m x k] B[k x n] (column-major) into a per-thread buffer that it maps
// once per thread (128 MiB reserved) and keeps: each thread packs its share of A's rows into
// the buffer's start (at most GEMM_P x GEMM_Q floats) and its share of B's columns into a
// second region at a fixed offset (GEMM_Q floats per column). A page once written stays
// resident, so from the first GEMM on the process holds, per thread, the pages of the largest A
// share plus those of the largest B share that any GEMM of the step wrote. Source: OpenBLAS
// 0.3.21, driver/level3/level3_thread.c (the split) and param.h (x86-64 Haswell sgemm: P = Q =
// 320), interface/gemm.c (a GEMM runs threaded only when m n k > 65536 x 4, on at most
// m n k / 262144 threads).
//
// Measured (JOURNAL.md 2026-12-07, sixth session): LeNet-5 at batch 16 on 2 threads, the two
// OpenBLAS buffers in /proc/self/smaps held 108 and 112 KiB after training; this model gives
// 26 pages (104 KiB) per thread. With 1 thread 108 KiB measured, 112 KiB modelled.
//
// Not counted: GEMMs that ATen runs elsewhere (oneDNN convs, bmm's per-matrix calls from
// intra-op threads), other BLAS libraries (MKL) and other OpenBLAS kernels' blocking.
#include <cstdint>
#include <vector>

#include "net/layer_instance.h"

namespace lj {

// One sgemm, column-major C[m x n] = A[m x k] B[k x n]; all > 0.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
};

// The sgemm calls of the linear layers among `layers` in one training step, forward and
// backward (row-major y = x W^T over N = batch_size rows, in I, out O):
//   forward        y^T = W x^T          m = O, n = N, k = I
//   grad_input     dx^T = W^T dy^T      m = I, n = N, k = O   (only with input_grad)
//   grad_weight    dW^T = x^T dy        m = I, n = O, k = N
// Layers without a linear config contribute none.
std::vector<GemmShape> LinearLayerGemms(const std::vector<LayerInstance>& layers);

// The threads OpenBLAS runs `gemm` on when `threads` are allowed (interface/gemm.c): 1 when
// m n k <= 262144, else min(threads, floor(m n k / 262144)). Throws std::invalid_argument for
// threads < 1.
int OpenBlasGemmThreads(const GemmShape& gemm, int threads);

// Resident bytes of OpenBLAS's packing buffers after `gemms` ran with `threads` allowed: per
// thread that ran any of them, 4 KiB pages of the largest A share (block(ceil(m / t)) x
// block(k) floats) plus those of the largest B share (block(k) x ceil(n / t) floats), summed
// over threads, where block(x) under the cap 320 is x up to 320, 320 from 640, else ceil(x / 2)
// (level3.c's min_i and min_l), and A and B together fit in the thread's 128 MiB buffer. 0 for no
// GEMM. Throws std::invalid_argument for threads < 1.
int64_t OpenBlasPackingBytes(const std::vector<GemmShape>& gemms, int threads);

}  // namespace lj
