#pragma once
// tg::Var<T>: scalar reverse mode, recorded on the calling thread's tape (scalar/tape.hpp).
//
//   tg::Var<double> x = tg::variable(2.0), y = tg::variable(3.0);   // inputs
//   tg::Var<double> z = x * y + sin(x);                            // recorded
//   z.backward();                        // or tg::grad(z): one reverse sweep
//   x.grad();                            // dz/dx = y + cos(x); Stan spelling: x.adj()
//
// - A Var is a value plus the number of its variable on the tape (16 bytes for double).
//   Copying a Var copies the handle; the tape owns the recording.
// - tg::Var<double> c = 2.5; is a constant: nothing is recorded for it, its grad() is 0,
//   and ops between a constant and a variable record only the variable's operand.
//   tg::variable(2.5) is an input that gradients are taken with respect to.
// - backward() sets every adjoint of the current scope to d(this)/d(variable); it does
//   not accumulate across calls (unlike PyTorch's .grad). grad()/adj() read; note that
//   Stan's y.grad() runs the sweep: here that is y.backward() or tg::grad(y).
// - All the cmath functions are found by argument-dependent lookup (exp(x),
//   `using std::exp; exp(x)`, or tg::exp(x)); std::exp(x) does not accept a Var.
// - Each function below states f and f' in one line; NOTE: marks a choice at a point
//   where the derivative does not exist (the choices of Stan and PyTorch).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <ostream>
#include <type_traits>
#include <utility>
#include <vector>

#include "tape.hpp"

namespace tapegrad {

namespace detail {
template <typename U>
using if_arithmetic = std::enable_if_t<std::is_arithmetic_v<U>, int>;
// The scalar type tg::variable(u) records for a number u: float stays float, else double.
template <typename U>
using real_of = std::conditional_t<std::is_same_v<U, float>, float, double>;
}  // namespace detail

template <typename T>
class Var {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "tapegrad::Var<T> supports T = float or double");

 public:
  using value_type = T;

  // A constant 0.
  constexpr Var() noexcept : val_(T(0)) {}
  // A constant: never recorded, zero gradient. Implicit, so numbers mix with Vars and
  // Eigen can write Scalar(0).
  template <typename U, detail::if_arithmetic<U> = 0>
  constexpr Var(U value) noexcept : val_(static_cast<T>(value)) {}  // NOLINT(google-explicit-constructor)

  T val() const noexcept { return val_; }
  T value() const noexcept { return val_; }

  // Hidden friends: non-templates, so `using std::isnan; isnan(x)` picks them over the
  // std:: and tapegrad:: templates below instead of being ambiguous.
  friend bool isnan(const Var& x) noexcept { return std::isnan(x.val_); }
  friend bool isinf(const Var& x) noexcept { return std::isinf(x.val_); }
  friend bool isfinite(const Var& x) noexcept { return std::isfinite(x.val_); }

  // d y / d this after the last y.backward() (0 for constants and variables it did not
  // reach). PyTorch's x.grad; Stan's x.adj().
  [[nodiscard]] T grad() const {
    Tape<T>& t = Tape<T>::current();
    check(t, "Var::grad");
    return t.adjoint(index_);
  }
  [[nodiscard]] T adj() const { return grad(); }

  // One reverse sweep from this Var: afterwards x.grad() is d this / d x for every x of
  // the current scope.
  void backward() const {
    Tape<T>& t = Tape<T>::current();
    check(t, "Var::backward");
    t.backward(index_);
  }

  bool is_constant() const noexcept { return index_ == 0; }
  bool requires_grad() const noexcept { return index_ != 0; }
  var_index index() const noexcept { return index_; }

  Var& operator+=(const Var& b) { return *this = *this + b; }
  Var& operator-=(const Var& b) { return *this = *this - b; }
  Var& operator*=(const Var& b) { return *this = *this * b; }
  Var& operator/=(const Var& b) { return *this = *this / b; }
  template <typename U, detail::if_arithmetic<U> = 0>
  Var& operator+=(U b) { return *this = *this + b; }
  template <typename U, detail::if_arithmetic<U> = 0>
  Var& operator-=(U b) { return *this = *this - b; }
  template <typename U, detail::if_arithmetic<U> = 0>
  Var& operator*=(U b) { return *this = *this * b; }
  template <typename U, detail::if_arithmetic<U> = 0>
  Var& operator/=(U b) { return *this = *this / b; }

