#pragma once
// Description of the machine a run measures on (table hosts).
#include <string>

#include "db/store.h"

namespace lj {

// Reads hostname (gethostname), CPU model ("model name" of /proc/cpuinfo), sockets (distinct
// "physical id") and physical cores (distinct (physical id, core id) pairs). Fields that cannot
// be read are "unknown" / 0; never throws. threads_used, torch_version, blas and rapl_domains
// are left for the caller to fill in.
HostInfo DetectHost();

}  // namespace lj
