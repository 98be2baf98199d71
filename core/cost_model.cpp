#include "core/cost_model.h"

#include <vector>

namespace lj {

namespace {
constexpr double kFloat32Bytes = 4.0;
constexpr double kInt64Bytes = 8.0;
}  // namespace

double Im2colWorkspaceElements(const LayerConfig& config) {
  if (config.type != LayerType::kConv2d) return 0;
  const std::vector<int64_t> out = OutputShape(config);
  const double k2 =
      static_cast<double>(config.kernel_size) * static_cast<double>(KernelWidth(config));
  return static_cast<double>(config.batch_size) *
         (static_cast<double>(config.in_channels) / config.groups) * k2 *
         static_cast<double>(out[2]) * static_cast<double>(out[3]);
}

double EstimateTrainingMemoryBytes(const LayerConfig& config) {
  const TensorSizes s = Sizes(config);
  double bytes = kFloat32Bytes * (2 * s.input_elements + 2 * s.output_elements +
                                  2 * s.weight_elements + Im2colWorkspaceElements(config));
  switch (config.type) {
    case LayerType::kMaxPool2d:
      bytes += kInt64Bytes * s.output_elements;
      break;
    case LayerType::kDropout:
      bytes += kFloat32Bytes * s.output_elements;
      break;
    case LayerType::kCrossEntropy:
      bytes +=
          kFloat32Bytes * s.input_elements + kInt64Bytes * static_cast<double>(config.batch_size);
      break;
    case LayerType::kSgd:
    case LayerType::kGradAccumulate:  // momentum buffer / the incoming gradients
      bytes += kFloat32Bytes * s.weight_elements;
      break;
    case LayerType::kAdam:
      bytes += 2 * kFloat32Bytes * s.weight_elements;
      break;
    default:
      break;
  }
  return bytes;
}

}  // namespace lj
