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
  explicit NetworkSamplesTable(Connection& connection) : connection_(connection) {}
  void Insert(const NetworkSampleRow& row);
  // Rows of one network ("" = all), ordered by id.
  std::vector<NetworkSampleRow> Read(const std::string& network);

 private:
  Connection& connection_;
};

}  // namespace lj
