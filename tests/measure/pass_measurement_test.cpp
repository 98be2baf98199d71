// Tests of the measurement protocol: calibration to min_time_s, trials, per-execution means,
// energy from a meter (a fake one drawing a known power), no energy without a meter, and a
// prompt stop.
#include "measure/pass_measurement.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/layer_config.h"

namespace lj {
namespace {

// The protocol's options; max_contention 1 never measures a pass again, so that these tests
// see the protocol alone while other tests share the cores (sample_conditions_test covers
// re-measurement).
MeasureOptions Protocol(double min_time_s, int trials, int warmup_runs) {
  MeasureOptions o;
  o.min_time_s = min_time_s;
  o.trials = trials;
  o.warmup_runs = warmup_runs;
  o.max_contention = 1;
  return o;
}

using Clock = std::chrono::steady_clock;

// Busy-waits for `seconds` (a sleep would let the scheduler stretch short waits).
void Spin(double seconds) {
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(seconds));
  while (Clock::now() < end) {
  }
}

// An execution that spins for `seconds` and counts itself in *executions.
std::function<void()> CountedSpin(double seconds, int* executions) {
  return [seconds, executions] {
    Spin(seconds);
    ++*executions;
  };
}

// Maps, touches and unmaps `pages` fresh pages: `pages` minor faults, as a tensor that glibc
// serves from fresh memory.
void TouchFreshPages(size_t pages) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = pages * page;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  madvise(p, bytes, MADV_NOHUGEPAGE);
  for (size_t offset = 0; offset < bytes; offset += page)
    static_cast<volatile char*>(p)[offset] = 1;
  munmap(p, bytes);
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A meter whose counters advance at constant powers, computed from steady_clock: package-0 at
// 20 W, package-1 at 10 W, dram at 3 W. Counters are in microjoules as RAPL's are.
class FakeMeter : public EnergyMeter {
 public:
  explicit FakeMeter(bool with_dram = true) : start_(Clock::now()) {
    zones_.push_back({"/fake/intel-rapl:0", "package-0", RaplDomain::kPackage, 0, kRangeUj});
    zones_.push_back({"/fake/intel-rapl:1", "package-1", RaplDomain::kPackage, 1, kRangeUj});
    if (with_dram) {
      zones_.push_back({"/fake/intel-rapl:0:0", "dram", RaplDomain::kDram, 0, kRangeUj});
    }
  }
  std::string Name() const override { return "rapl"; }
  const std::vector<RaplZone>& Zones() const override { return zones_; }
  EnergyCounters Read() override {
    ++reads;
    const double t = SecondsSince(start_);
    EnergyCounters c;
    const double power_w[] = {20.0, 10.0, 3.0};
    for (size_t i = 0; i < zones_.size(); ++i) {
      c.energy_uj.push_back(static_cast<uint64_t>(power_w[i] * t * 1e6));
    }
    return c;
  }
  int reads = 0;

 private:
  static constexpr uint64_t kRangeUj = 262143328850;  // a typical package range
  Clock::time_point start_;
  std::vector<RaplZone> zones_;
};

// A meter without zones, like the "none" meter.
class EmptyMeter : public EnergyMeter {
 public:
  std::string Name() const override { return "none"; }
  const std::vector<RaplZone>& Zones() const override { return zones_; }
  EnergyCounters Read() override { return {}; }

