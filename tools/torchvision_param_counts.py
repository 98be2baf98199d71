#!/usr/bin/python3
"""Writes the reference fixture for tests/predict: parameter counts and per-module output shapes
of the PyTorch models behind configs/nets/*.json, computed by torch itself.

Usage: /usr/bin/python3 tools/torchvision_param_counts.py [OUT_JSON]
       (default OUT_JSON: tests/net/data/param_counts.json)

Output: {"<net>": {"parameter_count": N, "input": [C, H, W],
                   "output_shapes": {"<module path>": [C, H, W] or [F], ...}}}
Output shapes are those of one forward pass at batch size 1 with the batch dimension dropped,
for every leaf module called exactly once (modules reused in forward, such as ResNet's relu, are
left out). Needs Debian python3-torchvision 0.14.
"""
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_models  # noqa: E402


def leaf_output_shapes(model: torch.nn.Module, input_chw) -> dict:
    calls = {}
    shapes = {}
    hooks = []
    for path, module in model.named_modules():
        if path == "" or any(True for _ in module.children()):
            continue

        def hook(_module, _inputs, output, path=path):
            calls[path] = calls.get(path, 0) + 1
            shapes[path] = list(output.shape[1:])

        hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.randn(1, *input_chw))
    for h in hooks:
        h.remove()
    return {p: s for p, s in shapes.items() if calls[p] == 1}


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, "tests", "predict", "data", "param_counts.json")
    result = {}
    for name, (_, input_chw) in reference_models.MODELS.items():
        model = reference_models.build(name)
        result[name] = {
            "parameter_count": reference_models.parameter_count(model),
            "input": list(input_chw),
            "output_shapes": leaf_output_shapes(model, input_chw),
        }
        print(f"{name}: {result[name]['parameter_count']} parameters")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    text = json.dumps(result, indent=1)
    # One line per shape: "[\n    64,\n    55,\n    55\n   ]" -> "[64, 55, 55]".
    text = re.sub(r"\[[\s\d,]*\]", lambda m: json.dumps(json.loads(m.group(0))), text)
    with open(out, "w") as f:
        f.write(text + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
