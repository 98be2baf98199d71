#include "measure/first_touch_probe.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace lj {
namespace {

// One trial: wall seconds of mmap, a write to every page and munmap.
double OneTrial_s(size_t bytes, size_t page_bytes) {
  const auto start = std::chrono::steady_clock::now();
  void* region = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(),
                            "first-touch probe: mmap of " + std::to_string(bytes) + " bytes");
  }
  volatile unsigned char* p = static_cast<volatile unsigned char*>(region);
  for (size_t offset = 0; offset < bytes; offset += page_bytes) p[offset] = 1;
  if (munmap(region, bytes) != 0) {
    throw std::system_error(errno, std::generic_category(), "first-touch probe: munmap");
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

FirstTouchResult MeasureFirstTouch(int64_t bytes, int trials) {
  if (bytes <= 0) {
    throw std::invalid_argument("first-touch probe: bytes must be > 0, got " +
                                std::to_string(bytes));
  }
  if (trials < 1) {
    throw std::invalid_argument("first-touch probe: trials must be >= 1, got " +
                                std::to_string(trials));
  }
  const long page = sysconf(_SC_PAGESIZE);
  const size_t page_bytes = page > 0 ? static_cast<size_t>(page) : 4096;
  const size_t n = static_cast<size_t>(bytes);
  OneTrial_s(n, page_bytes);  // warm-up: the first mapping of a run also builds page tables
  std::vector<double> times;
  for (int i = 0; i < trials; ++i) times.push_back(OneTrial_s(n, page_bytes));
  double mean = 0;
  for (double t : times) mean += t;
  mean /= static_cast<double>(times.size());
  double var = 0;
  for (double t : times) var += (t - mean) * (t - mean);
  FirstTouchResult r;
  r.bytes = bytes;
  r.page_bytes = static_cast<int64_t>(page_bytes);
  r.time_s = mean;
  r.time_std_s = times.size() > 1 ? std::sqrt(var / static_cast<double>(times.size() - 1)) : 0;
  return r;
}

}  // namespace lj