  // A Var for variable `index` just recorded on `tape` (used by the recording helpers).
  static TAPEGRAD_ALWAYS_INLINE Var recorded(T value, var_index index, const Tape<T>& tape) noexcept {
    Var v(value);
    v.index_ = index;
#if TAPEGRAD_CHECK_STALE_VARS
    v.stamp_ = tape.generation();
#else
    (void)tape;
#endif
    return v;
  }
  // The same on the calling thread's tape. Release builds never touch the Tape object
  // here: recording reaches only the thread's cursor (see tape.hpp).
  static TAPEGRAD_ALWAYS_INLINE Var recorded(T value, var_index index) noexcept {
#if TAPEGRAD_CHECK_STALE_VARS
    return recorded(value, index, Tape<T>::current());
#else
    Var v(value);
    v.index_ = index;
    return v;
#endif
  }

  // Debug builds: throws GraphError if this Var's variable is gone from `tape`.
  TAPEGRAD_ALWAYS_INLINE void check(const Tape<T>& tape, const char* where) const {
#if TAPEGRAD_CHECK_STALE_VARS
    tape.check_alive(index_, stamp_, where);
#else
    (void)tape, (void)where;
#endif
  }

 private:
  T val_;
  var_index index_ = 0;
#if TAPEGRAD_CHECK_STALE_VARS
  std::uint32_t stamp_ = 0;
#endif
};

// ---- inputs, values, gradients ----

// A new input variable on the calling thread's tape.
template <typename U, detail::if_arithmetic<U> = 0>
Var<detail::real_of<U>> variable(U value) {
  using T = detail::real_of<U>;
  return Var<T>::recorded(static_cast<T>(value), Tape<T>::push_input());
}

template <typename T>
T value(const Var<T>& x) noexcept {
  return x.val();
}

// Stan's grad(y): one reverse sweep from y (same as y.backward()).
template <typename T>
void grad(const Var<T>& y) {
  y.backward();
}

namespace detail {

// Yields f(0), f(1), ...: builds a std::vector of n computed elements in one pass,
// writing each element once: std::vector<E>(IndexMap<F>{&f, 0}, IndexMap<F>{&f, n}).
// (out(n) and then assigning writes every element twice; push_back in a loop builds a
// Var on the stack and copies it with one 16-byte load that the CPU cannot forward from
// the two narrower stores: for tg::variables these measured 2x and 14x slower.)
// Tagged forward so that std::vector counts the elements and allocates once; like any
// iterator over computed values, * returns a value rather than a reference.
template <typename F>
struct IndexMap {
  using iterator_category = std::forward_iterator_tag;
  using difference_type = std::ptrdiff_t;
  using value_type = decltype(std::declval<const F&>()(std::size_t(0)));
  using pointer = const value_type*;
  using reference = value_type;

  const F* f = nullptr;
  std::size_t i = 0;

