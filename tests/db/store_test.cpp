#include "db/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/support/test_files.h"

namespace lj {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// Runs one SQL statement on a raw connection (outside the Store) and returns the first
// column of the first row as text ("" if none).
std::string RawQuery(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string out;
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return out;
}

HostInfo MakeHost(const std::string& name = "node1") {
  HostInfo h;
  h.hostname = name;
  h.cpu_model = "Intel(R) Xeon(R) Gold 6130";
  h.sockets = 2;
  h.cores = 32;
  h.threads_used = 16;
  h.torch_version = "1.13.1";
  h.blas = "OpenBLAS 0.3.21 (pthread)";
  h.rapl_domains = "package-0,package-1,dram-0,dram-1";
  return h;
}

RunInfo MakeRun(int64_t host_id, const std::string& kind = "random") {
  RunInfo r;
  r.host_id = host_id;
  r.command_line = "measure --layer conv --n 100";
  r.seed = 42;
  r.kind = kind;
  r.layer = "conv2d";
  r.source_json = R"({"parameters":{}})";
  r.target_n = 100;
  r.meter = "rapl";
  r.min_time_s = 0.5;
  r.trials = 5;
  return r;
}

SampleRow MakeSample(int64_t run_id, int64_t index, const std::string& pass) {
  SampleRow s;
  s.run_id = run_id;
  s.sample_index = index;
  s.layer = "conv2d";
  s.pass = pass;
  s.config = R"({"batch_size":8,"in_channels":3})";
  s.repetitions = 20;
  s.trials = 5;
  s.time_s = 0.0125;
  s.time_std_s = 0.0001;
  s.energy_j = 0.75;
  s.energy_std_j = 0.01;
  s.energy_by_socket_j = "[0.5,0.25]";
  s.dram_energy_j = 0.05;
  s.psys_energy_j = std::nullopt;
  s.idle_power_w = 21.5;
  s.meter = "rapl";
  s.sweep = "kernel_size";
  s.sweep_value = 3;
  s.notes = std::nullopt;
  return s;
}

void ExpectSameSample(const SampleRow& a, const SampleRow& b) {
  EXPECT_EQ(a.run_id, b.run_id);
  EXPECT_EQ(a.sample_index, b.sample_index);
  EXPECT_EQ(a.layer, b.layer);
  EXPECT_EQ(a.pass, b.pass);
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.repetitions, b.repetitions);
  EXPECT_EQ(a.trials, b.trials);
  EXPECT_DOUBLE_EQ(a.time_s, b.time_s);
  EXPECT_DOUBLE_EQ(a.time_std_s, b.time_std_s);
  EXPECT_EQ(a.energy_j, b.energy_j);
  EXPECT_EQ(a.energy_std_j, b.energy_std_j);
  EXPECT_EQ(a.energy_by_socket_j, b.energy_by_socket_j);
  EXPECT_EQ(a.dram_energy_j, b.dram_energy_j);
  EXPECT_EQ(a.psys_energy_j, b.psys_energy_j);
  EXPECT_EQ(a.idle_power_w, b.idle_power_w);
  EXPECT_EQ(a.meter, b.meter);
  EXPECT_EQ(a.sweep, b.sweep);
  EXPECT_EQ(a.sweep_value, b.sweep_value);
  EXPECT_EQ(a.notes, b.notes);
}

