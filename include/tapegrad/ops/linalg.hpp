#pragma once
// matmul with NumPy semantics (dot, mv, mm, batched with broadcast batch dims).
// Every product is one primitive, gemm(a, b, trans_a, trans_b), whose backward is two
// more gemm calls with the transposes folded in: no transposed copies, and the
// backward is itself differentiable.
//
// Also the strict products (mm, bmm, mv, dot, outer), trace, diag / diagonal /
// diag_embed, triu / tril and einsum. All of these are written with gemm and the other
// core ops, so this header adds no Eigen kernels of its own: the decompositions, which
// need Eigen's LU, Cholesky, QR, eigenvalue and SVD modules, are in decomposition.hpp.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/gemm.hpp"
#include "reduction.hpp"

namespace tapegrad {
namespace detail {

// True when input i of the node is a plain matrix (no batch dims).
template <typename T>
bool is_matrix_input(const Grads<T>& g, std::size_t i) {
  return g.node.next_edges()[i].shape.size() == 2;
}

// One 8x8 tile of a transpose through a local array: the compiler turns the two
// loops into register shuffles and whole-row stores.
template <typename T>
void transpose_tile8(const T* src, std::int64_t src_stride, T* dst, std::int64_t dst_stride) {
  T tile[8][8];
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) tile[j][i] = src[i * src_stride + j];
  for (int j = 0; j < 8; ++j)
    for (int i = 0; i < 8; ++i) dst[j * dst_stride + i] = tile[j][i];
}

// Writes the transpose of the rows x cols row-major matrix at src to dst (cols x rows).
// 32x32 blocks keep both sides in cache; inside them, 8x8 tiles write whole runs of 8.
// (Element by element, a power-of-two row length made every store of a column hit
// the same cache sets: a 256x256 double transpose took 169 us, now 29 us; 512x128
// float 168 -> 19 us.)
template <typename T>
void transpose_into(const T* src, std::int64_t rows, std::int64_t cols, T* dst) {
  constexpr std::int64_t kBlock = 32, kTile = 8;
  for (std::int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (std::int64_t j0 = 0; j0 < cols; j0 += kBlock) {
      const std::int64_t i1 = std::min(i0 + kBlock, rows), j1 = std::min(j0 + kBlock, cols);
      std::int64_t i = i0;
      for (; i + kTile <= i1; i += kTile) {
        std::int64_t j = j0;
        for (; j + kTile <= j1; j += kTile) transpose_tile8(src + i * cols + j, cols, dst + j * rows + i, rows);
        for (std::int64_t r = i; r < i + kTile; ++r)  // the block's last columns
          for (std::int64_t c = j; c < j1; ++c) dst[c * rows + r] = src[r * cols + c];
      }
      for (; i < i1; ++i)  // the block's last rows
        for (std::int64_t c = j0; c < j1; ++c) dst[c * rows + i] = src[i * cols + c];
    }
}

// The transpose of the rows x cols row-major matrix at src, written into buffer.
template <typename T>
const T* transposed(const T* src, std::int64_t rows, std::int64_t cols, std::vector<T>& buffer) {
  buffer.resize(static_cast<std::size_t>(rows * cols));
  transpose_into(src, rows, cols, buffer.data());
  return buffer.data();
}

inline bool batches_broadcast(const Shape& a, const Shape& b) {
  for (std::size_t i = 1; i <= std::min(a.size(), b.size()); ++i) {
    const std::int64_t da = a[a.size() - i], db = b[b.size() - i];
    if (da != db && da != 1 && db != 1) return false;
  }
  return true;
}

// op(a) @ op(b) over the last two dims, broadcasting leading (batch) dims.
// op(m) = m^T when the flag is set. squeeze_rows / squeeze_cols drop the n / m
// dimension from the result (matmul's 1-D operands) before it is recorded, so the
// result's grad_fn is this product (DotBackward0, MvBackward0), not a view of it.
template <typename T>
Tensor<T> gemm(const char* name, const Tensor<T>& a, const Tensor<T>& b, bool trans_a, bool trans_b,
               bool squeeze_rows = false, bool squeeze_cols = false) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const std::int64_t ra = sa[sa.size() - 2], ca = sa[sa.size() - 1];
  const std::int64_t rb = sb[sb.size() - 2], cb = sb[sb.size() - 1];
  const std::int64_t n = trans_a ? ca : ra, k = trans_a ? ra : ca;
  const std::int64_t kb = trans_b ? cb : rb, m = trans_b ? rb : cb;
  if (k != kb)
    fail<ShapeError>("matmul: shapes ", show(sa), trans_a ? "^T" : "", " and ", show(sb), trans_b ? "^T" : "",
                     " cannot be multiplied (", k, " != ", kb, ")");
  const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
  if (!batches_broadcast(batch_a, batch_b))  // the message names the operands, not only their batch dims
    fail<ShapeError>("matmul: the batch dimensions ", show(batch_a), " and ", show(batch_b), " of shapes ", show(sa),
                     " and ", show(sb), " cannot be broadcast together; each trailing batch dimension must match or be 1");
  Shape out_shape = broadcast_shapes("matmul", batch_a, batch_b);
  const Shape batch = out_shape;
  out_shape.push_back(n);
  out_shape.push_back(m);
  Tensor<T> out = empty<T>(out_shape);

  // op(A) op(B) through ONE Eigen product kernel: a transposed operand is first copied
  // into a row-major buffer. Each further kernel (A^T B, A B^T) would cost every program
  // that uses matmul about half a second of -O2 compile time, while the copy costs
  // O(n k) against the product's O(n k m). Define TAPEGRAD_FOLD_TRANSPOSES to fold the
  // transposes into Eigen's product instead.
  // Per-thread scratch that only grows: a fresh large buffer per call would cost page
  // faults on every product.
  thread_local std::vector<T> a_transposed, b_transposed;
  auto multiply = [&](const T* pa, std::int64_t rows_a, const T* pb, T* po, std::int64_t rows_out) {
    // The kernels dispatched by CPU (core/gemm.hpp) read a transposed operand in place.
    if (gemm_dispatched<T>(rows_out, m, k, pa, trans_a ? 1 : ca, trans_a ? ca : 1, pb, trans_b ? 1 : cb,
                           trans_b ? cb : 1, po, m, false))
      return;
    MatrixMap<T> C(po, rows_out, m);
#if defined(TAPEGRAD_FOLD_TRANSPOSES) && TAPEGRAD_FOLD_TRANSPOSES
    ConstMatrixMap<T> A(pa, trans_a ? ra : rows_a, ca), B(pb, rb, cb);
    if (!trans_a && !trans_b) {
      C.noalias() = A * B;
    } else if (trans_a && !trans_b) {
      C.noalias() = A.transpose() * B;
    } else if (!trans_a && trans_b) {
      C.noalias() = A * B.transpose();
    } else {
      C.noalias() = A.transpose() * B.transpose();
    }
#else
    // A vector operand needs no transposed copy: [1, k] and [k, 1] are the same memory.
    const bool copy_a = trans_a && rows_out > 1, copy_b = trans_b && m > 1;
    // The product runs on row-major operands, so a transposed operand is copied. Since
    // op(A) op(B) = (op(B)^T op(A)^T)^T, the copies may instead go to the operands that are
    // not transposed and to the result: whichever moves fewer elements. For linear's
    // x W^T on a batch of 16, that is x (16 x 784) and the result (16 x 256) rather than
    // W (256 x 784), 12x fewer. When the other side is a vector (a regression's X^T r),
    // nothing is copied at all: the swapped product is a matrix-vector product reading
    // the matrix in place, where copying X^T had cost as much as the product.
    const bool copy_a_swapped = !trans_a && rows_out > 1, copy_b_swapped = !trans_b && m > 1;
    const bool copy_result = rows_out > 1 && m > 1;
    const std::int64_t direct = (copy_a ? rows_out * k : 0) + (copy_b ? k * m : 0);
    const std::int64_t swapped =
        (copy_a_swapped ? rows_out * k : 0) + (copy_b_swapped ? k * m : 0) + (copy_result ? rows_out * m : 0);
    if (swapped < direct) {
      const T* b_t = copy_b_swapped ? transposed(pb, k, m, b_transposed) : pb;        // op(B)^T: m x k
      const T* a_t = copy_a_swapped ? transposed(pa, rows_out, k, a_transposed) : pa;  // op(A)^T: k x rows_out
      thread_local std::vector<T> result_transposed;
      T* c_t = po;  // a vector result is the same memory either way
      if (copy_result) {
        result_transposed.resize(static_cast<std::size_t>(m * rows_out));
        c_t = result_transposed.data();
      }
      MatrixMap<T>(c_t, m, rows_out).noalias() = ConstMatrixMap<T>(b_t, m, k) * ConstMatrixMap<T>(a_t, k, rows_out);
      if (copy_result) transpose_into(c_t, m, rows_out, po);
      return;
    }
    if (copy_a) pa = transposed(pa, ra, ca, a_transposed);
    if (copy_b) pb = transposed(pb, rb, cb, b_transposed);
    C.noalias() = ConstMatrixMap<T>(pa, trans_a ? n : rows_a, k) * ConstMatrixMap<T>(pb, k, m);
#endif
  };

  const std::int64_t batches = numel_of(batch);
  if (batches == 0 || n == 0 || m == 0) {
    // empty result: nothing to compute, but it is still recorded
  } else if (batch_b.empty() && !trans_a) {
    // [..., n, k] @ [k, m]: fold the batch into the rows, one large product.
    multiply(a.data_ptr(), batches * n, b.data_ptr(), out.data_ptr(), batches * n);
  } else {
    const Shape stride_a = broadcast_strides(batch_a, batch), stride_b = broadcast_strides(batch_b, batch);
    const std::int64_t size_a = ra * ca, size_b = rb * cb;
    Shape counter(batch.size(), 0);
    std::int64_t ia = 0, ib = 0;
    for (std::int64_t p = 0; p < batches; ++p) {
      multiply(a.data_ptr() + ia * size_a, ra, b.data_ptr() + ib * size_b, out.data_ptr() + p * n * m, n);
      for (std::size_t d = batch.size(); d-- > 0;) {
        ia += stride_a[d];
        ib += stride_b[d];
        if (++counter[d] < batch[d]) break;
        ia -= stride_a[d] * batch[d];
        ib -= stride_b[d] * batch[d];
        counter[d] = 0;
      }
    }
  }

  const bool squeeze = squeeze_rows || squeeze_cols;
  Shape matrix_shape = out.shape();
  if (squeeze) {
    Shape shape = matrix_shape;
    if (squeeze_cols) shape.pop_back();
    if (squeeze_rows) shape.erase(shape.end() - (squeeze_cols ? 1 : 2));
    out = Tensor<T>(alias_impl(*out.impl(), std::move(shape)));
  }

  // C = op(A) op(B):  dA = dC op(B)^T  (or its transpose),  dB = op(A)^T dC  (or its transpose)
  return record(out, name, {a, b},
                [sa = save(a), sb = save(b), trans_a, trans_b, name, squeeze, matrix_shape](Grads<T>& g) {
    const Tensor<T> dc = squeeze ? reshape(g.out, matrix_shape) : g.out;
    if (g.needs(0)) {
      const Tensor<T> bv = g[sb];
      g.in[0] = trans_a ? gemm(name, bv, dc, trans_b, true) : gemm(name, dc, bv, false, !trans_b);
    }
    if (g.needs(1)) {
      const Tensor<T> av = g[sa];
      if (!trans_b && !trans_a && av.dim() > 2 && is_matrix_input(g, 1)) {
        // [..., n, k] @ [k, m]: dB = A^T dC over all folded rows, one product.
        const std::int64_t k = av.shape().back();
        g.in[1] = gemm(name, reshape(av, {-1, k}), reshape(dc, {-1, dc.shape().back()}), true, false);
      } else {
        g.in[1] = trans_b ? gemm(name, dc, av, true, trans_a) : gemm(name, av, dc, !trans_a, false);
      }
    }
  });
}

}  // namespace detail

