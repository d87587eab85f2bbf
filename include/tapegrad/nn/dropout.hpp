#pragma once
// Dropout: zeroes each element with probability p in training (the rest scaled by
// 1 / (1 - p)); the identity in eval mode.
//
//   tg::nn::Dropout<float> drop(0.2);
//   drop.eval();   // now drop(x) is x

#include "linear.hpp"

#include <string>

namespace tapegrad::nn {

template <typename T>
class Dropout : public Module<T> {
 public:
  explicit Dropout(double p = 0.5) : Module<T>("Dropout"), p_(p) {
    if (!(p >= 0 && p <= 1)) detail::fail<ValueError>("Dropout: p must be in [0, 1], got ", p);
  }
  Tensor<T> forward(const Tensor<T>& x) override { return dropout(x, p_, this->is_training()); }
  std::string extra_repr() const override { return "p=" + detail::py_float(p_) + ", inplace=False"; }
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace tapegrad::nn
