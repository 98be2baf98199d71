#!/usr/bin/env bash
# Usage: check_layering.sh MEASURE_BINARY
# measure links neither fit nor Eigen (issue 9: data walks one way, configs -> measure -> db ->
# fit -> bundle -> predict). Fails, naming the symbols, when the binary defines any of fit's
# functions (lj::FitModel, lj::Lasso*, lj::FeatureValues, the bundle) or Eigen's.
set -euo pipefail
binary=$1
symbols=$(nm -C --defined-only "$binary" | grep -E 'lj::(Fit|Lasso|FeatureValues|DesignMatrix|LoadBundle|ModelBundle)|Eigen::' || true)
if [[ -n "$symbols" ]]; then
  echo "$binary defines fit or Eigen code:"
  echo "$symbols" | head -20
  exit 1
fi
echo "$binary: no fit or Eigen symbols"
