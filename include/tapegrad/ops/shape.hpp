#pragma once
// Shape ops: reshape/view, squeeze/unsqueeze/flatten (share storage), expand and sum_to
// (each the other's adjoint), transpose/t/permute/movedim (materialised: tensors stay
// contiguous), clone.

#include <algorithm>

#include "../core/kernels.hpp"
#include "../core/node.hpp"

namespace tapegrad {

namespace detail {
// Resolves one -1 in a requested shape and checks the element count.
inline Shape infer_shape(const char* op, const Shape& requested, std::int64_t numel, const Shape& from) {
  Shape shape = requested;
  std::int64_t known = 1;
  bool overflow = false, has_zero = false;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) fail<ShapeError>(op, ": only one dimension can be -1, got ", show(requested));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      fail<ShapeError>(op, ": invalid dimension ", shape[i], " in shape ", show(requested));
    } else {
      overflow = __builtin_mul_overflow(known, shape[i], &known) || overflow;
      has_zero = has_zero || shape[i] == 0;
    }
  }
  // A wrapped-around count could match numel by accident, or wrap to exactly 0 ([2^62, 64]);
  // only a real zero dimension empties an overflowing shape.
  if (overflow && !has_zero) fail_element_count(requested);
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      fail<ShapeError>(op, ": shape ", show(requested), " is invalid for a tensor of shape ", show(from), " (",
                       numel, " elements)");
    shape[static_cast<std::size_t>(infer)] = numel / known;
  } else if (known != numel) {
    fail<ShapeError>(op, ": shape ", show(requested), " is invalid for a tensor of shape ", show(from), " (", numel,
                     " elements, the new shape has ", known, ")");
  }
  return shape;
}

// out = x with its dimensions reordered: out.shape[i] = x.shape[perm[i]].
template <typename T>
Tensor<T> permute_kernel(const Tensor<T>& x, const std::vector<std::size_t>& perm) {
  const Shape& in_shape = x.shape();
  const std::size_t rank = in_shape.size();
  Shape out_shape(rank), in_strides = strides_of(in_shape), step(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    out_shape[i] = in_shape[perm[i]];
    step[i] = in_strides[perm[i]];
  }
  Tensor<T> out = empty<T>(out_shape);
  const T* src = x.data_ptr();
  T* dst = out.data_ptr();
  if (out.numel() == 0) return out;
  bool identity = true;
  for (std::size_t i = 0; i < rank; ++i) identity = identity && perm[i] == i;
  if (identity) {  // permute({0, 1, ...}): the data unchanged
    std::copy(src, src + out.numel(), dst);
    return out;
  }
  if (rank == 2) {  // perm {1, 0}, a plain matrix transpose: let Eigen do it blockwise
    MatrixMap<T>(dst, out_shape[0], out_shape[1]) = ConstMatrixMap<T>(src, in_shape[0], in_shape[1]).transpose();
    return out;
  }
  // Row by row of the output's last dimension: a plain copy when that dimension is also
  // the input's last (attention's [B, S, H, D] -> [B, H, S, D]), a strided gather
  // otherwise; the odometer over the outer dimensions moves once per row, not per element.
  const std::int64_t row = out_shape[rank - 1], row_step = step[rank - 1];
  const std::int64_t rows = out.numel() / row;
  Shape counter(rank - 1, 0);
  std::int64_t offset = 0;
  for (std::int64_t r = 0; r < rows; ++r, dst += row) {
    const T* from = src + offset;
    if (row_step == 1) {
      std::copy(from, from + row, dst);
    } else {
      for (std::int64_t j = 0; j < row; ++j) dst[j] = from[j * row_step];
    }
    for (std::size_t d = rank - 1; d-- > 0;) {
      offset += step[d];
      if (++counter[d] < out_shape[d]) break;
      offset -= step[d] * out_shape[d];
      counter[d] = 0;
    }
  }
  return out;
}

template <typename T>
Tensor<T> copy_kernel(const Tensor<T>& x) {
  Tensor<T> out = empty<T>(x.shape());
  copy_into(x, out);
  return out;
}
}  // namespace detail