// Matrix product with NumPy/PyTorch semantics:
//   1-D @ 1-D -> 0-d (dot);  2-D @ 1-D -> 1-D (mv);  1-D @ 2-D -> 1-D;  2-D @ 2-D -> 2-D;
//   N-D: batched over the leading dims, which broadcast; a 1-D operand gets a
//   dimension prepended (left) or appended (right) that is removed from the result.
template <typename T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() == 0 || b.dim() == 0)
    detail::fail<ShapeError>("matmul: both arguments need at least 1 dimension, got shapes ", detail::show(a.shape()),
                             " and ", detail::show(b.shape()), "; use * for scalar multiplication");
  if (a.dim() == 1 && b.dim() == 1) {
    if (a.numel() != b.numel())
      detail::fail<ShapeError>("matmul: shapes ", detail::show(a.shape()), " and ", detail::show(b.shape()),
                               " cannot be multiplied (", a.numel(), " != ", b.numel(), ")");
    return detail::gemm("DotBackward0", reshape(a, {1, -1}), reshape(b, {-1, 1}), false, false, true, true);
  }
  if (a.dim() == 2 && b.dim() == 2) return detail::gemm("MmBackward0", a, b, false, false);
  if (a.dim() == 2 && b.dim() == 1) {
    if (a.shape()[1] != b.numel())
      detail::fail<ShapeError>("matmul: shapes ", detail::show(a.shape()), " and ", detail::show(b.shape()),
                               " cannot be multiplied (", a.shape()[1], " != ", b.numel(), ")");
    return detail::gemm("MvBackward0", a, reshape(b, {-1, 1}), false, false, false, true);
  }
  // Batched (or 1-D @ 2-D): lift 1-D operands to matrices, then drop the added dim.
  const bool lift_a = a.dim() == 1, lift_b = b.dim() == 1;
  const Tensor<T> a2 = lift_a ? reshape(a, {1, -1}) : a;
  const Tensor<T> b2 = lift_b ? reshape(b, {-1, 1}) : b;
  if (a2.shape().back() != b2.shape()[b2.shape().size() - 2])
    detail::fail<ShapeError>("matmul: shapes ", detail::show(a.shape()), " and ", detail::show(b.shape()),
                             " cannot be multiplied (", a2.shape().back(), " != ", b2.shape()[b2.shape().size() - 2],
                             ")");
  return detail::gemm(a.dim() <= 2 && b.dim() <= 2 ? "MmBackward0" : "BmmBackward0", a2, b2, false, false, lift_a,
                      lift_b);
}

