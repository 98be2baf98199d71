#include "measure/progress.h"

#include <cmath>
#include <cstdio>

namespace lj {

Progress::Progress(int64_t target, int64_t done_before)
    : target_(target), done_(done_before), start_(std::chrono::steady_clock::now()) {}

double Progress::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::Advance() {
  ++done_;
  ++done_here_;
  const double elapsed_s = ElapsedSeconds();
  const double rate = done_here_ / elapsed_s;
  const int64_t left = target_ > done_ ? target_ - done_ : 0;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%lld/%lld (%.1f%%) | %.2f configs/s | ETA %s",
                static_cast<long long>(done_), static_cast<long long>(target_),
                target_ > 0 ? 100.0 * done_ / target_ : 0.0, rate,
                FormatDuration(left / rate).c_str());
  return buf;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  const long long s = std::llround(seconds);
  char buf[64];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  }
  return buf;
}

}  // namespace lj
