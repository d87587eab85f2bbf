#pragma once
// Forward kernels shared by the ops: element-wise maps, broadcast binary maps and
// the reduction of a broadcast gradient back to an input's shape. Work is handed to
// Eigen in contiguous runs so it vectorises.

#include <algorithm>
#include <cstdint>
#include <utility>

#include "tensor.hpp"

namespace tapegrad {
namespace detail {

// out = f(x) element-wise; `f` takes and returns Eigen array expressions.
template <typename T, typename F>
Tensor<T> unary_map(const Tensor<T>& x, F f) {
  Tensor<T> out = empty<T>(x.shape());
  vec(out) = f(vec(x));
  return out;
}

// Fills and copies are plain loops (memset/memcpy after optimisation); only
// arithmetic goes through Eigen expressions, each of which costs compile time.
template <typename T>
void fill(Tensor<T>& t, T value) {
  std::fill_n(t.data_ptr(), t.numel(), value);
}

template <typename T>
void copy_into(const Tensor<T>& src, Tensor<T>& dst) {
  std::copy_n(src.data_ptr(), src.numel(), dst.data_ptr());
}

// A broadcast iteration space with adjacent dimensions merged where every operand
// is contiguous across them. After merging, each operand's innermost stride is 1
// (it varies along the run) or 0 (it is broadcast along the run).
struct BroadcastLoop {
  Shape shape;                  // merged iteration shape
  std::array<Shape, 2> strides;  // per operand
};

TAPEGRAD_NOINLINE inline BroadcastLoop make_broadcast_loop(const Shape& out, const Shape& a, const Shape& b) {
  BroadcastLoop loop;
  const Shape sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 1) continue;  // size-1 dims do not move any operand
    const bool merge = !loop.shape.empty() && loop.strides[0].back() == sa[i] * out[i] &&
                       loop.strides[1].back() == sb[i] * out[i];
    if (merge) {
      loop.shape.back() *= out[i];
      loop.strides[0].back() = sa[i];
      loop.strides[1].back() = sb[i];
    } else {
      loop.shape.push_back(out[i]);
      loop.strides[0].push_back(sa[i]);
      loop.strides[1].push_back(sb[i]);
    }
  }
  if (loop.shape.empty()) {  // a single element
    loop.shape.push_back(1);
    loop.strides[0].push_back(1);
    loop.strides[1].push_back(1);
  }
  return loop;
}

// Calls run(offset_a, offset_b, row, n) for each innermost run of n elements; `row`
// counts runs, so a contiguous output of the loop's shape starts at row * n.
template <typename Run>
void for_each_run(const BroadcastLoop& loop, Run run) {
  const std::size_t rank = loop.shape.size();
  const std::int64_t n = loop.shape.back();
  std::int64_t rows = 1;
  for (std::size_t i = 0; i + 1 < rank; ++i) rows *= loop.shape[i];
  Shape counter(rank, 0);
  std::int64_t off_a = 0, off_b = 0;
  for (std::int64_t row = 0; row < rows; ++row) {
    run(off_a, off_b, row, n);
    for (std::size_t d = rank - 1; d-- > 0;) {  // odometer over the outer dims
      off_a += loop.strides[0][d];
      off_b += loop.strides[1][d];
      if (++counter[d] < loop.shape[d]) break;
      off_a -= loop.strides[0][d] * loop.shape[d];
      off_b -= loop.strides[1][d] * loop.shape[d];
      counter[d] = 0;
    }
  }
}

// out[0:n] = f(a[0:n], b[0:n]) where an operand that does not run (stride 0) repeats
// one value. Broadcast values are copied into a small stack buffer, so `f` is only
// ever applied to two plain maps: one Eigen kernel per op instead of one per
// broadcast pattern, which keeps compile time down.
template <typename T, typename F>
void apply_run(const T* pa, bool a_runs, const T* pb, bool b_runs, T* po, std::int64_t n) {
  const F f{};
  if (a_runs && b_runs) {
    ArrayMap<T>(po, n) = f(ConstArrayMap<T>(pa, n), ConstArrayMap<T>(pb, n));
    return;
  }
  constexpr std::int64_t kChunk = 256;
  alignas(64) T repeated_a[kChunk];
  alignas(64) T repeated_b[kChunk];
  const std::int64_t fill = std::min(n, kChunk);
  if (!a_runs) std::fill_n(repeated_a, fill, *pa);
  if (!b_runs) std::fill_n(repeated_b, fill, *pb);
  for (std::int64_t i = 0; i < n; i += kChunk) {
    const std::int64_t m = std::min(kChunk, n - i);
    ArrayMap<T>(po + i, m) = f(ConstArrayMap<T>(a_runs ? pa + i : repeated_a, m),
                               ConstArrayMap<T>(b_runs ? pb + i : repeated_b, m));
  }
}

