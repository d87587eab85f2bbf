#include "test_util.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace ops_reduction_test {

// sum, mean (all elements, one dim or a list of dims), prod, var, std, max/min (all
// elements or one dim), amax/amin, argmax/argmin, norm (2-norm and p-norms).

namespace {

using Indices = std::vector<std::int64_t>;

// [[1, 2, 3], [4, 5, 6]]
Tensor m23(bool requires_grad = false) { return values({1, 2, 3, 4, 5, 6}, {2, 3}, requires_grad); }

// x[i][j][k] = 12 i + 4 j + k
Tensor arange234() { return tg::arange<double>(24).reshape({2, 3, 4}); }

const double kInf = std::numeric_limits<double>::infinity();
const double kNan = std::numeric_limits<double>::quiet_NaN();

// x.grad() after f(x).sum().backward() for x = values(v, shape).
template <typename F>
Tensor grad_of(F f, const std::vector<double>& v, const tg::Shape& shape) {
  auto x = values(v, shape, true);
  f(x).sum().backward();
  return x.grad();
}

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

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

// ---- sum and mean over a list of dims ----

TEST_CASE("sum over a list of dims: values, keepdim, negative dims", "[reduction][sum][dims]") {
  auto a = arange234();  // a[i][j][k] = 12 i + 4 j + k
  // over i and k: sum_{i,k} (12 i + 4 j + k) = 4 * 12 + 8 * 4 j + 2 * 6 = 60 + 32 j
  auto s02 = tg::sum(a, {0, 2});
  CHECK(s02.shape() == tg::Shape{3});
  require_values(s02, {60, 92, 124});
  // over j and k: sum_{j,k} (12 i + 4 j + k) = 144 i + 48 + 18 = 144 i + 66
  auto s12 = a.sum({-1, -2}, true);
  CHECK(s12.shape() == tg::Shape{2, 1, 1});
  require_values(s12, {66, 210});
  // one dim in a list is the same as that dim alone
  require_values(a.sum({1}), a.sum(1).to_vector());
  // all dims, in any order, equal the full sum (276); {} means every dim
  CHECK(a.sum({2, 0, 1}).shape() == tg::Shape{});
  CHECK(a.sum({2, 0, 1}).item() == 276.0);
  CHECK(a.sum({}).item() == 276.0);
  CHECK(a.sum({}, true).shape() == tg::Shape{1, 1, 1});
  CHECK(tg::sum(a, std::vector<std::int64_t>{}).item() == 276.0);
  // a 0-d tensor reduces to itself over {0}, {-1} or {}
  auto z = tg::scalar_tensor<double>(2.5);
  CHECK(z.sum({0}).shape() == tg::Shape{});
  CHECK(z.sum({-1}, true).item() == 2.5);
  CHECK(z.sum({}).item() == 2.5);
  // empty tensors: the empty dim sums to 0
  auto e = tg::zeros<double>({0, 3});
  CHECK(e.sum({0}).shape() == tg::Shape{3});
  require_values(e.sum({0}), {0, 0, 0});
  CHECK(e.sum({1}).shape() == tg::Shape{0});
  CHECK(tg::zeros<double>({2, 0}).sum({1}).to_vector() == std::vector<double>{0, 0});

  auto x = values({1, 2, 3, 4, 5, 6}, {1, 2, 3}, true);
  auto y = x.sum({0, 2});
  CHECK(grad_fn_name(y) == "SumBackward1");
  require_values(y, {6, 15});
  (y * values({1, 10}, {2})).sum().backward();
  require_values(x.grad(), {1, 1, 1, 10, 10, 10});
}

TEST_CASE("sum and mean: overload spellings", "[reduction][sum][mean][dims]") {
  const auto x = m23();
  // x.sum(1) is one dim, x.sum({0, 1}) a list, x.sum(-1, true) one dim with keepdim
  require_values(x.sum(1), {6, 15});
  CHECK(x.sum({0, 1}).item() == 21.0);
  CHECK(x.sum(-1, true).shape() == tg::Shape{2, 1});
  require_values(x.sum(-1, true), {6, 15});
  CHECK(x.sum({0, 1}, true).shape() == tg::Shape{1, 1});
  require_values(x.sum({1}), {6, 15});
  CHECK(x.sum({}).item() == 21.0);
  const std::int64_t dim = 0;
  require_values(x.sum(dim), {5, 7, 9});
  const std::vector<std::int64_t> dims{0};
  require_values(x.sum(dims), {5, 7, 9});
  require_values(tg::sum(x, dims, true), {5, 7, 9});
  require_values(tg::sum(x, {1}), {6, 15});
  CHECK(tg::sum(x, {0, 1}, true).shape() == tg::Shape{1, 1});
  require_values(x.mean(1), {2, 5});
  CHECK(x.mean({0, 1}).item() == 3.5);
  require_values(x.mean(-1, true), {2, 5});
  require_values(x.mean({0}), {2.5, 3.5, 4.5});
  require_values(tg::mean(x, dims, true), {2.5, 3.5, 4.5});
  CHECK(tg::mean(x, {}).item() == 3.5);
}

TEST_CASE("mean over a list of dims", "[reduction][mean][dims]") {
  auto a = arange234();
  // mean over i and k of 12 i + 4 j + k = 6 + 4 j + 1.5
  auto m = tg::mean(a, {0, -1});
  CHECK(m.shape() == tg::Shape{3});
  require_values(m, {7.5, 11.5, 15.5});
  CHECK(a.mean({0, 1, 2}).item() == 11.5);
  CHECK(a.mean({1, 2}, true).shape() == tg::Shape{2, 1, 1});
  require_values(a.mean({1, 2}, true), {5.5, 17.5});
  // NOTE: a mean over no elements is nan (0/0), as in PyTorch.
  auto e = tg::zeros<double>({0, 2}).mean({0});
  CHECK(e.shape() == tg::Shape{2});
  CHECK(std::isnan(e.at({0})));

  auto x = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto y = x.mean({0, 1});
  CHECK(grad_fn_name(y) == "MeanBackward1");
  y.backward();
  require_values(x.grad(), {1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6});
}

TEST_CASE("sum and mean over a list of dims: gradcheck and gradgradcheck", "[reduction][sum][mean][dims]") {
  tg::Generator gen(41);
  const Tensor a = tg::randn<double>({2, 3, 4}, gen), b = tg::randn<double>({3, 2}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const auto sum02 = [](const Tensor& t) { return t.sum({0, 2}); };
  const auto sum_all_k = [](const Tensor& t) { return t.sum({}, true) * t; };
  const auto mean12k = [](const Tensor& t) { return t.mean({-1, -2}, true) * t; };
  const auto mean0 = [](const Tensor& t) { return t.mean({0}).pow(2); };
  CHECK_GRAD(sum02, a);
  CHECK_GRAD(sum_all_k, a);
  CHECK_GRAD(sum_all_k, s);
  CHECK_GRAD(mean12k, a);
  CHECK_GRAD(mean12k, b);
  CHECK_GRAD(mean0, s);
  CHECK_GRADGRAD(sum02, a);
  CHECK_GRADGRAD(sum_all_k, b);
  CHECK_GRADGRAD(mean12k, a);
  CHECK_GRADGRAD(mean0, b);
  CHECK_GRADGRAD(mean0, s);
}

TEST_CASE("reductions over a list of dims: errors", "[reduction][dims][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.sum({1, -1}), tg::ValueError);
  REQUIRE_THROWS_WITH(x.sum({1, -1}), TG_CONTAINS("sum: dimension 1 appears more than once in dims [1, -1] for a "
                                                  "tensor of shape [2, 3]; name each dimension at most once"));
  REQUIRE_THROWS_AS(x.mean({0, 0}), tg::ValueError);
  REQUIRE_THROWS_WITH(x.mean({0, 0}), TG_CONTAINS("mean: dimension 0 appears more than once"));
  REQUIRE_THROWS_AS(tg::scalar_tensor<double>(1.0).sum({0, -1}), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::scalar_tensor<double>(1.0).sum({0, -1}), TG_CONTAINS("appears more than once"));
  REQUIRE_THROWS_AS(x.sum({0, 2}), tg::IndexError);
  REQUIRE_THROWS_WITH(x.sum({0, 2}), TG_CONTAINS("sum: dimension 2 is out of range for a tensor with 2 dimensions"));
  REQUIRE_THROWS_AS(x.mean({-3}), tg::IndexError);
  REQUIRE_THROWS_WITH(x.mean({-3}), TG_CONTAINS("mean: dimension -3 is out of range"));
}

// ---- prod ----

TEST_CASE("prod: values", "[reduction][prod]") {
  auto x = m23(true);
  auto p = x.prod();
  CHECK(p.shape() == tg::Shape{});
  CHECK(p.item() == 720.0);
  CHECK(grad_fn_name(p) == "ProdBackward0");
  auto p1 = x.prod(1);
  CHECK(p1.shape() == tg::Shape{2});
  require_values(p1, {6, 120});
  CHECK(grad_fn_name(p1) == "ProdBackward1");
  require_values(tg::prod(x, 0), {4, 10, 18});
  CHECK(x.prod(-1, true).shape() == tg::Shape{2, 1});
  require_values(x.prod(-1, true), {6, 120});
  // middle dim of a 3-D tensor: prod over j of (12 i + 4 j + k)
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) expected.push_back(double(12 * i + k) * (12 * i + 4 + k) * (12 * i + 8 + k));
  require_values(arange234().prod(1), expected);
  CHECK(tg::scalar_tensor<double>(-3.0).prod().item() == -3.0);
  CHECK(tg::scalar_tensor<double>(-3.0).prod(0).item() == -3.0);
  CHECK(tg::zeros<double>({0}).prod().item() == 1.0);  // the empty product
  require_values(tg::zeros<double>({2, 0}).prod(1), {1, 1});
  CHECK(values({2, 0, 3}, {3}).prod().item() == 0.0);

  p.backward();
  require_values(x.grad(), {720, 360, 240, 180, 144, 120});  // prod / x
  auto y = m23(true);
  y.prod(1).sum().backward();
  require_values(y.grad(), {6, 3, 2, 30, 24, 20});
}

TEST_CASE("prod: gradient with zeros in the input", "[reduction][prod]") {
  // NOTE: the gradient is the product of the other elements (PyTorch's prod_backward):
  // one zero gets the product of the rest, every other element 0; two zeros: all 0.
  const auto all = [](const Tensor& t) { return t.prod(); };
  require_values(grad_of(all, {2, 0, 3, 4}, {4}), {0, 24, 0, 0}, 0);
  require_values(grad_of(all, {2, 0, 3, 0}, {2, 2}), {0, 0, 0, 0}, 0);
  require_values(grad_of(all, {0}, {1}), {1}, 0);
  require_values(grad_of(all, {0, 5}, {2}), {5, 0}, 0);
  CHECK(grad_of(all, {0}, {}).item() == 1.0);
  // per lane: [2, 0, 3] -> [0, 6, 0]; [0, 0, 5] -> 0; [1, 2, 3] -> [6, 3, 2]
  const auto dim1 = [](const Tensor& t) { return t.prod(1); };
  require_values(grad_of(dim1, {2, 0, 3, 0, 0, 5, 1, 2, 3}, {3, 3}), {0, 6, 0, 0, 0, 0, 6, 3, 2}, 0);
  // over dim 0: column (2, 3, 0) -> [0, 0, 6]; column (0, 4, 5) -> [20, 0, 0]
  const auto dim0 = [](const Tensor& t) { return t.prod(0, true); };
  require_values(grad_of(dim0, {2, 0, 3, 4, 0, 5}, {3, 2}), {0, 20, 0, 0, 6, 0}, 0);
  for (const Tensor& g : {grad_of(all, {0, 0, 0}, {3}), grad_of(dim1, {0, 1, 0, 1}, {2, 2})})
    CHECK(all_finite(g));
}

TEST_CASE("prod: gradcheck and gradgradcheck, with and without zeros", "[reduction][prod]") {
  tg::Generator gen(42);
  const Tensor a = away_from_zero({2, 3}, gen), b = away_from_zero({2, 3, 2}, gen), s = away_from_zero({}, gen);
  const Tensor one_zero = values({1.5, 0, -0.7, 1.2, 0.8, -1.1}, {2, 3});
  const Tensor two_zeros = values({0, 1.3, 0, -0.9}, {4});
  const Tensor lane_zeros = values({0.5, 0, 0, 1.4, -1.2, 0.9, 0, 0.6, 1.1}, {3, 3});  // two, one, one zero per row
  const auto all = [](const Tensor& t) { return t.prod(); };
  const auto dim1 = [](const Tensor& t) { return t.prod(1); };
  const auto dim0k = [](const Tensor& t) { return t.prod(0, true) * t; };
  const auto last = [](const Tensor& t) { return tg::prod(t, -1); };
  for (const Tensor& in : {a, s, one_zero, two_zeros, lane_zeros}) {
    CHECK_GRAD(all, in);
    CHECK_GRADGRAD(all, in);
    CHECK_GRAD(last, in);
    CHECK_GRADGRAD(last, in);
  }
  for (const Tensor& in : {a, b, one_zero, lane_zeros}) {
    CHECK_GRAD(dim1, in);
    CHECK_GRADGRAD(dim1, in);
    CHECK_GRAD(dim0k, in);
    CHECK_GRADGRAD(dim0k, in);
  }
}

TEST_CASE("prod: higher derivatives at zeros are exact", "[reduction][prod]") {
  // p = x0 x1 x2 at x = (2, 0, 0): d2p/dx1 dx2 = x0 = 2, d3p/dx0 dx1 dx2 = 1.
  auto x = values({2, 0, 0}, {3}, true);
  auto g1 = tg::grad(x.prod(), {x}, {}, std::nullopt, true)[0];
  require_values(g1, {0, 0, 0}, 0);  // x1 x2, x0 x2, x0 x1
  auto g1_1 = tg::grad(tg::sum(g1 * values({0, 1, 0}, {3})), {x}, {}, std::nullopt, true)[0];
  require_values(g1_1, {0, 0, 2}, 0);  // d/dx (x0 x2) = (x2, 0, x0)
  auto g1_12 = tg::grad(tg::sum(g1_1 * values({1, 0, 0}, {3})), {x}, {}, std::nullopt, true)[0];
  require_values(g1_12, {0, 0, 1}, 0);  // d/dx x2 = (0, 0, 1)
}

TEST_CASE("prod: errors", "[reduction][prod][errors]") {
  REQUIRE_THROWS_AS(m23().prod(2), tg::IndexError);
  REQUIRE_THROWS_WITH(m23().prod(2), TG_CONTAINS("prod: dimension 2 is out of range for a tensor with 2 dimensions"));
  REQUIRE_THROWS_AS(tg::prod(m23(), -3, true), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::prod(m23(), -3, true), TG_CONTAINS("prod: dimension -3 is out of range"));
}

// ---- var and std ----

TEST_CASE("var and std: values", "[reduction][var][std]") {
  const auto x = m23();  // mean 3.5, squared deviations sum to 17.5
  CHECK(x.var().item() == Approx(3.5).epsilon(1e-14));
  CHECK(x.var(true).item() == Approx(3.5).epsilon(1e-14));
  CHECK(x.var(false).item() == Approx(17.5 / 6).epsilon(1e-14));
  CHECK(tg::std(x).item() == Approx(std::sqrt(3.5)).epsilon(1e-14));
  CHECK(x.std(false).item() == Approx(std::sqrt(17.5 / 6)).epsilon(1e-14));
  // rows [1, 2, 3], [4, 5, 6]: squared deviations sum to 2
  CHECK(x.var(1).shape() == tg::Shape{2});
  require_values(x.var(1), {1, 1});
  require_values(x.var(1, false), {2.0 / 3, 2.0 / 3});
  require_values(x.std(-1, false), {std::sqrt(2.0 / 3), std::sqrt(2.0 / 3)});
  CHECK(x.var(1, true, true).shape() == tg::Shape{2, 1});
  // columns [1, 4], ...: squared deviations sum to 4.5
  require_values(tg::var(x, 0), {4.5, 4.5, 4.5});
  require_values(tg::std(x, 0, false, true), {1.5, 1.5, 1.5});
  CHECK(tg::std(x, 0, false, true).shape() == tg::Shape{1, 3});
  // over i and k of 12 i + 4 j + k: {0..3, 12..15} + 4 j, mean 7.5, squared deviations 298
  auto a = arange234();
  require_values(a.var({0, 2}), {298.0 / 7, 298.0 / 7, 298.0 / 7}, 1e-12);
  require_values(tg::var(a, {0, -1}, false), {37.25, 37.25, 37.25}, 1e-12);
  CHECK(a.std({0, 2}, false, true).shape() == tg::Shape{1, 3, 1});
  require_values(a.std({0, 2}, false, true), {std::sqrt(37.25), std::sqrt(37.25), std::sqrt(37.25)}, 1e-12);
  CHECK(a.var({}).item() == Approx(50.0).epsilon(1e-14));  // 0..23: (24^2 - 1) / 12 * 24 / 23 = 50
  const std::vector<std::int64_t> dims{1, 2};
  require_values(tg::var(a, dims, false), {143.0 / 12, 143.0 / 12}, 1e-12);  // 4 j + k over j<3, k<4
  // large offsets do not lose the small spread (two passes: mean first)
  CHECK(values({1e9 + 1, 1e9 + 2, 1e9 + 3}, {3}).var().item() == Approx(1.0).epsilon(1e-9));
}

TEST_CASE("var and std: gradients", "[reduction][var][std]") {
  auto x = m23(true);
  auto v = x.var();
  CHECK(grad_fn_name(v) == "VarBackward0");
  v.backward();
  require_values(x.grad(), {-1, -0.6, -0.2, 0.2, 0.6, 1}, 1e-14);  // 2 (x - 3.5) / 5
  auto y = m23(true);
  auto s = y.std();
  CHECK(grad_fn_name(s) == "StdBackward0");
  s.backward();
  const double d = 5 * std::sqrt(3.5);  // (x - mean) / ((n - 1) std)
  require_values(y.grad(), {-2.5 / d, -1.5 / d, -0.5 / d, 0.5 / d, 1.5 / d, 2.5 / d}, 1e-14);
  CHECK(grad_fn_name(y.var(1)) == "VarBackward0");
  CHECK(grad_fn_name(y.std({0, 1})) == "StdBackward0");
  auto z = m23(true);
  z.var(1, false).sum().backward();  // 2 (x - row mean) / 3
  require_values(z.grad(), {-2.0 / 3, 0, 2.0 / 3, -2.0 / 3, 0, 2.0 / 3}, 1e-14);

  tg::Generator gen(43);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 2}, gen);
  const auto var_all = [](const Tensor& t) { return t.var(); };
  const auto var_b1 = [](const Tensor& t) { return t.var(1, false); };
  const auto var_dims = [](const Tensor& t) { return t.var({0, 2}, true, true) * t; };
  const auto std_all = [](const Tensor& t) { return t.std(false); };
  const auto std_dim = [](const Tensor& t) { return t.std(-1, true, true) * t; };
  const auto std_dims = [](const Tensor& t) { return t.std({0, -1}); };
  CHECK_GRAD(var_all, a);
  CHECK_GRAD(var_b1, a);
  CHECK_GRAD(var_dims, b);
  CHECK_GRAD(std_all, a);
  CHECK_GRAD(std_dim, a);
  CHECK_GRAD(std_dims, b);
  CHECK_GRADGRAD(var_all, a);
  CHECK_GRADGRAD(var_b1, b);
  CHECK_GRADGRAD(var_dims, b);
  CHECK_GRADGRAD(std_all, a);
  CHECK_GRADGRAD(std_dim, b);
  CHECK_GRADGRAD(std_dims, b);
  // 0-d: the biased spread of one element is 0 (gradient 0); the unbiased one is nan
  const Tensor scalar = tg::randn<double>({}, gen);
  const auto var_0d = [](const Tensor& t) { return t.var(0, false) * t; };
  const auto std_0d = [](const Tensor& t) { return t.std(false) + t; };
  CHECK_GRAD(var_0d, scalar);
  CHECK_GRAD(std_0d, scalar);
  CHECK_GRADGRAD(var_0d, scalar);
  CHECK_GRADGRAD(std_0d, scalar);
}

