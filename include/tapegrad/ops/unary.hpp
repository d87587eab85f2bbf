#pragma once
// Element-wise math: exp, log, sqrt, abs, sign, sin, cos, tanh, sigmoid, relu;
// clamp, clamp_min, clamp_max; floor, ceil, round, trunc; expm1, log1p, log2, log10,
// exp2, rsqrt, reciprocal, square; tan, asin, acos, atan, atan2, sinh, cosh, asinh,
// acosh, atanh; erf, erfc, lgamma, digamma, polygamma.
// Where the derivative is a function of the output (exp, sqrt, tanh, sigmoid, ...) the
// output is saved instead of recomputing it.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "../core/factory.hpp"
#include "arithmetic.hpp"

namespace tapegrad {

// ---- helpers shared by the element-wise ops and the activations ----

namespace detail {
namespace ew {

// g (1 - y^2), tanh's backward from its output y, in one pass (PyTorch's
// tanh_backward): sub and two muls had each written a temporary the size of the
// activation. Recorded with its own derivatives, so tanh'' works:
//   d/dg = 1 - y^2,   d/dy = -2 g y
struct TanhBackwardFn {
  template <typename G, typename Y>
  auto operator()(const G& g, const Y& y) const { return g * (typename G::Scalar(1) - y * y); }
};
template <typename T>
Tensor<T> tanh_backward(const Tensor<T>& g, const Tensor<T>& y) {
  Tensor<T> out = binary_map<TanhBackwardFn>("tanh backward", g, y);
  return record(out, "TanhBackwardBackward0", {g, y}, [sg = save(g), sy = save(y)](Grads<T>& gr) {
    const Tensor<T> yv = gr[sy];
    if (gr.needs(0)) gr.in[0] = tanh_backward(gr.out, yv);
    if (gr.needs(1)) gr.in[1] = gr.out * gr[sg] * yv * T(-2);
  });
}

// 1 where pred(x) holds, else 0: a constant mask (no gradient flows through it).
template <typename T, typename P>
Tensor<T> mask(const Tensor<T>& x, P pred) {
  Tensor<T> out = empty<T>(x.shape());
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t i = 0, n = x.numel(); i < n; ++i) po[i] = pred(px[i]) ? T(1) : T(0);
  return out;
}

// t with the elements where pred(x) holds set to 0 (not multiplied by 0: an infinite
// upstream gradient gives 0 there, as PyTorch's where(mask, grad, 0) does).
template <typename T, typename P>
Tensor<T> zero_if(const Tensor<T>& t, const Tensor<T>& x, P pred) {
  return zero_where(t, mask(x, pred));
}

// The gradient of a piecewise-constant op: zeros shaped like g (zeros_like(grad)).
template <typename T>
Tensor<T> zero_grad(const Tensor<T>& g) {
  return zeros_like(g);
}

// Redoes e^x with std::exp where it is subnormal or 0 (x below log of the smallest
// normal number). Eigen 3.4.0's vectorised exp clamps its argument near -709.8 (-103 for
// float) and returns about 5.6e-309 (2.9e-39 for float) from there on, even for -inf,
// and inexact values in the subnormal range; std::exp gives 0 and the exact subnormals.
template <typename T>
void fix_exp_underflow(const T* px, T* po, std::int64_t n) {
  const T normal_floor = std::log(std::numeric_limits<T>::min());
  for (std::int64_t i = 0; i < n; ++i)
    if (px[i] < normal_floor) po[i] = std::exp(px[i]);
}

// sqrt(x), correctly rounded. For float Eigen 3.4 (with its default EIGEN_FAST_MATH)
// vectorises sqrt as an approximate rsqrt plus one Newton step: up to ~4 ulp off, nan at
// +inf and 0 for subnormals; so float takes std::sqrt. Double's packet sqrt is exact.
template <typename T>
Tensor<T> sqrt_kernel(const Tensor<T>& x) {
  if constexpr (std::is_same_v<T, float>) {
    Tensor<T> out = empty<T>(x.shape());
    const T* px = x.data_ptr();
    T* po = out.data_ptr();
    for (std::int64_t i = 0, n = x.numel(); i < n; ++i) po[i] = std::sqrt(px[i]);
    return out;
  } else {
    return unary_map(x, [](const auto& a) { return a.sqrt(); });
  }
}

// tanh(x) for double, vectorised. Eigen 3.4 vectorises tanh for float only; double went
// to scalar libm (tanh calling expm1: a fifth of the small-model training step).
//   |x| <= 0.625:  x + x^3 P(x^2) / Q(x^2), Cephes' rational approximation
//   |x| >  0.625:  1 - 2 / (e^{2|x|} + 1), with Eigen's vectorised exp
// and the sign bit of x last, so tanh(-0) = -0. At 2|x| = 40 the term 2 / (e^40 + 1) is
// below half an ulp of 1, so the exp argument is capped there (no overflow: +-inf give
// +-1). A nan stays nan. Within 2 ulp of std::tanh (tested).
// Written with Eigen's packet functions (Eigen::internal, stable through 3.3 and 3.4)
// because the choice between the two formulas is a select: Eigen 3.4's Array::select
// is scalar, and GCC leaves a loop with a ternary scalar below SSE4.1.
inline Eigen::internal::packet_traits<double>::type tanh_packet(
    const Eigen::internal::packet_traits<double>::type& x) {
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<double>::type;
  const auto c = [](double v) { return ei::pset1<Packet>(v); };
  const Packet a = ei::pabs(x), s = ei::pmul(a, a);
  const Packet p = ei::pmadd(ei::pmadd(c(-9.64399179425052238628e-1), s, c(-9.92877231001918586564e1)), s,
                             c(-1.61468768441708447952e3));
  const Packet q = ei::pmadd(ei::pmadd(ei::padd(s, c(1.12811678491632931402e2)), s, c(2.23548839060100448583e3)),
                             s, c(4.84406305325125486048e3));
  const Packet near_zero = ei::pmadd(ei::pmul(a, s), ei::pdiv(p, q), a);
  const Packet exp_2a = ei::pexp(ei::pmin(ei::padd(a, a), c(40.0)));
  const Packet saturating = ei::psub(c(1.0), ei::pdiv(c(2.0), ei::padd(exp_2a, c(1.0))));
  const Packet magnitude = ei::pselect(ei::pcmp_lt(c(0.625), a), saturating, near_zero);
  return ei::por(magnitude, ei::pand(x, c(-0.0)));  // the sign bit of x
}

inline void tanh_packets(const double* x, double* out, std::int64_t n) {
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<double>::type;
  constexpr std::int64_t width = ei::packet_traits<double>::size;
  std::int64_t i = 0;
  for (; i + width <= n; i += width) ei::pstoreu(out + i, tanh_packet(ei::ploadu<Packet>(x + i)));
  if (i == n) return;
  double tail[width] = {};  // the last partial packet, padded with zeros
  std::copy(x + i, x + n, tail);
  ei::pstoreu(tail, tanh_packet(ei::ploadu<Packet>(tail)));
  std::copy(tail, tail + (n - i), out + i);
}

// The packets pay off from AVX on (6x libm's speed with AVX-512, 3x with AVX2). With
// SSE2 alone, Eigen's two-wide exp is slower than libm's, so those builds keep std::tanh.
#ifdef EIGEN_VECTORIZE_AVX
inline constexpr bool kTanhDoubleInPackets = true;
#else
inline constexpr bool kTanhDoubleInPackets = false;
#endif

template <typename T>
Tensor<T> tanh_kernel(const Tensor<T>& x) {
  if constexpr (std::is_same_v<T, double> && kTanhDoubleInPackets) {
    Tensor<T> out = empty<T>(x.shape());
    tanh_packets(x.data_ptr(), out.data_ptr(), x.numel());
    return out;
  } else {
    return unary_map(x, [](const auto& a) { return a.tanh(); });  // float: Eigen's packet tanh; double: std::tanh
  }
}

// x with NaN-propagating bounds: min(max(x, lo), hi), so lo > hi gives hi everywhere.
template <typename T>
Tensor<T> clamp_kernel(const Tensor<T>& x, T lo, T hi) {
  Tensor<T> out = empty<T>(x.shape());
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t i = 0, n = x.numel(); i < n; ++i) {
    T v = px[i];
    v = v < lo ? lo : v;  // a nan compares false and stays nan
    v = v > hi ? hi : v;
    po[i] = v;
  }
  return out;
}

}  // namespace ew
}  // namespace detail

