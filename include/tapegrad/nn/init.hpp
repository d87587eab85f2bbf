#pragma once
// tg::nn::init: PyTorch's initializers. Each fills its tensor in place, unrecorded (it
// works on parameters that require grad), from a tg::Generator (the calling thread's
// default one when none is given), bumps the tensor's version once and returns it.
//
//   tg::nn::init::kaiming_normal_(conv.weight, 0, tg::nn::init::FanMode::fan_out, "relu");
//   tg::nn::init::xavier_uniform_(lin.weight, tg::nn::init::calculate_gain("tanh"), gen);
//   tg::nn::init::zeros_(lin.bias);

#include "../core.hpp"
#include "../ops/decomposition.hpp"

#include <cmath>
#include <random>
#include <string>
#include <utility>

namespace tapegrad::nn::init {

enum class FanMode { fan_in, fan_out };

// PyTorch's table: linear, conv*, sigmoid, identity 1; tanh 5/3; relu sqrt(2);
// leaky_relu sqrt(2 / (1 + slope^2)) (slope `param`, default 0.01); selu 3/4.
inline double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt) {
  static const char* linear[] = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                                 "conv_transpose3d", "sigmoid", "identity"};
  for (const char* name : linear)
    if (nonlinearity == name) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    const double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1 + slope * slope));
  }
  if (nonlinearity == "selu") return 0.75;
  tapegrad::detail::fail<ValueError>("calculate_gain: unsupported nonlinearity \"", nonlinearity,
                                     "\" (linear, conv1d, conv2d, conv3d, conv_transpose1d/2d/3d, sigmoid, tanh, "
                                     "relu, leaky_relu, selu)");
}

// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field, where the
// receptive field is the product of the dims after the first two (1 for a matrix).
inline std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Shape& shape) {
  if (shape.size() < 2)
    tapegrad::detail::fail<ValueError>("calculate_fan_in_and_fan_out: fan in and fan out cannot be computed for a tensor "
                                       "with fewer than 2 dimensions (shape ", to_string(shape), ")");
  std::int64_t receptive = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

namespace detail {
// Writes values from `next()` into t, unrecorded, and bumps its version once.
template <typename T, typename Next>
Tensor<T>& fill_with(Tensor<T>& t, Next next) {
  T* p = t.data_ptr();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(next());
  NoGradGuard no_grad;
  t.add_(T(0));  // the version bump of an in-place write (the values are unchanged)
  return t;
}
inline std::int64_t fan(const Shape& s, FanMode mode) {
  const auto [in, out] = calculate_fan_in_and_fan_out(s);
  return mode == FanMode::fan_in ? in : out;
}
}  // namespace detail

template <typename T>
Tensor<T>& uniform_(Tensor<T>& t, double a = 0, double b = 1, Generator& gen = default_generator()) {
  if (!(a <= b)) tapegrad::detail::fail<ValueError>("uniform_: expected a <= b, got a = ", a, ", b = ", b);
  std::uniform_real_distribution<double> dist(a, b);
  return detail::fill_with(t, [&] { return dist(gen.engine()); });
}

template <typename T>
Tensor<T>& normal_(Tensor<T>& t, double mean = 0, double std = 1, Generator& gen = default_generator()) {
  if (!(std >= 0)) tapegrad::detail::fail<ValueError>("normal_: std must be >= 0, got ", std);
  std::normal_distribution<double> dist(mean, std);
  return detail::fill_with(t, [&] { return std == 0 ? mean : dist(gen.engine()); });
}

template <typename T>
Tensor<T>& constant_(Tensor<T>& t, double value) {
  return detail::fill_with(t, [&] { return value; });
}
template <typename T>
Tensor<T>& zeros_(Tensor<T>& t) {
  return constant_(t, 0.0);
}
template <typename T>
Tensor<T>& ones_(Tensor<T>& t) {
  return constant_(t, 1.0);
}

// The identity on a 2-D tensor (ones on the main diagonal of a rectangle).
template <typename T>
Tensor<T>& eye_(Tensor<T>& t) {
  if (t.dim() != 2) tapegrad::detail::fail<ValueError>("eye_: only 2-D tensors are supported, got shape ", to_string(t.shape()));
  const std::int64_t cols = t.size(1);
  std::int64_t i = 0;
  return detail::fill_with(t, [&] {
    const std::int64_t k = i++;
    return k / cols == k % cols ? 1.0 : 0.0;
  });
}

// U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)).
template <typename T>
Tensor<T>& xavier_uniform_(Tensor<T>& t, double gain = 1, Generator& gen = default_generator()) {
  const auto [in, out] = calculate_fan_in_and_fan_out(t.shape());
  const double a = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  return uniform_(t, -a, a, gen);
}
// N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).
template <typename T>
Tensor<T>& xavier_normal_(Tensor<T>& t, double gain = 1, Generator& gen = default_generator()) {
  const auto [in, out] = calculate_fan_in_and_fan_out(t.shape());
  return normal_(t, 0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), gen);
}

