// libFuzzer target: sweep file text -> ParseSweep and ExpandSweep (core/sweep.h), as
// `measure --sweep FILE` does before writing. Any input must parse or throw ConfigError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/json_reader.h"
#include "core/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lj::SweepSpec spec = lj::ParseSweep(lj::ParseJsonText(text, "fuzz.json"), "fuzz.json");
    (void)lj::ExpandSweep(spec);
  } catch (const lj::ConfigError&) {
    // the expected outcome for bad input
  }
  return 0;
}
