#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace ops_softmax_test {

// logsumexp, softmax, log_softmax.

namespace {

const double kInf = std::numeric_limits<double>::infinity();

// x[i][j][k] = 12 i + 4 j + k, scaled to keep exp() moderate
Tensor arange234(double scale = 1.0) { return tg::arange<double>(24).reshape({2, 3, 4}) * scale; }

// log(sum(exp(v))) computed directly (fine for moderate v)
double naive_lse(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += std::exp(e);
  return std::log(s);
}

std::vector<double> naive_softmax(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += std::exp(e);
  std::vector<double> out;
  for (double e : v) out.push_back(std::exp(e) / s);
  return out;
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

// ---- logsumexp ----

TEST_CASE("logsumexp: values", "[softmax][logsumexp]") {
  auto x = values({1, 2, 3, -1, 0, 0.5}, {2, 3}, true);
  auto y = tg::logsumexp(x, 1);
  CHECK(y.shape() == tg::Shape{2});
  require_values(y, {naive_lse({1, 2, 3}), naive_lse({-1, 0, 0.5})}, 1e-14);
  CHECK(grad_fn_name(y) == "LogsumexpBackward0");
  require_values(x.logsumexp(0), {naive_lse({1, -1}), naive_lse({2, 0}), naive_lse({3, 0.5})}, 1e-14);
  CHECK(x.logsumexp(-1, true).shape() == tg::Shape{2, 1});
  CHECK(x.logsumexp({0, 1}).shape() == tg::Shape{});
  CHECK(x.logsumexp({0, 1}).item() == Approx(naive_lse({1, 2, 3, -1, 0, 0.5})).epsilon(1e-14));
  CHECK(x.logsumexp({}).item() == Approx(naive_lse({1, 2, 3, -1, 0, 0.5})).epsilon(1e-14));
  CHECK(x.logsumexp({0, 1}, true).shape() == tg::Shape{1, 1});
  CHECK(tg::logsumexp(x, std::vector<std::int64_t>{1}).to_vector() == y.to_vector());
  // over dims 0 and 2 of a 3-D tensor
  auto a = arange234(0.1);
  std::vector<double> expected;
  for (int j = 0; j < 3; ++j) {
    std::vector<double> lane;
    for (int i = 0; i < 2; ++i)
      for (int k = 0; k < 4; ++k) lane.push_back(0.1 * (12 * i + 4 * j + k));
    expected.push_back(naive_lse(lane));
  }
  require_values(a.logsumexp({0, 2}), expected, 1e-14);
  CHECK(tg::scalar_tensor<double>(-3.0).logsumexp(0).item() == -3.0);
}

TEST_CASE("logsumexp: numerically stable for large inputs", "[softmax][logsumexp]") {
  // exp(1000) overflows; the shifted form is exact
  CHECK(values({1000, 1000}, {2}).logsumexp(0).item() == Approx(1000 + std::log(2.0)).epsilon(1e-15));
  CHECK(values({-1000, -1000}, {2}).logsumexp(0).item() == Approx(-1000 + std::log(2.0)).epsilon(1e-15));
  CHECK(values({1000, 0}, {2}).logsumexp(0).item() == 1000.0);  // + log(1 + e^-1000)
  CHECK(values({-1000, 1000, 999}, {3}).logsumexp(0).item() ==
        Approx(1000 + std::log1p(std::exp(-1.0))).epsilon(1e-15));
  // -inf entries contribute nothing; an all -inf lane is -inf; +inf gives +inf
  CHECK(values({0, -kInf}, {2}).logsumexp(0).item() == 0.0);
  CHECK(values({-kInf, -kInf}, {2}).logsumexp(0).item() == -kInf);
  CHECK(values({kInf, 1}, {2}).logsumexp(0).item() == kInf);
  // an empty lane is log(0) = -inf
  CHECK(tg::zeros<double>({0}).logsumexp(0).item() == -kInf);

  auto x = values({1000, 1000, -1000, 0}, {2, 2}, true);
  x.logsumexp(1).sum().backward();
  require_values(x.grad(), {0.5, 0.5, std::exp(-1000.0), 1}, 0);  // the softmax of each row
  CHECK(all_finite(x.grad()));
}

TEST_CASE("logsumexp: gradients", "[softmax][logsumexp]") {
  auto x = values({1, 2, 3}, {3}, true);
  x.logsumexp(0).backward();
  require_values(x.grad(), naive_softmax({1, 2, 3}), 1e-15);

  tg::Generator gen(51);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 2}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const Tensor big = values({800, 801, -799, -800}, {2, 2});
  const auto lse1 = [](const Tensor& t) { return t.logsumexp(1); };
  const auto lse_dims = [](const Tensor& t) { return t.logsumexp({0, -1}, true) * t; };
  const auto lse_all = [](const Tensor& t) { return t.logsumexp({}).pow(2); };
  CHECK_GRAD(lse1, a);
  CHECK_GRAD(lse1, big);
  CHECK_GRAD(lse_dims, b);
  CHECK_GRAD(lse_all, a);
  CHECK_GRAD(lse_all, s);
  CHECK_GRADGRAD(lse1, a);
  CHECK_GRADGRAD(lse1, big);
  CHECK_GRADGRAD(lse_dims, b);
  CHECK_GRADGRAD(lse_all, s);
}

TEST_CASE("logsumexp: all -inf lane has a nan gradient", "[softmax][logsumexp]") {
  // NOTE: as in PyTorch, exp(x - logsumexp(x)) = exp(-inf + inf) = nan there.
  auto x = values({-kInf, -kInf}, {2}, true);
  x.logsumexp(0).backward();
  CHECK(std::isnan(x.grad().at({0})));
}

TEST_CASE("logsumexp: errors", "[softmax][logsumexp][errors]") {
  const auto x = values({1, 2, 3, 4}, {2, 2});
  REQUIRE_THROWS_AS(x.logsumexp(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.logsumexp(2), TG_CONTAINS("logsumexp: dimension 2 is out of range for a tensor with 2 "
                                                  "dimensions"));
  REQUIRE_THROWS_AS(tg::logsumexp(x, {1, -1}), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::logsumexp(x, {1, -1}), TG_CONTAINS("logsumexp: dimension 1 appears more than once"));
}

// ---- softmax ----

TEST_CASE("softmax: values", "[softmax]") {
  auto x = values({1, 2, 3, -1, 0, 0.5}, {2, 3}, true);
  auto y = tg::softmax(x, 1);
  CHECK(y.shape() == tg::Shape{2, 3});
  CHECK(grad_fn_name(y) == "SoftmaxBackward0");
  auto r0 = naive_softmax({1, 2, 3}), r1 = naive_softmax({-1, 0, 0.5});
  require_values(y, {r0[0], r0[1], r0[2], r1[0], r1[1], r1[2]}, 1e-15);
  require_values(x.softmax(-1), y.to_vector(), 0);
  // over dim 0: columns
  auto c = x.softmax(0);
  for (int j = 0; j < 3; ++j) {
    auto col = naive_softmax({x.at({0, j}), x.at({1, j})});
    CHECK(c.at({0, j}) == Approx(col[0]).epsilon(1e-14));
    CHECK(c.at({1, j}) == Approx(col[1]).epsilon(1e-14));
  }
  // the middle dim of a 3-D tensor: each lane sums to 1
  auto m = arange234(0.1).softmax(1);
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      auto lane = naive_softmax({0.1 * (12 * i + k), 0.1 * (12 * i + 4 + k), 0.1 * (12 * i + 8 + k)});
      for (int j = 0; j < 3; ++j) CHECK(m.at({i, j, k}) == Approx(lane[static_cast<std::size_t>(j)]).epsilon(1e-14));
    }
  CHECK(tg::scalar_tensor<double>(5.0).softmax(0).item() == 1.0);
  CHECK(tg::zeros<double>({0, 3}).softmax(1).shape() == tg::Shape{0, 3});
}

TEST_CASE("softmax: numerically stable for large inputs", "[softmax]") {
  require_values(values({1000, 1000}, {2}).softmax(0), {0.5, 0.5}, 0);
  require_values(values({-1000, -1000, -1000, -1000}, {4}).softmax(0), {0.25, 0.25, 0.25, 0.25}, 0);
  require_values(values({1000, 0, -1000}, {3}).softmax(0), {1, 0, 0}, 0);
  auto r = naive_softmax({0, 1, 2});
  require_values(values({1000, 1001, 1002}, {3}).softmax(0), r, 1e-15);
  require_values(values({-1002, -1001, -1000}, {3}).softmax(0), r, 1e-15);
  // -inf entries get 0
  require_values(values({0, -kInf, 0}, {3}).softmax(0), {0.5, 0, 0.5}, 0);
  // NOTE: a lane of all -inf is nan, as in PyTorch
  CHECK(std::isnan(values({-kInf, -kInf}, {2}).softmax(0).at({0})));
  // Exact zeros, not Eigen's clamped exp (about 2.9e-39 in float), along the last dim
  // (lane by lane) and along a leading dim (whole blocks), in float and double.
  const float finf = std::numeric_limits<float>::infinity();
  auto f_rows = tg::tensor<float>({0.f, -100.f, -finf, 0.f, -200.f, 0.f}).reshape({2, 3});
  CHECK(f_rows.softmax(1).to_vector() == std::vector<float>{1.f, 0.f, 0.f, 0.5f, 0.f, 0.5f});
  CHECK(f_rows.softmax(0).to_vector() == std::vector<float>{0.5f, 1.f, 0.f, 0.5f, 0.f, 1.f});  // e^-100 in float: 0
  const std::vector<float> log_rows = f_rows.log_softmax(1).to_vector();
  CHECK(log_rows[0] == 0.f);
  CHECK(log_rows[1] == -100.f);
  CHECK(log_rows[2] == -finf);
  require_values(values({0, -800, -kInf, 0}, {2, 2}).softmax(0), {1, 0, 0, 1}, 0);
  require_values(values({0, -800, -kInf, 0}, {2, 2}).softmax(1), {1, 0, 0, 1}, 0);

  auto x = values({1000, 1000, 0, -1000}, {2, 2}, true);
  (x.softmax(1) * values({1, 0, 1, 0}, {2, 2})).sum().backward();
  // y (w - sum(w y)): row 1 (y = 1/2, 1/2): [1/4, -1/4]; row 2 (y = 1, 0): [0, 0]
  require_values(x.grad(), {0.25, -0.25, 0, 0}, 0);
  CHECK(all_finite(x.grad()));
}

TEST_CASE("softmax: gradients", "[softmax]") {
  // L = y0 for y = softmax([1, 2, 3]): dL/dx = y0 (e0 - y)
  auto x = values({1, 2, 3}, {3}, true);
  (x.softmax(0) * values({1, 0, 0}, {3})).sum().backward();
  const auto y = naive_softmax({1, 2, 3});
  require_values(x.grad(), {y[0] * (1 - y[0]), -y[0] * y[1], -y[0] * y[2]}, 1e-15);
  // the gradient of sum(softmax) is 0
  auto z = values({0.3, -2, 5}, {3}, true);
  z.softmax(0).sum().backward();
  require_values(z.grad(), {0, 0, 0}, 1e-15);

  tg::Generator gen(52);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 2}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const Tensor big = values({500, 501, 499, -500, -501, -499}, {2, 3});
  const auto sm1 = [](const Tensor& t) { return t.softmax(1); };
  const auto sm0 = [](const Tensor& t) { return tg::softmax(t, 0); };
  const auto sm_mid = [](const Tensor& t) { return t.softmax(1) * t; };
  CHECK_GRAD(sm1, a);
  CHECK_GRAD(sm0, a);
  CHECK_GRAD(sm1, big);
  CHECK_GRAD(sm_mid, b);
  CHECK_GRAD(sm0, s);
  CHECK_GRADGRAD(sm1, a);
  CHECK_GRADGRAD(sm0, a);
  CHECK_GRADGRAD(sm1, big);
  CHECK_GRADGRAD(sm_mid, b);
  CHECK_GRADGRAD(sm0, s);
}

