#pragma once
// Gradients and Jacobians of functions written with tg::Var<T>, returned as Eigen types.
//
//   auto f = [](const auto& x) { return x(0) * x(1) + sin(x(0)); };   // x: VectorX<Var>
//   Eigen::VectorXd g = tg::gradient(f, x0);                          // x0: Eigen::VectorXd
//   auto [fx, gx] = tg::value_and_gradient(f, x0);
//   Eigen::MatrixXd J = tg::jacobian(F, x0);                          // F: vector -> vector
//   Eigen::MatrixXd H = tg::hessian(f, x0);                           // f written generically
//   Eigen::VectorXd Hv = tg::hessian_vector_product(f, x0, v);
//
// Each call records inside its own TapeScope: the caller's tape is left as it was, and
// the calls nest (a function may itself call tg::gradient). f receives an
// Eigen::Matrix<Var<T>, Dynamic, 1> of new input variables with the values of x.

#include <type_traits>
#include <utility>

#include "dual_functions.hpp"
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

// How tg::jacobian computes: reverse mode records f once and sweeps once per output;
// forward mode evaluates f on Dual<T> once per input. `automatic` picks forward when f has
// fewer inputs than outputs and accepts a vector of Dual<T> (a generic lambda does).
enum class JacobianMode { automatic, reverse, forward };

namespace detail {
// Does f map a vector of Dual<T> to an Eigen vector of Dual<T>? Asked of the result type,
// not only of the call: an f taking VectorX<Var<T>> would accept the Dual vector through
// Eigen's converting constructor and fail only when instantiated.
template <typename F, typename T, typename = void>
struct accepts_dual_vector : std::false_type {};
template <typename F, typename T>
struct accepts_dual_vector<
    F, T, std::void_t<typename std::decay_t<decltype(std::declval<F&>()(std::declval<const VectorX<Dual<T>>&>()))>::Scalar>>
    : std::is_same<typename std::decay_t<decltype(std::declval<F&>()(std::declval<const VectorX<Dual<T>>&>()))>::Scalar,
                   Dual<T>> {};

template <typename T, typename F, typename Derived>
MatrixX<T> reverse_jacobian(F& f, const Eigen::MatrixBase<Derived>& x) {
  TapeScope scope;
  const VectorX<Var<T>> xs = variables(x.template cast<T>());
  const VectorX<Var<T>> ys = f(xs);
  MatrixX<T> J = MatrixX<T>::Zero(ys.size(), xs.size());
  if (xs.size() == 0) return J;
  for (Eigen::Index i = 0; i < ys.size(); ++i) J.row(i) = gradient_of(ys(i), xs).transpose();
  return J;
}
}  // namespace detail

// The m x n Jacobian of f: R^n -> R^m at x. f returns any Eigen vector expression of its
// scalar type. In reverse mode (one recording, m sweeps) f takes VectorX<Var<T>>; in
// forward mode (n evaluations) VectorX<Dual<T>>; `automatic` (the default) counts the
// outputs with one evaluation on Dual<T> of zero tangent and goes forward when n < m.
template <typename F, typename Derived>
MatrixX<detail::scalar_of<Derived>> jacobian(F&& f, const Eigen::MatrixBase<Derived>& x,
                                             JacobianMode mode = JacobianMode::automatic) {
  using T = detail::scalar_of<Derived>;
  detail::require_vector("jacobian", x);
  constexpr bool forward_possible = detail::accepts_dual_vector<F, T>::value;
  if constexpr (forward_possible) {
    if (mode == JacobianMode::automatic) {
      const VectorX<Dual<T>> xd = dual_detail::seed<T>(x.template cast<T>());
      const VectorX<Dual<T>> probe = f(xd);  // zero tangents: only the number of outputs is used
      if (x.size() < probe.size()) mode = JacobianMode::forward;
    }
    if (mode == JacobianMode::forward) return forward_jacobian(f, x.template cast<T>().eval());
  } else if (mode == JacobianMode::forward) {
    detail::fail<ValueError>("jacobian: JacobianMode::forward needs an f that accepts Eigen::Matrix<tg::Dual<T>, "
                     "Dynamic, 1>; write f as a generic lambda (const auto& x) or use JacobianMode::reverse");
  }
  return detail::reverse_jacobian<T>(f, x);
}

