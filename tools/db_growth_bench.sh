#!/usr/bin/env bash
# Database growth (issue 14 § 6): builds one night of 5000 configs and a month of 30 such
# nights from a real measure database (the configs of its first run cycled, sample_index and
# run distinct, every column as measure fills it), then times the reads that fit, notebooks and
# a progress check do. Numbers go to JOURNAL.md.
# Usage: tools/db_growth_bench.sh SOURCE.sqlite [OUT_DIR=/tmp]   (needs sqlite3, build/bin/fit)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: tools/db_growth_bench.sh SOURCE.sqlite [OUT_DIR]}
out=${2:-/tmp}
first=$(sqlite3 "$src" "SELECT MIN(id) FROM runs")
configs=$(sqlite3 "$src" "SELECT COUNT(DISTINCT sample_index) FROM samples WHERE run_id = $first")
if [ -z "$first" ] || [ "$configs" -eq 0 ]; then
  echo "$src: no run with samples" >&2
  exit 1
fi
columns="layer, pass, config, repetitions, trials, time_s, time_std_s, energy_j, energy_std_j,
  energy_by_socket_j, dram_energy_j, psys_energy_j, idle_power_w, meter, sweep, sweep_value, notes,
  peak_memory_bytes, saved_bytes, contention_share, temperature_start_c, temperature_end_c,
  contended"
prefixed=$(echo "$columns" | sed -E 's/([a-z_]+)/b.\1/g')
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
for nights in 1 30; do
  db=$out/lj_growth.$nights.sqlite
  rm -f "$db" "$db-wal" "$db-shm"
  cp "$src" "$db"
  sqlite3 "$db" >/dev/null <<SQL
BEGIN;
CREATE TEMP TABLE base AS SELECT * FROM samples WHERE run_id = $first;
WITH RECURSIVE night(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM night WHERE k < $nights)
INSERT INTO runs (host_id, command_line, seed, kind, layer, source_json, target_n, meter, status,
                  min_time_s, trials, started_at, ended_at, uuid)
SELECT host_id, command_line, seed + k, kind, layer, source_json, 5000, meter, status, min_time_s,
       trials, started_at, ended_at, lower(hex(randomblob(16)))
FROM runs, night WHERE runs.id = $first;
DELETE FROM samples;
DELETE FROM run_options;
DELETE FROM failures;
DELETE FROM idle_power;
DELETE FROM runs WHERE id <= $first;
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 4999),
     numbered AS (SELECT *, DENSE_RANK() OVER (ORDER BY sample_index) - 1 AS k FROM base)
INSERT INTO samples (run_id, sample_index, $columns)
SELECT r.id, i.n, $prefixed FROM runs r, i JOIN numbered b ON b.k = i.n % $configs;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  rows=$(sqlite3 "$db" "SELECT COUNT(*) FROM samples")
  size=$(du -m "$db" | cut -f1)
  group=$(seconds sqlite3 "$db" "SELECT layer, pass, COUNT(*), AVG(time_s) FROM samples GROUP BY 1, 2")
  view=$(seconds sqlite3 "$db" "SELECT COUNT(*) FROM samples_with_host WHERE hostname =
                                (SELECT hostname FROM hosts LIMIT 1)")
  progress=$(seconds sqlite3 "$db" "SELECT COUNT(DISTINCT sample_index) FROM samples
                                    WHERE run_id = (SELECT MAX(id) FROM runs)")
  /usr/bin/time -f "%e s, %M KiB" -o "$out/lj_growth.time" \
    build/bin/fit --db "$db" --max-spread 0 --export-features "$out/lj_growth.features.json" \
    >/dev/null 2>&1
  echo "$nights nights: $rows sample rows, $size MiB; GROUP BY ${group} s, view ${view} s," \
       "one run's progress ${progress} s; fit --export-features $(cat "$out/lj_growth.time")"
done
