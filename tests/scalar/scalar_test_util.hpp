#pragma once
// Helpers for the scalar tests: central differences in double and the matching
// reverse-mode derivatives, without the tensor library (fast to compile).

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include <Eigen/Core>
#include <tapegrad/scalar.hpp>

namespace tg = tapegrad;

namespace scalar_test {

using VectorXv = Eigen::Matrix<tg::Var<double>, Eigen::Dynamic, 1>;
using MatrixXv = Eigen::Matrix<tg::Var<double>, Eigen::Dynamic, Eigen::Dynamic>;

// Step for central differences at x: relative to |x| so large inputs keep precision.
inline double fd_step(double x, double h = 1e-6) { return h * std::max(1.0, std::abs(x)); }

// (f(x + h) - f(x - h)) / 2h for f: double -> double.
template <typename F>
double central_difference(F f, double x, double h = 1e-6) {
  const double step = fd_step(x, h);
  return (f(x + step) - f(x - step)) / (2 * step);
}

// Central-difference gradient of f: Eigen vector/matrix of double -> double, same shape as x.
template <typename F, typename M>
M fd_gradient(F f, const M& x, double h = 1e-6) {
  M g(x.rows(), x.cols());
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    M xp = x, xm = x;
    const double step = fd_step(x(k), h);
    xp(k) += step;
    xm(k) -= step;
    g(k) = (f(xp) - f(xm)) / (2 * step);
  }
  return g;
}

// d/dx f(x) by one reverse sweep, recorded in its own scope. f: Var<T> -> Var<T>.
template <typename T, typename F>
T reverse_derivative(F f, T x) {
  tg::TapeScope scope;
  const tg::Var<T> v = tg::variable(x);
  const tg::Var<T> y = f(v);
  y.backward();
  return v.grad();
}

// Both partials of f(a, b) by one reverse sweep. f: (Var, Var) -> Var.
struct Partials {
  double value, da, db;
};
template <typename F>
Partials reverse_partials(F f, double a, double b) {
  tg::TapeScope scope;
  const tg::Var<double> va = tg::variable(a), vb = tg::variable(b);
  const tg::Var<double> y = f(va, vb);
  y.backward();
  return {y.val(), va.grad(), vb.grad()};
}

// |a - b| <= abs_tol + rel_tol * max(|a|, |b|), with equal infinities and NaN == NaN.
inline bool close(double a, double b, double rel_tol, double abs_tol = 0) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= abs_tol + rel_tol * std::max(std::abs(a), std::abs(b));
}

// CHECK that prints both numbers and what they are.
#define CHECK_CLOSE(actual, expected, rel_tol)                                                    \
  do {                                                                                            \
    const double actual_ = (actual), expected_ = (expected);                                     \
    INFO(#actual << " = " << actual_ << ", expected " << #expected << " = " << expected_);     \
    CHECK(scalar_test::close(actual_, expected_, (rel_tol), (rel_tol)));                          \
  } while (0)

template <typename A, typename B>
bool all_close(const A& a, const B& b, double rel_tol, double abs_tol) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    for (Eigen::Index i = 0; i < a.rows(); ++i)
      if (!close(a(i, j), b(i, j), rel_tol, abs_tol)) return false;
  return true;
}

#define CHECK_ALL_CLOSE(actual, expected, rel_tol, abs_tol)                                  \
  do {                                                                                       \
    INFO(#actual << " =\n" << (actual) << "\nexpected " << #expected << " =\n" << (expected)); \
    CHECK(scalar_test::all_close((actual), (expected), (rel_tol), (abs_tol)));              \
  } while (0)

}  // namespace scalar_test
