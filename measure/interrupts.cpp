#include "measure/interrupts.h"

#include <semaphore.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "db/store.h"
#include "db/vocabulary.h"

namespace lj {
namespace {

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
std::atomic<int> g_interrupts{0};
std::atomic<int64_t> g_run_id{0};  // the run being measured, 0 before one exists
sem_t g_force_exit;                // posted by a second SIGINT

// Only async-signal-safe calls here: lock-free atomics and sem_post.
extern "C" void OnSignal(int signo) {
  g_signal = signo;
  g_stop.store(true);
  if (signo == SIGINT && g_interrupts.fetch_add(1) >= 1) sem_post(&g_force_exit);
}

void StartForceExitWatcher(const std::string& db_path) {
  sem_init(&g_force_exit, 0, 0);
  std::thread([db_path] {
    while (sem_wait(&g_force_exit) != 0) {
    }
    const int64_t run = g_run_id.load();
    std::string marked = "no run had started";
    if (run > 0) {
      try {
        Store store(db_path);
        store.SetRunStatus(run, std::string(ToString(RunStatus::kInterrupted)));
        marked = "run " + std::to_string(run) + " marked interrupted";
      } catch (const std::exception& e) {
        marked = "run " + std::to_string(run) + " not marked: " + e.what();
      }
    }
    std::fprintf(stderr, "measure: second SIGINT: exiting now (%s)\n", marked.c_str());
    std::fflush(stderr);
    std::_Exit(128 + SIGINT);
  }).detach();
}

}  // namespace

const std::atomic<bool>& InstallStopHandlers(const std::string& db_path) {
  for (const int signo : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(signo, OnSignal);
  StartForceExitWatcher(db_path);
  return g_stop;
}

void RememberRun(int64_t run_id) { g_run_id.store(run_id); }

int StoppedExitCode() { return 128 + static_cast<int>(g_signal); }

}  // namespace lj