template <typename T>
Tensor<T> exp(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.exp(); });
  detail::ew::fix_exp_underflow(x.data_ptr(), out.data_ptr(), x.numel());  // exact 0 for x -> -inf
  // d/dx e^x = e^x
  return record(out, "ExpBackward0", {x}, [so = save_output(out)](Grads<T>& g) { g.in[0] = g.out * g[so]; });
}

template <typename T>
Tensor<T> log(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.log(); });
  // d/dx log x = 1/x
  return record(out, "LogBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out / g[sx]; });
}

template <typename T>
Tensor<T> sqrt(const Tensor<T>& x) {
  Tensor<T> out = detail::ew::sqrt_kernel(x);
  // d/dx sqrt(x) = 1 / (2 sqrt(x)); infinite at 0, as in PyTorch
  return record(out, "SqrtBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    g.in[0] = g.out / (g[so] * T(2));
  });
}

// sign(x) in {-1, 0, 1}; piecewise constant, so its gradient is 0.
template <typename T>
Tensor<T> sign(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.sign(); });
  // NOTE: zeros, as floor and round, not g * 0 (which is nan for an infinite g).
  return record(out, "SignBackward0", {x}, [](Grads<T>& g) { g.in[0] = detail::ew::zero_grad(g.out); });
}

// NOTE: abs'(0) = 0 (the subgradient PyTorch uses).
template <typename T>
Tensor<T> abs(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.abs(); });
  // d/dx |x| = sign(x)
  return record(out, "AbsBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * sign(g[sx]); });
}

template <typename T>
Tensor<T> sin(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.sin(); });
  // d/dx sin x = cos x
  return record(out, "SinBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * cos(g[sx]); });
}