 private:
  std::vector<RaplZone> zones_;
};

class FailingMeter : public FakeMeter {
 public:
  EnergyCounters Read() override {
    throw MeterError("/fake/intel-rapl:0/energy_uj: read failed: Permission denied");
  }
};

LayerConfig SmallConv() {
  LayerConfig c;
  c.type = LayerType::kConv2d;
  c.batch_size = 2;
  c.in_channels = 8;
  c.out_channels = 8;
  c.height = 16;
  c.width = 16;
  c.kernel_size = 3;
  c.padding = 1;
  return c;
}

// A conv whose single execution takes a noticeable time (tens of ms) on a laptop core.
LayerConfig SlowConv() {
  LayerConfig c = SmallConv();
  c.batch_size = 8;
  c.in_channels = 64;
  c.out_channels = 64;
  c.height = 56;
  c.width = 56;
  return c;
}

void ExpectNoEnergy(const PassResult& r) {
  EXPECT_FALSE(r.energy_j.has_value());
  EXPECT_FALSE(r.energy_std_j.has_value());
  EXPECT_TRUE(r.energy_by_socket_j.empty());
  EXPECT_FALSE(r.dram_energy_j.has_value());
  EXPECT_FALSE(r.psys_energy_j.has_value());
}

TEST(PassMeasurementTest, ValidateRejectsBadOptions) {
  EXPECT_NO_THROW(Validate(MeasureOptions{}));
  EXPECT_THROW(Validate(Protocol(0.0, 3, 1)), ConfigError);
  EXPECT_THROW(Validate(Protocol(-1.0, 3, 1)), ConfigError);
  EXPECT_THROW(Validate(Protocol(NAN, 3, 1)), ConfigError);
  EXPECT_THROW(Validate(Protocol(0.1, 0, 1)), ConfigError);
  EXPECT_THROW(Validate(Protocol(0.1, 3, -1)), ConfigError);
  try {
    Validate(Protocol(0.1, 0, 1));
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("trials must be >= 1, got 0"), std::string::npos)
        << e.what();
  }
}

TEST(PassMeasurementTest, CalibratesRepetitionsToMinTimeAndMeasuresPerExecution) {
  const double execution_s = 0.002;
  int executions = 0;
  const MeasureOptions options = Protocol(0.1, 4, 2);
  const PassResult r = MeasurePass(
      Pass::kForward,
      [&] {
        Spin(execution_s);
        ++executions;
      },
      options, nullptr);
  EXPECT_EQ(r.pass, Pass::kForward);
  EXPECT_EQ(r.trials, 4);
  EXPECT_GE(r.repetitions, 20);
  // Per-execution mean: at least the spin; preemption on a loaded machine only adds, but a
  // per-trial instead of per-execution mean would be >= 20x.
  EXPECT_GE(r.time_s, execution_s);
  EXPECT_LT(r.time_s, 5 * execution_s);
  EXPECT_GE(r.time_std_s, 0.0);
  // One trial lasts >= 0.5 x min_time_s (kShortTrialShare in measure/pass_measurement.cpp: a
  // shorter one is measured again; the pilot alone lasts 0.1 x), and calibration does not
  // overshoot wildly. (This said 0.8, the share before 2026-12-04, and failed once at 0.7989 x
  // under load on 2026-12-07.)
  EXPECT_GE(static_cast<double>(r.repetitions) * r.time_s, options.min_time_s * 0.5);
  EXPECT_LT(static_cast<double>(r.repetitions) * r.time_s, options.min_time_s * 4);
  // Warm-up + pilot + trials: the trials alone are trials * repetitions executions, and the
  // pilot is about 0.1 x min_time_s of executions (a short trial would add a trial's worth).
  EXPECT_GE(executions, options.warmup_runs + options.trials * r.repetitions);
  ExpectNoEnergy(r);
}

// The pilot run estimates the repetitions; when the trials then run faster than the pilot (a
// short trial), that trial is discarded and n grows from its rate, so no stored trial is
// shorter than 0.8 x min_time_s. Here the warm-ups and the pilot take 3 ms per execution, later
// executions 1 ms: the pilot's n (37) gives a 37 ms trial, which is measured again with
// ~110 repetitions.
TEST(PassMeasurementTest, AShortTrialAfterThePilotGrowsTheRepetitions) {
  int executions = 0;
  const MeasureOptions options = Protocol(0.1, 4, 2);
  const PassResult r = MeasurePass(
      Pass::kForward,
      [&] {
        // 2 warm-ups and a pilot of ceil(0.01 / 0.02) = 1 at 20 ms: n = ceil(0.11 / 0.02) = 6,
        // a first trial of 6 ms against 0.5 x 100 ms (only a 44 ms preemption could pass it).
        Spin(++executions <= 3 ? 0.02 : 0.001);
      },
      options, nullptr);
  EXPECT_GE(r.repetitions, 30);  // ~110 from the short trial's rate; 6 without the restart
  EXPECT_GE(static_cast<double>(r.repetitions) * r.time_s, options.min_time_s * 0.5);
  EXPECT_LT(r.time_s, 0.01);
  // Outside the stored trials: the warm-ups, the pilot and the short trial (5-6 executions; a
  // run without the restart would have run exactly 3 + trials x n).
  EXPECT_GE(executions, 3 + 1 + options.trials * r.repetitions);
}

