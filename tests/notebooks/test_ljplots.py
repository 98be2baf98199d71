"""Unit tests of notebooks/ljplots.py (ctest notebooks.ljplots), on synthetic stores built from
db/schema.sql, hand-made bundles with known coefficients and hand-written feature exports (the
layout of `fit --export-features`, fit/feature_export.h). export_features runs a stand-in fit
(fake_fit.py); only RealFitExportTest runs the real fit binary ($LJ_BIN_DIR/fit, else
build/bin/fit), and is skipped without one unless LJ_REQUIRE_FIT=1.
Run: /usr/bin/python3 -m unittest discover -s tests/notebooks -p 'test_*.py'
"""
import json
import math
import os
import sqlite3
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

SOURCE = Path(os.environ.get("LJ_SOURCE_DIR", Path(__file__).resolve().parents[2])).resolve()

sys.path.insert(0, str(SOURCE / "notebooks"))
import ljplots as lj  # noqa: E402

lj.use_headless_backend()
import matplotlib.pyplot as plt  # noqa: E402


def make_store(path, samples=(), network_rows=(), schema_version=None):
    """Store with the real schema, one host 'h1', one sweep run and the given samples:
    (layer, pass, config dict, time_s, energy_j or None, sweep or None, sweep_value).
    With schema_version, meta records it as measure's Store does (the real fit needs it)."""
    con = sqlite3.connect(path)
    con.executescript((SOURCE / "db" / "schema.sql").read_text())
    if schema_version is not None:
        con.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(schema_version),))
    con.execute("INSERT INTO hosts (hostname, cpu_model) VALUES ('h1', 'cpu')")
    sweep_file = json.dumps({"name": "s_batch", "layer": "linear", "vary": {
        "parameter": "batch_size", "values": [1, 2]}})
    con.execute("INSERT INTO runs (host_id, kind, layer, source_json, meter, status) "
                "VALUES (1, 'sweep', 'linear', ?, 'rapl', 'finished')", (sweep_file,))
    for i, (layer, pas, config, time_s, energy_j, sweep, value) in enumerate(samples):
        con.execute("INSERT INTO samples (run_id, sample_index, layer, pass, config, "
                    "repetitions, trials, time_s, time_std_s, energy_j, meter, sweep, "
                    "sweep_value) VALUES (1, ?, ?, ?, ?, 1, 2, ?, 0.5e-9, ?, 'rapl', ?, ?)",
                    (i, layer, pas, json.dumps(config), time_s, energy_j, sweep, value))
    for row in network_rows:
        con.execute("INSERT INTO network_samples (run_id, network, batch_size, phase, "
                    "iteration, time_s, energy_j, meter) VALUES (1, ?, ?, ?, ?, ?, ?, 'rapl')",
                    row)
    con.commit()
    con.close()


def linear(batch, fin=10, fout=10):
    return {"batch_size": batch, "in_features": fin, "out_features": fout, "bias": True}


def export_document(*entries):
    """A feature export as fit writes it, from (layer, config, values) triples."""
    return {"features": [{"layer": layer, "config": config, "values": values}
                         for layer, config, values in entries]}


def linear_entry(batch, fin=10, fout=10):
    """Hand-written export entry of linear(batch, fin, fout): the numbers the tests need (the
    definition is fit's; RealFitExportTest checks that fit gives these)."""
    return ("linear", linear(batch, fin, fout),
            {"batch_size": batch, "in_features": fin, "out_features": fout,
             "macs": batch * fin * fout, "input_elements": batch * fin,
             "output_elements": batch * fout, "weight_elements": fin * fout + fout})


def linear_features(*batches):
    return lj.parse_features(export_document(*(linear_entry(b) for b in batches)))


class Mt19937Test(unittest.TestCase):
    def test_matches_the_standard_10000th_output(self):
        rng = lj.Mt19937_64(5489)
        for _ in range(9999):
            rng()
        self.assertEqual(rng(), 9981545732273789042)  # C++11 [rand.predef]

    def test_shuffle_matches_fit(self):
        # fit/cross_validation.cpp ShuffledIndices(10, 1), from the C++ standard library.
        self.assertEqual(lj.shuffled_indices(10, 1), [1, 7, 3, 9, 4, 0, 5, 2, 6, 8])

    def test_shuffle_is_a_seeded_permutation(self):
        a = lj.shuffled_indices(100, 1)
        self.assertEqual(sorted(a), list(range(100)))
        self.assertEqual(a, lj.shuffled_indices(100, 1))
        self.assertNotEqual(a, lj.shuffled_indices(100, 2))


