#include "test_util.hpp"

#include <cmath>
#include <string>

namespace ops_arithmetic_test {

// add, sub, mul, div (tensor-tensor with broadcasting, tensor-scalar on either side),
// neg, pow (scalar exponent, tensor exponent, scalar base) and the operators.

namespace {

const auto add_f = [](const Tensors& in) { return tg::add(in[0], in[1]); };
const auto sub_f = [](const Tensors& in) { return tg::sub(in[0], in[1]); };
const auto mul_f = [](const Tensors& in) { return tg::mul(in[0], in[1]); };
const auto div_f = [](const Tensors& in) { return tg::div(in[0], in[1]); };
const auto pow_f = [](const Tensors& in) { return tg::pow(in[0], in[1]); };

}  // namespace

TEST_CASE("add: values, broadcasting and grad_fn", "[arithmetic][add]") {
  auto a = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto row = values({10, 20, 30}, {3}, true);
  auto col = values({100, 200}, {2, 1}, true);

  auto y = a + row;
  CHECK(y.shape() == tg::Shape{2, 3});
  require_values(y, {11, 22, 33, 14, 25, 36});
  CHECK(grad_fn_name(y) == "AddBackward0");
  require_values(tg::add(a, col), {101, 102, 103, 204, 205, 206});
  require_values(col + row, {110, 120, 130, 210, 220, 230});  // [2, 1] + [3] -> [2, 3]
  require_values(a + a, {2, 4, 6, 8, 10, 12});

  // [2, 1, 3] + [4, 1] -> [2, 4, 3]: out[i][j][k] = a[i][k] + 10 j
  auto a3 = values({1, 2, 3, 4, 5, 6}, {2, 1, 3});
  auto b3 = values({0, 10, 20, 30}, {4, 1});
  auto y3 = a3 + b3;
  REQUIRE(y3.shape() == tg::Shape{2, 4, 3});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 4; ++j)
      for (std::int64_t k = 0; k < 3; ++k) CHECK(y3.at({i, j, k}) == 3.0 * i + k + 1 + 10.0 * j);

  // 0-d with 0-d stays 0-d; 0-d with [2, 3] broadcasts
  auto s = tg::scalar_tensor<double>(2.5);
  CHECK((s + s).shape() == tg::Shape{});
  CHECK((s + s).item() == 5.0);
  require_values(s + a, {3.5, 4.5, 5.5, 6.5, 7.5, 8.5});

  // Gradients of broadcast inputs are summed back to their shapes.
  (a + row + col).sum().backward();
  require_values(a.grad(), {1, 1, 1, 1, 1, 1});
  require_values(row.grad(), {2, 2, 2});
  REQUIRE(col.grad().shape() == tg::Shape{2, 1});
  require_values(col.grad(), {3, 3});
}

TEST_CASE("add: gradcheck and gradgradcheck", "[arithmetic][add]") {
  tg::Generator gen(1);
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3}, gen);
  const Tensor row = tg::randn<double>({3}, gen), col = tg::randn<double>({2, 1}, gen);
  const Tensor s0 = tg::randn<double>({}, gen), s1 = tg::randn<double>({}, gen);
  const Tensor a3 = tg::randn<double>({2, 1, 3}, gen), b3 = tg::randn<double>({4, 1}, gen);
  CHECK_GRAD(add_f, a, b);
  CHECK_GRAD(add_f, s0, s1);
  CHECK_GRAD(add_f, a, row);
  CHECK_GRAD(add_f, col, a);
  CHECK_GRAD(add_f, s0, a);
  CHECK_GRAD(add_f, a3, b3);
  CHECK_GRADGRAD(add_f, a, row);
  CHECK_GRADGRAD(add_f, s0, s1);
}

