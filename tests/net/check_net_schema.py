#!/usr/bin/python3
"""Checks configs/schemas/net.schema.json: it is a valid draft-07 schema, every
configs/nets/*.json conforms, and typical mistakes are rejected.
Usage: check_net_schema.py REPO_ROOT. Exit 0 pass, 1 fail, 77 skip (no python3-jsonschema)."""
import copy
import glob
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("skipped: python3-jsonschema is not installed")
    sys.exit(77)

root = sys.argv[1] if len(sys.argv) > 1 else "."
schema = json.load(open(os.path.join(root, "configs", "schemas", "net.schema.json")))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
failures = 0

nets = sorted(glob.glob(os.path.join(root, "configs", "nets", "*.json")))
probes = sorted(glob.glob(os.path.join(root, "configs", "nets", "probes", "*.json")))
if len(nets) < 6:
    print(f"FAIL: expected at least 6 nets, found {len(nets)}")
    failures += 1
for path in nets + probes:
    errors = list(validator.iter_errors(json.load(open(path))))
    if errors:
        print(f"FAIL: {path}: {errors[0].message} at {list(errors[0].absolute_path)}")
        failures += 1

base = json.load(open(os.path.join(root, "configs", "nets", "lenet5.json")))
mistakes = {
    "unknown layer type": lambda d: d["layers"].append({"type": "conv3d"}),
    "missing kernel_size": lambda d: d["layers"][0].pop("kernel_size"),
    "kernel_size as string": lambda d: d["layers"][0].update(kernel_size="5"),
    "in_channels written": lambda d: d["layers"][0].update(in_channels=1),
    "unknown layer key": lambda d: d["layers"].append({"type": "relu", "inplace": True}),
    "residual without activation":
        lambda d: d["layers"].append({"type": "residual", "layers": [{"type": "relu"}]}),
    "nested kernel_size 0": lambda d: d["layers"].append(
        {"type": "sequential", "layers": [{"type": "conv2d", "out_channels": 1,
                                           "kernel_size": 0}]}),
    "unknown top-level key": lambda d: d.update(batchsize=4),
    "adam with momentum": lambda d: d.update(optimizer={"type": "adam", "momentum": 0.9}),
    "embedding without embedding_dim":
        lambda d: d["layers"].insert(0, {"type": "embedding", "num_embeddings": 100}),
    "image and sequence input": lambda d: d["input"].update(sequence_length=16, vocabulary=100),
    "sequence input without vocabulary": lambda d: d.update(input={"sequence_length": 16}),
    "mean without dim": lambda d: d["layers"].append({"type": "mean"}),
    "mean over an empty list": lambda d: d["layers"].append({"type": "mean", "dim": []}),
    "select without index": lambda d: d["layers"].append({"type": "select", "dim": 1}),
    "norm_first as a string": lambda d: d["layers"].append(
        {"type": "transformer_encoder_layer", "nhead": 2, "norm_first": "yes"}),
}
for label, mutate in mistakes.items():
    net = copy.deepcopy(base)
    mutate(net)
    if validator.is_valid(net):
        print(f"FAIL: schema accepts a net with {label}")
        failures += 1

# A sequence input with an embedding first is valid.
tokens = copy.deepcopy(base)
tokens["input"] = {"sequence_length": 16, "vocabulary": 100}
tokens["layers"] = [{"type": "embedding", "num_embeddings": 100, "embedding_dim": 8},
                    {"type": "transformer_encoder_layer", "nhead": 2, "norm_first": True},
                    {"type": "mean", "dim": 1}, {"type": "select", "dim": 1, "index": 0},
                    {"type": "flatten"}, {"type": "linear", "out_features": 10}]
errors = list(validator.iter_errors(tokens))
if errors:
    print(f"FAIL: schema rejects a sequence net: {errors[0].message}")
    failures += 1

print(f"{len(nets)} nets, {len(mistakes)} mistakes checked, {failures} failures")
sys.exit(1 if failures else 0)
