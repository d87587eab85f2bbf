#pragma once
// Joining, slicing and indexing: cat, stack, split/chunk/unbind, slice/narrow/select,
// index_select/index_add, gather/scatter_add/take_along_dim, repeat, flip, embedding.
//
// Each op's backward is another op of this file (slice <-> its zero-padded scatter,
// gather <-> scatter_add, index_select <-> index_add, cat <-> slices), all recorded,
// so second derivatives work. Index tensors are Tensor<std::int64_t>; negative
// indices are rejected, as in PyTorch's gather and index_select.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "../core.hpp"
#include "compare.hpp"

namespace tapegrad {
namespace detail {

// A tensor seen as [outer, n, inner] around dimension `dim`.
struct Blocks {
  std::int64_t outer = 1, n = 1, inner = 1;
};
inline Blocks blocks_of(const Shape& shape, std::size_t dim) {
  Blocks b;
  for (std::size_t i = 0; i < dim; ++i) b.outer *= shape[i];
  b.n = dim < shape.size() ? shape[dim] : 1;
  for (std::size_t i = dim + 1; i < shape.size(); ++i) b.inner *= shape[i];
  return b;
}

inline void require_rank(const char* op, const Shape& shape, const char* what = "input") {
  if (shape.empty())
    fail<IndexError>(op, ": the ", what, " is 0-d and has no dimension to index; unsqueeze it first");
}

// out = x[..., start : start + len * step : step, ...] along `dim` (a copy).
template <typename T>
Tensor<T> slice_kernel(const Tensor<T>& x, std::size_t dim, std::int64_t start, std::int64_t len, std::int64_t step) {
  Shape shape = x.shape();
  shape[dim] = len;
  Tensor<T> out = empty<T>(shape);
  const Blocks b = blocks_of(x.shape(), dim);
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < b.outer; ++o)
    for (std::int64_t j = 0; j < len; ++j)
      std::copy_n(px + (o * b.n + start + j * step) * b.inner, b.inner, po + (o * len + j) * b.inner);
  return out;
}

template <typename T>
Tensor<T> slice_op(const Tensor<T>& x, std::size_t dim, std::int64_t start, std::int64_t len, std::int64_t step);

// The adjoint of slice: zeros of `shape` with g written into the sliced positions.
template <typename T>
Tensor<T> unslice_op(const Tensor<T>& g, const Shape& shape, std::size_t dim, std::int64_t start, std::int64_t step) {
  Tensor<T> out = zeros<T>(shape);
  const Blocks b = blocks_of(shape, dim);
  const std::int64_t len = g.shape()[dim];
  const T* pg = g.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < b.outer; ++o)
    for (std::int64_t j = 0; j < len; ++j)
      std::copy_n(pg + (o * len + j) * b.inner, b.inner, po + (o * b.n + start + j * step) * b.inner);
  // Linear in g; its adjoint is the slice again.
  return record(out, "SliceBackwardBackward0", {g}, [dim, start, len, step](Grads<T>& gr) {
    gr.in[0] = slice_op(gr.out, dim, start, len, step);
  });
}

template <typename T>
Tensor<T> slice_op(const Tensor<T>& x, std::size_t dim, std::int64_t start, std::int64_t len, std::int64_t step) {
  Tensor<T> out = slice_kernel(x, dim, start, len, step);
  // d/dx: g goes back to the positions it was read from; zeros elsewhere.
  return record(out, "SliceBackward0", {x}, [shape = x.shape(), dim, start, step](Grads<T>& g) {
    g.in[0] = unslice_op(g.out, shape, dim, start, step);
  });
}

// Checks an index tensor's values against a dimension of size n.
inline void check_indices(const char* op, const Tensor<std::int64_t>& index, std::int64_t n, std::size_t dim,
                          const Shape& shape) {
  const std::int64_t* pi = index.data_ptr();
  for (std::int64_t i = 0, m = index.numel(); i < m; ++i)
    if (pi[i] < 0 || pi[i] >= n)
      fail<IndexError>(op, ": index ", pi[i], " is out of range for dimension ", dim, " of size ", n, " (shape ",
                       show(shape), "); indices must be in [0, ", n - 1, "]");
}

