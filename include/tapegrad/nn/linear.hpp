#pragma once
// Linear layers and shape modules: Identity, Linear, Bilinear, Flatten, Unflatten.
//
//   tg::nn::Linear<float> fc(784, 10);         // fc.weight [10, 784], fc.bias [10]
//   auto y = fc(x);                            // x [N, 784] -> [N, 10]
//
// Default initialization is PyTorch's: kaiming_uniform_(a = sqrt(5)) on the weight,
// which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.

#include "module.hpp"
#include "../ops/nn.hpp"
#include "../ops/shape.hpp"

#include <cmath>
#include <string>

namespace tapegrad::detail {
// U(-bound, bound) in place, without recording: the default initialization of layers.
template <typename T>
void fill_uniform(Tensor<T>& t, double bound, Generator& gen = default_generator()) {
  std::uniform_real_distribution<double> dist(-bound, bound);
  T* p = t.data_ptr();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(dist(gen.engine()));
}
inline void check_positive_size(const char* layer, const char* what, std::int64_t v) {
  if (v <= 0) fail<ValueError>(layer, ": ", what, " must be positive, got ", v);
}
}  // namespace tapegrad::detail

namespace tapegrad::nn {

// y = x.
template <typename T>
class Identity : public Module<T> {
 public:
  Identity() : Module<T>("Identity") {}
  Tensor<T> forward(const Tensor<T>& x) override { return x; }
};

// y = x W^T + b, x [*, in_features] -> [*, out_features].
template <typename T>
class Linear : public Module<T> {
 public:
  Tensor<T> weight, bias;  // [out, in], [out] (undefined without bias)
  Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias = true)
      : Module<T>("Linear"), in_features_(in_features), out_features_(out_features) {
    detail::check_positive_size("Linear", "in_features", in_features);
    detail::check_positive_size("Linear", "out_features", out_features);
    // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    Tensor<T> w = empty<T>({out_features, in_features});
    detail::fill_uniform(w, bound);
    weight = this->register_parameter("weight", w);
    if (with_bias) {
      Tensor<T> b = empty<T>({out_features});
      detail::fill_uniform(b, bound);
      bias = this->register_parameter("bias", b);
    }
  }
  Tensor<T> forward(const Tensor<T>& x) override { return linear(x, weight, bias); }
  std::string extra_repr() const override {
    return "in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
           ", bias=" + detail::py_bool(bias.defined());
  }

 private:
  std::int64_t in_features_, out_features_;
};

// y_k = x1^T A_k x2 + b_k: x1 [*, in1], x2 [*, in2] -> [*, out]; weight [out, in1, in2].
template <typename T>
class Bilinear : public Module<T> {
 public:
  Tensor<T> weight, bias;
  Bilinear(std::int64_t in1_features, std::int64_t in2_features, std::int64_t out_features, bool with_bias = true)
      : Module<T>("Bilinear"), in1_(in1_features), in2_(in2_features), out_(out_features) {
    detail::check_positive_size("Bilinear", "in1_features", in1_features);
    detail::check_positive_size("Bilinear", "in2_features", in2_features);
    detail::check_positive_size("Bilinear", "out_features", out_features);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in1_features));  // PyTorch: 1/sqrt(weight.size(1))
    Tensor<T> w = empty<T>({out_features, in1_features, in2_features});
    detail::fill_uniform(w, bound);
    weight = this->register_parameter("weight", w);
    if (with_bias) {
      Tensor<T> b = empty<T>({out_features});
      detail::fill_uniform(b, bound);
      bias = this->register_parameter("bias", b);
    }
  }
  using Module<T>::forward;
  Tensor<T> forward(const Tensor<T>& x1, const Tensor<T>& x2) {
    if (x1.dim() == 0 || x2.dim() == 0 || x1.shape().back() != in1_ || x2.shape().back() != in2_ ||
        Shape(x1.shape().begin(), x1.shape().end() - 1) != Shape(x2.shape().begin(), x2.shape().end() - 1))
      detail::fail<ShapeError>("Bilinear: expected inputs [*, ", in1_, "] and [*, ", in2_,
                               "] with the same leading dimensions, got ", detail::show(x1.shape()), " and ",
                               detail::show(x2.shape()));
    Shape lead(x1.shape().begin(), x1.shape().end() - 1);
    const Tensor<T> a = reshape(x1, {-1, in1_});
    const Tensor<T> b = reshape(x2, {-1, in2_});
    // (x1 A_k) for every k at once: [N, in1] @ [in1, out * in2] -> [N, out, in2], then
    // the dot product with x2 over in2.
    const Tensor<T> w = reshape(permute(weight, {1, 0, 2}), {in1_, out_ * in2_});
    const Tensor<T> xa = reshape(matmul(a, w), {-1, out_, in2_});
    Tensor<T> y = sum(xa * unsqueeze(b, 1), -1);
    if (bias.defined()) y = y + bias;
    lead.push_back(out_);
    return reshape(y, lead);
  }
  std::string extra_repr() const override {
    return "in1_features=" + std::to_string(in1_) + ", in2_features=" + std::to_string(in2_) +
           ", out_features=" + std::to_string(out_) + ", bias=" + detail::py_bool(bias.defined());
  }

 private:
  std::int64_t in1_, in2_, out_;
};

// Merges dims start_dim..end_dim (default: all but the batch dimension).
template <typename T>
class Flatten : public Module<T> {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : Module<T>("Flatten"), start_(start_dim), end_(end_dim) {}
  Tensor<T> forward(const Tensor<T>& x) override { return flatten(x, start_, end_); }
  std::string extra_repr() const override {
    return "start_dim=" + std::to_string(start_) + ", end_dim=" + std::to_string(end_);
  }

 private:
  std::int64_t start_, end_;
};

// Splits dimension `dim` into `sizes` (one of them may be -1).
template <typename T>
class Unflatten : public Module<T> {
 public:
  Unflatten(std::int64_t dim, Shape sizes) : Module<T>("Unflatten"), dim_(dim), sizes_(std::move(sizes)) {}
  Tensor<T> forward(const Tensor<T>& x) override {
    const auto rank = static_cast<std::int64_t>(x.dim());
    const std::int64_t d = dim_ < 0 ? dim_ + rank : dim_;
    if (d < 0 || d >= rank)
      detail::fail<IndexError>("Unflatten: dim ", dim_, " is out of range for an input of shape ",
                               detail::show(x.shape()));
    Shape out(x.shape().begin(), x.shape().begin() + d);
    out.insert(out.end(), sizes_.begin(), sizes_.end());
    out.insert(out.end(), x.shape().begin() + d + 1, x.shape().end());
    return reshape(x, out);
  }
  std::string extra_repr() const override {
    return "dim=" + std::to_string(dim_) + ", unflattened_size=" + python_tuple(sizes_);
  }

 private:
  static std::string python_tuple(const Shape& s) {
    std::string out = "(";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + (s.size() == 1 ? ",)" : ")");
  }
  std::int64_t dim_;
  Shape sizes_;
};

}  // namespace tapegrad::nn
