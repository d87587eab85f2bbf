#pragma once
// logsumexp, softmax and log_softmax, numerically stable for large inputs: the
// greatest element is subtracted before exponentiating, so inputs like +-1000 give
// exact results instead of inf or nan. Exponentials below the smallest normal number
// are flushed to 0, so -inf entries (masks) contribute exactly 0. The backward rules
// use tg::exp, which gives the same exact 0 for -inf.

#include <cmath>
#include <initializer_list>
#include <limits>
#include <vector>

#include "../core.hpp"

namespace tapegrad {
namespace detail {

// e^p[i] in place, with the results below the smallest normal number flushed to 0, so
// that exp(-inf) and exp(-1000) are exactly 0: Eigen 3.4's vectorised exp clamps its
// argument at -709.78 (-88.72 for float) and returns about 5.6e-309 (2.9e-39) there.
// Two passes, because Eigen 3.4 does not vectorise select(): written as one
// `(a < lowest).select(0, a.exp())`, every exp went to scalar libm (perf: 11% of the
// attention step in expf).
template <typename T>
void flushed_exp_in_place(T* p, std::int64_t n) {
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> a(p, n);
  a = a.exp();
  const T smallest_normal = std::numeric_limits<T>::min();
  for (std::int64_t i = 0; i < n; ++i) p[i] = p[i] < smallest_normal ? T(0) : p[i];
}

// softmax (or log_softmax) along the split dim of s: each [n, inner] block of x is a
// matrix whose columns are the lanes.
template <typename T>
Tensor<T> softmax_kernel(const Tensor<T>& x, const DimSplit& s, bool log) {
  Tensor<T> out = empty<T>(x.shape());
  if (x.numel() == 0) return out;
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  if (s.inner == 1) {
    // The softmax dim is the last one (attention's scores, a classifier's logits): each
    // lane is a contiguous row, handled as a vector so exp vectorises and no lane needs
    // a temporary. Same arithmetic as the general path below.
    using ConstLane = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
    using Lane = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
    std::vector<T> scratch(static_cast<std::size_t>(log ? s.n : 0));  // log_softmax's exp, one lane
    for (std::int64_t o = 0; o < s.outer; ++o) {
      const ConstLane in(px + o * s.n, s.n);
      Lane y(po + o * s.n, s.n);
      y = in - in.maxCoeff();  // <= 0 (nan where the lane is all -inf or holds +inf or nan)
      if (log) {
        Lane e(scratch.data(), s.n);
        e = y;
        flushed_exp_in_place(e.data(), s.n);
        y -= std::log(e.sum());
      } else {
        flushed_exp_in_place(y.data(), s.n);
        y /= y.sum();
      }
    }
    return out;
  }
  for (std::int64_t o = 0; o < s.outer; ++o) {
    const ConstMatrixMap<T> in_block(px + o * s.n * s.inner, s.n, s.inner);
    MatrixMap<T> out_block(po + o * s.n * s.inner, s.n, s.inner);
    const auto in = in_block.array();
    auto y = out_block.array();
    const Eigen::Array<T, 1, Eigen::Dynamic> m = in.colwise().maxCoeff();
    y = in.rowwise() - m;  // <= 0 (nan where a lane is all -inf or holds +inf or nan)
    if (log) {
      Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic> e = y;
      flushed_exp_in_place(e.data(), e.size());
      const Eigen::Array<T, 1, Eigen::Dynamic> lse = e.colwise().sum().log();
      y.rowwise() -= lse;
    } else {
      flushed_exp_in_place(out_block.data(), s.n * s.inner);
      const Eigen::Array<T, 1, Eigen::Dynamic> total = y.colwise().sum();
      y.rowwise() /= total;
    }
  }
  return out;
}

}  // namespace detail

// log(sum(exp(x))) over dims (an empty list: all of them), computed as
// m + log(sum(exp(x - m))) with m the greatest element (0 when that is infinite).
// NOTE: a lane of all -inf gives -inf with a nan gradient (exp(-inf - -inf)), and an
// empty lane gives -inf (log 0), as in PyTorch.
template <typename T>
Tensor<T> logsumexp(const Tensor<T>& x, const std::vector<std::int64_t>& dims, bool keepdim = false) {
  const detail::ReduceSpec r = detail::reduce_spec("logsumexp", x.shape(), dims, keepdim);
  Tensor<T> m = detail::extreme_kernel(x, r.keep_shape, true);
  for (std::int64_t i = 0; i < m.numel(); ++i)  // all -inf (or some +inf): shifting would form inf - inf
    if (std::isinf(m.data_ptr()[i])) m.data_ptr()[i] = T(0);
  Tensor<T> e = detail::binary_map<detail::SubFn>("logsumexp", x, m);
  detail::flushed_exp_in_place(e.data_ptr(), e.numel());
  Tensor<T> out = detail::sum_to_kernel(e, r.keep_shape);
  detail::vec(out) = detail::vec(out).log() + detail::vec(m);
  out = detail::with_shape(out, r.out_shape);
  return record(out, "LogsumexpBackward0", {x}, [sx = save(x), so = save_output(out),
                                                keep = r.keep_shape](Grads<T>& g) {
    // d/dx_i logsumexp(x) = exp(x_i - logsumexp(x)), the softmax
    g.in[0] = reshape(g.out, keep) * exp(g[sx] - reshape(g[so], keep));
  });
}
template <typename T>
Tensor<T> logsumexp(const Tensor<T>& x, std::initializer_list<std::int64_t> dims, bool keepdim = false) {
  return logsumexp(x, std::vector<std::int64_t>(dims), keepdim);
}
template <typename T>
Tensor<T> logsumexp(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  return logsumexp(x, std::vector<std::int64_t>{dim}, keepdim);
}

// exp(x_i) / sum_j exp(x_j) along `dim`, computed with the lane's maximum subtracted.
// NOTE: a lane of all -inf (or with +inf or nan) gives nan, as in PyTorch.
template <typename T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t dim) {
  const detail::DimSplit s = detail::split_dim("softmax", x.shape(), dim, true);
  Tensor<T> out = detail::softmax_kernel(x, s, false);
  const auto d = static_cast<std::int64_t>(s.dim);
  return record(out, "SoftmaxBackward0", {x}, [so = save_output(out), d](Grads<T>& g) {
    // dy_i/dx_j = y_i (delta_ij - y_j), so g_in = y * (g - sum(g * y, dim))
    const Tensor<T> y = g[so];
    g.in[0] = y * (g.out - sum(g.out * y, d, true));
  });
}