// Calls f(index_offset, data_offset_without_dim, idx) for every element of `index`,
// where the data offset uses `data_strides` on every dimension except `dim`.
template <typename F>
void for_each_index(const Shape& index_shape, const Shape& data_strides, std::size_t dim,
                    const std::int64_t* pi, F f) {
  const std::size_t rank = index_shape.size();
  const std::int64_t n = numel_of(index_shape);
  if (n == 0) return;
  Shape counter(rank, 0);
  std::int64_t base = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    f(i, base, pi[i]);
    for (std::size_t d = rank; d-- > 0;) {
      if (d != dim) base += data_strides[d];
      if (++counter[d] < index_shape[d]) break;
      if (d != dim) base -= data_strides[d] * index_shape[d];
      counter[d] = 0;
    }
  }
}

// gather and scatter_add share their checks: same rank, index no larger than the
// data on every dimension except `dim`.
inline std::size_t check_gather_shapes(const char* op, const Shape& data, const Shape& index, std::int64_t dim,
                                       const char* data_name) {
  const std::size_t d = wrap_dim(op, dim, data.size());
  if (index.size() != data.size() && !(data.empty() && index.size() <= 1))
    fail<ShapeError>(op, ": the index has ", index.size(), " dimensions (shape ", show(index), ") but the ",
                     data_name, " has ", data.size(), " (shape ", show(data), "); they must have the same number");
  for (std::size_t i = 0; i < index.size() && i < data.size(); ++i)
    if (i != d && index[i] > data[i])
      fail<ShapeError>(op, ": the index of shape ", show(index), " is larger than the ", data_name, " of shape ",
                       show(data), " at dimension ", i, " (", index[i], " > ", data[i], ")");
  return d;
}

// g (a leading corner of `shape`) zero-padded up to `shape`: scatter_add's gradient
// for src when the index covers only part of src.
template <typename T>
Tensor<T> pad_to(Tensor<T> g, const Shape& shape) {
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (g.shape()[d] == shape[d]) continue;
    Shape grown = g.shape();
    grown[d] = shape[d];
    g = unslice_op(g, grown, d, 0, 1);
  }
  return g;
}

}  // namespace detail

// ---- slicing ----

// x[start:end:step] along `dim`, with Python's rules: negative start/end count from
// the end, and both are clamped to the dimension. step must be positive.
template <typename T>
Tensor<T> slice(const Tensor<T>& x, std::int64_t dim, std::int64_t start = 0,
                std::int64_t end = std::numeric_limits<std::int64_t>::max(), std::int64_t step = 1) {
  detail::require_rank("slice", x.shape());
  const std::size_t d = detail::wrap_dim("slice", dim, x.shape().size());
  if (step <= 0) detail::fail<ValueError>("slice: step must be positive, got ", step);
  const std::int64_t n = x.shape()[d];
  auto clamp_index = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
  const std::int64_t first = clamp_index(start), last = clamp_index(end);
  const std::int64_t len = last > first ? (last - first + step - 1) / step : 0;
  return detail::slice_op(x, d, first, len, step);
}

// The `length` elements from `start` along `dim`; unlike slice, out of range throws.
template <typename T>
Tensor<T> narrow(const Tensor<T>& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  detail::require_rank("narrow", x.shape());
  const std::size_t d = detail::wrap_dim("narrow", dim, x.shape().size());
  const std::int64_t n = x.shape()[d];
  if (start < -n || start > n)
    detail::fail<IndexError>("narrow: start ", start, " is out of range for dimension ", d, " of size ", n);
  if (start < 0) start += n;
  if (length < 0)
    detail::fail<IndexError>("narrow: length must be non-negative, got ", length, " (dimension ", d, " of size ", n,
                             ")");
  if (start + length > n)
    detail::fail<IndexError>("narrow: start ", start, " + length ", length, " exceeds dimension ", d, " of size ", n,
                             " (shape ", detail::show(x.shape()), ")");
  return detail::slice_op(x, d, start, length, 1);
}

