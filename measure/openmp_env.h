#pragma once
// The OpenMP environment that layer timings depend on.
//
// Debian's LibTorch parallelises with OpenMP (libgomp) while its OpenBLAS (libopenblas0-pthread)
// keeps its own pthread pool. With libgomp's default wait policy, idle OpenMP threads spin for a
// while and take the cores OpenBLAS needs: on the 2-core dev VM a Linear 64x1024->1024 forward
// pass took 4.2 ms (2 threads, default) instead of 0.70 ms (OMP_WAIT_POLICY=PASSIVE) or 1.25 ms
// (1 thread) — see JOURNAL.md, 2026-11-21. libgomp reads the variable once, when it is loaded,
// so it cannot be changed from inside the process: the binary re-executes itself instead.
#include <string>

namespace lj {

// If OMP_WAIT_POLICY is unset, sets it to PASSIVE and re-executes /proc/self/exe with the same
// arguments (returns only if it was already set, or if the re-exec failed). A user who sets
// OMP_WAIT_POLICY explicitly keeps their value.
void EnsureOpenMpWaitPolicy(char** argv);

// "OMP_WAIT_POLICY=PASSIVE" (or the user's value, or "OMP_WAIT_POLICY unset"), stored with the
// host description because it changes layer times several-fold.
std::string OpenMpWaitPolicy();

}  // namespace lj