TEST(PassMeasurementTest, SlowExecutionIsRunOncePerTrial) {
  int executions = 0;
  const PassResult r =
      MeasurePass(Pass::kBackward, CountedSpin(0.03, &executions), Protocol(0.01, 3, 0), nullptr);
  EXPECT_EQ(r.pass, Pass::kBackward);
  EXPECT_EQ(r.repetitions, 1);
  EXPECT_EQ(r.trials, 3);
  EXPECT_GE(r.time_s, 0.03);
  // warmup_runs 0 still runs one probe execution; no calibration run is needed.
  EXPECT_EQ(executions, 1 + 3);
}

// A layer whose first execution already lasts min_time_s runs once per trial; a second warm-up
// execution would cost as much as a trial and is not run.
TEST(PassMeasurementTest, ALongFirstExecutionEndsTheWarmUp) {
  int executions = 0;
  const PassResult r =
      MeasurePass(Pass::kForward, CountedSpin(0.03, &executions), Protocol(0.01, 3, 2), nullptr);
  EXPECT_EQ(r.repetitions, 1);
  EXPECT_EQ(executions, 1 + 3);

  // A cold first execution that long (oneDNN primitive creation, first-touch faults) ends the
  // warm-up too, but the short trial that follows it makes n grow: the trials are not single
  // 1 ms executions measured against a 50 ms min_time_s.
  // (A 1 ms trial against 0.5 x 50 ms: only a 24 ms preemption could make it look long enough.)
  int cold_executions = 0;
  const PassResult cold = MeasurePass(
      Pass::kForward, [&] { Spin(++cold_executions == 1 ? 0.15 : 0.001); }, Protocol(0.05, 3, 2),
      nullptr);
  EXPECT_GE(cold.repetitions, 5);
  EXPECT_LT(cold.time_s, 0.01);
  EXPECT_GE(static_cast<double>(cold.repetitions) * cold.time_s, 0.5 * 0.05);
}

TEST(PassMeasurementTest, FakeMeterPowerIsRecovered) {
  FakeMeter meter;
  // 0.2 s trials: a preemption of a few ms between the two clock reads (below) stays within
  // the tolerance on 2 loaded cores (0.05 s trials failed 2 of 2 parallel suite runs).
  const MeasureOptions options = Protocol(0.2, 3, 1);
  const PassResult r = MeasurePass(
      Pass::kForward, [] { Spin(0.0005); }, options, &meter, nullptr, "fake");
  // Counters are read around trials only (a trial read in windows would read ~100 times): two
  // reads per trial, and one trial more for each restart after a short trial on a loaded host.
  EXPECT_EQ(meter.reads % 2, 0) << meter.reads;
  EXPECT_GE(meter.reads, 2 * options.trials);
  EXPECT_LE(meter.reads, 2 * (options.trials + 3));
  ASSERT_TRUE(r.energy_j.has_value());
  ASSERT_TRUE(r.energy_std_j.has_value());
  ASSERT_TRUE(r.dram_energy_j.has_value());
  EXPECT_FALSE(r.psys_energy_j.has_value());
  ASSERT_EQ(r.energy_by_socket_j.size(), 2u);
  // The fake meter and the protocol read two clocks one after the other, so a preemption
  // between them (2 loaded cores: a 5 ms gap is 2.5 % of a 200 ms trial) shifts the ratio; 10 %
  // still fails for any unit, zone or per-execution scaling error (factors of 2 and more).
  EXPECT_NEAR(*r.energy_j / r.time_s, 30.0, 30.0 * 0.10);
  EXPECT_NEAR(r.energy_by_socket_j[0] / r.time_s, 20.0, 20.0 * 0.10);
  EXPECT_NEAR(r.energy_by_socket_j[1] / r.time_s, 10.0, 10.0 * 0.10);
  EXPECT_NEAR(*r.dram_energy_j / r.time_s, 3.0, 3.0 * 0.10);
  EXPECT_NEAR(r.energy_by_socket_j[0] / r.energy_by_socket_j[1], 2.0, 1e-3);  // one clock read
  EXPECT_NEAR(r.energy_by_socket_j[0] + r.energy_by_socket_j[1], *r.energy_j, 1e-9 * *r.energy_j);
  // The fake power is constant, so the energy spread is the time spread (load on the 2 cores
  // makes both vary; an absolute bound on it failed under a loaded parallel suite).
  EXPECT_NEAR(*r.energy_std_j / *r.energy_j, r.time_std_s / r.time_s, 0.05);
}

