// tg::gradient, tg::value_and_gradient and tg::jacobian for functions written with Var,
// against closed forms and central differences.
#include <Eigen/Cholesky>

#include "scalar_test_util.hpp"

using scalar_test::fd_gradient;
using scalar_test::VectorXv;
using V = tg::Var<double>;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {
// Rosenbrock in n dimensions, generic in the scalar.
template <typename Vec>
auto rosenbrock(const Vec& x) {
  using S = typename Vec::Scalar;
  S f = 0.0;
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    const S a = x(i + 1) - x(i) * x(i), b = 1.0 - x(i);
    f += 100.0 * a * a + b * b;
  }
  return f;
}

VectorXd rosenbrock_gradient(const VectorXd& x) {
  VectorXd g = VectorXd::Zero(x.size());
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    g(i) += -400.0 * x(i) * (x(i + 1) - x(i) * x(i)) - 2.0 * (1.0 - x(i));
    g(i + 1) += 200.0 * (x(i + 1) - x(i) * x(i));
  }
  return g;
}
}  // namespace

TEST_CASE("gradient: Rosenbrock against its closed form and central differences", "[functions]") {
  VectorXd x(5);
  x << -1.2, 1.0, 0.3, -0.5, 2.0;
  const VectorXd g = tg::gradient([](const VectorXv& v) { return rosenbrock(v); }, x);
  CHECK_ALL_CLOSE(g, rosenbrock_gradient(x), 1e-14, 1e-12);
  CHECK_ALL_CLOSE(g, fd_gradient([](const VectorXd& v) { return rosenbrock(v); }, x), 1e-6, 1e-6);
  // At the minimum the gradient is exactly zero.
  CHECK(tg::gradient([](const auto& v) { return rosenbrock(v); }, VectorXd::Ones(4)) == VectorXd::Zero(4));
}

TEST_CASE("value_and_gradient: one recording gives both, with structured bindings", "[functions]") {
  VectorXd x(3);
  x << 0.5, -1.0, 2.0;
  auto f = [](const VectorXv& v) { return exp(v(0)) * sin(v(1)) + v.squaredNorm() / v(2); };
  const auto [value, gradient] = tg::value_and_gradient(f, x);
  CHECK(value == std::exp(0.5) * std::sin(-1.0) + x.squaredNorm() / 2.0);
  VectorXd expected(3);
  expected << std::exp(0.5) * std::sin(-1.0) + 2 * 0.5 / 2.0, std::exp(0.5) * std::cos(-1.0) + 2 * -1.0 / 2.0,
      2 * 2.0 / 2.0 - x.squaredNorm() / 4.0;
  CHECK_ALL_CLOSE(gradient, expected, 1e-15, 1e-15);
  // An Eigen expression as x works too, and the caller's tape is left as it was.
  const std::size_t before = tg::tape().num_variables();
  const auto r = tg::value_and_gradient(f, (x * 2.0).eval());
  CHECK(r.value == Approx(std::exp(1.0) * std::sin(-2.0) + 4 * x.squaredNorm() / 4.0));
  CHECK(tg::tape().num_variables() == before);
}

TEST_CASE("gradient: functions that ignore x, or return an outer Var, have zero gradient", "[functions]") {
  const VectorXd x = VectorXd::LinSpaced(3, 1.0, 3.0);
  CHECK(tg::gradient([](const VectorXv&) { return V(4.0); }, x) == VectorXd::Zero(3));
  tg::TapeScope scope;
  const V outside = tg::variable(7.0) * 2.0;
  const auto r = tg::value_and_gradient([&](const VectorXv&) { return outside; }, x);
  CHECK(r.value == 14.0);
  CHECK(r.gradient == VectorXd::Zero(3));
  // Using some inputs only.
  CHECK(tg::gradient([](const VectorXv& v) { return v(1) * 3.0; }, x) == VectorXd::Unit(3, 1) * 3.0);
  // Empty input.
  CHECK(tg::gradient([](const VectorXv& v) { return V(v.size()); }, VectorXd(0)).size() == 0);
}