const std::regex kIsoUtc(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

TEST(StoreTest, RoundTripsHostsRunsSamplesFailuresAndIdleAcrossReopen) {
  TempDir dir;
  const std::string path = dir.File("m.sqlite");
  const HostInfo host = MakeHost();
  RunInfo run;
  SampleRow forward = MakeSample(0, 3, "forward");
  SampleRow backward = MakeSample(0, 3, "backward");
  backward.energy_j = std::nullopt;  // a run without a meter: NULL must stay NULL
  backward.energy_std_j = std::nullopt;
  backward.energy_by_socket_j = std::nullopt;
  backward.dram_energy_j = std::nullopt;
  backward.idle_power_w = std::nullopt;
  backward.sweep = std::nullopt;
  backward.sweep_value = std::nullopt;
  backward.notes = "a note";
  backward.meter = "none";
  FailureRow failure{0, 4, "conv2d", R"({"batch_size":1})", "kernel_size 9 > padded input 5"};
  IdleRow idle{0, 10.0, 35.25, 4.5, std::string("[20.0,15.25]")};
  IdleRow idle_no_dram{0, 5.0, 30.0, std::nullopt, std::nullopt};
  {
    Store store(path);
    const int64_t host_id = store.UpsertHost(host);
    run = MakeRun(host_id);
    run.seed = 0xFEDCBA9876543210ull;  // above INT64_MAX: stored as two's complement
    run.id = store.CreateRun(run);
    forward.run_id = backward.run_id = failure.run_id = run.id;
    idle.run_id = idle_no_dram.run_id = run.id;
    store.InsertSamples({forward, backward});
    store.InsertFailure(failure);
    store.InsertIdle(idle);
    store.InsertIdle(idle_no_dram);
  }
  Store store(path);  // everything must survive closing and reopening

  std::optional<RunInfo> got_run = store.GetRun(run.id);
  ASSERT_TRUE(got_run.has_value());
  EXPECT_EQ(got_run->host_id, run.host_id);
  EXPECT_EQ(got_run->command_line, run.command_line);
  EXPECT_EQ(got_run->seed, run.seed);
  EXPECT_EQ(got_run->kind, run.kind);
  EXPECT_EQ(got_run->layer, run.layer);
  EXPECT_EQ(got_run->source_json, run.source_json);
  EXPECT_EQ(got_run->target_n, run.target_n);
  EXPECT_EQ(got_run->meter, run.meter);
  EXPECT_EQ(got_run->status, "running");
  EXPECT_DOUBLE_EQ(got_run->min_time_s, run.min_time_s);
  EXPECT_EQ(got_run->trials, run.trials);
  EXPECT_TRUE(std::regex_match(got_run->started_at, kIsoUtc)) << got_run->started_at;
  EXPECT_EQ(got_run->ended_at, "");
  EXPECT_FALSE(store.GetRun(run.id + 100).has_value());

  std::optional<HostInfo> got_host = store.GetHost(run.host_id);
  ASSERT_TRUE(got_host.has_value());
  EXPECT_EQ(got_host->hostname, host.hostname);
  EXPECT_EQ(got_host->cpu_model, host.cpu_model);
  EXPECT_EQ(got_host->sockets, host.sockets);
  EXPECT_EQ(got_host->cores, host.cores);
  EXPECT_EQ(got_host->threads_used, host.threads_used);
  EXPECT_EQ(got_host->torch_version, host.torch_version);
  EXPECT_EQ(got_host->blas, host.blas);
  EXPECT_EQ(got_host->rapl_domains, host.rapl_domains);
  EXPECT_EQ(store.HostnameOfRun(run.id), "node1");
  EXPECT_FALSE(store.GetHost(run.host_id + 100).has_value());

  std::vector<SampleRow> samples = store.ReadSamples();
  ASSERT_EQ(samples.size(), 2u);
  ExpectSameSample(samples[0], forward);
  ExpectSameSample(samples[1], backward);
  EXPECT_FALSE(samples[1].energy_j.has_value());
  EXPECT_EQ(RawQuery(store.handle(), "SELECT count(*) FROM samples WHERE energy_j IS NULL"), "1");
  EXPECT_EQ(store.ReadSamples("conv2d").size(), 2u);
  EXPECT_TRUE(store.ReadSamples("linear").empty());

  std::vector<FailureRow> failures = store.ReadFailures(run.id);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].run_id, run.id);
  EXPECT_EQ(failures[0].sample_index, 4);
  EXPECT_EQ(failures[0].layer, "conv2d");
  EXPECT_EQ(failures[0].config, failure.config);
  EXPECT_EQ(failures[0].error, failure.error);

  std::vector<IdleRow> idles = store.ReadIdle(run.id);
  ASSERT_EQ(idles.size(), 2u);
  EXPECT_DOUBLE_EQ(idles[0].duration_s, 10.0);
  EXPECT_DOUBLE_EQ(idles[0].package_power_w, 35.25);
  EXPECT_EQ(idles[0].dram_power_w, std::optional<double>(4.5));
  EXPECT_EQ(idles[0].by_socket_w, std::optional<std::string>("[20.0,15.25]"));
  EXPECT_FALSE(idles[1].dram_power_w.has_value());
  EXPECT_FALSE(idles[1].by_socket_w.has_value());
  std::string measured_at =
      RawQuery(store.handle(), "SELECT measured_at FROM idle_power ORDER BY id LIMIT 1");
  EXPECT_TRUE(std::regex_match(measured_at, kIsoUtc)) << measured_at;

  // The convenience view joins samples to their host.
  EXPECT_EQ(RawQuery(store.handle(),
                     "SELECT hostname || '|' || cpu_model FROM samples_with_host LIMIT 1"),
            "node1|Intel(R) Xeon(R) Gold 6130");
}

