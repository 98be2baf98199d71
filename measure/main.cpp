// measure: per-layer forward/backward time and energy into SQLite. See README.md.
#include <CLI/CLI.hpp>
#include <iostream>

#include "core/errors.h"
#include "db/store.h"
#include "db/store_merge.h"
#include "db/vocabulary.h"
#include "measure/blas_kernel.h"
#include "measure/interrupts.h"
#include "measure/legacy_import.h"
#include "measure/malloc_env.h"
#include "measure/measure_cli.h"
#include "measure/measurement_run.h"
#include "measure/near_anchors.h"
#include "measure/network_run.h"
#include "measure/openmp_env.h"
#include "measure/preflight.h"

namespace {

// Exit status of a measuring path: 0 finished, 1 failed, 128 + signal when stopped by one.
int ExitCode(const std::string& status) {
  if (status == lj::ToString(lj::RunStatus::kFinished)) return 0;
  if (status == lj::ToString(lj::RunStatus::kFailed)) return 1;
  return lj::StoppedExitCode();
}

int Import(const lj::MeasureCommand& c) {
  if (c.import_host.empty()) throw lj::ConfigError("--import-legacy needs --host NAME");
  lj::CheckLegacyDir(c.import_dir);  // before the database is created
  lj::Store store(c.session.db_path);
  std::cout << lj::FormatImportSummary(
      lj::ImportLegacy(c.import_dir, c.import_host, store, c.session.command_line));
  return 0;
}

int Merge(const lj::MeasureCommand& c, const CLI::App& app) {
  for (const char* other : {"--layer", "--sweep", "--net", "--resume", "--continue", "--db",
                            "--import-legacy", "--shard"}) {
    if (app.count(other)) {
      throw lj::ConfigError(std::string("--merge takes no ") + other +
                            ": it only copies runs from IN... into OUT");
    }
  }
  const std::vector<std::string> inputs(c.merge.begin() + 1, c.merge.end());
  for (const lj::MergeSummary& s : lj::MergeDatabases(c.merge.front(), inputs)) {
    std::cout << lj::FormatMergeSummary(s) << "\n";
  }
  std::cout << std::flush;
  return 0;
}

int MeasureNetwork(const lj::MeasureCommand& c, const std::atomic<bool>& stop) {
  const lj::NetworkRunSummary summary = lj::RunNetworkMeasurement(c.net, stop);
  std::cout << lj::FormatNetworkSummary(summary) << std::flush;
  return ExitCode(summary.status);
}

int MeasureLayers(lj::MeasureCommand& c, const std::atomic<bool>& stop) {
  lj::RunOptions& run = c.run;
  if (run.resume && run.continue_campaign) {
    throw lj::ConfigError("--continue resumes its own campaign's run; leave --resume out");
  }
  if (run.sweep_path.empty() && !run.resume && (run.layer.empty() || run.n <= 0)) {
    throw lj::ConfigError(
        "give --layer and --n, --sweep FILE, --net FILE, --resume or --import-legacy DIR");
  }
  if (!run.near_paths.empty()) {
    if (run.layer.empty()) throw lj::ConfigError("--near needs --layer");
    run.near_anchors = lj::AnchorsFromNets(run.near_paths, lj::ParseLayerType(run.layer));
  }
  const lj::RunSummary summary = lj::RunMeasurement(run, stop);
  std::cout << lj::FormatSummary(summary) << std::endl;
  if (summary.status == lj::ToString(lj::RunStatus::kFailed)) {
    std::cerr << "measure: error: run " << summary.run_id << ": no config could be measured ("
              << summary.failed << " failed; their errors are in table failures)" << std::endl;
  }
  return ExitCode(summary.status);
}

}  // namespace

int main(int argc, char** argv) {
  lj::EnsureOpenMpWaitPolicy(argv);  // before any timing; see measure/openmp_env.h
  CLI::App app{"measure: time and energy of single layers (forward and backward) into SQLite"};
  lj::MeasureCommand command;
  lj::AddMeasureOptions(app, command);
  CLI11_PARSE(app, argc, argv);
  lj::EnsureBlasCoretype(command.blas_coretype, argv);    // re-executes when it sets the variable
  lj::EnsureMallocSetting(command.malloc_setting, argv);  // likewise (measure/malloc_env.h)
  if (command.check) {
    std::cout << lj::FormatPreflight(lj::RunPreflightChecks()) << std::flush;
    return 0;
  }
  try {
    command.session.on_run = lj::RememberRun;  // for a second SIGINT (measure/interrupts.h)
    lj::FinishMeasureOptions(app, command, argc, argv);
    const bool layer_run = command.net.net_path.empty() && command.import_dir.empty();
    if (!layer_run && (command.run.continue_campaign || command.run.shard_given)) {
      throw lj::ConfigError(std::string(command.run.continue_campaign ? "--continue" : "--shard") +
                            " works with --layer and --sweep runs, not with " +
                            (command.import_dir.empty() ? "--net" : "--import-legacy"));
    }
    if (!command.merge.empty()) return Merge(command, app);
    if (!command.import_dir.empty()) return Import(command);
    const std::atomic<bool>& stop = lj::InstallStopHandlers(command.session.db_path);
    if (!command.net.net_path.empty()) return MeasureNetwork(command, stop);
    return MeasureLayers(command, stop);
  } catch (const std::exception& e) {
    std::cerr << "measure: error: " << e.what() << std::endl;
    return 1;
  }
}
