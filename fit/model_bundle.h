#pragma once
// A model bundle: the fitted models of one host (default path db/models/<host>.json), one per
// layer type x pass x quantity, with everything needed to predict and to judge a prediction:
// terms by readable name, coefficients and scaling, training bounds, held-out metrics, and the
// provenance of the data (meter, RAPL domain, torch version, BLAS, tool version).
//
// A model predicts
//     z = intercept + sum_j coefficient_j * (term_j(config) - center_j) / scale_j
//     value = z                (target_transform "none")
//     value = exp(z)           (target_transform "log")
// in the unit of its quantity (time_s: seconds, energy_j: joules, power_w: watts), for one
// execution of the layer on the whole batch. Terms are named as in fit/features.h.
//
// JSON layout (format "layerjoule-model-bundle", format_version 2; version 1 bundles are refused:
// their conv2d terms use in_channels where version 2 uses in_channels_per_group):
// {"format":..., "format_version":1, "tool_version":"0.1.0", "created_at":"...Z",
//  "host":{"hostname":..., "cpu_model":..., "sockets":..., "cores":..., "threads_used":...,
//          "torch_version":..., "blas":..., "rapl_domains":...,
//          "malloc":...},                (optional: the runs' malloc setting,
//                                    core/malloc_setting.h; absent when they recorded none)
//  "sources":["db/x.sqlite"],
//  "framework_memory":{"base_bytes":B,"conv2d_bytes":C,"runs":R},   (optional, and C in it:
//                                    FrameworkMemory)
//  "first_touch_s_per_page":T,      (optional: the host's median first-touch probe, seconds)
//  "fault_time_removed_s_per_fault":F,  (optional: fit --subtract-fault-time took F seconds per
//                                    minor page fault out of every sample: compute-only models)
//  "models":[{"layer":"conv2d","pass":"forward","quantity":"time_s","kind":"nnlasso",
//     "degree":3,"term_set":"capped_polynomial","target_transform":"none",
//     "meter":"pyrapl","rapl_domain":"package",
//     "alpha":...,"intercept":...,"n_terms_total":81,
//     "terms":[{"name":"macs","coefficient":...,"center":0,"scale":...}, ...],   (non-zero only)
//     "bounds":{"batch_size":[min,max], ..., "macs":[min,max], ...},
//     "counts":{"rows":1000,"dropped":0,"train":800,"test":200,"outliers":3},
//     "cv":{"folds":10,"loss":"...","mse":...,"seed":1},
//     "metrics":{"train":{...},"test":{...}},     (metrics: see fit/metrics.h; "test" absent
//                                                    when no rows were held out)
//     "calibration":1.07,                            (optional, default 1)
//     "max_spread":0.25,                             (optional, default 0: FitOptions)
//     "envelope":{"intercept":...,"terms":[{"name":"macs","coefficient":...}],
//                 "ratio":[min,max]},                 (optional)
//     "residual_correction":{"bandwidth":h,"prior_weight":1,"points":[[ln base features]],
//                 "log_residuals":[...]},            (optional, fit/residual_correction.h)
//     "trees":{"base":b,"trees":[[[feature,threshold,left,right,value],...],...]}}]}
//                                   (gbtree only, with an envelope: value = proxy x exp(F),
//                                    features indexed as in FeatureNames; fit/boosted_trees.h)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/layer_config.h"
#include "fit/boosted_trees.h"
#include "fit/features.h"
#include "fit/metrics.h"
#include "fit/residual_correction.h"