// ---- log_softmax ----

TEST_CASE("log_softmax: values", "[softmax][log_softmax]") {
  auto x = values({1, 2, 3, -1, 0, 0.5}, {2, 3}, true);
  auto y = tg::log_softmax(x, 1);
  CHECK(grad_fn_name(y) == "LogSoftmaxBackward0");
  const double l0 = naive_lse({1, 2, 3}), l1 = naive_lse({-1, 0, 0.5});
  require_values(y, {1 - l0, 2 - l0, 3 - l0, -1 - l1, 0 - l1, 0.5 - l1}, 1e-14);
  require_values(x.log_softmax(-1), y.to_vector(), 0);
  auto c = x.log_softmax(0);
  CHECK(c.at({1, 2}) == Approx(0.5 - naive_lse({3, 0.5})).epsilon(1e-14));
  auto m = arange234(0.1).log_softmax(2);
  CHECK(m.at({1, 2, 3}) == Approx(2.3 - naive_lse({2.0, 2.1, 2.2, 2.3})).epsilon(1e-14));
  CHECK(tg::scalar_tensor<double>(5.0).log_softmax(-1).item() == 0.0);
  // exp(log_softmax) is softmax
  auto e = x.log_softmax(1).exp();
  require_values(e, x.softmax(1).to_vector(), 1e-15);
}

