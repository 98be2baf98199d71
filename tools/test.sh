#!/usr/bin/env bash
# README command 2: installs dependencies, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
bash tools/check_format.sh
bash tools/build.sh -DLJ_WERROR=ON
ctest --test-dir build --output-on-failure -j2