// x[..., index, ...]: dimension `dim` is removed.
template <typename T>
Tensor<T> select(const Tensor<T>& x, std::int64_t dim, std::int64_t index) {
  detail::require_rank("select", x.shape());
  const std::size_t d = detail::wrap_dim("select", dim, x.shape().size());
  const std::int64_t n = x.shape()[d];
  if (index < -n || index >= n)
    detail::fail<IndexError>("select: index ", index, " is out of range for dimension ", d, " of size ", n,
                             " (shape ", detail::show(x.shape()), ")");
  Shape shape = x.shape();
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
  return detail::view_with("SelectBackward0", detail::slice_op(x, d, index < 0 ? index + n : index, 1, 1), shape);
}

// ---- joining ----

// Joins tensors along an existing dimension; all other dimensions must match.
template <typename T>
Tensor<T> cat(const std::vector<Tensor<T>>& tensors, std::int64_t dim = 0) {
  if (tensors.empty()) detail::fail<ValueError>("cat: expects a non-empty list of tensors");
  const Shape& first = tensors[0].shape();
  detail::require_rank("cat", first, "first tensor");
  const std::size_t d = detail::wrap_dim("cat", dim, first.size());
  Shape shape = first;
  shape[d] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool ok = s.size() == first.size();
    for (std::size_t k = 0; ok && k < s.size(); ++k) ok = k == d || s[k] == first[k];
    if (!ok)
      detail::fail<ShapeError>("cat: tensor ", i, " has shape ", detail::show(s), " but tensor 0 has shape ",
                               detail::show(first), "; all dimensions except dim ", d, " must match");
    shape[d] += s[d];
  }
  Tensor<T> out = detail::empty<T>(shape);
  const detail::Blocks b = detail::blocks_of(shape, d);
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < b.outer; ++o)
    for (const Tensor<T>& t : tensors) {
      const std::int64_t block = t.shape()[d] * b.inner;
      po = std::copy_n(t.data_ptr() + o * block, block, po);
    }
  // d/d(input i) = the slice of g that input i filled.
  std::vector<std::int64_t> sizes;
  for (const Tensor<T>& t : tensors) sizes.push_back(t.shape()[d]);
  return record_list(out, "CatBackward0", tensors, [d, sizes](Grads<T>& g) {
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (g.needs(i)) g.in[i] = detail::slice_op(g.out, d, offset, sizes[i], 1);
      offset += sizes[i];
    }
  });
}

// cat({a, b}, 1): a braced list cannot deduce T through std::vector, so it gets its own overload.
template <typename T>
Tensor<T> cat(std::initializer_list<Tensor<T>> tensors, std::int64_t dim = 0) {
  return cat(std::vector<Tensor<T>>(tensors), dim);
}

// Joins tensors of one shape along a new dimension `dim` (in [-(rank+1), rank]).
template <typename T>
Tensor<T> stack(const std::vector<Tensor<T>>& tensors, std::int64_t dim = 0) {
  if (tensors.empty()) detail::fail<ValueError>("stack: expects a non-empty list of tensors");
  const Shape& first = tensors[0].shape();
  const std::size_t d = detail::wrap_dim("stack", dim, first.size() + 1);
  for (std::size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].shape() != first)
      detail::fail<ShapeError>("stack: tensor ", i, " has shape ", detail::show(tensors[i].shape()),
                               " but tensor 0 has shape ", detail::show(first), "; stack needs equal shapes");
  Shape shape = first;
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(d), static_cast<std::int64_t>(tensors.size()));
  Tensor<T> out = detail::empty<T>(shape);
  const detail::Blocks b = detail::blocks_of(first, d);  // outer = dims before d, inner = from d on
  const std::int64_t block = b.n * b.inner;
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < b.outer; ++o)
    for (const Tensor<T>& t : tensors) po = std::copy_n(t.data_ptr() + o * block, block, po);
  // d/d(input i) = g[..., i, ...] along the new dimension.
  return record_list(out, "StackBackward0", tensors, [d](Grads<T>& g) {
    for (std::size_t i = 0; i < g.in.size(); ++i)
      if (g.needs(i)) g.in[i] = select(g.out, static_cast<std::int64_t>(d), static_cast<std::int64_t>(i));
  });
}

