#pragma once
// The cache of large tensor buffers: the buffers above BufferPool's 4 KB (core/pool.hpp)
// are kept after they are freed, per size class, and handed out again.
//
// Why: glibc returns a freed large block to the kernel (munmap for blocks above its mmap
// threshold, a trim of the heap's top for the others), and the next allocation of the same
// size faults every page in again, zero-filled by the kernel. A training step allocates the
// same activations every step, so without a cache it pays those faults every step: a
// forward pass at batch 4,000 spent a third of its time in page faults, and at batch 1,024
// took 13 ms against 1 ms with large mmap/trim thresholds set by hand. The library must not
// depend on the user's malloc settings for this, so it keeps the blocks itself, as
// PyTorch's CUDA caching allocator does for device memory.
//
// - Size classes: four per power of two (5, 6, 7, 8 KB; 10, 12, 14, 16 KB; ...), so a
//   request is rounded up by less than 25% and a batch of a slightly different size
//   (the last one of an epoch) often reuses a block. The rounding is address space only:
//   the pages past the requested size are never touched, so the kernel never backs them.
// - Bounded: the cache holds at most buffer_cache_limit() bytes (1 GiB unless
//   TAPEGRAD_BUFFER_CACHE_MB or set_buffer_cache_limit() says otherwise; 0 turns the cache
//   off). When a freed block does not fit, the least recently freed blocks go back to the
//   system first.
// - One cache per process behind a mutex: a large buffer costs far more to fill than the
//   lock, and blocks freed on a loader's thread serve the training thread.
// - An allocation the system refuses is retried once after the cache is emptied.
// - empty_cache() returns every cached block; memory_stats() reports cached_bytes, hits
//   and misses.
// - AddressSanitizer builds (and TAPEGRAD_NO_POOL=1) bypass the cache, so a use after free
//   is still caught.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#include "pool.hpp"

namespace tapegrad {

namespace detail {

class LargeBufferCache {
 public:
  static constexpr std::size_t kAlignment = 64;
  static constexpr std::size_t kMinBytes = BufferPool::kMaxBytes + 1;  // smaller: BufferPool

  struct Stats {
    std::int64_t cached_bytes = 0;
    std::int64_t hits = 0;    // allocations served from the cache
    std::int64_t misses = 0;  // allocations that went to the system
    std::int64_t limit = 0;
  };

  // Never destroyed: tensors held by static objects may be freed after main returns, and
  // the cached blocks are reachable through it until the process ends.
  static LargeBufferCache& instance() {
    static LargeBufferCache* cache = new LargeBufferCache(default_limit());
    return *cache;
  }

  // The smallest class size that holds `bytes` (bytes >= kMinBytes): four classes per
  // power of two, 2^b + k 2^(b-2) for k = 1..4.
  static constexpr std::size_t class_size(std::size_t bytes) {
    const std::size_t step = std::size_t(1) << (highest_bit(bytes - 1) - 2);
    return ((bytes - 1) / step + 1) * step;
  }

  void* allocate(std::size_t bytes) {
    if (bytes > (std::size_t(1) << 62)) throw std::bad_alloc();  // no class size above 2^62
    const std::size_t size = class_size(bytes);
    const std::size_t k = class_index(size);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (FreeBlock* block = heads_[k]) {
        unlink(block);
        ++hits_;
        return block;
      }
      ++misses_;
    }
    return system_allocate(size);
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    const std::size_t size = class_size(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (size <= limit_) {
        while (cached_ + size > limit_) release(oldest_);
        auto* block = ::new (p) FreeBlock{};
        block->size = size;
        link(block, class_index(size));
        return;
      }
    }
    system_free(p);
  }

  // Returns every cached block to the system.
  void empty() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    while (oldest_) release(oldest_);
  }

