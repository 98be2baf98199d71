#pragma once
// The SQLite store of measurements: the only code that speaks SQL (schema in db/schema.sql).
// WAL mode, prepared statements, one transaction per stored config so that `kill -9` leaves
// either both passes of a config or neither. Opening a database written by a newer schema
// version throws StoreError.
// Every SQLite failure throws StoreError("<path>: <what was being done>: <sqlite3_errmsg>").
// A Store is one connection and is not thread-safe; several processes may share a file (WAL,
// busy timeout). Timestamps (started_at, ended_at, created_at) are ISO-8601 UTC set by SQLite.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/layer_config.h"

struct sqlite3;

namespace lj {

// Stored in table hosts; one row per distinct (hostname, cpu_model, ..., threads) description.
struct HostInfo {
  std::string hostname;
  std::string cpu_model;
  int sockets = 0;
  int cores = 0;         // physical cores in total
  int threads_used = 0;  // intra-op threads given to LibTorch
  std::string torch_version;
  std::string blas;          // e.g. "OpenBLAS 0.3.21 (pthread)"
  std::string rapl_domains;  // e.g. "package-0,package-1,dram-0"; "" without a meter
};

// Stored in table runs.
struct RunInfo {
  int64_t id = 0;  // assigned by CreateRun
  int64_t host_id = 0;
  std::string command_line;
  uint64_t seed = 0;
  std::string kind;         // "random", "sweep", "import", "network"
  std::string layer;        // "conv2d", ... ("" for network runs)
  std::string bounds_json;  // bounds or sweep file content, verbatim
  int64_t target_n = 0;     // configs wanted (random runs)
  std::string meter;        // "rapl" or "none"
  std::string status;       // "running", "interrupted", "finished", "failed"
  double min_time_s = 0;
  int trials = 0;
  std::string started_at;  // ISO-8601 UTC, set by the store
  std::string ended_at;
};

// One row of table samples: one pass of one config, means per single execution.
struct SampleRow {
  int64_t run_id = 0;
  int64_t sample_index = 0;  // index in the run's seed stream (deterministic per index)
  std::string layer;         // "conv2d", "maxpool2d", "linear"
  std::string pass;          // "forward", "backward"
  std::string config;        // JSON text, torch.nn names (see core/layer_config.h ToJson)
  int64_t repetitions = 0;   // executions per trial
  int trials = 0;
  double time_s = 0;               // mean wall time of one execution
  double time_std_s = 0;           // standard deviation over trials of the per-execution time
  std::optional<double> energy_j;  // package energy summed over sockets, per execution
  std::optional<double> energy_std_j;
  std::optional<std::string> energy_by_socket_j;  // JSON array, one per package zone
  std::optional<double> dram_energy_j;
  std::optional<double> psys_energy_j;
  std::optional<double> idle_power_w;  // package idle power (summed) most recently measured
  std::string meter;                   // "rapl", "none", or an import source like "pyrapl"
  std::optional<std::string> sweep;    // sweep name for one-factor sweeps
  std::optional<double> sweep_value;   // value of the varied parameter
  std::optional<std::string> notes;    // e.g. what an imported backward covers
};

// A config that threw while building or running; the run goes on.
struct FailureRow {
  int64_t run_id = 0;
  int64_t sample_index = 0;
  std::string layer;
  std::string config;  // JSON text
  std::string error;
};

// Idle power readings taken at run start and periodically.
struct IdleRow {
  int64_t run_id = 0;
  double duration_s = 0;
  double package_power_w = 0;  // summed over sockets
  std::optional<double> dram_power_w;
  std::optional<std::string> by_socket_w;  // JSON array
};

// One row of table network_samples: one phase of one training iteration of a whole network
// (measure --net), written per iteration; warm-up iterations are not stored.
struct NetworkSampleRow {
  int64_t run_id = 0;
  std::string network;  // net.json "name", or the TorchScript file name without extension
  int64_t batch_size = 0;
  std::string phase;               // "forward", "loss", "backward", "optimizer", "iteration"
  int64_t iteration = 0;           // 0-based index of the measured iteration
  double time_s = 0;               // wall time of this phase in this iteration
  std::optional<double> energy_j;  // package energy summed over sockets, this phase
  std::optional<double> dram_energy_j;
  std::optional<double> idle_power_w;  // package idle power most recently measured
  std::string meter;                   // "rapl" or "none"
};

class StatementCache;

class Store {
 public:
  static constexpr int kSchemaVersion = 1;

  // Scoped transaction: rolls back in its destructor unless Commit() was called (the destructor
  // never throws). Transactions nest: the outermost is BEGIN IMMEDIATE (takes the write lock up
  // front, so a read-then-write sequence cannot hit SQLITE_BUSY mid-way), inner ones are
  // SAVEPOINTs, so e.g. InsertSamples inside an import's transaction commits with the import.
  class Transaction {
   public:
    explicit Transaction(Store& store);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    // Throws StoreError if the commit fails (the transaction is then rolled back).
    void Commit();

   private:
    Store& store_;
    std::string savepoint_;  // "" for the outermost (BEGIN/COMMIT) transaction
    bool done_ = false;
  };

  // Opens or creates the database at `path` (":memory:" allowed), creates missing parent
  // directories, applies the schema, enables WAL and foreign keys, and sets a busy timeout.
  // Throws StoreError naming the path if the file is not a layerjoule database or has a
  // schema version newer than kSchemaVersion.
  explicit Store(const std::string& path);
  // Opens an existing layerjoule database for reading only (fit, predict, evaluate): nothing
  // is created or written, not even the schema or WAL mode. Throws StoreError naming the path
  // for a missing file, a file that is not SQLite, an empty or foreign database, or a newer
  // schema version; every write through it throws StoreError ("attempt to write a readonly
  // database").
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

  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }  // for tests and other tables added later

 private:
  void Exec(const char* sql, const char* what);
  void CheckAndApplySchema(bool read_only);

  sqlite3* db_ = nullptr;
  std::string path_;
  std::unique_ptr<StatementCache> statements_;  // prepared once, reused (e.g. the sample insert)
  int transaction_depth_ = 0;                   // open Store::Transaction objects
};

}  // namespace lj
