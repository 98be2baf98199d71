#!/usr/bin/python3
"""How much of a training iteration is first-touch page faults? A diagnostic (issue 10).

For each reference net (tools/reference_models.py; the configs/nets/*.json modules) it runs
training iterations as tools/python_train_loop.py does (forward, cross-entropy, backward,
SGD step and zero_grad) and counts the minor page faults of each phase (getrusage), and right
before each iteration times the first touch of 64 MiB of fresh anonymous memory (as measure's
first-touch probe, measure/first_touch_probe.h). It prints per net and phase the median time,
the median faults, and faults x the probe's cost per page as a share of the phase's time: an
estimate of the time the phase spends faulting in fresh pages (the faults of the 2 threads may
overlap, so the share can overestimate; a share far above 1 means it does).
Usage: OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tools/fault_share.py [--threads 2]
       [--iterations 8] [--net vgg11:4 ...]
"""
import argparse
import mmap
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402

DEFAULT_NETS = ["lenet5:64", "alexnet:16", "vgg11:4", "resnet18:16", "mobilenet_v3_small:32"]
PHASES = ["forward", "loss", "backward", "optimizer"]
PROBE_BYTES = 64 << 20


def first_touch_per_page_s():
    """Seconds per page to map, touch and unmap PROBE_BYTES of anonymous memory."""
    page = mmap.PAGESIZE
    t0 = time.perf_counter()
    m = mmap.mmap(-1, PROBE_BYTES, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    view = memoryview(m)
    for offset in range(0, PROBE_BYTES, page):
        view[offset] = 1
    view.release()
    m.close()
    return (time.perf_counter() - t0) / (PROBE_BYTES // page)


def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=8)
    p.add_argument("--net", action="append")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}")
    for spec in args.net or DEFAULT_NETS:
        name, batch = spec.split(":")
        model = reference_models.build(name)
        model.train()
        size = 32 if name == "lenet5" else 224
        channels = 1 if name == "lenet5" else 3
        x = torch.randn(int(batch), channels, size, size)
        y = torch.randint(0, 10, (int(batch),))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        rows = {ph: {"t": [], "f": [], "share": []} for ph in PHASES}
        per_page = []
        for it in range(args.iterations + 2):
            pp = first_touch_per_page_s()
            f0 = faults()
            t0 = time.perf_counter()
            out = model(x)
            t1, f1 = time.perf_counter(), faults()
            loss = F.cross_entropy(out, y)
            t2, f2 = time.perf_counter(), faults()
            loss.backward()
            t3, f3 = time.perf_counter(), faults()
            opt.step()
            opt.zero_grad()
            t4, f4 = time.perf_counter(), faults()
            if it < 2:
                continue  # warm-up
            per_page.append(pp)
            for ph, dt, df in zip(PHASES, [t1 - t0, t2 - t1, t3 - t2, t4 - t3],
                                  [f1 - f0, f2 - f1, f3 - f2, f4 - f3]):
                rows[ph]["t"].append(dt)
                rows[ph]["f"].append(df)
                rows[ph]["share"].append(df * pp / dt)
        med_pp = statistics.median(per_page)
        print(f"{name} (batch {batch}): first touch {med_pp * 1e6:.2f} us/page "
              f"(range {min(per_page) * 1e6:.2f}-{max(per_page) * 1e6:.2f})")
        for ph in PHASES:
            r = rows[ph]
            print(f"  {ph:9s} {statistics.median(r['t']) * 1e3:9.2f} ms  "
                  f"{statistics.median(r['f']):8.0f} faults  "
                  f"faults x cost = {statistics.median(r['share']) * 100:5.1f} % of the phase")


if __name__ == "__main__":
    main()
