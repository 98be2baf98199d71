// Measurement conditions per sample (issue 14 § 3): the contention share subtracts our own CPU
// time, a short window is not judged, package sensors are found in hwmon or thermal zones, and
// MeasurePass measures a contended pass again and flags it.
#include "measure/sample_conditions.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/errors.h"
#include "measure/pass_measurement.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

void Write(const std::string& path, const std::string& text) {
  test::WriteCreatingDirs(path, text);
}

CpuTimeSnapshot Snapshot(double busy_s, double total_s, double own_s) {
  CpuTimeSnapshot s;
  s.busy_s = busy_s;
  s.total_s = total_s;
  s.own_s = own_s;
  s.valid = true;
  return s;
}

TEST(SampleConditionsTest, ContentionIsOtherProcessesShareOfAllCoresTime) {
  // 4 s of busy time in a 10 s window of all cores, 2 s of it ours: 20 % is other work.
  EXPECT_DOUBLE_EQ(*ContentionShare(Snapshot(10, 100, 5), Snapshot(14, 110, 7)), 0.2);
  // Our own time alone is no contention; rounding of ticks never goes below 0 or above 1.
  EXPECT_DOUBLE_EQ(*ContentionShare(Snapshot(10, 100, 5), Snapshot(12, 110, 7.1)), 0.0);
  EXPECT_DOUBLE_EQ(*ContentionShare(Snapshot(0, 0, 0), Snapshot(20, 10, 0)), 1.0);
  // 0.1 s of all cores' time is 10 ticks: too short to resolve.
  EXPECT_FALSE(ContentionShare(Snapshot(0, 0, 0), Snapshot(0.1, 0.1, 0)).has_value());
  CpuTimeSnapshot invalid;
  EXPECT_FALSE(ContentionShare(invalid, Snapshot(14, 110, 7)).has_value());
}

TEST(SampleConditionsTest, ReadsProcStatInTicksAndSaysWhenItCannot) {
  test::TempDir dir;
  Write(dir.File("stat"), "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n");
  ConditionSources sources;
  sources.proc = dir.path();
  const CpuTimeSnapshot s = ReadCpuTimes(sources);
  ASSERT_TRUE(s.valid);
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(s.busy_s, 150 / hz);
  EXPECT_DOUBLE_EQ(s.total_s, 1000 / hz);
  EXPECT_GT(s.own_s, 0);  // this test process has run
  sources.proc = dir.File("missing");
  EXPECT_FALSE(ReadCpuTimes(sources).valid);
  Write(dir.File("bad/stat"), "intr 1 2 3\n");
  sources.proc = dir.File("bad");
  EXPECT_FALSE(ReadCpuTimes(sources).valid);
}

TEST(SampleConditionsTest, AnotherProcessSpinningIsContention) {
  const CpuTimeSnapshot before = ReadCpuTimes();
  ASSERT_TRUE(before.valid);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // spin one core for 0.6 s
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
    volatile unsigned spin = 0;
    while (std::chrono::steady_clock::now() < end) spin = spin + 1;
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  int status = 0;
  waitpid(child, &status, 0);
  const std::optional<double> share = ContentionShare(before, ReadCpuTimes());
  ASSERT_TRUE(share.has_value());
  // One core of the host's for most of the window; other tests running beside only add.
  const double cores = static_cast<double>(std::thread::hardware_concurrency());
  EXPECT_GE(*share, 0.6 / cores);
}

TEST(SampleConditionsTest, PackageSensorsComeFromHwmonThenThermalZones) {
  test::TempDir dir;
  ConditionSources sources;
  sources.sys_class = dir.path();
  EXPECT_FALSE(PackageTemperatureC(sources).has_value());  // a KVM guest: nothing
  Write(dir.File("thermal/thermal_zone0/type"), "x86_pkg_temp\n");
  Write(dir.File("thermal/thermal_zone0/temp"), "48000\n");
  Write(dir.File("thermal/thermal_zone1/type"), "acpitz\n");
  Write(dir.File("thermal/thermal_zone1/temp"), "99000\n");
  EXPECT_DOUBLE_EQ(*PackageTemperatureC(sources), 48.0);
  Write(dir.File("hwmon/hwmon0/name"), "acpitz\n");
  Write(dir.File("hwmon/hwmon0/temp1_input"), "90000\n");
  Write(dir.File("hwmon/hwmon1/name"), "coretemp\n");
  Write(dir.File("hwmon/hwmon1/temp1_label"), "Package id 0\n");
  Write(dir.File("hwmon/hwmon1/temp1_input"), "55000\n");
  Write(dir.File("hwmon/hwmon1/temp2_label"), "Core 0\n");
  Write(dir.File("hwmon/hwmon1/temp2_input"), "70000\n");
  Write(dir.File("hwmon/hwmon2/name"), "coretemp\n");
  Write(dir.File("hwmon/hwmon2/temp1_label"), "Package id 1\n");
  Write(dir.File("hwmon/hwmon2/temp1_input"), "61500\n");
  EXPECT_DOUBLE_EQ(*PackageTemperatureC(sources), 61.5);  // the hotter package, not a core
  Write(dir.File("hwmon/hwmon2/temp1_input"), "garbage\n");
  EXPECT_DOUBLE_EQ(*PackageTemperatureC(sources), 55.0);
}

// A fake /proc/stat that each execution of the pass advances by 10 ticks, busy or idle: the
// pass is contended (busy ticks that are not ours) or not.
class FakeLoad {
 public:
  explicit FakeLoad(bool busy) : busy_(busy) { Advance(); }
  void Advance() {
    ticks_ += 10;
    const long long busy = busy_ ? ticks_ : 0, idle = busy_ ? 0 : ticks_;
    Write(dir_.File("stat"),
          "cpu  " + std::to_string(busy) + " 0 0 " + std::to_string(idle) + " 0 0 0 0 0 0\n");
  }
  ConditionSources Sources() const {
    ConditionSources s;
    s.proc = dir_.path();
    s.sys_class = dir_.File("none");
    return s;
  }

 private:
  test::TempDir dir_;
  bool busy_;
  long long ticks_ = 0;
};

TEST(SampleConditionsTest, AContendedPassIsMeasuredAgainAndFlagged) {
  MeasureOptions options;
  options.min_time_s = 0.002;
  options.trials = 3;
  options.max_contention = 0.10;
  options.contention_retries = 2;
  FakeLoad busy(true);
  options.conditions = busy.Sources();
  const PassResult contended = MeasurePass(
      Pass::kForward, [&busy] { busy.Advance(); }, options, nullptr);
  ASSERT_TRUE(contended.contention_share.has_value());
  EXPECT_GT(*contended.contention_share, 0.5);
  EXPECT_TRUE(contended.contended);
  EXPECT_EQ(contended.attempts, 3);
  EXPECT_FALSE(contended.temperature_start_c.has_value());

  FakeLoad idle(false);
  options.conditions = idle.Sources();
  const PassResult quiet = MeasurePass(
      Pass::kForward, [&idle] { idle.Advance(); }, options, nullptr);
  ASSERT_TRUE(quiet.contention_share.has_value());
  EXPECT_DOUBLE_EQ(*quiet.contention_share, 0.0);
  EXPECT_FALSE(quiet.contended);
  EXPECT_EQ(quiet.attempts, 1);

  options.max_contention = 1.5;
  EXPECT_THROW(Validate(options), ConfigError);
}

}  // namespace
}  // namespace lj
