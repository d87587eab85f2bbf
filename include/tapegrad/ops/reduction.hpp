#pragma once
// Reductions: sum, mean, max, min (over all elements or one dim) and the 2-norm.

#include <cmath>
#include <limits>

#include "../core/factory.hpp"
#include "shape.hpp"
#include "unary.hpp"

namespace tapegrad {
namespace detail {

// A dim reduction views x as [outer, n, inner] with n the reduced dimension.
struct DimSplit {
  std::size_t dim = 0;
  std::int64_t outer = 1, n = 1, inner = 1;
  Shape keep_shape;  // x.shape() with the reduced dimension set to 1
  Shape out_shape;   // keep_shape, or without that dimension when !keepdim
};

inline DimSplit split_dim(const char* op, const Shape& shape, std::int64_t dim, bool keepdim) {
  DimSplit s;
  s.dim = wrap_dim(op, dim, shape.size());
  if (shape.empty()) return s;  // a 0-d tensor reduces to itself
  for (std::size_t i = 0; i < s.dim; ++i) s.outer *= shape[i];
  s.n = shape[s.dim];
  for (std::size_t i = s.dim + 1; i < shape.size(); ++i) s.inner *= shape[i];
  s.keep_shape = shape;
  s.keep_shape[s.dim] = 1;
  s.out_shape = s.keep_shape;
  if (!keepdim) s.out_shape.erase(s.out_shape.begin() + static_cast<std::ptrdiff_t>(s.dim));
  return s;
}

template <typename T>
Tensor<T> sum_dim_kernel(const Tensor<T>& x, const DimSplit& s) {
  Tensor<T> out = empty<T>(s.out_shape);
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  if (s.inner == 1) {
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(po, s.outer) = ConstMatrixMap<T>(px, s.outer, s.n).rowwise().sum();
    return out;
  }
  for (std::int64_t o = 0; o < s.outer; ++o)
    MatrixMap<T>(po + o * s.inner, 1, s.inner) = ConstMatrixMap<T>(px + o * s.n * s.inner, s.n, s.inner).colwise().sum();
  return out;
}

template <typename T>
Tensor<T> scatter_dim(const Tensor<T>& g, const Tensor<std::int64_t>& index, const DimSplit& s);

// out[o, 0, i] = src[o, index[o, i], i]: picks one element along the split dim.
// The result has keep_shape, the shape of the scatter_dim input it is the adjoint of.
template <typename T>
Tensor<T> gather_dim(const Tensor<T>& src, const Tensor<std::int64_t>& index, const DimSplit& s) {
  Tensor<T> out = empty<T>(s.keep_shape);
  const T* ps = src.data_ptr();
  const std::int64_t* pi = index.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t i = 0; i < s.inner; ++i) po[o * s.inner + i] = ps[(o * s.n + pi[o * s.inner + i]) * s.inner + i];
  return record(out, "GatherBackward0", {src}, [index, s](Grads<T>& g) { g.in[0] = scatter_dim(g.out, index, s); });
}

// The adjoint of gather_dim: zeros of the full shape with g placed at the indices.
template <typename T>
Tensor<T> scatter_dim(const Tensor<T>& g, const Tensor<std::int64_t>& index, const DimSplit& s) {
  Shape full = s.keep_shape;
  if (!full.empty()) full[s.dim] = s.n;  // a 0-d tensor has no dim to restore
  Tensor<T> out = empty<T>(full);
  fill(out, T(0));
  const T* pg = g.data_ptr();
  const std::int64_t* pi = index.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t i = 0; i < s.inner; ++i) po[(o * s.n + pi[o * s.inner + i]) * s.inner + i] = pg[o * s.inner + i];
  return record(out, "ScatterBackward0", {g}, [index, s](Grads<T>& gg) { gg.in[0] = gather_dim(gg.out, index, s); });
}

}  // namespace detail

// Sum of all elements, as a 0-d tensor.
template <typename T>
Tensor<T> sum(const Tensor<T>& x) {
  Tensor<T> out = scalar_tensor<T>(detail::vec(x).sum());
  // d(sum x)/dx_i = 1: the gradient is g broadcast to x's shape
  return record(out, "SumBackward0", {x}, [shape = x.shape()](Grads<T>& g) { g.in[0] = expand(g.out, shape); });
}

template <typename T>
Tensor<T> sum(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  const detail::DimSplit s = detail::split_dim("sum", x.shape(), dim, keepdim);
  if (x.dim() == 0) return record(detail::copy_kernel(x), "SumBackward1", {x}, [](Grads<T>& g) { g.in[0] = g.out; });
  Tensor<T> out = detail::sum_dim_kernel(x, s);
  return record(out, "SumBackward1", {x}, [s, shape = x.shape()](Grads<T>& g) {
    g.in[0] = expand(reshape(g.out, s.keep_shape), shape);
  });
}

