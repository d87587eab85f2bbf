#pragma once
// Adam and AdamW, as torch.optim.Adam / AdamW:
//   g = ±grad (+ wd p for Adam);  AdamW first decays p *= 1 - lr wd (decoupled)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  (amsgrad: v_max = max(v_max, v))
//   p -= lr / (1 - b1^t) * m / (sqrt(v or v_max) / sqrt(1 - b2^t) + eps)
//
//   tg::optim::Adam<float> opt(model.parameters(), tg::optim::AdamOptions(1e-3).betas({0.9, 0.999}));
//   tg::optim::AdamW<float> w(model.parameters(), tg::optim::AdamWOptions(1e-3).weight_decay(0.05));

#include "optimizer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__SSE2__) || defined(__AVX__)
#include <immintrin.h>
#endif

namespace tapegrad::optim {

// Options of Adam (weight_decay 0) and AdamW (AdamWOptions: weight_decay 0.01).
class AdamOptions {
 public:
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  TAPEGRAD_OPTIM_OPTION(AdamOptions, double, lr)
  TAPEGRAD_OPTIM_OPTION(AdamOptions, double, eps)
  TAPEGRAD_OPTIM_OPTION(AdamOptions, double, weight_decay)
  TAPEGRAD_OPTIM_OPTION(AdamOptions, bool, amsgrad)
  TAPEGRAD_OPTIM_OPTION(AdamOptions, bool, maximize)
  AdamOptions& betas(std::array<double, 2> b) {
    betas_ = b;
    return *this;
  }
  std::array<double, 2> betas() const { return betas_; }

  bool has_momentum() const { return true; }
  double momentum_value() const { return betas_[0]; }
  void set_momentum_value(double m) { betas_[0] = m; }
  std::vector<std::pair<std::string, double>> items() const {
    return {{"lr", lr_}, {"beta1", betas_[0]}, {"beta2", betas_[1]}, {"eps", eps_}, {"weight_decay", weight_decay_},
            {"amsgrad", amsgrad_ ? 1.0 : 0.0}, {"maximize", maximize_ ? 1.0 : 0.0}};
  }
  void set(const std::string& key, double v) {
    if (key == "lr") lr_ = v;
    if (key == "beta1") betas_[0] = v;
    if (key == "beta2") betas_[1] = v;
    if (key == "eps") eps_ = v;
    if (key == "weight_decay") weight_decay_ = v;
    if (key == "amsgrad") amsgrad_ = v != 0;
    if (key == "maximize") maximize_ = v != 0;
  }
  void validate(const char* name) const {
    detail::check_option(name, "learning rate", lr_, lr_ >= 0, "must be >= 0");
    detail::check_option(name, "eps", eps_, eps_ >= 0, "must be >= 0");
    detail::check_option(name, "beta1", betas_[0], betas_[0] >= 0 && betas_[0] < 1, "must be in [0, 1)");
    detail::check_option(name, "beta2", betas_[1], betas_[1] >= 0 && betas_[1] < 1, "must be in [0, 1)");
    detail::check_option(name, "weight_decay", weight_decay_, weight_decay_ >= 0, "must be >= 0");
  }

 protected:
  double lr_;
  std::array<double, 2> betas_{0.9, 0.999};
  double eps_ = 1e-8, weight_decay_ = 0;
  bool amsgrad_ = false, maximize_ = false;
};

class AdamWOptions : public AdamOptions {
 public:
  explicit AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay_ = 1e-2; }
};

