#pragma once
// Peak resident memory of a stretch of code, the ground truth of predict's memory accounting
// (issue 13). Linux only, no LibTorch.
//
// Method: the kernel's high-water mark of the resident set (VmHWM in /proc/self/status) is
// reset to the current resident set (VmRSS) by writing "5" to /proc/self/clear_refs (Linux
// >= 4.0, Documentation/admin-guide/mm/soft-dirty and proc.rst); after the stretch, VmHWM is
// its peak. Chosen over an allocator hook in c10 (c10::ProfiledCPUMemoryReporter) because it
// sees what the machine sees: every allocator (glibc malloc, oneDNN's scratchpads, OpenBLAS
// buffers), pages freed but kept by malloc, and no pages that were allocated and never
// touched. The price: it counts in pages (4 KiB), and it is the whole process's. VmHWM counts
// file-backed pages too (LibTorch's code, paged in as kernels first run), which no tensor
// needs, so the anonymous peak is taken as VmHWM - RssFile - RssShmem read right after the
// stretch (file pages do not change during a warmed-up iteration), minus RssAnon at the
// baseline (PeakMemoryProbe::baseline_bytes).
//
// The measuring process's own memory is not the training step's: `measure` opens its SQLite
// store after the baseline and writes between iterations, and SQLite's page cache grows with
// the database file (up to 2 MiB by default). Measured on 2026-12-07 (sixth session): the
// framework probe read 0.39-0.45 MiB into a new database and 0.84-0.97 MiB into a copy of the
// 2.6 MB demo database. The probe therefore subtracts what an `excluded` counter (SQLite's heap,
// db/connection.h SqliteHeapBytes) grew from the baseline to the last Reset().
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace lj {

// One field of a /proc/<pid>/status text in bytes: "VmRSS:\t  1234 kB" -> 1263616.
// Empty when the field is missing or not "<integer> kB".
std::optional<int64_t> StatusFieldBytes(const std::string& status_text, const std::string& field);

class PeakMemoryProbe {
 public:
  // Reads the current anonymous resident set as the baseline. Unavailable (every call returns
  // empty) when /proc/self/status lacks VmRSS, VmHWM, RssAnon, RssFile or RssShmem in kB, or
  // /proc/self/clear_refs cannot be written
  // (not Linux, an old kernel, or a sandbox); unavailable_reason() then says which.
  // `proc_self` is the directory read ("/proc/self"; tests pass a fake one). `excluded`, when
  // set, returns bytes the process holds that are not the measured stretch's (read at the
  // baseline and at each Reset()).
  explicit PeakMemoryProbe(std::string proc_self = "/proc/self",
                           std::function<int64_t()> excluded = nullptr);

  bool available() const { return available_; }
  const std::string& unavailable_reason() const { return reason_; }
  // RssAnon when the probe was made.
  int64_t baseline_bytes() const { return baseline_bytes_; }

  // Resets the high-water mark to the current resident set; call right before the stretch.
  void Reset();
  // max(0, VmHWM - RssFile - RssShmem - baseline - excluded growth) since the last Reset(),
  // where the excluded growth is max(0, excluded at that Reset() - excluded at the baseline);
  // empty when unavailable.
  std::optional<int64_t> PeakAboveBaselineBytes();

 private:
  std::optional<int64_t> Field(const std::string& field);
  void Disable(std::string reason);

  std::string proc_self_;
  bool available_ = false;
  std::string reason_;
  int64_t baseline_bytes_ = 0;
  std::function<int64_t()> excluded_;
  int64_t excluded_at_baseline_ = 0;
  int64_t excluded_growth_ = 0;  // at the last Reset()
};

}  // namespace lj
