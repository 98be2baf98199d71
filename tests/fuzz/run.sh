#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (ASan + UBSan + libFuzzer) and runs each for
# SECONDS (default 60) from its corpus in tests/fuzz/corpus/<target>/, seeded with the shipped
# configs. New inputs found go to a scratch corpus, not into the repository; a crash leaves
# its input in build-fuzz/ and fails the script. Prints one line per target.
# Usage: tests/fuzz/run.sh [SECONDS [TARGET...]]   (issue 11 § 4; CI runs 60 s, JOURNAL.md
# records 600 s; targets net_json bounds sweep legacy_csv, all by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(net_json bounds sweep legacy_csv)
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I. -DNDEBUG)
# lj_core's sources as core/CMakeLists.txt lists them: one list to keep (a hand-written copy
# here missed core/physical_memory.cpp on 2026-12-07 and the fuzz build failed to link).
mapfile -t core < <(sed -n '/^add_library(lj_core/,/^)/{/\.cpp$/s|^ *\(.*\)|core/\1|p}' \
                      core/CMakeLists.txt)
[[ ${#core[@]} -gt 0 ]] || { echo "fuzz: no lj_core sources in core/CMakeLists.txt" >&2; exit 1; }
net=(net/net_spec.cpp net/layer_instance.cpp net/training_run.cpp)
# The legacy CSV importer needs the store (SQLite) and its embedded schema, generated here as
# db/CMakeLists.txt does.
legacy=(measure/legacy_import.cpp db/*.cpp)
if [[ " ${targets[*]} " == *" legacy_csv "* ]]; then
  mkdir -p "$out/generated/layerjoule"
  python3 - "$out/generated/layerjoule/schema_sql.h" <<'PY'
import sys
template = open("db/schema_sql.h.in").read()
open(sys.argv[1], "w").write(template.replace("@LJ_SCHEMA_SQL@", open("db/schema.sql").read()))
PY
fi
declare -A seeds=([net_json]="configs/nets/*.json" [bounds]="configs/bounds/*.json"
                  [sweep]="configs/sweeps/*.json" [legacy_csv]="")
status=0
for target in "${targets[@]}"; do
  sources=("${core[@]}")
  libs=()
  [[ $target == net_json ]] && sources+=("${net[@]}")
  [[ $target == legacy_csv ]] && sources+=("${legacy[@]}") && libs=(-I"$out/generated" -lsqlite3)
  clang++ "${flags[@]}" "tests/fuzz/${target}_fuzzer.cpp" "${sources[@]}" "${libs[@]}" \
    -o "$out/${target}_fuzzer"
  scratch="$out/corpus_$target"
  mkdir -p "$scratch"
  # shellcheck disable=SC2086
  [[ -n ${seeds[$target]} ]] && { cp ${seeds[$target]} "$scratch/" 2>/dev/null || true; }
  log="$out/${target}.log"
  if ASAN_OPTIONS=detect_leaks=1 "$out/${target}_fuzzer" -max_total_time="$seconds" \
      -max_len=65536 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/${target}-" \
      "$scratch" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    # libFuzzer's own total ("Done 701433 runs in 61 second(s)"); the last "#N" of the log can
    # come from its recommended dictionary instead (it read "3 runs" on 2026-12-07).
    echo "fuzz $target: $(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1) runs in ${seconds} s, 0 crashes"
  else
    echo "fuzz $target: FAILED (see $log)"
    tail -30 "$log"
    status=1
  fi
done
exit $status
