// Eigen matrices of tg::Var: arithmetic, products, reductions, norm, LLT, LDLT,
// PartialPivLU, solve, determinant. Each function is written once, templated on the
// scalar, and its Var gradient is checked against central differences of the same
// computation in double (and closed forms where they are short).
#include <sstream>
#include <type_traits>

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include "scalar_test_util.hpp"

namespace scalar_eigen_test {

using scalar_test::fd_gradient;
using scalar_test::MatrixXv;
using scalar_test::VectorXv;
using V = tg::Var<double>;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {
template <typename M>
using Scalar = typename std::decay_t<M>::Scalar;

// The gradient of f at A0 by one reverse sweep; also checks that the value equals f in double.
template <typename F>
MatrixXd var_gradient(F f, const MatrixXd& A0) {
  tg::TapeScope scope;
  const MatrixXv A = tg::variables(A0);
  const V y = f(A);
  CHECK(y.val() == Approx(f(A0)).epsilon(1e-13));
  y.backward();
  return tg::grads(A);
}

template <typename F>
void check_against_differences(F f, const MatrixXd& A0, double tol = 1e-6) {
  const MatrixXd g = var_gradient(f, A0);
  const MatrixXd fd = fd_gradient([&](const MatrixXd& M) { return f(M); }, A0);
  CHECK_ALL_CLOSE(g, fd, tol, tol);
}

// A well-conditioned test matrix with distinct entries.
MatrixXd test_matrix(int rows, int cols, double shift = 0) {
  MatrixXd A(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) A(i, j) = std::sin(1.3 * i + 0.7 * j + 0.2) + (i == j ? shift : 0.0);
  return A;
}
}  // namespace

TEST_CASE("Eigen: NumTraits<Var<T>> and printing", "[eigen]") {
  using NT = Eigen::NumTraits<V>;
  STATIC_REQUIRE(NT::IsComplex == 0);
  STATIC_REQUIRE(NT::IsInteger == 0);
  STATIC_REQUIRE(NT::IsSigned == 1);
  STATIC_REQUIRE(NT::RequireInitialization == 1);
  STATIC_REQUIRE(std::is_same_v<NT::Real, V>);
  STATIC_REQUIRE(std::is_same_v<Eigen::ScalarBinaryOpTraits<V, double>::ReturnType, V>);
  STATIC_REQUIRE(std::is_same_v<Eigen::ScalarBinaryOpTraits<double, V>::ReturnType, V>);
  CHECK(NT::epsilon().val() == std::numeric_limits<double>::epsilon());
  CHECK(NT::dummy_precision().val() == Eigen::NumTraits<double>::dummy_precision());
  CHECK(NT::highest().val() == std::numeric_limits<double>::max());
  CHECK(NT::lowest().val() == std::numeric_limits<double>::lowest());
  CHECK(NT::digits10() == Eigen::NumTraits<double>::digits10());

  MatrixXv Z(2, 2);  // default-initialised: constant zeros
  CHECK(Z(1, 0).val() == 0.0);
  CHECK(Z(1, 0).is_constant());
  Eigen::Matrix2d A0;
  A0 << 1, 2.5, -3, 4;
  std::ostringstream a, b;
  a << tg::variables(A0);
  b << A0;
  CHECK(a.str() == b.str());
  CHECK(tg::values(tg::variables(A0)) == A0);
}

TEST_CASE("Eigen: coefficient-wise arithmetic, with Var and double matrices mixed", "[eigen]") {
  const MatrixXd A0 = test_matrix(3, 4), D = test_matrix(3, 4, 0.5).array() + 2.0;
  check_against_differences(
      [](const auto& A) {
        using S = Scalar<decltype(A)>;
        const auto B = (A + 2 * A - A.cwiseProduct(A) / 3.0 - 1.5 * A.array().square().matrix()).eval();
        return S(B.sum());
      },
      A0);
  check_against_differences(
      [&D](const auto& A) {  // Var with double, coefficient-wise: ScalarBinaryOpTraits<Var, double>
        using S = Scalar<decltype(A)>;
        return S((A + D).cwiseProduct(D).sum() + A.cwiseQuotient(D).sum() - (D - A).array().exp().sum());
      },
      A0);
  check_against_differences(
      [](const auto& A) {
        using S = Scalar<decltype(A)>;
        const auto X = (A.array() + 3.0).eval();
        return S((X.log() + X.sqrt() + X.sin() * X.tanh() + X.abs() + X.pow(1.5) + X.inverse()).sum());
      },
      A0);
  // Closed form: d/dA sum(A .* D) = D.
  CHECK(var_gradient([&D](const auto& A) { return Scalar<decltype(A)>(A.cwiseProduct(D).sum()); }, A0) == D);
}

TEST_CASE("Eigen: matrix products (coefficient-based and blocked GEMM) and dot products", "[eigen]") {
  const MatrixXd A0 = test_matrix(4, 3), B0 = test_matrix(3, 5, 1.0);
  // sum(A B) with B constant: d/dA_ik = sum_j B_kj.
  {
    const MatrixXd g = var_gradient(
        [&B0](const auto& A) {
          using S = Scalar<decltype(A)>;
          return S((A * B0.cast<S>()).sum());
        },
        A0);
    const MatrixXd expected = Eigen::VectorXd::Ones(4) * B0.rowwise().sum().transpose();
    CHECK_ALL_CLOSE(g, expected, 1e-14, 1e-14);
  }
  check_against_differences(
      [](const auto& A) {
        using S = Scalar<decltype(A)>;
        const auto AtA = (A.transpose() * A).eval();  // Var * Var
        return S((AtA * AtA).trace() + (A * A.transpose()).squaredNorm());
      },
      A0);
  // Matrix-vector and dot products.
  check_against_differences(
      [](const auto& A) {
        using S = Scalar<decltype(A)>;
        const auto v = A.col(1).eval();
        return S((A.transpose() * v).squaredNorm() + A.col(0).dot(A.col(2)) + A.row(0).dot(A.row(3)));
      },
      A0);
  // Mixed-scalar dot product (Var column . double column).
  check_against_differences(
      [&B0](const auto& A) {
        using S = Scalar<decltype(A)>;
        return S(A.col(0).head(3).dot(B0.col(1)));
      },
      A0);
  // 24 x 24: large enough for Eigen's blocked GEMM kernel rather than the lazy product.
  const MatrixXd C0 = test_matrix(24, 24, 3.0);
  check_against_differences(
      [](const auto& C) {
        using S = Scalar<decltype(C)>;
        const auto P = (C * C).eval();
        return S(P.sum() / 100.0 + P(3, 7));
      },
      C0, 1e-6);
}

TEST_CASE("Eigen: reductions and norms", "[eigen]") {
  const MatrixXd A0 = test_matrix(3, 3, 1.5);
  check_against_differences(
      [](const auto& A) {
        using S = Scalar<decltype(A)>;
        return S(A.sum() + A.prod() + A.mean() + A.maxCoeff() - A.minCoeff() + A.trace() + A.squaredNorm() +
                 A.norm() + A.template lpNorm<1>() + A.colwise().sum().prod() + A.rowwise().norm().sum());
      },
      A0);
  // Closed forms: d ||A|| / dA = A / ||A||; maxCoeff passes the gradient to the maximum.
  const MatrixXd gn = var_gradient([](const auto& A) { return Scalar<decltype(A)>(A.norm()); }, A0);
  CHECK_ALL_CLOSE(gn, A0 / A0.norm(), 1e-14, 1e-15);
  Eigen::Index r = 0, c = 0;
  A0.maxCoeff(&r, &c);
  const MatrixXd gm = var_gradient([](const auto& A) { return Scalar<decltype(A)>(A.maxCoeff()); }, A0);
  CHECK(gm(r, c) == 1.0);
  CHECK(gm.sum() == 1.0);
  // NOTE: the norm of a zero vector has a NaN gradient (sqrt'(0) = inf times 0), as Stan.
  tg::TapeScope scope;
  const VectorXv z = tg::variables(VectorXd::Zero(3));
  const V n = z.norm();
  n.backward();
  CHECK(n.val() == 0.0);
  CHECK(std::isnan(z(0).grad()));
}

TEST_CASE("Eigen: LLT and LDLT factorisations and solves", "[eigen]") {
  const MatrixXd M0 = test_matrix(4, 4);
  const VectorXd b = VectorXd::LinSpaced(4, -1.0, 2.0);
  // SPD matrix built from the inputs: S = M M^T + 4 I.
  auto spd = [](const auto& M) {
    using S = Scalar<decltype(M)>;
    using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
    return Mat(M * M.transpose() + Mat::Identity(M.rows(), M.rows()) * S(4.0));
  };
  check_against_differences(
      [&](const auto& M) {
        using S = Scalar<decltype(M)>;
        const auto A = spd(M);
        const Eigen::LLT<std::decay_t<decltype(A)>> llt(A);
        const auto x = llt.solve(b.cast<S>()).eval();
        const auto L = llt.matrixL().toDenseMatrix();
        S logdet = 0.0;
        for (Eigen::Index i = 0; i < L.rows(); ++i) logdet += 2.0 * log(L(i, i));
        return S(x.squaredNorm() + logdet);
      },
      M0);
  check_against_differences(
      [&](const auto& M) {
        using S = Scalar<decltype(M)>;
        const auto A = spd(M);
        const Eigen::LDLT<std::decay_t<decltype(A)>> ldlt(A);
        const auto x = ldlt.solve(b.cast<S>()).eval();
        return S(x.sum() + ldlt.vectorD().prod());
      },
      M0);
  // Closed form for a symmetric A used as is (not built from M): d/dA (b^T A^-1 b) = -A^-1 b b^T A^-1.
  const MatrixXd A0 = spd(M0);
  const MatrixXd g = var_gradient(
      [&](const auto& A) {
        using S = Scalar<decltype(A)>;
        return S(b.cast<S>().dot(A.llt().solve(b.cast<S>())));
      },
      A0);
  // LLT reads the lower triangle only: the gradient lands there (symmetric contributions folded).
  const VectorXd u = A0.llt().solve(b);
  const MatrixXd full = -u * u.transpose();
  MatrixXd expected = full.triangularView<Eigen::Lower>();
  expected.triangularView<Eigen::StrictlyLower>() *= 2.0;
  CHECK_ALL_CLOSE(g, expected, 1e-12, 1e-13);
}

TEST_CASE("Eigen: PartialPivLU solve, inverse and determinant", "[eigen]") {
  const MatrixXd A0 = test_matrix(5, 5, 2.0);
  const VectorXd b = VectorXd::LinSpaced(5, 1.0, -1.0);
  check_against_differences(
      [&](const auto& A) {
        using S = Scalar<decltype(A)>;
        const auto lu = A.partialPivLu();
        return S(lu.solve(b.cast<S>()).squaredNorm() + lu.determinant() + lu.inverse().trace());
      },
      A0);
  // Closed form: d det(A) / dA = det(A) A^-T, through A.determinant() (LU for dynamic sizes).
  const MatrixXd g = var_gradient([](const auto& A) { return Scalar<decltype(A)>(A.determinant()); }, A0);
  CHECK_ALL_CLOSE(g, A0.determinant() * A0.inverse().transpose(), 1e-12, 1e-12);
  // Fixed sizes use Eigen's closed-form 2x2, 3x3, 4x4 determinants.
  for (int n = 2; n <= 4; ++n) {
    INFO("n = " << n);
    const MatrixXd B0 = test_matrix(n, n, 1.0);
    const MatrixXd gd = var_gradient(
        [n](const auto& B) {
          using S = Scalar<decltype(B)>;
          if (n == 2) return S(Eigen::Matrix<S, 2, 2>(B).determinant());
          if (n == 3) return S(Eigen::Matrix<S, 3, 3>(B).determinant());
          return S(Eigen::Matrix<S, 4, 4>(B).determinant());
        },
        B0);
    CHECK_ALL_CLOSE(gd, B0.determinant() * B0.inverse().transpose(), 1e-12, 1e-12);
  }
  // A singular matrix: determinant 0, the gradient is the adjugate (finite).
  MatrixXd S0(2, 2);
  S0 << 1, 2, 2, 4;
  const MatrixXd gs = var_gradient([](const auto& A) { return Scalar<decltype(A)>(A.determinant()); }, S0);
  MatrixXd adj(2, 2);
  adj << 4, -2, -2, 1;
  CHECK_ALL_CLOSE(gs, adj, 1e-14, 1e-14);
}

TEST_CASE("Eigen: matrices of Var<float>", "[eigen][float]") {
  using F = tg::Var<float>;
  using MatrixXf = Eigen::MatrixXf;
  MatrixXf A0(3, 3);
  A0 << 4, 1, 0.5f, 1, 3, 0.2f, 0.5f, 0.2f, 2;
  tg::TapeScope scope;
  const Eigen::Matrix<F, Eigen::Dynamic, Eigen::Dynamic> A = tg::variables(A0);
  const F d = A.determinant() + (A * A).sum() + A.llt().solve(Eigen::Matrix<F, 3, 1>::Ones().eval()).sum();
  d.backward();
  const MatrixXd A0d = A0.cast<double>();
  const MatrixXd expected = fd_gradient(
      [](const MatrixXd& M) {
        return M.determinant() + (M * M).sum() + M.llt().solve(VectorXd::Ones(3)).sum();
      },
      A0d);
  CHECK_ALL_CLOSE(tg::grads(A).cast<double>(), expected, 1e-4, 1e-4);
}

}  // namespace scalar_eigen_test
