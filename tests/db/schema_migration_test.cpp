// Schema versions (db/schema_migration.h): version-1 and version-2 databases, built from the
// schemas kept verbatim in tests/db/schema_v1.sql and schema_v2.sql, are migrated to the current
// version when opened for writing, read as they are when opened read-only, and a failed
// migration leaves version 1.
#include "db/schema_migration.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>
#include <string>

#include "db/store.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

using test::TempDir;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void RawExec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "") << " in: " << sql;
}

std::string RawText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

constexpr const char* kImportSource =
    R"({"source":"legacy-pyrapl","file":"conv.csv","content_fnv1a64":"00ff"})";

// A version-1 database as measure wrote it: a host, a random run (id 3, after two deleted
// ids so that a renumbering would show), an import run and a network run, with a sample pair,
// a failure, an idle reading, a network sample and a run option. `bad_kind` adds a run whose
// kind version 2 refuses.
void WriteVersion1(const std::string& path, bool bad_kind = false) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  RawExec(db, "PRAGMA journal_mode = WAL");  // as measure writes its files
  RawExec(db, ReadText(test::SourceDir() + "/tests/db/schema_v1.sql"));
  RawExec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '1')");
  RawExec(db, "INSERT INTO hosts (id, hostname) VALUES (1, 'node1')");
  RawExec(db,
          "INSERT INTO runs (id, host_id, kind, layer, bounds_json, seed, target_n, meter, status) "
          "VALUES (3, 1, 'random', 'conv2d', '{\"parameters\":{}}', -5, 10, 'none', 'finished')");
  RawExec(db, std::string("INSERT INTO runs (id, host_id, kind, layer, bounds_json, meter, status) "
                          "VALUES (4, 1, 'import', 'conv2d', '") +
                  kImportSource + "', 'pyrapl', 'finished')");
  RawExec(db,
          "INSERT INTO runs (id, host_id, kind, bounds_json, meter) "
          "VALUES (5, 1, 'network', 'not json', 'none')");
  if (bad_kind) {
    RawExec(db, "INSERT INTO runs (id, host_id, kind, meter) VALUES (6, 1, 'benchmark', 'none')");
  }
  for (const char* pass : {"forward", "backward"}) {
    RawExec(db, std::string("INSERT INTO samples (run_id, sample_index, layer, pass, config, "
                            "repetitions, trials, time_s, meter) VALUES (3, 0, 'conv2d', '") +
                    pass + "', '{}', 1, 1, 0.5, 'none')");
  }
  RawExec(db,
          "INSERT INTO failures (run_id, sample_index, layer, config, error) "
          "VALUES (3, 1, 'conv2d', '{}', 'boom')");
  RawExec(db, "INSERT INTO idle_power (run_id, duration_s, package_power_w) VALUES (3, 2, 20)");
  RawExec(db,
          "INSERT INTO network_samples (run_id, network, batch_size, phase, iteration, time_s, "
          "meter) VALUES (5, 'lenet5', 8, 'forward', 0, 0.01, 'none')");
  RawExec(db,
          "INSERT INTO run_options (run_id, name, value) VALUES (3, 'max_memory_bytes', '1024')");
  sqlite3_close(db);
}

