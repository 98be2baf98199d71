#include "measure/sample_rows.h"

#include <nlohmann/json.hpp>
#include <utility>

namespace lj {

std::vector<SampleRow> ToSampleRows(const std::vector<PassResult>& results,
                                    const LayerConfig& config, int64_t run_id, int64_t sample_index,
                                    const std::string& meter, std::optional<double> idle_power_w,
                                    std::optional<std::string> sweep,
                                    std::optional<double> sweep_value) {
  std::vector<SampleRow> rows;
  const std::string config_json = ToJson(config).dump();
  for (const PassResult& r : results) {
    SampleRow row;
    row.run_id = run_id;
    row.sample_index = sample_index;
    row.layer = std::string(ToString(config.type));
    row.pass = std::string(ToString(r.pass));
    row.config = config_json;
    row.repetitions = r.repetitions;
    row.trials = r.trials;
    row.time_s = r.time_s;
    row.time_std_s = r.time_std_s;
    row.energy_j = r.energy_j;
    row.energy_std_j = r.energy_std_j;
    if (r.energy_j) row.energy_by_socket_j = nlohmann::json(r.energy_by_socket_j).dump();
    row.dram_energy_j = r.dram_energy_j;
    row.psys_energy_j = r.psys_energy_j;
    row.idle_power_w = r.energy_j ? idle_power_w : std::nullopt;
    row.meter = meter;
    row.sweep = sweep;
    row.sweep_value = sweep_value;
    row.peak_memory_bytes = r.peak_memory_bytes;
    row.saved_bytes = r.saved_bytes;
    row.contention_share = r.contention_share;
    row.temperature_start_c = r.temperature_start_c;
    row.temperature_end_c = r.temperature_end_c;
    row.contended = r.contended;
    row.minor_faults = r.minor_faults;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace lj
