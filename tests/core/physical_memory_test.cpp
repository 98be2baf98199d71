#include "core/physical_memory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace lj {
namespace {

TEST(PhysicalMemoryTest, IsKnownOnLinuxAndAtMostTheHostsPages) {
  const std::optional<int64_t> bytes = PhysicalMemoryBytes();
  ASSERT_TRUE(bytes.has_value());
  EXPECT_GT(*bytes, int64_t{64} << 20);
  const int64_t host_bytes = int64_t{sysconf(_SC_PHYS_PAGES)} * sysconf(_SC_PAGESIZE);
  EXPECT_LE(*bytes, host_bytes);
  // A cgroup limit, when there is one, lowers it.
  if (const std::optional<int64_t> cgroup = CgroupMemoryLimitBytes()) {
    EXPECT_EQ(*bytes, std::min(host_bytes, *cgroup));
  } else {
    EXPECT_EQ(*bytes, host_bytes);
  }
}

}  // namespace
}  // namespace lj
