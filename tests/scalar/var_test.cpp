// tg::Var<T>: arithmetic, comparisons and every cmath function, each checked against a
// closed-form derivative and central differences on ordinary and edge inputs.
#include <functional>
#include <sstream>
#include <type_traits>
#include <vector>

#include "scalar_test_util.hpp"

namespace scalar_var_test {

using scalar_test::central_difference;
using scalar_test::close;
using scalar_test::reverse_derivative;
using scalar_test::reverse_partials;
using V = tg::Var<double>;

namespace {
const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kPi = 3.14159265358979323846;
const double kEulerGamma = 0.57721566490153286061;
}  // namespace

TEST_CASE("Var: a value plus a variable number, trivially copyable", "[var]") {
  STATIC_REQUIRE(std::is_trivially_copyable_v<V>);
  STATIC_REQUIRE(std::is_trivially_destructible_v<V>);
  CHECK(sizeof(V) == 16);
  const V c = 2.5;
  CHECK(c.val() == 2.5);
  CHECK(c.value() == 2.5);
  CHECK(tg::value(c) == 2.5);
  CHECK(c.is_constant());
  CHECK_FALSE(c.requires_grad());
  CHECK(V().val() == 0.0);
  const V x = tg::variable(1.5);
  CHECK(x.requires_grad());
  CHECK(x.index() != 0);
  CHECK(std::is_same_v<decltype(tg::variable(1.5f)), tg::Var<float>>);
  CHECK(std::is_same_v<decltype(tg::variable(3)), tg::Var<double>>);
}

TEST_CASE("Var: constants record nothing and have zero gradient", "[var]") {
  tg::TapeScope scope;
  const std::size_t before = tg::tape().num_variables();
  const V a = 2.0, b = 3.0;
  const V c = exp(a * b + sin(a) / b - pow(a, b));
  CHECK(c.is_constant());
  CHECK(c.val() == std::exp(2.0 * 3.0 + std::sin(2.0) / 3.0 - std::pow(2.0, 3.0)));
  CHECK(tg::tape().num_variables() == before);

  // Ops between a constant and a variable record the variable's operand only.
  const V x = tg::variable(4.0);
  const std::size_t operands = tg::tape().stats().operands;
  const V y = x * a;
  CHECK(tg::tape().stats().operands == operands + 1);
  y.backward();
  CHECK(x.grad() == 2.0);
  CHECK(a.grad() == 0.0);
  CHECK(c.grad() == 0.0);
}

TEST_CASE("Var: + - * / with Vars and numbers on either side", "[var]") {
  const double a = 1.7, b = -0.6;
  struct Case {
    const char* name;
    std::function<V(const V&, const V&)> f;
    double value, da, db;
  };
  const std::vector<Case> cases = {
      {"a + b", [](const V& x, const V& y) { return x + y; }, a + b, 1, 1},
      {"a - b", [](const V& x, const V& y) { return x - y; }, a - b, 1, -1},
      {"a * b", [](const V& x, const V& y) { return x * y; }, a * b, b, a},
      {"a / b", [](const V& x, const V& y) { return x / y; }, a / b, 1 / b, -a / (b * b)},
      {"-a + +b", [](const V& x, const V& y) { return -x + +y; }, -a + b, -1, 1},
      {"a * a * b", [](const V& x, const V& y) { return x * x * y; }, a * a * b, 2 * a * b, a * a},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const auto p = reverse_partials(c.f, a, b);
    CHECK_CLOSE(p.value, c.value, 1e-15);
    CHECK_CLOSE(p.da, c.da, 1e-15);
    CHECK_CLOSE(p.db, c.db, 1e-15);
    CHECK_CLOSE(p.da, central_difference([&](double t) { return c.f(V(t), V(b)).val(); }, a), 1e-8);
    CHECK_CLOSE(p.db, central_difference([&](double t) { return c.f(V(a), V(t)).val(); }, b), 1e-8);
  }

  // Mixed with plain numbers (double and int), on both sides.
  const double x0 = 2.5;
  CHECK(reverse_derivative([](const V& x) { return x + 3.0; }, x0) == 1.0);
  CHECK(reverse_derivative([](const V& x) { return 3 + x; }, x0) == 1.0);
  CHECK(reverse_derivative([](const V& x) { return x - 3; }, x0) == 1.0);
  CHECK(reverse_derivative([](const V& x) { return 3.0 - x; }, x0) == -1.0);
  CHECK(reverse_derivative([](const V& x) { return x * 4; }, x0) == 4.0);
  CHECK(reverse_derivative([](const V& x) { return 4.0 * x; }, x0) == 4.0);
  CHECK(reverse_derivative([](const V& x) { return x / 4.0; }, x0) == 0.25);
  CHECK_CLOSE(reverse_derivative([](const V& x) { return 4 / x; }, x0), -4 / (x0 * x0), 1e-15);
  CHECK((V(2.5) + 1).val() == 3.5);
  CHECK((1.0f - V(2.5)).val() == -1.5);
  CHECK((V(2.5) / 2).val() == 1.25);

  // Division by zero follows IEEE, as double does.
  const auto p = reverse_partials([](const V& x, const V& y) { return x / y; }, 1.0, 0.0);
  CHECK(p.value == kInf);
  CHECK(p.da == kInf);
}

TEST_CASE("Var: compound assignment records like the binary operators", "[var]") {
  tg::TapeScope scope;
  const V x = tg::variable(3.0), y = tg::variable(-2.0);
  V z = x;
  z += y;    // x + y
  z *= x;    // (x + y) x
  z -= 1.5;  // (x + y) x - 1.5
  z /= y;    // ((x + y) x - 1.5) / y
  z += 2;
  z *= 0.5;
  z -= x;
  z /= 4.0f;
  // z = ((((x + y) x - 1.5) / y + 2) / 2 - x) / 4
  const double xv = 3, yv = -2;
  CHECK_CLOSE(z.val(), ((((xv + yv) * xv - 1.5) / yv + 2) / 2 - xv) / 4, 1e-15);
  z.backward();
  // dz/dx = ((2x + y)/y / 2 - 1) / 4; dz/dy = ((x y - ((x + y) x - 1.5)) / y^2 / 2) / 4
  CHECK_CLOSE(x.grad(), ((2 * xv + yv) / yv / 2 - 1) / 4, 1e-15);
  CHECK_CLOSE(y.grad(), ((xv * yv - ((xv + yv) * xv - 1.5)) / (yv * yv) / 2) / 4, 1e-15);
}

TEST_CASE("Var: comparisons with Vars and numbers on either side", "[var]") {
  const V a = tg::variable(1.0), b = 2.0;
  CHECK(a < b);
  CHECK(a <= b);
  CHECK(b > a);
  CHECK(b >= a);
  CHECK(a != b);
  CHECK_FALSE(a == b);
  CHECK(a == 1.0);
  CHECK(1 == a);
  CHECK(a < 1.5);
  CHECK(0.5 < a);
  CHECK(a <= 1);
  CHECK(1.0f >= a);
  CHECK(a > 0);
  CHECK(3 > a);
  CHECK(a != 2);
  CHECK(2.0 != a);
  CHECK_FALSE(V(kNaN) == V(kNaN));

  // So control flow works as in plain C++: Newton's method for sqrt(c), differentiated
  // through the iterations: d/dc sqrt(c) = 1 / (2 sqrt(c)).
  tg::TapeScope scope;
  const V c = tg::variable(2.0);
  V r = 1.0;
  int steps = 0;
  while (abs(r * r - c) > 1e-14 && steps < 50) {
    r = 0.5 * (r + c / r);
    ++steps;
  }
  r.backward();
  CHECK_CLOSE(r.val(), std::sqrt(2.0), 1e-15);
  CHECK_CLOSE(c.grad(), 0.5 / std::sqrt(2.0), 1e-12);
}

namespace {
// One cmath function: the Var version, the double version, f' in closed form, and
// points (ordinary, edge, large) where it is differentiable.
struct Unary {
  const char* name;
  std::function<V(const V&)> f;
  std::function<double(double)> plain;
  std::function<double(double)> derivative;
  std::vector<double> points;
};

std::vector<Unary> unary_functions() {
  return {
      {"exp", [](const V& x) { return exp(x); }, [](double x) { return std::exp(x); },
       [](double x) { return std::exp(x); }, {-30, -2.7, 0, 1.3, 30, 300}},
      {"log", [](const V& x) { return log(x); }, [](double x) { return std::log(x); },
       [](double x) { return 1 / x; }, {1e-3, 0.5, 1, 7.3, 1e10}},
      {"log1p", [](const V& x) { return log1p(x); }, [](double x) { return std::log1p(x); },
       [](double x) { return 1 / (1 + x); }, {-0.999, -0.5, 0, 1e-10, 3, 1e8}},
      {"expm1", [](const V& x) { return expm1(x); }, [](double x) { return std::expm1(x); },
       [](double x) { return std::exp(x); }, {-30, -1, 0, 1e-10, 2.5, 50}},
      {"sqrt", [](const V& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); },
       [](double x) { return 0.5 / std::sqrt(x); }, {1e-2, 0.25, 2, 1e12}},
      {"cbrt", [](const V& x) { return cbrt(x); }, [](double x) { return std::cbrt(x); },
       [](double x) { return 1 / (3 * std::pow(std::abs(x), 2.0 / 3)); }, {-8, -1e-3, 1e-3, 2, 1e9}},
      {"sin", [](const V& x) { return sin(x); }, [](double x) { return std::sin(x); },
       [](double x) { return std::cos(x); }, {-10, -1, 0, 0.5, 3, 100}},
      {"cos", [](const V& x) { return cos(x); }, [](double x) { return std::cos(x); },
       [](double x) { return -std::sin(x); }, {-10, -1, 0, 0.5, 3, 100}},
      {"tan", [](const V& x) { return tan(x); }, [](double x) { return std::tan(x); },
       [](double x) { return 1 / (std::cos(x) * std::cos(x)); }, {-1.2, 0, 0.7, 1.5, 100}},
      {"asin", [](const V& x) { return asin(x); }, [](double x) { return std::asin(x); },
       [](double x) { return 1 / std::sqrt(1 - x * x); }, {-0.999, -0.5, 0, 0.3, 0.99}},
      {"acos", [](const V& x) { return acos(x); }, [](double x) { return std::acos(x); },
       [](double x) { return -1 / std::sqrt(1 - x * x); }, {-0.999, -0.5, 0, 0.3, 0.99}},
      {"atan", [](const V& x) { return atan(x); }, [](double x) { return std::atan(x); },
       [](double x) { return 1 / (1 + x * x); }, {-1e6, -3, 0, 0.5, 1e3}},
      {"sinh", [](const V& x) { return sinh(x); }, [](double x) { return std::sinh(x); },
       [](double x) { return std::cosh(x); }, {-20, -1, 0, 0.5, 20}},
      {"cosh", [](const V& x) { return cosh(x); }, [](double x) { return std::cosh(x); },
       [](double x) { return std::sinh(x); }, {-20, -1, 0, 0.5, 20}},
      {"tanh", [](const V& x) { return tanh(x); }, [](double x) { return std::tanh(x); },
       [](double x) { return 1 / (std::cosh(x) * std::cosh(x)); }, {-20, -1, 0, 0.5, 20}},
      {"abs", [](const V& x) { return abs(x); }, [](double x) { return std::abs(x); },
       [](double x) { return x > 0 ? 1.0 : -1.0; }, {-3, -0.5, 0.5, 1e6}},
      {"fabs", [](const V& x) { return fabs(x); }, [](double x) { return std::fabs(x); },
       [](double x) { return x > 0 ? 1.0 : -1.0; }, {-3, -0.5, 0.5, 1e6}},
      {"erf", [](const V& x) { return erf(x); }, [](double x) { return std::erf(x); },
       [](double x) { return 2 / std::sqrt(kPi) * std::exp(-x * x); }, {-5, -1, 0, 0.3, 2, 6}},
      {"erfc", [](const V& x) { return erfc(x); }, [](double x) { return std::erfc(x); },
       [](double x) { return -2 / std::sqrt(kPi) * std::exp(-x * x); }, {-5, -1, 0, 0.3, 2, 6}},
      // lgamma' = digamma; its closed form is checked on its own below, so here the
      // reference is a higher-order difference (Richardson), independent of the code.
      {"lgamma", [](const V& x) { return lgamma(x); }, [](double x) { return std::lgamma(x); },
       [](double x) {
         const double h = 1e-4 * std::max(1.0, std::abs(x));
         auto f = [](double t) { return std::lgamma(t); };
         return (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h);
       },
       {-2.5, -0.5, 0.1, 1, 2.5, 10, 1e5}},
      {"tgamma", [](const V& x) { return tgamma(x); }, [](double x) { return std::tgamma(x); },
       [](double x) {
         const double h = 1e-4 * std::max(1.0, std::abs(x));
         auto f = [](double t) { return std::log(std::abs(std::tgamma(t))); };
         return std::tgamma(x) * (8 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12 * h);
       },
       {-2.5, -0.5, 0.1, 1, 2.5, 10, 100}},
      {"floor", [](const V& x) { return floor(x); }, [](double x) { return std::floor(x); },
       [](double) { return 0.0; }, {-2.5, 0.3, 7.9, 12345.5}},
      {"ceil", [](const V& x) { return ceil(x); }, [](double x) { return std::ceil(x); },
       [](double) { return 0.0; }, {-2.5, 0.3, 7.9, 12345.5}},
  };
}
}  // namespace