TEST(SchemaMigrationTest, MigratesAVersion1DatabaseKeepingEveryRowAndId) {
  TempDir dir;
  const std::string path = dir.File("v1.sqlite");
  WriteVersion1(path);
  {
    Store store(path);
    EXPECT_EQ(store.schema_version(), kSchemaVersion);
    const std::optional<RunInfo> random = store.GetRun(3);
    ASSERT_TRUE(random);
    EXPECT_EQ(random->source_json, R"({"parameters":{}})");
    EXPECT_EQ(random->seed, static_cast<uint64_t>(-5));
    EXPECT_EQ(random->status, "finished");
    EXPECT_EQ(store.GetRun(5)->source_json, "not json");
    ASSERT_EQ(store.ReadRuns().size(), 3u);
    EXPECT_EQ(store.CountSamples(3), 2);
    EXPECT_EQ(store.ReadFailures(3).size(), 1u);
    EXPECT_EQ(store.ReadIdle(3).size(), 1u);
    ASSERT_EQ(store.ReadNetworkSamples("lenet5").size(), 1u);
    EXPECT_EQ(store.ReadNetworkSamples("lenet5")[0].peak_memory_bytes, std::nullopt);
    EXPECT_EQ(store.GetRunOption(3, "max_memory_bytes"), "1024");
    EXPECT_EQ(store.HostnameOfRun(3), "node1");
    EXPECT_EQ(random->uuid, "legacy-node1-" + random->started_at + "--5-random");
    // The import is still found, now through source_json, and version 2's rules hold.
    EXPECT_EQ(store.FindRunBySourceHash("import", "conv.csv", "00ff"), 4);
    RunInfo bad = *random;
    bad.kind = "benchmark";
    EXPECT_THROW(store.CreateRun(bad), StoreError);
    SampleRow orphan;
    orphan.run_id = 99;
    orphan.layer = "conv2d";
    orphan.pass = "forward";
    orphan.config = "{}";
    orphan.repetitions = 1;
    orphan.trials = 1;
    orphan.time_s = 1;
    orphan.meter = "none";
    EXPECT_THROW(store.InsertSamples({orphan}), StoreError);  // foreign keys are back on
    // A new run continues after the highest old id.
    EXPECT_EQ(store.CreateRun(*random), 6);
  }
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
  EXPECT_EQ(
      RawText(path, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'bounds_json'"),
      "0");
  EXPECT_EQ(RawText(path,
                    "SELECT count(*) FROM pragma_table_info('network_samples') "
                    "WHERE name = 'peak_memory_bytes'"),
            "1");
  EXPECT_EQ(RawText(path, "SELECT count(*) FROM samples_with_host WHERE hostname = 'node1'"), "2");
  EXPECT_EQ(RawText(path,
                    "SELECT count(*) FROM pragma_foreign_key_list('samples') "
                    "WHERE \"table\" = 'runs'"),
            "1");
  // Opening it again is a no-op.
  Store again(path);
  EXPECT_EQ(again.ReadRuns().size(), 4u);
}

TEST(SchemaMigrationTest, AReadOnlyOpenReadsAVersion1DatabaseAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.File("v1.sqlite");
  WriteVersion1(path);
  const std::string before = ReadText(path);
  {
    Store store(path, Store::Access::kReadOnly);
    EXPECT_EQ(store.schema_version(), 1);
    EXPECT_EQ(store.GetRun(3)->source_json, R"({"parameters":{}})");
    EXPECT_EQ(store.ReadRuns().size(), 3u);
    EXPECT_EQ(store.FindRunBySourceHash("import", "", "00ff"), 4);
    EXPECT_EQ(store.FindRunBySourceHash("import", "other.csv", "00ff"), std::nullopt);
    ASSERT_EQ(store.ReadNetworkSamples("").size(), 1u);
    EXPECT_EQ(store.ReadNetworkSamples("")[0].peak_memory_bytes, std::nullopt);
  }
  EXPECT_EQ(ReadText(path), before);
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"), "1");
}

// A version-2 database (tests/db/schema_v2.sql) with one network sample.
void WriteVersion2(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  RawExec(db, "PRAGMA journal_mode = WAL");
  RawExec(db, ReadText(test::SourceDir() + "/tests/db/schema_v2.sql"));
  RawExec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '2')");
  RawExec(db, "INSERT INTO hosts (id, hostname) VALUES (1, 'node1')");
  RawExec(db,
          "INSERT INTO runs (id, host_id, kind, source_json, meter) "
          "VALUES (7, 1, 'network', '{}', 'none')");
  RawExec(db,
          "INSERT INTO network_samples (run_id, network, batch_size, phase, iteration, time_s, "
          "meter) VALUES (7, 'lenet5', 8, 'iteration', 0, 0.01, 'none')");
  sqlite3_close(db);
}

