#!/usr/bin/env bash
# The bad-input suite (issue 11 § 2): malformed and hostile inputs to every tool — bounds,
# sweeps, net.json, TorchScript, command-line flags, legacy CSV directories and databases.
# Each input must get a clear error (exit status 1-125, and the output names the file, flag or
# value given as its expectation), within 10 s, without a crash (a signal) and without a row
# written to the database. Prints one line per failing input and the summary
#   N inputs: A clear errors, C crashes, W wrote rows, H hangs, U unclear
# and exits non-zero unless every input got a clear error.
# Usage: tests/hostile/bad_inputs.sh BIN_DIR [SOURCE_DIR]
set -uo pipefail
bin=$(cd "${1:?usage: bad_inputs.sh BIN_DIR [SOURCE_DIR]}" && pwd)
src=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lj_bad_inputs_XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
models="$src/db/demo-models/vm.json"
n=0 clear=0 crashes=0 wrote=0 hangs=0 unclear=0

# new_case: a fresh case directory $D with database path $DB (not created) and output $OUT.
new_case() {
  n=$((n + 1))
  D="$work/case$n"
  mkdir -p "$D"
  DB="$D/db.sqlite"
  OUT="$D/out.json"
}

rows_in() {  # rows in the measurement tables of database $1, 0 if it has none
  sqlite3 "file:$1?mode=ro" "SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM samples)
    + (SELECT COUNT(*) FROM network_samples) + (SELECT COUNT(*) FROM failures)" 2>/dev/null ||
    echo 0
}