TEST_CASE("sub: values, broadcasting, gradients", "[arithmetic][sub]") {
  auto a = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto row = values({10, 20, 30}, {3}, true);
  auto y = a - row;
  require_values(y, {-9, -18, -27, -6, -15, -24});
  CHECK(grad_fn_name(y) == "SubBackward0");
  require_values(tg::sub(row, a), {9, 18, 27, 6, 15, 24});
  auto col = values({1, 2}, {2, 1});
  require_values(a - col, {0, 1, 2, 2, 3, 4});
  CHECK((tg::scalar_tensor<double>(1.0) - tg::scalar_tensor<double>(3.0)).item() == -2.0);

  y.sum().backward();
  require_values(a.grad(), {1, 1, 1, 1, 1, 1});
  require_values(row.grad(), {-2, -2, -2});

  tg::Generator gen(2);
  const Tensor x = tg::randn<double>({2, 3}, gen), z = tg::randn<double>({2, 3}, gen);
  const Tensor r = tg::randn<double>({3}, gen), c = tg::randn<double>({2, 1}, gen);
  const Tensor s0 = tg::randn<double>({}, gen), s1 = tg::randn<double>({}, gen);
  CHECK_GRAD(sub_f, x, z);
  CHECK_GRAD(sub_f, s0, s1);
  CHECK_GRAD(sub_f, x, r);
  CHECK_GRAD(sub_f, c, x);
  CHECK_GRAD(sub_f, s0, x);
  CHECK_GRADGRAD(sub_f, x, r);
  CHECK_GRADGRAD(sub_f, s0, s1);
}

TEST_CASE("mul: values, broadcasting, gradients", "[arithmetic][mul]") {
  auto a = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto row = values({2, -1, 0.5}, {3}, true);
  auto y = a * row;
  require_values(y, {2, -2, 1.5, 8, -5, 3});
  CHECK(grad_fn_name(y) == "MulBackward0");
  require_values(tg::mul(values({2, 3}, {2, 1}), a), {2, 4, 6, 12, 15, 18});
  CHECK((tg::scalar_tensor<double>(-1.5) * tg::scalar_tensor<double>(4.0)).item() == -6.0);

  y.sum().backward();
  require_values(a.grad(), {2, -1, 0.5, 2, -1, 0.5});  // d(ab)/da = b, broadcast
  require_values(row.grad(), {5, 7, 9});               // d(ab)/db = a, summed over rows

  tg::Generator gen(3);
  const Tensor x = tg::randn<double>({2, 3}, gen), z = tg::randn<double>({2, 3}, gen);
  const Tensor r = tg::randn<double>({3}, gen), c = tg::randn<double>({2, 1}, gen);
  const Tensor s0 = tg::randn<double>({}, gen), s1 = tg::randn<double>({}, gen);
  const Tensor big = tg::randn<double>({2, 3}, gen) * 30.0;
  CHECK_GRAD(mul_f, x, z);
  CHECK_GRAD(mul_f, s0, s1);
  CHECK_GRAD(mul_f, x, r);
  CHECK_GRAD(mul_f, c, x);
  CHECK_GRAD(mul_f, s0, x);
  CHECK_GRAD(mul_f, big, x);
  CHECK_GRAD(mul_f, x, x);  // both operands the same values
  CHECK_GRADGRAD(mul_f, x, r);
  CHECK_GRADGRAD(mul_f, c, x);
  CHECK_GRADGRAD(mul_f, s0, s1);
}

TEST_CASE("mul: a tensor times itself gets both gradient contributions", "[arithmetic][mul]") {
  auto x = values({1.5, -2}, {2}, true);
  (x * x).sum().backward();
  require_values(x.grad(), {3, -4});
}

TEST_CASE("div: values, broadcasting, gradients", "[arithmetic][div]") {
  auto a = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  auto row = values({2, 4, 8}, {3}, true);
  auto y = a / row;
  require_values(y, {0.5, 0.5, 0.375, 2, 1.25, 0.75});
  CHECK(grad_fn_name(y) == "DivBackward0");
  require_values(tg::div(values({1, 2}, {2, 1}), values({4, -8}, {2})), {0.25, -0.125, 0.5, -0.25});
  CHECK((tg::scalar_tensor<double>(3.0) / tg::scalar_tensor<double>(-4.0)).item() == -0.75);

  y.sum().backward();
  require_values(a.grad(), {0.5, 0.25, 0.125, 0.5, 0.25, 0.125});  // 1/b
  // -sum_rows(a) / b^2
  require_values(row.grad(), {-5.0 / 4, -7.0 / 16, -9.0 / 64});

  // Division by zero follows IEEE: 1/0 = inf, 0/0 = nan.
  auto q = values({1, 0}, {2}) / values({0, 0}, {2});
  CHECK(std::isinf(q.at({0})));
  CHECK(std::isnan(q.at({1})));

  tg::Generator gen(4);
  const Tensor x = tg::randn<double>({2, 3}, gen), d = away_from_zero({2, 3}, gen);
  const Tensor r = away_from_zero({3}, gen), c = away_from_zero({2, 1}, gen);
  const Tensor s0 = tg::randn<double>({}, gen), s1 = away_from_zero({}, gen);
  CHECK_GRAD(div_f, x, d);
  CHECK_GRAD(div_f, s0, s1);
  CHECK_GRAD(div_f, x, r);
  CHECK_GRAD(div_f, x, c);
  CHECK_GRAD(div_f, s0, d);
  CHECK_GRAD(div_f, x * 30.0, d);
  CHECK_GRADGRAD(div_f, x, r);
  CHECK_GRADGRAD(div_f, x, c);
  CHECK_GRADGRAD(div_f, s0, s1);
}

