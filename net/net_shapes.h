#pragma once
// The layers of a net.json network from core's shape rules, without LibTorch (issue 13 § 5):
// the same LayerInstances, in the same order, with the same paths, shapes, configs, notes,
// parameter counts, MACs and gradient accumulations as net/net_builder.h's LayersFromNetSpec,
// which builds the modules and runs them once. `predict` uses this for net.json, so a
// prediction does not trace shapes through LibTorch (~0.3 s per batch size); net_builder stays
// the reference (tests/net/net_shapes_test.cpp checks both agree on every shipped net).
//
// Shape rules (torch.nn, floor mode, dilation 1): conv2d, maxpool2d and avgpool2d output
// floor((H + 2 padding - kernel_size) / stride) + 1 per side (core OutputShape), linear (N,
// out_features), adaptive_avgpool2d (N, C, output_height, output_width), flatten merges
// start_dim..end_dim, the element-wise types keep the shape. Parameters: conv2d out_channels x
// in_channels / groups x kernel_size^2 (+ out_channels bias), linear in x out (+ out),
// batchnorm2d 2 x C (affine), squeeze_excitation's fc1 / fc2 1x1 convolutions with bias.
// A sequence input's token ids (N, S) go through an embedding first, (N, S, embedding_dim),
// num_embeddings x embedding_dim parameters (TokenIdsMismatch in net/net_spec.h).
#include <vector>

#include "net/layer_instance.h"
#include "net/net_spec.h"

namespace lj {

// Throws ConfigError naming spec.source, the layer and the values for geometries that do not
// work, with the messages of net_builder.h's BuildNet (core Validate, ranks, residual shapes,
// flatten dimensions, num_classes).
std::vector<LayerInstance> LayerShapesFromNetSpec(const NetSpec& spec);

}  // namespace lj
