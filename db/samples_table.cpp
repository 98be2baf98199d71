#include "db/samples_table.h"

#include "db/connection.h"

namespace lj {
namespace {

// In the order BindRow and ReadRow use.
constexpr const char* kColumns =
    "run_id, sample_index, layer, pass, config, repetitions, trials, time_s, time_std_s, "
    "energy_j, energy_std_j, energy_by_socket_j, dram_energy_j, psys_energy_j, idle_power_w, "
    "meter, sweep, sweep_value, notes, peak_memory_bytes, saved_bytes, contention_share, "
    "temperature_start_c, temperature_end_c, contended, minor_faults";
// Schema 4 and 5 (read-only) have no minor_faults.
constexpr const char* kColumnsBefore6 =
    "run_id, sample_index, layer, pass, config, repetitions, trials, time_s, time_std_s, "
    "energy_j, energy_std_j, energy_by_socket_j, dram_energy_j, psys_energy_j, idle_power_w, "
    "meter, sweep, sweep_value, notes, peak_memory_bytes, saved_bytes, contention_share, "
    "temperature_start_c, temperature_end_c, contended, NULL AS minor_faults";
// Schema 1 to 3 (read-only) have no per-layer memory.
constexpr const char* kColumnsBefore4 =
    "run_id, sample_index, layer, pass, config, repetitions, trials, time_s, time_std_s, "
    "energy_j, energy_std_j, energy_by_socket_j, dram_energy_j, psys_energy_j, idle_power_w, "
    "meter, sweep, sweep_value, notes, NULL AS peak_memory_bytes, NULL AS saved_bytes, "
    "NULL AS contention_share, NULL AS temperature_start_c, NULL AS temperature_end_c, "
    "NULL AS contended, NULL AS minor_faults";

void BindRow(Statement& q, const SampleRow& row) {
  q.Bind(row.run_id).Bind(row.sample_index).Bind(row.layer).Bind(row.pass).Bind(row.config);
  q.Bind(row.repetitions).Bind(row.trials).Bind(row.time_s).Bind(row.time_std_s);
  q.Bind(row.energy_j).Bind(row.energy_std_j).Bind(row.energy_by_socket_j);
  q.Bind(row.dram_energy_j).Bind(row.psys_energy_j).Bind(row.idle_power_w).Bind(row.meter);
  q.Bind(row.sweep).Bind(row.sweep_value).Bind(row.notes);
  q.Bind(row.peak_memory_bytes).Bind(row.saved_bytes).Bind(row.contention_share);
  q.Bind(row.temperature_start_c).Bind(row.temperature_end_c);
  q.Bind(row.contended ? std::optional<int64_t>(*row.contended ? 1 : 0) : std::nullopt);
  q.Bind(row.minor_faults);
}

SampleRow ReadRow(const Statement& q) {
  SampleRow row;
  row.run_id = q.Int(0);
  row.sample_index = q.Int(1);
  row.layer = q.Text(2);
  row.pass = q.Text(3);
  row.config = q.Text(4);
  row.repetitions = q.Int(5);
  row.trials = static_cast<int>(q.Int(6));
  row.time_s = q.Double(7);
  row.time_std_s = q.Double(8);
  row.energy_j = q.OptDouble(9);
  row.energy_std_j = q.OptDouble(10);
  row.energy_by_socket_j = q.OptText(11);
  row.dram_energy_j = q.OptDouble(12);
  row.psys_energy_j = q.OptDouble(13);
  row.idle_power_w = q.OptDouble(14);
  row.meter = q.Text(15);
  row.sweep = q.OptText(16);
  row.sweep_value = q.OptDouble(17);
  row.notes = q.OptText(18);
  row.peak_memory_bytes = q.OptInt(19);
  row.saved_bytes = q.OptInt(20);
  row.contention_share = q.OptDouble(21);
  row.temperature_start_c = q.OptDouble(22);
  row.temperature_end_c = q.OptDouble(23);
  if (const std::optional<int64_t> contended = q.OptInt(24)) row.contended = *contended != 0;
  row.minor_faults = q.OptDouble(25);
  row.created_at = q.Text(26);
  return row;
}

int64_t CountOf(Connection& connection, const char* sql, const std::string& what, int64_t run_id) {
  Statement q = connection.Prepare(sql, what + " of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.Int(0);
}

}  // namespace

void SamplesTable::Insert(const SampleRow& row) {
  static const std::string sql = InsertSql("samples", kColumns);
  Statement q = connection_.Prepare(sql, "insert sample (run " + std::to_string(row.run_id) +
                                             ", index " + std::to_string(row.sample_index) + ", " +
                                             row.layer + " " + row.pass + ")");
  BindRow(q, row);
  q.Run();
}

std::vector<SampleRow> SamplesTable::Read(const std::string& layer) {
  const std::string sql = std::string("SELECT ") +
                          (schema_version_ >= 6   ? kColumns
                           : schema_version_ >= 4 ? kColumnsBefore6
                                                  : kColumnsBefore4) +
                          ", created_at FROM samples WHERE ?1 = '' OR layer = ?1 ORDER BY id";
  Statement q = connection_.Prepare(
      sql, layer.empty() ? std::string("read samples") : "read " + layer + " samples");
  q.Bind(layer);
  std::vector<SampleRow> rows;
  while (q.Step()) rows.push_back(ReadRow(q));
  return rows;
}

int64_t SamplesTable::CountRows(int64_t run_id) {
  return CountOf(connection_, "SELECT count(*) FROM samples WHERE run_id = ?", "count samples",
                 run_id);
}

int64_t SamplesTable::CountConfigs(int64_t run_id) {
  return CountOf(connection_, "SELECT count(DISTINCT sample_index) FROM samples WHERE run_id = ?",
                 "count stored configs", run_id);
}

int64_t SamplesTable::MaxAttemptedIndex(int64_t run_id) {
  Statement q = connection_.Prepare(
      "SELECT max(m) FROM (SELECT max(sample_index) AS m FROM samples WHERE run_id = ?1 "
      "UNION ALL SELECT max(sample_index) FROM failures WHERE run_id = ?1)",
      "find highest attempted index of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.IsNull(0) ? -1 : q.Int(0);
}

}  // namespace lj