TEST(SchemaMigrationTest, AVersion2DatabaseGainsPeakMemoryUnsetInItsOldRows) {
  TempDir dir;
  const std::string path = dir.File("v2.sqlite");
  WriteVersion2(path);
  const std::string before = ReadText(path);
  {
    Store store(path, Store::Access::kReadOnly);
    EXPECT_EQ(store.schema_version(), 2);
    ASSERT_EQ(store.ReadNetworkSamples("lenet5").size(), 1u);
    EXPECT_EQ(store.ReadNetworkSamples("lenet5")[0].peak_memory_bytes, std::nullopt);
  }
  EXPECT_EQ(ReadText(path), before);
  {
    Store store(path);
    EXPECT_EQ(store.schema_version(), kSchemaVersion);
    std::vector<NetworkSampleRow> rows = store.ReadNetworkSamples("lenet5");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].peak_memory_bytes, std::nullopt);
    EXPECT_EQ(rows[0].time_s, 0.01);
    NetworkSampleRow row = rows[0];
    row.iteration = 1;
    row.peak_memory_bytes = int64_t{123456789012};
    store.InsertNetworkSamples({row});
    rows = store.ReadNetworkSamples("lenet5");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1].peak_memory_bytes, int64_t{123456789012});
    row.peak_memory_bytes = int64_t{-1};
    EXPECT_THROW(store.InsertNetworkSamples({row}), StoreError);  // the CHECK came with it
  }
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
}

// A version-3 database (tests/db/schema_v3.sql) with one layer sample.
void WriteVersion3(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  RawExec(db, "PRAGMA journal_mode = WAL");
  RawExec(db, ReadText(test::SourceDir() + "/tests/db/schema_v3.sql"));
  RawExec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '3')");
  RawExec(db, "INSERT INTO hosts (id, hostname) VALUES (1, 'node1')");
  RawExec(db,
          "INSERT INTO runs (id, host_id, kind, source_json, meter) "
          "VALUES (5, 1, 'random', '{}', 'none')");
  RawExec(db,
          "INSERT INTO samples (run_id, sample_index, layer, pass, config, repetitions, trials, "
          "time_s, meter) VALUES (5, 0, 'relu', 'forward', '{}', 10, 3, 0.001, 'none')");
  sqlite3_close(db);
}

TEST(SchemaMigrationTest, AVersion3DatabaseGainsPerLayerMemoryUnsetInItsOldRows) {
  TempDir dir;
  const std::string path = dir.File("v3.sqlite");
  WriteVersion3(path);
  const std::string before = ReadText(path);
  {
    Store store(path, Store::Access::kReadOnly);
    EXPECT_EQ(store.schema_version(), 3);
    ASSERT_EQ(store.ReadSamples("relu").size(), 1u);
    EXPECT_EQ(store.ReadSamples("relu")[0].peak_memory_bytes, std::nullopt);
    EXPECT_EQ(store.ReadSamples("relu")[0].saved_bytes, std::nullopt);
  }
  EXPECT_EQ(ReadText(path), before);
  {
    Store store(path);
    EXPECT_EQ(store.schema_version(), kSchemaVersion);
    EXPECT_EQ(store.GetRun(5)->uuid, "legacy-node1-" + store.GetRun(5)->started_at + "-0-random");
    std::vector<SampleRow> rows = store.ReadSamples("relu");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].saved_bytes, std::nullopt);
    SampleRow row = rows[0];
    row.sample_index = 1;
    row.peak_memory_bytes = int64_t{8000000000};
    row.saved_bytes = int64_t{4096};
    store.InsertSamples({row});
    rows = store.ReadSamples("relu");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1].peak_memory_bytes, int64_t{8000000000});
    EXPECT_EQ(rows[1].saved_bytes, int64_t{4096});
    row.sample_index = 2;
    row.saved_bytes = int64_t{-1};
    EXPECT_THROW(store.InsertSamples({row}), StoreError);  // the CHECK came with it
  }
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
}