TEST_CASE("var and std: edge cases", "[reduction][var][std]") {
  // NOTE: count <= correction gives nan (0/0) and a nan gradient, as in PyTorch.
  auto one = values({5}, {1}, true);
  auto v = one.var();
  CHECK(std::isnan(v.item()));
  v.backward();
  CHECK(std::isnan(one.grad().item()));
  CHECK(std::isnan(tg::scalar_tensor<double>(2.0).var().item()));
  CHECK(std::isnan(tg::zeros<double>({0}).var(false).item()));
  CHECK(std::isnan(values({1, 2}, {2, 1}).std(1).at({0})));
  // biased over one element: 0, gradient 0
  CHECK(values({5}, {1}).var(false).item() == 0.0);
  require_values(grad_of([](const Tensor& t) { return t.var(false); }, {5}, {1}), {0}, 0);
  // NOTE: std of equal elements is 0 with gradient 0 (PyTorch masks the 0/0), not nan.
  auto eq = values({2, 2, 2}, {3}, true);
  auto s = eq.std();
  CHECK(s.item() == 0.0);
  s.backward();
  require_values(eq.grad(), {0, 0, 0}, 0);
  require_values(grad_of([](const Tensor& t) { return t.std(1); }, {1, 1, 1, 2}, {2, 2}),
                 {0, 0, -0.5 / std::sqrt(0.5), 0.5 / std::sqrt(0.5)}, 1e-14);
  require_values(grad_of([](const Tensor& t) { return t.std(false); }, {7}, {1}), {0}, 0);
}