// ---- strict products: no broadcasting, no 1-D promotion ----

namespace detail {
[[noreturn]] inline void fail_product(const char* op, const Shape& a, const Shape& b, std::int64_t k, std::int64_t kb) {
  fail<ShapeError>(op, ": shapes ", show(a), " and ", show(b), " cannot be multiplied (", k, " != ", kb, ")");
}
}  // namespace detail

// Matrix product of two matrices [n, k] @ [k, m] (matmul without broadcasting).
template <typename T>
Tensor<T> mm(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 2 || b.dim() != 2)
    detail::fail<ShapeError>("mm: expects two 2-D tensors (matrices), got shapes ", detail::show(a.shape()), " and ",
                             detail::show(b.shape()), "; use matmul for vectors or batches");
  if (a.shape()[1] != b.shape()[0]) detail::fail_product("mm", a.shape(), b.shape(), a.shape()[1], b.shape()[0]);
  return detail::gemm("MmBackward0", a, b, false, false);
}

// Batched matrix product [b, n, k] @ [b, k, m]; the batch sizes must be equal (no broadcasting).
template <typename T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 3 || b.dim() != 3)
    detail::fail<ShapeError>("bmm: expects two 3-D tensors (batches of matrices), got shapes ",
                             detail::show(a.shape()), " and ", detail::show(b.shape()),
                             "; use mm for matrices or matmul for broadcasting");
  if (a.shape()[0] != b.shape()[0])
    detail::fail<ShapeError>("bmm: batch sizes differ (", a.shape()[0], " vs ", b.shape()[0], ") for shapes ",
                             detail::show(a.shape()), " and ", detail::show(b.shape()),
                             "; bmm does not broadcast, use matmul");
  if (a.shape()[2] != b.shape()[1]) detail::fail_product("bmm", a.shape(), b.shape(), a.shape()[2], b.shape()[1]);
  return detail::gemm("BmmBackward0", a, b, false, false);
}

// Matrix-vector product [n, k] @ [k] -> [n].
template <typename T>
Tensor<T> mv(const Tensor<T>& a, const Tensor<T>& v) {
  if (a.dim() != 2 || v.dim() != 1)
    detail::fail<ShapeError>("mv: expects a 2-D matrix and a 1-D vector, got shapes ", detail::show(a.shape()),
                             " and ", detail::show(v.shape()));
  if (a.shape()[1] != v.shape()[0]) detail::fail_product("mv", a.shape(), v.shape(), a.shape()[1], v.shape()[0]);
  return detail::gemm("MvBackward0", a, reshape(v, {-1, 1}), false, false, false, true);
}

// Inner product of two 1-D tensors of equal length, as a 0-d tensor.
template <typename T>
Tensor<T> dot(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 1 || b.dim() != 1)
    detail::fail<ShapeError>("dot: expects two 1-D tensors, got shapes ", detail::show(a.shape()), " and ",
                             detail::show(b.shape()), "; use matmul or sum(a * b) for other shapes");
  if (a.numel() != b.numel())
    detail::fail<ShapeError>("dot: the vectors have different lengths (", a.numel(), " and ", b.numel(), ")");
  return detail::gemm("DotBackward0", reshape(a, {1, -1}), reshape(b, {-1, 1}), false, false, true, true);
}