template <typename T>
Tensor<T> cos(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.cos(); });
  // d/dx cos x = -sin x
  return record(out, "CosBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = -g.out * sin(g[sx]); });
}

template <typename T>
Tensor<T> tanh(const Tensor<T>& x) {
  Tensor<T> out = detail::ew::tanh_kernel(x);
  // d/dx tanh(x) = 1 - tanh(x)^2
  return record(out, "TanhBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    g.in[0] = detail::ew::tanh_backward(g.out, g[so]);
  });
}

template <typename T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  // 1 / (1 + e^-x): for x -> -inf, e^-x -> inf and the result -> 0 without a nan.
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return T(1) / (T(1) + (-a).exp()); });
  // d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))
  return record(out, "SigmoidBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    const Tensor<T> y = g[so];
    g.in[0] = g.out * y * (T(1) - y);
  });
}

// NOTE: relu'(0) = 0, as in PyTorch.
template <typename T>
Tensor<T> relu(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.max(T(0)); });
  // d/dx max(x, 0) = [x > 0] (read off the output: relu(x) > 0 exactly where x > 0);
  // the mask is a constant, so relu'' = 0
  return record(out, "ReluBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    g.in[0] = detail::keep_where_positive(g.out, g[so]);
  });
}

// ---- clamp ----

namespace detail {
namespace ew {
// clamp with absent bounds as -inf / +inf. The gradient passes where lo <= x <= hi.
template <typename T>
Tensor<T> clamp_impl(const Tensor<T>& x, T lo, T hi, const char* name) {
  Tensor<T> out = clamp_kernel(x, lo, hi);
  return record(out, name, {x}, [sx = save(x), lo, hi](Grads<T>& g) {
    // d/dx clamp(x, lo, hi) = [lo <= x <= hi]; a constant mask, so clamp'' = 0
    g.in[0] = zero_if(g.out, g[sx], [lo, hi](T v) { return !(v >= lo && v <= hi); });
  });
}

template <typename T>
void check_bound(const char* op, const char* which, T value) {
  if (std::isnan(value))
    fail<ValueError>(op, ": ", which, " is nan; pass a number, or std::nullopt for no bound");
}

// clamp(x, min, max) with each optional bound as (present, value).
template <typename T>
Tensor<T> clamp_bounds(const Tensor<T>& x, bool has_min, T min, bool has_max, T max) {
  if (!has_min && !has_max)
    fail<ValueError>("clamp: at least one of min and max must be given (both are std::nullopt); "
                     "use clamp_min(x, lo) or clamp_max(x, hi) for a one-sided bound");
  if (has_min) check_bound("clamp", "min", min);
  if (has_max) check_bound("clamp", "max", max);
  const T lo = has_min ? min : -std::numeric_limits<T>::infinity();
  const T hi = has_max ? max : std::numeric_limits<T>::infinity();
  return clamp_impl(x, lo, hi, "ClampBackward1");
}
}  // namespace ew
}  // namespace detail

// min(max(x, min), max) element-wise; either bound may be std::nullopt (absent).
// As in PyTorch, min > max sets every element to max (with zero gradient everywhere);
// a nan element stays nan. Throws ValueError when both bounds are absent or a bound is nan
// (PyTorch propagates a nan bound into every element; tapegrad refuses it).
// NOTE: at x == min or x == max the gradient is 1 (PyTorch's subgradient: the gradient
// passes where min <= x <= max), 0 strictly outside.
template <typename T>
Tensor<T> clamp(const Tensor<T>& x, detail::type_identity_t<std::optional<T>> min,
                detail::type_identity_t<std::optional<T>> max = std::nullopt) {
  // The bounds leave their optionals here: GCC warns (wrongly) about reading an empty
  // optional's value when one is copied further down.
  return detail::ew::clamp_bounds(x, min.has_value(), min.value_or(T(0)), max.has_value(), max.value_or(T(0)));
}

// max(x, min). NOTE: gradient 1 at x == min (passes where x >= min), as in PyTorch.
template <typename T>
Tensor<T> clamp_min(const Tensor<T>& x, detail::type_identity_t<T> min) {
  detail::ew::check_bound("clamp_min", "min", min);
  return detail::ew::clamp_impl(x, min, std::numeric_limits<T>::infinity(), "ClampMinBackward0");
}

// min(x, max). NOTE: gradient 1 at x == max (passes where x <= max), as in PyTorch.
template <typename T>
Tensor<T> clamp_max(const Tensor<T>& x, detail::type_identity_t<T> max) {
  detail::ew::check_bound("clamp_max", "max", max);
  return detail::ew::clamp_impl(x, -std::numeric_limits<T>::infinity(), max, "ClampMaxBackward0");
}

// ---- rounding: piecewise constant, gradient 0 everywhere (also at the jumps) ----

template <typename T>
Tensor<T> floor(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.floor(); });
  return record(out, "FloorBackward0", {x}, [](Grads<T>& g) { g.in[0] = detail::ew::zero_grad(g.out); });
}

