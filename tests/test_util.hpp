#pragma once
// Shared by every test: Catch2 2.x/3.x compatibility and the gradcheck assertions.

#ifdef TAPEGRAD_CATCH3
#include <catch2/catch_all.hpp>
using Catch::Approx;
#define TG_CONTAINS(s) Catch::Matchers::ContainsSubstring(s)
#else
#include <catch2/catch.hpp>
#define TG_CONTAINS(s) Catch::Matchers::Contains(s)
#endif

#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tg = tapegrad;
using Tensors = std::vector<tg::Tensor<double>>;

// Asserts that gradcheck passes, printing its per-input report when it does not.
#define CHECK_GRAD(f, ...)                                            \
  do {                                                                \
    const auto tg_result_ = tg::gradcheck(f, Tensors{__VA_ARGS__});   \
    INFO(tg_result_.report());                                        \
    CHECK(tg_result_.ok);                                             \
  } while (0)

#define CHECK_GRADGRAD(f, ...)                                            \
  do {                                                                    \
    const auto tg_result_ = tg::gradgradcheck(f, Tensors{__VA_ARGS__});   \
    INFO(tg_result_.report());                                            \
    CHECK(tg_result_.ok);                                                 \
  } while (0)

// Requires every element of `t` to equal `expected` (row-major) within `eps`.
inline void require_values(const tg::Tensor<double>& t, const std::vector<double>& expected, double eps = 1e-12) {
  REQUIRE(t.numel() == static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(t.data_ptr()[i] == Approx(expected[i]).epsilon(1e-12).margin(eps));
  }
}
