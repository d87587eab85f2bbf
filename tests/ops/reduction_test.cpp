#include "test_util.hpp"

#include <cmath>
#include <string>

// sum, mean (all elements or one dim), max/min (all elements or one dim), norm.

namespace {

using Indices = std::vector<std::int64_t>;

// [[1, 2, 3], [4, 5, 6]]
Tensor m23(bool requires_grad = false) { return values({1, 2, 3, 4, 5, 6}, {2, 3}, requires_grad); }

// x[i][j][k] = 12 i + 4 j + k
Tensor arange234() { return tg::arange<double>(24).reshape({2, 3, 4}); }

}  // namespace

TEST_CASE("sum of all elements", "[reduction][sum]") {
  auto x = m23(true);
  auto y = x.sum();
  CHECK(y.shape() == tg::Shape{});
  CHECK(y.item() == 21.0);
  CHECK(grad_fn_name(y) == "SumBackward0");
  CHECK(tg::sum(arange234()).item() == 276.0);
  CHECK(tg::scalar_tensor<double>(-2.5).sum().item() == -2.5);
  CHECK(tg::zeros<double>({0, 3}).sum().item() == 0.0);
  (y * 2).backward();
  CHECK(x.grad().shape() == tg::Shape{2, 3});
  require_values(x.grad(), {2, 2, 2, 2, 2, 2});

  tg::Generator gen(31);
  const auto f = [](const Tensor& t) { return t.sum(); };
  const auto g = [](const Tensor& t) { return (t * t).sum(); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), tg::randn<double>({4}, gen)}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
    CHECK_GRADGRAD(g, in);
  }
}

TEST_CASE("sum over a dim: values, keepdim, negative dims", "[reduction][sum]") {
  auto x = m23(true);
  auto s0 = x.sum(0);
  CHECK(s0.shape() == tg::Shape{3});
  require_values(s0, {5, 7, 9});
  CHECK(grad_fn_name(s0) == "SumBackward1");
  auto s1 = tg::sum(x, 1);
  CHECK(s1.shape() == tg::Shape{2});
  require_values(s1, {6, 15});
  CHECK(x.sum(0, true).shape() == tg::Shape{1, 3});
  require_values(x.sum(0, true), {5, 7, 9});
  CHECK(x.sum(1, true).shape() == tg::Shape{2, 1});
  require_values(x.sum(-1), {6, 15});
  require_values(x.sum(-2), {5, 7, 9});

  // The middle dim of a 3-D tensor (inner > 1): out[i][k] = sum_j (12 i + 4 j + k) = 36 i + 12 + 3 k
  auto a = arange234();
  auto m = a.sum(1);
  CHECK(m.shape() == tg::Shape{2, 4});
  require_values(m, {12, 15, 18, 21, 48, 51, 54, 57});
  // out[j][k] = sum_i (12 i + 4 j + k) = 12 + 8 j + 2 k
  require_values(a.sum(0), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  // out[i][j] = sum_k (12 i + 4 j + k) = 48 i + 16 j + 6
  CHECK(a.sum(-1, true).shape() == tg::Shape{2, 3, 1});
  require_values(a.sum(-1, true), {6, 22, 38, 54, 70, 86});

  // A 0-d tensor reduces to itself over dim 0 or -1.
  auto s = tg::scalar_tensor<double>(3.0, tg::requires_grad());
  CHECK(s.sum(0).shape() == tg::Shape{});
  CHECK(s.sum(-1, true).item() == 3.0);
  CHECK(grad_fn_name(s.sum(0)) == "SumBackward1");

  (s1 * values({1, 10}, {2})).sum().backward();
  require_values(x.grad(), {1, 1, 1, 10, 10, 10});
}

TEST_CASE("sum over a dim: gradcheck and gradgradcheck", "[reduction][sum]") {
  tg::Generator gen(32);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 4}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const auto d0 = [](const Tensor& t) { return t.sum(0); };
  const auto d1k = [](const Tensor& t) { return t.sum(1, true); };
  const auto dneg = [](const Tensor& t) { return t.sum(-1); };
  const auto sq = [](const Tensor& t) { return t.sum(1) * t.sum(1); };
  CHECK_GRAD(d0, a);
  CHECK_GRAD(d1k, a);
  CHECK_GRAD(dneg, a);
  CHECK_GRAD(d1k, b);
  CHECK_GRAD(sq, b);
  CHECK_GRAD(d0, s);
  CHECK_GRAD(dneg, s);
  CHECK_GRADGRAD(d0, a);
  CHECK_GRADGRAD(d1k, b);
  CHECK_GRADGRAD(sq, b);
  CHECK_GRADGRAD(d0, s);
}