TEST(StoreTest, UpsertHostReturnsTheSameIdForAnIdenticalHost) {
  Store store(":memory:");
  const int64_t a = store.UpsertHost(MakeHost());
  const int64_t b = store.UpsertHost(MakeHost());
  EXPECT_EQ(a, b);
  HostInfo other_threads = MakeHost();
  other_threads.threads_used = 8;
  const int64_t c = store.UpsertHost(other_threads);
  EXPECT_NE(c, a);
  EXPECT_EQ(store.UpsertHost(other_threads), c);
  EXPECT_NE(store.UpsertHost(MakeHost("node2")), a);
  EXPECT_EQ(RawQuery(store.handle(), "SELECT count(*) FROM hosts"), "3");
}

TEST(StoreTest, LastUnfinishedRunIsTheNewestNotFinishedRunOfThatKind) {
  Store store(":memory:");
  const int64_t host = store.UpsertHost(MakeHost());
  EXPECT_FALSE(store.LastUnfinishedRun("random").has_value());
  const int64_t r1 = store.CreateRun(MakeRun(host));
  const int64_t r2 = store.CreateRun(MakeRun(host));
  const int64_t s1 = store.CreateRun(MakeRun(host, "sweep"));
  store.SetRunStatus(r1, "interrupted");
  store.SetRunStatus(r2, "finished");
  store.SetRunStatus(s1, "finished");

  std::optional<RunInfo> last = store.LastUnfinishedRun("random");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->id, r1);
  EXPECT_EQ(last->status, "interrupted");
  EXPECT_TRUE(std::regex_match(last->ended_at, kIsoUtc)) << last->ended_at;
  EXPECT_FALSE(store.LastUnfinishedRun("sweep").has_value());

  const int64_t r3 = store.CreateRun(MakeRun(host));
  EXPECT_EQ(store.LastUnfinishedRun("random")->id, r3);  // "running": killed with SIGKILL
  store.SetRunStatus(r3, "failed");                      // a failed run is not resumed (issue 11)
  EXPECT_EQ(store.LastUnfinishedRun("random")->id, r1);
  store.SetRunStatus(r3, "running");

  // Resuming sets it running again and clears ended_at.
  store.SetRunStatus(r1, "running");
  EXPECT_EQ(store.GetRun(r1)->ended_at, "");
  EXPECT_EQ(store.ReadRuns().size(), 4u);
}

TEST(StoreTest, SetRunStatusRefusesAnUnknownRunOrStatus) {
  Store store(":memory:");
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost())));
  EXPECT_THROW(store.SetRunStatus(run + 1, "finished"), StoreError);
  EXPECT_THROW(store.SetRunStatus(run, "done"), StoreError);  // CHECK on status
  EXPECT_EQ(store.GetRun(run)->status, "running");
}

