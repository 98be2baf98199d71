#include "db/store_merge.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/errors.h"
#include "db/connection.h"
#include "db/schema_migration.h"
#include "db/statement.h"
#include "db/transaction.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

// An SQLite URI for `path`, opened read-only: '%', '?' and '#' percent-encoded.
std::string ReadOnlyUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : fs::absolute(path).string()) {
    if (c == '%') {
      uri += "%25";
    } else if (c == '?') {
      uri += "%3f";
    } else if (c == '#') {
      uri += "%23";
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro";
}

std::vector<std::string> Columns(Connection& db, const std::string& schema,
                                 const std::string& table) {
  Statement q = db.Prepare("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid",
                           "list the columns of " + schema + "." + table);
  q.Bind(table).Bind(schema);
  std::vector<std::string> names;
  while (q.Step()) names.push_back(q.Text(0));
  return names;
}

// `columns` without `names`.
std::vector<std::string> Without(std::vector<std::string> columns,
                                 const std::vector<std::string>& names) {
  columns.erase(std::remove_if(columns.begin(), columns.end(),
                               [&](const std::string& c) {
                                 return std::find(names.begin(), names.end(), c) != names.end();
                               }),
                columns.end());
  return columns;
}

std::string Join(const std::vector<std::string>& items, const std::string& prefix = "") {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + prefix + item;
  return out;
}

int64_t Count(Connection& db, const std::string& sql, const std::string& what) {
  Statement q = db.Prepare(sql, what);
  q.Step();
  return q.Int(0);
}

// The tables of `schema` that hold rows of runs (a run_id column). Throws for a table other
// than meta, hosts and runs without one: the merge would not know where its rows belong.
std::vector<std::string> RunTables(Connection& db, const std::string& input) {
  std::vector<std::string> names;
  {
    Statement q = db.Prepare(
        "SELECT name FROM src.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name",
        "list the tables of " + input);
    while (q.Step()) names.push_back(q.Text(0));
  }
  std::vector<std::string> tables;
  for (const std::string& name : names) {
    if (name == "meta" || name == "hosts" || name == "runs") continue;
    const std::vector<std::string> columns = Columns(db, "src", name);
    bool has_run = false;
    for (const std::string& c : columns) has_run = has_run || c == "run_id";
    if (!has_run) {
      throw StoreError(input + ": table " + name +
                       " has no run_id column: measure --merge does not know how to merge it");
    }
    tables.push_back(name);
  }
  return tables;
}

MergeSummary MergeOne(Connection& db, const std::string& input) {
  MergeSummary summary;
  summary.input = input;
  {
    Statement attach = db.Prepare("ATTACH DATABASE ?1 AS src", "open " + input + " to merge");
    attach.Bind(ReadOnlyUri(input));
    attach.Run();
  }
  try {
    Transaction txn(db);
    const int64_t missing_uuid =
        Count(db, "SELECT count(*) FROM src.runs WHERE uuid IS NULL", "check the runs' uuids");
    if (missing_uuid > 0) {
      throw StoreError(input + ": " + std::to_string(missing_uuid) +
                       " runs have no uuid; merge only databases written by measure");
    }
    const std::vector<std::string> host_key =
        Without(Columns(db, "main", "hosts"), {"id", "created_at"});
    const int64_t hosts_before = Count(db, "SELECT count(*) FROM main.hosts", "count hosts");
    db.Exec("INSERT OR IGNORE INTO main.hosts (" + Join(host_key) + ", created_at) SELECT " +
                Join(host_key) + ", created_at FROM src.hosts ORDER BY id",
            "merge the hosts of " + input);
    summary.hosts_added =
        Count(db, "SELECT count(*) FROM main.hosts", "count hosts") - hosts_before;
    std::string same_host;
    for (const std::string& c : host_key) {
      same_host += (same_host.empty() ? "" : " AND ") + ("d." + c + " IS s." + c);
    }
    db.Exec("DROP TABLE IF EXISTS temp.merge_hosts; DROP TABLE IF EXISTS temp.merge_runs",
            "clear the merge maps");
    db.Exec("CREATE TEMP TABLE merge_hosts (src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL)",
            "map hosts");
    db.Exec(
        "INSERT INTO temp.merge_hosts SELECT s.id, d.id FROM src.hosts AS s JOIN main.hosts "
        "AS d ON " +
            same_host,
        "map the hosts of " + input);

    const int64_t runs = Count(db, "SELECT count(*) FROM src.runs", "count runs");
    summary.runs_already_there =
        Count(db, "SELECT count(*) FROM src.runs WHERE uuid IN (SELECT uuid FROM main.runs)",
              "find runs already merged");
    db.Exec(
        "CREATE TEMP TABLE merge_runs (src_id INTEGER PRIMARY KEY, dst_id INTEGER, "
        "uuid TEXT NOT NULL)",
        "map runs");
    db.Exec(
        "INSERT INTO temp.merge_runs (src_id, uuid) SELECT id, uuid FROM src.runs WHERE uuid "
        "NOT IN (SELECT uuid FROM main.runs WHERE uuid IS NOT NULL) ORDER BY id",
        "choose the runs of " + input);
    const std::vector<std::string> run_columns = Without(Columns(db, "main", "runs"), {"id"});
    std::string run_values;
    for (const std::string& c : run_columns) {
      run_values += (run_values.empty() ? "" : ", ") + (c == "host_id" ? "h.dst_id" : "r." + c);
    }
    db.Exec("INSERT INTO main.runs (" + Join(run_columns) + ") SELECT " + run_values +
                " FROM src.runs AS r JOIN temp.merge_runs AS m ON m.src_id = r.id JOIN "
                "temp.merge_hosts AS h ON h.src_id = r.host_id ORDER BY r.id",
            "copy the runs of " + input);
    summary.runs_added = db.Changes();
    if (summary.runs_added + summary.runs_already_there != runs) {
      throw StoreError(input + ": " +
                       std::to_string(runs - summary.runs_added - summary.runs_already_there) +
                       " runs refer to a host it does not have");
    }
    db.Exec(
        "UPDATE temp.merge_runs SET dst_id = (SELECT id FROM main.runs WHERE "
        "main.runs.uuid = temp.merge_runs.uuid)",
        "map the runs of " + input);

    for (const std::string& table : RunTables(db, input)) {
      const std::vector<std::string> columns = Without(Columns(db, "main", table), {"id"});
      std::string values;
      for (const std::string& c : columns) {
        values += (values.empty() ? "" : ", ") + (c == "run_id" ? "m.dst_id" : "t." + c);
      }
      db.Exec("INSERT INTO main." + table + " (" + Join(columns) + ") SELECT " + values +
                  " FROM src." + table +
                  " AS t JOIN temp.merge_runs AS m ON m.src_id = t.run_id ORDER BY t.rowid",
              "copy the " + table + " rows of " + input);
      summary.rows_added[table] = db.Changes();
    }
    db.Exec("DROP TABLE temp.merge_hosts; DROP TABLE temp.merge_runs", "drop the merge maps");
    txn.Commit();
  } catch (...) {
    sqlite3_exec(db.handle(), "DETACH DATABASE src", nullptr, nullptr, nullptr);
    throw;
  }
  db.Exec("DETACH DATABASE src", "close " + input);
  return summary;
}

}  // namespace

