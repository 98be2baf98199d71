#!/usr/bin/python3
"""Times the ops of F.normalize (Swin v2's cosine attention) against their cheaper relatives in
PyTorch eager training, forward + backward: x / norm.expand_as(x) against norm * x (mul's
runner), and clamp_min(n, 1e-12) against relu(n), on Swin v2-T's three attention shapes at
batch 8. Interleaved, 15 rounds of 5 runs each; prints the median ms and quartiles per op. Then
the norm forward in three layouts (the reduced dim innermost or not).
Why div and clamp_min are measured types of their own (JOURNAL.md 2026-12-07 fourth session).

Usage: /usr/bin/python3 tools/normalize_ops_timing.py   (no other load on the machine)
"""
import statistics, time, torch
torch.set_num_threads(2)
def bench(f, reps=5):
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps * 1e3
shapes = [(392, 3, 64, 32), (128, 6, 64, 32), (32, 12, 64, 32)]
for shape in shapes:
    x = torch.randn(shape, requires_grad=True)
    d = torch.rand(shape[:-1] + (1,), requires_grad=True) + 0.5
    d = d.detach().requires_grad_()
    g = torch.randn(shape)
    n = torch.randn(shape[:-1] + (1,)).abs().requires_grad_()
    gn = torch.randn(shape[:-1] + (1,))
    def div():
        y = x / d.expand_as(x); torch.autograd.grad(y, (x, d), g)
    def mul():
        y = d * x; torch.autograd.grad(y, (x, d), g)
    def clamp():
        y = n.clamp_min(1e-12); torch.autograd.grad(y, (n,), gn)
    def relu():
        y = torch.relu(n); torch.autograd.grad(y, (n,), gn)
    res = {k: [] for k in ("div", "mul", "clamp_min", "relu")}
    for f in (div, mul, clamp, relu):
        bench(f, 2)
    for _ in range(15):
        res["div"].append(bench(div)); res["mul"].append(bench(mul))
        res["clamp_min"].append(bench(clamp)); res["relu"].append(bench(relu))
    out = []
    for k, v in res.items():
        q = statistics.quantiles(v, n=4)
        out.append(f"{k} {statistics.median(v):.3f} [{q[0]:.3f}, {q[2]:.3f}]")
    print(shape, " | ".join(out))

# The norm's layout: F.normalize's norm over the innermost dim, the runner's config of it, and a
# random-row-like config whose reduced dim has H x W elements inside it (forward only, autograd
# recording as in training).
x = torch.randn(392, 3, 64, 32, requires_grad=True)
rows = torch.randn(75264, 32, 1, 1, requires_grad=True)
image = torch.randn(64, 32, 48, 48, requires_grad=True)
for name, f in [("F.normalize's norm (392, 3, 64, 32) dim -1", lambda: x.norm(2, -1, keepdim=True)),
                ("runner (75264, 32, 1, 1) dim 1", lambda: rows.norm(2, 1)),
                ("runner (64, 32, 48, 48) dim 1", lambda: image.norm(2, 1)),
                ("mean (64, 32, 48, 48) dim 1", lambda: image.mean(1))]:
    bench(f, 1)
    print(f"{name}: {statistics.median([bench(f) for _ in range(5)]):.3f} ms")