// A FakeMeter whose counters read 200 kJ into their 262 kJ range, except at the given Read()
// calls (1-based), where they read as if just reset to 0 by a driver reload: from the read
// before, that looks like a wraparound of ~62 kJ.
class ResettingMeter : public FakeMeter {
 public:
  explicit ResettingMeter(std::vector<int> resets) : resets_(std::move(resets)) {}
  EnergyCounters Read() override {
    EnergyCounters c = FakeMeter::Read();
    const bool reset = std::find(resets_.begin(), resets_.end(), reads) != resets_.end();
    for (uint64_t& uj : c.energy_uj) uj += reset ? 0 : 200000000000;
    return c;
  }

 private:
  std::vector<int> resets_;
};

// A counter reset inside a trial is not stored as a 62 kJ wraparound: the trial is measured
// again (issue 11); resets far apart never end the pass, however many; a counter that resets in
// four attempts of one trial in a row ends it with CounterResetError.
TEST(PassMeasurementTest, ACounterResetRemeasuresTheTrial) {
  ResettingMeter meter({4});  // the second read of the second trial
  const MeasureOptions options = Protocol(0.05, 3, 0);
  const PassResult r = MeasurePass(
      Pass::kForward, [] { Spin(0.0005); }, options, &meter, nullptr, "reset");
  EXPECT_EQ(meter.reads, 2 * (options.trials + 1));  // one trial measured twice
  ASSERT_TRUE(r.energy_j.has_value());
  EXPECT_NEAR(*r.energy_j / r.time_s, 30.0, 30.0 * 0.15);  // not 62 kJ / trial

  // Five trials, each hit once by a reset (the second read of its first attempt): all measured.
  ResettingMeter spaced({2, 6, 10, 14, 18});
  const MeasureOptions five = Protocol(0.05, 5, 0);
  const PassResult spaced_r = MeasurePass(
      Pass::kForward, [] { Spin(0.0005); }, five, &spaced, nullptr, "spaced resets");
  EXPECT_EQ(spaced.reads, 2 * 2 * five.trials);
  ASSERT_TRUE(spaced_r.energy_j.has_value());
  EXPECT_NEAR(*spaced_r.energy_j / spaced_r.time_s, 30.0, 30.0 * 0.15);

  ResettingMeter broken({2, 4, 6, 8, 10, 12});
  EXPECT_THROW(MeasurePass(
                   Pass::kForward, [] { Spin(0.0005); }, options, &broken, nullptr, "reset"),
               CounterResetError);
}

