#include "measure/torch_info.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

// Light ATen headers only (not <torch/torch.h>): this TU compiles in about a second.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>

namespace lj {
namespace {

// Value of `key` (e.g. "TORCH_VERSION=") in at::show_config()'s comma-separated build
// settings, or "" if absent.
std::string ConfigValue(const std::string& config, const std::string& key) {
  const size_t pos = config.find(key);
  if (pos == std::string::npos) return "";
  const size_t start = pos + key.size();
  const size_t end = config.find_first_of(",\n", start);
  return config.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The text after `prefix` up to the end of its line in at::show_config(), or "".
std::string ConfigLine(const std::string& config, const std::string& prefix) {
  const size_t pos = config.find(prefix);
  if (pos == std::string::npos) return "";
  const size_t start = pos + prefix.size();
  const size_t end = config.find('\n', start);
  return config.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::string ShowConfig() {
  try {
    return at::show_config();
  } catch (const std::exception&) {
    return "";
  }
}

// Real path of the shared object that defines `address`, or "".
std::string LibraryOf(void* address) {
  Dl_info info{};
  if (address == nullptr || dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "";
  char resolved[PATH_MAX];
  if (realpath(info.dli_fname, resolved) != nullptr) return resolved;
  return info.dli_fname;
}

bool Contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

// OpenBLAS entry points, looked up at run time so we do not link OpenBLAS ourselves.
using OpenBlasGetConfig = char* (*)();
using OpenBlasGetInt = int (*)();
using OpenBlasSetInt = void (*)(int);

template <typename Fn>
Fn Lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

std::string TorchVersion() {
  // The loaded library's build settings win over the headers we compiled against.
  const std::string runtime = ConfigValue(ShowConfig(), "TORCH_VERSION=");
  return runtime.empty() ? std::string(TORCH_VERSION) : runtime;
}

std::string BlasInfo() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sgemm == nullptr) return "none loaded";
  const std::string path = LibraryOf(sgemm);
  if (Contains(path, "openblas")) {
    std::string info = "OpenBLAS";
    if (auto get_config = Lookup<OpenBlasGetConfig>("openblas_get_config")) {
      // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
      const std::string config = get_config();
      const size_t space = config.find(' ');
      const size_t version_end = config.find(' ', space + 1);
      if (space != std::string::npos) {
        info += " " + config.substr(space + 1, version_end == std::string::npos
                                                   ? std::string::npos
                                                   : version_end - space - 1);
      }
    }
    std::string details;
    if (auto get_parallel = Lookup<OpenBlasGetInt>("openblas_get_parallel")) {
      const int parallel = get_parallel();
      details = parallel == 0 ? "sequential" : parallel == 1 ? "pthread" : "openmp";
    }
    if (auto get_corename = Lookup<OpenBlasGetConfig>("openblas_get_corename")) {
      const std::string core = get_corename();
      if (!core.empty()) details += (details.empty() ? "" : ", ") + core;
    }
    if (!details.empty()) info += " (" + details + ")";
    return info;
  }
  if (Contains(path, "mkl")) return "MKL " + path;
  if (Contains(path, "blis")) return "BLIS " + path;
  if (Contains(path, "atlas")) return "ATLAS " + path;
  // Debian's netlib reference implementation lives in .../blas/libblas.so.3.
  if (Contains(path, "/blas/libblas") || Contains(path, "libblas.so")) {
    return "reference BLAS (slow!) " + path;
  }
  return "unknown BLAS " + path;
}

std::string ParallelInfo() {
  const std::string config = ShowConfig();
  std::string info = "intra-op threads " + std::to_string(at::get_num_threads());
  info += Contains(config, "OpenMP") ? " (OpenMP)" : " (native)";
  info += ", inter-op threads " + std::to_string(at::get_num_interop_threads());
  if (auto get_threads = Lookup<OpenBlasGetInt>("openblas_get_num_threads")) {
    info += ", OpenBLAS threads " + std::to_string(get_threads());
  }
  const std::string mkldnn = ConfigValue(config, "USE_MKLDNN=");
  if (!mkldnn.empty()) info += ", MKL-DNN " + mkldnn;
  const std::string capability = ConfigLine(config, "CPU capability usage: ");
  if (!capability.empty()) info += ", CPU capability " + capability;
  // libgomp reads this once at load time. Unset means active spin-waiting, under which idle
  // OpenMP workers and OpenBLAS pthread workers fight over the cores (measured 3-8x slower
  // linear layers on 2 cores); PASSIVE avoids that.
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  info += std::string(", OMP_WAIT_POLICY ") + (wait_policy != nullptr ? wait_policy : "unset");
  return info;
}

void SetTorchThreads(int threads) {
  if (threads < 1) {
    throw std::invalid_argument("torch threads must be >= 1, got " + std::to_string(threads));
  }
  at::set_num_threads(threads);
  at::parallel_for(0, threads, 1, [](int64_t /*begin*/, int64_t /*end*/) {
    // A heap block per thread (its malloc arena), freed at once; volatile keeps the pair.
    void* volatile block = std::malloc(64);
    std::free(block);
    (void)at::get_thread_num();
  });
  if (auto set_openblas = Lookup<OpenBlasSetInt>("openblas_set_num_threads")) {
    set_openblas(threads);
  }
  // One inter-op thread: layers run one at a time. LibTorch allows this call only once per
  // process and only before inter-op work starts; afterwards it throws and we keep the value.
  static std::once_flag interop_once;
  std::call_once(interop_once, [] {
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
    }
  });
}

int TorchThreads() { return at::get_num_threads(); }

int TorchThreadsFor(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace lj