  value_type operator*() const { return (*f)(i); }
  IndexMap& operator++() {
    ++i;
    return *this;
  }
  IndexMap operator++(int) {
    IndexMap before = *this;
    ++i;
    return before;
  }
  bool operator==(const IndexMap& o) const { return i == o.i; }
  bool operator!=(const IndexMap& o) const { return i != o.i; }
};

template <typename F>
auto build_vector(std::size_t n, const F& f) {
  using E = typename IndexMap<F>::value_type;
  return std::vector<E>(IndexMap<F>{&f, 0}, IndexMap<F>{&f, n});
}

// result = f(a) with f'(a) = da: records one operand, or nothing when a is a constant.
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> unary(const char* name, T value, const Var<T>& a, T da) {
  if (a.index() == 0) return Var<T>(value);
#if TAPEGRAD_CHECK_STALE_VARS
  a.check(Tape<T>::current(), name);
#else
  (void)name;
#endif
  return Var<T>::recorded(value, Tape<T>::push1(a.index(), da));
}

// result = f(a, b) with partials da, db: constants among a, b are not recorded.
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> binary(const char* name, T value, const Var<T>& a, T da, const Var<T>& b, T db) {
  if (a.index() == 0) return unary(name, value, b, db);
  if (b.index() == 0) return unary(name, value, a, da);
#if TAPEGRAD_CHECK_STALE_VARS
  const Tape<T>& t = Tape<T>::current();
  a.check(t, name);
  b.check(t, name);
#endif
  return Var<T>::recorded(value, Tape<T>::push2(a.index(), da, b.index(), db));
}

// digamma(x) = d/dx lgamma(x), to about 1e-15 relative. NaN at the poles 0, -1, -2, ...
inline double digamma(double x) {
  constexpr double pi = 3.14159265358979323846;
  if (std::isnan(x) || x == -std::numeric_limits<double>::infinity()) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0 && std::floor(x) == x) return std::numeric_limits<double>::quiet_NaN();
  double result = 0;
  if (x < 0) {  // reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
    result = -pi / std::tan(pi * x);
    x = 1 - x;
  }
  while (x < 10) {  // recurrence: psi(x) = psi(x + 1) - 1/x
    result -= 1 / x;
    x += 1;
  }
  // Asymptotic series: ln x - 1/(2x) - sum B_2k / (2k x^2k), truncated after x^-14.
  const double f = 1 / (x * x);
  const double series =
      f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132 - f * (691.0 / 32760 - f / 12))))));
  return result + std::log(x) - 0.5 / x - series;
}

}  // namespace detail

// Checks in builds without NDEBUG that a Var passed through without recording (fmin,
// fmax, floor) still lives on this thread's tape.
#define TAPEGRAD_CHECK_VAR(x, name) (x).check(Tape<T>::current(), name)

// ---- arithmetic: Var with Var, and with plain numbers on either side ----

