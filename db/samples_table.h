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
  // schema_version: the file's version (db/schema_migration.h); a read-only file older than
  // version 4 reads peak_memory_bytes and saved_bytes as unset, older than 6 minor_faults.
  SamplesTable(Connection& connection, int schema_version)
      : connection_(connection), schema_version_(schema_version) {}
  void Insert(const SampleRow& row);
  // Rows of one layer type ("" = all), ordered by id.
  std::vector<SampleRow> Read(const std::string& layer);
  int64_t CountRows(int64_t run_id);     // passes, not configs
  int64_t CountConfigs(int64_t run_id);  // distinct sample_index values
  // Highest sample_index attempted in a run, stored here or in table failures, or -1.
  int64_t MaxAttemptedIndex(int64_t run_id);

 private:
  Connection& connection_;
  int schema_version_;
};

}  // namespace lj