TEST_CASE("gradient: nested calls and calls inside an outer recording", "[functions]") {
  // The gradient of g(x) = sum_i (d/dx_i f)(x)^2, where the inner gradient is a number:
  // the outer recording is untouched by the inner call.
  tg::TapeScope scope;
  const V a = tg::variable(1.5);
  const V before = a * a;
  const VectorXd inner = tg::gradient([](const VectorXv& v) { return v(0) * v(0) * v(1); }, VectorXd::Ones(2));
  CHECK(inner == VectorXd((VectorXd(2) << 2.0, 1.0).finished()));
  const V after = before * inner(0);  // 2 a^2
  after.backward();
  CHECK(a.grad() == 4 * 1.5);
  // A gradient computed inside the function being differentiated.
  const VectorXd outer = tg::gradient(
      [](const VectorXv& v) {
        const VectorXd g = tg::gradient([](const VectorXv& u) { return u.squaredNorm(); }, tg::values(v));
        return V(v(0) * g(1));  // g(1) = 2 v(1) as a number
      },
      VectorXd::LinSpaced(2, 3.0, 5.0));
  CHECK(outer == VectorXd((VectorXd(2) << 10.0, 0.0).finished()));
}

TEST_CASE("jacobian: closed forms and central differences, m > n and m < n", "[functions]") {
  // F: R^2 -> R^3
  auto F = [](const VectorXv& v) {
    VectorXv r(3);
    r << v(0) * v(1), sin(v(0)) + v(1), exp(v(1)) / v(0);
    return r;
  };
  VectorXd x(2);
  x << 0.7, -1.3;
  const MatrixXd J = tg::jacobian(F, x);
  MatrixXd expected(3, 2);
  expected << x(1), x(0), std::cos(x(0)), 1.0, -std::exp(x(1)) / (x(0) * x(0)), std::exp(x(1)) / x(0);
  CHECK_ALL_CLOSE(J, expected, 1e-15, 1e-15);
  for (int i = 0; i < 3; ++i) {
    const VectorXd fd = fd_gradient(
        [&](const VectorXd& p) {
          VectorXv r = F(p.cast<V>());
          return r(i).val();
        },
        x);
    CHECK_ALL_CLOSE(VectorXd(J.row(i).transpose()), fd, 1e-6, 1e-8);
  }
  // G: R^4 -> R^2 returning an Eigen expression, and an output that does not depend on x.
  auto G = [](const VectorXv& v) {
    VectorXv r(2);
    r << v.squaredNorm(), V(2.0);
    return r;
  };
  const VectorXd y = VectorXd::LinSpaced(4, -1.0, 1.0);
  const MatrixXd JG = tg::jacobian(G, y);
  REQUIRE(JG.rows() == 2);
  REQUIRE(JG.cols() == 4);
  CHECK_ALL_CLOSE(VectorXd(JG.row(0).transpose()), 2 * y, 1e-15, 1e-15);
  CHECK(JG.row(1).isZero(0));
  // The Jacobian of a linear map is its matrix.
  MatrixXd A(2, 3);
  A << 1, 2, 3, -4, 5, -6;
  const MatrixXd JA = tg::jacobian([&A](const VectorXv& v) { return VectorXv(A.cast<V>() * v); }, VectorXd::Ones(3));
  CHECK(JA == A);
}

TEST_CASE("gradient and jacobian in single precision", "[functions][float]") {
  using VF = tg::Var<float>;
  using VectorXvf = Eigen::Matrix<VF, Eigen::Dynamic, 1>;
  Eigen::VectorXf x(3);
  x << 0.5f, -1.0f, 2.0f;
  const Eigen::VectorXf g = tg::gradient([](const VectorXvf& v) { return rosenbrock(v); }, x);
  CHECK_ALL_CLOSE(g.cast<double>(), rosenbrock_gradient(x.cast<double>()), 1e-6, 1e-5);
  const Eigen::MatrixXf J = tg::jacobian([](const VectorXvf& v) { return VectorXvf(v * v(0)); }, x);
  Eigen::MatrixXf expected = Eigen::MatrixXf::Identity(3, 3) * x(0);
  expected.col(0) += x;
  CHECK(J.isApprox(expected));
}

TEST_CASE("gradient and jacobian: x must be a column vector", "[functions]") {
  const MatrixXd M = MatrixXd::Ones(2, 3);
  auto f = [](const VectorXv& v) { return v.sum(); };
  CHECK_THROWS_AS(tg::gradient(f, M), tg::ShapeError);
  CHECK_THROWS_WITH(tg::gradient(f, M), Catch::Matchers::Contains("value_and_gradient: x must be a column vector, got a 2 x 3 matrix"));
  CHECK_THROWS_WITH(tg::jacobian([](const VectorXv& v) { return v; }, M),
                    Catch::Matchers::Contains("jacobian: x must be a column vector"));
  // The tape is left as it was after the error.
  CHECK(tg::tape().scope_depth() == 0);
}