TEST(StoreTest, CountsConfigsFailuresAndHighestAttemptedIndex) {
  Store store(":memory:");
  const int64_t host = store.UpsertHost(MakeHost());
  const int64_t run = store.CreateRun(MakeRun(host));
  const int64_t other = store.CreateRun(MakeRun(host));
  EXPECT_EQ(store.CountStoredConfigs(run), 0);
  EXPECT_EQ(store.CountFailures(run), 0);
  EXPECT_EQ(store.MaxAttemptedIndex(run), -1);

  store.InsertSamples({MakeSample(run, 0, "forward"), MakeSample(run, 0, "backward")});
  store.InsertSamples({MakeSample(run, 2, "forward"), MakeSample(run, 2, "backward")});
  store.InsertSamples({MakeSample(other, 50, "forward")});
  store.InsertFailure({run, 5, "conv2d", "{}", "out of memory"});
  EXPECT_EQ(store.CountStoredConfigs(run), 2);  // distinct indices, not rows
  EXPECT_EQ(store.CountSamples(run), 4);
  EXPECT_EQ(store.CountFailures(run), 1);
  EXPECT_EQ(store.MaxAttemptedIndex(run), 5);  // a failure counts as attempted
  EXPECT_EQ(store.MaxAttemptedIndex(other), 50);
  store.InsertSamples({MakeSample(run, 7, "forward")});
  EXPECT_EQ(store.MaxAttemptedIndex(run), 7);
}

TEST(StoreTest, RefusesADatabaseWithANewerSchemaVersion) {
  TempDir dir;
  const std::string path = dir.File("x.sqlite");
  { Store store(path); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = '7' WHERE key = 'schema_version'", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  try {
    Store store(path);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": schema version 7 is newer than this layerjoule (" +
                                         std::to_string(Store::kSchemaVersion) +
                                         "); upgrade layerjoule");
  }
}

TEST(StoreTest, RecordsTheSchemaVersionOnCreate) {
  Store store(":memory:");
  EXPECT_EQ(RawQuery(store.handle(), "SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(Store::kSchemaVersion));
}

TEST(StoreTest, RefusesAFileThatIsNotADatabaseAndLeavesItAlone) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  const std::string content(4096, 'x');
  { std::ofstream(path) << content; }
  try {
    Store store(path);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": not a SQLite database"), std::string::npos)
        << e.what();
  }
  std::ifstream in(path);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, content);
}

TEST(StoreTest, RefusesAnotherProgramsSqliteDatabase) {
  TempDir dir;
  const std::string path = dir.File("other.sqlite");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  try {
    Store store(path);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": not a layerjoule database"), std::string::npos)
        << e.what();
  }
}

TEST(StoreTest, AFailingRowLeavesNoneOfItsBatchStored) {
  TempDir dir;
  const std::string path = dir.File("m.sqlite");
  Store store(path);
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost())));
  SampleRow bad = MakeSample(run, 1, "backward");
  bad.time_s = 0;  // violates CHECK (time_s > 0)
  try {
    store.InsertSamples({MakeSample(run, 1, "forward"), bad});
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path + ": insert sample (run " + std::to_string(run) +
                        ", index 1, conv2d backward): CHECK constraint failed"),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(store.CountSamples(run), 0);

  SampleRow negative = MakeSample(run, 2, "forward");
  negative.energy_j = -1.0;  // CHECK (energy_j IS NULL OR energy_j >= 0)
  EXPECT_THROW(store.InsertSamples({negative}), StoreError);
  SampleRow bad_pass = MakeSample(run, 2, "sideways");
  EXPECT_THROW(store.InsertSamples({bad_pass}), StoreError);
  SampleRow bad_json = MakeSample(run, 2, "forward");
  bad_json.config = "{not json";
  EXPECT_THROW(store.InsertSamples({bad_json}), StoreError);
  EXPECT_EQ(store.CountSamples(run), 0);

  // The cached statements and the connection are usable after the failures.
  store.InsertSamples({MakeSample(run, 1, "forward"), MakeSample(run, 1, "backward")});
  EXPECT_EQ(store.CountSamples(run), 2);
  Store reopened(path);
  EXPECT_EQ(reopened.CountSamples(run), 2);
}

