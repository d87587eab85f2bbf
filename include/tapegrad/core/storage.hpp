#pragma once
// Storage: the reference-counted buffer behind one or more tensors (a tensor and
// its reshaped views share one Storage, and with it one version counter).
// Every buffer goes through allocate_buffer/free_buffer, which count bytes
// (memory_stats) and recycle freed buffers: small ones in the thread's BufferPool
// (core/pool.hpp), large ones in the process's LargeBufferCache (core/buffer_cache.hpp).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "buffer_cache.hpp"
#include "pool.hpp"

namespace tapegrad {

// Bytes held by tensor buffers, process-wide. `peak_bytes` is the high-water mark
// since the last reset_peak_memory(); benchmarks and checkpointing tests read it.
struct MemoryStats {
  std::int64_t current_bytes = 0;
  std::int64_t peak_bytes = 0;
  std::int64_t allocations = 0;  // buffers allocated since program start (approximate with threads)
  // The large-buffer cache (core/buffer_cache.hpp): bytes kept for reuse (not counted in
  // current_bytes), and large allocations served from it or from the system.
  std::int64_t cached_bytes = 0;
  std::int64_t cache_hits = 0;
  std::int64_t cache_misses = 0;
};

namespace detail {

struct MemoryCounters {
  std::atomic<std::int64_t> current{0};
  std::atomic<std::int64_t> peak{0};
  std::atomic<std::int64_t> allocations{0};
};

inline MemoryCounters& memory_counters() {
  static MemoryCounters counters;
  return counters;
}

// 64-byte alignment: a cache line, and enough for any SIMD width Eigen uses.
inline constexpr std::size_t kBufferAlignment = 64;

inline void* allocate_buffer(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  static_assert(kBufferAlignment == 64, "BufferPool hands out 64-byte aligned blocks");
  // Small buffers come from the thread's cache, large ones from the process's.
  void* p = TAPEGRAD_NO_POOL || bytes <= BufferPool::kMaxBytes ? BufferPool::allocate(bytes)
                                                               : LargeBufferCache::instance().allocate(bytes);
  auto& c = memory_counters();
  const auto now = c.current.fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_relaxed) +
                   static_cast<std::int64_t>(bytes);
  // A load and a store, not a locked add: the count may miss an allocation made at the
  // same moment on another thread, which a statistic can afford (bytes stay exact).
  c.allocations.store(c.allocations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  auto peak = c.peak.load(std::memory_order_relaxed);
  while (now > peak && !c.peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return p;
}

inline void free_buffer(void* p, std::size_t bytes) {
  if (!p) return;
  if (TAPEGRAD_NO_POOL || bytes <= BufferPool::kMaxBytes)
    BufferPool::deallocate(p, bytes);
  else
    LargeBufferCache::instance().deallocate(p, bytes);
  memory_counters().current.fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
}

}  // namespace detail

inline MemoryStats memory_stats() {
  auto& c = detail::memory_counters();
  MemoryStats stats{c.current.load(), c.peak.load(), c.allocations.load()};
  if constexpr (!TAPEGRAD_NO_POOL) {
    const auto cache = detail::LargeBufferCache::instance().stats();
    stats.cached_bytes = cache.cached_bytes;
    stats.cache_hits = cache.hits;
    stats.cache_misses = cache.misses;
  }
  return stats;
}

// Starts a new peak measurement from the bytes held now.
inline void reset_peak_memory() {
  auto& c = detail::memory_counters();
  c.peak.store(c.current.load());
}

template <typename T>
class Storage {
 public:
  explicit Storage(std::size_t size)
      : data_(static_cast<T*>(detail::allocate_buffer(size * sizeof(T)))), size_(size) {}
  ~Storage() { detail::free_buffer(data_, size_ * sizeof(T)); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }

  // Bumped by every in-place write; saved tensors compare it at backward time.
  std::uint32_t version() const { return version_; }
  void bump_version() { ++version_; }

  // Live views (reshape/view results) of this buffer. A recorded in-place op on a
  // buffer with views is refused: the other tensors' grad_fns would go stale.
  // Atomic because views of one shared parameter may come and go on several threads.
  bool has_views() const { return views_.load(std::memory_order_relaxed) > 0; }
  void add_view() { views_.fetch_add(1, std::memory_order_relaxed); }
  void remove_view() { views_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  T* data_;
  std::size_t size_;
  std::uint32_t version_ = 0;
  std::atomic<std::int32_t> views_{0};
};

}  // namespace tapegrad
