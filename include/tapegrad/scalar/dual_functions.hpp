#pragma once
// Forward-mode derivative helpers on tg::Dual:
//
//   tg::derivative(f, x)                   f'(x) for f: R -> R, one evaluation on Dual
//   tg::value_and_derivative(f, x)         {f(x), f'(x)}
//   tg::second_derivative(f, x)            f''(x), one evaluation on Dual<Dual>
//   tg::value_and_derivatives(f, x)        {f(x), f'(x), f''(x)}
//   tg::directional_derivative(f, x, v)    J(x) v for f: R^n -> R^m, one evaluation
//   tg::value_and_directional_derivative   {f(x), J(x) v}
//   tg::forward_jacobian(f, x)             J(x), one evaluation per input (n sweeps)
//
// f is any callable; write it generically (a template or a lambda taking `auto`) or for
// the Dual type it is called with: tg::Dual<T> for the scalar helpers,
// tg::Dual<tg::Dual<T>> for the second-order ones, and Eigen::Matrix<tg::Dual<T>, Dynamic, 1>
// for the vector ones. A vector f may return one Dual, an Eigen vector or matrix of Duals
// (an expression is fine) or a std::vector of Duals; the result has the same form with
// plain T (a matrix is read in Eigen's column-major order by forward_jacobian).
//
// Forward mode costs one evaluation per input direction; reverse mode (tg::Var) one per
// output. Prefer these when inputs are few (n small, m large) or for derivatives along a
// single direction, and for second derivatives of scalar functions.

#include <utility>
#include <vector>

#include <Eigen/Core>

#include "../core/error.hpp"
#include "dual.hpp"

