// Integration tests that run the real `measure` binary (and `fake_powercap` for RAPL).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/process_util.h"

namespace lj::test {
namespace {

// Small linear layers: each config takes well under a second at --min-time 0.02.
constexpr const char* kTinyLinearBounds = R"({
  "layer": "linear", "max_forward_macs": 1e8,
  "parameters": {"batch_size": {"min": 1, "max": 16, "distribution": "log_uniform"},
                 "in_features": {"min": 8, "max": 256, "distribution": "log_uniform"},
                 "out_features": {"min": 8, "max": 256, "distribution": "log_uniform"}}})";

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

class MeasureCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ScratchDir();
    db_ = dir_ + "/m.sqlite";
    bounds_ = dir_ + "/tiny_linear.json";
    WriteText(bounds_, kTinyLinearBounds);
  }

  // measure with the tiny bounds, a private lock file and no idle wait.
  std::vector<std::string> Measure(std::vector<std::string> extra) const {
    std::vector<std::string> argv = {
        Bin("measure"), "--db",     db_,           "--bounds",     bounds_,
        "--layer",      "linear",   "--lock-file", dir_ + "/lock", "--min-time",
        "0.02",         "--trials", "2",           "--idle",       "0",
        "--threads",    "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Starts measure with `extra`, kills it with SIGKILL once it has stored 2 configs, and
  // returns the sample rows it left.
  long long StartAndKill(const std::vector<std::string>& extra) const {
    const pid_t pid = Spawn(Measure(extra), dir_ + "/first.log");
    WaitForConfigs(2);
    kill(pid, SIGKILL);
    WaitFor(pid, 10);
    return QueryInt(db_, "SELECT COUNT(*) FROM samples");
  }

  // measure --resume on this test's database, private lock, no idle wait, plus `extra`.
  CommandResult Resume(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {Bin("measure"), "--db",         db_,      "--resume",
                                     "--lock-file",  dir_ + "/lock", "--idle", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv);
  }

  // Polls until the run has stored at least `configs` configs (or 60 s pass).
  void WaitForConfigs(long long configs) const {
    WaitForCount(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples", configs);
  }

  // Polls until `count_sql` on database `db` gives at least `at_least` (or 60 s pass).
  static void WaitForCount(const std::string& db, const std::string& count_sql,
                           long long at_least) {
    for (int i = 0; i < 3000; ++i) {
      try {
        if (Exists(db) && QueryInt(db, count_sql) >= at_least) return;
      } catch (const std::exception&) {
        // The database is being created: its tables are not there yet.
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << db << ": " << count_sql << " stayed below " << at_least << " for 60 s";
  }

  std::string dir_, db_, bounds_;
};

TEST_F(MeasureCli, TimeOnlyRunStoresForwardAndBackwardRows) {
  const auto r = RunCommand(Measure({"--n", "6", "--meter", "none", "--seed", "7"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), 12);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE pass='forward'"), 6);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE pass='backward'"), 6);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE time_s > 0 AND layer='linear'"), 12);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE energy_j IS NOT NULL"), 0);
  // Minor page faults per execution (measure/page_faults.h) in every row.
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE minor_faults >= 0"), 12);
  EXPECT_EQ(QueryText(db_, "SELECT DISTINCT meter FROM samples"), "none");
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "finished");
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM hosts WHERE torch_version <> ''"), 1);
  // Every stored config lies within the bounds file.
  EXPECT_EQ(QueryInt(db_,
                     "SELECT COUNT(*) FROM samples WHERE "
                     "json_extract(config,'$.in_features') BETWEEN 8 AND 256 AND "
                     "json_extract(config,'$.batch_size') BETWEEN 1 AND 16"),
            12);
}

