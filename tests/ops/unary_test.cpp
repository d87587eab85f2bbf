#include "test_util.hpp"

#include <cmath>
#include <cstring>
#include <random>
#include <limits>
#include <string>

namespace ops_unary_test {

// exp, log, sqrt, abs, sign, sin, cos, tanh, sigmoid, relu.

namespace {

// x.grad() after (f(x) * upstream).sum().backward(), i.e. upstream * f'(x).
template <typename F>
Tensor grad_of(F f, const std::vector<double>& x_values) {
  auto x = values(x_values, {static_cast<std::int64_t>(x_values.size())}, true);
  f(x).sum().backward();
  return x.grad();
}

const double kPi = 3.14159265358979323846;
const double kE = 2.71828182845904523536;
const double kInfinity = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("exp", "[unary][exp]") {
  auto x = values({0, 1, -1, 2}, {4}, true);
  auto y = tg::exp(x);
  require_values(y, {1, kE, 1 / kE, kE * kE}, 1e-12);
  CHECK(grad_fn_name(y) == "ExpBackward0");
  CHECK(grad_fn_name(x.exp()) == "ExpBackward0");
  CHECK(tg::exp(tg::scalar_tensor<double>(0.0)).item() == 1.0);
  y.sum().backward();
  require_values(x.grad(), {1, kE, 1 / kE, kE * kE}, 1e-12);

  CHECK(tg::exp(values({-800}, {1})).item() == 0.0);  // underflows to 0
  // Also on the vectorised path (Eigen 3.4.0's packet exp returns 5.6e-309 there): exact
  // zeros for -inf and far below, exact subnormals between.
  require_values(tg::exp(values({-kInfinity, -1e10, -1000, -745.2, -800, -710, -709, -700}, {8})),
                 {0, 0, 0, std::exp(-745.2), 0, std::exp(-710.0), std::exp(-709.0), std::exp(-700.0)}, 0);
  CHECK(tg::exp(values({-710, -710, -710, -710}, {4})).at({3}) == std::exp(-710.0));
  CHECK(tg::exp(tg::full<float>({8}, -100.0f)).at({7}) == std::exp(-100.0f));
  CHECK(tg::exp(tg::full<float>({8}, -std::numeric_limits<float>::infinity())).at({7}) == 0.0f);
  CHECK(std::isinf(tg::exp(values({800}, {1})).item()));

  tg::Generator gen(11);
  const auto f = [](const Tensor& t) { return tg::exp(t); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-30, -5, 0, 5, 30}, {5})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("log", "[unary][log]") {
  auto x = values({1, kE, 0.5, 100}, {4}, true);
  auto y = tg::log(x);
  require_values(y, {0, 1, -std::log(2.0), 2 * std::log(10.0)}, 1e-12);
  CHECK(grad_fn_name(y) == "LogBackward0");
  CHECK(grad_fn_name(x.log()) == "LogBackward0");
  y.sum().backward();
  require_values(x.grad(), {1, 1 / kE, 2, 0.01}, 1e-12);

  // Outside the domain: log 0 = -inf with gradient +inf, log of a negative is nan.
  auto z = values({0, -1}, {2});
  CHECK(tg::log(z).at({0}) == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(tg::log(z).at({1})));
  auto g0 = grad_of([](const Tensor& t) { return tg::log(t); }, {0});
  CHECK(g0.item() == std::numeric_limits<double>::infinity());

  tg::Generator gen(12);
  const auto f = [](const Tensor& t) { return t.log(); };
  for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen), values({1e-3, 1, 1e3}, {3})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("sqrt", "[unary][sqrt]") {
  auto x = values({4, 2.25, 0.01, 2}, {4}, true);
  auto y = tg::sqrt(x);
  require_values(y, {2, 1.5, 0.1, std::sqrt(2.0)}, 1e-12);
  CHECK(grad_fn_name(y) == "SqrtBackward0");
  CHECK(grad_fn_name(x.sqrt()) == "SqrtBackward0");
  y.sum().backward();
  require_values(x.grad(), {0.25, 1 / 3.0, 5, 0.5 / std::sqrt(2.0)}, 1e-12);  // 1 / (2 sqrt x)

  // sqrt(0) = 0 with an infinite gradient, as in PyTorch; negatives give nan.
  CHECK(tg::sqrt(values({0}, {1})).item() == 0.0);
  CHECK(std::isnan(tg::sqrt(values({-1}, {1})).item()));
  auto g0 = grad_of([](const Tensor& t) { return tg::sqrt(t); }, {0});
  CHECK(g0.item() == std::numeric_limits<double>::infinity());

  tg::Generator gen(13);
  const auto f = [](const Tensor& t) { return t.sqrt(); };
  for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen), values({1e-2, 1, 1e4}, {3})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("abs", "[unary][abs]") {
  auto x = values({-2, 0, 3.5, -0.25}, {4}, true);
  auto y = tg::abs(x);
  require_values(y, {2, 0, 3.5, 0.25});
  CHECK(grad_fn_name(y) == "AbsBackward0");
  CHECK(grad_fn_name(x.abs()) == "AbsBackward0");
  // NOTE: abs'(0) = 0, PyTorch's subgradient.
  y.sum().backward();
  require_values(x.grad(), {-1, 0, 1, -1});

  tg::Generator gen(14);
  const auto f = [](const Tensor& t) { return t.abs(); };
  for (const Tensor& in : {away_from_zero({2, 3}, gen), away_from_zero({}, gen), values({-30, 30}, {2})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("sign", "[unary][sign]") {
  auto x = values({-2, 0, 3.5, -0.0, 1e-300}, {5}, true);
  auto y = tg::sign(x);
  require_values(y, {-1, 0, 1, 0, 1});
  CHECK(grad_fn_name(y) == "SignBackward0");
  CHECK(grad_fn_name(x.sign()) == "SignBackward0");
  CHECK(tg::sign(tg::scalar_tensor<double>(-7.0)).item() == -1.0);
  // Piecewise constant: the gradient is 0 everywhere, also at the jump.
  y.sum().backward();
  require_values(x.grad(), {0, 0, 0, 0, 0});
  // Zeros, not g * 0: an infinite upstream gradient gives 0 (PyTorch too), not nan.
  auto w = values({1, -2}, {2}, true);
  tg::sign(w).backward(values({std::numeric_limits<double>::infinity(), 1}, {2}));
  require_values(w.grad(), {0, 0});

  // Away from 0 the numerical derivative is 0 too. sign has no useful second
  // derivative to check (its backward does not depend on x).
  tg::Generator gen(15);
  const auto f = [](const Tensor& t) { return t.sign(); };
  CHECK_GRAD(f, away_from_zero({2, 3}, gen));
  CHECK_GRAD(f, away_from_zero({}, gen));
}

TEST_CASE("sin and cos", "[unary][sin][cos]") {
  auto x = values({0, kPi / 2, kPi, -kPi / 6}, {4}, true);
  auto s = tg::sin(x);
  require_values(s, {0, 1, 0, -0.5}, 1e-12);
  CHECK(grad_fn_name(s) == "SinBackward0");
  auto c = x.cos();
  require_values(c, {1, 0, -1, std::sqrt(3.0) / 2}, 1e-12);
  CHECK(grad_fn_name(c) == "CosBackward0");
  CHECK(grad_fn_name(x.sin()) == "SinBackward0");
  CHECK(grad_fn_name(tg::cos(x)) == "CosBackward0");

  (s + c * 2).sum().backward();  // cos x - 2 sin x
  require_values(x.grad(), {1, -2, -1, std::sqrt(3.0) / 2 + 1}, 1e-12);

  tg::Generator gen(16);
  const auto fs = [](const Tensor& t) { return tg::sin(t); };
  const auto fc = [](const Tensor& t) { return tg::cos(t); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-30, 0, 30}, {3})}) {
    CHECK_GRAD(fs, in);
    CHECK_GRAD(fc, in);
    CHECK_GRADGRAD(fs, in);
    CHECK_GRADGRAD(fc, in);
  }
}

TEST_CASE("tanh", "[unary][tanh]") {
  auto x = values({0, 0.5, -0.5, 30, -30}, {5}, true);
  auto y = tg::tanh(x);
  const double t5 = 0.46211715726000974;  // tanh(0.5)
  require_values(y, {0, t5, -t5, 1, -1}, 1e-15);
  CHECK(grad_fn_name(y) == "TanhBackward0");
  CHECK(grad_fn_name(x.tanh()) == "TanhBackward0");
  y.sum().backward();
  require_values(x.grad(), {1, 1 - t5 * t5, 1 - t5 * t5, 0, 0}, 1e-15);  // 1 - tanh^2, saturated at +-30
  for (double v : x.grad().to_vector()) CHECK_FALSE(std::isnan(v));
  // The gradient is one recorded op of g and y: d/dx of g (1 - y^2) with g = 1 is
  // -2 y (1 - y^2), and the third derivative comes from differentiating that again.
  auto xs = values({0.5, -1.25}, {2}, true);
  auto first = tg::grad(std::vector<Tensor>{tg::tanh(xs).sum()}, std::vector<Tensor>{xs}, {}, true, true)[0];
  CHECK(grad_fn_name(first) == "TanhBackwardBackward0");
  auto second = tg::grad(std::vector<Tensor>{first.sum()}, std::vector<Tensor>{xs}, {}, true, true)[0];
  const double ya = std::tanh(0.5), yb = std::tanh(-1.25);
  require_values(second, {-2 * ya * (1 - ya * ya), -2 * yb * (1 - yb * yb)}, 1e-15);
  second.sum().backward();  // d/dx -2 y (1 - y^2) = (6 y^2 - 2)(1 - y^2)
  require_values(xs.grad(), {(6 * ya * ya - 2) * (1 - ya * ya), (6 * yb * yb - 2) * (1 - yb * yb)}, 1e-14);

  tg::Generator gen(17);
  const auto f = [](const Tensor& t) { return t.tanh(); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-30, -3, 3, 30}, {4})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

namespace {

// Distance in units in the last place between two doubles of the same sign.
std::int64_t ulps_apart(double a, double b) {
  if (a == b) return 0;
  std::int64_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, sizeof a);
  std::memcpy(&ib, &b, sizeof b);
  if ((ia < 0) != (ib < 0)) return std::numeric_limits<std::int64_t>::max();
  return ia > ib ? ia - ib : ib - ia;
}

// Inputs for tanh: both formulas and the switch between them at |x| = 0.625, tiny and
// subnormal values, the saturated range, and magnitudes from 2^-30 to 2^5 in both signs.
std::vector<double> tanh_inputs() {
  std::vector<double> xs = {0.0, -0.0, 0.625, -0.625, std::nextafter(0.625, 1.0), 19.9, 20.0, 20.1, 1e-300,
                            4.9e-324, -4.9e-324, 710.0, -1e308};
  for (double v = -25; v < 25; v += 0.00123) xs.push_back(v);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> exponent(-30, 5);
  for (int i = 0; i < 20000; ++i) xs.push_back((i % 2 ? 1 : -1) * std::pow(2.0, exponent(rng)));
  xs.push_back(0.3);  // an odd count, so the last partial packet is exercised
  return xs;
}

}  // namespace

TEST_CASE("tanh for double in packets: within 2 ulp of std::tanh", "[unary][tanh]") {
  // tanh_packets runs whatever the build's flags (SSE2 packets here); tg::tanh uses it
  // from AVX on and std::tanh below that.
  const std::vector<double> xs = tanh_inputs();
  std::vector<double> out(xs.size());
  tg::detail::ew::tanh_packets(xs.data(), out.data(), static_cast<std::int64_t>(xs.size()));
  std::int64_t worst = 0;
  double worst_x = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::int64_t d = ulps_apart(out[i], std::tanh(xs[i]));
    if (d > worst) worst = d, worst_x = xs[i];
  }
  INFO("worst input " << worst_x);
  CHECK(worst <= 2);
  CHECK(worst > 0);  // not std::tanh itself: the test would prove nothing about the packets

