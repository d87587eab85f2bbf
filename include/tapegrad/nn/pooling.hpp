#pragma once
// Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (over ops/pool.hpp).
//
//   tg::nn::MaxPool2d<float> pool(2);            // kernel 2, stride 2: halves H and W
//   tg::nn::AdaptiveAvgPool2d<float> gap(1);     // [N, C, H, W] -> [N, C, 1, 1]

#include "conv.hpp"
#include "../ops/pool.hpp"

#include <optional>
#include <string>

namespace tapegrad::detail {
// PyTorch's pooling modules print their arguments as given: 2 rather than (2, 2).
inline std::string py_int_or_pair(const Int2& v) { return v.h() == v.w() ? std::to_string(v.h()) : py_pair(v); }
}  // namespace tapegrad::detail

namespace tapegrad::nn {

// stride defaults to kernel_size, as PyTorch.
template <typename T>
class MaxPool2d : public Module<T> {
 public:
  explicit MaxPool2d(Int2 kernel_size, Int2 stride = Int2(), Int2 padding = 0, Int2 dilation = 1,
                     bool ceil_mode = false)
      : Module<T>("MaxPool2d"), kernel_(kernel_size), stride_(stride.or_default(kernel_size)), padding_(padding),
        dilation_(dilation), ceil_mode_(ceil_mode) {}
  Tensor<T> forward(const Tensor<T>& x) override {
    return max_pool2d(x, kernel_, stride_, padding_, dilation_, ceil_mode_);
  }
  std::string extra_repr() const override {
    return "kernel_size=" + detail::py_int_or_pair(kernel_) + ", stride=" + detail::py_int_or_pair(stride_) +
           ", padding=" + detail::py_int_or_pair(padding_) + ", dilation=" + detail::py_int_or_pair(dilation_) +
           ", ceil_mode=" + detail::py_bool(ceil_mode_);
  }

 private:
  Int2 kernel_, stride_, padding_, dilation_;
  bool ceil_mode_;
};

template <typename T>
class AvgPool2d : public Module<T> {
 public:
  explicit AvgPool2d(Int2 kernel_size, Int2 stride = Int2(), Int2 padding = 0, bool ceil_mode = false,
                     bool count_include_pad = true, std::optional<std::int64_t> divisor_override = std::nullopt)
      : Module<T>("AvgPool2d"), kernel_(kernel_size), stride_(stride.or_default(kernel_size)), padding_(padding),
        ceil_mode_(ceil_mode), count_include_pad_(count_include_pad), divisor_override_(divisor_override) {}
  Tensor<T> forward(const Tensor<T>& x) override {
    return avg_pool2d(x, kernel_, stride_, padding_, ceil_mode_, count_include_pad_, divisor_override_);
  }
  std::string extra_repr() const override {
    return "kernel_size=" + detail::py_int_or_pair(kernel_) + ", stride=" + detail::py_int_or_pair(stride_) +
           ", padding=" + detail::py_int_or_pair(padding_);
  }

 private:
  Int2 kernel_, stride_, padding_;
  bool ceil_mode_, count_include_pad_;
  std::optional<std::int64_t> divisor_override_;
};

template <typename T>
class AdaptiveAvgPool2d : public Module<T> {
 public:
  explicit AdaptiveAvgPool2d(Int2 output_size) : Module<T>("AdaptiveAvgPool2d"), size_(output_size) {}
  Tensor<T> forward(const Tensor<T>& x) override { return adaptive_avg_pool2d(x, size_); }
  std::string extra_repr() const override { return "output_size=" + detail::py_int_or_pair(size_); }

 private:
  Int2 size_;
};

}  // namespace tapegrad::nn
