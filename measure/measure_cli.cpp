#include "measure/measure_cli.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "core/errors.h"
#include "core/layer_type.h"

namespace lj {

CLI::Validator FiniteIn(double lo, double hi, bool lo_inclusive, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && end == text.c_str() + text.size();
        if (number && std::isfinite(v) && (lo_inclusive ? v >= lo : v > lo) && v <= hi) {
          return "";
        }
        return what + " must be a finite number in " + (lo_inclusive ? "[" : "(") +
               CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "], got '" + text +
               "'";
      },
      what);
}

CLI::Validator DecimalIn(uint64_t lo, uint64_t hi, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.size() <= 20 &&
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            (text.size() == 1 || text[0] != '0');
        if (digits) {
          errno = 0;
          const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
          if (errno == 0 && v >= lo && v <= hi) return "";
        }
        return what + " must be a decimal integer in [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "], got '" + text + "'";
      },
      what);
}

CLI::Validator DatabaseFile() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty()) return "--db must name a database file, got ''";
        if (text == ":memory:" || text.rfind("file:", 0) == 0) {
          return "--db must name a database file, got '" + text +
                 "' (an in-memory or URI database would discard the run)";
        }
        return "";
      },
      "FILE");
}

void AddMeasureOptions(CLI::App& app, MeasureCommand& c) {
  RunOptions& run = c.run;
  std::string layer_names;
  for (LayerType t : AllLayerTypes()) {
    layer_names += (layer_names.empty() ? "" : ", ") + std::string(ToString(t));
  }
  app.add_option("--layer", run.layer, "layer type (or an alias such as conv): " + layer_names);
  app.add_option("--n", run.n, "configs to measure (each stores a forward and a backward row)")
      ->check(DecimalIn(0, 1000000000, "--n"));
  app.add_option("--sweep", run.sweep_path, "one-factor sweep file (configs/sweeps/*.json)");
  app.add_option("--db", c.session.db_path, "SQLite database")
      ->capture_default_str()
      ->check(DatabaseFile());
  app.add_option("--bounds", run.bounds_path, "bounds file [configs/bounds/<layer>.json]");
  app.add_option("--meter", c.meter, "auto | rapl | none")->capture_default_str();
  app.add_option("--seed", c.session.seed, "seed of the config stream")
      ->capture_default_str()
      ->check(DecimalIn(0, UINT64_MAX, "--seed"));
  app.add_option("--threads", c.session.threads, "LibTorch intra-op threads [all]")
      ->check(DecimalIn(1, 1024, "--threads"));
  app.add_option("--min-time", run.protocol.min_time_s, "seconds per trial of each pass")
      ->capture_default_str()
      ->check(FiniteIn(0, 3600, false, "--min-time"));
  app.add_option("--trials", run.protocol.trials, "trials per pass")
      ->capture_default_str()
      ->check(DecimalIn(1, 1000, "--trials"));
  app.add_option("--max-contention", run.protocol.max_contention,
                 "measure a pass again (twice at most) while other processes took more than this "
                 "share of all cores' time, then flag it (samples.contended; fit leaves it out)")
      ->capture_default_str()
      ->check(FiniteIn(0, 1, true, "--max-contention"));
  app.add_option("--max-memory", c.max_memory_gib, "skip configs needing more GiB")
      ->capture_default_str()
      ->check(FiniteIn(0, 1048576, false, "--max-memory"));
  app.add_option("--idle", c.session.idle_s, "seconds of idle-power measurement")
      ->capture_default_str()
      ->check(FiniteIn(0, 3600, true, "--idle"));
  app.add_option("--idle-every", run.idle_every_s, "re-measure idle power every S seconds")
      ->capture_default_str()
      ->check(FiniteIn(0, 1e7, false, "--idle-every"));
  app.add_option("--probe-every", c.session.probe_every_s,
                 "measure the fixed speed-probe configs every S seconds between configs or "
                 "iterations, and at each run's start and end (0 = never; fit --drift-correction)")
      ->capture_default_str()
      ->check(FiniteIn(0, 1e7, true, "--probe-every"));
  app.add_flag("--resume", run.resume, "continue the last unfinished run in --db");
  app.add_flag("--continue", run.continue_campaign,
               "resume this campaign's unfinished run in --db, or start it (for services)");
  app.add_option("--lock-file", c.session.lock_path,
                 "host-wide lock [/run/lock/layerjoule-measure.lock]");
  app.add_option("--import-legacy", c.import_dir,
                 "import the Python prototype's CSV files from DIR");
  app.add_option("--host", c.import_host, "host name for --import-legacy");
  app.add_option("--net", c.net.net_path, "train a whole network: net.json or TorchScript file");
  app.add_option("--iterations", c.net.iterations, "--net: measured training iterations")
      ->check(DecimalIn(1, 1000000, "--iterations"));
  app.add_option("--batch-size", c.batch_size, "--net: batch size (overrides net.json)")
      ->check(DecimalIn(1, 1048576, "--batch-size"));
  auto* input_option = app.add_option("--input", c.input, "--net: one sample CxHxW, e.g. 3x64x64");
  app.add_option(
         "--input-ids", c.input_ids,
         "--net: token ids of this sequence length, e.g. 128 (int64; TorchScript: uniform in "
         "[0, the first nn.Embedding's num_embeddings); net.json: its sequence input's "
         "vocabulary)")
      ->excludes(input_option);
  app.add_flag(
      "--layers", c.net.layers,
      "--net: also measure every distinct layer config of one training step, each in isolation");
  app.add_option("--near", run.near_paths,
                 "with --layer: sample near that type's layers of these net.json files "
                 "(repeatable; run kind near)");
  app.add_option("--near-share", run.near_share,
                 "with --near: share of draws perturbed from a network layer, the rest uniform")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--shard", c.shard,
                 "K/N: measure only the configs i of the stream with i mod N = K (N hosts, one "
                 "seed, one campaign)");
  app.add_option("--merge", c.merge,
                 "OUT IN...: merge databases (shards, hosts) into OUT, one copy per run uuid; "
                 "measures nothing")
      ->expected(2, -1);
  app.add_flag("--check", c.check,
               "print the pre-flight report (governor, turbo, SMT, other load, swap, BLAS "
               "kernel), each warning with its fix; measures nothing");
  app.add_option("--blas-coretype", c.blas_coretype,
                 "auto (the OpenBLAS kernel class this CPU supports, when OpenBLAS chose an "
                 "older one) or an OpenBLAS core name: sets OPENBLAS_CORETYPE and re-executes");
  app.add_option("--malloc", c.malloc_setting,
                 "keep-freed (GLIBC_TUNABLES that keep freed memory for reuse: no fresh pages "
                 "between iterations) or default (glibc's own): sets it and re-executes; every "
                 "run records the setting it ran under (run option 'malloc')")
      ->check(CLI::IsMember({"keep-freed", "default"}));
}