// Speed probes (measure/speed_probe.h): one at a run's start and one at its end, one before
// a config when --probe-every seconds have passed since the last, none with --probe-every 0.
TEST_F(MeasureCli, SpeedProbesBracketEveryRunAndNoneWithProbeEveryZero) {
  auto r =
      RunCommand(Measure({"--n", "3", "--meter", "none", "--seed", "7", "--probe-every", "1000"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(DISTINCT measured_at) FROM speed_probes"), 2);
  // Each probe: conv2d and relu, forward and backward, and the first touch of fresh memory.
  EXPECT_EQ(QueryInt(db_,
                     "SELECT COUNT(*) FROM speed_probes WHERE time_s > 0 AND run_id = "
                     "(SELECT id FROM runs)"),
            10);
  EXPECT_EQ(QueryText(db_,
                      "SELECT group_concat(layer || ' ' || pass, ',') FROM "
                      "(SELECT DISTINCT layer, pass FROM speed_probes ORDER BY layer, pass)"),
            "conv2d backward,conv2d forward,first_touch forward,relu backward,relu forward");
  EXPECT_EQ(QueryText(db_, "SELECT DISTINCT config FROM speed_probes WHERE layer = 'first_touch'"),
            "{\"bytes\":67108864,\"page_bytes\":" + std::to_string(sysconf(_SC_PAGESIZE)) + "}");
  EXPECT_EQ(
      QueryInt(db_,
               "SELECT (SELECT min(measured_at) FROM speed_probes) <= (SELECT min(created_at) "
               "FROM samples) AND (SELECT max(measured_at) FROM speed_probes) >= "
               "(SELECT max(created_at) FROM samples)"),
      1);
  EXPECT_NE(r.output.find("speed probe: conv2d forward"), std::string::npos) << r.output;

  db_ = dir_ + "/every.sqlite";
  r = RunCommand(Measure({"--n", "3", "--meter", "none", "--seed", "7", "--probe-every", "0.001"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The start and the end, one before configs 1 and 2, and before config 0 unless the start
  // probe ended less than 1 ms before it.
  const long long probes = QueryInt(db_, "SELECT COUNT(DISTINCT measured_at) FROM speed_probes");
  EXPECT_GE(probes, 4);
  EXPECT_LE(probes, 5);

  db_ = dir_ + "/none.sqlite";
  r = RunCommand(Measure({"--n", "3", "--meter", "none", "--seed", "7", "--probe-every", "0"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM speed_probes"), 0);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), 6);
}

// Every sample carries the conditions of its trials (issue 14 § 3), and the run the pre-flight
// report: 2 trials of 0.1 s on the host's cores are long enough to resolve the contention
// share, and --max-contention 1 never measures a pass again.
TEST_F(MeasureCli, EverySampleCarriesItsConditionsAndTheRunThePreflight) {
  std::vector<std::string> argv = Measure({"--n", "2", "--meter", "none", "--max-contention", "1"});
  const auto at = std::find(argv.begin(), argv.end(), "0.02");
  ASSERT_NE(at, argv.end());
  *at = "0.1";  // --min-time
  const auto r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), 4);
  EXPECT_EQ(QueryInt(db_,
                     "SELECT COUNT(*) FROM samples WHERE contention_share BETWEEN 0 AND 1 AND "
                     "contended = 0"),
            4);
  // This KVM guest has no package sensor; a host with one stores both readings.
  EXPECT_EQ(QueryInt(db_,
                     "SELECT COUNT(*) FROM samples WHERE (temperature_start_c IS NULL) = "
                     "(temperature_end_c IS NULL)"),
            4);
  EXPECT_EQ(
      QueryInt(db_, "SELECT json_array_length(value) FROM run_options WHERE name = 'preflight'"),
      6);
}

TEST_F(MeasureCli, MeterRaplRefusesWithoutRaplAndWritesNothing) {
  if (Exists("/sys/class/powercap/intel-rapl:0")) GTEST_SKIP() << "this host has RAPL";
  const auto r = RunCommand(Measure({"--n", "2", "--meter", "rapl"}));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("measure: error:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("powercap"), std::string::npos) << r.output;
  EXPECT_FALSE(Exists(db_));
}

TEST_F(MeasureCli, MeterAutoWithoutRaplSaysSoAndStoresNullEnergy) {
  if (Exists("/sys/class/powercap/intel-rapl:0")) GTEST_SKIP() << "this host has RAPL";
  const auto r = RunCommand(Measure({"--n", "2", "--meter", "auto"}));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("TIME ONLY"), std::string::npos) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE energy_j IS NULL"), 4);
}

TEST_F(MeasureCli, EmulatedRaplPowerIsStoredSummedOverSockets) {
  // Two packages at 40 W and 25 W, DRAM at 3 W and 2 W; package-0 wraps 1.5 s into the run.
  const auto r = RunCommand({Bin("fake_powercap"),
                             "--sockets",
                             "2",
                             "--package-w",
                             "40,25",
                             "--dram-w",
                             "3,2",
                             "--wrap-after-s",
                             "1.5",
                             "--",
                             Bin("measure"),
                             "--db",
                             db_,
                             "--bounds",
                             bounds_,
                             "--layer",
                             "linear",
                             "--n",
                             "4",
                             "--meter",
                             "rapl",
                             "--min-time",
                             "0.2",
                             "--trials",
                             "2",
                             "--idle",
                             "0.5",
                             "--lock-file",
                             dir_ + "/lock",
                             "--threads",
                             "1"});
  if (r.exit_code == 77) GTEST_SKIP() << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE energy_j IS NOT NULL"), 8);
  // Stored energy per execution / time per execution = emulated power, within 2 %.
  const double min_w = std::stod(QueryText(db_, "SELECT MIN(energy_j / time_s) FROM samples"));
  const double max_w = std::stod(QueryText(db_, "SELECT MAX(energy_j / time_s) FROM samples"));
  EXPECT_NEAR(min_w, 65.0, 65.0 * 0.02);
  EXPECT_NEAR(max_w, 65.0, 65.0 * 0.02);
  const double dram_w =
      std::stod(QueryText(db_, "SELECT AVG(dram_energy_j / time_s) FROM samples"));
  EXPECT_NEAR(dram_w, 5.0, 5.0 * 0.02);
  // Per-socket energies are stored and add up to the total.
  const auto by_socket = nlohmann::json::parse(
      QueryText(db_, "SELECT energy_by_socket_j FROM samples ORDER BY id LIMIT 1"));
  ASSERT_EQ(by_socket.size(), 2u);
  const double e0 = by_socket[0].get<double>(), e1 = by_socket[1].get<double>();
  EXPECT_NEAR(e0 / (e0 + e1), 40.0 / 65.0, 0.02);
  // Idle power is measured and copied into each sample.
  EXPECT_NEAR(std::stod(QueryText(db_, "SELECT package_power_w FROM idle_power")), 65.0, 1.3);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE idle_power_w > 60"), 8);
  EXPECT_EQ(QueryText(db_, "SELECT rapl_domains FROM hosts"), "package-0,package-1,dram,dram");
}

TEST_F(MeasureCli, SigtermEndsCleanlyAndResumeCompletesTheSameSeedStream) {
  const pid_t pid =
      Spawn(Measure({"--n", "24", "--meter", "none", "--seed", "11"}), dir_ + "/first.log");
  WaitForConfigs(3);
  const auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  const int code = WaitFor(pid, 10);
  const double stop_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(code, 128 + SIGTERM) << ReadText(dir_ + "/first.log");
  EXPECT_LT(stop_s, 3.0);
  EXPECT_NE(ReadText(dir_ + "/first.log").find("interrupted"), std::string::npos);
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "interrupted");
  const long long stored = QueryInt(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples");
  EXPECT_LT(stored, 24);

  const auto r = RunCommand({Bin("measure"), "--db", db_, "--resume", "--lock-file", dir_ + "/lock",
                             "--idle", "0", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "finished");
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), 48);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples"), 24);
  EXPECT_EQ(QueryInt(db_, "SELECT MAX(sample_index) FROM samples"), 23);
  EXPECT_EQ(QueryText(db_, "PRAGMA integrity_check"), "ok");

  // The same seed, uninterrupted, gives the same config at every index.
  const std::string other_db = dir_ + "/other.sqlite";
  const auto other = RunCommand({Bin("measure"), "--db",      other_db, "--bounds",   bounds_,
                                 "--layer",      "linear",    "--n",    "24",         "--meter",
                                 "none",         "--seed",    "11",     "--min-time", "0.001",
                                 "--trials",     "1",         "--idle", "0",          "--lock-file",
                                 dir_ + "/lock", "--threads", "1"});
  ASSERT_EQ(other.exit_code, 0) << other.output;
  const std::string q =
      "SELECT group_concat(config, '|') FROM (SELECT config FROM samples WHERE pass='forward' "
      "ORDER BY sample_index)";
  EXPECT_EQ(QueryText(db_, q), QueryText(other_db, q));
}

// A closed ssh session sends SIGHUP, a closed pipe SIGPIPE: both stop the run like SIGTERM,
// with the run marked interrupted (issue 11), instead of killing it with status "running".
TEST_F(MeasureCli, SighupAndSigpipeEndCleanlyWithTheRunInterrupted) {
  for (const int signo : {SIGHUP, SIGPIPE}) {
    const std::string db = dir_ + "/sig" + std::to_string(signo) + ".sqlite";
    auto argv = Measure({"--n", "500", "--meter", "none"});
    argv[2] = db;
    const pid_t pid = Spawn(argv, dir_ + "/sig.log");
    WaitForCount(db, "SELECT COUNT(*) FROM samples", 1);
    kill(pid, signo);
    EXPECT_EQ(WaitFor(pid, 10), 128 + signo) << ReadText(dir_ + "/sig.log");
    EXPECT_EQ(QueryText(db, "SELECT status FROM runs"), "interrupted") << signo;
  }
}

// A second Ctrl-C during a long execution exits at once, with the run marked interrupted
// (the first only asks the run to stop after the current execution).
TEST_F(MeasureCli, ASecondSigintExitsAtOnceWithTheRunInterrupted) {
  // One conv2d config of ~2.4e11 MACs: each forward execution takes seconds on 2 cores.
  WriteText(dir_ + "/big_conv.json", R"({"layer": "conv2d", "max_forward_macs": 1e12,
    "parameters": {"batch_size": {"choices": [128]}, "in_channels": {"choices": [256]},
                   "out_channels": {"choices": [256]}, "image_size": {"choices": [56]},
                   "kernel_size": {"choices": [3]}, "padding": {"choices": [1]},
                   "stride": {"choices": [1]}, "groups": {"choices": [1]},
                   "bias": {"choices": [true]}, "input_grad": {"choices": [true]}}})");
  // No speed probe: its short executions would let the first SIGINT end the run at once.
  auto argv = Measure({"--n", "1", "--meter", "none", "--max-memory", "16", "--probe-every", "0"});
  argv[4] = dir_ + "/big_conv.json";
  argv[6] = "conv2d";
  ASSERT_EQ(argv[9], "--min-time");
  argv[10] = "60";
  const pid_t pid = Spawn(argv, dir_ + "/big.log");
  WaitForCount(db_, "SELECT COUNT(*) FROM runs", 1);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // past the setup, into the executions
  kill(pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  EXPECT_EQ(WaitFor(pid, 30), 128 + SIGINT) << ReadText(dir_ + "/big.log");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  EXPECT_NE(ReadText(dir_ + "/big.log").find("second SIGINT"), std::string::npos);
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "interrupted");
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), 0);
}

// A resumed run goes on only with the setup it was measured with: another thread count is
// refused with the option named; without --threads and --meter it keeps the run's own.
TEST_F(MeasureCli, ResumeRefusesAnotherThreadCountAndKeepsTheRunsOwn) {
  const long long stored = StartAndKill({"--n", "30", "--meter", "none"});
  const auto refused = Resume({"--threads", "2"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("threads (--threads) '1', this process has '2'"), std::string::npos)
      << refused.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), stored);
  const auto resumed = Resume();
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples"), 30);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM hosts"), 1);  // the same host row: 1 thread
}

