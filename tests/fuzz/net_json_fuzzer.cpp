// libFuzzer target: net.json text -> ParseNetSpec (net/net_spec.h), the parser and validator
// that predict and measure --net run before anything is built. Any input must either parse or
// throw ConfigError: no crash, no other exception, no sanitizer report, no hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/json_reader.h"
#include "net/net_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lj::NetSpec spec = lj::ParseNetSpec(lj::ParseJsonText(text, "fuzz.json"), "fuzz.json");
    (void)spec;
  } catch (const lj::ConfigError&) {
    // the expected outcome for bad input
  }
  return 0;
}
