#pragma once
// Prepared SQLite statements, SQLiteCpp's Statement reduced to what the store needs: bind
// parameters in order, step through rows, read columns by index. A Statement is one use of a
// statement from its connection's StatementCache (prepared once per SQL text, finalized with
// the connection) and resets it when it goes out of scope, so it can be reused.
// Every failure throws StoreError("<path>: <what>: <sqlite3_errmsg>").
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace lj {

// Throws StoreError("<path>: <what>: <sqlite3_errmsg(db)>").
[[noreturn]] void ThrowSqlite(sqlite3* db, const std::string& path, const std::string& what);

// Prepared statements keyed by their SQL text; each is prepared on first use.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache();
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // Returns nullptr (and leaves the error in sqlite3_errmsg) if the SQL does not compile.
  sqlite3_stmt* Get(const std::string& sql);

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

class Statement {
 public:
  // `what` names the operation in errors ("insert sample (run 3, index 7, conv2d forward)").
  Statement(sqlite3* db, const std::string& path, StatementCache& cache, const std::string& sql,
            std::string what);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds the next parameter (1-based, in order); nullopt binds NULL.
  Statement& Bind(int64_t value);
  Statement& Bind(int value) { return Bind(static_cast<int64_t>(value)); }
  Statement& Bind(double value);
  Statement& Bind(const std::string& value);
  Statement& Bind(const std::optional<double>& value);
  Statement& Bind(const std::optional<int64_t>& value);
  Statement& Bind(const std::optional<std::string>& value);

  // True while a row is available; false when done.
  bool Step();
  // Runs a statement that returns no rows.
  void Run();

  // Columns of the current row, 0-based. Text of a NULL column is "".
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  std::optional<double> OptDouble(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::optional<std::string> OptText(int col) const;

 private:
  Statement& Check(int rc);

  sqlite3* db_;
  const std::string& path_;
  std::string what_;
  sqlite3_stmt* stmt_ = nullptr;
  int next_ = 0;
};

// SQL text built from one column list "a, b, c", so that a table's columns are written once:
// InsertSql("t", "a, b") = "INSERT INTO t (a, b) VALUES (?, ?)" (verb e.g. "INSERT OR IGNORE");
// AllEqualSql("a, b")    = "a = ? AND b = ?".
std::string InsertSql(const std::string& table, const std::string& columns,
                      const std::string& verb = "INSERT");
std::string AllEqualSql(const std::string& columns);

}  // namespace lj
