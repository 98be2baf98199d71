#pragma once
// Wraparound of RAPL energy counters: the one place where two raw energy_uj readings become an
// energy. Every meter and every caller goes through CounterDeltaUj; nothing else subtracts
// counter values (LIKWID's unguarded `after - before` is what gave the prototype negative
// energies).
//
// Powercap semantics (Documentation/power/powercap/powercap.rst, sysfs ABI): a zone's energy_uj
// is a cumulative counter in microjoules that takes the values 0 .. max_energy_range_uj
// inclusive and then starts again at 0. One step past max_energy_range_uj reads 0, so the
// counter counts modulo (max_energy_range_uj + 1).
//
// Exactness: intel_rapl_common derives energy_uj from a 32-bit MSR counter of energy units
// (typically 2^-14 J = 61.04 uJ, 2^-16 J = 15.26 uJ on AMD/DRAM). Its true modulus is
// 2^32 units = max_energy_range_uj + 1 unit, so treating it as max_energy_range_uj + 1 uJ loses
// less than one energy unit (< 62 uJ) per wraparound, against a range of ~262 kJ.
//
// Limits: only ONE wraparound between two readings is detectable. At package power P watts a
// counter wraps every (max_energy_range_uj + 1) / (P * 1e6) seconds (about 44 min at 100 W for
// the common 262143328850 uJ range); read more often than that (see WrapPeriodS).
#include <cstdint>

#include "core/errors.h"

namespace lj {

// Energy consumed between two readings of one counter, in microjoules.
//   after >= before: after - before (no wraparound; equal readings give 0).
//   after <  before: the counter wrapped once: (max_energy_range_uj - before) + after + 1.
// The result is in 0 .. max_energy_range_uj and never overflows, even for a range of
// UINT64_MAX.
// Throws: MeterError when max_energy_range_uj is 0, or when before or after exceeds
// max_energy_range_uj (an impossible reading), naming the values, e.g.
// "RAPL counter reading 300 uJ exceeds max_energy_range_uj 200 uJ (reading 'after')".
uint64_t CounterDeltaUj(uint64_t before_uj, uint64_t after_uj, uint64_t max_energy_range_uj);

// No RAPL zone draws more than this (a 2-socket server package is ~200-400 W): a wraparound
// that would mean more energy than this power over the window was a counter reset.
inline constexpr double kMaxPlausibleZonePowerW = 2000.0;

// Whether the step from `before` to `after` over `elapsed_s` seconds is physically possible:
// always when the counter did not decrease; after a decrease, only when the wrapped delta
// (CounterDeltaUj) is at most kMaxPlausibleZonePowerW x max(elapsed_s, 1 ms). A reboot or a
// driver reload resets a counter to near 0, which reads as a wrap of up to ~262 kJ (issue 11).
bool PlausibleStep(uint64_t before_uj, uint64_t after_uj, uint64_t max_energy_range_uj,
                   double elapsed_s);

// Seconds a counter with this range takes to wrap at a constant power of power_w watts:
// (max_energy_range_uj + 1) / (power_w * 1e6). Readings further apart than this may hide a
// wraparound. Returns +infinity for power_w <= 0.
double WrapPeriodS(uint64_t max_energy_range_uj, double power_w);

// The longest window between two reads of a counter with this range whose energy is
// unambiguous whatever the zone draws: half of WrapPeriodS at kMaxPlausibleZonePowerW, so at most
// one wraparound can fall in it even at a power well above any TDP (issue 11: RAPL windows are
// capped below half the wrap period). 65.5 s for the common 262143328850 uJ range, ~16 s for
// AMD's ~65.5 kJ one. Readers split longer windows into several reads (measure/energy_meter.h).
double MaxUnambiguousWindowS(uint64_t max_energy_range_uj);

}  // namespace lj
