#include "measure/malloc_env.h"

#include <unistd.h>

#include <cstdlib>

#include "core/malloc_setting.h"

namespace lj {

void EnsureMallocSetting(const std::string& choice, char** argv) {
  if (choice.empty()) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  const std::string want = TunablesFor(choice, current);  // throws for another choice
  bool changed = want != (current ? current : "");
  if (want.empty()) {
    unsetenv("GLIBC_TUNABLES");
  } else {
    setenv("GLIBC_TUNABLES", want.c_str(), 1);
  }
  if (choice == "default") {
    for (const char* name : kGlibcMallocVariables) {
      if (std::getenv(name) != nullptr) {
        unsetenv(name);
        changed = true;
      }
    }
  }
  if (!changed) return;
  execv("/proc/self/exe", argv);
  // execv failed: go on as started; the run's "malloc" option records what it ran under.
}

}  // namespace lj
