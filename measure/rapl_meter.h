#pragma once
// The RAPL energy meter: package, DRAM and psys energy counters of every RAPL instance, read
// through libpowercap (>= 0.6) from /sys/class/powercap/intel-rapl (Intel, and AMD Zen through
// the same intel_rapl_msr driver since Linux 5.8).
//
// Zones read: every "package-N" zone (one per socket, or one per die as "package-N-die-M"),
// every "dram" zone, and the platform "psys" zone where present. The "core" and "uncore"
// zones are nested inside their package zone and are NOT read: adding them would count the
// same energy twice. psys contains the packages and is reported apart (EnergyDelta::psys_j).
//
// Zones() order is stable and independent of sysfs enumeration: all package zones by socket,
// then all dram zones by socket, then psys. RaplZone::socket is the N of "package-N" (dram:
// the N of the package it is nested in; psys: 0). RaplZone::path is the powercap zone path,
// e.g. /sys/class/powercap/intel-rapl:0 or /sys/class/powercap/intel-rapl:0:2.
//
// Permissions: since Linux 5.10 energy_uj is mode 0400 root (CVE-2020-8694, "Platypus"). Run as
// root, or give a group ("power" here) read access with udev rules such as
//   SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chgrp power /sys%p/energy_uj"
//   SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod g+r /sys%p/energy_uj"
// (see README).
//
// Other control types are not read: libpowercap 0.6 knows only "intel-rapl" (MSR interface).
// The "intel-rapl-mmio" and TPMI interfaces and the "amd_energy" hwmon driver are not used.
#include <memory>

#include "measure/energy_meter.h"

namespace lj {

// powercap sysfs root and the RAPL control type that libpowercap reads (fixed paths).
inline constexpr const char* kPowercapRoot = "/sys/class/powercap";
inline constexpr const char* kRaplControlTypePath = "/sys/class/powercap/intel-rapl";

// Opens every RAPL instance intel-rapl:N (N in hex, as powercap names them) with libpowercap,
// keeping the energy_uj files open so that Read() costs one pread(2) per zone. Reads every
// counter once to check it lies within 0 .. max_energy_range_uj.
// Returns: a meter with Name() "rapl" and at least one package zone.
// Throws: MeterError naming the path, the cause and the fix when
//   - /sys/class/powercap/intel-rapl does not exist (no RAPL CPU, a VM, or the driver is not
//     loaded: `modprobe intel_rapl_msr`; AMD needs Linux >= 5.8, some Zen models >= 5.11);
//   - the control type has no zones (intel-rapl:0 missing), or no package zone;
//   - energy_uj is not readable (EACCES: root only since Linux 5.10, CVE-2020-8694);
//   - libpowercap fails to open an instance (errno text), or a reading exceeds its range.
std::unique_ptr<EnergyMeter> OpenRaplMeter();

// Reads the meter, sleeps wait_s seconds, reads again, and checks that every zone's counter
// (package, dram and psys alike) moved. A meter without zones passes trivially.
// Throws: MeterError "RAPL counter dram did not advance in 0.2 s (some VMs expose zeros); ..."
// for the first zone whose counter did not change; read errors propagate.
void CheckCountersAdvance(EnergyMeter& meter, double wait_s = 0.2);

}  // namespace lj
