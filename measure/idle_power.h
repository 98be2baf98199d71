#pragma once
// Idle power: what the machine draws while the measuring process sleeps. Measured at the start
// of a run and periodically, stored in table idle_power and copied into each sample's
// idle_power_w, so that `fit` can model total or dynamic (total - idle) energy.
#include <atomic>

#include "db/store.h"
#include "measure/energy_meter.h"

namespace lj {

// Sleeps for duration_s (in slices, returning early if *stop becomes true) and returns the mean
// power over the elapsed time. package_power_w is summed over sockets.
IdleRow MeasureIdle(EnergyMeter& meter, double duration_s, const std::atomic<bool>* stop);

}  // namespace lj
