#!/usr/bin/env bash
# Usage: check_no_libtorch.sh BINARY PLUGIN
# predict needs no LibTorch for net.json (issue 13 § 5): the binary does not link libtorch (its
# start-up would cost ~0.6 s), and the TorchScript plugin it dlopens does.
set -euo pipefail
binary=$1 plugin=$2
# ldd's output is taken whole first: `ldd | grep -q` under pipefail fails when grep stops early.
binary_libs=$(ldd "$binary")
plugin_libs=$(ldd "$plugin")
if grep -E 'libtorch|libc10' <<<"$binary_libs"; then
  echo "$binary links LibTorch"
  exit 1
fi
if ! grep -q libtorch <<<"$plugin_libs"; then
  echo "$plugin does not link LibTorch: it is not the TorchScript reader"
  exit 1
fi
echo "$binary: no LibTorch; $plugin: LibTorch"
