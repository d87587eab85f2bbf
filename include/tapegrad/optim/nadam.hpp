#pragma once
// NAdam (Adam with Nesterov momentum), as torch.optim.NAdam:
//   g = ±grad + wd p;  mu_t = b1 (1 - 0.96^(t psi) / 2),  mu_{t+1} likewise,  P_t = prod mu_1..mu_t
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  d = sqrt(v / (1 - b2^t)) + eps
//   p -= lr (1 - mu_t) / (1 - P_t) g / d + lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d
// with psi = momentum_decay (4e-3). P_t is per-parameter state ("mu_product").
//
//   tg::optim::NAdam<float> opt(params, tg::optim::NAdamOptions(2e-3));

#include "adam.hpp"

namespace tapegrad::optim {

class NAdamOptions : public AdamOptions {
 public:
  explicit NAdamOptions(double lr = 2e-3) : AdamOptions(lr) {}
  TAPEGRAD_OPTIM_OPTION(NAdamOptions, double, momentum_decay)
  std::vector<std::pair<std::string, double>> items() const {
    auto out = AdamOptions::items();
    out.emplace_back("momentum_decay", momentum_decay_);
    return out;
  }
  void set(const std::string& key, double v) {
    if (key == "momentum_decay") momentum_decay_ = v;
    AdamOptions::set(key, v);
  }
  void validate(const char* name) const {
    AdamOptions::validate(name);
    detail::check_option(name, "momentum_decay", momentum_decay_, momentum_decay_ >= 0, "must be >= 0");
    if (amsgrad()) tapegrad::detail::fail<ValueError>(name, ": amsgrad does not apply");
  }

 private:
  double momentum_decay_ = 4e-3;
};

template <typename T>
class NAdam : public OptimizerWith<T, NAdamOptions> {
  using Base = OptimizerWith<T, NAdamOptions>;

 public:
  NAdam(const std::vector<Tensor<T>>& params, NAdamOptions options = NAdamOptions()) : Base("NAdam", params, options) {}
  explicit NAdam(std::vector<ParamGroup<T, NAdamOptions>> groups) : Base("NAdam", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"exp_avg", "exp_avg_sq"};
    return names;
  }
  void init_state(const NAdamOptions&, detail::ParamState<T>& s) override { s.scalars = {1.0}; }
  std::vector<std::pair<std::string, double>> extra_state(const detail::ParamState<T>& s) const override {
    return {{"mu_product", s.scalars.empty() ? 1.0 : s.scalars[0]}};
  }
  void load_extra_state(detail::ParamState<T>& s, const std::function<double(const std::string&)>& read) override {
    if (s.initialized()) s.scalars = {read("mu_product")};
  }
  void update(const NAdamOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* b) override {
    const double b1 = o.betas()[0], b2 = o.betas()[1], t = state.step, psi = o.momentum_decay();
    const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi));
    const double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
    const double prod = state.scalars[0] * mu;  // prod_{k <= t} mu_k
    state.scalars[0] = prod;
    const T c_grad = static_cast<T>(o.lr() * (1 - mu) / (1 - prod));
    const T c_avg = static_cast<T>(o.lr() * mu_next / (1 - prod * mu_next));
    const T inv_bias2 = static_cast<T>(1 / (1 - std::pow(b2, t)));
    const T beta1 = static_cast<T>(b1), beta2 = static_cast<T>(b2), eps = static_cast<T>(o.eps());
    const T wd = static_cast<T>(o.weight_decay()), sign = o.maximize() ? T(-1) : T(1);
    T *m = b[0], *v = b[1];
    for (std::int64_t i = 0; i < n; ++i) {
      const T grad = sign * g[i] + wd * p[i];
      m[i] = beta1 * m[i] + (T(1) - beta1) * grad;
      v[i] = beta2 * v[i] + (T(1) - beta2) * grad * grad;
      const T denom = std::sqrt(v[i] * inv_bias2) + eps;
      p[i] -= c_grad * grad / denom + c_avg * m[i] / denom;
    }
  }

};

}  // namespace tapegrad::optim