// d(a + b) = da + db
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> operator+(const Var<T>& a, const Var<T>& b) {
  return detail::binary("operator+", a.val() + b.val(), a, T(1), b, T(1));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator+(const Var<T>& a, U b) {
  return detail::unary("operator+", a.val() + static_cast<T>(b), a, T(1));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator+(U a, const Var<T>& b) {
  return detail::unary("operator+", static_cast<T>(a) + b.val(), b, T(1));
}

// d(a - b) = da - db
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> operator-(const Var<T>& a, const Var<T>& b) {
  return detail::binary("operator-", a.val() - b.val(), a, T(1), b, T(-1));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator-(const Var<T>& a, U b) {
  return detail::unary("operator-", a.val() - static_cast<T>(b), a, T(1));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator-(U a, const Var<T>& b) {
  return detail::unary("operator-", static_cast<T>(a) - b.val(), b, T(-1));
}

// d(-a) = -da
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> operator-(const Var<T>& a) {
  return detail::unary("operator-", -a.val(), a, T(-1));
}
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> operator+(const Var<T>& a) {
  return a;
}

// d(a b) = b da + a db
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> operator*(const Var<T>& a, const Var<T>& b) {
  return detail::binary("operator*", a.val() * b.val(), a, b.val(), b, a.val());
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator*(const Var<T>& a, U b) {
  return detail::unary("operator*", a.val() * static_cast<T>(b), a, static_cast<T>(b));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator*(U a, const Var<T>& b) {
  return detail::unary("operator*", static_cast<T>(a) * b.val(), b, static_cast<T>(a));
}

// d(a / b) = da / b - a db / b^2
template <typename T>
TAPEGRAD_ALWAYS_INLINE Var<T> operator/(const Var<T>& a, const Var<T>& b) {
  const T inv = T(1) / b.val(), q = a.val() * inv;
  return detail::binary("operator/", a.val() / b.val(), a, inv, b, -q * inv);
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator/(const Var<T>& a, U b) {
  return detail::unary("operator/", a.val() / static_cast<T>(b), a, T(1) / static_cast<T>(b));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
TAPEGRAD_ALWAYS_INLINE Var<T> operator/(U a, const Var<T>& b) {
  const T q = static_cast<T>(a) / b.val();
  return detail::unary("operator/", q, b, -q / b.val());
}

// ---- comparisons (on values; so if/while work as in plain C++) ----

#define TAPEGRAD_VAR_COMPARISON(op)                                             \
  template <typename T>                                                         \
  bool operator op(const Var<T>& a, const Var<T>& b) noexcept {                 \
    return a.val() op b.val();                                                  \
  }                                                                             \
  template <typename T, typename U, detail::if_arithmetic<U> = 0>               \
  bool operator op(const Var<T>& a, U b) noexcept {                             \
    return a.val() op b;                                                        \
  }                                                                             \
  template <typename T, typename U, detail::if_arithmetic<U> = 0>               \
  bool operator op(U a, const Var<T>& b) noexcept {                             \
    return a op b.val();                                                        \
  }
TAPEGRAD_VAR_COMPARISON(==)
TAPEGRAD_VAR_COMPARISON(!=)
TAPEGRAD_VAR_COMPARISON(<)
TAPEGRAD_VAR_COMPARISON(<=)
TAPEGRAD_VAR_COMPARISON(>)
TAPEGRAD_VAR_COMPARISON(>=)
#undef TAPEGRAD_VAR_COMPARISON

// Prints the value, so Eigen matrices of Var print as numbers.
template <typename T>
std::ostream& operator<<(std::ostream& os, const Var<T>& x) {
  return os << x.val();
}

// ---- exponentials and logarithms ----

// d/dx exp(x) = exp(x)
template <typename T>
Var<T> exp(const Var<T>& x) {
  const T e = std::exp(x.val());
  return detail::unary("exp", e, x, e);
}

// d/dx log(x) = 1/x   (log(0) = -inf with derivative inf; log(x < 0) = NaN, as std::log)
template <typename T>
Var<T> log(const Var<T>& x) {
  return detail::unary("log", std::log(x.val()), x, T(1) / x.val());
}

// d/dx log1p(x) = 1/(1 + x)
template <typename T>
Var<T> log1p(const Var<T>& x) {
  return detail::unary("log1p", std::log1p(x.val()), x, T(1) / (T(1) + x.val()));
}

// d/dx expm1(x) = exp(x) = expm1(x) + 1
template <typename T>
Var<T> expm1(const Var<T>& x) {
  const T e = std::expm1(x.val());
  return detail::unary("expm1", e, x, e + T(1));
}

// d/dx sqrt(x) = 1/(2 sqrt(x)). NOTE: sqrt'(0) = inf, as Stan and PyTorch.
template <typename T>
Var<T> sqrt(const Var<T>& x) {
  const T s = std::sqrt(x.val());
  return detail::unary("sqrt", s, x, T(0.5) / s);
}

// d/dx cbrt(x) = 1/(3 cbrt(x)^2). NOTE: cbrt'(0) = inf.
template <typename T>
Var<T> cbrt(const Var<T>& x) {
  const T c = std::cbrt(x.val());
  return detail::unary("cbrt", c, x, T(1) / (T(3) * c * c));
}

// ---- powers ----

namespace detail {
// d/dx x^y = y x^(y-1); 0 when y == 0 (x^0 is constant, even at x = 0).
template <typename T>
T pow_dbase(T x, T y) {
  return y == T(0) ? T(0) : y * std::pow(x, y - T(1));
}
// d/dy x^y = x^y log(x). NOTE: 0 at x == 0 for y >= 0 (the limit from x > 0), as PyTorch;
// NaN for x < 0, where x^y is not differentiable in y.
template <typename T>
T pow_dexponent(T x, T y, T x_pow_y) {
  return (x == T(0) && y >= T(0)) ? T(0) : x_pow_y * std::log(x);
}
}  // namespace detail

// pow(x, y) = x^y: d/dx = y x^(y-1), d/dy = x^y log(x)
template <typename T>
Var<T> pow(const Var<T>& x, const Var<T>& y) {
  const T p = std::pow(x.val(), y.val());
  return detail::binary("pow", p, x, detail::pow_dbase(x.val(), y.val()), y,
                        detail::pow_dexponent(x.val(), y.val(), p));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> pow(const Var<T>& x, U y) {
  const T e = static_cast<T>(y);
  return detail::unary("pow", std::pow(x.val(), e), x, detail::pow_dbase(x.val(), e));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> pow(U x, const Var<T>& y) {
  const T b = static_cast<T>(x), p = std::pow(b, y.val());
  return detail::unary("pow", p, y, detail::pow_dexponent(b, y.val(), p));
}

// ---- trigonometric ----

// d/dx sin(x) = cos(x)
template <typename T>
Var<T> sin(const Var<T>& x) {
  return detail::unary("sin", std::sin(x.val()), x, std::cos(x.val()));
}

// d/dx cos(x) = -sin(x)
template <typename T>
Var<T> cos(const Var<T>& x) {
  return detail::unary("cos", std::cos(x.val()), x, -std::sin(x.val()));
}

// d/dx tan(x) = 1 + tan(x)^2
template <typename T>
Var<T> tan(const Var<T>& x) {
  const T t = std::tan(x.val());
  return detail::unary("tan", t, x, T(1) + t * t);
}

// d/dx asin(x) = 1/sqrt(1 - x^2)   (inf at x = +-1; NaN outside [-1, 1], as the value)
template <typename T>
Var<T> asin(const Var<T>& x) {
  return detail::unary("asin", std::asin(x.val()), x, T(1) / std::sqrt(T(1) - x.val() * x.val()));
}

// d/dx acos(x) = -1/sqrt(1 - x^2)
template <typename T>
Var<T> acos(const Var<T>& x) {
  return detail::unary("acos", std::acos(x.val()), x, T(-1) / std::sqrt(T(1) - x.val() * x.val()));
}

// d/dx atan(x) = 1/(1 + x^2)
template <typename T>
Var<T> atan(const Var<T>& x) {
  return detail::unary("atan", std::atan(x.val()), x, T(1) / (T(1) + x.val() * x.val()));
}

// atan2(y, x): d/dy = x/(x^2 + y^2), d/dx = -y/(x^2 + y^2).
// NOTE: at y = x = 0 both are 0/0 = NaN, as Stan and PyTorch.
template <typename T>
Var<T> atan2(const Var<T>& y, const Var<T>& x) {
  const T r2 = x.val() * x.val() + y.val() * y.val();
  return detail::binary("atan2", std::atan2(y.val(), x.val()), y, x.val() / r2, x, -y.val() / r2);
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> atan2(const Var<T>& y, U x) {
  const T xv = static_cast<T>(x), r2 = xv * xv + y.val() * y.val();
  return detail::unary("atan2", std::atan2(y.val(), xv), y, xv / r2);
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> atan2(U y, const Var<T>& x) {
  const T yv = static_cast<T>(y), r2 = x.val() * x.val() + yv * yv;
  return detail::unary("atan2", std::atan2(yv, x.val()), x, -yv / r2);
}

// ---- hyperbolic ----

// d/dx sinh(x) = cosh(x)
template <typename T>
Var<T> sinh(const Var<T>& x) {
  return detail::unary("sinh", std::sinh(x.val()), x, std::cosh(x.val()));
}

// d/dx cosh(x) = sinh(x)
template <typename T>
Var<T> cosh(const Var<T>& x) {
  return detail::unary("cosh", std::cosh(x.val()), x, std::sinh(x.val()));
}

// d/dx tanh(x) = 1 - tanh(x)^2
template <typename T>
Var<T> tanh(const Var<T>& x) {
  const T t = std::tanh(x.val());
  return detail::unary("tanh", t, x, T(1) - t * t);
}

// ---- absolute value, min, max, hypot ----

// d/dx |x| = sign(x). NOTE: abs'(0) = 0, as Stan and PyTorch.
template <typename T>
Var<T> abs(const Var<T>& x) {
  const T v = x.val();
  const T sign = v > T(0) ? T(1) : (v < T(0) ? T(-1) : (v == T(0) ? T(0) : v));  // NaN stays NaN
  return detail::unary("abs", std::abs(v), x, sign);
}
template <typename T>
Var<T> fabs(const Var<T>& x) {
  return abs(x);
}

// fmin(a, b) is the smaller argument itself, so its derivative is 1 for that argument
// and 0 for the other; nothing is recorded. NOTE: at a tie the first argument is taken
// (as Stan); a NaN argument loses to a number, as std::fmin.
template <typename T>
Var<T> fmin(const Var<T>& a, const Var<T>& b) {
  TAPEGRAD_CHECK_VAR(a, "fmin");
  TAPEGRAD_CHECK_VAR(b, "fmin");
  if (std::isnan(a.val())) return b;
  if (std::isnan(b.val())) return a;
  return b.val() < a.val() ? b : a;
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> fmin(const Var<T>& a, U b) {
  return fmin(a, Var<T>(b));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> fmin(U a, const Var<T>& b) {
  return fmin(Var<T>(a), b);
}

// fmax(a, b): the larger argument itself. NOTE: ties take the first argument; NaN loses.
template <typename T>
Var<T> fmax(const Var<T>& a, const Var<T>& b) {
  TAPEGRAD_CHECK_VAR(a, "fmax");
  TAPEGRAD_CHECK_VAR(b, "fmax");
  if (std::isnan(a.val())) return b;
  if (std::isnan(b.val())) return a;
  return b.val() > a.val() ? b : a;
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> fmax(const Var<T>& a, U b) {
  return fmax(a, Var<T>(b));
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> fmax(U a, const Var<T>& b) {
  return fmax(Var<T>(a), b);
}

// hypot(x, y) = sqrt(x^2 + y^2): d/dx = x/hypot, d/dy = y/hypot.
// NOTE: at x = y = 0 both are 0/0 = NaN, as PyTorch.
template <typename T>
Var<T> hypot(const Var<T>& x, const Var<T>& y) {
  const T h = std::hypot(x.val(), y.val());
  return detail::binary("hypot", h, x, x.val() / h, y, y.val() / h);
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> hypot(const Var<T>& x, U y) {
  const T h = std::hypot(x.val(), static_cast<T>(y));
  return detail::unary("hypot", h, x, x.val() / h);
}
template <typename T, typename U, detail::if_arithmetic<U> = 0>
Var<T> hypot(U x, const Var<T>& y) {
  const T h = std::hypot(static_cast<T>(x), y.val());
  return detail::unary("hypot", h, y, y.val() / h);
}

// ---- error and gamma functions ----

// d/dx erf(x) = 2/sqrt(pi) exp(-x^2)
template <typename T>
Var<T> erf(const Var<T>& x) {
  const T two_over_sqrt_pi = T(1.12837916709551257390);
  return detail::unary("erf", std::erf(x.val()), x, two_over_sqrt_pi * std::exp(-x.val() * x.val()));
}

// d/dx erfc(x) = -2/sqrt(pi) exp(-x^2)
template <typename T>
Var<T> erfc(const Var<T>& x) {
  const T two_over_sqrt_pi = T(1.12837916709551257390);
  return detail::unary("erfc", std::erfc(x.val()), x, -two_over_sqrt_pi * std::exp(-x.val() * x.val()));
}

// d/dx lgamma(x) = digamma(x). NOTE: at 0, -1, -2, ... lgamma is inf and the derivative NaN.
template <typename T>
Var<T> lgamma(const Var<T>& x) {
  if (x.is_constant()) return Var<T>(std::lgamma(x.val()));
  return detail::unary("lgamma", std::lgamma(x.val()), x, static_cast<T>(detail::digamma(x.val())));
}

// d/dx tgamma(x) = tgamma(x) digamma(x). NOTE: NaN derivative at the poles 0, -1, -2, ...
template <typename T>
Var<T> tgamma(const Var<T>& x) {
  const T g = std::tgamma(x.val());
  if (x.is_constant()) return Var<T>(g);
  return detail::unary("tgamma", g, x, g * static_cast<T>(detail::digamma(x.val())));
}

// ---- rounding: piecewise constant ----

// floor(x): a constant, derivative 0. NOTE: 0 also at the integers where floor jumps, as
// Stan and PyTorch.
template <typename T>
Var<T> floor(const Var<T>& x) {
  TAPEGRAD_CHECK_VAR(x, "floor");
  return Var<T>(std::floor(x.val()));
}

// ceil(x): a constant, derivative 0 (also at the jumps).
template <typename T>
Var<T> ceil(const Var<T>& x) {
  TAPEGRAD_CHECK_VAR(x, "ceil");
  return Var<T>(std::ceil(x.val()));
}

#undef TAPEGRAD_CHECK_VAR

// ---- classification ----

template <typename T>
bool isfinite(const Var<T>& x) noexcept {
  return std::isfinite(x.val());
}
template <typename T>
bool isnan(const Var<T>& x) noexcept {
  return std::isnan(x.val());
}
template <typename T>
bool isinf(const Var<T>& x) noexcept {
  return std::isinf(x.val());
}

// ---- custom statements ----

// A variable whose value and partial derivatives the caller computed:
// d result / d operands[k] = partials[k] (Stan's precomputed_gradients). Use it for a
// function with a cheaper fused derivative, e.g. a log-density of many arguments: one
// statement of n operands instead of several statements per element. Operands and
// partials are any indexable containers (std::vector, Eigen vectors); constants among
// the operands are not recorded. Written straight into the tape: no allocation.
template <typename T, typename Operands, typename Partials>
Var<T> precomputed_gradients(T value, const Operands& operands, const Partials& partials) {
  const std::size_t n = static_cast<std::size_t>(operands.size());
  if (n != static_cast<std::size_t>(partials.size()))
    detail::fail<ValueError>("precomputed_gradients: ", n, " operands but ", static_cast<std::size_t>(partials.size()),
                             " partials; pass one partial derivative per operand");
  if (n == 0) return Var<T>(value);
  Tape<T>& t = Tape<T>::current();
  Tape<T>::begin_statement(n);
  var_index* idx = Tape<T>::operands();
  T* d = Tape<T>::partials();
  std::size_t used = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const Var<T>& x = operands[k];
    if (x.is_constant()) continue;
    x.check(t, "precomputed_gradients");
    idx[used] = x.index();
    d[used] = static_cast<T>(partials[k]);
    ++used;
  }
  if (used == 0) return Var<T>(value);
  return Var<T>::recorded(value, Tape<T>::end_statement(used), t);
}

// n new input variables with the values of xs (one bulk write to the tape).
template <typename U, detail::if_arithmetic<U> = 0>
std::vector<Var<detail::real_of<U>>> variables(const std::vector<U>& xs) {
  using T = detail::real_of<U>;
  const var_index first = Tape<T>::push_inputs(xs.size());
  return detail::build_vector(xs.size(), [&](std::size_t i) {
    return Var<T>::recorded(static_cast<T>(xs[i]), first + static_cast<var_index>(i));
  });
}

// The gradients x.grad() of a vector of Vars.
template <typename T>
std::vector<T> grads(const std::vector<Var<T>>& xs) {
  const Tape<T>& t = Tape<T>::current();
  return detail::build_vector(xs.size(), [&](std::size_t i) {
    xs[i].check(t, "grads");
    return t.adjoint(xs[i].index());
  });
}

}  // namespace tapegrad

// std::numeric_limits, std::isfinite / std::isnan / std::isinf for Var (as Stan Math
// provides them for its var; generic code written with std:: then accepts a Var).
namespace std {
template <typename T>
struct numeric_limits<tapegrad::Var<T>> : numeric_limits<T> {
  static constexpr tapegrad::Var<T> min() noexcept { return numeric_limits<T>::min(); }
  static constexpr tapegrad::Var<T> max() noexcept { return numeric_limits<T>::max(); }
  static constexpr tapegrad::Var<T> lowest() noexcept { return numeric_limits<T>::lowest(); }
  static constexpr tapegrad::Var<T> epsilon() noexcept { return numeric_limits<T>::epsilon(); }
  static constexpr tapegrad::Var<T> round_error() noexcept { return numeric_limits<T>::round_error(); }
  static constexpr tapegrad::Var<T> infinity() noexcept { return numeric_limits<T>::infinity(); }
  static constexpr tapegrad::Var<T> quiet_NaN() noexcept { return numeric_limits<T>::quiet_NaN(); }
  static constexpr tapegrad::Var<T> signaling_NaN() noexcept { return numeric_limits<T>::signaling_NaN(); }
  static constexpr tapegrad::Var<T> denorm_min() noexcept { return numeric_limits<T>::denorm_min(); }
};

template <typename T>
bool isfinite(const tapegrad::Var<T>& x) noexcept {
  return std::isfinite(x.val());
}
template <typename T>
bool isnan(const tapegrad::Var<T>& x) noexcept {
  return std::isnan(x.val());
}
template <typename T>
bool isinf(const tapegrad::Var<T>& x) noexcept {
  return std::isinf(x.val());
}
}  // namespace std
