#pragma once
// Mapper of table network_samples: one phase of one training iteration of a whole network.
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class NetworkSamplesTable {
 public:
  // schema_version: the file's version (db/schema_migration.h); a read-only file older than
  // version 3 reads peak_memory_bytes as unset, older than 6 minor_faults.
  NetworkSamplesTable(Connection& connection, int schema_version)
      : connection_(connection), schema_version_(schema_version) {}
  void Insert(const NetworkSampleRow& row);
  // Rows of one network ("" = all), ordered by id.
  std::vector<NetworkSampleRow> Read(const std::string& network);

 private:
  Connection& connection_;
  int schema_version_;
};

}  // namespace lj
