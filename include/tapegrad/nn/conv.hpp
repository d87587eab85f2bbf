#pragma once
// Convolution layers: Conv1d, Conv2d, ConvTranspose2d (over the functional ops of
// ops/conv.hpp; zero padding).
//
//   tg::nn::Conv2d<float> conv(1, 16, 3, /*stride=*/1, /*padding=*/1);  // [N, 1, H, W] -> [N, 16, H, W]
//   tg::nn::ConvTranspose2d<float> up(16, 8, 2, /*stride=*/2);          // doubles H and W
//
// Default initialization is PyTorch's: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// with fan_in = weight.size(1) * kernel elements (kaiming_uniform_(a = sqrt(5))).

#include "linear.hpp"
#include "../ops/conv.hpp"

#include <string>

namespace tapegrad::detail {
inline std::string py_pair(const Int2& v) { return "(" + std::to_string(v.h()) + ", " + std::to_string(v.w()) + ")"; }
inline void check_groups(const char* layer, std::int64_t in, std::int64_t out, std::int64_t groups) {
  if (groups <= 0) fail<ValueError>(layer, ": groups must be positive, got ", groups);
  if (in % groups != 0 || out % groups != 0)
    fail<ValueError>(layer, ": in_channels (", in, ") and out_channels (", out, ") must be divisible by groups (",
                     groups, ")");
}
// Weight [d0, d1, k...] and bias [bias_size] with the default initialization.
template <typename T>
void conv_parameters(nn::Module<T>& m, Tensor<T>& weight, Tensor<T>& bias, const Shape& wshape,
                     std::int64_t bias_size, bool with_bias) {
  std::int64_t fan_in = 1;
  for (std::size_t i = 1; i < wshape.size(); ++i) fan_in *= wshape[i];
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  Tensor<T> w = empty<T>(wshape);
  fill_uniform(w, bound);
  weight = m.register_parameter("weight", w);
  if (with_bias) {
    Tensor<T> b = empty<T>({bias_size});
    fill_uniform(b, bound);
    bias = m.register_parameter("bias", b);
  }
}
}  // namespace tapegrad::detail

namespace tapegrad::nn {

// x [N, C_in, H, W] -> [N, C_out, H', W']; weight [C_out, C_in / groups, kH, kW].
template <typename T>
class Conv2d : public Module<T> {
 public:
  Tensor<T> weight, bias;
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Int2 kernel_size, Int2 stride = 1,
         Padding2 padding = 0, Int2 dilation = 1, std::int64_t groups = 1, bool with_bias = true)
      : Module<T>("Conv2d"), in_(in_channels), out_(out_channels), kernel_(kernel_size), stride_(stride),
        padding_(std::move(padding)), dilation_(dilation), groups_(groups) {
    detail::check_positive_size("Conv2d", "in_channels", in_channels);
    detail::check_positive_size("Conv2d", "out_channels", out_channels);
    detail::check_groups("Conv2d", in_channels, out_channels, groups);
    detail::conv_parameters(*this, weight, bias, {out_, in_ / groups_, kernel_.h(), kernel_.w()}, out_, with_bias);
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    return conv2d(x, weight, bias, stride_, padding_, dilation_, groups_);
  }
  std::string extra_repr() const override {
    std::string s = std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=" + detail::py_pair(kernel_) +
                    ", stride=" + detail::py_pair(stride_);
    if (!padding_.mode().empty()) {
      s += ", padding=" + padding_.mode();
    } else if (padding_.size().h() != 0 || padding_.size().w() != 0) {
      s += ", padding=" + detail::py_pair(padding_.size());
    }
    if (dilation_.h() != 1 || dilation_.w() != 1) s += ", dilation=" + detail::py_pair(dilation_);
    if (groups_ != 1) s += ", groups=" + std::to_string(groups_);
    if (!bias.defined()) s += ", bias=False";
    return s;
  }

 private:
  std::int64_t in_, out_;
  Int2 kernel_, stride_;
  Padding2 padding_;
  Int2 dilation_;
  std::int64_t groups_;
};

