#include "test_util.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace core_hooks_test {

namespace {
std::int64_t bytes_held() { return tg::memory_stats().current_bytes; }
}  // namespace

TEST_CASE("a hook on a leaf replaces the gradient before it is accumulated", "[hooks]") {
  auto x = tg::from_vector<double>({1, 2, 3}, tg::requires_grad());
  std::vector<double> seen;
  auto handle = x.register_hook([&seen](const Tensor& g) {
    seen = g.to_vector();
    return g * 2;
  });
  (x * x).sum().backward();  // d/dx sum x^2 = 2x = {2, 4, 6}; the hook doubles it
  CHECK(seen == std::vector<double>{2, 4, 6});
  require_values(x.grad(), {4, 8, 12});
  (x * 3).sum().backward();  // the hooked 6 is what gets accumulated
  require_values(x.grad(), {10, 14, 18});
  handle.remove();
  (x * 3).sum().backward();
  require_values(x.grad(), {13, 17, 21});
}

TEST_CASE("a hook on a non-leaf scales the gradient of everything upstream of it, nothing else", "[hooks]") {
  auto w = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto b = tg::from_vector<double>({0.5, -1}, tg::requires_grad());
  auto c = tg::from_vector<double>({3, 5}, tg::requires_grad());
  auto h = w * w + b;  // {1.5, 3}
  h.register_hook([](const Tensor& g) { return g * 2; });
  auto out = (h * h).sum() + (w * c).sum();
  out.backward();
  // dout/dh = 2h = {3, 6}, doubled by the hook: {6, 12}; dh/dw = 2w, dh/db = 1.
  require_values(b.grad(), {6, 12});
  require_values(w.grad(), {2 * 1 * 6 + 3, 2 * 2 * 12 + 5});  // the w * c path is not doubled
  require_values(c.grad(), {1, 2});
}

TEST_CASE("a non-leaf's hook sees its complete gradient once, and keeps working after the handle is dropped",
          "[hooks]") {
  auto x = tg::scalar_tensor<double>(2.0, tg::requires_grad());
  int calls = 0;
  double seen = 0;
  tg::Tensor<double> out;
  {
    auto y = x * 3;
    y.register_hook([&](const Tensor& g) {
      ++calls;
      seen = g.item();
      return g * 10;
    });
    out = y + y * y;  // y reaches out through two paths; d out/dy = 1 + 2y = 13
  }  // the only handle to y is gone; its hook lives on its grad_fn
  out.backward();
  CHECK(calls == 1);
  CHECK(seen == 13.0);
  CHECK(x.grad().item() == Approx(13.0 * 10 * 3));
}

TEST_CASE("several hooks run in registration order, each on the previous one's result", "[hooks]") {
  SECTION("non-leaf") {
    auto x = tg::scalar_tensor<double>(2.0, tg::requires_grad());
    auto y = x * 3;
    std::string order;
    y.register_hook([&](const Tensor& g) { order += 'a'; return g + 1; });
    y.register_hook([&](const Tensor& g) { order += 'b'; return g * 10; });
    y.backward();  // (1 + 1) * 10 = 20; the other order would give 11
    CHECK(order == "ab");
    CHECK(x.grad().item() == Approx(60.0));
  }
  SECTION("leaf") {
    auto x = tg::scalar_tensor<double>(2.0, tg::requires_grad());
    x.register_hook([](const Tensor& g) { return g * 10; });
    x.register_hook([](const Tensor& g) { return g + 1; });
    (x * 3).backward();  // 3 * 10 + 1
    CHECK(x.grad().item() == Approx(31.0));
  }
}

TEST_CASE("void hooks observe; a hook returning an undefined tensor keeps the gradient", "[hooks]") {
  auto x = tg::from_vector<double>({1, -1}, tg::requires_grad());
  auto y = x.exp();
  std::vector<double> seen_y, seen_x;
  y.register_hook([&](const Tensor& g) { seen_y = g.to_vector(); });
  x.register_hook([&](const Tensor& g) { seen_x = g.to_vector(); });
  y.register_hook([](const Tensor&) { return Tensor(); });
  (y * 2).sum().backward();
  CHECK(seen_y == std::vector<double>{2, 2});
  REQUIRE(seen_x.size() == 2);
  CHECK(seen_x[0] == Approx(2 * std::exp(1.0)));
  require_values(x.grad(), {2 * std::exp(1.0), 2 * std::exp(-1.0)});
}

