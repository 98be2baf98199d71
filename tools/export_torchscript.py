#!/usr/bin/python3
"""Exports the reference networks of configs/nets/ (torchvision 0.14 models with num_classes 10,
LeNet-5 and the legacy AlexNet; see tools/reference_models.py) as TorchScript files, for
`predict --torchscript` and tests/predict.

Usage: /usr/bin/python3 tools/export_torchscript.py OUT_DIR [--models resnet18,alexnet]
                                                    [--method script|trace]
Writes OUT_DIR/<name>.pt for each model (default: all) and prints its parameter count.
--method script (default) uses torch.jit.script; trace uses torch.jit.trace on a random
batch-1 input of the model's default size (C, H, W from reference_models.MODELS).
Models are exported in eval mode with torch's default (random) initialisation. Text models
(reference_models.TEXT_MODELS, e.g. text_transformer) are always traced, in training mode with
autograd on, on batch-1 int64 token ids: `predict OUT/text_transformer.pt --input-ids 128`.
Needs Debian python3-torchvision 0.14 (run with /usr/bin/python3).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--models", default=",".join(reference_models.MODELS),
                        help="comma-separated names (default: all): "
                        + ", ".join(reference_models.MODELS))
    parser.add_argument("--method", choices=["script", "trace"], default="script")
    args = parser.parse_args()

    names = [n for n in args.models.split(",") if n]
    known = list(reference_models.MODELS) + list(reference_models.TEXT_MODELS)
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"export_torchscript: error: unknown model(s) {', '.join(unknown)} "
              f"(expected {', '.join(known)})", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)
    for name in names:
        model = reference_models.build(name)
        if name in reference_models.TEXT_MODELS:
            _, sequence_length, vocabulary = reference_models.TEXT_MODELS[name]
            ids = torch.randint(0, vocabulary, (1, sequence_length))
            # The trace check fails on dropout's randomness; the graph is what training runs.
            exported = torch.jit.trace(model, ids, check_trace=False)
        elif args.method == "script":
            exported = torch.jit.script(model)
        else:
            channels, height, width = reference_models.MODELS[name][1]
            with torch.no_grad():
                exported = torch.jit.trace(model, torch.randn(1, channels, height, width))
        path = os.path.join(args.out_dir, name + ".pt")
        exported.save(path)
        print(f"{name}: {reference_models.parameter_count(model)} parameters -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
