// EnergyMeter::Between against an in-memory meter with known zones: summing over sockets,
// keeping psys apart, ignoring nested core/uncore, and per-zone wraparound.
#include "measure/energy_meter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lj {
namespace {

class TableMeter : public EnergyMeter {
 public:
  explicit TableMeter(std::vector<RaplZone> zones) : zones_(std::move(zones)) {}
  std::string Name() const override { return "table"; }
  const std::vector<RaplZone>& Zones() const override { return zones_; }
  EnergyCounters Read() override { return {}; }

 private:
  std::vector<RaplZone> zones_;
};

RaplZone Zone(const std::string& name, RaplDomain domain, int socket,
              uint64_t max_uj = 1000000000) {
  RaplZone z;
  z.path = "/sys/class/powercap/test:" + name;
  z.name = name;
  z.domain = domain;
  z.socket = socket;
  z.max_energy_range_uj = max_uj;
  return z;
}

EnergyCounters Counters(std::vector<uint64_t> uj) { return EnergyCounters{std::move(uj)}; }

TEST(EnergyMeterTest, SumsPackagesOverSocketsAndKeepsPerSocket) {
  TableMeter meter({Zone("package-0", RaplDomain::kPackage, 0),
                    Zone("package-1", RaplDomain::kPackage, 1), Zone("dram", RaplDomain::kDram, 0),
                    Zone("dram", RaplDomain::kDram, 1)});
  const EnergyDelta d = meter.Between(Counters({1000000, 5000000, 0, 10}),
                                      Counters({3000000, 6500000, 250000, 500010}));
  EXPECT_DOUBLE_EQ(d.package_j, 3.5);
  ASSERT_EQ(d.package_by_socket_j.size(), 2u);
  EXPECT_DOUBLE_EQ(d.package_by_socket_j[0], 2.0);
  EXPECT_DOUBLE_EQ(d.package_by_socket_j[1], 1.5);
  ASSERT_TRUE(d.dram_j.has_value());
  EXPECT_DOUBLE_EQ(*d.dram_j, 0.75);
  EXPECT_FALSE(d.psys_j.has_value());
}

// A decrease is a wraparound only if the energy it implies is physically possible over the
// window; otherwise it is a counter reset (issue 11), reported, never stored as ~kJ.
TEST(EnergyMeterTest, AnImplausibleWrapIsACounterReset) {
  constexpr uint64_t kMax = 262143328850;
  TableMeter meter({Zone("package-0", RaplDomain::kPackage, 0, kMax)});
  // A true wrap: 1 kJ below the top, 1 kJ after it, over 10 s (200 W).
  const EnergyDelta wrap = meter.Between(Counters({kMax - 1000000000}), Counters({999999999}), 10);
  EXPECT_NEAR(wrap.package_j, 2000.0, 1e-3);
  // A reset: from 200 kJ to 0.5 J within 0.1 s would be a 62 kJ wrap (620 kW).
  try {
    meter.Between(Counters({200000000000}), Counters({500000}), 0.1);
    ADD_FAILURE() << "no CounterResetError";
  } catch (const CounterResetError& e) {
    EXPECT_NE(std::string(e.what()).find("package-0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("reset"), std::string::npos) << e.what();
  }
  // Without the window's length the check is skipped (callers that cannot tell).
  EXPECT_GT(meter.Between(Counters({200000000000}), Counters({500000})).package_j, 6e4);
  // The same reading over 10 hours is a plausible wrap (1.7 kW is below the 2 kW bound).
  EXPECT_NO_THROW(meter.Between(Counters({200000000000}), Counters({500000}), 36000));
}

TEST(EnergyMeterTest, PsysIsSeparateAndCoreUncoreAreNotAdded) {
  TableMeter meter({Zone("package-0", RaplDomain::kPackage, 0), Zone("core", RaplDomain::kCore, 0),
                    Zone("uncore", RaplDomain::kUncore, 0), Zone("psys", RaplDomain::kPsys, 0)});
  const EnergyDelta d =
      meter.Between(Counters({0, 0, 0, 0}), Counters({2000000, 1500000, 300000, 9000000}));
  EXPECT_DOUBLE_EQ(d.package_j, 2.0);  // core (1.5 J) and uncore (0.3 J) are inside it
  ASSERT_TRUE(d.psys_j.has_value());
  EXPECT_DOUBLE_EQ(*d.psys_j, 9.0);
  EXPECT_FALSE(d.dram_j.has_value());
}

TEST(EnergyMeterTest, CorrectsWraparoundPerZone) {
  // package-0 wraps (range 999999 uJ: 999000 -> 1000 is 1000 + 1000 uJ); package-1 does not.
  TableMeter meter({Zone("package-0", RaplDomain::kPackage, 0, 999999),
                    Zone("package-1", RaplDomain::kPackage, 1, 5000000)});
  const EnergyDelta d = meter.Between(Counters({999000, 100}), Counters({1000, 2100}));
  ASSERT_EQ(d.package_by_socket_j.size(), 2u);
  EXPECT_DOUBLE_EQ(d.package_by_socket_j[0], 0.002);
  EXPECT_DOUBLE_EQ(d.package_by_socket_j[1], 0.002);
  EXPECT_DOUBLE_EQ(d.package_j, 0.004);
  EXPECT_GE(d.package_j, 0.0);
}

TEST(EnergyMeterTest, DiesOfOneSocketAddUp) {
  TableMeter meter({Zone("package-0-die-0", RaplDomain::kPackage, 0),
                    Zone("package-0-die-1", RaplDomain::kPackage, 0),
                    Zone("package-1-die-0", RaplDomain::kPackage, 1)});
  const EnergyDelta d = meter.Between(Counters({0, 0, 0}), Counters({1000000, 2000000, 4000000}));
  ASSERT_EQ(d.package_by_socket_j.size(), 2u);
  EXPECT_DOUBLE_EQ(d.package_by_socket_j[0], 3.0);
  EXPECT_DOUBLE_EQ(d.package_by_socket_j[1], 4.0);
  EXPECT_DOUBLE_EQ(d.package_j, 7.0);
}

TEST(EnergyMeterTest, WrongNumberOfReadingsThrows) {
  TableMeter meter({Zone("package-0", RaplDomain::kPackage, 0)});
  EXPECT_THROW(meter.Between(Counters({1, 2}), Counters({3, 4})), MeterError);
  EXPECT_THROW(meter.Between(Counters({1}), Counters({})), MeterError);
}

TEST(EnergyMeterTest, ImpossibleReadingNamesTheZone) {
  TableMeter meter({Zone("package-0", RaplDomain::kPackage, 0, 1000)});
  try {
    meter.Between(Counters({10}), Counters({2000}));
    FAIL() << "expected MeterError";
  } catch (const MeterError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("RAPL zone package-0 (/sys/class/powercap/test:package-0)"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("2000 uJ exceeds max_energy_range_uj 1000 uJ"), std::string::npos) << what;
  }
}

TEST(EnergyMeterTest, NoZonesGivesZeroPackageEnergy) {
  TableMeter meter({});
  const EnergyDelta d = meter.Between(Counters({}), Counters({}));
  EXPECT_EQ(d.package_j, 0.0);
  EXPECT_TRUE(d.package_by_socket_j.empty());
  EXPECT_FALSE(d.dram_j.has_value());
  EXPECT_FALSE(d.psys_j.has_value());
}

}  // namespace
}  // namespace lj
