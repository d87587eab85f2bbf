#pragma once
// tg::Dual<T>: forward-mode automatic differentiation on scalars.
//
// A Dual carries a value and a tangent (the derivative of the value along one chosen
// direction). Every operation maps (value, tangent) to (f(value), f'(value) * tangent), so
// one evaluation of a function on Duals gives its value and one directional derivative:
//
//   tg::Dual<double> x(2.0, 1.0);          // value 2, tangent 1 (d/dx)
//   auto y = x * sin(x);                   // y.val() = 2 sin 2, y.tangent() = sin 2 + 2 cos 2
//
// Duals nest: Dual<Dual<double>> gives second derivatives, Dual<Var<double>> gives
// forward-over-reverse Hessians. To make that work every function below computes with the
// inner type's own functions (found by argument-dependent lookup after `using std::exp`),
// and writes its partial derivative in the inner type, so that it is itself differentiable.
// The inner type T needs only: construction from its innermost real number, + - * / with
// itself and with that real, comparisons, and the cmath functions used here.
//
// Conventions where a function is not differentiable follow PyTorch and Stan and are
// marked NOTE. One rule holds for every function (not for + - * /, which follow IEEE):
// a tangent that is exactly zero stays exactly zero, even where the derivative is
// infinite or undefined (sqrt at 0, log at 0, asin at +-1, pow(0, y < 1), overflow).
// Otherwise a constant input would turn the tangents of unrelated inputs into nan.
//
// This header also makes Eigen::Matrix<Dual<T>, ...> work (NumTraits, mixed products with
// plain T matrices) and specialises std::numeric_limits; the derivative helpers
// (tg::derivative, tg::directional_derivative, ...) are in dual_functions.hpp.

#include <cmath>
#include <limits>
#include <ostream>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "eigen_traits.hpp"

namespace tapegrad {

template <typename T>
class Dual;

namespace dual_detail {

// The innermost real number type: double for Dual<double>, Dual<Dual<double>> and (by its
// value_type) Var<double>. Literals inside the functions are written in it.
template <typename T, typename = void>
struct real_of {
  using type = double;  // an inner type that names no value_type
};
template <typename T>
struct real_of<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  using type = T;
};
template <typename T>
struct real_of<T, std::void_t<typename T::value_type>> {
  using type = typename real_of<typename T::value_type>::type;
};
template <typename T>
using real_t = typename real_of<T>::type;

// Types that mix with Dual<T> in arithmetic, comparisons and two-argument functions as
// constants (zero tangent): plain numbers, T itself, and whatever mixes with T when T is
// a Dual (so Dual<Dual<double>> * Dual<double> and Dual<Dual<double>> * 2 both work).
template <typename S, typename T>
struct is_operand : std::bool_constant<std::is_arithmetic_v<S> || std::is_same_v<S, T>> {};
template <typename S, typename U>
struct is_operand<S, Dual<U>>
    : std::bool_constant<std::is_arithmetic_v<S> || std::is_same_v<S, Dual<U>> || is_operand<S, U>::value> {};
template <typename S, typename T>
using if_operand = std::enable_if_t<is_operand<S, T>::value, int>;

// A constant operand in the inner type's terms: plain numbers become the innermost real
// (so Dual<float> * 2.0 computes in float), anything else is passed through.
template <typename T, typename S>
decltype(auto) constant(const S& s) {
  if constexpr (std::is_arithmetic_v<S>)
    return static_cast<real_t<T>>(s);
  else
    return (s);
}

// Is a tangent exactly zero (every component, for nested Duals)? A Var is only when it is
// a constant (a recorded Var of value 0 still carries a gradient). For other inner types
// the answer is "no" unless ZeroTest is specialised for them.
template <typename T, typename = void>
struct ZeroTest {
  static bool test(const T&) { return false; }
};
template <typename T>
struct ZeroTest<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  static bool test(const T& x) { return x == 0; }
};
template <typename T>  // tg::Var: a constant 0 (one that records nothing) is exactly zero
struct ZeroTest<T, std::void_t<decltype(std::declval<const T&>().is_constant())>> {
  static bool test(const T& x) { return x.is_constant() && x.val() == 0; }
};
template <typename T>
struct ZeroTest<Dual<T>> {
  static bool test(const Dual<T>& x) { return ZeroTest<T>::test(x.val()) && ZeroTest<T>::test(x.tangent()); }
};

