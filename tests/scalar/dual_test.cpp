// tg::Dual<T>: arithmetic, every cmath function (tangent against a closed form and against
// central differences, on ordinary and edge inputs), second derivatives through
// Dual<Dual<double>>, float, numeric_limits and classification, and Eigen matrices of Duals.

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include "tapegrad/scalar/dual.hpp"

namespace scalar_dual_test {

namespace tg = tapegrad;

namespace {

using D1 = tg::Dual<double>;
using D2 = tg::Dual<D1>;
using DF = tg::Dual<float>;

constexpr double kPi = 3.14159265358979323846;
constexpr double kEulerGamma = 0.57721566490153286061;
const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// |a - b| <= rel |b| + abs_tol; nan matches nan and an infinity only itself.
bool close(double a, double b, double rel, double abs_tol = 0) {
  if (std::isnan(b)) return std::isnan(a);
  if (std::isinf(b)) return a == b;
  return std::abs(a - b) <= rel * std::abs(b) + abs_tol;
}

#define CHECK_DUAL_CLOSE(a, b, rel)                                                                          \
  do {                                                                                                  \
    const double a_ = (a), b_ = (b);                                                                    \
    INFO(std::setprecision(17) << #a << " = " << a_ << ", " << #b << " = " << b_ << ", rel " << (rel)); \
    CHECK(close(a_, b_, (rel)));                                                                        \
  } while (false)

// Central difference with one Richardson step, O(h^4). h is a power of two so that x +- h
// is exact for the x used here.
double central_difference(const std::function<double(double)>& f, double x, double h) {
  const auto d = [&](double s) { return (f(x + s) - f(x - s)) / (2 * s); };
  return (4 * d(h / 2) - d(h)) / 3;
}

// The step: 2^-12, times |x| for functions whose scale grows with x (log, sqrt, ...).
double step_for(double x, bool relative) {
  const double scale = relative ? std::abs(x) : 1.0;
  return std::exp2(std::floor(std::log2(scale)) - 12);
}

// digamma and trigamma in closed form at the integers >= 1 and the half-integers, from
// psi(1) = -gamma, psi(1/2) = -gamma - 2 log 2, psi'(1) = pi^2/6, psi'(1/2) = pi^2/2 and
// the recurrences psi(x + 1) = psi(x) + 1/x, psi'(x + 1) = psi'(x) - 1/x^2; for x > 1e3
// their asymptotic series (the omitted terms are below 1e-20 there).
double digamma_ref(double x) {
  if (x > 1e3) return std::log(x) - 1 / (2 * x) - 1 / (12 * x * x);
  const bool half = x != std::floor(x);
  double b = half ? 0.5 : 1.0;
  double psi = half ? -kEulerGamma - 2 * std::log(2.0) : -kEulerGamma;
  for (; b < x; b += 1) psi += 1 / b;
  for (; b > x; b -= 1) psi -= 1 / (b - 1);
  return psi;
}
double trigamma_ref(double x) {
  if (x > 1e3) return 1 / x + 1 / (2 * x * x) + 1 / (6 * x * x * x);
  const bool half = x != std::floor(x);
  double b = half ? 0.5 : 1.0;
  double psi1 = half ? kPi * kPi / 2 : kPi * kPi / 6;
  for (; b < x; b += 1) psi1 -= 1 / (b * b);
  for (; b > x; b -= 1) psi1 += 1 / ((b - 1) * (b - 1));
  return psi1;
}

#define USING_STD_MATH \
  using std::exp;      \
  using std::log;      \
  using std::log1p;    \
  using std::expm1;    \
  using std::sqrt;     \
  using std::cbrt;     \
  using std::sin;      \
  using std::cos;      \
  using std::tan;      \
  using std::asin;     \
  using std::acos;     \
  using std::atan;     \
  using std::sinh;     \
  using std::cosh;     \
  using std::tanh;     \
  using std::abs;      \
  using std::fabs;     \
  using std::erf;      \
  using std::erfc;     \
  using std::lgamma;   \
  using std::tgamma;   \
  using std::floor;    \
  using std::ceil

// One function written once, run on double, Dual, Dual<Dual> and Dual<float>.
#define GENERIC(expr) \
  [](auto x) {        \
    USING_STD_MATH;   \
    return expr;      \
  }

struct Point {
  double x;
  // false where differences cannot resolve the first (second) derivative: f flat to
  // rounding (tanh(20)), or f' flat to rounding (asin' near 0)
  bool first_difference = true;
  bool second_difference = true;
};

struct Unary {
  std::string name;
  bool relative_step;
  std::function<double(double)> f;
  std::function<D1(D1)> f1;
  std::function<D2(D2)> f2;
  std::function<DF(DF)> ff;
  std::function<double(double)> d1, d2;  // closed forms of f' and f''
  std::vector<Point> points;
};

template <typename G>
Unary unary(std::string name, bool relative_step, G g, std::function<double(double)> d1,
            std::function<double(double)> d2, std::vector<Point> points) {
  return {std::move(name), relative_step, g, g, g, g, std::move(d1), std::move(d2), std::move(points)};
}

const std::vector<Unary>& unaries() {
  static const std::vector<Unary> table = [] {
    const double c = 2 / std::sqrt(kPi);
    std::vector<Unary> t;
    t.push_back(unary(
        "exp", false, GENERIC(exp(x)), [](double x) { return std::exp(x); }, [](double x) { return std::exp(x); },
        {{0}, {1}, {-3.5}, {20}, {-20}, {700}, {-700}}));
    t.push_back(unary(
        "log", true, GENERIC(log(x)), [](double x) { return 1 / x; }, [](double x) { return -1 / (x * x); },
        {{1}, {0.05}, {2.5}, {1e-300}, {1e10}, {1e300}}));
    t.push_back(unary(
        "log1p", true, GENERIC(log1p(x)), [](double x) { return 1 / (1 + x); },
        [](double x) { return -1 / ((1 + x) * (1 + x)); },
        {{0, false, false}, {0.5}, {-0.5}, {-0.95}, {1e-10}, {1e10}}));
    t.push_back(unary(
        "expm1", false, GENERIC(expm1(x)), [](double x) { return std::exp(x); }, [](double x) { return std::exp(x); },
        {{0}, {1e-10}, {1}, {-1}, {-2}, {-40, false}, {30}}));
    t.push_back(unary(
        "sqrt", true, GENERIC(sqrt(x)), [](double x) { return 0.5 / std::sqrt(x); },
        [](double x) { return -0.25 / (x * std::sqrt(x)); }, {{1}, {0.25}, {7}, {1e-300}, {1e300}}));
    t.push_back(unary(
        "cbrt", true, GENERIC(cbrt(x)), [](double x) { return std::pow(std::abs(x), -2.0 / 3) / 3; },
        [](double x) { return -2.0 / 9 * std::pow(std::abs(x), -5.0 / 3) * (x < 0 ? -1 : 1); },
        {{8}, {-8}, {0.3}, {1e-9}, {-1e9}}));
    t.push_back(unary(
        "sin", false, GENERIC(sin(x)), [](double x) { return std::cos(x); }, [](double x) { return -std::sin(x); },
        {{0}, {1}, {-2}, {100}, {1e6}}));
    t.push_back(unary(
        "cos", false, GENERIC(cos(x)), [](double x) { return -std::sin(x); }, [](double x) { return -std::cos(x); },
        {{0}, {1}, {-2}, {100}, {1e6}}));
    t.push_back(unary(
        "tan", false, GENERIC(tan(x)), [](double x) { return 1 / (std::cos(x) * std::cos(x)); },
        [](double x) { return 2 * std::sin(x) / std::pow(std::cos(x), 3); },
        {{0}, {1}, {-1.5}, {1.57, false, false}, {100}}));
    t.push_back(unary(
        "asin", false, GENERIC(asin(x)), [](double x) { return 1 / std::sqrt(1 - x * x); },
        [](double x) { return x / std::pow(1 - x * x, 1.5); }, {{0}, {0.5}, {-0.95}, {0.95}, {1e-8, true, false}}));
    t.push_back(unary(
        "acos", false, GENERIC(acos(x)), [](double x) { return -1 / std::sqrt(1 - x * x); },
        [](double x) { return -x / std::pow(1 - x * x, 1.5); }, {{0}, {0.5}, {-0.95}, {0.95}, {1e-8, true, false}}));
    t.push_back(unary(
        "atan", true, GENERIC(atan(x)), [](double x) { return 1 / (1 + x * x); },
        [](double x) { return -2 * x / ((1 + x * x) * (1 + x * x)); }, {{0, false, false}, {1}, {-3}, {1e4}, {-1e4}}));
    t.push_back(unary(
        "sinh", false, GENERIC(sinh(x)), [](double x) { return std::cosh(x); }, [](double x) { return std::sinh(x); },
        {{0}, {1}, {-2}, {700}, {-700}}));
    t.push_back(unary(
        "cosh", false, GENERIC(cosh(x)), [](double x) { return std::sinh(x); }, [](double x) { return std::cosh(x); },
        {{0}, {1}, {-2}, {700}, {-700}}));
    t.push_back(unary(
        "tanh", false, GENERIC(tanh(x)), [](double x) { return 1 / (std::cosh(x) * std::cosh(x)); },
        [](double x) { return -2 * std::tanh(x) / (std::cosh(x) * std::cosh(x)); },
        {{0}, {0.5}, {-1}, {5}, {20, false}, {-20, false}}));
    t.push_back(unary(
        "abs", true, GENERIC(abs(x)), [](double x) { return x > 0 ? 1.0 : -1.0; }, [](double) { return 0.0; },
        {{1.5}, {-2}, {1e300}, {-1e-300}}));
    t.push_back(unary(
        "fabs", false, GENERIC(fabs(x)), [](double x) { return x > 0 ? 1.0 : -1.0; }, [](double) { return 0.0; },
        {{1.5}, {-2}}));
    t.push_back(unary(
        "erf", false, GENERIC(erf(x)), [c](double x) { return c * std::exp(-x * x); },
        [c](double x) { return -2 * x * c * std::exp(-x * x); }, {{0}, {0.5}, {-1}, {3}, {-5, false}, {10, false}}));
    t.push_back(unary(
        "erfc", false, GENERIC(erfc(x)), [c](double x) { return -c * std::exp(-x * x); },
        [c](double x) { return 2 * x * c * std::exp(-x * x); }, {{0}, {0.5}, {-1}, {3}, {10}, {26}}));
    t.push_back(unary("lgamma", true, GENERIC(lgamma(x)), digamma_ref, trigamma_ref,
                      {{0.5}, {1}, {3}, {7.5}, {-0.5}, {-2.5}, {30}, {1e6}}));
    t.push_back(unary(
        "tgamma", true, GENERIC(tgamma(x)), [](double x) { return std::tgamma(x) * digamma_ref(x); },
        [](double x) {
          const double p = digamma_ref(x);
          return std::tgamma(x) * (p * p + trigamma_ref(x));
        },
        {{0.5}, {1}, {3}, {7.5}, {-0.5}, {-2.5}, {30}}));
    t.push_back(unary(
        "floor", false, GENERIC(floor(x)), [](double) { return 0.0; }, [](double) { return 0.0; },
        {{2.5}, {-2.5}, {1e10 + 0.5}}));
    t.push_back(unary(
        "ceil", false, GENERIC(ceil(x)), [](double) { return 0.0; }, [](double) { return 0.0; },
        {{2.5}, {-2.5}, {1e10 + 0.5}}));
    return t;
  }();
  return table;
}

// The derivative of f by Dual, as a plain function (for differences of it).
std::function<double(double)> dual_derivative(const std::function<D1(D1)>& f) {
  return [f](double x) { return f(D1(x, 1.0)).tangent(); };
}

}  // namespace

TEST_CASE("Dual: construction, accessors, printing", "[dual]") {
  D1 c(2.5);
  CHECK(c.val() == 2.5);
  CHECK(c.tangent() == 0);
  D1 v(2.5, 1.0);
  CHECK(v.tangent() == 1);
  v.tangent() = 3;
  v.val() = -1;
  CHECK(v.val() == -1);
  CHECK(v.tangent() == 3);
  D1 zero;
  CHECK(zero.val() == 0);
  CHECK(zero.tangent() == 0);
  D1 from_int = 3;  // a constant from any plain number
  CHECK(from_int.val() == 3);
  D2 nested = 1.5;  // Dual<Dual<double>> from a double: all tangents zero
  CHECK(nested.val().val() == 1.5);
  CHECK(nested.val().tangent() == 0);
  CHECK(nested.tangent().val() == 0);
  tg::Dual deduced(2.0, 1.0);  // class template argument deduction
  static_assert(std::is_same_v<decltype(deduced), D1>);
  static_assert(std::is_same_v<D2::real_type, double>);
  static_assert(std::is_same_v<DF::real_type, float>);
  std::ostringstream os;
  os << D1(1.5, -2) << " " << D2(D1(1, 2), D1(3, 4));
  CHECK(os.str() == "Dual(1.5, -2) Dual(Dual(1, 2), Dual(3, 4))");
}

TEST_CASE("Dual: arithmetic with Duals and plain numbers on both sides", "[dual]") {
  const D1 a(3.0, 2.0), b(-1.5, 0.5);
  auto check = [](const D1& y, double value, double tangent) {
    INFO("got " << y << ", expected Dual(" << value << ", " << tangent << ")");
    CHECK(y.val() == Approx(value).epsilon(1e-15));
    CHECK(y.tangent() == Approx(tangent).epsilon(1e-15));
  };
  check(a + b, 1.5, 2.5);
  check(a - b, 4.5, 1.5);
  check(a * b, -4.5, 2 * -1.5 + 3 * 0.5);         // a'b + ab'
  check(a / b, -2.0, (2 - (-2.0) * 0.5) / -1.5);  // (a' - (a/b) b') / b
  check(-a, -3, -2);
  check(+a, 3, 2);
  check(a + 2.0, 5, 2);
  check(2.0 + a, 5, 2);
  check(a - 2, 1, 2);
  check(2 - a, -1, -2);
  check(a * 2.0f, 6, 4);
  check(2 * a, 6, 4);
  check(a / 4.0, 0.75, 0.5);
  check(6.0 / a, 2, -6.0 / 9 * 2);       // d(c/a) = -c a' / a^2
  check(1 / D1(0.0, 1.0), kInf, -kInf);  // IEEE: division by zero as for doubles

  D1 c = a;
  c += b;
  check(c, 1.5, 2.5);
  c -= b;
  check(c, 3, 2);
  c *= b;
  check(c, -4.5, 2 * -1.5 + 3 * 0.5);
  c /= b;
  check(c, 3, 2);
  c += 1;
  check(c, 4, 2);
  c -= 1.0;
  check(c, 3, 2);
  c *= 2;
  check(c, 6, 4);
  c /= 2.0;
  check(c, 3, 2);
  c = 7.0;  // assignment of a constant
  check(c, 7, 0);

  // Dual<float> mixed with double literals computes in float.
  const DF f(2.0f, 1.0f);
  static_assert(std::is_same_v<decltype(f * 2.0), DF>);
  static_assert(std::is_same_v<decltype(1.5 + f), DF>);
  CHECK((f * 2.0).tangent() == 2.0f);

  // Nested: Dual<Dual<double>> mixes with Dual<double> and with plain numbers.
  const D2 x(D1(2.0, 1.0), D1(1.0, 0.0));
  const D2 y = x * x * D1(3.0) + 1;  // 3 x^2 + 1: values 13, first 12, second 6
  CHECK(y.val().val() == 13);
  CHECK(y.val().tangent() == 12);
  CHECK(y.tangent().val() == 12);
  CHECK(y.tangent().tangent() == 6);
  const D2 z = D1(1.0) / x;  // 1/x: -1/4, 2/8
  CHECK(z.tangent().val() == -0.25);
  CHECK(z.tangent().tangent() == 0.25);
}

TEST_CASE("Dual: comparisons look at the value only", "[dual]") {
  const D1 a(1.0, 5.0), b(1.0, -5.0), c(2.0, 0.0);
  CHECK(a == b);
  CHECK_FALSE(a != b);
  CHECK(a < c);
  CHECK(a <= b);
  CHECK(c > a);
  CHECK(c >= a);
  CHECK(a == 1.0);
  CHECK(1 == a);
  CHECK(a < 2);
  CHECK(3.0 > c);
  CHECK(c >= 2.0f);
  CHECK(0.5 <= a);
  CHECK(a != 2);
  const D2 d(D1(1.0, 1.0), D1(1.0, 0.0));
  CHECK(d == 1.0);
  CHECK(d == D1(1.0, 7.0));
  CHECK(d < D1(1.5));
  // So ordinary branches work: a piecewise function takes the branch of the value.
  const auto relu = [](const D1& x) { return x > 0 ? x : D1(0.0); };
  CHECK(relu(D1(2.0, 3.0)).tangent() == 3);
  CHECK(relu(D1(-2.0, 3.0)).tangent() == 0);
}

TEST_CASE("Dual: every function's tangent against its closed form and central differences", "[dual][functions]") {
  for (const Unary& u : unaries()) {
    for (const Point& p : u.points) {
      const double x = p.x;
      INFO(u.name << " at x = " << std::setprecision(17) << x);
      const D1 y = u.f1(D1(x, 1.0));
      CHECK(y.val() == u.f(x));
      CHECK_DUAL_CLOSE(y.tangent(), u.d1(x), 1e-12);
      if (p.first_difference) CHECK_DUAL_CLOSE(y.tangent(), central_difference(u.f, x, step_for(x, u.relative_step)), 1e-7);
      // Linear in the tangent; a zero tangent stays exactly zero.
      CHECK_DUAL_CLOSE(u.f1(D1(x, -2.5)).tangent(), -2.5 * u.d1(x), 1e-12);
      CHECK(u.f1(D1(x, 0.0)).tangent() == 0);
    }
  }
}

TEST_CASE("Dual<Dual<double>>: second derivatives of every function", "[dual][functions][nested]") {
  for (const Unary& u : unaries()) {
    for (const Point& p : u.points) {
      const double x = p.x;
      INFO(u.name << " at x = " << std::setprecision(17) << x);
      // x + e1 + e2: the e1 and e2 parts are f'(x), the e1 e2 part f''(x).
      const D2 y = u.f2(D2(D1(x, 1.0), D1(1.0, 0.0)));
      CHECK(y.val().val() == u.f(x));
      CHECK_DUAL_CLOSE(y.val().tangent(), u.d1(x), 1e-12);
      CHECK_DUAL_CLOSE(y.tangent().val(), u.d1(x), 1e-12);
      CHECK_DUAL_CLOSE(y.tangent().tangent(), u.d2(x), 1e-11);
      if (p.second_difference && std::isfinite(u.d2(x)))
        CHECK_DUAL_CLOSE(y.tangent().tangent(), central_difference(dual_derivative(u.f1), x, step_for(x, u.relative_step)),
                    1e-6);
      // A constant in the outer level: the inner derivative survives, the rest is zero.
      const D2 inner_only = u.f2(D2(D1(x, 1.0)));
      CHECK_DUAL_CLOSE(inner_only.val().tangent(), u.d1(x), 1e-12);
      CHECK(inner_only.tangent().val() == 0);
      CHECK(inner_only.tangent().tangent() == 0);
    }
  }
}

TEST_CASE("Dual<float>: every function in float", "[dual][functions][float]") {
  for (const Unary& u : unaries()) {
    for (const Point& p : u.points) {
      const float xf = static_cast<float>(p.x);
      const double x = xf;  // the closed form at the float input
      const double d = u.d1(x);
      if (!(std::abs(p.x) < 1e30) || !(std::abs(d) > 1e-30 && std::abs(d) < 1e30)) continue;
      if (!std::isfinite(static_cast<float>(u.f(x))) || (xf == 0 && p.x != 0)) continue;
      INFO(u.name << " at x = " << xf);
      const DF y = u.ff(DF(xf, 1.0f));
      static_assert(std::is_same_v<std::decay_t<decltype(y.tangent())>, float>);
      CHECK(close(y.val(), static_cast<float>(u.f(x)), 1e-6, 1e-7));
      CHECK_DUAL_CLOSE(y.tangent(), d, 2e-5);
    }
  }
}

TEST_CASE("Dual: digamma and trigamma through lgamma", "[dual][functions][nested]") {
  // lgamma' = digamma and lgamma'' = trigamma at the integers 1..40 and half-integers
  // -9.5..39.5 against their closed forms; digamma here is tapegrad's generic one.
  for (int n = 1; n <= 40; ++n) {
    for (const double x : {double(n), n - 0.5, 0.5 - n}) {
      INFO("x = " << x);
      const D2 y = lgamma(D2(D1(x, 1.0), D1(1.0, 0.0)));
      CHECK(close(y.val().tangent(), digamma_ref(x), 1e-13, 1e-15));
      CHECK(close(y.tangent().tangent(), trigamma_ref(x), 1e-12, 1e-15));
    }
  }
  // Away from the special points: psi(x + 1) - psi(x) = 1/x and psi'(x) - psi'(x + 1) = 1/x^2.
  for (const double x : {0.01, 0.3, 1.4616321449683623, 2.7, 9.99, 10.01, 123.4, -0.3, -3.7, -20.2}) {
    INFO("x = " << x);
    const D2 a = lgamma(D2(D1(x, 1.0), D1(1.0, 0.0)));
    const D2 b = lgamma(D2(D1(x + 1, 1.0), D1(1.0, 0.0)));
    CHECK(close(b.val().tangent() - a.val().tangent(), 1 / x, 1e-12, 1e-14));
    CHECK(close(a.tangent().tangent() - b.tangent().tangent(), 1 / (x * x), 1e-11, 1e-14));
  }
}

TEST_CASE("Dual: edge inputs of the exponential family and roots", "[dual][edge]") {
  // NOTE sqrt'(0) = +inf (the mathematics, and PyTorch); a zero tangent stays zero there.
  CHECK(sqrt(D1(0.0, 1.0)).val() == 0);
  CHECK(sqrt(D1(0.0, 1.0)).tangent() == kInf);
  CHECK(sqrt(D1(0.0, -1.0)).tangent() == -kInf);
  CHECK(sqrt(D1(0.0, 0.0)).tangent() == 0);
  CHECK(std::isnan(sqrt(D1(-1.0, 1.0)).val()));
  CHECK(std::isnan(sqrt(D1(-1.0, 1.0)).tangent()));
  // The second derivative there is -inf; the product rule meets 0 * inf and gives nan
  // (IEEE, as for doubles): not finite either way.
  const D2 s0 = sqrt(D2(D1(0.0, 1.0), D1(1.0, 0.0)));
  CHECK(s0.val().tangent() == kInf);
  CHECK_FALSE(std::isfinite(s0.tangent().tangent()));

  CHECK(cbrt(D1(0.0, 1.0)).tangent() == kInf);
  CHECK(cbrt(D1(0.0, 0.0)).tangent() == 0);
  CHECK_DUAL_CLOSE(cbrt(D1(-27.0, 1.0)).tangent(), 1.0 / 27, 1e-15);  // defined for x < 0

  // log: -inf at 0 with tangent +inf; nan value and tangent for x < 0, like std::log.
  CHECK(log(D1(0.0, 1.0)).val() == -kInf);
  CHECK(log(D1(0.0, 1.0)).tangent() == kInf);
  CHECK(log(D1(0.0, 0.0)).tangent() == 0);
  CHECK(std::isnan(log(D1(-1.0, 1.0)).val()));
  CHECK(std::isnan(log(D1(-1.0, 1.0)).tangent()));
  CHECK(log(D1(-1.0, 0.0)).tangent() == 0);
  CHECK(log(D1(kInf, 1.0)).tangent() == 0);
  CHECK(log1p(D1(-1.0, 1.0)).val() == -kInf);
  CHECK(log1p(D1(-1.0, 1.0)).tangent() == kInf);
  CHECK(std::isnan(log1p(D1(-2.0, 1.0)).val()));
  CHECK(std::isnan(log1p(D1(-2.0, 1.0)).tangent()));
  CHECK(log1p(D1(1e-300, 1.0)).tangent() == 1);

  // exp overflows to inf with an inf tangent; a constant stays a constant.
  CHECK(exp(D1(800.0, 1.0)).val() == kInf);
  CHECK(exp(D1(800.0, 1.0)).tangent() == kInf);
  CHECK(exp(D1(800.0, 0.0)).tangent() == 0);
  CHECK(exp(D1(-800.0, 1.0)).tangent() == 0);
  CHECK(exp(D1(-kInf, 1.0)).tangent() == 0);
  // expm1 keeps the derivative exp(x) where expm1(x) + 1 would round to 0.
  CHECK_DUAL_CLOSE(expm1(D1(-40.0, 1.0)).tangent(), std::exp(-40.0), 1e-15);
  CHECK_DUAL_CLOSE(expm1(D1(-700.0, 1.0)).tangent(), std::exp(-700.0), 1e-15);
  CHECK(expm1(D1(1e-300, 1.0)).tangent() == 1);
}

TEST_CASE("Dual: edge inputs of the trigonometric and hyperbolic functions", "[dual][edge]") {
  // asin/acos: +-inf at the ends of the domain, nan outside it.
  CHECK(asin(D1(1.0, 1.0)).val() == Approx(kPi / 2));
  CHECK(asin(D1(1.0, 1.0)).tangent() == kInf);
  CHECK(asin(D1(-1.0, 1.0)).tangent() == kInf);
  CHECK(acos(D1(1.0, 1.0)).tangent() == -kInf);
  CHECK(acos(D1(-1.0, 1.0)).tangent() == -kInf);
  CHECK(asin(D1(1.0, 0.0)).tangent() == 0);
  CHECK(std::isnan(asin(D1(1.5, 1.0)).val()));
  CHECK(std::isnan(asin(D1(1.5, 1.0)).tangent()));
  CHECK(std::isnan(acos(D1(-1.5, 1.0)).tangent()));
  // Near the ends the derivative keeps full precision: 1 / sqrt((1 - x)(1 + x)).
  const double near_one = 1 - std::ldexp(1.0, -40);
  CHECK_DUAL_CLOSE(asin(D1(near_one, 1.0)).tangent(), 1 / std::sqrt(std::ldexp(1.0, -40) * (2 - std::ldexp(1.0, -40))),
              1e-15);

  // atan and tanh at large magnitude: the derivative underflows gracefully.
  CHECK_DUAL_CLOSE(atan(D1(1e150, 1.0)).tangent(), 1e-300, 1e-14);
  CHECK(atan(D1(kInf, 1.0)).tangent() == 0);
  CHECK_DUAL_CLOSE(tanh(D1(20.0, 1.0)).tangent(), 4 * std::exp(-40.0) / std::pow(1 + std::exp(-40.0), 2), 1e-14);
  CHECK_DUAL_CLOSE(tanh(D1(-300.0, 1.0)).tangent(), 4 * std::exp(-600.0), 1e-13);
  CHECK(tanh(D1(800.0, 1.0)).tangent() == 0);
  CHECK(tanh(D1(800.0, 1.0)).val() == 1);
  CHECK(cosh(D1(0.0, 1.0)).tangent() == 0);
  CHECK(sinh(D1(800.0, 1.0)).tangent() == kInf);

  // tan at the pole of the double closest to pi/2: huge but finite.
  const D1 t = tan(D1(kPi / 2, 1.0));
  CHECK(std::isfinite(t.tangent()));
  CHECK(t.tangent() > 1e30);

  // erf/erfc: 2/sqrt(pi) at 0; the tail underflows to 0.
  CHECK_DUAL_CLOSE(erf(D1(0.0, 1.0)).tangent(), 2 / std::sqrt(kPi), 1e-15);
  CHECK_DUAL_CLOSE(erfc(D1(0.0, 1.0)).tangent(), -2 / std::sqrt(kPi), 1e-15);
  CHECK(erf(D1(30.0, 1.0)).tangent() == 0);
  CHECK(erfc(D1(-30.0, 1.0)).tangent() == 0);
}

TEST_CASE("Dual: abs, floor, ceil, lgamma and tgamma at their special points", "[dual][edge]") {
  // NOTE abs'(0) = 0 (Stan, PyTorch), for +0 and -0; also at second order.
  CHECK(abs(D1(0.0, 1.0)).tangent() == 0);
  CHECK(abs(D1(-0.0, 1.0)).tangent() == 0);
  CHECK(abs(D1(-0.0, 1.0)).val() == 0);
  CHECK_FALSE(std::signbit(abs(D1(-0.0, 1.0)).val()));
  const D2 a0 = abs(D2(D1(0.0, 1.0), D1(1.0, 0.0)));
  CHECK(a0.val().tangent() == 0);
  CHECK(a0.tangent().val() == 0);
  CHECK(a0.tangent().tangent() == 0);
  CHECK(std::isnan(abs(D1(kNaN, 1.0)).tangent()));
  CHECK(fabs(D1(-3.0, 2.0)).tangent() == -2);

  // NOTE floor and ceil: tangent 0 everywhere, also at the jumps.
  CHECK(floor(D1(3.0, 1.0)).tangent() == 0);
  CHECK(floor(D1(3.0, 1.0)).val() == 3);
  CHECK(floor(D1(-2.5, 1.0)).val() == -3);
  CHECK(ceil(D1(3.0, 1.0)).tangent() == 0);
  CHECK(ceil(D1(-2.5, 1.0)).val() == -2);
  const D2 f2 = floor(D2(D1(2.5, 1.0), D1(1.0, 0.0)));
  CHECK(f2.val().tangent() == 0);
  CHECK(f2.tangent().tangent() == 0);

  // lgamma at its poles: +inf; digamma is -inf at +0 and nan at the negative integers
  // (as PyTorch's digamma).
  CHECK(lgamma(D1(0.0, 1.0)).val() == kInf);
  CHECK(lgamma(D1(0.0, 1.0)).tangent() == -kInf);
  CHECK(lgamma(D1(-2.0, 1.0)).val() == kInf);
  CHECK(std::isnan(lgamma(D1(-2.0, 1.0)).tangent()));
  CHECK(lgamma(D1(-2.0, 0.0)).tangent() == 0);
  CHECK(std::isnan(lgamma(D1(-kInf, 1.0)).tangent()));
  CHECK(lgamma(D1(kInf, 1.0)).tangent() == kInf);
  CHECK(std::isnan(lgamma(D1(kNaN, 1.0)).tangent()));
  // Large and tiny arguments.
  CHECK_DUAL_CLOSE(lgamma(D1(1e300, 1.0)).tangent(), std::log(1e300), 1e-15);
  CHECK_DUAL_CLOSE(lgamma(D1(1e-300, 1.0)).tangent(), -1e300, 1e-15);  // -1/x - gamma + ...
  // tgamma: the value overflows past 171.6, with it the tangent.
  CHECK(tgamma(D1(200.0, 1.0)).tangent() == kInf);
  CHECK_DUAL_CLOSE(tgamma(D1(-0.5, 1.0)).tangent(), -2 * std::sqrt(kPi) * digamma_ref(-0.5), 1e-14);
}

TEST_CASE("Dual: pow with every argument mix", "[dual][pow]") {
  const double x = 1.7, y = -2.3;
  const double r = std::pow(x, y), dx = y * std::pow(x, y - 1), dy = r * std::log(x);
  // Dual ^ Dual
  const D1 both = pow(D1(x, 0.5), D1(y, -2.0));
  CHECK(both.val() == r);
  CHECK_DUAL_CLOSE(both.tangent(), 0.5 * dx - 2.0 * dy, 1e-14);
  CHECK_DUAL_CLOSE(pow(D1(x, 1.0), D1(y)).tangent(), dx, 1e-14);
  CHECK_DUAL_CLOSE(pow(D1(x), D1(y, 1.0)).tangent(), dy, 1e-14);
  // Dual ^ number and number ^ Dual, double, float and int
  CHECK_DUAL_CLOSE(pow(D1(x, 1.0), y).tangent(), dx, 1e-14);
  CHECK_DUAL_CLOSE(pow(x, D1(y, 1.0)).tangent(), dy, 1e-14);
  CHECK_DUAL_CLOSE(pow(D1(x, 1.0), 3).tangent(), 3 * x * x, 1e-14);
  CHECK_DUAL_CLOSE(pow(2, D1(y, 1.0)).tangent(), std::pow(2.0, y) * std::log(2.0), 1e-14);
  CHECK_DUAL_CLOSE(pow(D1(x, 1.0), 0.5f).tangent(), 0.5 / std::sqrt(x), 1e-7);  // 0.5f is exact
  CHECK_DUAL_CLOSE(pow(D1(x, 1.0), -1).tangent(), -1 / (x * x), 1e-14);
  CHECK(pow(D1(x, 1.0), 1).tangent() == 1);
  // Against central differences in each argument.
  const auto f = [](double a, double b) { return std::pow(a, b); };
  CHECK_DUAL_CLOSE(dx, central_difference([&](double a) { return f(a, y); }, x, 0x1p-12), 1e-8);
  CHECK_DUAL_CLOSE(dy, central_difference([&](double b) { return f(x, b); }, y, 0x1p-12), 1e-8);

  // Negative base, integer exponent: d/dx is finite, d/dy is nan (log of a negative).
  const D1 neg = pow(D1(-2.0, 1.0), D1(3.0));
  CHECK(neg.val() == -8);
  CHECK(neg.tangent() == 12);
  CHECK(std::isnan(pow(D1(-2.0), D1(3.0, 1.0)).tangent()));
  CHECK(std::isnan(pow(-2.0, D1(3.0, 1.0)).tangent()));

  // NOTE zero base (as PyTorch): d/dx 0^y = 0 at y = 0, and d/dy 0^y = 0 for y >= 0.
  CHECK(pow(D1(0.0, 1.0), D1(0.0)).val() == 1);
  CHECK(pow(D1(0.0, 1.0), D1(0.0)).tangent() == 0);
  CHECK(pow(D1(0.0, 1.0), 0.0).tangent() == 0);
  CHECK(pow(D1(0.0), D1(0.0, 1.0)).tangent() == 0);
  CHECK(pow(D1(0.0), D1(2.5, 1.0)).tangent() == 0);
  CHECK(pow(0.0, D1(2.5, 1.0)).tangent() == 0);
  CHECK(pow(0.0, D1(0.0, 1.0)).tangent() == 0);
  CHECK(pow(0.0, D1(-1.0, 1.0)).val() == kInf);  // 0^y for y < 0: no convention needed
  CHECK(pow(D1(0.0, 1.0), 2.0).tangent() == 0);
  CHECK(pow(D1(0.0, 1.0), 1.0).tangent() == 1);
  CHECK(pow(D1(0.0, 1.0), 0.5).tangent() == kInf);
  CHECK(pow(D1(0.0, 0.0), 0.5).tangent() == 0);  // a zero tangent stays zero
  CHECK(pow(D1(0.0, 1.0), D1(2.0, 1.0)).tangent() == 0);

  // Second derivatives: d2/dx2 x^y = y (y-1) x^(y-2), d2/dy2 = x^y log(x)^2,
  // d2/dxdy = x^(y-1) (1 + y log x).
  const D2 xx = pow(D2(D1(x, 1.0), D1(1.0, 0.0)), D2(D1(y)));
  CHECK_DUAL_CLOSE(xx.tangent().tangent(), y * (y - 1) * std::pow(x, y - 2), 1e-13);
  const D2 yy = pow(D2(D1(x)), D2(D1(y, 1.0), D1(1.0, 0.0)));
  CHECK_DUAL_CLOSE(yy.tangent().tangent(), r * std::log(x) * std::log(x), 1e-13);
  const D2 xy = pow(D2(D1(x, 1.0)), D2(D1(y), D1(1.0, 0.0)));  // e1 on x, e2 on y
  CHECK_DUAL_CLOSE(xy.tangent().tangent(), std::pow(x, y - 1) * (1 + y * std::log(x)), 1e-13);
  // Mixed nesting: Dual<Dual> ^ Dual<double> and number ^ Dual<Dual>.
  const D2 mixed = pow(D2(D1(x, 1.0), D1(1.0, 0.0)), D1(y));
  CHECK_DUAL_CLOSE(mixed.tangent().tangent(), y * (y - 1) * std::pow(x, y - 2), 1e-13);
  const D2 base = pow(2.0, D2(D1(y, 1.0), D1(1.0, 0.0)));
  CHECK_DUAL_CLOSE(base.tangent().tangent(), std::pow(2.0, y) * std::log(2.0) * std::log(2.0), 1e-13);
  // Large magnitude.
  CHECK_DUAL_CLOSE(pow(D1(1e100, 1.0), 2.5).tangent(), 2.5 * std::pow(1e100, 1.5), 1e-14);
  CHECK_DUAL_CLOSE(pow(D1(1e-100, 1.0), 0.5).tangent(), 0.5e50, 1e-14);
}

TEST_CASE("Dual: atan2 and hypot", "[dual][binary]") {
  const double y = 1.3, x = -0.4, r2 = x * x + y * y;
  // d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)
  CHECK_DUAL_CLOSE(atan2(D1(y, 1.0), D1(x)).tangent(), x / r2, 1e-14);
  CHECK_DUAL_CLOSE(atan2(D1(y), D1(x, 1.0)).tangent(), -y / r2, 1e-14);
  CHECK_DUAL_CLOSE(atan2(D1(y, 1.0), x).tangent(), x / r2, 1e-14);
  CHECK_DUAL_CLOSE(atan2(y, D1(x, 1.0)).tangent(), -y / r2, 1e-14);
  CHECK(atan2(D1(y, 1.0), D1(x)).val() == std::atan2(y, x));
  CHECK_DUAL_CLOSE(x / r2, central_difference([&](double b) { return std::atan2(b, x); }, y, 0x1p-12), 1e-9);
  CHECK_DUAL_CLOSE(-y / r2, central_difference([&](double a) { return std::atan2(y, a); }, x, 0x1p-12), 1e-9);
  // No overflow or underflow at extreme magnitudes.
  CHECK_DUAL_CLOSE(atan2(D1(1e200, 1.0), D1(1e200)).tangent(), 0.5e-200, 1e-14);
  CHECK_DUAL_CLOSE(atan2(D1(1e-200, 1.0), D1(1e-200)).tangent(), 0.5e200, 1e-14);
  // NOTE the origin: nan (atan2 jumps there), zero tangents stay zero.
  CHECK(std::isnan(atan2(D1(0.0, 1.0), D1(0.0)).tangent()));
  CHECK(atan2(D1(0.0), D1(0.0)).tangent() == 0);
  // Second order: d2/dy2 atan2(y, x) = -2 x y / r^4.
  const D2 a2 = atan2(D2(D1(y, 1.0), D1(1.0, 0.0)), D2(D1(x)));
  CHECK_DUAL_CLOSE(a2.tangent().tangent(), -2 * x * y / (r2 * r2), 1e-13);

  // d hypot(x, y) = (x dx + y dy) / hypot(x, y)
  CHECK_DUAL_CLOSE(hypot(D1(3.0, 1.0), D1(4.0)).tangent(), 0.6, 1e-15);
  CHECK_DUAL_CLOSE(hypot(D1(3.0), D1(4.0, 1.0)).tangent(), 0.8, 1e-15);
  CHECK_DUAL_CLOSE(hypot(D1(3.0, 1.0), 4.0).tangent(), 0.6, 1e-15);
  CHECK_DUAL_CLOSE(hypot(3, D1(-4.0, 1.0)).tangent(), -0.8, 1e-15);
  CHECK_DUAL_CLOSE(hypot(D1(1e300, 1.0), D1(1e300)).tangent(), std::sqrt(0.5), 1e-15);
  CHECK_DUAL_CLOSE(hypot(D1(1e-300, 1.0), D1(1e-300)).tangent(), std::sqrt(0.5), 1e-15);
  // NOTE the origin: nan (0/0, as PyTorch's hypot and tg::Var), zero tangents stay zero.
  CHECK(std::isnan(hypot(D1(0.0, 1.0), D1(0.0)).tangent()));
  CHECK(hypot(D1(0.0), D1(0.0)).tangent() == 0);
  // Second order: d2/dx2 hypot = y^2 / h^3.
  const D2 h2 = hypot(D2(D1(3.0, 1.0), D1(1.0, 0.0)), D2(D1(4.0)));
  CHECK_DUAL_CLOSE(h2.tangent().tangent(), 16.0 / 125, 1e-14);
}

TEST_CASE("Dual: fmin and fmax", "[dual][binary]") {
  const D1 a(1.0, 10.0), b(2.0, 20.0), tie(1.0, 30.0), nan(kNaN, 40.0);
  CHECK(fmax(a, b).tangent() == 20);
  CHECK(fmax(b, a).tangent() == 20);
  CHECK(fmin(a, b).tangent() == 10);
  CHECK(fmin(b, a).tangent() == 10);
  // NOTE ties: the first argument's tangent (as PyTorch's fmax backward and tg::Var).
  CHECK(fmax(a, tie).tangent() == 10);
  CHECK(fmax(tie, a).tangent() == 30);
  CHECK(fmin(a, tie).tangent() == 10);
  CHECK(fmin(tie, a).tangent() == 30);
  // A nan argument is ignored, as std::fmax.
  CHECK(fmax(nan, a).tangent() == 10);
  CHECK(fmax(a, nan).tangent() == 10);
  CHECK(fmin(nan, b).tangent() == 20);
  CHECK(fmin(b, nan).val() == 2);
  CHECK(std::isnan(fmax(nan, nan).val()));
  // With plain numbers: the number wins with tangent 0.
  CHECK(fmax(a, 5.0).val() == 5);
  CHECK(fmax(a, 5.0).tangent() == 0);
  CHECK(fmax(0, a).tangent() == 10);
  CHECK(fmin(a, 5.0f).tangent() == 10);
  CHECK(fmin(-1, a).tangent() == 0);
}

TEST_CASE("Dual: numeric_limits and classification", "[dual][limits]") {
  using L = std::numeric_limits<D1>;
  static_assert(L::is_specialized);
  static_assert(L::digits == std::numeric_limits<double>::digits);
  CHECK(L::epsilon().val() == std::numeric_limits<double>::epsilon());
  CHECK(L::epsilon().tangent() == 0);
  CHECK(L::max().val() == std::numeric_limits<double>::max());
  CHECK(L::lowest().val() == std::numeric_limits<double>::lowest());
  CHECK(L::infinity().val() == kInf);
  CHECK(std::isnan(L::quiet_NaN().val()));
  CHECK(std::numeric_limits<D2>::epsilon().val().val() == std::numeric_limits<double>::epsilon());
  CHECK(std::numeric_limits<DF>::max().val() == std::numeric_limits<float>::max());
  static_assert(std::numeric_limits<D1>::epsilon().val() == std::numeric_limits<double>::epsilon());  // constexpr

  // On the value: a finite value with an infinite tangent is finite.
  const D1 finite(1.0, kInf), inf(kInf, 0.0), nan(kNaN, 1.0);
  CHECK(std::isfinite(finite));
  CHECK_FALSE(std::isinf(finite));
  CHECK(std::isinf(inf));
  CHECK(std::isinf(-inf));
  CHECK_FALSE(std::isfinite(inf));
  CHECK(std::isnan(nan));
  CHECK_FALSE(std::isnan(finite));
  // Found by argument-dependent lookup, qualified, and with `using std::isnan` (as Eigen does).
  CHECK(isnan(nan));
  CHECK(tg::isnan(nan));
  CHECK(tg::isfinite(finite));
  CHECK(tg::isinf(inf));
  {
    using std::isfinite;
    using std::isnan;
    CHECK(isnan(nan));
    CHECK(isfinite(finite));
  }
  const D2 nested_nan(D1(kNaN, 0.0));
  CHECK(std::isnan(nested_nan));
  CHECK(isinf(D2(D1(-kInf))));
  CHECK(std::isfinite(DF(1.0f, 2.0f)));
}

TEST_CASE("Dual: Eigen matrices of Duals", "[dual][eigen]") {
  using VecD = Eigen::Matrix<D1, Eigen::Dynamic, 1>;
  using MatD = Eigen::Matrix<D1, Eigen::Dynamic, Eigen::Dynamic>;
  Eigen::MatrixXd A(3, 3);
  A << 4, 1, -2, 1, 5, 0.5, -2, 0.5, 6;
  Eigen::VectorXd x(3), v(3);
  x << 1, -2, 0.5;
  v << 0.3, 1, -1;
  VecD xd(3);
  for (int i = 0; i < 3; ++i) xd(i) = D1(x(i), v(i));

  // A matrix-vector product: the tangent of A x along v is A v.
  const VecD mixed = A * xd;  // plain double matrix times Dual vector
  const VecD promoted = A.cast<D1>() * xd;
  const Eigen::VectorXd Ax = A * x, Av = A * v;
  for (int i = 0; i < 3; ++i) {
    CHECK_DUAL_CLOSE(mixed(i).val(), Ax(i), 1e-15);
    CHECK_DUAL_CLOSE(mixed(i).tangent(), Av(i), 1e-15);
    CHECK_DUAL_CLOSE(promoted(i).tangent(), Av(i), 1e-15);
  }
  const VecD scaled = xd * 2.0 + 3 * xd - xd / 4.0;
  CHECK_DUAL_CLOSE(scaled(1).tangent(), 4.75 * v(1), 1e-15);

  // Reductions and norm: d (x . x) = 2 x . v, d |x| = x . v / |x|.
  CHECK_DUAL_CLOSE(xd.squaredNorm().tangent(), 2 * x.dot(v), 1e-15);
  CHECK_DUAL_CLOSE(xd.norm().tangent(), x.dot(v) / x.norm(), 1e-15);
  CHECK_DUAL_CLOSE(xd.sum().tangent(), v.sum(), 1e-15);
  CHECK_DUAL_CLOSE(xd.prod().tangent(), v(0) * x(1) * x(2) + x(0) * v(1) * x(2) + x(0) * x(1) * v(2), 1e-15);
  CHECK(xd.maxCoeff().val() == 1);
  CHECK(xd.allFinite());
  CHECK_FALSE(xd.hasNaN());

  // Decompositions on generic scalars: d(A^-1 b) = -A^-1 dA A^-1 b, d det A = det A tr(A^-1 dA).
  Eigen::MatrixXd dA(3, 3);
  dA << 0.1, -0.2, 0.3, 0.0, 0.5, -0.1, 0.2, 0.1, -0.4;
  dA = (dA + dA.transpose()).eval();  // symmetric, so LLT and LDLT apply
  MatD Ad(3, 3);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) Ad(i, j) = D1(A(i, j), dA(i, j));
  const VecD bd = x.cast<D1>();
  const Eigen::VectorXd sol = A.lu().solve(x);
  const Eigen::VectorXd dsol = -A.lu().solve(dA * sol);
  const VecD lu = Ad.partialPivLu().solve(bd);
  const VecD llt = Ad.llt().solve(bd);
  const VecD ldlt = Ad.ldlt().solve(bd);
  for (int i = 0; i < 3; ++i) {
    CHECK_DUAL_CLOSE(lu(i).val(), sol(i), 1e-13);
    CHECK_DUAL_CLOSE(lu(i).tangent(), dsol(i), 1e-12);
    CHECK_DUAL_CLOSE(llt(i).tangent(), dsol(i), 1e-12);
    CHECK_DUAL_CLOSE(ldlt(i).tangent(), dsol(i), 1e-12);
  }
  CHECK_DUAL_CLOSE(Ad.determinant().tangent(), A.determinant() * (A.inverse() * dA).trace(), 1e-12);

  // Nested: the second derivative of x' A x along v is 2 v' A v.
  using VecD2 = Eigen::Matrix<D2, Eigen::Dynamic, 1>;
  VecD2 x2(3);
  for (int i = 0; i < 3; ++i) x2(i) = D2(D1(x(i), v(i)), D1(v(i), 0.0));
  const D2 quad = x2.dot(A.cast<D2>() * x2);
  CHECK_DUAL_CLOSE(quad.tangent().tangent(), 2 * v.dot(A * v), 1e-14);
  CHECK_DUAL_CLOSE(quad.val().tangent(), 2 * x.dot(A * v), 1e-14);

  // Eigen's printing goes through operator<< of the scalar.
  std::ostringstream os;
  os << VecD::Constant(2, D1(1.0, 2.0)).transpose();
  CHECK(os.str().find("Dual(1, 2)") != std::string::npos);
}

}  // namespace scalar_dual_test
