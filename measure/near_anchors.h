#pragma once
// The layers of real networks that `measure --near NET.json --layer T` samples near
// (core/config_sampler.h NearOptions; issue 10 § 4): every distinct config of type T in the
// networks' training step at their net.json batch size, i.e. each layer's LayerConfig and, for
// add, the gradient accumulations where a tensor forks (net/layer_instance.h).
#include <string>
#include <vector>

#include "core/config_sampler.h"
#include "core/layer_config.h"

namespace lj {

// One anchor per distinct config (the first path that uses it), in file and forward order.
// A path may end in ":B" (configs/nets/vgg11.json:4): the network's layers at batch size B
// instead of its net.json batch_size, i.e. as it is trained.
// Throws ConfigError naming the file for an unreadable or invalid net.json or a bad ":B".
std::vector<NearAnchor> AnchorsFromNets(const std::vector<std::string>& net_paths, LayerType type);

}  // namespace lj
