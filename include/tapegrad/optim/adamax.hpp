#pragma once
// Adamax (Adam with the infinity norm), as torch.optim.Adamax:
//   g = ±grad + wd p;  m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps)
//   p -= lr / (1 - b1^t) * m / u
//
//   tg::optim::Adamax<float> opt(params, tg::optim::AdamaxOptions(2e-3));

#include "adam.hpp"

namespace tapegrad::optim {

// AdamOptions with Adamax's default lr (2e-3); amsgrad does not apply.
class AdamaxOptions : public AdamOptions {
 public:
  explicit AdamaxOptions(double lr = 2e-3) : AdamOptions(lr) {}
};

template <typename T>
class Adamax : public OptimizerWith<T, AdamOptions> {
  using Base = OptimizerWith<T, AdamOptions>;

 public:
  Adamax(const std::vector<Tensor<T>>& params, AdamOptions options = AdamaxOptions()) : Base("Adamax", params, options) {
    reject_amsgrad();
  }
  explicit Adamax(std::vector<ParamGroup<T, AdamOptions>> groups) : Base("Adamax", std::move(groups)) { reject_amsgrad(); }

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"exp_avg", "exp_inf"};
    return names;
  }
  void update(const AdamOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* b) override {
    const T beta1 = static_cast<T>(o.betas()[0]), beta2 = static_cast<T>(o.betas()[1]);
    const T clr = static_cast<T>(o.lr() / (1 - std::pow(o.betas()[0], state.step)));
    const T eps = static_cast<T>(o.eps()), wd = static_cast<T>(o.weight_decay());
    const T sign = o.maximize() ? T(-1) : T(1);
    T *m = b[0], *u = b[1];
    for (std::int64_t i = 0; i < n; ++i) {
      const T grad = sign * g[i] + wd * p[i];
      m[i] = beta1 * m[i] + (T(1) - beta1) * grad;
      u[i] = std::max(beta2 * u[i], std::abs(grad) + eps);
      p[i] -= clr * m[i] / u[i];
    }
  }

 private:
  void reject_amsgrad() const {
    for (std::size_t g = 0; g < this->num_param_groups(); ++g)
      if (this->param_groups()[g].options.amsgrad())
        tapegrad::detail::fail<ValueError>("Adamax: amsgrad does not apply (group ", g, ")");
  }
};

}  // namespace tapegrad::optim
