// tg::gradient, tg::value_and_gradient and tg::jacobian for functions written with Var,
// against closed forms and central differences.
#include <Eigen/Cholesky>

#include "scalar_test_util.hpp"

namespace scalar_functions_test {

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

// ---- jacobian modes ----

namespace {
// F: R^2 -> R^3, generic in the scalar, counting its evaluations by scalar type.
struct CountingMap {
  int* dual_calls;
  int* var_calls;
  template <typename Vec>
  auto operator()(const Vec& v) const {
    using S = typename Vec::Scalar;
    if constexpr (std::is_same_v<S, tg::Dual<double>>) ++*dual_calls;
    if constexpr (std::is_same_v<S, V>) ++*var_calls;
    Eigen::Matrix<S, Eigen::Dynamic, 1> r(3);
    r << v(0) * v(1), sin(v(0)) + v(1), exp(v(1)) / v(0);
    return r;
  }
};
}  // namespace

TEST_CASE("jacobian: forward, reverse and automatic modes agree; automatic goes forward when n < m",
          "[functions][jacobian]") {
  VectorXd x(2);
  x << 0.7, -1.3;
  MatrixXd expected(3, 2);
  expected << x(1), x(0), std::cos(x(0)), 1.0, -std::exp(x(1)) / (x(0) * x(0)), std::exp(x(1)) / x(0);
  int dual_calls = 0, var_calls = 0;
  const CountingMap F{&dual_calls, &var_calls};

  const MatrixXd reverse = tg::jacobian(F, x, tg::JacobianMode::reverse);
  CHECK(var_calls == 1);  // one recording, one sweep per output
  CHECK(dual_calls == 0);
  CHECK_ALL_CLOSE(reverse, expected, 1e-15, 1e-15);

  dual_calls = var_calls = 0;
  const MatrixXd forward = tg::jacobian(F, x, tg::JacobianMode::forward);
  CHECK(dual_calls == 2);  // one evaluation per input
  CHECK(var_calls == 0);
  CHECK_ALL_CLOSE(forward, expected, 1e-15, 1e-15);

  dual_calls = var_calls = 0;
  const MatrixXd automatic = tg::jacobian(F, x);
  CHECK(dual_calls == 3);  // 2 < 3 outputs: a probe for m, then forward
  CHECK(var_calls == 0);
  CHECK(automatic == forward);

  // More inputs than outputs: automatic stays in reverse mode after the probe.
  int dual_sum = 0, var_sum = 0;
  auto wide = [&](const auto& v) {
    using S = typename std::decay_t<decltype(v)>::Scalar;
    if constexpr (std::is_same_v<S, tg::Dual<double>>) ++dual_sum;
    if constexpr (std::is_same_v<S, V>) ++var_sum;
    Eigen::Matrix<S, Eigen::Dynamic, 1> r(1);
    r << v.squaredNorm();
    return r;
  };
  const VectorXd y = VectorXd::LinSpaced(5, -1.0, 1.0);
  const MatrixXd Jw = tg::jacobian(wide, y);
  CHECK(dual_sum == 1);
  CHECK(var_sum == 1);
  CHECK_ALL_CLOSE(VectorXd(Jw.row(0).transpose()), 2 * y, 1e-15, 1e-15);
}

TEST_CASE("jacobian: an f written for Var only is differentiated in reverse mode; forward is refused",
          "[functions][jacobian]") {
  auto var_only = [](const VectorXv& v) { return VectorXv(v * v(0)); };
  VectorXd x(2);
  x << 2.0, 3.0;
  MatrixXd expected(2, 2);
  expected << 2 * x(0), 0, x(1), x(0);
  CHECK_ALL_CLOSE(tg::jacobian(var_only, x), expected, 1e-15, 1e-15);
  CHECK_THROWS_AS(tg::jacobian(var_only, x, tg::JacobianMode::forward), tg::ValueError);
  CHECK_THROWS_WITH(tg::jacobian(var_only, x, tg::JacobianMode::forward),
                    Catch::Matchers::Contains("JacobianMode::forward needs an f that accepts"));
}

// ---- Hessians (forward over reverse) ----

namespace {
MatrixXd rosenbrock_hessian(const VectorXd& x) {
  const Eigen::Index n = x.size();
  MatrixXd H = MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i + 1 < n; ++i) {
    // f_i = 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2
    H(i, i) += 1200.0 * x(i) * x(i) - 400.0 * x(i + 1) + 2.0;
    H(i, i + 1) += -400.0 * x(i);
    H(i + 1, i) += -400.0 * x(i);
    H(i + 1, i + 1) += 200.0;
  }
  return H;
}

auto generic_rosenbrock = [](const auto& x) { return rosenbrock(x); };
}  // namespace