TEST_CASE("mean", "[reduction][mean]") {
  auto x = m23(true);
  auto y = x.mean();
  CHECK(y.shape() == tg::Shape{});
  CHECK(y.item() == 3.5);
  CHECK(grad_fn_name(y) == "MeanBackward0");
  y.backward();
  require_values(x.grad(), {1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6});

  auto m0 = tg::mean(x, 0);
  require_values(m0, {2.5, 3.5, 4.5});
  CHECK(grad_fn_name(m0) == "MeanBackward1");
  require_values(x.mean(1), {2, 5});
  require_values(x.mean(-1), {2, 5});
  CHECK(x.mean(1, true).shape() == tg::Shape{2, 1});
  // out[i][k] = mean_j (12 i + 4 j + k) = 12 i + 4 + k
  require_values(arange234().mean(1), {4, 5, 6, 7, 16, 17, 18, 19});
  CHECK(tg::scalar_tensor<double>(-1.5).mean().item() == -1.5);
  CHECK(tg::scalar_tensor<double>(-1.5).mean(0).item() == -1.5);
  // NOTE: the mean of nothing is 0/0 = nan, as in PyTorch.
  CHECK(std::isnan(tg::zeros<double>({0}).mean().item()));

  auto z = m23(true);
  z.mean(1).sum().backward();
  require_values(z.grad(), {1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3});

  tg::Generator gen(33);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 4}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const auto all = [](const Tensor& t) { return t.mean(); };
  const auto d1 = [](const Tensor& t) { return t.mean(1); };
  const auto dk = [](const Tensor& t) { return t.mean(-1, true) * t; };
  for (const Tensor& in : {a, b, s}) {
    CHECK_GRAD(all, in);
    CHECK_GRADGRAD(all, in);
    CHECK_GRAD(dk, in);
    CHECK_GRADGRAD(dk, in);
  }
  CHECK_GRAD(d1, a);
  CHECK_GRAD(d1, b);
  CHECK_GRADGRAD(d1, b);
}

TEST_CASE("sum and mean: dims out of range", "[reduction][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.sum(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.sum(2), TG_CONTAINS("sum: dimension 2 is out of range for a tensor with 2 dimensions "
                                            "(expected a dim in [-2, 1])"));
  REQUIRE_THROWS_AS(x.sum(-3, true), tg::IndexError);
  REQUIRE_THROWS_WITH(x.sum(-3, true), TG_CONTAINS("sum: dimension -3 is out of range"));
  REQUIRE_THROWS_AS(x.mean(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.mean(2), TG_CONTAINS("mean: dimension 2 is out of range"));
  REQUIRE_THROWS_AS(tg::scalar_tensor<double>(1.0).sum(1), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::scalar_tensor<double>(1.0).sum(1),
                      TG_CONTAINS("dimension 1 is out of range for a tensor with 0 dimensions (expected a dim in [-1, 0])"));
  REQUIRE_THROWS_AS(values({1, 2}, {2}).mean(-2), tg::IndexError);
  REQUIRE_THROWS_WITH(values({1, 2}, {2}).mean(-2), TG_CONTAINS("for a tensor with 1 dimension (expected"));
}

