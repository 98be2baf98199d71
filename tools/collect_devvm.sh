#!/usr/bin/env bash
# The experiment behind JOURNAL.md's time-only entries for this machine: random layers of every
# type, the one-factor sweeps, and real training iterations of the five reference nets (ground
# truth, with --layers samples of their own layers), all into one database. Run it on an idle
# machine: other processes on the cores inflate the times. ~40 minutes on 2 cores.
# Usage: tools/collect_devvm.sh [DB=db/layerjoule.sqlite]
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:-db/layerjoule.sqlite}
measure=(build/bin/measure --db "$db" --min-time 0.1 --trials 2 --meter auto)
log() { echo "== $(date -u +%H:%M:%S) $*"; }

log "random conv2d, maxpool2d, linear"
"${measure[@]}" --layer conv --n 200 --seed 1
"${measure[@]}" --layer maxpool --n 120 --seed 2
"${measure[@]}" --layer linear --n 160 --seed 3
seed=10
for t in batchnorm2d relu relu6 hardswish hardsigmoid avgpool2d adaptive_avgpool2d add mul \
         dropout cross_entropy sgd adam; do
  log "random $t"
  "${measure[@]}" --layer "$t" --n 50 --seed $((seed++))
done
for s in configs/sweeps/*.json; do
  log "sweep $s"
  "${measure[@]}" --sweep "$s"
done
# Batch sizes at which one training iteration takes seconds on 2 cores.
declare -A batch=([lenet5]=64 [alexnet]=16 [vgg11]=4 [resnet18]=16 [mobilenet_v3_small]=32)
for net in lenet5 alexnet vgg11 resnet18 mobilenet_v3_small; do
  log "network $net (batch ${batch[$net]})"
  build/bin/measure --db "$db" --meter auto --net "configs/nets/$net.json" \
    --batch-size "${batch[$net]}" --iterations 10 --layers --min-time 0.1 --trials 2
done
log done
