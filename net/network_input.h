#pragma once
// The network `predict` and `measure --net` work on: a net.json file (predict/NET_FORMAT.md)
// or a TorchScript file, with command-line values that override the file's. A path ending in
// ".json" is net.json; anything else is read as TorchScript, which carries no input size or
// training run, so those must come from the command line. This header needs no LibTorch.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/layer_instance.h"
#include "net/net_spec.h"
#include "net/training_run.h"

namespace lj {

// Command-line values; each set one replaces the net.json field of the same name.
struct NetworkOverrides {
  std::optional<InputSpec> input;       // --input CxHxW, or --input-ids S (token ids)
  std::optional<int64_t> batch_size;    // --batch-size
  std::optional<int64_t> dataset_size;  // --dataset-size
  std::optional<int64_t> epochs;        // --epochs
  // --optimizer sgd|adam: the optimizer step predicted (net.json: replaces optimizer.type, and
  // the learning rate by torch's default when the type changes; TorchScript: default sgd).
  std::optional<std::string> optimizer;
  // --zero-grad zero|none: the training loop's zero_grad() convention (OptimizerSpec).
  std::optional<std::string> zero_grad;
};

// "3x64x64" -> {3, 64, 64}.
// Throws: ConfigError("--input must be CxHxW with integers > 0, e.g. 3x64x64, got '3x64'").
InputSpec ParseInputSpec(const std::string& text);

// "128" -> token ids of sequence length 128 (InputSpec::sequence_length; int64 ids of shape
// (batch, 128)), vocabulary 0 (unknown).
// Throws: ConfigError("--input-ids must be a sequence length, an integer > 0, e.g. 128, got
// 'x'").
InputSpec ParseInputIdsSpec(const std::string& text);

// The inverse of InputSpec::SampleShape, for inputs stored as {"input": SampleShape(),
// "input_ids": IsTokenIds()} (measure --net's runs.source_json, predict --json): [S] with
// token_ids, else [C, H, W]. Throws ConfigError naming the shape if it has another length.
InputSpec InputFromSampleShape(const std::vector<int64_t>& shape, bool token_ids);

// True for a path ending in ".json".
bool IsNetJson(const std::string& path);

// The network name of a TorchScript file: its file name without directory and extension
// ("models/resnet18.pt" -> "resnet18"), so `predict --compare` finds what `measure --net`
// stored for the same file.
std::string TorchScriptNetworkName(const std::string& path);

// LoadNetSpec(path) with the overrides applied. Throws ConfigError as LoadNetSpec, and
// "<path>: --batch-size must be > 0, got 0" (likewise the other overrides), "<path>:
// --optimizer must be sgd or adam, got 'x'", "<path>: --input-ids needs a sequence input; this
// file's input is the image 1x32x32 (give --input CxHxW)" (and --input on a sequence input).
// --input replaces the file's image; --input-ids its sequence length (the vocabulary stays).
NetSpec LoadNetSpecWithOverrides(const std::string& path, const NetworkOverrides& overrides);

struct NetworkLayers {
  TrainingRun run;
  std::vector<LayerInstance> layers;  // forward order, shapes at run.batch_size
};

// A parsed net.json spec's layers (net/net_shapes.h: core's shape rules, equal to what BuildNet
// records, without running LibTorch), with its training run.
// Throws: ConfigError naming the layer when the network cannot be built.
NetworkLayers NetworkLayersFromSpec(const NetSpec& spec);

// net.json: the spec with overrides and its layers (NetworkLayersFromSpec). TorchScript:
// LayersFromTorchScript with --input and --batch-size; --dataset-size and --epochs are needed
// as well. Throws: ConfigError naming the file, the layer or the missing option, e.g.
// "model.pt: a TorchScript file has no input size; give --input CxHxW or --input-ids S".
NetworkLayers LoadNetworkLayers(const std::string& path, const NetworkOverrides& overrides);

}  // namespace lj
