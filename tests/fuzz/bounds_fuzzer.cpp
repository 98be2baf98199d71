// libFuzzer target: bounds file text -> ParseBounds (core/bounds.h), then the first configs of
// its stream (ConfigSampler), as `measure --layer T --bounds FILE` does before writing. Any
// input must parse or throw ConfigError: no crash, no other exception, no sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bounds.h"
#include "core/config_sampler.h"
#include "core/errors.h"
#include "core/json_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lj::LayerBounds bounds =
        lj::ParseBounds(lj::ParseJsonText(text, "fuzz.json"), "fuzz.json");
    lj::SamplingCaps caps;
    caps.max_forward_macs = bounds.max_forward_macs;
    caps.max_memory_bytes = 1e9;
    const lj::ConfigSampler sampler(bounds, 1, caps);
    for (int64_t i = 0; i < 3; ++i) sampler.Sample(i);
  } catch (const lj::ConfigError&) {
    // the expected outcome for bad input
  }
  return 0;
}