// measure --malloc sets the allocator and re-executes itself; the run records the setting it
// ran under, and a resume under another setting is refused with both named.
TEST_F(MeasureCli, MallocSettingIsRecordedAndAResumeKeepsIt) {
  // core/malloc_setting.h kKeepFreedMemoryTunables, as the run records it.
  const std::string keep =
      "GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736";
  const long long stored = StartAndKill({"--n", "30", "--meter", "none", "--malloc", "keep-freed"});
  EXPECT_EQ(QueryText(db_, "SELECT value FROM run_options WHERE name = 'malloc'"), keep);
  const auto refused = Resume({"--malloc", "default"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("malloc setting (measure --malloc) '" + keep +
                                "', this process has 'glibc default'"),
            std::string::npos)
      << refused.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), stored);
  const auto resumed = Resume({"--malloc", "keep-freed"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples"), 30);
  const auto bad = RunCommand({Bin("measure"), "--malloc", "jemalloc", "--db", db_});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--malloc"), std::string::npos) << bad.output;
}

// Bad input writes nothing: a bad --import-legacy directory creates no database, and --resume
// on an empty file leaves it empty (it used to write a schema into it first).
TEST_F(MeasureCli, ImportAndResumeWriteNothingOnBadInput) {
  const std::string legacy = dir_ + "/legacy";
  ASSERT_EQ(mkdir(legacy.c_str(), 0700), 0);
  WriteText(legacy + "/conv.csv", "not,the,header\n1,2,3\n");
  const auto import =
      RunCommand({Bin("measure"), "--import-legacy", legacy, "--host", "h", "--db", db_});
  EXPECT_NE(import.exit_code, 0);
  EXPECT_NE(import.output.find(legacy + "/conv.csv"), std::string::npos) << import.output;
  EXPECT_FALSE(Exists(db_));

  WriteText(db_, "");
  const auto resume = RunCommand(
      {Bin("measure"), "--db", db_, "--resume", "--lock-file", dir_ + "/lock", "--idle", "0"});
  EXPECT_NE(resume.exit_code, 0);
  EXPECT_NE(resume.output.find(db_), std::string::npos) << resume.output;
  EXPECT_EQ(ReadText(db_), "");
}

TEST_F(MeasureCli, KillNineLeavesAConsistentDatabaseThatResumes) {
  const pid_t pid = Spawn(Measure({"--n", "20", "--meter", "none"}), dir_ + "/first.log");
  WaitForConfigs(2);
  kill(pid, SIGKILL);
  EXPECT_EQ(WaitFor(pid, 10), 128 + SIGKILL);
  EXPECT_EQ(QueryText(db_, "PRAGMA integrity_check"), "ok");
  // Every stored config has both passes: a config is one transaction.
  EXPECT_EQ(QueryInt(db_,
                     "SELECT COUNT(*) FROM (SELECT sample_index FROM samples "
                     "GROUP BY sample_index HAVING COUNT(*) <> 2)"),
            0);
  const auto r = RunCommand({Bin("measure"), "--db", db_, "--resume", "--lock-file", dir_ + "/lock",
                             "--idle", "0", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples"), 20);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), 40);
}

TEST_F(MeasureCli, SecondMeasureOnTheSameHostRefusesToStart) {
  const pid_t pid = Spawn(Measure({"--n", "500", "--meter", "none"}), dir_ + "/first.log");
  WaitForConfigs(1);
  const std::string other_db = dir_ + "/second.sqlite";
  auto argv = Measure({"--n", "2", "--meter", "none"});
  argv[2] = other_db;
  const auto r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("another measure (pid " + std::to_string(pid)), std::string::npos)
      << r.output;
  EXPECT_FALSE(Exists(other_db));
  kill(pid, SIGTERM);
  EXPECT_EQ(WaitFor(pid, 10), 128 + SIGTERM);
}

struct BadInput {
  const char* name;
  const char* bounds;
  const char* expected;  // must appear in the error message
};

class MeasureBadBounds : public MeasureCli, public ::testing::WithParamInterface<BadInput> {};

TEST_P(MeasureBadBounds, FailsNamingKeyAndValueAndWritesNothing) {
  WriteText(bounds_, GetParam().bounds);
  const auto r = RunCommand(Measure({"--n", "2", "--meter", "none"}));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(bounds_), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(GetParam().expected), std::string::npos) << r.output;
  EXPECT_FALSE(Exists(db_));
}

INSTANTIATE_TEST_SUITE_P(
    BadBoundsFiles, MeasureBadBounds,
    ::testing::Values(BadInput{"UnknownKey",
                               R"({"layer":"linear","max_forward_macs":1e8,"colour":1,"parameters":{
                   "batch_size":{"min":1,"max":4},"in_features":{"min":1,"max":4},
                   "out_features":{"min":1,"max":4}}})",
                               "colour"},
                      BadInput{"MinAboveMax",
                               R"({"layer":"linear","max_forward_macs":1e8,"parameters":{
                   "batch_size":{"min":9,"max":4},"in_features":{"min":1,"max":4},
                   "out_features":{"min":1,"max":4}}})",
                               "batch_size"},
                      BadInput{"NegativeSize",
                               R"({"layer":"linear","max_forward_macs":1e8,"parameters":{
                   "batch_size":{"min":1,"max":4},"in_features":{"min":-3,"max":4},
                   "out_features":{"min":1,"max":4}}})",
                               "-3"},
                      BadInput{"WrongType",
                               R"({"layer":"linear","max_forward_macs":1e8,"parameters":{
                   "batch_size":{"min":1,"max":"four"},"in_features":{"min":1,"max":4},
                   "out_features":{"min":1,"max":4}}})",
                               "four"},
                      BadInput{"KernelLargerThanEveryImage",
                               R"({"layer":"conv2d","max_forward_macs":1e8,"parameters":{
                   "batch_size":{"min":1,"max":4},"in_channels":{"min":1,"max":4},
                   "out_channels":{"min":1,"max":4},"image_size":{"min":4,"max":8},
                   "kernel_size":{"min":11,"max":11},"stride":{"min":1,"max":1},
                   "padding":{"min":0,"max":1}}})",
                               "kernel_size"},
                      BadInput{"NotJson", "{\"layer\": ", "JSON"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST_F(MeasureCli, KernelTooLargeForConvLayerIsNamedEvenWithLayerMismatch) {
  // --layer linear with a conv2d bounds file: refused before anything is written.
  WriteText(bounds_, R"({"layer":"conv2d","max_forward_macs":1e8,"parameters":{
      "batch_size":{"min":1,"max":4},"in_channels":{"min":1,"max":4},
      "out_channels":{"min":1,"max":4},"image_size":{"min":4,"max":8},
      "kernel_size":{"min":1,"max":3},"stride":{"min":1,"max":1},"padding":{"min":0,"max":1}}})");
  const auto r = RunCommand(Measure({"--n", "2", "--meter", "none"}));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("conv2d"), std::string::npos) << r.output;
  EXPECT_FALSE(Exists(db_));
}

