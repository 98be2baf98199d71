"""Shared code of the layerjoule notebooks (notebooks/*.ipynb) and tools/make_figures.py.

Reads the measurement store with pandas (db/schema.sql is the contract: tables samples, runs,
hosts, network_samples and the view samples_with_host), evaluates model bundles
(fit/model_bundle.h) and draws the figures. Units follow the column names: time_s seconds,
energy_j joules, power_w watts; every sample is one execution of the layer on the whole batch.

Paths: each notebook takes its inputs from environment variables (LJ_DB, LJ_BUNDLE,
LJ_PREDICT, LJ_FIGURES), read with setting(); relative paths are taken from the repository
root, so a notebook gives the same answer from any working directory.

Layer features (MACs, tensor sizes, the features of bundle terms) are fit's own, read with
export_features() (`fit --db DB --export-features FILE`; the binary from LJ_BIN_DIR, else
build/bin), never re-implemented here.

Empty tables are not errors: the functions return empty frames and the notebooks print
what is missing (say()). A missing database, a missing table or a malformed bundle raise.
Needs Debian's python3-pandas, python3-matplotlib and python3-numpy, and the fit binary
for a store with samples.
"""

import functools
import json
import math
import os
import sqlite3
import subprocess
import tempfile
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


# ---------------------------------------------------------------- layer features (fit's own)
# The features bundle terms use (fit/features.h: MACs, tensor sizes, the base features) are not
# re-implemented here: `fit --db DB --export-features FILE` (fit/feature_export.h) writes them
# for every distinct (layer, config) of the store's samples, every layer type, with core's
# MACs, and layer_features() looks a config up in that export. One MACs definition: fit's.

def fit_binary():
    """Path of the fit binary: $LJ_BIN_DIR/fit, else build/bin/fit (see resolve())."""
    return resolve(os.environ.get("LJ_BIN_DIR", "").strip() or "build/bin") / "fit"


def canonical_config(config):
    """The key text of a config: a dict (torch.nn names) or its JSON text (samples.config),
    dumped with sorted keys and no spaces, so that equal configs give equal keys."""
    if isinstance(config, (str, bytes)):
        return _canonical_text(config)
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=1 << 16)
def _canonical_text(text):
    """canonical_config of stored JSON text, cached: every model of a layer type and pass
    looks up the same rows."""
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def parse_features(export):
    """{(layer, canonical_config(config)): values} of fit's --export-features JSON (parsed), where
    values maps every feature name of the layer type to its value. Raises DataError when the
    JSON is not in that layout."""
    features = {}
    try:
        for entry in export["features"]:
            values = {name: float(v) for name, v in entry["values"].items()}
            features[(entry["layer"], canonical_config(entry["config"]))] = values
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise DataError(f"not a fit --export-features document ({type(e).__name__}: {e})")
    return features