// A version-4 database (tests/db/schema_v4.sql) with one layer sample.
void WriteVersion4(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  RawExec(db, "PRAGMA journal_mode = WAL");
  RawExec(db, ReadText(test::SourceDir() + "/tests/db/schema_v4.sql"));
  RawExec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '4')");
  RawExec(db, "INSERT INTO hosts (id, hostname) VALUES (1, 'node1')");
  RawExec(db,
          "INSERT INTO runs (id, host_id, kind, source_json, meter, uuid) "
          "VALUES (5, 1, 'random', '{}', 'none', 'u5')");
  RawExec(db,
          "INSERT INTO samples (run_id, sample_index, layer, pass, config, repetitions, trials, "
          "time_s, meter, created_at) VALUES (5, 0, 'relu', 'forward', '{}', 10, 3, 0.001, "
          "'none', '2026-12-04T19:25:01.123Z')");
  sqlite3_close(db);
}

TEST(SchemaMigrationTest, AVersion4DatabaseGainsSpeedProbesAndKeepsItsSamples) {
  TempDir dir;
  const std::string path = dir.File("v4.sqlite");
  WriteVersion4(path);
  const std::string before = ReadText(path);
  {
    Store store(path, Store::Access::kReadOnly);
    EXPECT_EQ(store.schema_version(), 4);
    EXPECT_TRUE(store.ReadSpeedProbes().empty());  // no table, no rows, no error
    ASSERT_EQ(store.ReadSamples("relu").size(), 1u);
    EXPECT_EQ(store.ReadSamples("relu")[0].created_at, "2026-12-04T19:25:01.123Z");
  }
  EXPECT_EQ(ReadText(path), before);
  {
    Store store(path);
    EXPECT_EQ(store.schema_version(), kSchemaVersion);
    ASSERT_EQ(store.ReadSamples("relu").size(), 1u);
    SpeedProbeRow probe;
    probe.run_id = 5;
    probe.measured_at = "2026-12-04T19:26:00.000Z";
    probe.layer = "conv2d";
    probe.pass = "backward";
    probe.config = "{}";
    probe.time_s = 0.002;
    probe.time_std_s = 0.0001;
    store.InsertSpeedProbe({probe});
    const std::vector<SpeedProbeRow> rows = store.ReadSpeedProbes();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].run_id, 5);
    EXPECT_EQ(rows[0].measured_at, probe.measured_at);
    EXPECT_EQ(rows[0].layer, "conv2d");
    EXPECT_EQ(rows[0].pass, "backward");
    EXPECT_DOUBLE_EQ(rows[0].time_s, 0.002);
    EXPECT_DOUBLE_EQ(rows[0].time_std_s, 0.0001);
    probe.time_s = 0;
    EXPECT_THROW(store.InsertSpeedProbe({probe}), StoreError);  // CHECK (time_s > 0)
    probe.time_s = 0.001;
    probe.run_id = 99;
    EXPECT_THROW(store.InsertSpeedProbe({probe}), StoreError);  // no such run
    EXPECT_EQ(store.ReadSpeedProbes().size(), 1u);              // all or nothing
  }
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
}

// A version-5 database (tests/db/schema_v5.sql) with one layer sample and one network row.
void WriteVersion5(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  RawExec(db, "PRAGMA journal_mode = WAL");
  RawExec(db, ReadText(test::SourceDir() + "/tests/db/schema_v5.sql"));
  RawExec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', '5')");
  RawExec(db, "INSERT INTO hosts (id, hostname) VALUES (1, 'node1')");
  RawExec(db,
          "INSERT INTO runs (id, host_id, kind, source_json, meter, uuid) "
          "VALUES (5, 1, 'network', '{}', 'none', 'u5')");
  RawExec(db,
          "INSERT INTO samples (run_id, sample_index, layer, pass, config, repetitions, trials, "
          "time_s, meter) VALUES (5, 0, 'relu', 'forward', '{}', 10, 3, 0.001, 'none')");
  RawExec(db,
          "INSERT INTO network_samples (run_id, network, batch_size, phase, iteration, time_s, "
          "meter) VALUES (5, 'n', 8, 'forward', 0, 0.5, 'none')");
  sqlite3_close(db);
}

