// libFuzzer target: the legacy prototype's CSV files (measure/legacy_import.h), as
// `measure --import-legacy DIR` reads them before it creates the database. The first byte picks
// the file (conv.csv, linear.csv or pool.csv), the rest is its content, written into a scratch
// directory that CheckLegacyDir parses and checks. Any input must pass or throw ConfigError.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "measure/legacy_import.h"

namespace {

const std::string& ScratchDir() {
  static const std::string dir = [] {
    char path[] = "/tmp/lj_fuzz_legacy_XXXXXX";
    if (mkdtemp(path) == nullptr) std::abort();
    return std::string(path);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kFiles[] = {"conv.csv", "linear.csv", "pool.csv"};
  const std::string dir = ScratchDir();
  for (const char* f : kFiles) std::remove((dir + "/" + f).c_str());
  const std::string path = dir + "/" + kFiles[data[0] % 3];
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) std::abort();
  if (size > 1 && std::fwrite(data + 1, 1, size - 1, out) != size - 1) std::abort();
  std::fclose(out);
  try {
    lj::CheckLegacyDir(dir);
  } catch (const lj::ConfigError&) {
    // the expected outcome for bad input
  }
  return 0;
}
