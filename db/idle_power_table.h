#pragma once
// Mapper of table idle_power: idle power readings taken at run start and periodically.
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class IdlePowerTable {
 public:
  explicit IdlePowerTable(Connection& connection) : connection_(connection) {}
  void Insert(const IdleRow& idle);
  std::vector<IdleRow> Read(int64_t run_id);  // ordered by id

 private:
  Connection& connection_;
};

}  // namespace lj
