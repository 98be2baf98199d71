#include "db/statement.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

#include "core/errors.h"

namespace lj {

void ThrowSqlite(sqlite3* db, const std::string& path, const std::string& what) {
  throw StoreError(path + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

StatementCache::~StatementCache() {
  for (auto& entry : statements_) sqlite3_finalize(entry.second);
}

sqlite3_stmt* StatementCache::Get(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(stmt);
    return nullptr;
  }
  statements_.emplace(sql, stmt);
  return stmt;
}

Statement::Statement(sqlite3* db, const std::string& path, StatementCache& cache,
                     const std::string& sql, std::string what)
    : db_(db), path_(path), what_(std::move(what)) {
  stmt_ = cache.Get(sql);
  if (stmt_ == nullptr) ThrowSqlite(db_, path_, "prepare " + what_);
}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement& Statement::Bind(int64_t value) {
  return Check(sqlite3_bind_int64(stmt_, ++next_, value));
}

Statement& Statement::Bind(double value) {
  return Check(sqlite3_bind_double(stmt_, ++next_, value));
}

Statement& Statement::Bind(const std::string& value) {
  return Check(sqlite3_bind_text(stmt_, ++next_, value.data(), static_cast<int>(value.size()),
                                 SQLITE_TRANSIENT));
}

Statement& Statement::Bind(const std::optional<double>& value) {
  return value ? Bind(*value) : Check(sqlite3_bind_null(stmt_, ++next_));
}

Statement& Statement::Bind(const std::optional<int64_t>& value) {
  return value ? Bind(*value) : Check(sqlite3_bind_null(stmt_, ++next_));
}

Statement& Statement::Bind(const std::optional<std::string>& value) {
  return value ? Bind(*value) : Check(sqlite3_bind_null(stmt_, ++next_));
}

bool Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  ThrowSqlite(db_, path_, what_);
}

void Statement::Run() {
  while (Step()) {
  }
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::Double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<double> Statement::OptDouble(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Double(col);
}

std::optional<int64_t> Statement::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}

std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

Statement& Statement::Check(int rc) {
  if (rc != SQLITE_OK) {
    ThrowSqlite(db_, path_, "bind parameter " + std::to_string(next_) + " of " + what_);
  }
  return *this;
}

namespace {

// "a, b, c" -> {"a", "b", "c"}
std::vector<std::string> SplitColumns(const std::string& columns) {
  std::vector<std::string> out;
  std::string current;
  for (char c : columns) {
    if (c == ',') {
      out.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current += c;
    }
  }
  out.push_back(current);
  return out;
}

}  // namespace

std::string InsertSql(const std::string& table, const std::string& columns,
                      const std::string& verb) {
  std::string placeholders;
  for (size_t i = 0; i < SplitColumns(columns).size(); ++i) placeholders += i ? ", ?" : "?";
  return verb + " INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")";
}

std::string AllEqualSql(const std::string& columns) {
  std::string out;
  for (const std::string& column : SplitColumns(columns)) {
    out += (out.empty() ? "" : " AND ") + column + " = ?";
  }
  return out;
}

}  // namespace lj