  // -0 keeps its sign, +-inf saturate, nan propagates; each length up to two packets
  // (tails of every size) agrees with the long run.
  const double specials[] = {kInfinity, -kInfinity, std::numeric_limits<double>::quiet_NaN(), -0.0, 0.0};
  double special_out[5];
  tg::detail::ew::tanh_packets(specials, special_out, 5);
  CHECK(special_out[0] == 1.0);
  CHECK(special_out[1] == -1.0);
  CHECK(std::isnan(special_out[2]));
  CHECK((special_out[3] == 0.0 && std::signbit(special_out[3])));
  CHECK((special_out[4] == 0.0 && !std::signbit(special_out[4])));
  for (std::int64_t n = 1; n <= 17; ++n) {
    std::vector<double> part(static_cast<std::size_t>(n), -1.0);
    tg::detail::ew::tanh_packets(xs.data() + 100, part.data(), n);
    for (std::int64_t i = 0; i < n; ++i) CHECK(part[i] == out[100 + i]);
  }
  // In place (out == x): each packet is loaded before it is stored.
  std::vector<double> in_place(xs.begin(), xs.begin() + 37);
  tg::detail::ew::tanh_packets(in_place.data(), in_place.data(), 37);
  for (std::size_t i = 0; i < in_place.size(); ++i) CHECK(in_place[i] == out[i]);

  // The op itself, on whichever path this build takes.
  const Tensor y = tg::tanh(values(xs, {static_cast<std::int64_t>(xs.size())}));
  const std::vector<double> ys = y.to_vector();
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (ulps_apart(ys[i], std::tanh(xs[i])) > 2) FAIL("tg::tanh(" << xs[i] << ") = " << ys[i]);
}

TEST_CASE("sigmoid", "[unary][sigmoid]") {
  auto x = values({0, 2, -2, 30, -30}, {5}, true);
  auto y = tg::sigmoid(x);
  const double s2 = 1 / (1 + std::exp(-2.0));    // 0.8807970779778823
  const double s30 = 9.357622968839299e-14;  // sigmoid(-30)
  CHECK(s2 == Approx(0.8807970779778823).epsilon(1e-15));
  require_values(y, {0.5, s2, 1 - s2, 1 - s30, s30}, 1e-15);
  CHECK(y.at({4}) == Approx(s30).epsilon(1e-12));  // tiny but not flushed to 0
  CHECK(grad_fn_name(y) == "SigmoidBackward0");
  CHECK(grad_fn_name(x.sigmoid()) == "SigmoidBackward0");
  y.sum().backward();
  const auto g = x.grad();
  require_values(g, {0.25, s2 * (1 - s2), s2 * (1 - s2), s30, s30}, 1e-15);
  CHECK(g.at({4}) == Approx(s30).epsilon(1e-6));

  // Far into the tails: exactly 0 and 1, no nan in value or gradient.
  auto far = values({-1000, 1000}, {2}, true);
  auto yf = far.sigmoid();
  require_values(yf, {0, 1}, 0);
  yf.sum().backward();
  require_values(far.grad(), {0, 0}, 0);

  tg::Generator gen(18);
  const auto f = [](const Tensor& t) { return tg::sigmoid(t); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-30, -4, 4, 30}, {4})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("relu", "[unary][relu]") {
  auto x = values({-2, 0, 3, -0.5, 0.25}, {5}, true);
  auto y = tg::relu(x);
  require_values(y, {0, 0, 3, 0, 0.25});
  CHECK(grad_fn_name(y) == "ReluBackward0");
  CHECK(grad_fn_name(x.relu()) == "ReluBackward0");
  // NOTE: relu'(0) = 0, as in PyTorch.
  (y * 2).sum().backward();
  require_values(x.grad(), {0, 0, 2, 0, 2});
  // The gradient is selected, not multiplied by a 0/1 mask: an infinite or nan upstream
  // gradient gives 0 where x <= 0 (PyTorch's threshold_backward), not nan.
  auto xi = values({-1, 0, 2, 4}, {4}, true);
  tg::relu(xi).backward(values({INFINITY, NAN, INFINITY, 3}, {4}));
  const std::vector<double> gi = xi.grad().to_vector();
  CHECK(gi[0] == 0.0);
  CHECK(gi[1] == 0.0);
  CHECK(gi[2] == INFINITY);
  CHECK(gi[3] == 3.0);
  // Under create_graph the gradient is itself recorded, linear in g.
  auto xg = values({-1, 2}, {2}, true);
  auto gr = tg::grad(std::vector<Tensor>{tg::relu(xg).pow(2.0).sum()}, std::vector<Tensor>{xg}, {}, true, true);
  require_values(gr[0], {0, 4});  // 2 relu(x) [x > 0]
  CHECK(grad_fn_name(gr[0]) == "ThresholdBackwardBackward0");
  gr[0].sum().backward();
  require_values(xg.grad(), {0, 2});  // d/dx 2 relu(x) [x > 0] = 2 [x > 0]

  tg::Generator gen(19);
  const auto f = [](const Tensor& t) { return t.relu(); };
  for (const Tensor& in : {away_from_zero({2, 3}, gen), away_from_zero({}, gen), values({-30, 30}, {2})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);  // relu'' = 0 away from the kink
  }
}

