#!/usr/bin/python3
"""Times single layers on this CPU for the fit model comparison (tests/bench/fit_candidates.cpp).

Writes two CSVs (time only: these machines have no RAPL):
  random.csv   random conv2d / maxpool2d / linear configs in bounds like the Raptor Lake data set
               (conv: in 1-15, out 1-63, side 8-63, kernel 3-8, stride 1-3, padding 0; linear:
               in 2-509, out 1-511; pool: channels 3-31, side 50-99, kernel 2-9, stride 1-3),
               batch 1-64 instead of 32-2047 to keep the run short;
  realnet.csv  the conv2d, maxpool2d and linear layers of torchvision AlexNet, VGG-16 and ResNet-18
               (deduplicated), at batch 2 and 16, inputs 64x64 and 224x224 (VGG-16 64 and 112),
               shaped like real networks, i.e. mostly far outside the random bounds.
Columns: source,layer,batch_size,in_channels,out_channels,height,width,kernel_size,stride,padding,
groups,in_features,out_features,forward_s,backward_s. forward_s: min over trials of layer(x);
backward_s: min over trials of y.backward(g) for x with requires_grad (input and weight grads).
One intra-op thread. Usage: fit_layer_timings.py OUTDIR [N_CONV N_LINEAR N_POOL]
"""
import csv
import os
import random
import sys
import time

import torch
import torchvision

torch.set_num_threads(1)
FIELDS = ["source", "layer", "batch_size", "in_channels", "out_channels", "height", "width",
          "kernel_size", "stride", "padding", "groups", "in_features", "out_features",
          "forward_s", "backward_s"]


def build(row):
    if row["layer"] == "conv2d":
        m = torch.nn.Conv2d(row["in_channels"], row["out_channels"], row["kernel_size"],
                            stride=row["stride"], padding=row["padding"], groups=row["groups"])
        x = torch.randn(row["batch_size"], row["in_channels"], row["height"], row["width"])
    elif row["layer"] == "maxpool2d":
        m = torch.nn.MaxPool2d(row["kernel_size"], stride=row["stride"], padding=row["padding"])
        x = torch.randn(row["batch_size"], row["in_channels"], row["height"], row["width"])
    else:
        m = torch.nn.Linear(row["in_features"], row["out_features"])
        x = torch.randn(row["batch_size"], row["in_features"])
    return m, x


def timed(fn, min_total_s=0.05, min_trials=3, max_trials=50):
    fn()  # warm-up
    best, total, n = float("inf"), 0.0, 0
    while n < min_trials or (total < min_total_s and n < max_trials):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, n = min(best, dt), total + dt, n + 1
    return best


def measure(row):
    m, x = build(row)
    with torch.no_grad():
        row["forward_s"] = timed(lambda: m(x))
    x.requires_grad_(True)
    y = m(x)
    g = torch.randn_like(y)

    def backward():
        out = m(x)
        out.backward(g)
    fwd = row["forward_s"]
    row["backward_s"] = max(timed(backward) - fwd, 1e-7)  # forward+backward minus forward
    return row


def base(source, layer, **kw):
    row = {k: 0 for k in FIELDS}
    row.update(source=source, layer=layer, stride=1, padding=0, groups=1)
    row.update(kw)
    return row


def random_rows(n_conv, n_linear, n_pool, seed=1):
    rng = random.Random(seed)
    rows = []
    while len(rows) < n_conv:
        k = rng.randint(3, 8)
        side = rng.randint(8, 63)
        if side < k:
            continue
        rows.append(base("random", "conv2d", batch_size=rng.randint(1, 64),
                         in_channels=rng.randint(1, 15), out_channels=rng.randint(1, 63),
                         height=side, width=side, kernel_size=k, stride=rng.randint(1, 3)))
    for _ in range(n_linear):
        rows.append(base("random", "linear", batch_size=rng.randint(1, 64),
                         in_features=rng.randint(2, 509), out_features=rng.randint(1, 511)))
    for _ in range(n_pool):
        side = rng.randint(50, 99)
        rows.append(base("random", "maxpool2d", batch_size=rng.randint(1, 64),
                         in_channels=rng.randint(3, 31), height=side, width=side,
                         kernel_size=rng.randint(2, 9), stride=rng.randint(1, 3)))
    return rows


def realnet_rows():
    nets = [("alexnet", torchvision.models.alexnet(), [64, 224]),
            ("vgg16", torchvision.models.vgg16(), [64, 112]),
            ("resnet18", torchvision.models.resnet18(), [64, 224])]
    seen, rows = set(), []
    for name, net, sizes in nets:
        net.eval()
        for size in sizes:
            shapes = []

            def hook(mod, inp, out):
                shapes.append((mod, tuple(inp[0].shape)))
            handles = [mod.register_forward_hook(hook) for mod in net.modules()
                       if isinstance(mod, (torch.nn.Conv2d, torch.nn.MaxPool2d, torch.nn.Linear))]
            with torch.no_grad():
                net(torch.randn(1, 3, size, size))
            for h in handles:
                h.remove()
            for mod, shape in shapes:
                for batch in (2, 16):
                    if isinstance(mod, torch.nn.Conv2d):
                        row = base(f"{name}@{size}", "conv2d", batch_size=batch,
                                   in_channels=mod.in_channels, out_channels=mod.out_channels,
                                   height=shape[2], width=shape[3], kernel_size=mod.kernel_size[0],
                                   stride=mod.stride[0], padding=mod.padding[0], groups=mod.groups)
                    elif isinstance(mod, torch.nn.MaxPool2d):
                        row = base(f"{name}@{size}", "maxpool2d", batch_size=batch,
                                   in_channels=shape[1], height=shape[2], width=shape[3],
                                   kernel_size=mod.kernel_size, stride=mod.stride,
                                   padding=mod.padding)
                    else:
                        row = base(f"{name}@{size}", "linear", batch_size=batch,
                                   in_features=mod.in_features, out_features=mod.out_features)
                    key = tuple(v for k, v in row.items() if k != "source")
                    if key not in seen:
                        seen.add(key)
                        rows.append(row)
    return rows


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for i, row in enumerate(rows):
            w.writerow(measure(row))
            f.flush()
            if i % 50 == 0:
                print(f"{path}: {i}/{len(rows)}", file=sys.stderr)


def main():
    out = sys.argv[1]
    counts = [int(v) for v in sys.argv[2:5]] if len(sys.argv) >= 5 else [600, 400, 300]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "realnet.csv"), realnet_rows())
    write(os.path.join(out, "random.csv"), random_rows(*counts))


if __name__ == "__main__":
    main()
