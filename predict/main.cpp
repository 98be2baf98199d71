// predict: time and energy of training a network, summed from per-layer models.
//   predict NET.json [--batch-size B] [--dataset-size N] [--epochs E] [--input CxHxW]
//   predict model.pt --input 3x64x64 --batch-size 64 --dataset-size 50000 --epochs 10
//   predict model.pt --input-ids 128 --batch-size 32 ...   (token ids: a language model)
//   options: [--models FILE | --host NAME] [--optimizer sgd|adam] [--json]
//            [--compare [--db PATH]] [--batch-sizes 8,16,32|8..512 [--max-memory 16GiB]]
// Models: --models FILE, else db/models/<--host or this hostname>.json (written by `fit`), else
// db/demo-models/<host>.json (written by tools/demo.sh), with a note saying so.
// --compare: predicted vs measured per phase for a network measured by `measure --net`.
// --batch-sizes: one row per batch size (time, energy, memory; the least energy per epoch and
// the fastest epoch marked; above --max-memory, default this host's memory: "does not fit").
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/physical_memory.h"
#include "db/store.h"
#include "net/network_input.h"
#include "predict/batch_size_table.h"
#include "predict/comparison.h"
#include "predict/fresh_memory_note.h"
#include "predict/predictor.h"
#include "predict/report.h"

