#!/usr/bin/python3
"""Predicted against measured training iterations of the reference nets, as a Markdown table.

Runs `predict NET --compare --json` for each net measured with `measure --net` in the database
and prints one row per net and phase: predicted, measured and error (%) of time and energy.
Usage: tools/compare_nets.py --db db/layerjoule.sqlite --models db/models/HOST.json
                             [--net configs/nets/lenet5.json:64 ...]
"""
import argparse
import json
import subprocess
import sys

DEFAULT_NETS = ["lenet5:64", "alexnet:16", "vgg11:4", "resnet18:16", "mobilenet_v3_small:32"]


def fmt(value, unit, scale=1.0):
    return "—" if value is None else f"{value * scale:.4g} {unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default="db/layerjoule.sqlite")
    ap.add_argument("--models", required=True)
    ap.add_argument("--predict", default="build/bin/predict")
    ap.add_argument("--net", action="append", help="NAME:BATCH (configs/nets/NAME.json)")
    args = ap.parse_args()
    print("| net | batch | phase | predicted time | measured time | time error | "
          "predicted energy | measured energy | energy error |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for item in args.net or DEFAULT_NETS:
        name, batch = item.split(":")
        cmd = [args.predict, f"configs/nets/{name}.json", "--batch-size", batch, "--models",
               args.models, "--compare", "--db", args.db, "--json"]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"| {name} | {batch} | error: {run.stderr.strip()} |||||||")
            failed = True
            continue
        out = json.loads(run.stdout)
        cov = out.get("coverage", {})
        for p in out["comparison"]["phases"]:
            lb = "≥ " if p["predicted_lower_bound"] else ""
            te = p["time_error_pct"]
            ee = p["energy_error_pct"]
            print(f"| {name} | {batch} | {p['phase']} | {lb}{fmt(p['predicted_time_s'], 'ms', 1e3)}"
                  f" | {fmt(p['measured_time_s'], 'ms', 1e3)} | "
                  f"{'—' if te is None else f'{te:+.1f} %'} | "
                  f"{lb}{fmt(p['predicted_energy_j'], 'J')} | {fmt(p['measured_energy_j'], 'J')} | "
                  f"{'—' if ee is None else f'{ee:+.1f} %'} |")
        if cov:
            print(f"| {name} | {batch} | coverage | {json.dumps(cov)} |||||||", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
