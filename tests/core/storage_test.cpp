#include "test_util.hpp"

namespace core_storage_test {

// Storage, its version counter and the allocation counters (core/storage.hpp).

TEST_CASE("memory_stats counts the bytes tensor buffers hold", "[storage]") {
  const auto before = tg::memory_stats();
  {
    auto t = tg::zeros<double>({1000});
    const auto during = tg::memory_stats();
    CHECK(during.current_bytes - before.current_bytes == 8000);
    CHECK(during.allocations - before.allocations == 1);
    CHECK(during.peak_bytes >= during.current_bytes);
  }
  CHECK(tg::memory_stats().current_bytes == before.current_bytes);
}

TEST_CASE("reset_peak_memory starts a new high-water mark", "[storage]") {
  { auto big = tg::zeros<double>({10000}); }
  tg::reset_peak_memory();
  const auto base = tg::memory_stats();
  CHECK(base.peak_bytes == base.current_bytes);
  { auto small = tg::zeros<float>({100}); }
  CHECK(tg::memory_stats().peak_bytes - base.current_bytes == 400);
}

TEST_CASE("buffers are 64-byte aligned and views share storage and version", "[storage]") {
  auto t = tg::zeros<double>({3, 4});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 64 == 0);
  auto v = t.reshape({12});
  CHECK(v.data_ptr() == t.data_ptr());
  const auto version = t.version();
  v += 1.0;
  CHECK(t.version() == version + 1);
  CHECK(t.at({2, 3}) == 1.0);
  CHECK(tg::zeros<double>({0}).data_ptr() == nullptr);  // empty tensors allocate nothing
}

}  // namespace core_storage_test
