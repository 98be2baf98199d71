"""Shared code of the layerjoule notebooks (notebooks/*.ipynb) and tools/make_figures.py.

Reads the measurement store with pandas (db/schema.sql is the contract: tables samples, runs,
hosts, network_samples and the view samples_with_host), evaluates model bundles
(fit/model_bundle.h) and draws the figures. Units follow the column names: time_s seconds,
energy_j joules, power_w watts; every sample is one execution of the layer on the whole batch.

Paths: each notebook takes its inputs from environment variables (LJ_DB, LJ_BUNDLE,
LJ_PREDICT, LJ_FIGURES), read with setting(); relative paths are taken from the repository
root, so a notebook gives the same answer from any working directory.

Empty tables are not errors: the functions return empty frames and the notebooks print
what is missing (say()). A missing database, a missing table or a malformed bundle raise.
Needs Debian's python3-pandas, python3-matplotlib and python3-numpy only.
"""

import json
import math
import os
import sqlite3
import subprocess
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSES = ("forward", "backward")
QUANTITY_LABELS = {"time_s": "time per execution [s]",
                   "energy_j": "package energy per execution [J]",
                   "power_w": "package power [W]"}
UNITS = {"time_s": "s", "energy_j": "J", "power_w": "W"}
PASS_COLORS = {"forward": "tab:blue", "backward": "tab:orange"}
HOST_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
HOST_LINESTYLES = ("-", "--", ":", "-.")
WIDE_RANGE = 30  # max / min from which an axis is drawn on a log scale
REQUIRED_TABLES = ("hosts", "runs", "samples", "network_samples", "samples_with_host")


class DataError(RuntimeError):
    """Data that cannot be read as documented (missing table, malformed bundle)."""


# ----------------------------------------------------------------------------------- inputs

def resolve(path):
    """Path object for `path`; relative paths are taken from the repository root."""
    path = Path(str(path)).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def setting(env_name, default):
    """Path from environment variable `env_name`, else `default` (see resolve())."""
    return resolve(os.environ.get(env_name, "").strip() or str(default))


def say(message):
    """Prints a notice for a table or input that is empty (graceful degradation)."""
    print(f"NOTE: {message}")


def open_db(path):
    """Opens a layerjoule SQLite store read-only.

    Raises FileNotFoundError when the file does not exist (it is never created here) and
    DataError naming the file when a table or view of db/schema.sql is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such database; set LJ_DB or create it with "
                                f"`measure --db {path} ...`")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    names = {row[0] for row in con.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    missing = [t for t in REQUIRED_TABLES if t not in names]
    if missing:
        con.close()
        raise DataError(f"{path}: not a layerjoule store, missing {', '.join(missing)}")
    return con


# --------------------------------------------------------------------- layer features (MACs)
# Mirrors core/layer_config.cpp (OutputShape, ForwardMacs, Sizes) and fit/features.cpp
# (FeatureValues), so that bundle terms can be evaluated on stored configs.

FEATURE_NAMES = {
    "conv2d": ("batch_size", "in_channels_per_group", "out_channels", "input_size", "kernel_size",
               "stride", "groups", "macs", "input_elements", "output_elements",
               "weight_elements", "mmap_input_elements", "mmap_output_elements",
               "mmap_weight_elements"),
    "maxpool2d": ("batch_size", "channels", "input_size", "kernel_size", "stride", "macs",
                  "input_elements", "output_elements", "mmap_input_elements",
                  "mmap_output_elements"),
    "linear": ("batch_size", "in_features", "out_features", "macs", "input_elements",
               "output_elements", "weight_elements", "mmap_input_elements",
               "mmap_output_elements", "mmap_weight_elements"),
}
MMAP_ELEMENTS = 8 * 1024 * 1024  # fit/features.cpp kMmapElements


def _with_mmap(features):
    """Adds fit/features.h's mmap_*_elements to a features dict."""
    for name in ("input", "output", "weight"):
        e = features.get(f"{name}_elements")
        if e is not None:
            features[f"mmap_{name}_elements"] = 1 + e if e >= MMAP_ELEMENTS else 1.0
    return features


