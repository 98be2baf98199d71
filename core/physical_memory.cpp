#include "core/physical_memory.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace lj {

std::optional<int64_t> CgroupMemoryLimitBytes() {
  std::ifstream cgroups("/proc/self/cgroup");
  std::string line;
  std::optional<int64_t> limit;
  while (std::getline(cgroups, line)) {
    // v2: "0::/path" -> memory.max ("max" = none); v1: "4:memory:/path" -> limit_in_bytes.
    std::string file;
    if (line.rfind("0::", 0) == 0) {
      file = "/sys/fs/cgroup" + line.substr(3) + "/memory.max";
    } else if (const size_t at = line.find(":memory:"); at != std::string::npos) {
      file = "/sys/fs/cgroup/memory" + line.substr(at + 8) + "/memory.limit_in_bytes";
    } else {
      continue;
    }
    if (file.find("/../") != std::string::npos) continue;
    std::ifstream in(file);
    long long value = 0;
    if (in >> value && value > 0 && (!limit || value < *limit)) limit = value;
  }
  return limit;
}

std::optional<int64_t> PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return std::nullopt;
  int64_t bytes = static_cast<int64_t>(pages) * page_size;
  if (const std::optional<int64_t> cgroup = CgroupMemoryLimitBytes()) {
    bytes = std::min(bytes, *cgroup);
  }
  return bytes;
}

}  // namespace lj
