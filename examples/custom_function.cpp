// A custom function: a numerically stable log(1 + e^x) with a hand-written backward.
#include <tapegrad/tapegrad.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "check.hpp"

namespace tg = tapegrad;
using example::check;
using Tensor = tg::Tensor<double>;

// f(x) = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|): e^-|x| <= 1 cannot
// overflow, and log1p keeps the digits of 1 + tiny. f'(x) = e^x / (1 + e^x) = sigmoid(x).
struct Log1pExp : tg::Function<Log1pExp> {
  static constexpr const char* name = "Log1pExp";  // its grad_fn is "Log1pExpBackward"
  static Tensor forward(tg::AutogradContext<>* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return tg::clamp_min(x, 0.0) + tg::log1p(tg::exp(-tg::abs(x)));
  }
  static std::vector<Tensor> backward(tg::AutogradContext<>* ctx, std::vector<Tensor> grad_outputs) {
    const Tensor x = ctx->get_saved_variables()[0];
    return {grad_outputs[0] * tg::sigmoid(x)};
  }
};

int main() {
  const std::vector<double> xs{-1000, -20, -1, 0, 0.5, 20, 1000};
  auto x = tg::from_vector<double>(xs, tg::requires_grad());
  auto y = Log1pExp::apply(x);
  y.sum().backward();
  std::cout << "x     = " << x << "\nf(x)  = " << y << "\nf'(x) = " << x.grad() << "\n";
  check(y.grad_fn()->name() == "Log1pExpBackward", "the output's grad_fn is Log1pExpBackward");

  // The textbook formula through autograd: e^1000 overflows, so f = inf and f' = inf / inf = nan.
  auto x_naive = tg::from_vector<double>(xs, tg::requires_grad());
  auto naive = tg::log(tg::exp(x_naive) + 1.0);
  naive.sum().backward();
  std::printf("naive at x = 1000: f = %g, f' = %g\n", naive.at({6}), x_naive.grad().at({6}));
  check(std::isinf(naive.at({6})) && std::isnan(x_naive.grad().at({6})), "the naive log(1 + exp(x)) overflows");
  check(y.at({6}) == 1000 && x.grad().at({6}) == 1, "f(1000) = 1000 and f'(1000) = 1, finite");
  check(y.at({0}) == 0 && x.grad().at({0}) == 0, "f(-1000) = 0 and f'(-1000) = 0 (e^-1000 underflows)");
  bool close = true;
  for (std::size_t i = 1; i + 1 < xs.size(); ++i) {  // where the naive formulas are accurate
    close = close && std::fabs(y.at({std::int64_t(i)}) - std::log1p(std::exp(xs[i]))) < 1e-14;
    close = close && std::fabs(x.grad().at({std::int64_t(i)}) - 1 / (1 + std::exp(-xs[i]))) < 1e-15;
  }
  check(close, "f and f' match log1p(exp(x)) and 1 / (1 + exp(-x)) for |x| <= 20");

  auto f = [](const Tensor& t) { return Log1pExp::apply(t); };
  auto r = tg::gradcheck(f, {x});
  std::cout << r.report();
  check(r.ok, "gradcheck: the hand-written backward matches finite differences, +-1000 included");
  check(tg::gradgradcheck(f, {x}).ok, "gradgradcheck: the backward, written with tapegrad ops, is differentiable");
  return example::finish();
}
