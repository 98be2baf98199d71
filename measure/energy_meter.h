#pragma once
// Energy meters: RAPL through libpowercap, or none. Hardware stays behind this interface so the
// measurement loop can be tested against an emulated powercap tree (tests/integration).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"

namespace lj {

// RAPL domains as powercap names them ("package-0", "dram", "psys", "core", "uncore").
enum class RaplDomain { kPackage, kDram, kPsys, kCore, kUncore };

// One readable energy counter.
struct RaplZone {
  std::string path;  // e.g. /sys/class/powercap/intel-rapl:0 (for messages)
  std::string name;  // powercap "name", e.g. "package-0", "dram"
  RaplDomain domain = RaplDomain::kPackage;
  int socket = 0;                    // package index the zone belongs to
  uint64_t max_energy_range_uj = 0;  // counter wraps to 0 after this value
};

// Raw counter values, one per zone in Zones() order, in microjoules.
struct EnergyCounters {
  std::vector<uint64_t> energy_uj;
};

// Energy between two reads, in joules. Package and psys are not summed together (psys
// contains package); core/uncore are nested in package and are not added to it.
struct EnergyDelta {
  double package_j = 0;  // summed over sockets
  std::vector<double> package_by_socket_j;
  std::optional<double> dram_j;  // summed over sockets, if any dram zone
  std::optional<double> psys_j;
};

// A counter went backwards by more than a wraparound can explain: it was reset (reboot, driver
// reload). The window's energy is unknown; measure it again.
class CounterResetError : public MeterError {
 public:
  using MeterError::MeterError;
};

class EnergyMeter {
 public:
  virtual ~EnergyMeter() = default;
  // "rapl" (or "none" for a meter without energy).
  virtual std::string Name() const = 0;
  virtual const std::vector<RaplZone>& Zones() const = 0;
  // Reads every zone's counter. Throws MeterError naming the zone on a failed read.
  virtual EnergyCounters Read() = 0;
  // Energy between two reads, each zone corrected for one wraparound (see wraparound.h).
  // elapsed_s >= 0, the seconds between the reads, also checks each decrease for being a
  // plausible wrap (PlausibleStep) and throws CounterResetError when it is not; the caller
  // measures again. elapsed_s < 0 skips that check.
  EnergyDelta Between(const EnergyCounters& before, const EnergyCounters& after,
                      double elapsed_s = -1) const;
  // Seconds two reads may be apart with every zone's energy still unambiguous: the smallest
  // MaxUnambiguousWindowS over the zones (measure/wraparound.h); +infinity without zones.
  // Longer windows must be split into several reads (MeasurePass, MeasureIdle do).
  double MaxWindowS() const;
};

// Adds a later window's energy to `total` (per socket, dram and psys as they exist).
void Accumulate(EnergyDelta& total, const EnergyDelta& more);

// Energy over a span read as consecutive windows, each corrected for its own wraparound and
// checked for a counter reset (Between with the window's seconds), so a span longer than
// MaxWindowS is measured right when it is read often enough (issue 11). The constructor reads
// the counters; each Read() ends a window, adds its energy to Total() and returns it.
// Throws what Read() and Between() throw (MeterError, CounterResetError).
class WindowedEnergy {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WindowedEnergy(EnergyMeter& meter);
  EnergyDelta Read();
  // Seconds since the last read (or the construction).
  double SecondsSinceRead() const;
  // The first read (construction) to the last read, in seconds.
  double SpanS() const;
  const EnergyDelta& Total() const { return total_; }

 private:
  EnergyMeter& meter_;
  EnergyCounters last_;
  Clock::time_point start_, last_read_;
  EnergyDelta total_;
};

}  // namespace lj
