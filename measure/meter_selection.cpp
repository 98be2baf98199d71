#include "measure/meter_selection.h"

#include "core/errors.h"
#include "measure/rapl_meter.h"

namespace lj {

MeterChoice ParseMeterChoice(const std::string& name) {
  if (name == "auto") return MeterChoice::kAuto;
  if (name == "rapl") return MeterChoice::kRapl;
  if (name == "none") return MeterChoice::kNone;
  throw ConfigError("--meter: expected auto, rapl or none, got '" + name + "'");
}

SelectedMeter SelectMeter(MeterChoice choice) {
  SelectedMeter selected;
  selected.name = "none";
  if (choice == MeterChoice::kNone) return selected;
  try {
    auto meter = OpenRaplMeter();
    CheckCountersAdvance(*meter, 0.2);
    selected.meter = std::move(meter);
    selected.name = "rapl";
  } catch (const MeterError& e) {
    if (choice == MeterChoice::kRapl) throw;
    selected.fallback_reason = e.what();
  }
  return selected;
}

std::string DescribeZones(const EnergyMeter* meter) {
  if (meter == nullptr) return "";
  std::string out;
  for (const auto& zone : meter->Zones()) {
    if (!out.empty()) out += ",";
    out += zone.name;
  }
  return out;
}

}  // namespace lj