// Outer product of two 1-D tensors: out[i, j] = a[i] b[j]. As in PyTorch it is
// a.reshape(-1, 1) * b, so the gradient comes from mul (MulBackward0).
template <typename T>
Tensor<T> outer(const Tensor<T>& a, const Tensor<T>& b) {
  if (a.dim() != 1 || b.dim() != 1)
    detail::fail<ShapeError>("outer: expects two 1-D tensors, got shapes ", detail::show(a.shape()), " and ",
                             detail::show(b.shape()));
  return reshape(a, {-1, 1}) * reshape(b, {1, -1});
}

// ---- trace, diagonals, triangles ----

// Sum of the main diagonal of a 2-D tensor (a non-square one too), as a 0-d tensor.
template <typename T>
Tensor<T> trace(const Tensor<T>& x) {
  if (x.dim() != 2)
    detail::fail<ShapeError>("trace: expects a 2-D tensor (a matrix), got shape ", detail::show(x.shape()),
                             "; for a batch of matrices use diagonal(x, 0, -2, -1).sum(-1)");
  const std::int64_t n = x.shape()[0], m = x.shape()[1];
  T s = T(0);
  for (std::int64_t i = 0; i < std::min(n, m); ++i) s += x.data_ptr()[i * m + i];
  // d tr(X) / dX = I (the n x m matrix with ones on the main diagonal)
  return record(scalar_tensor<T>(s), "TraceBackward0", {x}, [n, m](Grads<T>& g) { g.in[0] = g.out * eye<T>(n, m); });
}

namespace detail {

// Flat indices of a diagonal: element i of `index` is the position in a tensor of `shape`
// of element i of diagonal(offset, d1, d2), whose shape is `out_shape` (the other dims in
// order, then the position along the diagonal). diagonal gathers these elements and
// diag_embed scatters into them; each op is the other's adjoint.
struct DiagonalIndex {
  Shape out_shape;
  std::shared_ptr<const std::vector<std::int64_t>> index;
};

inline DiagonalIndex diagonal_index(const Shape& shape, std::int64_t offset, std::size_t d1, std::size_t d2) {
  const Shape strides = strides_of(shape);
  const std::int64_t row0 = offset < 0 ? -offset : 0, col0 = offset > 0 ? offset : 0;
  const std::int64_t len = std::max<std::int64_t>(0, std::min(shape[d1] - row0, shape[d2] - col0));
  Shape rest, rest_strides;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (i != d1 && i != d2) {
      rest.push_back(shape[i]);
      rest_strides.push_back(strides[i]);
    }
  DiagonalIndex result;
  result.out_shape = rest;
  result.out_shape.push_back(len);
  auto index = std::make_shared<std::vector<std::int64_t>>();
  index->reserve(static_cast<std::size_t>(numel_of(result.out_shape)));
  const std::int64_t base = row0 * strides[d1] + col0 * strides[d2], step = strides[d1] + strides[d2];
  const std::int64_t outer = numel_of(rest);
  Shape counter(rest.size(), 0);
  std::int64_t at = 0;
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t t = 0; t < len; ++t) index->push_back(at + base + t * step);
    for (std::size_t d = rest.size(); d-- > 0;) {
      at += rest_strides[d];
      if (++counter[d] < rest[d]) break;
      at -= rest_strides[d] * rest[d];
      counter[d] = 0;
    }
  }
  result.index = std::move(index);
  return result;
}

using IndexList = std::shared_ptr<const std::vector<std::int64_t>>;

template <typename T>
Tensor<T> scatter_index(const Tensor<T>& src, const Shape& full, const IndexList& index, const char* scatter_name,
                        const char* gather_name);

// out[i] = src[index[i]], recorded as `gather_name`; its adjoint is scatter_index.
template <typename T>
Tensor<T> gather_index(const Tensor<T>& src, const Shape& out_shape, const IndexList& index, const char* gather_name,
                       const char* scatter_name) {
  Tensor<T> out = empty<T>(out_shape);
  const T* ps = src.data_ptr();
  T* po = out.data_ptr();
  for (std::size_t i = 0; i < index->size(); ++i) po[i] = ps[(*index)[i]];
  return record(out, gather_name, {src}, [full = src.shape(), index, gather_name, scatter_name](Grads<T>& g) {
    g.in[0] = scatter_index(g.out, full, index, scatter_name, gather_name);
  });
}

// Zeros of shape `full` with out[index[i]] = src[i] (the indices are distinct),
// recorded as `scatter_name`; its adjoint is gather_index.
template <typename T>
Tensor<T> scatter_index(const Tensor<T>& src, const Shape& full, const IndexList& index, const char* scatter_name,
                        const char* gather_name) {
  Tensor<T> out = empty<T>(full);
  fill(out, T(0));
  const T* ps = src.data_ptr();
  T* po = out.data_ptr();
  for (std::size_t i = 0; i < index->size(); ++i) po[(*index)[i]] = ps[i];
  return record(out, scatter_name, {src}, [shape = src.shape(), index, gather_name, scatter_name](Grads<T>& g) {
    g.in[0] = gather_index(g.out, shape, index, gather_name, scatter_name);
  });
}

}  // namespace detail

