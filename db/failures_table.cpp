#include "db/failures_table.h"

#include "db/connection.h"

namespace lj {
namespace {

// In the order BindRow and ReadRow use.
constexpr const char* kColumns = "run_id, sample_index, layer, config, error";

void BindRow(Statement& q, const FailureRow& row) {
  q.Bind(row.run_id).Bind(row.sample_index).Bind(row.layer).Bind(row.config).Bind(row.error);
}

FailureRow ReadRow(const Statement& q) {
  FailureRow row;
  row.run_id = q.Int(0);
  row.sample_index = q.Int(1);
  row.layer = q.Text(2);
  row.config = q.Text(3);
  row.error = q.Text(4);
  return row;
}

}  // namespace

void FailuresTable::Insert(const FailureRow& failure) {
  static const std::string sql = InsertSql("failures", kColumns);
  Statement q =
      connection_.Prepare(sql, "insert failure (run " + std::to_string(failure.run_id) +
                                   ", index " + std::to_string(failure.sample_index) + ")");
  BindRow(q, failure);
  q.Run();
}

int64_t FailuresTable::CountConfigs(int64_t run_id) {
  Statement q =
      connection_.Prepare("SELECT count(DISTINCT sample_index) FROM failures WHERE run_id = ?",
                          "count failures of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.Int(0);
}

std::vector<FailureRow> FailuresTable::Read(int64_t run_id) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + " FROM failures WHERE run_id = ? ORDER BY id";
  Statement q = connection_.Prepare(sql, "read failures of run " + std::to_string(run_id));
  q.Bind(run_id);
  std::vector<FailureRow> rows;
  while (q.Step()) rows.push_back(ReadRow(q));
  return rows;
}

}  // namespace lj
