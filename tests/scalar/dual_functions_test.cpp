// tg::derivative, value_and_derivative, second_derivative, value_and_derivatives,
// directional_derivative, value_and_directional_derivative and forward_jacobian: values
// against closed forms and central differences, every output form, errors, and the
// Black-Scholes Greeks (the end-to-end reference) by Dual and Dual<Dual>.

#include <catch2/catch.hpp>

#include <cmath>
#include <iomanip>
#include <limits>
#include <vector>

#include <Eigen/LU>

#include "tapegrad/scalar/dual_functions.hpp"

namespace scalar_dual_functions_test {

namespace tg = tapegrad;

namespace {

using D1 = tg::Dual<double>;
using VecD = Eigen::Matrix<D1, Eigen::Dynamic, 1>;

bool close(double a, double b, double rel, double abs_tol = 0) {
  if (std::isnan(b)) return std::isnan(a);
  return std::abs(a - b) <= rel * std::abs(b) + abs_tol;
}

#define CHECK_FUNCTION_CLOSE(a, b, rel, abs_tol)                                            \
  do {                                                                             \
    const double a_ = (a), b_ = (b);                                               \
    INFO(std::setprecision(17) << #a << " = " << a_ << ", " << #b << " = " << b_); \
    CHECK(close(a_, b_, (rel), (abs_tol)));                                        \
  } while (false)

// f: R^3 -> R^2, f(x) = (x0 x1 sin(x2), exp(x0) + x2^2 / x1), and its Jacobian.
template <typename V>
auto two_outputs(const V& x) {
  using std::exp;
  using std::sin;
  using S = typename V::Scalar;
  Eigen::Matrix<S, Eigen::Dynamic, 1> y(2);
  y(0) = x(0) * x(1) * sin(x(2));
  y(1) = exp(x(0)) + x(2) * x(2) / x(1);
  return y;
}
Eigen::MatrixXd two_outputs_jacobian(const Eigen::Vector3d& x) {
  Eigen::MatrixXd j(2, 3);
  j << x(1) * std::sin(x(2)), x(0) * std::sin(x(2)), x(0) * x(1) * std::cos(x(2)),  //
      std::exp(x(0)), -x(2) * x(2) / (x(1) * x(1)), 2 * x(2) / x(1);
  return j;
}

// Central-difference Jacobian of a double function R^n -> R^m (one Richardson step).
template <typename F>
Eigen::MatrixXd difference_jacobian(F f, const Eigen::VectorXd& x) {
  const double h = 0x1p-12;
  Eigen::MatrixXd j(f(x).size(), x.size());
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const auto d = [&](double s) {
      Eigen::VectorXd up = x, down = x;
      up(k) += s;
      down(k) -= s;
      return Eigen::VectorXd((f(up) - f(down)) / (2 * s));
    };
    j.col(k) = (4 * d(h / 2) - d(h)) / 3;
  }
  return j;
}

// The Black-Scholes price of a European call: spot s, volatility sigma, rate r, time to
// maturity tau, strike k. Written once for double, Dual and Dual<Dual>.
template <typename X>
X call_price(const X& s, const X& sigma, const X& r, const X& tau, double k) {
  using std::erfc;
  using std::exp;
  using std::log;
  using std::sqrt;
  const auto normal_cdf = [](const X& z) { return 0.5 * erfc(-z / std::sqrt(2.0)); };
  const X vol = sigma * sqrt(tau);
  const X d1 = (log(s / k) + (r + sigma * sigma / 2) * tau) / vol;
  const X d2 = d1 - vol;
  return s * normal_cdf(d1) - k * exp(-r * tau) * normal_cdf(d2);
}

struct Market {
  double s, sigma, r, tau, k;
};

// The closed-form Greeks of the call.
struct Greeks {
  double price, delta, gamma, vega, rho, dtau;  // dtau = dC/dtau = -theta
};
Greeks closed_form_greeks(const Market& m) {
  const double pi = 3.14159265358979323846;
  const auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const auto pdf = [pi](double z) { return std::exp(-z * z / 2) / std::sqrt(2 * pi); };
  const double vol = m.sigma * std::sqrt(m.tau);
  const double d1 = (std::log(m.s / m.k) + (m.r + m.sigma * m.sigma / 2) * m.tau) / vol;
  const double d2 = d1 - vol;
  const double disc = m.k * std::exp(-m.r * m.tau);
  Greeks g;
  g.price = m.s * cdf(d1) - disc * cdf(d2);
  g.delta = cdf(d1);
  g.gamma = pdf(d1) / (m.s * vol);
  g.vega = m.s * pdf(d1) * std::sqrt(m.tau);
  g.rho = m.tau * disc * cdf(d2);
  g.dtau = m.s * pdf(d1) * m.sigma / (2 * std::sqrt(m.tau)) + m.r * disc * cdf(d2);
  return g;
}

}  // namespace

TEST_CASE("derivative and value_and_derivative of scalar functions", "[dual][derivative]") {
  const auto f = [](auto x) { return x * x * x * sin(x); };  // f' = 3x^2 sin x + x^3 cos x
  const double x = 1.3;
  const double df = 3 * x * x * std::sin(x) + x * x * x * std::cos(x);
  CHECK_FUNCTION_CLOSE(tg::derivative(f, x), df, 1e-15, 0);
  const auto [value, derivative] = tg::value_and_derivative(f, x);
  CHECK(value == x * x * x * std::sin(x));
  CHECK_FUNCTION_CLOSE(derivative, df, 1e-15, 0);
  // Against central differences.
  const auto fd = [](double t) { return t * t * t * std::sin(t); };
  const double h = 0x1p-12;
  const double cd = (4 * (fd(x + h / 2) - fd(x - h / 2)) / h - (fd(x + h) - fd(x - h)) / (2 * h)) / 3;
  CHECK_FUNCTION_CLOSE(derivative, cd, 1e-9, 0);

  // An integer x means a double; f may be written for tg::Dual<double> itself.
  static_assert(std::is_same_v<decltype(tg::derivative(f, 2)), double>);
  CHECK_FUNCTION_CLOSE(tg::derivative([](const D1& t) { return exp(2 * t); }, 0), 2.0, 1e-15, 0);
  // A constant function (returning a plain number) has derivative 0.
  CHECK(tg::derivative([](auto) { return 4.0; }, 1.0) == 0);
  // float in, float out.
  static_assert(std::is_same_v<decltype(tg::derivative(f, 1.3f)), float>);
  CHECK_FUNCTION_CLOSE(tg::derivative(f, 1.3f), 3 * 1.3f * 1.3f * std::sin(1.3f) + 1.3f * 1.3f * 1.3f * std::cos(1.3f), 1e-6, 0);
  // Edge inputs pass through: sqrt at 0.
  CHECK(tg::derivative([](auto t) { return sqrt(t); }, 0.0) == std::numeric_limits<double>::infinity());
}

TEST_CASE("second_derivative and value_and_derivatives", "[dual][derivative][nested]") {
  const auto f = [](auto x) { return exp(-x * x / 2) * cos(3 * x); };
  const double x = 0.7;
  // f = g c with g = exp(-x^2/2), c = cos 3x: f' = g (-x c - 3 s), f'' = g ((x^2 - 10) c + 6 x s)
  const double g = std::exp(-x * x / 2), c = std::cos(3 * x), s = std::sin(3 * x);
  const auto r = tg::value_and_derivatives(f, x);
  CHECK_FUNCTION_CLOSE(r.value, g * c, 1e-15, 0);
  CHECK_FUNCTION_CLOSE(r.first, g * (-x * c - 3 * s), 1e-14, 0);
  CHECK_FUNCTION_CLOSE(r.second, g * ((x * x - 10) * c + 6 * x * s), 1e-14, 0);
  CHECK(tg::second_derivative(f, x) == r.second);
  CHECK(tg::second_derivative([](auto t) { return t * t * t; }, 2) == 12);
  CHECK(tg::second_derivative([](auto) { return 1.0; }, 2.0) == 0);
  // Against differences of the first derivative.
  const auto d1 = [&](double t) { return tg::derivative(f, t); };
  const double h = 0x1p-12;
  const double cd = (4 * (d1(x + h / 2) - d1(x - h / 2)) / h - (d1(x + h) - d1(x - h)) / (2 * h)) / 3;
  CHECK_FUNCTION_CLOSE(r.second, cd, 1e-9, 0);
  static_assert(std::is_same_v<decltype(tg::second_derivative(f, 1.0f)), float>);
  CHECK_FUNCTION_CLOSE(tg::second_derivative(f, 0.7f), r.second, 1e-5, 0);
}

TEST_CASE("derivatives nest without confusing their perturbations", "[dual][derivative][nested]") {
  // d/dx (d/dy y^3)(x) = 6x: the inner derivative runs on Dual<Dual<double>>.
  const auto outer = [](auto x) { return tg::derivative([](auto y) { return y * y * y; }, x); };
  CHECK(tg::derivative(outer, 2.0) == 12);
  // d/dx [x * d/dy (x + y)] = d/dx x = 1 (Siskind and Pearlmutter's test); a naive
  // untyped forward mode answers 2.
  const auto g = [](auto x) { return x * tg::derivative([&x](auto y) { return x + y; }, x); };
  CHECK(tg::derivative(g, 1.0) == 1);
}

TEST_CASE("directional_derivative of vector functions", "[dual][directional]") {
  Eigen::Vector3d x(0.4, -1.3, 2.1), v(1.0, 0.5, -2.0);
  const Eigen::MatrixXd jac = two_outputs_jacobian(x);
  const Eigen::VectorXd jv = jac * v;
  const auto f = [](const auto& xs) { return two_outputs(xs); };
  const Eigen::VectorXd dd = tg::directional_derivative(f, x, v);
  REQUIRE(dd.size() == 2);
  CHECK_FUNCTION_CLOSE(dd(0), jv(0), 1e-14, 0);
  CHECK_FUNCTION_CLOSE(dd(1), jv(1), 1e-14, 0);
  const auto [value, derivative] = tg::value_and_directional_derivative(f, x, v);
  CHECK(value(0) == x(0) * x(1) * std::sin(x(2)));
  CHECK(derivative == dd);
  // Row vectors and other expressions are accepted for x and v; f may take the Dual vector type.
  const Eigen::RowVector3d xr = x.transpose();
  CHECK(tg::directional_derivative([](const VecD& xs) { return two_outputs(xs); }, xr, 2 * v) == 2 * dd);

  // A scalar f: the result is the number grad f . v.
  const auto sumsq = [](const auto& xs) { return xs.squaredNorm(); };
  const double g = tg::directional_derivative(sumsq, x, v);
  CHECK_FUNCTION_CLOSE(g, 2 * x.dot(v), 1e-15, 0);

  // A std::vector of Duals: an Eigen vector of T comes back.
  const auto as_std = [](const auto& xs) {
    std::vector<D1> y;
    for (Eigen::Index i = 0; i < xs.size(); ++i) y.push_back(xs(i) * xs(i));
    return y;
  };
  const Eigen::VectorXd sq = tg::directional_derivative(as_std, x, v);
  CHECK(sq == Eigen::VectorXd(2 * x.cwiseProduct(v)));
  CHECK(tg::value_and_directional_derivative(as_std, x, v).value == Eigen::VectorXd(x.cwiseProduct(x)));

  // An Eigen expression (a matrix-vector product, not yet evaluated): the tangent of A x is A v.
  Eigen::Matrix3d a;
  a << 2, -1, 0, 1, 3, 1, 0.5, 0, -4;
  const Eigen::VectorXd av = tg::directional_derivative([&a](const auto& xs) { return a * xs; }, x, v);
  CHECK(av.isApprox(a * v, 1e-15));
  // A matrix output keeps its shape: d (x x^T) = v x^T + x v^T.
  const Eigen::MatrixXd outer =
      tg::directional_derivative([](const auto& xs) { return (xs * xs.transpose()).eval(); }, x, v);
  CHECK(outer.isApprox(v * x.transpose() + x * v.transpose(), 1e-15));
  // float.
  const Eigen::Vector3f xf = x.cast<float>(), vf = v.cast<float>();
  const Eigen::VectorXf df = tg::directional_derivative(f, xf, vf);
  CHECK(df.cast<double>().isApprox(jv, 1e-5));
}

TEST_CASE("forward_jacobian", "[dual][jacobian]") {
  const Eigen::Vector3d x(0.4, -1.3, 2.1);
  const Eigen::MatrixXd jac = tg::forward_jacobian([](const auto& xs) { return two_outputs(xs); }, x);
  REQUIRE(jac.rows() == 2);
  REQUIRE(jac.cols() == 3);
  CHECK(jac.isApprox(two_outputs_jacobian(x), 1e-15));
  const Eigen::MatrixXd cd = difference_jacobian([](const Eigen::VectorXd& xs) { return two_outputs(xs); }, x);
  CHECK(jac.isApprox(cd, 1e-9));
  // Column j is the directional derivative along e_j.
  for (int j = 0; j < 3; ++j) {
    const Eigen::VectorXd col =
        tg::directional_derivative([](const auto& xs) { return two_outputs(xs); }, x, Eigen::Vector3d::Unit(j));
    CHECK(col == jac.col(j));
  }
  // Polar to Cartesian: J = [[cos t, -r sin t], [sin t, r cos t]], det J = r.
  const Eigen::Vector2d p(2.5, 0.6);
  const auto polar = [](const auto& q) {
    using std::cos;
    using std::sin;
    return std::vector<D1>{q(0) * cos(q(1)), q(0) * sin(q(1))};
  };
  const Eigen::MatrixXd jp = tg::forward_jacobian(polar, p);
  CHECK_FUNCTION_CLOSE(jp(0, 0), std::cos(0.6), 1e-15, 0);
  CHECK_FUNCTION_CLOSE(jp(0, 1), -2.5 * std::sin(0.6), 1e-15, 0);
  CHECK_FUNCTION_CLOSE(jp(1, 0), std::sin(0.6), 1e-15, 0);
  CHECK_FUNCTION_CLOSE(jp(1, 1), 2.5 * std::cos(0.6), 1e-15, 0);
  CHECK_FUNCTION_CLOSE(jp.determinant(), 2.5, 1e-15, 0);
  // A scalar f gives a 1 x n row (the gradient).
  const Eigen::MatrixXd grad = tg::forward_jacobian([](const auto& xs) { return xs.prod(); }, x);
  REQUIRE(grad.rows() == 1);
  CHECK_FUNCTION_CLOSE(grad(0, 2), x(0) * x(1), 1e-15, 0);
  // No inputs: f still sets the number of rows.
  const Eigen::VectorXd none(0);
  const Eigen::MatrixXd empty = tg::forward_jacobian([](const auto&) { return VecD::Constant(4, D1(1.0)); }, none);
  CHECK(empty.rows() == 4);
  CHECK(empty.cols() == 0);
  // An input f does not use has a zero column; a function flat in x has J = 0 exactly.
  const Eigen::MatrixXd partial = tg::forward_jacobian([](const auto& xs) { return sin(xs(0)); }, x);
  CHECK(partial(0, 1) == 0);
  CHECK(partial(0, 2) == 0);
  // A constant input's sqrt(0) does not leak nan into the other columns.
  const Eigen::Vector2d at_zero(0.0, 3.0);
  const Eigen::MatrixXd guarded =
      tg::forward_jacobian([](const auto& xs) { return sqrt(xs(0)) + xs(1) * xs(1); }, at_zero);
  CHECK(guarded(0, 0) == std::numeric_limits<double>::infinity());
  CHECK(guarded(0, 1) == 6);
}

TEST_CASE("directional_derivative and forward_jacobian reject bad input", "[dual][errors]") {
  const Eigen::Vector3d x(1, 2, 3);
  const Eigen::Vector2d v(1, 0);
  const auto f = [](const auto& xs) { return xs.sum(); };
  CHECK_THROWS_AS(tg::directional_derivative(f, x, v), tg::ShapeError);
  CHECK_THROWS_WITH(tg::directional_derivative(f, x, v),
                    Catch::Matchers::Contains("directional_derivative: x has 3 entries but the direction v has 2"));
  const Eigen::Matrix2d m = Eigen::Matrix2d::Identity();
  CHECK_THROWS_AS(tg::forward_jacobian(f, m), tg::ShapeError);
  CHECK_THROWS_WITH(tg::forward_jacobian(f, m),
                    Catch::Matchers::Contains("forward_jacobian: x must be a vector, got a 2 x 2 matrix"));
  CHECK_THROWS_WITH(tg::directional_derivative(f, x, m), Catch::Matchers::Contains("v must be a vector"));
  // f must return as many outputs for every input.
  int calls = 0;
  const auto unstable = [&calls](const auto& xs) { return VecD::Constant(++calls, xs(0)); };
  CHECK_THROWS_AS(tg::forward_jacobian(unstable, x), tg::ShapeError);
  calls = 0;
  CHECK_THROWS_WITH(tg::forward_jacobian(unstable, x),
                    Catch::Matchers::Contains("f returned 1 outputs for input 0 but 2 for input 1"));
  CHECK_THROWS_AS(tg::forward_jacobian(unstable, x), tg::Error);  // and a tg::Error
}

TEST_CASE("Black-Scholes Greeks by forward mode against the closed forms", "[dual][black-scholes]") {
  for (const Market& m : {Market{100, 0.25, 0.03, 0.75, 95}, Market{100, 0.2, 0.05, 2.0, 140},
                          Market{80, 0.6, 0.01, 0.1, 75}, Market{100, 0.15, 0.0, 1.0, 100}}) {
    INFO("S = " << m.s << ", sigma = " << m.sigma << ", r = " << m.r << ", tau = " << m.tau << ", K = " << m.k);
    const Greeks g = closed_form_greeks(m);
    // In the spot alone: price, delta = N(d1) and gamma = N'(d1) / (S sigma sqrt(T)).
    const auto in_spot = [&m](auto s) {
      using X = decltype(s);
      return call_price<X>(s, X(m.sigma), X(m.r), X(m.tau), m.k);
    };
    const auto [price, delta, gamma] = tg::value_and_derivatives(in_spot, m.s);
    CHECK_FUNCTION_CLOSE(price, g.price, 1e-13, 1e-12);
    CHECK_FUNCTION_CLOSE(delta, g.delta, 1e-13, 1e-10);
    CHECK_FUNCTION_CLOSE(gamma, g.gamma, 1e-12, 1e-10);
    CHECK_FUNCTION_CLOSE(tg::derivative(in_spot, m.s), g.delta, 1e-13, 1e-10);
    CHECK_FUNCTION_CLOSE(tg::second_derivative(in_spot, m.s), g.gamma, 1e-12, 1e-10);

    // All first-order Greeks in one forward_jacobian over (S, sigma, r, tau).
    const Eigen::Vector4d inputs(m.s, m.sigma, m.r, m.tau);
    const Eigen::MatrixXd j =
        tg::forward_jacobian([&m](const auto& p) { return call_price(p(0), p(1), p(2), p(3), m.k); }, inputs);
    CHECK_FUNCTION_CLOSE(j(0, 0), g.delta, 1e-13, 1e-10);
    CHECK_FUNCTION_CLOSE(j(0, 1), g.vega, 1e-13, 1e-10);
    CHECK_FUNCTION_CLOSE(j(0, 2), g.rho, 1e-13, 1e-10);
    CHECK_FUNCTION_CLOSE(j(0, 3), g.dtau, 1e-13, 1e-10);  // theta = -dC/dtau
    // Vega along one direction: the directional derivative along e_sigma.
    CHECK_FUNCTION_CLOSE(tg::directional_derivative([&m](const auto& p) { return call_price(p(0), p(1), p(2), p(3), m.k); },
                                           inputs, Eigen::Vector4d::Unit(1)),
                g.vega, 1e-13, 1e-10);
    // Single precision, for scale: delta to float accuracy.
    const auto in_spot_f = [&m](auto s) {
      using X = decltype(s);
      return call_price<X>(s, X(float(m.sigma)), X(float(m.r)), X(float(m.tau)), m.k);
    };
    CHECK_FUNCTION_CLOSE(tg::derivative(in_spot_f, float(m.s)), g.delta, 1e-4, 1e-5);
  }
}

}  // namespace scalar_dual_functions_test
