#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <string>

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

  tg::Generator gen(17);
  const auto f = [](const Tensor& t) { return t.tanh(); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-30, -3, 3, 30}, {4})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
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
