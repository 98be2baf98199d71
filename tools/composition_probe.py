#!/usr/bin/python3
"""Where does the composition gap (evaluate's (d)) come from? A diagnostic, not part of the pipeline.

For a Sequential reference net (tools/reference_models.py) it times, interleaved over rounds:
  network  one training iteration's forward and backward (loss.backward()), as measure --net;
  warm     each top-level layer alone, forward and backward repeated on the same input
           (retain_graph), as measure's LayerRunner does: inputs, weights and saved tensors are
           hot in the caches;
  cold     the same single executions, but with the caches flushed before each one (a 256 MiB
           buffer written, outside the timed region), as a layer meets them inside a network
           whose other layers ran in between.
and prints the medians and the sums. If cold sums close the gap to the network and warm sums
do not, the gap is cache state, not per-op dispatch.
Usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tools/composition_probe.py [--net lenet5:64]
       [--threads 2] [--rounds 5] [--reps 30]
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402
from python_train_loop import timed_iteration  # noqa: E402

FLUSH = None


def flush():
    FLUSH.add_(1.0)  # writes 256 MiB: evicts L1, L2 and L3


def time_one(fn, cold):
    if cold:
        flush()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def layer_times(layer, x, first, reps, cold):
    """Median forward and backward seconds of one layer on input x."""
    x = x.detach().requires_grad_(not first)
    fwd = []
    for _ in range(reps):
        fwd.append(time_one(lambda: layer(x), cold))
    out = layer(x)
    grad = torch.ones_like(out)
    bwd = []
    for _ in range(reps):
        bwd.append(time_one(lambda: torch.autograd.backward(out, grad, retain_graph=True), cold))
    return statistics.median(fwd), statistics.median(bwd)


def network_times(model, x, y, reps, cold):
    fwd, bwd = [], []
    for _ in range(reps):
        if cold:
            flush()
        forward_s, _, backward_s, _ = timed_iteration(
            model, x, y, lambda: model.zero_grad(set_to_none=False))
        fwd.append(forward_s)
        bwd.append(backward_s)
    return statistics.median(fwd), statistics.median(bwd)


def main():
    global FLUSH
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--net", default="lenet5:64")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    FLUSH = torch.zeros(64 << 20)
    name, batch = args.net.split(":")
    batch = int(batch)
    torch.manual_seed(1)
    model = reference_models.build(name).train()
    if not isinstance(model, torch.nn.Sequential):
        sys.exit(f"{name}: only Sequential nets are split into layers here")
    c, h, w = reference_models.MODELS[name][1]
    x = torch.randn(batch, c, h, w)
    with torch.no_grad():
        inputs = [x]
        for layer in model:
            inputs.append(layer(inputs[-1]))
    y = torch.randint(0, inputs[-1].shape[1], (batch,))
    rows = {}
    for r in range(args.rounds):
        for mode in ("network", "warm", "cold", "network-cold"):
            if mode.startswith("network"):
                f, b = network_times(model, x, y, args.reps, mode == "network-cold")
            else:
                f = b = 0.0
                first = True
                for layer, inp in zip(model, inputs):
                    lf, lb = layer_times(layer, inp, first, args.reps, mode == "cold")
                    first = first and not any(p.requires_grad for p in layer.parameters())
                    f += lf
                    b += lb
            rows.setdefault(mode, []).append((f, b))
    print(f"{name} batch {batch}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', '(unset)')}, torch {torch.__version__}; "
          f"medians over {args.rounds} interleaved rounds of {args.reps} (min-max of the rounds)")
    print("| mode | forward ms | backward ms |")
    print("|---|---|---|")
    for mode, values in rows.items():
        cells = []
        for k in (0, 1):
            v = [1e3 * t[k] for t in values]
            cells.append(f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f})")
        print(f"| {mode} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