  // Blocks that no longer fit under a lower limit go back at once.
  void set_limit(std::size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = bytes;
    while (cached_ > limit_) release(oldest_);
  }

  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {static_cast<std::int64_t>(cached_), hits_, misses_, static_cast<std::int64_t>(limit_)};
  }

 private:
  // A cached block's first bytes hold its links: on the list of its class (most recently
  // freed first, so the next allocation gets the block most likely still in cache) and on
  // the list of all cached blocks in the order they were freed (the oldest goes first).
  struct FreeBlock {
    FreeBlock* class_prev = nullptr;
    FreeBlock* class_next = nullptr;
    FreeBlock* older = nullptr;
    FreeBlock* newer = nullptr;
    std::size_t size = 0;
  };
  static constexpr std::size_t kClasses = 4 * 64;

  explicit LargeBufferCache(std::size_t limit) : limit_(limit) {}

  static constexpr int highest_bit(std::size_t x) { return 63 - __builtin_clzll(x); }
  static constexpr std::size_t class_index(std::size_t size) {
    const int b = highest_bit(size - 1);
    return static_cast<std::size_t>(4 * b + static_cast<int>((size - 1) >> (b - 2)) - 4);
  }

  // TAPEGRAD_BUFFER_CACHE_MB, read once; 1 GiB without it.
  static std::size_t default_limit() {
    if (const char* mb = std::getenv("TAPEGRAD_BUFFER_CACHE_MB")) {
      char* end = nullptr;
      const unsigned long long value = std::strtoull(mb, &end, 10);
      if (end != mb && *end == '\0') return static_cast<std::size_t>(value) << 20;
    }
    return std::size_t(1) << 30;
  }

  void link(FreeBlock* block, std::size_t k) noexcept {
    block->class_next = heads_[k];
    if (heads_[k]) heads_[k]->class_prev = block;
    heads_[k] = block;
    block->older = newest_;
    if (newest_) newest_->newer = block;
    newest_ = block;
    if (!oldest_) oldest_ = block;
    cached_ += block->size;
  }

  void unlink(FreeBlock* block) noexcept {
    const std::size_t k = class_index(block->size);
    if (block->class_prev) block->class_prev->class_next = block->class_next;
    else heads_[k] = block->class_next;
    if (block->class_next) block->class_next->class_prev = block->class_prev;
    if (block->older) block->older->newer = block->newer;
    else oldest_ = block->newer;
    if (block->newer) block->newer->older = block->older;
    else newest_ = block->older;
    cached_ -= block->size;
  }

  void release(FreeBlock* block) noexcept {
    unlink(block);
    system_free(block);
  }

  void* system_allocate(std::size_t size) {
    try {
      return ::operator new(size, std::align_val_t(kAlignment));
    } catch (const std::bad_alloc&) {
      empty();  // the cached blocks may be what the system is missing
      return ::operator new(size, std::align_val_t(kAlignment));
    }
  }
  static void system_free(void* p) noexcept { ::operator delete(p, std::align_val_t(kAlignment)); }

  std::mutex mutex_;
  FreeBlock* heads_[kClasses] = {};
  FreeBlock* oldest_ = nullptr;
  FreeBlock* newest_ = nullptr;
  std::size_t cached_ = 0;
  std::size_t limit_;
  std::int64_t hits_ = 0;
  std::int64_t misses_ = 0;
};

}  // namespace detail

// Returns every cached large buffer to the system (as torch.cuda.empty_cache()). Tensors
// in use are not affected; memory_stats().cached_bytes is 0 afterwards.
inline void empty_cache() {
  if constexpr (!TAPEGRAD_NO_POOL) detail::LargeBufferCache::instance().empty();
}

// The most bytes the large-buffer cache keeps (1 GiB, or TAPEGRAD_BUFFER_CACHE_MB); 0 turns
// caching off. Lowering it returns the blocks that no longer fit.
inline void set_buffer_cache_limit(std::size_t bytes) {
  if constexpr (!TAPEGRAD_NO_POOL) detail::LargeBufferCache::instance().set_limit(bytes);
}

inline std::size_t buffer_cache_limit() {
  if constexpr (TAPEGRAD_NO_POOL) return 0;
  else return static_cast<std::size_t>(detail::LargeBufferCache::instance().stats().limit);
}

}  // namespace tapegrad