TEST_CASE("Var: every cmath function matches its closed-form derivative and central differences", "[var]") {
  for (const Unary& u : unary_functions()) {
    for (double x : u.points) {
      INFO(u.name << "(" << x << ")");
      tg::TapeScope scope;
      const V v = tg::variable(x);
      const V y = u.f(v);
      CHECK(y.val() == u.plain(x));  // the value is exactly the std:: function's
      y.backward();
      const double d = v.grad();
      const double closed = u.derivative(x);
      const bool richardson = std::string(u.name) == "lgamma" || std::string(u.name) == "tgamma";
      CHECK_CLOSE(d, closed, richardson ? 1e-9 : 1e-13);
      CHECK(close(d, central_difference(u.plain, x), 1e-6, 1e-8));
      // The same function on a constant records nothing and gives the same value.
      const V c = u.f(V(x));
      CHECK(c.is_constant());
      CHECK(c.val() == u.plain(x));
    }
  }
}

TEST_CASE("Var: cmath functions at domain boundaries and non-differentiable points", "[var]") {
  auto d = [](auto f, double x) { return reverse_derivative(f, x); };
  // Boundaries where the derivative is infinite (as in the limit).
  CHECK(d([](const V& x) { return sqrt(x); }, 0.0) == kInf);  // NOTE: sqrt'(0) = inf
  CHECK(d([](const V& x) { return cbrt(x); }, 0.0) == kInf);
  CHECK(d([](const V& x) { return log(x); }, 0.0) == kInf);
  CHECK(log(V(0.0)).val() == -kInf);
  CHECK(d([](const V& x) { return log1p(x); }, -1.0) == kInf);
  CHECK(d([](const V& x) { return asin(x); }, 1.0) == kInf);
  CHECK(d([](const V& x) { return asin(x); }, -1.0) == kInf);
  CHECK(d([](const V& x) { return acos(x); }, 1.0) == -kInf);
  // Outside the domain: NaN value and derivative, as std:: gives NaN.
  CHECK(std::isnan(log(V(-1.0)).val()));
  CHECK(std::isnan(d([](const V& x) { return sqrt(x); }, -1.0)));
  CHECK(std::isnan(d([](const V& x) { return asin(x); }, 1.5)));
  // NOTE: abs'(0) = 0, as Stan and PyTorch.
  CHECK(d([](const V& x) { return abs(x); }, 0.0) == 0.0);
  CHECK(d([](const V& x) { return fabs(x); }, -0.0) == 0.0);
  CHECK(std::isnan(d([](const V& x) { return abs(x); }, kNaN)));
  // NOTE: floor/ceil have derivative 0, also at the integers where they jump; they are constants.
  CHECK(d([](const V& x) { return floor(x); }, 2.0) == 0.0);
  CHECK(d([](const V& x) { return ceil(x) * 3 + x; }, -1.0) == 1.0);
  CHECK(floor(tg::variable(2.7)).is_constant());
  // Gamma functions at their poles: lgamma = tgamma value inf/NaN, derivative NaN.
  CHECK(lgamma(V(0.0)).val() == kInf);
  CHECK(std::isnan(d([](const V& x) { return lgamma(x); }, 0.0)));
  CHECK(std::isnan(d([](const V& x) { return lgamma(x); }, -2.0)));
  CHECK(std::isnan(d([](const V& x) { return tgamma(x); }, -1.0)));
  // Large magnitudes saturate the way the values do.
  CHECK(d([](const V& x) { return tanh(x); }, 400.0) == 0.0);
  CHECK(d([](const V& x) { return exp(x); }, 800.0) == kInf);
  CHECK(d([](const V& x) { return erf(x); }, 30.0) == 0.0);
  CHECK(d([](const V& x) { return atan(x); }, 1e200) == 0.0);
  CHECK(d([](const V& x) { return tgamma(x); }, 172.0) == kInf);  // tgamma overflows there
  CHECK(d([](const V& x) { return exp(x); }, -800.0) == 0.0);
}

