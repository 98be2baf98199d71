#include "measure/blas_kernel.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace lj {

VectorIsa KernelVectorIsa(const std::string& corename) {
  std::string name = corename;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* n : {"skylakex", "cooperlake", "sapphirerapids"}) {
    if (name == n) return VectorIsa::kAvx512;
  }
  for (const char* n : {"haswell", "zen", "skylake"}) {
    if (name == n) return VectorIsa::kAvx2;
  }
  for (const char* n : {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"}) {
    if (name == n) return VectorIsa::kAvx;
  }
  return VectorIsa::kSse;
}

std::string CoretypeFor(VectorIsa cpu) {
  switch (cpu) {
    case VectorIsa::kAvx512:
      return "SkylakeX";
    case VectorIsa::kAvx2:
      return "Haswell";
    case VectorIsa::kAvx:
      return "Sandybridge";
    case VectorIsa::kSse:
      break;
  }
  return "Prescott";
}

std::string LoadedOpenBlasCorename() {
  using GetCorename = char* (*)();
  auto get = reinterpret_cast<GetCorename>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (get == nullptr) return "";
  const char* name = get();
  return name ? name : "";
}

std::optional<std::string> BlasKernelWarning(const std::string& corename, VectorIsa cpu) {
  if (corename.empty()) return std::nullopt;
  const VectorIsa kernel = KernelVectorIsa(corename);
  if (kernel >= cpu) return std::nullopt;
  return "OpenBLAS runs its " + corename + " (" + ToString(kernel) + ") kernels on an " +
         ToString(cpu) +
         " CPU: Linear and matmul times are those of an older machine. Fix: export "
         "OPENBLAS_CORETYPE=" +
         CoretypeFor(cpu) + " (or measure --blas-coretype auto)";
}

void EnsureBlasCoretype(const std::string& choice, char** argv) {
  if (choice.empty()) return;
  std::string want = choice;
  if (choice == "auto") {
    const VectorIsa cpu = CpuVectorIsa();
    const std::string loaded = LoadedOpenBlasCorename();
    if (loaded.empty() || KernelVectorIsa(loaded) >= cpu) return;  // nothing to improve
    want = CoretypeFor(cpu);
  }
  const char* current = std::getenv("OPENBLAS_CORETYPE");
  if (current != nullptr && want == current) return;
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  execv("/proc/self/exe", argv);
  // execv failed: go on with OpenBLAS's own choice; hosts.blas records the kernel.
}

std::string BlasCoretypeSetting() {
  const char* value = std::getenv("OPENBLAS_CORETYPE");
  return value ? std::string("OPENBLAS_CORETYPE=") + value : "OPENBLAS_CORETYPE unset";
}

}  // namespace lj
