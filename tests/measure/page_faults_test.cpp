// Tests of the page-fault counter (measure/page_faults.h): fresh pages are counted, reused ones
// are not, and bad readings give no count instead of a wrong one.
#include "measure/page_faults.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <optional>

namespace lj {
namespace {

// Maps `pages` fresh anonymous pages, writes one byte to each `rounds` times, unmaps them.
void TouchFreshPages(int64_t pages, int rounds) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = static_cast<size_t>(pages) * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  madvise(p, bytes, MADV_NOHUGEPAGE);  // 4 KiB pages even where THP is "always"
  auto* bytes_p = static_cast<volatile char*>(p);
  for (int r = 0; r < rounds; ++r) {
    for (size_t offset = 0; offset < bytes; offset += page) bytes_p[offset] = 1;
  }
  munmap(p, bytes);
}

// 2048 fresh pages fault in once each: the count grows by at least that (other threads of the
// test process may add a few). A mapping whose pages are touched three times faults as often
// as one touched once: a count of touches would be 3x.
TEST(PageFaultsTest, CountsEachFreshPageOnceAndNotItsSecondTouch) {
  const std::optional<int64_t> before = ProcessMinorFaults();
  ASSERT_TRUE(before.has_value());
  TouchFreshPages(2048, 1);
  const std::optional<int64_t> once = ProcessMinorFaults();
  TouchFreshPages(2048, 3);
  const std::optional<int64_t> thrice = ProcessMinorFaults();
  ASSERT_TRUE(once && thrice);
  const int64_t first = *once - *before;
  const int64_t second = *thrice - *once;
  EXPECT_GE(first, 2048);
  EXPECT_GE(second, 2048);
  EXPECT_LT(first, 2 * 2048);
  EXPECT_LT(second, 2 * 2048);
}

TEST(PageFaultsTest, FaultsBetweenReadingsAndPerExecution) {
  EXPECT_EQ(MinorFaultsBetween(100, 250), 150);
  EXPECT_EQ(MinorFaultsBetween(100, 100), 0);
  EXPECT_FALSE(MinorFaultsBetween(250, 100).has_value());  // went backwards
  EXPECT_FALSE(MinorFaultsBetween(std::nullopt, 100).has_value());
  EXPECT_FALSE(MinorFaultsBetween(100, std::nullopt).has_value());
  EXPECT_DOUBLE_EQ(*MinorFaultsPerExecution(100, 400, 60), 5.0);
  EXPECT_FALSE(MinorFaultsPerExecution(100, 400, 0).has_value());
  EXPECT_FALSE(MinorFaultsPerExecution(100, 400, -1).has_value());
  EXPECT_FALSE(MinorFaultsPerExecution(400, 100, 60).has_value());
}

}  // namespace
}  // namespace lj