namespace tapegrad {

template <typename V>
struct ValueAndDerivative {
  V value;
  V derivative;
};

template <typename T>
struct ValueAndDerivatives {
  T value;
  T first;   // f'(x)
  T second;  // f''(x)
};

namespace dual_detail {

// The point type of the scalar helpers: an integer x (derivative(f, 2)) means a double.
template <typename X>
using point_t = std::conditional_t<std::is_integral_v<X>, double, X>;

// f's result brought to a plain type: Eigen expressions evaluated, the rest as it is.
template <typename Y>
decltype(auto) evaluate(Y&& y) {
  using D = std::decay_t<Y>;
  if constexpr (std::is_base_of_v<Eigen::EigenBase<D>, D>)
    return typename D::PlainObject(std::forward<Y>(y));
  else
    return std::forward<Y>(y);
}

// How to read values and tangents out of each kind of result f may return.
template <typename Y, typename T, typename = void>
struct Output {
  static_assert(sizeof(Y) == 0,
                "tapegrad: f must return tg::Dual<T>, an Eigen matrix or vector of tg::Dual<T>, "
                "a std::vector<tg::Dual<T>>, or a plain number (a constant function)");
};
template <typename T>
struct Output<Dual<T>, T> {
  static T values(const Dual<T>& y) { return y.val(); }
  static T tangents(const Dual<T>& y) { return y.tangent(); }
  static Eigen::Index size(const Dual<T>&) { return 1; }
  static T tangent_at(const Dual<T>& y, Eigen::Index) { return y.tangent(); }
};
template <typename Y, typename T>
struct Output<Y, T, std::enable_if_t<std::is_arithmetic_v<Y>>> {  // a constant
  static T values(Y y) { return T(y); }
  static T tangents(Y) { return zero<T>(); }
  static Eigen::Index size(Y) { return 1; }
  static T tangent_at(Y, Eigen::Index) { return zero<T>(); }
};
template <typename T>
struct Output<std::vector<Dual<T>>, T> {
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  static Vector values(const std::vector<Dual<T>>& y) {
    Vector out(static_cast<Eigen::Index>(y.size()));
    for (Eigen::Index i = 0; i < out.size(); ++i) out(i) = y[static_cast<std::size_t>(i)].val();
    return out;
  }
  static Vector tangents(const std::vector<Dual<T>>& y) {
    Vector out(static_cast<Eigen::Index>(y.size()));
    for (Eigen::Index i = 0; i < out.size(); ++i) out(i) = y[static_cast<std::size_t>(i)].tangent();
    return out;
  }
  static Eigen::Index size(const std::vector<Dual<T>>& y) { return static_cast<Eigen::Index>(y.size()); }
  static T tangent_at(const std::vector<Dual<T>>& y, Eigen::Index i) {
    return y[static_cast<std::size_t>(i)].tangent();
  }
};
template <typename Y, typename T>
struct Output<Y, T, std::enable_if_t<std::is_base_of_v<Eigen::EigenBase<Y>, Y>>> {
  static_assert(std::is_same_v<typename Y::Scalar, Dual<T>>,
                "tapegrad: f must return an Eigen matrix or vector of tg::Dual<T>, with T the type of x");
  static auto values(const Y& y) {
    return y.unaryExpr([](const Dual<T>& d) { return d.val(); }).eval();
  }
  static auto tangents(const Y& y) {
    return y.unaryExpr([](const Dual<T>& d) { return d.tangent(); }).eval();
  }
  static Eigen::Index size(const Y& y) { return y.size(); }
  static T tangent_at(const Y& y, Eigen::Index i) { return y.coeff(i).tangent(); }
};

template <typename Y, typename T>
using output_t = Output<std::decay_t<Y>, T>;

template <typename Derived>
void check_vector(const char* op, const char* name, const Eigen::MatrixBase<Derived>& x) {
  if (x.rows() != 1 && x.cols() != 1)
    tapegrad::detail::fail<ShapeError>(op, ": ", name, " must be a vector, got a ", static_cast<long long>(x.rows()),
                                       " x ", static_cast<long long>(x.cols()), " matrix; pass ", name,
                                       ".reshaped() to use its entries");
}

// x as Duals with tangent v (or zero tangents when v is null).
template <typename T, typename DerivedX>
Eigen::Matrix<Dual<T>, Eigen::Dynamic, 1> seed(const Eigen::MatrixBase<DerivedX>& x) {
  Eigen::Matrix<Dual<T>, Eigen::Dynamic, 1> xd(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) xd(i) = Dual<T>(x(i));
  return xd;
}

}  // namespace dual_detail

// ---- scalar functions ----------------------------------------------------------------

// {f(x), f'(x)} for f: R -> R, from one evaluation of f on Dual(x, 1).
template <typename F, typename X>
auto value_and_derivative(F&& f, const X& x) {
  using T = dual_detail::point_t<X>;
  using R = dual_detail::real_t<T>;
  auto y = std::forward<F>(f)(Dual<T>(T(x), T(R(1))));
  using Out = dual_detail::output_t<decltype(y), T>;
  return ValueAndDerivative<T>{Out::values(y), Out::tangents(y)};
}

// f'(x) for f: R -> R.
template <typename F, typename X>
auto derivative(F&& f, const X& x) {
  return value_and_derivative(std::forward<F>(f), x).derivative;
}

// {f(x), f'(x), f''(x)} for f: R -> R, from one evaluation of f on
// Dual<Dual>(x + e1 + e2): the e1 e2 part of f(x + e1 + e2) is f''(x).
template <typename F, typename X>
auto value_and_derivatives(F&& f, const X& x) {
  using T = dual_detail::point_t<X>;
  using R = dual_detail::real_t<T>;
  using D = Dual<T>;
  const T zero(R(0)), one(R(1));
  auto y = std::forward<F>(f)(Dual<D>(D(T(x), one), D(one, zero)));
  using Y = std::decay_t<decltype(y)>;
  if constexpr (std::is_arithmetic_v<Y>) {
    return ValueAndDerivatives<T>{T(y), zero, zero};
  } else {
    static_assert(std::is_same_v<Y, Dual<D>>,
                  "tapegrad::second_derivative: f must return tg::Dual<tg::Dual<T>> (the type of its argument)");
    return ValueAndDerivatives<T>{y.val().val(), y.val().tangent(), y.tangent().tangent()};
  }
}

// f''(x) for f: R -> R.
template <typename F, typename X>
auto second_derivative(F&& f, const X& x) {
  return value_and_derivatives(std::forward<F>(f), x).second;
}

// ---- vector functions ----------------------------------------------------------------

// {f(x), J(x) v}: f evaluated once on the Duals x + v e. The result has the form of f's
// (T for a scalar f, an Eigen vector or matrix of T otherwise).
template <typename F, typename DerivedX, typename DerivedV>
auto value_and_directional_derivative(F&& f, const Eigen::MatrixBase<DerivedX>& x,
                                      const Eigen::MatrixBase<DerivedV>& v) {
  using T = typename DerivedX::Scalar;
  static_assert(!std::is_integral_v<T>,
                "tapegrad::directional_derivative: x has integer entries; pass x.cast<double>()");
  dual_detail::check_vector("directional_derivative", "x", x);
  dual_detail::check_vector("directional_derivative", "v", v);
  if (v.size() != x.size())
    detail::fail<ShapeError>("directional_derivative: x has ", static_cast<long long>(x.size()),
                             " entries but the direction v has ", static_cast<long long>(v.size()),
                             "; pass one direction entry per input");
  auto xd = dual_detail::seed<T>(x);
  for (Eigen::Index i = 0; i < x.size(); ++i) xd(i).tangent() = static_cast<T>(v(i));
  const auto y = dual_detail::evaluate(std::forward<F>(f)(std::as_const(xd)));
  using Out = dual_detail::output_t<decltype(y), T>;
  using V = decltype(Out::values(y));
  return ValueAndDerivative<V>{Out::values(y), Out::tangents(y)};
}

// J(x) v, the derivative of f at x along v.
template <typename F, typename DerivedX, typename DerivedV>
auto directional_derivative(F&& f, const Eigen::MatrixBase<DerivedX>& x, const Eigen::MatrixBase<DerivedV>& v) {
  return value_and_directional_derivative(std::forward<F>(f), x, v).derivative;
}

// The m x n Jacobian J(i, j) = d f_i / d x_j, one evaluation of f per input (column).
// Cheaper than reverse mode when f has fewer inputs than outputs.
template <typename F, typename DerivedX>
Eigen::Matrix<typename DerivedX::Scalar, Eigen::Dynamic, Eigen::Dynamic> forward_jacobian(
    F&& f, const Eigen::MatrixBase<DerivedX>& x) {
  using T = typename DerivedX::Scalar;
  using R = dual_detail::real_t<T>;
  static_assert(!std::is_integral_v<T>, "tapegrad::forward_jacobian: x has integer entries; pass x.cast<double>()");
  dual_detail::check_vector("forward_jacobian", "x", x);
  const Eigen::Index n = x.size();
  auto xd = dual_detail::seed<T>(x);
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> jac;
  if (n == 0) {  // f still decides the number of outputs
    const auto y = dual_detail::evaluate(f(std::as_const(xd)));
    jac.resize(dual_detail::output_t<decltype(y), T>::size(y), 0);
    return jac;
  }
  for (Eigen::Index j = 0; j < n; ++j) {
    xd(j).tangent() = T(R(1));
    const auto y = dual_detail::evaluate(f(std::as_const(xd)));
    xd(j).tangent() = T(R(0));
    using Out = dual_detail::output_t<decltype(y), T>;
    const Eigen::Index m = Out::size(y);
    if (j == 0)
      jac.resize(m, n);
    else if (m != jac.rows())
      detail::fail<ShapeError>("forward_jacobian: f returned ", static_cast<long long>(jac.rows()),
                               " outputs for input 0 but ", static_cast<long long>(m), " for input ",
                               static_cast<long long>(j), "; f must return the same number of outputs every time");
    for (Eigen::Index i = 0; i < m; ++i) jac(i, j) = Out::tangent_at(y, i);
  }
  return jac;
}

}  // namespace tapegrad
