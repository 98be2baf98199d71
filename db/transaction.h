#pragma once
// A scoped transaction on a Connection (SQLiteCpp's Transaction): rolls back in its destructor
// unless Commit() was called, and the destructor never throws. Transactions nest: the outermost
// is BEGIN IMMEDIATE (takes the write lock up front, so a read-then-write sequence cannot hit
// SQLITE_BUSY mid-way), inner ones are SAVEPOINTs, so e.g. a config's samples inserted inside
// an import's transaction commit with the import.
#include <string>

namespace lj {

class Connection;

class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Throws StoreError if the commit fails (the transaction is then rolled back) or if called
  // twice.
  void Commit();

 private:
  Connection& connection_;
  std::string savepoint_;  // "" for the outermost (BEGIN/COMMIT) transaction
  bool done_ = false;
};

}  // namespace lj