template <typename T>
Tensor<T> ceil(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.ceil(); });
  return record(out, "CeilBackward0", {x}, [](Grads<T>& g) { g.in[0] = detail::ew::zero_grad(g.out); });
}

// Rounds half to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0), as torch.round.
template <typename T>
Tensor<T> round(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::nearbyint(v); }); });
  return record(out, "RoundBackward0", {x}, [](Grads<T>& g) { g.in[0] = detail::ew::zero_grad(g.out); });
}

// Rounds to `decimals` decimal places (negative: to tens, hundreds, ...), half to even
// on the scaled value, as torch.round(x, decimals=d): round(x * 10^d) / 10^d. Unlike
// PyTorch, an x so large that x * 10^d overflows or is already integral is returned
// unchanged instead of becoming inf or nan.
template <typename T>
Tensor<T> round(const Tensor<T>& x, std::int64_t decimals) {
  const bool negative = decimals < 0;
  const T ten_pow = std::pow(T(10), static_cast<T>(negative ? -decimals : decimals));
  // Beyond 2^(digits-1) every representable value is an integer.
  const T integral = std::ldexp(T(1), std::numeric_limits<T>::digits - 1);
  Tensor<T> out = empty<T>(x.shape());
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t i = 0, n = x.numel(); i < n; ++i) {
    const T v = px[i];
    if (!std::isfinite(v)) {
      po[i] = v;
      continue;
    }
    const T scaled = negative ? v / ten_pow : v * ten_pow;
    if (!(std::fabs(scaled) < integral)) {
      po[i] = v;
      continue;
    }
    const T r = std::nearbyint(scaled);
    po[i] = r == T(0) ? r : (negative ? r * ten_pow : r / ten_pow);
  }
  return record(out, "RoundBackward1", {x}, [](Grads<T>& g) { g.in[0] = detail::ew::zero_grad(g.out); });
}

// Rounds toward zero.
template <typename T>
Tensor<T> trunc(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::trunc(v); }); });
  return record(out, "TruncBackward0", {x}, [](Grads<T>& g) { g.in[0] = detail::ew::zero_grad(g.out); });
}

// ---- exponentials, logarithms, powers ----

// e^x - 1, accurate for small x.
template <typename T>
Tensor<T> expm1(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.expm1(); });
  // d/dx (e^x - 1) = e^x = y + 1
  return record(out, "Expm1Backward0", {x}, [so = save_output(out)](Grads<T>& g) { g.in[0] = g.out * (g[so] + T(1)); });
}

// log(1 + x), accurate for small x.
template <typename T>
Tensor<T> log1p(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.log1p(); });
  // d/dx log(1 + x) = 1 / (1 + x); infinite at x = -1
  return record(out, "Log1PBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out / (g[sx] + T(1)); });
}

template <typename T>
Tensor<T> log2(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::log2(v); }); });
  // d/dx log2(x) = 1 / (x ln 2)
  return record(out, "Log2Backward0", {x}, [sx = save(x)](Grads<T>& g) {
    g.in[0] = g.out / (g[sx] * static_cast<T>(0.693147180559945309417232121458176568L));
  });
}

template <typename T>
Tensor<T> log10(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::log10(v); }); });
  // d/dx log10(x) = 1 / (x ln 10)
  return record(out, "Log10Backward0", {x}, [sx = save(x)](Grads<T>& g) {
    g.in[0] = g.out / (g[sx] * static_cast<T>(2.30258509299404568401799145468436421L));
  });
}

template <typename T>
Tensor<T> exp2(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::exp2(v); }); });
  // d/dx 2^x = 2^x ln 2
  return record(out, "Exp2Backward0", {x}, [so = save_output(out)](Grads<T>& g) {
    g.in[0] = g.out * g[so] * static_cast<T>(0.693147180559945309417232121458176568L);
  });
}

// 1 / sqrt(x)
template <typename T>
Tensor<T> rsqrt(const Tensor<T>& x) {
  // 1 / sqrt(x) with the exact sqrt (see sqrt_kernel); Eigen's own rsqrt is approximate
  // for float and wrong for subnormals.
  Tensor<T> out = detail::ew::sqrt_kernel(x);
  detail::vec(out) = T(1) / detail::vec(out);
  // d/dx x^(-1/2) = -x^(-3/2) / 2 = -y^3 / 2; -inf at x = 0, as in PyTorch
  return record(out, "RsqrtBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    const Tensor<T> y = g[so];
    g.in[0] = g.out * y * y * y * T(-0.5);
  });
}

// 1 / x
template <typename T>
Tensor<T> reciprocal(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return T(1) / a; });
  // d/dx 1/x = -1/x^2 = -y^2
  return record(out, "ReciprocalBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    const Tensor<T> y = g[so];
    g.in[0] = -g.out * y * y;
  });
}

// x^2. As torch.square it is pow(x, 2): its grad_fn is PowBackward0.
template <typename T>
Tensor<T> square(const Tensor<T>& x) {
  return pow(x, T(2));
}

// ---- trigonometric and hyperbolic ----

