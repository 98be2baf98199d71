#pragma once
// Mapper of table run_options: options of a run that change its config stream (issue 11).
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class RunOptionsTable {
 public:
  explicit RunOptionsTable(Connection& connection) : connection_(connection) {}
  // Inserts or replaces.
  void Set(int64_t run_id, const std::string& name, const std::string& value);
  // nullopt for an option never set, also on a read-only database older than the table.
  std::optional<std::string> Get(int64_t run_id, const std::string& name);

 private:
  Connection& connection_;
};

}  // namespace lj
