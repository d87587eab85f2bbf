// In-place ops: values, recorded gradients (gradcheck and gradgradcheck through each
// op), grad_fn names, version counters, and the refusals (leaf, views, saved tensors).
#include "test_util.hpp"

namespace ops_inplace_test {

namespace {
tg::Generator gen(20261123);

// A non-leaf copy of x: in-place ops on leaves that require grad are refused.
Tensor nonleaf(const Tensor& x) { return x * 1.0; }

std::string backward_error(const Tensor& loss) {
  try {
    loss.backward();
  } catch (const tg::GraphError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("in-place arithmetic writes into the same buffer and bumps the version", "[inplace]") {
  auto a = values({1, 2, 3, 4}, {2, 2});
  const double* buffer = a.data_ptr();
  const auto v0 = a.version();
  a.add_(values({10, 20}, {2}), 2.0);  // a + 2 * [10, 20] broadcast over rows
  require_values(a, {21, 42, 23, 44});
  a.sub_(values({1, 2}, {2, 1}));
  require_values(a, {20, 41, 21, 42});
  a.mul_(values({2, 0.5}, {2}));
  require_values(a, {40, 20.5, 42, 21});
  a.div_(values({4, 2}, {2, 1}));
  require_values(a, {10, 5.125, 21, 10.5});
  a.add_(1.0).sub_(0.5).mul_(2.0).div_(4.0);  // chains return the tensor
  require_values(a, {5.25, 2.8125, 10.75, 5.5});
  a.clamp_(3.0, 10.0);
  require_values(a, {5.25, 3, 10, 5.5});
  a.sub_(5.0).relu_();
  require_values(a, {0.25, 0, 5, 0.5});
  a.copy_(values({7, 8}, {2}));
  require_values(a, {7, 8, 7, 8});
  a.fill_(3.0);
  require_values(a, {3, 3, 3, 3});
  a.zero_();
  require_values(a, {0, 0, 0, 0});
  CHECK(a.data_ptr() == buffer);
  CHECK(a.version() == v0 + 14);  // one bump per op
  CHECK_FALSE(a.requires_grad());  // nothing required grad: nothing recorded
}

TEST_CASE("compound assignment is the in-place op, recorded like it", "[inplace]") {
  auto x = values({1, 2}, {2}, true);
  auto w = values({3, 4}, {2}, true);
  auto a = nonleaf(x);
  a += w;
  CHECK(grad_fn_name(a) == "AddBackward0");
  a *= w;  // a = (x + w) * w
  CHECK(grad_fn_name(a) == "MulBackward0");
  a -= 1.0;
  a /= 2.0;  // a = ((x + w) w - 1) / 2
  CHECK(grad_fn_name(a) == "DivBackward0");
  require_values(a, {5.5, 11.5});
  a.sum().backward();
  require_values(x.grad(), {1.5, 2});       // w / 2
  require_values(w.grad(), {3.5, 5});       // (x + 2w) / 2
}

TEST_CASE("each in-place op passes gradcheck and gradgradcheck", "[inplace]") {
  const Tensor x = away_from_zero({2, 3}, gen).requires_grad_();
  const Tensor y = away_from_zero({3}, gen).requires_grad_();  // broadcast over rows
  const Tensor s = away_from_zero({}, gen).requires_grad_();   // 0-d, broadcast everywhere

  const auto add_ = [](const Tensors& in) { return nonleaf(in[0]).add_(in[1], -1.5); };
  const auto sub_ = [](const Tensors& in) { return nonleaf(in[0]).sub_(in[1], 2.0); };
  const auto mul_ = [](const Tensors& in) { return nonleaf(in[0]).mul_(in[1]); };
  const auto div_ = [](const Tensors& in) { return nonleaf(in[0]).div_(in[1]); };
  const auto copy_ = [](const Tensors& in) { return (nonleaf(in[0]).copy_(in[1]) * in[0]); };
  for (const Tensor& other : {y, s}) {
    CHECK_GRAD(add_, x, other);
    CHECK_GRAD(sub_, x, other);
    CHECK_GRAD(mul_, x, other);
    CHECK_GRADGRAD(mul_, x, other);
    CHECK_GRAD(div_, x, other);
    CHECK_GRADGRAD(div_, x, other);
    CHECK_GRAD(copy_, x, other);
  }
  const auto scalars = [](const Tensors& in) {
    return nonleaf(in[0]).add_(0.5).sub_(2.0).mul_(-3.0).div_(0.7) * in[0];
  };
  CHECK_GRAD(scalars, x);
  CHECK_GRADGRAD(scalars, x);
  // Elements away from the kinks at 0 and at the bounds.
  const auto relu_ = [](const Tensors& in) { return nonleaf(in[0]).relu_() * in[0]; };
  const auto clamp_ = [](const Tensors& in) { return nonleaf(in[0]).clamp_(-0.9, 0.8) * in[0]; };
  CHECK_GRAD(relu_, x);
  CHECK_GRADGRAD(relu_, x);
  CHECK_GRAD(clamp_, x);
  CHECK_GRADGRAD(clamp_, x);
}

TEST_CASE("in-place ops rebase the graph onto the tensor they modify", "[inplace]") {
  auto x = values({1, -2, 3}, {3}, true);
  auto a = x.sin();  // SinBackward0 saves its input, not a
  const auto old_fn = a.grad_fn();
  a.mul_(2.0);
  CHECK(grad_fn_name(a) == "MulBackward0");
  REQUIRE(a.grad_fn()->next_edges().size() == 1);
  CHECK(a.grad_fn()->next_edges()[0].node == old_fn);  // leads to the node of the old value
  CHECK_FALSE(a.is_leaf());
  // A tensor that did not require grad starts to when an operand does.
  auto w = values({0.5, 1.5, 2}, {3}, true);
  auto buffer = tg::zeros<double>({3});
  buffer.add_(w);
  CHECK(buffer.requires_grad());
  CHECK(grad_fn_name(buffer) == "AddBackward0");
  REQUIRE(buffer.grad_fn()->next_edges().size() == 2);
  CHECK(buffer.grad_fn()->next_edges()[0].node == nullptr);  // the zeros are a constant
  (a * buffer).sum().backward();
  // d/dx sum(2 sin(x) w) = 2 cos(x) w;  d/dw = 2 sin(x)
  require_values(x.grad(), {2 * std::cos(1.0) * 0.5, 2 * std::cos(-2.0) * 1.5, 2 * std::cos(3.0) * 2}, 1e-12);
  require_values(w.grad(), {2 * std::sin(1.0), 2 * std::sin(-2.0), 2 * std::sin(3.0)}, 1e-12);
}

TEST_CASE("an in-place op on a tensor with itself as the operand", "[inplace]") {
  auto x = values({1.5, -2, 0.5}, {3}, true);
  auto a = nonleaf(x);
  a.mul_(a);  // x^2: the rule needs the old value, which the op itself overwrites
  require_values(a, {2.25, 4, 0.25});
  a.sum().backward();
  require_values(x.grad(), {3, -4, 1});  // 2x
  const auto square = [](const Tensors& in) {
    auto b = nonleaf(in[0]);
    return b.mul_(b);
  };
  CHECK_GRAD(square, x);
  CHECK_GRADGRAD(square, x);
  const auto self_div = [](const Tensors& in) {
    auto b = nonleaf(in[0]);
    return b.div_(b) * in[0];  // 1 * x
  };
  CHECK_GRAD(self_div, x);
  const auto self_add = [](const Tensors& in) {
    auto b = nonleaf(in[0]);
    return b.add_(b, 3.0);  // 4x
  };
  CHECK_GRAD(self_add, x);
}

TEST_CASE("zero_, fill_ and copy_ cut the old value's gradient", "[inplace]") {
  auto x = values({1, 2}, {2}, true);
  auto a = x * 3.0;
  a.zero_();
  CHECK(grad_fn_name(a) == "ZeroBackward0");
  (a + x * x).sum().backward();
  require_values(x.grad(), {2, 4});  // only through x * x
  x.zero_grad();
  auto b = x * 3.0;
  b.fill_(5.0);
  CHECK(grad_fn_name(b) == "FillBackward0");
  require_values(b, {5, 5});
  (b * x).sum().backward();
  require_values(x.grad(), {5, 5});
  // copy_: the gradient goes to the source, summed over the dims it was broadcast along.
  auto src = values({2}, {1}, true);
  auto c = nonleaf(x);
  c.copy_(src);
  CHECK(grad_fn_name(c) == "CopyBackwards");
  x.zero_grad();
  (c * values({3, 4}, {2})).sum().backward();
  require_values(src.grad(), {7});
  require_values(x.grad(), {0, 0});
}

TEST_CASE("clamp_ and relu_ follow clamp and relu at their kinks", "[inplace]") {
  auto x = values({-1, 0, 0.5, 1, 2}, {5}, true);
  auto a = nonleaf(x);
  a.clamp_(0.0, 1.0);
  require_values(a, {0, 0, 0.5, 1, 1});
  CHECK(grad_fn_name(a) == "ClampBackward1");
  a.sum().backward();
  require_values(x.grad(), {0, 1, 1, 1, 0});  // gradient 1 at the bounds, as clamp
  x.zero_grad();
  auto b = nonleaf(x);
  b.relu_();
  CHECK(grad_fn_name(b) == "ReluBackward0");
  b.sum().backward();
  require_values(x.grad(), {0, 0, 1, 1, 1});  // relu'(0) = 0
  // as relu: an infinite upstream gradient where the result is 0 gives 0, not nan
  x.zero_grad();
  auto r = nonleaf(x);
  r.relu_();
  r.backward(values({INFINITY, INFINITY, 2, 3, 4}, {5}));
  require_values(x.grad(), {0, 0, 2, 3, 4});
  auto c = values({-3, 5}, {2});
  c.clamp_(std::nullopt, 1.0);
  require_values(c, {-3, 1});
  c.clamp_(-2.0);
  require_values(c, {-2, 1});
  CHECK_THROWS_AS(c.clamp_(std::nullopt, std::nullopt), tg::ValueError);
  CHECK_THROWS_WITH(c.clamp_(std::nullopt), TG_CONTAINS("clamp_: at least one of min and max"));
  CHECK_THROWS_WITH(c.clamp_(std::nan("")), TG_CONTAINS("clamp_: min is nan"));
}

TEST_CASE("modifying a tensor saved for backward is caught at backward", "[inplace]") {
  auto x = values({1, 2}, {2}, true);
  auto y = x.exp();  // ExpBackward0 saves its output y
  y.add_(1.0);       // recorded, but the saved value is gone
  const std::string message = backward_error(y.sum());
  CHECK_THAT(message, TG_CONTAINS("a tensor needed for gradient computation has been modified by an in-place "
                                  "operation: version 1, expected 0"));
  CHECK_THAT(message, TG_CONTAINS("ExpBackward0"));
  CHECK_FALSE(x.grad().defined());  // nothing half-accumulated

  // The example: relu_ saves its result at version 1; mul_ moves it to 2.
  auto a = nonleaf(x);
  a.relu_();
  a.mul_(3.0);
  CHECK_THAT(backward_error(a.sum()), TG_CONTAINS("has been modified by an in-place operation: version 2, expected 1"));

  // A saved input, modified under NoGradGuard (a manual update between forward and backward).
  auto w = values({1, 2}, {2}, true);
  auto h = nonleaf(w);
  auto loss = (h * h).sum();  // MulBackward0 saves h
  {
    tg::NoGradGuard no_grad;
    h.mul_(2.0);
  }
  CHECK_THAT(backward_error(loss), TG_CONTAINS("MulBackward0"));
  // Ops that save nothing of the modified tensor do not mind (as in PyTorch).
  auto p = values({1, 2}, {2}, true);
  auto q = nonleaf(p);
  auto r = (q + 1.0).sum();
  q.mul_(5.0);
  r.backward();
  require_values(p.grad(), {1, 1});
}

TEST_CASE("in-place on a leaf that requires grad is refused while recording", "[inplace]") {
  auto p = values({1, 2}, {2}, true);
  const auto v0 = p.version();
  CHECK_THROWS_AS(p.add_(1.0), tg::GraphError);
  CHECK_THROWS_WITH(p.mul_(values({2, 2}, {2})), TG_CONTAINS("mul_: a leaf tensor that requires grad"));
  CHECK_THROWS_WITH(p.relu_(), TG_CONTAINS("NoGradGuard"));
  CHECK_THROWS_WITH(p -= 1.0, TG_CONTAINS("sub_: a leaf tensor"));
  CHECK_THROWS_WITH(p.zero_(), TG_CONTAINS("zero_:"));
  require_values(p, {1, 2});  // refused before writing
  CHECK(p.version() == v0);
  {
    tg::NoGradGuard no_grad;  // a parameter update
    p.sub_(values({0.5, 0.5}, {2}), 2.0);
  }
  require_values(p, {0, 1});
  CHECK(p.version() == v0 + 1);
  CHECK(p.is_leaf());
  CHECK(p.requires_grad());
}

TEST_CASE("a buffer shared with a live view cannot be modified while recording", "[inplace]") {
  auto x = values({1, 2, 3, 4}, {2, 2}, true);
  auto a = nonleaf(x);
  {
    auto v = a.reshape({4});
    CHECK_THROWS_AS(v.mul_(2.0), tg::GraphError);
    CHECK_THROWS_WITH(v.mul_(2.0), TG_CONTAINS("shares its buffer with a view"));
    CHECK_THROWS_WITH(a.add_(1.0), TG_CONTAINS("add_: the tensor (shape [2, 2]) shares its buffer"));
    auto u = a.flatten();
    CHECK_THROWS_WITH(a.relu_(), TG_CONTAINS("clone()"));
    // A clone is independent.
    auto c = v.clone();
    c.mul_(2.0);
    require_values(c, {2, 4, 6, 8});
    require_values(a, {1, 2, 3, 4});
  }
  a.mul_(2.0);  // the views are gone
  require_values(a, {2, 4, 6, 8});
  a.sum().backward();
  require_values(x.grad(), {2, 2, 2, 2});
  // Without recording, views simply see the write.
  auto b = values({1, 2, 3, 4}, {2, 2});
  auto view = b.view({4});
  b.add_(1.0);
  require_values(view, {2, 3, 4, 5});
  view.mul_(values({2}, {1}, true).detach());
  require_values(b, {4, 6, 8, 10});
}

TEST_CASE("in-place shape errors leave the tensor unchanged", "[inplace]") {
  auto x = values({1, 2}, {2}, true);
  auto a = nonleaf(x);
  const auto v0 = a.version();
  const auto fn = a.grad_fn();
  CHECK_THROWS_AS(a.add_(tg::ones<double>({3})), tg::ShapeError);
  CHECK_THROWS_WITH(a.mul_(tg::ones<double>({2, 2})),
                    TG_CONTAINS("mul_: a tensor of shape [2, 2] cannot be broadcast to the shape [2]"));
  CHECK_THROWS_WITH(a.copy_(tg::ones<double>({3})), TG_CONTAINS("copy_:"));
  CHECK_THROWS_WITH(a.div_(tg::ones<double>({3})), TG_CONTAINS("div_:"));
  CHECK_THROWS_WITH(a.sub_(tg::ones<double>({3})), TG_CONTAINS("sub_:"));
  require_values(a, {1, 2});
  CHECK(a.version() == v0);
  CHECK(a.grad_fn() == fn);
  Tensor undefined;
  CHECK_THROWS_AS(a.add_(undefined), tg::ValueError);
}

TEST_CASE("in-place ops work with tg::grad, retain_graph and create_graph", "[inplace]") {
  auto x = values({0.5, -1}, {2}, true);
  auto a = x.sin();  // (x.tanh() would not do: TanhBackward0 saves the result a)
  a.mul_(x);         // a = x sin x
  auto loss = a.sum();
  const auto g = tg::grad(loss, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  // d/dx x sin x = sin x + x cos x
  const auto d1 = [](double v) { return std::sin(v) + v * std::cos(v); };
  require_values(g, {d1(0.5), d1(-1)}, 1e-12);
  g.sum().backward();
  // d2/dx2 = 2 cos x - x sin x
  const auto d2 = [](double v) { return 2 * std::cos(v) - v * std::sin(v); };
  require_values(x.grad(), {d2(0.5), d2(-1)}, 1e-12);
}

TEST_CASE("in-place ops on float tensors", "[inplace]") {
  auto x = tg::from_vector<float>({1, 2}, {2}, tg::requires_grad());
  auto a = x * 1.0f;
  a.mul_(x).add_(1.0f);
  CHECK(a.to_vector() == std::vector<float>{2, 5});
  a.sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{2, 4});
}

TEST_CASE("retain_grad follows a tensor through an in-place op; hooks stay with the old value", "[inplace]") {
  auto x = values({1, 2}, {2}, true);
  auto h = x * 2.0;
  h.retain_grad();
  Tensor seen_by_hook;
  h.register_hook([&seen_by_hook](const Tensor& g) { seen_by_hook = g.clone(); });
  h.mul_(3.0);  // h = 6x
  (h * h).sum().backward();
  require_values(h.grad(), {12, 24});        // d/dh (h^2) = 2h at the new value h = 6x (PyTorch's answer)
  require_values(seen_by_hook, {36, 72});    // the old value's gradient: 2h * 3
  require_values(x.grad(), {72, 144});       // d/dx 36 x^2
}

}  // namespace ops_inplace_test
