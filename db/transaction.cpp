#include "db/transaction.h"

#include <sqlite3.h>

#include "core/errors.h"
#include "db/connection.h"

namespace lj {

Transaction::Transaction(Connection& connection) : connection_(connection) {
  if (!connection_.InTransaction()) {
    connection_.Exec("BEGIN IMMEDIATE", "begin transaction");
  } else {
    savepoint_ = "lj_savepoint_" + std::to_string(connection_.transaction_depth);
    connection_.Exec("SAVEPOINT " + savepoint_, "begin savepoint");
  }
  ++connection_.transaction_depth;
}

Transaction::~Transaction() {
  --connection_.transaction_depth;
  if (done_) return;
  // Never throw from here; a failed rollback leaves SQLite to roll back when the connection
  // closes (or it has already rolled back by itself after e.g. SQLITE_FULL).
  if (savepoint_.empty()) {
    if (connection_.InTransaction()) {
      sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  } else {
    const std::string sql = "ROLLBACK TO " + savepoint_ + "; RELEASE " + savepoint_;
    sqlite3_exec(connection_.handle(), sql.c_str(), nullptr, nullptr, nullptr);
  }
}

void Transaction::Commit() {
  if (done_) throw StoreError(connection_.path() + ": transaction committed twice");
  if (savepoint_.empty()) {
    connection_.Exec("COMMIT", "commit transaction");
  } else {
    connection_.Exec("RELEASE " + savepoint_, "release savepoint");
  }
  done_ = true;
}

}  // namespace lj