# expect TEXT CMD...: runs CMD (in the source tree, where the default configs are) and scores
# it. "@DB" in TEXT stands for $DB. CMD "measure" is build/bin/measure with this case's --db,
# a private lock file, no idle wait and no meter. $DB_BEFORE, if set, is the row count the
# database had before the command (a database given as bad input).
expect() {
  local want=${1//@DB/$DB}
  shift
  if [[ $1 == measure ]]; then
    shift
    set -- "$bin/measure" --db "$DB" --lock-file "$work/lock" --idle 0 --meter none "$@"
  fi
  local status=0
  (cd "$src" && timeout -k 2 10 "$@" >"$D/log" 2>&1 </dev/null) || status=$?
  local verdict=clear
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    verdict=hang
    hangs=$((hangs + 1))
  elif [[ $status -ge 126 ]]; then
    verdict="crash (status $status)"
    crashes=$((crashes + 1))
  elif [[ -f $DB && $(rows_in "$DB") -gt ${DB_BEFORE:-0} ]] || [[ -e $OUT ]]; then
    verdict="wrote rows (status $status)"
    wrote=$((wrote + 1))
  elif [[ $status -eq 0 ]] || ! grep -qF -- "$want" "$D/log"; then
    verdict="unclear (status $status, no '$want')"
    unclear=$((unclear + 1))
  else
    clear=$((clear + 1))
  fi
  if [[ $verdict != clear ]]; then
    echo "case $n: $verdict: $*"
    sed 's/^/    | /' "$D/log" | head -5
  fi
  DB_BEFORE=0
}


# ---------------------------------------------------------------------------------------------
# Bounds files: measure --layer conv --bounds FILE
bounds_case() {  # bounds_case TEXT [EXPECT]: the bounds file holds TEXT
  new_case
  # a max_forward_macs where the case has none, so that the error is about the case's own key
  printf '%s' "${1/\"layer\": \"conv2d\", \"parameters\"/\"layer\": \"conv2d\", \"max_forward_macs\": 1e9, \"parameters\"}" >"$D/b.json"
  expect "${2:-$D/b.json}" measure --layer conv --n 1 --bounds "$D/b.json"
}
good_params='"batch_size": {"min": 1, "max": 4}, "in_channels": {"min": 1, "max": 4},
  "out_channels": {"min": 1, "max": 4}, "image_size": {"min": 8, "max": 16},
  "kernel_size": {"min": 1, "max": 3}'
bounds_case ''
bounds_case '{'
bounds_case '[]'
bounds_case '"conv"'
bounds_case "$(head -c 100000 /dev/zero | tr '\0' '[')"
bounds_case "{\"_comment\": $(head -c 5000 /dev/zero | tr '\0' '[')$(head -c 5000 /dev/zero | tr '\0' ']'), \"layer\": \"conv2d\", \"parameters\": {$good_params}}"
bounds_case "{\"layer\": \"conv2d\", \"colour\": 1, \"parameters\": {$good_params}}" colour
bounds_case '{"layer": "conv2d", "parameters": 7}'
bounds_case '{"layer": "conv2d", "parameters": {"batch_size": {"min": 9, "max": 2}}}' batch_size
bounds_case '{"layer": "conv2d", "parameters": {"kernel_size": {"min": -1, "max": 3}}}' kernel_size
bounds_case '{"layer": "conv2d", "parameters": {"kernel_size": {"min": "3", "max": 5}}}' b.json
bounds_case '{"layer": "conv2d", "parameters": {"kernel_size": {"min": 1, "max": 1e999}}}'
bounds_case '{"layer": "conv2d", "parameters": {"kernel_size": {"min": 1, "max": 3, "distribution": "gaussian"}}}' b.json
bounds_case '{"layer": "conv2d", "max_forward_macs": 1e9, "parameters": {"stride": {"choices": []}}}' stride
bounds_case '{"layer": "conv2d", "max_forward_macs": 1e9, "parameters": {"stride": {"choices": ["two"]}}}' b.json
bounds_case "{\"layer\": \"linear\", \"max_forward_macs\": 1e9, \"parameters\": {$good_params}}" linear
bounds_case "{\"layer\": \"conv2d\", \"max_forward_macs\": -1, \"parameters\": {$good_params}}" max_forward_macs
bounds_case "{\"layer\": \"conv2d\", \"max_forward_macs\": \"big\", \"parameters\": {$good_params}}" max_forward_macs
bounds_case '{"layer": "conv2d", "max_forward_macs": 1e9, "parameters": {"kernel_size": {"min": 1099511627776, "max": 1099511627776}}}' kernel_size
bounds_case '{"layer": "conv2d", "parameters": {"padding": {"min": 0, "max": NaN}}}'
bounds_case $'{"layer": "conv2d\xff", "parameters": {}}'
bounds_case '{"layer": "conv2d", "max_forward_macs": 1e9, "parameters": {"groups": {"min": 0, "max": 0}}}' groups
bounds_case '{"layer": "conv2d", "max_forward_macs": 1e9, "parameters": {"batch_size": {"min": 1, "max": 9223372036854775807}, "image_size": {"min": 9223372036854775807, "max": 9223372036854775807}}}' b.json
bounds_case '{"layer": 17, "parameters": {}}' layer
new_case; head -c 4096 /dev/urandom >"$D/b.json"
expect "$D/b.json" measure --layer conv --n 1 --bounds "$D/b.json"
new_case; mkfifo "$D/b.json"
expect "$D/b.json: not a regular file (FIFO)" measure --layer conv --n 1 --bounds "$D/b.json"
new_case; expect "/dev/zero: not a regular file" measure --layer conv --n 1 --bounds /dev/zero
new_case; ln -s /dev/zero "$D/b.json"
expect "not a regular file" measure --layer conv --n 1 --bounds "$D/b.json"
new_case; expect "not a regular file (directory)" measure --layer conv --n 1 --bounds "$D"
new_case; truncate -s 65M "$D/b.json"
expect "file too large" measure --layer conv --n 1 --bounds "$D/b.json"
new_case; expect "$D/none.json" measure --layer conv --n 1 --bounds "$D/none.json"

# ---------------------------------------------------------------------------------------------
# Sweeps: measure --sweep FILE
sweep_case() {  # sweep_case TEXT [EXPECT]
  new_case
  printf '%s' "$1" >"$D/s.json"
  expect "${2:-$D/s.json}" measure --sweep "$D/s.json"
}
defaults='"batch_size": 2, "in_channels": 3, "out_channels": 4, "image_size": 16,
  "kernel_size": 3, "stride": 1, "padding": 1, "groups": 1, "bias": true'
sweep_case ''
sweep_case '[1, 2]'
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}}" vary
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"colour\", \"values\": [1]}}" colour
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": []}}" values
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": [1, \"x\"]}}" '"x"'
sweep_case '{"name": "s", "layer": "conv2d", "defaults": {"batch_size": 2}, "vary": {"parameter": "batch_size", "values": [1]}}' in_channels
sweep_case "{\"name\": \"s\", \"layer\": \"conv9d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": [1]}}" conv9d
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": [1]}, \"repeats\": 0}" repeats
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": [1]}, \"repeats\": -1}" repeats
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": [0]}}" batch_size
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"kernel_size\", \"values\": [99]}}" kernel_size
sweep_case "{\"name\": \"s\", \"layer\": \"conv2d\", \"defaults\": {$defaults}, \"vary\": {\"parameter\": \"batch_size\", \"values\": [1]}, \"extra\": 1}" extra
sweep_case "{\"vary\": $(head -c 100000 /dev/zero | tr '\0' '{')"
new_case; mkfifo "$D/s.json"
expect "not a regular file (FIFO)" measure --sweep "$D/s.json"