template <typename T>
Tensor<T> tan(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.tan(); });
  // d/dx tan x = 1 + tan^2 x
  return record(out, "TanBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    const Tensor<T> y = g[so];
    g.in[0] = g.out * (y * y + T(1));
  });
}

// Domain [-1, 1] (nan outside).
template <typename T>
Tensor<T> asin(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.asin(); });
  // d/dx asin x = 1 / sqrt(1 - x^2); inf at x = +-1, as in PyTorch
  return record(out, "AsinBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out * rsqrt(T(1) - xv * xv);
  });
}

// Domain [-1, 1] (nan outside).
template <typename T>
Tensor<T> acos(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.acos(); });
  // d/dx acos x = -1 / sqrt(1 - x^2); -inf at x = +-1, as in PyTorch
  return record(out, "AcosBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = -g.out * rsqrt(T(1) - xv * xv);
  });
}

template <typename T>
Tensor<T> atan(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.atan(); });
  // d/dx atan x = 1 / (1 + x^2)
  return record(out, "AtanBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out / (xv * xv + T(1));
  });
}

namespace detail {
namespace ew {
struct Atan2Fn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const {
    using S = typename A::Scalar;
    return a.binaryExpr(b, [](S y, S x) { return std::atan2(y, x); });
  }
};
}  // namespace ew
}  // namespace detail

// atan2(a, b): the angle of the point (b, a), in [-pi, pi], broadcasting as NumPy.
// NOTE: at a = b = 0 both partial derivatives are nan (0 / 0), as in PyTorch.
template <typename T>
Tensor<T> atan2(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = detail::binary_map<detail::ew::Atan2Fn>("atan2", a, b);
  return record(out, "Atan2Backward0", {a, b}, [sa = save(a), sb = save(b)](Grads<T>& g) {
    const Tensor<T> av = g[sa], bv = g[sb];
    const Tensor<T> r = reciprocal(av * av + bv * bv);
    if (g.needs(0)) g.in[0] = g.out * bv * r;   // d/da atan2(a, b) = b / (a^2 + b^2)
    if (g.needs(1)) g.in[1] = -g.out * av * r;  // d/db atan2(a, b) = -a / (a^2 + b^2)
  });
}

template <typename T>
Tensor<T> sinh(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.sinh(); });
  // d/dx sinh x = cosh x
  return record(out, "SinhBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * cosh(g[sx]); });
}

template <typename T>
Tensor<T> cosh(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.cosh(); });
  // d/dx cosh x = sinh x
  return record(out, "CoshBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * sinh(g[sx]); });
}

template <typename T>
Tensor<T> asinh(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::asinh(v); }); });
  // d/dx asinh x = 1 / sqrt(x^2 + 1)
  return record(out, "AsinhBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out * rsqrt(xv * xv + T(1));
  });
}

// Domain [1, inf) (nan below).
template <typename T>
Tensor<T> acosh(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::acosh(v); }); });
  // d/dx acosh x = 1 / sqrt(x^2 - 1), with x^2 - 1 formed as (x - 1)(x + 1) for accuracy
  // near 1; inf at x = 1, as in PyTorch
  return record(out, "AcoshBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out * rsqrt((xv - T(1)) * (xv + T(1)));
  });
}

// Domain [-1, 1]: +-inf at +-1, nan outside.
template <typename T>
Tensor<T> atanh(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::atanh(v); }); });
  // d/dx atanh x = 1 / (1 - x^2) = 1 / ((1 - x)(1 + x))
  return record(out, "AtanhBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out / ((T(1) - xv) * (xv + T(1)));
  });
}

// ---- error and gamma functions ----

namespace detail {
namespace ew {
template <typename T>
inline constexpr T two_over_sqrt_pi = static_cast<T>(1.12837916709551257389615890312154517L);
}  // namespace ew
}  // namespace detail

template <typename T>
Tensor<T> erf(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::erf(v); }); });
  // d/dx erf x = 2/sqrt(pi) e^(-x^2)
  return record(out, "ErfBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out * exp(-(xv * xv)) * detail::ew::two_over_sqrt_pi<T>;
  });
}

// 1 - erf(x), without the cancellation for large x.
template <typename T>
Tensor<T> erfc(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::erfc(v); }); });
  // d/dx erfc x = -2/sqrt(pi) e^(-x^2)
  return record(out, "ErfcBackward0", {x}, [sx = save(x)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    g.in[0] = g.out * exp(-(xv * xv)) * -detail::ew::two_over_sqrt_pi<T>;
  });
}