TEST_CASE("var and std: overload spellings and errors", "[reduction][var][std][errors]") {
  const auto x = m23();
  const std::int64_t dim = 1;
  const int small_dim = 0;
  require_values(x.var(dim), {1, 1});
  require_values(x.var(small_dim, false), {2.25, 2.25, 2.25});
  require_values(x.var({1}), {1, 1});
  CHECK(x.var({0, 1}, false, true).shape() == tg::Shape{1, 1});
  CHECK(x.var({}, false).item() == Approx(17.5 / 6).epsilon(1e-14));
  require_values(tg::std(x, 1), {1, 1});
  require_values(tg::var(x, std::vector<std::int64_t>{0}, false), {2.25, 2.25, 2.25});

  REQUIRE_THROWS_AS(x.var(2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.var(2), TG_CONTAINS("var: dimension 2 is out of range for a tensor with 2 dimensions"));
  REQUIRE_THROWS_AS(x.std({0, -2}), tg::ValueError);
  REQUIRE_THROWS_WITH(x.std({0, -2}), TG_CONTAINS("std: dimension 0 appears more than once in dims [0, -2]"));
  REQUIRE_THROWS_AS(tg::std(x, -3), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::std(x, -3), TG_CONTAINS("std: dimension -3 is out of range"));
}

// ---- amax, amin ----

TEST_CASE("amax and amin: values and tie-splitting gradients", "[reduction][amax][amin]") {
  auto x = values({1, 3, 3, 2, 2, 0}, {2, 3}, true);
  auto m1 = x.amax(1);
  CHECK(m1.shape() == tg::Shape{2});
  require_values(m1, {3, 2});
  CHECK(grad_fn_name(m1) == "AmaxBackward0");
  // NOTE: ties split the gradient evenly, as torch.amax
  (m1 * values({2, 10}, {2})).sum().backward();
  require_values(x.grad(), {0, 1, 1, 5, 5, 0});

  require_values(grad_of([](const Tensor& t) { return t.amax({0, 1}); }, {1, 3, 3, 2, 2, 0}, {2, 3}),
                 {0, 0.5, 0.5, 0, 0, 0});
  require_values(grad_of([](const Tensor& t) { return t.amax(); }, {4, 4, 4, 4}, {2, 2}), {0.25, 0.25, 0.25, 0.25});
  auto n0 = tg::amin(values({1, 2, 1, 3}, {2, 2}), 0);
  require_values(n0, {1, 2});
  CHECK(grad_fn_name(tg::amin(x, 0)) == "AminBackward0");
  require_values(grad_of([](const Tensor& t) { return t.amin(0); }, {1, 2, 1, 3}, {2, 2}), {0.5, 1, 0.5, 0});
  require_values(grad_of([](const Tensor& t) { return t.amin(-1, true); }, {5, -1, -1, 0}, {1, 4}), {0, 0.5, 0.5, 0});

  auto a = arange234();
  CHECK(a.amax({0, 2}).shape() == tg::Shape{3});
  require_values(a.amax({0, 2}), {15, 19, 23});
  CHECK(a.amin({1, 2}, true).shape() == tg::Shape{2, 1, 1});
  require_values(a.amin({1, 2}, true), {0, 12});
  CHECK(a.amax().item() == 23.0);
  CHECK(a.amin({}).item() == 0.0);
  require_values(tg::amax(a, std::vector<std::int64_t>{1}), a.max(1).values.to_vector());
  CHECK(tg::scalar_tensor<double>(-4.0).amax(0).item() == -4.0);
  // -inf is a value like any other; a nan propagates (as in PyTorch)
  CHECK(values({-kInf, -kInf}, {2}).amax().item() == -kInf);
  CHECK(std::isnan(values({1, kNan, 3}, {3}).amax().item()));
  CHECK(std::isnan(values({1, kNan, 3}, {3}).amin().item()));
  // an empty dim that is not reduced gives an empty result
  CHECK(tg::zeros<double>({0, 3}).amax(1).shape() == tg::Shape{0});
}

TEST_CASE("amax and amin: gradcheck and gradgradcheck", "[reduction][amax][amin]") {
  tg::Generator gen(44);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 2}, gen);
  const Tensor s = tg::randn<double>({}, gen);
  const auto amax1 = [](const Tensor& t) { return t.amax(1); };
  const auto amin_dims = [](const Tensor& t) { return t.amin({0, -1}, true) * t; };
  const auto amax_all_sq = [](const Tensor& t) { return t.amax().pow(2); };
  CHECK_GRAD(amax1, a);
  CHECK_GRAD(amax1, b);
  CHECK_GRAD(amin_dims, b);
  CHECK_GRAD(amax_all_sq, a);
  CHECK_GRAD(amax_all_sq, s);
  CHECK_GRADGRAD(amax1, b);
  CHECK_GRADGRAD(amin_dims, b);
  CHECK_GRADGRAD(amin_dims, a);
  CHECK_GRADGRAD(amax_all_sq, a);
  CHECK_GRADGRAD(amax_all_sq, s);
}

