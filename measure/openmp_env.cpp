#include "measure/openmp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace lj {

void EnsureOpenMpWaitPolicy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
  // execv failed: go on with the policy unset in libgomp (already loaded); the host row says so.
}

std::string OpenMpWaitPolicy() {
  const char* value = std::getenv("OMP_WAIT_POLICY");
  return value ? std::string("OMP_WAIT_POLICY=") + value : "OMP_WAIT_POLICY unset";
}

}  // namespace lj