namespace lj {

enum class Quantity { kTimeS, kEnergyJ, kPowerW };
// "time_s", "energy_j", "power_w".
std::string_view ToString(Quantity q);
Quantity ParseQuantity(std::string_view name);  // throws ConfigError

// nnlasso: non-negative Lasso on non-negative terms, scaled but not centred, fitted to relative
//          error (rows weighted 1/y^2), non-negative intercept: predictions >= 0 everywhere and
//          non-decreasing in every feature. The default.
// loglasso: Lasso on standardised log features for log y: a product of powers, always > 0.
// lasso:   plain Lasso on standardised terms for y (the prototype; can predict < 0).
// maclinear: the baseline every other kind must beat (issue 10): non-negative least squares of
//          y on MACs, input, output and weight elements plus a non-negative intercept
//          (MacLinearTerms), fitted to relative error like nnlasso, no regularisation.
// gbtree:  the roofline proxy of the envelope (a relative-error non-negative fit on MACs and
//          tensor sizes) times exp(F), F gradient-boosted regression trees on every feature
//          fitted to ln(y / proxy) (fit/boosted_trees.h): cost = work and traffic x a learnt
//          efficiency, which outside the training bounds stays at the value of the nearest
//          training region (always within the envelope's ratio range). Predictions > 0.
enum class ModelKind { kNnLasso, kLogLasso, kLasso, kMacLinear, kGbTree };
std::string_view ToString(ModelKind kind);
ModelKind ParseModelKind(std::string_view name);  // throws ConfigError

// How a model with an envelope predicts a config that has a feature outside its training bounds
// (issue 10 item 3: "outside the training bounds, a layer is predicted from the model's
// behaviour at the boundary scaled by MACs and bytes"):
// kModel:    the model's own value at the config (its terms see values never trained on),
//            clamped by the envelope;
// kBoundary: the model's value (with envelope and correction) at the features clamped one by
//            one into their bounds, times the ratio of the envelope's MAC-and-bytes proxy at the
//            config to the proxy at the clamped point. The polynomial never sees a value outside
//            its training range.
// Inside the bounds, and for a model without an envelope (maclinear), the two are the same.
enum class Extrapolation { kModel, kBoundary };
std::string_view ToString(Extrapolation extrapolation);   // "model", "boundary"
Extrapolation ParseExtrapolation(std::string_view name);  // throws ConfigError

struct ModelTerm {
  std::string name;
  Term term;  // parsed from name
  double coefficient = 0;
  double center = 0;
  double scale = 1;
};

struct FeatureBound {
  std::string name;  // a feature of fit/features.h (base features and the special ones)
  double min = 0;
  double max = 0;
};

// Bounds a model's prediction by physics outside the data (issue 10 § 3): a roofline proxy
//     proxy(config) = intercept + sum_j coefficient_j * term_j(config)
// (a non-negative fit on MacLinearTerms: linear in MACs and tensor sizes) and the range
// [min_ratio, max_ratio] of measured / proxy over the training rows. A prediction is clamped to
// [min_ratio * proxy, max_ratio * proxy]: however far a config lies outside the training bounds,
// its cost per unit of work and traffic stays within what was ever measured, instead of
// following high-order polynomial terms.
struct Envelope {
  double intercept = 0;
  std::vector<ModelTerm> terms;  // center 0, scale 1
  double min_ratio = 0;
  double max_ratio = 0;
  double Proxy(const std::vector<double>& features) const;
};

struct Model {
  LayerType layer = LayerType::kConv2d;
  Pass pass = Pass::kForward;
  Quantity quantity = Quantity::kTimeS;
  ModelKind kind = ModelKind::kNnLasso;
  int degree = 0;  // polynomial degree (0: not a polynomial term set)
  // Candidate terms: "capped_polynomial", "polynomial" (fit/features.h), "log", "log2_power",
  // "power", or
  // "custom"; informative only, the terms themselves are stored by name.
  std::string term_set;
  bool log_target = false;  // target_transform "log"
  std::string meter;        // meter(s) of the rows, comma separated
  std::string rapl_domain;  // "package" for energy/power models, else ""
  double alpha = 0;         // chosen by k-fold cross-validation
  double intercept = 0;
  int n_terms_total = 0;             // candidate terms before the Lasso
  std::vector<ModelTerm> terms;      // non-zero terms
  std::vector<FeatureBound> bounds;  // training rows' range of every feature
  int64_t n_rows = 0, n_dropped = 0, n_train = 0, n_test = 0;
  int64_t n_outliers = 0;  // training rows left out as outliers (in n_train)
  // FitOptions::max_spread of the fit: samples whose trials' relative standard deviation
  // exceeded it were not rows of this model (0: none left out).
  double max_spread = 0;
  int cv_folds = 0;
  uint64_t cv_seed = 0;
  std::string cv_loss;  // what the validation MSE measures
  double cv_mse = 0;    // mean validation MSE at alpha
  Metrics train_metrics;
  std::optional<Metrics> test_metrics;  // held-out rows, never used to choose alpha
  // Mean of measured / fitted over the training rows, already multiplied into the intercept
  // and the coefficients (1 = not calibrated): removes the low bias of relative-error fits.
  double calibration = 1;
  std::optional<Envelope> envelope;  // absent: predictions are not clamped
  // Local correction by the training rows' residuals (fit/residual_correction.h), applied
  // after the envelope; absent: none (maclinear, or no bandwidth beat the model alone).
  std::optional<ResidualCorrection> residuals;
  // gbtree: the boosted trees F on FeatureValues; the raw value is envelope->Proxy x exp(F).
  std::optional<BoostedTrees> trees;
  // Outside the bounds (see Extrapolation). Bundles written before it existed read as kModel.
  Extrapolation extrapolation = Extrapolation::kModel;
};

// What LibTorch itself adds to a training step's peak resident memory on a host, beyond the
// tensors that predict/training_memory.h counts: the autograd engine, the second thread's stack
// and malloc arenas (base_bytes), and per distinct oneDNN conv2d its JIT kernels and scratchpads
// (conv2d_bytes). Measured, not modelled: the median peak_memory_bytes of `measure --net` on the
// two probe networks of db/rows.h (kFrameworkProbeNetwork; kConvFrameworkProbeNetwork minus
// it), like idle power is measured. JOURNAL.md 2026-12-05 (third session) has the figures.
struct FrameworkMemory {
  int64_t base_bytes = 0;
  std::optional<int64_t> conv2d_bytes;  // absent: no run of the conv2d probe
  int64_t runs = 0;                     // probe runs (measure --net processes) behind the values
};

struct ModelBundle {
  std::string hostname, cpu_model, torch_version, blas, rapl_domains;
  int sockets = 0, cores = 0, threads_used = 0;
  std::string tool_version;  // LAYERJOULE_VERSION of the fit that wrote it
  std::string created_at;    // ISO-8601 UTC
  std::vector<std::string> sources;
  std::vector<Model> models;
  std::optional<FrameworkMemory> framework_memory;  // absent: the probes were not measured
  // The median of the host's first-touch probes (measure/first_touch_probe.h): seconds to fault
  // in one fresh page. Absent: no probe was measured.
  std::optional<double> first_touch_s_per_page;
  // Set when the time models were fitted on compute only: FitOptions::subtract_fault_time took
  // this many seconds per minor page fault out of every sample (fit/fault_time.h). Absent: the
  // times were fitted as measured, fresh pages included.
  std::optional<double> fault_time_removed_s_per_fault;
  // The malloc setting its runs were measured under (core/malloc_setting.h
  // DescribeMallocSetting, e.g. "glibc default"); "" when none of them recorded one.
  std::string malloc_setting;

