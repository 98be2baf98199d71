#!/usr/bin/python3
"""Coverage of torchvision's classifiers by `predict` (issue 12 item 3): which of their ops map to a
layer type with a config, and which cannot be mapped.

Usage: /usr/bin/python3 tools/torchvision_coverage.py [--models a,b] [--batch-size 2]
           [--max-parameters 1e9] [--bundle FILE] [--json OUT]
For every classification model constructor of torchvision.models (0.14: 80), or those of --models:
builds it (random weights, eval mode), traces it with torch.jit.trace (autograd on, so that
attention takes the path training runs) on a batch-1 random input of
3x224x224 (inception_v3: 3x299x299), saves it to a temporary file, and runs
`build/bin/predict MODEL.pt --input ... --batch-size B --json --models BUNDLE`. Each op that costs
something is one of:
  mapped        a layer type with a config (modelled, extrapolated, or without a model in BUNDLE);
  note          a layer type whose config cannot be built (the note says why, e.g. "softmax over
                dim 1 of a rank-4 tensor");
  unmapped      an aten op with no layer type.
Views and identities (flatten, dropout p=0) cost nothing and are not counted.
Prints a markdown table, one row per model, and the unmapped op kinds summed over all models.
Models above --max-parameters (default 1e9, above all 80) are listed as skipped. The largest two
(vit_h_14, regnet_y_128gf: 2.5 GB files) need about 4 GB of memory to export and to predict.
A model that cannot be built or traced is listed with the error's first line.
Needs Debian python3-torchvision 0.14 (run with /usr/bin/python3) and a built tree.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def input_side(name: str) -> int:
    return 299 if name == "inception_v3" else 224


def classify(layers):
    """(mapped, notes, unmapped) of a prediction's layers: counts and Counters of reasons."""
    mapped = 0
    notes = collections.Counter()
    unmapped = collections.Counter()
    for layer in layers:
        status = layer.get("status", "")
        if status == "no-cost":
            continue
        if layer["type"].startswith("aten::") or layer["type"].startswith("prim::"):
            unmapped[layer["type"]] += 1
        elif layer.get("config") is None:
            notes[f'{layer["type"]}: {layer.get("reason", "")}'] += 1
        else:
            mapped += 1
    return mapped, notes, unmapped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-parameters", type=float, default=1e9)
    parser.add_argument("--bundle", default=os.path.join(ROOT, "db/demo-models/raptorlake.json"))
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    names = ([n for n in args.models.split(",") if n] if args.models
             else torchvision.models.list_models(module=torchvision.models))
    predict = os.path.join(ROOT, "build/bin/predict")
    rows = []
    total_unmapped = collections.Counter()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = {"model": name}
            rows.append(row)
            try:
                model = torchvision.models.get_model(name).eval()
            except Exception as e:  # noqa: BLE001 (any constructor failure is reported)
                row["error"] = "build: " + str(e).splitlines()[0]
                continue
            parameters = sum(p.numel() for p in model.parameters())
            row["parameters"] = parameters
            if parameters > args.max_parameters:
                row["error"] = f"skipped: {parameters / 1e6:.0f} M parameters"
                continue
            side = input_side(name)
            path = os.path.join(tmp, name + ".pt")
            try:
                # With autograd on, as in training: under no_grad, nn.MultiheadAttention takes
                # its inference fast path (one aten::_native_multi_head_attention op), which
                # training never runs.
                torch.jit.trace(model, torch.randn(1, 3, side, side), check_trace=False).save(path)
            except Exception as e:  # noqa: BLE001
                row["error"] = "trace: " + str(e).splitlines()[0]
                continue
            finally:
                del model
            result = subprocess.run(
                [predict, path, "--input", f"3x{side}x{side}", "--batch-size",
                 str(args.batch_size), "--dataset-size", "1000", "--epochs", "1", "--json", "--models",
                 args.bundle],
                capture_output=True, text=True, check=False)
            os.remove(path)
            if result.returncode != 0:
                row["error"] = "predict: " + (result.stderr.strip().splitlines() or ["?"])[-1]
                continue
            layers = json.loads(result.stdout)["layers"]
            mapped, notes, unmapped = classify(layers)
            row.update(mapped=mapped, notes=dict(notes), unmapped=dict(unmapped))
            total_unmapped.update(unmapped)
            for kind, count in notes.items():
                total_unmapped["note " + kind] += count
            print(f"{name}: {mapped} mapped, {sum(notes.values())} with a note, "
                  f"{sum(unmapped.values())} unmapped", file=sys.stderr, flush=True)

    print("| model | parameters | costed ops | mapped | share | with a note | unmapped (op: count) |")
    print("|---|---|---|---|---|---|---|")
    full = 0
    for row in rows:
        if "error" in row:
            print(f'| {row["model"]} | {row.get("parameters", "")} | | | | | {row["error"]} |')
            continue
        noted = sum(row["notes"].values())
        costed = row["mapped"] + noted + sum(row["unmapped"].values())
        share = row["mapped"] / costed if costed else 1.0
        full += share == 1.0
        missing = ", ".join(f"{k}: {v}" for k, v in sorted(row["unmapped"].items()))
        notes = "; ".join(f"{k} ({v})" for k, v in sorted(row["notes"].items()))
        print(f'| {row["model"]} | {row["parameters"] / 1e6:.1f} M | {costed} | {row["mapped"]} '
              f'| {100 * share:.1f} % | {notes} | {missing} |')
    done = [r for r in rows if "error" not in r]
    print(f"\n{full} of {len(done)} predicted models fully mapped; "
          f"{len(rows) - len(done)} not predicted (see their rows).")
    print("\nunmapped op kinds and notes over all models:")
    for kind, count in total_unmapped.most_common():
        print(f"  {count:5d}  {kind}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