// One package zone at 50 W whose counter wraps at 40 J, i.e. every 0.8 s: a window of two
// reads around a 1 s trial would hide a wraparound. MaxWindowS is 40 J / 2 kW / 2 = 10 ms, long
// enough that a loaded 2-core machine does not stretch one 0.5 ms execution past it.
class SmallRangeMeter : public EnergyMeter {
 public:
  SmallRangeMeter() : start_(Clock::now()) {
    zones_.push_back({"/fake/intel-rapl:0", "package-0", RaplDomain::kPackage, 0, kRangeUj});
  }
  std::string Name() const override { return "rapl"; }
  const std::vector<RaplZone>& Zones() const override { return zones_; }
  EnergyCounters Read() override {
    ++reads;
    const auto uj = static_cast<uint64_t>(kPowerW * SecondsSince(start_) * 1e6);
    return EnergyCounters{{uj % (kRangeUj + 1)}};
  }
  int reads = 0;
  // 400 J wraps at 2 kW in 200 ms: windows of 100 ms. 500 W wraps the counter once in a 1 s
  // trial, so a trial read only at its ends would give 1/5 of the energy; one window holds 50 J.
  static constexpr uint64_t kRangeUj = 400000000;
  static constexpr double kPowerW = 500.0;

 private:
  Clock::time_point start_;
  std::vector<RaplZone> zones_;
};

// Windows are capped below half the wrap period at 2 kW (issue 11): a trial longer than that is
// read in several windows and its energy is right; one execution longer than the window is a
// config failure (std::runtime_error), not a meter failure and not a wrong energy. The 1 ms
// executions have a 100x margin to the 100 ms window: a 10 ms window with 0.5 ms executions
// failed once under ASan in a loaded CI run (one execution preempted for 10.4 ms).
TEST(PassMeasurementTest, LongTrialsAreReadInUnambiguousWindows) {
  SmallRangeMeter meter;
  EXPECT_NEAR(meter.MaxWindowS(), 0.100, 1e-9);
  const MeasureOptions options = Protocol(1.0, 2, 1);
  const PassResult r = MeasurePass(
      Pass::kForward, [] { Spin(0.001); }, options, &meter, nullptr, "windows");
  EXPECT_GT(meter.reads, 20);  // 2 s of trials, read at least every 100 ms
  ASSERT_TRUE(r.energy_j.has_value());
  // Two reads per trial would give ~1/5 of it.
  EXPECT_NEAR(*r.energy_j / r.time_s, SmallRangeMeter::kPowerW, SmallRangeMeter::kPowerW * 0.10);

  SmallRangeMeter slow;
  try {
    MeasurePass(
        Pass::kForward, [] { Spin(0.2); }, Protocol(0.05, 1, 0), &slow, nullptr, "slow");
    FAIL() << "a 200 ms execution against a 100 ms window was measured";
  } catch (const MeterError& e) {
    FAIL() << "a config's long execution is not a meter failure: " << e.what();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("longer than the"), std::string::npos) << e.what();
  }
}

// One execution stretched past the window (a preemption on a loaded host) repeats its trial
// instead of failing the config; an execution that is long in every trial fails it.
TEST(PassMeasurementTest, APreemptedExecutionRepeatsItsTrialInsteadOfFailing) {
  SmallRangeMeter meter;
  int calls = 0;
  // 1 warm-up, a pilot of at most 50 (1 ms executions), then one trial of ~550: the 100th
  // execution is in the trial.
  const PassResult r = MeasurePass(
      Pass::kForward, [&calls] { Spin(++calls == 100 ? 0.15 : 0.001); }, Protocol(0.5, 1, 1),
      &meter, nullptr, "preempted");
  ASSERT_TRUE(r.energy_j.has_value());
  EXPECT_EQ(r.trials, 1);
  EXPECT_NEAR(*r.energy_j / r.time_s, SmallRangeMeter::kPowerW, SmallRangeMeter::kPowerW * 0.10);
  // The trial was measured again after the long execution: a whole trial of n executions ran
  // after it (kept instead, only the ~500 executions after call 100 of that trial would have).
  EXPECT_GE(calls - 100, r.repetitions);

  SmallRangeMeter always;
  int long_calls = 0;
  try {
    // Short warm-up and pilot, then every 30th execution is longer than the window.
    MeasurePass(
        Pass::kForward,
        [&long_calls] { Spin(++long_calls > 20 && long_calls % 30 == 0 ? 0.15 : 0.001); },
        Protocol(0.5, 2, 1), &always, nullptr, "always long");
    FAIL() << "a layer that is longer than the window in every trial was measured";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("longer than the"), std::string::npos) << e.what();
  }
}

