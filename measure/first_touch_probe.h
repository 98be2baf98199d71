#pragma once
// The cost of fresh memory: the first touch of anonymous pages, timed.
//
// A tensor above glibc's mmap threshold (at most 32 MiB) is fresh memory on every allocation:
// its pages fault in on first touch and are unmapped when it is freed. On bare metal a 4 KiB
// page costs ~0.2-0.5 us; on the KVM guest of JOURNAL.md 2026-12-05 (second session), a guest
// of a paravirtualised hypervisor (dmesg: "Hypervisor detected: PVM"), 11-15 us, and the same
// 12.8 M-element ReLU forward took 81 ms into a fresh tensor against 1.4 ms into an existing
// one. That cost changes over time independently of the arithmetic speed that the compute speed
// probes (measure/speed_probe.h) track, and it dominates the largest layers (VGG-11's 411 MB
// weight gradient). measure stores this probe beside the others (table speed_probes, layer
// kFirstTouchProbeLayer of db/rows.h), so that every sample's fresh-memory cost at its time is
// known; evaluate reports its range per host.
#include <cstdint>

namespace lj {

// 64 MiB: twice glibc's largest mmap threshold, 16384 pages of 4 KiB, ~0.2-0.3 s here.
inline constexpr int64_t kFirstTouchBytes = int64_t{64} << 20;

struct FirstTouchResult {
  int64_t bytes = 0;       // mapped and touched per trial
  int64_t page_bytes = 0;  // the kernel's page size (sysconf(_SC_PAGESIZE))
  double time_s = 0;       // mean wall time of one trial: mmap, one write per page, munmap
  double time_std_s = 0;   // standard deviation over the trials
};

// Maps `bytes` (> 0) of private anonymous memory, writes one byte to each page, unmaps it;
// `trials` (>= 1) times after one warm-up. Throws std::invalid_argument for bytes <= 0 or
// trials < 1, std::system_error (with errno) when mmap or munmap fails.
FirstTouchResult MeasureFirstTouch(int64_t bytes = kFirstTouchBytes, int trials = 3);

}  // namespace lj