template <typename T>
T zero() {
  return T(real_t<T>(0));
}

template <typename T>
T quiet_nan() {
  return T(std::numeric_limits<real_t<T>>::quiet_NaN());
}

// tangent * partial, except that a zero tangent stays zero even when the partial is
// infinite or nan (see the header comment).
template <typename T>
T chain(const T& tangent, const T& partial) {
  return ZeroTest<T>::test(tangent) ? zero<T>() : T(tangent * partial);
}

// Classification that needs nothing but comparisons from T (so no lookup of T's own
// isnan, which may or may not be declared yet).
template <typename T>
bool is_nan_value(const T& v) {
  return !(v == v);
}
template <typename T>
bool is_inf_value(const T& v) {
  const auto inf = std::numeric_limits<real_t<T>>::infinity();
  return v == inf || v == -inf;
}
template <typename T>
bool is_finite_value(const T& v) {
  return !is_nan_value(v) && !is_inf_value(v);
}

}  // namespace dual_detail

// A value and its tangent. Dual<double>(v) is a constant (tangent 0);
// Dual<double>(v, 1) is the variable to differentiate by.
template <typename T>
class Dual {
 public:
  using value_type = T;
  using real_type = dual_detail::real_t<T>;

  constexpr Dual() : val_(real_type(0)), tan_(real_type(0)) {}
  constexpr Dual(const T& value) : val_(value), tan_(real_type(0)) {}  // NOLINT: implicit, a constant
  template <typename S, std::enable_if_t<std::is_arithmetic_v<S>, int> = 0>
  constexpr Dual(S value) : val_(static_cast<real_type>(value)), tan_(real_type(0)) {}  // NOLINT
  constexpr Dual(const T& value, const T& tangent) : val_(value), tan_(tangent) {}

  constexpr const T& val() const { return val_; }
  constexpr T& val() { return val_; }
  constexpr const T& tangent() const { return tan_; }
  constexpr T& tangent() { return tan_; }

  Dual& operator+=(const Dual& o) {
    val_ += o.val_;
    tan_ += o.tan_;
    return *this;
  }
  Dual& operator-=(const Dual& o) {
    val_ -= o.val_;
    tan_ -= o.tan_;
    return *this;
  }
  // (a b)' = a' b + a b'
  Dual& operator*=(const Dual& o) {
    tan_ = tan_ * o.val_ + val_ * o.tan_;
    val_ *= o.val_;
    return *this;
  }
  // (a / b)' = (a' - (a / b) b') / b
  Dual& operator/=(const Dual& o) {
    T q = val_ / o.val_;
    tan_ = (tan_ - q * o.tan_) / o.val_;
    val_ = q;
    return *this;
  }
  template <typename S, dual_detail::if_operand<S, T> = 0>
  Dual& operator+=(const S& s) {
    val_ += dual_detail::constant<T>(s);
    return *this;
  }
  template <typename S, dual_detail::if_operand<S, T> = 0>
  Dual& operator-=(const S& s) {
    val_ -= dual_detail::constant<T>(s);
    return *this;
  }
  template <typename S, dual_detail::if_operand<S, T> = 0>
  Dual& operator*=(const S& s) {
    val_ *= dual_detail::constant<T>(s);
    tan_ *= dual_detail::constant<T>(s);
    return *this;
  }
  template <typename S, dual_detail::if_operand<S, T> = 0>
  Dual& operator/=(const S& s) {
    val_ /= dual_detail::constant<T>(s);
    tan_ /= dual_detail::constant<T>(s);
    return *this;
  }

  friend bool isnan(const Dual& x) { return dual_detail::is_nan_value(x.val_); }
  friend bool isinf(const Dual& x) { return dual_detail::is_inf_value(x.val_); }
  friend bool isfinite(const Dual& x) { return dual_detail::is_finite_value(x.val_); }

