#include "db/runs_table.h"

#include <cstdio>
#include <random>

#include "core/errors.h"
#include "db/connection.h"

namespace lj {
namespace {

constexpr const char* kNowUtc = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

// The columns a run is created with, in the order BindRow uses; ReadRow reads
// "id, status, started_at, ended_at, " + these.
constexpr const char* kWrittenColumns =
    "host_id, command_line, seed, kind, layer, source_json, target_n, meter, min_time_s, trials, "
    "uuid";

// A random (version 4) UUID, RFC 4122 text form, from std::random_device (/dev/urandom).
std::string NewUuid() {
  std::random_device device;
  unsigned char b[16];
  for (int i = 0; i < 16; i += 4) {
    const unsigned int r = device();
    for (int k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(r >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return text;
}

void BindRow(Statement& q, const RunInfo& run) {
  q.Bind(run.host_id).Bind(run.command_line).Bind(static_cast<int64_t>(run.seed));
  q.Bind(run.kind).Bind(run.layer).Bind(run.source_json).Bind(run.target_n).Bind(run.meter);
  q.Bind(run.min_time_s).Bind(run.trials).Bind(NewUuid());  // a new run: a new uuid
}

RunInfo ReadRow(const Statement& q) {
  RunInfo run;
  run.id = q.Int(0);
  run.status = q.Text(1);
  run.started_at = q.Text(2);
  run.ended_at = q.Text(3);  // "" while NULL (running)
  run.host_id = q.Int(4);
  run.command_line = q.Text(5);
  run.seed = static_cast<uint64_t>(q.Int(6));  // stored as two's-complement int64
  run.kind = q.Text(7);
  run.layer = q.Text(8);
  run.source_json = q.Text(9);
  run.target_n = q.Int(10);
  run.meter = q.Text(11);
  run.min_time_s = q.Double(12);
  run.trials = static_cast<int>(q.Int(13));
  run.uuid = q.IsNull(14) ? "" : q.Text(14);
  return run;
}

}  // namespace

std::string RunsTable::SelectSql(const std::string& tail) const {
  std::string columns = std::string("id, status, started_at, ended_at, ") + kWrittenColumns;
  if (schema_version_ < 2) {  // a read-only version-1 file (db/schema_migration.h)
    columns.replace(columns.find("source_json"), std::string("source_json").size(), "bounds_json");
  }
  if (schema_version_ < 4) columns.replace(columns.rfind("uuid"), 4, "NULL");  // read-only, older
  return "SELECT " + columns + " FROM runs " + tail;
}

int64_t RunsTable::Insert(const RunInfo& run) {
  static const std::string sql = InsertSql("runs", kWrittenColumns);
  Statement q = connection_.Prepare(
      sql, "create run (kind '" + run.kind + "', host " + std::to_string(run.host_id) + ")");
  BindRow(q, run);
  q.Run();
  return connection_.LastInsertId();
}

std::optional<RunInfo> RunsTable::Get(int64_t run_id) {
  Statement q =
      connection_.Prepare(SelectSql("WHERE id = ?"), "read run " + std::to_string(run_id));
  q.Bind(run_id);
  if (!q.Step()) return std::nullopt;
  return ReadRow(q);
}

std::vector<RunInfo> RunsTable::ReadAll() {
  Statement q = connection_.Prepare(SelectSql("ORDER BY id"), "read runs");
  std::vector<RunInfo> runs;
  while (q.Step()) runs.push_back(ReadRow(q));
  return runs;
}

std::optional<RunInfo> RunsTable::LastUnfinished(const std::string& kind) {
  Statement q = connection_.Prepare(
      SelectSql("WHERE kind = ? AND status IN ('running', 'interrupted') ORDER BY id DESC LIMIT 1"),
      "find last unfinished '" + kind + "' run");
  q.Bind(kind);
  if (!q.Step()) return std::nullopt;
  return ReadRow(q);
}

void RunsTable::SetStatus(int64_t run_id, const std::string& status) {
  static const std::string sql =
      std::string(
          "UPDATE runs SET status = ?1, ended_at = CASE WHEN ?1 = 'running' THEN NULL "
          "ELSE ") +
      kNowUtc + " END WHERE id = ?2";
  const std::string what = "set status of run " + std::to_string(run_id) + " to '" + status + "'";
  Statement q = connection_.Prepare(sql, what);
  q.Bind(status).Bind(run_id);
  q.Run();
  if (connection_.Changes() != 1)
    throw StoreError(connection_.path() + ": " + what + ": no such run");
}

std::string RunsTable::HostnameOf(int64_t run_id) {
  const std::string what = "read hostname of run " + std::to_string(run_id);
  Statement q = connection_.Prepare(
      "SELECT h.hostname FROM runs AS r JOIN hosts AS h ON h.id = r.host_id WHERE r.id = ?", what);
  q.Bind(run_id);
  if (!q.Step()) throw StoreError(connection_.path() + ": " + what + ": no such run");
  return q.Text(0);
}

std::optional<int64_t> RunsTable::FindBySourceHash(const std::string& kind, const std::string& file,
                                                   const std::string& content_hash) {
  // json_extract fails on text that is not JSON, so CASE shows it only valid JSON.
  const std::string source = schema_version_ < 2 ? "bounds_json" : "source_json";
  const std::string sql = "SELECT id FROM runs WHERE kind = ?1 AND CASE WHEN json_valid(" + source +
                          ") THEN json_extract(" + source +
                          ", '$.content_fnv1a64') = ?3 AND (?2 = '' OR json_extract(" + source +
                          ", '$.file') = ?2) ELSE 0 END ORDER BY id LIMIT 1";
  Statement q =
      connection_.Prepare(sql, "look for an earlier '" + kind + "' run of the same content");
  q.Bind(kind).Bind(file).Bind(content_hash);
  if (!q.Step()) return std::nullopt;
  return q.Int(0);
}

}  // namespace lj
