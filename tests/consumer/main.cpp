// A user's program: includes only the core header and checks one gradient.
#include <tapegrad/core.hpp>

#include <cstdio>

namespace tg = tapegrad;

int main() {
  auto w = tg::from_vector<double>({1, 2, 3, 4}, {2, 2}, tg::requires_grad());
  auto x = tg::from_vector<double>({0.5, -1.0});
  auto loss = tg::tanh(tg::matmul(w, x)).sum();
  loss.backward();
  // d/dw_ij sum tanh(w x) = (1 - tanh(w x)_i^2) x_j
  const double h0 = std::tanh(1 * 0.5 - 2 * 1.0);
  const double expected = (1 - h0 * h0) * 0.5;
  const double got = w.grad().at({0, 0});
  std::printf("consumer: d loss / d w00 = %.12f (expected %.12f)\n", got, expected);
  return std::abs(got - expected) < 1e-12 ? 0 : 1;
}