// Page faults per execution (measure/page_faults.h): an execution that maps, touches and unmaps
// 64 fresh 4 KiB pages faults 64 times; one that spins faults (almost) never. The count is per
// execution of the stored trials, with and without a meter, not per trial (n x larger) or over
// the warm-up and pilot too.
TEST(PassMeasurementTest, CountsTheMinorFaultsOfEachExecution) {
  const auto fresh_pages = [] { TouchFreshPages(64); };
  FakeMeter meter;
  for (EnergyMeter* m : {static_cast<EnergyMeter*>(nullptr), static_cast<EnergyMeter*>(&meter)}) {
    const PassResult touched = MeasurePass(Pass::kForward, fresh_pages, Protocol(0.02, 3, 1), m);
    ASSERT_TRUE(touched.minor_faults.has_value());
    EXPECT_GE(*touched.minor_faults, 64.0);
    EXPECT_LT(*touched.minor_faults, 80.0);  // other threads' faults, spread over n executions
    const PassResult spun = MeasurePass(
        Pass::kForward, [] { Spin(0.001); }, Protocol(0.02, 3, 1), m);
    ASSERT_TRUE(spun.minor_faults.has_value());
    EXPECT_LT(*spun.minor_faults, 4.0);
  }
}

// A slow layer whose first executions fault in fresh pages (glibc's heap before it reuses the
// layer's freed tensors) is warmed up until one execution faults fewer than kSettledFaults
// pages, even though its first execution already lasted min_time_s: the trials then measure
// the steady state. Here the first 3 executions fault 2,048 pages each; with a single warm-up,
// two of the three trials would fault and the pass would read ~1,365 faults per execution.
TEST(PassMeasurementTest, WarmsUpUntilAnExecutionFaultsNoFreshPages) {
  int executions = 0;
  const PassResult r = MeasurePass(
      Pass::kBackward,
      [&] {
        if (++executions <= 3) TouchFreshPages(2048);
        Spin(0.02);
      },
      Protocol(0.01, 3, 2), nullptr);
  EXPECT_EQ(r.repetitions, 1);
  EXPECT_EQ(executions, 3 + 1 + 3);  // 3 faulting warm-ups, the settled one, 3 trials
  ASSERT_TRUE(r.minor_faults.has_value());
  EXPECT_LT(*r.minor_faults, static_cast<double>(kSettledFaults));
}

// Under glibc's default malloc every execution of such a layer faults (its tensors are mmap'd
// and unmapped each time): the warm-up stops after kMaxFreshPageWarmups more executions and the
// trials count the faults.
TEST(PassMeasurementTest, FreshPageWarmUpsAreCapped) {
  int executions = 0;
  const PassResult r = MeasurePass(
      Pass::kForward,
      [&] {
        ++executions;
        TouchFreshPages(512);
        Spin(0.02);
      },
      Protocol(0.01, 3, 2), nullptr);
  EXPECT_EQ(executions, 1 + kMaxFreshPageWarmups + 3);
  ASSERT_TRUE(r.minor_faults.has_value());
  EXPECT_GE(*r.minor_faults, 512.0);
}

TEST(PassMeasurementTest, MeterWithoutZonesGivesNoEnergy) {
  EmptyMeter meter;
  const PassResult r = MeasurePass(
      Pass::kForward, [] { Spin(0.001); }, Protocol(0.01, 2, 0), &meter);
  ExpectNoEnergy(r);
}

TEST(PassMeasurementTest, MeterErrorPropagates) {
  FailingMeter meter;
  EXPECT_THROW(MeasurePass(
                   Pass::kForward, [] { Spin(0.001); }, Protocol(0.01, 2, 0), &meter),
               MeterError);
}

