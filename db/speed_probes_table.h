#pragma once
// Mapper of table speed_probes (schema 5): the machine's speed over time, measured as the time
// of fixed reference configs (measure/speed_probe.h). The one place that names this table's
// columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class SpeedProbesTable {
 public:
  SpeedProbesTable(Connection& connection, int schema_version)
      : connection_(connection), schema_version_(schema_version) {}
  void Insert(const SpeedProbeRow& row);
  // Every probe row, ordered by id; none in a file of schema < 5 (opened read-only).
  std::vector<SpeedProbeRow> Read();

 private:
  Connection& connection_;
  int schema_version_;
};

}  // namespace lj
