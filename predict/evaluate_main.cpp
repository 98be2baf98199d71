// evaluate: how well each model kind predicts real networks, leave one network out
// (predict/evaluation.h: held-out rows, real-network layers, networks, composition gap, and the
// maclinear baseline).
//   evaluate --db PATH [--db PATH ...] [--host NAME] [--kinds nnlasso,maclinear,...]
//            [--folds K] [--terms capped|full] [--calibration none|sum|median|mean] [--no-envelope]
//            [--extrapolation boundary|model]
//            [--residual-correction] [--max-spread 0.25] [--drift-correction] [--nets-dir DIR]
//            [--malloc default|keep-freed|SETTING] [--json]
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "predict/evaluation.h"

int main(int argc, char** argv) {
  CLI::App app{"evaluate: per-layer models against real networks, leave one network out",
               "evaluate"};
  std::vector<std::string> db_paths;
  std::string host, kinds = "nnlasso,maclinear", terms = "capped";
  bool json = false, no_envelope = false, residuals = false;
  lj::EvaluationOptions options;
  options.fit.folds = 5;
  app.add_option("--db", db_paths, "SQLite store(s) written by measure (repeatable)")->required();
  app.add_option("--host", host, "evaluate only this hostname");
  app.add_option("--malloc", options.malloc,
                 "only the runs measured under this malloc setting: default, keep-freed or the "
                 "text a run recorded (as fit --malloc)");
  app.add_option("--kinds", kinds,
                 "model kinds to compare, comma separated; the first is the one under test "
                 "(nnlasso, gbtree, loglasso, lasso, maclinear)")
      ->capture_default_str();
  app.add_option("--folds", options.fit.folds, "k of k-fold cross-validation for alpha")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  app.add_option("--terms", terms, "polynomial terms: capped or full (NeuralPower's)")
      ->capture_default_str();
  std::string calibration = "none";
  app.add_option("--calibration", calibration, "as fit --calibration")->capture_default_str();
  app.add_option("--loss-exponent", options.fit.loss_exponent, "as fit --loss-exponent")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 2.0));
  app.add_flag("--no-envelope", no_envelope, "as fit --no-envelope");
  std::string extrapolation{lj::ToString(options.fit.extrapolation)};
  app.add_option("--extrapolation", extrapolation, "as fit --extrapolation")->capture_default_str();
  app.add_flag("--residual-correction", residuals, "as fit --residual-correction");
  app.add_option("--network-row-weight", options.fit.network_row_weight,
                 "as fit --network-row-weight")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 1e3));
  app.add_option("--max-spread", options.fit.max_spread, "as fit --max-spread")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_flag("--drift-correction", options.drift_correction, "as fit --drift-correction");
  app.add_flag("--subtract-fault-time", options.fit.subtract_fault_time,
               "as fit --subtract-fault-time");
  app.add_option("--nets-dir", options.nets_dir,
                 "net.json files of networks whose definition the database lacks")
      ->capture_default_str();
  app.add_flag("--json", json, "print JSON instead of Markdown");
  CLI11_PARSE(app, argc, argv);

  try {
    options.kinds.clear();
    std::istringstream list(kinds);
    for (std::string item; std::getline(list, item, ',');) {
      options.kinds.push_back(lj::ParseModelKind(item));
    }
    if (options.kinds.empty()) throw lj::ConfigError("--kinds: give at least one model kind");
    options.fit.term_set = lj::ParseTermSet(terms);
    options.fit.calibration = lj::ParseCalibration(calibration);
    options.fit.envelope = !no_envelope;
    options.fit.extrapolation = lj::ParseExtrapolation(extrapolation);
    options.fit.residual_correction = residuals;
    for (const std::string& path : db_paths) {
      if (!std::filesystem::is_regular_file(path)) {
        throw lj::ConfigError(path + ": no such database");
      }
    }
    const auto hosts = lj::Evaluate(db_paths, host, options);
    if (json) {
      std::cout << lj::ToJson(hosts).dump(2) << std::endl;
    } else {
      std::cout << lj::FormatEvaluation(hosts) << std::flush;
    }
  } catch (const std::exception& e) {
    std::cerr << "evaluate: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