TEST_CASE("amax and amin: errors", "[reduction][amax][amin][errors]") {
  REQUIRE_THROWS_AS(tg::zeros<double>({0, 3}).amax(0), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::zeros<double>({0, 3}).amax(0),
                      TG_CONTAINS("amax: cannot reduce over dims [0] of a tensor of shape [0, 3] because they hold no "
                                  "elements"));
  REQUIRE_THROWS_AS(tg::zeros<double>({0}).amin(), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::zeros<double>({0}).amin(), TG_CONTAINS("amin: cannot reduce over dims []"));
  REQUIRE_THROWS_AS(m23().amax(2), tg::IndexError);
  REQUIRE_THROWS_WITH(m23().amax(2), TG_CONTAINS("amax: dimension 2 is out of range"));
  REQUIRE_THROWS_AS(m23().amin({1, 1}), tg::ValueError);
  REQUIRE_THROWS_WITH(m23().amin({1, 1}), TG_CONTAINS("amin: dimension 1 appears more than once"));
}

// ---- argmax, argmin ----

TEST_CASE("argmax and argmin", "[reduction][argmax][argmin]") {
  const auto x = values({1, 5, 5, 7, 0, 7}, {2, 3});
  const tg::Tensor<std::int64_t> flat = x.argmax();
  CHECK(flat.shape() == tg::Shape{});
  CHECK(flat.item() == 3);  // the first 7, as a flat row-major index
  CHECK(tg::argmin(x).item() == 4);
  CHECK(x.argmax(1).to_vector() == Indices{1, 0});  // first index on ties
  CHECK(x.argmin(1).to_vector() == Indices{0, 1});
  CHECK(tg::argmax(x, 0).to_vector() == Indices{1, 0, 1});
  CHECK(tg::argmin(x, -2).to_vector() == Indices{0, 1, 0});
  CHECK(x.argmax(-1, true).shape() == tg::Shape{2, 1});
  CHECK(x.argmax(-1, true).to_vector() == Indices{1, 0});
  CHECK(x.argmin(0, true).shape() == tg::Shape{1, 3});
  // the middle dim of a 3-D tensor: 12 i + 4 j + k is greatest at j = 2
  CHECK(arange234().argmax(1).to_vector() == Indices{2, 2, 2, 2, 2, 2, 2, 2});
  CHECK(arange234().argmin(2).shape() == tg::Shape{2, 3});
  CHECK(arange234().argmax().item() == 23);
  // 0-d: index 0
  const auto s = tg::scalar_tensor<double>(2.0);
  CHECK(s.argmax().item() == 0);
  CHECK(s.argmin(0).item() == 0);
  CHECK(s.argmax(-1, true).shape() == tg::Shape{});
  // a nan counts as the extreme (the first one), as in PyTorch
  const auto n = values({1, kNan, 3, kNan}, {4});
  CHECK(n.argmax().item() == 1);
  CHECK(n.argmin().item() == 1);
  CHECK(values({-kInf, 2, kInf}, {3}).argmax().item() == 2);
  CHECK(values({-kInf, 2, kInf}, {3}).argmin().item() == 0);
  // not differentiable: no graph
  auto g = values({1, 2}, {2}, true);
  CHECK(g.argmax().grad_fn() == nullptr);
  CHECK_FALSE(g.argmax(0).requires_grad());
  CHECK(tg::zeros<double>({0, 3}).argmax(1).shape() == tg::Shape{0});
}