TEST_CASE("Var: lgamma' is the digamma function (closed forms)", "[var]") {
  auto digamma = [](double x) { return reverse_derivative([](const V& v) { return lgamma(v); }, x); };
  CHECK_CLOSE(digamma(1.0), -kEulerGamma, 1e-15);
  CHECK_CLOSE(digamma(0.5), -kEulerGamma - 2 * std::log(2.0), 1e-15);
  CHECK_CLOSE(digamma(1.5), 2 - kEulerGamma - 2 * std::log(2.0), 1e-14);
  CHECK_CLOSE(digamma(-0.5), 2 - kEulerGamma - 2 * std::log(2.0), 1e-14);  // reflection
  CHECK_CLOSE(digamma(4.0), 1 + 1.0 / 2 + 1.0 / 3 - kEulerGamma, 1e-15);   // harmonic number
  CHECK_CLOSE(digamma(1e-8), -1e8 - kEulerGamma, 1e-15);
  // Large x: ln x - 1/(2x) - 1/(12 x^2) + 1/(120 x^4) - ...
  const double x = 1e4;
  CHECK_CLOSE(digamma(x), std::log(x) - 1 / (2 * x) - 1 / (12 * x * x), 1e-15);
  // tgamma' = tgamma * digamma: tgamma'(1) = -gamma.
  CHECK_CLOSE(reverse_derivative([](const V& v) { return tgamma(v); }, 1.0), -kEulerGamma, 1e-15);
  CHECK_CLOSE(reverse_derivative([](const V& v) { return tgamma(v); }, 3.0), 2 * (1.5 - kEulerGamma), 1e-14);
}