namespace detail {
namespace special {

inline constexpr double kPi = 3.14159265358979323846264338327950288;

// B_2j / (2j) for j = 1..10: the coefficients of the asymptotic series
// psi(z) ~ ln z - 1/(2z) - sum_j B_2j / (2j z^2j).
inline constexpr double kDigammaSeries[10] = {
    1.0 / 12,           -1.0 / 120,        1.0 / 252,         -1.0 / 240,         1.0 / 132,
    -691.0 / 32760,     1.0 / 12,          -3617.0 / 8160,    43867.0 / 14364,    -174611.0 / 6600};

// B_2j / (2j)! for j = 1..10: the Euler-Maclaurin coefficients of the Hurwitz zeta
// function zeta(s, z) ~ z^(1-s)/(s-1) + z^(-s)/2 + sum_j B_2j/(2j)! s(s+1)..(s+2j-2) z^(-s-2j+1).
inline constexpr double kZetaSeries[10] = {1.0 / 6 / 2,
                                    -1.0 / 30 / 24,
                                    1.0 / 42 / 720,
                                    -1.0 / 30 / 40320,
                                    5.0 / 66 / 3628800,
                                    -691.0 / 2730 / 479001600,
                                    7.0 / 6 / 87178291200.0,
                                    -3617.0 / 510 / 20922789888000.0,
                                    43867.0 / 798 / 6402373705728000.0,
                                    -174611.0 / 330 / 2432902008176640000.0};

// n! / a^p for a > 0, without under- or overflowing intermediates where the result is
// finite: a^-p whole, or as two halves (n! (a^-p/2)) a^-p/2, while n! is finite (n <= 170);
// beyond, e^(log n! - p log a), good to about |log result| * 1e-16 relative.
inline double factorial_over_pow(double factorial, double log_factorial, double a, double p) {
  if (std::isfinite(factorial)) {
    const double lp = p * std::log(a);
    if (lp < 690 && lp > -690) return factorial * std::pow(a, -p);
    const double half = std::pow(a, -p / 2);
    return factorial * half * half;
  }
  return std::exp(log_factorial - p * std::log(a));
}

// digamma (psi), the derivative of lgamma. For x > 0: shift x up to z >= 10 with
// psi(x) = psi(x + 1) - 1/x, then the asymptotic series (10 terms; the first omitted
// term is below 1e-20 at z = 10). For x < 0 the reflection psi(x) = psi(1 - x) - pi cot(pi x)
// (cot taken of the exact fractional part of x). As PyTorch: psi(+0) = -inf, psi(-0) = +inf,
// nan at the negative integers (the poles, where the sign of the infinity is undefined).
inline double digamma(double x) {
  if (std::isnan(x)) return x;
  if (x == 0) return std::copysign(std::numeric_limits<double>::infinity(), -x);
  if (x < 0) {
    if (x == std::trunc(x)) return std::numeric_limits<double>::quiet_NaN();  // also -inf
    const double r = x - std::trunc(x);  // exact, in (-1, 0)
    return digamma(1 - x) - kPi / std::tan(kPi * r);
  }
  if (std::isinf(x)) return x;
  double shift = 0;
  int k = 0;
  for (; x + k < 10; ++k) shift += 1 / (x + k);
  const double z = x + k;
  const double inv_z2 = 1 / (z * z);
  double series = 0, power = inv_z2;
  for (double c : kDigammaSeries) {
    series += c * power;
    power *= inv_z2;
  }
  return std::log(z) - 0.5 / z - series - shift;
}

// The polynomial P_n with d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x)): P_0(c) = c,
// P_{k+1}(c) = -(1 + c^2) P_k'(c). All its terms have the sign of (-1)^n c^(n+1),
// so evaluating it does not cancel.
inline double cot_derivative_poly(std::int64_t n, double c) {
  std::vector<double> p(static_cast<std::size_t>(n + 2), 0.0), q(p.size(), 0.0);
  p[1] = 1;
  for (std::int64_t k = 0; k < n; ++k) {
    // q = P_k', then p = -(1 + c^2) q
    std::fill(q.begin(), q.end(), 0.0);
    for (std::size_t i = 0; i + 1 < p.size(); ++i) q[i] = static_cast<double>(i + 1) * p[i + 1];
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = -(q[i] + (i >= 2 ? q[i - 2] : 0.0));
  }
  double v = 0;
  for (std::size_t i = p.size(); i-- > 0;) v = v * c + p[i];
  return v;
}

// The Euler-Maclaurin bracket of n! zeta(n+1, z) = n! z^-n * bracket:
// 1/n + 1/(2z) + sum_j B_2j/(2j)! (n+1)(n+2)..(n+2j-1) z^-2j (10 terms; positive).
inline double zeta_bracket(double nd, double z) {
  const double inv_z2 = 1 / (z * z);
  double bracket = 1 / nd + 0.5 / z;
  double t = (nd + 1) * inv_z2;  // (n+1)_(2j-1) z^-2j for j = 1
  for (int j = 0; j < 10; ++j) {
    bracket += kZetaSeries[j] * t;
    t *= (nd + 2 * j + 2) * (nd + 2 * j + 3) * inv_z2;
  }
  return bracket;
}

// Neumaier's compensated sum: exact when large terms cancel (as the pair
// (-1/2)^-(n+1) + (1/2)^-(n+1) does for even n), where a plain sum would have rounded
// away everything added before them.
struct CompensatedSum {
  double sum = 0, compensation = 0;
  void add(double term) {
    const double t = sum + term;
    compensation += std::fabs(sum) >= std::fabs(term) ? (sum - t) + term : (term - t) + sum;
    sum = t;
  }
  double value() const { return sum + compensation; }
};

// n! zeta(n+1, x) = n! sum_{k<N} (x+k)^-(n+1) + n! zeta(n+1, x+N), for n >= 1 and any x
// that is not a pole, with N such that z = x + N >= n + 20. There each Euler-Maclaurin
// term is below 2 (2 pi)^-2j of the leading one, so the truncation is under 1e-17
// relative. For x < 0 the terms next to the pole, x + k for k near -x, are exact.
// If a term overflows (huge n! or a base near 0) the sum is redone scaled by its
// largest term, so the result is +-inf or finite, never inf - inf = nan.
inline double hurwitz_factorial(std::int64_t n, double x) {
  const double nd = static_cast<double>(n);
  double factorial = 1;
  for (std::int64_t i = 2; i <= n; ++i) factorial *= static_cast<double>(i);
  const double log_factorial = std::lgamma(nd + 1);
  const bool odd_power = (n + 1) % 2 == 1;  // (x+k)^-(n+1) is negative for x + k < 0
  std::int64_t count = 0;
  while (x + static_cast<double>(count) < nd + 20) ++count;
  const double z = x + static_cast<double>(count);
  const double bracket = zeta_bracket(nd, z);
  CompensatedSum sum;
  sum.add(factorial_over_pow(factorial, log_factorial, z, nd) * bracket);
  for (std::int64_t k = count; k-- > 0;) {  // smallest terms first
    const double a = x + static_cast<double>(k);
    const double term = factorial_over_pow(factorial, log_factorial, std::fabs(a), nd + 1);
    sum.add(a < 0 && odd_power ? -term : term);
  }
  if (std::isfinite(sum.value())) return sum.value();
  // Scaled: every term as e^(log|term| - log_max).
  const double log_tail = log_factorial - nd * std::log(z) + std::log(bracket);
  double log_max = log_tail;
  for (std::int64_t k = 0; k < count; ++k)
    log_max = std::max(log_max, log_factorial - (nd + 1) * std::log(std::fabs(x + static_cast<double>(k))));
  CompensatedSum scaled;
  scaled.add(std::exp(log_tail - log_max));
  for (std::int64_t k = count; k-- > 0;) {
    const double a = x + static_cast<double>(k);
    const double term = std::exp(log_factorial - (nd + 1) * std::log(std::fabs(a)) - log_max);
    scaled.add(a < 0 && odd_power ? -term : term);
  }
  const double v = scaled.value();
  return std::copysign(std::exp(log_max + std::log(std::fabs(v))), v);
}

// polygamma(n, x) = d^n/dx^n digamma(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1,
// by hurwitz_factorial for x >= -1e4 (the work grows with n - x). Further left, the
// reflection formula differentiated n times,
//   psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)),
// with cot taken of the exact fractional part of x (used only there: next to the
// half-integers its result for larger n is far less accurate than the direct sum's).
// The negative half-integers with even n, where the direct sum cancels exactly, take
// the reflection with its exact cot = 0.
// At the poles x = 0, -1, -2, ... the limit from the right, (-1)^(n+1) inf (PyTorch's
// values); polygamma(n, +inf) = 0, polygamma(n, -inf) = nan.
inline double polygamma(std::int64_t n, double x) {
  if (n == 0) return digamma(x);
  if (std::isnan(x)) return x;
  const double sign = n % 2 == 1 ? 1.0 : -1.0;  // (-1)^(n+1)
  if (std::isinf(x)) return x > 0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  if (x <= 0 && x == std::trunc(x)) return sign * std::numeric_limits<double>::infinity();
  // Negative half-integers, even n: the terms of (x+k)^-(n+1) for x + k in [x, -x] cancel
  // in pairs, exactly, leaving zeta(n+1, 1 - x): psi^(n)(x) = psi^(n)(1 - x) (the
  // reflection with cot(pi x) = 0).
  if (x < 0 && n % 2 == 0 && 2 * x == std::trunc(2 * x)) return polygamma(n, 1 - x);
  if (x < -1e4) {
    const double r = x - std::trunc(x);  // exact, in (-1, 0)
    const double c = 1 / std::tan(kPi * r);
    const double reflected = (n % 2 == 0 ? 1.0 : -1.0) * polygamma(n, 1 - x);
    return reflected - std::pow(kPi, static_cast<double>(n + 1)) * cot_derivative_poly(n, c);
  }
  return sign * hurwitz_factorial(n, x);
}

}  // namespace special
}  // namespace detail