TEST_F(MeasureCli, SweepTagsRowsWithItsNameAndValue) {
  const std::string sweep = dir_ + "/sweep.json";
  WriteText(sweep, R"({"name":"tiny_linear_batch","layer":"linear",
      "defaults":{"batch_size":1,"in_features":32,"out_features":16,"bias":true},
      "vary":{"parameter":"batch_size","values":[1,2,4]},"repeats":2})");
  const auto r = RunCommand({Bin("measure"), "--sweep", sweep, "--db", db_, "--meter", "none",
                             "--min-time", "0.01", "--trials", "1", "--idle", "0", "--lock-file",
                             dir_ + "/lock", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE sweep='tiny_linear_batch'"), 12);
  EXPECT_EQ(QueryInt(db_,
                     "SELECT COUNT(*) FROM samples WHERE "
                     "sweep_value = json_extract(config, '$.batch_size')"),
            12);
  EXPECT_EQ(QueryText(db_, "SELECT kind FROM runs"), "sweep");

  // A bad sweep file (a varied value that gives an impossible layer) writes nothing.
  const std::string bad_db = dir_ + "/bad.sqlite";
  WriteText(sweep, R"({"name":"bad","layer":"linear",
      "defaults":{"batch_size":1,"in_features":32,"out_features":16,"bias":true},
      "vary":{"parameter":"in_features","values":[4,0]},"repeats":1})");
  const auto bad = RunCommand({Bin("measure"), "--sweep", sweep, "--db", bad_db, "--meter", "none",
                               "--lock-file", dir_ + "/lock"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("in_features"), std::string::npos) << bad.output;
  EXPECT_FALSE(Exists(bad_db));
}

// Sweeps honour --max-memory (issue 11): a point over it is recorded as a failure and the
// others run; a sweep with no point under it is refused before anything is written.
TEST_F(MeasureCli, SweepSkipsPointsOverMaxMemoryAndRefusesOneWithNoneUnder) {
  const std::string sweep = dir_ + "/sweep.json";
  // in_features 2^22: a 2^22 x 64 weight is 1 GiB of floats, over --max-memory 0.5.
  WriteText(sweep, R"({"name":"big_linear","layer":"linear",
      "defaults":{"batch_size":1,"in_features":32,"out_features":64,"bias":true},
      "vary":{"parameter":"in_features","values":[32,4194304]},"repeats":1})");
  const std::vector<std::string> common = {
      "--db",   db_, "--meter",     "none",         "--min-time", "0.01", "--trials",     "1",
      "--idle", "0", "--lock-file", dir_ + "/lock", "--threads",  "1",    "--max-memory", "0.5"};
  std::vector<std::string> argv = {Bin("measure"), "--sweep", sweep};
  argv.insert(argv.end(), common.begin(), common.end());
  const auto r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE sweep_value = 32"), 2);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE sweep_value = 4194304"), 0);
  EXPECT_NE(QueryText(db_, "SELECT error FROM failures").find("over --max-memory"),
            std::string::npos);

  const std::string none_db = dir_ + "/none.sqlite";
  WriteText(sweep, R"({"name":"big_linear","layer":"linear",
      "defaults":{"batch_size":1,"in_features":32,"out_features":64,"bias":true},
      "vary":{"parameter":"in_features","values":[4194304,8388608]},"repeats":1})");
  argv = {Bin("measure"), "--sweep", sweep};
  argv.insert(argv.end(), common.begin(), common.end());
  argv[4] = none_db;  // --db
  const auto none = RunCommand(argv);
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("every point of the sweep is over a cap"), std::string::npos)
      << none.output;
  EXPECT_FALSE(Exists(none_db));
}

