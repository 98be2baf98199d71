// fit_candidates: the model comparison behind the fit tool's default (--model nnlasso).
// Not a test: prints tables for JOURNAL.md. Usage:
//   fit_candidates [RAPTORLAKE_DIR] [LOCAL_TIMINGS_DIR]
// RAPTORLAKE_DIR: ../shared/data/legacy-pyrapl/raptorlake (pyRAPL package energy, µJ and µs per
//   batch; backward = MSE loss + backward + SGD step). Read directly from the CSVs.
// LOCAL_TIMINGS_DIR: output of tests/bench/fit_layer_timings.py (random.csv, realnet.csv; time
//   only), optional.
// Sections:
//   A  random 80/20 held-out split of the Raptor Lake rows, per layer x pass x quantity x kind,
//      and energy as time x power (NeuralPower) next to direct energy;
//   B  edge split: train on the 80 % of rows with the fewest MACs, test on the 20 % largest
//      (also "nnlasso boundary"/"nnlasso model": the same model with the other Extrapolation,
//      fit/model_bundle.h);
//   C  AlexNet (batch 512, 64x64) as the prototype trained it: sum of layer predictions vs the
//      measured per-batch forward and backward (conv2d, maxpool2d, linear; ReLU etc. ignored);
//   D  local timings: train on random layers, test on AlexNet/VGG-16/ResNet-18 layers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/layer_config.h"
#include "fit/cross_validation.h"
#include "fit/model_fit.h"

namespace {

using lj::LayerConfig;
using lj::LayerType;
using lj::ModelKind;
using lj::Pass;
using lj::Quantity;
using lj::TrainingRow;

std::vector<std::map<std::string, std::string>> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::map<std::string, std::string>> rows;
  if (!in) return rows;
  std::string line;
  const auto strip = [](std::string& l) {
    if (!l.empty() && l.back() == '\r') l.pop_back();  // CRLF files
  };
  std::getline(in, line);
  strip(line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  while (std::getline(in, line)) {
    strip(line);
    if (line.empty()) continue;
    std::stringstream ls(line);
    std::map<std::string, std::string> row;
    size_t i = 0;
    for (std::string f; std::getline(ls, f, ',') && i < header.size(); ++i) row[header[i]] = f;
    rows.push_back(row);
  }
  return rows;
}

double D(const std::map<std::string, std::string>& r, const std::string& k) {
  return std::stod(r.at(k));
}
int64_t I(const std::map<std::string, std::string>& r, const std::string& k) {
  return std::llround(std::stod(r.at(k)));
}

// One measured config with both passes.
struct Row {
  LayerConfig config;
  double time_s[2] = {0, 0};    // forward, backward
  double energy_j[2] = {0, 0};  // 0: not measured
  std::string source;
};

std::vector<Row> ReadRaptorLake(const std::string& dir, LayerType type) {
  const char* file = type == LayerType::kConv2d   ? "conv.csv"
                     : type == LayerType::kLinear ? "linear.csv"
                                                  : "pool.csv";
  std::vector<Row> rows;
  for (const auto& r : ReadCsv(dir + "/" + file)) {
    Row row;
    LayerConfig& c = row.config;
    c.type = type;
    c.batch_size = I(r, "batch_size");
    if (type == LayerType::kConv2d) {
      c.in_channels = I(r, "in_chan");
      c.out_channels = I(r, "out_chan");
      c.height = c.width = I(r, "side_len");
      c.kernel_size = I(r, "k_size");
      c.stride = I(r, "stride");
    } else if (type == LayerType::kLinear) {
      c.in_features = I(r, "in_size");
      c.out_features = I(r, "out_size");
    } else {
      c.in_channels = I(r, "in_chan");
      c.height = c.width = I(r, "im_side_length");
      c.kernel_size = I(r, "k_side_length");
      c.stride = I(r, "stride");
    }
    if (!lj::IsValid(c)) continue;
    row.time_s[0] = D(r, "for_time") * 1e-6;
    row.time_s[1] = D(r, "back_time") * 1e-6;
    row.energy_j[0] = D(r, "for_energy") * 1e-6;
    row.energy_j[1] = D(r, "back_energy") * 1e-6;
    rows.push_back(row);
  }
  return rows;
}

std::vector<Row> ReadLocal(const std::string& path) {
  std::vector<Row> rows;
  for (const auto& r : ReadCsv(path)) {
    Row row;
    LayerConfig& c = row.config;
    c.type = lj::ParseLayerType(r.at("layer"));
    c.batch_size = I(r, "batch_size");
    c.in_channels = I(r, "in_channels");
    c.out_channels = I(r, "out_channels");
    c.height = I(r, "height");
    c.width = I(r, "width");
    c.kernel_size = I(r, "kernel_size");
    c.stride = I(r, "stride");
    c.padding = I(r, "padding");
    c.groups = std::max<int64_t>(1, I(r, "groups"));
    c.in_features = I(r, "in_features");
    c.out_features = I(r, "out_features");
    row.time_s[0] = D(r, "forward_s");
    row.time_s[1] = D(r, "backward_s");
    row.source = r.at("source");
    rows.push_back(row);
  }
  return rows;
}

std::vector<TrainingRow> Training(const std::vector<Row>& rows, int pass, Quantity q) {
  std::vector<TrainingRow> out;
  for (const Row& r : rows) {
    const double v = q == Quantity::kTimeS     ? r.time_s[pass]
                     : q == Quantity::kEnergyJ ? r.energy_j[pass]
                                               : r.energy_j[pass] / r.time_s[pass];
    out.push_back({r.config, v});
  }
  return out;
}

struct Score {
  lj::Metrics m;
  double median_ape = 0;  // percent
  double geo_ratio = 0;   // geometric mean of pred / y
  int negative = 0;
};
Score ScoreOf(const std::vector<double>& pred, const std::vector<double>& y) {
  Score s;
  s.m = lj::ComputeMetrics(pred, y);
  std::vector<double> ape;
  double log_sum = 0;
  int n_pos = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    ape.push_back(100 * std::abs(pred[i] - y[i]) / y[i]);
    if (pred[i] < 0) ++s.negative;
    if (pred[i] > 0) {
      log_sum += std::log(pred[i] / y[i]);
      ++n_pos;
    }
  }
  std::nth_element(ape.begin(), ape.begin() + ape.size() / 2, ape.end());
  s.median_ape = ape[ape.size() / 2];
  s.geo_ratio = n_pos ? std::exp(log_sum / n_pos) : 0;
  return s;
}

