#pragma once
// Factories: zeros, ones, full, arange, linspace, eye, rand, randn, *_like,
// from_vector, from_eigen, scalar_tensor; and the seedable random generator.

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels.hpp"
#include "tensor.hpp"

namespace tapegrad {

// A seedable source of random numbers (64-bit Mersenne Twister). Each thread has a
// default one (seed it with manual_seed); pass your own for independent streams.
class Generator {
 public:
  explicit Generator(std::uint64_t seed = 5489u) : engine_(seed) {}
  void seed(std::uint64_t s) { engine_.seed(s); }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

namespace detail {
// Uniform in [0, bound) by rejection, unbiased: the top `2^64 mod bound` outputs are
// redrawn. std::uniform_int_distribution differs between standard libraries; this gives
// the same numbers everywhere mt19937_64 does (the standard fixes its output), so a
// seeded shuffle or split is the same on every platform.
inline std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t bound) {
  const std::uint64_t reject_from = std::uint64_t(0) - (std::uint64_t(0) - bound) % bound;  // = 2^64 - (2^64 mod bound)
  for (;;) {
    const std::uint64_t r = engine();
    if (reject_from == 0 || r < reject_from) return r % bound;
  }
}
}  // namespace detail

inline Generator& default_generator() {
  thread_local Generator generator;
  return generator;
}

// Seeds this thread's default generator: the same seed gives the same rand/randn.
inline void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

namespace detail {
template <typename T>
Tensor<T> finish(Tensor<T> t, const TensorOptions& options) {
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

template <typename T>
Tensor<T> filled(const char* op, const Shape& shape, T value, const TensorOptions& options) {
  check_shape_valid(op, shape);
  Tensor<T> t = empty<T>(shape);
  fill(t, value);
  return finish(t, options);
}
}  // namespace detail

template <typename T = double>
Tensor<T> empty(const Shape& shape, TensorOptions options = {}) {
  detail::check_shape_valid("empty", shape);
  return detail::finish(detail::empty<T>(shape), options);
}

template <typename T = double>
Tensor<T> zeros(const Shape& shape, TensorOptions options = {}) {
  return detail::filled<T>("zeros", shape, T(0), options);
}

template <typename T = double>
Tensor<T> ones(const Shape& shape, TensorOptions options = {}) {
  return detail::filled<T>("ones", shape, T(1), options);
}

template <typename T = double>
Tensor<T> full(const Shape& shape, detail::type_identity_t<T> value, TensorOptions options = {}) {
  return detail::filled<T>("full", shape, value, options);
}

// A 0-d tensor holding `value`.
template <typename T = double>
Tensor<T> scalar_tensor(detail::type_identity_t<T> value, TensorOptions options = {}) {
  return detail::filled<T>("scalar_tensor", {}, value, options);
}

// start, start + step, ... up to but excluding end.
template <typename T = double>
Tensor<T> arange(detail::type_identity_t<T> start, detail::type_identity_t<T> end,
                 detail::type_identity_t<T> step = T(1), TensorOptions options = {}) {
  if (step == T(0)) detail::fail<ValueError>("arange: step must be nonzero");
  if (!std::isfinite(static_cast<double>(start)) || !std::isfinite(static_cast<double>(end)) ||
      !std::isfinite(static_cast<double>(step)))
    detail::fail<ValueError>("arange: start, end and step must be finite, got start ", start, ", end ", end,
                             ", step ", step);
  if ((step > 0 && start > end) || (step < 0 && start < end))
    detail::fail<ValueError>("arange: the range from ", start, " to ", end, " is empty in the direction of step ",
                             step, "; swap start and end or negate step");
  // The count: exact in int64 for integer types (as PyTorch, whose double would round
  // 2^63 - 1 and 2^63 - 3 to the same number), in double for floating ones.
  std::int64_t n = 0;
  if constexpr (std::is_integral_v<T>) {
    std::int64_t span = 0;
    if (__builtin_sub_overflow(static_cast<std::int64_t>(end), static_cast<std::int64_t>(start), &span) ||
        span == std::numeric_limits<std::int64_t>::min())  // its count, 2^63, would not fit either
      detail::fail<ValueError>("arange: the range from ", start, " to ", end,
                               " has more elements than a tensor can index; use a larger step");
    const auto s = static_cast<std::int64_t>(step);
    n = span / s + (span % s != 0 ? 1 : 0);  // ceil(span / step); span and step have one sign
  } else {
    const double count =
        std::ceil((static_cast<double>(end) - static_cast<double>(start)) / static_cast<double>(step));
    if (!(count < 9.2e18))  // below 2^63, so the cast to int64 is defined
      detail::fail<ValueError>("arange: the range from ", start, " to ", end, " by ", step, " has ", count,
                               " elements, more than a tensor can index; use a larger step");
    n = static_cast<std::int64_t>(count);
  }
  Tensor<T> t = detail::empty<T>({n});
  for (std::int64_t i = 0; i < n; ++i) t.data_ptr()[i] = static_cast<T>(start + static_cast<T>(i) * step);
  return detail::finish(t, options);
}

template <typename T = double>
Tensor<T> arange(detail::type_identity_t<T> end, TensorOptions options = {}) {
  return arange<T>(T(0), end, T(1), options);
}

// `steps` points evenly spaced from start to end, both included.
template <typename T = double>
Tensor<T> linspace(detail::type_identity_t<T> start, detail::type_identity_t<T> end, std::int64_t steps,
                   TensorOptions options = {}) {
  if (steps < 0) detail::fail<ValueError>("linspace: number of steps must be non-negative, got ", steps);
  Tensor<T> t = detail::empty<T>({steps});
  if (steps == 1) t.data_ptr()[0] = start;
  const T step = steps > 1 ? (end - start) / static_cast<T>(steps - 1) : T(0);
  for (std::int64_t i = 0; i < steps; ++i)  // the last point is exactly `end`
    t.data_ptr()[i] = i == steps - 1 ? end : start + static_cast<T>(i) * step;
  return detail::finish(t, options);
}

// n x m identity (m defaults to n).
template <typename T = double>
Tensor<T> eye(std::int64_t n, std::int64_t m = -1, TensorOptions options = {}) {
  if (n < 0 || m < -1)
    detail::fail<ValueError>("eye: sizes must be non-negative, got n = ", n, ", m = ", m);
  if (m == -1) m = n;
  Tensor<T> t = detail::empty<T>({n, m});
  detail::MatrixMap<T>(t.data_ptr(), n, m).setIdentity();
  return detail::finish(t, options);
}

template <typename T = double>
Tensor<T> eye(std::int64_t n, TensorOptions options) {
  return eye<T>(n, n, options);
}

namespace detail {
template <typename T, typename Distribution>
Tensor<T> sampled(const char* op, const Shape& shape, Distribution dist, Generator& gen, const TensorOptions& options) {
  check_shape_valid(op, shape);
  Tensor<T> t = empty<T>(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data_ptr()[i] = dist(gen.engine());
  return finish(t, options);
}
}  // namespace detail

// Uniform on [0, 1).
template <typename T = double>
Tensor<T> rand(const Shape& shape, Generator& gen, TensorOptions options = {}) {
  return detail::sampled<T>("rand", shape, std::uniform_real_distribution<T>(T(0), T(1)), gen, options);
}
template <typename T = double>
Tensor<T> rand(const Shape& shape, TensorOptions options = {}) {
  return rand<T>(shape, default_generator(), options);
}

// Standard normal.
template <typename T = double>
Tensor<T> randn(const Shape& shape, Generator& gen, TensorOptions options = {}) {
  return detail::sampled<T>("randn", shape, std::normal_distribution<T>(T(0), T(1)), gen, options);
}
template <typename T = double>
Tensor<T> randn(const Shape& shape, TensorOptions options = {}) {
  return randn<T>(shape, default_generator(), options);
}

template <typename T>
Tensor<T> zeros_like(const Tensor<T>& t, TensorOptions options = {}) {
  return zeros<T>(t.shape(), options);
}
template <typename T>
Tensor<T> ones_like(const Tensor<T>& t, TensorOptions options = {}) {
  return ones<T>(t.shape(), options);
}
template <typename T>
Tensor<T> full_like(const Tensor<T>& t, detail::type_identity_t<T> value, TensorOptions options = {}) {
  return full<T>(t.shape(), value, options);
}

// Copies `values` (row-major) into a tensor of `shape`; without a shape, 1-D.
template <typename T>
Tensor<T> from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options = {}) {
  detail::check_shape_valid("from_vector", shape);
  if (static_cast<std::int64_t>(values.size()) != detail::numel_of(shape))
    detail::fail<ShapeError>("from_vector: ", values.size(), " values cannot fill shape ", detail::show(shape), " (",
                             detail::numel_of(shape), " elements)");
  Tensor<T> t = detail::empty<T>(shape);
  std::copy(values.begin(), values.end(), t.data_ptr());
  return detail::finish(t, options);
}
// 1-D. The options are a deduced parameter so that `from_vector<double>({1.0}, {})` means
// the empty shape (a 0-d tensor) rather than being ambiguous between shape and options.
template <typename T>
Tensor<T> from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<std::int64_t>(values.size())});
}
template <typename T, typename Options, typename = std::enable_if_t<std::is_same_v<Options, TensorOptions>>>
Tensor<T> from_vector(const std::vector<T>& values, Options options) {
  return from_vector(values, Shape{static_cast<std::int64_t>(values.size())}, options);
}
template <typename T = double>
Tensor<T> tensor(std::initializer_list<T> values, TensorOptions options = {}) {
  return from_vector(std::vector<T>(values), options);
}

// Copies an Eigen matrix or array (any storage order) into a tensor: a type that is
// a vector at compile time becomes 1-D, anything else 2-D [rows, cols].
template <typename Derived>
Tensor<typename Derived::Scalar> from_eigen(const Eigen::DenseBase<Derived>& m, TensorOptions options = {}) {
  using T = typename Derived::Scalar;
  const bool is_vector = Derived::RowsAtCompileTime == 1 || Derived::ColsAtCompileTime == 1;
  Tensor<T> t = is_vector ? detail::empty<T>({static_cast<std::int64_t>(m.size())})
                          : detail::empty<T>({static_cast<std::int64_t>(m.rows()), static_cast<std::int64_t>(m.cols())});
  detail::MatrixMap<T>(t.data_ptr(), m.rows(), m.cols()) = m.derived().matrix();
  return detail::finish(t, options);
}

}  // namespace tapegrad
