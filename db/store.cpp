#include "db/store.h"

#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "layerjoule/schema_sql.h"  // kSchemaSql, generated from db/schema.sql

namespace lj {

// Prepared statements keyed by their SQL text; each is prepared on first use and finalized
// with the store.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache() {
    for (auto& entry : statements_) sqlite3_finalize(entry.second);
  }
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // Returns nullptr (and leaves the error in sqlite3_errmsg) if the SQL does not compile.
  sqlite3_stmt* Get(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return nullptr;
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

namespace {

constexpr const char* kNowUtc = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

[[noreturn]] void Throw(sqlite3* db, const std::string& path, const std::string& what) {
  throw StoreError(path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// One use of a cached prepared statement: binds parameters (1-based, in order), steps, and
// resets the statement when it goes out of scope so that it can be reused.
class Query {
 public:
  Query(sqlite3* db, const std::string& path, StatementCache& cache, const char* sql,
        std::string what)
      : db_(db), path_(path), what_(std::move(what)) {
    stmt_ = cache.Get(sql);
    if (stmt_ == nullptr) Throw(db_, path_, "prepare " + what_);
  }
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Bind(int64_t value) { return Check(sqlite3_bind_int64(stmt_, ++next_, value)); }
  Query& Bind(int value) { return Bind(static_cast<int64_t>(value)); }
  Query& Bind(double value) { return Check(sqlite3_bind_double(stmt_, ++next_, value)); }
  Query& Bind(const std::string& value) {
    return Check(sqlite3_bind_text(stmt_, ++next_, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT));
  }
  Query& Bind(const std::optional<double>& value) {
    return value ? Bind(*value) : Check(sqlite3_bind_null(stmt_, ++next_));
  }
  Query& Bind(const std::optional<std::string>& value) {
    return value ? Bind(*value) : Check(sqlite3_bind_null(stmt_, ++next_));
  }

  // True while a row is available; false when done. Throws StoreError on failure.
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Throw(db_, path_, what_);
  }
  // Runs a statement that returns no rows.
  void Run() {
    while (Step()) {
    }
  }

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::optional<double> OptDouble(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Double(col);
  }
  std::optional<std::string> OptText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }

 private:
  Query& Check(int rc) {
    if (rc != SQLITE_OK)
      Throw(db_, path_, "bind parameter " + std::to_string(next_) + " of " + what_);
    return *this;
  }

  sqlite3* db_;
  const std::string& path_;
  std::string what_;
  sqlite3_stmt* stmt_ = nullptr;
  int next_ = 0;
};

constexpr const char* kRunColumns =
    "id, host_id, command_line, seed, kind, layer, bounds_json, target_n, meter, status, "
    "min_time_s, trials, started_at, ended_at";

RunInfo ReadRun(const Query& q) {
  RunInfo run;
  run.id = q.Int(0);
  run.host_id = q.Int(1);
  run.command_line = q.Text(2);
  run.seed = static_cast<uint64_t>(q.Int(3));  // stored as two's-complement int64
  run.kind = q.Text(4);
  run.layer = q.Text(5);
  run.bounds_json = q.Text(6);
  run.target_n = q.Int(7);
  run.meter = q.Text(8);
  run.status = q.Text(9);
  run.min_time_s = q.Double(10);
  run.trials = static_cast<int>(q.Int(11));
  run.started_at = q.Text(12);
  run.ended_at = q.Text(13);  // "" while NULL (running)
  return run;
}

bool IsFilePath(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Transaction

Store::Transaction::Transaction(Store& store) : store_(store) {
  if (sqlite3_get_autocommit(store_.db_) != 0) {
    store_.Exec("BEGIN IMMEDIATE", "begin transaction");
  } else {
    savepoint_ = "lj_savepoint_" + std::to_string(store_.transaction_depth_);
    store_.Exec(("SAVEPOINT " + savepoint_).c_str(), "begin savepoint");
  }
  ++store_.transaction_depth_;
}

Store::Transaction::~Transaction() {
  --store_.transaction_depth_;
  if (done_) return;
  // Never throw from here; a failed rollback leaves SQLite to roll back when the connection
  // closes (or it has already rolled back by itself after e.g. SQLITE_FULL).
  if (savepoint_.empty()) {
    if (sqlite3_get_autocommit(store_.db_) == 0) {
      sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  } else {
    std::string sql = "ROLLBACK TO " + savepoint_ + "; RELEASE " + savepoint_;
    sqlite3_exec(store_.db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
}

void Store::Transaction::Commit() {
  if (done_) throw StoreError(store_.path_ + ": transaction committed twice");
  if (savepoint_.empty()) {
    store_.Exec("COMMIT", "commit transaction");
  } else {
    store_.Exec(("RELEASE " + savepoint_).c_str(), "release savepoint");
  }
  done_ = true;
}

// ---------------------------------------------------------------------------------------------
// Opening and schema

Store::Store(const std::string& path) : Store(path, Access::kReadWrite) {}

Store::Store(const std::string& path, Access access) : path_(path) {
  const bool read_only = access == Access::kReadOnly;
  if (read_only && !std::filesystem::is_regular_file(path)) {
    throw StoreError(path + ": cannot open database: " +
                     (std::filesystem::exists(path) ? "not a regular file" : "no such file"));
  }
  if (!read_only && IsFilePath(path)) {
    std::error_code type_error;
    const auto status = std::filesystem::status(path, type_error);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
      // A FIFO would block SQLite's first read forever; a directory or device is no database.
      throw StoreError(path + ": cannot open database: not a regular file");
    }
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw StoreError(path + ": cannot create directory " + parent.string() + ": " + ec.message());
    }
  }
  const int flags = read_only ? SQLITE_OPEN_READONLY
                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path + ": cannot open database: " + message);
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    // Other processes (a second measure, a notebook) may hold the write lock briefly. A reader
    // (fit, predict, evaluate) waits less: in WAL mode only an exclusive-mode writer or a
    // recovery blocks it, and a tool stuck behind one should say so soon.
    sqlite3_busy_timeout(db_, read_only ? 3000 : 10000);
    statements_ = std::make_unique<StatementCache>(db_);
    CheckAndApplySchema(read_only);
  } catch (...) {
    statements_.reset();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() {
  statements_.reset();  // finalize before close, or sqlite3_close would refuse
  sqlite3_close(db_);
}

void Store::Exec(const char* sql, const char* what) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw StoreError(path_ + ": " + what + ": " + message);
  }
}

void Store::CheckAndApplySchema(bool read_only) {
  // 1. Read only, so that a foreign or newer file is refused before anything is written to it.
  int64_t objects = 0;
  {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) objects = sqlite3_column_int64(stmt, 0);
    std::string message = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if ((rc & 0xff) == SQLITE_NOTADB) {
      throw StoreError(path_ + ": not a SQLite database (" + message + ")");
    }
    if (rc != SQLITE_ROW) throw StoreError(path_ + ": read schema: " + message);
  }
  if (objects > 0) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
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
      throw StoreError(path_ +
                       ": not a layerjoule database (it has tables but no "
                       "meta.schema_version)");
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
      throw StoreError(path_ + ": not a layerjoule database (meta.schema_version is '" + value +
                       "')");
    }
    if (version > kSchemaVersion) {
      throw StoreError(path_ + ": schema version " + std::to_string(version) +
                       " is newer than this layerjoule (" + std::to_string(kSchemaVersion) +
                       "); upgrade layerjoule");
    }
    // version < kSchemaVersion: migrations go here once there is more than one version.
  } else if (read_only) {
    throw StoreError(path_ + ": not a layerjoule database (it is empty)");
  }
  if (read_only) {
    Exec("PRAGMA query_only = ON", "make the connection read-only");
    return;
  }

  // 2. WAL: readers (notebooks) never block the writer, and a commit is one append to the log.
  // synchronous=NORMAL in WAL mode fsyncs only at checkpoints: a committed transaction survives
  // a crash or kill -9 of the process (the log is in the OS page cache); only a power loss or
  // kernel crash can lose the last few commits, never corrupt the file. That is the failure
  // that matters for a night of measurements, and it saves an fsync per stored config.
  Exec("PRAGMA journal_mode = WAL", "enable WAL journal mode");
  Exec("PRAGMA synchronous = NORMAL", "set synchronous = NORMAL");
  Exec("PRAGMA foreign_keys = ON", "enable foreign keys");

  // 3. Create what is missing (idempotent) and record the version of a new database.
  Transaction txn(*this);
  Exec(kSchemaSql, "apply schema (db/schema.sql)");
  std::string insert_version =
      "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '" +
      std::to_string(kSchemaVersion) + "')";
  Exec(insert_version.c_str(), "record schema version");
  txn.Commit();
}

