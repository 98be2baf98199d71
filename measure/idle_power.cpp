#include "measure/idle_power.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace lj {

IdleRow MeasureIdle(EnergyMeter& meter, double duration_s, const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  // Read in windows of at most half the meter's unambiguous window: a long --idle on AMD's
  // ~65 kJ range would otherwise hide wraparounds (issue 11).
  const double window_s = 0.5 * meter.MaxWindowS();
  EnergyDelta delta;
  EnergyCounters last = meter.Read();
  const auto start = Clock::now();
  auto last_read = start;
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(duration_s));
  const auto read = [&] {
    const EnergyCounters current = meter.Read();
    const auto now = Clock::now();
    Accumulate(delta, meter.Between(last, current, seconds(last_read, now)));
    last = current;
    last_read = now;
  };
  while (Clock::now() < deadline && !(stop != nullptr && stop->load())) {
    const Clock::duration left = deadline - Clock::now();
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(50)));
    if (seconds(last_read, Clock::now()) >= window_s) read();
  }
  read();
  const double elapsed_s = seconds(start, last_read);

  IdleRow row;
  row.duration_s = elapsed_s;
  row.package_power_w = delta.package_j / elapsed_s;
  if (delta.dram_j) row.dram_power_w = *delta.dram_j / elapsed_s;
  nlohmann::json by_socket = nlohmann::json::array();
  for (double j : delta.package_by_socket_j) by_socket.push_back(j / elapsed_s);
  row.by_socket_w = by_socket.dump();
  return row;
}

}  // namespace lj
