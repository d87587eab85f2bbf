#pragma once
// RAdam (rectified Adam), as torch.optim.RAdam:
//   g = ±grad + wd p;  m, v as Adam;  m_hat = m / (1 - b1^t)
//   rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
//   rho_t > 5: p -= lr m_hat r sqrt(1 - b2^t) / (sqrt(v) + eps),
//              r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
//   else:      p -= lr m_hat
//
//   tg::optim::RAdam<float> opt(params, tg::optim::RAdamOptions(1e-3));

#include "adam.hpp"

namespace tapegrad::optim {

class RAdamOptions : public AdamOptions {
 public:
  explicit RAdamOptions(double lr = 1e-3) : AdamOptions(lr) {}
  void validate(const char* name) const {
    AdamOptions::validate(name);
    if (amsgrad()) tapegrad::detail::fail<ValueError>(name, ": amsgrad does not apply");
  }
};

template <typename T>
class RAdam : public OptimizerWith<T, RAdamOptions> {
  using Base = OptimizerWith<T, RAdamOptions>;

 public:
  RAdam(const std::vector<Tensor<T>>& params, RAdamOptions options = RAdamOptions()) : Base("RAdam", params, options) {}
  explicit RAdam(std::vector<ParamGroup<T, RAdamOptions>> groups) : Base("RAdam", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"exp_avg", "exp_avg_sq"};
    return names;
  }
  void update(const RAdamOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* b) override {
    const double b1 = o.betas()[0], b2 = o.betas()[1], t = state.step;
    const double bias1 = 1 - std::pow(b1, t), bias2 = 1 - std::pow(b2, t);
    const double rho_inf = 2 / (1 - b2) - 1;
    const double rho_t = rho_inf - 2 * t * std::pow(b2, t) / bias2;
    const bool rectify = rho_t > 5;
    const double r = rectify ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) : 0;
    const T c_plain = static_cast<T>(o.lr() / bias1);
    const T c_rect = static_cast<T>(o.lr() / bias1 * r * std::sqrt(bias2));
    const T beta1 = static_cast<T>(b1), beta2 = static_cast<T>(b2), eps = static_cast<T>(o.eps());
    const T wd = static_cast<T>(o.weight_decay()), sign = o.maximize() ? T(-1) : T(1);
    T *m = b[0], *v = b[1];
    for (std::int64_t i = 0; i < n; ++i) {
      const T grad = sign * g[i] + wd * p[i];
      m[i] = beta1 * m[i] + (T(1) - beta1) * grad;
      v[i] = beta2 * v[i] + (T(1) - beta2) * grad * grad;
      p[i] -= rectify ? c_rect * m[i] / (std::sqrt(v[i]) + eps) : c_plain * m[i];
    }
  }
};

}  // namespace tapegrad::optim