TEST_CASE("Var: pow with every argument mix", "[var]") {
  using scalar_test::Partials;
  auto vv = [](double a, double b) { return reverse_partials([](const V& x, const V& y) { return pow(x, y); }, a, b); };
  auto fd_base = [](double a, double b) { return central_difference([b](double t) { return std::pow(t, b); }, a); };
  auto fd_exp = [](double a, double b) { return central_difference([a](double t) { return std::pow(a, t); }, b); };
  // Ordinary points: closed forms y x^(y-1) and x^y log x, and central differences.
  for (auto [a, b] : std::vector<std::pair<double, double>>{{2.5, 1.7}, {0.3, -2}, {4, 0.5}, {1e3, 2.5}, {7, 0}}) {
    INFO("pow(" << a << ", " << b << ")");
    const Partials p = vv(a, b);
    CHECK(p.value == std::pow(a, b));
    CHECK_CLOSE(p.da, b == 0 ? 0.0 : b * std::pow(a, b - 1), 1e-14);
    CHECK_CLOSE(p.db, std::pow(a, b) * std::log(a), 1e-14);
    CHECK(close(p.da, fd_base(a, b), 1e-6, 1e-8));
    CHECK(close(p.db, fd_exp(a, b), 1e-6, 1e-8));
    // Var ^ number and number ^ Var give the same partials.
    CHECK(reverse_derivative([b = b](const V& x) { return pow(x, b); }, a) == p.da);
    CHECK(reverse_derivative([a = a](const V& y) { return pow(a, y); }, b) == p.db);
  }
  // Integer exponents and negative bases: d/dx is fine, d/dy is NaN (x^y is not real
  // around a non-integer y).
  const Partials neg = vv(-2.0, 3.0);
  CHECK(neg.value == -8.0);
  CHECK(neg.da == 12.0);
  CHECK(std::isnan(neg.db));
  CHECK(reverse_derivative([](const V& x) { return pow(x, 3); }, -2.0) == 12.0);
  CHECK(reverse_derivative([](const V& x) { return pow(x, 2); }, 0.0) == 0.0);
  // Base 0. NOTE: d/dy 0^y = 0 for y >= 0 (the limit from x > 0), as PyTorch.
  const Partials z2 = vv(0.0, 2.0);
  CHECK(z2.value == 0.0);
  CHECK(z2.da == 0.0);
  CHECK(z2.db == 0.0);
  const Partials z1 = vv(0.0, 1.0);
  CHECK(z1.da == 1.0);
  const Partials z0 = vv(0.0, 0.0);
  CHECK(z0.value == 1.0);
  CHECK(z0.da == 0.0);  // x^0 is constant
  CHECK(z0.db == 0.0);
  CHECK(vv(0.0, 0.5).da == kInf);
  CHECK(reverse_derivative([](const V& y) { return pow(0.0, y); }, 2.0) == 0.0);
  CHECK_CLOSE(reverse_derivative([](const V& y) { return pow(2, y); }, 3.0), 8 * std::log(2.0), 1e-15);
}