TEST_CASE("log_softmax: numerically stable for large inputs", "[softmax][log_softmax]") {
  require_values(values({1000, 0}, {2}).log_softmax(0), {0, -1000}, 0);
  require_values(values({1000, 1000}, {2}).log_softmax(0), {-std::log(2.0), -std::log(2.0)}, 0);
  require_values(values({-1000, -1000}, {2}).log_softmax(0), {-std::log(2.0), -std::log(2.0)}, 0);
  require_values(values({-1000, 1000}, {2}).log_softmax(0), {-2000, 0}, 0);
  require_values(values({0, -kInf}, {2}).log_softmax(0), {0, -kInf}, 0);
  // NOTE: a lane of all -inf is nan, as in PyTorch
  CHECK(std::isnan(values({-kInf, -kInf}, {2}).log_softmax(0).at({1})));

  auto x = values({1000, 0, -1000, -1000}, {2, 2}, true);
  x.log_softmax(1).sum().backward();
  // g - softmax * sum(g) with g = 1: 1 - 2 softmax
  require_values(x.grad(), {-1, 1, 0, 0}, 0);
}

TEST_CASE("log_softmax: gradients", "[softmax][log_softmax]") {
  auto x = values({1, 2, 3}, {3}, true);
  (x.log_softmax(0) * values({0, 1, 0}, {3})).sum().backward();
  const auto y = naive_softmax({1, 2, 3});  // e1 - y
  require_values(x.grad(), {-y[0], 1 - y[1], -y[2]}, 1e-15);

  tg::Generator gen(53);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 2}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const Tensor big = values({900, 901, 899, -900, -901, -899}, {3, 2});
  const auto ls1 = [](const Tensor& t) { return t.log_softmax(1); };
  const auto ls0 = [](const Tensor& t) { return tg::log_softmax(t, 0); };
  const auto ls_mid = [](const Tensor& t) { return t.log_softmax(1) * t; };
  CHECK_GRAD(ls1, a);
  CHECK_GRAD(ls0, a);
  CHECK_GRAD(ls1, big);
  CHECK_GRAD(ls0, big);
  CHECK_GRAD(ls_mid, b);
  CHECK_GRAD(ls0, s);
  CHECK_GRADGRAD(ls1, a);
  CHECK_GRADGRAD(ls0, big);
  CHECK_GRADGRAD(ls_mid, b);
  CHECK_GRADGRAD(ls0, s);
}

