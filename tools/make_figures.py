#!/usr/bin/python3
"""Writes the key figures of the notebooks as PNG files (for JOURNAL.md), headless.

    tools/make_figures.py [--db DB] [--bundle BUNDLE] [--out DIR] [--predict BIN]
                          [--predict-args ARGS] [--networks alexnet,resnet18]
                          [--batch-sizes 8..256]

Defaults follow the notebooks: --db $LJ_DB or db/layerjoule.sqlite, --bundle $LJ_BUNDLE or
db/models (a file, a directory, or several joined with ':'), --out docs/figures, --predict
$LJ_PREDICT or build/bin/predict. Relative paths are taken from the repository root.
Writes, where the data exist (and says which are skipped and why):
  sweep_<name>.png                 every one-factor sweep (notebooks/sweeps.ipynb)
  fit_<host>_predicted_vs_measured.png, fit_<host>_residuals_vs_macs.png
                                   per bundle (notebooks/fit_quality.ipynb)
  network_<name>_<batch>_<host>_layers.png, ..._phases.png
                                   per predicted / measured network (notebooks/networks.ipynb)
  batch_sizes_<name>_<host>.png    energy (or time) per sample and peak memory against batch
                                   size, per bundle and --networks net (predict --batch-sizes)
Uses Debian's /usr/bin/python3 (python3-pandas, python3-matplotlib). Exit code 1 with
"make_figures: error: ..." on a missing database or a malformed bundle.
"""
import argparse
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks"))
import ljplots as lj  # noqa: E402

lj.use_headless_backend()
import matplotlib.pyplot as plt  # noqa: E402


def safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def save(fig, out, name, written):
    path = out / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=os.environ.get("LJ_DB") or "db/layerjoule.sqlite")
    parser.add_argument("--bundle", default=os.environ.get("LJ_BUNDLE") or "db/models")
    parser.add_argument("--out", default="docs/figures")
    parser.add_argument("--predict", default=os.environ.get("LJ_PREDICT") or "build/bin/predict")
    parser.add_argument("--predict-args", default=os.environ.get(
        "LJ_PREDICT_ARGS", "{net} --models {bundle} --batch-size {batch_size} --json"))
    parser.add_argument("--networks", default=os.environ.get("LJ_NETWORKS", "alexnet,resnet18"),
                        help="nets to predict when network_samples is empty")
    parser.add_argument("--batch-sizes", default=os.environ.get("LJ_BATCH_SIZES", "8..256"),
                        help="batch sizes of the batch-size figures of --networks")
    parser.add_argument("--threshold", type=float, default=0.15,
                        help="relative residual that flags a sweep point as non-linear")
    args = parser.parse_args()

    out = lj.resolve(args.out)
    out.mkdir(parents=True, exist_ok=True)
    con = lj.open_db(lj.resolve(args.db))
    features = lj.export_features(lj.resolve(args.db))
    samples = lj.read_samples(con, features)
    written = []

    summary = lj.sweep_summary(samples)
    if summary.empty:
        lj.say("no sweep samples: no sweep figures")
    linearity = lj.sweep_linearity(summary, args.threshold)
    parameters = lj.sweep_parameters(con)
    for sweep in sorted(summary["sweep"].unique()):
        save(lj.plot_sweep(summary, linearity, sweep, parameters.get(sweep)), out,
             f"sweep_{safe(sweep)}.png", written)

    bundles = [lj.load_bundle(p) for p in lj.bundle_files(args.bundle)]
    bundles = [b for b in bundles if b["models"]]
    if not bundles:
        lj.say(f"no model bundle with models at {args.bundle}: no fit figures")
    predictions, checks = lj.model_predictions(samples, bundles, features)
    for _, c in checks[~checks["reproduced"]].iterrows() if not checks.empty else []:
        lj.say(f"{c['host']} {c['model']}: {c['note']}")
    for host in predictions["host"].unique():
        fig = lj.plot_predicted_vs_measured(predictions, host)
        fig.suptitle(f"{host}: predicted vs measured", y=1.01)
        save(fig, out, f"fit_{safe(host)}_predicted_vs_measured.png", written)
        fig = lj.plot_residuals_vs_macs(predictions, host)
        fig.suptitle(f"{host}: (predicted - measured) / measured", y=1.01)
        save(fig, out, f"fit_{safe(host)}_residuals_vs_macs.png", written)

    measured = lj.network_phase_summary(lj.read_network_samples(con))
    predict_bin = lj.resolve(args.predict)
    by_host = {b["host"]["hostname"]: b for b in bundles}
    net_files = {json.load(open(p))["name"]: p
                 for p in sorted(lj.resolve("configs/nets").glob("*.json"))}
    if not measured.empty:
        jobs = [tuple(r) for r in measured[["host", "hostname", "network", "batch_size"]]
                .drop_duplicates().itertuples(index=False)]
    else:
        lj.say("network_samples is empty: network figures show predictions only")
        jobs = [(h, h, n, json.load(open(net_files[n]))["batch_size"]) for h in by_host
                for n in filter(None, args.networks.split(",")) if n in net_files]
    if not predict_bin.is_file():
        lj.say(f"no predict binary at {predict_bin}: no network figures")
        jobs = []
    for host, hostname, network, batch in jobs:
        if hostname not in by_host or network not in net_files:
            lj.say(f"{network} on {hostname}: no bundle or no net file, skipped")
            continue
        prediction = lj.run_predict(predict_bin, args.predict_args.format(
            net=net_files[network], bundle=by_host[hostname]["_path"],
            batch_size=int(batch)).split())
        stem = f"network_{safe(network)}_{int(batch)}_{safe(hostname)}"
        save(lj.plot_layer_breakdown(lj.predicted_layers(prediction),
                                     f"{network}, batch {batch}, {host}"), out,
             f"{stem}_layers.png", written)
        comparison = lj.compare_phases(measured, prediction, network, batch, host)
        if not comparison.empty:
            save(lj.plot_phase_comparison(comparison, f"{network}, batch {batch}, {host}"), out,
                 f"{stem}_phases.png", written)

    # Energy (or time) per sample and peak memory against batch size (issue 13).
    for hostname in by_host if predict_bin.is_file() else []:
        for network in filter(None, args.networks.split(",")):
            if network not in net_files:
                continue
            table = lj.run_predict(predict_bin, [net_files[network], "--models",
                                                 by_host[hostname]["_path"], "--batch-sizes",
                                                 args.batch_sizes, "--json"])
            save(lj.plot_batch_sizes(table, f"{network} on {hostname}: predicted cost and "
                                     "memory per batch size"), out,
                 f"batch_sizes_{safe(network)}_{safe(hostname)}.png", written)

    for path in written:
        print(path)
    print(f"make_figures: wrote {len(written)} figure(s) to {out}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, lj.DataError, RuntimeError, ValueError) as e:
        print(f"make_figures: error: {e}", file=sys.stderr)
        sys.exit(1)