TEST_CASE("hessian: Rosenbrock against its closed form and differences of the gradient", "[functions][hessian]") {
  VectorXd x(4);
  x << -1.2, 1.0, 0.3, -0.7;
  const MatrixXd H = tg::hessian(generic_rosenbrock, x);
  CHECK_ALL_CLOSE(H, rosenbrock_hessian(x), 1e-12, 1e-12);
  CHECK(H.isApprox(H.transpose(), 1e-15));
  // Column j against central differences of the reverse-mode gradient.
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    const VectorXd fd = fd_gradient(
        [&](const VectorXd& p) { return tg::gradient(generic_rosenbrock, p)(j); }, x);
    CHECK_ALL_CLOSE(VectorXd(H.col(j)), fd, 1e-5, 1e-6);
  }
  const auto [value, gradient, hessian] = tg::value_gradient_and_hessian(generic_rosenbrock, x);
  CHECK(value == Approx(rosenbrock(x)).epsilon(1e-15));
  CHECK_ALL_CLOSE(gradient, rosenbrock_gradient(x), 1e-13, 1e-13);
  CHECK(hessian == H);
  CHECK(tg::tape().scope_depth() == 0);
}

TEST_CASE("hessian: a quadratic form, transcendental functions and Eigen expressions", "[functions][hessian]") {
  // f(x) = x' A x / 2 + b' x: H = (A + A') / 2 exactly.
  MatrixXd A(3, 3);
  A << 4, 1, -2, 0, 3, 1, 5, -1, 2;
  VectorXd b(3);
  b << 1, -1, 0.5;
  auto quadratic = [&](const auto& x) {
    using S = typename std::decay_t<decltype(x)>::Scalar;
    const auto As = A.cast<S>().eval();
    return S(0.5) * x.dot(As * x) + b.cast<S>().dot(x);
  };
  const VectorXd x = VectorXd::LinSpaced(3, -0.5, 2.0);
  CHECK_ALL_CLOSE(tg::hessian(quadratic, x), MatrixXd((A + A.transpose()) / 2), 1e-14, 1e-14);

  // f(x, y) = exp(x y) + log(x) sin(y): closed-form second partials.
  auto g = [](const auto& v) { return exp(v(0) * v(1)) + log(v(0)) * sin(v(1)); };
  VectorXd p(2);
  p << 0.8, -0.4;
  const double x0 = p(0), y0 = p(1), e = std::exp(x0 * y0);
  MatrixXd expected(2, 2);
  expected << y0 * y0 * e - std::sin(y0) / (x0 * x0), e + x0 * y0 * e + std::cos(y0) / x0,  //
      e + x0 * y0 * e + std::cos(y0) / x0, x0 * x0 * e - std::log(x0) * std::sin(y0);
  CHECK_ALL_CLOSE(tg::hessian(g, p), expected, 1e-14, 1e-14);
}

TEST_CASE("hessian_vector_product: equals H v from one evaluation", "[functions][hessian]") {
  VectorXd x(5), v(5);
  x << 0.5, -0.3, 1.1, 0.9, -1.4;
  v << 1.0, -2.0, 0.5, 0.0, 3.0;
  const VectorXd hv = tg::hessian_vector_product(generic_rosenbrock, x, v);
  CHECK_ALL_CLOSE(hv, VectorXd(rosenbrock_hessian(x) * v), 1e-12, 1e-12);
  // The zero direction gives exactly zero.
  CHECK(tg::hessian_vector_product(generic_rosenbrock, x, VectorXd::Zero(5)).isZero(0));
  // Wrong length of v.
  CHECK_THROWS_AS(tg::hessian_vector_product(generic_rosenbrock, x, VectorXd::Ones(4)), tg::ShapeError);
  CHECK_THROWS_WITH(tg::hessian_vector_product(generic_rosenbrock, x, VectorXd::Ones(4)),
                    Catch::Matchers::Contains("x has 5 entries but v is 4 x 1"));
  CHECK(tg::tape().scope_depth() == 0);
}

TEST_CASE("hessian: constant and linear functions, no inputs, outer recording untouched", "[functions][hessian]") {
  const VectorXd x = VectorXd::LinSpaced(3, 1.0, 3.0);
  CHECK(tg::hessian([](const auto& v) { return 2.0 * v.sum(); }, x).isZero(0));
  const auto constant = tg::value_gradient_and_hessian(
      [](const auto& v) { return typename std::decay_t<decltype(v)>::Scalar(7.0); }, x);
  CHECK(constant.value == 7.0);
  CHECK(constant.gradient.isZero(0));
  CHECK(constant.hessian.isZero(0));
  const auto empty = tg::value_gradient_and_hessian(
      [](const auto& v) { return typename std::decay_t<decltype(v)>::Scalar(3.0) + v.sum(); }, VectorXd(0));
  CHECK(empty.value == 3.0);
  CHECK(empty.hessian.size() == 0);

  // A Hessian taken while an outer recording is live leaves it intact.
  const V a = tg::variable(2.0);
  const V outer = a * a;
  const MatrixXd H = tg::hessian(generic_rosenbrock, x);
  CHECK(H(0, 1) == -400.0 * x(0));
  outer.backward();
  CHECK(a.grad() == 4.0);
  tg::tape().clear();
}

TEST_CASE("hessian in single precision", "[functions][hessian][float]") {
  Eigen::VectorXf x(3);
  x << 0.5f, -1.0f, 2.0f;
  const Eigen::MatrixXf H = tg::hessian(generic_rosenbrock, x);
  CHECK_ALL_CLOSE(H.cast<double>(), rosenbrock_hessian(x.cast<double>()), 1e-5, 1e-3);
}

}  // namespace scalar_functions_test
