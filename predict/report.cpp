#include "predict/report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

namespace lj {
namespace {

constexpr double kJoulesPerWh = 3600.0;
constexpr double kJoulesPerKwh = 3.6e6;

std::string G4(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", 100.0 * share);
  return buf;
}

nlohmann::json OrNull(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// Left-aligned cell padded to `width`.
std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}
// Right-aligned cell.
std::string PadLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

// A total: ">= 3.5 ms" when it is a lower bound.
std::string Bound(const std::string& value, bool lower_bound) {
  return (lower_bound && value != "-" ? ">= " : "") + value;
}

nlohmann::json TotalsJson(const PhaseTotals& t) {
  return {
      {"forward_time_s", t.forward_time_s},
      {"loss_time_s", OrNull(t.loss_time_s)},
      {"backward_time_s", t.backward_time_s},
      {"optimizer_time_s", OrNull(t.optimizer_time_s)},
      {"time_s", t.time_s},
      {"forward_energy_j", OrNull(t.forward_energy_j)},
      {"loss_energy_j", OrNull(t.loss_energy_j)},
      {"backward_energy_j", OrNull(t.backward_energy_j)},
      {"optimizer_energy_j", OrNull(t.optimizer_energy_j)},
      {"energy_j", OrNull(t.energy_j)},
      {"lower_bound", t.time_lower_bound},
      {"forward_lower_bound", t.forward_lower_bound},
      {"backward_lower_bound", t.backward_lower_bound},
      {"energy_lower_bound", t.energy_j ? nlohmann::json(t.energy_lower_bound) : nlohmann::json()}};
}

void LayerTable(std::ostream& out, const NetworkPrediction& p) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"path", "type",     "output shape",
                                     "MACs", "fwd time", "bwd time"};
  if (p.has_energy_models) {
    header.push_back("fwd energy");
    header.push_back("bwd energy");
  }
  header.push_back("status");
  rows.push_back(header);
  // The network's layers, then the loss and the optimizer step of every training step.
  std::vector<const LayerPrediction*> items;
  for (const LayerPrediction& l : p.layers) items.push_back(&l);
  items.push_back(&p.loss);
  items.push_back(&p.optimizer_step);
  items.push_back(&p.grad_accumulation);
  items.push_back(&p.zero_grad);
  for (const LayerPrediction* item : items) {
    const LayerPrediction& l = *item;
    std::vector<std::string> row = {l.layer.path,
                                    l.layer.type,
                                    ShapeToString(l.layer.output_shape),
                                    FormatMacs(l.layer.forward_macs),
                                    FormatSeconds(l.forward_time_s),
                                    FormatSeconds(l.backward_time_s)};
    if (p.has_energy_models) {
      row.push_back(FormatJoules(l.forward_energy_j));
      row.push_back(FormatJoules(l.backward_energy_j));
    }
    row.push_back(std::string(ToString(l.status)));
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      // Text columns left-aligned, numbers right-aligned, the status last and unpadded.
      const bool text = i < 3 || i + 1 == row.size();
      const std::string cell = i + 1 == row.size() ? row[i]
                               : text              ? Pad(row[i], width[i])
                                                   : PadLeft(row[i], width[i]);
      line += (i ? "  " : "") + cell;
    }
    out << line << "\n";
  }
}

