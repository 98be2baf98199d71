#pragma once
// The LibTorch runtime as this process sees it: version, the BLAS library actually loaded,
// and the thread settings. Stored with every run (hosts.torch_version, hosts.blas) because a
// reference BLAS or a different thread count changes layer times several-fold.
// LibTorch stays behind this header (no torch includes).
#include <string>

namespace lj {

// LibTorch version, e.g. "1.13.1" (TORCH_VERSION of the headers we were built against).
std::string TorchVersion();

// The BLAS library that serves sgemm_ in this process at run time (found with dladdr on the
// resolved symbol, so Debian's libblas.so.3 alternative is followed to its real file), e.g.
//   "OpenBLAS 0.3.21 (pthread, Haswell)"  from openblas_get_config()/openblas_get_parallel()
//   "MKL"                                  if the symbol comes from libmkl*
//   "reference BLAS (slow!) /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"
//   "unknown BLAS <path>"                  for another library
//   "none loaded"                          if no sgemm_ is visible in the process.
// Never throws.
std::string BlasInfo();

// One line on parallelism, e.g. "intra-op threads 2 (OpenMP), inter-op threads 1,
// OpenBLAS threads 2, MKL-DNN ON, CPU capability AVX2, OMP_WAIT_POLICY unset". Never throws.
// OMP_WAIT_POLICY matters with a pthread OpenBLAS (Debian's default): unset, idle OpenMP
// workers spin and steal the cores OpenBLAS's own threads need; PASSIVE avoids this. It is
// read when libgomp loads, so it must be set in the environment before the program starts.
std::string ParallelInfo();

// Sets the threads LibTorch uses for one layer: intra-op threads (at::set_num_threads, which
// also sets OpenMP's count), the OpenBLAS thread count (OpenBLAS keeps its own pool, which
// at::set_num_threads does not touch in LibTorch 1.13) and, once per process, one inter-op
// thread (at::set_num_interop_threads may only be called before inter-op work starts; later
// calls are skipped). Then it starts the intra-op pool: one parallel region in which every
// thread reads its thread number and allocates, so that each worker's stack, thread-local
// blocks and glibc malloc arena exist from here on. OpenMP creates its workers lazily, at the
// first region that runs on more than one thread; left to the network, that start-up (0.25-0.45
// MiB on 2 threads, JOURNAL.md 2026-12-07 sixth session) fell inside the first iteration of
// nets with a parallel layer and outside the framework probes, whose tiny layers run on one.
// Call before building layers and before a peak-memory baseline (measure/peak_memory.h).
// Throws: std::invalid_argument if threads < 1.
void SetTorchThreads(int threads);

// The intra-op threads `requested` stands for: itself if > 0, else every hardware thread
// (at least 1).
int TorchThreadsFor(int requested);

// Current intra-op thread count (at::get_num_threads).
int TorchThreads();

}  // namespace lj
