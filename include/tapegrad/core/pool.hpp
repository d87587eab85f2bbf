#pragma once
// Per-thread caches of small memory blocks, for the objects every op allocates: the
// result's TensorImpl, Storage and (small) data buffer, and the graph node.
//
// Why: glibc's per-thread cache keeps 7 freed blocks per size. A backward pass frees
// hundreds of nodes and tensors at once, and the next forward pass allocated them again
// through malloc's slow paths: on the 200-op chain of bench/overhead_bench.cpp, malloc
// and free took half of the time per op (perf). These caches keep up to 256 KB of freed
// blocks per size class and thread, and hand them back with a pointer pop.
//
// - Blocks freed on another thread join that thread's cache: any block may go to any
//   cache, because every block comes from ::operator new with its class's size.
// - When a thread ends, its caches return their blocks to the system; frees after that
//   (from other thread_local destructors) go straight to ::operator delete.
// - AddressSanitizer builds (and TAPEGRAD_NO_POOL=1) bypass the caches, so that a
//   use after free is still caught.

#include <cstddef>
#include <cstdint>
#include <new>

#include "error.hpp"

// TAPEGRAD_ASAN: 1 under AddressSanitizer (g++ says so with __SANITIZE_ADDRESS__, clang
// with __has_feature), else 0. Code that replaces or counts allocations tests it too.
#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_ASAN 1
#endif
#endif
#if !defined(TAPEGRAD_ASAN)
#define TAPEGRAD_ASAN 0
#endif
#if !defined(TAPEGRAD_NO_POOL)
#define TAPEGRAD_NO_POOL TAPEGRAD_ASAN
#endif

namespace tapegrad::detail {

// Blocks of Step, 2 Step, ... MaxBytes bytes aligned to Alignment; larger requests go
// to ::operator new directly.
template <std::size_t Alignment, std::size_t Step, std::size_t MaxBytes>
class BlockPool {
 public:
  static constexpr std::size_t kMaxBytes = MaxBytes;

  static void* allocate(std::size_t bytes) {
    if (TAPEGRAD_NO_POOL || bytes > MaxBytes) return raw_new(bytes);
    Cache& c = cache_;
    const std::size_t k = class_of(bytes);
    if (FreeBlock* block = c.heads[k]) {
      c.heads[k] = block->next;
      --c.counts[k];
      return block;
    }
    return allocate_new(k);
  }

  static void deallocate(void* p, std::size_t bytes) noexcept {
    if (TAPEGRAD_NO_POOL || bytes > MaxBytes) return raw_delete(p);
    Cache& c = cache_;
    const std::size_t k = class_of(bytes);
    if (!c.registered || c.closed || c.counts[k] >= max_count(k)) return deallocate_uncached(p, bytes);
    auto* block = static_cast<FreeBlock*>(p);
    block->next = c.heads[k];
    c.heads[k] = block;
    ++c.counts[k];
  }

  // Blocks cached on the calling thread (tests).
  static std::size_t cached_blocks() {
    std::size_t n = 0;
    for (std::uint32_t count : cache_.counts) n += count;
    return n;
  }

 private:
  static_assert(Step % Alignment == 0 && MaxBytes % Step == 0, "BlockPool: sizes must be multiples of the alignment");
  static constexpr std::size_t kClasses = MaxBytes / Step;
  static constexpr std::size_t kMaxCachedBytesPerClass = std::size_t(256) << 10;

  struct FreeBlock {
    FreeBlock* next;
  };
  // Trivially destructible and zero-initialised: reaching it costs no guard check.
  struct Cache {
    FreeBlock* heads[kClasses];
    std::uint32_t counts[kClasses];
    bool registered;  // the release at thread exit is set up
    bool closed;      // the thread is exiting: cache nothing more
  };
  static inline thread_local Cache cache_{};

  // Returns the thread's blocks to the system when the thread ends.
  struct Release {
    ~Release() {
      Cache& c = cache_;
      for (std::size_t k = 0; k < kClasses; ++k) {
        while (FreeBlock* block = c.heads[k]) {
          c.heads[k] = block->next;
          raw_delete(block);
        }
        c.counts[k] = 0;
      }
      c.closed = true;
    }
  };

  static constexpr std::size_t class_of(std::size_t bytes) { return bytes == 0 ? 0 : (bytes - 1) / Step; }
  static constexpr std::uint32_t max_count(std::size_t k) {
    return static_cast<std::uint32_t>(kMaxCachedBytesPerClass / ((k + 1) * Step));
  }

  static void* raw_new(std::size_t bytes) {
    if constexpr (Alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      return ::operator new(bytes, std::align_val_t(Alignment));
    else
      return ::operator new(bytes);
  }
  static void raw_delete(void* p) noexcept {
    if constexpr (Alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
      ::operator delete(p, std::align_val_t(Alignment));
    else
      ::operator delete(p);
  }

  static void register_release() {
    thread_local Release release;  // constructed on the first call on each thread
    (void)release;
    cache_.registered = true;
  }
  TAPEGRAD_NOINLINE static void* allocate_new(std::size_t k) {
    if (!cache_.registered && !cache_.closed) register_release();
    return raw_new((k + 1) * Step);
  }
  TAPEGRAD_NOINLINE static void deallocate_uncached(void* p, std::size_t bytes) noexcept {
    Cache& c = cache_;
    if (!c.registered && !c.closed) {
      // The first free on a thread that never allocated: set up its release, then cache.
      register_release();
      return deallocate(p, bytes);
    }
    raw_delete(p);  // closed, or this class's cache is full
  }
};

// Tensor data: 64-byte aligned (a cache line, any SIMD width), up to 4 KB (a 512-double
// tensor); larger buffers cost more to fill than to allocate.
using BufferPool = BlockPool<64, 64, 4096>;
// Graph objects (TensorImpl, Storage, nodes with their shared_ptr control blocks).
using ObjectPool = BlockPool<__STDCPP_DEFAULT_NEW_ALIGNMENT__, 16, 512>;

// A standard allocator on ObjectPool, for std::allocate_shared.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(std::size_t n) { return static_cast<T*>(ObjectPool::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { ObjectPool::deallocate(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const PoolAllocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace tapegrad::detail
