"""Unit tests of notebooks/ljplots.py (ctest notebooks.ljplots), on synthetic stores built from
db/schema.sql and hand-made bundles with known coefficients. No binaries needed.
Run: /usr/bin/python3 -m unittest discover -s tests/notebooks -p 'test_*.py'
"""
import json
import math
import os
import sqlite3
import tempfile
import unittest
from pathlib import Path

SOURCE = Path(os.environ.get("LJ_SOURCE_DIR", Path(__file__).resolve().parents[2])).resolve()
import sys  # noqa: E402

sys.path.insert(0, str(SOURCE / "notebooks"))
import ljplots as lj  # noqa: E402

lj.use_headless_backend()
import matplotlib.pyplot as plt  # noqa: E402


def make_store(path, samples=(), network_rows=()):
    """Store with the real schema, one host 'h1', one sweep run and the given samples:
    (layer, pass, config dict, time_s, energy_j or None, sweep or None, sweep_value)."""
    con = sqlite3.connect(path)
    con.executescript((SOURCE / "db" / "schema.sql").read_text())
    con.execute("INSERT INTO hosts (hostname, cpu_model) VALUES ('h1', 'cpu')")
    sweep_file = json.dumps({"name": "s_batch", "layer": "linear", "vary": {
        "parameter": "batch_size", "values": [1, 2]}})
    con.execute("INSERT INTO runs (host_id, kind, layer, bounds_json, meter, status) "
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
    def test_conv2d_macs_and_sizes(self):
        f = lj.layer_features("conv2d", {"batch_size": 2, "in_channels": 4, "out_channels": 6,
                                         "height": 8, "width": 8, "kernel_size": 3, "stride": 1,
                                         "padding": 1, "groups": 2, "bias": True})
        # out 8x8; MACs = N * C_out * H_out * W_out * (C_in / groups) * k^2
        self.assertEqual(f["macs"], 2 * 6 * 64 * 2 * 9)
        self.assertEqual(f["input_size"], 10)
        self.assertEqual(f["weight_elements"], 6 * 2 * 9 + 6)
        self.assertEqual(f["output_elements"], 2 * 6 * 64)
        self.assertEqual(f["in_channels_per_group"], 2)  # fit/features.h: in_channels / groups

    def test_maxpool2d_and_linear(self):
        f = lj.layer_features("maxpool2d", {"batch_size": 1, "in_channels": 3, "height": 9,
                                            "width": 9, "kernel_size": 3, "stride": 2,
                                            "padding": 0})
        self.assertEqual(f["macs"], 3 * 4 * 4 * 9)  # out (9 - 3) // 2 + 1 = 4
        self.assertEqual(f["channels"], 3)
        f = lj.layer_features("linear", linear(4, 5, 7))
        self.assertEqual((f["macs"], f["weight_elements"]), (140, 42))

    def test_unknown_layer_raises(self):
        with self.assertRaises(lj.DataError):
            lj.layer_features("conv3d", {"batch_size": 1})


class PredictTest(unittest.TestCase):
    def test_evaluates_terms_centres_and_scales(self):
        model = {"layer": "linear", "intercept": 1.0, "target_transform": "none", "terms": [
            {"name": "macs", "coefficient": 2.0, "center": 10.0, "scale": 5.0},
            {"name": "batch_size*in_features^2", "coefficient": 1.0, "center": 0, "scale": 2},
            {"name": "log2(out_features)", "coefficient": 3.0, "center": 0, "scale": 1}]}
        f = lj.layer_features("linear", linear(2, 3, 8))  # macs 48
        self.assertAlmostEqual(lj.predict(model, f), 1 + 2 * (48 - 10) / 5 + 2 * 9 / 2 + 3 * 3)

    def test_log_target_is_a_product_of_powers(self):
        model = {"layer": "linear", "intercept": math.log(1e-9), "target_transform": "log",
                 "terms": [{"name": "log(macs)", "coefficient": 1.0, "center": 0, "scale": 1}]}
        self.assertAlmostEqual(lj.predict(model, lj.layer_features("linear", linear(10))),
                               1e-9 * 1000)

    def test_unknown_feature_raises(self):
        model = {"layer": "linear", "intercept": 0, "terms": [
            {"name": "kernel_size", "coefficient": 1, "center": 0, "scale": 1}]}
        with self.assertRaises(lj.DataError):
            lj.predict(model, lj.layer_features("linear", linear(1)))


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
        samples = lj.read_samples(con)
        self.assertTrue(samples.empty)
        self.assertTrue(lj.sweep_summary(samples).empty)
        self.assertTrue(lj.network_phase_summary(lj.read_network_samples(con)).empty)
        predictions, checks = lj.model_predictions(samples, [])
        self.assertTrue(predictions.empty)

    def test_sweep_summary_spread_and_energy_figure(self):
        rows = []
        for value, times in ((1, [1.0, 1.2, 1.4]), (2, [2.0, 2.0, 2.0]), (4, [4.0])):
            for t in times:
                rows.append(("linear", "forward", linear(value), t, 10 * t, "s_batch", value))
        rows.append(("linear", "forward", linear(3), 9.0, None, None, None))  # not a sweep
        make_store(self.db, rows)
        con = lj.open_db(self.db)
        samples = lj.read_samples(con)
        self.assertEqual(list(samples["macs"][:1]), [100.0])
        summary = lj.sweep_summary(samples).set_index("sweep_value")
        self.assertEqual(list(summary["repeats"]), [3, 3, 1])
        self.assertAlmostEqual(summary.loc[1, "time_s"], 1.2)
        self.assertAlmostEqual(summary.loc[1, "time_std_s"], 0.2)  # std over repeats
        self.assertAlmostEqual(summary.loc[1, "energy_std_j"], 2.0)
        self.assertAlmostEqual(summary.loc[4, "time_std_s"], 0.5e-9)  # within-sample std
        self.assertEqual(lj.sweep_parameters(con), {"s_batch": "batch_size"})
        linearity = lj.sweep_linearity(summary.reset_index())
        self.assertEqual(set(linearity["quantity"]), {"time_s", "energy_j"})
        self.assertFalse(linearity["flagged"].any())  # t = value exactly
        fig = lj.plot_sweep(summary.reset_index(), linearity, "s_batch", "batch_size")
        self.assertEqual(len(fig.axes), 4)  # time and energy rows, value and per-MAC columns

    def test_model_predictions_reproduce_split_only_when_metrics_match(self):
        rows = [("linear", "forward", linear(b), 1e-9 * b * 100 * (1 + 0.1 * (b % 3)), None,
                 None, None) for b in range(1, 21)]
        make_store(self.db, rows)
        samples = lj.read_samples(lj.open_db(self.db))
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
        predictions, checks = lj.model_predictions(samples, [bundle])
        self.assertTrue(checks["reproduced"].iloc[0])
        self.assertEqual(list(predictions.index[predictions["split"] == "test"]), test)
        self.assertAlmostEqual(predictions["predicted"].iloc[0], 1e-7)
        model["metrics"]["test"]["mape_pct"] = mape + 1
        predictions, checks = lj.model_predictions(samples, [bundle])
        self.assertFalse(checks["reproduced"].iloc[0])
        self.assertEqual(set(predictions["split"]), {"unknown"})
        fig = lj.plot_predicted_vs_measured(predictions)
        self.assertIn("split not reproduced", fig.axes[0].get_title())


class UnmirroredLayerTypeTest(unittest.TestCase):
    """Layer types whose features ljplots does not mirror degrade, they do not raise."""

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

    def test_model_of_an_unmirrored_type_is_noted_not_evaluated(self):
        bundle = {"host": {"hostname": "h1"}, "models": [
            {"layer": "relu", "pass": "forward", "quantity": "time_s", "intercept": 0,
             "terms": [{"name": "elements", "coefficient": 1, "center": 0, "scale": 1}],
             "counts": {"train": 8, "test": 2}, "metrics": {"test": {"mape_pct": 1}}}]}
        samples = lj.pd.DataFrame({"hostname": ["h1"], "run_kind": ["random"],
                                   "layer": ["relu"], "pass": ["forward"], "time_s": [1.0],
                                   "energy_j": [None], "config": ["{}"], "id": [1],
                                   "macs": [float("nan")]})
        predictions, checks = lj.model_predictions(samples, [bundle])
        self.assertTrue(predictions.empty)
        self.assertFalse(checks["reproduced"].iloc[0])
        self.assertTrue(checks["note"].iloc[0].startswith("not evaluated"))


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


if __name__ == "__main__":
    unittest.main()
