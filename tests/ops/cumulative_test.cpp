#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace ops_cumulative_test {

// cumsum, cumprod.

namespace {

// x[i][j][k] = 12 i + 4 j + k
Tensor arange234() { return tg::arange<double>(24).reshape({2, 3, 4}); }

// x.grad() after (f(x) * w).sum().backward() for x = values(v, shape).
template <typename F>
Tensor grad_of(F f, const std::vector<double>& v, const tg::Shape& shape, const std::vector<double>& w) {
  auto x = values(v, shape, true);
  (f(x) * values(w, shape)).sum().backward();
  return x.grad();
}

// d/dx_k sum_j w_j prod_{i<=j} x_i, summed term by term (O(n^3), for checking)
std::vector<double> cumprod_grad_naive(const std::vector<double>& x, const std::vector<double>& w) {
  const std::size_t n = x.size();
  std::vector<double> g(n, 0.0);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t j = k; j < n; ++j) {
      double p = w[j];
      for (std::size_t i = 0; i <= j; ++i)
        if (i != k) p *= x[i];
      g[k] += p;
    }
  return g;
}

}  // namespace

// ---- cumsum ----

TEST_CASE("cumsum: values", "[cumulative][cumsum]") {
  auto x = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto c1 = tg::cumsum(x, 1);
  CHECK(c1.shape() == tg::Shape{2, 3});
  require_values(c1, {1, 3, 6, 4, 9, 15});
  CHECK(grad_fn_name(c1) == "CumsumBackward0");
  require_values(x.cumsum(0), {1, 2, 3, 5, 7, 9});
  require_values(x.cumsum(-1), {1, 3, 6, 4, 9, 15});
  require_values(x.cumsum(-2), {1, 2, 3, 5, 7, 9});
  // the middle dim of a 3-D tensor: sum_{j'<=j} (12 i + 4 j' + k) = (j + 1)(12 i + k) + 2 j (j + 1)
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) expected.push_back((j + 1) * (12 * i + k) + 2 * j * (j + 1));
  require_values(arange234().cumsum(1), expected);
  // 0-d: itself; empty: empty
  CHECK(tg::scalar_tensor<double>(2.5).cumsum(0).item() == 2.5);
  CHECK(tg::scalar_tensor<double>(2.5).cumsum(-1).shape() == tg::Shape{});
  CHECK(tg::zeros<double>({0, 3}).cumsum(0).shape() == tg::Shape{0, 3});
  CHECK(tg::zeros<double>({2, 0}).cumsum(1).shape() == tg::Shape{2, 0});
}

TEST_CASE("cumsum: gradients", "[cumulative][cumsum]") {
  // d/dx_k sum_j w_j cumsum_j = sum_{j>=k} w_j: the reversed running sum
  require_values(grad_of([](const Tensor& t) { return t.cumsum(0); }, {5, -1, 2}, {3}, {1, 10, 100}), {111, 110, 100});
  require_values(grad_of([](const Tensor& t) { return t.cumsum(1); }, {1, 2, 3, 4}, {2, 2}, {1, 2, 3, 4}), {3, 2, 7, 4});
  require_values(grad_of([](const Tensor& t) { return t.cumsum(0); }, {1, 2, 3, 4}, {2, 2}, {1, 2, 3, 4}), {4, 6, 3, 4});

  tg::Generator gen(61);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 2}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const auto c0 = [](const Tensor& t) { return t.cumsum(0); };
  const auto c1 = [](const Tensor& t) { return t.cumsum(1); };
  const auto c_last_sq = [](const Tensor& t) { return t.cumsum(-1).pow(2); };
  CHECK_GRAD(c0, a);
  CHECK_GRAD(c1, a);
  CHECK_GRAD(c1, b);
  CHECK_GRAD(c_last_sq, b);
  CHECK_GRAD(c0, s);
  CHECK_GRADGRAD(c1, a);
  CHECK_GRADGRAD(c0, b);
  CHECK_GRADGRAD(c_last_sq, b);
  CHECK_GRADGRAD(c_last_sq, s);
  // with create_graph the gradient itself is a (reversed) cumsum of the seed
  auto x = values({1, 2, 3}, {3}, true);
  auto v = values({1, 10, 100}, {3}, true);
  auto gx = tg::grad(x.cumsum(0), {x}, {v}, std::nullopt, true)[0];
  CHECK(grad_fn_name(gx) == "ReverseCumsumBackward0");
  require_values(gx, {111, 110, 100});
  auto gv = tg::grad(gx * values({1, 1, 0}, {3}), {v}, {values({1, 1, 1}, {3})})[0];
  require_values(gv, {1, 2, 2});  // the adjoint of the reversed cumsum is cumsum
}