TEST_CASE("unary ops compose and keep shapes", "[unary]") {
  tg::Generator gen(20);
  const auto x = positive({2, 3}, gen);
  for (const auto& y : {x.exp(), x.log(), x.sqrt(), x.abs(), x.sign(), x.sin(), x.cos(), x.tanh(), x.sigmoid(),
                        x.relu()})
    CHECK(y.shape() == tg::Shape{2, 3});
  const auto s = tg::scalar_tensor<double>(0.5);
  CHECK(s.exp().shape() == tg::Shape{});
  // log(exp(x)) = x, sqrt(x)^2 = x, sigmoid(x) = (1 + tanh(x/2)) / 2
  require_values(x.exp().log(), x.to_vector(), 1e-12);
  require_values(x.sqrt() * x.sqrt(), x.to_vector(), 1e-12);
  require_values(x.sigmoid(), (((x / 2).tanh() + 1) / 2).to_vector(), 1e-12);

  const auto f = [](const Tensor& t) { return (t.sin() * t.exp()).sigmoid().log() + t.abs().sqrt(); };
  CHECK_GRAD(f, x);
  CHECK_GRADGRAD(f, x);
}

TEST_CASE("unary ops on float tensors", "[unary][float]") {
  auto x = tg::tensor<float>({-100.0f, 0.0f, 100.0f});
  const auto s = x.sigmoid().to_vector();
  CHECK(s == std::vector<float>{0.0f, 0.5f, 1.0f});  // no nan from e^100 overflowing float
  const auto t = x.tanh().to_vector();
  CHECK(t == std::vector<float>{-1.0f, 0.0f, 1.0f});
  const auto r = x.relu().to_vector();
  CHECK(r == std::vector<float>{0.0f, 0.0f, 100.0f});
  const auto a = x.abs().sqrt().to_vector();
  CHECK(a == std::vector<float>{10.0f, 0.0f, 10.0f});
  CHECK(tg::exp(tg::tensor<float>({1.0f})).item() == Approx(2.7182817f));
}

TEST_CASE("float sqrt and rsqrt are correctly rounded", "[unary][sqrt][rsqrt][float]") {
  // Eigen's vectorised float sqrt is approximate (EIGEN_FAST_MATH): nan at +inf, 0 for
  // subnormals, a few ulp off elsewhere. tapegrad's matches std::sqrt bit for bit.
  const float inf = std::numeric_limits<float>::infinity();
  const float tiny = std::numeric_limits<float>::denorm_min();
  auto x = tg::tensor<float>({inf, tiny, 1e-40f, 0.0f, 2.0f, 2.7025e11f, 3e38f, -1.0f});
  const auto s = x.sqrt().to_vector();
  const auto r = x.rsqrt().to_vector();
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    INFO("element " << i);
    CHECK(s[i] == std::sqrt(x.data_ptr()[i]));
    CHECK(r[i] == 1.0f / std::sqrt(x.data_ptr()[i]));
  }
  CHECK(std::isnan(s.back()));
  CHECK(std::isnan(r.back()));
  CHECK(r[0] == 0.0f);
  tg::Generator gen(32);
  auto u = tg::rand<float>({4096}, gen) * 1e6f;
  const auto su = u.sqrt().to_vector();
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < su.size(); ++i) mismatches += su[i] != std::sqrt(u.data_ptr()[i]);
  CHECK(mismatches == 0);
}

// ---- clamp, rounding, exponentials and logarithms, trigonometric, special functions ----
// Reference values marked "mpmath" were computed with mpmath 1.3 at 40 significant digits.

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// Every element of `t` within `rel` relative error of `expected`.
void require_rel(const Tensor& t, const std::vector<double>& expected, double rel) {
  REQUIRE(t.numel() == static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i << ": " << t.data_ptr()[i] << " vs " << expected[i]);
    CHECK(std::fabs(t.data_ptr()[i] - expected[i]) <= rel * std::fabs(expected[i]));
  }
}

// x.grad() after y.backward(upstream) for y = f(x).
template <typename F>
Tensor grad_with(F f, const std::vector<double>& x_values, const std::vector<double>& upstream) {
  auto x = values(x_values, {static_cast<std::int64_t>(x_values.size())}, true);
  f(x).backward(values(upstream, {static_cast<std::int64_t>(upstream.size())}));
  return x.grad();
}

}  // namespace

