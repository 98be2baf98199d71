#include "tests/support/fake_powercap_client.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace lj::testing {
namespace {

struct State {
  uint64_t seq = 0;
  uint64_t elapsed_ns = 0;
};

State ReadState(int fd) {
  char buf[64];
  const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) throw std::runtime_error("cannot read fake_powercap state file");
  buf[n] = '\0';
  State s;
  if (std::sscanf(buf, "%" SCNu64 " %" SCNu64, &s.seq, &s.elapsed_ns) != 2) {
    throw std::runtime_error(std::string("bad fake_powercap state: '") + buf + "'");
  }
  return s;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& extra_env) {
  if (argv.empty()) throw std::runtime_error("RunCommand: empty argv");
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe: " + std::string(strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    for (const auto& [name, value] : extra_env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(pipe_fds[1]);
  CommandResult result;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string FakePowercapPath() {
  const char* bin_dir = std::getenv("LJ_BIN_DIR");
  if (bin_dir == nullptr || *bin_dir == '\0') {
    throw std::runtime_error("LJ_BIN_DIR is not set (run the test through ctest)");
  }
  return std::string(bin_dir) + "/fake_powercap";
}

std::string SelfExePath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) throw std::runtime_error("readlink /proc/self/exe: " + std::string(strerror(errno)));
  return std::string(buf, static_cast<size_t>(n));
}

CommandResult RunSelfUnderFakePowercap(const std::vector<std::string>& emulator_args,
                                       const std::string& inner_filter,
                                       const std::string& inner_env_var) {
  std::vector<std::string> argv = {FakePowercapPath()};
  argv.insert(argv.end(), emulator_args.begin(), emulator_args.end());
  argv.push_back("--");
  argv.push_back(SelfExePath());
  argv.push_back("--gtest_filter=" + inner_filter);
  return RunCommand(argv, {{inner_env_var, "1"}});
}

bool InsideFakePowercap() { return std::getenv("LJ_FAKE_POWERCAP") != nullptr; }

FakeSnapshot ReadConsistent(EnergyMeter& meter) {
  const char* path = std::getenv("LJ_FAKE_POWERCAP");
  if (path == nullptr) throw std::runtime_error("not running under fake_powercap");
  const int fd = open(path, O_RDONLY);
  if (fd < 0) throw std::runtime_error(std::string("open ") + path + ": " + strerror(errno));
  for (int attempt = 0; attempt < 100000; ++attempt) {
    const State before = ReadState(fd);
    if (before.seq % 2 != 0) continue;  // a tick is writing counters
    FakeSnapshot snapshot;
    snapshot.counters = meter.Read();
    const State after = ReadState(fd);
    if (after.seq == before.seq) {
      close(fd);
      snapshot.elapsed_ns = before.elapsed_ns;
      return snapshot;
    }
  }
  close(fd);
  throw std::runtime_error("no consistent fake_powercap snapshot after 100000 attempts");
}

}  // namespace lj::testing
