#pragma once
// Is OpenBLAS running the kernel this CPU deserves? (issue 14)
//
// OpenBLAS (DYNAMIC_ARCH builds, as Debian's) picks its kernels at load time from cpuid. A
// release older than the CPU does not know its model and falls back to an old one: Debian's
// 0.3.21 runs its SSE3 "Prescott" kernels on an AVX-512 Xeon of family 6 model 207, so every
// Linear time measured there is that of a 2004 processor. OPENBLAS_CORETYPE, read when
// OpenBLAS loads, overrides the choice; `measure --blas-coretype auto` sets it and
// re-executes, as EnsureOpenMpWaitPolicy does (measure/openmp_env.h).
//
// Kernel classes, by the widest vector instructions they use (OpenBLAS core names):
//   AVX-512: SkylakeX, Cooperlake, SapphireRapids;  AVX2: Haswell, Zen, SkylakeX's AVX2 peers;
//   AVX: Sandybridge, Bulldozer, Piledriver, Steamroller, Excavator;  everything else (Prescott,
//   Core2, Penryn, Nehalem, Barcelona, Atom, generic ...) counts as SSE.
#include <optional>
#include <string>

#include "core/cpu_isa.h"

namespace lj {

// The class of an OpenBLAS core name (case-insensitive); kSse for an unknown name.
VectorIsa KernelVectorIsa(const std::string& corename);

// The OPENBLAS_CORETYPE that suits `cpu`: "SkylakeX", "Haswell", "Sandybridge" or "Prescott".
std::string CoretypeFor(VectorIsa cpu);

// OpenBLAS's core name in this process (openblas_get_corename, looked up with dlsym), or empty
// when the BLAS in use is not OpenBLAS.
std::string LoadedOpenBlasCorename();

// A warning with the fix when `corename`'s class is below `cpu`'s, e.g.
// "OpenBLAS runs its Prescott (SSE) kernels on an AVX-512 CPU: Linear and matmul times are
// those of an older machine. Fix: export OPENBLAS_CORETYPE=SkylakeX (or measure
// --blas-coretype auto)". Empty when the kernel suits the CPU or corename is empty.
std::optional<std::string> BlasKernelWarning(const std::string& corename, VectorIsa cpu);

// --blas-coretype: "" (leave OpenBLAS's choice), "auto" (CoretypeFor(CpuVectorIsa()) when the
// loaded kernel is of a lower class, else nothing) or an OpenBLAS core name. When that differs
// from OPENBLAS_CORETYPE, sets it and re-executes /proc/self/exe with `argv`; returns only when
// nothing is to change or the exec failed.
void EnsureBlasCoretype(const std::string& choice, char** argv);

// "OPENBLAS_CORETYPE=SkylakeX" or "OPENBLAS_CORETYPE unset", stored in hosts.blas.
std::string BlasCoretypeSetting();

}  // namespace lj