namespace detail {
// An alias of `src`'s buffer that the buffer counts as a view while it lives (see
// Storage::has_views): in-place ops use the count to refuse writes autograd could
// not propagate to the other tensors sharing the buffer.
template <typename T>
std::shared_ptr<TensorImpl<T>> view_impl(const TensorImpl<T>& src, Shape shape) {
  auto* impl = new TensorImpl<T>();
  impl->storage = src.storage;
  impl->offset = src.offset;
  impl->numel = numel_of(shape);
  impl->shape = std::move(shape);
  if (impl->storage) impl->storage->add_view();
  return std::shared_ptr<TensorImpl<T>>(impl, [](TensorImpl<T>* p) {
    if (p->storage) p->storage->remove_view();
    delete p;
  });
}

// x with a new shape (same element count), sharing storage; recorded as `node_name`.
template <typename T>
Tensor<T> view_with(const char* node_name, const Tensor<T>& x, Shape shape) {
  if (shape == x.shape() && !(is_grad_enabled() && x.requires_grad())) return x;
  Tensor<T> out(view_impl(*x.impl(), std::move(shape)));
  return record(out, node_name, {x}, [in_shape = x.shape()](Grads<T>& g) { g.in[0] = reshape(g.out, in_shape); });
}

// reshape and view, with the op's name in errors.
template <typename T>
Tensor<T> reshape_as(const char* op, const Tensor<T>& x, const Shape& shape) {
  return view_with("ViewBackward0", x, infer_shape(op, shape, x.numel(), x.shape()));
}
}  // namespace detail

// Same data, new shape (one dimension may be -1). Shares storage with x.
template <typename T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& shape) {
  return detail::reshape_as("reshape", x, shape);
}

// reshape under PyTorch's other name: storage is always contiguous, so every reshape is a view.
template <typename T>
Tensor<T> view(const Tensor<T>& x, const Shape& shape) {
  return detail::reshape_as("view", x, shape);
}

// x broadcast (and materialised) to `shape`; -1 keeps a dimension's size.
template <typename T>
Tensor<T> expand(const Tensor<T>& x, const Shape& shape) {
  Shape target = shape;
  const std::size_t offset = target.size() >= x.shape().size() ? target.size() - x.shape().size() : 0;
  for (std::size_t i = 0; i < target.size(); ++i)
    if (target[i] == -1 && i >= offset) target[i] = x.shape()[i - offset];
  for (std::size_t i = 0; i < target.size(); ++i)
    if (target[i] < 0)
      detail::fail<ShapeError>("expand: invalid size ", shape[i], " for dimension ", i, " in ", detail::show(shape),
                               i < offset ? "; -1 is only allowed for dimensions the tensor already has"
                                          : "; sizes must be non-negative, or -1 to keep a dimension");
  if (target.size() < x.shape().size() || !detail::broadcastable_to(x.shape(), target))
    detail::fail<ShapeError>("expand: a tensor of shape ", detail::show(x.shape()), " cannot be expanded to ",
                             detail::show(shape), "; each dimension must match or be 1 in the source");
  if (target == x.shape()) return x;
  Tensor<T> out = detail::expand_kernel(x, target);
  // The adjoint of broadcasting is summing: the engine reduces g.out to x's shape.
  return record(out, "ExpandBackward0", {x}, [](Grads<T>& g) { g.in[0] = g.out; });
}

// NumPy's name for expand.
template <typename T>
Tensor<T> broadcast_to(const Tensor<T>& x, const Shape& shape) {
  return expand(x, shape);
}

// x summed over the dimensions broadcasting would add or stretch to reach x.shape()
// from `shape`. The engine applies it to gradients of broadcast inputs.
template <typename T>
Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (!detail::broadcastable_to(shape, x.shape()))
    detail::fail<ShapeError>("sum_to: a tensor of shape ", detail::show(x.shape()), " cannot be summed to ",
                             detail::show(shape), "; the target must broadcast to the source");
  Tensor<T> out = detail::sum_to_kernel(x, shape);
  return record(out, "SumToBackward0", {x}, [in_shape = x.shape()](Grads<T>& g) {
    g.in[0] = expand(g.out, in_shape);
  });
}

