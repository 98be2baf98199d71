#pragma once
// The schema of a layerjoule database (db/schema.sql) and its versions. meta.schema_version
// says which a file has:
//   1  (until 2026-12) runs.bounds_json held the bounds or sweep file, net.json text, a
//      TorchScript summary or an import's source; runs.kind had no CHECK.
//   2  runs.bounds_json is runs.source_json (it holds more than bounds), and runs.kind is
//      CHECKed against db/vocabulary.h RunKind.
//   3  network_samples.peak_memory_bytes (issue 13), NULL in rows measured before.
//   4  samples.peak_memory_bytes, saved_bytes and the measurement conditions; runs.uuid.
//   5  table speed_probes (the machine's speed over time; empty in runs measured before).
//   6  samples.minor_faults and network_samples.minor_faults (page faults; NULL before).
// Opening for writing migrates an older file one version at a time, each step in one
// transaction (all or nothing: a failure leaves the file at the last version reached); opening for
// reading changes nothing and reads the older columns under their new names (db/runs_table.h).
namespace lj {

class Connection;

inline constexpr int kSchemaVersion = 6;

// Checks what `connection` holds, then, unless it is read-only, migrates an older version,
// applies db/schema.sql (idempotent), records kSchemaVersion in a new database and sets WAL,
// synchronous=NORMAL and foreign keys. Returns the file's schema version after that (an older
// one only for a read-only connection). Throws StoreError naming the path for a file that is
// not SQLite, a foreign or empty (read-only) database, a newer schema version, or a failed
// migration (the file then keeps its old version).
int OpenSchema(Connection& connection);

}  // namespace lj
