// measure --check's findings (measure/preflight.h) on fake /sys and /proc trees, and the BLAS
// kernel rules (measure/blas_kernel.h).
#include "measure/preflight.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "measure/blas_kernel.h"
#include "measure/sample_conditions.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

void Write(const std::string& path, const std::string& text) {
  test::WriteCreatingDirs(path, text);
}

std::map<std::string, PreflightItem> ByName(const std::vector<PreflightItem>& items) {
  std::map<std::string, PreflightItem> out;
  for (const PreflightItem& item : items) out[item.name] = item;
  return out;
}

PreflightSources Fake(const test::TempDir& dir, const std::string& corename) {
  PreflightSources s;
  s.sys_cpu = dir.File("sys");
  s.proc = dir.File("proc");
  s.load_window_s = 0.01;
  s.blas_corename = corename;
  return s;
}

TEST(PreflightTest, NamesEachProblemWithItsFix) {
  test::TempDir dir;
  Write(dir.File("sys/cpu0/cpufreq/scaling_governor"), "powersave\n");
  Write(dir.File("sys/cpu1/cpufreq/scaling_governor"), "performance\n");
  Write(dir.File("sys/intel_pstate/no_turbo"), "0\n");
  Write(dir.File("sys/smt/active"), "1\n");
  Write(dir.File("proc/meminfo"),
        "MemTotal: 1000 kB\nSwapTotal: 4194304 kB\nSwapFree: 3145728 kB\n");
  Write(dir.File("proc/stat"), "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n");
  const auto items = ByName(RunPreflightChecks(Fake(dir, "Prescott")));
  EXPECT_EQ(items.at("governor").status, "warn");
  EXPECT_NE(items.at("governor").detail.find("1 cores powersave"), std::string::npos);
  EXPECT_NE(items.at("governor").fix.find("cpupower frequency-set -g performance"),
            std::string::npos);
  EXPECT_EQ(items.at("turbo").status, "warn");
  EXPECT_NE(items.at("turbo").fix.find("no_turbo"), std::string::npos);
  EXPECT_EQ(items.at("smt").status, "warn");
  EXPECT_EQ(items.at("swap").status, "warn");
  EXPECT_NE(items.at("swap").detail.find("1024 MiB of 4096 MiB"), std::string::npos);
  // The same /proc/stat twice: nothing ran in between.
  EXPECT_EQ(items.at("other load").status, "ok");
  if (CpuVectorIsa() > VectorIsa::kSse) {
    EXPECT_EQ(items.at("blas kernel").status, "warn");
    EXPECT_NE(items.at("blas kernel").fix.find("OPENBLAS_CORETYPE=" + CoretypeFor(CpuVectorIsa())),
              std::string::npos);
  }
  const std::string report = FormatPreflight(RunPreflightChecks(Fake(dir, "Prescott")));
  EXPECT_NE(report.find("[warn] governor"), std::string::npos) << report;
  EXPECT_NE(report.find("fix: "), std::string::npos) << report;
}

TEST(PreflightTest, AHostThatExposesNothingIsUnknownNotFine) {
  test::TempDir dir;
  const auto items = ByName(RunPreflightChecks(Fake(dir, "SkylakeX")));
  for (const char* name : {"governor", "turbo", "smt", "other load", "swap"}) {
    EXPECT_EQ(items.at(name).status, "unknown") << name;
    EXPECT_TRUE(items.at(name).fix.empty()) << name;
  }
  EXPECT_EQ(PreflightJson(RunPreflightChecks(Fake(dir, "SkylakeX"))).size(), 6u);
}

TEST(PreflightTest, AGoodHostIsOk) {
  test::TempDir dir;
  Write(dir.File("sys/cpu0/cpufreq/scaling_governor"), "performance\n");
  Write(dir.File("sys/cpufreq/boost"), "0\n");
  Write(dir.File("sys/smt/active"), "0\n");
  Write(dir.File("proc/meminfo"), "SwapTotal: 0 kB\nSwapFree: 0 kB\n");
  Write(dir.File("proc/stat"), "cpu  1 0 1 8 0 0 0 0\n");
  const auto items = ByName(RunPreflightChecks(Fake(dir, CoretypeFor(CpuVectorIsa()))));
  for (const auto& [name, item] : items)
    EXPECT_EQ(item.status, "ok") << name << ": " << item.detail;
}

TEST(PreflightTest, BusyShareCountsAllButIdleAndIowait) {
  EXPECT_DOUBLE_EQ(BusyShare("cpu  0 0 0 0 0 0 0 0\n", "cpu  30 0 10 50 10 0 0 0\n"), 0.4);
  EXPECT_DOUBLE_EQ(BusyShare("cpu  5 0 0 5 0\n", "cpu  5 0 0 5 0\n"), 0.0);
  EXPECT_THROW(BusyShare("intr 1 2\n", "intr 3 4\n"), std::runtime_error);
}

TEST(BlasKernelTest, AnOlderKernelClassWarnsWithTheCoretypeOfTheCpu) {
  EXPECT_EQ(KernelVectorIsa("Prescott"), VectorIsa::kSse);
  EXPECT_EQ(KernelVectorIsa("HASWELL"), VectorIsa::kAvx2);
  EXPECT_EQ(KernelVectorIsa("Cooperlake"), VectorIsa::kAvx512);
  EXPECT_EQ(KernelVectorIsa("Sandybridge"), VectorIsa::kAvx);
  const auto w = BlasKernelWarning("Prescott", VectorIsa::kAvx512);
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find("OPENBLAS_CORETYPE=SkylakeX"), std::string::npos) << *w;
  EXPECT_NE(w->find("Prescott (SSE)"), std::string::npos) << *w;
  EXPECT_NE(BlasKernelWarning("Sandybridge", VectorIsa::kAvx2)->find("OPENBLAS_CORETYPE=Haswell"),
            std::string::npos);
  EXPECT_FALSE(BlasKernelWarning("SkylakeX", VectorIsa::kAvx512).has_value());
  EXPECT_FALSE(BlasKernelWarning("Haswell", VectorIsa::kAvx).has_value());
  EXPECT_FALSE(BlasKernelWarning("", VectorIsa::kAvx512).has_value());
}

}  // namespace
}  // namespace lj