TEST_CASE("binary ops reject shapes that do not broadcast", "[arithmetic][errors]") {
  const auto a = tg::ones<double>({2, 3});
  const auto b = tg::ones<double>({4});
  const auto c = tg::ones<double>({3, 2});
  REQUIRE_THROWS_AS(a + b, tg::ShapeError);
  REQUIRE_THROWS_WITH(a + b, TG_CONTAINS("add: shapes [2, 3] and [4] cannot be broadcast together"));
  REQUIRE_THROWS_WITH(tg::add(a, c), TG_CONTAINS("add: shapes [2, 3] and [3, 2] cannot be broadcast together"));
  REQUIRE_THROWS_AS(a - b, tg::ShapeError);
  REQUIRE_THROWS_WITH(a - b, TG_CONTAINS("sub: shapes [2, 3] and [4]"));
  REQUIRE_THROWS_AS(a * c, tg::ShapeError);
  REQUIRE_THROWS_WITH(a * c, TG_CONTAINS("mul: shapes [2, 3] and [3, 2]"));
  REQUIRE_THROWS_AS(b / a, tg::ShapeError);
  REQUIRE_THROWS_WITH(b / a, TG_CONTAINS("div: shapes [4] and [2, 3]"));
  REQUIRE_THROWS_AS(tg::pow(a, b), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::pow(a, b), TG_CONTAINS("pow: shapes [2, 3] and [4]"));
  // The message names the offending dimension of the broadcast shape.
  REQUIRE_THROWS_WITH(tg::ones<double>({2, 3, 4}) + tg::ones<double>({5, 1}),
                      TG_CONTAINS("(dimension 1: 3 vs 5)"));
}

TEST_CASE("tensor-scalar arithmetic on either side", "[arithmetic][scalar]") {
  auto x = values({1, -2, 4}, {3}, true);

  SECTION("add") {
    auto y = x + 2;
    require_values(y, {3, 0, 6});
    CHECK(grad_fn_name(y) == "AddBackward0");
    require_values(2.5 + x, {3.5, 0.5, 6.5});
    require_values(tg::add(x, -1.0), {0, -3, 3});
    y.sum().backward();
    require_values(x.grad(), {1, 1, 1});
  }
  SECTION("sub") {
    auto y = x - 2;
    require_values(y, {-1, -4, 2});
    CHECK(grad_fn_name(y) == "SubBackward0");
    require_values(tg::sub(x, 0.5), {0.5, -2.5, 3.5});
    y.sum().backward();
    require_values(x.grad(), {1, 1, 1});
  }
  SECTION("rsub: scalar - tensor") {
    auto y = 2 - x;
    require_values(y, {1, 4, -2});
    CHECK(grad_fn_name(y) == "RsubBackward1");
    require_values(tg::rsub(x, 10.0), {9, 12, 6});
    y.sum().backward();
    require_values(x.grad(), {-1, -1, -1});
  }
  SECTION("mul") {
    auto y = x * 3;
    require_values(y, {3, -6, 12});
    CHECK(grad_fn_name(y) == "MulBackward0");
    require_values(-0.5 * x, {-0.5, 1, -2});
    require_values(tg::mul(x, 0.0), {0, 0, 0});
    y.sum().backward();
    require_values(x.grad(), {3, 3, 3});
  }
  SECTION("div") {
    auto y = x / 4;
    require_values(y, {0.25, -0.5, 1});
    CHECK(grad_fn_name(y) == "DivBackward0");
    require_values(tg::div(x, -2.0), {-0.5, 1, -2});
    y.sum().backward();
    require_values(x.grad(), {0.25, 0.25, 0.25});
  }
  SECTION("rdiv: scalar / tensor") {
    auto y = 4 / x;
    require_values(y, {4, -2, 1});
    CHECK(grad_fn_name(y) == "DivBackward0");
    require_values(tg::rdiv(x, 1.0), {1, -0.5, 0.25});
    y.sum().backward();
    require_values(x.grad(), {-4, -1, -0.25});  // -s / x^2
  }
}