// ---- cumprod ----

TEST_CASE("cumprod: values", "[cumulative][cumprod]") {
  auto x = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto c1 = x.cumprod(1);
  require_values(c1, {1, 2, 6, 4, 20, 120});
  CHECK(grad_fn_name(c1) == "CumprodBackward0");
  require_values(tg::cumprod(x, 0), {1, 2, 3, 4, 10, 18});
  require_values(x.cumprod(-2), {1, 2, 3, 4, 10, 18});
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        double p = 1;
        for (int jj = 0; jj <= j; ++jj) p *= 12 * i + 4 * jj + k;
        expected.push_back(p);
      }
  require_values(arange234().cumprod(1), expected);
  require_values(values({2, 0, 3, -1}, {4}).cumprod(0), {2, 0, 0, 0});
  CHECK(tg::scalar_tensor<double>(-2.0).cumprod(0).item() == -2.0);
  CHECK(tg::zeros<double>({0}).cumprod(0).shape() == tg::Shape{0});
}

TEST_CASE("cumprod: gradients without zeros", "[cumulative][cumprod]") {
  // x = [1, 2, 3], out = [1, 2, 6]: d/dx sum(out) = [1 + 2 + 6, 1 + 3, 2]
  require_values(grad_of([](const Tensor& t) { return t.cumprod(0); }, {1, 2, 3}, {3}, {1, 1, 1}), {9, 4, 2});
  const std::vector<double> v{0.5, -2, 1.5, 3}, w{1, -1, 2, 0.5};
  require_values(grad_of([](const Tensor& t) { return t.cumprod(0); }, v, {4}, w), cumprod_grad_naive(v, w), 1e-14);
  // along dim 0 of a [2, 2]: lanes (1, 3) and (2, 4)
  require_values(grad_of([](const Tensor& t) { return t.cumprod(0); }, {1, 2, 3, 4}, {2, 2}, {1, 1, 1, 1}), {4, 5, 1, 2});
  CHECK(grad_of([](const Tensor& t) { return t.cumprod(0); }, {7}, {}, {3}).item() == 3.0);
}

TEST_CASE("cumprod: gradients with zeros are exact", "[cumulative][cumprod]") {
  // NOTE: d out_j / d x_k = prod_{i<=j, i!=k} x_i, no division: zeros are no special case
  const auto f = [](const Tensor& t) { return t.cumprod(0); };
  const std::vector<double> ones5{1, 1, 1, 1, 1};
  require_values(grad_of(f, {2, 0, 3, 4}, {4}, {1, 1, 1, 1}), {1, 32, 0, 0}, 0);
  require_values(grad_of(f, {2, 0, 3, 0, 5}, {5}, ones5), {1, 8, 0, 0, 0}, 0);
  require_values(grad_of(f, {0, 2, 3}, {3}, {1, 1, 1}), {9, 0, 0}, 0);
  require_values(grad_of(f, {2, 3, 0}, {3}, {1, 1, 1}), {4, 2, 6}, 0);
  require_values(grad_of(f, {0, 0, 0}, {3}, {1, 1, 1}), {1, 0, 0}, 0);
  using V = std::vector<double>;
  for (const V& v : {V{1.5, 0, -2, 0.5, 0, 3}, V{0, 0, 2, -1, 0.5, 1}}) {
    const std::vector<double> w{0.3, -1, 2, 0.7, -0.4, 1.1};
    require_values(grad_of(f, v, {6}, w), cumprod_grad_naive(v, w), 1e-14);
  }
  // per lane along dim 1 of a [2, 3]
  require_values(grad_of([](const Tensor& t) { return t.cumprod(1); }, {2, 0, 3, 0, 4, 5}, {2, 3}, {1, 1, 1, 1, 1, 1}),
                 {1, 8, 0, 1 + 4 + 20, 0, 0}, 0);
  for (double g : grad_of(f, {0, 0, 0, 0}, {4}, {1, 1, 1, 1}).to_vector()) CHECK(std::isfinite(g));
}

