#include "core/cpu_isa.h"

namespace lj {

std::string ToString(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::kAvx512:
      return "AVX-512";
    case VectorIsa::kAvx2:
      return "AVX2";
    case VectorIsa::kAvx:
      return "AVX";
    case VectorIsa::kSse:
      break;
  }
  return "SSE";
}

VectorIsa CpuVectorIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return VectorIsa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return VectorIsa::kAvx2;
  if (__builtin_cpu_supports("avx")) return VectorIsa::kAvx;
  return VectorIsa::kSse;
}

}  // namespace lj
