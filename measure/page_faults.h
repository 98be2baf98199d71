#pragma once
// Minor page faults of this process: how many fresh pages the kernel handed out (issue 10).
//
// A minor fault is the first touch of a page that is mapped but not yet backed: memory from a
// fresh mmap (glibc serves allocations above its mmap threshold, at most 32 MiB, that way) or
// heap pages that glibc gave back to the kernel (a trimmed top, an madvise'd arena) and takes
// again. Each costs the kernel's page-fault path: ~0.2-0.5 us per 4 KiB page on bare metal,
// 10-17 us on the paravirtualised KVM guest of JOURNAL.md 2026-12-05 (second session), where
// faults were half or more of a training step's big phases. A layer measured in isolation
// reuses its freed tensors from glibc's heap and faults only where its tensors exceed the mmap
// threshold; the same layer inside a network may fault on all of them. measure counts the
// faults of every pass (samples.minor_faults, per execution) and of every phase of a network
// iteration (network_samples.minor_faults), so that evaluate can split the composition gap
// into fresh pages and the rest (predict/evaluation.h), and a model can charge fresh pages at
// the host's measured first-touch cost (measure/first_touch_probe.h).
//
// Method: getrusage(RUSAGE_SELF).ru_minflt, which counts the faults of all threads of the
// process (OpenMP workers touch pages too). It is a syscall of ~1 us; read it outside timed
// loops only. No LibTorch.
#include <cstdint>
#include <optional>

namespace lj {

// Minor page faults of this process so far, all threads; nullopt when getrusage fails.
std::optional<int64_t> ProcessMinorFaults();

// Faults between two readings; nullopt when either is missing or the counter went backwards.
std::optional<int64_t> MinorFaultsBetween(std::optional<int64_t> before,
                                          std::optional<int64_t> after);

// Faults per execution between two readings over `executions` (> 0) executions; nullopt when
// either reading is missing, executions <= 0, or the counter went backwards.
std::optional<double> MinorFaultsPerExecution(std::optional<int64_t> before,
                                              std::optional<int64_t> after, int64_t executions);

}  // namespace lj