TEST_CASE("argmax and argmin: errors", "[reduction][argmax][argmin][errors]") {
  REQUIRE_THROWS_AS(tg::zeros<double>({0}).argmax(), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::zeros<double>({0}).argmax(),
                      TG_CONTAINS("argmax: cannot reduce an empty tensor (shape [0])"));
  REQUIRE_THROWS_AS(tg::zeros<double>({2, 0}).argmin(1), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::zeros<double>({2, 0}).argmin(1),
                      TG_CONTAINS("argmin: cannot reduce dimension 1 of a tensor of shape [2, 0] because it is empty"));
  REQUIRE_THROWS_AS(m23().argmax(2), tg::IndexError);
  REQUIRE_THROWS_WITH(m23().argmax(2),
                      TG_CONTAINS("argmax: dimension 2 is out of range for a tensor with 2 dimensions"));
}

// ---- p-norms ----

TEST_CASE("norm with p: values", "[reduction][norm]") {
  const auto x = values({3, -4, 0, 12}, {4});
  CHECK(x.norm(1).item() == 19.0);
  CHECK(x.norm(2).item() == 13.0);
  CHECK(x.norm(2.0).item() == 13.0);
  CHECK(x.norm("fro").item() == 13.0);
  CHECK(x.norm(kInf).item() == 12.0);
  CHECK(x.norm(-kInf).item() == 0.0);
  CHECK(x.norm(0).item() == 3.0);  // nonzero count
  CHECK(x.norm(3).item() == Approx(std::cbrt(27.0 + 64 + 1728)).epsilon(1e-14));
  CHECK(x.norm(0.5).item() == Approx(std::pow(std::sqrt(3.0) + 2 + std::sqrt(12.0), 2)).epsilon(1e-14));
  CHECK(values({2, -4, 4}, {3}).norm(-1).item() == Approx(1.0).epsilon(1e-14));  // (1/2 + 1/4 + 1/4)^-1
  CHECK(values({2, -4, 0}, {3}).norm(-1).item() == 0.0);  // a zero dominates a negative p
  const double n15 = std::pow(std::pow(3.0, 1.5) + 8 + std::pow(12.0, 1.5), 1 / 1.5);
  CHECK(tg::norm(x, 1.5f).item() == Approx(n15).epsilon(1e-12));

  const auto m = m23();
  CHECK(m.norm(2, 1).shape() == tg::Shape{2});
  require_values(m.norm(2, 1), {std::sqrt(14.0), std::sqrt(77.0)});
  require_values(tg::norm(m, 1, 0), {5, 7, 9});
  require_values(m.norm(kInf, {0}, true), {4, 5, 6});
  CHECK(m.norm(kInf, {0}, true).shape() == tg::Shape{1, 3});
  CHECK(m.norm("fro", {0, 1}).item() == Approx(std::sqrt(91.0)).epsilon(1e-14));
  CHECK(m.norm("fro", {0, 1}, true).shape() == tg::Shape{1, 1});
  require_values(m.norm("fro", -1), {std::sqrt(14.0), std::sqrt(77.0)});
  require_values(tg::norm(m, "fro", std::vector<std::int64_t>{0}), {std::sqrt(17.0), std::sqrt(29.0), std::sqrt(45.0)});
  require_values(m.norm(3, {}), {std::cbrt(441.0)});
  auto a = arange234();
  require_values(a.norm(1, {0, 2}), {60, 92, 124});  // all entries are >= 0: the sum
  CHECK(grad_fn_name(values({1, 2}, {2}, true).norm(1)) == "NormBackward1");
  CHECK(grad_fn_name(values({1, 2}, {2}, true).norm("fro", 0)) == "NormBackward1");
  CHECK(tg::zeros<double>({0}).norm(1).item() == 0.0);
  CHECK(tg::zeros<double>({0}).norm(3).item() == 0.0);
  CHECK(tg::scalar_tensor<double>(-2.0).norm(kInf).item() == 2.0);
  CHECK(std::isnan(values({1, kNan}, {2}).norm(kInf).item()));
}