void FinishMeasureOptions(const CLI::App& app, MeasureCommand& c, int argc, char** argv) {
  c.session.meter = ParseMeterChoice(c.meter);
  for (int i = 0; i < argc; ++i) {
    c.session.command_line += (i ? " " : "") + std::string(argv[i]);
  }
  c.run.max_memory_bytes = c.max_memory_gib * double(1ull << 30);
  c.run.max_memory_given = app.count("--max-memory") > 0;
  if (app.count("--batch-size")) c.net.overrides.batch_size = c.batch_size;
  if (!c.input.empty()) c.net.overrides.input = ParseInputSpec(c.input);
  if (!c.input_ids.empty()) c.net.overrides.input = ParseInputIdsSpec(c.input_ids);
  if (app.count("--shard")) {
    const std::regex k_of_n("(0|[1-9][0-9]{0,8})/([1-9][0-9]{0,8})");
    std::smatch m;
    if (!std::regex_match(c.shard, m, k_of_n) || std::stoll(m[1]) >= std::stoll(m[2])) {
      throw ConfigError("--shard must be K/N with 0 <= K < N, got '" + c.shard + "'");
    }
    c.run.shard_index = std::stoll(m[1]);
    c.run.shard_count = std::stoll(m[2]);
    c.run.shard_given = true;
  }
  c.run.session = c.session;
  c.net.session = c.session;
  c.net.layer_options = c.run.protocol;  // --layers uses the random runs' protocol
}

}  // namespace lj
