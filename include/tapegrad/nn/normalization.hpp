#pragma once
// Normalization layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm.
//
//   tg::nn::BatchNorm2d<float> bn(16);   // weight 1, bias 0; buffers running_mean 0, running_var 1
//   auto y = bn(x);                      // training: batch statistics, running ones updated
//   bn.eval(); auto z = bn(x);           // eval: the running statistics
//
// BatchNorm's running statistics follow PyTorch: with momentum m,
//   running = (1 - m) running + m batch_stat   (the variance unbiased, n / (n - 1)),
// and with momentum = std::nullopt a cumulative average (m = 1 / num_batches_tracked).
// num_batches_tracked is a buffer of type T (PyTorch: int64), counting training calls.

#include "linear.hpp"
#include "../ops/normalization.hpp"

#include <optional>
#include <string>

namespace tapegrad::nn {

template <typename T>
class BatchNormBase : public Module<T> {
 public:
  Tensor<T> weight, bias, running_mean, running_var, num_batches_tracked;
  BatchNormBase(const char* name, std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
                bool track_running_stats)
      : Module<T>(name), features_(num_features), eps_(eps), momentum_(momentum), affine_(affine),
        track_(track_running_stats) {
    detail::check_positive_size(name, "num_features", num_features);
    if (!(eps > 0)) detail::fail<ValueError>(name, ": eps must be positive, got ", eps);
    if (momentum && !(*momentum >= 0 && *momentum <= 1))
      detail::fail<ValueError>(name, ": momentum must be in [0, 1], got ", *momentum);
    if (affine) {
      weight = this->register_parameter("weight", ones<T>({num_features}));
      bias = this->register_parameter("bias", zeros<T>({num_features}));
    }
    if (track_running_stats) {
      running_mean = this->register_buffer("running_mean", zeros<T>({num_features}));
      running_var = this->register_buffer("running_var", ones<T>({num_features}));
      num_batches_tracked = this->register_buffer("num_batches_tracked", zeros<T>({}));
    }
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    check_input(x);
    if (x.size(1) != features_)
      detail::fail<ShapeError>(this->type_name(), ": expected ", features_, " channels (dimension 1), got input of shape ",
                               detail::show(x.shape()));
    // Eval mode uses the running statistics; without them (track_running_stats = false)
    // the batch's, in both modes.
    const bool use_batch_stats = this->is_training() || !track_;
    const bool update = this->is_training() && track_;
    double m = 0;
    if (update) m = momentum_ ? *momentum_ : 1.0 / (static_cast<double>(num_batches_tracked.item()) + 1.0);
    Tensor<T> y = batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, static_cast<T>(m),
                             static_cast<T>(eps_));
    if (update) {  // after the op, which checks the input first: a throw changes nothing
      NoGradGuard no_grad;
      num_batches_tracked += T(1);
    }
    return y;
  }
  std::string extra_repr() const override {
    return std::to_string(features_) + ", eps=" + detail::py_float(eps_) +
           ", momentum=" + (momentum_ ? detail::py_float(*momentum_) : std::string("None")) +
           ", affine=" + detail::py_bool(affine_) + ", track_running_stats=" + detail::py_bool(track_);
  }

 protected:
  virtual void check_input(const Tensor<T>& x) const = 0;

 private:
  std::int64_t features_;
  double eps_;
  std::optional<double> momentum_;
  bool affine_, track_;
};

// Over [N, C] or [N, C, L].
template <typename T>
class BatchNorm1d : public BatchNormBase<T> {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true)
      : BatchNormBase<T>("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input(const Tensor<T>& x) const override {
    if (x.dim() != 2 && x.dim() != 3)
      detail::fail<ShapeError>("BatchNorm1d: expected 2-D or 3-D input [N, C] or [N, C, L], got shape ",
                               detail::show(x.shape()));
  }
};

// Over [N, C, H, W].
template <typename T>
class BatchNorm2d : public BatchNormBase<T> {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                       bool affine = true, bool track_running_stats = true)
      : BatchNormBase<T>("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input(const Tensor<T>& x) const override {
    if (x.dim() != 4)
      detail::fail<ShapeError>("BatchNorm2d: expected 4-D input [N, C, H, W], got shape ", detail::show(x.shape()));
  }
};

// Normalizes over the trailing normalized_shape dimensions; weight 1 and bias 0 of that shape.
template <typename T>
class LayerNorm : public Module<T> {
 public:
  Tensor<T> weight, bias;
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool with_bias = true)
      : Module<T>("LayerNorm"), shape_(std::move(normalized_shape)), eps_(eps), affine_(elementwise_affine) {
    if (shape_.empty()) detail::fail<ValueError>("LayerNorm: normalized_shape must not be empty");
    for (auto d : shape_) detail::check_positive_size("LayerNorm", "every normalized_shape entry", d);
    if (elementwise_affine) {
      weight = this->register_parameter("weight", ones<T>(shape_));
      if (with_bias) bias = this->register_parameter("bias", zeros<T>(shape_));
    }
  }
  Tensor<T> forward(const Tensor<T>& x) override { return layer_norm(x, shape_, weight, bias, static_cast<T>(eps_)); }
  std::string extra_repr() const override {
    std::string s = "(";
    for (std::size_t i = 0; i < shape_.size(); ++i) s += (i ? ", " : "") + std::to_string(shape_[i]);
    s += shape_.size() == 1 ? ",)" : ")";
    return s + ", eps=" + detail::py_float(eps_) + ", elementwise_affine=" + detail::py_bool(affine_);
  }

 private:
  Shape shape_;
  double eps_;
  bool affine_;
};

// Normalizes [N, C, *] over groups of C / num_groups channels; per-channel affine.
template <typename T>
class GroupNorm : public Module<T> {
 public:
  Tensor<T> weight, bias;
  GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true)
      : Module<T>("GroupNorm"), groups_(num_groups), channels_(num_channels), eps_(eps), affine_(affine) {
    detail::check_positive_size("GroupNorm", "num_groups", num_groups);
    detail::check_positive_size("GroupNorm", "num_channels", num_channels);
    if (num_channels % num_groups != 0)
      detail::fail<ValueError>("GroupNorm: num_channels (", num_channels, ") must be divisible by num_groups (",
                               num_groups, ")");
    if (affine) {
      weight = this->register_parameter("weight", ones<T>({num_channels}));
      bias = this->register_parameter("bias", zeros<T>({num_channels}));
    }
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    if (x.dim() < 2 || x.size(1) != channels_)
      detail::fail<ShapeError>("GroupNorm: expected input [N, ", channels_, ", *], got shape ", detail::show(x.shape()));
    return group_norm(x, groups_, weight, bias, static_cast<T>(eps_));
  }
  std::string extra_repr() const override {
    return std::to_string(groups_) + ", " + std::to_string(channels_) + ", eps=" + detail::py_float(eps_) +
           ", affine=" + detail::py_bool(affine_);
  }

 private:
  std::int64_t groups_, channels_;
  double eps_;
  bool affine_;
};

}  // namespace tapegrad::nn