TEST_CASE("clamp", "[unary][clamp]") {
  auto x = values({-2, -1, -0.5, 0, 1, 1.5}, {6}, true);
  auto y = tg::clamp(x, -1.0, 1.0);
  require_values(y, {-1, -1, -0.5, 0, 1, 1});
  CHECK(grad_fn_name(y) == "ClampBackward1");
  CHECK(grad_fn_name(x.clamp(0, 1)) == "ClampBackward1");  // integer bounds convert
  require_values(tg::clamp(x, 0, 1), {0, 0, 0, 0, 1, 1});
  CHECK(grad_fn_name(x.clamp(std::nullopt, 1.0)) == "ClampBackward1");
  // NOTE: at x == min and x == max the gradient is 1 (PyTorch's subgradient), 0 outside.
  (y * 3).sum().backward();
  require_values(x.grad(), {0, 3, 3, 3, 3, 0});

  // One-sided, through clamp with an absent bound and through clamp_min / clamp_max.
  require_values(tg::clamp(x, 0.0, std::nullopt), {0, 0, 0, 0, 1, 1.5});
  require_values(tg::clamp(x, std::nullopt, 0.0), {-2, -1, -0.5, 0, 0, 0});
  auto lo = tg::clamp_min(x, 0.0);
  auto hi = x.clamp_max(-0.5);
  require_values(lo, {0, 0, 0, 0, 1, 1.5});
  require_values(hi, {-2, -1, -0.5, -0.5, -0.5, -0.5});
  CHECK(grad_fn_name(lo) == "ClampMinBackward0");
  CHECK(grad_fn_name(hi) == "ClampMaxBackward0");
  CHECK(grad_fn_name(x.clamp_min(0)) == "ClampMinBackward0");
  require_values(grad_of([](const Tensor& t) { return t.clamp_min(0); }, {-1, 0, 2}), {0, 1, 1});
  require_values(grad_of([](const Tensor& t) { return t.clamp_max(0); }, {-1, 0, 2}), {1, 1, 0});
  require_values(grad_of([](const Tensor& t) { return t.clamp(0, std::nullopt); }, {-1, 0, 2}), {0, 1, 1});

  // min > max: every element becomes max (PyTorch), and no gradient flows anywhere.
  auto crossed = tg::clamp(x, 2.0, 1.0);
  require_values(crossed, {1, 1, 1, 1, 1, 1});
  require_values(grad_of([](const Tensor& t) { return t.clamp(2, 1); }, {0, 1, 1.5, 2, 3}), {0, 0, 0, 0, 0});

  // min == max: constant; the gradient passes only at x == min.
  require_values(grad_of([](const Tensor& t) { return t.clamp(1, 1); }, {0, 1, 2}), {0, 1, 0});

  // A nan element stays nan and gets gradient 0; infinite bounds and elements work.
  auto special = tg::clamp(values({std::nan(""), kInf, -kInf}, {3}), -1.0, 1.0);
  CHECK(std::isnan(special.at({0})));
  CHECK(special.at({1}) == 1.0);
  CHECK(special.at({2}) == -1.0);
  require_values(grad_of([](const Tensor& t) { return t.clamp(-1, 1); }, {std::nan("")}), {0});
  require_values(tg::clamp(values({-5, 5}, {2}), -kInf, kInf), {-5, 5});
  // An infinite upstream gradient outside the range gives 0, not nan.
  require_values(grad_with([](const Tensor& t) { return t.clamp(-1, 1); }, {-2, 0, 2}, {kInf, 1, -kInf}), {0, 1, 0});

  CHECK_THROWS_AS(tg::clamp(x, std::nullopt, std::nullopt), tg::ValueError);
  CHECK_THROWS_WITH(x.clamp(std::nullopt), TG_CONTAINS("at least one of min and max"));
  CHECK_THROWS_AS(tg::clamp(x, std::nan(""), 1.0), tg::ValueError);
  CHECK_THROWS_WITH(tg::clamp(x, 0.0, std::nan("")), TG_CONTAINS("clamp: max is nan"));
  CHECK_THROWS_WITH(tg::clamp_min(x, std::nan("")), TG_CONTAINS("clamp_min: min is nan"));
  CHECK_THROWS_AS(tg::clamp_max(x, std::nan("")), tg::ValueError);

  // Away from the bounds: gradient 1 inside, 0 outside, second derivative 0.
  const auto f = [](const Tensor& t) { return t.clamp(-1, 1); };
  const auto fmin = [](const Tensor& t) { return tg::clamp_min(t, 0.25); };
  const auto fmax = [](const Tensor& t) { return tg::clamp_max(t, 0.25); };
  for (const Tensor& in : {values({-2, -0.5, 0.3, 0.9, 1.7, 3}, {2, 3}), tg::scalar_tensor<double>(0.25),
                           tg::scalar_tensor<double>(5.0)}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
  for (const Tensor& in : {values({-2, -0.5, 0.3, 0.9, 1.7, 3}, {3, 2}), tg::scalar_tensor<double>(-1.0)}) {
    CHECK_GRAD(fmin, in);
    CHECK_GRAD(fmax, in);
    CHECK_GRADGRAD(fmin, in);
    CHECK_GRADGRAD(fmax, in);
  }
}

TEST_CASE("floor, ceil, round and trunc", "[unary][floor][ceil][round][trunc]") {
  auto x = values({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.7, -2.7}, {8}, true);
  require_values(tg::floor(x), {-3, -2, -1, 0, 1, 2, 2, -3});
  require_values(tg::ceil(x), {-2, -1, -0.0, 1, 2, 3, 3, -2});
  require_values(tg::round(x), {-2, -2, -0.0, 0, 2, 2, 3, -3});  // half to even, as torch.round
  require_values(tg::trunc(x), {-2, -1, -0.0, 0, 1, 2, 2, -2});
  CHECK(std::signbit(tg::round(x).at({2})));  // round(-0.5) = -0
  CHECK(grad_fn_name(tg::floor(x)) == "FloorBackward0");
  CHECK(grad_fn_name(x.ceil()) == "CeilBackward0");
  CHECK(grad_fn_name(x.round()) == "RoundBackward0");
  CHECK(grad_fn_name(x.round(1)) == "RoundBackward1");
  CHECK(grad_fn_name(x.trunc()) == "TruncBackward0");
  CHECK(grad_fn_name(x.floor()) == "FloorBackward0");

  // Piecewise constant: gradient 0 everywhere, including at the jumps, and 0 (not nan)
  // for an infinite upstream gradient (zeros_like(grad) in PyTorch).
  for (auto op : {+[](const Tensor& t) { return t.floor(); }, +[](const Tensor& t) { return t.ceil(); },
                  +[](const Tensor& t) { return t.round(); }, +[](const Tensor& t) { return t.trunc(); },
                  +[](const Tensor& t) { return t.round(2); }}) {
    require_values(grad_with(op, {-1, 0, 0.5, 1.25}, {kInf, 1, -kInf, 2}), {0, 0, 0, 0});
  }

  // Infinities and nan pass through.
  auto special = values({kInf, -kInf, std::nan("")}, {3});
  for (const auto& r : {tg::floor(special), tg::ceil(special), tg::round(special), tg::trunc(special),
                        tg::round(special, 3), tg::round(special, -3)}) {
    CHECK(r.at({0}) == kInf);
    CHECK(r.at({1}) == -kInf);
    CHECK(std::isnan(r.at({2})));
  }

  // round(x, decimals): round(x * 10^d) / 10^d, half to even on the scaled value.
  auto r = values({1.2345, -1.2355, 0.125, 1234.5, 1250, -1350, 0.0, 2.5}, {8});
  require_values(tg::round(r, 2), {1.23, -1.24, 0.12, 1234.5, 1250, -1350, 0, 2.5}, 1e-15);
  require_values(tg::round(r, -2), {0, -0.0, 0, 1200, 1200, -1400, 0, 0});
  require_values(tg::round(r, 0), {1, -1, 0, 1234, 1250, -1350, 0, 2});
  // Too large to have decimals (or to scale without overflow): returned unchanged.
  require_values(tg::round(values({1e300, -3e20, 4.5e15}, {3}), 10), {1e300, -3e20, 4.5e15}, 0);
  require_values(tg::round(values({1e300, 7}, {2}), -400), {0, 0});
  require_values(tg::round(values({1.5e-300, 7}, {2}), 400), {1.5e-300, 7});

  // The numerical derivative away from the jumps is 0 too; no second derivative to check.
  const std::vector<std::function<Tensor(const Tensor&)>> ops = {
      [](const Tensor& t) { return t.floor(); }, [](const Tensor& t) { return t.ceil(); },
      [](const Tensor& t) { return t.round(); }, [](const Tensor& t) { return t.trunc(); },
      [](const Tensor& t) { return t.round(2); }};
  for (const auto& op : ops) {
    CHECK_GRAD(op, values({-2.2, -0.7, 0.3, 1.7, 2.2, 3.4}, {2, 3}));
    CHECK_GRAD(op, tg::scalar_tensor<double>(1.2345));
  }
}

TEST_CASE("expm1 and log1p", "[unary][expm1][log1p]") {
  auto x = values({1e-10, -1e-10, 0.5, -2, 30}, {5}, true);
  auto y = tg::expm1(x);
  // mpmath; expm1(1e-10) keeps the digits exp(x) - 1 would lose
  require_values(y, {1.00000000005e-10, -9.999999999500001e-11, 0.6487212707001282, -0.8646647167633873,
                     10686474581523.463}, 0);
  CHECK(grad_fn_name(y) == "Expm1Backward0");
  CHECK(grad_fn_name(x.expm1()) == "Expm1Backward0");
  y.sum().backward();  // e^x
  require_values(x.grad(), {std::exp(1e-10), std::exp(-1e-10), std::exp(0.5), std::exp(-2.0), std::exp(30.0)}, 0);

  auto u = values({1e-10, -0.5, 3, 1e-300, -1}, {5}, true);
  auto l = tg::log1p(u);
  require_values(l, {9.999999999500001e-11, -0.6931471805599453, 1.3862943611198906, 1e-300, -kInf}, 0);
  CHECK(grad_fn_name(l) == "Log1PBackward0");
  CHECK(grad_fn_name(u.log1p()) == "Log1PBackward0");
  l.sum().backward();  // 1 / (1 + x); +inf at -1
  require_values(u.grad(), {1 / (1 + 1e-10), 2, 0.25, 1, kInf});
  CHECK(std::isnan(tg::log1p(values({-2}, {1})).item()));

  tg::Generator gen(21);
  const auto fe = [](const Tensor& t) { return t.expm1(); };
  const auto fl = [](const Tensor& t) { return t.log1p(); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-20, 1e-8, 5}, {3})}) {
    CHECK_GRAD(fe, in);
    CHECK_GRADGRAD(fe, in);
  }
  for (const Tensor& in : {positive({2, 3}, gen) - 1.0, positive({}, gen), values({-0.9, 1e-8, 100}, {3})}) {
    CHECK_GRAD(fl, in);
    CHECK_GRADGRAD(fl, in);
  }
}

TEST_CASE("log2, log10 and exp2", "[unary][log2][log10][exp2]") {
  auto x = values({1, 2, 8, 0.25, 1000}, {5}, true);
  auto l2 = tg::log2(x);
  require_values(l2, {0, 1, 3, -2, 9.965784284662087}, 1e-15);  // log2(1000) = 3 / log10(2)
  CHECK(grad_fn_name(l2) == "Log2Backward0");
  auto l10 = x.log10();
  require_values(l10, {0, 0.3010299956639812, 0.9030899869919435, -0.6020599913279624, 3}, 1e-15);
  CHECK(grad_fn_name(l10) == "Log10Backward0");
  (l2 + l10).sum().backward();  // 1/(x ln 2) + 1/(x ln 10)
  const double c = 1 / std::log(2.0) + 1 / std::log(10.0);
  require_values(x.grad(), {c, c / 2, c / 8, c * 4, c / 1000}, 1e-15);
  CHECK(tg::log2(values({0}, {1})).item() == -kInf);
  CHECK(std::isnan(tg::log10(values({-1}, {1})).item()));

  auto e = values({0, 3, -1, 0.5}, {4}, true);
  auto y = e.exp2();
  require_values(y, {1, 8, 0.5, std::sqrt(2.0)}, 1e-15);
  CHECK(grad_fn_name(y) == "Exp2Backward0");
  CHECK(grad_fn_name(tg::exp2(e)) == "Exp2Backward0");
  y.sum().backward();  // 2^x ln 2
  const double ln2 = 0.6931471805599453;
  require_values(e.grad(), {ln2, 8 * ln2, ln2 / 2, std::sqrt(2.0) * ln2}, 1e-15);

  tg::Generator gen(22);
  const auto f2 = [](const Tensor& t) { return t.log2(); };
  const auto f10 = [](const Tensor& t) { return tg::log10(t); };
  const auto fe = [](const Tensor& t) { return t.exp2(); };
  for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen), values({1e-3, 1e3}, {2})}) {
    CHECK_GRAD(f2, in);
    CHECK_GRAD(f10, in);
    CHECK_GRADGRAD(f2, in);
    CHECK_GRADGRAD(f10, in);
  }
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen)}) {
    CHECK_GRAD(fe, in);
    CHECK_GRADGRAD(fe, in);
  }
}