// x_i - log(sum_j exp(x_j)) along `dim`, computed with the lane's maximum subtracted.
// NOTE: a lane of all -inf (or with +inf or nan) gives nan, as in PyTorch.
template <typename T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t dim) {
  const detail::DimSplit s = detail::split_dim("log_softmax", x.shape(), dim, true);
  Tensor<T> out = detail::softmax_kernel(x, s, true);
  const auto d = static_cast<std::int64_t>(s.dim);
  return record(out, "LogSoftmaxBackward0", {x}, [so = save_output(out), d](Grads<T>& g) {
    // dy_i/dx_j = delta_ij - softmax_j, so g_in = g - exp(y) * sum(g, dim)
    g.in[0] = g.out - exp(g[so]) * sum(g.out, d, true);
  });
}

template <typename T> Tensor<T> Tensor<T>::logsumexp(std::int64_t d, bool k) const {
  return tapegrad::logsumexp(*this, d, k);
}
template <typename T> Tensor<T> Tensor<T>::logsumexp(const std::vector<std::int64_t>& d, bool k) const {
  return tapegrad::logsumexp(*this, d, k);
}
template <typename T> Tensor<T> Tensor<T>::logsumexp(std::initializer_list<std::int64_t> d, bool k) const {
  return tapegrad::logsumexp(*this, d, k);
}
template <typename T> Tensor<T> Tensor<T>::softmax(std::int64_t d) const { return tapegrad::softmax(*this, d); }
template <typename T> Tensor<T> Tensor<T>::log_softmax(std::int64_t d) const { return tapegrad::log_softmax(*this, d); }

}  // namespace tapegrad