class FeaturesTest(unittest.TestCase):
    """layer_features looks fit's values up; it computes nothing itself."""
    CONV = {"batch_size": 2, "in_channels": 4, "out_channels": 6, "height": 8, "width": 8,
            "kernel_size": 3, "stride": 1, "padding": 1, "groups": 2, "bias": True}

    def setUp(self):
        # Deliberately not what a formula would give: only a lookup returns these.
        self.conv_values = {"batch_size": 2.0, "in_channels_per_group": 2.0, "macs": 12345.0,
                            "mmap_input_elements": 1.0}
        self.features = lj.parse_features(export_document(
            ("conv2d", dict(reversed(list(self.CONV.items()))), self.conv_values),
            ("relu", {"batch_size": 1, "in_channels": 3, "height": 2, "width": 2},
             {"batch_size": 1, "channels": 3, "elements": 12, "input_size": 2}),
            ("sgd", {"parameters": 1000, "parameter_tensors": 4},
             {"parameters": 1000, "parameter_tensors": 4})))

    def test_values_of_the_export_are_looked_up(self):
        self.assertEqual(len(self.features), 3)
        self.assertEqual(lj.layer_features(self.features, "conv2d", self.CONV), self.conv_values)
        # key order and spacing of the stored JSON text do not matter
        text = json.dumps(self.CONV, indent=2)
        self.assertEqual(lj.layer_features(self.features, "conv2d", text)["macs"], 12345.0)
        relu = lj.layer_features(self.features, "relu", '{"width": 2, "height": 2, '
                                 '"in_channels": 3, "batch_size": 1}')
        self.assertEqual((relu["elements"], "macs" in relu), (12.0, False))
        self.assertEqual(lj.layer_features(
            self.features, "sgd", {"parameter_tensors": 4, "parameters": 1000})["parameters"],
            1000.0)

    def test_unknown_config_or_layer_raises_naming_both(self):
        other = dict(self.CONV, batch_size=3)
        with self.assertRaisesRegex(lj.DataError, r'conv2d config .*"batch_size":3'):
            lj.layer_features(self.features, "conv2d", other)
        with self.assertRaisesRegex(lj.DataError, "no fit features for maxpool2d config"):
            lj.layer_features(self.features, "maxpool2d", self.CONV)

    def test_malformed_export_raises(self):
        with self.assertRaises(lj.DataError):
            lj.parse_features({"layers": []})
        with self.assertRaises(lj.DataError):
            lj.parse_features({"features": [{"layer": "relu", "config": {}}]})