TEST_CASE("Var: atan2 and hypot with every argument mix", "[var]") {
  for (auto [y, x] : std::vector<std::pair<double, double>>{{1, 2}, {-1, -2}, {0.5, -1}, {3, 0}, {-1e-3, 1e3}}) {
    INFO("atan2(" << y << ", " << x << ")");
    const auto p = reverse_partials([](const V& a, const V& b) { return atan2(a, b); }, y, x);
    const double r2 = x * x + y * y;
    CHECK(p.value == std::atan2(y, x));
    CHECK_CLOSE(p.da, x / r2, 1e-15);
    CHECK_CLOSE(p.db, -y / r2, 1e-15);
    CHECK(close(p.da, central_difference([x = x](double t) { return std::atan2(t, x); }, y), 1e-6, 1e-9));
    CHECK(close(p.db, central_difference([y = y](double t) { return std::atan2(y, t); }, x), 1e-6, 1e-9));
    CHECK(reverse_derivative([x = x](const V& a) { return atan2(a, x); }, y) == p.da);
    CHECK(reverse_derivative([y = y](const V& b) { return atan2(y, b); }, x) == p.db);
  }
  // NOTE: at the origin atan2's partials are 0/0 = NaN, as Stan and PyTorch.
  const auto origin = reverse_partials([](const V& a, const V& b) { return atan2(a, b); }, 0.0, 0.0);
  CHECK(origin.value == 0.0);
  CHECK(std::isnan(origin.da));
  CHECK(std::isnan(origin.db));

  struct HypotPoint {
    double x, y;
    bool fd;  // central differences are meaningful (no overflow or underflow of the step)
  };
  for (auto [x, y, fd] : std::vector<HypotPoint>{{3, 4, true}, {-1, 2.5, true}, {0, 2, true}, {-1e200, 1e200, false}, {1e-200, 0, false}}) {
    INFO("hypot(" << x << ", " << y << ")");
    const auto p = reverse_partials([](const V& a, const V& b) { return hypot(a, b); }, x, y);
    const double h = std::hypot(x, y);
    CHECK(p.value == h);
    CHECK_CLOSE(p.da, x / h, 1e-15);
    CHECK_CLOSE(p.db, y / h, 1e-15);
    if (fd) {
      CHECK(close(p.da, central_difference([y = y](double t) { return std::hypot(t, y); }, x), 1e-6, 1e-9));
      CHECK(close(p.db, central_difference([x = x](double t) { return std::hypot(x, t); }, y), 1e-6, 1e-9));
    }
    CHECK(reverse_derivative([y = y](const V& a) { return hypot(a, y); }, x) == p.da);
    CHECK(reverse_derivative([x = x](const V& b) { return hypot(x, b); }, y) == p.db);
  }
  CHECK(hypot(V(3.0), 4).val() == 5.0);
  // NOTE: at the origin hypot's partials are 0/0 = NaN, as PyTorch.
  const auto h0 = reverse_partials([](const V& a, const V& b) { return hypot(a, b); }, 0.0, 0.0);
  CHECK(h0.value == 0.0);
  CHECK(std::isnan(h0.da));
}

