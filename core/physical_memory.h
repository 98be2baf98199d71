#pragma once
// How much memory this process may use: the host's physical memory, lowered by its memory
// cgroup's limit. predict --batch-sizes marks batch sizes above it "does not fit" (issue 13),
// and the TorchScript reader caps a file's size by a share of it (file_read.h).
#include <cstdint>
#include <optional>

namespace lj {

// The memory this process may use: the physical memory (sysconf _SC_PHYS_PAGES x
// _SC_PAGESIZE), or the limit of its memory cgroup when lower (v2 memory.max, v1
// memory.limit_in_bytes); empty when unknown.
std::optional<int64_t> PhysicalMemoryBytes();

// The lowest memory limit of this process's cgroups, from /proc/self/cgroup; empty without one
// ("max" in v2, or no memory controller).
std::optional<int64_t> CgroupMemoryLimitBytes();

}  // namespace lj
