// Cost of one EnergyMeter::Read() of the RAPL meter (one pread(2) per zone on descriptors that
// libpowercap keeps open). Prints mean, p50, p99 and max in microseconds.
//
//   rapl_read_bench [--reads N]        on a machine with RAPL (as root), or, without one,
//   fake_powercap --sockets 2 --dram-w 3,2 -- rapl_read_bench [--reads N]
//
// On the emulated tree the counters are tmpfs files, not MSR-backed sysfs attributes, so the
// numbers are a lower bound of what real hardware costs (a real read also executes rdmsr).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "measure/rapl_meter.h"

int main(int argc, char** argv) {
  long reads = 100000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reads") == 0 && i + 1 < argc) {
      reads = std::strtol(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: rapl_read_bench [--reads N]\n");
      return 2;
    }
  }
  if (reads <= 0) {
    std::fprintf(stderr, "rapl_read_bench: --reads must be > 0\n");
    return 2;
  }
  try {
    const std::unique_ptr<lj::EnergyMeter> meter = lj::OpenRaplMeter();
    using Clock = std::chrono::steady_clock;
    uint64_t sink = 0;
    for (int i = 0; i < 1000; ++i) sink += meter->Read().energy_uj[0];  // warm up

    std::vector<double> cost_us(static_cast<size_t>(reads));
    const auto start = Clock::now();
    for (long i = 0; i < reads; ++i) {
      const auto t0 = Clock::now();
      sink += meter->Read().energy_uj[0];
      cost_us[static_cast<size_t>(i)] =
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }
    const double total_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();

    std::vector<double> sorted = cost_us;
    std::sort(sorted.begin(), sorted.end());
    auto quantile = [&](double q) {
      return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))];
    };
    double sum = 0;
    for (double c : cost_us) sum += c;
    const size_t zones = meter->Zones().size();
    std::printf("rapl_read_bench: %ld reads of %zu zones (", reads, zones);
    for (size_t z = 0; z < zones; ++z) {
      std::printf("%s%s", z ? ", " : "", meter->Zones()[z].name.c_str());
    }
    std::printf(")%s\n", std::getenv("LJ_FAKE_POWERCAP") ? ", emulated tree (fake_powercap)" : "");
    std::printf("  Read() mean %.3f us, p50 %.3f us, p99 %.3f us, max %.1f us\n", sum / reads,
                quantile(0.50), quantile(0.99), sorted.back());
    std::printf("  per zone mean %.3f us; wall %.3f us/read incl. timer (checksum %llu)\n",
                sum / reads / static_cast<double>(zones), total_us / reads,
                static_cast<unsigned long long>(sink % 1000));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "rapl_read_bench: error: %s\n(without RAPL hardware run it as "
                 "`fake_powercap -- rapl_read_bench`)\n",
                 e.what());
    return 1;
  }
}
