#include "predict/layer_instance.h"

#include <array>

namespace lj {

bool IsKnownLayerType(std::string_view type) {
  static constexpr std::array<std::string_view, 15> kKnown = {
      "conv2d",  "maxpool2d",   "avgpool2d", "adaptive_avgpool2d",
      "linear",  "batchnorm2d", "dropout",   "flatten",
      "relu",    "relu6",       "hardswish", "hardsigmoid",
      "sigmoid", "add",         "mul"};
  for (std::string_view k : kKnown) {
    if (k == type) return true;
  }
  return false;
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

double ForwardMacsOf(const LayerInstance& layer, int64_t kernel_elements, int64_t groups) {
  const std::string& t = layer.type;
  if (layer.config && (t == "conv2d" || t == "maxpool2d" || t == "linear")) {
    return ForwardMacs(*layer.config);
  }
  const double out = static_cast<double>(NumElements(layer.output_shape));
  if (t == "conv2d") {
    if (layer.input_shape.size() < 2 || groups <= 0) return 0;
    return out * static_cast<double>(layer.input_shape[1] / groups) *
           static_cast<double>(kernel_elements);
  }
  if (t == "linear") {
    if (layer.input_shape.empty()) return 0;
    return out * static_cast<double>(layer.input_shape.back());
  }
  if (t == "maxpool2d" || t == "avgpool2d") return out * static_cast<double>(kernel_elements);
  if (t == "adaptive_avgpool2d") return static_cast<double>(NumElements(layer.input_shape));
  if (t == "batchnorm2d" || t == "add" || t == "mul") return out;
  return 0;
}

nlohmann::json ToJson(const LayerInstance& layer) {
  nlohmann::json j = {{"path", layer.path},
                      {"type", layer.type},
                      {"source", layer.source},
                      {"input_shape", layer.input_shape},
                      {"output_shape", layer.output_shape},
                      {"config", layer.config ? ToJson(*layer.config) : nlohmann::json()},
                      {"parameter_count", layer.parameter_count},
                      {"forward_macs", layer.forward_macs}};
  if (!layer.note.empty()) j["note"] = layer.note;
  return j;
}

}  // namespace lj
