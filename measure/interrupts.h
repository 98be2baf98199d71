#pragma once
// How a long-running measure stops. The first SIGINT, SIGTERM, SIGHUP (a closed ssh session)
// or SIGPIPE (a closed pipe on stdout/stderr) sets the stop flag: the current execution
// finishes and the run is marked interrupted, resumable with --resume. A second SIGINT (an
// impatient Ctrl-C during a long execution) marks the remembered run interrupted on a
// connection of its own and exits with 130 at once, without waiting for the measuring thread
// (a config's rows are one transaction, so whatever it was writing is rolled back, never half
// there).
#include <atomic>
#include <cstdint>
#include <string>

namespace lj {

// Installs the handlers and the second-SIGINT watcher for the database at db_path; returns the
// stop flag to poll. Call once, before measuring.
const std::atomic<bool>& InstallStopHandlers(const std::string& db_path);

// The run a second SIGINT marks interrupted (SessionOptions::on_run calls this).
void RememberRun(int64_t run_id);

// 128 + the signal that stopped the run (the shell's convention), 128 if none did.
int StoppedExitCode();

}  // namespace lj