 private:
  T val_;
  T tan_;
};

// ---- arithmetic ---------------------------------------------------------------------

template <typename T>
Dual<T> operator+(const Dual<T>& a) {
  return a;
}
template <typename T>
Dual<T> operator-(const Dual<T>& a) {
  return {-a.val(), -a.tangent()};
}

template <typename T>
Dual<T> operator+(const Dual<T>& a, const Dual<T>& b) {
  return {a.val() + b.val(), a.tangent() + b.tangent()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator+(const Dual<T>& a, const S& b) {
  return {a.val() + dual_detail::constant<T>(b), a.tangent()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator+(const S& a, const Dual<T>& b) {
  return {dual_detail::constant<T>(a) + b.val(), b.tangent()};
}

template <typename T>
Dual<T> operator-(const Dual<T>& a, const Dual<T>& b) {
  return {a.val() - b.val(), a.tangent() - b.tangent()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator-(const Dual<T>& a, const S& b) {
  return {a.val() - dual_detail::constant<T>(b), a.tangent()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator-(const S& a, const Dual<T>& b) {
  return {dual_detail::constant<T>(a) - b.val(), -b.tangent()};
}

// (a b)' = a' b + a b'
template <typename T>
Dual<T> operator*(const Dual<T>& a, const Dual<T>& b) {
  return {a.val() * b.val(), a.tangent() * b.val() + a.val() * b.tangent()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator*(const Dual<T>& a, const S& b) {
  const auto& c = dual_detail::constant<T>(b);
  return {a.val() * c, a.tangent() * c};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator*(const S& a, const Dual<T>& b) {
  const auto& c = dual_detail::constant<T>(a);
  return {c * b.val(), c * b.tangent()};
}

// (a / b)' = (a' - (a / b) b') / b
template <typename T>
Dual<T> operator/(const Dual<T>& a, const Dual<T>& b) {
  T q = a.val() / b.val();
  return {q, (a.tangent() - q * b.tangent()) / b.val()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator/(const Dual<T>& a, const S& b) {
  const auto& c = dual_detail::constant<T>(b);
  return {a.val() / c, a.tangent() / c};
}
// (c / b)' = -(c / b) b' / b
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> operator/(const S& a, const Dual<T>& b) {
  T q = dual_detail::constant<T>(a) / b.val();
  return {q, -(q * b.tangent()) / b.val()};
}

// ---- comparisons: on the value only, so if/while in user code branch as on doubles ----

#define TAPEGRAD_DUAL_COMPARISON(OP)                                   \
  template <typename T>                                                \
  bool operator OP(const Dual<T>& a, const Dual<T>& b) {               \
    return a.val() OP b.val();                                         \
  }                                                                    \
  template <typename T, typename S, dual_detail::if_operand<S, T> = 0> \
  bool operator OP(const Dual<T>& a, const S& b) {                     \
    return a.val() OP dual_detail::constant<T>(b);                     \
  }                                                                    \
  template <typename T, typename S, dual_detail::if_operand<S, T> = 0> \
  bool operator OP(const S& a, const Dual<T>& b) {                     \
    return dual_detail::constant<T>(a) OP b.val();                     \
  }
TAPEGRAD_DUAL_COMPARISON(==)
TAPEGRAD_DUAL_COMPARISON(!=)
TAPEGRAD_DUAL_COMPARISON(<)
TAPEGRAD_DUAL_COMPARISON(<=)
TAPEGRAD_DUAL_COMPARISON(>)
TAPEGRAD_DUAL_COMPARISON(>=)
#undef TAPEGRAD_DUAL_COMPARISON

// Prints "Dual(value, tangent)".
template <typename T>
std::ostream& operator<<(std::ostream& os, const Dual<T>& x) {
  return os << "Dual(" << x.val() << ", " << x.tangent() << ")";
}

// ---- classification: on the value, like the comparisons ------------------------------
// isnan / isinf / isfinite are found three ways, never ambiguously: plain isnan(x) finds
// the hidden friends in Dual (non-templates, so they also win over std::isnan in Eigen's
// `using std::isnan; isnan(x)`); tg::isnan(x) finds the templates here; std::isnan(x)
// the ones in namespace std at the end of this file.

template <typename T>
bool isnan(const Dual<T>& x) {
  return dual_detail::is_nan_value(x.val());
}
template <typename T>
bool isinf(const Dual<T>& x) {
  return dual_detail::is_inf_value(x.val());
}
template <typename T>
bool isfinite(const Dual<T>& x) {
  return dual_detail::is_finite_value(x.val());
}

// ---- exponentials and logarithms -----------------------------------------------------

// d/dx exp(x) = exp(x)
template <typename T>
Dual<T> exp(const Dual<T>& x) {
  using std::exp;
  T e = exp(x.val());
  return {e, dual_detail::chain(x.tangent(), e)};
}

// d/dx log(x) = 1 / x
// NOTE: log(0) = -inf with an infinite tangent (+inf for a positive tangent); x < 0 gives
// a nan value (as std::log) and a nan tangent.
template <typename T>
Dual<T> log(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::log;
  const T& v = x.val();
  T partial = v < R(0) ? dual_detail::quiet_nan<T>() : T(R(1) / v);
  return {log(v), dual_detail::chain(x.tangent(), partial)};
}

// d/dx log(1 + x) = 1 / (1 + x); nan value and tangent for x < -1, as log.
template <typename T>
Dual<T> log1p(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::log1p;
  const T& v = x.val();
  T partial = v < R(-1) ? dual_detail::quiet_nan<T>() : T(R(1) / (R(1) + v));
  return {log1p(v), dual_detail::chain(x.tangent(), partial)};
}

// d/dx (exp(x) - 1) = exp(x); from expm1(x) + 1 where that keeps full precision (x > -1),
// else exp(x) itself (expm1(x) + 1 would round to 0 for x < -37).
template <typename T>
Dual<T> expm1(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::exp;
  using std::expm1;
  const T& v = x.val();
  T e = expm1(v);
  T partial = v > R(-1) ? T(e + R(1)) : T(exp(v));
  return {e, dual_detail::chain(x.tangent(), partial)};
}

// d/dx sqrt(x) = 1 / (2 sqrt(x))
// NOTE: +inf at x = 0, as the mathematics and PyTorch say (a zero tangent stays 0);
// nan value and tangent for x < 0.
template <typename T>
Dual<T> sqrt(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::sqrt;
  T s = sqrt(x.val());
  return {s, dual_detail::chain(x.tangent(), T(R(0.5) / s))};
}

// d/dx cbrt(x) = 1 / (3 cbrt(x)^2); NOTE: +inf at x = 0 (defined for x < 0, unlike pow).
template <typename T>
Dual<T> cbrt(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::cbrt;
  T c = cbrt(x.val());
  return {c, dual_detail::chain(x.tangent(), T(R(1) / (R(3) * c * c)))};
}

// ---- powers --------------------------------------------------------------------------

// d/dx x^y = y x^(y-1),   d/dy x^y = x^y log(x)
// NOTE (as PyTorch): d/dx is 0 at x = 0, y = 0 (x^0 = 1 is constant; the formula would
// give 0 * inf); d/dy is 0 at x = 0, y >= 0 (0^y = 0 is constant for y > 0; log(0) would
// give nan). For x < 0, d/dy is nan (log of a negative number), d/dx is finite at integer y.
template <typename T>
Dual<T> pow(const Dual<T>& x, const Dual<T>& y) {
  using R = dual_detail::real_t<T>;
  using dual_detail::ZeroTest;
  using std::log;
  using std::pow;
  const T& a = x.val();
  const T& b = y.val();
  T r = pow(a, b);
  T t = dual_detail::zero<T>();
  const bool base_zero = a == R(0);
  if (!ZeroTest<T>::test(x.tangent()) && !(base_zero && b == R(0))) t += x.tangent() * (b * pow(a, b - R(1)));
  if (!ZeroTest<T>::test(y.tangent()) && !(base_zero && b >= R(0))) t += y.tangent() * (r * log(a));
  return {r, t};
}

// d/dx x^c = c x^(c-1); NOTE: 0 at x = 0, c = 0 as above; +inf at x = 0 for 0 < c < 1.
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> pow(const Dual<T>& x, const S& y) {
  using R = dual_detail::real_t<T>;
  using std::pow;
  const T& a = x.val();
  const auto& c = dual_detail::constant<T>(y);
  T r = pow(a, c);
  if ((a == R(0) && c == R(0)) || dual_detail::ZeroTest<T>::test(x.tangent())) return {r, dual_detail::zero<T>()};
  return {r, x.tangent() * (c * pow(a, c - R(1)))};
}

// d/dy c^y = c^y log(c); NOTE: 0 at c = 0, y >= 0 as above; nan for c < 0.
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> pow(const S& x, const Dual<T>& y) {
  using R = dual_detail::real_t<T>;
  using std::log;
  using std::pow;
  const auto& c = dual_detail::constant<T>(x);
  const T& b = y.val();
  T r = pow(c, b);
  if ((c == R(0) && b >= R(0)) || dual_detail::ZeroTest<T>::test(y.tangent())) return {r, dual_detail::zero<T>()};
  return {r, y.tangent() * (r * log(c))};
}

// ---- trigonometric -------------------------------------------------------------------

// d/dx sin(x) = cos(x)
template <typename T>
Dual<T> sin(const Dual<T>& x) {
  using std::cos;
  using std::sin;
  return {sin(x.val()), dual_detail::chain(x.tangent(), T(cos(x.val())))};
}

// d/dx cos(x) = -sin(x)
template <typename T>
Dual<T> cos(const Dual<T>& x) {
  using std::cos;
  using std::sin;
  return {cos(x.val()), dual_detail::chain(x.tangent(), T(-sin(x.val())))};
}

// d/dx tan(x) = 1 + tan(x)^2
template <typename T>
Dual<T> tan(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::tan;
  T t = tan(x.val());
  return {t, dual_detail::chain(x.tangent(), T(R(1) + t * t))};
}

namespace dual_detail {
// 1 - x^2 for asin and acos: as (1 - x)(1 + x) near +-1, where that keeps the value
// precise, and as 1 - x x elsewhere, where that keeps its own derivative -2x precise
// (the product form cancels in it for small x).
template <typename T>
T one_minus_square(const T& v) {
  using R = real_t<T>;
  if (v < R(0.5) && v > R(-0.5)) return R(1) - v * v;
  return (R(1) - v) * (R(1) + v);
}
}  // namespace dual_detail

// d/dx asin(x) = 1 / sqrt(1 - x^2)
// NOTE: +inf at x = +-1; nan value and tangent for |x| > 1.
template <typename T>
Dual<T> asin(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::asin;
  using std::sqrt;
  const T& v = x.val();
  return {asin(v), dual_detail::chain(x.tangent(), T(R(1) / sqrt(dual_detail::one_minus_square(v))))};
}

// d/dx acos(x) = -1 / sqrt(1 - x^2); NOTE: -inf at x = +-1; nan for |x| > 1.
template <typename T>
Dual<T> acos(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::acos;
  using std::sqrt;
  const T& v = x.val();
  return {acos(v), dual_detail::chain(x.tangent(), T(R(-1) / sqrt(dual_detail::one_minus_square(v))))};
}

// d/dx atan(x) = 1 / (1 + x^2)
template <typename T>
Dual<T> atan(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::atan;
  const T& v = x.val();
  return {atan(v), dual_detail::chain(x.tangent(), T(R(1) / (R(1) + v * v)))};
}

// d atan2(y, x) = (x dy - y dx) / (x^2 + y^2), scaled by hypot so that it neither
// overflows nor underflows for large or tiny arguments.
// NOTE: nan at the origin, where atan2 jumps (as PyTorch and Stan); zero tangents stay 0.
template <typename T>
Dual<T> atan2(const Dual<T>& y, const Dual<T>& x) {
  using dual_detail::ZeroTest;
  using std::atan2;
  using std::hypot;
  const T& b = y.val();
  const T& a = x.val();
  T angle = atan2(b, a);
  if (ZeroTest<T>::test(y.tangent()) && ZeroTest<T>::test(x.tangent())) return {angle, dual_detail::zero<T>()};
  T h = hypot(a, b);
  return {angle, ((a / h) * y.tangent() - (b / h) * x.tangent()) / h};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> atan2(const Dual<T>& y, const S& x) {
  return atan2(y, Dual<T>(dual_detail::constant<T>(x)));
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> atan2(const S& y, const Dual<T>& x) {
  return atan2(Dual<T>(dual_detail::constant<T>(y)), x);
}

// ---- hyperbolic ----------------------------------------------------------------------

// d/dx sinh(x) = cosh(x)
template <typename T>
Dual<T> sinh(const Dual<T>& x) {
  using std::cosh;
  using std::sinh;
  return {sinh(x.val()), dual_detail::chain(x.tangent(), T(cosh(x.val())))};
}

// d/dx cosh(x) = sinh(x)
template <typename T>
Dual<T> cosh(const Dual<T>& x) {
  using std::cosh;
  using std::sinh;
  return {cosh(x.val()), dual_detail::chain(x.tangent(), T(sinh(x.val())))};
}

// d/dx tanh(x) = 1 - tanh(x)^2 = 1 / cosh(x)^2; the second form where tanh(x)^2 is
// near 1 (1 - tanh^2 would round to 0 for |x| > 19 while the true value is ~4 e^-2|x|).
template <typename T>
Dual<T> tanh(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::cosh;
  using std::tanh;
  const T& v = x.val();
  T t = tanh(v);
  T partial;
  if (t < R(0.75) && t > R(-0.75)) {
    partial = R(1) - t * t;
  } else {
    T c = cosh(v);
    partial = R(1) / (c * c);
  }
  return {t, dual_detail::chain(x.tangent(), partial)};
}

// ---- absolute value, min, max, hypot -------------------------------------------------

// d/dx |x| = sign(x)
// NOTE: 0 at x = 0 (the subgradient PyTorch and Stan pick); nan tangent for a nan x.
template <typename T>
Dual<T> abs(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::abs;
  const T& v = x.val();
  if (v > R(0)) return x;
  if (v < R(0)) return -x;
  T partial = v == R(0) ? dual_detail::zero<T>() : dual_detail::quiet_nan<T>();
  return {abs(v), dual_detail::chain(x.tangent(), partial)};
}
template <typename T>
Dual<T> fabs(const Dual<T>& x) {
  return abs(x);
}

// fmax(x, y): the larger argument with its tangent; a nan argument is ignored, as std::fmax.
// NOTE: at a tie (x == y) the tangent of the first argument, as PyTorch's fmax backward
// (the tangent of an exact tie is not defined; this keeps forward and reverse mode equal).
template <typename T>
Dual<T> fmax(const Dual<T>& x, const Dual<T>& y) {
  return dual_detail::is_nan_value(y.val()) || x.val() >= y.val() ? x : y;
}
// fmin(x, y): the smaller argument with its tangent. NOTE: ties and nan as fmax.
template <typename T>
Dual<T> fmin(const Dual<T>& x, const Dual<T>& y) {
  return dual_detail::is_nan_value(y.val()) || x.val() <= y.val() ? x : y;
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> fmax(const Dual<T>& x, const S& y) {
  return fmax(x, Dual<T>(dual_detail::constant<T>(y)));
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> fmax(const S& x, const Dual<T>& y) {
  return fmax(Dual<T>(dual_detail::constant<T>(x)), y);
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> fmin(const Dual<T>& x, const S& y) {
  return fmin(x, Dual<T>(dual_detail::constant<T>(y)));
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> fmin(const S& x, const Dual<T>& y) {
  return fmin(Dual<T>(dual_detail::constant<T>(x)), y);
}

// d hypot(x, y) = (x dx + y dy) / hypot(x, y)
// NOTE: nan at the origin (0/0), as PyTorch's hypot and tg::Var; zero tangents stay 0.
template <typename T>
Dual<T> hypot(const Dual<T>& x, const Dual<T>& y) {
  using dual_detail::ZeroTest;
  using std::hypot;
  const T& a = x.val();
  const T& b = y.val();
  T h = hypot(a, b);
  if (ZeroTest<T>::test(x.tangent()) && ZeroTest<T>::test(y.tangent())) return {h, dual_detail::zero<T>()};
  return {h, (a / h) * x.tangent() + (b / h) * y.tangent()};
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> hypot(const Dual<T>& x, const S& y) {
  return hypot(x, Dual<T>(dual_detail::constant<T>(y)));
}
template <typename T, typename S, dual_detail::if_operand<S, T> = 0>
Dual<T> hypot(const S& x, const Dual<T>& y) {
  return hypot(Dual<T>(dual_detail::constant<T>(x)), y);
}

// ---- special functions ---------------------------------------------------------------

namespace dual_detail {

// digamma (psi) = d/dx lgamma(x), written in T's own operations so that its derivative
// (trigamma) comes from nesting. For x > 0: shift x up to z >= 10 with
// psi(x) = psi(x + 1) - 1/x, then the asymptotic series
// psi(z) = log z - 1/(2z) - sum_k B_2k / (2k z^2k) (7 terms; the first omitted one is
// below 1e-16 at z = 10). For x < 0 the reflection psi(x) = psi(1 - x) - pi / tan(pi x),
// with tan taken of x - floor(x) (exact) to keep precision for large |x|.
// As PyTorch: psi(+0) = -inf, psi(-0) = +inf, nan at the negative integers (the poles).
template <typename T>
T digamma(const T& x) {
  using R = real_t<T>;
  using std::floor;
  using std::log;
  using std::tan;
  if (is_nan_value(x)) return x;
  if (x == R(0)) return R(-1) / x;  // -inf at +0, +inf at -0
  if (x < R(0)) {
    T fl = floor(x);
    if (x == fl) return quiet_nan<T>();  // a pole (and -inf)
    const R pi = R(3.141592653589793238462643383279502884L);
    return dual_detail::digamma(T(R(1) - x)) - pi / tan(pi * (x - fl));
  }
  T shift = zero<T>();
  T z = x;
  while (z < R(10)) {
    shift += R(1) / z;
    z += R(1);
  }
  // B_2k / (2k) for k = 1..7: 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12
  static constexpr R c[] = {R(1.0 / 12),  R(-1.0 / 120),     R(1.0 / 252), R(-1.0 / 240),
                            R(1.0 / 132), R(-691.0 / 32760), R(1.0 / 12)};
  T inv_z2 = R(1) / (z * z);
  T series = R(c[6]) * inv_z2;  // Horner in 1/z^2, from the last coefficient
  for (int k = 5; k >= 0; --k) series = (series + c[k]) * inv_z2;
  return log(z) - R(0.5) / z - series - shift;
}

}  // namespace dual_detail

// d/dx erf(x) = 2/sqrt(pi) exp(-x^2)
template <typename T>
Dual<T> erf(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::erf;
  using std::exp;
  const T& v = x.val();
  const R two_over_sqrt_pi = R(1.128379167095512573896158903121545172L);
  return {erf(v), dual_detail::chain(x.tangent(), T(two_over_sqrt_pi * exp(-(v * v))))};
}

// d/dx erfc(x) = -2/sqrt(pi) exp(-x^2)
template <typename T>
Dual<T> erfc(const Dual<T>& x) {
  using R = dual_detail::real_t<T>;
  using std::erfc;
  using std::exp;
  const T& v = x.val();
  const R two_over_sqrt_pi = R(1.128379167095512573896158903121545172L);
  return {erfc(v), dual_detail::chain(x.tangent(), T(-two_over_sqrt_pi * exp(-(v * v))))};
}

// d/dx log|Gamma(x)| = digamma(x) (also for x < 0)
// NOTE: at the poles (0, -1, -2, ...) lgamma is +inf and the tangent is -inf at +0, nan
// at the negative integers (PyTorch's digamma there).
template <typename T>
Dual<T> lgamma(const Dual<T>& x) {
  using std::lgamma;
  return {lgamma(x.val()), dual_detail::chain(x.tangent(), dual_detail::digamma(x.val()))};
}

// d/dx Gamma(x) = Gamma(x) digamma(x)
template <typename T>
Dual<T> tgamma(const Dual<T>& x) {
  using std::tgamma;
  T g = tgamma(x.val());
  return {g, dual_detail::chain(x.tangent(), T(g * dual_detail::digamma(x.val())))};
}

// ---- rounding ------------------------------------------------------------------------

// NOTE: floor and ceil have tangent 0 everywhere, including at the jumps (PyTorch, Stan).
template <typename T>
Dual<T> floor(const Dual<T>& x) {
  using std::floor;
  return {floor(x.val()), dual_detail::zero<T>()};
}
template <typename T>
Dual<T> ceil(const Dual<T>& x) {
  using std::ceil;
  return {ceil(x.val()), dual_detail::zero<T>()};
}

}  // namespace tapegrad

// ---- standard library: numeric_limits and the classification functions ---------------

namespace std {

// numeric_limits<Dual<T>>: T's, with the values as constant Duals.
template <typename T>
class numeric_limits<tapegrad::Dual<T>> : public numeric_limits<T> {
  using D = tapegrad::Dual<T>;

 public:
  static constexpr D min() noexcept { return D(numeric_limits<T>::min()); }
  static constexpr D max() noexcept { return D(numeric_limits<T>::max()); }
  static constexpr D lowest() noexcept { return D(numeric_limits<T>::lowest()); }
  static constexpr D epsilon() noexcept { return D(numeric_limits<T>::epsilon()); }
  static constexpr D round_error() noexcept { return D(numeric_limits<T>::round_error()); }
  static constexpr D infinity() noexcept { return D(numeric_limits<T>::infinity()); }
  static constexpr D quiet_NaN() noexcept { return D(numeric_limits<T>::quiet_NaN()); }
  static constexpr D signaling_NaN() noexcept { return D(numeric_limits<T>::signaling_NaN()); }
  static constexpr D denorm_min() noexcept { return D(numeric_limits<T>::denorm_min()); }
};

template <typename T>
bool isnan(const tapegrad::Dual<T>& x) {
  return tapegrad::dual_detail::is_nan_value(x.val());
}
template <typename T>
bool isinf(const tapegrad::Dual<T>& x) {
  return tapegrad::dual_detail::is_inf_value(x.val());
}
template <typename T>
bool isfinite(const tapegrad::Dual<T>& x) {
  return tapegrad::dual_detail::is_finite_value(x.val());
}

}  // namespace std

// ---- Eigen ---------------------------------------------------------------------------

namespace Eigen {

// Eigen::Matrix<tg::Dual<T>, ...>: a value and a tangent; a product costs three T
// multiplications and an addition.
template <typename T>
struct NumTraits<tapegrad::Dual<T>>
    : tapegrad::detail::RealScalarNumTraits<tapegrad::Dual<T>, T, 2 * NumTraits<T>::ReadCost, 2 * NumTraits<T>::AddCost,
                                            3 * NumTraits<T>::MulCost + NumTraits<T>::AddCost> {};

// Dual<T> matrices mix with plain T matrices (A * x with A of double, x of Dual<double>).
template <typename T, typename BinaryOp>
struct ScalarBinaryOpTraits<tapegrad::Dual<T>, T, BinaryOp> {
  using ReturnType = tapegrad::Dual<T>;
};
template <typename T, typename BinaryOp>
struct ScalarBinaryOpTraits<T, tapegrad::Dual<T>, BinaryOp> {
  using ReturnType = tapegrad::Dual<T>;
};

}  // namespace Eigen