def export_features(db_path):
    """fit's features of every (layer, config) sampled in the store at db_path (parse_features
    layout), from `fit --db DB --export-features FILE` ($LJ_BIN_DIR/fit, else build/bin/fit).

    A store without layer samples gives {} and does not need fit. Raises FileNotFoundError when
    the database or the fit binary does not exist, DataError quoting fit's stderr when fit fails
    and DataError naming the file when the store is not a layerjoule store (open_db)."""
    db_path = resolve(db_path)
    con = open_db(db_path)
    try:
        (n,) = con.execute("SELECT count(*) FROM samples AS s JOIN runs AS r ON r.id = s.run_id "
                           "WHERE r.kind != 'network'").fetchone()
    finally:
        con.close()
    if n == 0:
        return {}
    fit = fit_binary()
    if not fit.is_file():
        raise FileNotFoundError(f"{fit}: no fit binary, needed for the layer features of "
                                f"{db_path}; build it or set LJ_BIN_DIR")
    with tempfile.TemporaryDirectory(prefix="lj-features-") as tmp:
        out = Path(tmp) / "features.json"
        command = [str(fit), "--db", str(db_path), "--export-features", str(out)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise DataError(f"{' '.join(command)} failed with exit code {result.returncode}:\n"
                            f"{result.stderr.strip()}")
        try:
            export = json.loads(out.read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"{' '.join(command)} wrote no readable features: {e}")
    return parse_features(export)


def layer_features(features, layer, config):
    """Feature dict of fit/features.h for one config (dict or JSON text, torch.nn names) of
    `layer`, looked up in `features` (export_features()): every feature name of the layer type;
    macs (where the type has them) are forward multiply-accumulates over the whole batch.
    Raises DataError naming the layer and config when the export does not hold them."""
    key = canonical_config(config)
    values = features.get((layer, key))
    if values is None:
        raise DataError(f"no fit features for {layer} config {key} (export_features() of "
                        "another database, or a config fit cannot read)")
    return values


# ----------------------------------------------------------------------------------- samples

def read_samples(con, features=None):
    """All layer samples with host and run kind, ordered by id (the order fit reads them).

    Returns a DataFrame with the columns of samples_with_host plus run_kind, the config's
    torch.nn fields as columns (where they do not clash with a column) and macs: fit's forward
    MACs from `features` (export_features() of the same store), NaN without `features`, for
    layer types without a MACs feature (element-wise, loss, optimizer) and for samples fit
    does not read (network runs). Empty frame, same columns, when the table is empty.
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
    features = features or {}
    df["macs"] = [features.get((layer, canonical_config(c)), {}).get("macs", np.nan)
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
    """Sweep name -> varied parameter, read from the runs' stored sweep files (runs.source_json;
    bounds_json in a database of schema version 1)."""
    params = {}
    columns = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
    source = "source_json" if "source_json" in columns else "bounds_json"
    for (text,) in con.execute(f"SELECT {source} FROM runs WHERE kind = 'sweep'"):
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
            ax_m.text(0.5, 0.5, f"MACs not known for {s['layer'].iloc[0]}",
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


def _parse_term(name):
    """Term name of fit/features.h -> ('log'|'log2'|'mono', {feature: exponent})."""
    for prefix, kind in (("log2(", "log2"), ("log(", "log")):
        if name.startswith(prefix) and name.endswith(")"):
            return kind, {name[len(prefix):-1]: 1}
    exponents = {}
    for factor in name.split("*"):
        feature, _, exp = factor.partition("^")
        exponents[feature] = exponents.get(feature, 0) + (int(exp) if exp else 1)
    return "mono", exponents


def _parsed_term(term, layer, features):
    """_parse_term of a bundle term (cached in the term); DataError when `features` lacks one of
    its features."""
    if "_parsed" not in term:
        term["_parsed"] = _parse_term(term["name"])
    kind, exps = term["_parsed"]
    for feature in exps:
        if feature not in features:
            raise DataError(f"unknown feature '{feature}' in term '{term['name']}' for {layer} "
                            f"(fit's features: {', '.join(features)})")
    return kind, exps


def _proxy(model, features):
    """The envelope's roofline proxy (fit/model_bundle.h Envelope::Proxy) at `features`."""
    envelope = model["envelope"]
    proxy = float(envelope["intercept"])
    for t in envelope["terms"]:
        _, exps = _parsed_term(t, model["layer"], features)
        term = 1.0
        for feature, e in exps.items():
            term *= features[feature] ** e
        proxy += t["coefficient"] * term
    return proxy


def _enveloped(model, features):
    """intercept + terms (exp() for log targets), clamped by the envelope if any."""
    z = float(model["intercept"])
    for t in model["terms"]:
        kind, exps = _parsed_term(t, model["layer"], features)
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
    if model.get("envelope"):  # clamp to the measured cost per roofline unit
        proxy = _proxy(model, features)
        if proxy > 0:
            lo, hi = model["envelope"]["ratio"]
            value = min(max(value, lo * proxy), hi * proxy)
    return value