template <typename T>
using RunKernel = void (*)(const T*, bool, const T*, bool, T*, std::int64_t);

// The broadcasting around a run kernel: shared by every binary op (one copy per T).
template <typename T>
TAPEGRAD_NOINLINE Tensor<T> broadcast_apply(const char* op, const Tensor<T>& a, const Tensor<T>& b,
                                            RunKernel<T> run) {
  if (a.shape() == b.shape()) {
    Tensor<T> out = empty<T>(a.shape());
    run(a.data_ptr(), true, b.data_ptr(), true, out.data_ptr(), out.numel());
    return out;
  }
  Tensor<T> out = empty<T>(broadcast_shapes(op, a.shape(), b.shape()));
  if (a.numel() == out.numel() && b.numel() == 1) {
    run(a.data_ptr(), true, b.data_ptr(), false, out.data_ptr(), out.numel());
    return out;
  }
  if (b.numel() == out.numel() && a.numel() == 1) {
    run(a.data_ptr(), false, b.data_ptr(), true, out.data_ptr(), out.numel());
    return out;
  }
  const BroadcastLoop loop = make_broadcast_loop(out.shape(), a.shape(), b.shape());
  const bool a_runs = loop.strides[0].back() != 0, b_runs = loop.strides[1].back() != 0;
  const T* pa = a.data_ptr();
  const T* pb = b.data_ptr();
  T* po = out.data_ptr();
  for_each_run(loop, [&](std::int64_t oa, std::int64_t ob, std::int64_t row, std::int64_t len) {
    run(pa + oa, a_runs, pb + ob, b_runs, po + row * len, len);
  });
  return out;
}

// out = F()(a, b) with NumPy broadcasting. F is a stateless function object taking
// two Eigen array maps of equal length (one of the *Fn below, or your own).
template <typename F, typename T>
Tensor<T> binary_map(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
  static_assert(std::is_empty_v<F>, "binary_map: the element-wise function object must be stateless");
  return broadcast_apply<T>(op, a, b, &apply_run<T, F>);
}

struct AddFn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const { return a + b; }
};
struct SubFn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const { return a - b; }
};
struct MulFn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const { return a * b; }
};
struct DivFn {
  template <typename A, typename B>
  auto operator()(const A& a, const B& b) const { return a / b; }
};

// The sum of `x` over the dimensions that broadcasting expanded from `shape`:
// the adjoint of broadcasting `shape` up to x.shape().
template <typename T>
TAPEGRAD_NOINLINE Tensor<T> sum_to_kernel(const Tensor<T>& x, const Shape& shape) {
  Tensor<T> out = empty<T>(shape);
  if (out.numel() == 1) {
    out.data_ptr()[0] = vec(x).sum();
    return out;
  }
  fill(out, T(0));
  // Operand 0 is x (contiguous over the loop), operand 1 the output (stride 0 on
  // the summed dims).
  const BroadcastLoop loop = make_broadcast_loop(x.shape(), x.shape(), shape);
  const bool out_runs = loop.strides[1].back() != 0;
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for_each_run(loop, [&](std::int64_t ox, std::int64_t oo, std::int64_t, std::int64_t len) {
    const Eigen::Index m = static_cast<Eigen::Index>(len);
    if (out_runs)
      apply_run<T, AddFn>(po + oo, true, px + ox, true, po + oo, m);
    else
      po[oo] += ConstArrayMap<T>(px + ox, m).sum();
  });
  return out;
}

// x materialised at a broadcast shape (the adjoint of sum_to_kernel).
template <typename T>
TAPEGRAD_NOINLINE Tensor<T> expand_kernel(const Tensor<T>& x, const Shape& shape) {
  Tensor<T> out = empty<T>(shape);
  if (x.numel() == 1) {
    fill(out, x.data_ptr()[0]);
    return out;
  }
  const BroadcastLoop loop = make_broadcast_loop(shape, shape, x.shape());
  const bool x_runs = loop.strides[1].back() != 0;
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  for_each_run(loop, [&](std::int64_t oo, std::int64_t ox, std::int64_t, std::int64_t len) {
    const Eigen::Index m = static_cast<Eigen::Index>(len);
    if (x_runs)
      std::copy_n(px + ox, m, po + oo);
    else
      std::fill_n(po + oo, m, px[ox]);
  });
  return out;
}

}  // namespace detail
}  // namespace tapegrad