# ---------------------------------------------------------------------------------------------
# net.json: predict NET (and measure --net for the ones that would allocate)
net_case() {  # net_case LAYERS-JSON [EXPECT] [TOP-LEVEL-EXTRA]
  new_case
  printf '{"name": "t", "input": {"channels": 3, "height": 32, "width": 32}, "batch_size": 8,
    "dataset_size": 800, "epochs": 1, "optimizer": {"type": "sgd", "lr": 0.01}%s,
    "layers": %s}' "${3:-}" "$1" >"$D/net.json"
  expect "${2:-$D/net.json}" "$bin/predict" "$D/net.json" --models "$models"
}
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": 0}]' "kernel_size must be > 0, got 0"
net_case '[{"type": "conv2d", "out_channels": -3, "kernel_size": 3}]' out_channels
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 0}]' stride
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": -1}]' padding
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": 64}]' kernel_size
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2}]' groups
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": "3"}]' '"3"'
net_case '[{"type": "conv2d", "out_channels": 4, "kernel_size": 1e999}]'
net_case '[{"type": "conv5d", "out_channels": 4}]' conv5d
net_case '[{"type": "linear", "out_features": 0}]' out_features
net_case '[{"type": "flatten"}, {"type": "linear", "out_features": 9223372036854775807}]' "layer 1 (linear"
net_case '[{"type": "dropout", "p": 1.5}]' p
net_case '[{"type": "maxpool2d", "kernel_size": 33}]' kernel_size
net_case '[7]' "layer"
net_case '[]' layers
net_case '{}' layers
net_case '[{"type": "relu", "colour": 1}]' colour
net_case '[{"type": "relu"}]' batch_size ', "batch_size": 0'
net_case '[{"type": "relu"}]' "training steps" ', "dataset_size": 9223372036854775807, "epochs": 9223372036854775807'
net_case '[{"type": "relu"}]' epochs ', "epochs": 0'
net_case '[{"type": "relu"}]' rmsprop ', "optimizer": {"type": "rmsprop", "lr": 0.1}'
net_case '[{"type": "relu"}]' lr ', "optimizer": {"type": "sgd", "lr": -1}'
net_case '[{"type": "relu"}]' colour ', "colour": 1'
net_case '[{"type": "relu"}]' channels ', "input": {"channels": 0, "height": 32, "width": 32}'
net_case '[{"type": "relu"}]' "2^33" ', "input": {"channels": 3, "height": 4611686018427387904, "width": 4611686018427387904}'
net_case "$(for i in $(seq 40); do printf '[{"type": "sequential", "layers": '; done)[]$(for i in $(seq 40); do printf '}]'; done)"
net_case '[{"type": "add", "of": ["nothing"]}]'
new_case; printf '{"name": "t"' >"$D/net.json"
expect "$D/net.json" "$bin/predict" "$D/net.json" --models "$models"
new_case; mkfifo "$D/net.json"
expect "not a regular file (FIFO)" "$bin/predict" "$D/net.json" --models "$models"
new_case; expect "$D/none.json" "$bin/predict" "$D/none.json" --models "$models"
# measure --net must refuse an input it would have to allocate for real
new_case
printf '{"name": "big", "input": {"channels": 3, "height": 100000, "width": 100000},
  "batch_size": 64, "dataset_size": 64, "epochs": 1, "optimizer": {"type": "sgd", "lr": 0.01},
  "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3}]}' >"$D/net.json"