TEST_CASE("softmax family: -inf masks are exact, nan propagates", "[softmax][log_softmax][logsumexp]") {
  const double kNan = std::numeric_limits<double>::quiet_NaN();
  // masked (-inf) entries get exactly 0 probability and exactly 0 gradient
  auto x = values({0.5, -kInf, 0.5, -kInf, 2, -kInf}, {2, 3}, true);
  auto y = x.softmax(1);
  require_values(y, {0.5, 0, 0.5, 0, 1, 0}, 0);
  CHECK(y.at({0, 1}) == 0.0);
  (y * values({1, 2, 3, 4, 5, 6}, {2, 3})).sum().backward();
  // y (w - sum(w y)): row 1: 0.5 (1 - 2), 0, 0.5 (3 - 2); row 2: all 0
  require_values(x.grad(), {-0.5, 0, 0.5, 0, 0, 0}, 0);
  CHECK(x.grad().at({0, 1}) == 0.0);
  auto z = values({0.5, -kInf, 0.5}, {3}, true);
  auto ls = z.log_softmax(0);
  require_values(ls, {-std::log(2.0), -kInf, -std::log(2.0)});
  (ls * values({1, 0, 1}, {3})).sum().backward();
  require_values(z.grad(), {0, 0, 0}, 0);  // g - softmax * sum(g) = [1, 0, 1] - [0.5, 0, 0.5] * 2
  auto w = values({1, -kInf, 1}, {3}, true);
  w.logsumexp(0).backward();
  require_values(w.grad(), {0.5, 0, 0.5}, 0);
  CHECK(w.grad().at({1}) == 0.0);
  // a nan anywhere in a lane makes the whole lane nan
  for (const Tensor& t : {values({kNan, 1, 2}, {3}), values({1, 2, kNan}, {3})}) {
    for (double v : t.softmax(0).to_vector()) CHECK(std::isnan(v));
    for (double v : t.log_softmax(0).to_vector()) CHECK(std::isnan(v));
    CHECK(std::isnan(t.logsumexp(0).item()));
  }
  // other lanes are unaffected
  const auto mixed = values({kNan, 1, 0, 0}, {2, 2}).softmax(1);
  CHECK(std::isnan(mixed.at({0, 1})));
  CHECK(mixed.at({1, 0}) == 0.5);
  CHECK(mixed.at({1, 1}) == 0.5);
}