template <typename T>
Tensor<T> stack(std::initializer_list<Tensor<T>> tensors, std::int64_t dim = 0) {
  return stack(std::vector<Tensor<T>>(tensors), dim);
}

namespace detail {
// Pieces of x along dim with the given sizes, as one node with an output per piece.
template <typename T>
std::vector<Tensor<T>> split_op(const char* name, const Tensor<T>& x, std::size_t d,
                                const std::vector<std::int64_t>& sizes) {
  std::vector<Tensor<T>> pieces;
  std::int64_t offset = 0;
  for (std::int64_t len : sizes) {
    pieces.push_back(slice_kernel(x, d, offset, len, 1));
    offset += len;
  }
  // d/dx = the pieces' gradients joined again (zeros for pieces that got none).
  return record_multi(std::move(pieces), name, {x}, [d, sizes, shape = x.shape()](Grads<T>& g) {
    std::vector<Tensor<T>> parts;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      if (g.outs[k].defined()) {
        parts.push_back(g.outs[k]);
      } else {
        Shape s = shape;
        s[d] = sizes[k];
        parts.push_back(zeros<T>(s));
      }
    }
    g.in[0] = cat(parts, static_cast<std::int64_t>(d));
  });
}
}  // namespace detail

// Pieces of `split_size` along dim (the last may be smaller).
template <typename T>
std::vector<Tensor<T>> split(const Tensor<T>& x, std::int64_t split_size, std::int64_t dim = 0) {
  detail::require_rank("split", x.shape());
  const std::size_t d = detail::wrap_dim("split", dim, x.shape().size());
  const std::int64_t n = x.shape()[d];
  if (split_size <= 0 && !(split_size == 0 && n == 0))
    detail::fail<ValueError>("split: split_size must be positive, got ", split_size);
  std::vector<std::int64_t> sizes;
  for (std::int64_t at = 0; at < n; at += split_size) sizes.push_back(std::min(split_size, n - at));
  if (sizes.empty()) sizes.push_back(0);
  return detail::split_op("SplitBackward0", x, d, sizes);
}

// Pieces of the given sizes along dim; they must add up to the dimension.
template <typename T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) {
  detail::require_rank("split", x.shape());
  const std::size_t d = detail::wrap_dim("split", dim, x.shape().size());
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    if (s < 0) detail::fail<ValueError>("split: sizes must be non-negative, got ", detail::show(sizes));
    total += s;
  }
  if (total != x.shape()[d])
    detail::fail<ShapeError>("split: sizes ", detail::show(sizes), " add up to ", total, " but dimension ", d,
                             " has size ", x.shape()[d]);
  return detail::split_op("SplitWithSizesBackward0", x, d, sizes);
}

// `chunks` pieces of ceil(n / chunks) along dim (fewer when n is small), as torch.chunk.
template <typename T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::int64_t chunks, std::int64_t dim = 0) {
  if (chunks <= 0) detail::fail<ValueError>("chunk: the number of chunks must be positive, got ", chunks);
  detail::require_rank("chunk", x.shape());
  const std::int64_t n = x.shape()[detail::wrap_dim("chunk", dim, x.shape().size())];
  return split(x, std::max<std::int64_t>((n + chunks - 1) / chunks, n == 0 ? 0 : 1), dim);
}

