#pragma once
// The widest vector instruction class of the CPU this process runs on, from cpuid. Both
// measure's BLAS kernel check (measure/blas_kernel.h) and predict's memory accounting (oneDNN
// blocks conv2d channels by 16 on AVX-512, by 8 below it; predict/training_memory.h) ask it.
#include <string>

namespace lj {

enum class VectorIsa { kSse = 0, kAvx = 1, kAvx2 = 2, kAvx512 = 3 };

// "SSE", "AVX", "AVX2", "AVX-512".
std::string ToString(VectorIsa isa);

// The widest class this CPU runs, from cpuid (__builtin_cpu_supports): AVX-512 needs avx512f,
// avx512bw, avx512vl and avx512dq (OpenBLAS's SkylakeX kernels and oneDNN's avx512_core use
// all four); AVX2 needs avx2 and fma.
VectorIsa CpuVectorIsa();

}  // namespace lj