expect "$D/net.json" measure --net "$D/net.json" --iterations 1
new_case
printf '{"name": "t", "input": {"channels": 3, "height": 8, "width": 8}, "batch_size": 2,
  "dataset_size": 2, "epochs": 1, "optimizer": {"type": "sgd", "lr": 0.01},
  "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 0}]}' >"$D/net.json"
expect "kernel_size must be > 0" measure --net "$D/net.json" --iterations 1

# ---------------------------------------------------------------------------------------------
# TorchScript files: predict FILE.pt --input 3x32x32 --batch-size 4
pt_case() {  # pt_case: $D/m.pt prepared by the caller
  expect "$D/m.pt" "$bin/predict" "$D/m.pt" --input 3x32x32 --batch-size 4 --models "$models"
}
new_case; : >"$D/m.pt"; pt_case
new_case; echo "not a model" >"$D/m.pt"; pt_case
new_case; head -c 10000 /dev/urandom >"$D/m.pt"; pt_case
new_case; printf 'PK\003\004' >"$D/m.pt"; head -c 1000 /dev/urandom >>"$D/m.pt"; pt_case
new_case; mkfifo "$D/m.pt"; pt_case
new_case; mkdir "$D/m.pt"; pt_case

# ---------------------------------------------------------------------------------------------
# Command-line flags
flag_case() {  # flag_case EXPECT ARGS...: measure --layer relu --n 1 ARGS
  local want=$1
  shift
  new_case
  expect "$want" measure --layer relu --n 1 "$@"
}
flag_case --min-time --min-time nan
flag_case --min-time --min-time inf
flag_case --min-time --min-time 1e300
flag_case --min-time --min-time -1
flag_case --min-time --min-time 0
flag_case --threads --threads 0
flag_case --threads --threads -1
flag_case --threads --threads 100000
flag_case --seed --seed -1
flag_case --seed --seed 1e3
flag_case --n --n 010
flag_case --n --n abc
flag_case --n --n -5
flag_case --trials --trials 0
flag_case --max-memory --max-memory nan
flag_case --near-share --near-share 2
new_case; expect "colour" "$bin/measure" --db "$DB" --lock-file "$work/lock" --layer colour --n 1 --meter none
new_case; expect "--idle" "$bin/measure" --db "$DB" --lock-file "$work/lock" --layer relu --n 1 --idle -1
new_case; expect "bogus" "$bin/measure" --db "$DB" --lock-file "$work/lock" --layer relu --n 1 --meter bogus
new_case; expect "--db" "$bin/measure" --db "" --lock-file "$work/lock" --layer relu --n 1 --meter none
new_case; expect ":memory:" "$bin/measure" --db :memory: --lock-file "$work/lock" --layer relu --n 1 --meter none
new_case; expect "file:x" "$bin/measure" --db "file:x?mode=memory" --lock-file "$work/lock" --layer relu --n 1 --meter none
new_case; mkfifo "$D/fifo.sqlite"
expect "not a regular file" "$bin/measure" --db "$D/fifo.sqlite" --lock-file "$work/lock" --layer relu --n 1 --meter none --idle 0
new_case; expect "--iterations" measure --net "$src/configs/nets/lenet5.json" --iterations 0
new_case; expect "--batch-size" measure --net "$src/configs/nets/lenet5.json" --batch-size 0
new_case; expect "3x0x32" "$bin/predict" "$src/configs/nets/lenet5.json" --input 3x0x32 --models "$models"
new_case; expect "garbage" "$bin/predict" "$src/configs/nets/lenet5.json" --input garbage --models "$models"
new_case; expect "--batch-size" "$bin/predict" "$src/configs/nets/lenet5.json" --batch-size 0 --models "$models"
new_case; expect "--epochs" "$bin/predict" "$src/configs/nets/lenet5.json" --epochs 0 --models "$models"
new_case; expect "--dataset-size" "$bin/predict" "$src/configs/nets/lenet5.json" --dataset-size -1 --models "$models"
new_case; expect "bogus" "$bin/predict" "$src/configs/nets/lenet5.json" --optimizer bogus --models "$models"
new_case; expect "$D/none.json" "$bin/predict" "$src/configs/nets/lenet5.json" --models "$D/none.json"
new_case; printf '{"format": ' >"$D/m.json"
expect "$D/m.json" "$bin/predict" "$src/configs/nets/lenet5.json" --models "$D/m.json"
new_case; head -c 100000 /dev/zero | tr '\0' '[' >"$D/m.json"
expect "nested deeper" "$bin/predict" "$src/configs/nets/lenet5.json" --models "$D/m.json"
new_case; mkfifo "$D/m.json"
expect "not a regular file (FIFO)" "$bin/predict" "$src/configs/nets/lenet5.json" --models "$D/m.json"
new_case; expect "$D/none.sqlite" "$bin/fit" --db "$D/none.sqlite" --out "$OUT"
new_case; expect "--folds" "$bin/fit" --db "$D/none.sqlite" --folds 0 --out "$OUT"
new_case; expect "bogus" "$bin/fit" --db "$D/none.sqlite" --model bogus --out "$OUT"
new_case; expect "bogus" "$bin/evaluate" --db "$D/none.sqlite" --kinds bogus

