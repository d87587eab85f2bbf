#pragma once
// Eigen matrices of tg::Var<T>: NumTraits and the mixed Var/T traits, plus helpers to
// move between Eigen matrices of numbers and of Vars.
//
//   Eigen::Matrix<tg::Var<double>, Eigen::Dynamic, Eigen::Dynamic> A = tg::variables(A0);
//   auto x = A.llt().solve(b);            // b may be a plain Eigen::VectorXd
//   tg::Var<double> y = x.squaredNorm();
//   y.backward();
//   Eigen::MatrixXd dA = tg::grads(A);    // dy/dA
//
// Every coefficient operation is recorded as scalar statements, so products, reductions,
// .norm(), LLT, LDLT, PartialPivLU, solve() and determinant() all differentiate. Eigen
// runs its generic (non-vectorised) kernels for a custom scalar: an n x n product records
// about 2 n^3 statements. NOTE: .norm() of a zero vector has a NaN gradient (sqrt'(0) =
// inf times 0), as Stan.

#include <Eigen/Core>

#include "eigen_traits.hpp"
#include "var.hpp"

namespace Eigen {

// A Var is two words; an operation also writes the tape (a few cycles more).
template <typename T>
struct NumTraits<tapegrad::Var<T>>
    : tapegrad::detail::RealScalarNumTraits<tapegrad::Var<T>, T, 2 * NumTraits<T>::ReadCost, 4 * NumTraits<T>::AddCost,
                                            4 * NumTraits<T>::MulCost> {};

// Var<T> op T and T op Var<T> give Var<T>: matrices of Var mix with matrices of numbers.
template <typename T, typename BinaryOp>
struct ScalarBinaryOpTraits<tapegrad::Var<T>, T, BinaryOp> {
  using ReturnType = tapegrad::Var<T>;
};
template <typename T, typename BinaryOp>
struct ScalarBinaryOpTraits<T, tapegrad::Var<T>, BinaryOp> {
  using ReturnType = tapegrad::Var<T>;
};

}  // namespace Eigen

namespace tapegrad {

// What Eigen's numext looks up by argument-dependent lookup for a real custom scalar.
template <typename T>
const Var<T>& conj(const Var<T>& x) {
  return x;
}
template <typename T>
const Var<T>& real(const Var<T>& x) {
  return x;
}
template <typename T>
Var<T> imag(const Var<T>&) {
  return Var<T>(0);
}
// abs2(x) = x^2: d/dx = 2x
template <typename T>
Var<T> abs2(const Var<T>& x) {
  return x * x;
}

template <typename T, int Rows = Eigen::Dynamic, int Cols = 1>
using VarMatrix = Eigen::Matrix<Var<T>, Rows, Cols>;

// A matrix of new input variables with the values of `m` (same shape).
template <typename Derived>
auto variables(const Eigen::MatrixBase<Derived>& m) {
  using T = detail::real_of<typename Derived::Scalar>;
  Eigen::Matrix<Var<T>, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> out(m.rows(), m.cols());
  Tape<T>& t = Tape<T>::current();
  var_index next = t.push_inputs(static_cast<std::size_t>(m.size()));  // numbered in column-major order
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) out(i, j) = Var<T>::recorded(static_cast<T>(m(i, j)), next++, t);
  return out;
}

// The values of a matrix of Vars, as numbers.
template <typename Derived>
auto values(const Eigen::MatrixBase<Derived>& m) {
  using T = typename Derived::Scalar::value_type;
  Eigen::Matrix<T, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> out(m.rows(), m.cols());
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) out(i, j) = m(i, j).val();
  return out;
}

// The gradients (x.grad() of each coefficient) of a matrix of Vars after a backward().
template <typename Derived>
auto grads(const Eigen::MatrixBase<Derived>& m) {
  using T = typename Derived::Scalar::value_type;
  Eigen::Matrix<T, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> out(m.rows(), m.cols());
  const Tape<T>& t = Tape<T>::current();
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      m(i, j).check(t, "grads");
      out(i, j) = t.adjoint(m(i, j).index());
    }
  return out;
}

}  // namespace tapegrad