template <typename T>
Tensor<T> digamma(const Tensor<T>& x);

// log |Gamma(x)|; +inf at 0 and the negative integers.
template <typename T>
Tensor<T> lgamma(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.unaryExpr([](T v) { return std::lgamma(v); }); });
  // d/dx log |Gamma(x)| = digamma(x)
  return record(out, "LgammaBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * digamma(g[sx]); });
}

template <typename T>
Tensor<T> polygamma(std::int64_t n, const Tensor<T>& x);

// digamma(x) = d/dx lgamma(x), accurate to ~1e-15 relative for x > 0 away from its root
// x = 1.4616...; see detail::special::digamma for the method and the values at the poles.
template <typename T>
Tensor<T> digamma(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) {
    return a.unaryExpr([](T v) { return static_cast<T>(detail::special::digamma(static_cast<double>(v))); });
  });
  // d/dx digamma(x) = polygamma(1, x) (trigamma)
  return record(out, "DigammaBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * polygamma(1, g[sx]); });
}

// polygamma(n, x): the n-th derivative of digamma (n = 0 is digamma itself), accurate
// to ~1e-15 relative for n >= 1 (measured against mpmath for n <= 170, x of either sign);
// see detail::special::polygamma. Throws ValueError for
// n < 0 and for n > 1000 (the work per element grows with n, and n! overflows a double
// from n = 171, so such orders are finite only far out in x).
template <typename T>
Tensor<T> polygamma(std::int64_t n, const Tensor<T>& x) {
  if (n < 0 || n > 1000)
    detail::fail<ValueError>("polygamma: the order n must be in [0, 1000] (got n = ", n,
                             "); n = 0 is digamma, n = 1 trigamma, ...");
  Tensor<T> out = detail::unary_map(x, [n](const auto& a) {
    return a.unaryExpr([n](T v) { return static_cast<T>(detail::special::polygamma(n, static_cast<double>(v))); });
  });
  // d/dx polygamma(n, x) = polygamma(n + 1, x)
  return record(out, "PolygammaBackward0", {x}, [n, sx = save(x)](Grads<T>& g) {
    g.in[0] = g.out * polygamma(n + 1, g[sx]);
  });
}

