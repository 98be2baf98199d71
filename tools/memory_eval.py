#!/usr/bin/python3
"""Predicted against measured peak memory of a training step (issue 13), as a Markdown table.

For each NAME:BATCH, runs `measure --net configs/nets/NAME.json --batch-size BATCH` (meter
none, a few iterations) into a scratch database twice, reads the largest
network_samples.peak_memory_bytes of each run (VmHWM above the resident memory before the net
was built; measure/peak_memory.h), and `predict ... --json`'s memory.peak_bytes (the
accounting of docs/memory_accounting.md):
  - "tensors": with MALLOC_MMAP_THRESHOLD_=65536, glibc maps every block of >= 64 KiB when it
    is allocated and unmaps it when it is freed, so the resident set follows the live tensors:
    the ground truth of the accounting;
  - "default malloc": glibc as users run it (a dynamic mmap threshold up to 32 MiB: freed
    blocks stay in the heap, and fragmentation adds to the peak).
Usage: tools/memory_eval.py --models db/demo-models/vm.json [--net lenet5:64 ...]
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

DEFAULT_NETS = [f"{net}:{b}" for net, batches in [
    ("lenet5", (16, 64, 256)), ("alexnet", (4, 16, 64)), ("resnet18", (4, 16, 32)),
    ("mobilenet_v3_small", (4, 16, 32)), ("vgg11", (4, 16, 32))] for b in batches]
MIB = 1024.0 * 1024.0


def last_line(text):
    """The last non-empty line of a command's stderr, for a table cell."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "(no message)").replace("|", "/")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", required=True)
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--iterations", default="3")
    ap.add_argument("--net", action="append", help="NAME:BATCH (configs/nets/NAME.json)")
    args = ap.parse_args()
    print("| net | batch | predicted peak | measured, tensors | measured / predicted | "
          "measured, default malloc | measured / predicted | predicted peak at |")
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        for item in args.net or DEFAULT_NETS:
            name, batch = item.split(":")
            net = f"configs/nets/{name}.json"
            peaks = []
            for mode, extra_env in (("tensors", {"MALLOC_MMAP_THRESHOLD_": "65536"}),
                                    ("default", {})):
                db = os.path.join(scratch, f"{name}_{batch}_{mode}.sqlite")
                env = dict(os.environ)
                env.pop("MALLOC_MMAP_THRESHOLD_", None)
                env.update(extra_env)
                measure = subprocess.run(
                    [f"{args.bin}/measure", "--net", net, "--batch-size", batch, "--iterations",
                     args.iterations, "--meter", "none", "--idle", "0", "--db", db,
                     "--lock-file", os.path.join(scratch, "lock")],
                    capture_output=True, text=True, env=env)
                if measure.returncode != 0:
                    print(f"| {name} | {batch} | measure failed: {last_line(measure.stderr)} "
                          "|||||||")
                    failed = True
                    break
                peaks.append(sqlite3.connect(db).execute(
                    "SELECT MAX(peak_memory_bytes) FROM network_samples").fetchone()[0])
            if len(peaks) < 2:
                continue
            predict = subprocess.run(
                [f"{args.bin}/predict", net, "--batch-size", batch, "--models", args.models,
                 "--json"], capture_output=True, text=True)
            if predict.returncode != 0:
                print(f"| {name} | {batch} | predict failed: {last_line(predict.stderr)} |||||||")
                failed = True
                continue
            memory = json.loads(predict.stdout)["memory"]
            predicted = memory["peak_bytes"]
            cells = []
            for measured in peaks:
                if measured is None:
                    cells += ["absent (no peak memory probe here)", "—"]
                else:
                    cells += [f"{measured / MIB:.1f} MiB", f"{measured / predicted:.2f}"]
            print(f"| {name} | {batch} | {predicted / MIB:.1f} MiB | " + " | ".join(cells) +
                  f" | {memory['peak_at']} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
