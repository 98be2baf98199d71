#pragma once
// Mapper of table failures: configs that threw while being built or run.
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class FailuresTable {
 public:
  explicit FailuresTable(Connection& connection) : connection_(connection) {}
  void Insert(const FailureRow& failure);
  // Distinct sample_index values with failures in a run.
  int64_t CountConfigs(int64_t run_id);
  std::vector<FailureRow> Read(int64_t run_id);  // ordered by id

 private:
  Connection& connection_;
};

}  // namespace lj
