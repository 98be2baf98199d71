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
# An array, not a shell function: `measure ... &` must give $! the pid of measure itself (a
# function in the background is a subshell, and SIGKILL would hit the subshell instead).
measure=("$bin/measure" --lock-file "$work/lock" --idle 0 --meter none --threads 1
  --min-time 0.05 --trials 2)
q() { sqlite3 "file:$1?mode=ro" "$2"; }
fail=0
note() { echo "FAIL: $*"; fail=$((fail + 1)); }
db="$work/killed.sqlite"
RANDOM=7  # the kill points are random but the same on every run of the suite
kills=0 integrity_bad=0 orphans=0
"${measure[@]}" --db "$db" --layer linear --bounds "$work/bounds.json" --n 20 --seed 5 >"$work/run.log" 2>&1 &
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
    "${measure[@]}" --db "$db" --layer linear --bounds "$work/bounds.json" --n 20 --seed 5 >>"$work/run.log" 2>&1 &
  else
    "${measure[@]}" --db "$db" --resume >>"$work/run.log" 2>&1 &
  fi
  pid=$!
done
wait "$pid" 2>/dev/null
# Finish whatever the last kill left.
if [[ $(q "$db" "SELECT status FROM runs") != finished ]]; then
  "${measure[@]}" --db "$db" --resume >>"$work/run.log" 2>&1 || note "the final resume failed: $(tail -1 "$work/run.log")"
fi
runs=$(q "$db" "SELECT COUNT(*) FROM runs")
stored=$(q "$db" "SELECT COUNT(DISTINCT sample_index) FROM samples")
rows=$(q "$db" "SELECT COUNT(*) FROM samples")
"${measure[@]}" --db "$work/clean.sqlite" --layer linear --bounds "$work/bounds.json" --n 20 --seed 5 \
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
"${measure[@]}" --db "$db2" --layer linear --bounds "$work/bounds.json" --n 12 --seed 9 >"$work/two.log" 2>&1 &
pid=$!
# Kill it once it has stored a config (so that there is a run to resume), at most 60 s later.
for _ in $(seq 600); do
  [[ $(q "$db2" "SELECT COUNT(*) FROM samples" 2>/dev/null || echo 0) -gt 0 ]] && break
  sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
"${measure[@]}" --db "$db2" --resume >"$work/r1.log" 2>&1 &
p1=$!
"${measure[@]}" --db "$db2" --resume >"$work/r2.log" 2>&1 &
p2=$!
wait "$p1"
s1=$?
wait "$p2"
s2=$?
[[ $(q "$db2" "SELECT status FROM runs") == finished ]] || "${measure[@]}" --db "$db2" --resume >>"$work/r1.log" 2>&1
dup=$(q "$db2" "SELECT COUNT(*) FROM (SELECT 1 FROM samples GROUP BY run_id, sample_index, pass
                HAVING COUNT(*) > 1)")
stored2=$(q "$db2" "SELECT COUNT(DISTINCT sample_index) FROM samples")
echo "two resumers: exit statuses $s1 and $s2, $dup duplicated rows, $stored2 configs (12 expected)"
[[ $s1 -eq 0 || $s2 -eq 0 ]] || note "neither resumer finished"
[[ $s1 -ne 0 || $s2 -ne 0 ]] || note "both resumers ran"
[[ $dup -eq 0 && $stored2 -eq 12 ]] || note "two resumers lost or duplicated rows"
# The emulated powercap tree (tests/support/fake_powercap.cpp: root and mount namespaces; it
# exits 77 where it cannot emulate) with faults, measured with --meter rapl. Package power is
# 40 + 25 W, so every stored energy must be 65 W x its time.
fake="$bin/fake_powercap"
rapl=("$bin/measure" --lock-file "$work/lock" --idle 0 --meter rapl --threads 1 --min-time 0.1
  --trials 3)