void PrintHeader(const char* title) {
  std::printf("\n== %s\n%-9s %-8s %-9s %-15s %6s %5s %10s %10s %9s %7s %7s %9s %5s\n", title,
              "layer", "pass", "quantity", "kind", "n_test", "terms", "MAPE%", "RMSPE%", "medAPE%",
              "R2", "<=10%", "pred/y", "neg");
}
void PrintScore(LayerType t, int pass, const std::string& q, const std::string& kind,
                const Score& s, size_t terms) {
  std::printf("%-9s %-8s %-9s %-18s %6lld %5zu %10.3g %10.3g %9.3g %7.3f %7.3f %9.3g %5d\n",
              std::string(lj::ToString(t)).c_str(), pass ? "backward" : "forward", q.c_str(),
              kind.c_str(), static_cast<long long>(s.m.n), terms, s.m.mape, s.m.rmspe, s.median_ape,
              s.m.r2, s.m.within_10, s.geo_ratio, s.negative);
}

// A candidate: a model kind, a term set, the nnlasso weighting and the outlier filter.
enum class TermSet { kCapped, kFull, kSpecial };
struct Candidate {
  std::string name;
  ModelKind kind;
  TermSet terms;
  int reweight_iterations;
  double outlier_factor;
};
const Candidate kCandidates[] = {
    {"nnlasso", ModelKind::kNnLasso, TermSet::kCapped, 0, 10},  // the default
    {"nnlasso-nofilter", ModelKind::kNnLasso, TermSet::kCapped, 0, 0},
    {"nnlasso-irls", ModelKind::kNnLasso, TermSet::kCapped, 2, 10},      // weights 1/pred^2
    {"nnlasso-full", ModelKind::kNnLasso, TermSet::kFull, 0, 10},        // NeuralPower's polynomial
    {"nnlasso-special", ModelKind::kNnLasso, TermSet::kSpecial, 0, 10},  // intercept + MACs, sizes
    {"loglasso", ModelKind::kLogLasso, TermSet::kCapped, 0, 10},
    {"lasso-full", ModelKind::kLasso, TermSet::kFull, 0, 0},  // the prototype
};