# ---------------------------------------------------------------------------------------------
# Legacy CSV directories: measure --import-legacy DIR --host h
legacy_case() {  # legacy_case EXPECT: $D/legacy prepared by the caller
  expect "$1" "$bin/measure" --import-legacy "$D/legacy" --host h --db "$DB"
}
conv_header='batch_size,in_chan,out_chan,side_len,k_size,stride,for_energy,for_time,back_energy,back_time'
new_case; mkdir "$D/legacy"; legacy_case "none of conv.csv"
new_case; mkdir "$D/legacy"; echo "a,b,c" >"$D/legacy/conv.csv"; legacy_case conv.csv
new_case; mkdir "$D/legacy"; printf '%s\n1,2,3\n' "$conv_header" >"$D/legacy/conv.csv"; legacy_case conv.csv
new_case; mkdir "$D/legacy"; printf '%s\n1,3,4,16,3,1,abc,1,1,1\n' "$conv_header" >"$D/legacy/conv.csv"; legacy_case abc
new_case; mkdir "$D/legacy"; printf '%s\n1,3,4,16,3,1,nan,1,1,1\n' "$conv_header" >"$D/legacy/conv.csv"; legacy_case nan
new_case; mkdir "$D/legacy"; printf '%s\n1,3,4,16,3,1,inf,1,1,1\n' "$conv_header" >"$D/legacy/conv.csv"; legacy_case inf
new_case; mkdir "$D/legacy"; printf '%s\n1.5,3,4,16,3,1,1,1,1,1\n' "$conv_header" >"$D/legacy/conv.csv"; legacy_case 1.5
new_case; mkdir "$D/legacy"; mkfifo "$D/legacy/conv.csv"; legacy_case "not a regular file (FIFO)"
new_case; mkdir -p "$D/legacy/conv.csv"; legacy_case conv.csv
new_case; mkdir -p "$D/legacy/nets"; echo '{"net": "x"}' >"$D/legacy/nets/x.json"; legacy_case x.json
new_case; legacy_case "$D/legacy"
new_case; echo x >"$D/legacy"; legacy_case "not a directory"
new_case; mkdir "$D/legacy"; expect "--host" "$bin/measure" --import-legacy "$D/legacy" --db "$DB"