TEST_CASE("cumprod: gradcheck and gradgradcheck, with and without zeros", "[cumulative][cumprod]") {
  tg::Generator gen(62);
  const Tensor a = away_from_zero({2, 3}, gen), b = away_from_zero({2, 3, 2}, gen), s = away_from_zero({}, gen);
  const Tensor one_zero = values({1.2, 0, -0.8, 1.5}, {4});
  const Tensor zeros2 = values({0.9, 0, 1.3, 0, -1.1}, {5});
  const Tensor first_zero = values({0, 1.4, -0.6, 0.8, 1.1, 0}, {2, 3});
  const Tensor all_zero = values({0, 0, 0}, {3});
  const auto c0 = [](const Tensor& t) { return t.cumprod(0); };
  const auto c_last = [](const Tensor& t) { return t.cumprod(-1); };
  const auto c_sq = [](const Tensor& t) { return t.cumprod(-1) * t; };
  for (const Tensor& in : {a, b, s, one_zero, zeros2, first_zero, all_zero}) {
    CHECK_GRAD(c0, in);
    CHECK_GRAD(c_last, in);
    CHECK_GRAD(c_sq, in);
    CHECK_GRADGRAD(c0, in);
    CHECK_GRADGRAD(c_last, in);
    CHECK_GRADGRAD(c_sq, in);
  }
  const auto c1 = [](const Tensor& t) { return t.cumprod(1); };
  CHECK_GRAD(c1, b);
  CHECK_GRADGRAD(c1, b);
}

TEST_CASE("cumprod: third derivative at zeros", "[cumulative][cumprod]") {
  // out_2 = x0 x1 x2 at x = (0, 0, 3): d3 out_2 / dx0 dx1 dx2 = 1, d2 out_2 / dx0 dx1 = x2 = 3
  auto x = values({0, 0, 3}, {3}, true);
  const auto pick_last = values({0, 0, 1}, {3});
  auto g = tg::grad(x.cumprod(0), {x}, {pick_last}, std::nullopt, true)[0];
  require_values(g, {0, 0, 0}, 0);  // (x1 x2, x0 x2, x0 x1)
  auto h = tg::grad((g * values({1, 0, 0}, {3})).sum(), {x}, {}, std::nullopt, true)[0];
  require_values(h, {0, 3, 0}, 0);  // d/dx (x1 x2) = (0, x2, x1)
  auto t = tg::grad((h * values({0, 1, 0}, {3})).sum(), {x})[0];
  require_values(t, {0, 0, 1}, 0);  // d/dx x2
}

TEST_CASE("cumsum and cumprod: errors", "[cumulative][errors]") {
  const auto x = values({1, 2, 3, 4}, {2, 2});
  REQUIRE_THROWS_AS(x.cumsum(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.cumsum(2), TG_CONTAINS("cumsum: dimension 2 is out of range for a tensor with 2 dimensions "
                                               "(expected a dim in [-2, 1])"));
  REQUIRE_THROWS_AS(tg::cumsum(x, -3), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::cumsum(x, -3), TG_CONTAINS("cumsum: dimension -3 is out of range"));
  REQUIRE_THROWS_AS(x.cumprod(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.cumprod(2), TG_CONTAINS("cumprod: dimension 2 is out of range"));
  REQUIRE_THROWS_AS(tg::scalar_tensor<double>(1.0).cumprod(1), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::scalar_tensor<double>(1.0).cumprod(1), TG_CONTAINS("for a tensor with 0 dimensions"));
}

TEST_CASE("cumsum and cumprod on float tensors", "[cumulative][float]") {
  auto x = tg::from_vector<float>({1.5f, 2.0f, 0.0f, 4.0f}, {4}, tg::requires_grad());
  CHECK(x.cumsum(0).to_vector() == std::vector<float>{1.5f, 3.5f, 3.5f, 7.5f});
  CHECK(x.cumprod(0).to_vector() == std::vector<float>{1.5f, 3.0f, 0.0f, 0.0f});
  x.cumprod(0).sum().backward();
  // k = 0: 1 + 2; k = 1: 1.5; k = 2 (the zero): 1.5 * 2 + 1.5 * 2 * 4; k = 3: 0
  CHECK(x.grad().to_vector() == std::vector<float>{3.0f, 1.5f, 15.0f, 0.0f});
  auto y = tg::from_vector<float>({1.0f, 2.0f}, {2}, tg::requires_grad());
  y.cumsum(0).sum().backward();
  CHECK(y.grad().to_vector() == std::vector<float>{2.0f, 1.0f});
}

}  // namespace ops_cumulative_test
