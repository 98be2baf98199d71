#pragma once
// The message of the ConfigError a call throws, for tests of error messages.
#include <string>

#include "core/errors.h"

namespace lj::test {

// What f() throws as ConfigError; "" when it returns normally (other exceptions propagate).
template <typename F>
std::string ConfigErrorOf(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace lj::test
