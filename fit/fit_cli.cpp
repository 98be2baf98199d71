#include "fit/fit_cli.h"

#include "fit/model_bundle.h"

namespace lj {

void AddFitOptions(CLI::App& app, FitCommand& c) {
  app.add_option("--db", c.db_paths, "SQLite store(s) written by measure (repeatable)")->required();
  app.add_option("--host", c.host, "fit only this hostname");
  app.add_option("--malloc", c.malloc,
                 "fit only the runs measured under this malloc setting: default, keep-freed or "
                 "the text a run recorded (run option 'malloc'); needed when a host's runs "
                 "recorded two");
  app.add_option("--out", c.out, "bundle file (default db/models/<host>.json; one host only)");
  app.add_option("--degree", c.options.degree,
                 "polynomial degree (default 3 for conv2d and maxpool2d, 2 for linear)")
      ->check(CLI::Range(1, 6));
  app.add_option("--folds", c.options.folds, "k of k-fold cross-validation for alpha")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  app.add_option("--test-fraction", c.options.test_fraction,
                 "share of rows held out for the reported error, never used for alpha")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", c.options.seed, "seed of the held-out split and the folds")
      ->capture_default_str();
  app.add_option("--model", c.kind,
                 "nnlasso (default, non-negative), gbtree (roofline proxy x boosted trees), "
                 "loglasso, lasso (the prototype's) or maclinear (the baseline: NNLS on MACs "
                 "and tensor sizes)")
      ->capture_default_str();
  app.add_option("--loss-exponent", c.options.loss_exponent,
                 "nnlasso/maclinear rows weigh 1/y^k in the loss: 2 relative error, 1 in "
                 "proportion to size, 0 absolute error")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 2.0));
  app.add_option("--calibration", c.calibration,
                 "rescale nnlasso/maclinear models so that on the training rows sum(measured) = "
                 "sum(predicted) (sum), or median / mean(measured / predicted) = 1, or none")
      ->capture_default_str();
  app.add_option("--extrapolation", c.extrapolation,
                 "outside the training bounds: boundary (the model at the bounds, scaled by the "
                 "envelope's MAC-and-bytes proxy) or model (the model's own terms, clamped by "
                 "the envelope); fit/model_bundle.h Extrapolation")
      ->capture_default_str();
  app.add_flag("--no-envelope", c.no_envelope,
               "do not clamp predictions to the measured range of cost per MAC and byte");
  app.add_option("--max-spread", c.options.max_spread,
                 "leave out samples whose trials' relative standard deviation exceeds this "
                 "(0 keeps all)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_flag("--subtract-fault-time", c.options.subtract_fault_time,
               "estimate the host's time per minor page fault from its samples and take "
               "faults x that out of each sample's time before fitting (fit/fault_time.h)");
  app.add_flag("--include-contended", c.options.include_contended,
               "keep samples that measure flagged as measured under contention (samples."
               "contended), left out by default");
  app.add_option("--network-row-weight", c.options.network_row_weight,
                 "weight of samples of real networks' layers (measure --net --layers) and of "
                 "samples drawn near them (--near), against 1 for random rows")
      ->capture_default_str()
      ->check(CLI::Range(1e-3, 1e3));
  app.add_flag("--residual-correction", c.residuals,
               "correct predictions by the residuals of nearby training rows "
               "(fit/residual_correction.h; off by default, JOURNAL.md 2026-12-02)");
  app.add_flag("--drift-correction", c.drift_correction,
               "divide every time by the host's speed-probe factor at its time, so that all "
               "are at the host's median speed (fit/drift_correction.h; runs without probes "
               "keep their times)");
  app.add_option("--terms", c.terms,
                 "capped (default: exponents within MACs') or full (NeuralPower's polynomial)")
      ->capture_default_str();
  app.add_option("--export-features", c.export_path,
                 "write the features of every stored config as JSON to FILE (- for stdout) "
                 "instead of fitting (fit/feature_export.h)");
}

void FinishFitOptions(FitCommand& c) {
  c.options.kind = ParseModelKind(c.kind);
  c.options.calibration = ParseCalibration(c.calibration);
  c.options.envelope = !c.no_envelope;
  c.options.extrapolation = ParseExtrapolation(c.extrapolation);
  c.options.residual_correction = c.residuals;
  c.options.term_set = ParseTermSet(c.terms);
}

}  // namespace lj
