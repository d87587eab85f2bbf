// 20 lines with tapegrad: a two-layer network's loss and its gradients.
#include <tapegrad/core.hpp>

#include <iostream>

namespace tg = tapegrad;

int main() {
  tg::manual_seed(0);
  auto x = tg::randn<double>({8, 4}), y = tg::randn<double>({8, 1});
  auto w1 = tg::randn<double>({4, 16}, tg::requires_grad());
  auto w2 = tg::randn<double>({16, 1}, tg::requires_grad());
  auto h = tg::tanh(tg::matmul(x, w1));
  auto err = tg::matmul(h, w2) - y;
  auto loss = (err * err).mean();
  loss.backward();
  std::cout << loss.item() << " " << w1.grad().sum().item() << " " << w2.grad().sum().item() << "\n";
  return 0;
}