TEST_CASE("rsqrt, reciprocal and square", "[unary][rsqrt][reciprocal][square]") {
  auto x = values({4, 0.25, 2, 1e-4}, {4}, true);
  auto r = tg::rsqrt(x);
  require_values(r, {0.5, 2, 1 / std::sqrt(2.0), 100}, 1e-15);
  CHECK(grad_fn_name(r) == "RsqrtBackward0");
  CHECK(grad_fn_name(x.rsqrt()) == "RsqrtBackward0");
  r.sum().backward();  // -x^(-3/2) / 2
  require_values(x.grad(), {-1.0 / 16, -4, -0.25 / std::sqrt(2.0), -5e5}, 1e-15);
  // rsqrt(0) = inf with gradient -inf; rsqrt of a negative is nan.
  CHECK(tg::rsqrt(values({0}, {1})).item() == kInf);
  CHECK(grad_of([](const Tensor& t) { return t.rsqrt(); }, {0}).item() == -kInf);
  CHECK(std::isnan(tg::rsqrt(values({-1}, {1})).item()));

  auto v = values({2, -0.5, 1e-3, -4}, {4}, true);
  auto q = tg::reciprocal(v);
  require_values(q, {0.5, -2, 1000, -0.25}, 1e-15);
  CHECK(grad_fn_name(q) == "ReciprocalBackward0");
  CHECK(grad_fn_name(v.reciprocal()) == "ReciprocalBackward0");
  q.sum().backward();  // -1/x^2
  require_values(v.grad(), {-0.25, -4, -1e6, -1.0 / 16}, 1e-15);
  CHECK(tg::reciprocal(values({0}, {1})).item() == kInf);
  CHECK(grad_of([](const Tensor& t) { return t.reciprocal(); }, {0}).item() == -kInf);

  auto s = values({-3, 0, 1.5}, {3}, true);
  auto sq = tg::square(s);
  require_values(sq, {9, 0, 2.25});
  CHECK(grad_fn_name(sq) == "PowBackward0");  // torch.square is pow(x, 2)
  CHECK(grad_fn_name(s.square()) == "PowBackward0");
  sq.sum().backward();
  require_values(s.grad(), {-6, 0, 3});

  tg::Generator gen(23);
  const auto fr = [](const Tensor& t) { return t.rsqrt(); };
  const auto fq = [](const Tensor& t) { return t.reciprocal(); };
  const auto fs = [](const Tensor& t) { return t.square(); };
  for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen), values({1e-2, 1e2}, {2})}) {
    CHECK_GRAD(fr, in);
    CHECK_GRADGRAD(fr, in);
  }
  for (const Tensor& in : {away_from_zero({2, 3}, gen), away_from_zero({}, gen)}) {
    CHECK_GRAD(fq, in);
    CHECK_GRADGRAD(fq, in);
    CHECK_GRAD(fs, in);
    CHECK_GRADGRAD(fs, in);
  }
}

TEST_CASE("tan, asin, acos and atan", "[unary][tan][asin][acos][atan]") {
  auto x = values({0, 0.5, -1.2, 1.5}, {4}, true);
  auto t = tg::tan(x);
  require_values(t, {0, 0.5463024898437905, -2.5721516221263188, 14.101419947171719}, 1e-14);  // mpmath
  CHECK(grad_fn_name(t) == "TanBackward0");
  CHECK(grad_fn_name(x.tan()) == "TanBackward0");
  t.sum().backward();  // 1 + tan^2 = 1 / cos^2
  require_values(x.grad(), {1, 1 / std::pow(std::cos(0.5), 2), 1 / std::pow(std::cos(1.2), 2),
                            1 / std::pow(std::cos(1.5), 2)}, 1e-12);

  auto a = values({0, 0.5, -0.5, 1, -1}, {5}, true);
  auto as = tg::asin(a);
  auto ac = a.acos();
  require_values(as, {0, kPi / 6, -kPi / 6, kPi / 2, -kPi / 2}, 1e-15);
  require_values(ac, {kPi / 2, kPi / 3, 2 * kPi / 3, 0, kPi}, 1e-15);
  CHECK(grad_fn_name(as) == "AsinBackward0");
  CHECK(grad_fn_name(ac) == "AcosBackward0");
  CHECK(grad_fn_name(a.asin()) == "AsinBackward0");
  as.sum().backward();  // 1 / sqrt(1 - x^2): inf at +-1, as in PyTorch
  require_values(a.grad(), {1, 2 / std::sqrt(3.0), 2 / std::sqrt(3.0), kInf, kInf}, 1e-15);
  require_values(grad_of([](const Tensor& u) { return u.acos(); }, {0, 0.5, 1}), {-1, -2 / std::sqrt(3.0), -kInf},
                 1e-15);
  CHECK(std::isnan(tg::asin(values({1.5}, {1})).item()));
  CHECK(std::isnan(tg::acos(values({-1.5}, {1})).item()));

  auto b = values({0, 1, -1, 1e300}, {4}, true);
  auto at = tg::atan(b);
  require_values(at, {0, kPi / 4, -kPi / 4, kPi / 2}, 1e-15);
  CHECK(grad_fn_name(at) == "AtanBackward0");
  CHECK(grad_fn_name(b.atan()) == "AtanBackward0");
  at.sum().backward();  // 1 / (1 + x^2)
  require_values(b.grad(), {1, 0.5, 0.5, 0});

  tg::Generator gen(24);
  const auto ft = [](const Tensor& u) { return u.tan(); };
  const auto fs = [](const Tensor& u) { return u.asin(); };
  const auto fc = [](const Tensor& u) { return u.acos(); };
  const auto fa = [](const Tensor& u) { return u.atan(); };
  for (const Tensor& in : {values({-0.9, -0.4, 0, 0.3, 0.6, 0.95}, {2, 3}), tg::scalar_tensor<double>(-0.7)}) {
    CHECK_GRAD(ft, in);
    CHECK_GRAD(fs, in);
    CHECK_GRAD(fc, in);
    CHECK_GRADGRAD(ft, in);
    CHECK_GRADGRAD(fs, in);
    CHECK_GRADGRAD(fc, in);
  }
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen) * 3.0, tg::randn<double>({}, gen), values({-50, 50}, {2})}) {
    CHECK_GRAD(fa, in);
    CHECK_GRADGRAD(fa, in);
  }
}

