#pragma once
// Bytes of tensor storage allocated through LibTorch's CPU allocator (c10), counted exactly:
// the per-layer memory of table samples (issue 13): what a layer's forward keeps for its
// backward and the peak of each pass. It sees every tensor and every oneDNN (ideep) buffer,
// which PyTorch allocates through the same c10 allocator; it does not see memory LibTorch
// takes from malloc directly (OpenBLAS and OpenMP buffers, the heap's own bookkeeping).
//
// Method: the first TensorMemoryScope replaces c10's CPU allocator (c10::SetCPUAllocator,
// highest priority) by a wrapper around the default one. Outside a scope the wrapper hands the
// default allocator's blocks through untouched (one atomic load per allocation, so timed
// loops pay nothing measurable); inside one it records each block's size until the block is
// freed. Blocks allocated in an earlier scope are not counted in a later one.
// Not thread-safe to open: one scope at a time, opened from the thread that drives LibTorch
// (blocks allocated and freed by LibTorch's worker threads are counted).
#include <cstdint>

namespace lj {

class TensorMemoryScope {
 public:
  // Starts counting from zero.
  TensorMemoryScope();
  ~TensorMemoryScope();
  TensorMemoryScope(const TensorMemoryScope&) = delete;
  TensorMemoryScope& operator=(const TensorMemoryScope&) = delete;

  // Bytes allocated since the scope opened (or ResetPeak) and not yet freed; >= 0.
  int64_t live_bytes() const;
  // Largest live_bytes() since the scope opened or since the last ResetPeak().
  int64_t peak_bytes() const;
  // The peak restarts from the bytes live now.
  void ResetPeak();
};

}  // namespace lj
