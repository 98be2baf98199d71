#pragma once
// Mapper of table samples: one pass of one layer config, means per single execution.
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class SamplesTable {
 public:
  explicit SamplesTable(Connection& connection) : connection_(connection) {}
  void Insert(const SampleRow& row);
  // Rows of one layer type ("" = all), ordered by id.
  std::vector<SampleRow> Read(const std::string& layer);
  int64_t CountRows(int64_t run_id);     // passes, not configs
  int64_t CountConfigs(int64_t run_id);  // distinct sample_index values
  // Highest sample_index attempted in a run, stored here or in table failures, or -1.
  int64_t MaxAttemptedIndex(int64_t run_id);

 private:
  Connection& connection_;
};

}  // namespace lj
