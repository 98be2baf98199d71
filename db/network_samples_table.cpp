#include "db/network_samples_table.h"

#include "db/connection.h"

namespace lj {
namespace {

// In the order BindRow and ReadRow use.
constexpr const char* kColumns =
    "run_id, network, batch_size, phase, iteration, time_s, energy_j, dram_energy_j, "
    "idle_power_w, meter, peak_memory_bytes, minor_faults";
// Schema 3 to 5 (read-only) have no minor_faults.
constexpr const char* kColumnsBefore6 =
    "run_id, network, batch_size, phase, iteration, time_s, energy_j, dram_energy_j, "
    "idle_power_w, meter, peak_memory_bytes, NULL AS minor_faults";
// Schema 1 and 2 (read-only) have no peak_memory_bytes.
constexpr const char* kColumnsBefore3 =
    "run_id, network, batch_size, phase, iteration, time_s, energy_j, dram_energy_j, "
    "idle_power_w, meter, NULL AS peak_memory_bytes, NULL AS minor_faults";

void BindRow(Statement& q, const NetworkSampleRow& row) {
  q.Bind(row.run_id).Bind(row.network).Bind(row.batch_size).Bind(row.phase);
  q.Bind(row.iteration).Bind(row.time_s).Bind(row.energy_j).Bind(row.dram_energy_j);
  q.Bind(row.idle_power_w).Bind(row.meter).Bind(row.peak_memory_bytes).Bind(row.minor_faults);
}

NetworkSampleRow ReadRow(const Statement& q) {
  NetworkSampleRow row;
  row.run_id = q.Int(0);
  row.network = q.Text(1);
  row.batch_size = q.Int(2);
  row.phase = q.Text(3);
  row.iteration = q.Int(4);
  row.time_s = q.Double(5);
  row.energy_j = q.OptDouble(6);
  row.dram_energy_j = q.OptDouble(7);
  row.idle_power_w = q.OptDouble(8);
  row.meter = q.Text(9);
  row.peak_memory_bytes = q.OptInt(10);
  row.minor_faults = q.OptInt(11);
  row.created_at = q.Text(12);
  return row;
}

}  // namespace

void NetworkSamplesTable::Insert(const NetworkSampleRow& row) {
  static const std::string sql = InsertSql("network_samples", kColumns);
  Statement q = connection_.Prepare(
      sql, "insert network sample (run " + std::to_string(row.run_id) + ", " + row.network +
               " iteration " + std::to_string(row.iteration) + " " + row.phase + ")");
  BindRow(q, row);
  q.Run();
}

std::vector<NetworkSampleRow> NetworkSamplesTable::Read(const std::string& network) {
  const std::string sql =
      std::string("SELECT ") +
      (schema_version_ >= 6   ? kColumns
       : schema_version_ >= 3 ? kColumnsBefore6
                              : kColumnsBefore3) +
      ", created_at FROM network_samples WHERE ?1 = '' OR network = ?1 ORDER BY id";
  Statement q = connection_.Prepare(
      sql, "read network samples" + (network.empty() ? std::string() : " of " + network));
  q.Bind(network);
  std::vector<NetworkSampleRow> rows;
  while (q.Step()) rows.push_back(ReadRow(q));
  return rows;
}

}  // namespace lj