// The slices along dim, each without that dimension.
template <typename T>
std::vector<Tensor<T>> unbind(const Tensor<T>& x, std::int64_t dim = 0) {
  detail::require_rank("unbind", x.shape());
  const std::int64_t n = x.shape()[detail::wrap_dim("unbind", dim, x.shape().size())];
  std::vector<Tensor<T>> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(select(x, dim, i));
  return out;
}

// ---- index_select / index_add ----

template <typename T>
Tensor<T> index_select(const Tensor<T>& x, std::int64_t dim, const Tensor<std::int64_t>& index);

// x with source's slices added at `index` along dim: out[.., index[i], ..] += source[.., i, ..].
// Repeated indices accumulate.
template <typename T>
Tensor<T> index_add(const Tensor<T>& x, std::int64_t dim, const Tensor<std::int64_t>& index, const Tensor<T>& source) {
  detail::require_rank("index_add", x.shape());
  const std::size_t d = detail::wrap_dim("index_add", dim, x.shape().size());
  if (index.dim() > 1)
    detail::fail<ShapeError>("index_add: the index must be 0-d or 1-D, got shape ", detail::show(index.shape()));
  Shape expected = x.shape();
  expected[d] = index.numel();
  if (source.shape() != expected)
    detail::fail<ShapeError>("index_add: source has shape ", detail::show(source.shape()), " but must have shape ",
                             detail::show(expected), " (the input's shape with dim ", d, " = the number of indices)");
  detail::check_indices("index_add", index, x.shape()[d], d, x.shape());
  Tensor<T> out = detail::copy_kernel(x);
  const detail::Blocks b = detail::blocks_of(x.shape(), d);
  const std::int64_t m = index.numel();
  const std::int64_t* pi = index.data_ptr();
  const T* ps = source.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < b.outer; ++o)
    for (std::int64_t j = 0; j < m; ++j) {
      T* dst = po + (o * b.n + pi[j]) * b.inner;
      const T* src = ps + (o * m + j) * b.inner;
      for (std::int64_t k = 0; k < b.inner; ++k) dst[k] += src[k];
    }
  // d/dx = g; d/dsource = g gathered at the same indices.
  return record(out, "IndexAddBackward0", {x, source}, [dim, index](Grads<T>& g) {
    if (g.needs(0)) g.in[0] = g.out;
    if (g.needs(1)) g.in[1] = index_select(g.out, dim, index);
  });
}

// The slices of x at `index` (0-d or 1-D) along dim.
template <typename T>
Tensor<T> index_select(const Tensor<T>& x, std::int64_t dim, const Tensor<std::int64_t>& index) {
  detail::require_rank("index_select", x.shape());
  const std::size_t d = detail::wrap_dim("index_select", dim, x.shape().size());
  if (index.dim() > 1)
    detail::fail<ShapeError>("index_select: the index must be 0-d or 1-D, got shape ",
                             detail::show(index.shape()));
  detail::check_indices("index_select", index, x.shape()[d], d, x.shape());
  Shape shape = x.shape();
  const std::int64_t m = index.numel();
  shape[d] = m;
  Tensor<T> out = detail::empty<T>(shape);
  const detail::Blocks b = detail::blocks_of(x.shape(), d);
  const std::int64_t* pi = index.data_ptr();
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t o = 0; o < b.outer; ++o)
    for (std::int64_t j = 0; j < m; ++j)
      std::copy_n(px + (o * b.n + pi[j]) * b.inner, b.inner, po + (o * m + j) * b.inner);
  // d/dx: each selected slice sends g back; repeated indices add up.
  return record(out, "IndexSelectBackward0", {x}, [shape = x.shape(), dim, index](Grads<T>& g) {
    g.in[0] = index_add(zeros<T>(shape), dim, index, g.out);
  });
}

// ---- gather / scatter_add / take_along_dim ----

template <typename T>
Tensor<T> gather(const Tensor<T>& x, std::int64_t dim, const Tensor<std::int64_t>& index, const char* op = "gather");