TEST_CASE("norm with p: gradients, zeros and ties", "[reduction][norm]") {
  const std::vector<double> v{3, -4, 0, 12};
  // NOTE: p = 1: sign(x), with the subgradient 0 at x = 0
  require_values(grad_of([](const Tensor& t) { return t.norm(1); }, v, {4}), {1, -1, 0, 1}, 0);
  require_values(grad_of([](const Tensor& t) { return t.norm(2); }, v, {4}), {3 / 13.0, -4 / 13.0, 0, 12 / 13.0}, 1e-15);
  // p = 3: sign(x) |x|^2 / ||x||^2
  const double n3 = std::cbrt(1819.0);
  require_values(grad_of([](const Tensor& t) { return t.norm(3); }, v, {4}),
                 {9 / (n3 * n3), -16 / (n3 * n3), 0, 144 / (n3 * n3)}, 1e-14);
  // NOTE: p < 1: the gradient at x = 0 is infinite and taken as 0 (PyTorch's choice)
  const double nh = std::pow(std::sqrt(3.0) + 2 + std::sqrt(12.0), 2);
  require_values(grad_of([](const Tensor& t) { return t.norm(0.5); }, v, {4}),
                 {std::sqrt(nh / 3), -std::sqrt(nh / 4), 0, std::sqrt(nh / 12)}, 1e-13);
  // p = -1 on [2, -4, 4], norm 1: sign(x) |x|^-2 ||x||^2
  require_values(grad_of([](const Tensor& t) { return t.norm(-1); }, {2, -4, 4}, {3}), {0.25, -1.0 / 16, 1.0 / 16}, 1e-15);
  // p = 0 counts nonzeros: gradient 0
  require_values(grad_of([](const Tensor& t) { return t.norm(0); }, v, {4}), {0, 0, 0, 0}, 0);
  // NOTE: p = inf: sign(x) at the greatest |x|, ties split evenly; -inf: the least
  require_values(grad_of([](const Tensor& t) { return t.norm(kInf); }, v, {4}), {0, 0, 0, 1}, 0);
  require_values(grad_of([](const Tensor& t) { return t.norm(kInf); }, {3, -12, 12}, {3}), {0, -0.5, 0.5}, 0);
  require_values(grad_of([](const Tensor& t) { return t.norm(-kInf); }, {-2, 2, 5}, {3}), {-0.5, 0.5, 0}, 0);
  require_values(grad_of([](const Tensor& t) { return t.norm(-kInf); }, {3, -4, 12}, {3}), {1, 0, 0}, 0);
  require_values(grad_of([](const Tensor& t) { return t.norm(kInf, 1); }, {1, -3, 3, 2, 0, -1}, {2, 3}),
                 {0, -0.5, 0.5, 1, 0, 0}, 0);
  // NOTE: a lane of zeros has gradient 0, not nan, for every p
  for (double p : {0.5, 1.0, 1.5, 2.0, 3.0, kInf}) {
    INFO("p = " << p);
    auto g = grad_of([p](const Tensor& t) { return t.norm(p, 1); }, {0, 0, 3, 4}, {2, 2});
    CHECK(all_finite(g));
    CHECK(g.at({0, 0}) == 0.0);
    CHECK(g.at({0, 1}) == 0.0);
  }
  require_values(grad_of([](const Tensor& t) { return t.norm("fro", 1); }, {0, 0, 3, 4}, {2, 2}), {0, 0, 0.6, 0.8}, 1e-15);
  require_values(grad_of([](const Tensor& t) { return t.norm(2, {0, 1}); }, {0, 0, 0, 0}, {2, 2}), {0, 0, 0, 0}, 0);
}