TEST_CASE("max and min of all elements", "[reduction][max][min]") {
  auto x = values({1, 5, 3, 4, -2, 6}, {2, 3}, true);
  auto mx = x.max();
  auto mn = tg::min(x);
  CHECK(mx.shape() == tg::Shape{});
  CHECK(mx.item() == 6.0);
  CHECK(mn.item() == -2.0);
  CHECK(grad_fn_name(mx) == "MaxBackward1");
  CHECK(grad_fn_name(mn) == "MinBackward1");
  CHECK(tg::max(tg::scalar_tensor<double>(-7.0)).item() == -7.0);
  (mx * 2 + mn).backward();
  require_values(x.grad(), {0, 0, 0, 0, 1, 2});

  tg::Generator gen(34);
  const auto fmax = [](const Tensor& t) { return t.max(); };
  const auto fmin = [](const Tensor& t) { return t.min(); };
  const auto sq = [](const Tensor& t) { return t.max() * t.min(); };
  // randn values are distinct, so the extreme is unique and differentiable.
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), tg::randn<double>({5}, gen) * 30.0}) {
    CHECK_GRAD(fmax, in);
    CHECK_GRAD(fmin, in);
    CHECK_GRAD(sq, in);
    CHECK_GRADGRAD(fmax, in);
    CHECK_GRADGRAD(sq, in);
  }
}

TEST_CASE("max and min of all elements split the gradient evenly among ties", "[reduction][max][min]") {
  // NOTE: ties share the gradient evenly (torch.amax's choice).
  auto x = values({1, 3, 3, 0, 3, 2}, {2, 3}, true);
  auto mx = x.max();
  CHECK(mx.item() == 3.0);
  (mx * 6).backward();
  require_values(x.grad(), {0, 2, 2, 0, 2, 0});

  auto y = values({1, 1, 5, 1}, {2, 2}, true);
  y.min().backward();
  require_values(y.grad(), {1.0 / 3, 1.0 / 3, 0, 1.0 / 3});

  auto all_equal = values({2, 2, 2, 2}, {4}, true);
  all_equal.max().backward();
  require_values(all_equal.grad(), {0.25, 0.25, 0.25, 0.25});
}

TEST_CASE("max and min of an empty tensor", "[reduction][max][min][errors]") {
  const auto e = tg::zeros<double>({0});
  REQUIRE_THROWS_AS(e.max(), tg::ValueError);
  REQUIRE_THROWS_WITH(e.max(), TG_CONTAINS("max: cannot reduce an empty tensor (shape [0])"));
  REQUIRE_THROWS_AS(tg::min(tg::zeros<double>({2, 0})), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::min(tg::zeros<double>({2, 0})), TG_CONTAINS("min: cannot reduce an empty tensor (shape [2, 0])"));
}

