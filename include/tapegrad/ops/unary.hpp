#pragma once
// Element-wise math: exp, log, sqrt, abs, sign, sin, cos, tanh, sigmoid, relu.
// Where the derivative is a function of the output (exp, sqrt, tanh, sigmoid) the
// output is saved instead of recomputing it.

#include "arithmetic.hpp"

namespace tapegrad {

template <typename T>
Tensor<T> exp(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.exp(); });
  // d/dx e^x = e^x
  return record(out, "ExpBackward0", {x}, [so = save_output(out)](Grads<T>& g) { g.in[0] = g.out * g[so]; });
}

template <typename T>
Tensor<T> log(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.log(); });
  // d/dx log x = 1/x
  return record(out, "LogBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out / g[sx]; });
}

template <typename T>
Tensor<T> sqrt(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.sqrt(); });
  // d/dx sqrt(x) = 1 / (2 sqrt(x)); infinite at 0, as in PyTorch
  return record(out, "SqrtBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    g.in[0] = g.out / (g[so] * T(2));
  });
}

// sign(x) in {-1, 0, 1}; piecewise constant, so its gradient is 0.
template <typename T>
Tensor<T> sign(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.sign(); });
  return record(out, "SignBackward0", {x}, [](Grads<T>& g) { g.in[0] = g.out * T(0); });
}

// NOTE: abs'(0) = 0 (the subgradient PyTorch uses).
template <typename T>
Tensor<T> abs(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.abs(); });
  // d/dx |x| = sign(x)
  return record(out, "AbsBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * sign(g[sx]); });
}

template <typename T>
Tensor<T> sin(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.sin(); });
  // d/dx sin x = cos x
  return record(out, "SinBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = g.out * cos(g[sx]); });
}

template <typename T>
Tensor<T> cos(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.cos(); });
  // d/dx cos x = -sin x
  return record(out, "CosBackward0", {x}, [sx = save(x)](Grads<T>& g) { g.in[0] = -g.out * sin(g[sx]); });
}

template <typename T>
Tensor<T> tanh(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.tanh(); });
  // d/dx tanh(x) = 1 - tanh(x)^2
  return record(out, "TanhBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    const Tensor<T> y = g[so];
    g.in[0] = g.out - g.out * y * y;
  });
}

template <typename T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  // 1 / (1 + e^-x): for x -> -inf, e^-x -> inf and the result -> 0 without a nan.
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return T(1) / (T(1) + (-a).exp()); });
  // d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x))
  return record(out, "SigmoidBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    const Tensor<T> y = g[so];
    g.in[0] = g.out * y * (T(1) - y);
  });
}

// NOTE: relu'(0) = 0, as in PyTorch.
template <typename T>
Tensor<T> relu(const Tensor<T>& x) {
  Tensor<T> out = detail::unary_map(x, [](const auto& a) { return a.max(T(0)); });
  // d/dx max(x, 0) = [x > 0]; the mask is a constant, so relu'' = 0
  return record(out, "ReluBackward0", {x}, [so = save_output(out)](Grads<T>& g) {
    g.in[0] = g.out * detail::positive_mask(g[so]);
  });
}

}  // namespace tapegrad
