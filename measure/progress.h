#pragma once
// Progress of a long run: rate and an ETA from the configs measured so far in this process.
#include <chrono>
#include <cstdint>
#include <string>

namespace lj {

class Progress {
 public:
  // done_before: configs already stored when this process started (a resumed run).
  Progress(int64_t target, int64_t done_before);
  // Call after each stored config; returns e.g.
  // "37/5000 (0.7%) | 0.41 configs/s | ETA 3h21m" (rate over this process's configs only).
  std::string Advance();
  double ElapsedSeconds() const;

 private:
  int64_t target_;
  int64_t done_;
  int64_t done_here_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// 3h21m, 4m05s, 12s.
std::string FormatDuration(double seconds);

}  // namespace lj