TEST_CASE("max and min over a dim: values and indices", "[reduction][max][min]") {
  auto x = values({1, 5, 3, 4, 2, 6}, {2, 3}, true);

  auto r1 = x.max(1);
  CHECK(r1.values.shape() == tg::Shape{2});
  require_values(r1.values, {5, 6});
  CHECK(r1.indices.to_vector() == Indices{1, 2});
  CHECK(grad_fn_name(r1.values) == "MaxBackward0");
  CHECK(r1.indices.grad_fn() == nullptr);

  auto r0 = tg::max(x, 0);
  require_values(r0.values, {4, 5, 6});
  CHECK(r0.indices.to_vector() == Indices{1, 0, 1});

  auto rk = x.max(-1, true);
  CHECK(rk.values.shape() == tg::Shape{2, 1});
  CHECK(rk.indices.shape() == tg::Shape{2, 1});
  require_values(rk.values, {5, 6});
  CHECK(rk.indices.to_vector() == Indices{1, 2});

  auto n1 = x.min(1);
  require_values(n1.values, {1, 2});
  CHECK(n1.indices.to_vector() == Indices{0, 1});
  CHECK(grad_fn_name(n1.values) == "MinBackward0");
  auto n0 = tg::min(x, -2, true);
  CHECK(n0.values.shape() == tg::Shape{1, 3});
  require_values(n0.values, {1, 2, 3});
  CHECK(n0.indices.to_vector() == Indices{0, 1, 0});

  // The middle dim of a 3-D tensor: max over j of 12 i + 4 j + k is at j = 2.
  auto a = arange234().max(1);
  CHECK(a.values.shape() == tg::Shape{2, 4});
  require_values(a.values, {8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(a.indices.to_vector() == Indices{2, 2, 2, 2, 2, 2, 2, 2});
  auto b = tg::min(arange234(), 1);
  require_values(b.values, {0, 1, 2, 3, 12, 13, 14, 15});
  CHECK(b.indices.to_vector() == Indices{0, 0, 0, 0, 0, 0, 0, 0});

  // A 0-d tensor: its value at index 0.
  auto s = tg::scalar_tensor<double>(3.0, tg::requires_grad());
  auto rs = s.max(0);
  CHECK(rs.values.shape() == tg::Shape{});
  CHECK(rs.values.item() == 3.0);
  CHECK(rs.indices.item() == 0);
  rs.values.backward();
  CHECK(s.grad().item() == 1.0);

  // An empty dim that is not reduced gives an empty result.
  auto e = tg::zeros<double>({0, 3}).max(1);
  CHECK(e.values.shape() == tg::Shape{0});
  CHECK(e.indices.shape() == tg::Shape{0});

  // The gradient goes to the returned index.
  (r1.values * values({10, 100}, {2})).sum().backward();
  require_values(x.grad(), {0, 10, 0, 0, 0, 100});
}

TEST_CASE("max and min over a dim: ties go to the first index", "[reduction][max][min]") {
  // NOTE: over a dim the gradient goes to the returned (first) extreme element.
  auto x = values({3, 1, 3, 2, 2, 0}, {2, 3}, true);
  auto r = x.max(1);
  require_values(r.values, {3, 2});
  CHECK(r.indices.to_vector() == Indices{0, 0});
  r.values.sum().backward();
  require_values(x.grad(), {1, 0, 0, 1, 0, 0});

  auto y = values({1, 0, 0, 1}, {2, 2}, true);
  auto m = y.min(0);
  require_values(m.values, {0, 0});
  CHECK(m.indices.to_vector() == Indices{1, 0});
  m.values.sum().backward();
  require_values(y.grad(), {0, 1, 1, 0});
}

TEST_CASE("max and min over a dim: gradcheck and gradgradcheck", "[reduction][max][min]") {
  tg::Generator gen(35);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 4}, gen);
  const Tensor s = tg::randn<double>({}, gen), big = tg::randn<double>({3, 2}, gen) * 30.0;
  const auto max1 = [](const Tensor& t) { return t.max(1).values; };
  const auto min0k = [](const Tensor& t) { return t.min(0, true).values; };
  const auto maxneg = [](const Tensor& t) { return tg::max(t, -1).values; };
  // Squared, so the second derivative runs through the gather/scatter pair.
  const auto max_sq = [](const Tensor& t) { return t.max(1).values.pow(2); };
  const auto min_sq_k = [](const Tensor& t) { return t.min(-1, true).values * t; };
  const auto max0_sq = [](const Tensor& t) { return t.max(0).values.pow(2); };
  CHECK_GRAD(max1, a);
  CHECK_GRAD(max1, b);
  CHECK_GRAD(min0k, a);
  CHECK_GRAD(min0k, big);
  CHECK_GRAD(maxneg, b);
  CHECK_GRAD(max_sq, b);
  CHECK_GRAD(min_sq_k, a);
  CHECK_GRAD(maxneg, s);
  CHECK_GRAD(min0k, s);
  CHECK_GRADGRAD(max1, a);
  CHECK_GRADGRAD(min0k, b);
  CHECK_GRADGRAD(max_sq, a);
  CHECK_GRADGRAD(max_sq, b);
  CHECK_GRADGRAD(min_sq_k, a);
  CHECK_GRADGRAD(max0_sq, s);
}

