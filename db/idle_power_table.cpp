#include "db/idle_power_table.h"

#include "db/connection.h"

namespace lj {
namespace {

// In the order BindRow and ReadRow use.
constexpr const char* kColumns = "run_id, duration_s, package_power_w, dram_power_w, by_socket_w";

void BindRow(Statement& q, const IdleRow& row) {
  q.Bind(row.run_id).Bind(row.duration_s).Bind(row.package_power_w).Bind(row.dram_power_w);
  q.Bind(row.by_socket_w);
}

IdleRow ReadRow(const Statement& q) {
  IdleRow row;
  row.run_id = q.Int(0);
  row.duration_s = q.Double(1);
  row.package_power_w = q.Double(2);
  row.dram_power_w = q.OptDouble(3);
  row.by_socket_w = q.OptText(4);
  return row;
}

}  // namespace

void IdlePowerTable::Insert(const IdleRow& idle) {
  static const std::string sql = InsertSql("idle_power", kColumns);
  Statement q =
      connection_.Prepare(sql, "insert idle power (run " + std::to_string(idle.run_id) + ")");
  BindRow(q, idle);
  q.Run();
}

std::vector<IdleRow> IdlePowerTable::Read(int64_t run_id) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + " FROM idle_power WHERE run_id = ? ORDER BY id";
  Statement q = connection_.Prepare(sql, "read idle power of run " + std::to_string(run_id));
  q.Bind(run_id);
  std::vector<IdleRow> rows;
  while (q.Step()) rows.push_back(ReadRow(q));
  return rows;
}

}  // namespace lj