class ExportFeaturesTest(unittest.TestCase):
    """export_features runs fit (here fake_fit.py as $LJ_BIN_DIR/fit) and parses its file."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = Path(self.dir.name)
        self.db = d / "s.sqlite"
        make_store(self.db, [("linear", "forward", linear(b), 1e-6 * b, None, None, None)
                             for b in (1, 2)])
        self.export = d / "export.json"
        self.export.write_text(json.dumps(export_document(linear_entry(1))))  # not batch 2
        self.bin = d / "bin"
        self.bin.mkdir()
        fit = self.bin / "fit"
        fit.write_text(f'#!/bin/sh\nexec "{sys.executable}" '
                       f'"{SOURCE / "tests" / "notebooks" / "fake_fit.py"}" "$@"\n')
        fit.chmod(0o755)
        self.env = mock.patch.dict(os.environ, {"LJ_BIN_DIR": str(self.bin),
                                                "LJ_FAKE_FEATURES": str(self.export)})
        self.env.start()
        os.environ.pop("LJ_FAKE_FIT_ERROR", None)

    def tearDown(self):
        self.env.stop()
        self.dir.cleanup()

    def test_runs_fit_and_fills_macs(self):
        features = lj.export_features(self.db)
        self.assertEqual(features, lj.parse_features(json.loads(self.export.read_text())))
        samples = lj.read_samples(lj.open_db(self.db), features)
        self.assertEqual(samples["macs"].iloc[0], 100.0)
        self.assertTrue(math.isnan(samples["macs"].iloc[1]))  # not in the export
        self.assertTrue(lj.read_samples(lj.open_db(self.db))["macs"].isna().all())

    def test_fit_binary_from_lj_bin_dir_else_build_bin(self):
        self.assertEqual(lj.fit_binary(), self.bin / "fit")
        with mock.patch.dict(os.environ, {"LJ_BIN_DIR": ""}):
            self.assertEqual(lj.fit_binary(), lj.REPO_ROOT / "build" / "bin" / "fit")

    def test_failing_fit_raises_with_its_stderr(self):
        os.environ["LJ_FAKE_FIT_ERROR"] = "no samples of host 'x' in the given databases"
        with self.assertRaisesRegex(lj.DataError, r"(?s)exit code 1.*fit: error: no samples "
                                                  r"of host 'x'"):
            lj.export_features(self.db)

    def test_missing_fit_or_database_raises_file_not_found(self):
        os.environ["LJ_BIN_DIR"] = str(self.bin / "nothing")
        with self.assertRaisesRegex(FileNotFoundError, "no fit binary.*LJ_BIN_DIR"):
            lj.export_features(self.db)
        with self.assertRaisesRegex(FileNotFoundError, "no such database"):
            lj.export_features(self.bin / "missing.sqlite")
        self.assertFalse((self.bin / "missing.sqlite").exists())

    def test_store_without_samples_needs_no_fit(self):
        os.environ["LJ_BIN_DIR"] = str(self.bin / "nothing")
        empty = Path(self.dir.name) / "empty.sqlite"
        make_store(empty)
        self.assertEqual(lj.export_features(empty), {})


class RealFitExportTest(unittest.TestCase):
    """The real fit's export: every layer type, core's MACs, keys that match samples.config."""

    def test_every_layer_type_is_exported_and_evaluated(self):
        fit = lj.fit_binary()
        if not fit.is_file():
            if os.environ.get("LJ_REQUIRE_FIT") == "1":
                self.fail(f"no fit binary at {fit}")
            self.skipTest(f"no fit binary at {fit}")
        conv = dict(FeaturesTest.CONV)
        relu = {"batch_size": 2, "in_channels": 3, "height": 4, "width": 5}
        sgd = {"parameters": 1000, "parameter_tensors": 4}
        with tempfile.TemporaryDirectory() as d:
            db = Path(d) / "s.sqlite"
            make_store(db, [("conv2d", "forward", conv, 1e-6, None, None, None),
                            ("linear", "forward", linear(4, 5, 7), 1e-6, None, None, None),
                            ("relu", "forward", relu, 3e-6, None, None, None),
                            ("sgd", "forward", sgd, 1e-6, None, None, None)],
                       schema_version=3)
            features = lj.export_features(db)
            samples = lj.read_samples(lj.open_db(db), features)
        self.assertEqual(len(features), 4)
        f = lj.layer_features(features, "conv2d", conv)
        # MACs = N * C_out * H_out * W_out * (C_in / groups) * k^2, out 8x8
        self.assertEqual(f["macs"], 2 * 6 * 64 * 2 * 9)
        self.assertEqual((f["input_size"], f["in_channels_per_group"]), (10, 2))
        self.assertEqual(f["weight_elements"], 6 * 2 * 9 + 6)
        f = lj.layer_features(features, "linear", linear(4, 5, 7))
        self.assertEqual((f["macs"], f["weight_elements"]), (140, 42))
        self.assertEqual(lj.layer_features(features, "relu", relu)["elements"], 120)
        self.assertEqual(lj.layer_features(features, "sgd", sgd)["parameters"], 1000)
        self.assertEqual(list(samples["macs"][:2]), [2 * 6 * 64 * 2 * 9, 140])
        self.assertTrue(samples["macs"][2:].isna().all())  # relu and sgd have no MACs
        bundle = {"host": {"hostname": "h1"}, "models": [
            {"layer": "relu", "pass": "forward", "quantity": "time_s", "intercept": 0,
             "terms": [{"name": "elements", "coefficient": 2.5e-8, "center": 0, "scale": 1}],
             "counts": {"train": 1, "test": 0}, "metrics": {}}]}
        predictions, checks = lj.model_predictions(samples, [bundle], features)
        self.assertEqual(checks["note"].iloc[0], "the bundle holds no held-out rows")
        self.assertAlmostEqual(predictions["predicted"].iloc[0], 3e-6)


class PredictTest(unittest.TestCase):
    LINEAR = {"batch_size": 2.0, "in_features": 3.0, "out_features": 8.0, "macs": 48.0}

    def test_evaluates_terms_centres_and_scales(self):
        model = {"layer": "linear", "intercept": 1.0, "target_transform": "none", "terms": [
            {"name": "macs", "coefficient": 2.0, "center": 10.0, "scale": 5.0},
            {"name": "batch_size*in_features^2", "coefficient": 1.0, "center": 0, "scale": 2},
            {"name": "log2(out_features)", "coefficient": 3.0, "center": 0, "scale": 1}]}
        self.assertAlmostEqual(lj.predict(model, self.LINEAR),
                               1 + 2 * (48 - 10) / 5 + 2 * 9 / 2 + 3 * 3)

    def test_log_target_is_a_product_of_powers(self):
        model = {"layer": "linear", "intercept": math.log(1e-9), "target_transform": "log",
                 "terms": [{"name": "log(macs)", "coefficient": 1.0, "center": 0, "scale": 1}]}
        self.assertAlmostEqual(lj.predict(model, dict(self.LINEAR, macs=1000.0)), 1e-9 * 1000)

    def test_unknown_feature_raises(self):
        model = {"layer": "linear", "intercept": 0, "terms": [
            {"name": "kernel_size", "coefficient": 1, "center": 0, "scale": 1}]}
        with self.assertRaisesRegex(lj.DataError, "unknown feature 'kernel_size'.*linear"):
            lj.predict(model, self.LINEAR)


class LinearityTest(unittest.TestCase):
    def test_flags_exactly_the_point_off_the_line(self):
        x = [1, 2, 4, 8, 16, 32]
        y = [1 + 2 * v for v in x]
        y[3] *= 1.5
        a, b, residual, flagged = lj.linear_fit(x, y, threshold=0.15)
        self.assertEqual(list(flagged), [False, False, False, True, False, False])
        self.assertAlmostEqual(a, 1, places=6)  # refit without the flagged point
        self.assertAlmostEqual(b, 2, places=6)
        self.assertAlmostEqual(residual[3], 1 / 3, places=6)

    def test_too_few_points_are_not_flagged(self):
        _, _, _, flagged = lj.linear_fit([1, 2], [1, 5])
        self.assertFalse(flagged.any())


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = Path(self.dir.name) / "s.sqlite"

    def tearDown(self):
        self.dir.cleanup()
        plt.close("all")

    def test_missing_database_raises_and_is_not_created(self):
        with self.assertRaises(FileNotFoundError):
            lj.open_db(self.db)
        self.assertFalse(self.db.exists())

    def test_database_without_the_schema_raises(self):
        sqlite3.connect(self.db).execute("CREATE TABLE x (a)").connection.close()
        with self.assertRaisesRegex(lj.DataError, "missing hosts"):
            lj.open_db(self.db)

    def test_empty_store_gives_empty_frames(self):
        make_store(self.db)
        con = lj.open_db(self.db)
        samples = lj.read_samples(con, {})
        self.assertTrue(samples.empty)
        self.assertTrue(lj.sweep_summary(samples).empty)
        self.assertTrue(lj.network_phase_summary(lj.read_network_samples(con)).empty)
        predictions, checks = lj.model_predictions(samples, [], {})
        self.assertTrue(predictions.empty)

    def test_sweep_summary_spread_and_energy_figure(self):
        rows = []
        for value, times in ((1, [1.0, 1.2, 1.4]), (2, [2.0, 2.0, 2.0]), (4, [4.0])):
            for t in times:
                rows.append(("linear", "forward", linear(value), t, 10 * t, "s_batch", value))
        rows.append(("linear", "forward", linear(3), 9.0, None, None, None))  # not a sweep
        make_store(self.db, rows)
        con = lj.open_db(self.db)
        samples = lj.read_samples(con, linear_features(1, 2, 3, 4))
        self.assertEqual(list(samples["macs"][:1]), [100.0])
        summary = lj.sweep_summary(samples).set_index("sweep_value")
        self.assertEqual(list(summary["repeats"]), [3, 3, 1])
        self.assertAlmostEqual(summary.loc[1, "time_s"], 1.2)
        self.assertAlmostEqual(summary.loc[1, "time_std_s"], 0.2)  # std over repeats
        self.assertAlmostEqual(summary.loc[1, "energy_std_j"], 2.0)
        self.assertAlmostEqual(summary.loc[4, "time_std_s"], 0.5e-9)  # within-sample std
        self.assertEqual(lj.sweep_parameters(con), {"s_batch": "batch_size"})
        # A database of schema version 1 kept the sweep file in runs.bounds_json.
        old = sqlite3.connect(":memory:")
        old.execute("CREATE TABLE runs (kind TEXT, bounds_json TEXT)")
        old.execute("INSERT INTO runs VALUES ('sweep', ?)", (json.dumps(
            {"name": "s_old", "vary": {"parameter": "in_features"}}),))
        self.assertEqual(lj.sweep_parameters(old), {"s_old": "in_features"})
        linearity = lj.sweep_linearity(summary.reset_index())
        self.assertEqual(set(linearity["quantity"]), {"time_s", "energy_j"})
        self.assertFalse(linearity["flagged"].any())  # t = value exactly
        fig = lj.plot_sweep(summary.reset_index(), linearity, "s_batch", "batch_size")
        self.assertEqual(len(fig.axes), 4)  # time and energy rows, value and per-MAC columns

    def test_model_predictions_reproduce_split_only_when_metrics_match(self):
        rows = [("linear", "forward", linear(b), 1e-9 * b * 100 * (1 + 0.1 * (b % 3)), None,
                 None, None) for b in range(1, 21)]
        make_store(self.db, rows)
        features = linear_features(*range(1, 21))
        samples = lj.read_samples(lj.open_db(self.db), features)
        model = {"layer": "linear", "pass": "forward", "quantity": "time_s",
                 "target_transform": "none", "intercept": 0.0,
                 "terms": [{"name": "macs", "coefficient": 1e-9, "center": 0, "scale": 1}],
                 "counts": {"train": 16, "test": 4}, "cv": {"seed": 3}, "metrics": {}}
        test = [2, 6, 18, 19]  # first 4 of fit's ShuffledIndices(20, 3), sorted
        measured = samples["time_s"].to_numpy()
        predicted = 1e-9 * samples["macs"].to_numpy()
        mape = lj.compute_metrics(predicted[test], measured[test])["mape_pct"]
        model["metrics"]["test"] = {"mape_pct": mape}
        bundle = {"host": {"hostname": "h1"}, "models": [model]}
        predictions, checks = lj.model_predictions(samples, [bundle], features)
        self.assertTrue(checks["reproduced"].iloc[0])
        self.assertEqual(list(predictions.index[predictions["split"] == "test"]), test)
        self.assertAlmostEqual(predictions["predicted"].iloc[0], 1e-7)
        self.assertEqual(set(predictions["size_name"]), {"macs"})
        self.assertEqual(list(predictions["size"]), list(predictions["macs"]))
        model["metrics"]["test"]["mape_pct"] = mape + 1
        predictions, checks = lj.model_predictions(samples, [bundle], features)
        self.assertFalse(checks["reproduced"].iloc[0])
        self.assertEqual(set(predictions["split"]), {"unknown"})
        fig = lj.plot_predicted_vs_measured(predictions)
        self.assertIn("split not reproduced", fig.axes[0].get_title())
        with self.assertRaisesRegex(lj.DataError, 'no fit features for linear config .*'
                                                  '"batch_size":20'):
            lj.model_predictions(samples, [bundle], linear_features(*range(1, 20)))
        _, checks = lj.model_predictions(samples, [bundle])
        self.assertTrue(checks["note"].iloc[0].startswith("not evaluated: no layer features"))


class TypeWithoutMacsTest(unittest.TestCase):
    """Layer types without a MACs feature (element-wise, loss, optimizer) are evaluated like
    the others; sweeps of them are fitted against the parameter."""

    def test_sweep_without_macs_is_fitted_against_the_parameter(self):
        summary = lj.pd.DataFrame({
            "sweep": "s_relu", "layer": "relu", "host": "h", "pass": "forward",
            "sweep_value": [1.0, 2.0, 4.0, 8.0], "macs": float("nan"), "repeats": 1,
            "time_s": [1.0, 2.0, 4.0, 12.0], "time_std_s": 0.0, "energy_j": float("nan"),
            "energy_std_j": float("nan")})
        linearity = lj.sweep_linearity(summary)
        self.assertEqual(list(linearity["x"]), [1.0, 2.0, 4.0, 8.0])
        self.assertEqual(list(linearity["flagged"]), [False, False, False, True])
        fig = lj.plot_sweep(summary, linearity, "s_relu", "batch_size")
        self.assertIn("MACs not known", fig.axes[1].texts[0].get_text())
        plt.close(fig)

    def test_model_of_a_type_without_macs_is_evaluated(self):
        config = {"batch_size": 1, "in_channels": 2, "height": 3, "width": 4}
        bundle = {"host": {"hostname": "h1"}, "models": [
            {"layer": "relu", "pass": "forward", "quantity": "time_s", "intercept": 0,
             "terms": [{"name": "elements", "coefficient": 0.5, "center": 0, "scale": 1}],
             "counts": {"train": 0, "test": 1}, "cv": {"seed": 1},
             "metrics": {"test": {"mape_pct": 100 * (12 - 8) / 8}}}]}
        samples = lj.pd.DataFrame({"hostname": ["h1"], "run_kind": ["random"],
                                   "layer": ["relu"], "pass": ["forward"], "time_s": [8.0],
                                   "energy_j": [None], "config": [json.dumps(config)],
                                   "id": [1], "macs": [float("nan")]})
        features = lj.parse_features(export_document(
            ("relu", config, {"batch_size": 1, "channels": 2, "input_size": 3.5,
                              "elements": 24})))
        predictions, checks = lj.model_predictions(samples, [bundle], features)
        self.assertTrue(checks["reproduced"].iloc[0], checks["note"].iloc[0])
        self.assertEqual(list(predictions["predicted"]), [12.0])
        self.assertTrue(predictions["macs"].isna().all())
        self.assertEqual((predictions["size"].iloc[0], predictions["size_name"].iloc[0]),
                         (24.0, "elements"))
        fig = lj.plot_residuals_vs_macs(predictions)
        self.assertEqual(fig.axes[0].get_xlabel(), "elements")
        plt.close(fig)


class MetricsTest(unittest.TestCase):
    def test_relative_metrics(self):
        m = lj.compute_metrics([1.1, 2.0, 2.0], [1.0, 2.0, 4.0])
        self.assertAlmostEqual(m["mape_pct"], 100 * (0.1 + 0 + 0.5) / 3)
        self.assertAlmostEqual(m["rmspe_pct"], 100 * math.sqrt((0.01 + 0.25) / 3))
        self.assertAlmostEqual(m["within_10pct"], 2 / 3)  # 1.1 vs 1.0 counts as within


class BundleTest(unittest.TestCase):
    def test_bundle_files_and_format_checks(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "a.json").write_text(json.dumps({"format": "layerjoule-model-bundle",
                                                  "format_version": 2, "models": []}))
            (d / "b.json").write_text(json.dumps({"format": "other"}))
            self.assertEqual(lj.bundle_files(d), [d / "a.json", d / "b.json"])
            self.assertEqual(lj.bundle_files(f"{d / 'a.json'}{os.pathsep}{d / 'nothing'}"),
                             [d / "a.json"])
            with self.assertRaises(FileNotFoundError):
                lj.bundle_files(d / "missing.json")
            self.assertEqual(lj.load_bundle(d / "a.json")["models"], [])
            with self.assertRaisesRegex(lj.DataError, "not a layerjoule model bundle"):
                lj.load_bundle(d / "b.json")


class NetworkTest(unittest.TestCase):
    PREDICTION = {
        "layers": [
            {"path": "conv1", "type": "conv2d", "forward_time_s": 1.0, "backward_time_s": 2.0,
             "forward_energy_j": None, "backward_energy_j": None, "status": "ok"},
            {"path": "relu", "type": "relu", "status": "not modelled"}],
        "per_batch": {"forward_time_s": 1.0, "backward_time_s": 2.0, "time_s": 4.0}}

    def test_phase_comparison_and_breakdown(self):
        with tempfile.TemporaryDirectory() as d:
            db = Path(d) / "n.sqlite"
            make_store(db, network_rows=[("net", 8, "backward", i, 2.2, None) for i in range(2)]
                       + [("net", 8, "forward", i, 0.9 + 0.2 * i, None) for i in range(2)]
                       + [("net", 8, "loss", 0, 0.1, None)])
            summary = lj.network_phase_summary(lj.read_network_samples(lj.open_db(db)))
        host = summary["host"].iloc[0]
        c = lj.compare_phases(summary, self.PREDICTION, "net", 8, host)
        self.assertEqual(list(c["phase"]), ["forward", "backward"])  # loss: no prediction
        self.assertAlmostEqual(c["measured"].iloc[0], 1.0)
        self.assertAlmostEqual(c["rel_error_%"].iloc[1], 100 * (2.0 - 2.2) / 2.2)
        self.assertAlmostEqual(c["measured_std"].iloc[0], math.sqrt(0.02))
        layers = lj.predicted_layers(self.PREDICTION)
        fig = lj.plot_layer_breakdown(layers, "net")
        self.assertEqual(len(fig.axes), 1)  # time only: no energy predicted
        self.assertIn("1 layer(s) without a prediction not shown", fig.axes[0].get_title())
        self.assertEqual([t.get_text() for t in fig.axes[0].get_xticklabels()],
                         ["conv1 (conv2d)"])
        plt.close("all")



class BatchSizePlotTest(unittest.TestCase):
    TABLE = {"network": "net", "max_memory_bytes": 3000, "max_memory_source": "--max-memory 3000B",
             "rows": [
                 {"batch_size": 16, "time_per_sample_s": 2.0, "energy_per_sample_j": 5.0,
                  "peak_memory_bytes": 2000, "fits": True, "least_energy": True,
                  "fastest": False, "lower_bound": False},
                 {"batch_size": 8, "time_per_sample_s": 1.0, "energy_per_sample_j": 6.0,
                  "peak_memory_bytes": 1000, "fits": True, "least_energy": False,
                  "fastest": True, "lower_bound": False},
                 {"batch_size": 32, "time_per_sample_s": 0.5, "energy_per_sample_j": 4.0,
                  "peak_memory_bytes": 4000, "fits": False, "least_energy": False,
                  "fastest": False, "lower_bound": True}]}

    def test_rows_are_sorted_and_energy_may_be_null(self):
        rows = lj.batch_size_rows(self.TABLE)
        self.assertEqual(list(rows["batch_size"]), [8, 16, 32])
        no_energy = json.loads(json.dumps(self.TABLE))
        for r in no_energy["rows"]:
            r["energy_per_sample_j"] = None
        self.assertTrue(lj.batch_size_rows(no_energy)["energy_per_sample_j"].isna().all())
        with self.assertRaises(lj.DataError):
            lj.batch_size_rows({"rows": []})

    def test_plot_draws_cost_memory_budget_and_marks(self):
        fig = lj.plot_batch_sizes(self.TABLE, "net")
        cost, memory = fig.axes
        self.assertEqual(cost.get_ylabel(), "energy per sample [J]")
        labels = [t.get_text() for t in cost.get_legend().get_texts()]
        for label in ("fits in memory", "does not fit", "least energy / epoch", "fastest epoch"):
            self.assertIn(label, labels)
        budget = [line for line in memory.get_lines() if line.get_linestyle() == "--"]
        self.assertEqual(len(budget), 1)
        self.assertAlmostEqual(budget[0].get_ydata()[0], 3000 / 2 ** 30)
        self.assertIn("lower bounds", fig._suptitle.get_text())
        plt.close(fig)
        no_energy = json.loads(json.dumps(self.TABLE))
        for r in no_energy["rows"]:
            r["energy_per_sample_j"] = None
        fig = lj.plot_batch_sizes(no_energy, "net")
        self.assertIn("time per sample", fig.axes[0].get_ylabel())
        plt.close(fig)


if __name__ == "__main__":
    unittest.main()
