#include "net/network_input.h"

#include <regex>

#include "core/errors.h"
#include "net/net_shapes.h"
#include "net/torchscript_loader.h"

namespace lj {
namespace {

void CheckPositive(const std::string& context, const char* flag,
                   const std::optional<int64_t>& value) {
  if (value && *value <= 0) {
    throw ConfigError(context + ": " + flag + " must be > 0, got " + std::to_string(*value));
  }
}

void CheckOverrides(const std::string& path, const NetworkOverrides& o) {
  CheckPositive(path, "--batch-size", o.batch_size);
  CheckPositive(path, "--dataset-size", o.dataset_size);
  CheckPositive(path, "--epochs", o.epochs);
  if (o.optimizer && *o.optimizer != "sgd" && *o.optimizer != "adam") {
    throw ConfigError(path + ": --optimizer must be sgd or adam, got '" + *o.optimizer + "'");
  }
  if (o.zero_grad && *o.zero_grad != "zero" && *o.zero_grad != "none") {
    throw ConfigError(path + ": --zero-grad must be zero or none, got '" + *o.zero_grad + "'");
  }
}

int64_t Required(const std::string& path, const char* flag, const std::optional<int64_t>& value,
                 const char* what) {
  if (!value) {
    throw ConfigError(path + ": a TorchScript file has no " + what + "; give " + flag);
  }
  return *value;
}

}  // namespace

InputSpec ParseInputSpec(const std::string& text) {
  static const std::regex kShape(R"(\s*(\d{1,9})\s*[xX]\s*(\d{1,9})\s*[xX]\s*(\d{1,9})\s*)");
  std::smatch m;
  InputSpec input;
  if (std::regex_match(text, m, kShape)) {
    input.channels = std::stoll(m[1]);
    input.height = std::stoll(m[2]);
    input.width = std::stoll(m[3]);
  }
  if (input.channels <= 0 || input.height <= 0 || input.width <= 0) {
    throw ConfigError("--input must be CxHxW with integers > 0, e.g. 3x64x64, got '" + text + "'");
  }
  return input;
}

InputSpec ParseInputIdsSpec(const std::string& text) {
  static const std::regex kLength(R"(\s*(\d{1,9})\s*)");
  std::smatch m;
  InputSpec input;
  if (std::regex_match(text, m, kLength)) input.sequence_length = std::stoll(m[1]);
  if (input.sequence_length <= 0) {
    throw ConfigError("--input-ids must be a sequence length, an integer > 0, e.g. 128, got '" +
                      text + "'");
  }
  return input;
}

InputSpec InputFromSampleShape(const std::vector<int64_t>& shape, bool token_ids) {
  InputSpec input;
  if (token_ids && shape.size() == 1) {
    input.sequence_length = shape[0];
  } else if (!token_ids && shape.size() == 3) {
    input.channels = shape[0];
    input.height = shape[1];
    input.width = shape[2];
  } else {
    std::string text;
    for (const int64_t d : shape) text += (text.empty() ? "" : ", ") + std::to_string(d);
    throw ConfigError("stored input [" + text + "] is not " +
                      (token_ids ? "[S] (token ids)" : "[C, H, W]"));
  }
  return input;
}

bool IsNetJson(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

std::string TorchScriptNetworkName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

NetSpec LoadNetSpecWithOverrides(const std::string& path, const NetworkOverrides& overrides) {
  CheckOverrides(path, overrides);
  NetSpec spec = LoadNetSpec(path);
  if (overrides.input) {
    // The file's kind of input stays: --input replaces an image, --input-ids the sequence length
    // of token ids (their vocabulary is the file's).
    if (overrides.input->IsTokenIds() != spec.input.IsTokenIds()) {
      throw ConfigError(path + ": " +
                        (overrides.input->IsTokenIds()
                             ? "--input-ids needs a sequence input; this file's input is the "
                               "image " +
                                   InputToString(spec.input) + " (give --input CxHxW)"
                             : "--input needs an image input; this file's input is " +
                                   InputToString(spec.input) + " (give --input-ids S)"));
    }
    if (spec.input.IsTokenIds()) {
      spec.input.sequence_length = overrides.input->sequence_length;
    } else {
      spec.input = *overrides.input;
    }
  }
  if (overrides.batch_size) spec.batch_size = *overrides.batch_size;
  if (overrides.dataset_size) spec.dataset_size = *overrides.dataset_size;
  if (overrides.epochs) spec.epochs = *overrides.epochs;
  if (overrides.optimizer && *overrides.optimizer != spec.optimizer.type) {
    spec.optimizer.type = *overrides.optimizer;
    spec.optimizer.lr = spec.optimizer.type == "adam" ? 1e-3 : 0.01;  // torch defaults
  }
  if (overrides.zero_grad) spec.optimizer.zero_grad = *overrides.zero_grad;
  CheckRunSizes(spec, path);
  return spec;
}

NetworkLayers NetworkLayersFromSpec(const NetSpec& spec) {
  NetworkLayers out;
  TrainingRun& run = out.run;
  run.network = spec.name;
  run.input = spec.input;
  run.batch_size = spec.batch_size;
  run.dataset_size = spec.dataset_size;
  run.epochs = spec.epochs;
  run.optimizer = spec.optimizer;
  out.layers = LayerShapesFromNetSpec(spec);  // no tracing: core's shape rules
  return out;
}

NetworkLayers LoadNetworkLayers(const std::string& path, const NetworkOverrides& overrides) {
  if (IsNetJson(path)) return NetworkLayersFromSpec(LoadNetSpecWithOverrides(path, overrides));
  NetworkLayers out;
  TrainingRun& run = out.run;
  CheckOverrides(path, overrides);
  if (!overrides.input) {
    throw ConfigError(path +
                      ": a TorchScript file has no input size; give --input CxHxW or "
                      "--input-ids S");
  }
  run.network = TorchScriptNetworkName(path);
  run.input = *overrides.input;
  run.batch_size = Required(path, "--batch-size", overrides.batch_size, "batch size");
  run.dataset_size = Required(path, "--dataset-size", overrides.dataset_size, "dataset size");
  run.epochs = Required(path, "--epochs", overrides.epochs, "number of epochs");
  if (overrides.optimizer) run.optimizer.type = *overrides.optimizer;  // default sgd
  if (overrides.zero_grad) run.optimizer.zero_grad = *overrides.zero_grad;
  out.layers = LoadTorchScriptLayers(path, run.input, run.batch_size);
  return out;
}

}  // namespace lj
