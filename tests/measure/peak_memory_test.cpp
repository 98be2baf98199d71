#include "measure/peak_memory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

namespace lj {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMiB = 1024 * 1024;

TEST(StatusFieldBytesTest, ReadsKibibytesAsBytes) {
  const std::string status =
      "Name:\tmeasure\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t  1234 kB\n"
      "RssAnon:\t   17 kB\n";
  EXPECT_EQ(StatusFieldBytes(status, "VmRSS"), 1234 * 1024);
  EXPECT_EQ(StatusFieldBytes(status, "VmHWM"), 2048 * 1024);
  EXPECT_EQ(StatusFieldBytes(status, "RssAnon"), 17 * 1024);  // the last line
  EXPECT_EQ(StatusFieldBytes(status, "RssFile"), std::nullopt);
  EXPECT_EQ(StatusFieldBytes(status, "Vm"), std::nullopt);    // a prefix is not a field
  EXPECT_EQ(StatusFieldBytes(status, "Name"), std::nullopt);  // not "<integer> kB"
}

TEST(StatusFieldBytesTest, RejectsOtherUnitsNegativesAndOverflow) {
  EXPECT_EQ(StatusFieldBytes("VmRSS:\t 12 MB\n", "VmRSS"), std::nullopt);
  EXPECT_EQ(StatusFieldBytes("VmRSS:\t 12\n", "VmRSS"), std::nullopt);
  EXPECT_EQ(StatusFieldBytes("VmRSS:\t -12 kB\n", "VmRSS"), std::nullopt);
  EXPECT_EQ(StatusFieldBytes("VmRSS:\t 12 kB extra\n", "VmRSS"), std::nullopt);
  EXPECT_EQ(StatusFieldBytes("VmRSS:\t 99999999999999999 kB\n", "VmRSS"), std::nullopt);
  EXPECT_EQ(StatusFieldBytes("", "VmRSS"), std::nullopt);
}

// A fake /proc/self: a status file the test rewrites and a clear_refs file that records writes.
class FakeProcSelf : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lj_peak_memory_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteStatus(int64_t hwm_kib, int64_t anon_kib, int64_t file_kib, int64_t shmem_kib) {
    std::ofstream(dir_ / "status")
        << "Name:\tmeasure\nVmHWM:\t" << hwm_kib << " kB\nVmRSS:\t"
        << anon_kib + file_kib + shmem_kib << " kB\nRssAnon:\t" << anon_kib << " kB\nRssFile:\t"
        << file_kib << " kB\nRssShmem:\t" << shmem_kib << " kB\n";
  }
  std::string Read(const fs::path& path) const {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

TEST_F(FakeProcSelf, PeakIsTheHighWaterMarkOfAnonymousMemoryAboveTheBaseline) {
  WriteStatus(/*hwm*/ 5000, /*anon*/ 1000, /*file*/ 3000, /*shmem*/ 100);
  std::ofstream(dir_ / "clear_refs");
  PeakMemoryProbe probe(dir_.string());
  ASSERT_TRUE(probe.available()) << probe.unavailable_reason();
  EXPECT_EQ(probe.baseline_bytes(), 1000 * 1024);
  EXPECT_EQ(Read(dir_ / "clear_refs"), "5");  // the constructor resets the mark

  // A stretch peaked at 9000 kB resident, of which 3000 file and 100 shmem pages.
  WriteStatus(9000, 1200, 3000, 100);
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), (9000 - 3000 - 100 - 1000) * 1024);
  // Below the baseline (memory freed since the probe was made) reads 0, not negative.
  WriteStatus(3500, 200, 3000, 100);
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), 0);

  std::ofstream(dir_ / "clear_refs", std::ios::trunc);
  probe.Reset();
  EXPECT_EQ(Read(dir_ / "clear_refs"), "5");
}

// The measuring process's own memory (SQLite's heap in measure) is left out: what the excluded
// counter grew from the baseline to the last Reset(); a counter that shrank subtracts nothing.
TEST_F(FakeProcSelf, LeavesOutWhatTheExcludedCounterGrewBeforeTheStretch) {
  WriteStatus(5000, 1000, 3000, 100);
  std::ofstream(dir_ / "clear_refs");
  int64_t sqlite_bytes = 64 * 1024;
  PeakMemoryProbe probe(dir_.string(), [&] { return sqlite_bytes; });
  ASSERT_TRUE(probe.available()) << probe.unavailable_reason();
  WriteStatus(9000, 1200, 3000, 100);
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), (9000 - 3000 - 100 - 1000) * 1024);

  sqlite_bytes = 564 * 1024;  // the store's page cache grew by 500 KiB before this stretch
  probe.Reset();
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), (9000 - 3000 - 100 - 1000 - 500) * 1024);
  sqlite_bytes = 900 * 1024;  // growth after the Reset() belongs to the next stretch
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), (9000 - 3000 - 100 - 1000 - 500) * 1024);
  sqlite_bytes = 0;  // freed below its baseline: nothing is subtracted
  probe.Reset();
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), (9000 - 3000 - 100 - 1000) * 1024);
}