TEST_CASE("atan2", "[unary][atan2]") {
  auto a = values({1, 1, -1, -1, 0.5, 3}, {6}, true);
  auto b = values({1, -1, -1, 1, 2, -0.25}, {6}, true);
  auto y = tg::atan2(a, b);
  // mpmath; all four quadrants
  require_values(y, {0.7853981633974483, 2.356194490192345, -2.356194490192345, -0.7853981633974483,
                     0.24497866312686414, 1.6539375586833378}, 1e-15);
  CHECK(grad_fn_name(y) == "Atan2Backward0");
  CHECK(grad_fn_name(a.atan2(b)) == "Atan2Backward0");
  y.sum().backward();  // d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
  require_values(a.grad(), {0.5, -0.5, -0.5, 0.5, 2 / 4.25, -0.25 / 9.0625}, 1e-15);
  require_values(b.grad(), {-0.5, -0.5, 0.5, 0.5, -0.5 / 4.25, -3 / 9.0625}, 1e-15);

  // Axes and signed zeros as std::atan2; at the origin both gradients are nan (PyTorch).
  require_values(tg::atan2(values({0, 0, 1, -1, 0}, {5}), values({1, -1, 0, 0, 0}, {5})), {0, kPi, kPi / 2, -kPi / 2, 0});
  CHECK(tg::atan2(values({-0.0}, {1}), values({-1}, {1})).item() == -kPi);
  auto a0 = values({0}, {1}, true);
  auto b0 = values({0}, {1}, true);
  tg::atan2(a0, b0).sum().backward();
  CHECK(std::isnan(a0.grad().item()));
  CHECK(std::isnan(b0.grad().item()));

  // Broadcasting: [2, 1] with [3]; the gradients come back at each input's shape.
  auto p = values({1, -2}, {2, 1}, true);
  auto q = values({0.5, -1, 2}, {3}, true);
  auto pq = tg::atan2(p, q);
  CHECK(pq.shape() == tg::Shape{2, 3});
  require_values(pq, {std::atan2(1, 0.5), std::atan2(1, -1), std::atan2(1, 2), std::atan2(-2, 0.5), std::atan2(-2, -1),
                      std::atan2(-2, 2)}, 1e-15);
  pq.sum().backward();
  CHECK(p.grad().shape() == tg::Shape{2, 1});
  CHECK(q.grad().shape() == tg::Shape{3});
  require_values(p.grad(), {0.5 / 1.25 - 1 / 2.0 + 2 / 5.0, 0.5 / 4.25 - 1 / 5.0 + 2 / 8.0}, 1e-15);
  require_values(q.grad(), {-1 / 1.25 + 2 / 4.25, -1 / 2.0 + 2 / 5.0, -1 / 5.0 + 2 / 8.0}, 1e-15);

  CHECK_THROWS_AS(tg::atan2(values({1, 2}, {2}), values({1, 2, 3}, {3})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::atan2(values({1, 2}, {2}), values({1, 2, 3}, {3})), TG_CONTAINS("atan2"));

  tg::Generator gen(25);
  const auto f = [](const Tensors& in) { return tg::atan2(in[0], in[1]); };
  CHECK_GRAD(f, away_from_zero({2, 3}, gen), away_from_zero({2, 3}, gen));
  CHECK_GRAD(f, away_from_zero({2, 1}, gen), away_from_zero({3}, gen));
  CHECK_GRAD(f, away_from_zero({}, gen), away_from_zero({2, 2}, gen));
  CHECK_GRADGRAD(f, away_from_zero({2, 3}, gen), away_from_zero({2, 3}, gen));
  CHECK_GRADGRAD(f, away_from_zero({2, 1}, gen), away_from_zero({3}, gen));
}

TEST_CASE("sinh, cosh, asinh, acosh and atanh", "[unary][sinh][cosh][asinh][acosh][atanh]") {
  auto x = values({0, 0.5, -3}, {3}, true);
  auto s = tg::sinh(x);
  auto c = x.cosh();
  require_values(s, {0, 0.5210953054937474, -10.017874927409903}, 1e-15);  // mpmath
  require_values(c, {1, 1.1276259652063807, 10.067661995777765}, 1e-15);
  CHECK(grad_fn_name(s) == "SinhBackward0");
  CHECK(grad_fn_name(c) == "CoshBackward0");
  CHECK(grad_fn_name(x.sinh()) == "SinhBackward0");
  CHECK(grad_fn_name(tg::cosh(x)) == "CoshBackward0");
  (s + c * 2).sum().backward();  // cosh x + 2 sinh x
  require_values(x.grad(), {1, 1.1276259652063807 + 2 * 0.5210953054937474, 10.067661995777765 - 2 * 10.017874927409903},
                 1e-14);

  auto u = values({0, 0.5, -3, 1e5}, {4}, true);
  auto as = tg::asinh(u);
  require_values(as, {0, 0.48121182505960347, -1.8184464592320668, 12.206072645555174}, 1e-15);  // mpmath
  CHECK(grad_fn_name(as) == "AsinhBackward0");
  CHECK(grad_fn_name(u.asinh()) == "AsinhBackward0");
  as.sum().backward();  // 1 / sqrt(x^2 + 1)
  require_values(u.grad(), {1, 1 / std::sqrt(1.25), 1 / std::sqrt(10.0), 1 / std::sqrt(1e10 + 1)}, 1e-15);

  auto v = values({1, 1.5, 10, 1 + 1e-12}, {4}, true);
  auto ac = tg::acosh(v);
  require_values(ac, {0, 0.9624236501192069, 2.993222846126381, 1.4142764231805424e-06}, 1e-15);  // mpmath
  CHECK(grad_fn_name(ac) == "AcoshBackward0");
  CHECK(grad_fn_name(v.acosh()) == "AcoshBackward0");
  ac.sum().backward();  // 1 / sqrt(x^2 - 1): inf at 1; accurate next to 1
  const double e = (1 + 1e-12) - 1;  // the representable offset
  require_values(v.grad(), {kInf, 1 / std::sqrt(1.25), 1 / std::sqrt(99.0), 1 / std::sqrt(e * (2 + e))}, 1e-14);
  CHECK(v.grad().at({3}) == Approx(707075.3521795856).epsilon(1e-12));  // mpmath
  CHECK(std::isnan(tg::acosh(values({0.5}, {1})).item()));

  auto w = values({0, 0.5, -0.9, 1, -1}, {5}, true);
  auto at = tg::atanh(w);
  require_values(at, {0, 0.5493061443340549, -1.4722194895832204, kInf, -kInf}, 1e-15);  // mpmath
  CHECK(grad_fn_name(at) == "AtanhBackward0");
  CHECK(grad_fn_name(w.atanh()) == "AtanhBackward0");
  at.sum().backward();  // 1 / (1 - x^2)
  require_values(w.grad(), {1, 4 / 3.0, 1 / 0.19, kInf, kInf}, 1e-14);
  CHECK(std::isnan(tg::atanh(values({2}, {1})).item()));

  tg::Generator gen(26);
  const auto fs = [](const Tensor& t) { return t.sinh(); };
  const auto fc = [](const Tensor& t) { return t.cosh(); };
  const auto fas = [](const Tensor& t) { return t.asinh(); };
  const auto fac = [](const Tensor& t) { return t.acosh(); };
  const auto fat = [](const Tensor& t) { return t.atanh(); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-10, 10}, {2})}) {
    CHECK_GRAD(fs, in);
    CHECK_GRAD(fc, in);
    CHECK_GRAD(fas, in);
    CHECK_GRADGRAD(fs, in);
    CHECK_GRADGRAD(fc, in);
    CHECK_GRADGRAD(fas, in);
  }
  for (const Tensor& in : {positive({2, 3}, gen) + 1.0, tg::scalar_tensor<double>(3.0)}) {
    CHECK_GRAD(fac, in);
    CHECK_GRADGRAD(fac, in);
  }
  for (const Tensor& in : {values({-0.9, -0.4, 0, 0.3, 0.6, 0.95}, {3, 2}), tg::scalar_tensor<double>(-0.25)}) {
    CHECK_GRAD(fat, in);
    CHECK_GRADGRAD(fat, in);
  }
}

TEST_CASE("erf and erfc", "[unary][erf][erfc]") {
  auto x = values({0, 0.5, -1.5, 3}, {4}, true);
  auto y = tg::erf(x);
  require_values(y, {0, 0.5204998778130465, -0.9661051464753108, 0.9999779095030014}, 1e-15);  // mpmath
  CHECK(grad_fn_name(y) == "ErfBackward0");
  CHECK(grad_fn_name(x.erf()) == "ErfBackward0");
  y.sum().backward();  // 2/sqrt(pi) e^(-x^2), mpmath
  require_values(x.grad(), {1.1283791670955126, 0.8787825789354448, 0.11893028922362937, 0.00013925305194674786},
                 1e-15);

  auto u = values({0.5, -1.5, 3, 10, 27, 40}, {6}, true);
  auto c = u.erfc();
  // mpmath: erfc keeps the tail that 1 - erf(x) rounds to 0
  require_values(c, {0.4795001221869535, 1.9661051464753108, 2.209049699858544e-05, 2.088487583762545e-45,
                     c.at({4}), 0}, 1e-15);
  CHECK(c.at({4}) == Approx(5.23705e-319).epsilon(1e-5));  // subnormal, so only ~5 digits
  CHECK(grad_fn_name(c) == "ErfcBackward0");
  CHECK(grad_fn_name(tg::erfc(u)) == "ErfcBackward0");
  c.sum().backward();
  require_values(u.grad(), {-0.8787825789354448, -0.11893028922362937, -0.00013925305194674786, 0, 0, 0}, 1e-15);
  require_values(tg::erf(values({-kInf, kInf}, {2})), {-1, 1}, 0);

  tg::Generator gen(27);
  const auto f = [](const Tensor& t) { return t.erf(); };
  const auto fc = [](const Tensor& t) { return t.erfc(); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-4, 4}, {2})}) {
    CHECK_GRAD(f, in);
    CHECK_GRAD(fc, in);
    CHECK_GRADGRAD(f, in);
    CHECK_GRADGRAD(fc, in);
  }
}

