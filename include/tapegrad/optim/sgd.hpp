#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as
// torch.optim.SGD:
//   g = ±grad + wd p;  b = g (first step) or mu b + (1 - dampening) g;
//   g = g + mu b (nesterov) or b;  p -= lr g
//
//   tg::optim::SGD<float> sgd(model.parameters(), tg::optim::SGDOptions(0.1).momentum(0.9).nesterov(true));

#include "optimizer.hpp"

namespace tapegrad::optim {

class SGDOptions {
 public:
  explicit SGDOptions(double lr = 1e-3) : lr_(lr) {}
  TAPEGRAD_OPTIM_OPTION(SGDOptions, double, lr)
  TAPEGRAD_OPTIM_OPTION(SGDOptions, double, momentum)
  TAPEGRAD_OPTIM_OPTION(SGDOptions, double, dampening)
  TAPEGRAD_OPTIM_OPTION(SGDOptions, double, weight_decay)
  TAPEGRAD_OPTIM_OPTION(SGDOptions, bool, nesterov)
  TAPEGRAD_OPTIM_OPTION(SGDOptions, bool, maximize)

  bool has_momentum() const { return true; }
  double momentum_value() const { return momentum_; }
  void set_momentum_value(double m) { momentum_ = m; }
  std::vector<std::pair<std::string, double>> items() const {
    return {{"lr", lr_}, {"momentum", momentum_}, {"dampening", dampening_}, {"weight_decay", weight_decay_},
            {"nesterov", nesterov_ ? 1.0 : 0.0}, {"maximize", maximize_ ? 1.0 : 0.0}};
  }
  void set(const std::string& key, double v) {
    if (key == "lr") lr_ = v;
    if (key == "momentum") momentum_ = v;
    if (key == "dampening") dampening_ = v;
    if (key == "weight_decay") weight_decay_ = v;
    if (key == "nesterov") nesterov_ = v != 0;
    if (key == "maximize") maximize_ = v != 0;
  }
  void validate(const char* name) const {
    detail::check_option(name, "learning rate", lr_, lr_ >= 0, "must be >= 0");
    detail::check_option(name, "momentum", momentum_, momentum_ >= 0, "must be >= 0");
    detail::check_option(name, "weight_decay", weight_decay_, weight_decay_ >= 0, "must be >= 0");
    if (nesterov_ && (momentum_ <= 0 || dampening_ != 0))
      tapegrad::detail::fail<ValueError>(name, ": nesterov momentum requires a momentum > 0 and zero dampening (got momentum ",
                                         momentum_, ", dampening ", dampening_, ")");
  }

 private:
  double lr_, momentum_ = 0, dampening_ = 0, weight_decay_ = 0;
  bool nesterov_ = false, maximize_ = false;
};

template <typename T>
class SGD : public OptimizerWith<T, SGDOptions> {
  using Base = OptimizerWith<T, SGDOptions>;

 public:
  SGD(const std::vector<Tensor<T>>& params, SGDOptions options) : Base("SGD", params, options) {}
  explicit SGD(std::vector<ParamGroup<T, SGDOptions>> groups) : Base("SGD", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"momentum_buffer"};
    return names;
  }
  void update(const SGDOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* buffers) override {
    const T lr = static_cast<T>(o.lr()), mu = static_cast<T>(o.momentum()), wd = static_cast<T>(o.weight_decay());
    const T keep = static_cast<T>(1 - o.dampening());
    const T sign = o.maximize() ? T(-1) : T(1);
    T* b = buffers[0];
    const bool first = state.step == 1;
    for (std::int64_t i = 0; i < n; ++i) {
      T d = sign * g[i] + wd * p[i];
      if (o.momentum() != 0) {
        b[i] = first ? d : mu * b[i] + keep * d;
        d = o.nesterov() ? d + mu * b[i] : b[i];
      }
      p[i] -= lr * d;
    }
  }
};

}  // namespace tapegrad::optim