TEST_CASE("softmax and log_softmax: errors", "[softmax][errors]") {
  const auto x = values({1, 2, 3, 4}, {2, 2});
  REQUIRE_THROWS_AS(x.softmax(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.softmax(2), TG_CONTAINS("softmax: dimension 2 is out of range for a tensor with 2 dimensions "
                                                "(expected a dim in [-2, 1])"));
  REQUIRE_THROWS_AS(tg::softmax(x, -3), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::softmax(x, -3), TG_CONTAINS("softmax: dimension -3 is out of range"));
  REQUIRE_THROWS_AS(x.log_softmax(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.log_softmax(2), TG_CONTAINS("log_softmax: dimension 2 is out of range"));
  REQUIRE_THROWS_AS(tg::scalar_tensor<double>(1.0).softmax(1), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::scalar_tensor<double>(1.0).softmax(1), TG_CONTAINS("for a tensor with 0 dimensions"));
}

TEST_CASE("softmax family on float tensors", "[softmax][float]") {
  auto x = tg::from_vector<float>({1000.0f, 1000.0f, -1000.0f, 0.0f}, {2, 2}, tg::requires_grad());
  CHECK(x.softmax(1).to_vector() == std::vector<float>{0.5f, 0.5f, 0.0f, 1.0f});
  const auto ls = x.log_softmax(1).to_vector();
  CHECK(ls[0] == Approx(-std::log(2.0f)));
  CHECK(ls[1] == Approx(-std::log(2.0f)));
  CHECK(ls[2] == -1000.0f);
  CHECK(ls[3] == 0.0f);
  const auto lse = x.logsumexp(1).to_vector();
  CHECK(lse[0] == Approx(1000.0f + std::log(2.0f)));
  CHECK(lse[1] == 0.0f);
  x.logsumexp(1).sum().backward();
  // exp(x - logsumexp) with |x| = 1000 in float: logsumexp carries an error of one ulp of 1000
  CHECK(x.grad().at({0, 0}) == Approx(0.5f).epsilon(2e-4));
  CHECK(x.grad().at({0, 1}) == Approx(0.5f).epsilon(2e-4));
  CHECK(x.grad().at({1, 0}) == 0.0f);
  CHECK(x.grad().at({1, 1}) == 1.0f);
  // a -inf mask gives exactly 0, in float too
  CHECK(tg::tensor<float>({0.0f, -std::numeric_limits<float>::infinity(), 0.0f}).softmax(0).to_vector() ==
        std::vector<float>{0.5f, 0.0f, 0.5f});
  auto y = tg::tensor<float>({1.0f, 2.0f, 3.0f});
  const auto s = y.softmax(0).to_vector();
  CHECK(s[0] + s[1] + s[2] == Approx(1.0f));
  CHECK(s[2] == Approx(std::exp(3.0f) / (std::exp(1.0f) + std::exp(2.0f) + std::exp(3.0f))));
}

}  // namespace ops_softmax_test
