#pragma once
// Adagrad, as torch.optim.Adagrad:
//   g = ±grad + wd p;  clr = lr / (1 + (t - 1) lr_decay);  s += g^2;  p -= clr g / (sqrt(s) + eps)
// The sum starts at initial_accumulator_value.
//
//   tg::optim::Adagrad<float> opt(params, tg::optim::AdagradOptions(1e-2));

#include "optimizer.hpp"

namespace tapegrad::optim {

class AdagradOptions {
 public:
  explicit AdagradOptions(double lr = 1e-2) : lr_(lr) {}
  TAPEGRAD_OPTIM_OPTION(AdagradOptions, double, lr)
  TAPEGRAD_OPTIM_OPTION(AdagradOptions, double, lr_decay)
  TAPEGRAD_OPTIM_OPTION(AdagradOptions, double, weight_decay)
  TAPEGRAD_OPTIM_OPTION(AdagradOptions, double, initial_accumulator_value)
  TAPEGRAD_OPTIM_OPTION(AdagradOptions, double, eps)
  TAPEGRAD_OPTIM_OPTION(AdagradOptions, bool, maximize)

  bool has_momentum() const { return false; }
  double momentum_value() const { return 0; }
  void set_momentum_value(double) {}
  std::vector<std::pair<std::string, double>> items() const {
    return {{"lr", lr_}, {"lr_decay", lr_decay_}, {"weight_decay", weight_decay_},
            {"initial_accumulator_value", initial_accumulator_value_}, {"eps", eps_}, {"maximize", maximize_ ? 1.0 : 0.0}};
  }
  void set(const std::string& key, double v) {
    if (key == "lr") lr_ = v;
    if (key == "lr_decay") lr_decay_ = v;
    if (key == "weight_decay") weight_decay_ = v;
    if (key == "initial_accumulator_value") initial_accumulator_value_ = v;
    if (key == "eps") eps_ = v;
    if (key == "maximize") maximize_ = v != 0;
  }
  void validate(const char* name) const {
    detail::check_option(name, "learning rate", lr_, lr_ >= 0, "must be >= 0");
    detail::check_option(name, "lr_decay", lr_decay_, lr_decay_ >= 0, "must be >= 0");
    detail::check_option(name, "weight_decay", weight_decay_, weight_decay_ >= 0, "must be >= 0");
    detail::check_option(name, "initial_accumulator_value", initial_accumulator_value_, initial_accumulator_value_ >= 0,
                         "must be >= 0");
    detail::check_option(name, "eps", eps_, eps_ >= 0, "must be >= 0");
  }

 private:
  double lr_, lr_decay_ = 0, weight_decay_ = 0, initial_accumulator_value_ = 0, eps_ = 1e-10;
  bool maximize_ = false;
};

template <typename T>
class Adagrad : public OptimizerWith<T, AdagradOptions> {
  using Base = OptimizerWith<T, AdagradOptions>;

 public:
  Adagrad(const std::vector<Tensor<T>>& params, AdagradOptions options = AdagradOptions())
      : Base("Adagrad", params, options) {}
  explicit Adagrad(std::vector<ParamGroup<T, AdagradOptions>> groups) : Base("Adagrad", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"sum"};
    return names;
  }
  void init_state(const AdagradOptions& o, detail::ParamState<T>& state) override {
    state.buffers[0].fill_(static_cast<T>(o.initial_accumulator_value()));
  }
  void update(const AdagradOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* b) override {
    const T clr = static_cast<T>(o.lr() / (1 + (state.step - 1) * o.lr_decay()));
    const T wd = static_cast<T>(o.weight_decay()), eps = static_cast<T>(o.eps());
    const T sign = o.maximize() ? T(-1) : T(1);
    T* s = b[0];
    for (std::int64_t i = 0; i < n; ++i) {
      const T grad = sign * g[i] + wd * p[i];
      s[i] += grad * grad;
      p[i] -= clr * grad / (std::sqrt(s[i]) + eps);
    }
  }
};

}  // namespace tapegrad::optim
