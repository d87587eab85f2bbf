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
#include <string>
#include <vector>

namespace tg = tapegrad;
using Tensors = std::vector<tg::Tensor<double>>;

// Asserts that gradcheck (or gradgradcheck) passes, printing its per-input report when not.
#define TG_CHECK_PASSES(check, f, ...)                              \
  do {                                                             \
    const auto tg_result_ = check(f, Tensors{__VA_ARGS__});        \
    INFO(tg_result_.report());                                     \
    CHECK(tg_result_.ok);                                          \
  } while (0)
#define CHECK_GRAD(f, ...) TG_CHECK_PASSES(tg::gradcheck, f, __VA_ARGS__)
#define CHECK_GRADGRAD(f, ...) TG_CHECK_PASSES(tg::gradgradcheck, f, __VA_ARGS__)

// Requires every element of `t` to equal `expected` (row-major) within `eps`.
inline void require_values(const tg::Tensor<double>& t, const std::vector<double>& expected, double eps = 1e-12) {
  REQUIRE(t.numel() == static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(t.data_ptr()[i] == Approx(expected[i]).epsilon(1e-12).margin(eps));
  }
}

using Tensor = tg::Tensor<double>;

// The grad_fn name, or "<none>" for a tensor without one.
inline std::string grad_fn_name(const Tensor& t) { return t.grad_fn() ? t.grad_fn()->name() : "<none>"; }

// A tensor of `shape` holding `v` (row-major).
inline Tensor values(const std::vector<double>& v, const tg::Shape& shape, bool requires_grad = false) {
  return tg::from_vector(v, shape, tg::requires_grad(requires_grad));
}

// |x| in [0.5, 1.5) with a random sign: gradcheck inputs away from 0 and from kinks.
inline Tensor away_from_zero(const tg::Shape& shape, tg::Generator& gen) {
  tg::NoGradGuard no_grad;
  return (tg::rand<double>(shape, gen) + 0.5) * tg::randn<double>(shape, gen).sign();
}

// Uniform in [0.5, 1.5): inside the domain of log, sqrt and fractional powers.
inline Tensor positive(const tg::Shape& shape, tg::Generator& gen) {
  tg::NoGradGuard no_grad;
  return tg::rand<double>(shape, gen) + 0.5;
}

// Both assertions: the exception's type and the words of its message.
#define TG_CHECK_THROWS(expr, type, text)         \
  do {                                            \
    CHECK_THROWS_AS(expr, type);                  \
    CHECK_THROWS_WITH(expr, TG_CONTAINS(text));   \
  } while (0)

// 1-D tensors of the given values.
inline tg::Tensor<std::int64_t> int_vector(const std::vector<std::int64_t>& v) {
  return tg::from_vector<std::int64_t>(v, {static_cast<std::int64_t>(v.size())});
}
inline Tensor double_vector(const std::vector<double>& v) { return values(v, {static_cast<std::int64_t>(v.size())}); }