// --max-memory changes a random run's config stream, so it is stored with the run: a resume
// without it samples with the run's value (the same configs as an uninterrupted run), and a
// resume with another value is refused, naming the option (issue 11).
TEST_F(MeasureCli, ResumeSamplesWithTheRunsMaxMemoryAndRefusesAnother) {
  // 32 KiB: about half of the tiny linear draws (8 x 4 bytes per weight element in
  // EstimateTrainingMemoryBytes, weights up to 256 x 256) are over it.
  const std::string cap = "0.000030517578125";
  const long long stored =
      StartAndKill({"--n", "12", "--meter", "none", "--seed", "4", "--max-memory", cap});
  const auto refused = Resume({"--max-memory", "4"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("was sampled with --max-memory"), std::string::npos)
      << refused.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples"), stored);
  const auto resumed = Resume();
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;

  const std::string configs =
      "SELECT group_concat(config, '|') FROM (SELECT config FROM samples WHERE pass = 'forward' "
      "ORDER BY sample_index)";
  const std::string capped = dir_ + "/capped.sqlite", uncapped = dir_ + "/uncapped.sqlite";
  std::vector<std::string> argv =
      Measure({"--n", "12", "--meter", "none", "--seed", "4", "--max-memory", cap});
  argv[2] = capped;
  ASSERT_EQ(RunCommand(argv).exit_code, 0);
  argv = Measure({"--n", "12", "--meter", "none", "--seed", "4"});
  argv[2] = uncapped;
  ASSERT_EQ(RunCommand(argv).exit_code, 0);
  EXPECT_EQ(QueryText(db_, configs), QueryText(capped, configs));
  // The check means something only if the cap changes the stream.
  EXPECT_NE(QueryText(capped, configs), QueryText(uncapped, configs));
}

}  // namespace
}  // namespace lj::test