std::vector<MergeSummary> MergeDatabases(const std::string& output,
                                         const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw StoreError(output + ": nothing to merge into it (no input given)");
  std::error_code ec;
  for (const std::string& input : inputs) {
    {
      Store in(input, Store::Access::kReadOnly);  // refuses what is not a layerjoule database
      if (in.schema_version() != Store::kSchemaVersion) {
        throw StoreError(input + ": schema version " + std::to_string(in.schema_version()) +
                         ", but the output has " + std::to_string(Store::kSchemaVersion) +
                         "; merge only databases of one version (a measure run on " + input +
                         " migrates it)");
      }
    }
    if (fs::exists(output, ec) && fs::equivalent(input, output, ec)) {
      throw StoreError(input + ": is the output file; give it once, as the output");
    }
  }
  Store out(output);
  Connection& db = *out.connection_;
  std::vector<MergeSummary> summaries;
  for (const std::string& input : inputs) summaries.push_back(MergeOne(db, input));
  return summaries;
}

std::string FormatMergeSummary(const MergeSummary& s) {
  std::string out = s.input + ": " + std::to_string(s.runs_added) + " runs added (" +
                    std::to_string(s.runs_already_there) + " already there), " +
                    std::to_string(s.hosts_added) + " hosts added";
  std::string rows;
  for (const auto& [table, n] : s.rows_added) {
    if (n > 0) rows += (rows.empty() ? "; " : ", ") + table + " " + std::to_string(n);
  }
  return out + rows;
}

}  // namespace lj
