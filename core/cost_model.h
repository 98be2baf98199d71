#pragma once
// Cheap a-priori cost estimates of one layer config, used to cap what the sampler draws so that
// a night of measurements stays feasible. They are estimates for caps, not predictions (those
// come from the fitted models in fit/).
#include "core/layer_config.h"

namespace lj {

// Compute cost used for the MAC cap (bounds file "max_forward_macs"): ForwardMacs(config) from
// core/layer_config.h, the multiply-accumulates of one forward pass over the whole batch.

// Elements of the im2col (unfold) workspace of a conv2d forward pass without a direct or
// MKL-DNN kernel: N * (C_in / groups) * k^2 * H_out * W_out. 0 for other layer types.
double Im2colWorkspaceElements(const LayerConfig& config);

// Upper estimate, in bytes, of the memory one training step (forward + backward) of the layer
// alone holds at its peak, all tensors float32 (4 bytes per element):
//   4 * (2 * input + 2 * output + 2 * weights + workspace) + extra
// i.e. input, output and weights (incl. bias) plus a gradient of the same size of each, plus
// for conv2d the im2col workspace (Im2colWorkspaceElements), and as `extra`:
//   maxpool2d: 8 * output (the int64 argmax indices max_pool2d_with_indices keeps for backward);
//   dropout: 4 * output (the float mask kept for backward);
//   cross_entropy: 4 * input (the log-softmax kept for backward) + 8 * batch_size (labels);
//   embedding: nothing (its input, the B*S int64 ids, counts 2 * 4 bytes each above: 8 bytes
//     per id, which need no gradient);
//   sgd: 4 * parameters (momentum buffer); adam: 8 * parameters (exp_avg and exp_avg_sq).
// For sgd/adam input = output = 0 and weights = parameters (the parameters and their grads).
// Element counts come from Sizes(config). Does not count allocator slack or the framework's
// own memory. Precondition: Validate(config) passes.
double EstimateTrainingMemoryBytes(const LayerConfig& config);

}  // namespace lj
