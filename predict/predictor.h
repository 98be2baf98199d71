#pragma once
// Predicts the time and energy of training a network from the per-layer models of a bundle
// (fit/model_bundle.h): the cost of a training step is the sum of its layers' costs, as in
// NeuralPower (Cai et al., ACML 2017, Sec. 3.3: network runtime and energy as the sum over
// layers). For every layer the forward and backward pass are predicted on the whole batch
// from its LayerConfig (net/layer_instance.h); a step is forward + loss + backward + the
// optimizer step, an epoch ceil(dataset_size / batch_size) steps (every step counted with a
// full batch), the training run `epochs` epochs.
//
// Phases, as `measure --net` times them (measure/network_run.h), so that --compare lines up
// phase by phase:
//   forward    every layer's forward model;
//   loss       the cross_entropy forward model (one per step, batch_size N, num_classes = the
//              network's output width: LossConfigOf);
//   backward   every layer's backward model, plus the cross_entropy backward model (in `measure
//              --net` the gradient of the logits is computed inside loss.backward()), plus
//              the gradient accumulations (LayerInstance::grad_accumulations): one `add`
//              forward per tensor that feeds two layers (the input of every residual and
//              squeeze-excitation block), the sum of the two incoming gradients that autograd
//              computes and that no layer's own backward measurement contains (a measured add's
//              backward only passes grad_output on);
//              and, with optimizer.zero_grad "zero" (the default: torch 1.13's zero-filling
//              zero_grad()), the grad_accumulate model over all trainable parameters
//              (ParameterStepConfigOf): loss.backward() adds every new gradient into its
//              zero-filled .grad, which no layer measurement contains;
//   optimizer  the sgd or adam model (run.optimizer.type) with parameters and
//              parameter_tensors summed over the layers (OptimizerConfigOf): step(); plus,
//              with zero_grad "zero", the zero_grad model over the same tensors (the
//              optimizer.zero_grad() that `measure --net` times in this phase). With
//              zero_grad "none" (set_to_none) both extra steps are no-cost.
// (predict/NET_FORMAT.md, "The training loop predict assumes".)
//
// Nothing is silently zero: a layer the bundle has no model for (or a layer whose geometry
// core/layer_config.h cannot describe, or an unknown TorchScript op) is "unmodelled", its
// values stay empty, it is listed, and every total it would enter is flagged as a LOWER BOUND;
// so are a loss or an optimizer step without a model. Only views of the same memory (flatten;
// TorchScript's view, reshape, permute, transpose, t, unsqueeze and squeeze) and dropout with
// p = 0 are "no-cost" and count as 0.
// No LibTorch, no SQLite.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fit/model_bundle.h"
#include "net/layer_instance.h"
#include "net/net_spec.h"
#include "net/training_run.h"
#include "predict/training_memory.h"

namespace lj {

enum class LayerStatus {
  kModelled,      // every quantity predicted, all features within the models' training bounds
  kExtrapolated,  // every quantity predicted, some feature outside a model's training bounds
  kUnmodelled,    // some quantity has no model: those values are empty, totals lower bounds
  kNoCost,        // flatten (a view), dropout p = 0: 0 s and 0 J by definition
};
// "modelled", "extrapolated", "unmodelled", "no-cost".
std::string_view ToString(LayerStatus status);

// True for layer types that only re-view memory: "flatten". (LayerInstance::no_cost marks
// these and dropout with p = 0.)
bool IsNoCostLayerType(std::string_view type);

// Predicted cost of one layer for one training step (one execution on the whole batch).
struct LayerPrediction {
  LayerInstance layer;
  LayerStatus status = LayerStatus::kUnmodelled;
  // Seconds and joules; empty where no model exists (energy: also when the bundle has no
  // energy models at all). kNoCost: 0 (energy 0 only when the bundle has energy models).
  std::optional<double> forward_time_s;
  std::optional<double> forward_energy_j;
  std::optional<double> backward_time_s;
  std::optional<double> backward_energy_j;
  // The backward values include the layer's gradient accumulations (add forward models).
  // The optimizer step has no backward pass: its backward values stay empty.
  // kUnmodelled: why, e.g. "no batchnorm2d forward time_s model in the bundle", "no add forward
  // time_s model in the bundle" or the LayerInstance note ("dilation 2 is not modelled").
  std::string reason;
  // kExtrapolated: the features outside the training bounds, each once, e.g.
  // "in_channels=384 > max 15".
  std::vector<std::string> outside;
};

// Sums over one or more training steps. Empty optional = not known at all.
struct PhaseTotals {
  double forward_time_s = 0;  // sum over the layers that have a forward time
  // The loss forward (cross_entropy); empty without its model.
  std::optional<double> loss_time_s;
  // Sum over the layers that have a backward time (with their gradient accumulations) and the
  // loss backward.
  double backward_time_s = 0;
  // The sgd / adam step plus zero_grad; empty without the step's model.
  std::optional<double> optimizer_time_s;
  bool optimizer_lower_bound = false;  // zero_grad (or the step) has no model
  double time_s = 0;                   // forward + loss + backward + optimizer (known parts)
  // Empty when the bundle has no energy models (loss and optimizer: also without their model).
  std::optional<double> forward_energy_j;
  std::optional<double> loss_energy_j;
  std::optional<double> backward_energy_j;
  std::optional<double> optimizer_energy_j;
  std::optional<double> energy_j;
  // True when some layer (or the loss or optimizer step) that costs something has no value in
  // the sum.
  bool forward_lower_bound = false;
  bool backward_lower_bound = false;
  bool time_lower_bound = false;
  bool energy_lower_bound = false;  // meaningful only when energy_j is set