TEST_CASE("remove() is idempotent, may run inside the hook, and is harmless once the tensor is gone", "[hooks]") {
  auto x = tg::scalar_tensor<double>(1.0, tg::requires_grad());
  auto y = x * 1;
  auto doubling = y.register_hook([](const Tensor& g) { return g * 2; });
  auto tripling = y.register_hook([](const Tensor& g) { return g * 3; });
  doubling.remove();
  doubling.remove();
  y.backward(Tensor(), /*retain_graph=*/true);
  CHECK(x.grad().item() == Approx(3.0));

  tripling.remove();
  tg::RemovableHandle once;
  once = y.register_hook([&once](const Tensor& g) {
    once.remove();  // the first run takes the hook out
    return g * 5;
  });
  y.backward(Tensor(), true);
  y.backward();
  CHECK(x.grad().item() == Approx(3.0 + 5.0 + 1.0));

  tg::RemovableHandle().remove();  // a default handle does nothing
  tg::RemovableHandle outliving_leaf, outliving_node;
  {
    auto t = tg::ones<double>({2}, tg::requires_grad());
    outliving_leaf = t.register_hook([](const Tensor& g) { return g; });
    outliving_node = (t * 2).register_hook([](const Tensor& g) { return g; });
  }
  outliving_leaf.remove();
  outliving_node.remove();
}

TEST_CASE("hooks on the outputs of a multi-output op and retain_grad on one of them", "[hooks]") {
  auto x = tg::from_vector<double>({1, 2, 3, 4}, tg::requires_grad());
  auto pieces = x.split(2);  // one SplitBackward node with two outputs
  REQUIRE(pieces.size() == 2);
  pieces[1].register_hook([](const Tensor& g) { return g * -1; });
  pieces[1].retain_grad();
  CHECK(pieces[1].retains_grad());
  CHECK_FALSE(pieces[0].retains_grad());
  ((pieces[0] * 2).sum() + (pieces[1] * 3).sum()).backward();
  require_values(x.grad(), {2, 2, -3, -3});
  require_values(pieces[1].grad(), {-3, -3});
  CHECK_FALSE(pieces[0].grad().defined());
}

TEST_CASE("tg::grad runs hooks and returns the hooked gradients, leaving .grad alone", "[hooks]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto h = x * x;  // dh/dx = 2x
  h.retain_grad();
  auto out = (h * 3).sum();
  x.register_hook([](const Tensor& g) { return g + 100; });
  h.register_hook([](const Tensor& g) { return g * 2; });
  auto grads = tg::grad(out, {x, h}, {}, /*retain_graph=*/true);
  require_values(grads[1], {6, 6});                    // 3, doubled
  require_values(grads[0], {6 * 2 + 100, 6 * 4 + 100});  // 6 * 2x, then the leaf's hook
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(h.grad().defined());  // tg::grad never writes .grad (PyTorch's retain_grad would)
}

