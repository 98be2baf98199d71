#pragma once
// Running the real binaries from integration tests.
#include <sys/types.h>

#include <string>
#include <vector>

namespace lj::test {

struct CommandResult {
  int exit_code = -1;  // WEXITSTATUS, or 128 + signal if killed
  std::string output;  // stdout and stderr together
};

// Runs argv (argv[0] is a path) to completion, capturing its output.
CommandResult RunCommand(const std::vector<std::string>& argv);

// Starts argv in the background with output to `log_path`; returns its pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path);
// Waits up to timeout_s for pid; returns its exit code (128 + signal if killed), or -1 on
// timeout (the process is then killed with SIGKILL and reaped).
int WaitFor(pid_t pid, double timeout_s);

// <build>/bin/<name>, from the LJ_BIN_DIR environment variable set by CMake.
std::string Bin(const std::string& name);
// <repo>/<relative>, from LJ_SOURCE_DIR.
std::string Source(const std::string& relative);
// A fresh empty directory under /tmp, unique to this process and call; removed (with its
// contents) when the process exits.
std::string ScratchDir();
std::string ReadText(const std::string& path);
void WriteText(const std::string& path, const std::string& text);

// Runs one SQL query returning a single integer (e.g. SELECT COUNT(*) ...).
long long QueryInt(const std::string& db_path, const std::string& sql);
std::string QueryText(const std::string& db_path, const std::string& sql);

}  // namespace lj::test
