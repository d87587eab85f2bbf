#pragma once
// Arithmetic: + - * / (tensor-tensor with NumPy broadcasting, tensor-scalar on
// either side), unary minus and pow. Gradients of broadcast inputs come back at the
// broadcast shape; the engine sums them to each input's shape.

#include <type_traits>

#include "../core/kernels.hpp"
#include "../core/node.hpp"

namespace tapegrad {

template <typename S>
using enable_if_scalar = std::enable_if_t<std::is_arithmetic_v<S>, int>;

namespace detail {
// 1 where x > 0, else 0: a constant mask (no gradient flows through it).
template <typename T>
Tensor<T> positive_mask(const Tensor<T>& x) {
  return unary_map(x, [](const auto& a) { return (a > T(0)).template cast<T>(); });
}
}  // namespace detail

// ---- tensor (op) tensor ----

template <typename T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = detail::binary_map<detail::AddFn>("add", a, b);
  return record(out, "AddBackward0", {a, b}, [](Grads<T>& g) {
    g.in[0] = g.out;  // d(a+b)/da = d(a+b)/db = 1
    g.in[1] = g.out;
  });
}

template <typename T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = detail::binary_map<detail::SubFn>("sub", a, b);
  return record(out, "SubBackward0", {a, b}, [](Grads<T>& g) {
    g.in[0] = g.out;  // d(a-b)/da = 1, d(a-b)/db = -1
    if (g.needs(1)) g.in[1] = -g.out;
  });
}

template <typename T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = detail::binary_map<detail::MulFn>("mul", a, b);
  return record(out, "MulBackward0", {a, b}, [sa = save(a), sb = save(b)](Grads<T>& g) {
    if (g.needs(0)) g.in[0] = g.out * g[sb];  // d(ab)/da = b
    if (g.needs(1)) g.in[1] = g.out * g[sa];  // d(ab)/db = a
  });
}

template <typename T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = detail::binary_map<detail::DivFn>("div", a, b);
  return record(out, "DivBackward0", {a, b}, [sa = save(a), sb = save(b)](Grads<T>& g) {
    const Tensor<T> bv = g[sb];
    if (g.needs(0)) g.in[0] = g.out / bv;                      // d(a/b)/da = 1/b
    if (g.needs(1)) g.in[1] = -g.out * g[sa] / (bv * bv);      // d(a/b)/db = -a/b^2
  });
}

// ---- tensor (op) scalar ----

namespace detail {
// a + s and a * s under the op's own grad_fn name. x + s, x - s (= x + (-s), exact
// in IEEE arithmetic), x * s and -x (= x * -1, exact) share these two kernels and
// backward rules, so a program pays to compile them once.
template <typename T>
Tensor<T> shift(const Tensor<T>& a, T s, const char* name) {
  Tensor<T> out = unary_map(a, [s](const auto& x) { return x + s; });
  return record(out, name, {a}, [](Grads<T>& g) { g.in[0] = g.out; });  // d(a+s)/da = 1
}

template <typename T>
Tensor<T> scale(const Tensor<T>& a, T s, const char* name) {
  Tensor<T> out = unary_map(a, [s](const auto& x) { return x * s; });
  // d(sa)/da = s
  return record(out, name, {a}, [s](Grads<T>& g) { g.in[0] = scale(g.out, s, "MulBackward0"); });
}
}  // namespace detail

template <typename T>
Tensor<T> add(const Tensor<T>& a, detail::type_identity_t<T> s) {
  return detail::shift(a, s, "AddBackward0");
}

template <typename T>
Tensor<T> sub(const Tensor<T>& a, detail::type_identity_t<T> s) {
  return detail::shift(a, -s, "SubBackward0");
}

// s - a
template <typename T>
Tensor<T> rsub(const Tensor<T>& a, detail::type_identity_t<T> s) {
  Tensor<T> out = detail::unary_map(a, [s](const auto& x) { return s - x; });
  return record(out, "RsubBackward1", {a}, [](Grads<T>& g) { g.in[0] = -g.out; });
}

template <typename T>
Tensor<T> mul(const Tensor<T>& a, detail::type_identity_t<T> s) {
  return detail::scale(a, s, "MulBackward0");
}

template <typename T>
Tensor<T> div(const Tensor<T>& a, detail::type_identity_t<T> s) {
  Tensor<T> out = detail::unary_map(a, [s](const auto& x) { return x / s; });
  return record(out, "DivBackward0", {a}, [s](Grads<T>& g) { g.in[0] = g.out / s; });
}

// s / a
template <typename T>
Tensor<T> rdiv(const Tensor<T>& a, detail::type_identity_t<T> s) {
  Tensor<T> out = detail::unary_map(a, [s](const auto& x) { return s / x; });
  // d(s/a)/da = -s/a^2 = -out/a
  return record(out, "DivBackward0", {a}, [sa = save(a), so = save_output(out)](Grads<T>& g) {
    g.in[0] = -g.out * g[so] / g[sa];
  });
}

template <typename T>
Tensor<T> neg(const Tensor<T>& a) {
  return detail::scale(a, T(-1), "NegBackward0");
}

// ---- pow ----