// Swaps two dimensions (the result is a new contiguous tensor).
template <typename T>
Tensor<T> transpose(const Tensor<T>& x, std::int64_t dim0, std::int64_t dim1) {
  const std::size_t rank = x.shape().size();
  const std::size_t d0 = detail::wrap_dim("transpose", dim0, rank), d1 = detail::wrap_dim("transpose", dim1, rank);
  if (rank < 2 || d0 == d1)
    return record(detail::copy_kernel(x), "TransposeBackward0", {x}, [](Grads<T>& g) { g.in[0] = g.out; });
  std::vector<std::size_t> perm(rank);
  for (std::size_t i = 0; i < rank; ++i) perm[i] = i;
  std::swap(perm[d0], perm[d1]);
  Tensor<T> out = detail::permute_kernel(x, perm);
  return record(out, "TransposeBackward0", {x}, [d0, d1](Grads<T>& g) {
    g.in[0] = transpose(g.out, static_cast<std::int64_t>(d0), static_cast<std::int64_t>(d1));
  });
}

// Matrix transpose of a tensor with at most 2 dimensions.
template <typename T>
Tensor<T> t(const Tensor<T>& x) {
  if (x.dim() > 2)
    detail::fail<ShapeError>("t: expects a tensor with at most 2 dimensions, got shape ", detail::show(x.shape()),
                             "; use transpose(dim0, dim1)");
  if (x.dim() < 2) return record(detail::copy_kernel(x), "TBackward0", {x}, [](Grads<T>& g) { g.in[0] = g.out; });
  Tensor<T> out = detail::permute_kernel(x, {1, 0});
  return record(out, "TBackward0", {x}, [](Grads<T>& g) { g.in[0] = t(g.out); });
}

// Reorders the dimensions: out.shape[i] = x.shape[dims[i]] (a new contiguous tensor).
template <typename T>
Tensor<T> permute(const Tensor<T>& x, const std::vector<std::int64_t>& dims) {
  const std::size_t rank = x.shape().size();
  std::vector<std::size_t> perm(dims.size()), inverse(rank, rank);
  bool valid = dims.size() == rank;
  for (std::size_t i = 0; valid && i < rank; ++i) {
    perm[i] = detail::wrap_dim("permute", dims[i], rank);
    valid = inverse[perm[i]] == rank;  // each dimension exactly once
    inverse[perm[i]] = i;
  }
  if (!valid)
    detail::fail<ShapeError>("permute: dims ", detail::show(Shape(dims.begin(), dims.end())),
                             " are not a permutation of the ", rank, " dimensions of a tensor of shape ",
                             detail::show(x.shape()), "; name each dimension exactly once");
  Tensor<T> out = rank < 2 ? detail::copy_kernel(x) : detail::permute_kernel(x, perm);
  // the adjoint of a permutation is the inverse permutation
  return record(out, "PermuteBackward0", {x}, [inverse](Grads<T>& g) {
    g.in[0] = permute(g.out, std::vector<std::int64_t>(inverse.begin(), inverse.end()));
  });
}

// Moves dimensions `source` to positions `destination` (the others keep their order),
// as torch.movedim: a permute.
template <typename T>
Tensor<T> movedim(const Tensor<T>& x, const std::vector<std::int64_t>& source,
                  const std::vector<std::int64_t>& destination) {
  const std::size_t rank = x.shape().size();
  if (source.size() != destination.size())
    detail::fail<ShapeError>("movedim: source ", detail::show(Shape(source.begin(), source.end())), " and destination ",
                             detail::show(Shape(destination.begin(), destination.end())),
                             " must name as many dimensions");
  // A 0-d tensor has one "dimension slot" (dims -1 and 0 name it, as in PyTorch).
  const std::size_t slots = rank == 0 ? 1 : rank;
  std::vector<std::int64_t> dims(slots, -1);
  std::vector<bool> moved(slots, false);
  for (std::size_t i = 0; i < source.size(); ++i) {
    const std::size_t from = detail::wrap_dim("movedim", source[i], rank);
    const std::size_t to = detail::wrap_dim("movedim", destination[i], rank);
    if (moved[from] || dims[to] != -1)
      detail::fail<ShapeError>("movedim: source ", detail::show(Shape(source.begin(), source.end())),
                               " and destination ", detail::show(Shape(destination.begin(), destination.end())),
                               " must each name a dimension at most once");
    moved[from] = true;
    dims[to] = static_cast<std::int64_t>(from);
  }
  // The dimensions not moved fill the free positions in their order.
  std::size_t next = 0;
  for (std::size_t to = 0; to < rank; ++to) {
    if (dims[to] != -1) continue;
    while (moved[next]) ++next;
    dims[to] = static_cast<std::int64_t>(next++);
  }
  if (rank == 0) dims.clear();
  return permute(x, dims);
}

