// The process-wide cache of large tensor buffers (core/buffer_cache.hpp). AddressSanitizer
// builds bypass it; the tests check that too.
#include "test_util.hpp"

#include <cstdint>
#include <thread>
#include <vector>

namespace core_buffer_cache_test {

using tg::detail::LargeBufferCache;

// Each test starts from an empty cache with the default limit and puts the limit back.
struct FreshCache {
  std::size_t saved_limit = tg::buffer_cache_limit();
  FreshCache() { tg::empty_cache(); }
  ~FreshCache() {
    tg::set_buffer_cache_limit(saved_limit);
    tg::empty_cache();
  }
};

TEST_CASE("buffer cache: four size classes per power of two, rounding up by less than 25%", "[buffer_cache]") {
  CHECK(LargeBufferCache::class_size(4097) == 5120);
  CHECK(LargeBufferCache::class_size(5120) == 5120);
  CHECK(LargeBufferCache::class_size(5121) == 6144);
  CHECK(LargeBufferCache::class_size(8192) == 8192);
  CHECK(LargeBufferCache::class_size(8193) == 10240);
  CHECK(LargeBufferCache::class_size(std::size_t(1) << 20) == std::size_t(1) << 20);
  CHECK(LargeBufferCache::class_size((std::size_t(1) << 20) + 1) == (std::size_t(5) << 18));
  for (std::size_t bytes = 4097; bytes < (std::size_t(1) << 24); bytes = bytes * 9 / 8 + 13) {
    const std::size_t size = LargeBufferCache::class_size(bytes);
    CHECK(size >= bytes);
    CHECK(size - bytes < bytes / 4);
    CHECK(size % 64 == 0);  // every class keeps the 64-byte alignment of the next block
    CHECK(LargeBufferCache::class_size(size) == size);
  }
}

TEST_CASE("buffer cache: a freed large buffer serves the next request of its class", "[buffer_cache]") {
  FreshCache fresh;
  const auto before = tg::memory_stats();
  const float* first = nullptr;
  {
    auto t = tg::empty<float>({10000});  // 40,000 bytes: class 40,960
    first = t.data_ptr();
    CHECK(reinterpret_cast<std::uintptr_t>(first) % 64 == 0);
  }
  const auto freed = tg::memory_stats();
  CHECK(freed.current_bytes == before.current_bytes);  // cached bytes are not held by tensors
  if constexpr (TAPEGRAD_NO_POOL) {
    CHECK(freed.cached_bytes == 0);
    return;
  }
  CHECK(freed.cached_bytes == 40960);
  CHECK(freed.cache_misses - before.cache_misses == 1);

  auto u = tg::empty<float>({9000});  // 36,000 bytes: the same class
  CHECK(u.data_ptr() == first);
  const auto reused = tg::memory_stats();
  CHECK(reused.cache_hits - before.cache_hits == 1);
  CHECK(reused.cached_bytes == 0);
  CHECK(reused.current_bytes - before.current_bytes == 36000);

  auto v = tg::empty<float>({20000});  // another class: from the system
  CHECK(v.data_ptr() != first);
  CHECK(tg::memory_stats().cache_misses - before.cache_misses == 2);
}

TEST_CASE("buffer cache: a recycled buffer never leaks stale values into zeros()", "[buffer_cache]") {
  FreshCache fresh;
  { auto t = tg::full<double>({100, 100}, 7.0); }
  auto z = tg::zeros<double>({100, 100});
  for (std::int64_t i = 0; i < z.numel(); ++i) REQUIRE(z.data_ptr()[i] == 0.0);
  auto o = tg::ones<double>({100, 100});
  for (std::int64_t i = 0; i < o.numel(); ++i) REQUIRE(o.data_ptr()[i] == 1.0);
}

TEST_CASE("buffer cache: the limit is kept by returning the least recently freed blocks", "[buffer_cache]") {
  FreshCache fresh;
  if constexpr (TAPEGRAD_NO_POOL) return;
  tg::set_buffer_cache_limit(100 * 1024);  // room for two blocks of 40,960 bytes
  std::vector<const float*> addresses;
  {
    std::vector<tg::Tensor<float>> tensors;
    for (int i = 0; i < 3; ++i) {
      tensors.push_back(tg::empty<float>({10000}));
      addresses.push_back(tensors.back().data_ptr());
    }
    // Freed in order 0, 1, 2: block 0 is the oldest and goes back to the system.
  }
  CHECK(tg::memory_stats().cached_bytes == 2 * 40960);
  // The most recently freed block comes back first, then the one before it.
  auto a = tg::empty<float>({10000});
  auto b = tg::empty<float>({10000});
  CHECK(a.data_ptr() == addresses[2]);
  CHECK(b.data_ptr() == addresses[1]);
  CHECK(tg::memory_stats().cached_bytes == 0);

  // A block larger than the whole limit is never cached.
  { auto huge = tg::empty<float>({100000}); }
  CHECK(tg::memory_stats().cached_bytes == 0);

  // Lowering the limit returns what no longer fits; 0 turns the cache off.
  { auto c = tg::empty<float>({10000}); }
  CHECK(tg::memory_stats().cached_bytes == 40960);
  tg::set_buffer_cache_limit(0);
  CHECK(tg::memory_stats().cached_bytes == 0);
  CHECK(tg::buffer_cache_limit() == 0);
  { auto d = tg::empty<float>({10000}); }
  CHECK(tg::memory_stats().cached_bytes == 0);
}

TEST_CASE("buffer cache: empty_cache returns every block", "[buffer_cache]") {
  FreshCache fresh;
  {
    auto a = tg::empty<double>({1000});
    auto b = tg::empty<double>({100000});
    auto c = tg::empty<float>({3333});
  }
  if constexpr (!TAPEGRAD_NO_POOL) CHECK(tg::memory_stats().cached_bytes > 0);
  tg::empty_cache();
  CHECK(tg::memory_stats().cached_bytes == 0);
}

TEST_CASE("buffer cache: buffers freed on another thread serve this one", "[buffer_cache]") {
  FreshCache fresh;
  auto t = tg::empty<double>({50000});
  const double* address = t.data_ptr();
  std::thread worker([moved = std::move(t)]() mutable { moved = tg::Tensor<double>(); });
  worker.join();
  auto u = tg::empty<double>({50000});
  if constexpr (!TAPEGRAD_NO_POOL) CHECK(u.data_ptr() == address);

  // Several threads allocating and freeing at once keep the counts exact.
  const auto before = tg::memory_stats();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([i] {
      for (int step = 0; step < 200; ++step) {
        auto x = tg::full<float>({1000 + 100 * i}, float(step));
        auto y = x * 2.0f;
        REQUIRE(y.data_ptr()[0] == 2.0f * float(step));
      }
    });
  for (auto& thread : threads) thread.join();
  CHECK(tg::memory_stats().current_bytes == before.current_bytes);
}

TEST_CASE("buffer cache: a training step in steady state takes every large buffer from the cache",
          "[buffer_cache]") {
  FreshCache fresh;
  if constexpr (TAPEGRAD_NO_POOL) return;
  auto w = tg::randn<float>({256, 128}, tg::requires_grad());
  auto x = tg::randn<float>({64, 256});
  auto step = [&] {
    auto loss = tg::matmul(x, w).tanh().pow(2.0f).mean();
    loss.backward();
    w.grad().zero_();
  };
  // The first backward keeps its gradient buffer as w.grad; from the second step on, the
  // step's buffers are the same every time.
  step();
  step();
  const auto warm = tg::memory_stats();
  for (int i = 0; i < 5; ++i) step();
  const auto after = tg::memory_stats();
  CHECK(after.cache_misses == warm.cache_misses);
  CHECK(after.cache_hits - warm.cache_hits >= 5 * 4);  // at least x·w, tanh, pow and dW per step
}

}  // namespace core_buffer_cache_test
