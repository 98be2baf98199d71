// predict --compare: reading the measure --net ground truth from a store and pairing it with a
// prediction (predict/comparison.h).
#include "predict/comparison.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "db/store.h"
#include "tests/predict/prediction_fixture.h"

namespace lj {
namespace {

using namespace lj::test;  // NOLINT: the fixture's helpers

HostInfo Host(const std::string& name) {
  HostInfo h;
  h.hostname = name;
  h.cpu_model = "Test CPU";
  return h;
}

// Stores `iterations` iterations of `network` at `batch` on `host`: phase times are
// base_s * (1, 0.1, 2, 0.5) for forward, loss, backward, optimizer, plus 1 % per iteration;
// the iteration row is their sum. Energy = 10 W * time when `energy`.
int64_t AddRun(Store& store, const std::string& host, const std::string& network, int64_t batch,
               int iterations, double base_s, bool energy) {
  RunInfo run;
  run.host_id = store.UpsertHost(Host(host));
  run.kind = "network";
  run.meter = energy ? "rapl" : "none";
  const int64_t run_id = store.CreateRun(run);
  const std::vector<std::pair<std::string, double>> phases = {
      {"forward", 1.0}, {"loss", 0.1}, {"backward", 2.0}, {"optimizer", 0.5}};
  for (int i = 0; i < iterations; ++i) {
    std::vector<NetworkSampleRow> rows;
    double total = 0;
    for (const auto& [phase, factor] : phases) {
      NetworkSampleRow r;
      r.run_id = run_id;
      r.network = network;
      r.batch_size = batch;
      r.phase = phase;
      r.iteration = i;
      r.time_s = base_s * factor * (1 + 0.01 * i);
      if (energy) r.energy_j = 10 * r.time_s;
      r.meter = run.meter;
      total += r.time_s;
      rows.push_back(r);
    }
    NetworkSampleRow it = rows.front();
    it.phase = "iteration";
    it.time_s = total;
    if (energy) it.energy_j = 10 * total;
    rows.push_back(it);
    store.InsertNetworkSamples(rows);
  }
  return run_id;
}

const MeasuredPhase& PhaseOf(const MeasuredNetwork& m, const std::string& phase) {
  for (const MeasuredPhase& p : m.phases) {
    if (p.phase == phase) return p;
  }
  throw std::runtime_error("no phase " + phase);
}

TEST(ComparisonTest, ReadsTheMeanOfEveryPhaseOfTheNewestRunOfTheHost) {
  Store store(":memory:");
  AddRun(store, "node7", "small", 8, 3, 0.010, true);
  const int64_t newest = AddRun(store, "node7", "small", 8, 4, 0.020, true);
  AddRun(store, "node9", "small", 8, 2, 0.050, false);   // newer, but another host
  AddRun(store, "node7", "small", 16, 2, 0.050, false);  // another batch size
  AddRun(store, "node7", "other", 8, 2, 0.050, false);   // another network

  const MeasuredNetwork m = ReadMeasuredNetwork(store, "small", 8, "node7");
  EXPECT_EQ(m.run_id, newest);
  EXPECT_EQ(m.hostname, "node7");
  EXPECT_EQ(m.meter, "rapl");
  EXPECT_TRUE(m.note.empty());
  ASSERT_EQ(m.phases.size(), 5u);
  EXPECT_EQ(m.phases[0].phase, "forward");
  EXPECT_EQ(m.phases[4].phase, "iteration");
  // Mean of 0.020 * (1 + 0.01 i), i = 0..3: 0.020 * 1.015.
  const MeasuredPhase& forward = PhaseOf(m, "forward");
  EXPECT_EQ(forward.iterations, 4);
  EXPECT_NEAR(forward.time_s, 0.020 * 1.015, 1e-12);
  EXPECT_NEAR(*forward.energy_j, 10 * 0.020 * 1.015, 1e-12);
  EXPECT_NEAR(PhaseOf(m, "iteration").time_s, 0.020 * 3.6 * 1.015, 1e-12);
}

TEST(ComparisonTest, FallsBackToAnotherHostWithANote) {
  Store store(":memory:");
  AddRun(store, "node9", "small", 8, 2, 0.010, false);
  const MeasuredNetwork m = ReadMeasuredNetwork(store, "small", 8, "node7");
  EXPECT_EQ(m.hostname, "node9");
  EXPECT_NE(m.note.find("measured on host 'node9'"), std::string::npos) << m.note;
  EXPECT_FALSE(PhaseOf(m, "forward").energy_j.has_value());
}

TEST(ComparisonTest, SaysClearlyWhenTheNetworkWasNotMeasured) {
  Store store(":memory:");
  try {
    ReadMeasuredNetwork(store, "small", 8, "node7");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no measurements of network 'small'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("measure --net"), std::string::npos) << e.what();
  }
  AddRun(store, "node7", "small", 32, 1, 0.01, false);
  AddRun(store, "node7", "small", 128, 1, 0.01, false);
  try {
    ReadMeasuredNetwork(store, "small", 8, "node7");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("measured at batch sizes 32, 128, not 8"),
              std::string::npos)
        << e.what();
  }
}