// ---------------------------------------------------------------------------------------------
// Hosts and runs

int64_t Store::UpsertHost(const HostInfo& host) {
  Transaction txn(*this);
  const std::string what = "upsert host '" + host.hostname + "'";
  {
    Query q(db_, path_, *statements_,
            "INSERT OR IGNORE INTO hosts (hostname, cpu_model, sockets, cores, threads_used, "
            "torch_version, blas, rapl_domains) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            what);
    q.Bind(host.hostname).Bind(host.cpu_model).Bind(host.sockets).Bind(host.cores);
    q.Bind(host.threads_used).Bind(host.torch_version).Bind(host.blas).Bind(host.rapl_domains);
    q.Run();
  }
  int64_t id = 0;
  {
    Query q(db_, path_, *statements_,
            "SELECT id FROM hosts WHERE hostname = ? AND cpu_model = ? AND sockets = ? AND "
            "cores = ? AND threads_used = ? AND torch_version = ? AND blas = ? AND "
            "rapl_domains = ?",
            what);
    q.Bind(host.hostname).Bind(host.cpu_model).Bind(host.sockets).Bind(host.cores);
    q.Bind(host.threads_used).Bind(host.torch_version).Bind(host.blas).Bind(host.rapl_domains);
    if (!q.Step()) throw StoreError(path_ + ": " + what + ": row vanished after insert");
    id = q.Int(0);
  }
  txn.Commit();
  return id;
}

std::optional<HostInfo> Store::GetHost(int64_t host_id) {
  Query q(db_, path_, *statements_,
          "SELECT hostname, cpu_model, sockets, cores, threads_used, torch_version, blas, "
          "rapl_domains FROM hosts WHERE id = ?",
          "read host " + std::to_string(host_id));
  q.Bind(host_id);
  if (!q.Step()) return std::nullopt;
  HostInfo host;
  host.hostname = q.Text(0);
  host.cpu_model = q.Text(1);
  host.sockets = static_cast<int>(q.Int(2));
  host.cores = static_cast<int>(q.Int(3));
  host.threads_used = static_cast<int>(q.Int(4));
  host.torch_version = q.Text(5);
  host.blas = q.Text(6);
  host.rapl_domains = q.Text(7);
  return host;
}

int64_t Store::CreateRun(const RunInfo& run) {
  Query q(db_, path_, *statements_,
          "INSERT INTO runs (host_id, command_line, seed, kind, layer, bounds_json, target_n, "
          "meter, status, min_time_s, trials) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
          "create run (kind '" + run.kind + "', host " + std::to_string(run.host_id) + ")");
  q.Bind(run.host_id).Bind(run.command_line).Bind(static_cast<int64_t>(run.seed));
  q.Bind(run.kind).Bind(run.layer).Bind(run.bounds_json).Bind(run.target_n).Bind(run.meter);
  q.Bind(run.min_time_s).Bind(run.trials);
  q.Run();
  return sqlite3_last_insert_rowid(db_);
}

std::optional<RunInfo> Store::GetRun(int64_t run_id) {
  static const std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?";
  Query q(db_, path_, *statements_, sql.c_str(), "read run " + std::to_string(run_id));
  q.Bind(run_id);
  if (!q.Step()) return std::nullopt;
  return ReadRun(q);
}

std::optional<RunInfo> Store::LastUnfinishedRun(const std::string& kind) {
  static const std::string sql =
      std::string("SELECT ") + kRunColumns +
      " FROM runs WHERE kind = ? AND status IN ('running', 'interrupted') "
      "ORDER BY id DESC LIMIT 1";
  Query q(db_, path_, *statements_, sql.c_str(), "find last unfinished '" + kind + "' run");
  q.Bind(kind);
  if (!q.Step()) return std::nullopt;
  return ReadRun(q);
}

void Store::SetRunStatus(int64_t run_id, const std::string& status) {
  static const std::string sql = std::string(
                                     "UPDATE runs SET status = ?1, ended_at = CASE WHEN ?1 = "
                                     "'running' THEN NULL ELSE ") +
                                 kNowUtc + " END WHERE id = ?2";
  const std::string what = "set status of run " + std::to_string(run_id) + " to '" + status + "'";
  Query q(db_, path_, *statements_, sql.c_str(), what);
  q.Bind(status).Bind(run_id);
  q.Run();
  if (sqlite3_changes(db_) != 1) throw StoreError(path_ + ": " + what + ": no such run");
}

void Store::SetRunOption(int64_t run_id, const std::string& name, const std::string& value) {
  Query q(db_, path_, *statements_,
          "INSERT OR REPLACE INTO run_options (run_id, name, value) VALUES (?, ?, ?)",
          "store option '" + name + "' of run " + std::to_string(run_id));
  q.Bind(run_id).Bind(name).Bind(value);
  q.Run();
}

std::optional<std::string> Store::GetRunOption(int64_t run_id, const std::string& name) {
  {
    // A read-only open applies no schema: a database older than the table has none.
    Query exists(db_, path_, *statements_,
                 "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_options'",
                 "look for table run_options");
    if (!exists.Step()) return std::nullopt;
  }
  Query q(db_, path_, *statements_, "SELECT value FROM run_options WHERE run_id = ? AND name = ?",
          "read option '" + name + "' of run " + std::to_string(run_id));
  q.Bind(run_id).Bind(name);
  if (!q.Step()) return std::nullopt;
  return q.Text(0);
}

std::vector<RunInfo> Store::ReadRuns() {
  static const std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id";
  Query q(db_, path_, *statements_, sql.c_str(), "read runs");
  std::vector<RunInfo> runs;
  while (q.Step()) runs.push_back(ReadRun(q));
  return runs;
}

std::string Store::HostnameOfRun(int64_t run_id) {
  const std::string what = "read hostname of run " + std::to_string(run_id);
  Query q(db_, path_, *statements_,
          "SELECT h.hostname FROM runs AS r JOIN hosts AS h ON h.id = r.host_id WHERE r.id = ?",
          what);
  q.Bind(run_id);
  if (!q.Step()) throw StoreError(path_ + ": " + what + ": no such run");
  return q.Text(0);
}

// ---------------------------------------------------------------------------------------------
// Samples, failures, idle power

void Store::InsertSamples(const std::vector<SampleRow>& rows) {
  Transaction txn(*this);
  for (const SampleRow& row : rows) {
    Query q(db_, path_, *statements_,
            "INSERT INTO samples (run_id, sample_index, layer, pass, config, repetitions, "
            "trials, time_s, time_std_s, energy_j, energy_std_j, energy_by_socket_j, "
            "dram_energy_j, psys_energy_j, idle_power_w, meter, sweep, sweep_value, notes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "insert sample (run " + std::to_string(row.run_id) + ", index " +
                std::to_string(row.sample_index) + ", " + row.layer + " " + row.pass + ")");
    q.Bind(row.run_id).Bind(row.sample_index).Bind(row.layer).Bind(row.pass).Bind(row.config);
    q.Bind(row.repetitions).Bind(row.trials).Bind(row.time_s).Bind(row.time_std_s);
    q.Bind(row.energy_j).Bind(row.energy_std_j).Bind(row.energy_by_socket_j);
    q.Bind(row.dram_energy_j).Bind(row.psys_energy_j).Bind(row.idle_power_w).Bind(row.meter);
    q.Bind(row.sweep).Bind(row.sweep_value).Bind(row.notes);
    q.Run();
  }
  txn.Commit();
}

void Store::InsertFailure(const FailureRow& failure) {
  Query q(db_, path_, *statements_,
          "INSERT INTO failures (run_id, sample_index, layer, config, error) "
          "VALUES (?, ?, ?, ?, ?)",
          "insert failure (run " + std::to_string(failure.run_id) + ", index " +
              std::to_string(failure.sample_index) + ")");
  q.Bind(failure.run_id).Bind(failure.sample_index).Bind(failure.layer).Bind(failure.config);
  q.Bind(failure.error);
  q.Run();
}

void Store::InsertIdle(const IdleRow& idle) {
  Query q(db_, path_, *statements_,
          "INSERT INTO idle_power (run_id, duration_s, package_power_w, dram_power_w, "
          "by_socket_w) VALUES (?, ?, ?, ?, ?)",
          "insert idle power (run " + std::to_string(idle.run_id) + ")");
  q.Bind(idle.run_id).Bind(idle.duration_s).Bind(idle.package_power_w).Bind(idle.dram_power_w);
  q.Bind(idle.by_socket_w);
  q.Run();
}

int64_t Store::CountStoredConfigs(int64_t run_id) {
  Query q(db_, path_, *statements_,
          "SELECT count(DISTINCT sample_index) FROM samples WHERE run_id = ?",
          "count stored configs of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.Int(0);
}

int64_t Store::CountFailures(int64_t run_id) {
  Query q(db_, path_, *statements_,
          "SELECT count(DISTINCT sample_index) FROM failures WHERE run_id = ?",
          "count failures of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.Int(0);
}

int64_t Store::CountSamples(int64_t run_id) {
  Query q(db_, path_, *statements_, "SELECT count(*) FROM samples WHERE run_id = ?",
          "count samples of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.Int(0);
}

int64_t Store::MaxAttemptedIndex(int64_t run_id) {
  Query q(db_, path_, *statements_,
          "SELECT max(m) FROM (SELECT max(sample_index) AS m FROM samples WHERE run_id = ?1 "
          "UNION ALL SELECT max(sample_index) FROM failures WHERE run_id = ?1)",
          "find highest attempted index of run " + std::to_string(run_id));
  q.Bind(run_id);
  q.Step();
  return q.IsNull(0) ? -1 : q.Int(0);
}

std::vector<SampleRow> Store::ReadSamples(const std::string& layer) {
  Query q(db_, path_, *statements_,
          "SELECT run_id, sample_index, layer, pass, config, repetitions, trials, time_s, "
          "time_std_s, energy_j, energy_std_j, energy_by_socket_j, dram_energy_j, "
          "psys_energy_j, idle_power_w, meter, sweep, sweep_value, notes "
          "FROM samples WHERE ?1 = '' OR layer = ?1 ORDER BY id",
          layer.empty() ? std::string("read samples") : "read " + layer + " samples");
  q.Bind(layer);
  std::vector<SampleRow> rows;
  while (q.Step()) {
    SampleRow row;
    row.run_id = q.Int(0);
    row.sample_index = q.Int(1);
    row.layer = q.Text(2);
    row.pass = q.Text(3);
    row.config = q.Text(4);
    row.repetitions = q.Int(5);
    row.trials = static_cast<int>(q.Int(6));
    row.time_s = q.Double(7);
    row.time_std_s = q.Double(8);
    row.energy_j = q.OptDouble(9);
    row.energy_std_j = q.OptDouble(10);
    row.energy_by_socket_j = q.OptText(11);
    row.dram_energy_j = q.OptDouble(12);
    row.psys_energy_j = q.OptDouble(13);
    row.idle_power_w = q.OptDouble(14);
    row.meter = q.Text(15);
    row.sweep = q.OptText(16);
    row.sweep_value = q.OptDouble(17);
    row.notes = q.OptText(18);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<FailureRow> Store::ReadFailures(int64_t run_id) {
  Query q(db_, path_, *statements_,
          "SELECT run_id, sample_index, layer, config, error FROM failures WHERE run_id = ? "
          "ORDER BY id",
          "read failures of run " + std::to_string(run_id));
  q.Bind(run_id);
  std::vector<FailureRow> rows;
  while (q.Step()) {
    FailureRow row;
    row.run_id = q.Int(0);
    row.sample_index = q.Int(1);
    row.layer = q.Text(2);
    row.config = q.Text(3);
    row.error = q.Text(4);
    rows.push_back(std::move(row));
  }
  return rows;
}

void Store::InsertNetworkSamples(const std::vector<NetworkSampleRow>& rows) {
  Transaction txn(*this);
  for (const NetworkSampleRow& row : rows) {
    Query q(db_, path_, *statements_,
            "INSERT INTO network_samples (run_id, network, batch_size, phase, iteration, time_s, "
            "energy_j, dram_energy_j, idle_power_w, meter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            "insert network sample (run " + std::to_string(row.run_id) + ", " + row.network +
                " iteration " + std::to_string(row.iteration) + " " + row.phase + ")");
    q.Bind(row.run_id).Bind(row.network).Bind(row.batch_size).Bind(row.phase);
    q.Bind(row.iteration).Bind(row.time_s).Bind(row.energy_j).Bind(row.dram_energy_j);
    q.Bind(row.idle_power_w).Bind(row.meter);
    q.Run();
  }
  txn.Commit();
}

std::vector<NetworkSampleRow> Store::ReadNetworkSamples(const std::string& network) {
  Query q(db_, path_, *statements_,
          "SELECT run_id, network, batch_size, phase, iteration, time_s, energy_j, "
          "dram_energy_j, idle_power_w, meter FROM network_samples "
          "WHERE ? = '' OR network = ? ORDER BY id",
          "read network samples" + (network.empty() ? std::string() : " of " + network));
  q.Bind(network).Bind(network);
  std::vector<NetworkSampleRow> rows;
  while (q.Step()) {
    NetworkSampleRow row;
    row.run_id = q.Int(0);
    row.network = q.Text(1);
    row.batch_size = q.Int(2);
    row.phase = q.Text(3);
    row.iteration = q.Int(4);
    row.time_s = q.Double(5);
    row.energy_j = q.OptDouble(6);
    row.dram_energy_j = q.OptDouble(7);
    row.idle_power_w = q.OptDouble(8);
    row.meter = q.Text(9);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<IdleRow> Store::ReadIdle(int64_t run_id) {
  Query q(db_, path_, *statements_,
          "SELECT run_id, duration_s, package_power_w, dram_power_w, by_socket_w "
          "FROM idle_power WHERE run_id = ? ORDER BY id",
          "read idle power of run " + std::to_string(run_id));
  q.Bind(run_id);
  std::vector<IdleRow> rows;
  while (q.Step()) {
    IdleRow row;
    row.run_id = q.Int(0);
    row.duration_s = q.Double(1);
    row.package_power_w = q.Double(2);
    row.dram_power_w = q.OptDouble(3);
    row.by_socket_w = q.OptText(4);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace lj