// x with src's elements added at the positions `index` names along dim:
// out[i][index[i][j]] += src[i][j] (for dim = 1). Repeated positions accumulate.
template <typename T>
Tensor<T> scatter_add(const Tensor<T>& x, std::int64_t dim, const Tensor<std::int64_t>& index, const Tensor<T>& src) {
  const std::size_t d = detail::check_gather_shapes("scatter_add", x.shape(), index.shape(), dim, "input");
  bool fits = index.dim() == src.dim();
  for (std::size_t i = 0; fits && i < index.shape().size(); ++i) fits = index.shape()[i] <= src.shape()[i];
  if (!fits)
    detail::fail<ShapeError>("scatter_add: the index of shape ", detail::show(index.shape()),
                             " does not fit inside src of shape ", detail::show(src.shape()),
                             " (same number of dimensions, each no larger)");
  const std::int64_t n = x.shape().empty() ? 1 : x.shape()[d];
  detail::check_indices("scatter_add", index, n, d, x.shape());
  Tensor<T> out = detail::copy_kernel(x);
  const Shape xs = detail::strides_of(x.shape()), ss = detail::strides_of(src.shape());
  const std::int64_t stride = xs.empty() ? 0 : xs[d];
  const T* ps = src.data_ptr();
  T* po = out.data_ptr();
  // Walk the index with both the output's strides (for the placement) and src's.
  Shape src_offsets;
  detail::for_each_index(index.shape(), ss, index.shape().size(), index.data_ptr(),
                         [&](std::int64_t, std::int64_t base, std::int64_t) { src_offsets.push_back(base); });
  detail::for_each_index(index.shape(), xs, d, index.data_ptr(), [&](std::int64_t i, std::int64_t base, std::int64_t idx) {
    po[base + idx * stride] += ps[src_offsets[static_cast<std::size_t>(i)]];
  });
  // d/dx = g; d/dsrc = g gathered where src was added (zero where index did not reach).
  return record(out, "ScatterAddBackward0", {x, src}, [dim, index, src_shape = src.shape()](Grads<T>& g) {
    if (g.needs(0)) g.in[0] = g.out;
    if (g.needs(1)) {
      Tensor<T> gs = gather(g.out, dim, index);
      g.in[1] = gs.shape() == src_shape ? gs : detail::pad_to(gs, src_shape);
    }
  });
}

// out[i][j] = x[i][index[i][j]] (for dim = 1): picks along dim; out has index's shape.
template <typename T>
Tensor<T> gather(const Tensor<T>& x, std::int64_t dim, const Tensor<std::int64_t>& index, const char* op) {
  // `op` names the caller in error messages (take_along_dim gathers through here).
  const std::size_t d = detail::check_gather_shapes(op, x.shape(), index.shape(), dim, "input");
  const std::int64_t n = x.shape().empty() ? 1 : x.shape()[d];
  detail::check_indices(op, index, n, d, x.shape());
  Tensor<T> out = detail::empty<T>(index.shape());
  const Shape xs = detail::strides_of(x.shape());
  const std::int64_t stride = xs.empty() ? 0 : xs[d];
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  detail::for_each_index(index.shape(), xs, d, index.data_ptr(),
                         [&](std::int64_t i, std::int64_t base, std::int64_t idx) { po[i] = px[base + idx * stride]; });
  // d/dx: g goes back to the picked positions; positions picked twice add up.
  return record(out, "GatherBackward0", {x}, [shape = x.shape(), dim, index](Grads<T>& g) {
    g.in[0] = scatter_add(zeros<T>(shape), dim, index, g.out);
  });
}