TEST_CASE("tensor-scalar arithmetic: gradcheck and gradgradcheck", "[arithmetic][scalar]") {
  tg::Generator gen(5);
  const Tensor x = tg::randn<double>({2, 3}, gen), s = tg::randn<double>({}, gen);
  const Tensor nz = away_from_zero({2, 3}, gen), nz0 = away_from_zero({}, gen);
  const auto add_s = [](const Tensor& t) { return t + 1.5; };
  const auto radd_s = [](const Tensor& t) { return 1.5 + t; };
  const auto sub_s = [](const Tensor& t) { return t - 1.5; };
  const auto rsub_s = [](const Tensor& t) { return 1.5 - t; };
  const auto mul_s = [](const Tensor& t) { return t * -2.5; };
  const auto rmul_s = [](const Tensor& t) { return -2.5 * t; };
  const auto div_s = [](const Tensor& t) { return t / -2.5; };
  const auto rdiv_s = [](const Tensor& t) { return -2.5 / t; };
  for (const Tensor& in : {x, s}) {
    CHECK_GRAD(add_s, in);
    CHECK_GRAD(radd_s, in);
    CHECK_GRAD(sub_s, in);
    CHECK_GRAD(rsub_s, in);
    CHECK_GRAD(mul_s, in);
    CHECK_GRAD(rmul_s, in);
    CHECK_GRAD(div_s, in);
    CHECK_GRADGRAD(add_s, in);
    CHECK_GRADGRAD(rsub_s, in);
    CHECK_GRADGRAD(mul_s, in);
    CHECK_GRADGRAD(div_s, in);
  }
  for (const Tensor& in : {nz, nz0}) {
    CHECK_GRAD(rdiv_s, in);
    CHECK_GRADGRAD(rdiv_s, in);
  }
}

TEST_CASE("neg", "[arithmetic][neg]") {
  auto x = values({1, -2, 0}, {3}, true);
  auto y = -x;
  require_values(y, {-1, 2, 0});
  CHECK(grad_fn_name(y) == "NegBackward0");
  require_values(tg::neg(x), {-1, 2, 0});
  CHECK((-tg::scalar_tensor<double>(3.0)).item() == -3.0);
  y.sum().backward();
  require_values(x.grad(), {-1, -1, -1});

  tg::Generator gen(6);
  const auto f = [](const Tensor& t) { return -t; };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(f, tg::randn<double>({}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen));
}

TEST_CASE("pow with a scalar exponent: values", "[arithmetic][pow]") {
  auto x = values({-2, 0, 1.5, 3}, {4});
  require_values(x.pow(2), {4, 0, 2.25, 9});
  require_values(tg::pow(x, 3.0), {-8, 0, 3.375, 27});
  require_values(x.pow(0), {1, 1, 1, 1});  // 0^0 = 1
  require_values(x.pow(1), {-2, 0, 1.5, 3});
  require_values(values({4, 0.25, 2.25}, {3}).pow(0.5), {2, 0.5, 1.5});
  require_values(values({4, 0.5}, {2}).pow(-2), {0.0625, 4});
  CHECK(std::isnan(values({-4}, {1}).pow(0.5).item()));  // a real power of a negative base
  CHECK(std::isinf(values({0}, {1}).pow(-1).item()));

  auto g = values({2}, {1}, true);
  CHECK(grad_fn_name(g.pow(2)) == "PowBackward0");
  CHECK(grad_fn_name(g.pow(0.5)) == "PowBackward0");
}