// The diagonal `offset` (> 0 above the main one, < 0 below) of the matrices formed by
// dims dim1 and dim2: those two dims are removed and the diagonal becomes the last dim.
// NOTE: unlike PyTorch's view, the result is a copy (tensors here are always contiguous).
template <typename T>
Tensor<T> diagonal(const Tensor<T>& x, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1) {
  if (x.dim() < 2)
    detail::fail<ShapeError>("diagonal: expects a tensor with at least 2 dimensions, got shape ",
                             detail::show(x.shape()));
  const std::size_t d1 = detail::wrap_dim("diagonal", dim1, x.shape().size());
  const std::size_t d2 = detail::wrap_dim("diagonal", dim2, x.shape().size());
  if (d1 == d2)
    detail::fail<ValueError>("diagonal: dim1 and dim2 must be different dimensions, both are ", d1,
                             " (for a tensor of shape ", detail::show(x.shape()), ")");
  const detail::DiagonalIndex di = detail::diagonal_index(x.shape(), offset, d1, d2);
  // linear: the gradient is g written back onto the diagonal (zeros elsewhere)
  return detail::gather_index(x, di.out_shape, di.index, "DiagonalBackward0", "DiagonalBackwardBackward0");
}

// The last dim of x placed on the diagonal `offset` of new matrices formed by dims dim1
// and dim2 of the result (size n + |offset|); the rest is zero. diag_embed(x) of a batch
// of vectors [..., n] is the batch of diagonal matrices [..., n, n].
template <typename T>
Tensor<T> diag_embed(const Tensor<T>& x, std::int64_t offset = 0, std::int64_t dim1 = -2, std::int64_t dim2 = -1) {
  if (x.dim() < 1) detail::fail<ShapeError>("diag_embed: expects a tensor with at least 1 dimension, got a 0-d tensor");
  const std::size_t rank = x.shape().size() + 1;
  const std::size_t d1 = detail::wrap_dim("diag_embed", dim1, rank), d2 = detail::wrap_dim("diag_embed", dim2, rank);
  if (d1 == d2)
    detail::fail<ValueError>("diag_embed: dim1 and dim2 must be different dimensions, both are ", d1);
  const std::int64_t n = x.shape().back() + (offset < 0 ? -offset : offset);
  Shape full(rank);
  for (std::size_t i = 0, j = 0; i < rank; ++i) full[i] = (i == d1 || i == d2) ? n : x.shape()[j++];
  const detail::DiagonalIndex di = detail::diagonal_index(full, offset, d1, d2);
  // linear: the gradient is the diagonal of g
  return detail::scatter_index(x, full, di.index, "DiagEmbedBackward0", "DiagonalBackward0");
}

// 1-D x: the square matrix with x on diagonal `offset`; 2-D x: its diagonal `offset`.
template <typename T>
Tensor<T> diag(const Tensor<T>& x, std::int64_t offset = 0) {
  if (x.dim() == 1) return diag_embed(x, offset, 0, 1);
  if (x.dim() == 2) return diagonal(x, offset, 0, 1);
  detail::fail<ShapeError>("diag: expects a 1-D tensor (to build a diagonal matrix) or a 2-D tensor (to take its "
                           "diagonal), got shape ", detail::show(x.shape()),
                           "; for batches use diag_embed or diagonal(x, offset, -2, -1)");
}

namespace detail {
// x with the elements outside the triangle zeroed, over the last two dims: triu keeps
// column - row >= k, tril keeps column - row <= k.
template <typename T>
Tensor<T> triangle_kernel(const char* op, const Tensor<T>& x, std::int64_t k, bool upper) {
  if (x.dim() < 2)
    fail<ShapeError>(op, ": expects a matrix or a batch of matrices (at least 2 dimensions), got shape ",
                     show(x.shape()));
  const std::int64_t rows = x.shape()[x.shape().size() - 2], cols = x.shape().back();
  Tensor<T> out = empty<T>(x.shape());
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  const std::int64_t count = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  for (std::int64_t b = 0; b < count; ++b)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) {
        const std::int64_t at = (b * rows + i) * cols + j;
        po[at] = (upper ? j - i >= k : j - i <= k) ? px[at] : T(0);
      }
  return out;
}
}  // namespace detail

// The upper triangle (column - row >= k) of each matrix in the last two dims; the rest is 0.
template <typename T>
Tensor<T> triu(const Tensor<T>& x, std::int64_t k = 0) {
  // a fixed mask: linear, and its own adjoint
  return record(detail::triangle_kernel("triu", x, k, true), "TriuBackward0", {x},
                [k](Grads<T>& g) { g.in[0] = triu(g.out, k); });
}

// The lower triangle (column - row <= k) of each matrix in the last two dims; the rest is 0.
template <typename T>
Tensor<T> tril(const Tensor<T>& x, std::int64_t k = 0) {
  return record(detail::triangle_kernel("tril", x, k, false), "TrilBackward0", {x},
                [k](Grads<T>& g) { g.in[0] = tril(g.out, k); });
}

// ---- einsum ----

namespace detail {

// einsum labels: 'A'-'Z' -> 0..25 and 'a'-'z' -> 26..51 (so sorted labels are in the
// character order NumPy sorts an implicit output by); the dims covered by "..." get
// 52, 53, ..., right-aligned across the operands so that they broadcast.
constexpr int kEinsumEllipsis = 52;

inline std::string einsum_label_name(int label) {
  if (label < 26) return std::string(1, static_cast<char>('A' + label));
  if (label < kEinsumEllipsis) return std::string(1, static_cast<char>('a' + label - 26));
  return "... (dimension " + std::to_string(label - kEinsumEllipsis) + " of the ellipsis)";
}

// One term of the equation: a label per letter, -1 where "..." stands.
inline std::vector<int> einsum_parse_term(const std::string& eq, const std::string& term) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (std::size_t i = 0; i < term.size(); ++i) {
    const char c = term[i];
    if (c >= 'A' && c <= 'Z') {
      labels.push_back(c - 'A');
    } else if (c >= 'a' && c <= 'z') {
      labels.push_back(26 + (c - 'a'));
    } else if (c == '.') {
      if (term.compare(i, 3, "...") != 0)
        fail<ValueError>("einsum: a '.' that is not part of an ellipsis '...' in \"", eq, "\"");
      if (ellipsis) fail<ValueError>("einsum: the term \"", term, "\" in \"", eq, "\" has more than one '...'");
      ellipsis = true;
      labels.push_back(-1);
      i += 2;
    } else {
      fail<ValueError>("einsum: invalid character '", std::string(1, c), "' in \"", eq,
                       "\"; subscripts are the letters a-z and A-Z, with ',' between operands, an optional '->' "
                       "before the output and '...' for broadcast dimensions");
    }
  }
  return labels;
}