std::vector<lj::Term> Log2Terms(LayerType t) {
  std::vector<lj::Term> out;
  for (const lj::Term& term : lj::PowerTerms(t))
    if (term.kind == lj::Term::Kind::kLog2) out.push_back(term);
  return out;
}

lj::FitOptions Options(const Candidate& c, LayerType t, Quantity q) {
  lj::FitOptions o;
  o.kind = c.kind;
  o.test_fraction = 0.0;
  o.reweight_iterations = c.reweight_iterations;
  o.outlier_factor = c.outlier_factor;
  o.term_set = c.terms == TermSet::kFull ? lj::TermSet::kFull : lj::TermSet::kCapped;
  if (c.terms == TermSet::kSpecial && q != Quantity::kPowerW) {
    o.terms = lj::PolynomialTerms(t, 1);
    o.terms.erase(o.terms.begin(), o.terms.begin() + lj::NumBase(t));
  }
  return o;
}

// Fits on `train` (all rows, no inner split) and scores `test`.
void TrainTest(LayerType t, int pass, Quantity q, const std::vector<Row>& train,
               const std::vector<Row>& test) {
  for (const Candidate& cand : kCandidates) {
    const std::string kind = cand.name;
    const lj::Model m = lj::FitModel(t, pass ? Pass::kBackward : Pass::kForward, q,
                                     Training(train, pass, q), Options(cand, t, q));
    std::vector<double> pred, y;
    for (const TrainingRow& r : Training(test, pass, q)) {
      pred.push_back(lj::Predict(m, r.config).value);
      y.push_back(r.value);
    }
    PrintScore(t, pass, std::string(lj::ToString(q)), kind, ScoreOf(pred, y), m.terms.size());
    if (cand.name == "nnlasso") {  // the same model, the other Extrapolation
      lj::Model other = m;
      other.extrapolation = m.extrapolation == lj::Extrapolation::kBoundary
                                ? lj::Extrapolation::kModel
                                : lj::Extrapolation::kBoundary;
      std::vector<double> boundary;
      for (const TrainingRow& r : Training(test, pass, q)) {
        boundary.push_back(lj::Predict(other, r.config).value);
      }
      PrintScore(t, pass, std::string(lj::ToString(q)),
                 kind + " " + std::string(lj::ToString(other.extrapolation)), ScoreOf(boundary, y),
                 m.terms.size());
    }
    if (q == Quantity::kEnergyJ && (cand.name == "nnlasso" || cand.name == "loglasso" ||
                                    cand.name == "lasso-full")) {  // NeuralPower: time x power
      const Pass pp = pass ? Pass::kBackward : Pass::kForward;
      const lj::Model mt =
          lj::FitModel(t, pp, Quantity::kTimeS, Training(train, pass, Quantity::kTimeS),
                       Options(cand, t, Quantity::kTimeS));
      lj::FitOptions po = Options(cand, t, Quantity::kPowerW);
      const lj::Model mp =
          lj::FitModel(t, pp, Quantity::kPowerW, Training(train, pass, Quantity::kPowerW), po);
      po.terms = Log2Terms(t);
      const lj::Model mp2 =
          lj::FitModel(t, pp, Quantity::kPowerW, Training(train, pass, Quantity::kPowerW), po);
      std::vector<double> pe, pe2;
      for (const Row& r : test) {
        const double time = lj::Predict(mt, r.config).value;
        pe.push_back(time * lj::Predict(mp, r.config).value);
        pe2.push_back(time * lj::Predict(mp2, r.config).value);
      }
      PrintScore(t, pass, "energy_j", kind + " t*P", ScoreOf(pe, y),
                 mt.terms.size() + mp.terms.size());
      if (cand.kind == ModelKind::kNnLasso) {
        PrintScore(t, pass, "energy_j", kind + " t*Plog", ScoreOf(pe2, y),
                   mt.terms.size() + mp2.terms.size());
      }
    }
  }
}

std::vector<Row> Usable(const std::vector<Row>& rows, int pass, bool energy) {
  std::vector<Row> out;
  for (const Row& r : rows) {
    if (r.time_s[pass] > 0 && (!energy || r.energy_j[pass] > 0)) out.push_back(r);
  }
  return out;
}