// ---- Hessians by forward-over-reverse ----
// f is evaluated on Dual<Var<T>>: the inputs' values are new Vars, their tangents the
// direction v. The tangent of f is then grad f(x) . v as a recorded Var, and one reverse
// sweep of it gives d/dx (grad f(x) . v) = H(x) v. As in Stan's hessian, H takes n such
// evaluations (v = e_1 ... e_n); each records into its own TapeScope, so memory stays at
// one recording. f must be written generically: it receives Eigen::Matrix<Dual<Var<T>>,
// Dynamic, 1> and returns Dual<Var<T>> (a lambda taking `const auto& x` does).

template <typename T>
struct ValueGradientHessian {
  T value;
  VectorX<T> gradient;
  MatrixX<T> hessian;
};

namespace detail {
// One forward-over-reverse evaluation along v, in its own scope.
template <typename T>
struct AlongDirection {
  T value;             // f(x)
  T slope;             // grad f(x) . v
  VectorX<T> hessian;  // H(x) v
};

template <typename T, typename F, typename DerivedX, typename DerivedV>
AlongDirection<T> hessian_along(F& f, const Eigen::MatrixBase<DerivedX>& x, const Eigen::MatrixBase<DerivedV>& v) {
  using DV = Dual<Var<T>>;
  TapeScope scope;
  const VectorX<Var<T>> xs = variables(x.template cast<T>());
  VectorX<DV> xd(xs.size());
  for (Eigen::Index i = 0; i < xs.size(); ++i) xd(i) = DV(xs(i), Var<T>(static_cast<T>(v(i))));
  const auto y = f(std::as_const(xd));
  static_assert(std::is_convertible_v<decltype(y), DV>,
                "tapegrad::hessian: f must return tg::Dual<tg::Var<T>> (one scalar) when called with "
                "Eigen::Matrix<tg::Dual<tg::Var<T>>, Dynamic, 1>; write f generically (const auto& x)");
  const DV yd = y;
  AlongDirection<T> out{yd.val().val(), yd.tangent().val(), VectorX<T>::Zero(xs.size())};
  if (xs.size() > 0) out.hessian = gradient_of(yd.tangent(), xs);
  return out;
}
}  // namespace detail

// f(x), its gradient and its n x n Hessian: n forward-over-reverse evaluations.
template <typename F, typename Derived>
ValueGradientHessian<detail::scalar_of<Derived>> value_gradient_and_hessian(F&& f, const Eigen::MatrixBase<Derived>& x) {
  using T = detail::scalar_of<Derived>;
  detail::require_vector("hessian", x);
  const Eigen::Index n = x.size();
  ValueGradientHessian<T> out{T(0), VectorX<T>::Zero(n), MatrixX<T>::Zero(n, n)};
  if (n == 0) {  // no direction to seed: the value alone
    out.value = detail::hessian_along<T>(f, x, VectorX<T>(0)).value;
    return out;
  }
  VectorX<T> direction = VectorX<T>::Zero(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    direction(j) = T(1);
    const detail::AlongDirection<T> along = detail::hessian_along<T>(f, x, direction);
    direction(j) = T(0);
    out.value = along.value;
    out.gradient(j) = along.slope;  // grad f . e_j
    out.hessian.col(j) = along.hessian;  // H e_j
  }
  return out;
}

// The n x n Hessian of f: R^n -> R at x.
template <typename F, typename Derived>
MatrixX<detail::scalar_of<Derived>> hessian(F&& f, const Eigen::MatrixBase<Derived>& x) {
  return value_gradient_and_hessian(std::forward<F>(f), x).hessian;
}

// H(x) v from ONE forward-over-reverse evaluation, without forming H: about the cost of
// a few gradients, whatever n is (Newton-CG and trust-region solvers need only this).
template <typename F, typename DerivedX, typename DerivedV>
VectorX<detail::scalar_of<DerivedX>> hessian_vector_product(F&& f, const Eigen::MatrixBase<DerivedX>& x,
                                                            const Eigen::MatrixBase<DerivedV>& v) {
  using T = detail::scalar_of<DerivedX>;
  detail::require_vector("hessian_vector_product", x);
  if (v.rows() != x.rows() || v.cols() != 1)
    detail::fail<ShapeError>("hessian_vector_product: x has ", static_cast<long long>(x.rows()), " entries but v is ",
                     static_cast<long long>(v.rows()), " x ", static_cast<long long>(v.cols()),
                     "; v must be a column vector of the same length as x");
  return detail::hessian_along<T>(f, x, v).hessian;
}

}  // namespace tapegrad