TEST_CASE("pow with a scalar exponent: gradients", "[arithmetic][pow]") {
  SECTION("p x^(p-1), including negative bases") {
    auto x = values({-2, 1.5, 3}, {3}, true);
    x.pow(3).sum().backward();
    require_values(x.grad(), {12, 6.75, 27});
  }
  SECTION("square") {
    auto x = values({-2, 0, 1.5}, {3}, true);
    x.pow(2).sum().backward();
    require_values(x.grad(), {-4, 0, 3});
  }
  SECTION("exponent 0 gives gradient 0 everywhere, including at 0") {
    auto x = values({-2, 0, 1.5}, {3}, true);
    x.pow(0).sum().backward();
    require_values(x.grad(), {0, 0, 0});
  }
  SECTION("exponent 1 at 0: 1 * 0^0 = 1") {
    auto x = values({0}, {1}, true);
    x.pow(1).sum().backward();
    require_values(x.grad(), {1});
  }
  SECTION("fractional exponent at 0 is infinite, as in PyTorch") {
    auto x = values({0, 4}, {2}, true);
    x.pow(0.5).sum().backward();
    CHECK(std::isinf(x.grad().at({0})));
    CHECK(x.grad().at({0}) > 0);
    CHECK(x.grad().at({1}) == Approx(0.25));
  }

  tg::Generator gen(7);
  const Tensor x = tg::randn<double>({2, 3}, gen), s = tg::randn<double>({}, gen);
  const Tensor nz = away_from_zero({2, 3}, gen), pos = positive({2, 3}, gen), pos0 = positive({}, gen);
  const Tensor big = values({-30, -4, 0, 5, 30}, {5});
  const auto sq = [](const Tensor& t) { return t.pow(2); };
  const auto cube = [](const Tensor& t) { return t.pow(3); };
  const auto inv_sq = [](const Tensor& t) { return t.pow(-2); };
  const auto root = [](const Tensor& t) { return t.pow(0.5); };
  const auto frac = [](const Tensor& t) { return t.pow(-1.5); };
  const auto zero = [](const Tensor& t) { return t.pow(0); };
  for (const Tensor& in : {x, s, big}) {
    CHECK_GRAD(sq, in);
    CHECK_GRAD(cube, in);
    CHECK_GRAD(zero, in);
    CHECK_GRADGRAD(sq, in);
    CHECK_GRADGRAD(cube, in);
  }
  CHECK_GRAD(inv_sq, nz);
  CHECK_GRADGRAD(inv_sq, nz);
  for (const Tensor& in : {pos, pos0}) {
    CHECK_GRAD(root, in);
    CHECK_GRAD(frac, in);
    CHECK_GRADGRAD(root, in);
    CHECK_GRADGRAD(frac, in);
  }
}

TEST_CASE("pow with a tensor exponent", "[arithmetic][pow]") {
  auto x = values({2, 3, 4, 9}, {2, 2}, true);
  auto y = values({3, 0.5}, {2}, true);
  auto z = tg::pow(x, y);
  require_values(z, {8, std::sqrt(3.0), 64, 3});
  CHECK(grad_fn_name(z) == "PowBackward1");
  CHECK(grad_fn_name(x.pow(y)) == "PowBackward1");
  require_values(tg::pow(values({2, 3}, {2, 1}), values({0, 1, 2}, {3})), {1, 2, 4, 1, 3, 9});

  z.sum().backward();
  // d/dx = y x^(y-1)
  require_values(x.grad(), {12, 0.5 / std::sqrt(3.0), 48, 0.5 / 3}, 1e-12);
  // d/dy = x^y log x, summed over the broadcast rows
  require_values(y.grad(), {8 * std::log(2.0) + 64 * std::log(4.0), std::sqrt(3.0) * std::log(3.0) + 3 * std::log(9.0)},
                 1e-12);

  tg::Generator gen(8);
  const Tensor base = positive({2, 3}, gen), e = tg::randn<double>({2, 3}, gen);
  const Tensor base0 = positive({}, gen), e0 = tg::randn<double>({}, gen);
  const Tensor er = tg::randn<double>({3}, gen), bc = positive({2, 1}, gen);
  CHECK_GRAD(pow_f, base, e);
  CHECK_GRAD(pow_f, base0, e0);
  CHECK_GRAD(pow_f, base, er);
  CHECK_GRAD(pow_f, bc, er);
  CHECK_GRAD(pow_f, base0, e);
  CHECK_GRADGRAD(pow_f, base, e);
  CHECK_GRADGRAD(pow_f, bc, er);
  CHECK_GRADGRAD(pow_f, base0, e0);
  // Negative bases with integer exponents are differentiable in the base.
  const auto pow_x_only = [](const Tensors& in) { return tg::pow(in[0], values({2, 3, 3}, {3})); };
  CHECK_GRAD(pow_x_only, values({-1.5, -2, 0.7}, {3}));
}

