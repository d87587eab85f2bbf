#include "test_util.hpp"

#include <algorithm>
#include <string>

namespace autograd_dot_test {

// to_dot: the backward graph in Graphviz dot.

namespace {
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("to_dot writes the backward graph", "[dot]") {
  auto x = tg::ones<double>({2, 3}, tg::requires_grad());
  auto w = tg::ones<double>({3}, tg::requires_grad());
  auto c = tg::ones<double>({2, 3});  // a constant: no node, no edge
  auto loss = ((x * w + c).exp() * x).sum();
  const std::string dot = tg::to_dot(loss);
  INFO(dot);
  CHECK(dot.rfind("digraph backward {", 0) == 0);
  CHECK(dot.back() == '\n');
  CHECK(count(dot, "label=\"SumBackward0\"") == 1);
  CHECK(count(dot, "label=\"MulBackward0\"") == 2);
  CHECK(count(dot, "label=\"AddBackward0\"") == 1);
  CHECK(count(dot, "label=\"ExpBackward0\"") == 1);
  // x is used twice but has one sink; the leaves show their shapes.
  CHECK(count(dot, "AccumulateGrad\\nleaf [2, 3]") == 1);
  CHECK(count(dot, "AccumulateGrad\\nleaf [3]") == 1);
  CHECK(count(dot, "output [label=\"output\\n[]\"") == 1);
  // Edges: output->Sum, Sum->Mul, Mul->{Exp, x}, Exp->Add, Add->Mul (c needs none),
  // Mul->{x, w}: 8, each labelled with the shape it feeds.
  CHECK(count(dot, " -> ") == 8);
  CHECK(count(dot, "[label=\"[3]\"]") == 1);  // w's edge: the gradient is summed back to [3]

  auto leaf_only = tg::ones<double>({4}, tg::requires_grad());
  CHECK(count(tg::to_dot(leaf_only), "AccumulateGrad") == 1);
  CHECK_THROWS_AS(tg::to_dot(c), tg::GraphError);
  CHECK_THROWS_WITH(tg::to_dot(c), TG_CONTAINS("to_dot: the tensor does not require grad"));
}

TEST_CASE("to_dot handles long chains without recursion", "[dot]") {
  auto x = tg::ones<double>({1}, tg::requires_grad());
  auto y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  const std::string dot = tg::to_dot(y);
  CHECK(count(dot, "label=\"MulBackward0\"") == 20000);
}

TEST_CASE("all_finite checks gradients before an optimizer step", "[dot][all_finite]") {
  auto w = values({1, -2}, {2}, true);
  CHECK(tg::all_finite(Tensors{w, w.grad()}));  // an undefined .grad is skipped
  tg::log(w).sum().backward();                  // log(-2) = nan, gradient -0.5 is finite
  CHECK(tg::all_finite(w.grad()));
  CHECK_FALSE(tg::all_finite(tg::log(w)));
  auto inf_grad = values({1, std::numeric_limits<double>::infinity()}, {2});
  CHECK_FALSE(tg::all_finite(Tensors{w, inf_grad}));
}

}  // namespace autograd_dot_test