// U(-bound, bound), bound = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
// Linear's default is kaiming_uniform_(w, sqrt(5)): bound 1 / sqrt(fan_in).
template <typename T>
Tensor<T>& kaiming_uniform_(Tensor<T>& t, double a = 0, FanMode mode = FanMode::fan_in,
                            const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator()) {
  const double gain = calculate_gain(nonlinearity, a);
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(detail::fan(t.shape(), mode)));
  return uniform_(t, -bound, bound, gen);
}
// N(0, std^2), std = gain / sqrt(fan).
template <typename T>
Tensor<T>& kaiming_normal_(Tensor<T>& t, double a = 0, FanMode mode = FanMode::fan_in,
                           const std::string& nonlinearity = "leaky_relu", Generator& gen = default_generator()) {
  const double gain = calculate_gain(nonlinearity, a);
  return normal_(t, 0, gain / std::sqrt(static_cast<double>(detail::fan(t.shape(), mode))), gen);
}

// N(mean, std^2) truncated to [a, b], by the inverse CDF of a uniform draw between the
// bounds' CDF values (PyTorch's method).
template <typename T>
Tensor<T>& trunc_normal_(Tensor<T>& t, double mean = 0, double std = 1, double a = -2, double b = 2,
                         Generator& gen = default_generator()) {
  if (!(a < b)) tapegrad::detail::fail<ValueError>("trunc_normal_: expected a < b, got a = ", a, ", b = ", b);
  if (!(std > 0)) tapegrad::detail::fail<ValueError>("trunc_normal_: std must be > 0, got ", std);
  auto cdf = [](double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); };
  const double lo = 2 * cdf((a - mean) / std) - 1, hi = 2 * cdf((b - mean) / std) - 1;
  std::uniform_real_distribution<double> dist(lo, hi);
  return detail::fill_with(t, [&] {
    // x = mean + std sqrt(2) erfinv(u), u uniform on [2 cdf(a') - 1, 2 cdf(b') - 1]
    const double u = dist(gen.engine());
    // erfinv by Newton's method on erf from a rational start (converges in a few steps).
    double x = u == 0 ? 0 : std::copysign(std::sqrt(-std::log((1 - std::abs(u)) / 2 + 1e-300)), u) * 0.8;
    for (int k = 0; k < 60; ++k) {
      const double err = std::erf(x) - u;
      x -= err / (1.1283791670955126 * std::exp(-x * x));  // erf'(x) = 2 / sqrt(pi) e^(-x^2)
      x = std::min(std::max(x, -6.0), 6.0);
      if (std::abs(err) < 1e-16) break;
    }
    return std::min(std::max(mean + std * std::sqrt(2.0) * x, a), b);
  });
}

// A (semi-)orthogonal matrix over the tensor flattened to [size(0), rest]: Q of the QR
// decomposition of a normal matrix, with the signs of R's diagonal folded in so that Q
// is uniformly distributed (PyTorch's method), times gain.
template <typename T>
Tensor<T>& orthogonal_(Tensor<T>& t, double gain = 1, Generator& gen = default_generator()) {
  if (t.dim() < 2)
    tapegrad::detail::fail<ValueError>("orthogonal_: only tensors with 2 or more dimensions are supported, got shape ",
                                       to_string(t.shape()));
  const std::int64_t rows = t.size(0), cols = t.numel() / rows;
  using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
  std::normal_distribution<double> dist(0, 1);
  Matrix a(std::max(rows, cols), std::min(rows, cols));  // tall: QR gives orthonormal columns
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = dist(gen.engine());
  Eigen::HouseholderQR<Matrix> qr(a);
  Matrix q = qr.householderQ() * Matrix::Identity(a.rows(), a.cols());
  const Matrix r = qr.matrixQR().topRows(a.cols()).template triangularView<Eigen::Upper>();
  for (Eigen::Index j = 0; j < q.cols(); ++j)
    if (r(j, j) < 0) q.col(j) *= -1;
  if (rows < cols) q.transposeInPlace();  // wide: orthonormal rows
  std::int64_t k = 0;
  return detail::fill_with(t, [&] {
    const std::int64_t i = k++;
    return gain * q(i / cols, i % cols);
  });
}

}  // namespace tapegrad::nn::init