TEST_CASE("lgamma", "[unary][lgamma]") {
  auto x = values({0.5, 10, -0.5, 3.7, 1e-5, 1, 2}, {7}, true);
  auto y = tg::lgamma(x);
  // mpmath: log sqrt(pi), log 9!, log(2 sqrt(pi)), ...; log|Gamma| is 0 at 1 and 2
  require_values(y, {0.5723649429247001, 12.801827480081469, 1.2655121234846454, 1.428072326665388,
                     11.512919692895826, 0, 0}, 1e-14);
  CHECK(grad_fn_name(y) == "LgammaBackward0");
  CHECK(grad_fn_name(x.lgamma()) == "LgammaBackward0");
  y.sum().backward();  // digamma(x)
  const double gamma = 0.5772156649015329;  // Euler-Mascheroni
  require_values(x.grad(), {-gamma - 2 * std::log(2.0), 1 + 1 / 2.0 + 1 / 3.0 + 1 / 4.0 + 1 / 5.0 + 1 / 6.0 + 1 / 7.0 +
                                                            1 / 8.0 + 1 / 9.0 - gamma,
                            0.03648997397857652, 1.1671535393615113, -100000.57719921567, -gamma, 1 - gamma},
                 1e-12);
  // log|Gamma| of a negative non-integer: Gamma(-2.5) < 0 (mpmath).
  require_values(tg::lgamma(values({-2.5}, {1})), {-0.056243716497674054}, 1e-14);
  // Poles: +inf at 0 and the negative integers.
  require_values(tg::lgamma(values({0, -1, -2}, {3})), {kInf, kInf, kInf}, 0);

  tg::Generator gen(28);
  const auto f = [](const Tensor& t) { return t.lgamma(); };
  for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen) * 10.0, values({-0.5, -2.3, 30}, {3})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("digamma", "[unary][digamma]") {
  // mpmath, x > 0: relative error below 1e-14 (away from the root x = 1.4616...).
  const std::vector<std::pair<double, double>> pos = {
      {1e-08, -100000000.57721564}, {0.001, -1000.5755719318103}, {0.1, -10.423754940411076},
      {0.5, -1.9635100260214235},   {1, -0.5772156649015329},     {1.25, -0.22745353337626542},
      {2.5, 0.7031566406452432},    {7.3, 1.9178203356379862},    {9.99, 2.250700372831201},
      {10, 2.251752589066721},      {10.5, 2.3030010342976865},   {33.3, 3.490467238520243},
      {1000, 6.907255195648812},    {1e6, 13.815510057964191},    {1e15, 34.538776394910684},
      {1e300, 690.7755278982137}};
  // mpmath, x < 0 (by reflection)
  const std::vector<std::pair<double, double>> neg = {
      {-0.5, 0.03648997397857652}, {-1.5, 0.7031566406452432},  {-2.25, 4.158583564657972},
      {-10.1, 12.030052248548309}, {-1e-05, 99999.42276788563}, {-123.456, 5.256979172582265},
      {-0.999, -999.5745709308084}};
  for (const auto& [table, rel] : {std::make_pair(pos, 1e-14), std::make_pair(neg, 1e-13)}) {
    std::vector<double> xs, expected;
    for (const auto& [x, v] : table) {
      xs.push_back(x);
      expected.push_back(v);
    }
    require_rel(tg::digamma(values(xs, {static_cast<std::int64_t>(xs.size())})), expected, rel);
  }
  // Next to the root the absolute error stays at rounding level.
  CHECK(std::fabs(tg::digamma(tg::scalar_tensor<double>(1.4616321449683622)).item()) < 1e-15);

  // Poles, as PyTorch: -inf at +0, +inf at -0, nan at the negative integers; inf at inf.
  auto p = tg::digamma(values({0.0, -0.0, -1, -7, kInf, -kInf, std::nan("")}, {7}));
  CHECK(p.at({0}) == -kInf);
  CHECK(p.at({1}) == kInf);
  for (std::int64_t i : {2, 3, 5, 6}) CHECK(std::isnan(p.at({i})));
  CHECK(p.at({4}) == kInf);

  auto x = values({1, 0.5, -0.5}, {3}, true);
  auto y = tg::digamma(x);
  CHECK(grad_fn_name(y) == "DigammaBackward0");
  CHECK(grad_fn_name(x.digamma()) == "DigammaBackward0");
  y.sum().backward();  // trigamma: pi^2/6, pi^2/2, pi^2/2 + 4
  require_values(x.grad(), {kPi * kPi / 6, kPi * kPi / 2, kPi * kPi / 2 + 4}, 1e-13);

  tg::Generator gen(29);
  const auto f = [](const Tensor& t) { return t.digamma(); };
  for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen) * 20.0, values({-0.5, -3.3, 0.01, 100}, {4})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);  // through polygamma(1) and polygamma(2)
  }
}

TEST_CASE("polygamma", "[unary][polygamma]") {
  struct Case {
    std::int64_t n;
    double x, value;
  };
  // mpmath, x > 0: relative error below 1e-14 for orders up to 30.
  const std::vector<Case> pos = {
      {1, 0.001, 1000001.6425331958},     {1, 0.1, 101.43329915079275},       {1, 0.5, 4.934802200544679},
      {1, 1, 1.6449340668482264},         {1, 2.5, 0.49035775610023485},      {1, 7.3, 0.1467957681314271},
      {1, 20.5, 0.04998959242996099},     {1, 55, 0.018348109124868422},      {1, 1e3, 0.0010005001666666333},
      {1, 1e6, 1.0000005000001667e-06},   {2, 0.001, -2000000002.3976321},    {2, 0.1, -2001.8614573783436},
      {2, 0.5, -16.82879664423432},       {2, 1, -2.4041138063191885},        {2, 2.5, -0.2362040516417274},
      {2, 7.3, -0.02151081444162025},     {2, 20.5, -0.0024984397723677343},  {2, 55, -0.00033664366586127006},
      {2, 1e3, -1.0010004999998333e-06},  {2, 1e6, -1.0000010000005e-12},     {3, 0.001, 6000000000006.469},
      {3, 0.1, 60004.51287679026},        {3, 0.5, 97.40909103400244},        {3, 1, 6.493939402266829},
      {3, 2.5, 0.22390584881725206},      {3, 7.3, 0.00629315871319849},      {3, 20.5, 0.0002496881810853771},
      {3, 55, 1.2352856512914968e-05},    {3, 1e3, 2.003001999999e-09},       {3, 1e6, 2.000003000002e-18},
      {5, 0.001, 1.1999999999999998e+20}, {5, 0.1, 120000069.30751093},       {5, 0.5, 7691.113548602436},
      {5, 1, 122.0811674381339},          {5, 2.5, 0.5785691785671835},       {5, 7.3, 0.00160757212266815},
      {5, 20.5, 7.476657640239659e-06},   {5, 55, 4.9893735894707186e-08},    {5, 1e3, 2.4060059999944e-14},
      {5, 1e6, 2.400006000006e-29},       {10, 0.001, -3.628799999999999e+39}, {10, 0.1, -3.628800000012727e+17},
      {10, 0.5, -7431824508.858769},      {10, 1, -3630593.311606629},        {10, 2.5, -156.229596593233},
      {10, 7.3, -0.0015614607715049322},  {10, 20.5, -3.5036001352094345e-08}, {10, 55, -1.5672142348408782e-12},
      {10, 1e3, -3.646977263913514e-25},  {10, 1e6, -3.628818144033264e-55},  {30, 0.001, -2.652528598121909e+125},
      {30, 0.1, -2.652528598121906e+63},  {30, 0.5, -5.696261790319176e+41},  {30, 1, -2.652528599357095e+32},
      {30, 2.5, -1.2232990235199246e+20}, {30, 7.3, -466592.5271379488},      {30, 20.5, -7.493795279706338e-09},
      {30, 55, -7.063168202444779e-22},   {30, 1e3, -8.975073648140491e-60},  {30, 1e6, -8.841894620854845e-150}};
  // mpmath, x < 0 (by the shifted sum; beyond -1e4 by the reflection formula). At the
  // half-integers with even n the two largest terms cancel exactly, which took the
  // reflection formula's cot(pi x) = 0 or a compensated sum to get right.
  const std::vector<Case> neg = {
      {30, -0.5, -9.2221270661620558e+26}, {60, -0.5, -1.5087179138556403e+71},
      {170, -0.5, -5.6127628949062967e+276}, {10, -0.5, -42108.858768975492},
      {30, -1.3, 4.2943869916847378e+48},  {30, -150.25, 1.2232629049437595e+51},
      {2, -20000.125, 1022.2943908819689},  {1, -1000000.25, 19.739207802179467},
      {6, -12345.3, 3283537.0895212471},    {2, -10000.5, -9.9980002749700026e-9},
      {1, -0.5, 8.934802200544679},      {1, -1.3, 14.53687624413708},        {1, -7.7, 14.957612844863727},
      {1, -0.0001, 100000001.6451745},   {2, -0.5, -0.82879664423432},        {2, -1.3, 68.54941347116214},
      {2, -7.7, -68.85236099165044},     {2, -0.0001, 1999999999997.595},     {3, -0.5, 193.40909103400244},
      {3, -1.3, 768.7206571990426},      {3, -7.7, 769.0173136215735},        {3, -0.0001, 5.999999999999999e+16},
      {6, -0.5, -43.457923803023284},    {6, -1.3, 3283534.770263415},        {6, -7.7, -3283537.089850067},
      {6, -0.0001, 7.199999999999998e+30}};
  for (const auto& [table, rel] : {std::make_pair(pos, 1e-14), std::make_pair(neg, 1e-14)}) {
    for (const Case& c : table) {
      INFO("polygamma(" << c.n << ", " << c.x << ")");
      const double v = tg::polygamma(c.n, tg::scalar_tensor<double>(c.x)).item();
      CHECK(std::fabs(v - c.value) <= rel * std::fabs(c.value));
    }
  }
  // n = 0 is digamma.
  require_rel(tg::polygamma(0, values({0.5, 1, 7.3}, {3})), {-1.9635100260214235, -0.5772156649015329,
                                                             1.9178203356379862}, 1e-14);

  // Values beyond the largest double overflow to +-inf (polygamma(100, -0.01) = 9.3e359).
  CHECK(tg::polygamma(100, tg::scalar_tensor<double>(-0.01)).item() == kInf);
  CHECK(tg::polygamma(100, tg::scalar_tensor<double>(-0.99)).item() == -kInf);
  // Poles: the limit from the right, (-1)^(n+1) inf; +inf -> 0, -inf and nan -> nan.
  auto p1 = tg::polygamma(1, values({0, -1, -4, kInf, -kInf, std::nan("")}, {6}));
  auto p2 = tg::polygamma(2, values({0, -3}, {2}));
  CHECK(p1.at({0}) == kInf);
  CHECK(p1.at({1}) == kInf);
  CHECK(p1.at({2}) == kInf);
  CHECK(p1.at({3}) == 0.0);
  CHECK(std::isnan(p1.at({4})));
  CHECK(std::isnan(p1.at({5})));
  CHECK(p2.at({0}) == -kInf);
  CHECK(p2.at({1}) == -kInf);

  // d/dx polygamma(n, x) = polygamma(n + 1, x): at x = 1, (-1)^(n+2) (n+1)! zeta(n+2).
  auto x = values({1, 1}, {2}, true);
  auto y = tg::polygamma(2, x);
  CHECK(grad_fn_name(y) == "PolygammaBackward0");
  CHECK(grad_fn_name(x.polygamma(0)) == "PolygammaBackward0");
  y.sum().backward();
  require_values(x.grad(), {kPi * kPi * kPi * kPi / 15, kPi * kPi * kPi * kPi / 15}, 1e-13);  // 6 zeta(4)

  CHECK_THROWS_AS(tg::polygamma(-1, x), tg::ValueError);
  CHECK_THROWS_WITH(x.polygamma(-2), TG_CONTAINS("polygamma: the order n must be in [0, 1000] (got n = -2)"));
  CHECK_THROWS_AS(tg::polygamma(1001, x), tg::ValueError);
  CHECK_THROWS_WITH(tg::polygamma(std::int64_t{1} << 40, x), TG_CONTAINS("must be in [0, 1000]"));
  // Orders past 170 (n! overflows) still give finite values where they exist (mpmath),
  // and overflow to inf, not nan, where they do not (polygamma(1000, -0.5) = -2.2e2391).
  CHECK(tg::polygamma(1000, tg::scalar_tensor<double>(400.0)).item() == Approx(-9.54632866022891e-38).epsilon(1e-11));
  CHECK(tg::polygamma(200, tg::scalar_tensor<double>(150.5)).item() == Approx(-2.2170514118173197e-63).epsilon(1e-11));
  CHECK(tg::polygamma(1000, tg::scalar_tensor<double>(-0.5)).item() == -kInf);

  tg::Generator gen(30);
  for (std::int64_t n : {0, 1, 3}) {
    const auto f = [n](const Tensor& t) { return tg::polygamma(n, t); };
    for (const Tensor& in : {positive({2, 3}, gen), positive({}, gen) * 30.0, values({-0.5, -2.7, 0.05}, {3})}) {
      CHECK_GRAD(f, in);
      CHECK_GRADGRAD(f, in);
    }
  }
}

