// MeasureSession (measure/session.h): what the random, sweep and network paths share.
#include "measure/session.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "tests/support/test_files.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

SessionOptions TimeOnly(const test::TempDir& dir) {
  SessionOptions o;
  o.db_path = dir.File("sub/m.sqlite");
  o.lock_path = dir.File("measure.lock");
  o.command_line = "measure --layer relu --n 3";
  o.meter = MeterChoice::kNone;
  o.seed = 77;
  o.threads = 1;
  o.idle_s = 2;
  return o;
}

TEST(MeasureSessionTest, OpensTheDatabaseOnlyWhenARunNeedsItAndFillsTheRun) {
  test::TempDir dir;
  SessionOptions o = TimeOnly(dir);
  std::vector<int64_t> announced;
  o.on_run = [&](int64_t id) { announced.push_back(id); };
  MeasureSession session(o);
  EXPECT_FALSE(fs::exists(o.db_path));  // a path that fails before writing leaves no file
  EXPECT_EQ(session.meter(), nullptr);
  EXPECT_EQ(session.meter_name(), "none");
  EXPECT_EQ(session.threads(), 1);
  EXPECT_EQ(session.host().threads_used, 1);
  EXPECT_NE(session.host().torch_version, "");

  const RunInfo run = session.NewRun(RunKind::kSweep);
  EXPECT_TRUE(fs::exists(o.db_path));
  EXPECT_EQ(run.kind, "sweep");
  EXPECT_EQ(run.seed, 77u);
  EXPECT_EQ(run.command_line, o.command_line);
  EXPECT_EQ(run.meter, "none");
  const std::optional<HostInfo> host = session.store().GetHost(run.host_id);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->hostname, session.host().hostname);
  EXPECT_EQ(session.NewRun(RunKind::kNetwork).host_id, run.host_id);  // one host row

  const int64_t id = session.CreateRun(run);
  EXPECT_EQ(announced, std::vector<int64_t>{id});
  EXPECT_EQ(session.store().GetRun(id)->status, "running");
  session.Announce(id);
  EXPECT_EQ(announced.size(), 2u);
  // Without a meter, idle power is absent, not zero, and nothing is stored.
  EXPECT_EQ(session.MeasureIdlePower(id, nullptr), std::nullopt);
  EXPECT_TRUE(session.store().ReadIdle(id).empty());
}

TEST(MeasureSessionTest, ASecondSessionOnTheSameLockIsRefused) {
  test::TempDir dir;
  const SessionOptions o = TimeOnly(dir);
  MeasureSession first(o);
  EXPECT_THROW(MeasureSession second(o), std::runtime_error);
}

TEST(MeasureSessionTest, ThreadsAndMeterCanBeOverriddenForAResume) {
  test::TempDir dir;
  SessionOptions o = TimeOnly(dir);
  o.threads = 1;
  o.meter = MeterChoice::kRapl;  // would throw MeterError here: no RAPL in a test
  MeasureSession session(o, MeterChoice::kNone, 3);
  EXPECT_EQ(session.threads(), 3);
  EXPECT_EQ(session.meter_name(), "none");
}

}  // namespace
}  // namespace lj