// ---- methods ----

template <typename T> Tensor<T> Tensor<T>::clamp(std::optional<T> min, std::optional<T> max) const {
  return detail::ew::clamp_bounds(*this, min.has_value(), min.value_or(T(0)), max.has_value(), max.value_or(T(0)));
}
template <typename T> Tensor<T> Tensor<T>::clamp_min(T min) const { return tapegrad::clamp_min(*this, min); }
template <typename T> Tensor<T> Tensor<T>::clamp_max(T max) const { return tapegrad::clamp_max(*this, max); }
template <typename T> Tensor<T> Tensor<T>::floor() const { return tapegrad::floor(*this); }
template <typename T> Tensor<T> Tensor<T>::ceil() const { return tapegrad::ceil(*this); }
template <typename T> Tensor<T> Tensor<T>::round() const { return tapegrad::round(*this); }
template <typename T> Tensor<T> Tensor<T>::round(std::int64_t decimals) const { return tapegrad::round(*this, decimals); }
template <typename T> Tensor<T> Tensor<T>::trunc() const { return tapegrad::trunc(*this); }
template <typename T> Tensor<T> Tensor<T>::expm1() const { return tapegrad::expm1(*this); }
template <typename T> Tensor<T> Tensor<T>::log1p() const { return tapegrad::log1p(*this); }
template <typename T> Tensor<T> Tensor<T>::log2() const { return tapegrad::log2(*this); }
template <typename T> Tensor<T> Tensor<T>::log10() const { return tapegrad::log10(*this); }
template <typename T> Tensor<T> Tensor<T>::exp2() const { return tapegrad::exp2(*this); }
template <typename T> Tensor<T> Tensor<T>::rsqrt() const { return tapegrad::rsqrt(*this); }
template <typename T> Tensor<T> Tensor<T>::reciprocal() const { return tapegrad::reciprocal(*this); }
template <typename T> Tensor<T> Tensor<T>::square() const { return tapegrad::square(*this); }
template <typename T> Tensor<T> Tensor<T>::tan() const { return tapegrad::tan(*this); }
template <typename T> Tensor<T> Tensor<T>::asin() const { return tapegrad::asin(*this); }
template <typename T> Tensor<T> Tensor<T>::acos() const { return tapegrad::acos(*this); }
template <typename T> Tensor<T> Tensor<T>::atan() const { return tapegrad::atan(*this); }
template <typename T> Tensor<T> Tensor<T>::atan2(const Tensor& other) const { return tapegrad::atan2(*this, other); }
template <typename T> Tensor<T> Tensor<T>::sinh() const { return tapegrad::sinh(*this); }
template <typename T> Tensor<T> Tensor<T>::cosh() const { return tapegrad::cosh(*this); }
template <typename T> Tensor<T> Tensor<T>::asinh() const { return tapegrad::asinh(*this); }
template <typename T> Tensor<T> Tensor<T>::acosh() const { return tapegrad::acosh(*this); }
template <typename T> Tensor<T> Tensor<T>::atanh() const { return tapegrad::atanh(*this); }
template <typename T> Tensor<T> Tensor<T>::erf() const { return tapegrad::erf(*this); }
template <typename T> Tensor<T> Tensor<T>::erfc() const { return tapegrad::erfc(*this); }
template <typename T> Tensor<T> Tensor<T>::lgamma() const { return tapegrad::lgamma(*this); }
template <typename T> Tensor<T> Tensor<T>::digamma() const { return tapegrad::digamma(*this); }
template <typename T> Tensor<T> Tensor<T>::polygamma(std::int64_t n) const { return tapegrad::polygamma(n, *this); }

}  // namespace tapegrad