def predict(model, features):
    """Value of a bundle model (fit/model_bundle.h) for a features dict (layer_features):
    intercept + sum coefficient * (term - center) / scale, exp() of it for target_transform
    "log", clamped by the envelope. With "extrapolation": "boundary" (fit's default since
    2026-12-06) and a feature outside the model's bounds: the value at the features clamped into
    the bounds times proxy(features) / proxy(clamped). Unit of the model's quantity. Raises
    DataError when a term names a feature the dict does not have."""
    if model.get("extrapolation") == "boundary" and model.get("envelope"):
        inside = dict(features)
        for name, (lo, hi) in model.get("bounds", {}).items():
            if name in inside:
                inside[name] = min(max(inside[name], lo), hi)
        if inside != features:
            proxy, proxy_inside = _proxy(model, features), _proxy(model, inside)
            if proxy > 0 and proxy_inside > 0 and math.isfinite(proxy) and math.isfinite(
                    proxy_inside):
                return _enveloped(model, inside) * proxy / proxy_inside
    return _enveloped(model, features)


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
    samples of the bundle's host, not from network runs, of the layer and pass, whose trials'
    relative standard deviation is within the model's max_spread (when > 0); energy and
    power rows only where energy_j is not NULL; then only values finite and > 0."""
    s = samples[(samples["hostname"] == bundle["host"]["hostname"])
                & (samples["run_kind"] != "network")
                & (samples["layer"] == model["layer"]) & (samples["pass"] == model["pass"])]
    max_spread = float(model.get("max_spread", 0) or 0)
    if max_spread > 0:  # fit/bundle_fit.h: samples whose trials disagree are left out
        spread = np.where(s["time_s"] > 0, s["time_std_s"] / s["time_s"], 0.0)
        s = s[~(spread > max_spread)]
    q = model["quantity"]
    if q == "time_s":
        value = s["time_s"]
    else:
        s = s[s["energy_j"].notna()]
        value = s["energy_j"] if q == "energy_j" else np.where(
            s["time_s"] > 0, s["energy_j"] / s["time_s"], 0.0)
    s = s.assign(measured=np.asarray(value, dtype=float))
    return s[np.isfinite(s["measured"]) & (s["measured"] > 0)]


# Feature that stands for the size of a layer in plots against size: forward MACs where the
# layer type has them (conv, pool, linear), else tensor elements, else optimizer parameters.
SIZE_FEATURES = ("macs", "elements", "parameters")
SIZE_LABELS = {"macs": "forward MACs", "elements": "elements",
               "parameters": "parameters (optimizer)"}


def model_predictions(samples, bundles, features=None, rtol=1e-6):
    """Predicted against measured for every model of every bundle.

    Models are evaluated on fit's own features of each row's config, looked up in `features`
    (export_features() of the store the samples come from), for every layer type; without
    `features` no model is evaluated (checks note "not evaluated: ..."), and a row whose config
    the export lacks raises DataError (layer_features).
    Re-creates fit's held-out split: the model's usable rows in fit's order, shuffled with
    mt19937_64(cv.seed) as fit/cross_validation.cpp does, the first counts.test rows held
    out. The split counts as reproduced when the row count equals counts.train + counts.test
    and the held-out MAPE computed here equals the bundle's metrics.test.mape_pct within
    `rtol`; otherwise (e.g. the database is not the one the bundle was fitted on) every row
    is labelled split "unknown".
    Returns (predictions, checks): predictions with columns host, model, layer, pass,
    quantity, split ('test', 'train' or 'unknown'), sample_id, macs (NaN for types without
    MACs), size and size_name (the first of SIZE_FEATURES the type has), measured, predicted,
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
            if features is None:
                check["note"] = ("not evaluated: no layer features (pass "
                                 "features=lj.export_features(DB))")
                checks.append(check)
                continue
            if rows.empty:
                check["note"] = "no rows of this model in the database"
                checks.append(check)
                continue
            values = [layer_features(features, m["layer"], c) for c in rows["config"]]
            predicted = np.array([predict(m, v) for v in values])
            size_name = next((n for n in SIZE_FEATURES if n in values[0]), None)
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
                "sample_id": rows["id"].to_numpy(),
                "macs": [v.get("macs", np.nan) for v in values],
                "size": [v.get(size_name, np.nan) for v in values], "size_name": size_name,
                "measured": rows["measured"].to_numpy(), "predicted": predicted}))
    columns = ["host", "model", "layer", "pass", "quantity", "split", "sample_id", "macs",
               "size", "size_name", "measured", "predicted", "rel_error"]
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
    """Relative error against forward MACs (or, for layer types without MACs, the size column of
    model_predictions: elements or parameters), one panel per model, held-out rows (or all rows
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
        x_name = g["size_name"].iloc[0] if "size_name" in g else "macs"
        x = shown["size"] if "size" in shown else shown["macs"]
        ax.scatter(x[positive], ratio[positive], s=8, alpha=0.7,
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
        ax.set_xlabel(SIZE_LABELS.get(x_name, str(x_name)))
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


def batch_size_rows(table):
    """The rows of a `predict NET --batch-sizes LIST --json` result as a DataFrame, one per
    batch size (ascending), with energy columns NaN where the models have no energy."""
    df = pd.DataFrame(table.get("rows", []))
    if df.empty:
        raise DataError("the --batch-sizes table has no rows")
    for column in ("energy_per_sample_j", "energy_per_epoch_j", "energy_per_batch_j"):
        df[column] = pd.to_numeric(df.get(column), errors="coerce")
    return df.sort_values("batch_size").reset_index(drop=True)


def plot_batch_sizes(table, title):
    """Energy per sample (time per sample when the models have no energy) and predicted peak
    memory against batch size, from `predict --batch-sizes --json`: the least-energy and fastest
    batch sizes circled, the ones above the memory budget (dashed line) drawn hollow in red.
    Returns the Figure."""
    rows = batch_size_rows(table)
    has_energy = rows["energy_per_sample_j"].notna().all()
    cost = "energy_per_sample_j" if has_energy else "time_per_sample_s"
    label = "energy per sample [J]" if has_energy else "time per sample [s] (no energy models)"
    fits = rows["fits"].astype(bool)
    fig, (ax_cost, ax_mem) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, column, ylabel in ((ax_cost, cost, label),
                               (ax_mem, "peak_memory_bytes", "peak memory [GiB]")):
        y = rows[column] / (2 ** 30 if column == "peak_memory_bytes" else 1)
        ax.plot(rows["batch_size"], y, color="0.6", zorder=1)
        ax.scatter(rows["batch_size"][fits], y[fits], color="tab:blue", zorder=2,
                   label="fits in memory")
        if (~fits).any():
            ax.scatter(rows["batch_size"][~fits], y[~fits], facecolors="none",
                       edgecolors="tab:red", zorder=2, label="does not fit")
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xticks(rows["batch_size"])
        ax.set_xlabel("batch size")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    y_cost = rows[cost]
    for flag, text, colour, size in (("least_energy", "least energy / epoch", "tab:green", 320),
                                     ("fastest", "fastest epoch", "tab:orange", 130)):
        marked = rows[rows[flag].astype(bool)]
        for idx, r in marked.iterrows():
            ax_cost.scatter([r["batch_size"]], [y_cost[idx]], s=size, facecolors="none",
                            edgecolors=colour, linewidths=2, zorder=3, label=text)
    budget = table.get("max_memory_bytes")
    if budget is not None and budget < 2 ** 62:
        ax_mem.axhline(budget / 2 ** 30, color="tab:red", linestyle="--",
                       label=f"budget ({table.get('max_memory_source', '')})")
    ax_cost.legend(fontsize=8)
    ax_mem.legend(fontsize=8)
    if rows["lower_bound"].astype(bool).any():
        title += "\n(lower bounds: some layers have no model)"
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
