#pragma once
// Drift correction: every time of one host brought to the same machine speed, from the speed
// probes stored beside the samples (measure/speed_probe.h, table speed_probes).
//
// A probe is the same fixed configs measured again. Its factor is the geometric mean, over its
// configs and passes, of its time over the median time of that config and pass over all the
// host's probes: 1.3 means the machine ran 1.3x slower than its median state then. A row stored
// at time t is divided by the factor at t: the median factor of the probes within window_s of
// t (one probe is noisy: relu backward took 0.20 and 0.43 ms in two probes 6 s apart here),
// else the nearest probe's within max_gap_s, else none. The result
// is each time at the host's median speed, so that rows measured an hour apart, and networks
// measured after the layers, compare like with like. This is the calibration-run practice of
// benchmarking on shared machines; JOURNAL.md 2026-12-04 (second entry) has the drift that
// motivates it. Energy is not scaled: a slower machine does not spend proportionally more
// package energy on the same work (the extra time is another tenant's, or idle).
#include <optional>
#include <string>
#include <vector>

namespace lj {

// One pass of one reference config of one probe.
struct ProbeReading {
  double t_s = 0;   // when the probe ran, seconds since the Unix epoch; one value per probe
  std::string key;  // config and pass, e.g. "conv2d backward"
  double time_s = 0;
};

class DriftCorrection {
 public:
  // +-3 minutes: about 6 probes at measure's default interval (60 s); drift on the campaign
  // host moved over tens of minutes.
  static constexpr double kDefaultWindow_s = 180;
  // 15 minutes: no probe nearer than that says nothing about the machine's state.
  static constexpr double kDefaultMaxGap_s = 900;

  DriftCorrection() = default;
  // Readings of one host (any order). Throws std::invalid_argument for a time_s <= 0 or a
  // non-finite value.
  explicit DriftCorrection(const std::vector<ProbeReading>& readings,
                           double window_s = kDefaultWindow_s, double max_gap_s = kDefaultMaxGap_s);

  // The factor (measured time / time at the host's median speed) for a row stored at t_s, or
  // nullopt when no probe is within max_gap_s of it.
  std::optional<double> FactorAt(double t_s) const;

  struct Probe {
    double t_s = 0;
    double factor = 1;
  };
  const std::vector<Probe>& probes() const { return probes_; }  // by time

 private:
  std::vector<Probe> probes_;
  double window_s_ = kDefaultWindow_s;
  double max_gap_s_ = kDefaultMaxGap_s;
};

// Seconds since the Unix epoch of an ISO-8601 UTC time as SQLite's strftime writes it,
// "2026-12-04T19:25:01.123Z" (fraction and 'Z' optional). Throws std::invalid_argument naming
// the text otherwise.
double ParseUtcTime_s(const std::string& text);

}  // namespace lj