// The equation resolved against the operands' shapes: one label per dimension of each
// operand, the output labels, and the size of every label (broadcast over the operands).
struct EinsumPlan {
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;
  std::vector<std::int64_t> sizes;  // by label; -1 for labels that do not occur
};

inline EinsumPlan einsum_plan(const std::string& equation, const std::vector<Shape>& shapes) {
  std::string eq;
  for (char c : equation)
    if (c != ' ' && c != '\t' && c != '\n') eq += c;
  const std::size_t arrow = eq.find("->");
  const bool explicit_output = arrow != std::string::npos;
  const std::string lhs = eq.substr(0, arrow);
  const std::string rhs = explicit_output ? eq.substr(arrow + 2) : std::string();
  if (explicit_output && rhs.find("->") != std::string::npos)
    fail<ValueError>("einsum: \"", equation, "\" has more than one '->'");

  std::vector<std::string> terms(1);
  for (char c : lhs) {
    if (c == ',')
      terms.emplace_back();
    else
      terms.back() += c;
  }
  if (terms.size() != shapes.size())
    fail<ValueError>("einsum: \"", equation, "\" has ", terms.size(), " operand term", terms.size() == 1 ? "" : "s",
                     " but ", shapes.size(), " operand", shapes.size() == 1 ? " was" : "s were",
                     " given; separate the terms of the operands with ','");

  EinsumPlan plan;
  // Ellipsis dims per operand, and their broadcast count.
  std::vector<std::vector<int>> raw(terms.size());
  std::vector<std::int64_t> ellipsis_dims(terms.size(), 0);
  std::int64_t max_ellipsis = 0;
  for (std::size_t k = 0; k < terms.size(); ++k) {
    raw[k] = einsum_parse_term(equation, terms[k]);
    const bool has_ellipsis = std::find(raw[k].begin(), raw[k].end(), -1) != raw[k].end();
    const auto letters = static_cast<std::int64_t>(raw[k].size()) - (has_ellipsis ? 1 : 0);
    const auto rank = static_cast<std::int64_t>(shapes[k].size());
    if (has_ellipsis ? letters > rank : letters != rank)
      fail<ShapeError>("einsum: operand ", k, " has shape ", show(shapes[k]), " (", rank, " dimension",
                       rank == 1 ? "" : "s", ") but its subscripts \"", terms[k], "\" name ", letters,
                       has_ellipsis ? " (plus '...')" : "", "; give one letter per dimension");
    if (has_ellipsis) ellipsis_dims[k] = rank - letters;
    max_ellipsis = std::max(max_ellipsis, ellipsis_dims[k]);
  }
  const std::size_t num_labels = static_cast<std::size_t>(kEinsumEllipsis + max_ellipsis);
  plan.sizes.assign(num_labels, -1);
  std::vector<int> count(num_labels, 0), first_operand(num_labels, -1);

  for (std::size_t k = 0; k < terms.size(); ++k) {
    std::vector<int>& labels = plan.inputs.emplace_back();
    for (int l : raw[k]) {
      if (l >= 0) {
        labels.push_back(l);
        continue;
      }
      for (std::int64_t j = 0; j < ellipsis_dims[k]; ++j)
        labels.push_back(static_cast<int>(kEinsumEllipsis + max_ellipsis - ellipsis_dims[k] + j));
    }
    // A subscript repeated within one operand takes a diagonal: its sizes must be equal.
    for (std::size_t d = 0; d < labels.size(); ++d)
      for (std::size_t e = d + 1; e < labels.size(); ++e)
        if (labels[d] == labels[e] && shapes[k][d] != shapes[k][e])
          fail<ShapeError>("einsum: subscript '", einsum_label_name(labels[d]), "' is repeated in operand ", k,
                           " (shape ", show(shapes[k]), ") with different sizes ", shapes[k][d], " and ",
                           shapes[k][e], "; a repeated subscript takes a diagonal, which needs equal sizes");
    // Across operands the sizes of a subscript broadcast, as in PyTorch: equal, or 1.
    for (std::size_t d = 0; d < labels.size(); ++d) {
      const int l = labels[d];
      const std::int64_t n = shapes[k][d];
      std::int64_t& size = plan.sizes[static_cast<std::size_t>(l)];
      ++count[static_cast<std::size_t>(l)];
      if (size == -1) {
        size = n;
        first_operand[static_cast<std::size_t>(l)] = static_cast<int>(k);
      } else if (size == 1 || n == 1) {
        size = std::max(size, n);
      } else if (size != n) {
        if (l >= kEinsumEllipsis)
          fail<ShapeError>("einsum: the dimensions covered by '...' do not broadcast: sizes ", size, " and ", n,
                           " (operand ", first_operand[static_cast<std::size_t>(l)], " and operand ", k, ")");
        fail<ShapeError>("einsum: subscript '", einsum_label_name(l), "' has size ", size, " in operand ",
                         first_operand[static_cast<std::size_t>(l)], " but size ", n, " in operand ", k,
                         " (shape ", show(shapes[k]), "); the sizes of a subscript must match or be 1");
      }
    }
  }

  if (explicit_output) {
    std::vector<char> seen(num_labels, 0);
    for (int l : einsum_parse_term(equation, rhs)) {
      if (l == -1) {
        for (std::int64_t j = 0; j < max_ellipsis; ++j) plan.output.push_back(static_cast<int>(kEinsumEllipsis + j));
        continue;
      }
      if (count[static_cast<std::size_t>(l)] == 0)
        fail<ValueError>("einsum: output subscript '", einsum_label_name(l), "' in \"", equation,
                         "\" does not appear in any operand");
      if (seen[static_cast<std::size_t>(l)])
        fail<ValueError>("einsum: output subscript '", einsum_label_name(l), "' appears more than once in \"",
                         equation, "\"");
      seen[static_cast<std::size_t>(l)] = 1;
      plan.output.push_back(l);
    }
    // Without '...' in an explicit output, the dims it covers in the operands are summed over.
  } else {
    // NumPy's implicit output: the broadcast dims, then the letters used exactly once, sorted.
    for (std::int64_t j = 0; j < max_ellipsis; ++j) plan.output.push_back(static_cast<int>(kEinsumEllipsis + j));
    for (int l = 0; l < kEinsumEllipsis; ++l)
      if (count[static_cast<std::size_t>(l)] == 1) plan.output.push_back(l);
  }
  return plan;
}

