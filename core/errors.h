#pragma once
// Exception types shared by all layerjoule libraries. Each main catches once and prints
// "<tool>: error: <what>" with a non-zero exit (see ../shared/STYLE.md, "Errors").
#include <stdexcept>
#include <string>

namespace lj {

// Bad user input: a bounds, sweep, net or model file, or a command-line value.
// what() names the file, the key or layer, and the offending value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An energy meter (RAPL through libpowercap) could not be opened or read.
// what() names the powercap zone or path, the cause and, where known, the fix.
class MeterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The SQLite store failed or refused a database (e.g. newer schema version).
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lj
