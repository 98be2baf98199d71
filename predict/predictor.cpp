#include "predict/predictor.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <fstream>

#include "core/errors.h"

namespace lj {
namespace {

// Types whose LayerInstance normally carries a LayerConfig (predict/layer_instance.h): without
// one, the layer has a geometry core/layer_config.h cannot describe.
bool ExpectsConfig(const std::string& type) {
  return type == "conv2d" || type == "maxpool2d" || type == "linear";
}

bool HasEnergyModels(const ModelBundle& bundle) {
  return std::any_of(bundle.models.begin(), bundle.models.end(),
                     [](const Model& m) { return m.quantity == Quantity::kEnergyJ; });
}

void AddOnce(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// Predicts one quantity of one pass; empty (and `missing` set) without a model.
std::optional<double> PredictQuantity(const ModelBundle& bundle, const LayerConfig& config,
                                      Pass pass, Quantity quantity, LayerPrediction& out,
                                      std::vector<std::string>& missing,
                                      std::vector<std::string>& warnings) {
  const Model* model = bundle.Find(config.type, pass, quantity);
  if (model == nullptr) {
    missing.push_back(std::string(ToString(config.type)) + " " + std::string(ToString(pass)) + " " +
                      std::string(ToString(quantity)));
    return std::nullopt;
  }
  const Prediction p = Predict(*model, config);
  for (const std::string& o : p.outside) AddOnce(out.outside, o);
  if (p.value < 0) {
    warnings.push_back(out.layer.path + " (" + out.layer.type + "): the " +
                       std::string(ToString(pass)) + " " + std::string(ToString(quantity)) +
                       " model predicts " + std::to_string(p.value) + " < 0; counted as 0");
    return 0.0;
  }
  return p.value;
}

LayerPrediction PredictLayer(const LayerInstance& layer, const ModelBundle& bundle,
                             bool with_energy, std::vector<std::string>& warnings) {
  LayerPrediction out;
  out.layer = layer;
  if (IsNoCostLayerType(layer.type)) {
    out.status = LayerStatus::kNoCost;
    out.forward_time_s = out.backward_time_s = 0.0;
    if (with_energy) out.forward_energy_j = out.backward_energy_j = 0.0;
    return out;
  }
  out.status = LayerStatus::kUnmodelled;
  // The config decides which models apply, so every layer type that gets a LayerConfig (and a
  // model in the bundle) is predicted without changes here.
  if (!layer.config) {
    if (ExpectsConfig(layer.type)) {
      out.reason = layer.note.empty() ? "no layer config" : layer.note;
    } else {
      out.reason = IsKnownLayerType(layer.type) ? "no model for " + layer.type + " layers"
                                                : "unknown operation, no model";
    }
    return out;
  }
  std::vector<std::string> missing;
  const LayerConfig& c = *layer.config;
  out.forward_time_s =
      PredictQuantity(bundle, c, Pass::kForward, Quantity::kTimeS, out, missing, warnings);
  out.backward_time_s =
      PredictQuantity(bundle, c, Pass::kBackward, Quantity::kTimeS, out, missing, warnings);
  if (with_energy) {
    out.forward_energy_j =
        PredictQuantity(bundle, c, Pass::kForward, Quantity::kEnergyJ, out, missing, warnings);
    out.backward_energy_j =
        PredictQuantity(bundle, c, Pass::kBackward, Quantity::kEnergyJ, out, missing, warnings);
  }
  if (!missing.empty()) {
    out.reason = "no ";
    for (size_t i = 0; i < missing.size(); ++i) out.reason += (i ? ", " : "") + missing[i];
    out.reason += missing.size() == 1 ? " model in the bundle" : " models in the bundle";
  } else {
    out.status = out.outside.empty() ? LayerStatus::kModelled : LayerStatus::kExtrapolated;
  }
  return out;
}

// Adds `value` to `sum`, or marks the sum a lower bound when the value is missing.
void Accumulate(const std::optional<double>& value, double& sum, bool& lower_bound) {
  if (value) {
    sum += *value;
  } else {
    lower_bound = true;
  }
}

std::optional<double> Times(const std::optional<double>& v, double factor) {
  if (!v) return std::nullopt;
  return *v * factor;
}

}  // namespace

std::string_view ToString(LayerStatus status) {
  switch (status) {
    case LayerStatus::kModelled:
      return "modelled";
    case LayerStatus::kExtrapolated:
      return "extrapolated";
    case LayerStatus::kUnmodelled:
      return "unmodelled";
    case LayerStatus::kNoCost:
      return "no-cost";
  }
  return "unmodelled";
}

bool IsNoCostLayerType(std::string_view type) { return type == "flatten"; }

int64_t TrainingRun::StepsPerEpoch() const {
  if (batch_size <= 0) return 0;
  return (dataset_size + batch_size - 1) / batch_size;
}

PhaseTotals PhaseTotals::Scaled(double factor) const {
  PhaseTotals t = *this;
  t.forward_time_s *= factor;
  t.backward_time_s *= factor;
  t.optimizer_time_s = Times(optimizer_time_s, factor);
  t.time_s *= factor;
  t.forward_energy_j = Times(forward_energy_j, factor);
  t.backward_energy_j = Times(backward_energy_j, factor);
  t.optimizer_energy_j = Times(optimizer_energy_j, factor);
  t.energy_j = Times(energy_j, factor);
  return t;
}

double Coverage::LayerShare() const {
  const int costed = layers_total - layers_no_cost;
  return costed > 0 ? static_cast<double>(layers_modelled) / costed : 1.0;
}

double Coverage::MacShare() const { return macs_total > 0 ? macs_modelled / macs_total : 1.0; }

NetworkPrediction PredictTraining(const std::vector<LayerInstance>& layers,
                                  const ModelBundle& bundle, const TrainingRun& run) {
  const std::string context = run.network.empty() ? "predict" : run.network;
  if (run.batch_size <= 0) {
    throw ConfigError(context + ": batch_size must be > 0, got " + std::to_string(run.batch_size));
  }
  if (run.dataset_size <= 0) {
    throw ConfigError(context + ": dataset_size must be > 0, got " +
                      std::to_string(run.dataset_size));
  }
  if (run.epochs <= 0) {
    throw ConfigError(context + ": epochs must be > 0, got " + std::to_string(run.epochs));
  }
  NetworkPrediction out;
  out.run = run;
  out.bundle_host = bundle.hostname;
  out.has_energy_models = HasEnergyModels(bundle);
  out.steps_per_epoch = run.StepsPerEpoch();

  PhaseTotals& b = out.per_batch;
  double forward_energy_j = 0, backward_energy_j = 0;
  int64_t parameters = 0;
  for (const LayerInstance& layer : layers) {
    LayerPrediction p = PredictLayer(layer, bundle, out.has_energy_models, out.warnings);
    parameters += layer.parameter_count;
    Coverage& c = out.coverage;
    ++c.layers_total;
    c.macs_total += layer.forward_macs;
    switch (p.status) {
      case LayerStatus::kExtrapolated:
        ++c.layers_extrapolated;
        out.warnings.push_back(layer.path + " (" + layer.type +
                               "): outside the training bounds of its models: ");
        for (size_t i = 0; i < p.outside.size(); ++i) {
          out.warnings.back() += (i ? ", " : "") + p.outside[i];
        }
        [[fallthrough]];
      case LayerStatus::kModelled:
        ++c.layers_modelled;
        c.macs_modelled += layer.forward_macs;
        break;
      case LayerStatus::kUnmodelled:
        ++c.layers_unmodelled;
        out.unmodelled.push_back(layer.path + " (" + layer.type + "): " + p.reason);
        break;
      case LayerStatus::kNoCost:
        ++c.layers_no_cost;
        break;
    }
    Accumulate(p.forward_time_s, b.forward_time_s, b.forward_lower_bound);
    Accumulate(p.backward_time_s, b.backward_time_s, b.backward_lower_bound);
    if (out.has_energy_models) {
      Accumulate(p.forward_energy_j, forward_energy_j, b.energy_lower_bound);
      Accumulate(p.backward_energy_j, backward_energy_j, b.energy_lower_bound);
    }
    out.layers.push_back(std::move(p));
  }

  // The optimizer step: no per-parameter model yet, so it is listed, never guessed.
  out.unmodelled.push_back("optimizer step (" + run.optimizer.type + ", " +
                           std::to_string(parameters) + " parameters): no optimizer model yet");
  b.time_s = b.forward_time_s + b.backward_time_s;
  b.time_lower_bound = b.forward_lower_bound || b.backward_lower_bound || !b.optimizer_time_s;
  if (out.has_energy_models) {
    b.forward_energy_j = forward_energy_j;
    b.backward_energy_j = backward_energy_j;
    b.energy_j = forward_energy_j + backward_energy_j;
    b.energy_lower_bound = b.energy_lower_bound || !b.optimizer_energy_j;
  }
  out.per_epoch = b.Scaled(static_cast<double>(out.steps_per_epoch));
  out.training = out.per_epoch.Scaled(static_cast<double>(run.epochs));
  const double batch = static_cast<double>(run.batch_size);
  out.inference_time_per_sample_s = b.forward_time_s / batch;
  out.inference_energy_per_sample_j = Times(b.forward_energy_j, 1.0 / batch);
  return out;
}

std::string DefaultBundlePath(const std::string& host) { return "db/models/" + host + ".json"; }

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

ModelBundle LoadBundleForHost(const std::string& path, const std::string& expected_host) {
  if (!std::ifstream(path).good()) {
    const std::string host = expected_host.empty() ? "this host" : "host '" + expected_host + "'";
    throw ConfigError(path + ": no model bundle for " + host +
                      "; make one by measuring layers on that host, e.g. `measure --layer conv "
                      "--n 500` (and --layer maxpool, --layer linear), then `fit --db "
                      "db/layerjoule.sqlite`, or pass --models FILE");
  }
  ModelBundle bundle = LoadBundle(path);
  if (!expected_host.empty() && bundle.hostname != expected_host) {
    throw ConfigError(path + ": the bundle is for host '" + bundle.hostname + "', not '" +
                      expected_host + "'; use --host " + bundle.hostname +
                      " or --models with that host's bundle");
  }
  return bundle;
}

}  // namespace lj
