// fit: NeuralPower-style per-layer models from measurements (see fit/model_fit.h).
//   fit --db PATH [--db PATH ...] [--host NAME] [--out FILE] [--degree N] [--folds K]
//       [--test-fraction F] [--seed S] [--model nnlasso|gbtree|loglasso|lasso|maclinear]
//       [--terms capped|full] [--calibration none|sum|median|mean] [--no-envelope]
//       [--residual-correction] [--max-spread 0.25] [--include-contended]
//   fit --db PATH [--db PATH ...] [--host NAME] --export-features FILE|-
// For each host in the databases, fits layer type x pass x quantity models and writes one model
// bundle per host (default db/models/<host>.json); prints the held-out metrics table.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/file_write.h"
#include "fit/bundle_fit.h"
#include "fit/feature_export.h"
#include "fit/fit_cli.h"
#include "fit/metrics.h"
#include "fit/store_samples.h"

int main(int argc, char** argv) {
  CLI::App app{"fit: per-layer Lasso models of time and energy (NeuralPower-style)", "fit"};
  lj::FitCommand c;
  lj::AddFitOptions(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    lj::FinishFitOptions(c);
    std::map<std::string, lj::DriftCorrection> drift;
    int64_t uncorrected = 0;
    if (c.drift_correction) {
      drift = lj::ReadDriftCorrections(c.db_paths, c.host);
      if (drift.empty()) spdlog::warn("--drift-correction: no speed probes; times as measured");
    }
    const auto hosts = lj::ReadHostSamples(
        c.db_paths, c.host, c.drift_correction ? &drift : nullptr, &uncorrected, c.malloc);
    if (uncorrected > 0) {
      spdlog::warn(
          "--drift-correction: {} samples had no speed probe within {:g} minutes and keep "
          "their measured time",
          uncorrected, lj::DriftCorrection::kDefaultMaxGap_s / 60);
    }
    if (hosts.empty()) {
      throw lj::ConfigError((c.host.empty()
                                 ? "no samples in the given databases"
                                 : "no samples of host '" + c.host + "' in the given databases") +
                            (c.malloc.empty() ? "" : " under --malloc '" + c.malloc + "'"));
    }
    if (!c.export_path.empty()) {
      std::vector<lj::LayerConfig> configs;
      for (const auto& [name, data] : hosts) {
        for (const lj::PassSample& s : data.samples) configs.push_back(s.config);
      }
      const std::string text = lj::ExportFeatures(configs).dump() + "\n";
      if (c.export_path == "-") {
        std::cout << text;
      } else {
        lj::WriteTextFileAtomically(c.export_path, text);
        spdlog::info("wrote the features of {} samples to {}", configs.size(), c.export_path);
      }
      return 0;
    }
    if (!c.out.empty() && hosts.size() > 1) {
      throw lj::ConfigError("--out names one file but the databases hold " +
                            std::to_string(hosts.size()) + " hosts; add --host NAME");
    }
    const auto framework_memory = lj::ReadFrameworkMemory(c.db_paths, c.host);
    const auto first_touch = lj::ReadFirstTouchCosts(c.db_paths, c.host);
    std::vector<lj::ModelBundle> bundles;
    for (const auto& [name, data] : hosts) {
      spdlog::info("{}: fitting {} samples ({} model kind)", name, data.samples.size(), c.kind);
      lj::ModelBundle bundle = lj::FitBundle(data.header, data.samples, c.options,
                                             [](const std::string& w) { spdlog::warn("{}", w); });
      const auto framework = framework_memory.find(name);
      if (framework != framework_memory.end()) {
        bundle.framework_memory = framework->second;
      } else {
        spdlog::warn(
            "{}: no run of the framework-memory probes (configs/nets/probes/); predicted peak "
            "memory will count tensors only",
            name);
      }
      if (const auto touch = first_touch.find(name); touch != first_touch.end()) {
        bundle.first_touch_s_per_page = lj::Median(touch->second);
      }
      const std::string path = c.out.empty() ? lj::DefaultBundlePath(name) : c.out;
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
