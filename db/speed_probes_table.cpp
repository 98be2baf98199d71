#include "db/speed_probes_table.h"

#include "db/connection.h"

namespace lj {
namespace {

// In the order BindRow and ReadRow use.
constexpr const char* kColumns = "run_id, measured_at, layer, pass, config, time_s, time_std_s";

SpeedProbeRow ReadRow(const Statement& q) {
  SpeedProbeRow row;
  row.run_id = q.Int(0);
  row.measured_at = q.Text(1);
  row.layer = q.Text(2);
  row.pass = q.Text(3);
  row.config = q.Text(4);
  row.time_s = q.Double(5);
  row.time_std_s = q.Double(6);
  return row;
}

}  // namespace

void SpeedProbesTable::Insert(const SpeedProbeRow& row) {
  static const std::string sql = InsertSql("speed_probes", kColumns);
  Statement q =
      connection_.Prepare(sql, "insert speed probe (run " + std::to_string(row.run_id) + ", " +
                                   row.measured_at + ", " + row.layer + " " + row.pass + ")");
  q.Bind(row.run_id).Bind(row.measured_at).Bind(row.layer).Bind(row.pass);
  q.Bind(row.config).Bind(row.time_s).Bind(row.time_std_s);
  q.Run();
}

std::vector<SpeedProbeRow> SpeedProbesTable::Read() {
  std::vector<SpeedProbeRow> rows;
  if (schema_version_ < 5) return rows;
  static const std::string sql =
      std::string("SELECT ") + kColumns + " FROM speed_probes ORDER BY id";
  Statement q = connection_.Prepare(sql, "read speed probes");
  while (q.Step()) rows.push_back(ReadRow(q));
  return rows;
}

}  // namespace lj
