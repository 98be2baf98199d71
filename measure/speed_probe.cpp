#include "measure/speed_probe.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "measure/first_touch_probe.h"
#include "measure/pass_measurement.h"

namespace lj {

std::vector<LayerConfig> SpeedProbeConfigs() {
  LayerConfig conv;
  conv.type = LayerType::kConv2d;
  conv.batch_size = 8;
  conv.in_channels = 32;
  conv.out_channels = 64;
  conv.height = 28;
  conv.width = 28;
  conv.kernel_size = 3;
  conv.stride = 1;
  conv.padding = 1;
  LayerConfig relu;
  relu.type = LayerType::kReLU;
  relu.batch_size = 8;
  relu.in_channels = 64;
  relu.height = 56;
  relu.width = 56;
  return {conv, relu};
}

std::string UtcNowMillis() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(millis));
}

std::vector<SpeedProbeRow> MeasureSpeedProbe(int64_t run_id, const std::atomic<bool>* stop) {
  MeasureOptions options;
  options.min_time_s = kSpeedProbeMinTime_s;
  const std::string measured_at = UtcNowMillis();
  std::vector<SpeedProbeRow> rows;
  for (const LayerConfig& config : SpeedProbeConfigs()) {
    const std::string config_json = ToJson(config).dump();
    for (const PassResult& r : MeasureLayer(config, options, nullptr, stop)) {
      SpeedProbeRow row;
      row.run_id = run_id;
      row.measured_at = measured_at;
      row.layer = std::string(ToString(config.type));
      row.pass = std::string(ToString(r.pass));
      row.config = config_json;
      row.time_s = r.time_s;
      row.time_std_s = r.time_std_s;
      rows.push_back(row);
    }
  }
  if (stop != nullptr && stop->load()) return rows;
  const FirstTouchResult touch = MeasureFirstTouch();
  SpeedProbeRow row;
  row.run_id = run_id;
  row.measured_at = measured_at;
  row.layer = kFirstTouchProbeLayer;
  row.pass = "forward";
  row.config = nlohmann::json{{"bytes", touch.bytes}, {"page_bytes", touch.page_bytes}}.dump();
  row.time_s = touch.time_s;
  row.time_std_s = touch.time_std_s;
  rows.push_back(row);
  return rows;
}

}  // namespace lj
