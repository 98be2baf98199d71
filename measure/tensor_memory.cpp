#include "measure/tensor_memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace lj {
namespace {

// Wraps c10's default CPU allocator. A counted block's DataPtr has the block itself as its
// context (as the default allocator's blocks do), so c10's raw_allocate/raw_deallocate, which
// ideep uses for oneDNN's buffers, keep working.
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* base) : base_(base), base_raw_(base->raw_deleter()) {}

  c10::DataPtr allocate(size_t n) const override {
    c10::DataPtr inner = base_->allocate(n);
    if (!counting_.load(std::memory_order_relaxed) || inner.get() == nullptr) return inner;
    void* data = inner.get();
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.emplace(data, Block{std::move(inner), static_cast<int64_t>(n), generation_});
    tracked_.store(blocks_.size(), std::memory_order_relaxed);
    live_ += static_cast<int64_t>(n);
    peak_ = std::max(peak_, live_);
    return c10::DataPtr(data, data, &Delete, c10::Device(c10::DeviceType::CPU));
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

  void Start() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    live_ = 0;
    peak_ = 0;
    counting_.store(true);
  }
  void Stop() { counting_.store(false); }
  int64_t live() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_;
  }
  int64_t peak() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }
  void ResetPeak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = live_;
  }

  static CountingAllocator* instance;

 private:
  struct Block {
    c10::DataPtr inner;  // frees the block when erased
    int64_t bytes;
    uint64_t generation;
  };

  static void Delete(void* data) { instance->Free(data); }

  void Free(void* data) const {
    if (tracked_.load(std::memory_order_relaxed) != 0) {
      c10::DataPtr inner;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = blocks_.find(data);
        if (it != blocks_.end()) {
          if (it->second.generation == generation_) live_ -= it->second.bytes;
          inner = std::move(it->second.inner);
          blocks_.erase(it);
          tracked_.store(blocks_.size(), std::memory_order_relaxed);
        }
      }
      if (inner) return;  // freed by the DataPtr's destructor, outside the lock
    }
    // A block of the default allocator reached through raw_deallocate.
    if (base_raw_ == nullptr) {
      throw std::logic_error("TensorMemoryScope: c10's CPU allocator has no raw deleter");
    }
    base_raw_(data);
  }

  c10::Allocator* base_;
  c10::DeleterFnPtr base_raw_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, Block> blocks_;
  mutable std::atomic<size_t> tracked_{0};
  mutable std::atomic<bool> counting_{false};
  mutable int64_t live_ = 0;
  mutable int64_t peak_ = 0;
  uint64_t generation_ = 0;
};

CountingAllocator* CountingAllocator::instance = nullptr;

CountingAllocator& Installed() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Never destroyed: blocks it counted may be freed during static destruction.
    CountingAllocator::instance = new CountingAllocator(c10::GetDefaultCPUAllocator());
    c10::SetCPUAllocator(CountingAllocator::instance, /*priority=*/255);
  });
  return *CountingAllocator::instance;
}

}  // namespace

TensorMemoryScope::TensorMemoryScope() { Installed().Start(); }
TensorMemoryScope::~TensorMemoryScope() { Installed().Stop(); }
int64_t TensorMemoryScope::live_bytes() const { return std::max<int64_t>(0, Installed().live()); }
int64_t TensorMemoryScope::peak_bytes() const { return Installed().peak(); }
void TensorMemoryScope::ResetPeak() { Installed().ResetPeak(); }

}  // namespace lj
