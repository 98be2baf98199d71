#pragma once
// One SQLite connection to a layerjoule database file (SQLiteCpp's Database): opening with the
// checks a night-long writer needs, statements prepared once, and the transaction depth that
// db/transaction.h nests on. It knows no table; db/schema_migration.h applies the schema and
// the *_table.h mappers speak SQL for one table each. Not thread-safe.
#include <cstdint>
#include <string>
#include <utility>

#include "db/statement.h"

struct sqlite3;

namespace lj {

// Bytes of heap that SQLite holds in this process now, over all connections (page caches,
// prepared statements): sqlite3_memory_used(). measure leaves it out of a training step's peak
// memory (measure/peak_memory.h).
int64_t SqliteHeapBytes();

class Connection {
 public:
  enum class Access { kReadWrite, kReadOnly };

  // Opens `path` (":memory:" and "file:" URIs allowed for kReadWrite). kReadWrite creates the
  // file and missing parent directories and refuses an existing path that is not a regular file
  // (a FIFO would block SQLite's first read forever). kReadOnly refuses a missing file or one
  // that is not regular, and makes every write fail. Busy timeout: 10 s writing, 3 s reading.
  // Throws StoreError("<path>: cannot open database: <why>").
  Connection(const std::string& path, Access access);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without results (several statements allowed); throws StoreError naming `what`.
  void Exec(const std::string& sql, const std::string& what);
  // One use of the cached statement for `sql` (see db/statement.h).
  Statement Prepare(const std::string& sql, std::string what) {
    return Statement(db_, path_, statements_, sql, std::move(what));
  }
  int64_t LastInsertId() const;
  int Changes() const;  // rows changed by the last statement
  bool InTransaction() const;

  bool read_only() const { return read_only_; }
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

  int transaction_depth = 0;  // open Transaction objects (db/transaction.h)

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  bool read_only_ = false;
  StatementCache statements_;
};

}  // namespace lj