TEST_CASE("element-wise methods match the free functions", "[unary]") {
  tg::Generator gen(31);
  const auto x = positive({2, 3}, gen) * 0.5;  // in [0.25, 0.75): inside every domain but acosh's
  const std::vector<std::pair<Tensor, Tensor>> pairs = {
      {x.floor(), tg::floor(x)},   {x.ceil(), tg::ceil(x)},         {x.round(), tg::round(x)},
      {x.round(1), tg::round(x, 1)}, {x.trunc(), tg::trunc(x)},     {x.expm1(), tg::expm1(x)},
      {x.log1p(), tg::log1p(x)},   {x.log2(), tg::log2(x)},         {x.log10(), tg::log10(x)},
      {x.exp2(), tg::exp2(x)},     {x.rsqrt(), tg::rsqrt(x)},       {x.reciprocal(), tg::reciprocal(x)},
      {x.square(), tg::square(x)}, {x.tan(), tg::tan(x)},           {x.asin(), tg::asin(x)},
      {x.acos(), tg::acos(x)},     {x.atan(), tg::atan(x)},         {x.atan2(x * 2.0), tg::atan2(x, x * 2.0)},
      {x.sinh(), tg::sinh(x)},     {x.cosh(), tg::cosh(x)},         {x.asinh(), tg::asinh(x)},
      {(x + 1.0).acosh(), tg::acosh(x + 1.0)}, {x.atanh(), tg::atanh(x)}, {x.erf(), tg::erf(x)},
      {x.erfc(), tg::erfc(x)},     {x.lgamma(), tg::lgamma(x)},     {x.digamma(), tg::digamma(x)},
      {x.polygamma(2), tg::polygamma(2, x)}, {x.clamp(0.4, 0.6), tg::clamp(x, 0.4, 0.6)},
      {x.clamp_min(0.5), tg::clamp_min(x, 0.5)}, {x.clamp_max(0.5), tg::clamp_max(x, 0.5)}};
  for (const auto& [method, free] : pairs) {
    CHECK(method.shape() == tg::Shape{2, 3});
    CHECK(method.to_vector() == free.to_vector());
  }
  // A composite of the new ops, checked to second order.
  const auto f = [](const Tensor& t) {
    return (t.expm1() * t.atan()).log1p() + t.asinh().square() + tg::lgamma(t + 1.0) * t.erf() + t.rsqrt().tan();
  };
  CHECK_GRAD(f, x);
  CHECK_GRADGRAD(f, x);
}

TEST_CASE("new element-wise ops on float tensors", "[unary][float]") {
  auto x = tg::tensor<float>({-1.5f, 0.5f, 2.5f}, tg::requires_grad());
  CHECK(x.round().to_vector() == std::vector<float>{-2.0f, 0.0f, 2.0f});
  CHECK(x.floor().to_vector() == std::vector<float>{-2.0f, 0.0f, 2.0f});
  CHECK(x.clamp(-1, 1).to_vector() == std::vector<float>{-1.0f, 0.5f, 1.0f});
  CHECK(tg::round(tg::tensor<float>({1.25f, 3e30f}), 1).to_vector() == std::vector<float>{1.2f, 3e30f});
  CHECK(x.expm1().at({1}) == Approx(0.6487212707f).epsilon(1e-6));
  CHECK(x.erf().at({1}) == Approx(0.5204998778f).epsilon(1e-6));
  CHECK(tg::atan2(x, tg::tensor<float>({1.0f})).at({0}) == Approx(std::atan2(-1.5f, 1.0f)));
  CHECK(x.lgamma().at({1}) == Approx(0.5723649429f).epsilon(1e-6));
  CHECK(x.digamma().at({1}) == Approx(-1.9635100260f).epsilon(1e-6));
  CHECK(x.polygamma(1).at({1}) == Approx(4.9348022005f).epsilon(1e-6));
  auto y = (x.clamp(-1, 1) + x.digamma() + x.atan()).sum();
  y.backward();
  const auto g = x.grad().to_vector();
  // clamp' + trigamma + 1/(1+x^2)
  CHECK(g[0] == Approx(0.0f + 9.3792466449f + 1 / 3.25f).epsilon(1e-5));  // trigamma(-1.5), mpmath
  CHECK(g[1] == Approx(1.0f + 4.9348022005f + 0.8f).epsilon(1e-5));
  CHECK(g[2] == Approx(0.0f + 0.4903577561f + 1 / 7.25f).epsilon(1e-5));
  for (float v : g) CHECK_FALSE(std::isnan(v));
}

}  // namespace ops_unary_test
