// fit: NeuralPower-style per-layer models from measurements (see fit/model_fit.h).
//   fit --db PATH [--db PATH ...] [--host NAME] [--out FILE] [--degree N] [--folds K]
//       [--test-fraction F] [--seed S] [--model nnlasso|loglasso|lasso|maclinear]
//       [--terms capped|full] [--calibration none|sum|median|mean] [--no-envelope]
//       [--residual-correction] [--max-spread 0.25]
//   fit --db PATH [--db PATH ...] [--host NAME] --export-features FILE|-
// For each host in the databases, fits layer type x pass x quantity models and writes one model
// bundle per host (default db/models/<host>.json); prints the held-out metrics table.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/file_write.h"
#include "fit/bundle_fit.h"
#include "fit/feature_export.h"
#include "fit/store_samples.h"

int main(int argc, char** argv) {
  CLI::App app{"fit: per-layer Lasso models of time and energy (NeuralPower-style)", "fit"};
  std::vector<std::string> db_paths;
  std::string host;
  std::string out;
  std::string kind = "nnlasso";
  std::string terms = "capped";
  std::string export_path;
  lj::FitOptions options;
  app.add_option("--db", db_paths, "SQLite store(s) written by measure (repeatable)")->required();
  app.add_option("--host", host, "fit only this hostname");
  app.add_option("--out", out, "bundle file (default db/models/<host>.json; one host only)");
  app.add_option("--degree", options.degree,
                 "polynomial degree (default 3 for conv2d and maxpool2d, 2 for linear)")
      ->check(CLI::Range(1, 6));
  app.add_option("--folds", options.folds, "k of k-fold cross-validation for alpha")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  app.add_option("--test-fraction", options.test_fraction,
                 "share of rows held out for the reported error, never used for alpha")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", options.seed, "seed of the held-out split and the folds")
      ->capture_default_str();
  app.add_option("--model", kind,
                 "nnlasso (default, non-negative), loglasso, lasso (the prototype's) or "
                 "maclinear (the baseline: NNLS on MACs and tensor sizes)")
      ->capture_default_str();
  bool no_envelope = false, residuals = false;
  std::string calibration = "none";
  app.add_option("--loss-exponent", options.loss_exponent,
                 "nnlasso/maclinear rows weigh 1/y^k in the loss: 2 relative error, 1 in "
                 "proportion to size, 0 absolute error")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 2.0));
  app.add_option("--calibration", calibration,
                 "rescale nnlasso/maclinear models so that on the training rows sum(measured) = "
                 "sum(predicted) (sum), or median / mean(measured / predicted) = 1, or none")
      ->capture_default_str();
  app.add_flag("--no-envelope", no_envelope,
               "do not clamp predictions to the measured range of cost per MAC and byte");
  app.add_option("--max-spread", options.max_spread,
                 "leave out samples whose trials' relative standard deviation exceeds this "
                 "(0 keeps all)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_flag("--residual-correction", residuals,
               "correct predictions by the residuals of nearby training rows "
               "(fit/residual_correction.h; off by default, JOURNAL.md 2026-12-02)");
  app.add_option("--terms", terms,
                 "capped (default: exponents within MACs') or full (NeuralPower's polynomial)")
      ->capture_default_str();
  app.add_option("--export-features", export_path,
                 "write the features of every stored config as JSON to FILE (- for stdout) "
                 "instead of fitting (fit/feature_export.h)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    options.kind = lj::ParseModelKind(kind);
    options.calibration = lj::ParseCalibration(calibration);
    options.envelope = !no_envelope;
    options.residual_correction = residuals;
    options.term_set = lj::ParseTermSet(terms);
    const auto hosts = lj::ReadHostSamples(db_paths, host);
    if (hosts.empty()) {
      throw lj::ConfigError(host.empty()
                                ? "no samples in the given databases"
                                : "no samples of host '" + host + "' in the given databases");
    }
    if (!export_path.empty()) {
      std::vector<lj::LayerConfig> configs;
      for (const auto& [name, data] : hosts) {
        for (const lj::PassSample& s : data.samples) configs.push_back(s.config);
      }
      const std::string text = lj::ExportFeatures(configs).dump() + "\n";
      if (export_path == "-") {
        std::cout << text;
      } else {
        lj::WriteTextFileAtomically(export_path, text);
        spdlog::info("wrote the features of {} samples to {}", configs.size(), export_path);
      }
      return 0;
    }
    if (!out.empty() && hosts.size() > 1) {
      throw lj::ConfigError("--out names one file but the databases hold " +
                            std::to_string(hosts.size()) + " hosts; add --host NAME");
    }
    std::vector<lj::ModelBundle> bundles;
    for (const auto& [name, data] : hosts) {
      spdlog::info("{}: fitting {} samples ({} model kind)", name, data.samples.size(), kind);
      lj::ModelBundle bundle = lj::FitBundle(data.header, data.samples, options,
                                             [](const std::string& w) { spdlog::warn("{}", w); });
      const std::string path = out.empty() ? lj::DefaultBundlePath(name) : out;
      lj::SaveBundle(bundle, path);
      spdlog::info("{}: wrote {} models to {}", name, bundle.models.size(), path);
      bundles.push_back(std::move(bundle));
    }
    std::cout << lj::MetricsTable(bundles);
  } catch (const std::exception& e) {
    std::cerr << "fit: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
