#include "db/run_options_table.h"

#include "db/connection.h"

namespace lj {

void RunOptionsTable::Set(int64_t run_id, const std::string& name, const std::string& value) {
  static const std::string sql =
      InsertSql("run_options", "run_id, name, value", "INSERT OR REPLACE");
  Statement q =
      connection_.Prepare(sql, "store option '" + name + "' of run " + std::to_string(run_id));
  q.Bind(run_id).Bind(name).Bind(value);
  q.Run();
}

std::optional<std::string> RunOptionsTable::Get(int64_t run_id, const std::string& name) {
  {
    // A read-only open applies no schema: a database older than the table has none.
    Statement exists = connection_.Prepare(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_options'",
        "look for table run_options");
    if (!exists.Step()) return std::nullopt;
  }
  Statement q = connection_.Prepare("SELECT value FROM run_options WHERE run_id = ? AND name = ?",
                                    "read option '" + name + "' of run " + std::to_string(run_id));
  q.Bind(run_id).Bind(name);
  if (!q.Step()) return std::nullopt;
  return q.Text(0);
}

}  // namespace lj
