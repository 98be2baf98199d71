#include "db/schema_migration.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "db/connection.h"
#include "db/transaction.h"
#include "layerjoule/schema_sql.h"  // kSchemaSql, generated from db/schema.sql

namespace lj {
namespace {

// 0 for an empty database, else meta.schema_version; throws for anything else.
int ReadVersion(Connection& connection) {
  const std::string& path = connection.path();
  sqlite3* db = connection.handle();
  int64_t objects = 0;
  {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) objects = sqlite3_column_int64(stmt, 0);
    const std::string message = sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    if ((rc & 0xff) == SQLITE_NOTADB) {
      throw StoreError(path + ": not a SQLite database (" + message + ")");
    }
    if (rc != SQLITE_ROW) throw StoreError(path + ": read schema: " + message);
  }
  if (objects == 0) return 0;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                                    &stmt, nullptr);
  std::string value;
  bool found = false;
  if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    value = text ? reinterpret_cast<const char*>(text) : "";
    found = true;
  }
  sqlite3_finalize(stmt);
  if (!found) {
    throw StoreError(path +
                     ": not a layerjoule database (it has tables but no meta.schema_version)");
  }
  int version = 0;
  try {
    size_t used = 0;
    version = std::stoi(value, &used);
    if (used != value.size()) version = 0;
  } catch (const std::exception&) {
    version = 0;
  }
  if (version <= 0) {
    throw StoreError(path + ": not a layerjoule database (meta.schema_version is '" + value + "')");
  }
  if (version > kSchemaVersion) {
    throw StoreError(path + ": schema version " + std::to_string(version) +
                     " is newer than this layerjoule (" + std::to_string(kSchemaVersion) +
                     "); upgrade layerjoule");
  }
  return version;
}

// Version 1 -> 2: rebuilds runs with source_json and the kind CHECK, keeping every id, so the
// rows of samples, failures, idle_power, network_samples and run_options still point at their
// runs. SQLite's recipe for a changed table: foreign keys off and legacy ALTER TABLE (so that
// renaming runs away leaves the other tables' REFERENCES runs(id) as they are), the new table
// from db/schema.sql, a copy, the old table dropped, a foreign key check, all in one
// transaction.
void MigrateFrom1(Connection& connection) {
  connection.Exec("PRAGMA foreign_keys = OFF", "migrate to schema 2: disable foreign keys");
  connection.Exec("PRAGMA legacy_alter_table = ON", "migrate to schema 2: legacy ALTER TABLE");
  try {
    Transaction txn(connection);  // BEGIN IMMEDIATE: the write lock from here on
    // Another writer (a second measure, an import) may have migrated the file between the
    // version check and this lock.
    {
      Statement again = connection.Prepare("SELECT value FROM meta WHERE key = 'schema_version'",
                                           "migrate to schema 2: read the version again");
      if (again.Step() && again.Text(0) != "1") {
        txn.Commit();
        connection.Exec("PRAGMA legacy_alter_table = OFF",
                        "migrate to schema 2: modern ALTER TABLE");
        return;
      }
    }
    connection.Exec("ALTER TABLE runs RENAME TO runs_v1", "migrate to schema 2: rename runs");
    connection.Exec(kSchemaSql, "migrate to schema 2: apply schema (db/schema.sql)");
    connection.Exec(
        "INSERT INTO runs (id, host_id, command_line, seed, kind, layer, source_json, target_n, "
        "meter, status, min_time_s, trials, started_at, ended_at) "
        "SELECT id, host_id, command_line, seed, kind, layer, bounds_json, target_n, meter, "
        "status, min_time_s, trials, started_at, ended_at FROM runs_v1 ORDER BY id",
        "migrate to schema 2: copy runs (a run kind not in db/vocabulary.h fails here)");
    connection.Exec("DROP TABLE runs_v1", "migrate to schema 2: drop the old runs");
    {
      Statement check =
          connection.Prepare("PRAGMA foreign_key_check", "migrate to schema 2: check foreign keys");
      if (check.Step()) {
        throw StoreError(connection.path() + ": migrate to schema 2: table " + check.Text(0) +
                         " row " + std::to_string(check.Int(1)) + " refers to a missing " +
                         check.Text(2) + " row");
      }
    }
    connection.Exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'",
                    "migrate to schema 2: record the version");
    txn.Commit();
  } catch (...) {
    sqlite3_exec(connection.handle(), "PRAGMA legacy_alter_table = OFF", nullptr, nullptr, nullptr);
    throw;
  }
  connection.Exec("PRAGMA legacy_alter_table = OFF", "migrate to schema 2: modern ALTER TABLE");
}