// Two resumers of one run must not both store a sample (issue 11): the second insert of a
// (run, sample_index, pass) fails, and its whole batch with it.
TEST(StoreTest, ASamplePassIsStoredOnce) {
  TempDir dir;
  const std::string path = dir.File("m.sqlite");
  Store store(path);
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost())));
  store.InsertSamples({MakeSample(run, 3, "forward"), MakeSample(run, 3, "backward")});
  Store second(path);  // another process resuming the same run
  try {
    second.InsertSamples({MakeSample(run, 4, "forward"), MakeSample(run, 3, "backward")});
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("UNIQUE constraint failed"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(store.CountSamples(run), 2);
  EXPECT_EQ(store.CountStoredConfigs(run), 1);
  const int64_t other = store.CreateRun(MakeRun(store.UpsertHost(MakeHost())));
  store.InsertSamples({MakeSample(other, 3, "forward")});  // the same index in another run
  EXPECT_EQ(store.CountSamples(other), 1);
}

// SQLite would block forever on its first read of a FIFO: refused before it is opened.
TEST(StoreTest, RefusesAFifoOrADirectoryWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir.File("m.sqlite");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, dir.path()}) {
    for (const auto access : {Store::Access::kReadWrite, Store::Access::kReadOnly}) {
      try {
        Store store(path, access);
        ADD_FAILURE() << "opened " << path;
      } catch (const StoreError& e) {
        EXPECT_EQ(std::string(e.what()), path + ": cannot open database: not a regular file");
      }
    }
  }
}

TEST(StoreTest, ForeignKeysAreEnforced) {
  Store store(":memory:");
  EXPECT_THROW(store.InsertSamples({MakeSample(999, 0, "forward")}), StoreError);
  RunInfo orphan = MakeRun(999);
  EXPECT_THROW(store.CreateRun(orphan), StoreError);
}

TEST(StoreTest, AnUncommittedOuterTransactionRollsBackNestedInserts) {
  Store store(":memory:");
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost())));
  {
    Store::Transaction outer(store);
    store.InsertSamples({MakeSample(run, 0, "forward")});  // a savepoint inside `outer`
    EXPECT_EQ(store.CountSamples(run), 1);
  }  // not committed
  EXPECT_EQ(store.CountSamples(run), 0);
  {
    Store::Transaction outer(store);
    store.InsertSamples({MakeSample(run, 0, "forward")});
    outer.Commit();
  }
  EXPECT_EQ(store.CountSamples(run), 1);
  EXPECT_EQ(sqlite3_get_autocommit(store.handle()), 1);  // no transaction left open
}