TEST_CASE("with create_graph a hooked gradient stays differentiable (second derivative, closed form)", "[hooks]") {
  // out = sin(h), h = x^2, with a hook doubling dL/dh. The hook is an op (g * 2), so
  // with create_graph it is recorded, and it runs again whenever a gradient flows into
  // h's grad_fn, in the second pass too (as in PyTorch):
  //   d1 = 2 cos(h) * 2x = 4x cos(x^2)
  //   d2 = 4 cos(x^2) + [d d1/dh = -4x sin(h), doubled by the hook] * 2x = 4 cos(x^2) - 16 x^2 sin(x^2)
  const double v = 0.7;
  auto x = tg::scalar_tensor<double>(v, tg::requires_grad());
  auto h = x * x;
  auto handle = h.register_hook([](const Tensor& g) { return g * 2; });
  auto out = h.sin();
  auto d1 = tg::grad(out, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  CHECK(d1.item() == Approx(4 * v * std::cos(v * v)));
  REQUIRE(d1.requires_grad());
  auto d2 = tg::grad(d1, {x}, {}, /*retain_graph=*/true)[0];
  CHECK(d2.item() == Approx(4 * std::cos(v * v) - 16 * v * v * std::sin(v * v)));
  handle.remove();  // without the hook in the second pass: d/dx (4x cos(x^2)) = 4 cos(x^2) - 8 x^2 sin(x^2)
  auto d2_unhooked = tg::grad(d1, {x})[0];
  CHECK(d2_unhooked.item() == Approx(4 * std::cos(v * v) - 8 * v * v * std::sin(v * v)));
}

TEST_CASE("a leaf hook using tg ops under create_graph is part of the differentiable gradient", "[hooks]") {
  // The hook squares the gradient: for out = x^3, g = 3x^2 becomes 9x^4, whose derivative
  // is 36x^3. The hook squares that too while it is registered: x is the input again.
  const double v = 1.5;
  auto x = tg::scalar_tensor<double>(v, tg::requires_grad());
  auto handle = x.register_hook([](const Tensor& g) { return g * g; });
  auto g = tg::grad(x * x * x, {x}, {}, std::nullopt, true)[0];
  CHECK(g.item() == Approx(9 * std::pow(v, 4)));
  CHECK(tg::grad(g, {x}, {}, /*retain_graph=*/true)[0].item() == Approx(std::pow(36 * std::pow(v, 3), 2)));
  handle.remove();
  CHECK(tg::grad(g, {x})[0].item() == Approx(36 * std::pow(v, 3)));
}

TEST_CASE("retain_grad keeps a non-leaf's gradient and accumulates it across backward calls", "[hooks]") {
  auto x = tg::from_vector<double>({1, 2, 3}, tg::requires_grad());
  auto h = x * x;
  h.retain_grad();
  h.retain_grad();  // twice is fine
  CHECK(h.retains_grad());
  auto out = (h * h).sum();
  out.retain_grad();
  out.backward(Tensor(), /*retain_graph=*/true);
  require_values(h.grad(), {2, 8, 18});      // dout/dh = 2h = 2x^2
  require_values(x.grad(), {4, 32, 108});    // 2h * 2x = 4x^3
  CHECK(out.grad().item() == 1.0);           // the seed
  auto handle_to_grad = h.grad();
  out.backward();
  require_values(h.grad(), {4, 16, 36});
  require_values(handle_to_grad, {4, 16, 36});  // accumulated in place, like a leaf's .grad
  h.zero_grad();
  require_values(h.grad(), {0, 0, 0});

  // leaves: a no-op that reports false, as in PyTorch
  x.retain_grad();
  CHECK_FALSE(x.retains_grad());
  CHECK_FALSE((x * 2).retains_grad());
}

TEST_CASE("retain_grad sees the hooked gradient whatever the registration order", "[hooks]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto a = x * 1, b = x * 1;
  a.retain_grad();
  a.register_hook([](const Tensor& g) { return g * 2; });
  b.register_hook([](const Tensor& g) { return g * 2; });
  b.retain_grad();
  (a * 3 + b * 5).sum().backward();
  require_values(a.grad(), {6, 6});
  require_values(b.grad(), {10, 10});
  require_values(x.grad(), {16, 16});
}

TEST_CASE("hook and retain_grad errors name the cause; a failed backward leaves every .grad alone", "[hooks]") {
  auto plain = tg::ones<double>({2});
  CHECK_THROWS_AS(plain.register_hook([](const Tensor& g) { return g; }), tg::GraphError);
  CHECK_THROWS_WITH(plain.register_hook([](const Tensor& g) { return g; }),
                    TG_CONTAINS("register_hook: cannot register a hook on a tensor that does not require grad"));
  CHECK_THROWS_AS(plain.retain_grad(), tg::GraphError);
  CHECK_THROWS_WITH(plain.retain_grad(), TG_CONTAINS("retain_grad: cannot retain the gradient of a tensor that does "
                                                     "not require grad"));
  CHECK_THROWS_AS(Tensor().register_hook([](const Tensor& g) { return g; }), tg::ValueError);

  auto w = tg::ones<double>({2, 2}, tg::requires_grad());
  auto x = tg::ones<double>({2, 2}, tg::requires_grad());
  auto h = w * x;
  h.retain_grad();
  h.register_hook([](const Tensor&) { return tg::ones<double>({3}); });
  auto out = h.sum() + w.sum();
  CHECK_THROWS_AS(out.backward(Tensor(), true), tg::ShapeError);
  CHECK_THROWS_WITH(out.backward(Tensor(), true),
                    TG_CONTAINS("backward: hook 0 (of 1, counted from 0 in registration order) on the gradient of "
                                "the tensor with grad_fn MulBackward0 returned a gradient of shape [3], but the "
                                "gradient has shape [2, 2]"));
  CHECK_FALSE(w.grad().defined());  // w's direct path ran before the hook failed; nothing was written
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(h.grad().defined());

  auto leaf = tg::ones<double>({2}, tg::requires_grad());
  leaf.register_hook([](const Tensor&) { return tg::ones<double>({2, 1}); });
  CHECK_THROWS_WITH(tg::grad((leaf * 2).sum(), {leaf}),
                    TG_CONTAINS("grad: hook 0 (of 1, counted from 0 in registration order) on the gradient of a "
                                "leaf of shape [2] returned a gradient of shape [2, 1]"));
}

TEST_CASE("graphs with hooks and retain_grad are freed when the last handle goes", "[hooks][memory]") {
  const auto base = bytes_held();
  {
    auto w = tg::full<double>({64}, 0.5, tg::requires_grad());
    auto scale = tg::full<double>({64}, 3.0);  // captured by the hooks below
    auto h = (w * 2).exp();
    auto h2 = h * h;
    auto on_h = h.register_hook([scale](const Tensor& g) { return g * scale; });
    auto on_w = w.register_hook([scale](const Tensor& g) { return g + scale; });
    h.retain_grad();
    h2.retain_grad();
    h2.sum().backward();
    // d sum(h^2)/dh = 2h, times 3 from the hook; dh/dw = 2h; then + 3 on the leaf
    const double hv = std::exp(1.0);
    CHECK(h.grad().data_ptr()[0] == Approx(6 * hv));
    CHECK(w.grad().data_ptr()[0] == Approx(12 * hv * hv + 3));
    CHECK(h2.grad().data_ptr()[0] == 1.0);
    CHECK(bytes_held() > base);
  }
  CHECK(bytes_held() == base);

  {  // the same with create_graph: the differentiable gradients hold graphs of their own
    auto x = tg::full<double>({16}, 0.3, tg::requires_grad());
    auto other = tg::full<double>({16}, 2.0, tg::requires_grad());
    auto h = x.sin();
    h.register_hook([other](const Tensor& g) { return g * other; });
    h.retain_grad();
    auto g = tg::grad((h * h).sum(), {x}, {}, std::nullopt, /*create_graph=*/true)[0];
    auto gg = tg::grad(g.sum(), {x, other});
    CHECK(gg[0].defined());
    CHECK(gg[1].data_ptr()[0] == Approx(2 * std::sin(0.3) * std::cos(0.3)));  // d/d other of 2h other cos x
  }
  CHECK(bytes_held() == base);
}

TEST_CASE("a hook capturing its own tensor is a reference cycle until the hook is removed", "[hooks][memory]") {
  // The trap the docs warn about: h -> grad_fn -> hook -> h. remove() breaks it; a
  // weak reference avoids it.
  const auto base = bytes_held();
  tg::RemovableHandle handle;
  {
    auto x = tg::ones<double>({256}, tg::requires_grad());
    auto h = x * 2;
    handle = h.register_hook([h](const Tensor& g) { return g * h; });
  }
  CHECK(bytes_held() > base);  // nothing outside holds h, yet it lives
  handle.remove();
  CHECK(bytes_held() == base);

  {
    auto x = tg::ones<double>({256}, tg::requires_grad());
    auto h = x * 2;
    std::weak_ptr<tg::TensorImpl<double>> weak_h = h.impl();
    h.register_hook([weak_h](const Tensor& g) {
      auto self = weak_h.lock();
      return self ? g * Tensor(self).detach() : Tensor();
    });
    h.sum().backward();
    CHECK(x.grad().data_ptr()[0] == 4.0);  // 1 * h (= 2) * dh/dx (= 2)
  }
  CHECK(bytes_held() == base);
}

TEST_CASE("retain_grad with backward(create_graph) holds a cycle until its .grad is cleared", "[hooks][memory]") {
  // As in PyTorch: the retained, differentiable .grad = 2h has a graph that saves h.
  const auto base = bytes_held();
  {
    auto x = tg::full<double>({100}, 0.5, tg::requires_grad());
    auto h = x.exp();
    h.retain_grad();
    (h * h).sum().backward(Tensor(), std::nullopt, /*create_graph=*/true);
    CHECK(h.grad().requires_grad());
    CHECK(h.grad().data_ptr()[0] == Approx(2 * std::exp(0.5)));
    h.zero_grad(/*set_to_none=*/true);  // the documented fix
    x.zero_grad(true);
  }
  CHECK(bytes_held() == base);
}

TEST_CASE("hooks work for float tensors", "[hooks]") {
  auto x = tg::scalar_tensor<float>(2.0f, tg::requires_grad());
  auto y = x * x;
  y.register_hook([](const tg::Tensor<float>& g) { return g * 0.5f; });
  y.retain_grad();
  y.backward();
  CHECK(y.grad().item() == 0.5f);
  CHECK(x.grad().item() == Approx(2.0f));
}

TEST_CASE("grad() of a non-leaf warns once per process; retain_grad() and leaves do not warn") {
  std::vector<std::string> warnings;
  tg::set_warning_handler([&](const std::string& m) { warnings.push_back(m); });
  tg::detail::warning_state().nonleaf_grad_warned = false;
  auto x = tg::ones<double>({2}, tg::requires_grad());
  auto y = x * 2.0;
  auto kept = x * 3.0;
  kept.retain_grad();
  (y + kept).sum().backward();
  CHECK(x.grad().defined());
  CHECK(kept.grad().defined());
  CHECK(warnings.empty());
  CHECK_FALSE(y.grad().defined());
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], TG_CONTAINS("not a leaf (grad_fn MulBackward0)") && TG_CONTAINS("retain_grad()"));
  CHECK_FALSE(y.grad().defined());
  CHECK(warnings.size() == 1);  // once
  tg::set_warning_handler(nullptr);
}

}  // namespace core_hooks_test