// Version `from` -> from + 1 by ADD COLUMN statements only, in one transaction; the version
// is re-read under the write lock as above (another process may have migrated meanwhile).
// `then`: statements run after the columns were added (filling them).
void MigrateByAddingColumns(Connection& connection, int from,
                            const std::vector<std::pair<std::string, std::string>>& columns,
                            const std::vector<std::string>& then = {}) {
  const std::string to = "migrate to schema " + std::to_string(from + 1);
  Transaction txn(connection);
  {
    Statement again = connection.Prepare("SELECT value FROM meta WHERE key = 'schema_version'",
                                         to + ": read the version again");
    if (again.Step() && again.Text(0) != std::to_string(from)) {
      txn.Commit();
      return;
    }
  }
  for (const auto& [table, column] : columns) {
    const std::string name = column.substr(0, column.find(' '));
    // Version 1's migration builds runs from the current db/schema.sql: it may have it already.
    Statement has = connection.Prepare("SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
                                       to + ": inspect " + table);
    has.Bind(table).Bind(name);
    if (has.Step() && has.Int(0) > 0) continue;
    connection.Exec("ALTER TABLE " + table + " ADD COLUMN " + column,
                    to + ": add " + table + "." + name);
  }
  for (const std::string& sql : then) connection.Exec(sql, to);
  connection.Exec(
      "UPDATE meta SET value = '" + std::to_string(from + 1) + "' WHERE key = 'schema_version'",
      to + ": record the version");
  txn.Commit();
}

// Version 2 -> 3: network_samples gains peak_memory_bytes (NULL in the rows measured before).
void MigrateFrom2(Connection& connection) {
  MigrateByAddingColumns(connection, 2,
                         {{"network_samples",
                           "peak_memory_bytes INTEGER "
                           "CHECK (peak_memory_bytes IS NULL OR peak_memory_bytes >= 0)"}});
}

// Version 3 -> 4: samples gain the per-layer tensor memory, peak_memory_bytes and saved_bytes,
// and the measurement conditions (NULL in the rows measured before, and in imported ones); runs
// gain uuid, filled for the old runs from what identifies them, so that two copies of one file
// agree (db/schema.sql).
void MigrateFrom3(Connection& connection) {
  MigrateByAddingColumns(
      connection, 3,
      {{"samples",
        "peak_memory_bytes INTEGER CHECK (peak_memory_bytes IS NULL OR peak_memory_bytes >= 0)"},
       {"samples", "saved_bytes INTEGER CHECK (saved_bytes IS NULL OR saved_bytes >= 0)"},
       {"samples",
        "contention_share REAL CHECK (contention_share IS NULL OR (contention_share >= 0 AND "
        "contention_share <= 1))"},
       {"samples", "temperature_start_c REAL"},
       {"samples", "temperature_end_c REAL"},
       {"samples", "contended INTEGER CHECK (contended IS NULL OR contended IN (0, 1))"},
       {"runs", "uuid TEXT"}},
      {"UPDATE runs SET uuid = printf('legacy-%s-%s-%d-%s', (SELECT hostname FROM hosts WHERE "
       "hosts.id = runs.host_id), started_at, seed, kind) WHERE uuid IS NULL"});
}

// Version 4 -> 5: table speed_probes, which step 4 of OpenSchema creates (db/schema.sql); the
// runs measured before have no probes.
void MigrateFrom4(Connection& connection) { MigrateByAddingColumns(connection, 4, {}); }

// Version 5 -> 6: samples and network_samples gain minor_faults (NULL in the rows measured
// before, and in imported ones).
void MigrateFrom5(Connection& connection) {
  MigrateByAddingColumns(
      connection, 5,
      {{"samples", "minor_faults REAL CHECK (minor_faults IS NULL OR minor_faults >= 0)"},
       {"network_samples",
        "minor_faults INTEGER CHECK (minor_faults IS NULL OR minor_faults >= 0)"}});
}

}  // namespace

int OpenSchema(Connection& connection) {
  // 1. Read only, so that a foreign or newer file is refused before anything is written to it.
  const int version = ReadVersion(connection);
  if (connection.read_only()) {
    if (version == 0)
      throw StoreError(connection.path() + ": not a layerjoule database (it is empty)");
    connection.Exec("PRAGMA query_only = ON", "make the connection read-only");
    return version;
  }
  // 2. WAL: readers (notebooks) never block the writer, and a commit is one append to the log.
  // synchronous=NORMAL in WAL mode fsyncs only at checkpoints: a committed transaction survives
  // a crash or kill -9 of the process (the log is in the OS page cache); only a power loss or
  // kernel crash can lose the last few commits, never corrupt the file. That is the failure
  // that matters for a night of measurements, and it saves an fsync per stored config.
  connection.Exec("PRAGMA journal_mode = WAL", "enable WAL journal mode");
  connection.Exec("PRAGMA synchronous = NORMAL", "set synchronous = NORMAL");
  // 3. Migrate (foreign keys must be off while runs is rebuilt; PRAGMA foreign_keys is a no-op
  // inside a transaction, so this comes before any).
  if (version == 1) MigrateFrom1(connection);
  if (version <= 2 && version >= 1) MigrateFrom2(connection);
  if (version <= 3 && version >= 1) MigrateFrom3(connection);
  if (version <= 4 && version >= 1) MigrateFrom4(connection);
  if (version <= 5 && version >= 1) MigrateFrom5(connection);
  connection.Exec("PRAGMA foreign_keys = ON", "enable foreign keys");
  // 4. Create what is missing (idempotent) and record the version of a new database.
  Transaction txn(connection);
  connection.Exec(kSchemaSql, "apply schema (db/schema.sql)");
  connection.Exec("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '" +
                      std::to_string(kSchemaVersion) + "')",
                  "record schema version");
  txn.Commit();
  return kSchemaVersion;
}

}  // namespace lj