// x [N, C_in, L] -> [N, C_out, L']; weight [C_out, C_in / groups, k].
template <typename T>
class Conv1d : public Module<T> {
 public:
  Tensor<T> weight, bias;
  Conv1d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride = 1,
         std::int64_t padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1, bool with_bias = true)
      : Module<T>("Conv1d"), in_(in_channels), out_(out_channels), kernel_(kernel_size), stride_(stride),
        padding_(padding), dilation_(dilation), groups_(groups) {
    detail::check_positive_size("Conv1d", "in_channels", in_channels);
    detail::check_positive_size("Conv1d", "out_channels", out_channels);
    detail::check_positive_size("Conv1d", "kernel_size", kernel_size);
    detail::check_groups("Conv1d", in_channels, out_channels, groups);
    detail::conv_parameters(*this, weight, bias, {out_, in_ / groups_, kernel_}, out_, with_bias);
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    return conv1d(x, weight, bias, stride_, padding_, dilation_, groups_);
  }
  std::string extra_repr() const override {
    std::string s = std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=(" + std::to_string(kernel_) +
                    ",), stride=(" + std::to_string(stride_) + ",)";
    if (padding_ != 0) s += ", padding=(" + std::to_string(padding_) + ",)";
    if (dilation_ != 1) s += ", dilation=(" + std::to_string(dilation_) + ",)";
    if (groups_ != 1) s += ", groups=" + std::to_string(groups_);
    if (!bias.defined()) s += ", bias=False";
    return s;
  }

 private:
  std::int64_t in_, out_, kernel_, stride_, padding_, dilation_, groups_;
};

// The adjoint of Conv2d: x [N, C_in, H, W] -> [N, C_out, H', W'] with
// H' = (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1;
// weight [C_in, C_out / groups, kH, kW].
template <typename T>
class ConvTranspose2d : public Module<T> {
 public:
  Tensor<T> weight, bias;
  ConvTranspose2d(std::int64_t in_channels, std::int64_t out_channels, Int2 kernel_size, Int2 stride = 1,
                  Int2 padding = 0, Int2 output_padding = 0, std::int64_t groups = 1, bool with_bias = true,
                  Int2 dilation = 1)
      : Module<T>("ConvTranspose2d"), in_(in_channels), out_(out_channels), kernel_(kernel_size), stride_(stride),
        padding_(padding), output_padding_(output_padding), dilation_(dilation), groups_(groups) {
    detail::check_positive_size("ConvTranspose2d", "in_channels", in_channels);
    detail::check_positive_size("ConvTranspose2d", "out_channels", out_channels);
    detail::check_groups("ConvTranspose2d", in_channels, out_channels, groups);
    // PyTorch's fan_in here is weight.size(1) * kH * kW = (C_out / groups) kH kW.
    detail::conv_parameters(*this, weight, bias, {in_, out_ / groups_, kernel_.h(), kernel_.w()}, out_, with_bias);
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    return conv_transpose2d(x, weight, bias, stride_, padding_, output_padding_, groups_, dilation_);
  }
  std::string extra_repr() const override {
    std::string s = std::to_string(in_) + ", " + std::to_string(out_) + ", kernel_size=" + detail::py_pair(kernel_) +
                    ", stride=" + detail::py_pair(stride_);
    if (padding_.h() != 0 || padding_.w() != 0) s += ", padding=" + detail::py_pair(padding_);
    if (output_padding_.h() != 0 || output_padding_.w() != 0) s += ", output_padding=" + detail::py_pair(output_padding_);
    if (dilation_.h() != 1 || dilation_.w() != 1) s += ", dilation=" + detail::py_pair(dilation_);
    if (groups_ != 1) s += ", groups=" + std::to_string(groups_);
    if (!bias.defined()) s += ", bias=False";
    return s;
  }

 private:
  std::int64_t in_, out_;
  Int2 kernel_, stride_, padding_, output_padding_, dilation_;
  std::int64_t groups_;
};

}  // namespace tapegrad::nn