def _output_side(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def layer_features(layer, config):
    """Feature dict of fit/features.h for one config dict (torch.nn names).

    Keys: FEATURE_NAMES[layer]; macs are forward multiply-accumulates over the whole batch
    (maxpool2d: comparisons). Raises DataError for an unknown layer type.
    """
    c = config
    n = float(c["batch_size"])
    if layer in ("conv2d", "maxpool2d"):
        pad = c.get("padding", 0)
        stride = c.get("stride", 1)
        h, w, k = c["height"], c["width"], c["kernel_size"]
        ph, pw = float(h + 2 * pad), float(w + 2 * pad)
        input_size = ph if ph == pw else math.sqrt(ph * pw)
        out_hw = float(_output_side(h, k, stride, pad) * _output_side(w, k, stride, pad))
        cin = float(c["in_channels"])
        if layer == "conv2d":
            groups = c.get("groups", 1)
            cout = float(c["out_channels"])
            macs = n * cout * out_hw * (cin / groups) * k * k
            weights = cout * (cin / groups) * k * k + (cout if c.get("bias", True) else 0.0)
            return _with_mmap({
                "batch_size": n, "in_channels_per_group": cin / groups, "out_channels": cout,
                "input_size": input_size, "kernel_size": float(k), "stride": float(stride),
                "groups": float(groups), "macs": macs,
                "input_elements": n * cin * h * w, "output_elements": n * cout * out_hw,
                "weight_elements": weights})
        return _with_mmap({"batch_size": n, "channels": cin, "input_size": input_size,
                           "kernel_size": float(k), "stride": float(stride),
                           "macs": n * cin * out_hw * k * k, "input_elements": n * cin * h * w,
                           "output_elements": n * cin * out_hw})
    if layer == "linear":
        fin, fout = float(c["in_features"]), float(c["out_features"])
        return _with_mmap({
            "batch_size": n, "in_features": fin, "out_features": fout,
            "macs": n * fin * fout, "input_elements": n * fin, "output_elements": n * fout,
            "weight_elements": fin * fout + (fout if c.get("bias", True) else 0.0)})
    raise DataError(f"unknown layer type '{layer}' (expected conv2d, maxpool2d or linear)")


# ----------------------------------------------------------------------------------- samples

def read_samples(con):
    """All layer samples with host and run kind, ordered by id (the order fit reads them).

    Returns a DataFrame with the columns of samples_with_host plus run_kind, the config's
    torch.nn fields as columns (where they do not clash with a column) and macs (NaN for layer
    types whose features ljplots does not mirror, see FEATURE_NAMES). Empty frame, same
    columns, when the table is empty.
    """
    df = pd.read_sql_query(
        "SELECT s.*, r.kind AS run_kind FROM samples_with_host AS s "
        "JOIN runs AS r ON r.id = s.run_id ORDER BY s.id", con)
    df["macs"] = pd.Series(dtype=float)
    if df.empty:
        return df
    configs = [json.loads(text) for text in df["config"]]
    cfg = pd.DataFrame(configs, index=df.index)
    for column in cfg.columns:
        if column not in df.columns:
            df[column] = cfg[column]
    df["macs"] = [layer_features(layer, c)["macs"] if layer in FEATURE_NAMES else np.nan
                  for layer, c in zip(df["layer"], configs)]
    return df


def host_label(df):
    """'hostname (cpu_model)' per row, the legend text of a host."""
    cpu = df["cpu_model"].fillna("").astype(str)
    return df["hostname"].astype(str) + np.where(cpu.isin(["", "unknown"]), "", " (" + cpu + ")")


def sample_overview(samples):
    """Counts per host, run kind, layer and pass, with how many rows carry energy."""
    if samples.empty:
        return pd.DataFrame(columns=["hostname", "run_kind", "layer", "pass", "samples",
                                     "with_energy", "meter"])
    return (samples.groupby(["hostname", "run_kind", "layer", "pass"])
            .agg(samples=("id", "size"), with_energy=("energy_j", "count"),
                 meter=("meter", lambda m: ",".join(sorted(set(m)))))
            .reset_index())


# ------------------------------------------------------------------------------------ sweeps

def sweep_summary(samples):
    """Mean and spread per sweep point: one row per (sweep, host, pass, sweep_value).

    Columns: sweep, layer, host, pass, sweep_value, macs, repeats, time_s, time_std_s,
    energy_j, energy_std_j (NaN without energy). The spread is the standard deviation over
    the sweep's repeats (ddof 1); a point measured once keeps its within-sample std
    (time_std_s / energy_std_j over trials).
    """
    columns = ["sweep", "layer", "host", "pass", "sweep_value", "macs", "repeats", "time_s",
               "time_std_s", "energy_j", "energy_std_j"]
    s = samples[samples["sweep"].notna()].copy() if not samples.empty else samples
    if s.empty:
        return pd.DataFrame(columns=columns)
    s["host"] = host_label(s)
    rows = []
    for key, g in s.groupby(["sweep", "layer", "host", "pass", "sweep_value"], sort=True):
        row = dict(zip(["sweep", "layer", "host", "pass", "sweep_value"], key))
        row["macs"] = g["macs"].median()
        row["repeats"] = len(g)
        for q in ("time_s", "energy_j"):
            values = g[q].dropna()
            row[q] = values.mean() if len(values) else np.nan
            if len(values) > 1:
                row[q.replace("_", "_std_", 1)] = values.std(ddof=1)
            elif len(values) == 1:
                row[q.replace("_", "_std_", 1)] = g[q.replace("_", "_std_", 1)].iloc[0]
            else:
                row[q.replace("_", "_std_", 1)] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def linear_fit(x, y, threshold=0.15):
    """Fits y = a + b*x by least squares on the relative error and flags the points off it.

    Minimises sum(((a + b*x - y) / y)^2), flags |y - fit| / y > threshold, then refits once
    without the flagged points (so one outlier does not drag the line) and flags again.
    Returns (a, b, relative residuals (y - fit) / y as an array, flagged bool array).
    With fewer than 3 points nothing is flagged. x, y: 1-D, y > 0.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0:
        return np.nan, np.nan, np.zeros(len(y)), np.zeros(len(y), dtype=bool)
    keep = np.ones(len(x), dtype=bool)
    for _ in range(2):
        design = np.column_stack([np.ones(keep.sum()), x[keep]]) / y[keep, None]
        (a, b), *_ = np.linalg.lstsq(design, np.ones(keep.sum()), rcond=None)
        residual = (y - (a + b * x)) / y
        flagged = np.abs(residual) > threshold
        if flagged.all() or (len(x) - flagged.sum()) < 3:
            break
        keep = ~flagged
    return a, b, residual, flagged


def sweep_linearity(summary, threshold=0.15):
    """Where each sweep's cost is not linear in the work: one row per sweep point and quantity.

    Per (sweep, host, pass, quantity) fits quantity = a + b * macs with linear_fit (against
    sweep_value when MACs do not vary across the sweep or are unknown for the layer type).
    Columns: sweep, host, pass, quantity, sweep_value, x (the regressor), value, fit,
    rel_residual, flagged, per_mac (value / macs: seconds or joules per MAC, flat where cost
    is linear in MACs).
    """
    columns = ["sweep", "host", "pass", "quantity", "sweep_value", "x", "value", "fit",
               "rel_residual", "flagged", "per_mac"]
    rows = []
    for (sweep, host, pas), g in summary.groupby(["sweep", "host", "pass"], sort=True):
        g = g.sort_values("sweep_value")
        use_macs = g["macs"].notna().all() and g["macs"].nunique() > 1
        for q in ("time_s", "energy_j"):
            gq = g[g[q].notna() & (g[q] > 0)]
            if gq.empty:
                continue
            x = (gq["macs"] if use_macs else gq["sweep_value"]).to_numpy(float)
            a, b, residual, flagged = linear_fit(x, gq[q].to_numpy(float), threshold)
            for i, (_, r) in enumerate(gq.iterrows()):
                rows.append({"sweep": sweep, "host": host, "pass": pas, "quantity": q,
                             "sweep_value": r["sweep_value"], "x": x[i], "value": r[q],
                             "fit": a + b * x[i], "rel_residual": residual[i],
                             "flagged": bool(flagged[i]), "per_mac": r[q] / r["macs"]})
    return pd.DataFrame(rows, columns=columns)


def sweep_parameters(con):
    """Sweep name -> varied parameter, read from the runs' stored sweep files (bounds_json)."""
    params = {}
    for (text,) in con.execute("SELECT bounds_json FROM runs WHERE kind = 'sweep'"):
        try:
            spec = json.loads(text)
            params[spec["name"]] = spec["vary"]["parameter"]
        except (ValueError, KeyError, TypeError):
            continue
    return params


def plot_sweep(summary, linearity, sweep, parameter=None):
    """One figure for one sweep: rows = quantity (time, then energy if measured), columns =
    value against the varied parameter (mean +- std over repeats, forward and backward, hosts
    overlaid; dashed: the linear-in-MACs fit; red rings: points off it) and cost per MAC.
    Returns the matplotlib Figure.
    """
    s = summary[summary["sweep"] == sweep]
    lin = linearity[linearity["sweep"] == sweep]
    quantities = [q for q in ("time_s", "energy_j") if s[q].notna().any()]
    hosts = sorted(s["host"].unique())
    fig, axes = plt.subplots(len(quantities), 2, figsize=(12, 3.8 * len(quantities)),
                             squeeze=False)
    values = s["sweep_value"].to_numpy(float)
    log_x = values.min() > 0 and values.max() / values.min() >= WIDE_RANGE
    for row, q in enumerate(quantities):
        ax_v, ax_m = axes[row]
        for h_i, host in enumerate(hosts):
            for pas in PASSES:
                g = s[(s["host"] == host) & (s["pass"] == pas) & s[q].notna()]
                if g.empty:
                    continue
                g = g.sort_values("sweep_value")
                style = dict(color=PASS_COLORS[pas], marker=HOST_MARKERS[h_i % len(HOST_MARKERS)],
                             linestyle=HOST_LINESTYLES[h_i % len(HOST_LINESTYLES)], ms=5)
                label = f"{pas}, {host}" if len(hosts) > 1 else pas
                ax_v.errorbar(g["sweep_value"], g[q], yerr=g[q.replace("_", "_std_", 1)],
                              capsize=3, label=label, **style)
                ax_m.plot(g["sweep_value"], g[q] / g["macs"], label=label, **style)
                lq = lin[(lin["host"] == host) & (lin["pass"] == pas) & (lin["quantity"] == q)]
                lq = lq.sort_values("sweep_value")
                if not lq.empty and lq["fit"].notna().all():
                    ax_v.plot(lq["sweep_value"], lq["fit"], color=PASS_COLORS[pas], lw=0.8,
                              ls="--", alpha=0.7)
                    off = lq[lq["flagged"]]
                    ax_v.scatter(off["sweep_value"], off["value"], s=150, facecolors="none",
                                 edgecolors="red", linewidths=1.5, zorder=5)
                    ax_m.scatter(off["sweep_value"], off["per_mac"], s=150, facecolors="none",
                                 edgecolors="red", linewidths=1.5, zorder=5)
        ax_v.set_ylabel(QUANTITY_LABELS[q])
        ax_m.set_ylabel(f"{q.split('_')[0]} per MAC [{UNITS[q]}/MAC]")
        for ax in (ax_v, ax_m):
            ax.set_xlabel(parameter or "sweep value")
            if log_x:
                ax.set_xscale("log")
            ax.grid(True, which="both", alpha=0.3)
        if s[q].min() > 0 and s[q].max() / s[q].min() >= WIDE_RANGE:
            ax_v.set_yscale("log")
        if s["macs"].notna().any():
            ax_m.set_yscale("log")
        ax_v.legend(fontsize=8)
        if s["macs"].isna().all():
            ax_m.text(0.5, 0.5, f"MACs not known to ljplots for {s['layer'].iloc[0]}",
                      ha="center", va="center", transform=ax_m.transAxes)
    fit_x = "MACs" if s["macs"].notna().all() and s["macs"].nunique() > 1 else "the parameter"
    n_flagged = int(lin["flagged"].sum())
    fig.suptitle(f"sweep {sweep}: mean ± std over repeats; dashed = linear fit in {fit_x}, "
                 f"red rings = {n_flagged} point(s) off it", fontsize=11)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ model bundles

def bundle_files(spec):
    """Model bundle files named by `spec`: a file, a directory (its *.json files) or several
    of these joined with os.pathsep. A directory that does not exist gives no files (the
    notebooks then say so); a named file that does not exist raises FileNotFoundError."""
    files = []
    for part in str(spec).split(os.pathsep):
        if not part:
            continue
        path = resolve(part)
        if path.is_dir() or (not path.exists() and path.suffix != ".json"):
            files += sorted(path.glob("*.json")) if path.is_dir() else []
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such model bundle; set LJ_BUNDLE")
    return files


def load_bundle(path):
    """Reads a model bundle (fit/model_bundle.h, format_version 2). Raises DataError naming the
    file when it is not a layerjoule model bundle or has another format_version."""
    path = Path(path)
    with open(path) as f:
        bundle = json.load(f)
    if bundle.get("format") != "layerjoule-model-bundle":
        raise DataError(f"{path}: not a layerjoule model bundle (format {bundle.get('format')!r})")
    if bundle.get("format_version") != 2:
        raise DataError(f"{path}: format_version {bundle.get('format_version')!r}, expected 2")
    bundle["_path"] = str(path)
    return bundle


def model_name(model):
    return f"{model['layer']} {model['pass']} {model['quantity']}"


def metrics_table(bundles):
    """One row per model: counts, terms kept / total, alpha and the held-out (test) and
    training MAPE, RMSPE (percent), R^2, share within +-10 % and min prediction."""
    rows = []
    for b in bundles:
        for m in b["models"]:
            test = m.get("metrics", {}).get("test", {})
            train = m.get("metrics", {}).get("train", {})
            counts = m.get("counts", {})
            rows.append({
                "host": b["host"]["hostname"], "layer": m["layer"], "pass": m["pass"],
                "quantity": m["quantity"], "kind": m["kind"], "meter": m.get("meter", ""),
                "n_train": counts.get("train"), "n_test": counts.get("test"),
                "terms": f"{len(m['terms'])}/{m.get('n_terms_total', '?')}",
                "alpha": m.get("alpha"),
                "test_MAPE_%": test.get("mape_pct", np.nan),
                "test_RMSPE_%": test.get("rmspe_pct", np.nan),
                "test_R2": test.get("r2", np.nan),
                "test_within_10%": test.get("within_10pct", np.nan),
                "train_MAPE_%": train.get("mape_pct", np.nan),
                "min_prediction": test.get("min_prediction", train.get("min_prediction")),
            })
    return pd.DataFrame(rows)


def _parse_term(name, layer):
    """Term name of fit/features.h -> ('log'|'log2'|'mono', {feature: exponent})."""
    names = FEATURE_NAMES[layer]
    for prefix, kind in (("log2(", "log2"), ("log(", "log")):
        if name.startswith(prefix) and name.endswith(")"):
            feature = name[len(prefix):-1]
            if feature not in names:
                raise DataError(f"unknown feature '{feature}' in term '{name}' for {layer}")
            return kind, {feature: 1}
    exponents = {}
    for factor in name.split("*"):
        feature, _, exp = factor.partition("^")
        if feature not in names:
            raise DataError(f"unknown feature '{feature}' in term '{name}' for {layer}")
        exponents[feature] = exponents.get(feature, 0) + (int(exp) if exp else 1)
    return "mono", exponents


def predict(model, features):
    """Value of a bundle model (fit/model_bundle.h) for a features dict (layer_features):
    intercept + sum coefficient * (term - center) / scale, exp() of it for target_transform
    "log". Unit of the model's quantity."""
    z = float(model["intercept"])
    for t in model["terms"]:
        if "_parsed" not in t:
            t["_parsed"] = _parse_term(t["name"], model["layer"])
        kind, exps = t["_parsed"]
        if kind == "log":
            value = math.log(features[next(iter(exps))])
        elif kind == "log2":
            value = math.log2(features[next(iter(exps))])
        else:
            value = 1.0
            for feature, e in exps.items():
                value *= features[feature] ** e
        z += t["coefficient"] * (value - t["center"]) / t["scale"]
    value = math.exp(z) if model.get("target_transform") == "log" else z
    envelope = model.get("envelope")
    if envelope:  # fit/model_bundle.h Envelope: clamp to the measured cost per roofline unit
        proxy = float(envelope["intercept"])
        for t in envelope["terms"]:
            if "_parsed" not in t:
                t["_parsed"] = _parse_term(t["name"], model["layer"])
            _, exps = t["_parsed"]
            term = 1.0
            for feature, e in exps.items():
                term *= features[feature] ** e
            proxy += t["coefficient"] * term
        if proxy > 0:
            lo, hi = envelope["ratio"]
            value = min(max(value, lo * proxy), hi * proxy)
    return value


class Mt19937_64:
    """std::mt19937_64 (C++11 [rand.predef]); the 10000th output for seed 5489 is
    9981545732273789042. Used to reproduce fit's held-out split."""
    _MASK = (1 << 64) - 1

    def __init__(self, seed):
        self._mt = [seed & self._MASK]
        for i in range(1, 312):
            prev = self._mt[-1]
            self._mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & self._MASK)
        self._index = 312

    def _twist(self):
        mt = self._mt
        for i in range(312):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            mt[i] = mt[(i + 156) % 312] ^ xa
        self._index = 0

    def __call__(self):
        if self._index >= 312:
            self._twist()
        y = self._mt[self._index]
        self._index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & self._MASK


