// Gradient checking: why central differences, and tg::gradcheck on a small network.
#include <tapegrad/tapegrad.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "check.hpp"

namespace tg = tapegrad;
using example::check;

int main() {
  // f(theta) = theta^3 at theta = 1: f'(1) = 3.
  auto f = [](double t) { return t * t * t; };
  const double theta = 1.0, eps = 0.01;
  const double two_sided = (f(theta + eps) - f(theta - eps)) / (2 * eps);  // error O(eps^2)
  const double one_sided = (f(theta + eps) - f(theta)) / eps;              // error O(eps)
  auto t = tg::scalar_tensor<double>(theta, tg::requires_grad());
  (t * t * t).backward();
  const double exact = t.grad().item();
  std::printf("autograd: %.4f  two-sided: %.4f (error %.1e)  one-sided: %.4f (error %.4f)\n", exact, two_sided,
              std::fabs(two_sided - exact), one_sided, std::fabs(one_sided - exact));
  check(exact == 3.0, "autograd gives f'(1) = 3");
  check(std::fabs(two_sided - 3.0001) < 1e-9 && std::fabs(std::fabs(two_sided - exact) - 1e-4) < 1e-9,
        "two-sided difference is 3.0001, error 1e-4");
  check(std::fabs(one_sided - 3.0301) < 1e-9 && std::fabs(std::fabs(one_sided - exact) - 0.0301) < 1e-9,
        "one-sided difference is 3.0301, error 0.0301");

  // A two-layer network: loss = mean((tanh(X W1 + b1) W2 + b2 - Y)^2).
  tg::Generator gen(42);
  auto X = tg::randn<double>({8, 4}, gen), Y = tg::randn<double>({8, 1}, gen);
  auto W1 = tg::randn<double>({4, 5}, gen, tg::requires_grad()), b1 = tg::randn<double>({5}, gen, tg::requires_grad());
  auto W2 = tg::randn<double>({5, 1}, gen, tg::requires_grad()), b2 = tg::randn<double>({1}, gen, tg::requires_grad());
  auto loss = [&](const std::vector<tg::Tensor<double>>& p) {
    auto hidden = tg::tanh(tg::matmul(X, p[0]) + p[1]);
    auto err = tg::matmul(hidden, p[2]) + p[3] - Y;
    return (err * err).mean();
  };
  auto r = tg::gradcheck(loss, {W1, b1, W2, b2});
  std::cout << r.report();
  std::printf("relative error ||g_num - g|| / (||g_num|| + ||g||) = %.3e\n", r.relative_error);
  check(r.ok, "gradcheck passes on every parameter of the network");
  check(r.relative_error < 1e-7, "relative error below 1e-7 in double");
  return example::finish();
}