  // Every time and energy multiplied by `factor` (steps, epochs); flags kept.
  PhaseTotals Scaled(double factor) const;
};

// How much of the network the bundle covers.
struct Coverage {
  int layers_total = 0;
  int layers_modelled = 0;      // modelled or extrapolated
  int layers_extrapolated = 0;  // included in layers_modelled
  int layers_unmodelled = 0;
  int layers_no_cost = 0;
  double macs_total = 0;     // forward MACs of all layers
  double macs_modelled = 0;  // forward MACs of modelled or extrapolated layers

  // layers_modelled / (layers_total - layers_no_cost): share of the layers that cost something
  // (1 when there are none).
  double LayerShare() const;
  // macs_modelled / macs_total (1 when macs_total is 0).
  double MacShare() const;
};

struct NetworkPrediction {
  TrainingRun run;
  std::string bundle_host;              // hostname of the bundle's models
  bool has_energy_models = false;       // the bundle has energy_j models (its data had a meter)
  std::vector<LayerPrediction> layers;  // forward order
  // The loss (path "loss", type "cross_entropy", config from LossConfigOf): forward = the loss
  // phase, backward = its share of the backward phase. The optimizer step (path "optimizer
  // step", type "sgd" or "adam", config from OptimizerConfigOf): forward = the optimizer phase.
  // Neither counts in `coverage`, which is about the network's layers.
  LayerPrediction loss;
  LayerPrediction optimizer_step;
  // The accumulation of the gradients into .grad (path "grad accumulation (.grad)", type
  // "grad_accumulate": forward = its share of the backward phase) and zero_grad() (path
  // "zero_grad", type "zero_grad": forward = its share of the optimizer phase); no-cost with
  // optimizer.zero_grad "none".
  LayerPrediction grad_accumulation;
  LayerPrediction zero_grad;
  int64_t steps_per_epoch = 0;
  PhaseTotals per_batch;  // one training step
  PhaseTotals per_epoch;  // per_batch x steps_per_epoch
  PhaseTotals training;   // per_epoch x epochs
  // Inference: the forward pass per sample (per_batch forward / batch_size), measured the way
  // the layer models were: at the training batch size with autograd on.
  double inference_time_per_sample_s = 0;
  std::optional<double> inference_energy_per_sample_j;
  // Peak memory of one training step from the shapes (predict/training_memory.h).
  TrainingMemory memory;
  Coverage coverage;
  // What is not in the totals, one line each: first every unmodelled layer in forward order
  // ("bn1 (batchnorm2d): no batchnorm2d forward time_s model in the bundle"), then the loss
  // and the optimizer step when unmodelled ("optimizer step (sgd, 61706 parameters in 10
  // tensors): no sgd forward time_s model in the bundle").
  std::vector<std::string> unmodelled;
  // One line per extrapolated layer, e.g. "features.3 (conv2d): outside the training bounds:
  // in_channels=64 > max 15"; and one per clamped negative prediction.
  std::vector<std::string> warnings;

  // True when the training totals miss something (an unmodelled layer, loss or optimizer
  // step).
  bool LowerBound() const { return training.time_lower_bound; }
};

// Predicts every layer, the loss and the optimizer step with the bundle's forward and backward
// time_s models (and energy_j models where the bundle has any), sums them per phase, and fills
// coverage, unmodelled and warnings.
// A model that predicts a negative value (possible with kind "lasso") is clamped to 0 with a
// warning. Throws ConfigError if run.batch_size, dataset_size or epochs is not > 0.
NetworkPrediction PredictTraining(const std::vector<LayerInstance>& layers,
                                  const ModelBundle& bundle, const TrainingRun& run);

// gethostname(), or "localhost" if it fails.
std::string LocalHostname();

// Loads the bundle at `path`. expected_host non-empty: the bundle must be of that host.
// Throws ConfigError: "<path>: no model bundle for host 'h'; make one with `measure --layer
// conv --n 500` (and maxpool, linear) then `fit --db db/layerjoule.sqlite`, or run
// tools/demo.sh ..." when the file does
// not exist; "<path>: the bundle is for host 'a', not 'b'; ..." for another host; and
// LoadBundle's errors for an unreadable or malformed bundle.
ModelBundle LoadBundleForHost(const std::string& path, const std::string& expected_host);

}  // namespace lj
