#include "predict/predictor.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>

#include "core/errors.h"

namespace lj {
namespace {

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

// True when `config` computes its input's gradient but the backward model of `quantity` was
// fitted only on rows that did not (its input_grad feature never left 0): then its terms cannot
// hold that cost.
bool NeedsInputGradFromForward(const ModelBundle& bundle, const LayerConfig& config,
                               Quantity quantity) {
  if (InputGradIndex(config.type) < 0 || !config.input_grad) return false;
  const Model* model = bundle.Find(config.type, Pass::kBackward, quantity);
  if (model == nullptr) return false;
  for (const FeatureBound& b : model->bounds) {
    if (b.name == "input_grad") return b.max < 1;
  }
  return false;
}

LayerPrediction PredictLayer(const LayerInstance& layer, const ModelBundle& bundle,
                             bool with_energy, std::vector<std::string>& warnings) {
  LayerPrediction out;
  out.layer = layer;
  if (IsNoCostLayerType(layer.type) || layer.no_cost) {
    out.status = LayerStatus::kNoCost;
    out.forward_time_s = out.backward_time_s = 0.0;
    if (with_energy) out.forward_energy_j = out.backward_energy_j = 0.0;
    return out;
  }
  out.status = LayerStatus::kUnmodelled;
  // The config decides which models apply, so every layer type that gets a LayerConfig (and a
  // model in the bundle) is predicted without changes here.
  if (!layer.config) {
    if (!layer.note.empty()) {
      out.reason = layer.note;
    } else {
      out.reason = HasKnownType(layer) ? "no " + layer.type + " layer config"
                                       : "unknown operation, no model";
    }
    return out;
  }
  std::vector<std::string> missing;
  const LayerConfig& c = *layer.config;
  const bool backward = HasBackwardPass(c.type);
  // The backward value: the layer's backward model plus its gradient accumulations (add
  // forward models); empty when any part is missing. `forward` is the same layer's forward
  // prediction of `quantity` (already made: not predicted again).
  auto backward_value = [&](Quantity quantity,
                            const std::optional<double>& forward) -> std::optional<double> {
    std::optional<double> v =
        PredictQuantity(bundle, c, Pass::kBackward, quantity, out, missing, warnings);
    if (v && NeedsInputGradFromForward(bundle, c, quantity)) {
      // The input gradient is a transposed convolution (a GEMM with the weight's transpose for
      // linear) of the forward pass's MACs: its cost is taken as the forward pass's.
      v = forward ? std::optional<double>(*v + *forward) : std::nullopt;
      AddOnce(warnings, std::string(ToString(c.type)) +
                            " backward: no training row computed an input gradient (e.g. the "
                            "prototype's imported rows); a layer's input gradient is counted "
                            "as its forward pass (the same MACs, transposed)");
    }
    for (const LayerConfig& acc : layer.grad_accumulations) {
      const std::optional<double> a =
          PredictQuantity(bundle, acc, Pass::kForward, quantity, out, missing, warnings);
      v = v && a ? std::optional<double>(*v + *a) : std::nullopt;
    }
    return v;
  };
  out.forward_time_s =
      PredictQuantity(bundle, c, Pass::kForward, Quantity::kTimeS, out, missing, warnings);
  if (backward) out.backward_time_s = backward_value(Quantity::kTimeS, out.forward_time_s);
  if (with_energy) {
    out.forward_energy_j =
        PredictQuantity(bundle, c, Pass::kForward, Quantity::kEnergyJ, out, missing, warnings);
    if (backward) {
      out.backward_energy_j = backward_value(Quantity::kEnergyJ, out.forward_energy_j);
    }
  }
  // Each missing model once (several gradient accumulations use the same add model).
  std::vector<std::string> unique;
  for (const std::string& m : missing) AddOnce(unique, m);
  missing = std::move(unique);
  if (!missing.empty()) {
    out.reason = "no ";
    for (size_t i = 0; i < missing.size(); ++i) out.reason += (i ? ", " : "") + missing[i];
    out.reason += missing.size() == 1 ? " model in the bundle" : " models in the bundle";
  } else {
    out.status = out.outside.empty() ? LayerStatus::kModelled : LayerStatus::kExtrapolated;
  }
  return out;
}

// "features.3 (conv2d): outside the training bounds of its models: in_channels=384 > max 15".
std::string OutsideWarning(const LayerPrediction& p) {
  std::string w =
      p.layer.path + " (" + p.layer.type + "): outside the training bounds of its models: ";
  for (size_t i = 0; i < p.outside.size(); ++i) w += (i ? ", " : "") + p.outside[i];
  return w;
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

bool IsNoCostLayerType(std::string_view type) { return type == kFlattenType; }

PhaseTotals PhaseTotals::Scaled(double factor) const {
  PhaseTotals t = *this;
  t.forward_time_s *= factor;
  t.loss_time_s = Times(loss_time_s, factor);
  t.backward_time_s *= factor;
  t.optimizer_time_s = Times(optimizer_time_s, factor);
  t.time_s *= factor;
  t.forward_energy_j = Times(forward_energy_j, factor);
  t.loss_energy_j = Times(loss_energy_j, factor);
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
  for (const LayerInstance& layer : layers) {
    LayerPrediction p = PredictLayer(layer, bundle, out.has_energy_models, out.warnings);
    Coverage& c = out.coverage;
    ++c.layers_total;
    c.macs_total += layer.forward_macs;
    switch (p.status) {
      case LayerStatus::kExtrapolated:
        ++c.layers_extrapolated;
        out.warnings.push_back(OutsideWarning(p));
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

  // The loss and the optimizer step, predicted like layers from their configs.
  auto step_item = [&](const std::string& path, const std::string& type,
                       const std::optional<LayerConfig>& config, const std::string& reason) {
    LayerInstance li;
    li.path = path;
    SetLayerType(li, type);
    li.source = "training step";
    li.config = config;
    li.note = reason;
    if (config) {
      li.output_shape = OutputShape(*config);
      li.forward_macs = ForwardMacs(*config);
    }
    return li;
  };
  std::string loss_reason, optimizer_reason;
  const std::optional<LayerConfig> loss_config = LossConfigOf(layers, &loss_reason);
  const std::optional<LayerConfig> optimizer_config =
      OptimizerConfigOf(layers, run.optimizer.type, &optimizer_reason);
  if (loss_config) loss_reason.clear();
  if (optimizer_config) optimizer_reason.clear();
  out.loss = PredictLayer(step_item(kLossPath, "cross_entropy", loss_config, loss_reason), bundle,
                          out.has_energy_models, out.warnings);
  out.optimizer_step = PredictLayer(
      step_item(kOptimizerStepPath, run.optimizer.type, optimizer_config, optimizer_reason), bundle,
      out.has_energy_models, out.warnings);
  if (out.loss.status == LayerStatus::kUnmodelled) {
    out.unmodelled.push_back("loss (cross_entropy" +
                             (loss_config
                                  ? ", " + std::to_string(loss_config->num_classes) + " classes"
                                  : std::string()) +
                             "): " + out.loss.reason);
  }
  // "optimizer step (sgd, 61706 parameters in 10 tensors): <reason>" for an unmodelled
  // parameter-wide step.
  const auto unmodelled_step = [&](const LayerPrediction& p,
                                   const std::optional<LayerConfig>& config) {
    if (p.status != LayerStatus::kUnmodelled) return;
    std::string what = p.layer.path + " (" + p.layer.type;
    if (config) {
      what += ", " + std::to_string(config->parameters) + " parameters in " +
              std::to_string(config->parameter_tensors) + " tensors";
    }
    out.unmodelled.push_back(what + "): " + p.reason);
  };
  unmodelled_step(out.optimizer_step, optimizer_config);
  for (const LayerPrediction* item : {&out.loss, &out.optimizer_step}) {
    if (item->status == LayerStatus::kExtrapolated) out.warnings.push_back(OutsideWarning(*item));
  }
  // The training loop's zero_grad convention: accumulation into .grad and the fill itself.
  const bool zero_fill = run.optimizer.zero_grad != "none";
  const auto parameter_step = [&](const std::string& path, LayerType type) {
    std::string reason;
    const std::optional<LayerConfig> config = ParameterStepConfigOf(layers, type, &reason);
    LayerInstance li = step_item(path, std::string(ToString(type)), config, config ? "" : reason);
    li.no_cost = !zero_fill;
    LayerPrediction p = PredictLayer(li, bundle, out.has_energy_models, out.warnings);
    unmodelled_step(p, config);
    if (p.status == LayerStatus::kExtrapolated) out.warnings.push_back(OutsideWarning(p));
    return p;
  };
  out.grad_accumulation = parameter_step(kGradAccumulationPath, LayerType::kGradAccumulate);
  out.zero_grad = parameter_step(kZeroGradPath, LayerType::kZeroGrad);

  b.loss_time_s = out.loss.forward_time_s;
  Accumulate(out.loss.backward_time_s, b.backward_time_s, b.backward_lower_bound);
  Accumulate(out.grad_accumulation.forward_time_s, b.backward_time_s, b.backward_lower_bound);
  b.optimizer_time_s = out.optimizer_step.forward_time_s;
  if (b.optimizer_time_s) {
    Accumulate(out.zero_grad.forward_time_s, *b.optimizer_time_s, b.optimizer_lower_bound);
  } else {
    b.optimizer_lower_bound = true;
  }
  b.time_s = b.forward_time_s + b.loss_time_s.value_or(0.0) + b.backward_time_s +
             b.optimizer_time_s.value_or(0.0);
  b.time_lower_bound = b.forward_lower_bound || b.backward_lower_bound || !b.loss_time_s ||
                       !b.optimizer_time_s || b.optimizer_lower_bound;
  if (out.has_energy_models) {
    bool missing_energy = false;
    Accumulate(out.loss.backward_energy_j, backward_energy_j, missing_energy);
    Accumulate(out.grad_accumulation.forward_energy_j, backward_energy_j, missing_energy);
    b.forward_energy_j = forward_energy_j;
    b.loss_energy_j = out.loss.forward_energy_j;
    b.backward_energy_j = backward_energy_j;
    b.optimizer_energy_j = out.optimizer_step.forward_energy_j;
    if (b.optimizer_energy_j) {
      Accumulate(out.zero_grad.forward_energy_j, *b.optimizer_energy_j, missing_energy);
    }
    b.energy_j = forward_energy_j + b.loss_energy_j.value_or(0.0) + backward_energy_j +
                 b.optimizer_energy_j.value_or(0.0);
    b.energy_lower_bound =
        b.energy_lower_bound || missing_energy || !b.loss_energy_j || !b.optimizer_energy_j;
  }
  out.per_epoch = b.Scaled(static_cast<double>(out.steps_per_epoch));
  out.training = out.per_epoch.Scaled(static_cast<double>(run.epochs));
  const double batch = static_cast<double>(run.batch_size);
  out.inference_time_per_sample_s = b.forward_time_s / batch;
  out.inference_energy_per_sample_j = Times(b.forward_energy_j, 1.0 / batch);
  out.memory = PredictTrainingMemory(layers, run);
  // The BLAS of the host the models describe: OpenBLAS's packing buffers on its threads.
  if (bundle.blas.find("OpenBLAS") != std::string::npos) {
    AddBlasWorkspace(out.memory, layers, std::max(1, bundle.threads_used));
  }
  if (bundle.framework_memory) {
    AddFrameworkMemory(out.memory, layers, bundle.framework_memory->base_bytes,
                       bundle.framework_memory->conv2d_bytes);
  }
  return out;
}

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

ModelBundle LoadBundleForHost(const std::string& path, const std::string& expected_host) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {  // exists() never opens, so a FIFO cannot block
    const std::string host = expected_host.empty() ? "this host" : "host '" + expected_host + "'";
    throw ConfigError(path + ": no model bundle for " + host +
                      "; make one by measuring layers on that host, e.g. `measure --layer conv "
                      "--n 500` (and --layer maxpool, --layer linear), then `fit --db "
                      "db/layerjoule.sqlite`, or run tools/demo.sh (README command 1) for rough "
                      "ones in db/demo-models/, or pass --models FILE");
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