namespace {

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"predict: time and energy of training a network from per-layer models", "predict"};
  std::string net_path, input, input_ids, models, host, optimizer, db_path = "db/layerjoule.sqlite";
  int64_t batch_size = 0, dataset_size = 0, epochs = 0;
  bool json = false, compare = false;
  app.add_option("NET", net_path, "net.json file or TorchScript file (.pt)")->required();
  auto* input_option = app.add_option(
      "--input", input,
      "one sample CxHxW, e.g. 3x64x64 (TorchScript: this or --input-ids; overrides a "
      "net.json image input)");
  app.add_option(
         "--input-ids", input_ids,
         "token ids of this sequence length, e.g. 128 (int64, shape (batch, 128)), for models "
         "that start with an embedding: TorchScript, or a net.json sequence input "
         "(overrides its sequence_length)")
      ->excludes(input_option);
  app.add_option("--batch-size", batch_size, "samples per step (overrides net.json)");
  app.add_option("--dataset-size", dataset_size, "samples per epoch (overrides net.json)");
  app.add_option("--epochs", epochs, "epochs (overrides net.json)");
  app.add_option("--optimizer", optimizer,
                 "optimizer step to predict: sgd or adam (overrides net.json; TorchScript: sgd)");
  std::string zero_grad;
  app.add_option("--zero-grad", zero_grad,
                 "the training loop's zero_grad(): zero (fill, torch 1.13; default) or none "
                 "(set_to_none, torch >= 2.0's default); overrides net.json");
  app.add_option("--models", models, "model bundle written by fit");
  app.add_option("--host", host, "use db/models/NAME.json; with --models: check its host");
  app.add_flag("--json", json, "print JSON instead of text");
  app.add_flag("--compare", compare, "compare with the network's measurement in --db");
  app.add_option("--db", db_path, "database of `measure --net` runs (for --compare)")
      ->capture_default_str();
  std::string batch_sizes, max_memory;
  app.add_option("--batch-sizes", batch_sizes,
                 "a table over batch sizes: a list 8,16,32 or a doubling range 8..512")
      ->excludes("--batch-size")
      ->excludes("--compare");
  app.add_option("--max-memory", max_memory,
                 "with --batch-sizes: memory budget, e.g. 16GiB, 512MB (default: this host's "
                 "physical memory or cgroup limit)");
  CLI11_PARSE(app, argc, argv);

  try {
    lj::NetworkOverrides overrides;
    if (!input.empty()) overrides.input = lj::ParseInputSpec(input);
    if (app.count("--input-ids")) overrides.input = lj::ParseInputIdsSpec(input_ids);
    if (app.count("--batch-size")) overrides.batch_size = batch_size;
    if (app.count("--dataset-size")) overrides.dataset_size = dataset_size;
    if (app.count("--epochs")) overrides.epochs = epochs;
    if (app.count("--optimizer")) overrides.optimizer = optimizer;
    if (app.count("--zero-grad")) overrides.zero_grad = zero_grad;
    // Every argument is checked before any work.
    const bool table = app.count("--batch-sizes") > 0;
    const bool budget_given = app.count("--max-memory") > 0;
    std::vector<int64_t> table_batch_sizes;
    if (table) table_batch_sizes = lj::ParseBatchSizes(batch_sizes);
    if (budget_given && !table) throw lj::ConfigError("--max-memory needs --batch-sizes");
    const std::optional<int64_t> budget_bytes =
        budget_given ? std::optional<int64_t>(lj::ParseMemorySize(max_memory))
                     : lj::PhysicalMemoryBytes();

    // --models FILE is taken as given (checked against --host if both are set); otherwise
    // the bundle of --host or of this machine.
    const std::string wanted_host = models.empty() && host.empty() ? lj::LocalHostname() : host;
    // Without one in db/models/, the demo's (tools/demo.sh), said in the output.
    std::string bundle_path = models.empty() ? lj::DefaultBundlePath(wanted_host) : models;
    std::string models_note;
    const std::string demo_path = lj::DemoBundlePath(wanted_host);
    if (models.empty() && !FileExists(bundle_path) && FileExists(demo_path)) {
      models_note = "no " + bundle_path + ": these are the demo's models (" + demo_path +
                    ", fitted by tools/demo.sh on a short run: rough); for real ones measure "
                    "and fit on this host (README)";
      bundle_path = demo_path;
    }
    const lj::ModelBundle bundle = lj::LoadBundleForHost(bundle_path, wanted_host);
    const std::optional<std::string> fresh_memory_note = lj::FreshMemoryNote(bundle);

    if (table) {
      std::vector<lj::NetworkPrediction> predictions;
      for (const int64_t b : table_batch_sizes) {
        overrides.batch_size = b;
        const lj::NetworkLayers at_b = lj::LoadNetworkLayers(net_path, overrides);
        predictions.push_back(lj::PredictTraining(at_b.layers, bundle, at_b.run));
      }
      const std::string source =
          budget_given ? "--max-memory " + max_memory
                       : "memory of " + lj::LocalHostname() + " (physical or cgroup limit)";
      // Without a known physical memory every batch size fits (said in the source).
      const lj::BatchSizeTable rows =
          lj::MakeBatchSizeTable(std::move(predictions), budget_bytes.value_or(INT64_MAX),
                                 budget_bytes ? source : "physical memory unknown: no budget");
      if (json) {
        nlohmann::json out = lj::ToJson(rows);
        out["bundle"] = {{"path", bundle_path}, {"host", bundle.hostname}};
        if (!models_note.empty()) out["models_note"] = models_note;
        if (fresh_memory_note) out["fresh_memory_note"] = *fresh_memory_note;
        std::cout << out.dump(2) << std::endl;
      } else {
        std::cout << lj::FormatBatchSizeTable(rows) << "models: " << bundle_path << " (host "
                  << bundle.hostname << ")\n";
        if (!models_note.empty()) std::cout << "note: " << models_note << "\n";
        if (fresh_memory_note) std::cout << "note: " << *fresh_memory_note << "\n";
        std::cout.flush();
      }
      return 0;
    }
    const lj::NetworkLayers network = lj::LoadNetworkLayers(net_path, overrides);
    const lj::NetworkPrediction prediction =
        lj::PredictTraining(network.layers, bundle, network.run);

    std::optional<lj::Comparison> comparison;
    if (compare) {
      if (!FileExists(db_path)) {
        throw lj::ConfigError(db_path +
                              ": no such database; measure the network first, e.g. "
                              "`measure --net " +
                              net_path + " --iterations 20 --db " + db_path + "`");
      }
      lj::Store store(db_path, lj::Store::Access::kReadOnly);
      comparison =
          lj::Compare(prediction, lj::ReadMeasuredNetwork(store, network.run.network,
                                                          network.run.batch_size, bundle.hostname));
    }

    if (json) {
      nlohmann::json out = lj::ToJson(prediction, bundle_path);
      if (comparison) out["comparison"] = lj::ToJson(*comparison);
      if (!models_note.empty()) out["models_note"] = models_note;
      if (fresh_memory_note) out["fresh_memory_note"] = *fresh_memory_note;
      std::cout << out.dump(2) << std::endl;
    } else {
      std::cout << lj::FormatPrediction(prediction, bundle_path);
      if (!models_note.empty()) std::cout << "note: " << models_note << "\n";
      if (fresh_memory_note) std::cout << "note: " << *fresh_memory_note << "\n";
      if (comparison) std::cout << "\n" << lj::FormatComparison(*comparison);
      std::cout.flush();
    }
  } catch (const std::exception& e) {
    std::cerr << "predict: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
