#include "test_util.hpp"

#include <cmath>
#include <functional>
#include <limits>

namespace ops_compare_test {

// Comparisons, masks, where, masked_fill, minimum/maximum, cast.

namespace {
using Mask = tg::Tensor<bool>;

std::vector<bool> bits(const Mask& m) { return std::vector<bool>(m.data_ptr(), m.data_ptr() + m.numel()); }
}  // namespace

TEST_CASE("comparisons broadcast and return masks", "[compare]") {
  auto a = values({1, 2, 3, 4, 5, 6}, {2, 3});
  auto b = values({2, 2, 5}, {3});
  CHECK(bits(a == b) == std::vector<bool>{false, true, false, false, false, false});
  CHECK(bits(a != b) == std::vector<bool>{true, false, true, true, true, true});
  CHECK(bits(a < b) == std::vector<bool>{true, false, true, false, false, false});
  CHECK(bits(a <= b) == std::vector<bool>{true, true, true, false, false, false});
  CHECK(bits(a > b) == std::vector<bool>{false, false, false, true, true, true});
  CHECK(bits(a >= b) == std::vector<bool>{false, true, false, true, true, true});
  CHECK((a > b).shape() == tg::Shape{2, 3});
  CHECK(bits(a > 3.5) == std::vector<bool>{false, false, false, true, true, true});
  CHECK(bits(3.5 > a) == std::vector<bool>{true, true, true, false, false, false});
  CHECK(bits(tg::ge(a, 6.0)) == std::vector<bool>{false, false, false, false, false, true});
  CHECK_THROWS_AS(a < values({1, 2}, {2}), tg::ShapeError);
  CHECK_THROWS_WITH(a < values({1, 2}, {2}), TG_CONTAINS("lt"));

  // nan compares unequal to everything, itself included.
  auto n = values({std::nan(""), 1}, {2});
  CHECK(bits(n == n) == std::vector<bool>{false, true});
  CHECK(bits(tg::isnan(n)) == std::vector<bool>{true, false});
  auto inf = values({std::numeric_limits<double>::infinity(), -1, std::nan("")}, {3});
  CHECK(bits(tg::isinf(inf)) == std::vector<bool>{true, false, false});
  CHECK(bits(tg::isfinite(inf)) == std::vector<bool>{false, true, false});

  // Comparisons are not recorded: their result is piecewise constant.
  auto x = values({1, 2}, {2}, true);
  CHECK_FALSE(tg::Tensor<bool>(x > 1.0).requires_grad());
}

TEST_CASE("logical ops on masks", "[compare]") {
  auto a = values({1, 2, 3, 4}, {4});
  const Mask p = a > 1.5, q = a < 3.5;
  CHECK(bits(~p) == std::vector<bool>{true, false, false, false});
  CHECK(bits(p & q) == std::vector<bool>{false, true, true, false});
  CHECK(bits(p | q) == std::vector<bool>{true, true, true, true});
  CHECK(bits(p ^ q) == std::vector<bool>{true, false, false, true});
  CHECK(tg::any(p));
  CHECK_FALSE(tg::all(p));
  CHECK(tg::all(p | q));
  CHECK(tg::count_nonzero(p) == 3);
  CHECK(tg::to_string(p) == "tensor([False,  True,  True,  True])");
}

TEST_CASE("cast converts element types", "[compare][cast]") {
  auto a = values({1.5, -2.25, 0}, {3}, true);
  tg::Tensor<float> f = a.to<float>();
  CHECK(f.at({1}) == -2.25f);
  CHECK_FALSE(f.requires_grad());
  auto m = tg::cast<double>(a > 0.0);
  require_values(m, {1, 0, 0});
  CHECK(tg::cast<std::int64_t>(values({2.9, -2.9}, {2})).to_vector() == std::vector<std::int64_t>{2, -2});
}

TEST_CASE("where", "[compare][where]") {
  auto cond = values({1, 0, 1, 0}, {2, 2}) > 0.5;
  auto a = values({1, 2, 3, 4}, {2, 2}, true);
  auto b = values({10, 20}, {2}, true);
  auto y = tg::where(cond, a, b);
  require_values(y, {1, 20, 3, 20});
  CHECK(grad_fn_name(y) == "WhereBackward0");
  (y * values({1, 2, 3, 4}, {2, 2})).sum().backward();
  require_values(a.grad(), {1, 0, 3, 0});
  require_values(b.grad(), {0, 6});  // b broadcast over rows: its column 1 collects 2 + 4

  require_values(tg::where(cond, a, 0.0), {1, 0, 3, 0});
  require_values(tg::where(cond, -1.0, b), {-1, 20, -1, 20});

  tg::Generator gen(3);
  auto c1 = tg::randn<double>({3, 2}, gen) > 0.0;
  const auto f = [&](const Tensors& in) { return tg::where(c1, in[0], in[1]) * in[0]; };
  for (const auto& shapes : std::vector<std::pair<tg::Shape, tg::Shape>>{{{3, 2}, {3, 2}}, {{2}, {}}}) {
    auto p = tg::randn<double>(shapes.first, gen), q = tg::randn<double>(shapes.second, gen);
    CHECK_GRAD(f, p, q);
    CHECK_GRADGRAD(f, p, q);
  }
  CHECK_THROWS_AS(tg::where(values({1, 0, 1}, {3}) > 0.5, a, b), tg::ShapeError);
}

TEST_CASE("masked_fill", "[compare][masked_fill]") {
  auto x = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto mask = values({1, 0, 1}, {3}) > 0.5;  // broadcast over rows
  auto y = x.masked_fill(mask, -1e9);
  require_values(y, {-1e9, 2, -1e9, -1e9, 5, -1e9});
  CHECK(grad_fn_name(y) == "MaskedFillBackward0");
  y.sum().backward();
  require_values(x.grad(), {0, 1, 0, 0, 1, 0});

  tg::Generator gen(5);
  const auto f = [&](const Tensors& in) { return tg::masked_fill(in[0] * in[0], mask, 2.0); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({4, 3}, gen));
  auto scalar_mask = tg::scalar_tensor<double>(1.0) > 0.0;
  require_values(tg::masked_fill(values({1, 2}, {2}), scalar_mask, 7.0), {7, 7});

  // The mask may broadcast to the input but not grow it.
  CHECK_THROWS_AS(tg::masked_fill(values({1, 2, 3}, {3}), values({1, 0, 1, 0, 1, 0}, {2, 3}) > 0.5, 0.0),
                  tg::ShapeError);
  CHECK_THROWS_WITH(tg::masked_fill(values({1, 2, 3}, {3}), values({1, 0}, {2}) > 0.5, 0.0),
                    TG_CONTAINS("masked_fill: the mask of shape [2] cannot be broadcast"));
}

TEST_CASE("maximum and minimum", "[compare][maximum]") {
  auto a = values({1, 5, 3}, {3}, true);
  auto b = values({2, 4, 3}, {3}, true);
  auto hi = tg::maximum(a, b);
  require_values(hi, {2, 5, 3});
  CHECK(grad_fn_name(hi) == "MaximumBackward0");
  hi.sum().backward();
  // NOTE: ties split the gradient evenly, as in PyTorch.
  require_values(a.grad(), {0, 1, 0.5});
  require_values(b.grad(), {1, 0, 0.5});
  a.zero_grad();
  b.zero_grad();
  auto lo = a.minimum(b);
  require_values(lo, {1, 4, 3});
  CHECK(grad_fn_name(lo) == "MinimumBackward0");
  lo.sum().backward();
  require_values(a.grad(), {1, 0, 0.5});
  require_values(b.grad(), {0, 1, 0.5});

  // nan propagates from either side.
  auto n = tg::maximum(values({std::nan(""), 1}, {2}), values({0, std::nan("")}, {2}));
  CHECK(std::isnan(n.at({0})));
  CHECK(std::isnan(n.at({1})));

  tg::Generator gen(8);
  using Fn = std::function<Tensor(const Tensors&)>;
  const Fn fmax = [](const Tensors& in) { return tg::maximum(in[0], in[1]) * in[0]; };
  const Fn fmin = [](const Tensors& in) { return tg::minimum(in[0], in[1]) * in[1]; };
  for (const Fn& f : {fmax, fmin}) {
    CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen));
    CHECK_GRAD(f, tg::randn<double>({}, gen), tg::randn<double>({4}, gen));
    CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 1}, gen));
  }
  CHECK_THROWS_AS(tg::maximum(values({1, 2}, {2}), values({1, 2, 3}, {3})), tg::ShapeError);
}

TEST_CASE("masks work with float tensors", "[compare][float]") {
  auto x = tg::from_vector<float>({-1.f, 2.f}, tg::requires_grad());
  auto y = tg::where(x > 0.f, x * 3.f, x.masked_fill(x < 0.f, 0.5f));
  CHECK(y.to_vector() == std::vector<float>{0.5f, 6.f});
  y.sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0.f, 3.f});
}

}  // namespace ops_compare_test
