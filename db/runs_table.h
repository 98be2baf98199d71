#pragma once
// Mapper of table runs: one invocation of measure or one imported file.
// The one place that names this table's columns (db/schema.sql); used through db/store.h.
// Errors throw StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/rows.h"

namespace lj {

class Connection;

class RunsTable {
 public:
  // schema_version: the file's version (db/schema_migration.h); a read-only version-1 file is
  // read with bounds_json as source_json.
  RunsTable(Connection& connection, int schema_version)
      : connection_(connection), schema_version_(schema_version) {}

  // Inserts a run with status "running"; returns its id.
  int64_t Insert(const RunInfo& run);
  std::optional<RunInfo> Get(int64_t run_id);
  std::vector<RunInfo> ReadAll();  // ordered by id
  // The most recent run of `kind` that is "interrupted" or still "running".
  std::optional<RunInfo> LastUnfinished(const std::string& kind);
  // Also sets ended_at (NULL again for "running"); throws StoreError for a missing run.
  void SetStatus(int64_t run_id, const std::string& status);
  std::string HostnameOf(int64_t run_id);  // throws StoreError for a missing run
  // The first run of `kind` whose source_json is an object with "content_fnv1a64" equal to
  // `content_hash` and, unless `file` is "", "file" equal to `file`: an import done already.
  std::optional<int64_t> FindBySourceHash(const std::string& kind, const std::string& file,
                                          const std::string& content_hash);

 private:
  std::string SelectSql(const std::string& tail) const;

  Connection& connection_;
  int schema_version_;
};

}  // namespace lj
