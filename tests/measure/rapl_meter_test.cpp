// The RAPL meter against an emulated powercap tree. Each RaplMeterEmulated test re-runs this
// binary under fake_powercap (tests/support) with LJ_RAPL_METER_TEST_INNER=1 and one inner test
// selected; the inner tests exist only in that run (registered below) and check the meter
// against the emulated powers. Where the emulator cannot run (not root, no mount namespaces)
// the outer test is skipped with the emulator's reason.
#include "measure/rapl_meter.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "measure/wraparound.h"
#include "tests/support/fake_powercap_client.h"

namespace lj {
namespace {

using lj::testing::FakeSnapshot;
using lj::testing::ReadConsistent;

constexpr const char* kInnerEnv = "LJ_RAPL_METER_TEST_INNER";
constexpr uint64_t kDefaultRangeUj = 262143328850;  // fake_powercap's default

bool IsDir(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string ThrownMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const MeterError& e) {
    return e.what();
  }
  return "<no MeterError thrown>";
}

// ---------------------------------------------------------------------------------------------
// Outer side: run one inner test under the emulator and assert it passed.

void RunInner(const std::vector<std::string>& emulator_args, const std::string& inner_test) {
  const lj::testing::CommandResult r = lj::testing::RunSelfUnderFakePowercap(
      emulator_args, "RaplMeterInner." + inner_test, kInnerEnv);
  if (r.exit_code == lj::testing::kFakePowercapCannotEmulate) {
    GTEST_SKIP() << r.output;
  }
  ASSERT_EQ(r.exit_code, 0) << "inner run failed:\n" << r.output;
  // The filter must have selected exactly one test (guards against a renamed inner test).
  EXPECT_TRUE(Contains(r.output, "[  PASSED  ] 1 test.")) << r.output;
}

TEST(RaplMeterEmulated, TwoSocketsWithDram) {
  RunInner({"--sockets", "2", "--package-w", "40,25", "--dram-w", "3,2"}, "TwoSocketsWithDram");
}
TEST(RaplMeterEmulated, PsysKeptApart) {
  RunInner({"--sockets", "1", "--package-w", "30", "--psys-w", "80"}, "PsysKeptApart");
}
TEST(RaplMeterEmulated, WrapDuringWindow) {
  RunInner(
      {"--sockets", "1", "--package-w", "40", "--max-range-uj", "99999999", "--wrap-after-s", "1"},
      "WrapDuringWindow");
}
TEST(RaplMeterEmulated, StuckCounters) { RunInner({"--sockets", "2", "--stuck"}, "StuckCounters"); }
TEST(RaplMeterEmulated, EnergyUjRootOnly) { RunInner({"--sockets", "1"}, "EnergyUjRootOnly"); }
TEST(RaplMeterEmulated, HexZoneIds) {
  RunInner({"--sockets", "12", "--package-w", "1"}, "HexZoneIds");
}
TEST(RaplMeterEmulated, NoZones) { RunInner({"--sockets", "0"}, "NoZones"); }
TEST(RaplMeterEmulated, PsysOnly) { RunInner({"--sockets", "0", "--psys-w", "10"}, "PsysOnly"); }

// On this machine without emulation: no RAPL, and the error says where it looked and what to do.
TEST(RaplMeterTest, NoRaplNamesPathAndFix) {
  if (IsDir(kRaplControlTypePath)) {
    GTEST_SKIP() << "this machine has RAPL (" << kRaplControlTypePath << " exists)";
  }
  const std::string what = ThrownMessage([] { OpenRaplMeter(); });
  EXPECT_TRUE(Contains(what,
                       "no RAPL energy counters: /sys/class/powercap/intel-rapl does not "
                       "exist"))
      << what;
  EXPECT_TRUE(Contains(what, "modprobe intel_rapl_msr")) << what;
  EXPECT_TRUE(Contains(what, "Linux >= 5.8")) << what;
}

// The emulator itself: exit status, the tree it builds, and what stays visible.
TEST(FakePowercapTest, BuildsTreeAndPropagatesExitStatus) {
  const std::string script =
      "test -d /sys/class/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:1 || exit 10; "
      "test \"$(cat /sys/class/powercap/intel-rapl:0/name)\" = package-0 || exit 11; "
      "test \"$(cat /sys/class/powercap/intel-rapl:0:0/name)\" = core || exit 12; "
      "test \"$(cat /sys/class/powercap/intel-rapl:1:1/name)\" = dram || exit 13; "
      "test \"$(stat -c %a /sys/class/powercap/intel-rapl:0/energy_uj)\" = 400 || exit 14; "
      "test \"$(cat /sys/class/powercap/intel-rapl:0/max_energy_range_uj)\" = 5000 || exit 15; "
      "test -n \"$LJ_FAKE_POWERCAP\" || exit 16; "
      "test -d /sys/class/net || exit 17; "
      "exit 3";
  const lj::testing::CommandResult r =
      lj::testing::RunCommand({lj::testing::FakePowercapPath(), "--dram-w", "1", "--max-range-uj",
                               "5000", "--", "sh", "-c", script});
  if (r.exit_code == lj::testing::kFakePowercapCannotEmulate) GTEST_SKIP() << r.output;
  EXPECT_EQ(r.exit_code, 3) << r.output;
}

TEST(FakePowercapTest, UsageErrorsExitWith2) {
  const std::string fake = lj::testing::FakePowercapPath();
  EXPECT_EQ(lj::testing::RunCommand({fake, "--sockets", "2"}).exit_code, 2);  // no command
  const lj::testing::CommandResult r =
      lj::testing::RunCommand({fake, "--package-w", "1,2,3", "--", "true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.output, "--package-w has 3 values for 2 sockets")) << r.output;
}

// ---------------------------------------------------------------------------------------------
// Inner side: runs inside fake_powercap.

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Energy of one emulated zone between two snapshots, exactly as the emulator accounts it:
// floor(P * t) at each end, so the meter must agree to within 1 uJ (plus double rounding).
void ExpectExactEnergy(double measured_j, double power_w, const FakeSnapshot& a,
                       const FakeSnapshot& b, const std::string& what) {
  const double dt_ns = static_cast<double>(b.elapsed_ns - a.elapsed_ns);
  const double expected_uj = power_w * dt_ns * 1e-3;
  EXPECT_NEAR(measured_j * 1e6, expected_uj, 2.0) << what;
}

void ExpectPowerWithin2Percent(double measured_j, double seconds, double power_w,
                               const std::string& what) {
  EXPECT_NEAR(measured_j / seconds, power_w, 0.02 * power_w)
      << what << ": " << measured_j << " J in " << seconds << " s";
}

void InnerTwoSocketsWithDram() {
  const std::unique_ptr<EnergyMeter> meter = OpenRaplMeter();
  EXPECT_EQ(meter->Name(), "rapl");
  const std::vector<RaplZone>& zones = meter->Zones();
  ASSERT_EQ(zones.size(), 4u) << "package-0, package-1, dram, dram; core must not be read";
  const struct {
    const char* name;
    RaplDomain domain;
    int socket;
    const char* path;
  } expected[] = {
      {"package-0", RaplDomain::kPackage, 0, "/sys/class/powercap/intel-rapl:0"},
      {"package-1", RaplDomain::kPackage, 1, "/sys/class/powercap/intel-rapl:1"},
      {"dram", RaplDomain::kDram, 0, "/sys/class/powercap/intel-rapl:0:1"},
      {"dram", RaplDomain::kDram, 1, "/sys/class/powercap/intel-rapl:1:1"},
  };
  for (size_t i = 0; i < zones.size(); ++i) {
    EXPECT_EQ(zones[i].name, expected[i].name) << "zone " << i;
    EXPECT_EQ(zones[i].domain, expected[i].domain) << "zone " << i;
    EXPECT_EQ(zones[i].socket, expected[i].socket) << "zone " << i;
    EXPECT_EQ(zones[i].path, expected[i].path) << "zone " << i;
    EXPECT_EQ(zones[i].max_energy_range_uj, kDefaultRangeUj) << "zone " << i;
  }

  const auto t0 = std::chrono::steady_clock::now();
  const FakeSnapshot a = ReadConsistent(*meter);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const FakeSnapshot b = ReadConsistent(*meter);
  const double seconds = SecondsSince(t0);
  const EnergyDelta d = meter->Between(a.counters, b.counters);

  ASSERT_EQ(d.package_by_socket_j.size(), 2u);
  ExpectPowerWithin2Percent(d.package_by_socket_j[0], seconds, 40, "package-0");
  ExpectPowerWithin2Percent(d.package_by_socket_j[1], seconds, 25, "package-1");
  ExpectPowerWithin2Percent(d.package_j, seconds, 65, "package, both sockets");
  ASSERT_TRUE(d.dram_j.has_value());
  ExpectPowerWithin2Percent(*d.dram_j, seconds, 5, "dram, both sockets");
  EXPECT_FALSE(d.psys_j.has_value());

  ExpectExactEnergy(d.package_by_socket_j[0], 40, a, b, "package-0");
  ExpectExactEnergy(d.package_by_socket_j[1], 25, a, b, "package-1");
  ExpectExactEnergy(*d.dram_j, 5, a, b, "dram");
  EXPECT_DOUBLE_EQ(d.package_j, d.package_by_socket_j[0] + d.package_by_socket_j[1]);

  EXPECT_NO_THROW(CheckCountersAdvance(*meter, 0.05));
}

void InnerPsysKeptApart() {
  const std::unique_ptr<EnergyMeter> meter = OpenRaplMeter();
  const std::vector<RaplZone>& zones = meter->Zones();
  ASSERT_EQ(zones.size(), 2u);
  EXPECT_EQ(zones[0].name, "package-0");
  EXPECT_EQ(zones[1].name, "psys");
  EXPECT_EQ(zones[1].domain, RaplDomain::kPsys);
  EXPECT_EQ(zones[1].path, "/sys/class/powercap/intel-rapl:1");

  const auto t0 = std::chrono::steady_clock::now();
  const FakeSnapshot a = ReadConsistent(*meter);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const FakeSnapshot b = ReadConsistent(*meter);
  const double seconds = SecondsSince(t0);
  const EnergyDelta d = meter->Between(a.counters, b.counters);
  ExpectPowerWithin2Percent(d.package_j, seconds, 30, "package (psys not added)");
  ASSERT_TRUE(d.psys_j.has_value());
  ExpectPowerWithin2Percent(*d.psys_j, seconds, 80, "psys");
  ExpectExactEnergy(d.package_j, 30, a, b, "package");
  ExpectExactEnergy(*d.psys_j, 80, a, b, "psys");
  EXPECT_FALSE(d.dram_j.has_value());
}

void InnerWrapDuringWindow() {
  const std::unique_ptr<EnergyMeter> meter = OpenRaplMeter();
  ASSERT_EQ(meter->Zones().size(), 1u);
  const uint64_t max_uj = meter->Zones()[0].max_energy_range_uj;
  ASSERT_EQ(max_uj, 99999999u);
  // The counter starts 1 s (40 J) before its wraparound. Wait until it is within 0.25 s of it,
  // then measure 0.5 s across it.
  const auto wait_start = std::chrono::steady_clock::now();
  FakeSnapshot a = ReadConsistent(*meter);
  ASSERT_GT(a.counters.energy_uj[0], max_uj / 2) << "counter wrapped before the test started";
  while ((max_uj - a.counters.energy_uj[0]) / 40e6 > 0.25) {
    ASSERT_LT(SecondsSince(wait_start), 5.0) << "counter does not approach its wraparound";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    a = ReadConsistent(*meter);
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const FakeSnapshot b = ReadConsistent(*meter);
  const double seconds = SecondsSince(t0);
  ASSERT_LT(b.counters.energy_uj[0], a.counters.energy_uj[0]) << "no wraparound in the window";

  const EnergyDelta d = meter->Between(a.counters, b.counters);
  EXPECT_GT(d.package_j, 0.0);
  ExpectExactEnergy(d.package_j, 40, a, b, "package-0 across the wraparound");
  // The reader clock started after snapshot a: allow the poll interval on top of 2 %.
  EXPECT_NEAR(d.package_j / seconds, 40, 0.02 * 40 + 40 * 0.005 / seconds);
}

void InnerStuckCounters() {
  const std::unique_ptr<EnergyMeter> meter = OpenRaplMeter();
  const std::string what = ThrownMessage([&] { CheckCountersAdvance(*meter, 0.2); });
  EXPECT_TRUE(
      Contains(what, "RAPL counter package-0 did not advance in 0.2 s (some VMs expose zeros)"))
      << what;
}

// As an unprivileged user (nobody) the 0400 energy_uj files cannot be opened.
void InnerEnergyUjRootOnly() {
  ASSERT_EQ(geteuid(), 0u) << "fake_powercap runs as root, so must this test";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    const std::string what = ThrownMessage([] { OpenRaplMeter(); });
    if (write(fds[1], what.data(), what.size()) < 0) _exit(3);
    _exit(0);
  }
  close(fds[1]);
  std::string what;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) what.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_TRUE(Contains(what, "/sys/class/powercap/intel-rapl:0/energy_uj is not readable")) << what;
  EXPECT_TRUE(Contains(what, "CVE-2020-8694")) << what;
  EXPECT_TRUE(Contains(what, "run as root, or grant a group read access with a udev rule")) << what;
}

void InnerHexZoneIds() {
  const std::unique_ptr<EnergyMeter> meter = OpenRaplMeter();
  const std::vector<RaplZone>& zones = meter->Zones();
  ASSERT_EQ(zones.size(), 12u);
  for (int s = 0; s < 12; ++s) {
    EXPECT_EQ(zones[s].socket, s);
    EXPECT_EQ(zones[s].name, "package-" + std::to_string(s));
  }
  EXPECT_EQ(zones[10].path, "/sys/class/powercap/intel-rapl:a");
  EXPECT_EQ(zones[11].path, "/sys/class/powercap/intel-rapl:b");
}

void InnerNoZones() {
  const std::string what = ThrownMessage([] { OpenRaplMeter(); });
  EXPECT_TRUE(Contains(what, "/sys/class/powercap/intel-rapl exists but has no RAPL zones"))
      << what;
}

void InnerPsysOnly() {
  const std::string what = ThrownMessage([] { OpenRaplMeter(); });
  EXPECT_TRUE(Contains(what, "have no package zone (found: psys)")) << what;
}

class FunctionTest : public ::testing::Test {
 public:
  explicit FunctionTest(void (*body)()) : body_(body) {}
  void TestBody() override { body_(); }

 private:
  void (*body_)();
};

// Inner tests exist only in the run started by RunInner, so that ctest does not list them.
const bool kInnerRegistered = [] {
  if (std::getenv(kInnerEnv) == nullptr) return false;
  const std::pair<const char*, void (*)()> tests[] = {
      {"TwoSocketsWithDram", InnerTwoSocketsWithDram},
      {"PsysKeptApart", InnerPsysKeptApart},
      {"WrapDuringWindow", InnerWrapDuringWindow},
      {"StuckCounters", InnerStuckCounters},
      {"EnergyUjRootOnly", InnerEnergyUjRootOnly},
      {"HexZoneIds", InnerHexZoneIds},
      {"NoZones", InnerNoZones},
      {"PsysOnly", InnerPsysOnly},
  };
  for (const auto& [name, body] : tests) {
    ::testing::RegisterTest("RaplMeterInner", name, nullptr, nullptr, __FILE__, __LINE__,
                            [body = body]() -> ::testing::Test* { return new FunctionTest(body); });
  }
  return true;
}();

}  // namespace
}  // namespace lj
