#pragma once
// matmul with NumPy semantics (dot, mv, mm, batched with broadcast batch dims).
// Every product is one primitive, gemm(a, b, trans_a, trans_b), whose backward is two
// more gemm calls with the transposes folded in: no transposed copies, and the
// backward is itself differentiable.

#include <algorithm>
#include <vector>

#include "reduction.hpp"

namespace tapegrad {
namespace detail {

// True when input i of the node is a plain matrix (no batch dims).
template <typename T>
bool is_matrix_input(const Grads<T>& g, std::size_t i) {
  return g.node.next_edges()[i].shape.size() == 2;
}

// The transpose of the rows x cols row-major matrix at src, written into buffer.
template <typename T>
const T* transposed(const T* src, std::int64_t rows, std::int64_t cols, std::vector<T>& buffer) {
  buffer.resize(static_cast<std::size_t>(rows * cols));
  constexpr std::int64_t kBlock = 32;  // tiles keep both sides in cache
  for (std::int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (std::int64_t j0 = 0; j0 < cols; j0 += kBlock)
      for (std::int64_t i = i0; i < std::min(i0 + kBlock, rows); ++i)
        for (std::int64_t j = j0; j < std::min(j0 + kBlock, cols); ++j) buffer[static_cast<std::size_t>(j * rows + i)] = src[i * cols + j];
  return buffer.data();
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
    if (trans_a) pa = transposed(pa, ra, ca, a_transposed);
    if (trans_b) pb = transposed(pb, rb, cb, b_transposed);
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

}  // namespace tapegrad
