#pragma once
// The report `predict` prints for a NetworkPrediction (predict/predictor.h): a text report
// for people and the same content as JSON (--json). No LibTorch, no SQLite.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "predict/predictor.h"

namespace lj {

// Text report: the run (network, batch, input, steps, epochs, bundle), a per-layer table
// (path, type, output shape, MACs, forward and backward time, and energy when the bundle has
// energy models, status) ending with the rows "loss" and "optimizer step", totals per batch
// (forward, loss, backward, optimizer, total), per epoch and for the whole training (seconds, J,
// Wh, kWh; ">=" and "LOWER BOUND" where something is missing), inference per sample,
// coverage, the unmodelled list and one warning per extrapolated layer. Without energy
// models it says "no energy model: the data had no meter". `bundle_path` is shown as the
// models' source.
std::string FormatPrediction(const NetworkPrediction& prediction, const std::string& bundle_path);

// {"network": {"name", "input": [C, H, W] (token ids: [S]), "input_ids" (true for token ids),
//              "batch_size", "dataset_size", "epochs", "steps_per_epoch", "optimizer"},
//  "bundle": {"path", "host", "has_energy_models"},
//  "layers": [{"path", "type", "input_shape", "output_shape", "macs", "parameter_count",
//              "config" (or null), "forward_time_s", "forward_energy_j", "backward_time_s",
//              "backward_energy_j", "status", "reason" (unmodelled), "outside" (extrapolated),
//              "grad_accumulations" (core ToJson each, only when any)}],
//  "loss", "optimizer_step": one object each as in "layers",
//  "per_batch" / "per_epoch" / "training": {"forward_time_s", "loss_time_s", "backward_time_s",
//      "optimizer_time_s", "time_s", "forward_energy_j", "loss_energy_j", "backward_energy_j",
//      "optimizer_energy_j", "energy_j", "lower_bound", "energy_lower_bound"}
//      (training adds "wh" and "kwh"; per_epoch adds "steps"),
//  "inference_per_sample": {"time_s", "energy_j"},
//  "coverage": {"layers_total", "layers_modelled", "layers_extrapolated", "layers_unmodelled",
//               "layers_no_cost", "layer_share", "macs_total", "macs_modelled", "macs_share"},
//  "lower_bound", "unmodelled": [...], "warnings": [...]}
// Unknown values (no model, no energy model) are null, never 0.
nlohmann::json ToJson(const NetworkPrediction& prediction, const std::string& bundle_path);

// Human units with 4 significant digits: "812.3 us", "1.234 ms", "12.35 s", "3.5 min",
// "27.78 h". Empty optional: "-".
std::string FormatSeconds(std::optional<double> seconds);
// "15.2 uJ", "3.1 mJ", "12.35 J", "4200 J", "42 kJ", "12.5 MJ" (J up to 10 kJ). Empty
// optional: "-".
std::string FormatJoules(std::optional<double> joules);
// "0", "850", "7.53 K", "416.4 M", "1.82 G", "3.6 T".
std::string FormatMacs(double macs);

}  // namespace lj
