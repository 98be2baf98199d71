#pragma once
// fit's command line (CLI11): its options and their conversion into FitOptions.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "fit/model_fit.h"

namespace lj {

struct FitCommand {
  std::vector<std::string> db_paths;
  std::string host;         // "" = every host in the databases
  std::string malloc;       // --malloc: "" = every run (one setting per host), else that one
  std::string out;          // "" = db/models/<host>.json
  std::string export_path;  // --export-features: "" = fit
  FitOptions options;
  // As given, converted by FinishFitOptions:
  std::string kind = "nnlasso";
  std::string terms = "capped";
  std::string calibration = "none";
  std::string extrapolation{ToString(FitOptions{}.extrapolation)};
  bool no_envelope = false;
  bool residuals = false;
  bool drift_correction = false;  // --drift-correction (fit/drift_correction.h)
};

void AddFitOptions(CLI::App& app, FitCommand& command);
// Throws ConfigError for an unknown --model, --calibration, --extrapolation or --terms.
void FinishFitOptions(FitCommand& command);

}  // namespace lj
