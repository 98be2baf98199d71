#include "tests/integration/process_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/test_files.h"

namespace lj::test {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

[[noreturn]] void ExecOrDie(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

}  // namespace

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    ExecOrDie(argv);
  }
  return pid;
}

int WaitFor(pid_t pid, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeStatus(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

CommandResult RunCommand(const std::vector<std::string>& argv) {
  const std::string log = ScratchDir() + "/out.log";
  CommandResult result;
  result.exit_code = WaitFor(Spawn(argv, log), 600);
  result.output = ReadText(log);
  return result;
}

std::string Bin(const std::string& name) {
  const char* dir = std::getenv("LJ_BIN_DIR");
  return std::string(dir ? dir : "build/bin") + "/" + name;
}

std::string Source(const std::string& relative) {
  const char* dir = std::getenv("LJ_SOURCE_DIR");
  return std::string(dir ? dir : ".") + "/" + relative;
}

namespace {
// Directories made by ScratchDir(), removed when the test process exits. Never destroyed, so it
// outlives the atexit handler that reads it.
std::vector<std::string>& CreatedDirs() {
  static auto* dirs = new std::vector<std::string>;
  return *dirs;
}
void RemoveCreatedDirs() {
  for (const std::string& dir : CreatedDirs()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}
}  // namespace

std::string ScratchDir() {
  static std::atomic<int> counter{0};
  static const bool cleanup_registered = std::atexit(RemoveCreatedDirs) == 0;
  (void)cleanup_registered;
  const std::string dir = test::MakeTempDir("lj_test_" + std::to_string(getpid()) + "_" +
                                            std::to_string(counter++) + "_");
  CreatedDirs().push_back(dir);
  return dir;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

namespace {
template <typename F>
void Query(const std::string& db_path, const std::string& sql, F&& on_row) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    const std::string err = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("bad query " + sql + ": " + err);
  }
  if (sqlite3_step(stmt) == SQLITE_ROW) on_row(stmt);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}
}  // namespace

long long QueryInt(const std::string& db_path, const std::string& sql) {
  long long value = -1;
  Query(db_path, sql, [&](sqlite3_stmt* s) { value = sqlite3_column_int64(s, 0); });
  return value;
}

std::string QueryText(const std::string& db_path, const std::string& sql) {
  std::string value;
  Query(db_path, sql, [&](sqlite3_stmt* s) {
    const auto* text = sqlite3_column_text(s, 0);
    value = text ? reinterpret_cast<const char*>(text) : "NULL";
  });
  return value;
}

}  // namespace lj::test