TEST(StoreTest, FileDatabasesUseWalAndForeignKeys) {
  TempDir dir;
  Store store(dir.File("m.sqlite"));
  EXPECT_EQ(RawQuery(store.handle(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQuery(store.handle(), "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(RawQuery(store.handle(), "PRAGMA synchronous"), "1");  // NORMAL
}

TEST(StoreTest, CreatesMissingParentDirectories) {
  TempDir dir;
  const std::string path = dir.File("a/b/m.sqlite");
  { Store store(path); }
  EXPECT_TRUE(fs::exists(path));
}

TEST(StoreTest, TwoConnectionsToOneFileSeeEachOthersCommits) {
  TempDir dir;
  const std::string path = dir.File("m.sqlite");
  Store writer(path);
  Store reader(path);
  const int64_t run = writer.CreateRun(MakeRun(writer.UpsertHost(MakeHost())));
  writer.InsertSamples({MakeSample(run, 0, "forward")});
  EXPECT_EQ(reader.CountSamples(run), 1);
  EXPECT_EQ(reader.UpsertHost(MakeHost()), writer.UpsertHost(MakeHost()));
}

TEST(StoreTest, NetworkSamplesTableChecksThePhase) {
  Store store(":memory:");
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost()), "network"));
  const std::string insert =
      "INSERT INTO network_samples (run_id, network, batch_size, phase, iteration, time_s, "
      "meter) VALUES (" +
      std::to_string(run) + ", 'alexnet', 512, '";
  EXPECT_EQ(sqlite3_exec(store.handle(), (insert + "optimizer', 0, 0.2, 'rapl')").c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  EXPECT_NE(sqlite3_exec(store.handle(), (insert + "warmup', 0, 0.2, 'rapl')").c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  EXPECT_EQ(RawQuery(store.handle(), "SELECT count(*) FROM network_samples"), "1");
}

TEST(StoreTest, NetworkSamplesRoundTripAndFilterByNetwork) {
  Store store(":memory:");
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost()), "network"));
  NetworkSampleRow a;
  a.run_id = run;
  a.network = "lenet5";
  a.batch_size = 64;
  a.phase = "forward";
  a.iteration = 2;
  a.time_s = 0.0125;
  a.energy_j = 0.5;
  a.idle_power_w = 4.0;
  a.meter = "rapl";
  NetworkSampleRow b = a;
  b.network = "alexnet";
  b.phase = "iteration";
  b.energy_j.reset();
  b.idle_power_w.reset();
  b.meter = "none";
  store.InsertNetworkSamples({a, b});

  const auto lenet = store.ReadNetworkSamples("lenet5");
  ASSERT_EQ(lenet.size(), 1u);
  EXPECT_EQ(lenet[0].run_id, run);
  EXPECT_EQ(lenet[0].batch_size, 64);
  EXPECT_EQ(lenet[0].phase, "forward");
  EXPECT_EQ(lenet[0].iteration, 2);
  EXPECT_DOUBLE_EQ(lenet[0].time_s, 0.0125);
  EXPECT_EQ(lenet[0].energy_j, std::optional<double>(0.5));
  EXPECT_FALSE(lenet[0].dram_energy_j.has_value());
  EXPECT_EQ(lenet[0].idle_power_w, std::optional<double>(4.0));
  EXPECT_EQ(lenet[0].meter, "rapl");
  const auto all = store.ReadNetworkSamples();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].network, "alexnet");
  EXPECT_FALSE(all[1].energy_j.has_value());
  EXPECT_TRUE(store.ReadNetworkSamples("vgg11").empty());
}

TEST(StoreTest, ABadNetworkSampleLeavesNoneOfItsIterationStored) {
  Store store(":memory:");
  const int64_t run = store.CreateRun(MakeRun(store.UpsertHost(MakeHost()), "network"));
  NetworkSampleRow good;
  good.run_id = run;
  good.network = "lenet5";
  good.batch_size = 8;
  good.phase = "forward";
  good.time_s = 0.01;
  good.meter = "none";
  NetworkSampleRow bad = good;
  bad.phase = "warmup";  // rejected by the CHECK constraint
  EXPECT_THROW(store.InsertNetworkSamples({good, bad}), StoreError);
  EXPECT_TRUE(store.ReadNetworkSamples().empty());
}

}  // namespace
}  // namespace lj

namespace lj {
namespace {

TEST(StoreReadOnlyTest, ReadsWithoutWritingAndRefusesWhatIsNotAStore) {
  test::TempDir dir;
  const std::string path = dir.File("m.sqlite");
  // A missing file is an error and is not created.
  EXPECT_THROW(Store(path, Store::Access::kReadOnly), StoreError);
  EXPECT_FALSE(std::filesystem::exists(path));
  {
    Store writer(path);
    HostInfo host;
    host.hostname = "h";
    writer.UpsertHost(host);
  }
  const auto size = std::filesystem::file_size(path);
  Store reader(path, Store::Access::kReadOnly);
  ASSERT_TRUE(reader.GetHost(1).has_value());
  EXPECT_EQ(reader.GetHost(1)->hostname, "h");
  HostInfo other;
  other.hostname = "other";
  EXPECT_THROW(reader.UpsertHost(other), StoreError);
  EXPECT_EQ(std::filesystem::file_size(path), size);
  // An empty file is not a layerjoule database, and stays empty.
  const std::string empty = dir.File("empty.sqlite");
  std::ofstream(empty).close();
  try {
    Store s(empty, Store::Access::kReadOnly);
    FAIL() << "no StoreError";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()), empty + ": not a layerjoule database (it is empty)");
  }
  EXPECT_EQ(std::filesystem::file_size(empty), 0u);
}

}  // namespace
}  // namespace lj
