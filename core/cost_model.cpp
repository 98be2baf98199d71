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
  const double k2 = static_cast<double>(config.kernel_size) * config.kernel_size;
  return static_cast<double>(config.batch_size) *
         (static_cast<double>(config.in_channels) / config.groups) * k2 *
         static_cast<double>(out[2]) * static_cast<double>(out[3]);
}

double EstimateTrainingMemoryBytes(const LayerConfig& config) {
  const TensorSizes s = Sizes(config);
  double bytes = kFloat32Bytes * (2 * s.input_elements + 2 * s.output_elements +
                                  2 * s.weight_elements + Im2colWorkspaceElements(config));
  if (config.type == LayerType::kMaxPool2d) bytes += kInt64Bytes * s.output_elements;
  return bytes;
}

}  // namespace lj
