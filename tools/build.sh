#!/usr/bin/env bash
# Configures and builds layerjoule into build/ (executables in build/bin/). Extra arguments go
# to cmake's configure step, e.g. -DLJ_WERROR=ON (tools/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