TEST_CASE("norm with p: gradcheck and gradgradcheck", "[reduction][norm]") {
  tg::Generator gen(45);
  const Tensor a = away_from_zero({2, 3}, gen), b = away_from_zero({2, 3, 2}, gen), s = away_from_zero({}, gen);
  // distinct magnitudes, so the inf-norms have no ties
  const Tensor d = values({0.3, -1.7, 0.9, -0.5, 1.2, 2.1}, {2, 3});
  for (double p : {1.0, 2.0, 3.0, 0.5, 1.5, -1.0, 4.0}) {
    INFO("p = " << p);
    const auto all = [p](const Tensor& t) { return t.norm(p); };
    const auto dim1 = [p](const Tensor& t) { return t.norm(p, 1); };
    const auto dims = [p](const Tensor& t) { return t.norm(p, {0, -1}, true) * t; };
    CHECK_GRAD(all, a);
    CHECK_GRAD(all, s);
    CHECK_GRAD(dim1, a);
    CHECK_GRAD(dims, b);
    CHECK_GRADGRAD(all, a);
    CHECK_GRADGRAD(dim1, a);
    CHECK_GRADGRAD(dims, b);
  }
  for (double p : {kInf, -kInf}) {
    INFO("p = " << p);
    const auto all = [p](const Tensor& t) { return t.norm(p) * t; };
    const auto dim0 = [p](const Tensor& t) { return t.norm(p, 0, true).pow(2); };
    CHECK_GRAD(all, d);
    CHECK_GRAD(dim0, d);
    CHECK_GRAD(all, s);
    CHECK_GRADGRAD(all, d);
    CHECK_GRADGRAD(dim0, d);
  }
  const auto fro = [](const Tensor& t) { return t.norm("fro", {1, 2}); };
  CHECK_GRAD(fro, b);
  CHECK_GRADGRAD(fro, b);
  // With a zero element: for p > 2 the norm is twice differentiable there, and the
  // second derivative (0 at the zero) is exact.
  const Tensor with_zero = values({0.7, 0, -1.3, 0.4}, {2, 2});
  for (double p : {3.0, 4.0, 2.0}) {
    INFO("p = " << p);
    const auto f = [p](const Tensor& t) { return t.norm(p, 1); };
    const auto g = [p](const Tensor& t) { return t.norm(p); };
    CHECK_GRAD(g, with_zero);
    CHECK_GRADGRAD(f, with_zero);
    CHECK_GRADGRAD(g, with_zero);
  }
}

