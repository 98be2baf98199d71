#pragma once
// measure --malloc: run under the allocator setting asked for (issue 10; core/malloc_setting.h).
// glibc reads GLIBC_TUNABLES and its MALLOC_* variables once, when the process starts, so the
// setting cannot be changed from inside: measure sets them and re-executes itself, as
// EnsureBlasCoretype does for OPENBLAS_CORETYPE (measure/blas_kernel.h).
#include <string>

namespace lj {

// `choice`: "" (leave the environment as it is), "keep-freed" (GLIBC_TUNABLES with
// kKeepFreedMemoryTunables, other tunables kept) or "default" (glibc's default: the
// glibc.malloc.* tunables and kGlibcMallocVariables removed; an LD_PRELOADed
// allocator stays, and the run records it). When that changes the environment, sets it and
// re-executes /proc/self/exe with `argv`; returns only when nothing is to change or the exec
// failed (the run then records the setting it really ran under). Throws ConfigError for another
// choice.
void EnsureMallocSetting(const std::string& choice, char** argv);

}  // namespace lj
