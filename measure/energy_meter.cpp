#include "measure/energy_meter.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "measure/wraparound.h"

namespace lj {

EnergyDelta EnergyMeter::Between(const EnergyCounters& before, const EnergyCounters& after,
                                 double elapsed_s) const {
  const std::vector<RaplZone>& zones = Zones();
  if (before.energy_uj.size() != zones.size() || after.energy_uj.size() != zones.size()) {
    throw MeterError(Name() + " meter: counter readings have " +
                     std::to_string(before.energy_uj.size()) + " (before) and " +
                     std::to_string(after.energy_uj.size()) + " (after) values for " +
                     std::to_string(zones.size()) + " zones");
  }
  EnergyDelta delta;
  for (size_t i = 0; i < zones.size(); ++i) {
    const RaplZone& zone = zones[i];
    uint64_t delta_uj = 0;
    try {
      delta_uj = CounterDeltaUj(before.energy_uj[i], after.energy_uj[i], zone.max_energy_range_uj);
    } catch (const MeterError& e) {
      throw MeterError("RAPL zone " + zone.name + " (" + zone.path + "): " + e.what());
    }
    if (elapsed_s >= 0 && !PlausibleStep(before.energy_uj[i], after.energy_uj[i],
                                         zone.max_energy_range_uj, elapsed_s)) {
      throw CounterResetError(
          "RAPL zone " + zone.name + " (" + zone.path + "): counter went from " +
          std::to_string(before.energy_uj[i]) + " to " + std::to_string(after.energy_uj[i]) +
          " uJ in " + std::to_string(elapsed_s) + " s; as a wraparound that is " +
          std::to_string(static_cast<double>(delta_uj) * 1e-6) +
          " J, more than any zone draws: the counter was reset, the window is measured again");
    }
    const double joules = static_cast<double>(delta_uj) * 1e-6;
    switch (zone.domain) {
      case RaplDomain::kPackage: {
        if (zone.socket < 0) {
          throw MeterError("RAPL zone " + zone.name + " (" + zone.path + "): negative socket " +
                           std::to_string(zone.socket));
        }
        const size_t socket = static_cast<size_t>(zone.socket);
        if (delta.package_by_socket_j.size() <= socket) {
          delta.package_by_socket_j.resize(socket + 1, 0.0);
        }
        // Several package zones on one socket (multi-die packages, "package-0-die-1") add up.
        delta.package_by_socket_j[socket] += joules;
        delta.package_j += joules;
        break;
      }
      case RaplDomain::kDram:
        delta.dram_j = delta.dram_j.value_or(0.0) + joules;
        break;
      case RaplDomain::kPsys:
        // psys covers the whole platform including the packages: kept apart, never summed.
        delta.psys_j = delta.psys_j.value_or(0.0) + joules;
        break;
      case RaplDomain::kCore:
      case RaplDomain::kUncore:
        // Nested inside their package zone: already part of package_j.
        break;
    }
  }
  return delta;
}

double EnergyMeter::MaxWindowS() const {
  double window_s = std::numeric_limits<double>::infinity();
  for (const RaplZone& zone : Zones()) {
    window_s = std::min(window_s, MaxUnambiguousWindowS(zone.max_energy_range_uj));
  }
  return window_s;
}

WindowedEnergy::WindowedEnergy(EnergyMeter& meter)
    : meter_(meter), last_(meter.Read()), start_(Clock::now()), last_read_(start_) {}

EnergyDelta WindowedEnergy::Read() {
  EnergyCounters current = meter_.Read();
  const Clock::time_point now = Clock::now();
  const EnergyDelta window =
      meter_.Between(last_, current, std::chrono::duration<double>(now - last_read_).count());
  Accumulate(total_, window);
  last_ = std::move(current);
  last_read_ = now;
  return window;
}

double WindowedEnergy::SecondsSinceRead() const {
  return std::chrono::duration<double>(Clock::now() - last_read_).count();
}

double WindowedEnergy::SpanS() const {
  return std::chrono::duration<double>(last_read_ - start_).count();
}

void Accumulate(EnergyDelta& total, const EnergyDelta& more) {
  total.package_j += more.package_j;
  if (total.package_by_socket_j.size() < more.package_by_socket_j.size()) {
    total.package_by_socket_j.resize(more.package_by_socket_j.size(), 0.0);
  }
  for (size_t s = 0; s < more.package_by_socket_j.size(); ++s) {
    total.package_by_socket_j[s] += more.package_by_socket_j[s];
  }
  if (more.dram_j) total.dram_j = total.dram_j.value_or(0.0) + *more.dram_j;
  if (more.psys_j) total.psys_j = total.psys_j.value_or(0.0) + *more.psys_j;
}

}  // namespace lj