def shuffled_indices(n, seed):
    """fit/cross_validation.cpp ShuffledIndices: Fisher-Yates with mt19937_64 % (i + 1)."""
    order = list(range(n))
    rng = Mt19937_64(seed)
    for i in range(n - 1, 0, -1):
        j = rng() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def compute_metrics(predicted, measured):
    """fit/metrics.h: MAPE and RMSPE in percent, R^2, share within +-10 %, min prediction."""
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(measured, dtype=float)
    rel = (p - y) / y
    sst = ((y - y.mean()) ** 2).sum()
    return {"n": len(y), "mape_pct": 100 * np.abs(rel).mean(),
            "rmspe_pct": 100 * math.sqrt((rel ** 2).mean()),
            "r2": 1 - ((p - y) ** 2).sum() / sst if sst > 0 else np.nan,
            "within_10pct": float((np.abs(rel) <= 0.10 + 1e-12).mean()),
            "min_prediction": float(p.min())}


def _model_rows(samples, bundle, model):
    """Rows the fit used for `model`, in fit's order (fit/bundle_fit.cpp, model_fit.cpp):
    samples of the bundle's host, not from network runs, of the layer and pass; energy and
    power rows only where energy_j is not NULL; then only values finite and > 0."""
    s = samples[(samples["hostname"] == bundle["host"]["hostname"])
                & (samples["run_kind"] != "network")
                & (samples["layer"] == model["layer"]) & (samples["pass"] == model["pass"])]
    q = model["quantity"]
    if q == "time_s":
        value = s["time_s"]
    else:
        s = s[s["energy_j"].notna()]
        value = s["energy_j"] if q == "energy_j" else np.where(
            s["time_s"] > 0, s["energy_j"] / s["time_s"], 0.0)
    s = s.assign(measured=np.asarray(value, dtype=float))
    return s[np.isfinite(s["measured"]) & (s["measured"] > 0)]


