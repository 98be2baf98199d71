#pragma once
// Hand-made inputs for the predictor tests: a bundle whose models are exact linear functions of
// MACs (time = a * macs, energy = b * macs), built with the fit library's types, and a small
// network of LayerInstances, so that every predicted sum has a known value.
#include <string>
#include <vector>

#include "fit/features.h"
#include "fit/model_bundle.h"
#include "net/layer_instance.h"
#include "predict/predictor.h"

namespace lj::test {

// Seconds (or joules) per MAC of the hand-made models, per pass.
inline constexpr double kForwardSPerMac = 1e-9;
inline constexpr double kBackwardSPerMac = 2e-9;
inline constexpr double kForwardJPerMac = 3e-8;
inline constexpr double kBackwardJPerMac = 5e-8;

// value = intercept + coefficient * ForwardMacs(config), training bounds [0, max_bound] on every
// feature.
inline Model LinearMacsModel(LayerType layer, Pass pass, Quantity quantity, double coefficient,
                             double max_bound = 1e15, double intercept = 0) {
  // The feature equal to core ForwardMacs: "macs", "elements" (element-wise types, loss) or
  // "parameters" (sgd, adam).
  std::string term = "parameters";
  for (const std::string& name : FeatureNames(layer)) {
    if (name == "macs" || name == "elements") term = name;
  }
  Model m;
  m.layer = layer;
  m.pass = pass;
  m.quantity = quantity;
  m.kind = intercept < 0 ? ModelKind::kLasso : ModelKind::kNnLasso;
  m.degree = 1;
  m.term_set = "custom";
  m.meter = quantity == Quantity::kTimeS ? "none" : "rapl";
  m.rapl_domain = quantity == Quantity::kTimeS ? "" : "package";
  m.intercept = intercept;
  m.n_terms_total = 1;
  m.terms.push_back({term, ParseTerm(layer, term), coefficient, 0.0, 1.0});
  for (const std::string& name : FeatureNames(layer)) m.bounds.push_back({name, 0, max_bound});
  m.n_rows = m.n_train = 20;
  m.cv_folds = 2;
  m.cv_loss = "relative";
  return m;
}

// conv2d and linear time models (and energy models if asked); no maxpool2d models.
inline ModelBundle MakeBundle(bool with_energy, double max_bound = 1e15) {
  ModelBundle b;
  b.hostname = "node7";
  b.cpu_model = "Test CPU";
  b.tool_version = "0.1.0";
  b.created_at = "2025-01-01T00:00:00Z";
  for (LayerType t : {LayerType::kConv2d, LayerType::kLinear}) {
    b.models.push_back(
        LinearMacsModel(t, Pass::kForward, Quantity::kTimeS, kForwardSPerMac, max_bound));
    b.models.push_back(
        LinearMacsModel(t, Pass::kBackward, Quantity::kTimeS, kBackwardSPerMac, max_bound));
    if (with_energy) {
      b.models.push_back(
          LinearMacsModel(t, Pass::kForward, Quantity::kEnergyJ, kForwardJPerMac, max_bound));
      b.models.push_back(
          LinearMacsModel(t, Pass::kBackward, Quantity::kEnergyJ, kBackwardJPerMac, max_bound));
    }
  }
  return b;
}

// Time (and energy) models for every layer type of the core, linear in MACs as above: forward
// for all, backward for the types that have one (not sgd / adam). `without`: types left out.
inline ModelBundle MakeFullBundle(bool with_energy, const std::vector<LayerType>& without = {}) {
  ModelBundle b = MakeBundle(false);
  b.models.clear();
  for (LayerType t : AllLayerTypes()) {
    bool skip = false;
    for (LayerType w : without) skip = skip || w == t;
    if (skip) continue;
    std::vector<Pass> passes = {Pass::kForward};
    if (HasBackwardPass(t)) passes.push_back(Pass::kBackward);
    for (Pass pass : passes) {
      const bool fwd = pass == Pass::kForward;
      b.models.push_back(
          LinearMacsModel(t, pass, Quantity::kTimeS, fwd ? kForwardSPerMac : kBackwardSPerMac));
      if (with_energy) {
        b.models.push_back(
            LinearMacsModel(t, pass, Quantity::kEnergyJ, fwd ? kForwardJPerMac : kBackwardJPerMac));
      }
    }
  }
  return b;
}

inline LayerInstance Modelled(const std::string& path, const LayerConfig& c,
                              std::vector<int64_t> input_shape) {
  LayerInstance l;
  l.path = path;
  SetLayerType(l, ToString(c.type));
  l.source = "test";
  l.input_shape = std::move(input_shape);
  l.output_shape = OutputShape(c);
  l.config = c;
  l.forward_macs = ForwardMacs(c);
  return l;
}

inline LayerInstance Plain(const std::string& path, const std::string& type,
                           std::vector<int64_t> shape, double macs = 0) {
  LayerInstance l;
  l.path = path;
  SetLayerType(l, type);
  l.source = "test";
  l.input_shape = shape;
  l.output_shape = std::move(shape);
  l.forward_macs = macs;
  return l;
}

inline LayerConfig Conv() {
  LayerConfig c;
  c.type = LayerType::kConv2d;
  c.batch_size = 8;
  c.in_channels = 3;
  c.out_channels = 16;
  c.height = c.width = 32;
  c.kernel_size = 3;
  c.padding = 1;
  return c;
}

inline LayerConfig Pool() {
  LayerConfig c;
  c.type = LayerType::kMaxPool2d;
  c.batch_size = 8;
  c.in_channels = 16;
  c.height = c.width = 32;
  c.kernel_size = 2;
  c.stride = 2;
  return c;
}

inline LayerConfig Fc() {
  LayerConfig c;
  c.type = LayerType::kLinear;
  c.batch_size = 8;
  c.in_features = 16 * 16 * 16;
  c.out_features = 10;
  return c;
}

// conv -> relu -> maxpool -> flatten -> linear: conv and linear have models, relu and maxpool
// (no maxpool2d model in the bundle) do not, flatten costs nothing.
inline std::vector<LayerInstance> SmallNet() {
  return {Modelled("features.0", Conv(), {8, 3, 32, 32}),
          Plain("features.1", "relu", {8, 16, 32, 32}),
          Modelled("features.2", Pool(), {8, 16, 32, 32}), Plain("flatten", "flatten", {8, 4096}),
          Modelled("fc", Fc(), {8, 4096})};
}

inline TrainingRun SmallRun() {
  TrainingRun r;
  r.network = "small";
  r.input = {3, 32, 32};
  r.batch_size = 8;
  r.dataset_size = 100;  // 13 steps: the last batch is partial but counted as a full one
  r.epochs = 3;
  return r;
}

}  // namespace lj::test
