// The descriptor table of the layer types of core/layer_types.def (core/layer_type.h).
#include <algorithm>

#include "core/errors.h"
#include "core/layer_type.h"

namespace lj {
namespace {

using F = LayerFamily;
using R = LayerRole;
using K = FeatureKind;

const std::vector<LayerDescriptor>& Descriptors() {
  static const std::vector<LayerDescriptor> kTypes = [] {
    using O = SecondOperand;
    const std::vector<std::string> kNchw = {"batch_size", "in_channels", "height", "width"};
    const std::vector<std::string> kPool = {"batch_size",  "in_channels", "height",  "width",
                                            "kernel_size", "stride",      "padding", "ceil_mode"};
    const std::vector<std::string> kStep = {"parameters", "parameter_tensors"};
    const std::vector<std::string_view> kNchwBounds = {"batch_size", "channels", "image_size"};
    const std::vector<std::string_view> kPoolBounds = {
        "batch_size", "channels", "image_size", "kernel_size", "stride", "padding", "ceil_mode"};
    const std::vector<std::string_view> kStepBounds = {"parameters", "parameter_tensors"};
    std::vector<LayerDescriptor> types = {
#define LJ_LAYER(id, ...) LayerDescriptor{LayerType::id, __VA_ARGS__},
#include "core/layer_types.def"
#undef LJ_LAYER
    };
    // Rows are in enum order, so Describe can index.
    for (size_t i = 0; i < types.size(); ++i) {
      if (static_cast<size_t>(types[i].type) != i) {
        throw std::logic_error("core/layer_types.cpp: row " + std::to_string(i) +
                               " is out of enum order");
      }
    }
    return types;
  }();
  return kTypes;
}

std::string ExpectedTypeNames() {
  std::string out;
  const auto& types = Descriptors();
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += (i + 1 == types.size()) ? " or " : ", ";
    out += types[i].name;
  }
  return out;
}

}  // namespace

const LayerDescriptor& Describe(LayerType type) {
  const auto& types = Descriptors();
  const auto index = static_cast<size_t>(type);
  if (index >= types.size()) {
    throw ConfigError("unknown layer type value " + std::to_string(static_cast<int>(type)));
  }
  return types[index];
}

const std::vector<LayerType>& AllLayerTypes() {
  static const std::vector<LayerType> kAll = [] {
    std::vector<LayerType> all;
    for (const LayerDescriptor& t : Descriptors()) all.push_back(t.type);
    return all;
  }();
  return kAll;
}

std::string_view ToString(LayerType type) { return Describe(type).name; }

std::string_view ToString(Pass pass) {
  switch (pass) {
    case Pass::kForward:
      return "forward";
    case Pass::kBackward:
      return "backward";
  }
  return "unknown";
}

bool FindLayerType(std::string_view name, LayerType* type) {
  for (const LayerDescriptor& t : Descriptors()) {
    if (name == t.name) {
      if (type) *type = t.type;
      return true;
    }
  }
  return false;
}

LayerType ParseLayerType(std::string_view name) {
  for (const LayerDescriptor& t : Descriptors()) {
    if (name == t.name || std::find(t.aliases.begin(), t.aliases.end(), name) != t.aliases.end()) {
      return t.type;
    }
  }
  throw ConfigError("unknown layer type '" + std::string(name) + "' (expected " +
                    ExpectedTypeNames() + ")");
}

Pass ParsePass(std::string_view name) {
  if (name == "forward") return Pass::kForward;
  if (name == "backward") return Pass::kBackward;
  throw ConfigError("unknown pass '" + std::string(name) + "' (expected forward or backward)");
}

bool IsOptimizerStep(LayerType type) { return Describe(type).family == LayerFamily::kOptimizer; }

bool HasBackwardPass(LayerType type) { return !IsOptimizerStep(type); }

}  // namespace lj