namespace lj::test {
namespace {

// `measure --near NET.json`: a run of kind "near" whose anchored samples say which network
// layer they were drawn near; killed and resumed, it completes the same config stream from the
// anchors stored in the run (no net.json needed to resume).
TEST(MeasureNearCli, NearRunTagsSamplesAndResumesFromTheStoredAnchors) {
  const std::string dir = ScratchDir();
  const std::string db = dir + "/near.sqlite";
  const std::vector<std::string> base = {Bin("measure"),
                                         "--db",
                                         db,
                                         "--layer",
                                         "linear",
                                         "--lock-file",
                                         dir + "/lock",
                                         "--min-time",
                                         "0.005",
                                         "--trials",
                                         "1",
                                         "--idle",
                                         "0",
                                         "--threads",
                                         "1",
                                         "--meter",
                                         "none",
                                         "--seed",
                                         "3"};
  std::vector<std::string> near = base;
  for (const char* a : {"--n", "12", "--near", "configs/nets/lenet5.json", "--near-share", "1"}) {
    near.emplace_back(a);
  }
  near[near.size() - 3] = Source("configs/nets/lenet5.json");
  const pid_t pid = Spawn(near, dir + "/first.log");
  for (int i = 0; i < 3000; ++i) {
    try {
      if (QueryInt(db, "SELECT COUNT(DISTINCT sample_index) FROM samples") >= 3) break;
    } catch (const std::exception&) {
    }
    usleep(20000);
  }
  kill(pid, SIGKILL);
  WaitFor(pid, 10);
  EXPECT_EQ(QueryText(db, "SELECT kind FROM runs"), "near");
  EXPECT_NE(QueryText(db, "SELECT source_json FROM runs").find("\"near\""), std::string::npos);
  std::vector<std::string> resume = {Bin("measure"), "--db",        db,        "--resume",
                                     "--lock-file",  dir + "/lock", "--idle",  "0",
                                     "--threads",    "1",           "--meter", "none"};
  const auto r = RunCommand(resume);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryText(db, "SELECT status FROM runs"), "finished");
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(DISTINCT sample_index) FROM samples"), 12);
  // near_share 1: every sample is drawn near one of lenet5's three linear layers.
  EXPECT_EQ(QueryInt(db, "SELECT COUNT(*) FROM samples WHERE notes LIKE 'near lenet5 fc%'"), 24);
  // The same command uninterrupted gives the same configs.
  std::vector<std::string> again = near;
  again[2] = dir + "/again.sqlite";
  ASSERT_EQ(RunCommand(again).exit_code, 0);
  const std::string q =
      "SELECT group_concat(config, '|') FROM (SELECT config FROM samples WHERE pass='forward' "
      "ORDER BY sample_index)";
  EXPECT_EQ(QueryText(db, q), QueryText(dir + "/again.sqlite", q));
  // A network without layers of the type is a clear error that writes nothing.
  std::vector<std::string> none = base;
  none[4] = "add";  // lenet5 has no residual sums
  for (const char* a : {"--n", "2", "--near"}) none.emplace_back(a);
  none.push_back(Source("configs/nets/lenet5.json"));
  none[2] = dir + "/none.sqlite";
  const auto bad = RunCommand(none);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("no add layers"), std::string::npos) << bad.output;
  EXPECT_FALSE(Exists(dir + "/none.sqlite"));
}