template <typename T>
Tensor<T> movedim(const Tensor<T>& x, std::int64_t source, std::int64_t destination) {
  return movedim(x, std::vector<std::int64_t>{source}, std::vector<std::int64_t>{destination});
}

// A view with a dimension of size 1 inserted at `dim` (in [-(rank+1), rank]).
template <typename T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::int64_t dim) {
  const auto rank = static_cast<std::int64_t>(x.shape().size());
  // Not wrap_dim's message: that would speak of a tensor with rank + 1 dimensions.
  if (dim < -(rank + 1) || dim > rank)
    detail::fail<IndexError>("unsqueeze: dimension ", dim, " is out of range for a tensor with ", rank, " dimension",
                             rank == 1 ? "" : "s", " (shape ", detail::show(x.shape()), "); expected a dim in [",
                             -(rank + 1), ", ", rank, "]");
  const auto d = static_cast<std::size_t>(dim < 0 ? dim + rank + 1 : dim);
  Shape shape = x.shape();
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(d), 1);
  return detail::view_with("UnsqueezeBackward0", x, std::move(shape));
}

// A view without the dimensions of size 1.
template <typename T>
Tensor<T> squeeze(const Tensor<T>& x) {
  Shape shape;
  for (std::int64_t n : x.shape())
    if (n != 1) shape.push_back(n);
  return detail::view_with("SqueezeBackward0", x, std::move(shape));
}

// A view without dimension `dim` if its size is 1; otherwise x unchanged (as in PyTorch).
template <typename T>
Tensor<T> squeeze(const Tensor<T>& x, std::int64_t dim) {
  Shape shape = x.shape();
  if (!shape.empty()) {
    const std::size_t d = detail::wrap_dim("squeeze", dim, shape.size());
    if (shape[d] == 1) shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
  } else {
    detail::wrap_dim("squeeze", dim, 0);  // a 0-d tensor accepts dim 0 or -1
  }
  return detail::view_with("SqueezeBackward1", x, std::move(shape));
}

// A view with dimensions start_dim..end_dim merged into one; a 0-d tensor becomes [1].
template <typename T>
Tensor<T> flatten(const Tensor<T>& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1) {
  const Shape& in = x.shape();
  if (in.empty()) {
    detail::wrap_dim("flatten", start_dim, 0);
    detail::wrap_dim("flatten", end_dim, 0);
    return detail::view_with("ViewBackward0", x, Shape{1});
  }
  const std::size_t s = detail::wrap_dim("flatten", start_dim, in.size());
  const std::size_t e = detail::wrap_dim("flatten", end_dim, in.size());
  if (s > e)
    detail::fail<IndexError>("flatten: start_dim ", start_dim, " comes after end_dim ", end_dim,
                             " for a tensor of shape ", detail::show(in));
  Shape shape(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(s));
  std::int64_t merged = 1;
  for (std::size_t i = s; i <= e; ++i) merged *= in[i];
  shape.push_back(merged);
  shape.insert(shape.end(), in.begin() + static_cast<std::ptrdiff_t>(e) + 1, in.end());
  return detail::view_with("ViewBackward0", x, std::move(shape));
}

// A copy with its own storage; gradients pass straight through.
template <typename T>
Tensor<T> clone(const Tensor<T>& x) {
  return record(detail::copy_kernel(x), "CloneBackward0", {x}, [](Grads<T>& g) { g.in[0] = g.out; });
}

}  // namespace tapegrad