TEST(PassMeasurementTest, StopFlagAbortsPassWithinOneExecution) {
  std::atomic<bool> stop{false};
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  const auto start = Clock::now();
  // One trial would take 60 s.
  EXPECT_THROW(MeasurePass(
                   Pass::kForward, [] { Spin(0.002); }, Protocol(60.0, 3, 1), nullptr, &stop,
                   "spin forward"),
               MeasurementInterrupted);
  stopper.join();
  EXPECT_LT(SecondsSince(start), 1.0);
}

TEST(PassMeasurementTest, MeasureLayerReturnsForwardThenBackward) {
  // Three warm-ups: the probe that calibration starts from is then not the process's first
  // conv (LibTorch's thread pool and kernel setup, which under a loaded parallel suite once
  // took longer than min_time_s and gave 1 repetition). min_time_s 0.2 s, 400 times one
  // execution here: 0.05 s still gave 1 repetition once, in a full parallel ctest on 2 cores.
  const MeasureOptions options = Protocol(0.2, 3, 3);
  const std::vector<PassResult> results = MeasureLayer(SmallConv(), options, nullptr);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].pass, Pass::kForward);
  EXPECT_EQ(results[1].pass, Pass::kBackward);
  for (const PassResult& r : results) {
    EXPECT_GT(r.time_s, 0.0);
    EXPECT_EQ(r.trials, 3);
    // Calibration repeats the layer until one run lasts >= min_time_s. One execution of this
    // conv is ~1 % of min_time_s, so a working calibration gives dozens of repetitions, and
    // one that does nothing gives 1. No bound on the trials' duration here: later trials with
    // the same count run faster when the 2 cores were loaded during calibration (0.14 x
    // min_time_s seen in CI beside another job), which is timing, not behaviour.
    EXPECT_GE(r.repetitions, 2);
    ExpectNoEnergy(r);
  }
  // The tensor memory of one more execution: the forward's peak holds at least its output, the
  // backward's at least grad_input; a conv2d keeps nothing beyond its input and weight.
  const LayerConfig conv = SmallConv();
  const std::vector<int64_t> out = OutputShape(conv);
  ASSERT_TRUE(results[0].peak_memory_bytes.has_value());
  EXPECT_GE(*results[0].peak_memory_bytes, out[0] * out[1] * out[2] * out[3] * 4);
  EXPECT_EQ(results[0].saved_bytes, int64_t{0});
  ASSERT_TRUE(results[1].peak_memory_bytes.has_value());
  EXPECT_GE(*results[1].peak_memory_bytes,
            conv.batch_size * conv.in_channels * conv.height * conv.width * 4);
  EXPECT_FALSE(results[1].saved_bytes.has_value());
}

TEST(PassMeasurementTest, MeasureLayerWithFakeMeter) {
  FakeMeter meter(/*with_dram=*/false);
  const std::vector<PassResult> results = MeasureLayer(SmallConv(), Protocol(0.05, 2, 1), &meter);
  ASSERT_EQ(results.size(), 2u);
  for (const PassResult& r : results) {
    ASSERT_TRUE(r.energy_j.has_value());
    EXPECT_FALSE(r.dram_energy_j.has_value());
    EXPECT_NEAR(*r.energy_j / r.time_s, 30.0, 30.0 * 0.02);
  }
}

TEST(PassMeasurementTest, StopFlagAbortsSlowLayerQuickly) {
  std::atomic<bool> stop{false};
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  const auto start = Clock::now();
  // Each trial would take 60 s; the stop must end the run within about one execution.
  EXPECT_THROW(MeasureLayer(SlowConv(), Protocol(60.0, 3, 1), nullptr, &stop),
               MeasurementInterrupted);
  stopper.join();
  EXPECT_LT(SecondsSince(start), 1.3);  // 0.3 s until the stop + < 1 s to react
}

TEST(PassMeasurementTest, StopAlreadySetThrowsBeforeBuilding) {
  std::atomic<bool> stop{true};
  const auto start = Clock::now();
  EXPECT_THROW(MeasureLayer(SlowConv(), Protocol(0.1, 3, 1), nullptr, &stop),
               MeasurementInterrupted);
  EXPECT_LT(SecondsSince(start), 0.1);
}

}  // namespace
}  // namespace lj