TEST(ComparisonTest, ErrorIsPredictedMinusMeasuredOverMeasuredPerPhase) {
  Store store(":memory:");
  AddRun(store, "node7", "small", 8, 1, 0.001, true);
  const MeasuredNetwork m = ReadMeasuredNetwork(store, "small", 8, "node7");
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  const Comparison c = Compare(p, m);
  ASSERT_EQ(c.phases.size(), 5u);
  const PhaseComparison& forward = c.phases[0];
  EXPECT_EQ(forward.phase, "forward");
  EXPECT_DOUBLE_EQ(*forward.predicted_time_s, p.per_batch.forward_time_s);
  EXPECT_DOUBLE_EQ(*forward.measured_time_s, 0.001);
  EXPECT_NEAR(*forward.time_error_pct, 100 * (p.per_batch.forward_time_s - 0.001) / 0.001, 1e-9);
  EXPECT_TRUE(forward.predicted_lower_bound);  // relu and maxpool are not modelled
  EXPECT_NEAR(*forward.energy_error_pct, 100 * (*p.per_batch.forward_energy_j - 0.01) / 0.01, 1e-9);
  // Loss and optimizer: measured, never predicted.
  EXPECT_EQ(c.phases[1].phase, "loss");
  EXPECT_FALSE(c.phases[1].predicted_time_s.has_value());
  EXPECT_FALSE(c.phases[1].time_error_pct.has_value());
  EXPECT_EQ(c.phases[3].phase, "optimizer");
  EXPECT_FALSE(c.phases[3].predicted_time_s.has_value());
  EXPECT_DOUBLE_EQ(*c.phases[3].measured_time_s, 0.0005);
  const PhaseComparison& iteration = c.phases[4];
  EXPECT_DOUBLE_EQ(*iteration.predicted_time_s, p.per_batch.time_s);
  EXPECT_TRUE(iteration.predicted_lower_bound);
  EXPECT_NEAR(*iteration.time_error_pct, 100 * (p.per_batch.time_s - 0.0036) / 0.0036, 1e-9);

  const std::string text = FormatComparison(c);
  EXPECT_NE(text.find("small at batch 8: predicted vs measured"), std::string::npos) << text;
  EXPECT_NE(text.find("unmodelled"), std::string::npos) << text;
  EXPECT_NE(text.find(" %"), std::string::npos) << text;
  EXPECT_NE(text.find("pred. energy"), std::string::npos) << text;
  const nlohmann::json j = ToJson(c);
  ASSERT_EQ(j.at("phases").size(), 5u);
  EXPECT_DOUBLE_EQ(j.at("phases")[0].at("time_error_pct").get<double>(), *forward.time_error_pct);
  EXPECT_TRUE(j.at("phases")[1].at("predicted_time_s").is_null());
  EXPECT_EQ(j.at("phases")[0].at("iterations"), 1);
}

TEST(ComparisonTest, WithoutEnergyOnOneSideOnlyTimeIsCompared) {
  Store store(":memory:");
  AddRun(store, "node7", "small", 8, 2, 0.001, true);
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(false), SmallRun());
  const Comparison c = Compare(p, ReadMeasuredNetwork(store, "small", 8, "node7"));
  for (const PhaseComparison& pc : c.phases) {
    EXPECT_FALSE(pc.energy_error_pct.has_value()) << pc.phase;
  }
  EXPECT_TRUE(c.phases[0].time_error_pct.has_value());
  EXPECT_NE(FormatComparison(c).find("energy: not compared"), std::string::npos);
}

}  // namespace
}  // namespace lj