template <typename T>
struct Labeled {
  Tensor<T> t;
  std::vector<int> labels;  // one per dim of t
};

template <typename T>
Tensor<T> reshape_if_needed(const Tensor<T>& x, const Shape& shape) {
  return x.shape() == shape ? x : reshape(x, shape);
}

// x with its dims reordered so that labels come in `order` (a permutation of x.labels).
template <typename T>
Labeled<T> einsum_permute(const Labeled<T>& x, const std::vector<int>& order) {
  std::vector<std::int64_t> perm;
  bool identity = true;
  for (int l : order) {
    const auto d = std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin();
    identity = identity && d == static_cast<std::ptrdiff_t>(perm.size());
    perm.push_back(d);
  }
  return {identity ? x.t : permute(x.t, perm), order};
}

// Takes the diagonal of every label repeated within x ("ii->i"): the repeated dims
// become one, placed last.
template <typename T>
Labeled<T> einsum_diagonals(Labeled<T> x) {
  for (std::size_t p = 0; p < x.labels.size(); ++p)
    for (std::size_t q = p + 1; q < x.labels.size(); ++q)
      if (x.labels[p] == x.labels[q]) {
        const int l = x.labels[p];
        x.t = diagonal(x.t, 0, static_cast<std::int64_t>(p), static_cast<std::int64_t>(q));
        x.labels.erase(x.labels.begin() + static_cast<std::ptrdiff_t>(q));
        x.labels.erase(x.labels.begin() + static_cast<std::ptrdiff_t>(p));
        x.labels.push_back(l);
        return einsum_diagonals(std::move(x));
      }
  return x;
}

// Sums x over the labels not in `keep`.
template <typename T>
Labeled<T> einsum_sum_out(Labeled<T> x, const std::vector<char>& keep) {
  bool all = !x.labels.empty();
  for (int l : x.labels) all = all && !keep[static_cast<std::size_t>(l)];
  if (all) return {sum(x.t), {}};
  for (std::size_t d = x.labels.size(); d-- > 0;)
    if (!keep[static_cast<std::size_t>(x.labels[d])]) {
      x.t = sum(x.t, static_cast<std::int64_t>(d));
      x.labels.erase(x.labels.begin() + static_cast<std::ptrdiff_t>(d));
    }
  return x;
}

// a and b multiplied and summed over their shared labels not in `keep`, as one
// (batched) matrix product: [batch, left, contracted] @ [batch, contracted, right].
template <typename T>
Labeled<T> einsum_contract(Labeled<T> a, Labeled<T> b, std::vector<char> keep) {
  const auto has = [](const Labeled<T>& x, int l) {
    return std::find(x.labels.begin(), x.labels.end(), l) != x.labels.end();
  };
  const auto dim_size = [](const Labeled<T>& x, int l) {
    return x.t.shape()[static_cast<std::size_t>(std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin())];
  };
  // A label in only one operand and not kept is summed out first.
  std::vector<char> keep_a = keep, keep_b = keep;
  for (int l : b.labels) keep_a[static_cast<std::size_t>(l)] = 1;
  for (int l : a.labels) keep_b[static_cast<std::size_t>(l)] = 1;
  a = einsum_sum_out(std::move(a), keep_a);
  b = einsum_sum_out(std::move(b), keep_b);

  std::vector<int> batch, left, contracted, right;
  for (int l : a.labels) {
    if (!has(b, l))
      left.push_back(l);
    else if (keep[static_cast<std::size_t>(l)])
      batch.push_back(l);
    else
      contracted.push_back(l);
  }
  for (int l : b.labels)
    if (!has(a, l)) right.push_back(l);
  const auto concat = [](std::initializer_list<const std::vector<int>*> parts) {
    std::vector<int> out;
    for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
    return out;
  };
  std::vector<int> out_labels = concat({&batch, &left, &right});

  Labeled<T> pa = einsum_permute(a, concat({&batch, &left, &contracted}));
  Labeled<T> pb = einsum_permute(b, concat({&batch, &contracted, &right}));
  Shape sa, sb;  // the batch dims keep their own sizes (1 broadcasts against n)
  for (int l : batch) {
    sa.push_back(dim_size(a, l));
    sb.push_back(dim_size(b, l));
  }
  std::int64_t L = 1, R = 1;
  Shape left_sizes, right_sizes;
  for (int l : left) {
    left_sizes.push_back(dim_size(a, l));
    L *= left_sizes.back();
  }
  for (int l : right) {
    right_sizes.push_back(dim_size(b, l));
    R *= right_sizes.back();
  }

  if (contracted.empty()) {
    // Nothing to sum: a broadcast product [batch, left, 1...] * [batch, 1..., right].
    Shape shape_a = sa, shape_b = sb;
    shape_a.insert(shape_a.end(), left_sizes.begin(), left_sizes.end());
    shape_a.insert(shape_a.end(), right.size(), 1);
    shape_b.insert(shape_b.end(), left.size(), 1);
    shape_b.insert(shape_b.end(), right_sizes.begin(), right_sizes.end());
    return {reshape_if_needed(pa.t, shape_a) * reshape_if_needed(pb.t, shape_b), out_labels};
  }

  // A contracted label of size 1 on one side (broadcasting) is expanded to the other side's size.
  std::int64_t C = 1;
  Shape ea = pa.t.shape(), eb = pb.t.shape();
  for (std::size_t j = 0; j < contracted.size(); ++j) {
    const std::int64_t na = dim_size(a, contracted[j]), nb = dim_size(b, contracted[j]), n = std::max(na, nb);
    ea[batch.size() + left.size() + j] = n;
    eb[batch.size() + j] = n;
    C *= n;
  }
  if (ea != pa.t.shape()) pa.t = expand(pa.t, ea);
  if (eb != pb.t.shape()) pb.t = expand(pb.t, eb);
  Shape mat_a = sa, mat_b = sb;
  mat_a.push_back(L);
  mat_a.push_back(C);
  mat_b.push_back(C);
  mat_b.push_back(R);
  const Tensor<T> product = matmul(reshape_if_needed(pa.t, mat_a), reshape_if_needed(pb.t, mat_b));
  Shape out_shape(product.shape().begin(), product.shape().end() - 2);  // broadcast batch sizes
  out_shape.insert(out_shape.end(), left_sizes.begin(), left_sizes.end());
  out_shape.insert(out_shape.end(), right_sizes.begin(), right_sizes.end());
  return {reshape_if_needed(product, out_shape), out_labels};
}

}  // namespace detail

