// The per-thread block caches behind tensors, storages, nodes and small buffers
// (core/pool.hpp). AddressSanitizer builds bypass the caches; the tests check that too.
#include "test_util.hpp"

#include <cstdint>
#include <thread>
#include <vector>

namespace core_pool_test {

using tg::detail::BufferPool;
using tg::detail::ObjectPool;

TEST_CASE("pool: a freed block is handed out again for a request of its size class", "[pool]") {
  void* a = BufferPool::allocate(128);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
  const std::size_t cached = BufferPool::cached_blocks();
  BufferPool::deallocate(a, 128);
  if constexpr (TAPEGRAD_NO_POOL) {
    CHECK(BufferPool::cached_blocks() == 0);
  } else {
    CHECK(BufferPool::cached_blocks() == cached + 1);
    // 100 bytes is in the same 64-byte class as 128 (65..128): the same block comes back.
    void* b = BufferPool::allocate(100);
    CHECK(b == a);
    CHECK(BufferPool::cached_blocks() == cached);
    BufferPool::deallocate(b, 100);
  }
}

TEST_CASE("pool: every block is aligned, and large requests bypass the cache", "[pool]") {
  std::vector<void*> blocks;
  for (std::size_t bytes : {1, 63, 64, 65, 1000, 4096})
    blocks.push_back(BufferPool::allocate(bytes));
  for (void* p : blocks) CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
  const std::size_t sizes[] = {1, 63, 64, 65, 1000, 4096};
  for (std::size_t i = 0; i < blocks.size(); ++i) BufferPool::deallocate(blocks[i], sizes[i]);

  const std::size_t cached = BufferPool::cached_blocks();
  void* big = BufferPool::allocate(1 << 20);
  CHECK(reinterpret_cast<std::uintptr_t>(big) % 64 == 0);
  BufferPool::deallocate(big, 1 << 20);
  CHECK(BufferPool::cached_blocks() == cached);  // a 1 MB block is returned at once

  void* object = ObjectPool::allocate(40);
  CHECK(reinterpret_cast<std::uintptr_t>(object) % alignof(std::max_align_t) == 0);
  ObjectPool::deallocate(object, 40);
}

TEST_CASE("pool: each size class keeps at most 256 KB of freed blocks", "[pool]") {
  std::vector<void*> blocks(1000);
  for (void*& p : blocks) p = BufferPool::allocate(4096);
  const std::size_t before = BufferPool::cached_blocks();
  for (void* p : blocks) BufferPool::deallocate(p, 4096);
  const std::size_t kept = BufferPool::cached_blocks() - before;
  if constexpr (TAPEGRAD_NO_POOL)
    CHECK(kept == 0);
  else
    CHECK(kept <= (256u << 10) / 4096);  // 64 blocks of 4 KB; the other 936 went back
}

TEST_CASE("pool: blocks may be freed on another thread, and threads return theirs at exit", "[pool]") {
  std::vector<void*> blocks(50);
  for (void*& p : blocks) p = ObjectPool::allocate(96);
  std::size_t cached_on_worker = 0;
  std::thread worker([&] {
    for (void* p : blocks) ObjectPool::deallocate(p, 96);  // the worker never allocated
    cached_on_worker = ObjectPool::cached_blocks();
    // Tensors made and dropped on the worker use its caches too.
    for (int i = 0; i < 10; ++i) {
      auto t = tg::ones<double>({4, 4}, tg::requires_grad());
      (t * 2.0).sum().backward();
      CHECK(t.grad().at({3, 3}) == 2.0);
    }
  });
  worker.join();
  CHECK(cached_on_worker == (TAPEGRAD_NO_POOL ? 0u : 50u));
}

TEST_CASE("pool: recycled buffers never leak stale values into new tensors", "[pool]") {
  // zeros() of a recycled buffer is still all zeros, and memory_stats counts the bytes
  // a tensor holds whether its buffer is new or recycled.
  const auto before = tg::memory_stats();
  { auto t = tg::full<double>({4, 4}, 7.0); }
  auto z = tg::zeros<double>({4, 4});
  for (std::int64_t i = 0; i < 16; ++i) CHECK(z.data_ptr()[i] == 0.0);
  CHECK(tg::memory_stats().current_bytes - before.current_bytes == 128);
}

}  // namespace core_pool_test