TEST_CASE("max and min over a dim: errors", "[reduction][max][min][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.max(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.max(2), TG_CONTAINS("max: dimension 2 is out of range for a tensor with 2 dimensions"));
  REQUIRE_THROWS_AS(x.min(-3), tg::IndexError);
  REQUIRE_THROWS_WITH(x.min(-3), TG_CONTAINS("min: dimension -3 is out of range"));
  const auto e = tg::zeros<double>({2, 0});
  REQUIRE_THROWS_AS(e.max(1), tg::ValueError);
  REQUIRE_THROWS_WITH(e.max(1), TG_CONTAINS("max: cannot reduce dimension 1 of a tensor of shape [2, 0] because it "
                                            "is empty"));
  REQUIRE_THROWS_AS(tg::min(tg::zeros<double>({0}), 0), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::min(tg::zeros<double>({0}), 0), TG_CONTAINS("min: cannot reduce dimension 0"));
}

TEST_CASE("norm", "[reduction][norm]") {
  auto x = values({3, 4}, {2}, true);
  auto n = x.norm();
  CHECK(n.shape() == tg::Shape{});
  CHECK(n.item() == 5.0);
  CHECK(grad_fn_name(n) == "NormBackward1");
  n.backward();
  require_values(x.grad(), {0.6, 0.8});  // x / ||x||

  CHECK(tg::norm(values({1, 2, 2, 4}, {2, 2})).item() == 5.0);
  CHECK(tg::norm(tg::scalar_tensor<double>(-3.0)).item() == 3.0);
  CHECK(tg::norm(values({-30, 40}, {2})).item() == 50.0);
  CHECK(tg::zeros<double>({0}).norm().item() == 0.0);

  tg::Generator gen(36);
  const auto f = [](const Tensor& t) { return t.norm(); };
  const auto g = [](const Tensor& t) { return t.norm() * t; };
  for (const Tensor& in :
       {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen) + 2.0, values({-30, 1e-3, 30, -0.5}, {4})}) {
    CHECK_GRAD(f, in);
    CHECK_GRAD(g, in);
    CHECK_GRADGRAD(f, in);
    CHECK_GRADGRAD(g, in);
  }
}

TEST_CASE("norm at zero has gradient 0", "[reduction][norm]") {
  // NOTE: the subgradient at 0 is 0 (PyTorch's choice), not the nan of 0/0.
  auto z = tg::zeros<double>({2, 3}, tg::requires_grad());
  auto n = z.norm();
  CHECK(n.item() == 0.0);
  (n * 5).backward();
  require_values(z.grad(), {0, 0, 0, 0, 0, 0}, 0);
  for (double v : z.grad().to_vector()) CHECK_FALSE(std::isnan(v));

  auto s = tg::scalar_tensor<double>(0.0, tg::requires_grad());
  s.norm().backward();
  CHECK(s.grad().item() == 0.0);
}

TEST_CASE("reductions on float tensors", "[reduction][float]") {
  auto x = tg::tensor<float>({1.5f, -4.0f, 2.5f, 3.0f}).reshape({2, 2});
  CHECK(x.sum().item() == 3.0f);
  CHECK(x.mean().item() == 0.75f);
  CHECK(x.max().item() == 3.0f);
  CHECK(x.min().item() == -4.0f);
  CHECK(x.sum(0).to_vector() == std::vector<float>{4.0f, -1.0f});
  const auto r = x.max(1);
  CHECK(r.values.to_vector() == std::vector<float>{1.5f, 3.0f});
  CHECK(r.indices.to_vector() == Indices{0, 1});
  CHECK(tg::tensor<float>({3.0f, 4.0f}).norm().item() == 5.0f);
}
