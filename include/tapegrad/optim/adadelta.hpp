#pragma once
// Adadelta, as torch.optim.Adadelta:
//   g = ±grad + wd p;  v = rho v + (1 - rho) g^2;  d = sqrt(u + eps) / sqrt(v + eps) g
//   u = rho u + (1 - rho) d^2;  p -= lr d
//
//   tg::optim::Adadelta<double> opt(params, tg::optim::AdadeltaOptions(1.0));

#include "optimizer.hpp"

namespace tapegrad::optim {

class AdadeltaOptions {
 public:
  explicit AdadeltaOptions(double lr = 1.0) : lr_(lr) {}
  TAPEGRAD_OPTIM_OPTION(AdadeltaOptions, double, lr)
  TAPEGRAD_OPTIM_OPTION(AdadeltaOptions, double, rho)
  TAPEGRAD_OPTIM_OPTION(AdadeltaOptions, double, eps)
  TAPEGRAD_OPTIM_OPTION(AdadeltaOptions, double, weight_decay)
  TAPEGRAD_OPTIM_OPTION(AdadeltaOptions, bool, maximize)

  bool has_momentum() const { return false; }
  double momentum_value() const { return 0; }
  void set_momentum_value(double) {}
  std::vector<std::pair<std::string, double>> items() const {
    return {{"lr", lr_}, {"rho", rho_}, {"eps", eps_}, {"weight_decay", weight_decay_}, {"maximize", maximize_ ? 1.0 : 0.0}};
  }
  void set(const std::string& key, double v) {
    if (key == "lr") lr_ = v;
    if (key == "rho") rho_ = v;
    if (key == "eps") eps_ = v;
    if (key == "weight_decay") weight_decay_ = v;
    if (key == "maximize") maximize_ = v != 0;
  }
  void validate(const char* name) const {
    detail::check_option(name, "learning rate", lr_, lr_ >= 0, "must be >= 0");
    detail::check_option(name, "rho", rho_, rho_ >= 0 && rho_ <= 1, "must be in [0, 1]");
    detail::check_option(name, "eps", eps_, eps_ >= 0, "must be >= 0");
    detail::check_option(name, "weight_decay", weight_decay_, weight_decay_ >= 0, "must be >= 0");
  }

 private:
  double lr_, rho_ = 0.9, eps_ = 1e-6, weight_decay_ = 0;
  bool maximize_ = false;
};

template <typename T>
class Adadelta : public OptimizerWith<T, AdadeltaOptions> {
  using Base = OptimizerWith<T, AdadeltaOptions>;

 public:
  Adadelta(const std::vector<Tensor<T>>& params, AdadeltaOptions options = AdadeltaOptions())
      : Base("Adadelta", params, options) {}
  explicit Adadelta(std::vector<ParamGroup<T, AdadeltaOptions>> groups) : Base("Adadelta", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"square_avg", "acc_delta"};
    return names;
  }
  void update(const AdadeltaOptions& o, detail::ParamState<T>&, T* p, const T* g, std::int64_t n,
              T* const* b) override {
    const T lr = static_cast<T>(o.lr()), rho = static_cast<T>(o.rho()), eps = static_cast<T>(o.eps());
    const T wd = static_cast<T>(o.weight_decay()), sign = o.maximize() ? T(-1) : T(1);
    T *v = b[0], *u = b[1];
    for (std::int64_t i = 0; i < n; ++i) {
      const T grad = sign * g[i] + wd * p[i];
      v[i] = rho * v[i] + (T(1) - rho) * grad * grad;
      const T delta = std::sqrt(u[i] + eps) / std::sqrt(v[i] + eps) * grad;
      u[i] = rho * u[i] + (T(1) - rho) * delta * delta;
      p[i] -= lr * delta;
    }
  }
};

}  // namespace tapegrad::optim