  // The model for (layer, pass, quantity), or nullptr.
  const Model* Find(LayerType layer, Pass pass, Quantity quantity) const;
};

struct Prediction {
  double value = 0;           // unit of the model's quantity (after any clamping)
  double unclamped = 0;       // the model's own value before envelope, correction and groups rule
  bool clamped = false;       // the envelope or the groups rule changed the value
  bool extrapolated = false;  // some feature outside the training bounds
  std::vector<std::string> outside;  // e.g. "in_channels=384 > max 15"
};

// The model's value for `config`, then two physical rules and the local correction:
//   - the envelope (if any) clamps it to [min_ratio, max_ratio] x proxy;
//   - the residual correction (if any) multiplies it by a factor in [1/3, 3] learnt from the
//     training rows near the config (1 far from all of them);
//   - outside the training bounds, model.extrapolation decides (Extrapolation above);
//   - conv2d with groups > 1: at most the prediction (with its own correction) for the same
//     layer with groups = 1 (a grouped or depthwise conv never costs more than the dense conv
//     of the same shape).
// Throws ConfigError if config.type != model.layer.
Prediction Predict(const Model& model, const LayerConfig& config);

nlohmann::json ToJson(const Model& model);
// Throws ConfigError naming `context` and the bad key or term.
Model ModelFromJson(const nlohmann::json& j, const std::string& context = "");
nlohmann::json ToJson(const ModelBundle& bundle);
ModelBundle BundleFromJson(const nlohmann::json& j, const std::string& context = "");

// "db/models/<host>.json", where `fit` writes a host's bundle and `predict` looks for it.
// The host name comes from a database (and --host of --import-legacy takes any text), so every
// character outside [A-Za-z0-9._-] becomes '_' and a leading '.' is prefixed with '_': the
// path never leaves db/models/ ("../../etc/x" -> "db/models/_.._.._etc_x.json").
std::string DefaultBundlePath(const std::string& host);
// "db/demo-models/<host>.json" (the same file stem), where tools/demo.sh writes the models of
// its short run. `predict` falls back to it, saying so, when DefaultBundlePath does not exist.
std::string DemoBundlePath(const std::string& host);

// Reads a bundle. Throws ConfigError naming the file if it cannot be read, is not JSON, is not
// a layerjoule model bundle, has another format_version, or has a malformed model.
ModelBundle LoadBundle(const std::string& path);
// Writes a bundle (pretty JSON) atomically (core WriteTextFileAtomically: a reader never sees a
// partial bundle), creating parent directories. Throws ConfigError naming the file on failure.
void SaveBundle(const ModelBundle& bundle, const std::string& path);

}  // namespace lj
