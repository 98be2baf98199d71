#pragma once
// The training run of a network: what `predict` predicts and `measure --net` runs — one sample's
// input, the batch size, the epochs and the optimizer. From net.json (net/net_spec.h) or, for a
// TorchScript file, from the command line (net/network_input.h). No LibTorch.
#include <cstdint>
#include <string>

#include "net/net_spec.h"

namespace lj {

// Optimizer steps per epoch: ceil(dataset_size / batch_size), every step counted with a full
// batch; 0 for a batch_size or dataset_size <= 0. Exact for every int64 input (no overflow).
int64_t StepsPerEpoch(int64_t dataset_size, int64_t batch_size);

struct TrainingRun {
  std::string network;  // net.json "name" or the TorchScript file name without extension
  InputSpec input;      // one sample
  int64_t batch_size = 0;
  int64_t dataset_size = 0;  // samples per epoch
  int64_t epochs = 0;
  OptimizerSpec optimizer;

  // lj::StepsPerEpoch(dataset_size, batch_size).
  int64_t StepsPerEpoch() const { return lj::StepsPerEpoch(dataset_size, batch_size); }
};

}  // namespace lj