// NOTE: the mean of an empty tensor is nan (0/0), as in PyTorch.
template <typename T>
Tensor<T> mean(const Tensor<T>& x) {
  const T n = static_cast<T>(x.numel());
  Tensor<T> out = scalar_tensor<T>(detail::vec(x).sum() / n);
  // d(mean x)/dx_i = 1/n
  return record(out, "MeanBackward0", {x}, [shape = x.shape(), n](Grads<T>& g) {
    g.in[0] = expand(detail::scale(g.out, T(1) / n, "MulBackward0"), shape);
  });
}

template <typename T>
Tensor<T> mean(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  const detail::DimSplit s = detail::split_dim("mean", x.shape(), dim, keepdim);
  if (x.dim() == 0) return record(detail::copy_kernel(x), "MeanBackward1", {x}, [](Grads<T>& g) { g.in[0] = g.out; });
  Tensor<T> out = detail::sum_dim_kernel(x, s);
  const T n = static_cast<T>(s.n);
  detail::vec(out) /= n;
  return record(out, "MeanBackward1", {x}, [s, n, shape = x.shape()](Grads<T>& g) {
    g.in[0] = expand(reshape(detail::scale(g.out, T(1) / n, "MulBackward0"), s.keep_shape), shape);
  });
}

namespace detail {

// max (sign = 1) or min (sign = -1) of all elements.
// NOTE: with ties the gradient is split evenly among the tied elements (torch.amax).
template <typename T>
Tensor<T> extreme_all(const char* op, const char* node_name, const Tensor<T>& x, bool is_max) {
  if (x.numel() == 0)
    fail<ValueError>(op, ": cannot reduce an empty tensor (shape ", show(x.shape()),
                     ") because the operation has no identity; check the input size");
  Tensor<T> out = scalar_tensor<T>(is_max ? vec(x).maxCoeff() : vec(x).minCoeff());
  return record(out, node_name, {x}, [sx = save(x), so = save_output(out)](Grads<T>& g) {
    const Tensor<T> xv = g[sx];
    const T best = g[so].item();
    Tensor<T> mask = unary_map(xv, [best](const auto& a) { return (a == best).template cast<T>(); });
    const T ties = vec(mask).sum();
    g.in[0] = mask * (g.out / ties);
  });
}

// NOTE: over a dim the gradient goes to the first extreme element (the returned index).
template <typename T>
MaxResult<T> extreme_dim(const char* op, const char* node_name, const Tensor<T>& x, std::int64_t dim, bool keepdim,
                         bool is_max) {
  const DimSplit s = split_dim(op, x.shape(), dim, keepdim);
  if (s.n == 0)  // other empty dims are fine: the result is empty too
    fail<ValueError>(op, ": cannot reduce dimension ", dim, " of a tensor of shape ", show(x.shape()),
                     " because it is empty and the operation has no identity");
  Tensor<T> values = empty<T>(s.out_shape);
  Tensor<std::int64_t> indices(make_impl<std::int64_t>(s.out_shape));
  const T* px = x.data_ptr();
  T* pv = values.data_ptr();
  std::int64_t* pi = indices.data_ptr();
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t i = 0; i < s.inner; ++i) {
      const T* base = px + o * s.n * s.inner + i;
      std::int64_t best = 0;
      for (std::int64_t k = 1; k < s.n && !std::isnan(base[best * s.inner]); ++k) {
        const T v = base[k * s.inner], current = base[best * s.inner];
        // a nan wins, as in PyTorch, so it propagates instead of hiding
        if (std::isnan(v) || (is_max ? v > current : v < current)) best = k;
      }
      pv[o * s.inner + i] = base[best * s.inner];
      pi[o * s.inner + i] = best;
    }
  values = record(values, node_name, {x}, [indices, s](Grads<T>& g) {
    g.in[0] = scatter_dim(reshape(g.out, s.keep_shape), indices, s);
  });
  return {values, indices};
}

}  // namespace detail

template <typename T>
Tensor<T> max(const Tensor<T>& x) { return detail::extreme_all("max", "MaxBackward1", x, true); }
template <typename T>
Tensor<T> min(const Tensor<T>& x) { return detail::extreme_all("min", "MinBackward1", x, false); }

// Values and indices of the maximum along `dim`.
template <typename T>
MaxResult<T> max(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  return detail::extreme_dim("max", "MaxBackward0", x, dim, keepdim, true);
}
template <typename T>
MaxResult<T> min(const Tensor<T>& x, std::int64_t dim, bool keepdim = false) {
  return detail::extreme_dim("min", "MinBackward0", x, dim, keepdim, false);
}

// Euclidean (2-)norm of all elements: sqrt(sum x^2).
// NOTE: at x = 0 the gradient is 0 (PyTorch's subgradient), not nan.
template <typename T>
Tensor<T> norm(const Tensor<T>& x) {
  Tensor<T> out = scalar_tensor<T>(detail::vec(x).matrix().norm());
  return record(out, "NormBackward1", {x}, [sx = save(x), so = save_output(out)](Grads<T>& g) {
    const Tensor<T> xv = g[sx], n = g[so];
    // d||x||/dx = x / ||x||
    g.in[0] = n.item() == T(0) ? xv * T(0) * g.out : g.out * xv / n;
  });
}

}  // namespace tapegrad
