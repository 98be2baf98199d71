#!/usr/bin/env bash
# Builds the libFuzzer targets with Debian's clang (ASan + UBSan + libFuzzer) and runs each for
# SECONDS (default 60) from its corpus in tests/fuzz/corpus/<target>/, seeded with the shipped
# configs. New inputs found go to a scratch corpus, not into the repository; a crash leaves
# its input in build-fuzz/ and fails the script. Prints one line per target.
# Usage: tests/fuzz/run.sh [SECONDS]   (issue 11 § 4; CI runs 60 s, JOURNAL.md records 600 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I. -DNDEBUG)
core=(core/bounds.cpp core/config_sampler.cpp core/cost_model.cpp core/file_read.cpp
      core/json_reader.cpp core/layer_config.cpp core/layer_types.cpp core/sweep.cpp)
net=(net/net_spec.cpp net/layer_instance.cpp net/training_run.cpp)
declare -A seeds=([net_json]="configs/nets/*.json" [bounds]="configs/bounds/*.json"
                  [sweep]="configs/sweeps/*.json")
status=0
for target in net_json bounds sweep; do
  sources=("${core[@]}")
  [[ $target == net_json ]] && sources+=("${net[@]}")
  clang++ "${flags[@]}" "tests/fuzz/${target}_fuzzer.cpp" "${sources[@]}" -o "$out/${target}_fuzzer"
  scratch="$out/corpus_$target"
  mkdir -p "$scratch"
  # shellcheck disable=SC2086
  cp ${seeds[$target]} "$scratch/" 2>/dev/null || true
  log="$out/${target}.log"
  if ASAN_OPTIONS=detect_leaks=1 "$out/${target}_fuzzer" -max_total_time="$seconds" \
      -max_len=65536 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/${target}-" \
      "$scratch" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    echo "fuzz $target: $(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#') runs in ${seconds} s, 0 crashes"
  else
    echo "fuzz $target: FAILED (see $log)"
    tail -30 "$log"
    status=1
  fi
done
exit $status
