#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs the main job on a short real run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
bash tools/build.sh
db=db/demo.sqlite
rm -f "$db" "$db-wal" "$db-shm"
# A few real samples per layer type; energy is recorded where RAPL is readable (--meter auto).
build/bin/measure --layer conv --n 3 --db "$db" --min-time 0.1
build/bin/measure --layer maxpool --n 3 --db "$db" --min-time 0.1
build/bin/measure --layer linear --n 3 --db "$db" --min-time 0.1
sqlite3 -header -column "$db" \
  "SELECT layer, pass, COUNT(*) AS rows, printf('%.3g', AVG(time_s)) AS mean_time_s,
          COUNT(energy_j) AS rows_with_energy FROM samples GROUP BY layer, pass"
