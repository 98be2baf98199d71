#!/usr/bin/env bash
# Builds a SMALL layerjoule store for the notebook test (tests/notebooks) in well under a minute:
#   OUT_DIR/test.sqlite        three tiny one-factor sweeps (conv2d, maxpool2d, linear; meter
#                              none), 80 random tiny linear configs and 3 training iterations
#                              of lenet5 (when measure has --net), all measured here, plus the
#                              prototype's Raptor Lake RAPL data when that directory exists;
#   OUT_DIR/models/<host>.json one model bundle per host from `fit` (when the fit binary exists).
# Usage: tools/make_test_db.sh OUT_DIR
# Environment: LJ_BIN_DIR (default build/bin) holds measure and fit; LJ_LEGACY_DIR (default
# ../shared/data/legacy-pyrapl/raptorlake) the prototype's CSV files; LJ_REQUIRE_FIT=1 makes a
# missing fit binary an error. Measures with a private lock file, so it neither waits for nor
# blocks a real measurement (whose numbers it may disturb a little: keep it short).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$1
bin=${LJ_BIN_DIR:-build/bin}
legacy=${LJ_LEGACY_DIR:-../shared/data/legacy-pyrapl/raptorlake}
db=$out/test.sqlite
mkdir -p "$out/models"
rm -f "$db" "$db-wal" "$db-shm"

if [[ ! -x $bin/measure ]]; then
  echo "make_test_db: error: no measure binary at $bin/measure (build it, or set LJ_BIN_DIR)" >&2
  exit 1
fi
quick=(--db "$db" --meter none --min-time 0.005 --trials 2 --idle 0 --threads 1
       --lock-file "$out/measure.lock")
for sweep in tests/notebooks/data/sweeps/*.json; do
  "$bin/measure" --sweep "$sweep" "${quick[@]}" >"$out/measure.log" 2>&1 ||
    { cat "$out/measure.log" >&2; exit 1; }
done
"$bin/measure" --layer linear --n 80 --seed 7 \
  --bounds tests/notebooks/data/tiny_linear_bounds.json "${quick[@]}" >"$out/measure.log" 2>&1 ||
  { cat "$out/measure.log" >&2; exit 1; }

# Whole-network ground truth (network_samples), once measure has --net.
if "$bin/measure" --help 2>/dev/null | grep -q -- "--net "; then
  "$bin/measure" --net configs/nets/lenet5.json --iterations 3 --batch-size 16 --db "$db" \
    --meter none --idle 0 --threads 1 --lock-file "$out/measure.lock" >"$out/net.log" 2>&1 ||
    { cat "$out/net.log" >&2; exit 1; }
fi

if [[ -d $legacy ]]; then
  "$bin/measure" --import-legacy "$legacy" --host raptorlake --db "$db" \
    --lock-file "$out/measure.lock" >"$out/import.log" 2>&1 ||
    { cat "$out/import.log" >&2; exit 1; }
else
  echo "make_test_db: no prototype data at $legacy; the store has no energy rows" >&2
fi

if [[ -x $bin/fit ]]; then
  # One bundle per host; 5 folds so that the 80 random linear configs are enough rows.
  for host in $(sqlite3 "$db" "SELECT DISTINCT hostname FROM hosts ORDER BY hostname"); do
    "$bin/fit" --db "$db" --host "$host" --folds 5 --out "$out/models/$host.json" \
      >"$out/fit-$host.log" 2>&1 || { cat "$out/fit-$host.log" >&2; exit 1; }
  done
elif [[ ${LJ_REQUIRE_FIT:-0} == 1 ]]; then
  echo "make_test_db: error: no fit binary at $bin/fit" >&2
  exit 1
else
  echo "make_test_db: no fit binary at $bin/fit; no model bundles" >&2
fi
echo "make_test_db: wrote $db ($(sqlite3 "$db" "SELECT count(*) FROM samples") samples)"