def model_predictions(samples, bundles, rtol=1e-6):
    """Predicted against measured for every model of every bundle.

    Re-creates fit's held-out split: the model's usable rows in fit's order, shuffled with
    mt19937_64(cv.seed) as fit/cross_validation.cpp does, the first counts.test rows held
    out. The split counts as reproduced when the row count equals counts.train + counts.test
    and the held-out MAPE computed here equals the bundle's metrics.test.mape_pct within
    `rtol`; otherwise (e.g. the database is not the one the bundle was fitted on) every row
    is labelled split "unknown". Models of layer types whose features ljplots does not mirror
    (not in FEATURE_NAMES) are not evaluated; their checks row says so in `note`.
    Returns (predictions, checks): predictions with columns host, model, layer, pass,
    quantity, split ('test', 'train' or 'unknown'), sample_id, macs, measured, predicted,
    rel_error ((predicted - measured) / measured); checks one row per model with rows,
    expected_rows, mape_here, mape_bundle, reproduced, note.
    """
    preds, checks = [], []
    for b in bundles:
        for m in b["models"]:
            rows = _model_rows(samples, b, m) if not samples.empty else samples
            counts = m.get("counts", {})
            n_test = int(counts.get("test", 0))
            expected = int(counts.get("train", 0)) + n_test
            check = {"host": b["host"]["hostname"], "model": model_name(m), "rows": len(rows),
                     "expected_rows": expected, "mape_here": np.nan,
                     "mape_bundle": m.get("metrics", {}).get("test", {}).get("mape_pct", np.nan),
                     "reproduced": False, "note": ""}
            if m["layer"] not in FEATURE_NAMES:
                check["note"] = f"not evaluated: ljplots does not mirror {m['layer']} features"
                checks.append(check)
                continue
            if rows.empty:
                check["note"] = "no rows of this model in the database"
                checks.append(check)
                continue
            configs = [json.loads(c) for c in rows["config"]]
            predicted = np.array([predict(m, layer_features(m["layer"], c)) for c in configs])
            split = np.full(len(rows), "unknown", dtype=object)
            if len(rows) == expected and n_test > 0:
                test = shuffled_indices(len(rows), int(m.get("cv", {}).get("seed", 1)))[:n_test]
                is_test = np.zeros(len(rows), dtype=bool)
                is_test[test] = True
                mape = compute_metrics(predicted[is_test], rows["measured"].to_numpy()[is_test])
                check["mape_here"] = mape["mape_pct"]
                if math.isclose(mape["mape_pct"], check["mape_bundle"], rel_tol=rtol,
                                abs_tol=1e-9):
                    check["reproduced"] = True
                    split = np.where(is_test, "test", "train")
                else:
                    check["note"] = "held-out MAPE differs from the bundle's"
            else:
                check["note"] = (f"{len(rows)} rows here, the bundle was fitted on {expected}"
                                 if n_test > 0 else "the bundle holds no held-out rows")
            checks.append(check)
            preds.append(pd.DataFrame({
                "host": check["host"], "model": check["model"], "layer": m["layer"],
                "pass": m["pass"], "quantity": m["quantity"], "split": split,
                "sample_id": rows["id"].to_numpy(), "macs": rows["macs"].to_numpy(),
                "measured": rows["measured"].to_numpy(), "predicted": predicted}))
    columns = ["host", "model", "layer", "pass", "quantity", "split", "sample_id", "macs",
               "measured", "predicted", "rel_error"]
    if not preds:
        return pd.DataFrame(columns=columns), pd.DataFrame(checks)
    out = pd.concat(preds, ignore_index=True)
    out["rel_error"] = (out["predicted"] - out["measured"]) / out["measured"]
    return out[columns], pd.DataFrame(checks)


