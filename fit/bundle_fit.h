#pragma once
// Fits every model of one host: layer type x pass x quantity (time_s; energy_j and power_w where
// the rows carry energy), and formats the metrics table the fit tool prints.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/layer_config.h"
#include "fit/model_bundle.h"
#include "fit/model_fit.h"

namespace lj {

// One measured pass of one config (a store sample, without SQL).
struct PassSample {
  LayerConfig config;
  Pass pass = Pass::kForward;
  double time_s = 0;  // per execution on the whole batch
  // Standard deviation of the per-execution time over the sample's trials, divided by time_s
  // (samples.time_std_s / time_s; 0 when unknown, e.g. imported rows).
  double time_spread = 0;
  // Measured while other processes took more than measure's --max-contention of the CPU
  // (samples.contended); FitBundle leaves it out unless FitOptions::include_contended.
  bool contended = false;
  std::optional<double> energy_j;  // package energy per execution; absent without a meter
  std::string meter;               // "rapl", "none", "pyrapl", ...
  // Minor page faults per execution (samples.minor_faults, measure/page_faults.h); absent in
  // rows before schema 6 and imported ones.
  std::optional<double> minor_faults;
  // Samples of `measure --net --layers` (run kind "net-layers"): the network whose training
  // step this config belongs to, and the paths in that network that use it ("features.3",
  // "layer1.0 grad accumulation", "loss", "optimizer step"; from samples.notes). Empty for
  // random, sweep and imported samples.
  std::string network;
  std::vector<std::string> network_paths;
  // Samples of `measure --near` runs drawn near a network's layer (samples.notes "near
  // <network> <path>"): that network. A leave-one-network-out fit for it leaves them out too.
  std::string near_network;
};

// Fits the models of `samples` (any mix of layer types and passes) into a copy of `header`
// (host fields, sources and versions are kept; created_at and tool_version are set). For each
// layer type (AllLayerTypes) and pass (backward only where HasBackwardPass: sgd and adam have a
// forward model only): a time_s model from all rows, and energy_j and power_w (energy / time)
// models from the rows with energy. Samples whose trials disagree (time_spread >
// options.max_spread, when that is > 0) are left out of every fit, and `warn` says how many per
// type and pass. A model with fewer than MinRows(options) usable rows is skipped and `warn` is
// called with a line saying which and why.
ModelBundle FitBundle(const ModelBundle& header, const std::vector<PassSample>& samples,
                      const FitOptions& options,
                      const std::function<void(const std::string&)>& warn = {});

// Fixed-width table, one line per model: host, layer, pass, quantity, kind, n_train, n_test,
// terms kept / total, alpha, and the held-out MAPE, RMSPE, R^2, share within +-10 %, min
// prediction ("-" where no rows were held out).
std::string MetricsTable(const std::vector<ModelBundle>& bundles);

// ISO-8601 UTC time now, e.g. "2025-04-28T12:34:56Z".
std::string UtcNow();

}  // namespace lj
