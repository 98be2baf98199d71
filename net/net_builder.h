#pragma once
// Builds a net.json network (net/net_spec.h) as torch::nn modules and records every leaf
// layer's shapes "by construction": each layer is created from the previous layer's output
// (in_channels / in_features / num_features inferred) and run once on a batch-1 random input
// in eval mode without autograd; the recorded shapes are then reported at the net's batch size.
// This header needs no LibTorch; include net/net_module.h to run or train the module.
#include <cstdint>
#include <memory>
#include <vector>

#include "net/layer_instance.h"
#include "net/net_spec.h"

namespace lj {

class NetModuleImpl;  // net/net_module.h

struct BuiltNet {
  // The network, input (N, C, H, W) float32 (or int64 token ids (N, S) of a sequence input)
  // -> output; training mode, torch's default
  // initialisation, on the CPU.
  std::shared_ptr<NetModuleImpl> module;
  // Leaf layers in forward order. A residual block adds "<block>.add" (and
  // "<block>.activation" unless its activation is "none"); a squeeze_excitation block adds
  // avgpool, fc1, activation, fc2, scale_activation and "<block>.mul" (the product).
  std::vector<LayerInstance> layers;
  // Trainable parameter elements of the whole network (equals the sum over layers).
  int64_t parameter_count = 0;
  // Output shape at the net's batch size, e.g. {64, 10}.
  std::vector<int64_t> output_shape;
};

// Builds `spec` and records its layers.
// Throws: ConfigError naming spec.source, the layer (index path and module path) and the
// values when the geometry does not work, e.g.
//   "configs/nets/x.json: layer 7 (maxpool2d, features.7): kernel_size ..." (core Validate),
//   "...: layers[4] (residual, layer2.0): branch output [64, 128, 28, 28] and shortcut
//    output [64, 64, 56, 56] differ",
//   "...: layer 9 (linear, fc): expects a 2-D input (batch, features), got [64, 512, 1, 1];
//    add a flatten layer",
//   "...: output [64, 1000] does not match num_classes 10".
BuiltNet BuildNet(const NetSpec& spec);

// BuildNet(spec).layers (the module is built, run once and released).
std::vector<LayerInstance> LayersFromNetSpec(const NetSpec& spec);

}  // namespace lj