// gather with broadcasting: x and indices broadcast on every dimension except dim
// (numpy.take_along_axis). Useful with argmax/argsort results.
template <typename T>
Tensor<T> take_along_dim(const Tensor<T>& x, const Tensor<std::int64_t>& indices, std::int64_t dim) {
  detail::require_rank("take_along_dim", x.shape());
  const std::size_t d = detail::wrap_dim("take_along_dim", dim, x.shape().size());
  if (indices.dim() != x.dim())
    detail::fail<ShapeError>("take_along_dim: indices have ", indices.dim(), " dimensions (shape ",
                             detail::show(indices.shape()), ") but the input has ", x.dim(), " (shape ",
                             detail::show(x.shape()), ")");
  Shape xs = x.shape(), is = indices.shape();
  xs[d] = is[d] = 1;
  Shape common = detail::broadcast_shapes("take_along_dim", xs, is);
  Shape x_target = common, i_target = common;
  x_target[d] = x.shape()[d];
  i_target[d] = indices.shape()[d];
  return gather(x.shape() == x_target ? x : expand(x, x_target), dim, detail::expanded(indices, i_target),
                "take_along_dim");
}

// ---- repeat / flip ----

// x tiled `repeats[i]` times along dimension i (repeats may have more entries than x
// has dims: x is then treated as having leading 1s), as torch.Tensor.repeat.
template <typename T>
Tensor<T> repeat(const Tensor<T>& x, const std::vector<std::int64_t>& repeats) {
  if (repeats.size() < x.shape().size())
    detail::fail<ShapeError>("repeat: ", repeats.size(), " repeats given for a tensor with ", x.dim(),
                             " dimensions (shape ", detail::show(x.shape()), "); give at least one per dimension");
  for (std::int64_t r : repeats)
    if (r < 0) detail::fail<ValueError>("repeat: repeats must be non-negative, got ", detail::show(repeats));
  Shape padded(repeats.size() - x.shape().size(), 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  // Tiling is an expand of [1, s0, 1, s1, ...] to [r0, s0, r1, s1, ...].
  Shape interleaved, tiled, out_shape;
  for (std::size_t i = 0; i < repeats.size(); ++i) {
    interleaved.insert(interleaved.end(), {1, padded[i]});
    tiled.insert(tiled.end(), {repeats[i], padded[i]});
    std::int64_t size = 0;
    if (__builtin_mul_overflow(repeats[i], padded[i], &size)) detail::fail_element_count(tiled);
    out_shape.push_back(size);
  }
  Tensor<T> ex = detail::expand_kernel(Tensor<T>(detail::alias_impl(*x.impl(), interleaved)), tiled);
  Tensor<T> out(detail::alias_impl(*ex.impl(), out_shape));
  // d/dx = the tiles of g summed (the adjoint of broadcasting).
  return record(out, "RepeatBackward0", {x}, [tiled, interleaved, shape = x.shape()](Grads<T>& g) {
    g.in[0] = reshape(sum_to(reshape(g.out, tiled), interleaved), shape);
  });
}

// x reversed along each of `dims`.
template <typename T>
Tensor<T> flip(const Tensor<T>& x, const std::vector<std::int64_t>& dims) {
  const std::size_t rank = x.shape().size();
  std::vector<bool> flipped(rank, false);
  for (std::int64_t dim : dims) {
    const std::size_t d = detail::wrap_dim("flip", dim, rank);
    if (rank == 0) continue;
    if (flipped[d]) detail::fail<ValueError>("flip: dim ", d, " appears more than once in ", detail::show(dims));
    flipped[d] = true;
  }
  Tensor<T> out = detail::empty<T>(x.shape());
  const Shape strides = detail::strides_of(x.shape());
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  Shape counter(rank, 0);
  for (std::int64_t i = 0, n = x.numel(); i < n; ++i) {
    std::int64_t src = 0;
    for (std::size_t d = 0; d < rank; ++d)
      src += (flipped[d] ? x.shape()[d] - 1 - counter[d] : counter[d]) * strides[d];
    po[i] = px[src];
    for (std::size_t d = rank; d-- > 0;) {
      if (++counter[d] < x.shape()[d]) break;
      counter[d] = 0;
    }
  }
  // Flipping is its own inverse and its own adjoint.
  return record(out, "FlipBackward0", {x}, [dims](Grads<T>& g) { g.in[0] = flip(g.out, dims); });
}

// ---- embedding ----

// Rows of `weight` ([num_embeddings, dim]) picked by integer ids of any shape; the
// result has shape ids.shape + [dim]. Rows picked several times get the sum of their
// gradients.
// NOTE: the row `padding_idx` (if >= 0) gets no gradient even where it is used, as in
// PyTorch: it is meant to stay a fixed (usually zero) vector.
template <typename T>
Tensor<T> embedding(const Tensor<T>& weight, const Tensor<std::int64_t>& ids, std::int64_t padding_idx = -1) {
  if (weight.dim() != 2)
    detail::fail<ShapeError>("embedding: the weight must be 2-D [num_embeddings, embedding_dim], got shape ",
                             detail::show(weight.shape()));
  const std::int64_t rows = weight.shape()[0], width = weight.shape()[1];
  if (padding_idx < -1 || padding_idx >= rows)
    detail::fail<IndexError>("embedding: padding_idx ", padding_idx, " is out of range for ", rows,
                             " embeddings (use -1 for none)");
  detail::check_indices("embedding", ids, rows, 0, weight.shape());
  Shape shape = ids.shape();
  shape.push_back(width);
  Tensor<T> out = detail::empty<T>(shape);
  const std::int64_t* pi = ids.data_ptr();
  const T* pw = weight.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t i = 0, n = ids.numel(); i < n; ++i) std::copy_n(pw + pi[i] * width, width, po + i * width);
  // d/dweight[r] = sum of g over the positions whose id is r (except padding_idx).
  return record(out, "EmbeddingBackward0", {weight}, [ids, padding_idx, rows, width](Grads<T>& g) {
    const Tensor<std::int64_t> flat(detail::alias_impl(*ids.impl(), Shape{ids.numel()}));
    Tensor<T> rows_g = reshape(g.out, Shape{ids.numel(), width});
    if (padding_idx >= 0) {
      const Tensor<bool> is_pad = flat == padding_idx;
      rows_g = masked_fill(rows_g, Tensor<bool>(detail::alias_impl(*is_pad.impl(), Shape{ids.numel(), 1})), T(0));
    }
    g.in[0] = index_add(zeros<T>(Shape{rows, width}), 0, flat, rows_g);
  });
}

