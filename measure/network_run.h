#pragma once
// Ground truth for `predict`: real training iterations of a whole network (`measure --net`),
// stored per phase and per iteration in table network_samples.
//
// The network: a net.json file (net/net_builder.h BuildNet's module) or a TorchScript file
// (torch::jit::load, train mode, its parameters() for the optimizer). Data: one random input
// batch (N, C, H, W) ~ N(0, 1), or with --input-ids S (TorchScript) int64 token ids (N, S)
// uniform in [0, the first nn.Embedding's num_embeddings), and random class labels in
// [0, classes), classes = the output's second dimension. One iteration, each phase timed with
// steady_clock:
//   forward    output = net(input)
//   loss       torch::nn::functional::cross_entropy(output, labels)
//   backward   loss.backward()
//   optimizer  optimizer.step(); optimizer.zero_grad()   (SGD with momentum as net.json's
//              "optimizer" says, Adam for "adam"; TorchScript: SGD lr 0.01, momentum 0.9)
//   iteration  from the start of forward to the end of optimizer (includes the meter reads)
// The iteration row also stores peak_memory_bytes: the peak resident memory during the
// iteration above the process's before the network was built (so parameters, gradients,
// optimizer state, the batch and the activations), with measure/peak_memory.h's method; reset
// before and read after the iteration, outside its time.
// after `warmup_iterations` iterations that are not stored (first-touch allocations, oneDNN
// primitive creation). Each iteration's five rows are stored in one transaction.
//
// Energy (with a meter): RAPL is read once before the iteration and after every phase, so the
// windows are contiguous and the phases' energies add up to the iteration's. Every row stores
// its window's package energy as read. RAPL updates its counters about every 1 ms, so a single
// row is off by up to one update (~1 ms of package power): a 30 us loss phase reads 0 J or
// several times its energy (emulated 40 W package: 0 to 120 W apparent power over 20
// iterations), a 5 ms iteration up to ~20 %. Report short phases only summed over iterations:
// `predict --compare` and the summary below use sum(energy) / iterations per phase, whose
// error shrinks with the number of iterations since the update instants fall at
// random points of the windows. Without a meter all energy columns are NULL.
//
// --layers additionally measures every distinct config of one training step (at the network's
// batch size): every layer's LayerConfig (net/layer_instance.h: conv2d, pools, linear,
// batchnorm2d, activations, add, mul, dropout), the gradient accumulations (add), the loss
// (cross_entropy) and the optimizer step (sgd / adam over the optimizer's parameter tensors),
// with the random-run protocol (MeasureLayer: forward and backward rows, the optimizer step a
// forward row only; measure/pass_measurement.h) into a second run of kind "net-layers", so
// `fit` can use them as extra training data; samples.notes names the network and the layer
// paths ("loss", "optimizer step", "<path> grad accumulation").
//
// Takes the same host-wide lock, meter choice, thread setting and host row as random runs
// (MeasureSession, measure/session.h) and measures idle power at the start.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "measure/pass_measurement.h"
#include "measure/session.h"
#include "net/network_input.h"

namespace lj {

struct NetworkRunOptions {
  SessionOptions session;        // database, lock, meter, seed (weights, data, labels), threads,
                                 // idle length, on_run
  std::string net_path;          // net.json or TorchScript file
  NetworkOverrides overrides;    // input and batch_size are used (TorchScript needs both)
  int64_t iterations = 0;        // measured (stored) iterations; > 0
  int warmup_iterations = 2;     // iterations run first and not stored; >= 0
  bool layers = false;           // also measure the network's layers (run kind "net-layers")
  MeasureOptions layer_options;  // protocol of the --layers measurements
};

// Means over the stored iterations of one phase.
struct NetworkPhaseStats {
  std::string phase;               // forward, loss, backward, optimizer, iteration
  double time_s = 0;               // mean per iteration
  std::optional<double> energy_j;  // sum over iterations / iterations; empty without a meter
  // The iteration only: the largest peak resident memory of an iteration above the process's
  // before the network was built (measure/peak_memory.h); empty for phases and when unmeasured.
  std::optional<int64_t> peak_memory_bytes;
  // Minor page faults per iteration, mean over the stored iterations (measure/page_faults.h).
  std::optional<double> minor_faults;
};

struct NetworkRunSummary {
  int64_t run_id = 0;
  std::string network;
  int64_t batch_size = 0;
  int64_t iterations = 0;  // stored iterations
  std::string status;      // finished or interrupted
  std::string meter;
  std::vector<NetworkPhaseStats> phases;
  // --layers only:
  int64_t layer_run_id = 0;
  int64_t layer_configs = 0;  // distinct configs of a training step (see --layers above)
  int64_t layers_stored = 0;  // configs stored (forward + backward rows each)
  int64_t layers_failed = 0;  // configs recorded in failures
  double wall_s = 0;
};

// Measures a network as described above. Inputs (the network file, options) are validated and
// the network is built before anything is written. `stop` is polled between iterations and
// between layer passes; an interrupted run keeps the iterations stored so far.
// Throws: ConfigError for a bad net file, TorchScript file or option (naming the file or the
// option), std::runtime_error if the lock is held or a training step fails (with the torch
// message), MeterError, StoreError.
NetworkRunSummary RunNetworkMeasurement(const NetworkRunOptions& options,
                                        const std::atomic<bool>& stop);

// "run 4 finished: lenet5 at batch 64, 20 iterations, meter none, 3.1 s wall" and a table of
// the phase means (and the --layers run, if any).
std::string FormatNetworkSummary(const NetworkRunSummary& summary);

}  // namespace lj