# ---------------------------------------------------------------------------------------------
# Databases given to fit, evaluate, predict --compare and measure --resume
schema_db() {  # schema_db PATH [VERSION]: an empty layerjoule database of that schema version
  sqlite3 "$1" <"$src/db/schema.sql"
  sqlite3 "$1" "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '${2:-1}')"
}
db_case() {  # db_case EXPECT: $DB prepared by the caller, given to each tool in turn
  local want=$1
  DB_BEFORE=$(rows_in "$DB"); expect "$want" "$bin/fit" --db "$DB" --out "$OUT"
  local db=$DB
  new_case; cp -a "$db" "$DB" 2>/dev/null || cp -a "$db" "$D/"
  DB_BEFORE=$(rows_in "$DB"); expect "$want" "$bin/evaluate" --db "$DB"
  new_case; cp -a "$db" "$DB" 2>/dev/null
  DB_BEFORE=$(rows_in "$DB"); expect "$want" measure --resume
}
new_case; echo "just text, not SQLite, but long enough to have a header of sorts......" >"$DB"; db_case @DB
new_case; : >"$DB"; db_case @DB
new_case; schema_db "$DB" 99; db_case "newer"
new_case; schema_db "$DB"; sqlite3 "$DB" "DELETE FROM meta"; db_case @DB
new_case; sqlite3 "$DB" "CREATE TABLE other (x)"; db_case "not a layerjoule database"
new_case; schema_db "$DB"; head -c 3000 "$DB" >"$D/t.sqlite"; mv "$D/t.sqlite" "$DB"; db_case @DB
new_case; head -c 8192 /dev/urandom >"$DB"; db_case @DB
new_case; schema_db "$DB"; db_case "no "
# A database another process holds an exclusive lock on.
new_case; schema_db "$DB"
sqlite3 "$DB" "PRAGMA journal_mode=DELETE" >/dev/null
( { echo "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; INSERT INTO meta VALUES ('k', 'v');"; sleep 30; } | sqlite3 "$DB" >/dev/null ) &
locker=$!
sleep 1
expect "locked" "$bin/fit" --db "$DB" --out "$OUT"
kill $locker 2>/dev/null; wait $locker 2>/dev/null

# A database on a read-only file system (a read-only bind mount in a private mount namespace;
# root ignores file modes, so chmod would prove nothing): measure must say so and write nothing.
new_case; schema_db "$DB"
if unshare -m --propagation private true 2>/dev/null; then
  DB_BEFORE=$(rows_in "$DB")
  expect "readonly" unshare -m --propagation private bash -c \
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' _ "$D" \
    "$bin/measure" --db "$DB" --lock-file "$work/lock" --idle 0 --meter none --layer linear --n 1
  unset DB_BEFORE
else
  echo "SKIP read-only database: no mount namespaces here (needs root)"
  n=$((n - 1))
fi

echo "$n inputs: $clear clear errors, $crashes crashes, $wrote wrote rows, $hangs hangs, $unclear unclear"
[[ $clear -eq $n ]]
