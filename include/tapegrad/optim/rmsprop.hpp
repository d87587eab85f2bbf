#pragma once
// RMSprop, as torch.optim.RMSprop:
//   g = ±grad + wd p;  v = alpha v + (1 - alpha) g^2
//   centered: a = alpha a + (1 - alpha) g,  avg = sqrt(v - a^2) + eps;  else avg = sqrt(v) + eps
//   momentum > 0: b = mu b + g / avg,  p -= lr b;  else p -= lr g / avg
//
//   tg::optim::RMSprop<float> opt(params, tg::optim::RMSpropOptions(1e-2).centered(true));

#include "optimizer.hpp"

namespace tapegrad::optim {

class RMSpropOptions {
 public:
  explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, double, lr)
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, double, alpha)
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, double, eps)
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, double, weight_decay)
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, double, momentum)
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, bool, centered)
  TAPEGRAD_OPTIM_OPTION(RMSpropOptions, bool, maximize)

  bool has_momentum() const { return true; }
  double momentum_value() const { return momentum_; }
  void set_momentum_value(double m) { momentum_ = m; }
  std::vector<std::pair<std::string, double>> items() const {
    return {{"lr", lr_},
            {"alpha", alpha_},
            {"eps", eps_},
            {"weight_decay", weight_decay_},
            {"momentum", momentum_},
            {"centered", centered_ ? 1.0 : 0.0},
            {"maximize", maximize_ ? 1.0 : 0.0}};
  }
  void set(const std::string& key, double v) {
    if (key == "lr") lr_ = v;
    if (key == "alpha") alpha_ = v;
    if (key == "eps") eps_ = v;
    if (key == "weight_decay") weight_decay_ = v;
    if (key == "momentum") momentum_ = v;
    if (key == "centered") centered_ = v != 0;
    if (key == "maximize") maximize_ = v != 0;
  }
  void validate(const char* name) const {
    detail::check_option(name, "learning rate", lr_, lr_ >= 0, "must be >= 0");
    detail::check_option(name, "alpha", alpha_, alpha_ >= 0, "must be >= 0");
    detail::check_option(name, "eps", eps_, eps_ >= 0, "must be >= 0");
    detail::check_option(name, "momentum", momentum_, momentum_ >= 0, "must be >= 0");
    detail::check_option(name, "weight_decay", weight_decay_, weight_decay_ >= 0, "must be >= 0");
  }

 private:
  double lr_, alpha_ = 0.99, eps_ = 1e-8, weight_decay_ = 0, momentum_ = 0;
  bool centered_ = false, maximize_ = false;
};

template <typename T>
class RMSprop : public OptimizerWith<T, RMSpropOptions> {
  using Base = OptimizerWith<T, RMSpropOptions>;

 public:
  RMSprop(const std::vector<Tensor<T>>& params, RMSpropOptions options = RMSpropOptions())
      : Base("RMSprop", params, options) {}
  explicit RMSprop(std::vector<ParamGroup<T, RMSpropOptions>> groups) : Base("RMSprop", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"square_avg", "grad_avg", "momentum_buffer"};
    return names;
  }
  void update(const RMSpropOptions& o, detail::ParamState<T>&, T* p, const T* g, std::int64_t n,
              T* const* b) override {
    const T lr = static_cast<T>(o.lr()), alpha = static_cast<T>(o.alpha()), eps = static_cast<T>(o.eps());
    const T wd = static_cast<T>(o.weight_decay()), mu = static_cast<T>(o.momentum());
    const T sign = o.maximize() ? T(-1) : T(1);
    T *v = b[0], *a = b[1], *buf = b[2];
    for (std::int64_t i = 0; i < n; ++i) {
      const T grad = sign * g[i] + wd * p[i];
      v[i] = alpha * v[i] + (T(1) - alpha) * grad * grad;
      T avg;
      if (o.centered()) {
        a[i] = alpha * a[i] + (T(1) - alpha) * grad;
        avg = std::sqrt(v[i] - a[i] * a[i]) + eps;
      } else {
        avg = std::sqrt(v[i]) + eps;
      }
      if (o.momentum() > 0) {
        buf[i] = mu * buf[i] + grad / avg;
        p[i] -= lr * buf[i];
      } else {
        p[i] -= lr * grad / avg;
      }
    }
  }
};

}  // namespace tapegrad::optim
