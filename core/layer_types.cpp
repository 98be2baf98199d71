// The one table of layer types (core/layer_type.h). Adding a type: an enum value and a row
// here; CONTRIBUTING.md lists the other files.
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
    const std::vector<std::string> nchw = {"batch_size", "in_channels", "height", "width"};
    const std::vector<std::string> pool = {"batch_size",  "in_channels", "height", "width",
                                           "kernel_size", "stride",      "padding"};
    const std::vector<std::string> step = {"parameters", "parameter_tensors"};
    const std::vector<std::string_view> nchw_bounds = {"batch_size", "channels", "image_size"};
    const std::vector<std::string_view> pool_bounds = {"batch_size",  "channels", "image_size",
                                                       "kernel_size", "stride",   "padding"};
    const std::vector<std::string_view> step_bounds = {"parameters", "parameter_tensors"};
    std::vector<LayerDescriptor> types = {
        {LayerType::kConv2d, "conv2d", {"conv", "Conv2d"}, F::kConv, R::kNetworkLayer,
         {"batch_size", "in_channels", "out_channels", "height", "width", "kernel_size", "stride",
          "padding", "groups", "bias"},
         {"batch_size", "in_channels", "out_channels", "image_size", "kernel_size", "stride",
          "padding", "groups", "bias"},
         "configs/bounds/conv.json", K::kConv},
        {LayerType::kMaxPool2d, "maxpool2d", {"maxpool", "pool", "MaxPool2d"}, F::kPool,
         R::kNetworkLayer, pool, pool_bounds, "configs/bounds/maxpool.json", K::kPool},
        {LayerType::kLinear, "linear", {"Linear"}, F::kLinear, R::kNetworkLayer,
         {"batch_size", "in_features", "out_features", "bias"},
         {"batch_size", "in_features", "out_features", "bias"}, "configs/bounds/linear.json",
         K::kLinear},
        {LayerType::kBatchNorm2d, "batchnorm2d", {"batchnorm", "bn", "BatchNorm2d"},
         F::kElementwise, R::kNetworkLayer, {"batch_size", "num_features", "height", "width"},
         nchw_bounds, "configs/bounds/batchnorm2d.json", K::kElementwise, SecondOperand::kNone,
         2},
        {LayerType::kReLU, "relu", {"ReLU"}, F::kElementwise, R::kNetworkLayer, nchw, nchw_bounds,
         "configs/bounds/relu.json", K::kElementwise},
        {LayerType::kReLU6, "relu6", {"ReLU6"}, F::kElementwise, R::kNetworkLayer, nchw,
         nchw_bounds, "configs/bounds/relu6.json", K::kElementwise},
        {LayerType::kHardswish, "hardswish", {"Hardswish"}, F::kElementwise, R::kNetworkLayer,
         nchw, nchw_bounds, "configs/bounds/hardswish.json", K::kElementwise},
        {LayerType::kHardsigmoid, "hardsigmoid", {"Hardsigmoid"}, F::kElementwise,
         R::kNetworkLayer, nchw, nchw_bounds, "configs/bounds/hardsigmoid.json", K::kElementwise},
        {LayerType::kSigmoid, "sigmoid", {"Sigmoid"}, F::kElementwise, R::kNetworkLayer, nchw,
         nchw_bounds, "configs/bounds/sigmoid.json", K::kElementwise},
        {LayerType::kAvgPool2d, "avgpool2d", {"avgpool", "AvgPool2d"}, F::kPool, R::kNetworkLayer,
         pool, pool_bounds, "configs/bounds/avgpool2d.json", K::kPool},
        {LayerType::kAdaptiveAvgPool2d, "adaptive_avgpool2d",
         {"adaptive_avgpool", "AdaptiveAvgPool2d"}, F::kAdaptivePool, R::kNetworkLayer,
         {"batch_size", "in_channels", "height", "width", "output_size"},
         {"batch_size", "channels", "image_size", "output_size"},
         "configs/bounds/adaptive_avgpool2d.json", K::kAdaptivePool},
        {LayerType::kAdd, "add", {}, F::kElementwise, R::kNetworkLayer, nchw, nchw_bounds,
         "configs/bounds/add.json", K::kElementwise, SecondOperand::kSameShape},
        {LayerType::kMul, "mul", {}, F::kElementwise, R::kNetworkLayer, nchw, nchw_bounds,
         "configs/bounds/mul.json", K::kElementwise, SecondOperand::kChannelScale},
        {LayerType::kDropout, "dropout", {"Dropout"}, F::kElementwise, R::kNetworkLayer,
         {"batch_size", "in_channels", "height", "width", "p_percent"},
         {"batch_size", "channels", "image_size", "p_percent"}, "configs/bounds/dropout.json",
         K::kDropout},
        {LayerType::kCrossEntropy, "cross_entropy", {"crossentropy", "loss", "CrossEntropyLoss"},
         F::kLoss, R::kTrainingStep, {"batch_size", "num_classes"},
         {"batch_size", "num_classes"}, "configs/bounds/cross_entropy.json", K::kLoss},
        {LayerType::kSgd, "sgd", {"SGD"}, F::kOptimizer, R::kTrainingStep, step, step_bounds,
         "configs/bounds/sgd.json", K::kOptimizer},
        {LayerType::kAdam, "adam", {"Adam"}, F::kOptimizer, R::kTrainingStep, step, step_bounds,
         "configs/bounds/adam.json", K::kOptimizer},
        {LayerType::kGradAccumulate, "grad_accumulate", {}, F::kOptimizer, R::kTrainingStep, step,
         step_bounds, "configs/bounds/grad_accumulate.json", K::kOptimizer},
        {LayerType::kZeroGrad, "zero_grad", {}, F::kOptimizer, R::kTrainingStep, step,
         step_bounds, "configs/bounds/zero_grad.json", K::kOptimizer},
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
    if (name == t.name ||
        std::find(t.aliases.begin(), t.aliases.end(), name) != t.aliases.end()) {
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
