#pragma once
// Shared by the tests of tg::nn: the finite-difference check of a module's gradients
// with respect to its input and every parameter.

#include "../test_util.hpp"

#include <tapegrad/nn.hpp>

#include <functional>

// Checks the gradients of loss = sum(r * forward()) (r fixed and random, so every output
// element counts with its own weight) against central differences, for `inputs` and for
// every parameter of `m`, perturbing the module's own parameter buffers in place
// (tg::gradcheck copies its inputs, so it cannot see a module's parameters).
inline void check_module_gradients(tg::nn::Module<double>& m, const std::function<Tensor()>& forward,
                                   std::vector<Tensor> inputs = {}, double eps = 1e-6, double tol = 1e-6) {
  tg::Generator gen(99);
  Tensor probe = forward();
  const Tensor r = tg::randn<double>(probe.shape(), gen);
  auto loss_value = [&] {
    tg::NoGradGuard no_grad;
    return (forward() * r).sum().item();
  };
  m.zero_grad();
  for (auto& x : inputs) x.zero_grad(true);
  (forward() * r).sum().backward();
  std::vector<std::pair<std::string, Tensor>> targets = m.named_parameters();
  for (std::size_t i = 0; i < inputs.size(); ++i) targets.emplace_back("input " + std::to_string(i), inputs[i]);
  for (auto& [name, t] : targets) {
    INFO("gradient of " << name << " " << tg::to_string(t.shape()));
    const Tensor g = t.grad();
    REQUIRE(g.defined());
    for (std::int64_t c = 0; c < t.numel(); ++c) {
      double* p = t.data_ptr() + c;
      const double original = *p;
      *p = original + eps;
      const double plus = loss_value();
      *p = original - eps;
      const double minus = loss_value();
      *p = original;
      const double numerical = (plus - minus) / (2 * eps);
      INFO("element " << c);
      CHECK(g.data_ptr()[c] == Approx(numerical).epsilon(tol).margin(tol));
    }
  }
}

// Row-major values of a tensor of any T as double.
template <typename T>
std::vector<double> as_doubles(const tg::Tensor<T>& t) {
  std::vector<double> out;
  for (std::int64_t i = 0; i < t.numel(); ++i) out.push_back(static_cast<double>(t.data_ptr()[i]));
  return out;
}
