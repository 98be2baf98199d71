#include "db/hosts_table.h"

#include "core/errors.h"
#include "db/connection.h"
#include "db/transaction.h"

namespace lj {
namespace {

// The identifying columns, in the order BindRow and ReadRow use.
constexpr const char* kColumns =
    "hostname, cpu_model, sockets, cores, threads_used, torch_version, blas, rapl_domains";

void BindRow(Statement& q, const HostInfo& host) {
  q.Bind(host.hostname).Bind(host.cpu_model).Bind(host.sockets).Bind(host.cores);
  q.Bind(host.threads_used).Bind(host.torch_version).Bind(host.blas).Bind(host.rapl_domains);
}

HostInfo ReadRow(const Statement& q) {
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

}  // namespace

int64_t HostsTable::Upsert(const HostInfo& host) {
  static const std::string insert = InsertSql("hosts", kColumns, "INSERT OR IGNORE");
  static const std::string select = "SELECT id FROM hosts WHERE " + AllEqualSql(kColumns);
  const std::string what = "upsert host '" + host.hostname + "'";
  Transaction txn(connection_);
  {
    Statement q = connection_.Prepare(insert, what);
    BindRow(q, host);
    q.Run();
  }
  int64_t id = 0;
  {
    Statement q = connection_.Prepare(select, what);
    BindRow(q, host);
    if (!q.Step())
      throw StoreError(connection_.path() + ": " + what + ": row vanished after insert");
    id = q.Int(0);
  }
  txn.Commit();
  return id;
}

std::optional<HostInfo> HostsTable::Get(int64_t host_id) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM hosts WHERE id = ?";
  Statement q = connection_.Prepare(sql, "read host " + std::to_string(host_id));
  q.Bind(host_id);
  if (!q.Step()) return std::nullopt;
  return ReadRow(q);
}

}  // namespace lj
