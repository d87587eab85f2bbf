#pragma once
// Every activation of the op library as a module, with PyTorch's names and defaults:
// ReLU, ReLU6, LeakyReLU, ELU, SELU, CELU, GELU, SiLU, Mish, Sigmoid, Tanh, Softplus,
// Softsign, Tanhshrink, Hardtanh, Hardsigmoid, Hardswish, Hardshrink, Softshrink,
// LogSigmoid, Softmax, LogSoftmax. No parameters; the derivatives are the ops' (ops.md).
//
//   tg::nn::Sequential<float> mlp(std::make_shared<tg::nn::Linear<float>>(4, 8),
//                                 std::make_shared<tg::nn::GELU<float>>(), ...);

#include "module.hpp"
#include "../ops/activation.hpp"
#include "../ops/softmax.hpp"

#include <string>

namespace tapegrad::nn {

// An activation without options: `name` is what it prints as.
#define TAPEGRAD_NN_ACTIVATION(Name, op)                                     \
  template <typename T>                                                      \
  class Name : public Module<T> {                                            \
   public:                                                                   \
    Name() : Module<T>(#Name) {}                                             \
    Tensor<T> forward(const Tensor<T>& x) override { return op(x); }         \
  };

TAPEGRAD_NN_ACTIVATION(ReLU, relu)
TAPEGRAD_NN_ACTIVATION(ReLU6, relu6)
TAPEGRAD_NN_ACTIVATION(SELU, selu)
TAPEGRAD_NN_ACTIVATION(SiLU, silu)
TAPEGRAD_NN_ACTIVATION(Mish, mish)
TAPEGRAD_NN_ACTIVATION(Sigmoid, sigmoid)
TAPEGRAD_NN_ACTIVATION(Tanh, tanh)
TAPEGRAD_NN_ACTIVATION(Softsign, softsign)
TAPEGRAD_NN_ACTIVATION(Tanhshrink, tanhshrink)
TAPEGRAD_NN_ACTIVATION(Hardsigmoid, hardsigmoid)
TAPEGRAD_NN_ACTIVATION(Hardswish, hardswish)
TAPEGRAD_NN_ACTIVATION(LogSigmoid, log_sigmoid)
#undef TAPEGRAD_NN_ACTIVATION

// max(0, x) + negative_slope min(0, x).
template <typename T>
class LeakyReLU : public Module<T> {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module<T>("LeakyReLU"), slope_(negative_slope) {}
  Tensor<T> forward(const Tensor<T>& x) override { return leaky_relu(x, static_cast<T>(slope_)); }
  std::string extra_repr() const override { return "negative_slope=" + detail::py_float(slope_); }

 private:
  double slope_;
};

// x for x > 0, alpha (e^x - 1) otherwise.
template <typename T>
class ELU : public Module<T> {
 public:
  explicit ELU(double alpha = 1.0) : Module<T>("ELU"), alpha_(alpha) {}
  Tensor<T> forward(const Tensor<T>& x) override { return elu(x, static_cast<T>(alpha_)); }
  std::string extra_repr() const override { return "alpha=" + detail::py_float(alpha_); }

 private:
  double alpha_;
};

// max(0, x) + min(0, alpha (e^(x / alpha) - 1)).
template <typename T>
class CELU : public Module<T> {
 public:
  explicit CELU(double alpha = 1.0) : Module<T>("CELU"), alpha_(alpha) {}
  Tensor<T> forward(const Tensor<T>& x) override { return celu(x, static_cast<T>(alpha_)); }
  std::string extra_repr() const override { return "alpha=" + detail::py_float(alpha_); }

 private:
  double alpha_;
};

// x Phi(x), or its tanh approximation with approximate = "tanh".
template <typename T>
class GELU : public Module<T> {
 public:
  explicit GELU(std::string approximate = "none") : Module<T>("GELU"), approximate_(std::move(approximate)) {
    gelu(zeros<T>({1}), approximate_);  // rejects an unknown mode here, not at the first forward
  }
  Tensor<T> forward(const Tensor<T>& x) override { return gelu(x, approximate_); }
  std::string extra_repr() const override { return "approximate='" + approximate_ + "'"; }

 private:
  std::string approximate_;
};

// log(1 + e^(beta x)) / beta, linear above threshold.
template <typename T>
class Softplus : public Module<T> {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0)
      : Module<T>("Softplus"), beta_(beta), threshold_(threshold) {
    if (beta == 0) detail::fail<ValueError>("Softplus: beta must be nonzero, got 0");
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    return softplus(x, static_cast<T>(beta_), static_cast<T>(threshold_));
  }
  std::string extra_repr() const override {
    return "beta=" + detail::py_float(beta_) + ", threshold=" + detail::py_float(threshold_);
  }

 private:
  double beta_, threshold_;
};

// clamp(x, min_val, max_val).
template <typename T>
class Hardtanh : public Module<T> {
 public:
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0) : Module<T>("Hardtanh"), min_(min_val), max_(max_val) {
    if (!(min_val < max_val))
      detail::fail<ValueError>("Hardtanh: min_val (", min_val, ") must be less than max_val (", max_val, ")");
  }
  Tensor<T> forward(const Tensor<T>& x) override { return hardtanh(x, static_cast<T>(min_), static_cast<T>(max_)); }
  std::string extra_repr() const override {
    return "min_val=" + detail::py_float(min_) + ", max_val=" + detail::py_float(max_);
  }

 private:
  double min_, max_;
};

// x where |x| > lambd, else 0.
template <typename T>
class Hardshrink : public Module<T> {
 public:
  explicit Hardshrink(double lambd = 0.5) : Module<T>("Hardshrink"), lambd_(lambd) {}
  Tensor<T> forward(const Tensor<T>& x) override { return hardshrink(x, static_cast<T>(lambd_)); }
  std::string extra_repr() const override { return detail::py_float(lambd_); }

 private:
  double lambd_;
};

// x - lambd sign(x) where |x| > lambd, else 0.
template <typename T>
class Softshrink : public Module<T> {
 public:
  explicit Softshrink(double lambd = 0.5) : Module<T>("Softshrink"), lambd_(lambd) {}
  Tensor<T> forward(const Tensor<T>& x) override { return softshrink(x, static_cast<T>(lambd_)); }
  std::string extra_repr() const override { return detail::py_float(lambd_); }

 private:
  double lambd_;
};

// softmax / log_softmax along dim (PyTorch's modules have no default dim worth keeping).
template <typename T>
class Softmax : public Module<T> {
 public:
  explicit Softmax(std::int64_t dim) : Module<T>("Softmax"), dim_(dim) {}
  Tensor<T> forward(const Tensor<T>& x) override { return softmax(x, dim_); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }

 private:
  std::int64_t dim_;
};

template <typename T>
class LogSoftmax : public Module<T> {
 public:
  explicit LogSoftmax(std::int64_t dim) : Module<T>("LogSoftmax"), dim_(dim) {}
  Tensor<T> forward(const Tensor<T>& x) override { return log_softmax(x, dim_); }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }

 private:
  std::int64_t dim_;
};

}  // namespace tapegrad::nn
