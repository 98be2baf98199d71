#!/usr/bin/env bash
# README command 1: installs dependencies, builds, and runs the main job on a short real run:
# measure a few random configs of every layer type, import the prototype's real RAPL data, fit
# models for both hosts, and predict the cost of training LeNet-5 (this host) and the prototype's
# AlexNet (Raptor Lake, energy, against its measured training), then evaluate every model kind
# leave-one-network-out against the measured networks. About 6 minutes after the build
# on 2 cores. The demo keeps to db/demo.sqlite and db/demo-models/, never db/models/. Numbers from so few samples are rough: for real
# models measure thousands of configs (tools/campaign.sh, README "measure" and "evaluate").
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
bash tools/build.sh
db=db/demo.sqlite
models=db/demo-models
rm -rf "$db" "$db-wal" "$db-shm" "$models"
lock=$(mktemp -u /tmp/layerjoule-demo.XXXXXX.lock)

# 1. Measure: forward and backward of random configs; energy where RAPL is readable.
for t in conv maxpool linear batchnorm2d relu relu6 hardswish hardsigmoid sigmoid avgpool2d \
         adaptive_avgpool2d add mul dropout cross_entropy sgd adam grad_accumulate zero_grad silu \
         gelu cat softmax layer_norm contiguous scale bmm embedding select mean tanh bias_add norm div clamp_min; do
  build/bin/measure --layer "$t" --n 24 --db "$db" --min-time 0.02 --trials 2 --idle 0.5 \
    --lock-file "$lock" --seed 1
done
# 1b. Ground truth: real training iterations of two networks, with their own layers measured
#     in isolation (--layers), so that the evaluation below can leave each one out.
build/bin/measure --net configs/nets/lenet5.json --iterations 10 --layers --db "$db" \
  --min-time 0.02 --trials 2 --idle 0.5 --lock-file "$lock"
build/bin/measure --net configs/nets/mobilenet_v3_small.json --batch-size 8 --iterations 10 \
  --layers --db "$db" --min-time 0.02 --trials 2 --idle 0.5 --lock-file "$lock"
# 1c. LibTorch's own memory on this host, which predict adds to a training step's peak: two
#     probe networks whose tensors are tiny (configs/nets/probes/, docs/memory_accounting.md).
for probe in configs/nets/probes/*.json; do
  build/bin/measure --net "$probe" --iterations 5 --db "$db" --idle 0 --lock-file "$lock"
done
sqlite3 -header -column "$db" \
  "SELECT layer, pass, COUNT(*) AS samples, printf('%.3g', AVG(time_s)) AS mean_time_s,
          COUNT(energy_j) AS with_energy FROM samples GROUP BY layer, pass"

# 2. Real RAPL data of the Python prototype (Raptor Lake desktop), if ../shared is there.
legacy=../shared/data/legacy-pyrapl/raptorlake
if [ -d "$legacy" ]; then
  build/bin/measure --import-legacy "$legacy" --host raptorlake --db "$db"
fi

# 3. Fit one model bundle per host.
host=$(hostname)
build/bin/fit --db "$db" --folds 3 --out "$models/$host.json" --host "$host"
[ -d "$legacy" ] && build/bin/fit --db "$db" --host raptorlake --out "$models/raptorlake.json"

# 4. Predict: the prototype's AlexNet on Raptor Lake (energy) against its measured training, then
#    training LeNet-5 on this host (time). Every layer type has a model, so also try
#    `build/bin/predict configs/nets/mobilenet_v3_small.json --models db/demo-models/$(hostname).json`.
if [ -d "$legacy" ]; then
  build/bin/predict configs/nets/alexnet_legacy.json --models "$models/raptorlake.json" \
    --compare --db "$db"
fi
build/bin/predict configs/nets/lenet5.json --models "$models/$host.json"

# 5. The yardstick: every model kind against real networks, leave one network out (what
#    predict's numbers are worth on networks the models never saw; README "evaluate").
build/bin/evaluate --db "$db" --folds 3
