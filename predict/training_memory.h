#pragma once
// Peak memory of one training step, predicted from a network's shapes (issue 13): what
// `predict` reports beside time and energy, and what `measure --net` measures as
// network_samples.peak_memory_bytes (measure/peak_memory.h) to check it. No LibTorch.
//
// Accounting (float32 tensors, 4 bytes per element; int64 indices 8 bytes), per
// docs/memory_accounting.md, which lists the tensors each layer type keeps for backward:
//   static    parameters, their gradients (.grad; with optimizer.zero_grad "none" they exist
//             only from their layer's backward to the optimizer step), the optimizer state
//             (SGD with momentum > 0: one momentum buffer per parameter; Adam: exp_avg and
//             exp_avg_sq) and the batch (N x C x H x W inputs, N int64 labels);
//   saved     the tensors autograd keeps from a layer's forward until its backward (e.g. a
//             conv2d's input, a relu's output, a maxpool2d's input and int64 indices). A tensor
//             that two neighbouring layers keep (a relu's output that the next conv2d keeps as
//             its input) counts once;
//   transient what lives only while one layer runs: its output in forward (until the next
//             layer has consumed it, if nobody keeps it); grad_output and grad_input in
//             backward; conv2d's oneDNN copies of its input and output (blocked layout); with
//             zero-filled .grad, a layer's new weight gradient before it is added in.
// The peak is the largest of: forward at each layer (static + everything kept so far + the
// layer's transients), the end of forward, backward at each layer in reverse (static + what
// layers up to it still keep + its transients), and the optimizer step (static; Adam adds one
// temporary of the largest parameter tensor). The framework itself (LibTorch's autograd engine,
// thread stacks, oneDNN's JIT kernels) is not computed from shapes: it is measured per host on
// two probe networks and added by AddFrameworkMemory. glibc's kept heap blocks are not
// included; tools/memory_eval.py measures them against `measure --net`. "Counted once" compares a
// layer only with the one before it: at a fork (a residual block's shortcut conv, a
// squeeze-excitation's avgpool and mul) the shared input is counted again, an overestimate.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "net/layer_instance.h"
#include "net/training_run.h"

namespace lj {

struct LayerMemory {
  std::string path;
  std::string type;
  // Bytes this layer keeps for its backward that no neighbour already keeps.
  int64_t saved_bytes = 0;
  int64_t output_bytes = 0;
  int64_t parameter_bytes = 0;
};

struct TrainingMemory {
  int64_t parameter_bytes = 0;
  int64_t gradient_bytes = 0;         // equal to parameter_bytes (one .grad per parameter)
  int64_t optimizer_state_bytes = 0;  // momentum buffers or Adam's two moments
  int64_t batch_bytes = 0;            // inputs and labels
  int64_t saved_bytes = 0;            // sum of LayerMemory::saved_bytes
  // The tensors' peak (the accounting above), and LibTorch's own memory on top of it where the
  // host's probes measured it (AddFrameworkMemory). peak_bytes = tensor_peak_bytes +
  // blas_workspace_bytes + framework_bytes (0 when absent).
  int64_t tensor_peak_bytes = 0;
  std::optional<int64_t> framework_bytes;
  // OpenBLAS's packing buffers (predict/blas_workspace.h), resident from the first linear
  // layer's GEMM on; 0 when none is counted (no linear layer, or AddBlasWorkspace not called).
  int64_t blas_workspace_bytes = 0;
  int64_t distinct_conv2d = 0;  // conv2d layers with distinct configs (AddFrameworkMemory)
  int64_t peak_bytes = 0;
  // Where the tensors' peak is: "forward of <path>", "end of forward", "backward of <path>",
  // "optimizer step".
  std::string peak_at;
  std::vector<LayerMemory> layers;  // forward order, as the input layers
};

// oneDNN's conv2d channel block on a CPU of `isa`: 16 (nChw16c) on AVX-512, 8 (nChw8c) below.
// Checked on an AVX-512 Zen 4 and an AVX2 Zen 3 host (JOURNAL.md, 2026-12-03).
int64_t OneDnnChannelBlock(VectorIsa isa);

// The accounting above for `layers` (forward order, shapes at run.batch_size) trained as `run`
// says (its optimizer and zero_grad convention), on a host whose oneDNN blocks conv2d channels
// by `conv_channel_block` (default: this host's; the memory of another host's training is
// predicted with that host's block). Throws std::invalid_argument for a block <= 0. Layers without
// a known type count their output as transient and keep nothing (their saved tensors are unknown:
// the result is then a lower bound, which the caller's unmodelled list already flags).
TrainingMemory PredictTrainingMemory(
    const std::vector<LayerInstance>& layers, const TrainingRun& run,
    int64_t conv_channel_block = OneDnnChannelBlock(CpuVectorIsa()));

// Adds OpenBLAS's packing buffers for the linear layers of `layers` run on `threads` threads
// (predict/blas_workspace.h) to `memory`: blas_workspace_bytes and peak_bytes. Throws
// std::invalid_argument for threads < 1.
void AddBlasWorkspace(TrainingMemory& memory, const std::vector<LayerInstance>& layers,
                      int threads);

// Adds a host's measured framework memory (fit/model_bundle.h FrameworkMemory) to `memory`:
// framework_bytes = base_bytes + distinct conv2d configs of `layers` x conv2d_bytes (0 when
// absent), and peak_bytes = tensor_peak_bytes + blas_workspace_bytes + framework_bytes. A conv2d
// config (batch, channels, size, kernel, ...) is one set of oneDNN primitives (forward, backward
// data, backward weights), whose JIT kernels stay in oneDNN's primitive cache: repeated identical
// convs (ResNet's blocks) share them. Every conv2d counts, although ATen 1.13 runs small batch-1
// convs with kernels of 3x3 or less without oneDNN (at::native::ConvParams::use_mkldnn): an
// overestimate there. Throws std::invalid_argument for negative bytes.
void AddFrameworkMemory(TrainingMemory& memory, const std::vector<LayerInstance>& layers,
                        int64_t base_bytes, std::optional<int64_t> conv2d_bytes);

// What autograd keeps of `layer` for its backward beyond its operands and parameters, in
// bytes: its output when its backward needs it (relu, sigmoid) and tensors of its own
// (maxpool2d's int64 indices, batchnorm2d's two statistics per channel, dropout's noise).
// `measure` stores the same quantity per sample as samples.saved_bytes (measure/layer_runner.h
// MeasuredLayerMemory); tests/measure/layer_memory_test.cpp checks the two agree per type.
int64_t SavedBeyondOperandsBytes(const LayerInstance& layer);

// "812 B", "4.0 KiB", "12.3 MiB", "1.50 GiB".
std::string FormatBytes(int64_t bytes);

}  // namespace lj
