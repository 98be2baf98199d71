#!/usr/bin/python3
"""Notebook test (ctest notebooks.execute): executes notebooks/*.ipynb headless on real data.

1. tools/make_test_db.sh builds a small store (tiny sweeps measured here, the prototype's
   Raptor Lake RAPL data when present, one model bundle per host from the real fit binary).
2. The three notebooks run top to bottom with `jupyter nbconvert --to notebook --execute`
   against it; any failing cell fails the test. Checks: one sweep figure per sweep in the
   store; a predicted-vs-measured and a residual figure per bundle host; fit's feature export
   (ljplots.export_features) covers every layer sample and gives every conv2d, maxpool2d and
   linear sample its MACs; ljplots evaluates every model of every bundle, all layer types,
   and re-creates fit's held-out split and metrics; networks.ipynb says network_samples is
   empty exactly when it is.
   With the real predict binary (when LJ_BIN_DIR has one) networks.ipynb draws figures.
3. networks.ipynb with whole-network rows (inserted into a copy) and a stand-in predict
   (fake_predict.py) draws exactly the per-layer breakdown and the per-phase comparison.
4. On a store with the schema only and no bundles every notebook still runs and prints NOTE
   lines (no fit needed); with a database path that does not exist sweeps.ipynb fails, naming
   the path; with samples but no fit binary sweeps.ipynb fails, saying so.
Environment: LJ_SOURCE_DIR (repo root), LJ_BIN_DIR (measure, fit, predict), LJ_REQUIRE_FIT.
Exit code 0 on success, 1 on a failed check (message on stderr), 77 (skipped) without jupyter
or, unless LJ_REQUIRE_FIT=1, without the fit binary (the notebooks read its features).
"""
import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(os.environ.get("LJ_SOURCE_DIR", Path(__file__).resolve().parents[2])).resolve()
BIN = Path(os.environ.get("LJ_BIN_DIR", SOURCE / "build" / "bin")).resolve()
NOTEBOOKS = ("sweeps", "fit_quality", "networks")
sys.path.insert(0, str(SOURCE / "notebooks"))


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def execute(names, out_dir, env_extra, expect_failure=False):
    """Runs nbconvert on notebooks `names` into out_dir; returns {name: (texts, n_images)}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LJ_SOURCE_DIR=str(SOURCE), **env_extra)
    command = ["jupyter", "nbconvert", "--to", "notebook", "--execute",
               "--ExecutePreprocessor.timeout=600", "--output-dir", str(out_dir)]
    command += [str(SOURCE / "notebooks" / f"{n}.ipynb") for n in names]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if expect_failure:
        return result
    check(result.returncode == 0,
          f"nbconvert failed on {names} with {env_extra}:\n{result.stderr[-4000:]}")
    outputs = {}
    for n in names:
        nb = json.load(open(out_dir / f"{n}.ipynb"))
        texts, images = [], 0
        for cell in nb["cells"]:
            for o in cell.get("outputs", []):
                if o["output_type"] == "stream":
                    texts.append("".join(o["text"]))
                elif "data" in o:
                    if "image/png" in o["data"]:
                        png = base64.b64decode("".join(o["data"]["image/png"]))
                        check(png.startswith(b"\x89PNG"), f"{n}.ipynb: an image is not a PNG")
                        images += 1
                    texts.append("".join(o["data"].get("text/plain", "")))
        outputs[n] = ("\n".join(texts), images)
    return outputs


def add_network_rows(db):
    """Replaces network_samples by one finished run of lenet5 (batch 64), 3 iterations of
    every phase but the loss."""
    con = sqlite3.connect(db)
    con.execute("DELETE FROM network_samples")
    host = con.execute("SELECT id FROM hosts ORDER BY id LIMIT 1").fetchone()[0]
    run = con.execute("INSERT INTO runs (host_id, kind, meter, status) "
                      "VALUES (?, 'network', 'rapl', 'finished')", (host,)).lastrowid
    phases = {"forward": (2.5e-3, 0.12), "backward": (5.5e-3, 0.25),
              "optimizer": (0.9e-3, 0.04), "iteration": (9.0e-3, 0.42)}
    for iteration in range(3):
        for phase, (time_s, energy_j) in phases.items():
            con.execute("INSERT INTO network_samples (run_id, network, batch_size, phase, "
                        "iteration, time_s, energy_j, meter) VALUES (?, 'lenet5', 64, ?, ?, ?, "
                        "?, 'rapl')", (run, phase, iteration, time_s * (1 + 0.01 * iteration),
                                       energy_j * (1 + 0.01 * iteration)))
    con.commit()
    con.close()


def main():
    import ljplots as lj  # Debian python3-pandas and -matplotlib

    tmp = Path(tempfile.mkdtemp(prefix="lj-notebooks-"))
    try:
        build = subprocess.run(["bash", str(SOURCE / "tools" / "make_test_db.sh"), str(tmp)],
                               cwd=SOURCE, env=dict(os.environ, LJ_BIN_DIR=str(BIN)),
                               capture_output=True, text=True)
        check(build.returncode == 0, f"make_test_db.sh failed:\n{build.stderr[-4000:]}")
        print(build.stdout.strip())
        db, models = tmp / "test.sqlite", tmp / "models"
        predict = BIN / "predict"
        env = {"LJ_DB": str(db), "LJ_BUNDLE": str(models), "LJ_NETWORKS": "lenet5",
               "LJ_BIN_DIR": str(BIN),
               "LJ_PREDICT": str(predict if predict.is_file() else tmp / "no-predict-here")}

        # 2. All three notebooks on the small store.
        con = lj.open_db(db)
        os.environ["LJ_BIN_DIR"] = str(BIN)  # ljplots.export_features runs BIN/fit
        features = lj.export_features(db)
        samples = lj.read_samples(con, features)
        fitted = samples[samples["run_kind"] != "network"]
        absent = [(layer, lj.canonical_config(c)) for layer, c in
                  zip(fitted["layer"], fitted["config"])
                  if (layer, lj.canonical_config(c)) not in features]
        check(not absent, f"{len(absent)} of {len(fitted)} samples have no entry in fit's "
                          f"feature export, e.g. {absent[:3]}")
        with_macs = fitted[fitted["layer"].isin(["conv2d", "maxpool2d", "linear"])]
        check(len(with_macs) > 0 and (with_macs["macs"] > 0).all(),
              "conv2d, maxpool2d and linear samples without MACs from fit's export")
        n_sweeps = samples["sweep"].nunique()
        check(n_sweeps >= 3, f"expected the 3 tiny sweeps in {db}, found {n_sweeps}")
        bundles = [b for b in map(lj.load_bundle, lj.bundle_files(models)) if b["models"]]
        out = execute(NOTEBOOKS, tmp / "full", env)
        text, images = out["sweeps"]
        check(images == n_sweeps, f"sweeps.ipynb drew {images} figures for {n_sweeps} sweeps")
        check("NOTE" not in text, f"sweeps.ipynb printed a NOTE on a full store:\n{text}")
        text, images = out["fit_quality"]
        check(images == 2 * len(bundles),
              f"fit_quality.ipynb drew {images} figures for {len(bundles)} bundle host(s)")
        if os.environ.get("LJ_REQUIRE_FIT") == "1":
            check(len(bundles) >= 1, "fit wrote no bundle with models")
        _, checks = lj.model_predictions(samples, bundles, features)
        n_models = sum(len(b["models"]) for b in bundles)
        check(len(checks) == n_models, f"{len(checks)} checks for {n_models} models")
        check(checks.empty or checks["reproduced"].all(),
              f"held-out split or metrics not reproduced:\n{checks.to_string()}")
        text, images = out["networks"]
        n_net = len(lj.read_network_samples(con))
        check(("network_samples is empty" in text) == (n_net == 0),
              f"networks.ipynb with {n_net} network_samples rows said:\n{text}")
        if predict.is_file() and bundles:
            check(images >= 1 and "predicted" in text,
                  f"networks.ipynb with {predict} drew no figure:\n{text}")
        print(f"full store: {n_sweeps} sweeps, {len(bundles)} bundle(s), "
              f"{len(checks)} models (layer types: {', '.join(sorted(set(samples['layer'])))}) "
              f"with reproduced held-out split, {len(features)} exported configs, "
              f"{n_net} network rows, "
              f"{images} network figure(s)")

        # 3. networks.ipynb with measured network rows and a stand-in predict.
        db_net = tmp / "with_networks.sqlite"
        shutil.copy(db, db_net)
        add_network_rows(db_net)
        host = sqlite3.connect(db_net).execute(
            "SELECT hostname FROM hosts ORDER BY id LIMIT 1").fetchone()[0]
        if not any(b["host"]["hostname"] == host for b in bundles):
            print(f"skipping the measured-network check: no bundle for host {host}")
        else:
            out = execute(["networks"], tmp / "net",
                          dict(env, LJ_DB=str(db_net),
                               LJ_PREDICT=str(SOURCE / "tests/notebooks/fake_predict.py")))
            text, images = out["networks"]
            check(images == 2, f"networks.ipynb drew {images} figures, expected breakdown + "
                               f"phase comparison:\n{text}")
            check("NOTE" not in text, f"networks.ipynb printed a NOTE with data:\n{text}")

        # 4. Empty store and no bundles: every notebook runs and says what is missing.
        empty = tmp / "empty.sqlite"
        con = sqlite3.connect(empty)
        con.executescript((SOURCE / "db" / "schema.sql").read_text())
        con.close()
        out = execute(NOTEBOOKS, tmp / "empty",
                      dict(env, LJ_DB=str(empty), LJ_BUNDLE=str(tmp / "no-bundles")))
        for name, (text, images) in out.items():
            check("NOTE" in text and images == 0,
                  f"{name}.ipynb on an empty store: expected NOTE lines and no figures, got "
                  f"{images} figures:\n{text}")
        missing = tmp / "does-not-exist.sqlite"
        result = execute(["sweeps"], tmp / "missing", dict(env, LJ_DB=str(missing)),
                         expect_failure=True)
        check(result.returncode != 0 and "no such database" in result.stderr + result.stdout,
              f"sweeps.ipynb with a missing database did not fail naming it "
              f"(rc {result.returncode}):\n{result.stderr[-2000:]}")
        check(not missing.exists(), f"sweeps.ipynb created {missing}")
        no_bin = tmp / "no-bin"
        result = execute(["sweeps"], tmp / "no-fit", dict(env, LJ_BIN_DIR=str(no_bin)),
                         expect_failure=True)
        check(result.returncode != 0
              and f"{no_bin}/fit: no fit binary" in result.stderr + result.stdout,
              f"sweeps.ipynb without a fit binary did not fail naming it "
              f"(rc {result.returncode}):\n{result.stderr[-2000:]}")
        print("empty store, missing database and missing fit: OK")
    finally:
        if os.environ.get("LJ_KEEP_TMP") == "1":
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if shutil.which("jupyter") is None:
        print("skipped: no jupyter on PATH (Debian jupyter-nbconvert)")
        sys.exit(77)
    if not (BIN / "fit").is_file() and os.environ.get("LJ_REQUIRE_FIT") != "1":
        print(f"skipped: no fit binary at {BIN / 'fit'}; the notebooks read its layer features")
        sys.exit(77)
    try:
        main()
    except CheckFailed as e:
        print(f"run_notebooks: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print("run_notebooks: all checks passed")