TEST_CASE("norm with p: errors", "[reduction][norm][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.norm("nuc"), tg::ValueError);
  REQUIRE_THROWS_WITH(x.norm("nuc"), TG_CONTAINS("norm: unknown norm \"nuc\"; pass \"fro\" or a number p"));
  REQUIRE_THROWS_AS(x.norm(kNan), tg::ValueError);
  REQUIRE_THROWS_WITH(x.norm(kNan), TG_CONTAINS("norm: the order p is nan"));
  REQUIRE_THROWS_AS(tg::zeros<double>({0}).norm(kInf), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::zeros<double>({0}).norm(kInf), TG_CONTAINS("norm: the inf-norm over dims [] of a tensor of "
                                                                     "shape [0] reduces no elements"));
  REQUIRE_THROWS_AS(tg::zeros<double>({2, 0}).norm(-kInf, 1), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::zeros<double>({2, 0}).norm(-kInf, 1), TG_CONTAINS("norm: the -inf-norm over dims [1]"));
  REQUIRE_THROWS_AS(x.norm(2, 2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.norm(2, 2), TG_CONTAINS("norm: dimension 2 is out of range"));
  REQUIRE_THROWS_AS(x.norm("fro", {0, 0}), tg::ValueError);
  REQUIRE_THROWS_WITH(x.norm("fro", {0, 0}), TG_CONTAINS("norm: dimension 0 appears more than once"));
}

TEST_CASE("more reductions on float tensors", "[reduction][float]") {
  auto x = tg::from_vector<float>({1.5f, -4.0f, 2.5f, 0.0f, 3.0f, -1.0f}, {2, 3}, tg::requires_grad());
  CHECK(x.sum({0, 1}).item() == 2.0f);
  CHECK(x.mean({1}).to_vector() == std::vector<float>{0.0f, 2.0f / 3.0f});
  CHECK(x.prod().item() == 0.0f);
  CHECK(x.prod(1).to_vector() == std::vector<float>{-15.0f, 0.0f});
  CHECK(x.amax({0}).to_vector() == std::vector<float>{1.5f, 3.0f, 2.5f});
  CHECK(x.argmax().item() == 4);
  CHECK(x.argmin(1).to_vector() == Indices{1, 2});
  CHECK(x.norm(1).item() == 12.0f);
  CHECK(x.norm(std::numeric_limits<float>::infinity()).item() == 4.0f);
  CHECK(tg::tensor<float>({1.0f, 2.0f, 3.0f}).var().item() == Approx(1.0f));
  CHECK(tg::tensor<float>({1.0f, 2.0f, 3.0f}).std(false).item() == Approx(std::sqrt(2.0f / 3.0f)));
  auto y = tg::tensor<float>({2.0f, 0.0f, 3.0f}, tg::requires_grad());
  y.prod().backward();
  CHECK(y.grad().to_vector() == std::vector<float>{0.0f, 6.0f, 0.0f});
  x.norm(2, 1).sum().backward();
  CHECK(x.grad().at({0, 0}) == Approx(1.5f / std::sqrt(1.5f * 1.5f + 16.0f + 6.25f)));
}

}  // namespace ops_reduction_test