// ---- methods ----
template <typename T>
Tensor<T> Tensor<T>::slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return tapegrad::slice(*this, dim, start, end, step);
}
template <typename T>
Tensor<T> Tensor<T>::narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const {
  return tapegrad::narrow(*this, dim, start, length);
}
template <typename T>
Tensor<T> Tensor<T>::select(std::int64_t dim, std::int64_t index) const {
  return tapegrad::select(*this, dim, index);
}
template <typename T>
std::vector<Tensor<T>> Tensor<T>::split(std::int64_t split_size, std::int64_t dim) const {
  return tapegrad::split(*this, split_size, dim);
}
template <typename T>
std::vector<Tensor<T>> Tensor<T>::chunk(std::int64_t chunks, std::int64_t dim) const {
  return tapegrad::chunk(*this, chunks, dim);
}
template <typename T>
std::vector<Tensor<T>> Tensor<T>::unbind(std::int64_t dim) const {
  return tapegrad::unbind(*this, dim);
}
template <typename T>
Tensor<T> Tensor<T>::index_select(std::int64_t dim, const Tensor<std::int64_t>& index) const {
  return tapegrad::index_select(*this, dim, index);
}
template <typename T>
Tensor<T> Tensor<T>::gather(std::int64_t dim, const Tensor<std::int64_t>& index) const {
  return tapegrad::gather(*this, dim, index);
}
template <typename T>
Tensor<T> Tensor<T>::repeat(const std::vector<std::int64_t>& repeats) const {
  return tapegrad::repeat(*this, repeats);
}
template <typename T>
Tensor<T> Tensor<T>::flip(const std::vector<std::int64_t>& dims) const {
  return tapegrad::flip(*this, dims);
}

}  // namespace tapegrad
