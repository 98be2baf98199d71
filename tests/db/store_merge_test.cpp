// MergeDatabases (db/store_merge.h): hosts matched by description, runs kept once per uuid,
// and every row of a run moved with it under the run's new id.
#include "db/store_merge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "db/store.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

using test::TempDir;

// A database on `hostname` with one random run of `samples` linear configs and one network
// run with one iteration row; returns the random run's uuid.
std::string WriteDatabase(const std::string& path, const std::string& hostname, int samples) {
  Store store(path);
  HostInfo host;
  host.hostname = hostname;
  host.cpu_model = "cpu of " + hostname;
  const int64_t host_id = store.UpsertHost(host);
  RunInfo run;
  run.host_id = host_id;
  run.kind = "random";
  run.layer = "linear";
  run.meter = "none";
  const int64_t random = store.CreateRun(run);
  for (int i = 0; i < samples; ++i) {
    SampleRow row;
    row.run_id = random;
    row.sample_index = i;
    row.layer = "linear";
    row.pass = "forward";
    row.config = "{\"i\":" + std::to_string(i) + "}";
    row.repetitions = 1;
    row.trials = 1;
    row.time_s = 0.001 * (i + 1);
    row.meter = "none";
    row.saved_bytes = int64_t{64} * i;
    store.InsertSamples({row});
  }
  store.SetRunOption(random, "shard", "0/1");
  SpeedProbeRow probe;
  probe.run_id = random;
  probe.measured_at = "2026-12-04T21:00:00.000Z";
  probe.layer = "conv2d";
  probe.pass = "forward";
  probe.config = "{}";
  probe.time_s = 0.001;
  store.InsertSpeedProbe({probe});
  run.kind = "network";
  run.layer = "";
  const int64_t network = store.CreateRun(run);
  NetworkSampleRow n;
  n.run_id = network;
  n.network = "net-of-" + hostname;
  n.batch_size = 8;
  n.phase = "iteration";
  n.time_s = 0.5;
  n.meter = "none";
  store.InsertNetworkSamples({n});
  return store.GetRun(random)->uuid;
}

TEST(StoreMergeTest, KeepsHostsApartAndEveryRowWithItsRun) {
  TempDir dir;
  const std::string a = dir.File("a.sqlite"), b = dir.File("b.sqlite"), out = dir.File("o.sqlite");
  const std::string uuid_a = WriteDatabase(a, "alpha", 3);
  WriteDatabase(b, "beta", 2);
  EXPECT_EQ(uuid_a.size(), 36u);
  EXPECT_EQ(uuid_a[14], '4');      // version 4
  WriteDatabase(out, "gamma", 1);  // the output has runs of its own: ids shift

  const std::vector<MergeSummary> s = MergeDatabases(out, {a, b});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].runs_added, 2);
  EXPECT_EQ(s[0].hosts_added, 1);
  EXPECT_EQ(s[0].rows_added.at("samples"), 3);
  EXPECT_EQ(s[1].rows_added.at("network_samples"), 1);
  EXPECT_EQ(s[0].rows_added.at("speed_probes"), 1);

  Store merged(out, Store::Access::kReadOnly);
  const std::vector<RunInfo> runs = merged.ReadRuns();
  ASSERT_EQ(runs.size(), 6u);
  int from_alpha = 0;
  for (const RunInfo& r : runs) {
    if (r.uuid == uuid_a) {
      ++from_alpha;
      EXPECT_EQ(merged.HostnameOfRun(r.id), "alpha");
      EXPECT_EQ(merged.CountSamples(r.id), 3);
      EXPECT_EQ(merged.GetRunOption(r.id, "shard"), "0/1");
    }
  }
  EXPECT_EQ(from_alpha, 1);
  int probes_of_alpha = 0;
  for (const SpeedProbeRow& p : merged.ReadSpeedProbes()) {
    probes_of_alpha += merged.HostnameOfRun(p.run_id) == "alpha";
  }
  EXPECT_EQ(probes_of_alpha, 1);
  const std::vector<NetworkSampleRow> beta = merged.ReadNetworkSamples("net-of-beta");
  ASSERT_EQ(beta.size(), 1u);
  EXPECT_EQ(merged.HostnameOfRun(beta[0].run_id), "beta");
  int64_t saved = 0;
  for (const SampleRow& row : merged.ReadSamples("linear")) saved += row.saved_bytes.value_or(0);
  EXPECT_EQ(saved, 64 * (0 + 1 + 2) + 64 * (0 + 1));
}

TEST(StoreMergeTest, MergingTheSameFileTwiceAddsNothing) {
  TempDir dir;
  const std::string a = dir.File("a.sqlite"), out = dir.File("o.sqlite");
  WriteDatabase(a, "alpha", 2);
  MergeDatabases(out, {a});
  const std::vector<MergeSummary> again = MergeDatabases(out, {a, a});
  EXPECT_EQ(again[0].runs_added, 0);
  EXPECT_EQ(again[0].runs_already_there, 2);
  EXPECT_EQ(again[1].runs_added, 0);
  Store merged(out, Store::Access::kReadOnly);
  EXPECT_EQ(merged.ReadRuns().size(), 2u);
  EXPECT_EQ(merged.ReadSamples().size(), 2u);
  EXPECT_NE(FormatMergeSummary(again[0]).find("0 runs added (2 already there)"), std::string::npos);
}

TEST(StoreMergeTest, NoInputIsAnError) {
  TempDir dir;
  EXPECT_THROW(MergeDatabases(dir.File("o.sqlite"), {}), StoreError);
}

}  // namespace
}  // namespace lj