// "index config" of every stored config of a database, in index order.
std::vector<std::string> IndexedConfigs(const std::string& db) {
  std::vector<std::string> out;
  const std::string text =
      QueryText(db,
                "SELECT group_concat(c, '|') FROM (SELECT sample_index || ' ' || config AS c "
                "FROM samples WHERE pass = 'forward' ORDER BY sample_index)");
  size_t start = 0;
  while (!text.empty()) {
    const size_t end = text.find('|', start);
    out.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// --shard K/N (issue 14): three shards of one seed's 12-config run, each in its own database,
// hold between them exactly the unsharded run's configs at the same indices.
TEST_F(MeasureCli, ThreeShardsTogetherMeasureTheUnshardedRunsConfigs) {
  const auto whole = RunCommand(Measure({"--n", "12", "--meter", "none", "--seed", "11"}));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  std::vector<std::string> expected = IndexedConfigs(db_);
  ASSERT_EQ(expected.size(), 12u);
  std::vector<std::string> merged;
  for (int k = 0; k < 3; ++k) {
    std::vector<std::string> argv = Measure(
        {"--n", "12", "--meter", "none", "--seed", "11", "--shard", std::to_string(k) + "/3"});
    const std::string shard_db = dir_ + "/shard" + std::to_string(k) + ".sqlite";
    argv[2] = shard_db;  // Measure() puts --db first
    const auto r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(QueryInt(shard_db, "SELECT target_n FROM runs"), 4);
    EXPECT_EQ(QueryInt(shard_db, "SELECT COUNT(*) FROM samples WHERE sample_index % 3 <> " +
                                     std::to_string(k)),
              0);
    EXPECT_EQ(QueryText(shard_db, "SELECT value FROM run_options WHERE name = 'shard'"),
              std::to_string(k) + "/3");
    for (const std::string& c : IndexedConfigs(shard_db)) merged.push_back(c);
  }
  std::sort(merged.begin(), merged.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(merged, expected);

  // measure --merge: one database with the three shards' runs equals the unsharded run's
  // configs, and a second merge of the same shards adds nothing (runs are kept by uuid).
  const std::string out = dir_ + "/merged.sqlite";
  std::vector<std::string> merge = {Bin("measure"), "--merge", out};
  for (int k = 0; k < 3; ++k) merge.push_back(dir_ + "/shard" + std::to_string(k) + ".sqlite");
  const auto m = RunCommand(merge);
  ASSERT_EQ(m.exit_code, 0) << m.output;
  EXPECT_NE(m.output.find("shard2.sqlite: 1 runs added (0 already there)"), std::string::npos)
      << m.output;
  std::vector<std::string> from_merge = IndexedConfigs(out);
  std::sort(from_merge.begin(), from_merge.end());
  EXPECT_EQ(from_merge, expected);
  EXPECT_EQ(QueryInt(out, "SELECT COUNT(*) FROM runs"), 3);
  EXPECT_EQ(QueryInt(out, "SELECT COUNT(*) FROM hosts"), 1);
  EXPECT_EQ(QueryInt(out, "SELECT COUNT(DISTINCT value) FROM run_options WHERE name = 'shard'"), 3);
  const auto again = RunCommand(merge);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("shard0.sqlite: 0 runs added (1 already there)"), std::string::npos)
      << again.output;
  EXPECT_EQ(QueryInt(out, "SELECT COUNT(*) FROM samples"), 24);

  // fit sees the same rows in the merged file as in the three shards given with --db each.
  auto features = [&](const std::vector<std::string>& dbs) {
    std::vector<std::string> argv = {Bin("fit")};
    for (const std::string& db : dbs) {
      argv.push_back("--db");
      argv.push_back(db);
    }
    // --max-spread 0: keep the noisy samples of these 0.02 s trials too.
    for (const char* a : {"--max-spread", "0", "--export-features"}) argv.push_back(a);
    argv.push_back(dir_ + "/features.json");
    const auto r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<std::string> rows;
    const nlohmann::json exported = nlohmann::json::parse(ReadText(dir_ + "/features.json"));
    for (const auto& row : exported.at("features")) {
      rows.push_back(row.dump());
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  };
  const std::vector<std::string> merged_rows = features({out});
  EXPECT_GE(merged_rows.size(), 12u);  // one entry per config at least
  EXPECT_EQ(merged_rows,
            features({dir_ + "/shard0.sqlite", dir_ + "/shard1.sqlite", dir_ + "/shard2.sqlite"}));
}

// fit reads a database while measure is writing it (WAL: readers see the last commit and do
// not block the writer), twice, and the writer goes on storing in between (issue 14 § 6).
TEST_F(MeasureCli, FitReadsADatabaseThatMeasureIsWriting) {
  const pid_t writer =
      Spawn(Measure({"--n", "100000", "--meter", "none", "--seed", "5"}), dir_ + "/writer.log");
  WaitForConfigs(3);
  auto export_rows = [&](const std::string& name) {
    const std::string path = dir_ + "/" + name;
    const auto r =
        RunCommand({Bin("fit"), "--db", db_, "--max-spread", "0", "--export-features", path});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(ReadText(path)).at("features").size();
  };
  const size_t first = export_rows("first.json");
  EXPECT_GE(first, 3u);
  WaitForConfigs(static_cast<long long>(first) + 3);
  const size_t second = export_rows("second.json");
  EXPECT_GT(second, first);
  // A fit of what is there so far, while the writer goes on.
  const auto fit = RunCommand({Bin("fit"), "--db", db_, "--max-spread", "0", "--test-fraction", "0",
                               "--out", dir_ + "/models.json"});
  EXPECT_EQ(kill(writer, 0), 0) << "the writer stopped while fit read";
  kill(writer, SIGTERM);
  EXPECT_EQ(WaitFor(writer, 30), 128 + SIGTERM);  // measure's exit after a clean stop
  EXPECT_EQ(fit.exit_code, 0) << fit.output;
  EXPECT_TRUE(Exists(dir_ + "/models.json"));
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "interrupted");
}

// --merge refuses, before writing anything, an input of another schema version, the output
// given as an input, and what is not a layerjoule database.
TEST_F(MeasureCli, MergeRefusesMismatchedInputsAndWritesNothing) {
  const auto whole = RunCommand(Measure({"--n", "2", "--meter", "none"}));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const std::string old_db = dir_ + "/v3.sqlite";
  ASSERT_EQ(RunCommand({"/bin/sh", "-c",
                        "cp '" + db_ + "' '" + old_db + "' && sqlite3 '" + old_db +
                            "' \"UPDATE meta SET value = '3' WHERE key = "
                            "'schema_version'\""})
                .exit_code,
            0);
  const std::string out = dir_ + "/out.sqlite";
  auto r = RunCommand({Bin("measure"), "--merge", out, db_, old_db});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("v3.sqlite: schema version 3, but the output has"), std::string::npos)
      << r.output;
  EXPECT_FALSE(Exists(out));
  r = RunCommand({Bin("measure"), "--merge", db_, db_});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("is the output file"), std::string::npos) << r.output;
  const std::string text = dir_ + "/notes.txt";
  ASSERT_EQ(RunCommand({"/bin/sh", "-c", "echo hello > '" + text + "'"}).exit_code, 0);
  r = RunCommand({Bin("measure"), "--merge", out, text});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(Exists(out));
  r = RunCommand({Bin("measure"), "--merge", out});
  EXPECT_NE(r.exit_code, 0) << r.output;  // CLI11: --merge needs OUT and at least one IN
  r = RunCommand({Bin("measure"), "--merge", out, db_, "--layer", "conv"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--merge takes no --layer"), std::string::npos) << r.output;
  EXPECT_FALSE(Exists(out));
}

TEST_F(MeasureCli, AShardWithNothingToMeasureIsRefusedAndAResumeKeepsItsShard) {
  const auto empty = RunCommand(Measure({"--n", "4", "--meter", "none", "--shard", "5/6"}));
  EXPECT_EQ(empty.exit_code, 1) << empty.output;
  EXPECT_NE(empty.output.find("--shard 5/6 of 4 configs leaves this shard nothing to measure"),
            std::string::npos)
      << empty.output;
  EXPECT_FALSE(Exists(db_));
  StartAndKill({"--n", "40", "--meter", "none", "--shard", "1/2"});
  const auto other = Resume({"--shard", "0/2"});
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("is shard 1/2, this process asks for --shard 0/2"), std::string::npos)
      << other.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE sample_index % 2 <> 1"), 0);
  // Resumed without --shard, it goes on with its own shard to its own target: 20 odd indices.
  const auto resumed = Resume();
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(DISTINCT sample_index) FROM samples"), 20);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM samples WHERE sample_index % 2 <> 1"), 0);
  EXPECT_EQ(QueryInt(db_, "SELECT MAX(sample_index) FROM samples"), 39);
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "finished");
  // --continue and --shard belong to layer runs.
  const auto net = RunCommand({Bin("measure"), "--db", dir_ + "/net.sqlite", "--net",
                               Source("configs/nets/lenet5.json"), "--iterations", "1",
                               "--continue", "--lock-file", dir_ + "/lock"});
  EXPECT_EQ(net.exit_code, 1) << net.output;
  EXPECT_NE(net.output.find("--continue works with --layer and --sweep runs, not with --net"),
            std::string::npos)
      << net.output;
  EXPECT_FALSE(Exists(dir_ + "/net.sqlite"));
}