def _grid(n, ncols=3, size=(4.6, 4.0)):
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _shown_rows(g):
    """Held-out rows where the split is known, else all rows; and a label saying which."""
    if (g["split"] == "test").any():
        return g[g["split"] == "test"], "held-out"
    return g, "all rows (split not reproduced)"


def plot_predicted_vs_measured(predictions, host=None):
    """Log-log predicted against measured, one panel per model, with y = x and the +-10 %
    band; held-out rows in colour, training rows in light grey. Returns the Figure."""
    p = predictions if host is None else predictions[predictions["host"] == host]
    models = list(dict.fromkeys(p["model"]))
    fig, axes = _grid(len(models))
    for ax, name in zip(axes, models):
        g = p[p["model"] == name]
        shown, label = _shown_rows(g)
        train = g[g["split"] == "train"]
        ax.scatter(train["measured"], train["predicted"], s=6, color="0.8", label="train")
        positive = shown[shown["predicted"] > 0]
        ax.scatter(positive["measured"], positive["predicted"], s=10, alpha=0.7,
                   color=PASS_COLORS.get(g["pass"].iloc[0], "tab:green"), label=label)
        lo = min(g["measured"].min(), g.loc[g["predicted"] > 0, "predicted"].min())
        hi = max(g["measured"].max(), g["predicted"].max())
        line = np.geomspace(lo / 1.5, hi * 1.5, 50)
        ax.plot(line, line, "k-", lw=0.8)
        ax.fill_between(line, 0.9 * line, 1.1 * line, color="tab:green", alpha=0.2,
                        label="±10 %")
        ax.set_xscale("log")
        ax.set_yscale("log")
        mape = 100 * shown["rel_error"].abs().mean()
        within = 100 * (shown["rel_error"].abs() <= 0.1).mean()
        ax.set_title(f"{name}\n{label}: MAPE {mape:.1f} %, {within:.0f} % within ±10 %",
                     fontsize=9)
        unit = UNITS[g["quantity"].iloc[0]]
        ax.set_xlabel(f"measured [{unit}]")
        ax.set_ylabel(f"predicted [{unit}]")
        ax.grid(True, which="both", alpha=0.3)
        n_nonpositive = int((shown["predicted"] <= 0).sum())
        if n_nonpositive:
            ax.text(0.02, 0.98, f"{n_nonpositive} prediction(s) <= 0 not shown",
                    transform=ax.transAxes, va="top", fontsize=8, color="red")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_residuals_vs_macs(predictions, host=None):
    """Relative error against forward MACs, one panel per model, held-out rows (or all rows
    where the split is unknown), with the +-10 % band. The y axis is predicted / measured on a
    log scale labelled as relative error, so over- and under-prediction by the same factor lie
    equally far from 0 %; predictions <= 0 cannot be drawn and are counted in the panel.
    Returns the Figure."""
    p = predictions if host is None else predictions[predictions["host"] == host]
    models = list(dict.fromkeys(p["model"]))
    fig, axes = _grid(len(models), size=(4.6, 3.4))
    ticks = [0.1, 0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0, 10.0]
    for ax, name in zip(axes, models):
        g = p[p["model"] == name]
        shown, label = _shown_rows(g)
        ratio = shown["predicted"] / shown["measured"]
        positive = ratio > 0
        ax.axhspan(0.9, 1.1, color="tab:green", alpha=0.2, label="±10 %")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.scatter(shown.loc[positive, "macs"], ratio[positive], s=8, alpha=0.7,
                   color=PASS_COLORS.get(g["pass"].iloc[0], "tab:green"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        lo = min(0.8, ratio[positive].min() / 1.1) if positive.any() else 0.8
        hi = max(1.25, ratio[positive].max() * 1.1) if positive.any() else 1.25
        ax.set_ylim(lo, hi)
        ax.set_yticks([t for t in ticks if lo <= t <= hi])
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
            lambda r, _: "0 %" if r == 1 else f"{100 * (r - 1):+.0f} %"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("forward MACs")
        ax.set_ylabel("relative error (predicted / measured)")
        ax.set_title(f"{name} ({label})", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        if (~positive).any():
            ax.text(0.02, 0.02, f"{int((~positive).sum())} prediction(s) <= 0 not shown",
                    transform=ax.transAxes, fontsize=8, color="red")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------- networks

NETWORK_PHASES = ("forward", "loss", "backward", "optimizer", "iteration")
# per_batch keys of `predict --json` for each measured phase.
PREDICTED_KEYS = {
    ("forward", "time_s"): "forward_time_s", ("backward", "time_s"): "backward_time_s",
    ("optimizer", "time_s"): "optimizer_time_s", ("iteration", "time_s"): "time_s",
    ("forward", "energy_j"): "forward_energy_j", ("backward", "energy_j"): "backward_energy_j",
    ("optimizer", "energy_j"): "optimizer_energy_j", ("iteration", "energy_j"): "energy_j",
}


def read_network_samples(con):
    """network_samples with the host of their run; empty frame when nothing was measured."""
    df = pd.read_sql_query(
        "SELECT n.*, h.hostname, h.cpu_model FROM network_samples AS n "
        "JOIN runs AS r ON r.id = n.run_id JOIN hosts AS h ON h.id = r.host_id ORDER BY n.id",
        con)
    if not df.empty:
        df["host"] = host_label(df)
    return df


def network_phase_summary(net_samples):
    """Mean and std over iterations per (host, network, batch_size, phase): columns
    iterations, time_s, time_std_s, energy_j, energy_std_j (NaN without energy)."""
    keys = ["host", "hostname", "network", "batch_size", "phase"]
    if net_samples.empty:
        return pd.DataFrame(columns=keys + ["iterations", "time_s", "time_std_s", "energy_j",
                                            "energy_std_j"])
    return (net_samples.groupby(keys).agg(
        iterations=("iteration", "nunique"), time_s=("time_s", "mean"),
        time_std_s=("time_s", "std"), energy_j=("energy_j", "mean"),
        energy_std_j=("energy_j", "std")).reset_index())


def run_predict(predict_bin, args):
    """Runs `predict` with `args` (a list; must include --json) and returns the parsed JSON.
    Raises RuntimeError with the command and its stderr when it fails."""
    command = [str(predict_bin)] + [str(a) for a in args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {result.returncode}:\n"
                           f"{result.stderr.strip()}")
    return json.loads(result.stdout)


def predicted_layers(prediction):
    """Per-layer rows of a `predict --json` result: path, type, output_shape, macs, status and
    forward/backward time and energy (NaN where not given)."""
    df = pd.DataFrame(prediction.get("layers", []))
    for column in ("path", "type", "output_shape", "macs", "status", "forward_time_s",
                   "backward_time_s", "forward_energy_j", "backward_energy_j"):
        if column not in df.columns:
            df[column] = np.nan
    return df


def compare_phases(summary, prediction, network, batch_size, host):
    """Measured (mean +- std over iterations) against predicted per phase and quantity for one
    network, batch size and host (all its iterations, over all runs); phases without a
    prediction or measurement are left out. lower_bound: predict's per_batch flag that some
    layers had no model (<phase>_lower_bound, else lower_bound / energy_lower_bound)."""
    per_batch = prediction.get("per_batch", {})
    rows = []
    s = summary[(summary["network"] == network) & (summary["batch_size"] == batch_size)
                & (summary["host"] == host)]
    for _, r in s.iterrows():
        for q in ("time_s", "energy_j"):
            key = PREDICTED_KEYS.get((r["phase"], q))
            if key is None or pd.isna(r[q]) or per_batch.get(key) is None:
                continue
            predicted = float(per_batch[key])
            flag = "lower_bound" if q == "time_s" else "energy_lower_bound"
            if r["phase"] != "iteration" and f"{r['phase']}_lower_bound" in per_batch:
                flag = f"{r['phase']}_lower_bound"
            rows.append({"phase": r["phase"], "quantity": q, "measured": r[q],
                         "measured_std": r[q.replace("_", "_std_", 1)], "predicted": predicted,
                         "rel_error_%": 100 * (predicted - r[q]) / r[q],
                         "lower_bound": bool(per_batch.get(flag) or False)})
    out = pd.DataFrame(rows, columns=["phase", "quantity", "measured", "measured_std",
                                      "predicted", "rel_error_%", "lower_bound"])
    order = out["phase"].map({p: i for i, p in enumerate(NETWORK_PHASES)})
    return out.assign(_order=order).sort_values(["quantity", "_order"], ascending=[False, True]) \
        .drop(columns="_order").reset_index(drop=True)


def plot_phase_comparison(comparison, title):
    """Grouped bars per phase, measured (with std) beside predicted, one panel per quantity."""
    quantities = [q for q in ("time_s", "energy_j") if (comparison["quantity"] == q).any()]
    fig, axes = plt.subplots(1, max(1, len(quantities)), figsize=(6 * max(1, len(quantities)), 4),
                             squeeze=False)
    for ax, q in zip(axes[0], quantities):
        c = comparison[comparison["quantity"] == q]
        x = np.arange(len(c))
        ax.bar(x - 0.2, c["measured"], 0.4, yerr=c["measured_std"].fillna(0), capsize=3,
               label="measured (mean ± std)", color="0.55")
        ax.bar(x + 0.2, c["predicted"], 0.4, label="predicted (≥: lower bound, layers "
               "without a model)", color="tab:green")
        for xi, (_, r) in zip(x, c.iterrows()):
            ax.annotate(f"{'≥ ' if r['lower_bound'] else ''}{r['rel_error_%']:+.0f} %",
                        (xi + 0.2, r["predicted"]), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, c["phase"])
        ax.set_ylabel(QUANTITY_LABELS[q].replace("per execution", "per iteration"))
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_layer_breakdown(layers, title, top=30):
    """Stacked bars per layer (forward + backward) for time and, when predicted, energy.
    Layers without a prediction are left out; with more than `top` layers only the `top`
    costliest are drawn (the title says so). Returns the Figure."""
    quantities = [q for q in ("time_s", "energy_j")
                  if layers[[f"forward_{q}", f"backward_{q}"]].notna().any().any()]
    fig, axes = plt.subplots(len(quantities) or 1, 1,
                             figsize=(max(8, 0.35 * min(len(layers), top) + 3),
                                      3.6 * max(1, len(quantities))), squeeze=False)
    for ax, q in zip(axes[:, 0], quantities):
        d = layers.copy()
        d["f"] = d[f"forward_{q}"].fillna(0)
        d["b"] = d[f"backward_{q}"].fillna(0)
        n_all = len(d)
        d = d[(d["f"] + d["b"]) > 0]
        note = f"; {n_all - len(d)} layer(s) without a prediction not shown" if len(d) < n_all \
            else ""
        if len(d) > top:
            note = f" ({top} costliest of {len(d)} layers{note})"
            d = d.loc[(d["f"] + d["b"]).nlargest(top).index].sort_index()
        x = np.arange(len(d))
        ax.bar(x, d["f"], label="forward", color=PASS_COLORS["forward"])
        ax.bar(x, d["b"], bottom=d["f"], label="backward", color=PASS_COLORS["backward"])
        ax.set_xticks(x, [f"{p} ({t})" for p, t in zip(d["path"], d["type"])], rotation=75,
                      ha="right", fontsize=7)
        ax.set_ylabel(QUANTITY_LABELS[q].replace("per execution", "per batch"))
        ax.set_title(f"{title}: predicted per layer{note}", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def use_headless_backend():
    """Agg backend for scripts (tools/make_figures.py); notebooks keep their inline one."""
    matplotlib.use("Agg")
