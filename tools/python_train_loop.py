#!/usr/bin/python3
"""The training loop as users write it, in Python, against `measure --net` (issue 10 § 6).

Times the same phases as measure/network_run.h for the networks of tools/reference_models.py
(the modules the configs/nets/*.json files describe): forward `out = model(x)`, loss
`F.cross_entropy(out, y)`, backward `loss.backward()`, optimizer `opt.step(); opt.zero_grad()`
(SGD lr 0.01 momentum 0.9; Debian's torch 1.13 zero_grad() zero-fills, set_to_none=False, as
LibTorch 1.13's Optimizer::zero_grad does), on one random batch, after warm-up iterations,
with torch.set_num_threads(--threads). Prints per net and phase the median and spread over the
iterations and, with --db, the newest `measure --net` run of the same net and batch size.

Run it with the environment you want to compare: `measure` re-executes itself with
OMP_WAIT_POLICY=PASSIVE, a Python user usually runs without it.
Usage: /usr/bin/python3 tools/python_train_loop.py [--db DB] [--threads 2] [--iterations 20]
                                                   [--net lenet5:64 ...] [--json]
"""
import argparse
import json
import os
import sqlite3
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402

DEFAULT_NETS = ["lenet5:64", "alexnet:16", "vgg11:4", "resnet18:16", "mobilenet_v3_small:32"]
PHASES = ["forward", "loss", "backward", "optimizer", "iteration"]


def timed_iteration(model, x, y, step):
    """One training iteration: forward, cross-entropy loss, backward, then step() (the
    optimizer step and zero_grad). Returns the seconds of the four phases, in PHASES order."""
    t0 = time.perf_counter()
    out = model(x)
    t1 = time.perf_counter()
    loss = F.cross_entropy(out, y)
    t2 = time.perf_counter()
    loss.backward()
    t3 = time.perf_counter()
    step()
    t4 = time.perf_counter()
    return [t1 - t0, t2 - t1, t3 - t2, t4 - t3]


def quantile(values, q):
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def summary(values):
    med = quantile(values, 0.5)
    return {"median_s": med, "spread": (quantile(values, 0.75) - quantile(values, 0.25)) / 2 / med,
            "n": len(values)}


def train(name, batch, iterations, warmup):
    torch.manual_seed(1)
    model = reference_models.build(name).train()
    channels, height, width = reference_models.MODELS[name][1]
    x = torch.randn(batch, channels, height, width)
    with torch.no_grad():
        classes = model(x).shape[1]
    y = torch.randint(0, classes, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = {p: [] for p in PHASES}
    def step():
        opt.step()
        opt.zero_grad()

    for i in range(warmup + iterations):
        phases = timed_iteration(model, x, y, step)
        if i >= warmup:
            for phase, dt in zip(PHASES, phases + [sum(phases)]):
                times[phase].append(dt)
    return {p: summary(v) for p, v in times.items()}


def measured(db, name, batch):
    """Median per phase of the newest `measure --net` run of `name` at `batch`, or None."""
    if not db or not os.path.exists(db):
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    row = con.execute("SELECT MAX(run_id) FROM network_samples WHERE network = ? AND "
                      "batch_size = ?", (name, batch)).fetchone()
    if row[0] is None:
        return None
    out = {}
    for phase in PHASES:
        values = [r[0] for r in con.execute(
            "SELECT time_s FROM network_samples WHERE run_id = ? AND phase = ?", (row[0], phase))]
        if values:
            out[phase] = summary(values)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", help="database with `measure --net` runs to compare with")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--net", action="append", help="NAME:BATCH (tools/reference_models.py)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads < 1 or args.iterations < 1:
        ap.error("--threads and --iterations must be >= 1")
    torch.set_num_threads(args.threads)
    env = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    results = []
    for item in args.net or DEFAULT_NETS:
        name, batch = item.split(":")
        batch = int(batch)
        results.append({"network": name, "batch_size": batch,
                        "python": train(name, batch, args.iterations, args.warmup),
                        "measure": measured(args.db, name, batch)})
    if args.json:
        print(json.dumps({"environment": env, "results": results}, indent=2))
        return 0
    print(f"Python loop: torch {env['torch']}, {env['threads']} threads, OMP_WAIT_POLICY="
          f"{env['OMP_WAIT_POLICY']}, {args.iterations} iterations after {args.warmup} warm-up\n")
    print("| network | batch | phase | python median (spread) | measure --net median (spread) |"
          " python / measure |")
    print("|---|---|---|---|---|---|")
    for r in results:
        for phase in PHASES:
            p = r["python"][phase]
            m = (r["measure"] or {}).get(phase)
            ms = f"{1e3 * m['median_s']:.4g} ms (±{100 * m['spread']:.1f} %)" if m else "—"
            ratio = f"{p['median_s'] / m['median_s']:.3f}" if m else "—"
            print(f"| {r['network']} | {r['batch_size']} | {phase} | "
                  f"{1e3 * p['median_s']:.4g} ms (±{100 * p['spread']:.1f} %) | {ms} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
