#include "db/connection.h"

#include <sqlite3.h>

#include <filesystem>
#include <system_error>

#include "core/errors.h"

namespace lj {

int64_t SqliteHeapBytes() { return static_cast<int64_t>(sqlite3_memory_used()); }
namespace {

bool IsFilePath(const std::string& path) {
  return !path.empty() && path != ":memory:" && path.rfind("file:", 0) != 0;
}

// Checks the path and opens it; returns the handle (never nullptr) or throws.
sqlite3* Open(const std::string& path, bool read_only) {
  if (read_only && !std::filesystem::is_regular_file(path)) {
    throw StoreError(path + ": cannot open database: " +
                     (std::filesystem::exists(path) ? "not a regular file" : "no such file"));
  }
  if (!read_only && IsFilePath(path)) {
    std::error_code type_error;
    const auto status = std::filesystem::status(path, type_error);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
      throw StoreError(path + ": cannot open database: not a regular file");
    }
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw StoreError(path + ": cannot create directory " + parent.string() + ": " + ec.message());
    }
  }
  const int flags = read_only ? SQLITE_OPEN_READONLY
                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw StoreError(path + ": cannot open database: " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  // Other processes (a second measure, a notebook) may hold the write lock briefly. A reader
  // (fit, predict, evaluate) waits less: in WAL mode only an exclusive-mode writer or a
  // recovery blocks it, and a tool stuck behind one should say so soon.
  sqlite3_busy_timeout(db, read_only ? 3000 : 10000);
  return db;
}

}  // namespace

Connection::Connection(const std::string& path, Access access)
    : db_(Open(path, access == Access::kReadOnly)),
      path_(path),
      read_only_(access == Access::kReadOnly),
      statements_(db_) {}

// sqlite3_close_v2 leaves the connection open until statements_ (destroyed after this body)
// has finalized its statements.
Connection::~Connection() { sqlite3_close_v2(db_); }

void Connection::Exec(const std::string& sql, const std::string& what) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw StoreError(path_ + ": " + what + ": " + message);
  }
}

int64_t Connection::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }

int Connection::Changes() const { return sqlite3_changes(db_); }

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace lj