TEST_F(FakeProcSelf, WithoutAWritableClearRefsItIsUnavailableAndSaysWhy) {
  WriteStatus(5000, 1000, 3000, 100);
  PeakMemoryProbe probe(dir_.string());
  EXPECT_FALSE(probe.available());
  EXPECT_NE(probe.unavailable_reason().find("clear_refs"), std::string::npos)
      << probe.unavailable_reason();
  EXPECT_EQ(probe.PeakAboveBaselineBytes(), std::nullopt);
  EXPECT_FALSE(fs::exists(dir_ / "clear_refs"));  // never created
}

TEST_F(FakeProcSelf, AClearRefsSymlinkIsNotFollowed) {
  WriteStatus(5000, 1000, 3000, 100);
  std::ofstream(dir_ / "target");
  fs::create_symlink(dir_ / "target", dir_ / "clear_refs");
  PeakMemoryProbe probe(dir_.string());
  EXPECT_FALSE(probe.available());
  EXPECT_EQ(Read(dir_ / "target"), "");
}

TEST_F(FakeProcSelf, FifosDoNotBlock) {
  ASSERT_EQ(mkfifo((dir_ / "status").c_str(), 0600), 0);
  std::ofstream(dir_ / "clear_refs");
  PeakMemoryProbe fifo_status(dir_.string());  // would block in open() without O_NONBLOCK
  EXPECT_FALSE(fifo_status.available());
  fs::remove(dir_ / "status");
  fs::remove(dir_ / "clear_refs");
  WriteStatus(5000, 1000, 3000, 100);
  ASSERT_EQ(mkfifo((dir_ / "clear_refs").c_str(), 0600), 0);
  PeakMemoryProbe fifo_clear_refs(dir_.string());
  EXPECT_FALSE(fifo_clear_refs.available());
  EXPECT_NE(fifo_clear_refs.unavailable_reason().find("clear_refs"), std::string::npos);
}

TEST_F(FakeProcSelf, AStatusWithoutTheRssSplitIsUnavailable) {
  std::ofstream(dir_ / "status") << "VmHWM:\t5000 kB\nVmRSS:\t4000 kB\n";  // Linux < 4.5
  std::ofstream(dir_ / "clear_refs");
  PeakMemoryProbe probe(dir_.string());
  EXPECT_FALSE(probe.available());
  EXPECT_NE(probe.unavailable_reason().find("RssAnon"), std::string::npos)
      << probe.unavailable_reason();
  EXPECT_EQ(Read(dir_ / "clear_refs"), "");
}

TEST_F(FakeProcSelf, AMissingDirectoryIsUnavailable) {
  PeakMemoryProbe probe((dir_ / "absent").string());
  EXPECT_FALSE(probe.available());
  EXPECT_FALSE(probe.unavailable_reason().empty());
}

// The real kernel: touching 64 MiB raises the peak by at least that much; after Reset a stretch
// that touches nothing new peaks at what is resident then.
TEST(PeakMemoryProbeTest, SeesSixtyFourTouchedMebibytesOfThisProcess) {
  PeakMemoryProbe probe;
  if (!probe.available()) GTEST_SKIP() << "no peak memory here: " << probe.unavailable_reason();
  probe.Reset();
  {
    const std::unique_ptr<char[]> block(new char[64 * kMiB]);
    // Through a volatile pointer: the compiler may not drop the stores or the allocation.
    volatile char* bytes = block.get();
    for (int64_t i = 0; i < 64 * kMiB; i += 4096) bytes[i] = 1;
  }
  const std::optional<int64_t> peak = probe.PeakAboveBaselineBytes();
  ASSERT_TRUE(peak.has_value());
  // Relative to the anonymous memory when the probe was made, which may have shrunk a little
  // since (gtest freeing its own): within 1 MiB.
  EXPECT_GE(*peak, 63 * kMiB);
  EXPECT_LT(*peak, 96 * kMiB);

  // After Reset, a stretch that touches nothing new peaks at what is resident now: near 0 where
  // free() gave the 64 MiB back (an mmap), near 64 MiB under AddressSanitizer, whose quarantine
  // keeps freed blocks. Without the reset it would read the 64 MiB peak even where they went back.
  probe.Reset();
  const std::optional<int64_t> idle = probe.PeakAboveBaselineBytes();
  std::ifstream status_file("/proc/self/status");
  const std::string status{std::istreambuf_iterator<char>(status_file),
                           std::istreambuf_iterator<char>()};
  const std::optional<int64_t> anon = StatusFieldBytes(status, "RssAnon");
  ASSERT_TRUE(idle.has_value());
  ASSERT_TRUE(anon.has_value());
  const int64_t resident_now = std::max<int64_t>(0, *anon - probe.baseline_bytes());
  EXPECT_NEAR(static_cast<double>(*idle), static_cast<double>(resident_now), 4.0 * kMiB);
  if (resident_now < 16 * kMiB) {
    EXPECT_LT(*idle, 20 * kMiB);
  }
}

}  // namespace
}  // namespace lj