// Schema 6 adds the page-fault counts: NULL in the rows of a version-5 file, read as unset
// (read-only, without touching the file, and after the migration), and stored for new rows.
TEST(SchemaMigrationTest, AVersion5DatabaseGainsPageFaultColumns) {
  TempDir dir;
  const std::string path = dir.File("v5.sqlite");
  WriteVersion5(path);
  const std::string before = ReadText(path);
  {
    Store store(path, Store::Access::kReadOnly);
    EXPECT_EQ(store.schema_version(), 5);
    ASSERT_EQ(store.ReadSamples("relu").size(), 1u);
    EXPECT_FALSE(store.ReadSamples("relu")[0].minor_faults.has_value());
    ASSERT_EQ(store.ReadNetworkSamples().size(), 1u);
    EXPECT_FALSE(store.ReadNetworkSamples()[0].minor_faults.has_value());
  }
  EXPECT_EQ(ReadText(path), before);
  {
    Store store(path);
    EXPECT_EQ(store.schema_version(), kSchemaVersion);
    EXPECT_FALSE(store.ReadSamples("relu")[0].minor_faults.has_value());
    EXPECT_FALSE(store.ReadNetworkSamples()[0].minor_faults.has_value());
    SampleRow sample = store.ReadSamples("relu")[0];
    sample.sample_index = 1;
    sample.minor_faults = 12.5;
    store.InsertSamples({sample});
    NetworkSampleRow net = store.ReadNetworkSamples()[0];
    net.iteration = 1;
    net.minor_faults = 4096;
    store.InsertNetworkSamples({net});
    EXPECT_DOUBLE_EQ(*store.ReadSamples("relu")[1].minor_faults, 12.5);
    EXPECT_EQ(*store.ReadNetworkSamples()[1].minor_faults, 4096);
    sample.sample_index = 2;
    sample.minor_faults = -1;
    EXPECT_THROW(store.InsertSamples({sample}), StoreError);  // CHECK (minor_faults >= 0)
  }
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSchemaVersion));
}

TEST(SchemaMigrationTest, AFailedMigrationLeavesTheDatabaseAtVersion1) {
  TempDir dir;
  const std::string path = dir.File("v1.sqlite");
  WriteVersion1(path, /*bad_kind=*/true);
  try {
    Store store(path);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path + ": migrate to schema 2: copy runs"), std::string::npos) << what;
    EXPECT_NE(what.find("CHECK constraint failed"), std::string::npos) << what;
  }
  EXPECT_EQ(RawText(path, "SELECT value FROM meta WHERE key = 'schema_version'"), "1");
  EXPECT_EQ(RawText(path, "SELECT count(*) FROM runs"), "4");
  EXPECT_EQ(RawText(path, "SELECT bounds_json FROM runs WHERE id = 3"), R"({"parameters":{}})");
  EXPECT_EQ(RawText(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_v1'"), "0");
  // Read-only use still works on it.
  Store store(path, Store::Access::kReadOnly);
  EXPECT_EQ(store.ReadRuns().size(), 4u);
}

TEST(SchemaMigrationTest, FindRunBySourceHashIgnoresOtherKindsAndTextThatIsNotJson) {
  Store store(":memory:");
  HostInfo host;
  host.hostname = "h";
  RunInfo run;
  run.host_id = store.UpsertHost(host);
  run.meter = "none";
  run.kind = "network";
  run.source_json = "not json";
  store.CreateRun(run);
  run.source_json = R"({"file":"conv.csv","content_fnv1a64":"ab"})";
  const int64_t network = store.CreateRun(run);
  run.kind = "import";
  run.source_json = R"(["content_fnv1a64", "ab"])";
  store.CreateRun(run);
  EXPECT_EQ(store.FindRunBySourceHash("import", "", "ab"), std::nullopt);
  EXPECT_EQ(store.FindRunBySourceHash("network", "", "ab"), network);
  EXPECT_EQ(store.FindRunBySourceHash("network", "conv.csv", "ab"), network);
  EXPECT_EQ(store.FindRunBySourceHash("network", "", "ac"), std::nullopt);
}

}  // namespace
}  // namespace lj
