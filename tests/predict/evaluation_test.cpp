// lj::Evaluate on a small hand-built database: one host, random linear / cross_entropy / sgd
// samples whose time follows a known formula, two networks of one linear layer each with
// `--layers` samples and measured iterations. Network "slow"'s own layer samples are 10x the
// formula, so a fit that saw them would move towards them (30 random rows per type, no outlier
// filter, mean calibration: one 10x row among 31 moves the model up by ~30 %):
// leave-one-network-out must not.
#include "predict/evaluation.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "core/errors.h"
#include "core/malloc_setting.h"
#include "db/store.h"
#include "db/vocabulary.h"
#include "tests/support/speed_probes.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

// Seconds of one pass: 20 us + 1 ns per MAC (forward; backward twice that).
double Formula(const LayerConfig& c, Pass pass) {
  return (2e-5 + 1e-9 * ForwardMacs(c)) * (pass == Pass::kBackward ? 2 : 1);
}

SampleRow Row(int64_t run, int64_t index, const LayerConfig& c, Pass pass, double time_s,
              const std::string& notes = "") {
  SampleRow r;
  r.run_id = run;
  r.sample_index = index;
  r.layer = std::string(ToString(c.type));
  r.pass = std::string(ToString(pass));
  r.config = ToJson(c).dump();
  r.repetitions = 10;
  r.trials = 3;
  r.time_s = time_s;
  r.meter = "none";
  if (!notes.empty()) r.notes = notes;
  return r;
}

std::string NetJson(const std::string& name, int64_t out_features) {
  return nlohmann::json(
             {{"name", name},
              {"input", {{"channels", 3}, {"height", 8}, {"width", 8}}},
              {"batch_size", 16},
              {"dataset_size", 160},
              {"epochs", 1},
              {"optimizer", {{"type", "sgd"}, {"lr", 0.01}, {"momentum", 0.9}}},
              {"layers",
               {{{"type", "flatten"}}, {{"type", "linear"}, {"out_features", out_features}}}}})
      .dump();
}

class EvaluationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lj_evaluation_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    db_ = (dir_ / "eval.sqlite").string();
    Store store(db_);
    HostInfo host;
    host.hostname = "h1";
    host.cpu_model = "test cpu";
    host.threads_used = 2;
    const int64_t host_id = store.UpsertHost(host);
    host_id_ = host_id;
    std::mt19937_64 rng(1);
    const auto uniform = [&](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    // Random samples, 3 % noise.
    RunInfo random;
    random.host_id = host_id;
    random.kind = "random";
    const int64_t run = store.CreateRun(random);
    std::normal_distribution<double> noise(0, 0.03);
    int64_t index = 0;
    for (int i = 0; i < 30; ++i) {
      LayerConfig lin;
      lin.type = LayerType::kLinear;
      lin.batch_size = uniform(1, 64);
      lin.in_features = uniform(16, 512);
      lin.out_features = uniform(2, 64);
      LayerConfig loss;
      loss.type = LayerType::kCrossEntropy;
      loss.batch_size = uniform(1, 64);
      loss.num_classes = uniform(2, 100);
      LayerConfig sgd;
      sgd.type = LayerType::kSgd;
      sgd.parameters = uniform(100, 100000);
      sgd.parameter_tensors = uniform(1, 4);
      LayerConfig acc = sgd;
      acc.type = LayerType::kGradAccumulate;
      LayerConfig zero = sgd;
      zero.type = LayerType::kZeroGrad;
      for (const LayerConfig& c : {lin, loss, sgd, acc, zero}) {
        std::vector<SampleRow> rows;
        rows.push_back(
            Row(run, index, c, Pass::kForward, Formula(c, Pass::kForward) * (1 + noise(rng))));
        if (HasBackwardPass(c.type)) {
          rows.push_back(
              Row(run, index, c, Pass::kBackward, Formula(c, Pass::kBackward) * (1 + noise(rng))));
        }
        store.InsertSamples(rows);
        ++index;
      }
    }
    // Two networks: layers (net-layers runs) and measured iterations (network runs).
    for (const auto& [name, out_features, factor] :
         {std::tuple<std::string, int64_t, double>{"slow", 10, 10.0}, {"fair", 20, 1.0}}) {
      LayerConfig fc;
      fc.type = LayerType::kLinear;
      fc.batch_size = 16;
      fc.in_features = 192;
      fc.out_features = out_features;
      LayerConfig loss;
      loss.type = LayerType::kCrossEntropy;
      loss.batch_size = 16;
      loss.num_classes = out_features;
      LayerConfig sgd;
      sgd.type = LayerType::kSgd;
      sgd.parameters = 192 * out_features + out_features;
      sgd.parameter_tensors = 2;
      RunInfo layers;
      layers.host_id = host_id;
      layers.kind = "net-layers";
      layers.source_json = NetJson(name, out_features);
      const int64_t layer_run = store.CreateRun(layers);
      store.InsertSamples({Row(layer_run, 0, fc, Pass::kForward,
                               factor * Formula(fc, Pass::kForward), name + " layer layers.1"),
                           Row(layer_run, 0, fc, Pass::kBackward,
                               factor * Formula(fc, Pass::kBackward), name + " layer layers.1")});
      store.InsertSamples({Row(layer_run, 1, loss, Pass::kForward,
                               factor * Formula(loss, Pass::kForward), name + " layer loss"),
                           Row(layer_run, 1, loss, Pass::kBackward,
                               factor * Formula(loss, Pass::kBackward), name + " layer loss")});
      store.InsertSamples(
          {Row(layer_run, 2, sgd, Pass::kForward, factor * Formula(sgd, Pass::kForward),
               name + " layer optimizer step")});
      LayerConfig acc = sgd;
      acc.type = LayerType::kGradAccumulate;
      LayerConfig zero = sgd;
      zero.type = LayerType::kZeroGrad;
      store.InsertSamples(
          {Row(layer_run, 3, acc, Pass::kForward, factor * Formula(acc, Pass::kForward),
               name + " layer grad accumulation (.grad)")});
      store.InsertSamples({Row(layer_run, 4, zero, Pass::kForward,
                               factor * Formula(zero, Pass::kForward), name + " layer zero_grad")});
      RunInfo net;
      net.host_id = host_id;
      net.kind = "network";
      net.source_json = NetJson(name, out_features);
      const int64_t net_run = store.CreateRun(net);
      const double forward = Formula(fc, Pass::kForward);
      const double loss_s = Formula(loss, Pass::kForward);
      const double backward = Formula(fc, Pass::kBackward) + Formula(loss, Pass::kBackward) +
                              Formula(acc, Pass::kForward);
      const double step = Formula(sgd, Pass::kForward) + Formula(zero, Pass::kForward);
      for (int64_t it = 0; it < 11; ++it) {
        const double jitter = 1 + 0.01 * static_cast<double>(it - 5);  // median: 1
        std::vector<NetworkSampleRow> rows;
        for (const auto& [phase, t] : {std::pair<std::string, double>{"forward", forward},
                                       {"loss", loss_s},
                                       {"backward", backward},
                                       {"optimizer", step},
                                       {"iteration", forward + loss_s + backward + step}}) {
          rows.push_back(PhaseRow(net_run, name, phase, it, t * jitter));
        }
        store.InsertNetworkSamples(rows);
      }
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One phase of one measured iteration of `name` at batch 16, time only.
  static NetworkSampleRow PhaseRow(int64_t run, const std::string& name, const std::string& phase,
                                   int64_t iteration, double time_s) {
    NetworkSampleRow r;
    r.run_id = run;
    r.network = name;
    r.batch_size = 16;
    r.phase = phase;
    r.iteration = iteration;
    r.time_s = time_s;
    r.meter = "none";
    return r;
  }

  // One more `measure --net` run of `name`: n iterations whose every phase takes `phase_s`.
  int64_t AddNetworkRun(const std::string& name, const std::string& definition, double phase_s,
                        int64_t n) {
    Store store(db_);
    RunInfo net;
    net.host_id = host_id_;
    net.kind = "network";
    net.source_json = definition;
    const int64_t run = store.CreateRun(net);
    for (int64_t it = 0; it < n; ++it) {
      std::vector<NetworkSampleRow> rows;
      for (const std::string& phase : AllNetworkPhaseNames()) {
        rows.push_back(PhaseRow(run, name, phase, it, phase_s));
      }
      store.InsertNetworkSamples(rows);
    }
    return run;
  }

  static EvaluationOptions QuickOptions() {
    EvaluationOptions options;
    options.fit.folds = 3;
    options.fit.n_alphas = 20;
    options.fit.outlier_factor = 0;
    options.fit.calibration = FitOptions::Calibration::kMean;
    return options;
  }

  fs::path dir_;
  std::string db_;
  int64_t host_id_ = 0;
};

const PhaseScore& Phase(const HostEvaluation& ev, const std::string& network,
                        const std::string& phase) {
  for (const PhaseScore& p : ev.phases) {
    if (p.network == network && p.phase == phase && p.quantity == "time_s") return p;
  }
  throw std::runtime_error("no phase " + network + " " + phase);
}

TEST(ErrorSummaryTest, SummariseComputesRelativeErrors) {
  const ErrorSummary s = Summarise({1.05, 0.8, 2.0, 1.0}, {1.0, 1.0, 1.0, 1.0});
  EXPECT_EQ(s.n, 4);
  EXPECT_NEAR(s.rmspe_pct, 100 * std::sqrt((0.0025 + 0.04 + 1.0 + 0.0) / 4), 1e-9);
  EXPECT_NEAR(s.median_pct, 100 * (0.0 + 0.05) / 2, 1e-9);  // errors -0.2, 0, 0.05, 1
  EXPECT_DOUBLE_EQ(s.within_10, 0.5);
  EXPECT_DOUBLE_EQ(s.within_25, 0.75);
  EXPECT_DOUBLE_EQ(s.min_ratio, 0.8);
  EXPECT_DOUBLE_EQ(s.max_ratio, 2.0);
  EXPECT_THROW(Summarise({1.0}, {0.0}), std::invalid_argument);
  EXPECT_EQ(Summarise({}, {}).n, 0);
}

TEST_F(EvaluationTest, LeavesEachNetworksOwnLayersOut) {
  EvaluationOptions options;
  options.fit.folds = 3;
  options.fit.n_alphas = 20;
  options.fit.outlier_factor = 0;
  options.fit.calibration = FitOptions::Calibration::kMean;
  const auto hosts = Evaluate({db_}, "", options);
  ASSERT_EQ(hosts.size(), 1u);
  const HostEvaluation& ev = hosts[0];
  EXPECT_EQ(ev.host, "h1");
  EXPECT_EQ(ev.kinds, (std::vector<std::string>{"nnlasso", "maclinear"}));
  // (b): "slow"'s layers were measured at 10x the formula; predicted from the other rows, every
  // kind predicts the formula, i.e. about -90 %. Had they been in the fit, their own 10x rows
  // would have pulled the prediction up.
  int slow_layers = 0;
  for (const LayerScore& s : ev.layers) {
    if (s.network != "slow") continue;
    ++slow_layers;
    for (const auto& p : s.predicted_by_kind) {
      ASSERT_TRUE(p) << s.paths;
      EXPECT_NEAR(*p / s.measured, 0.1, 0.015) << s.paths << " " << s.pass;
    }
  }
  EXPECT_EQ(slow_layers, 7);  // linear fwd+bwd, loss fwd+bwd, sgd, grad_accumulate, zero_grad
  // (c): "slow"'s iterations follow the formula, and its fit saw only "fair"'s layers (at the
  // formula): predicted within a few percent. ("fair"'s fit includes "slow"'s 10x layers.)
  for (const std::string network : {"slow"}) {
    const PhaseScore& it = Phase(ev, network, "iteration");
    EXPECT_EQ(it.iterations, 11);
    EXPECT_TRUE(it.own_layers_left_out);
    for (size_t k = 0; k < ev.kinds.size(); ++k) {
      ASSERT_TRUE(it.predicted_by_kind[k]) << network;
      EXPECT_FALSE(it.lower_bound_by_kind[k]) << network;
      EXPECT_NEAR(*it.predicted_by_kind[k] / it.measured_median, 1.0, 0.1)
          << network << " " << ev.kinds[k];
    }
    const PhaseScore& bs = Phase(ev, network, "backward+step");
    EXPECT_NEAR(bs.measured_median,
                Phase(ev, network, "iteration").measured_median -
                    Phase(ev, network, "forward").measured_median,
                1e-12);
  }
  // (d): "slow"'s isolated sum is 10x its measured iteration; "fair"'s equals it.
  for (const CompositionRow& r : ev.composition) {
    if (r.phase != "iteration") continue;
    EXPECT_NEAR(r.isolated_sum / r.measured_median, r.network == "slow" ? 10.0 : 1.0, 1e-6)
        << r.network;
  }
  const std::string text = FormatEvaluation(hosts);
  for (const char* heading : {"## (a)", "## (b)", "## (c)", "## (d)", "## (e)"}) {
    EXPECT_NE(text.find(heading), std::string::npos) << heading;
  }
  const nlohmann::json j = ToJson(hosts);
  EXPECT_EQ(j[0]["kinds"][1], "maclinear");
  EXPECT_EQ(j[0]["layer_summary"]["nnlasso"]["time_s"]["slow"]["n"], 7);
}

// The framework-memory probes (db/rows.h) are memory measurements, not networks to score.
TEST_F(EvaluationTest, FrameworkMemoryProbesAreNotScored) {
  AddNetworkRun(kFrameworkProbeNetwork, NetJson(kFrameworkProbeNetwork, 2), 0.001, 5);
  AddNetworkRun(kConvFrameworkProbeNetwork, NetJson(kConvFrameworkProbeNetwork, 2), 0.001, 5);
  const HostEvaluation ev = Evaluate({db_}, "", QuickOptions())[0];
  for (const PhaseScore& p : ev.phases) {
    EXPECT_NE(p.network, kFrameworkProbeNetwork);
    EXPECT_NE(p.network, kConvFrameworkProbeNetwork);
  }
  EXPECT_EQ(Phase(ev, "fair", "iteration").iterations, 11);
}

// (c) pools the iterations of every run of a network with the same definition (the machine
// drifts between runs); a run with another definition under the same name replaces the older.
TEST_F(EvaluationTest, PoolsTheRunsOfANetworkThatShareItsDefinition) {
  const PhaseScore before = Phase(Evaluate({db_}, "", QuickOptions())[0], "fair", "iteration");
  ASSERT_EQ(before.iterations, 11);
  AddNetworkRun("fair", NetJson("fair", 20), 1.0, 13);  // 13 iterations of 1 s each
  const PhaseScore pooled = Phase(Evaluate({db_}, "", QuickOptions())[0], "fair", "iteration");
  EXPECT_EQ(pooled.iterations, 24);
  EXPECT_DOUBLE_EQ(pooled.measured_median, 1.0);  // 13 of the 24 iterations take 1 s
  EXPECT_EQ(Phase(Evaluate({db_}, "", QuickOptions())[0], "slow", "iteration").iterations, 11);

  std::string other = NetJson("fair", 20);
  other.replace(other.find("160"), 3, "320");  // dataset_size: another definition
  AddNetworkRun("fair", other, 2.0, 5);
  const PhaseScore replaced = Phase(Evaluate({db_}, "", QuickOptions())[0], "fair", "iteration");
  EXPECT_EQ(replaced.iterations, 5);
  EXPECT_DOUBLE_EQ(replaced.measured_median, 2.0);
}

// A network measured under another malloc setting than its host's layers is neither pooled
// with the other runs nor scored against their models; the report names it and the layers'
// setting. Choosing the layers' setting with --malloc gives the same scores.
TEST_F(EvaluationTest, LeavesOutNetworksMeasuredUnderAnotherMallocSetting) {
  {
    Store store(db_);
    for (const RunInfo& r : store.ReadRuns()) {
      store.SetRunOption(r.id, kMallocRunOption, kGlibcDefaultMalloc);
    }
  }
  const int64_t kept_run = AddNetworkRun("fair", NetJson("fair", 20), 2.0, 5);
  {
    Store store(db_);
    store.SetRunOption(kept_run, kMallocRunOption, CanonicalMallocSetting("keep-freed"));
  }
  const HostEvaluation ev = Evaluate({db_}, "", QuickOptions())[0];
  EXPECT_EQ(ev.malloc_setting, kGlibcDefaultMalloc);
  EXPECT_EQ(Phase(ev, "fair", "iteration").iterations, 11);  // the default-malloc run only
  bool noted = false;
  for (const std::string& note : ev.notes) {
    noted |= note.find("left out, measured under another setting: fair (run " +
                       std::to_string(kept_run) + ", '" + CanonicalMallocSetting("keep-freed") +
                       "')") != std::string::npos;
  }
  EXPECT_TRUE(noted);
  EvaluationOptions by_default = QuickOptions();
  by_default.malloc = "default";
  EXPECT_EQ(Phase(Evaluate({db_}, "", by_default)[0], "fair", "iteration").iterations, 11);
  by_default.malloc = "keep-freed";  // no layer run recorded it
  EXPECT_THROW(Evaluate({db_}, "", by_default), ConfigError);
}

// --drift-correction divides the measured iterations by the speed-probe factor at their time,
// as the layers (fit/drift_correction.h): a run measured while the machine was twice as slow
// as its median state scores as half its measured time.
TEST_F(EvaluationTest, DriftCorrectionDividesTheMeasuredIterationsByTheFactorAtTheirTime) {
  std::string other = NetJson("fair", 20);
  other.replace(other.find("160"), 3, "320");  // another definition: this run alone is scored
  AddNetworkRun("fair", other, 2.0, 5);
  {
    Store store(db_);
    const int64_t run = store.ReadRuns().back().id;
    // Probes: 1 ms a day before and a day after, 2 ms at the run's time (median 1 ms).
    test::InsertConvProbes(store, run,
                           {{"2020-01-01T12:00:00.000Z", 0.001},
                            {"2020-01-02T12:00:00.000Z", 0.002},
                            {"2020-01-03T12:00:00.000Z", 0.001}});
    // First-touch probes beside them, 100x slower at the run's time: a cost of fresh memory,
    // reported, but no part of the speed factor.
    test::InsertFirstTouchProbes(store, run,
                                 {{"2020-01-01T12:00:00.000Z", 0.016384},
                                  {"2020-01-02T12:00:00.000Z", 1.6384},
                                  {"2020-01-03T12:00:00.000Z", 0.032768}});
    const std::string sql =
        "UPDATE network_samples SET created_at = '2020-01-02T12:00:30.000Z' "
        "WHERE run_id = " +
        std::to_string(run);
    ASSERT_EQ(sqlite3_exec(store.handle(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  }
  const PhaseScore plain = Phase(Evaluate({db_}, "", QuickOptions())[0], "fair", "iteration");
  EXPECT_DOUBLE_EQ(plain.measured_median, 2.0);
  EvaluationOptions options = QuickOptions();
  options.drift_correction = true;
  const HostEvaluation ev = Evaluate({db_}, "", options)[0];
  EXPECT_DOUBLE_EQ(Phase(ev, "fair", "iteration").measured_median, 1.0);
  // The layers were stored today, a day from every probe: kept as measured, and said so.
  std::string notes;
  for (const std::string& n : ev.notes) notes += n + "\n";
  EXPECT_NE(notes.find("drift correction: times at this host's median speed (3 speed probes, "
                       "factor 1-2)"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("network rows (all hosts) had no probe within 15 minutes"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("fresh memory: the first touch of a page took 2 us (median of 3 "
                       "first-touch probes, range 1-100 us)"),
            std::string::npos)
      << notes;
}

// A first-touch probe whose config does not say its bytes and page size is an error naming the
// database and the run, not a silent per-page cost.
TEST_F(EvaluationTest, AMalformedFirstTouchProbeIsAnError) {
  AddNetworkRun("fair", NetJson("fair", 20), 2.0, 5);
  {
    Store store(db_);
    test::InsertProbes(store, store.ReadRuns().back().id, kFirstTouchProbeLayer, "forward",
                       R"({"bytes":67108864})", {{"2020-01-01T12:00:00.000Z", 0.1}});
  }
  try {
    Evaluate({db_}, "", QuickOptions());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(db_ + ": first-touch probe of run"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("page_bytes"), std::string::npos) << e.what();
  }
}

// (d) sums one isolated value per path and pass, the newest: a re-measured layer replaces its
// older sample instead of being counted twice.
TEST_F(EvaluationTest, CompositionSumsTheNewestSampleOfEachPath) {
  const auto forward_sum = [&] {
    const std::vector<HostEvaluation> hosts = Evaluate({db_}, "", QuickOptions());
    std::string rows;
    for (const CompositionRow& r : hosts.at(0).composition) {
      if (r.network == "fair" && r.phase == "forward") return r.isolated_sum;
      rows += r.network + "/" + r.phase + " ";
    }
    ADD_FAILURE() << "no (d) forward row for fair in " << rows;
    return 0.0;
  };
  LayerConfig fc;
  fc.type = LayerType::kLinear;
  fc.batch_size = 16;
  fc.in_features = 192;
  fc.out_features = 20;
  EXPECT_NEAR(forward_sum(), Formula(fc, Pass::kForward), 1e-12);
  {
    Store store(db_);
    RunInfo layers;
    layers.host_id = host_id_;
    layers.kind = "net-layers";
    layers.source_json = NetJson("fair", 20);
    const int64_t run = store.CreateRun(layers);
    store.InsertSamples(
        {Row(run, 0, fc, Pass::kForward, 5 * Formula(fc, Pass::kForward), "fair layer layers.1"),
         Row(run, 0, fc, Pass::kBackward, 5 * Formula(fc, Pass::kBackward),
             "fair layer layers.1")});
  }
  EXPECT_NEAR(forward_sum(), 5 * Formula(fc, Pass::kForward), 1e-12);
}

// (d) with page faults (schema 6): the isolated passes' faults are summed per phase like their
// times, the network's are its median per iteration, and the extra pages are charged at the
// host's median first-touch cost. A phase with a pass that has no count gets none, never a
// partial sum.
TEST_F(EvaluationTest, CompositionChargesTheNetworksExtraPageFaultsAtTheFirstTouchCost) {
  {
    Store store(db_);
    const int64_t run = store.ReadRuns().back().id;
    // 64 MiB in 16.384 ms: 1 us per 4 KiB page (median of 3).
    test::InsertFirstTouchProbes(store, run,
                                 {{"2020-01-01T12:00:00.000Z", 0.016384},
                                  {"2020-01-02T12:00:00.000Z", 0.032768},
                                  {"2020-01-03T12:00:00.000Z", 0.008192}});
    for (const char* sql :
         {"UPDATE samples SET minor_faults = 10 WHERE pass = 'forward' AND run_id IN (SELECT id "
          "FROM runs WHERE kind = 'net-layers')",
          "UPDATE network_samples SET minor_faults = 1000 + iteration WHERE phase = 'forward'",
          "UPDATE network_samples SET minor_faults = 0 WHERE phase <> 'forward'"}) {
      ASSERT_EQ(sqlite3_exec(store.handle(), sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    }
  }
  const std::vector<HostEvaluation> hosts = Evaluate({db_}, "", QuickOptions());
  const CompositionRow* forward = nullptr;
  const CompositionRow* backward = nullptr;
  for (const CompositionRow& r : hosts.at(0).composition) {
    if (r.network != "fair" || r.quantity != "time_s") continue;
    if (r.phase == "forward") forward = &r;
    if (r.phase == "backward") backward = &r;
  }
  ASSERT_NE(forward, nullptr);
  ASSERT_NE(backward, nullptr);
  ASSERT_TRUE(forward->isolated_faults && forward->measured_faults && forward->first_touch_s);
  EXPECT_DOUBLE_EQ(*forward->isolated_faults, 10.0);    // one forward path
  EXPECT_DOUBLE_EQ(*forward->measured_faults, 1005.0);  // median of 1000..1010
  EXPECT_NEAR(*forward->first_touch_s, 1e-6, 1e-12);
  ASSERT_TRUE(forward->FaultCorrectedSum());
  EXPECT_NEAR(*forward->FaultCorrectedSum(), forward->isolated_sum + 995 * 1e-6, 1e-12);
  // The backward passes and the accumulation were stored without counts.
  EXPECT_FALSE(backward->isolated_faults);
  EXPECT_FALSE(backward->FaultCorrectedSum());
  const std::string text = FormatEvaluation(hosts);
  EXPECT_NE(text.find("² minor page faults"), std::string::npos) << text;
  bool found = false;
  const nlohmann::json j = ToJson(hosts);
  for (const nlohmann::json& r : j.at(0).at("composition")) {
    if (r.at("network") != "fair" || r.at("phase") != "forward" || r.at("quantity") != "time_s") {
      continue;
    }
    found = true;
    EXPECT_DOUBLE_EQ(r.at("measured_faults").get<double>(), 1005.0);
    EXPECT_NEAR(r.at("fault_corrected_sum").get<double>(), *forward->FaultCorrectedSum(), 1e-12);
  }
  EXPECT_TRUE(found);
  // Fault counts 1000-1010 vary too little for (f)'s line.
  EXPECT_TRUE(hosts.at(0).fault_fits.empty());
}

// (f): iterations whose faults vary lie on time = base + cost x faults; evaluate recovers both
// per network and phase, and prints them.
TEST_F(EvaluationTest, FitsEachNetworkPhasesTimeOnItsPageFaults) {
  {
    Store store(db_);
    const char* sql =
        "UPDATE network_samples SET minor_faults = 1000 * iteration, time_s = 0.002 + "
        "1e-5 * 1000 * iteration WHERE network = 'fair' AND phase = 'forward'";
    ASSERT_EQ(sqlite3_exec(store.handle(), sql, nullptr, nullptr, nullptr), SQLITE_OK);
  }
  const std::vector<HostEvaluation> hosts = Evaluate({db_}, "", QuickOptions());
  ASSERT_EQ(hosts.at(0).fault_fits.size(), 1u);  // only fair's forward rows have counts
  const FaultFitRow& r = hosts.at(0).fault_fits[0];
  EXPECT_EQ(r.network, "fair");
  EXPECT_EQ(r.phase, "forward");
  EXPECT_EQ(r.fit.n, 11);
  EXPECT_NEAR(r.fit.base_s, 0.002, 1e-9);
  EXPECT_NEAR(r.fit.s_per_fault, 1e-5, 1e-12);
  const std::string text = FormatEvaluation(hosts);
  EXPECT_NE(text.find("| fair | 16 | forward | 11 | 0-10000 | 2 ms | 10 us | 1.00 |"),
            std::string::npos)
      << text;
}

TEST_F(EvaluationTest, NoSamplesIsAClearError) {
  const std::string empty = (dir_ / "empty.sqlite").string();
  { Store store(empty); }
  try {
    Evaluate({empty}, "", EvaluationOptions{});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("no samples"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lj