// x^p for a scalar exponent.
// NOTE: p == 0 gives gradient 0 everywhere, including at x = 0 (PyTorch's choice).
template <typename T>
Tensor<T> pow(const Tensor<T>& x, detail::type_identity_t<T> p) {
  Tensor<T> out = p == T(2) ? detail::unary_map(x, [](const auto& a) { return a.square(); })
                            : detail::unary_map(x, [p](const auto& a) { return a.pow(p); });
  return record(out, "PowBackward0", {x}, [sx = save(x), p](Grads<T>& g) {
    if (p == T(0)) {  // zeros, not g * 0 (nan for an infinite g), as PyTorch
      g.in[0] = zeros_like(g.out);
      return;
    }
    const Tensor<T> xv = g[sx];
    // d/dx x^p = p x^(p-1)
    g.in[0] = p == T(2) ? g.out * xv * T(2) : g.out * pow(xv, p - T(1)) * p;
  });
}

namespace detail {
struct ZeroWhereFn {
  template <typename V, typename M>
  auto operator()(const V& v, const M& m) const { return (m != typename V::Scalar(0)).select(typename V::Scalar(0), v); }
};
struct PowFn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const { return a.pow(b); }
};
// 1 where x == 0 and y >= 0: there d/dy x^y is taken as 0.
struct PowZeroBaseFn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const {
    using S = typename A::Scalar;
    return ((a == S(0)) && (b >= S(0))).template cast<S>();
  }
};

// t with the elements where mask != 0 replaced by 0 (masked_fill(mask, 0)).
template <typename T>
Tensor<T> zero_where(const Tensor<T>& t, const Tensor<T>& mask) {
  Tensor<T> out = binary_map<ZeroWhereFn>("zero_where", t, mask);
  return record(out, "MaskedFillBackward0", {t}, [mask](Grads<T>& g) { g.in[0] = zero_where(g.out, mask); });
}

// g where x > 0, else 0: relu's backward (PyTorch's threshold_backward(g, x, 0)) in
// one pass, with no mask tensor. An inf or nan in g where x <= 0 gives 0, as a select
// does and a multiply by a 0/1 mask would not. Linear in g with x a constant, so its
// own backward is the same op.
struct KeepWherePositiveFn {
  template <typename V, typename X>
  auto operator()(const V& v, const X& x) const { return (x > typename V::Scalar(0)).select(v, typename V::Scalar(0)); }
};
template <typename T>
Tensor<T> keep_where_positive(const Tensor<T>& g, const Tensor<T>& x) {
  Tensor<T> out = binary_map<KeepWherePositiveFn>("relu backward", g, x);
  return record(out, "ThresholdBackwardBackward0", {g},
                [x = x.detach()](Grads<T>& gr) { gr.in[0] = keep_where_positive(gr.out, x); });
}
}  // namespace detail

// x^y element-wise, broadcasting.
// NOTE: d/dy x^y = x^y log x is taken as 0 where x == 0 and y >= 0 (PyTorch's choice),
// instead of the 0 * -inf = nan the formula gives. Likewise d/dx x^0 = 0 everywhere,
// also at x = 0 where y x^(y-1) gives 0 * inf = nan (as for the scalar exponent).
template <typename T>
Tensor<T> pow(const Tensor<T>& x, const Tensor<T>& y) {
  Tensor<T> out = detail::binary_map<detail::PowFn>("pow", x, y);
  return record(out, "PowBackward1", {x, y}, [sx = save(x), sy = save(y), so = save_output(out)](Grads<T>& g) {
    const Tensor<T> xv = g[sx], yv = g[sy];
    if (g.needs(0)) {
      const Tensor<T> zero_exponent = detail::unary_map(yv, [](const auto& b) { return (b == T(0)).template cast<T>(); });
      g.in[0] = detail::zero_where(g.out * yv * pow(xv, yv - T(1)), zero_exponent);  // d/dx x^y = y x^(y-1)
    }
    if (g.needs(1)) {
      Tensor<T> mask = detail::binary_map<detail::PowZeroBaseFn>("pow", xv, yv);
      g.in[1] = detail::zero_where(g.out * g[so] * log(xv), mask);  // d/dy x^y = x^y log x
    }
  });
}

// s^x for a scalar base.
template <typename T>
Tensor<T> pow(detail::type_identity_t<T> s, const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [s](const auto& a) { return Eigen::pow(s, a); });
  return record(out, "PowBackward2", {x}, [s, so = save_output(out)](Grads<T>& g) {
    // d/dx s^x = s^x log s
    g.in[0] = s == T(0) ? zeros_like(g.out) : g.out * g[so] * std::log(s);  // 0^x: zeros, as PyTorch
  });
}

// ---- operators ----

template <typename T>
Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <typename T>
Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <typename T>
Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <typename T>
Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }

template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator+(const Tensor<T>& a, S s) { return add(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator+(S s, const Tensor<T>& a) { return add(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator-(const Tensor<T>& a, S s) { return sub(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator-(S s, const Tensor<T>& a) { return rsub(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator*(const Tensor<T>& a, S s) { return mul(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator*(S s, const Tensor<T>& a) { return mul(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator/(const Tensor<T>& a, S s) { return div(a, static_cast<T>(s)); }
template <typename T, typename S, enable_if_scalar<S> = 0>
Tensor<T> operator/(S s, const Tensor<T>& a) { return rdiv(a, static_cast<T>(s)); }

}  // namespace tapegrad
