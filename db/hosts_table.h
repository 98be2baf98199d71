#pragma once
// Mapper of table hosts: one row per distinct description of a machine and its software.
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class HostsTable {
 public:
  explicit HostsTable(Connection& connection) : connection_(connection) {}
  // Returns the id of an identical existing row, or inserts one (in one transaction).
  int64_t Upsert(const HostInfo& host);
  std::optional<HostInfo> Get(int64_t host_id);

 private:
  Connection& connection_;
};

}  // namespace lj
