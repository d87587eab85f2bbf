#include "test_util.hpp"

#include <thread>

namespace core_engine_test {

TEST_CASE("backward accumulates into .grad across calls", "[engine]") {
  auto x = tg::from_vector<double>({1, 2, 3}, tg::requires_grad());
  (x * x).sum().backward();
  require_values(x.grad(), {2, 4, 6});  // d/dx sum x^2 = 2x
  auto g = x.grad();
  (x * 3).sum().backward();
  require_values(x.grad(), {5, 7, 9});
  require_values(g, {5, 7, 9});  // accumulated in place: earlier handles see it
  x.zero_grad();
  require_values(x.grad(), {0, 0, 0});
  x.zero_grad(/*set_to_none=*/true);
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a tensor used twice gets the sum of both paths", "[engine]") {
  auto x = tg::scalar_tensor<double>(3.0, tg::requires_grad());
  auto y = x * x + x;  // dy/dx = 2x + 1
  y.backward();
  CHECK(x.grad().item() == 7.0);
}

TEST_CASE("broadcast inputs get gradients of their own shape", "[engine]") {
  auto w = tg::ones<double>({2, 3}, tg::requires_grad());
  auto b = tg::from_vector<double>({1, 2, 3}, tg::requires_grad());
  auto c = tg::scalar_tensor<double>(2.0, tg::requires_grad());
  ((w + b) * c).sum().backward();
  CHECK(b.grad().shape() == tg::Shape{3});
  require_values(b.grad(), {4, 4, 4});  // two rows, times c
  CHECK(c.grad().shape().empty());
  CHECK(c.grad().item() == Approx(6 + 2 * (1 + 2 + 3)));  // sum(w + b)
  require_values(w.grad(), {2, 2, 2, 2, 2, 2});
}

TEST_CASE("backward errors name the cause and the fix", "[engine]") {
  auto x = tg::ones<double>({2, 3}, tg::requires_grad());
  auto y = x * 2;
  REQUIRE_THROWS_AS(y.backward(), tg::ShapeError);
  REQUIRE_THROWS_WITH(y.backward(), TG_CONTAINS("output has 6 elements; pass a gradient of shape [2, 3] or reduce it "
                                                "to a scalar first"));
  REQUIRE_THROWS_WITH(y.backward(tg::ones<double>({3})),
                      TG_CONTAINS("gradient has shape [3] but the output has shape [2, 3]"));
  auto plain = tg::ones<double>({2});
  REQUIRE_THROWS_AS(plain.sum().backward(), tg::GraphError);
  REQUIRE_THROWS_WITH(plain.sum().backward(), TG_CONTAINS("does not require grad"));
  CHECK_FALSE(x.grad().defined());  // none of the failed calls touched .grad
}

TEST_CASE("second backward through a freed graph is an error; retain_graph keeps it", "[engine]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto z = (x * x).sum();
  z.backward(tg::Tensor<double>(), /*retain_graph=*/true);
  z.backward();
  require_values(x.grad(), {4, 8});
  REQUIRE_THROWS_AS(z.backward(), tg::GraphError);
  REQUIRE_THROWS_WITH(z.backward(), TG_CONTAINS("a second time"));
  REQUIRE_THROWS_WITH(z.backward(), TG_CONTAINS("retain_graph=true"));
  require_values(x.grad(), {4, 8});
}

TEST_CASE("backward with an explicit gradient is a vector-Jacobian product", "[engine]") {
  auto x = tg::from_vector<double>({1, 2, 3}, tg::requires_grad());
  auto y = x * x;
  y.backward(tg::from_vector<double>({1, 0.5, 0}));
  require_values(x.grad(), {2, 2, 0});
}

TEST_CASE("tg::grad returns gradients without touching .grad", "[engine]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto w = tg::from_vector<double>({3, 4}, tg::requires_grad());
  auto h = x * w;  // a non-leaf input
  auto out = (h * h).sum();
  auto grads = tg::grad({out}, {x, h}, {}, /*retain_graph=*/true);
  REQUIRE(grads.size() == 2);
  require_values(grads[0], {18, 64});  // 2 h w
  require_values(grads[1], {6, 16});   // 2 h
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(w.grad().defined());

  auto unused = tg::ones<double>({2}, tg::requires_grad());
  REQUIRE_THROWS_AS(tg::grad(out, {unused}, {}, true), tg::GraphError);
  REQUIRE_THROWS_WITH(tg::grad(out, {unused}, {}, true), TG_CONTAINS("allow_unused=true"));
  auto maybe = tg::grad(out, {x, unused}, {}, true, false, /*allow_unused=*/true);
  CHECK(maybe[0].defined());
  CHECK_FALSE(maybe[1].defined());
  REQUIRE_THROWS_WITH(tg::grad(out, {tg::ones<double>({2})}, {}, true), TG_CONTAINS("input 0 does not require grad"));
}

TEST_CASE("create_graph gives differentiable gradients (higher order)", "[engine]") {
  auto x = tg::scalar_tensor<double>(2.0, tg::requires_grad());
  auto y = x * x * x;  // y' = 3x^2, y'' = 6x, y''' = 6
  auto d1 = tg::grad(y, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  CHECK(d1.item() == Approx(12.0));
  CHECK(d1.requires_grad());
  auto d2 = tg::grad(d1, {x}, {}, std::nullopt, true)[0];
  CHECK(d2.item() == Approx(12.0));
  auto d3 = tg::grad(d2, {x}, {}, std::nullopt, true)[0];
  CHECK(d3.item() == Approx(6.0));

  // backward(create_graph) leaves a differentiable .grad
  auto z = tg::scalar_tensor<double>(3.0, tg::requires_grad());
  (z.exp() * z).backward(tg::Tensor<double>(), std::nullopt, true);  // d/dz z e^z = (1 + z) e^z
  CHECK(z.grad().item() == Approx(4 * std::exp(3.0)));
  CHECK(z.grad().requires_grad());
  auto gg = tg::grad(z.grad(), {z})[0];  // (2 + z) e^z
  CHECK(gg.item() == Approx(5 * std::exp(3.0)));
}

TEST_CASE("gradients of leaf outputs and of tensors reached twice through one node", "[engine]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  x.backward(tg::from_vector<double>({3, 4}));
  require_values(x.grad(), {3, 4});
  auto a = tg::ones<double>({2}, tg::requires_grad());
  (a + a).sum().backward();  // both inputs of one AddBackward0 are a
  require_values(a.grad(), {2, 2});
}

TEST_CASE("a chain of 1,000,000 ops backwards and frees without deep recursion", "[engine][long]") {
  auto x = tg::ones<double>({2}, tg::requires_grad());
  auto y = x;
  for (int i = 0; i < 1000000; ++i) y = (i % 2 == 0) ? y * 1.0 : y + 1.0;
  CHECK(y.at({0}) == Approx(500001.0));
  y.sum().backward();
  require_values(x.grad(), {1, 1});
  y = tg::Tensor<double>();  // drops the last handle: the whole chain is freed here
  CHECK(tg::memory_stats().current_bytes < 1000000);
}

TEST_CASE("saved tensors are released after backward and graphs freed with their last handle", "[engine]") {
  const auto base = tg::memory_stats().current_bytes;
  auto x = tg::ones<double>({1000}, tg::requires_grad());
  const auto with_x = tg::memory_stats().current_bytes;
  auto out = tg::exp(tg::exp(x)).sum();  // the inner exp's output lives only in the graph
  const auto with_graph = tg::memory_stats().current_bytes;
  CHECK(with_graph - with_x >= 2 * 1000 * 8);
  std::weak_ptr<tg::Node<double>> node = out.grad_fn();
  out.backward();
  CHECK(tg::memory_stats().current_bytes - with_x <= 1000 * 8 + 64);  // only x.grad is new
  out = tg::Tensor<double>();
  CHECK(node.expired());
  x = tg::Tensor<double>();
  CHECK(tg::memory_stats().current_bytes == base);
}

TEST_CASE("backward(create_graph) into a leaf leaves no reference cycle", "[engine]") {
  const auto base = tg::memory_stats().current_bytes;
  std::weak_ptr<tg::TensorImpl<double>> leaf;
  {
    auto z = tg::from_vector<double>({1, 2}, tg::requires_grad());
    leaf = z.impl();
    (z.exp() * z).sum().backward(tg::Tensor<double>(), std::nullopt, /*create_graph=*/true);
    REQUIRE(z.grad().requires_grad());  // .grad's graph saves z
    auto second = tg::grad(z.grad().sum(), {z})[0];  // d2/dz2 z e^z = (2 + z) e^z
    CHECK(second.at({0}) == Approx(3 * std::exp(1.0)));
  }
  CHECK(leaf.expired());
  CHECK(tg::memory_stats().current_bytes == base);
}

TEST_CASE("a graph may outlive its leaves", "[engine]") {
  tg::Tensor<double> out;
  {
    auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
    out = (x * x).sum();
  }
  out.backward();  // the gradient has nowhere to go, and nothing fails
  CHECK(out.item() == 5.0);
}

TEST_CASE("modifying a saved tensor in place before backward is caught", "[engine]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto y = x.exp();  // ExpBackward0 saves its output y
  auto z = (y * 2).sum();
  {
    tg::NoGradGuard no_grad;
    y += 1.0;
  }
  std::string message;
  try {
    z.backward();
  } catch (const tg::GraphError& e) {
    message = e.what();
  }
  CHECK_THAT(message, TG_CONTAINS("modified by an in-place operation"));
  CHECK_THAT(message, TG_CONTAINS("version 1, expected 0"));
  CHECK_THAT(message, TG_CONTAINS("saved by ExpBackward0"));
  CHECK_FALSE(x.grad().defined());
  // A tensor that is not saved (add's inputs) may change: like PyTorch, no error.
  auto a = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto b = a * 1.0;
  auto c = (b + 1.0).sum();
  {
    tg::NoGradGuard no_grad;
    b += 1.0;
  }
  c.backward();
  require_values(a.grad(), {1, 1});
}

namespace {
// A small two-layer network trained for a few steps; returns the final weights.
std::vector<double> train(unsigned seed) {
  tg::Generator gen(seed);
  auto w1 = tg::randn<double>({4, 8}, gen, tg::requires_grad());
  auto w2 = tg::randn<double>({8, 1}, gen, tg::requires_grad());
  auto data = tg::randn<double>({16, 4}, gen);
  auto target = tg::randn<double>({16, 1}, gen);
  for (int step = 0; step < 50; ++step) {
    auto pred = tg::matmul(tg::tanh(tg::matmul(data, w1)), w2);
    auto loss = ((pred - target) * (pred - target)).mean();
    loss.backward();
    tg::NoGradGuard no_grad;
    w1 -= w1.grad() * 0.05;
    w2 -= w2.grad() * 0.05;
    w1.zero_grad();
    w2.zero_grad();
  }
  auto out = w1.to_vector();
  for (double v : w2.to_vector()) out.push_back(v);
  return out;
}
}  // namespace

TEST_CASE("independent graphs on two threads give the serial results", "[engine][threads]") {
  const auto serial_a = train(1), serial_b = train(2);
  std::vector<double> thread_a, thread_b;
  std::thread ta([&] { thread_a = train(1); });
  std::thread tb([&] { thread_b = train(2); });
  ta.join();
  tb.join();
  CHECK(thread_a == serial_a);
  CHECK(thread_b == serial_b);
  CHECK(serial_a != serial_b);
}

TEST_CASE("grad_fn exposes the graph for inspection", "[engine][node]") {
  auto x = tg::ones<double>({2}, tg::requires_grad());
  auto c = tg::ones<double>({2});
  auto y = (x * c + 1.0).sum();
  auto sum_node = y.grad_fn();
  CHECK(std::string(sum_node->name()) == "SumBackward0");
  REQUIRE(sum_node->next_edges().size() == 1);
  auto add_node = sum_node->next_edges()[0].node;
  CHECK(std::string(add_node->name()) == "AddBackward0");
  auto mul_node = add_node->next_edges()[0].node;
  CHECK(std::string(mul_node->name()) == "MulBackward0");
  REQUIRE(mul_node->next_edges().size() == 2);
  CHECK(std::string(mul_node->next_edges()[0].node->name()) == "AccumulateGrad");
  CHECK(mul_node->next_edges()[1].node == nullptr);  // c does not require grad
  CHECK(mul_node->sequence_nr() < add_node->sequence_nr());
}

}  // namespace core_engine_test