void TotalsTable(std::ostream& out, const NetworkPrediction& p) {
  const std::vector<std::pair<std::string, const PhaseTotals*>> scopes = {
      {"per batch", &p.per_batch},
      {"per epoch (" + std::to_string(p.steps_per_epoch) + " steps)", &p.per_epoch},
      {"training (" + std::to_string(p.run.epochs) + " epochs)", &p.training}};
  size_t w = 0;
  for (const auto& s : scopes) w = std::max(w, s.first.size());
  out << Pad("time", w) << "  " << PadLeft("forward", 13) << "  " << PadLeft("loss", 10) << "  "
      << PadLeft("backward", 13) << "  " << PadLeft("optimizer", 10) << "  " << PadLeft("total", 13)
      << "\n";
  for (const auto& [name, t] : scopes) {
    out << Pad(name, w) << "  "
        << PadLeft(Bound(FormatSeconds(t->forward_time_s), t->forward_lower_bound), 13) << "  "
        << PadLeft(t->loss_time_s ? FormatSeconds(t->loss_time_s) : "unmodelled", 10) << "  "
        << PadLeft(Bound(FormatSeconds(t->backward_time_s), t->backward_lower_bound), 13) << "  "
        << PadLeft(t->optimizer_time_s ? FormatSeconds(t->optimizer_time_s) : "unmodelled", 10)
        << "  " << PadLeft(Bound(FormatSeconds(t->time_s), t->time_lower_bound), 13) << "\n";
  }
  if (!p.has_energy_models) {
    out << "energy: no energy model: the data had no meter (the bundle has time models only)\n";
    return;
  }
  out << Pad("energy", w) << "  " << PadLeft("forward", 13) << "  " << PadLeft("loss", 10) << "  "
      << PadLeft("backward", 13) << "  " << PadLeft("optimizer", 10) << "  " << PadLeft("total", 13)
      << "\n";
  for (const auto& [name, t] : scopes) {
    out << Pad(name, w) << "  "
        << PadLeft(Bound(FormatJoules(t->forward_energy_j), t->energy_lower_bound), 13) << "  "
        << PadLeft(t->loss_energy_j ? FormatJoules(t->loss_energy_j) : "unmodelled", 10) << "  "
        << PadLeft(Bound(FormatJoules(t->backward_energy_j), t->energy_lower_bound), 13) << "  "
        << PadLeft(t->optimizer_energy_j ? FormatJoules(t->optimizer_energy_j) : "unmodelled", 10)
        << "  " << PadLeft(Bound(FormatJoules(t->energy_j), t->energy_lower_bound), 13) << "\n";
  }
}

// Unmodelled layers grouped by type and reason (the table lists each one), then the other
// unmodelled items (the loss, the optimizer step), which follow the layers in p.unmodelled.
void UnmodelledGroups(std::ostream& out, const NetworkPrediction& p) {
  struct Group {
    std::string type, reason;
    std::vector<std::string> paths;
    double macs = 0;
  };
  std::vector<Group> groups;
  size_t layers = 0;
  for (const LayerPrediction& l : p.layers) {
    if (l.status != LayerStatus::kUnmodelled) continue;
    ++layers;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return g.type == l.layer.type && g.reason == l.reason;
    });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{l.layer.type, l.reason, {}, 0});
    it->paths.push_back(l.layer.path);
    it->macs += l.layer.forward_macs;
  }
  constexpr size_t kShown = 3;
  for (const Group& g : groups) {
    out << "  " << g.type << " x " << g.paths.size() << " (" << FormatMacs(g.macs)
        << " MACs): " << g.reason << " (";
    for (size_t i = 0; i < std::min(kShown, g.paths.size()); ++i) {
      out << (i ? ", " : "") << g.paths[i];
    }
    if (g.paths.size() > kShown) out << ", ... " << g.paths.size() - kShown << " more";
    out << ")\n";
  }
  for (size_t i = layers; i < p.unmodelled.size(); ++i) out << "  " << p.unmodelled[i] << "\n";
}

}  // namespace

std::string FormatSeconds(std::optional<double> seconds) {
  if (!seconds) return "-";
  const double s = *seconds;
  if (s == 0) return "0 s";
  if (s < 1e-3) return G4(s * 1e6) + " us";
  if (s < 1) return G4(s * 1e3) + " ms";
  if (s < 120) return G4(s) + " s";
  if (s < 7200) return G4(s / 60) + " min";
  return G4(s / 3600) + " h";
}

std::string FormatJoules(std::optional<double> joules) {
  if (!joules) return "-";
  const double j = *joules;
  if (j == 0) return "0 J";
  if (j < 1e-3) return G4(j * 1e6) + " uJ";
  if (j < 1) return G4(j * 1e3) + " mJ";
  if (j < 1e4) return G4(j) + " J";
  if (j < 1e7) return G4(j / 1e3) + " kJ";
  return G4(j / 1e6) + " MJ";
}

std::string FormatMacs(double macs) {
  if (macs < 1e3) return G4(macs);
  if (macs < 1e6) return G4(macs / 1e3) + " K";
  if (macs < 1e9) return G4(macs / 1e6) + " M";
  if (macs < 1e12) return G4(macs / 1e9) + " G";
  return G4(macs / 1e12) + " T";
}

