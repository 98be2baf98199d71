#pragma once
// The SQLite store of measurements: the one door to the database (schema in db/schema.sql),
// over a Connection (db/connection.h) and one mapper per table (db/*_table.h), which are the
// only code that speaks SQL. WAL mode, prepared statements, one transaction per stored config
// so that `kill -9` leaves either both passes of a config or neither. Opening a database
// written by a newer schema version throws StoreError; an older one is migrated when opened
// for writing (db/schema_migration.h).
// Every SQLite failure throws StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
// A Store is one connection and is not thread-safe; several processes may share a file (WAL,
// busy timeout). Timestamps (started_at, ended_at, created_at) are ISO-8601 UTC set by SQLite.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "db/rows.h"
#include "db/schema_migration.h"
#include "db/transaction.h"

struct sqlite3;

namespace lj {

class Connection;
struct MergeSummary;

class Store {
 public:
  static constexpr int kSchemaVersion = lj::kSchemaVersion;

  // Scoped transaction on the store's connection (db/transaction.h): rolls back unless
  // committed; nested ones are savepoints.
  class Transaction : public lj::Transaction {
   public:
    explicit Transaction(Store& store) : lj::Transaction(*store.connection_) {}
  };

  // Opens or creates the database at `path` (":memory:" allowed), creates missing parent
  // directories, migrates an older schema, applies the schema, enables WAL and foreign keys,
  // and sets a busy timeout. Throws StoreError naming the path if the file is not a layerjoule
  // database or has a schema version newer than kSchemaVersion.
  explicit Store(const std::string& path);
  // Opens an existing layerjoule database for reading only (fit, predict, evaluate): nothing
  // is created or written, not even the schema, a migration or WAL mode. Throws StoreError
  // naming the path for a missing file, a file that is not SQLite, an empty or foreign
  // database, or a newer schema version; every write through it throws StoreError ("attempt to
  // write a readonly database").
  enum class Access { kReadWrite, kReadOnly };
  Store(const std::string& path, Access access);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Returns the id of an identical existing host row, or inserts one.
  int64_t UpsertHost(const HostInfo& host);
  std::optional<HostInfo> GetHost(int64_t host_id);
  // Inserts a run with status "running"; returns its id.
  int64_t CreateRun(const RunInfo& run);
  std::optional<RunInfo> GetRun(int64_t run_id);
  // The most recent run of `kind` that was interrupted, or is still "running" (a process
  // killed with SIGKILL leaves that); never a "failed" or "finished" one.
  std::optional<RunInfo> LastUnfinishedRun(const std::string& kind);
  void SetRunStatus(int64_t run_id, const std::string& status);  // also sets ended_at
  // "Was this file imported already?": the first run of `kind` whose source_json has
  // "content_fnv1a64" equal to content_hash and, unless `file` is "", "file" equal to `file`.
  std::optional<int64_t> FindRunBySourceHash(const std::string& kind, const std::string& file,
                                             const std::string& content_hash);
  // Table run_options: an option of a run that changes its config stream (see db/schema.sql).
  // SetRunOption inserts or replaces; GetRunOption returns nullopt for an option never set, also
  // on a read-only database written before the table existed.
  void SetRunOption(int64_t run_id, const std::string& name, const std::string& value);
  std::optional<std::string> GetRunOption(int64_t run_id, const std::string& name);

  // Inserts all rows (normally the forward and backward pass of one config) in one transaction.
  void InsertSamples(const std::vector<SampleRow>& rows);
  void InsertFailure(const FailureRow& failure);
  void InsertIdle(const IdleRow& idle);
  // Inserts all rows (normally the phases of one iteration) in one transaction.
  void InsertNetworkSamples(const std::vector<NetworkSampleRow>& rows);
  // Inserts the rows of one speed probe (measure/speed_probe.h) in one transaction.
  void InsertSpeedProbe(const std::vector<SpeedProbeRow>& rows);

  // Number of distinct sample_index values with samples / with failures in a run.
  int64_t CountStoredConfigs(int64_t run_id);
  int64_t CountFailures(int64_t run_id);
  // Highest sample_index attempted (samples or failures) in a run, or -1.
  int64_t MaxAttemptedIndex(int64_t run_id);

  // All samples, optionally of one layer ("" = all), ordered by id. For fit.
  std::vector<SampleRow> ReadSamples(const std::string& layer = "");
  // Hostname of the run's host.
  std::string HostnameOfRun(int64_t run_id);

  // All runs, ordered by id.
  std::vector<RunInfo> ReadRuns();
  // Number of sample rows (passes, not configs) in a run.
  int64_t CountSamples(int64_t run_id);
  // Failures and idle readings of one run, ordered by id.
  std::vector<FailureRow> ReadFailures(int64_t run_id);
  std::vector<IdleRow> ReadIdle(int64_t run_id);
  // Network samples of one network ("" = all networks), ordered by id.
  std::vector<NetworkSampleRow> ReadNetworkSamples(const std::string& network = "");
  // Every speed probe row, ordered by id (none before schema 5).
  std::vector<SpeedProbeRow> ReadSpeedProbes();

  const std::string& path() const;
  // The file's schema version: kSchemaVersion, or an older one opened read-only.
  int schema_version() const { return schema_version_; }
  sqlite3* handle();  // for tests and other tables added later

 private:
  // db/store_merge.h: runs SQL across two files (ATTACH) on the output's connection.
  friend std::vector<MergeSummary> MergeDatabases(const std::string& output,
                                                  const std::vector<std::string>& inputs);
  std::unique_ptr<Connection> connection_;
  int schema_version_ = 0;
};

}  // namespace lj
