#pragma once
// Measured passes of one layer config as rows of table samples (db/rows.h), for every path
// that stores layer samples (random, near and sweep runs, a network's --layers run).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/layer_config.h"
#include "db/rows.h"
#include "measure/pass_measurement.h"

namespace lj {

// One row per PassResult (normally forward and backward); idle_power_w is stored only on rows
// with energy, energy_by_socket_j as a JSON array.
std::vector<SampleRow> ToSampleRows(const std::vector<PassResult>& results,
                                    const LayerConfig& config, int64_t run_id, int64_t sample_index,
                                    const std::string& meter, std::optional<double> idle_power_w,
                                    std::optional<std::string> sweep = std::nullopt,
                                    std::optional<double> sweep_value = std::nullopt);

}  // namespace lj