TEST_CASE("Var: fmin and fmax select an argument, with ties and NaN", "[var]") {
  auto mn = [](double a, double b) { return reverse_partials([](const V& x, const V& y) { return fmin(x, y); }, a, b); };
  auto mx = [](double a, double b) { return reverse_partials([](const V& x, const V& y) { return fmax(x, y); }, a, b); };
  auto p = mn(1.0, 2.0);
  CHECK(p.value == 1.0);
  CHECK(p.da == 1.0);
  CHECK(p.db == 0.0);
  p = mn(2.0, -1.0);
  CHECK(p.value == -1.0);
  CHECK(p.da == 0.0);
  CHECK(p.db == 1.0);
  p = mx(1.0, 2.0);
  CHECK(p.value == 2.0);
  CHECK(p.db == 1.0);
  CHECK(p.da == 0.0);
  // Central differences away from the tie.
  CHECK_CLOSE(mx(3.0, 2.0).da, central_difference([](double t) { return std::fmax(t, 2.0); }, 3.0), 1e-9);
  CHECK_CLOSE(mn(3.0, 2.0).da, central_difference([](double t) { return std::fmin(t, 2.0); }, 3.0), 1e-9);
  // NOTE: a tie takes the first argument (as Stan).
  p = mn(1.5, 1.5);
  CHECK(p.da == 1.0);
  CHECK(p.db == 0.0);
  p = mx(1.5, 1.5);
  CHECK(p.da == 1.0);
  CHECK(p.db == 0.0);
  // A NaN argument loses to a number (std::fmin / std::fmax semantics).
  p = mn(kNaN, 2.0);
  CHECK(p.value == 2.0);
  CHECK(p.db == 1.0);
  CHECK(p.da == 0.0);
  p = mx(2.0, kNaN);
  CHECK(p.value == 2.0);
  CHECK(p.da == 1.0);
  CHECK(std::isnan(fmin(V(kNaN), V(kNaN)).val()));
  // Mixed with numbers: the number is a constant.
  CHECK(reverse_derivative([](const V& x) { return fmin(x, 5.0); }, 3.0) == 1.0);
  CHECK(reverse_derivative([](const V& x) { return fmin(1, x); }, 3.0) == 0.0);
  CHECK(reverse_derivative([](const V& x) { return fmax(x, 5); }, 3.0) == 0.0);
  CHECK(reverse_derivative([](const V& x) { return fmax(-1.0, x); }, 3.0) == 1.0);
  CHECK(fmax(-1.0, V(3.0)).val() == 3.0);
  CHECK(fmin(V(3.0), 5).val() == 3.0);
}