power() { q "$1" "SELECT printf('%.1f-%.1f', MIN(energy_j / time_s), MAX(energy_j / time_s))
                  FROM samples"; }
"$fake" -- true >/dev/null 2>&1
if [[ $? -eq 77 ]]; then
  echo "SKIP the RAPL faults: fake_powercap cannot emulate RAPL here (needs root and mount namespaces)"
else
  # A counter reset every 0.5 s (a reboot or driver reload reads as a ~262 kJ wraparound):
  # the trials it hits are measured again, none is stored with the reset's energy. Trials of
  # ~0.1 s: a retry is not hit again unless load stretches it to 0.5 s four times in a row.
  "$fake" --reset-every-s 0.5 -- "${rapl[@]}" --db "$work/reset.sqlite" --layer linear \
    --bounds "$work/bounds.json" --n 6 --seed 3 >"$work/reset.log" 2>&1
  status=$?
  remeasured=$(grep -c 'counter reset' "$work/reset.log")
  range=$(power "$work/reset.sqlite")
  lo=${range%-*} hi=${range#*-}
  echo "counter reset every 0.5 s: exit $status, $remeasured trials measured again, stored power \
$range W (65 W emulated)"
  [[ $status -eq 0 ]] || note "measure under counter resets exited $status: $(tail -1 "$work/reset.log")"
  [[ $remeasured -gt 0 ]] || note "no counter reset hit a trial (the check saw nothing)"
  awk -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(lo > 55 && hi < 75) }' ||
    note "stored power $range W is not the emulated 65 W"

  # Every zone disappears after 2.5 s (a driver unload): the run ends, marked failed, non-zero.
  "$fake" --vanish-after-s 2.5 -- timeout 60 "${rapl[@]}" --db "$work/vanish.sqlite" \
    --layer linear --bounds "$work/bounds.json" --n 1000 --seed 4 >"$work/vanish.log" 2>&1
  status=$?
  run_status=$(q "$work/vanish.sqlite" "SELECT status FROM runs")
  range=$(power "$work/vanish.sqlite")
  echo "zone vanished mid-run: exit $status, run $run_status, \
$(q "$work/vanish.sqlite" "SELECT COUNT(DISTINCT sample_index) FROM samples") configs stored \
before (power $range W); $(grep -o 'energy_uj failed[^;]*' "$work/vanish.log" | head -1)"
  [[ $status -ne 0 && $status -ne 124 ]] || note "measure did not fail cleanly when the zones vanished (exit $status)"
  [[ $run_status == failed ]] || note "the run is '$run_status' after its meter vanished, not failed"

  # A stuck dram counter is refused before anything is measured.
  "$fake" --dram-w 3 --stuck-dram -- "${rapl[@]}" --db "$work/stuck.sqlite" --layer linear \
    --bounds "$work/bounds.json" --n 2 >"$work/stuck.log" 2>&1
  status=$?
  echo "stuck dram counter: exit $status, $(grep -o 'RAPL counter dram did not advance' \
"$work/stuck.log" | head -1), database $([[ -e $work/stuck.sqlite ]] && echo written || echo absent)"
  [[ $status -ne 0 ]] && grep -q 'dram did not advance' "$work/stuck.log" ||
    note "a stuck dram counter was not refused: $(tail -1 "$work/stuck.log")"
fi

# Disk full (a 384 KiB tmpfs in a private mount namespace): measure exits non-zero with SQLite's
# error, the database stays intact and resumable; copied to a disk with room, a resume finishes
# it with exactly the uninterrupted run's configs.
full="$work/full" copy="$work/copy"
fast=("$bin/measure" --lock-file "$work/lock" --idle 0 --meter none --threads 1 --min-time 0.01
  --trials 1)
mkdir -p "$full" "$copy"
unshare -m --propagation private bash -c '
  mount -t tmpfs -o size=384k tmpfs "$1" || exit 77
  shift 2
  "$@" >"'"$work"'/full.log" 2>&1
  echo $? >"'"$work"'/full.rc"
  cp "'"$full"'"/db.sqlite* "'"$copy"'"/' _ "$full" -- "${fast[@]}" --db "$full/db.sqlite" \
  --layer linear --bounds "$work/bounds.json" --n 60 --seed 5
if [[ $? -eq 77 || ! -f $work/full.rc ]]; then
  echo "SKIP disk full: no tmpfs mount in a private namespace here (needs root)"
else
  status=$(cat "$work/full.rc")
  before=$(q "$copy/db.sqlite" "SELECT COUNT(DISTINCT sample_index) FROM samples")
  integrity=$(q "$copy/db.sqlite" "PRAGMA integrity_check")
  run_status=$(q "$copy/db.sqlite" "SELECT status FROM runs")
  "${fast[@]}" --db "$copy/db.sqlite" --resume >>"$work/full.log" 2>&1
  resumed=$?
  "${fast[@]}" --db "$work/clean60.sqlite" --layer linear --bounds "$work/bounds.json" \
    --n 60 --seed 5 >/dev/null 2>&1
  same=no
  [[ $(q "$copy/db.sqlite" "$configs") == $(q "$work/clean60.sqlite" "$configs") ]] && same=yes
  echo "disk full: exit $status after $before of 60 configs ($(grep -o 'database or disk is full' \
"$work/full.log" | head -1)), integrity $integrity, run $run_status; resumed elsewhere: exit \
$resumed, $(q "$copy/db.sqlite" "SELECT COUNT(DISTINCT sample_index) FROM samples") configs, \
identical to the uninterrupted run: $same"
  [[ $status -ne 0 && $before -lt 60 ]] || note "the disk never filled or measure exited 0 (exit $status, $before configs)"
  grep -q 'disk is full' "$work/full.log" || note "the disk-full error does not say so: $(grep error "$work/full.log" | head -1)"
  [[ $integrity == ok ]] || note "integrity_check after disk full: $integrity"
  [[ $run_status == interrupted || $run_status == running ]] || note "run is '$run_status' after disk full"
  [[ $resumed -eq 0 && $same == yes ]] || note "the resume after disk full did not complete the same configs"
fi
[[ $fail -eq 0 ]]