std::string FormatPrediction(const NetworkPrediction& p, const std::string& bundle_path) {
  std::ostringstream out;
  const TrainingRun& r = p.run;
  out << r.network << ": batch " << r.batch_size << " x " << InputToString(r.input) << ", "
      << r.dataset_size << " samples per epoch (" << p.steps_per_epoch << " steps), " << r.epochs
      << " epochs, optimizer " << r.optimizer.type << " (zero_grad " << r.optimizer.zero_grad
      << ")\n";
  out << "models: " << bundle_path << " (host " << p.bundle_host << ")\n\n";
  LayerTable(out, p);
  out << "\n";
  TotalsTable(out, p);
  const PhaseTotals& t = p.training;
  out << "\ntraining: " << Bound(FormatSeconds(t.time_s), t.time_lower_bound);
  if (t.time_s >= 120) out << " (" << G4(t.time_s) << " s)";
  if (t.energy_j) {
    out << ", " << Bound(FormatJoules(t.energy_j), t.energy_lower_bound) << " = "
        << G4(*t.energy_j / kJoulesPerWh) << " Wh = " << G4(*t.energy_j / kJoulesPerKwh) << " kWh";
  }
  if (p.LowerBound()) out << "  LOWER BOUND: the unmodelled items below are not included";
  out << "\ninference per sample (forward pass at batch " << r.batch_size << "): "
      << Bound(FormatSeconds(p.inference_time_per_sample_s), p.per_batch.forward_lower_bound);
  if (p.inference_energy_per_sample_j) {
    out << ", "
        << Bound(FormatJoules(p.inference_energy_per_sample_j), p.per_batch.energy_lower_bound);
  }
  const TrainingMemory& m = p.memory;
  out << "\npeak memory of a training step: " << FormatBytes(m.peak_bytes) << " at " << m.peak_at
      << " (parameters " << FormatBytes(m.parameter_bytes) << ", gradients "
      << FormatBytes(m.gradient_bytes) << ", optimizer state "
      << FormatBytes(m.optimizer_state_bytes) << ", batch " << FormatBytes(m.batch_bytes)
      << ", kept for backward " << FormatBytes(m.saved_bytes);
  if (m.blas_workspace_bytes > 0) {
    out << ", OpenBLAS packing buffers " << FormatBytes(m.blas_workspace_bytes);
  }
  if (m.framework_bytes) {
    out << ", LibTorch itself " << FormatBytes(*m.framework_bytes) << " measured on "
        << p.bundle_host << " with " << m.distinct_conv2d << " distinct conv2d"
        << "; glibc's kept heap blocks come on top, see docs/memory_accounting.md)";
  } else {
    out << "; the tensors' peak: LibTorch itself (not measured: the bundle has no "
           "framework-memory probe) and glibc's kept heap blocks come on top, see "
           "docs/memory_accounting.md)";
  }
  const Coverage& c = p.coverage;
  out << "\ncoverage: " << c.layers_modelled << " of " << (c.layers_total - c.layers_no_cost)
      << " layers that cost something have models (" << Percent(c.LayerShare()) << "), "
      << Percent(c.MacShare()) << " of " << FormatMacs(c.macs_total) << " MACs; "
      << c.layers_extrapolated << " extrapolated, " << c.layers_no_cost << " no-cost\n";
  if (!p.unmodelled.empty()) {
    out << "\nunmodelled (not in the totals):\n";
    UnmodelledGroups(out, p);
  }
  if (!p.warnings.empty()) {
    out << "\nwarnings (" << p.warnings.size() << "):\n";
    for (const std::string& w : p.warnings) out << "  " << w << "\n";
  }
  return out.str();
}