namespace detail {
// Square roots of n values in place, correctly rounded (what std::sqrt returns).
// std::sqrt may set errno (for a negative argument), a branch to libm that keeps GCC
// from vectorising any loop calling it unless the user builds with -fno-math-errno,
// and Eigen 3.4's float packet sqrt is an approximation under its default
// EIGEN_FAST_MATH (see ops/unary.hpp), so this calls the SSE2 / AVX square-root
// instructions, which are IEEE's correctly rounded sqrt; other targets loop on std::sqrt.
template <typename T>
void sqrt_in_place(T* x, std::int64_t n) {
  std::int64_t i = 0;
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
  } else if constexpr (std::is_same_v<T, double>) {
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(x + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
  }
#elif defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
  } else if constexpr (std::is_same_v<T, double>) {
    for (; i + 2 <= n; i += 2) _mm_storeu_pd(x + i, _mm_sqrt_pd(_mm_loadu_pd(x + i)));
  }
#endif
  for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

// The Adam update; `decoupled` is AdamW's weight decay. It runs over chunks that stay in
// L1: first the moments (a loop the compiler vectorises; the branches are hoisted),
// then the square roots of the second moments (sqrt_in_place), then the parameter
// update, each element computed exactly as in one scalar loop.
template <typename T>
void adam_update(const AdamOptions& o, double step, bool decoupled, T* p, const T* g, std::int64_t n, T* const* b) {
  const double b1 = o.betas()[0], b2 = o.betas()[1];
  const double bias1 = 1 - std::pow(b1, step), bias2_sqrt = std::sqrt(1 - std::pow(b2, step));
  const T step_size = static_cast<T>(o.lr() / bias1);
  const T inv_bias2_sqrt = static_cast<T>(1 / bias2_sqrt);
  const T beta1 = static_cast<T>(b1), beta2 = static_cast<T>(b2), eps = static_cast<T>(o.eps());
  const T wd = static_cast<T>(o.weight_decay()), decay = static_cast<T>(1 - o.lr() * o.weight_decay());
  const T sign = o.maximize() ? T(-1) : T(1);
  const bool amsgrad = o.amsgrad();
  T *m = b[0], *v = b[1], *v_max = b[2];
  constexpr std::int64_t kChunk = 256;
  T second[kChunk];  // the second moment used (v, or its running max), then its square root
  // m and v of one chunk; `second` gets v.
  auto moments = [&](auto decoupled_tag, std::int64_t start, std::int64_t len) {
    constexpr bool kDecoupled = decltype(decoupled_tag)::value;
    T *pc = p + start, *mc = m + start, *vc = v + start;
    const T* gc = g + start;
    for (std::int64_t i = 0; i < len; ++i) {
      T grad = sign * gc[i];
      if constexpr (kDecoupled) {
        pc[i] *= decay;
      } else {
        grad += wd * pc[i];
      }
      mc[i] = beta1 * mc[i] + (T(1) - beta1) * grad;
      vc[i] = beta2 * vc[i] + (T(1) - beta2) * grad * grad;
      second[i] = vc[i];
    }
  };
  for (std::int64_t start = 0; start < n; start += kChunk) {
    const std::int64_t len = std::min(kChunk, n - start);
    if (decoupled)
      moments(std::true_type{}, start, len);
    else
      moments(std::false_type{}, start, len);
    if (amsgrad) {
      T* vm = v_max + start;
      for (std::int64_t i = 0; i < len; ++i) {
        const T kept = vm[i], now = second[i];
        second[i] = vm[i] = kept < now ? now : kept;  // std::max(kept, now), as a select
      }
    }
    sqrt_in_place(second, len);
    T *pc = p + start, *mc = m + start;
    for (std::int64_t i = 0; i < len; ++i) pc[i] -= step_size * mc[i] / (second[i] * inv_bias2_sqrt + eps);
  }
}
}  // namespace detail

template <typename T>
class Adam : public OptimizerWith<T, AdamOptions> {
  using Base = OptimizerWith<T, AdamOptions>;

 public:
  Adam(const std::vector<Tensor<T>>& params, AdamOptions options = AdamOptions()) : Base("Adam", params, options) {}
  explicit Adam(std::vector<ParamGroup<T, AdamOptions>> groups) : Base("Adam", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return names;
  }
  void update(const AdamOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* buffers) override {
    detail::adam_update(o, state.step, false, p, g, n, buffers);
  }
};

template <typename T>
class AdamW : public OptimizerWith<T, AdamOptions> {
  using Base = OptimizerWith<T, AdamOptions>;

 public:
  AdamW(const std::vector<Tensor<T>>& params, AdamOptions options = AdamWOptions()) : Base("AdamW", params, options) {}
  explicit AdamW(std::vector<ParamGroup<T, AdamOptions>> groups) : Base("AdamW", std::move(groups)) {}

 protected:
  const std::vector<std::string>& buffer_names() const override {
    static const std::vector<std::string> names{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return names;
  }
  void update(const AdamOptions& o, detail::ParamState<T>& state, T* p, const T* g, std::int64_t n,
              T* const* buffers) override {
    detail::adam_update(o, state.step, true, p, g, n, buffers);
  }
};

}  // namespace tapegrad::optim
