#!/usr/bin/python3
"""Stand-in for `predict NET ... --json` in the notebook test (tests/notebooks/run_notebooks.py).

Prints a fixed prediction in the documented layout (layers[] with path, type, output_shape,
macs, forward/backward time and energy, status; per_batch totals per phase) so that the data
branch of notebooks/networks.ipynb runs before `measure --net` and `predict` exist. Fails like
the real tool when --json is missing or the net file does not exist.
"""
import json
import sys
from pathlib import Path

args = sys.argv[1:]
if "--json" not in args or not args or not Path(args[0]).is_file():
    print(f"fake_predict: error: usage: fake_predict NET.json ... --json, got {args}",
          file=sys.stderr)
    sys.exit(2)
layers = [
    {"path": "conv1", "type": "conv2d", "output_shape": [64, 6, 28, 28], "macs": 7.5e6,
     "forward_time_s": 2.0e-3, "forward_energy_j": 0.10, "backward_time_s": 4.0e-3,
     "backward_energy_j": 0.20, "status": "ok"},
    {"path": "pool1", "type": "maxpool2d", "output_shape": [64, 6, 14, 14], "macs": 3.0e5,
     "forward_time_s": 5.0e-4, "forward_energy_j": 0.02, "backward_time_s": 8.0e-4,
     "backward_energy_j": 0.03, "status": "ok"},
    {"path": "relu1", "type": "relu", "output_shape": [64, 6, 14, 14], "macs": 0,
     "forward_time_s": None, "forward_energy_j": None, "backward_time_s": None,
     "backward_energy_j": None, "status": "not modelled"},
    {"path": "fc1", "type": "linear", "output_shape": [64, 10], "macs": 7.5e4,
     "forward_time_s": 1.0e-4, "forward_energy_j": 0.005, "backward_time_s": 2.0e-4,
     "backward_energy_j": 0.01, "status": "ok"},
]
per_batch = {"forward_time_s": 2.6e-3, "backward_time_s": 5.0e-3, "optimizer_time_s": 1.0e-3,
             "time_s": 8.6e-3, "forward_energy_j": 0.125, "backward_energy_j": 0.24,
             "optimizer_energy_j": 0.05, "energy_j": 0.415}
print(json.dumps({"network": Path(args[0]).stem, "layers": layers, "per_batch": per_batch}))