// --continue (issue 14) is what a service that restarts measure needs: killed (a crash, an
// OOM kill, a reboot) and started again the way Restart=on-failure does, it ends with one run
// holding the uninterrupted run's configs; a start after the end returns at once.
TEST_F(MeasureCli, ContinueResumesItsCampaignAfterKillsAndReturnsAtOnceWhenFinished) {
  std::vector<std::string> campaign = {"--n", "8", "--meter", "none", "--seed", "21", "--continue"};
  StartAndKill(campaign);
  const pid_t second = Spawn(Measure(campaign), dir_ + "/second.log");
  WaitForConfigs(4);
  kill(second, SIGKILL);
  WaitFor(second, 10);
  const auto r = RunCommand(Measure(campaign));  // the third start finishes the run
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_EQ(QueryText(db_, "SELECT status FROM runs"), "finished");
  std::vector<std::string> uninterrupted = Measure({"--n", "8", "--meter", "none", "--seed", "21"});
  uninterrupted[2] = dir_ + "/whole.sqlite";
  ASSERT_EQ(RunCommand(uninterrupted).exit_code, 0);
  EXPECT_EQ(IndexedConfigs(db_), IndexedConfigs(dir_ + "/whole.sqlite"));

  const auto again = RunCommand(Measure(campaign));
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("of this campaign in " + db_ + " finished already"),
            std::string::npos)
      << again.output;
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM runs"), 1);
  campaign[5] = "22";  // another seed is another campaign
  ASSERT_EQ(RunCommand(Measure(campaign)).exit_code, 0);
  EXPECT_EQ(QueryInt(db_, "SELECT COUNT(*) FROM runs"), 2);
  // A failed run of the campaign is not restarted: the restarts would hide why it failed.
  ASSERT_EQ(
      RunCommand({"/usr/bin/sqlite3", db_, "UPDATE runs SET status = 'failed' WHERE seed = 22"})
          .exit_code,
      0);
  const auto failed = RunCommand(Measure(campaign));
  EXPECT_EQ(failed.exit_code, 1) << failed.output;
  EXPECT_NE(failed.output.find("of this campaign in " + db_ + " failed"), std::string::npos)
      << failed.output;
}

// The shipped unit template (tools/systemd/) passes systemd's own check, pointed at this build.
TEST(MeasureService, TheUnitTemplateVerifies) {
  std::string analyze;
  for (const char* p : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"}) {
    struct stat st {};
    if (stat(p, &st) == 0) analyze = p;
  }
  if (analyze.empty()) {
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd): the unit file "
                    "is not checked";
  }
  const std::string dir = ScratchDir();
  std::string unit = ReadText(Source("tools/systemd/layerjoule-measure@.service"));
  const std::string bin = std::filesystem::canonical(Bin("measure")).string();
  const auto replace = [&unit](const std::string& from, const std::string& to) {
    for (size_t at = unit.find(from); at != std::string::npos;
         at = unit.find(from, at + to.size())) {
      unit.replace(at, from.size(), to);
    }
  };
  replace("/opt/layerjoule/build/bin/measure", bin);
  replace("/opt/layerjoule", std::filesystem::canonical(Source("tools")).parent_path().string());
  replace("/etc/layerjoule/%i.env", dir + "/%i.env");
  const std::string env = ReadText(Source("tools/systemd/campaign.env.example"));
  EXPECT_NE(env.find("LJ_DB="), std::string::npos);
  EXPECT_NE(env.find("LJ_MEASURE_ARGS="), std::string::npos);
  EXPECT_NE(unit.find("--continue --db ${LJ_DB} $LJ_MEASURE_ARGS"), std::string::npos);
  WriteText(dir + "/test.env", env);
  WriteText(dir + "/layerjoule-measure@test.service", unit);
  const auto r = RunCommand({analyze, "verify", dir + "/layerjoule-measure@test.service"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "") << "systemd-analyze verify warned";
}

}  // namespace
}  // namespace lj::test

namespace lj::test {

// A flag value that must be refused before anything is written (issue 11): non-finite or huge
// times, thread counts <= 0, a negative seed, octal-looking counts.
struct BadFlag {
  const char* name;
  const char* flag;
  const char* value;
};

class MeasureBadFlags : public MeasureCli, public ::testing::WithParamInterface<BadFlag> {};

TEST_P(MeasureBadFlags, FailsNamingFlagAndValueAndWritesNothing) {
  // Measure()'s own value of the flag (if any) is replaced: the flag appears once.
  std::vector<std::string> argv = Measure({"--n", "2", "--meter", "none"});
  for (size_t i = 1; i + 1 < argv.size(); ++i) {
    if (argv[i] == GetParam().flag) {
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i),
                 argv.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      break;
    }
  }
  argv.push_back(GetParam().flag);
  argv.push_back(GetParam().value);
  const auto r = RunCommand(argv);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(GetParam().flag), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(std::string("'") + GetParam().value + "'"), std::string::npos)
      << r.output;
  EXPECT_FALSE(Exists(db_));
  EXPECT_FALSE(Exists(dir_ + "/lock"));
}

INSTANTIATE_TEST_SUITE_P(
    BadFlags, MeasureBadFlags,
    ::testing::Values(
        BadFlag{"MinTimeNan", "--min-time", "nan"}, BadFlag{"MinTimeInf", "--min-time", "inf"},
        BadFlag{"MinTimeHuge", "--min-time", "1e300"}, BadFlag{"MinTimeZero", "--min-time", "0"},
        BadFlag{"MinTimeNegative", "--min-time", "-0.5"}, BadFlag{"ThreadsZero", "--threads", "0"},
        BadFlag{"ThreadsNegative", "--threads", "-2"},
        BadFlag{"ThreadsHuge", "--threads", "100000"}, BadFlag{"SeedNegative", "--seed", "-1"},
        BadFlag{"NOctal", "--n", "010"}, BadFlag{"NExponent", "--n", "1e3"},
        BadFlag{"TrialsZero", "--trials", "0"}, BadFlag{"IdleInf", "--idle", "inf"},
        BadFlag{"MaxMemoryNan", "--max-memory", "nan"},
        BadFlag{"MaxContentionAboveOne", "--max-contention", "1.5"},
        BadFlag{"ProbeEveryNegative", "--probe-every", "-1"},
        BadFlag{"ProbeEveryNan", "--probe-every", "nan"},
        BadFlag{"MaxContentionNegative", "--max-contention", "-0.1"},
        BadFlag{"ShardKNotBelowN", "--shard", "3/3"}, BadFlag{"ShardNoCount", "--shard", "1"},
        BadFlag{"ShardWords", "--shard", "a/b"}, BadFlag{"ShardNegative", "--shard", "-1/2"},
        BadFlag{"ShardOctal", "--shard", "01/2"}, BadFlag{"ShardZeroCount", "--shard", "0/0"}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace lj::test
