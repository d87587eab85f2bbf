#pragma once
// Gradients and Jacobians of functions written with tg::Var<T>, returned as Eigen types.
//
//   auto f = [](const auto& x) { return x(0) * x(1) + sin(x(0)); };   // x: VectorX<Var>
//   Eigen::VectorXd g = tg::gradient(f, x0);                          // x0: Eigen::VectorXd
//   auto [fx, gx] = tg::value_and_gradient(f, x0);
//   Eigen::MatrixXd J = tg::jacobian(F, x0);                          // F: vector -> vector
//
// Each call records inside its own TapeScope: the caller's tape is left as it was, and
// the calls nest (a function may itself call tg::gradient). f receives an
// Eigen::Matrix<Var<T>, Dynamic, 1> of new input variables with the values of x.

#include <utility>

#include "eigen.hpp"

namespace tapegrad {

template <typename T>
using VectorX = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using MatrixX = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// The result of tg::value_and_gradient; works with structured bindings.
template <typename T>
struct ValueAndGradient {
  T value;
  VectorX<T> gradient;
};

namespace detail {
template <typename Derived>
using scalar_of = real_of<typename Derived::Scalar>;

template <typename Derived>
void require_vector(const char* where, const Eigen::MatrixBase<Derived>& x) {
  if (x.cols() != 1)
    fail<ShapeError>(where, ": x must be a column vector, got a ", static_cast<long long>(x.rows()), " x ",
                     static_cast<long long>(x.cols()), " matrix; pass x.reshaped() to differentiate with respect "
                     "to every coefficient");
}

// The gradient of output y with respect to the inputs xs, all recorded in the current scope.
template <typename T>
VectorX<T> gradient_of(const Var<T>& y, const VectorX<Var<T>>& xs) {
  VectorX<T> g(xs.size());
  if (y.is_constant() || y.index() < xs(0).index()) {  // y does not depend on x
    g.setZero();
    return g;
  }
  y.backward();
  for (Eigen::Index i = 0; i < xs.size(); ++i) g(i) = xs(i).grad();
  return g;
}
}  // namespace detail

// f(x) and its gradient by one reverse sweep. f: VectorX<Var<T>> -> Var<T>.
template <typename F, typename Derived>
ValueAndGradient<detail::scalar_of<Derived>> value_and_gradient(F&& f, const Eigen::MatrixBase<Derived>& x) {
  using T = detail::scalar_of<Derived>;
  detail::require_vector("value_and_gradient", x);
  TapeScope scope;
  const VectorX<Var<T>> xs = variables(x.template cast<T>());
  const Var<T> y = f(xs);
  if (xs.size() == 0) return {y.val(), VectorX<T>()};
  return {y.val(), detail::gradient_of(y, xs)};
}

// The gradient of f at x by one reverse sweep. f: VectorX<Var<T>> -> Var<T>.
template <typename F, typename Derived>
VectorX<detail::scalar_of<Derived>> gradient(F&& f, const Eigen::MatrixBase<Derived>& x) {
  return value_and_gradient(std::forward<F>(f), x).gradient;
}

// The m x n Jacobian of f: R^n -> R^m at x, one reverse sweep per output over a single
// recording. f returns any Eigen vector expression of Var<T> (or a VectorX<Var<T>>).
template <typename F, typename Derived>
MatrixX<detail::scalar_of<Derived>> jacobian(F&& f, const Eigen::MatrixBase<Derived>& x) {
  using T = detail::scalar_of<Derived>;
  detail::require_vector("jacobian", x);
  // ---- FORWARD-MODE CHOICE (to be wired once Dual<T> exists) ----
  // When n = x.size() is smaller than m, n forward passes with Dual<T> seeds cost less
  // than m reverse sweeps; dispatch to that here. Until then: reverse sweeps always.
  TapeScope scope;
  const VectorX<Var<T>> xs = variables(x.template cast<T>());
  const VectorX<Var<T>> ys = f(xs);
  MatrixX<T> J = MatrixX<T>::Zero(ys.size(), xs.size());
  if (xs.size() == 0) return J;
  for (Eigen::Index i = 0; i < ys.size(); ++i) J.row(i) = detail::gradient_of(ys(i), xs).transpose();
  return J;
}

// ---- HESSIANS (to be wired once Dual<T> exists) ----
// tg::hessian(f, x) and tg::hessian_vector_product(f, x, v) by forward-over-reverse
// (Dual<Var<T>>: one reverse sweep per Dual seed, as Stan's hessian) go here.

}  // namespace tapegrad