LayerConfig Conv(int64_t n, int64_t in, int64_t out, int64_t side, int64_t k, int64_t s,
                 int64_t p) {
  LayerConfig c;
  c.type = LayerType::kConv2d;
  c.batch_size = n;
  c.in_channels = in;
  c.out_channels = out;
  c.height = c.width = side;
  c.kernel_size = k;
  c.stride = s;
  c.padding = p;
  return c;
}
LayerConfig Pool(int64_t n, int64_t ch, int64_t side) {
  LayerConfig c;
  c.type = LayerType::kMaxPool2d;
  c.batch_size = n;
  c.in_channels = ch;
  c.height = c.width = side;
  c.kernel_size = 3;
  c.stride = 2;
  return c;
}
LayerConfig Linear(int64_t n, int64_t in, int64_t out) {
  LayerConfig c;
  c.type = LayerType::kLinear;
  c.batch_size = n;
  c.in_features = in;
  c.out_features = out;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const char* src = std::getenv("LJ_SOURCE_DIR");
  const std::string rl =
      argc > 1 ? argv[1]
               : std::string(src ? src : ".") + "/../shared/data/legacy-pyrapl/raptorlake";
  const std::string local = argc > 2 ? argv[2] : "";
  const bool verbose = std::getenv("LJ_VERBOSE") != nullptr;
  const bool skip_ab = std::getenv("LJ_SKIP_AB") != nullptr;
  std::map<LayerType, std::vector<Row>> data;
  for (const LayerType t : {LayerType::kConv2d, LayerType::kMaxPool2d, LayerType::kLinear})
    data[t] = ReadRaptorLake(rl, t);

  PrintHeader("A: Raptor Lake, random 80/20 held-out split (seed 1), 10-fold CV on the 80 %");
  for (const auto& [t, rows] : data) {
    if (skip_ab) break;
    for (int pass = 0; pass < (t == LayerType::kMaxPool2d ? 1 : 2); ++pass) {
      const std::vector<Row> usable = Usable(rows, pass, true);
      const lj::TrainTestSplit split =
          lj::SplitTrainTest(static_cast<int64_t>(usable.size()), 0.2, 1);
      std::vector<Row> train, test;
      for (auto i : split.train) train.push_back(usable[i]);
      for (auto i : split.test) test.push_back(usable[i]);
      TrainTest(t, pass, Quantity::kTimeS, train, test);
      TrainTest(t, pass, Quantity::kEnergyJ, train, test);
    }
  }

  PrintHeader("B: Raptor Lake, edge split: train on the 80 % fewest MACs, test on the 20 % most");
  for (const auto& [t, rows] : data) {
    if (skip_ab) break;
    for (int pass = 0; pass < (t == LayerType::kMaxPool2d ? 1 : 2); ++pass) {
      std::vector<Row> usable = Usable(rows, pass, true);
      std::stable_sort(usable.begin(), usable.end(), [](const Row& a, const Row& b) {
        return lj::ForwardMacs(a.config) < lj::ForwardMacs(b.config);
      });
      const size_t cut = usable.size() * 8 / 10;
      const std::vector<Row> train(usable.begin(), usable.begin() + cut),
          test(usable.begin() + cut, usable.end());
      TrainTest(t, pass, Quantity::kTimeS, train, test);
      TrainTest(t, pass, Quantity::kEnergyJ, train, test);
    }
  }

  // C: AlexNet (torchvision) on 64x64 inputs, batch 512, plus Linear(1000, 10).
  const int64_t n = 512;
  const std::vector<LayerConfig> alexnet = {
      Conv(n, 3, 64, 64, 11, 4, 2),  Pool(n, 64, 15),
      Conv(n, 64, 192, 7, 5, 1, 2),  Pool(n, 192, 7),
      Conv(n, 192, 384, 3, 3, 1, 1), Conv(n, 384, 256, 3, 3, 1, 1),
      Conv(n, 256, 256, 3, 3, 1, 1), Pool(n, 256, 3),
      Linear(n, 9216, 4096),         Linear(n, 4096, 4096),
      Linear(n, 4096, 1000),         Linear(n, 1000, 10)};
  const double measured[2][2] = {{0.2536, 18.44},
                                 {0.3770, 24.20}};  // [pass][time_s, energy_j], epochs 2-10 means
  std::printf(
      "\n== C: AlexNet 64x64 batch 512 (Raptor Lake): sum of layer predictions / measured\n");
  std::printf("%-15s %-8s %12s %12s %12s %12s %14s\n", "kind", "pass", "time_s", "/measured",
              "energy_j", "/measured", "t*P energy_j");
  for (const Candidate& cand : kCandidates) {
    for (int pass = 0; pass < 2; ++pass) {
      double sum[3] = {0, 0, 0};
      for (const auto& [t, rows] : data) {
        const int p = t == LayerType::kMaxPool2d ? 0 : pass;  // pool: forward only (no parameters)
        const Pass pp = p ? Pass::kBackward : Pass::kForward;
        const std::vector<Row> usable = Usable(rows, p, true);
        const lj::Model mt =
            lj::FitModel(t, pp, Quantity::kTimeS, Training(usable, p, Quantity::kTimeS),
                         Options(cand, t, Quantity::kTimeS));
        const lj::Model me =
            lj::FitModel(t, pp, Quantity::kEnergyJ, Training(usable, p, Quantity::kEnergyJ),
                         Options(cand, t, Quantity::kEnergyJ));
        lj::FitOptions po = Options(cand, t, Quantity::kPowerW);
        if (cand.kind == ModelKind::kNnLasso) po.terms = Log2Terms(t);
        const lj::Model mp =
            lj::FitModel(t, pp, Quantity::kPowerW, Training(usable, p, Quantity::kPowerW), po);
        for (const LayerConfig& c : alexnet) {
          if (c.type != t) continue;
          if (t == LayerType::kMaxPool2d && pass == 1) continue;  // no pool backward data
          const double time = lj::Predict(mt, c).value;
          const double energy = lj::Predict(me, c).value;
          const double power = lj::Predict(mp, c).value;
          sum[0] += time;
          sum[1] += energy;
          sum[2] += time * power;
          if (verbose) {
            std::printf("    %-13s %-8s %-52s time_s %10.4g energy_j %10.4g power_w %8.4g\n",
                        cand.name.c_str(), pass ? "backward" : "forward",
                        lj::ToJson(c).dump().substr(0, 52).c_str(), time, energy, power);
          }
        }
      }
      std::printf("%-15s %-8s %12.4g %12.3g %12.4g %12.3g %14.4g\n", cand.name.c_str(),
                  pass ? "backward" : "forward", sum[0], sum[0] / measured[pass][0], sum[1],
                  sum[1] / measured[pass][1], sum[2]);
    }
  }

  if (!local.empty()) {
    const std::vector<Row> random = ReadLocal(local + "/random.csv"),
                           real = ReadLocal(local + "/realnet.csv");
    PrintHeader("D: local CPU timings, train on random layers (all), test on real-network layers");
    for (const LayerType t : {LayerType::kConv2d, LayerType::kMaxPool2d, LayerType::kLinear}) {
      for (int pass = 0; pass < 2; ++pass) {
        std::vector<Row> train, test;
        for (const Row& r : random)
          if (r.config.type == t && r.time_s[pass] > 0) train.push_back(r);
        for (const Row& r : real)
          if (r.config.type == t && r.time_s[pass] > 0) test.push_back(r);
        if (train.size() < 70 || test.empty()) continue;
        TrainTest(t, pass, Quantity::kTimeS, train, test);
      }
    }
    PrintHeader("D': local CPU timings, random 80/20 split of the random layers (in-distribution)");
    for (const LayerType t : {LayerType::kConv2d, LayerType::kMaxPool2d, LayerType::kLinear}) {
      for (int pass = 0; pass < 2; ++pass) {
        std::vector<Row> rows;
        for (const Row& r : random)
          if (r.config.type == t && r.time_s[pass] > 0) rows.push_back(r);
        if (rows.size() < 90) continue;
        const lj::TrainTestSplit split =
            lj::SplitTrainTest(static_cast<int64_t>(rows.size()), 0.2, 1);
        std::vector<Row> train, test;
        for (auto i : split.train) train.push_back(rows[i]);
        for (auto i : split.test) test.push_back(rows[i]);
        TrainTest(t, pass, Quantity::kTimeS, train, test);
      }
    }
  }
  return 0;
}