// Einstein summation, as numpy.einsum / torch.einsum: "ij,jk->ik" is a matrix product,
// "bij,bjk->bik" a batched one, "ij->ji" a transpose, "ii->i" a diagonal, "ii" a trace,
// "i,i->" a dot product, "i,j->ij" an outer product, "...ij,...jk->...ik" a batched
// product over broadcast leading dims. Without "->" the output is the letters used
// exactly once, in alphabetical order (upper case first), after any "..." dims.
// Letters repeated within one operand take its diagonal; letters absent from the output
// are summed over; the sizes a letter has in different operands broadcast (equal, or 1),
// as in PyTorch. Operands are contracted left to right, each pair as one (batched)
// matmul, so the gradient comes from the ops used (matmul, permute, reshape, sum,
// diagonal, expand) and is differentiable again.
template <typename T>
Tensor<T> einsum(const std::string& equation, const std::vector<Tensor<T>>& operands) {
  if (operands.empty()) detail::fail<ValueError>("einsum: needs at least one operand for \"", equation, "\"");
  std::vector<Shape> shapes;
  for (const Tensor<T>& op : operands) shapes.push_back(op.shape());
  const detail::EinsumPlan plan = detail::einsum_plan(equation, shapes);
  const std::size_t num_labels = plan.sizes.size();

  std::vector<detail::Labeled<T>> ops;
  for (std::size_t k = 0; k < operands.size(); ++k)
    ops.push_back(detail::einsum_diagonals<T>({operands[k], plan.inputs[k]}));
  std::vector<char> in_output(num_labels, 0);
  for (int l : plan.output) in_output[static_cast<std::size_t>(l)] = 1;
  // Labels needed after operand k: in the output or in a later operand.
  std::vector<std::vector<char>> needed_after(ops.size(), in_output);
  for (std::size_t k = ops.size(); k-- > 1;) {
    needed_after[k - 1] = needed_after[k];
    for (int l : ops[k].labels) needed_after[k - 1][static_cast<std::size_t>(l)] = 1;
  }
  detail::Labeled<T> acc = ops[0];
  for (std::size_t k = 1; k < ops.size(); ++k) acc = detail::einsum_contract(std::move(acc), ops[k], needed_after[k]);
  acc = detail::einsum_sum_out(std::move(acc), in_output);
  return detail::einsum_permute(acc, plan.output).t;
}

// einsum("ij,jk->ik", a, b): the operands as arguments.
template <typename T, typename... More>
Tensor<T> einsum(const std::string& equation, const Tensor<T>& first, const More&... more) {
  static_assert((std::is_same_v<More, Tensor<T>> && ...), "einsum: the operands must be tensors of one type");
  return einsum(equation, std::vector<Tensor<T>>{first, more...});
}

// ---- methods ----

template <typename T> Tensor<T> Tensor<T>::mm(const Tensor& o) const { return tapegrad::mm(*this, o); }
template <typename T> Tensor<T> Tensor<T>::bmm(const Tensor& o) const { return tapegrad::bmm(*this, o); }
template <typename T> Tensor<T> Tensor<T>::mv(const Tensor& v) const { return tapegrad::mv(*this, v); }
template <typename T> Tensor<T> Tensor<T>::dot(const Tensor& o) const { return tapegrad::dot(*this, o); }
template <typename T> Tensor<T> Tensor<T>::outer(const Tensor& o) const { return tapegrad::outer(*this, o); }
template <typename T> Tensor<T> Tensor<T>::trace() const { return tapegrad::trace(*this); }
template <typename T> Tensor<T> Tensor<T>::diag(std::int64_t offset) const { return tapegrad::diag(*this, offset); }
template <typename T> Tensor<T> Tensor<T>::diagonal(std::int64_t offset, std::int64_t d1, std::int64_t d2) const {
  return tapegrad::diagonal(*this, offset, d1, d2);
}
template <typename T> Tensor<T> Tensor<T>::diag_embed(std::int64_t offset, std::int64_t d1, std::int64_t d2) const {
  return tapegrad::diag_embed(*this, offset, d1, d2);
}
template <typename T> Tensor<T> Tensor<T>::triu(std::int64_t k) const { return tapegrad::triu(*this, k); }
template <typename T> Tensor<T> Tensor<T>::tril(std::int64_t k) const { return tapegrad::tril(*this, k); }

}  // namespace tapegrad
