#include "measure/first_touch_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>

namespace lj {
namespace {

// A probe of 8 MiB maps, touches and unmaps every page: a positive time per page, in the
// kernel's page size; below a millisecond per page on any machine this runs on.
TEST(FirstTouchProbeTest, TimesEveryPageOfTheRegion) {
  const FirstTouchResult r = MeasureFirstTouch(int64_t{8} << 20, 2);
  EXPECT_EQ(r.bytes, int64_t{8} << 20);
  EXPECT_EQ(r.page_bytes, sysconf(_SC_PAGESIZE));
  EXPECT_GT(r.time_s, 0);
  EXPECT_GE(r.time_std_s, 0);
  EXPECT_LT(r.time_s / static_cast<double>(r.bytes / r.page_bytes), 1e-3);
}

TEST(FirstTouchProbeTest, RefusesBadArgumentsAndReportsAFailedMapping) {
  EXPECT_THROW(MeasureFirstTouch(0, 3), std::invalid_argument);
  EXPECT_THROW(MeasureFirstTouch(-4096, 3), std::invalid_argument);
  EXPECT_THROW(MeasureFirstTouch(4096, 0), std::invalid_argument);
  try {
    MeasureFirstTouch(int64_t{1} << 60, 1);  // 1 EiB: beyond any address space
    ADD_FAILURE() << "mapped 1 EiB";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("first-touch probe: mmap of 1152921504606846976 bytes"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lj
