#include "measure/idle_power.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace lj {

IdleRow MeasureIdle(EnergyMeter& meter, double duration_s, const std::atomic<bool>* stop) {
  using Clock = WindowedEnergy::Clock;
  // Read in windows of at most half the meter's unambiguous window: a long --idle on AMD's
  // ~65 kJ range would otherwise hide wraparounds (issue 11).
  const double window_s = 0.5 * meter.MaxWindowS();
  WindowedEnergy windows(meter);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(duration_s));
  while (Clock::now() < deadline && !(stop != nullptr && stop->load())) {
    const Clock::duration left = deadline - Clock::now();
    std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(50)));
    if (windows.SecondsSinceRead() >= window_s) windows.Read();
  }
  windows.Read();
  const double elapsed_s = windows.SpanS();
  const EnergyDelta& delta = windows.Total();

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
