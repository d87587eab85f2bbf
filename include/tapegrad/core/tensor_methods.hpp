#pragma once
// Tensor<T> methods that forward to the free-function ops, and in-place arithmetic.

#include "../ops/linalg.hpp"
#include "engine.hpp"

namespace tapegrad {

template <typename T>
std::string Tensor<T>::grad_fn_name() const {
  return grad_fn() ? grad_fn()->name() : "a leaf";
}

template <typename T>
void Tensor<T>::zero_grad(bool set_to_none) {
  auto& g = checked().grad;
  if (!g) return;
  if (set_to_none) {
    g.reset();
    return;
  }
  Tensor<T> grad_tensor(g);
  detail::fill(grad_tensor, T(0));
  g->storage->bump_version();
}

template <typename T> Tensor<T> Tensor<T>::clone() const { return tapegrad::clone(*this); }
template <typename T> Tensor<T> Tensor<T>::operator-() const { return tapegrad::neg(*this); }
template <typename T> Tensor<T> Tensor<T>::exp() const { return tapegrad::exp(*this); }
template <typename T> Tensor<T> Tensor<T>::log() const { return tapegrad::log(*this); }
template <typename T> Tensor<T> Tensor<T>::sqrt() const { return tapegrad::sqrt(*this); }
template <typename T> Tensor<T> Tensor<T>::abs() const { return tapegrad::abs(*this); }
template <typename T> Tensor<T> Tensor<T>::sin() const { return tapegrad::sin(*this); }
template <typename T> Tensor<T> Tensor<T>::cos() const { return tapegrad::cos(*this); }
template <typename T> Tensor<T> Tensor<T>::tanh() const { return tapegrad::tanh(*this); }
template <typename T> Tensor<T> Tensor<T>::sigmoid() const { return tapegrad::sigmoid(*this); }
template <typename T> Tensor<T> Tensor<T>::relu() const { return tapegrad::relu(*this); }
template <typename T> Tensor<T> Tensor<T>::sign() const { return tapegrad::sign(*this); }
template <typename T> Tensor<T> Tensor<T>::pow(T exponent) const { return tapegrad::pow(*this, exponent); }
template <typename T> Tensor<T> Tensor<T>::pow(const Tensor& e) const { return tapegrad::pow(*this, e); }
template <typename T> Tensor<T> Tensor<T>::sum() const { return tapegrad::sum(*this); }
template <typename T> Tensor<T> Tensor<T>::sum(std::int64_t d, bool k) const { return tapegrad::sum(*this, d, k); }
template <typename T> Tensor<T> Tensor<T>::mean() const { return tapegrad::mean(*this); }
template <typename T> Tensor<T> Tensor<T>::mean(std::int64_t d, bool k) const { return tapegrad::mean(*this, d, k); }
template <typename T> Tensor<T> Tensor<T>::max() const { return tapegrad::max(*this); }
template <typename T> Tensor<T> Tensor<T>::min() const { return tapegrad::min(*this); }
template <typename T> MaxResult<T> Tensor<T>::max(std::int64_t d, bool k) const { return tapegrad::max(*this, d, k); }
template <typename T> MaxResult<T> Tensor<T>::min(std::int64_t d, bool k) const { return tapegrad::min(*this, d, k); }
template <typename T> Tensor<T> Tensor<T>::norm() const { return tapegrad::norm(*this); }
template <typename T> Tensor<T> Tensor<T>::matmul(const Tensor& o) const { return tapegrad::matmul(*this, o); }
template <typename T> Tensor<T> Tensor<T>::transpose(std::int64_t a, std::int64_t b) const {
  return tapegrad::transpose(*this, a, b);
}
template <typename T> Tensor<T> Tensor<T>::t() const { return tapegrad::t(*this); }
template <typename T> Tensor<T> Tensor<T>::permute(const std::vector<std::int64_t>& d) const {
  return tapegrad::permute(*this, d);
}
template <typename T> Tensor<T> Tensor<T>::squeeze() const { return tapegrad::squeeze(*this); }
template <typename T> Tensor<T> Tensor<T>::squeeze(std::int64_t d) const { return tapegrad::squeeze(*this, d); }
template <typename T> Tensor<T> Tensor<T>::unsqueeze(std::int64_t d) const { return tapegrad::unsqueeze(*this, d); }
template <typename T> Tensor<T> Tensor<T>::flatten(std::int64_t s, std::int64_t e) const {
  return tapegrad::flatten(*this, s, e);
}
template <typename T> Tensor<T> Tensor<T>::reshape(const Shape& s) const { return tapegrad::reshape(*this, s); }
template <typename T> Tensor<T> Tensor<T>::view(const Shape& s) const { return tapegrad::view(*this, s); }
template <typename T> Tensor<T> Tensor<T>::expand(const Shape& s) const { return tapegrad::expand(*this, s); }
template <typename T> Tensor<T> Tensor<T>::sum_to(const Shape& s) const { return tapegrad::sum_to(*this, s); }

}  // namespace tapegrad
