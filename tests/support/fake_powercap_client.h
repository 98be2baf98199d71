#pragma once
// Helpers for tests that run code inside fake_powercap's emulated RAPL tree (see
// fake_powercap.cpp): run a command and capture its output, find the emulator, and read its
// state file for a consistent (counters, elapsed time) snapshot.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "measure/energy_meter.h"

namespace lj::testing {

// fake_powercap's exit status when it cannot emulate RAPL (not root, no mount namespaces).
inline constexpr int kFakePowercapCannotEmulate = 77;

struct CommandResult {
  int exit_code = -1;  // exit status, or 128 + signal number if killed
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) with extra environment variables set, waits for it and
// returns its exit status and output. Throws std::runtime_error if it cannot be started.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& extra_env = {});

// $LJ_BIN_DIR/fake_powercap (LJ_BIN_DIR is set by lj_add_gtest). Throws std::runtime_error
// naming the variable when it is unset.
std::string FakePowercapPath();

// Path of the running executable (/proc/self/exe resolved).
std::string SelfExePath();

// Runs `fake_powercap <emulator_args> -- <this test binary> --gtest_filter=<inner_filter>` with
// inner_env_var=1 set, so that the inner run can tell it is inside the emulated tree.
CommandResult RunSelfUnderFakePowercap(const std::vector<std::string>& emulator_args,
                                       const std::string& inner_filter,
                                       const std::string& inner_env_var);

// True when this process runs under fake_powercap (LJ_FAKE_POWERCAP is set).
bool InsideFakePowercap();

// One consistent reading: counters that all correspond to the emulator's elapsed_ns.
struct FakeSnapshot {
  EnergyCounters counters;
  uint64_t elapsed_ns = 0;  // emulator time since its tree was built
};

// Reads the meter between two reads of the emulator's state file (seqlock), retrying until no
// tick happened in between. Throws std::runtime_error outside fake_powercap.
FakeSnapshot ReadConsistent(EnergyMeter& meter);

}  // namespace lj::testing
