#pragma once
// The machine's speed over time, measured with fixed reference configs.
//
// On a shared host the same config does not take the same time an hour later: on the KVM
// guest of JOURNAL.md 2026-12-04 (second entry), MobileNetV3-Small's 118 layer configs took
// 1.3-1.9x as long during a campaign as 100 minutes later, AlexNet's 1.1-1.3x, and the networks
// themselves 1.46x and 1.0x. A model fitted on rows of one minute and scored against a network
// measured in another then carries that drift in its error. Benchmarking on shared machines
// answers this with a reference workload run beside the measurements (a calibration run); this
// is that workload: a compute-bound conv2d (115.6 M MACs) and a memory-bound relu (1.6 M
// elements), each forward and backward, with the same protocol as any sample (a shorter
// trial). measure runs it at the start of every run, every SessionOptions::probe_every_s
// seconds between configs or iterations, and at the end; fit --drift-correction divides every
// sample's time by the speed at its time (fit/drift_correction.h).
#include <atomic>
#include <string>
#include <vector>

#include "core/layer_config.h"
#include "db/rows.h"

namespace lj {

// The reference configs, in the order they are measured:
//   conv2d batch 8, 32 -> 64 channels, 3x3 kernel, stride 1, padding 1, on 28x28 (bias);
//   relu   batch 8, 64 channels, 56x56.
// Changing them changes what every stored probe means: add new ones instead.
std::vector<LayerConfig> SpeedProbeConfigs();

// Trial length of a probe pass, seconds (3 trials, 2 warm-ups): a probe takes ~0.7 s.
inline constexpr double kSpeedProbeMinTime_s = 0.05;

// Measures every reference config (forward and backward, time only) and returns one row per
// pass, then one first-touch row (db/rows.h kFirstTouchProbeLayer, measure/first_touch_probe.h),
// all with `run_id` and the same measured_at (now, ISO-8601 UTC with milliseconds, as
// SQLite's strftime('%Y-%m-%dT%H:%M:%fZ')). Throws MeasurementInterrupted when `stop` is set.
std::vector<SpeedProbeRow> MeasureSpeedProbe(int64_t run_id, const std::atomic<bool>* stop);

// Now as "2026-12-04T21:43:07.123Z".
std::string UtcNowMillis();

}  // namespace lj
