#pragma once
// Choosing the energy meter for a run: --meter auto|rapl|none.
#include <memory>
#include <string>

#include "measure/energy_meter.h"

namespace lj {

enum class MeterChoice { kAuto, kRapl, kNone };

// "auto", "rapl", "none"; anything else throws ConfigError.
MeterChoice ParseMeterChoice(const std::string& name);

struct SelectedMeter {
  std::unique_ptr<EnergyMeter> meter;  // nullptr: time only, energy columns stay NULL
  std::string name;                    // "rapl" or "none" (stored in samples.meter)
  std::string fallback_reason;         // set when auto fell back to time only
};

// rapl: opens RAPL through libpowercap and checks that the package counters advance; throws
// MeterError with the cause and the fix otherwise. auto: the same, but on MeterError returns
// no meter and the reason (the caller warns once, loudly). none: no meter.
SelectedMeter SelectMeter(MeterChoice choice);

// Comma-separated zone names for hosts.rapl_domains, e.g. "package-0,package-1,dram".
std::string DescribeZones(const EnergyMeter* meter);

}  // namespace lj