TEST_CASE("Var: numeric_limits, isfinite, isnan, isinf", "[var]") {
  using L = std::numeric_limits<V>;
  STATIC_REQUIRE(L::is_specialized);
  STATIC_REQUIRE(L::has_infinity);
  STATIC_REQUIRE(L::digits == std::numeric_limits<double>::digits);
  STATIC_REQUIRE(std::is_same_v<decltype(L::max()), V>);
  CHECK(L::max().val() == std::numeric_limits<double>::max());
  CHECK(L::min().val() == std::numeric_limits<double>::min());
  CHECK(L::lowest().val() == std::numeric_limits<double>::lowest());
  CHECK(L::epsilon().val() == std::numeric_limits<double>::epsilon());
  CHECK(L::infinity().val() == kInf);
  CHECK(std::isnan(L::quiet_NaN().val()));
  CHECK(L::denorm_min().val() == std::numeric_limits<double>::denorm_min());
  CHECK(L::max().is_constant());
  CHECK(std::numeric_limits<tg::Var<float>>::epsilon().val() == std::numeric_limits<float>::epsilon());

  const V one = tg::variable(1.0), inf = kInf, nan = kNaN;
  CHECK(std::isfinite(one));
  CHECK_FALSE(std::isfinite(inf));
  CHECK_FALSE(std::isfinite(nan));
  CHECK(std::isinf(inf));
  CHECK(std::isinf(-inf));
  CHECK_FALSE(std::isinf(one));
  CHECK(std::isnan(nan));
  CHECK_FALSE(std::isnan(one));
  // Found by argument-dependent lookup too (what Eigen's numext calls).
  CHECK(isfinite(one));
  CHECK(isnan(nan));
  CHECK(isinf(inf));
  CHECK(tg::isfinite(one));
}

TEST_CASE("Var: printing shows the value", "[var]") {
  std::ostringstream s;
  s << tg::variable(2.5) << " " << V(-1);
  CHECK(s.str() == "2.5 -1");
}

