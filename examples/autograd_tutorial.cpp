// The PyTorch autograd tutorial ("A Gentle Introduction to torch.autograd" /
// "Autograd: automatic differentiation"), step by step, with the same numbers.
#include <tapegrad/tapegrad.hpp>

#include <iostream>
#include <sstream>

#include "check.hpp"

namespace tg = tapegrad;
using example::check;

template <typename T>
std::string str(const T& value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

int main() {
  // Create a tensor and set requires_grad to track computation with it.
  auto x = tg::ones<double>({2, 2}, tg::requires_grad());
  std::cout << "x = " << x << "\n";

  auto y = x + 2;
  std::cout << "y = x + 2 = " << y << "\n";
  check(str(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)", "y prints 3s with AddBackward0");

  auto z = y * y * 3;
  auto out = z.mean();
  std::cout << "z = y * y * 3 = " << z << "\nout = z.mean() = " << out << "\n";
  check(z.grad_fn()->name() == std::string("MulBackward0") && z.min().item() == 27 && z.max().item() == 27,
        "z is 27 everywhere with grad_fn MulBackward0");
  check(out.item() == 27 && out.grad_fn()->name() == std::string("MeanBackward0"), "out = 27 with MeanBackward0");

  // d(out)/dx = 6 (x + 2) / 4 = 4.5
  out.backward();
  std::cout << "x.grad = " << x.grad() << "\n";
  bool all_4_5 = true;
  for (double g : x.grad().to_vector()) all_4_5 = all_4_5 && g == 4.5;
  check(all_4_5, "x.grad is 4.5 everywhere");

  // requires_grad_ switches tracking on for an existing leaf.
  auto a = tg::randn<double>({2, 2});
  a = (a * 3) / (a - 1);
  check(!a.requires_grad(), "a = (a*3)/(a-1) does not require grad");
  a.requires_grad_(true);
  check(a.requires_grad(), "a.requires_grad_(true) turns it on");
  auto b = (a * a).sum();
  std::cout << "b.grad_fn = " << b.grad_fn()->name() << "\n";
  check(b.grad_fn()->name() == std::string("SumBackward0"), "b = (a*a).sum() has grad_fn SumBackward0");

  // A vector-Jacobian product: y is not a scalar, so backward takes v.
  tg::manual_seed(0);
  auto x3 = tg::randn<double>({3}, tg::requires_grad());
  auto y3 = x3 * 2;
  int doublings = 1;
  while (y3.detach().norm().item() < 1000) {
    y3 = y3 * 2;
    ++doublings;
  }
  std::cout << "y = " << y3 << " after " << doublings << " doublings\n";
  auto v = tg::from_vector<double>({0.1, 1.0, 0.0001});
  y3.backward(v);
  std::cout << "x.grad = " << x3.grad() << "\n";
  const double scale = std::ldexp(1.0, doublings);
  bool vjp_ok = true;
  for (int i = 0; i < 3; ++i) vjp_ok = vjp_ok && x3.grad().at({i}) == v.at({i}) * scale;
  check(vjp_ok, "y.backward(v) gives x.grad = v * 2^" + std::to_string(doublings));

  check(x.pow(2).requires_grad(), "(x**2).requires_grad() is true");
  {
    tg::NoGradGuard no_grad;
    check(!x.pow(2).requires_grad(), "under NoGradGuard (x**2).requires_grad() is false");
  }
  return example::finish();
}
