#pragma once
// tg::nn::utils: gradient clipping and flattening parameters, as torch.nn.utils.
//
//   double norm = tg::nn::utils::clip_grad_norm_(model.parameters(), 1.0);  // total norm before clipping
//   tg::nn::utils::clip_grad_value_(model.parameters(), 0.5);
//   auto flat = tg::nn::utils::parameters_to_vector(model.parameters());
//
// Parameters without a .grad are skipped. The gradients are scaled in place (no
// allocation, nothing recorded).

#include "../core.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace tapegrad::nn::utils {

// Scales every gradient by min(1, max_norm / (total + 1e-6)), where total is the
// norm_type-norm of all gradients together (norm_type may be infinity); returns total.
// error_if_nonfinite: a nan or inf total throws instead of scaling by nan.
template <typename T>
double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false) {
  if (!(norm_type > 0))
    tapegrad::detail::fail<ValueError>("clip_grad_norm_: norm_type must be > 0 (or infinity), got ", norm_type);
  const bool inf = std::isinf(norm_type);
  double total = 0;
  for (const Tensor<T>& p : params) {
    const Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    const T* d = g.data_ptr();
    for (std::int64_t i = 0, n = g.numel(); i < n; ++i) {
      const double a = std::abs(static_cast<double>(d[i]));
      if (inf) {
        total = std::isnan(a) || std::isnan(total) ? std::numeric_limits<double>::quiet_NaN() : std::max(total, a);
      } else if (norm_type == 2) {
        total += a * a;
      } else if (norm_type == 1) {
        total += a;
      } else {
        total += std::pow(a, norm_type);
      }
    }
  }
  if (!inf) total = norm_type == 2 ? std::sqrt(total) : norm_type == 1 ? total : std::pow(total, 1 / norm_type);
  if (error_if_nonfinite && !std::isfinite(total))
    tapegrad::detail::fail<ValueError>("clip_grad_norm_: the total norm of order ", norm_type, " of the gradients is ",
                                       total, ", so they cannot be clipped; pass error_if_nonfinite = false to scale "
                                       "them anyway, or skip this step (tg::all_finite tells which)");
  const double scale = max_norm / (total + 1e-6);
  if (scale < 1) {
    const T s = static_cast<T>(scale);
    for (const Tensor<T>& p : params) {
      Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      T* d = g.data_ptr();
      for (std::int64_t i = 0, n = g.numel(); i < n; ++i) d[i] *= s;
    }
  }
  return total;
}

// Clamps every gradient element to [-clip_value, clip_value].
template <typename T>
void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value) {
  if (!(clip_value >= 0)) tapegrad::detail::fail<ValueError>("clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  const T c = static_cast<T>(clip_value);
  for (const Tensor<T>& p : params) {
    Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    T* d = g.data_ptr();
    for (std::int64_t i = 0, n = g.numel(); i < n; ++i) d[i] = std::min(std::max(d[i], -c), c);
  }
}

// All parameters' values in one 1-D tensor (a copy), in order.
template <typename T>
Tensor<T> parameters_to_vector(const std::vector<Tensor<T>>& params) {
  std::int64_t n = 0;
  for (const Tensor<T>& p : params) n += p.numel();
  Tensor<T> out = empty<T>({n});
  T* d = out.data_ptr();
  for (const Tensor<T>& p : params) d = std::copy(p.data_ptr(), p.data_ptr() + p.numel(), d);
  return out;
}

// Writes consecutive pieces of `vec` into the parameters (in place, unrecorded).
template <typename T>
void vector_to_parameters(const Tensor<T>& vec, const std::vector<Tensor<T>>& params) {
  std::int64_t n = 0;
  for (const Tensor<T>& p : params) n += p.numel();
  if (vec.dim() != 1 || vec.numel() != n)
    tapegrad::detail::fail<ShapeError>("vector_to_parameters: expected a 1-D tensor of ", n,
                                       " elements (the parameters' total), got shape ", to_string(vec.shape()));
  NoGradGuard no_grad;
  const T* s = vec.data_ptr();
  for (Tensor<T> p : params) {
    std::copy(s, s + p.numel(), p.data_ptr());
    s += p.numel();
    p.add_(T(0));  // the version bump of an in-place write
  }
}

}  // namespace tapegrad::nn::utils