TEST_CASE("Var: a branch the output does not use cannot poison the gradient", "[var]") {
  // s = sqrt(x) at x = 0 has derivative inf; y does not use s. Reverse sweeps that visit
  // every statement would add 0 * inf = NaN into dy/dx; statements with a zero adjoint
  // are skipped, as PyTorch never visits them.
  tg::TapeScope scope;
  const V x = tg::variable(0.0);
  const V s = sqrt(x);
  const V y = x * 3;
  (void)s;
  y.backward();
  CHECK(x.grad() == 3.0);
}

TEST_CASE("precomputed_gradients: one statement with caller-supplied partials", "[var]") {
  tg::TapeScope scope;
  const std::vector<V> xs = tg::variables(std::vector<double>{1.0, 2.0, 3.0});
  // y = sum x_i^2, written as one statement: dy/dx_i = 2 x_i.
  const V y = tg::precomputed_gradients(14.0, xs, std::vector<double>{2.0, 4.0, 6.0});
  CHECK(y.val() == 14.0);
  const V z = y * xs[0];  // z = x0 * sum x_i^2: dz/dx0 = 14 + 2 x0^2 = 16
  z.backward();
  CHECK(tg::grads(xs) == std::vector<double>{16.0, 4.0, 6.0});
  // Constant operands are dropped; all-constant gives a constant.
  const std::size_t operands = tg::tape().stats().operands;
  const V w = tg::precomputed_gradients(1.0, std::vector<V>{V(1.0), xs[1]}, std::vector<double>{5.0, 7.0});
  CHECK(tg::tape().stats().operands == operands + 1);
  w.backward();
  CHECK(xs[1].grad() == 7.0);
  CHECK(tg::precomputed_gradients(1.0, std::vector<V>{V(1.0)}, std::vector<double>{5.0}).is_constant());
  CHECK(tg::precomputed_gradients(1.0, std::vector<V>{}, std::vector<double>{}).is_constant());

  CHECK_THROWS_AS(tg::precomputed_gradients(1.0, xs, std::vector<double>{1.0}), tg::ValueError);
  CHECK_THROWS_WITH(tg::precomputed_gradients(1.0, xs, std::vector<double>{1.0}),
                    Catch::Matchers::Contains("3 operands but 1 partials"));
}

TEST_CASE("Var<float>: the same functions and derivatives in single precision", "[var][float]") {
  using F = tg::Var<float>;
  CHECK(sizeof(F) <= 12);
  auto df = [](auto f, float x) { return reverse_derivative(f, x); };
  CHECK(df([](const F& x) { return exp(x) * sin(x); }, 0.7f) ==
        Approx(std::exp(0.7) * (std::sin(0.7) + std::cos(0.7))).epsilon(1e-6));
  CHECK(df([](const F& x) { return log(x) / x; }, 2.0f) == Approx((1 - std::log(2.0)) / 4).epsilon(1e-6));
  CHECK(df([](const F& x) { return pow(x, 2.5f); }, 3.0f) == Approx(2.5 * std::pow(3.0, 1.5)).epsilon(1e-6));
  CHECK(df([](const F& x) { return atan2(x, 2.0f) + hypot(x, 1); }, 1.0f) ==
        Approx(2.0 / 5 + 1 / std::sqrt(2.0)).epsilon(1e-6));
  CHECK(df([](const F& x) { return lgamma(x) + tanh(x) + erf(x); }, 1.0f) ==
        Approx(-kEulerGamma + 1 / std::pow(std::cosh(1.0), 2) + 2 / std::sqrt(kPi) * std::exp(-1.0)).epsilon(1e-5));
  CHECK(df([](const F& x) { return fmax(x, 0.5f) * 2.0 + sqrt(x) - cbrt(x); }, 4.0f) ==
        Approx(2 + 0.25 - 1 / (3 * std::pow(4.0, 2.0 / 3))).epsilon(1e-6));
  // Float and double tapes are separate: recording one does not touch the other.
  tg::TapeScope scope;
  const std::size_t doubles = tg::tape<double>().num_variables();
  const F x = tg::variable(1.0f);
  const F y = x * x;
  CHECK(tg::tape<float>().num_variables() >= 2);
  CHECK(tg::tape<double>().num_variables() == doubles);
  y.backward();
  CHECK(x.grad() == 2.0f);
}

}  // namespace scalar_var_test
