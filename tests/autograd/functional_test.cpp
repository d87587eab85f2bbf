#include "test_util.hpp"

#include <cmath>

namespace autograd_functional_test {

// value_and_grad, grad, vjp, jvp, jacobian, hessian, hvp.

namespace {
// Rosenbrock: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, as one [2] tensor.
Tensor rosenbrock(const Tensor& p) {
  auto x = p.select(0, 0), y = p.select(0, 1);
  auto a = 1.0 - x, b = y - x * x;
  return a * a + 100.0 * b * b;
}
}  // namespace

TEST_CASE("value_and_grad and grad", "[functional]") {
  auto x = values({1, 2}, {2}, true), y = values({3, -1}, {2});
  const auto f = [](const Tensors& in) { return (in[0] * in[0] * in[1]).sum(); };
  auto r = tg::value_and_grad(f, Tensors{x, y});
  CHECK(r.value.item() == 1 * 3 + 4 * -1);
  require_values(r.grads[0], {6, -4});  // 2 x y
  require_values(r.grads[1], {1, 4});   // x^2
  CHECK_FALSE(r.value.requires_grad());
  CHECK_FALSE(x.grad().defined());  // the caller's .grad is untouched

  // An input f ignores gets zeros.
  auto g = tg::grad([](const Tensors& in) { return in[0].sum(); }, Tensors{x, y});
  require_values(g[1], {0, 0});
  // A one-tensor callable works too, with the inputs as a list or as the one tensor.
  require_values(tg::grad([](const Tensor& t) { return (t * t).sum(); }, Tensors{x})[0], {2, 4});
  const Tensor single = tg::grad([](const Tensor& t) { return (t * t * t).sum(); }, x);
  CHECK(single.shape() == x.shape());
  require_values(single, {3, 12});  // 3 x^2

  // create_graph: the gradient is differentiable w.r.t. the original inputs.
  auto gg = tg::grad(f, Tensors{x, y}, /*create_graph=*/true);
  REQUIRE(gg[0].requires_grad());
  gg[0].sum().backward();
  require_values(x.grad(), {6, -2});  // d/dx sum(2 x y) = 2 y

  CHECK_THROWS_AS(tg::grad([](const Tensors& in) { return in[0] * 2.0; }, Tensors{x}), tg::ShapeError);
  CHECK_THROWS_WITH(tg::grad([](const Tensors& in) { return in[0] * 2.0; }, Tensors{x}),
                    TG_CONTAINS("value_and_grad: f must return one tensor with a single element"));
}

TEST_CASE("vjp and jvp", "[functional]") {
  auto x = values({0.3, -1.2}, {2}), y = values({2, 0.5}, {2});
  const auto f = [](const Tensors& in) { return tg::sin(in[0]) * in[1]; };
  auto v = values({1, -3}, {2});
  auto r = tg::vjp(f, Tensors{x, y}, Tensors{v});
  require_values(r.outputs[0], {std::sin(0.3) * 2, std::sin(-1.2) * 0.5}, 1e-15);
  require_values(r.products[0], {std::cos(0.3) * 2 * 1, std::cos(-1.2) * 0.5 * -3}, 1e-15);
  require_values(r.products[1], {std::sin(0.3) * 1, std::sin(-1.2) * -3}, 1e-15);

  auto tx = values({0.5, 2}, {2}), ty = values({-1, 1}, {2});
  auto j = tg::jvp(f, Tensors{x, y}, Tensors{tx, ty});
  // J t = cos(x) y tx + sin(x) ty
  require_values(j.products[0], {std::cos(0.3) * 2 * 0.5 + std::sin(0.3) * -1,
                                 std::cos(-1.2) * 0.5 * 2 + std::sin(-1.2) * 1}, 1e-14);
  require_values(j.outputs[0], r.outputs[0].to_vector(), 0);
  // An output that does not depend on the inputs has a zero jvp.
  auto c = tg::jvp([](const Tensors& in) { return in[0].detach() * 2.0; }, Tensors{x}, Tensors{tx});
  require_values(c.products[0], {0, 0});

  CHECK_THROWS_WITH(tg::vjp(f, Tensors{x, y}, Tensors{values({1, 2, 3}, {3})}),
                    TG_CONTAINS("vjp: v 0 has shape [3] but must have shape [2]"));
  CHECK_THROWS_WITH(tg::jvp(f, Tensors{x, y}, Tensors{tx}), TG_CONTAINS("jvp: got 1 tangent for 2 tensors"));
}

TEST_CASE("jacobian in reverse and forward mode", "[functional]") {
  auto a = values({1, 2, 3, 4, 5, 6}, {3, 2});
  auto x = values({0.5, -1}, {2});
  const auto linear_map = [&](const Tensors& in) { return tg::matmul(a, in[0]); };
  for (auto strategy : {tg::JacobianStrategy::reverse, tg::JacobianStrategy::forward, tg::JacobianStrategy::automatic}) {
    auto j = tg::jacobian(linear_map, Tensors{x}, strategy);
    CHECK(j[0].shape() == tg::Shape{3, 2});
    require_values(j[0], a.to_vector(), 1e-14);
    // One tensor in: the Jacobian itself.
    const auto one = tg::jacobian([&](const Tensor& t) { return tg::matmul(a, t); }, x, strategy);
    require_values(one, a.to_vector(), 1e-14);
  }
  // Shapes: output.shape + input.shape; an element-wise map has a diagonal Jacobian.
  auto m = values({1, 2, 3, 4}, {2, 2});
  for (auto strategy : {tg::JacobianStrategy::reverse, tg::JacobianStrategy::forward}) {
    auto j = tg::jacobian([](const Tensors& in) { return in[0] * in[0]; }, Tensors{m}, strategy)[0];
    REQUIRE(j.shape() == tg::Shape{2, 2, 2, 2});
    for (std::int64_t p = 0; p < 4; ++p)
      for (std::int64_t q = 0; q < 4; ++q)
        CHECK(j.at({p / 2, p % 2, q / 2, q % 2}) == (p == q ? 2 * m.data_ptr()[p] : 0.0));
  }
  // Two inputs, both modes agree.
  tg::Generator gen(1);
  auto u = tg::randn<double>({3}, gen), w = tg::randn<double>({2, 3}, gen);
  const auto f = [](const Tensors& in) { return tg::tanh(tg::matmul(in[1], in[0])); };
  auto jr = tg::jacobian(f, Tensors{u, w}, tg::JacobianStrategy::reverse);
  auto jf = tg::jacobian(f, Tensors{u, w}, tg::JacobianStrategy::forward);
  CHECK(jr[1].shape() == tg::Shape{2, 2, 3});
  for (std::size_t i = 0; i < 2; ++i) require_values(jf[i], jr[i].to_vector(), 1e-13);

  CHECK_THROWS_WITH(tg::jacobian([](const Tensors& in) { return Tensors{in[0], in[0]}; }, Tensors{x}),
                    TG_CONTAINS("jacobian: f must return one tensor, got 2"));
}

TEST_CASE("hessian and hvp", "[functional]") {
  auto p = values({-1.2, 1}, {2});
  auto h = tg::hessian([](const Tensor& t) { return rosenbrock(t); }, p);
  const double x = -1.2, y = 1;
  require_values(h, {2 - 400 * (y - x * x) + 800 * x * x, -400 * x, -400 * x, 200}, 1e-10);

  auto v = values({0.3, -2}, {2});
  auto r = tg::hvp([](const Tensors& in) { return rosenbrock(in[0]); }, Tensors{p}, Tensors{v});
  CHECK(r.value.item() == Approx(std::pow(1 - x, 2) + 100 * std::pow(y - x * x, 2)).epsilon(1e-14));
  require_values(r.grads[0], {h.at({0, 0}) * 0.3 + h.at({0, 1}) * -2, h.at({1, 0}) * 0.3 + h.at({1, 1}) * -2}, 1e-10);

  // One tensor in, one tensor out: hvp(f, x, v).
  const auto one = tg::hvp([](const Tensor& t) { return rosenbrock(t); }, p, v);
  CHECK(one.value.item() == Approx(r.value.item()).epsilon(1e-15));
  require_values(one.product, r.grads[0].to_vector(), 1e-12);

  // Two inputs: the blocks H[i][j], symmetric.
  auto a = values({0.5, -0.2}, {2}), b = values({1.5}, {1});
  const auto f = [](const Tensors& in) { return (tg::exp(in[0] * in[1]) ).sum(); };
  auto hs = tg::hessian(f, Tensors{a, b});
  CHECK(hs[0][1].shape() == tg::Shape{2, 1});
  require_values(hs[0][1], tg::reshape(hs[1][0], {2, 1}).to_vector(), 1e-14);
  // d2/da_i db = e^{a_i b} (1 + a_i b)
  CHECK(hs[0][1].at({0, 0}) == Approx(std::exp(0.75) * (1 + 0.75)).epsilon(1e-13));
}

TEST_CASE("higher order: third derivative of tanh and a network's Hessian", "[functional]") {
  // tanh''' = -2 (1 - tanh^2)(1 - 3 tanh^2)
  auto x = values({0.7}, {1}, true);
  auto g1 = tg::grad(tg::tanh(x).sum(), Tensors{x}, {}, true, true)[0];
  auto g2 = tg::grad(g1.sum(), Tensors{x}, {}, true, true)[0];
  auto g3 = tg::grad(g2.sum(), Tensors{x})[0];
  const double t = std::tanh(0.7);
  CHECK(g1.item() == Approx(1 - t * t).epsilon(1e-14));
  CHECK(g2.item() == Approx(-2 * t * (1 - t * t)).epsilon(1e-14));
  CHECK(g3.item() == Approx(-2 * (1 - t * t) * (1 - 3 * t * t)).epsilon(1e-13));

  // The Hessian of a two-layer network's loss against finite differences of its gradient.
  tg::Generator gen(2);
  auto data = tg::randn<double>({5, 3}, gen), target = tg::randn<double>({5, 1}, gen);
  auto w1 = tg::randn<double>({3, 4}, gen) * 0.5, w2 = tg::randn<double>({4, 1}, gen) * 0.5;
  const auto loss = [&](const Tensors& in) {
    auto err = tg::matmul(tg::tanh(tg::matmul(data, in[0])), in[1]) - target;
    return (err * err).mean();
  };
  auto h = tg::hessian(loss, Tensors{w1, w2});
  const double eps = 1e-5;
  double worst = 0;
  for (std::int64_t k = 0; k < w1.numel(); ++k) {
    auto plus = w1.clone(), minus = w1.clone();
    plus.data_ptr()[k] += eps;
    minus.data_ptr()[k] -= eps;
    auto gp = tg::grad(loss, Tensors{plus, w2}), gm = tg::grad(loss, Tensors{minus, w2});
    for (std::size_t j = 0; j < 2; ++j)
      for (std::int64_t e = 0; e < gp[j].numel(); ++e) {
        const double numerical = (gp[j].data_ptr()[e] - gm[j].data_ptr()[e]) / (2 * eps);
        const double analytic = h[j][0].data_ptr()[e * w1.numel() + k];  // d2L / (d in_j[e] d w1[k])
        worst = std::max(worst, std::fabs(numerical - analytic));
      }
  }
  CHECK(worst < 1e-7);
}

}  // namespace autograd_functional_test
