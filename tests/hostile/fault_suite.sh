#!/usr/bin/env bash
# The fault suite (issue 11 § 3): a 20-config run of `measure` killed with SIGKILL at random
# points 10 times and resumed each time; then two resumers started at once. After every kill
# the database must pass PRAGMA integrity_check with no orphan rows (a forward row without its
# backward); at the end the stored configs must be exactly those of an uninterrupted run with
# the same seed, none lost or duplicated. Prints the figures and exits non-zero on any failure.
# Usage: tests/hostile/fault_suite.sh BIN_DIR
set -uo pipefail
bin=$(cd "${1:?usage: fault_suite.sh BIN_DIR}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lj_fault_XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
cat >"$work/bounds.json" <<'JSON'
{"layer": "linear", "max_forward_macs": 1e8,
 "parameters": {"batch_size": {"min": 1, "max": 16, "distribution": "log_uniform"},
                "in_features": {"min": 8, "max": 256, "distribution": "log_uniform"},
                "out_features": {"min": 8, "max": 256, "distribution": "log_uniform"}}}
JSON
measure() {
  "$bin/measure" --db "$1" --lock-file "$work/lock" --idle 0 --meter none --threads 1 \
    --min-time 0.05 --trials 2 "${@:2}"
}
q() { sqlite3 "file:$1?mode=ro" "$2"; }
fail=0
note() { echo "FAIL: $*"; fail=$((fail + 1)); }
db="$work/killed.sqlite"
RANDOM=7  # the kill points are random but the same on every run of the suite
kills=0 integrity_bad=0 orphans=0
measure "$db" --layer linear --bounds "$work/bounds.json" --n 20 --seed 5 >"$work/run.log" 2>&1 &
pid=$!
while [[ $kills -lt 10 ]]; do
  sleep "0.$((RANDOM % 9 + 1))"
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    status=$?
    # Finished before this kill: the remaining kills have nothing to hit.
    [[ $(q "$db" "SELECT status FROM runs") == finished ]] && break
    note "measure exited with $status before kill $((kills + 1)) (log: $(tail -1 "$work/run.log"))"
    break
  fi
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  kills=$((kills + 1))
  if [[ -f $db ]]; then
    [[ $(q "$db" "PRAGMA integrity_check") == ok ]] || integrity_bad=$((integrity_bad + 1))
    o=$(q "$db" "SELECT COUNT(*) FROM (SELECT sample_index FROM samples
                 GROUP BY run_id, sample_index HAVING COUNT(*) <> 2)" 2>/dev/null || echo 0)
    orphans=$((orphans + o))
  fi
  if [[ ! -f $db || $(q "$db" "SELECT COUNT(*) FROM runs" 2>/dev/null || echo 0) -eq 0 ]]; then
    rm -f "$db" "$db-wal" "$db-shm"
    # Killed before the run row existed: start it anew.
    measure "$db" --layer linear --bounds "$work/bounds.json" --n 20 --seed 5 >>"$work/run.log" 2>&1 &
  else
    measure "$db" --resume >>"$work/run.log" 2>&1 &
  fi
  pid=$!
done
wait "$pid" 2>/dev/null
# Finish whatever the last kill left.
if [[ $(q "$db" "SELECT status FROM runs") != finished ]]; then
  measure "$db" --resume >>"$work/run.log" 2>&1 || note "the final resume failed: $(tail -1 "$work/run.log")"
fi
runs=$(q "$db" "SELECT COUNT(*) FROM runs")
stored=$(q "$db" "SELECT COUNT(DISTINCT sample_index) FROM samples")
rows=$(q "$db" "SELECT COUNT(*) FROM samples")
measure "$work/clean.sqlite" --layer linear --bounds "$work/bounds.json" --n 20 --seed 5 \
  >"$work/clean.log" 2>&1 || note "the uninterrupted run failed"
configs="SELECT group_concat(config, '|') FROM (SELECT config FROM samples WHERE pass = 'forward'
         ORDER BY sample_index)"
same=no
[[ $(q "$db" "$configs") == $(q "$work/clean.sqlite" "$configs") ]] && same=yes
echo "$kills kills: $integrity_bad failed integrity checks, $orphans orphan rows, $runs run(s), \
$stored configs in $rows rows (20 and 40 expected), configs identical to the uninterrupted run: $same"
[[ $integrity_bad -eq 0 ]] || note "integrity_check failed after $integrity_bad kills"
[[ $orphans -eq 0 ]] || note "$orphans orphan rows"
[[ $runs -eq 1 && $stored -eq 20 && $rows -eq 40 ]] || note "rows lost or duplicated"
[[ $same == yes ]] || note "the configs differ from the uninterrupted run"

# Two resumers at once: one resumes, the other is refused by the instance lock; nothing is
# duplicated.
db2="$work/two.sqlite"
measure "$db2" --layer linear --bounds "$work/bounds.json" --n 12 --seed 9 >"$work/two.log" 2>&1 &
pid=$!
sleep 1
kill -9 "$pid"
wait "$pid" 2>/dev/null
measure "$db2" --resume >"$work/r1.log" 2>&1 &
p1=$!
measure "$db2" --resume >"$work/r2.log" 2>&1 &
p2=$!
wait "$p1"
s1=$?
wait "$p2"
s2=$?
[[ $(q "$db2" "SELECT status FROM runs") == finished ]] || measure "$db2" --resume >>"$work/r1.log" 2>&1
dup=$(q "$db2" "SELECT COUNT(*) FROM (SELECT 1 FROM samples GROUP BY run_id, sample_index, pass
                HAVING COUNT(*) > 1)")
stored2=$(q "$db2" "SELECT COUNT(DISTINCT sample_index) FROM samples")
echo "two resumers: exit statuses $s1 and $s2, $dup duplicated rows, $stored2 configs (12 expected)"
[[ $s1 -eq 0 || $s2 -eq 0 ]] || note "neither resumer finished"
[[ $s1 -ne 0 || $s2 -ne 0 ]] || note "both resumers ran"
[[ $dup -eq 0 && $stored2 -eq 12 ]] || note "two resumers lost or duplicated rows"
[[ $fail -eq 0 ]]