TEST_CASE("pow with a tensor exponent at a zero base", "[arithmetic][pow]") {
  // NOTE conventions (PyTorch's): d/dy x^y = 0 where x == 0 and y >= 0; d/dx x^0 = 0.
  auto x = values({0, 0, 0, -2}, {4}, true);
  auto y = values({2, 0, 1, 3}, {4}, true);
  auto z = tg::pow(x, y);
  require_values(z, {0, 1, 0, -8});
  z.sum().backward();
  require_values(x.grad(), {0, 0, 1, 12});
  CHECK(y.grad().at({0}) == 0.0);
  CHECK(y.grad().at({1}) == 0.0);
  CHECK(y.grad().at({2}) == 0.0);
  CHECK(std::isnan(y.grad().at({3})));  // log of a negative base, as in PyTorch
}

TEST_CASE("pow with a scalar base", "[arithmetic][pow]") {
  auto x = values({0, 1, 3, -1}, {4}, true);
  auto z = tg::pow(2.0, x);
  require_values(z, {1, 2, 8, 0.5});
  CHECK(grad_fn_name(z) == "PowBackward2");
  z.sum().backward();
  const double ln2 = std::log(2.0);
  require_values(x.grad(), {ln2, 2 * ln2, 8 * ln2, 0.5 * ln2});

  // Base 0: 0^x = 0 for x > 0 and 1 at x = 0; the gradient is taken as 0 (no 0 * -inf).
  auto w = values({0, 2}, {2}, true);
  auto zw = tg::pow(0.0, w);
  require_values(zw, {1, 0});
  zw.sum().backward();
  require_values(w.grad(), {0, 0});

  tg::Generator gen(9);
  const auto exp2 = [](const Tensor& t) { return tg::pow(2.0, t); };
  const auto exp_half = [](const Tensor& t) { return tg::pow(0.5, t); };
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen), tg::randn<double>({}, gen), values({-30, 0, 30}, {3})}) {
    CHECK_GRAD(exp2, in);
    CHECK_GRAD(exp_half, in);
    CHECK_GRADGRAD(exp2, in);
    CHECK_GRADGRAD(exp_half, in);
  }
}

TEST_CASE("operators compose into expressions", "[arithmetic][operators]") {
  auto a = values({1, 2}, {2}, true);
  auto b = values({3, 4}, {2}, true);
  auto y = (a * b + a / b - 2) * 2 - b;  // 2ab + 2a/b - 4 - b
  require_values(y, {2.0 * 3 + 2.0 / 3 - 4 - 3, 16 + 1 - 4 - 4});
  y.sum().backward();
  require_values(a.grad(), {2 * 3 + 2.0 / 3, 2 * 4 + 2.0 / 4});
  require_values(b.grad(), {2 * 1 - 2.0 * 1 / 9 - 1, 2 * 2 - 2.0 * 2 / 16 - 1});

  tg::Generator gen(10);
  const auto f = [](const Tensors& in) { return (in[0] * in[1] - in[0] / (in[1] * in[1] + 1.0)) * 0.5 + 3.0 - in[1]; };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 1}, gen));
}

TEST_CASE("arithmetic on float tensors", "[arithmetic][float]") {
  auto a = tg::tensor<float>({1.5f, -2.0f, 4.0f});
  auto b = tg::tensor<float>({2.0f, 0.5f, -1.0f});
  const auto sum = (a + b).to_vector();
  const auto prod = (a * b).to_vector();
  const auto quot = (a / b).to_vector();
  const auto mixed = (2.5 * a - 1).to_vector();  // double and int scalars convert to float
  const auto sq = a.pow(2).to_vector();
  CHECK(sum == std::vector<float>{3.5f, -1.5f, 3.0f});
  CHECK(prod == std::vector<float>{3.0f, -1.0f, -4.0f});
  CHECK(quot == std::vector<float>{0.75f, -4.0f, -4.0f});
  CHECK(mixed == std::vector<float>{2.75f, -6.0f, 9.0f});
  CHECK(sq == std::vector<float>{2.25f, 4.0f, 16.0f});

  auto x = tg::tensor<float>({1.0f, 2.0f}, tg::requires_grad());
  (x * x * 3.0f).sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{6.0f, 12.0f});
}

}  // namespace ops_arithmetic_test