nlohmann::json ToJson(const NetworkPrediction& p, const std::string& bundle_path) {
  const TrainingRun& r = p.run;
  auto item_json = [](const LayerPrediction& l) {
    nlohmann::json j = {{"path", l.layer.path},
                        {"type", l.layer.type},
                        {"input_shape", l.layer.input_shape},
                        {"output_shape", l.layer.output_shape},
                        {"macs", l.layer.forward_macs},
                        {"parameter_count", l.layer.parameter_count},
                        {"config", l.layer.config ? ToJson(*l.layer.config) : nlohmann::json()},
                        {"forward_time_s", OrNull(l.forward_time_s)},
                        {"forward_energy_j", OrNull(l.forward_energy_j)},
                        {"backward_time_s", OrNull(l.backward_time_s)},
                        {"backward_energy_j", OrNull(l.backward_energy_j)},
                        {"status", ToString(l.status)}};
    if (!l.reason.empty()) j["reason"] = l.reason;
    if (!l.outside.empty()) j["outside"] = l.outside;
    if (!l.layer.grad_accumulations.empty()) {
      j["grad_accumulations"] = nlohmann::json::array();
      for (const LayerConfig& c : l.layer.grad_accumulations) {
        j["grad_accumulations"].push_back(ToJson(c));
      }
    }
    return j;
  };
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < p.layers.size(); ++i) {
    nlohmann::json layer = item_json(p.layers[i]);
    if (i < p.memory.layers.size()) layer["saved_bytes"] = p.memory.layers[i].saved_bytes;
    layers.push_back(std::move(layer));
  }
  nlohmann::json per_epoch = TotalsJson(p.per_epoch);
  per_epoch["steps"] = p.steps_per_epoch;
  nlohmann::json training = TotalsJson(p.training);
  training["wh"] =
      p.training.energy_j ? nlohmann::json(*p.training.energy_j / kJoulesPerWh) : nlohmann::json();
  training["kwh"] =
      p.training.energy_j ? nlohmann::json(*p.training.energy_j / kJoulesPerKwh) : nlohmann::json();
  const Coverage& c = p.coverage;
  return {{"network",
           {{"name", r.network},
            {"input", r.input.SampleShape()},  // [C, H, W], or [S] for token ids
            {"input_ids", r.input.IsTokenIds()},
            {"batch_size", r.batch_size},
            {"dataset_size", r.dataset_size},
            {"epochs", r.epochs},
            {"steps_per_epoch", p.steps_per_epoch},
            {"optimizer", r.optimizer.type},
            {"zero_grad", r.optimizer.zero_grad}}},
          {"bundle",
           {{"path", bundle_path},
            {"host", p.bundle_host},
            {"has_energy_models", p.has_energy_models}}},
          {"layers", layers},
          {"loss", item_json(p.loss)},
          {"optimizer_step", item_json(p.optimizer_step)},
          {"grad_accumulation", item_json(p.grad_accumulation)},
          {"zero_grad", item_json(p.zero_grad)},
          {"per_batch", TotalsJson(p.per_batch)},
          {"per_epoch", per_epoch},
          {"training", training},
          {"inference_per_sample",
           {{"time_s", p.inference_time_per_sample_s},
            {"energy_j", OrNull(p.inference_energy_per_sample_j)}}},
          {"memory",
           {{"peak_bytes", p.memory.peak_bytes},
            {"peak_at", p.memory.peak_at},
            {"parameter_bytes", p.memory.parameter_bytes},
            {"gradient_bytes", p.memory.gradient_bytes},
            {"optimizer_state_bytes", p.memory.optimizer_state_bytes},
            {"batch_bytes", p.memory.batch_bytes},
            {"saved_bytes", p.memory.saved_bytes},
            {"tensor_peak_bytes", p.memory.tensor_peak_bytes},
            {"blas_workspace_bytes", p.memory.blas_workspace_bytes},
            {"framework_bytes", p.memory.framework_bytes ? nlohmann::json(*p.memory.framework_bytes)
                                                         : nlohmann::json(nullptr)},
            {"distinct_conv2d", p.memory.distinct_conv2d}}},
          {"coverage",
           {{"layers_total", c.layers_total},
            {"layers_modelled", c.layers_modelled},
            {"layers_extrapolated", c.layers_extrapolated},
            {"layers_unmodelled", c.layers_unmodelled},
            {"layers_no_cost", c.layers_no_cost},
            {"layer_share", c.LayerShare()},
            {"macs_total", c.macs_total},
            {"macs_modelled", c.macs_modelled},
            {"macs_share", c.MacShare()}}},
          {"lower_bound", p.LowerBound()},
          {"unmodelled", p.unmodelled},
          {"warnings", p.warnings}};
}

}  // namespace lj
