#pragma once
// Pooling over the last two dims of [N, C, H, W] (or unbatched [C, H, W]) inputs, as
// torch.nn.functional: max_pool2d, avg_pool2d, adaptive_avg_pool2d,
// adaptive_max_pool2d, and the *_with_indices variants that also return the argmax.
//
// Every pool reads separable windows: output (y, x) reads the rows of window y
// times the columns of window x, only positions inside the input (padding never
// contributes a value: max pooling pads with -inf, average pooling with 0).
// Average pooling is linear: its backward is its adjoint, itself a recorded op whose
// backward is the pool again. Max pooling sends g to the recorded argmax
// (max_pool_scatter), whose backward picks at the argmax again (max_pool_pick).

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "../core.hpp"
#include "conv.hpp"
#include "indexing.hpp"

namespace tapegrad {
namespace detail {

// Windows along one spatial axis: output o reads input positions first[o] + i * step
// for i < count[o], all inside [0, in). For average pooling, factor[o] is this axis'
// part of the divisor.
struct PoolAxis {
  std::int64_t in = 0, out = 0, step = 1;
  std::vector<std::int64_t> first, count, factor;
};

struct PoolPlan {
  std::int64_t planes = 0;   // N * C
  PoolAxis rows, cols;       // H and W
  std::int64_t divisor = 0;  // avg: divisor_override; 0 = rows.factor * cols.factor
  Shape in_shape, out_shape;
  std::int64_t in_size() const { return rows.in * cols.in; }
  std::int64_t out_size() const { return rows.out * cols.out; }
};

// Floor division for a possibly negative numerator and a positive divisor.
inline std::int64_t pool_floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling_output_shape: with ceil_mode the last window may run past the
// padded input but must start inside the input or the left padding.
inline std::int64_t pooled_size(std::int64_t in, std::int64_t k, std::int64_t pad, std::int64_t stride,
                                std::int64_t dilation, bool ceil_mode) {
  std::int64_t out = pool_floor_div(in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Windows of a strided pool: window o covers o*stride - pad + i*dilation, i < k.
inline PoolAxis strided_axis(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                             std::int64_t pad, std::int64_t dilation, bool count_include_pad) {
  PoolAxis a;
  a.in = in;
  a.out = out;
  a.step = dilation;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t start = o * stride - pad;
    const std::int64_t i0 = start >= 0 ? 0 : (-start + dilation - 1) / dilation;  // first tap inside
    const std::int64_t i1 = in - start <= 0 ? 0 : std::min(k, (in - start + dilation - 1) / dilation);
    a.first.push_back(start + i0 * dilation);
    a.count.push_back(std::max<std::int64_t>(i1 - i0, 0));
    // avg_pool2d (dilation 1): the window clipped to the padded input, or to the input
    a.factor.push_back(count_include_pad ? std::min(start + k, in + pad) - start : a.count.back());
  }
  return a;
}

// Windows of an adaptive pool: window o is [floor(o*in/out), ceil((o+1)*in/out)).
inline PoolAxis adaptive_axis(std::int64_t in, std::int64_t out) {
  PoolAxis a;
  a.in = in;
  a.out = out;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t start = o * in / out, end = ((o + 1) * in + out - 1) / out;
    a.first.push_back(start);
    a.count.push_back(end - start);
    a.factor.push_back(end - start);
  }
  return a;
}

// Checks a pool's input ([C, H, W] or [N, C, H, W], non-empty except the batch) and
// starts its plan.
inline PoolPlan pool_input(const char* op, const Shape& shape) {
  if (shape.size() != 3 && shape.size() != 4)
    fail<ShapeError>(op, ": expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape ", show(shape));
  for (std::size_t d = shape.size() - 3; d < shape.size(); ++d)
    if (shape[d] == 0)
      fail<ShapeError>(op, ": expected a non-empty input except for the batch dimension, got shape ", show(shape),
                       " with dimension ", d, " empty");
  PoolPlan p;
  p.planes = numel_of(Shape(shape.begin(), shape.end() - 2));
  p.in_shape = shape;
  return p;
}

inline void set_out_shape(PoolPlan& p) {
  p.out_shape = Shape(p.in_shape.begin(), p.in_shape.end() - 2);
  p.out_shape.push_back(p.rows.out);
  p.out_shape.push_back(p.cols.out);
}

// max_pool2d and avg_pool2d: checks every argument and builds the windows.
inline PoolPlan strided_plan(const char* op, const Shape& shape, Int2 kernel, Int2 stride, Int2 padding,
                             Int2 dilation, bool ceil_mode, bool count_include_pad) {
  PoolPlan p = pool_input(op, shape);
  if (!kernel.given()) fail<ValueError>(op, ": kernel_size must be given");
  stride = stride.or_default(kernel);
  padding = padding.or_default(0);
  dilation = dilation.or_default(1);
  check_positive(op, "kernel_size", kernel, 2);
  check_positive(op, "stride", stride, 2);
  check_positive(op, "dilation", dilation, 2);
  check_non_negative(op, "padding", padding, 2);
  const std::int64_t eh = dilation.h() * (kernel.h() - 1) + 1, ew = dilation.w() * (kernel.w() - 1) + 1;
  if (padding.h() > eh / 2 || padding.w() > ew / 2)
    fail<ValueError>(op, ": padding ", pair_text(padding), " must be at most half of the effective kernel size ",
                     pair_text(eh, ew), " (kernel ", pair_text(kernel), ", dilation ", pair_text(dilation), ")");
  const std::int64_t h = shape[shape.size() - 2], w = shape.back();
  const std::int64_t oh = pooled_size(h, kernel.h(), padding.h(), stride.h(), dilation.h(), ceil_mode);
  const std::int64_t ow = pooled_size(w, kernel.w(), padding.w(), stride.w(), dilation.w(), ceil_mode);
  if (oh < 1 || ow < 1)
    fail<ShapeError>(op, ": the kernel of effective size ", pair_text(eh, ew), " (kernel ", pair_text(kernel),
                     ", dilation ", pair_text(dilation), ") is larger than the padded input ",
                     pair_text(h + 2 * padding.h(), w + 2 * padding.w()), " (input ", pair_text(h, w),
                     " plus padding ", pair_text(padding), " on each side), so the output size would be ",
                     pair_text(oh, ow), "; use a smaller kernel or more padding");
  p.rows = strided_axis(h, oh, kernel.h(), stride.h(), padding.h(), dilation.h(), count_include_pad);
  p.cols = strided_axis(w, ow, kernel.w(), stride.w(), padding.w(), dilation.w(), count_include_pad);
  set_out_shape(p);
  return p;
}

inline PoolPlan adaptive_plan(const char* op, const Shape& shape, Int2 output_size) {
  PoolPlan p = pool_input(op, shape);
  if (!output_size.given()) fail<ValueError>(op, ": output_size must be given");
  check_non_negative(op, "output_size", output_size, 2);
  p.rows = adaptive_axis(shape[shape.size() - 2], output_size.h());
  p.cols = adaptive_axis(shape.back(), output_size.w());
  set_out_shape(p);
  return p;
}

// ---- average pooling: the window sums and their adjoint ----

template <typename T>
T pool_divisor(const PoolPlan& p, std::int64_t y, std::int64_t x) {
  return static_cast<T>(p.divisor != 0 ? p.divisor
                                       : p.rows.factor[static_cast<std::size_t>(y)] *
                                             p.cols.factor[static_cast<std::size_t>(x)]);
}

// out[y, x] = (sum of the window's elements) / divisor, per plane.
template <typename T>
Tensor<T> avg_kernel(const Tensor<T>& x, const PoolPlan& p) {
  Tensor<T> out = empty<T>(p.out_shape);
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  const std::int64_t W = p.cols.in;
  for (std::int64_t plane = 0; plane < p.planes; ++plane) {
    const T* src = px + plane * p.in_size();
    T* dst = po + plane * p.out_size();
    for (std::int64_t y = 0; y < p.rows.out; ++y) {
      const auto yi = static_cast<std::size_t>(y);
      for (std::int64_t x0 = 0; x0 < p.cols.out; ++x0) {
        const auto xi = static_cast<std::size_t>(x0);
        T total = T(0);
        for (std::int64_t r = p.rows.first[yi], re = r + p.rows.count[yi]; r < re; ++r)
          for (std::int64_t c = p.cols.first[xi], ce = c + p.cols.count[xi]; c < ce; ++c) total += src[r * W + c];
        dst[y * p.cols.out + x0] = total / pool_divisor<T>(p, y, x0);
      }
    }
  }
  return out;
}

// The adjoint: each window's element gets g[y, x] / divisor (overlaps add up).
template <typename T>
Tensor<T> avg_adjoint_kernel(const Tensor<T>& g, const PoolPlan& p) {
  Tensor<T> out = empty<T>(p.in_shape);
  fill(out, T(0));
  const T* pg = g.data_ptr();
  T* po = out.data_ptr();
  const std::int64_t W = p.cols.in;
  for (std::int64_t plane = 0; plane < p.planes; ++plane) {
    const T* src = pg + plane * p.out_size();
    T* dst = po + plane * p.in_size();
    for (std::int64_t y = 0; y < p.rows.out; ++y) {
      const auto yi = static_cast<std::size_t>(y);
      for (std::int64_t x0 = 0; x0 < p.cols.out; ++x0) {
        const auto xi = static_cast<std::size_t>(x0);
        const T share = src[y * p.cols.out + x0] / pool_divisor<T>(p, y, x0);
        for (std::int64_t r = p.rows.first[yi], re = r + p.rows.count[yi]; r < re; ++r)
          for (std::int64_t c = p.cols.first[xi], ce = c + p.cols.count[xi]; c < ce; ++c) dst[r * W + c] += share;
      }
    }
  }
  return out;
}

template <typename T>
Tensor<T> avg_adjoint_op(const Tensor<T>& g, const PoolPlan& p, const char* name, const char* adjoint_name);

// The average pool as a recorded op (name: AvgPool2DBackward0 or AdaptiveAvgPool2DBackward0).
template <typename T>
Tensor<T> avg_pool_op(const Tensor<T>& x, const PoolPlan& p, const char* name, const char* adjoint_name) {
  Tensor<T> out = avg_kernel(x, p);
  // Linear: d/dx = the adjoint, g[y, x] / divisor spread over window (y, x).
  return record(out, name, {x}, [p, name, adjoint_name](Grads<T>& g) {
    g.in[0] = avg_adjoint_op(g.out, p, name, adjoint_name);
  });
}

template <typename T>
Tensor<T> avg_adjoint_op(const Tensor<T>& g, const PoolPlan& p, const char* name, const char* adjoint_name) {
  Tensor<T> out = avg_adjoint_kernel(g, p);
  // Linear in g; its adjoint is the pool again.
  return record(out, adjoint_name, {g}, [p, name, adjoint_name](Grads<T>& gr) {
    gr.in[0] = avg_pool_op(gr.out, p, name, adjoint_name);
  });
}

// ---- max pooling ----

// Windows along an axis that all hold the same number of taps and start `stride`
// apart (no padding clipped them): the max pool's row-at-a-time path.
inline bool uniform_axis(const PoolAxis& a, std::int64_t& stride) {
  stride = a.out > 1 ? a.first[1] - a.first[0] : 1;
  for (std::int64_t o = 0; o < a.out; ++o) {
    const auto i = static_cast<std::size_t>(o);
    if (a.count[i] != a.count[0] || a.first[i] != a.first[0] + o * stride) return false;
  }
  return true;
}

// One row of 2x2 windows with stride 2 (max_pool2d(x, 2), most conv nets' pooling): each
// output's four taps in registers, in the row-major order and with the selects of the
// general loop below (the same winner on ties and NaNs), one store per output instead of
// one per tap. The winning tap is kept as a 32-bit code beside the 32-bit floats so the
// loop vectorizes (an int64 index per lane would not); a second loop turns codes into
// flat indices. `at` is the flat index of the first tap of window 0.
template <typename T>
void max_rows_2x2(const T* __restrict top, std::int64_t W, std::int64_t at, std::int64_t ow, T* __restrict best,
                  std::int64_t* __restrict best_at) {
  const T* __restrict bottom = top + W;
  constexpr std::int64_t kChunk = 256;
  std::int32_t code[kChunk];
  for (std::int64_t start = 0; start < ow; start += kChunk) {
    const std::int64_t n = std::min(kChunk, ow - start);
    const T* __restrict t = top + 2 * start;
    const T* __restrict u = bottom + 2 * start;
    T* __restrict out = best + start;
    for (std::int64_t o = 0; o < n; ++o) {
      // The first tap always wins against the general loop's -inf start (a NaN too).
      T b = t[2 * o];
      std::int32_t k = 0;
      const T v1 = t[2 * o + 1], v2 = u[2 * o], v3 = u[2 * o + 1];
      bool take = (v1 > b) | (v1 != v1);
      b = take ? v1 : b;
      k = take ? 1 : k;
      take = (v2 > b) | (v2 != v2);
      b = take ? v2 : b;
      k = take ? 2 : k;
      take = (v3 > b) | (v3 != v3);
      b = take ? v3 : b;
      k = take ? 3 : k;
      out[o] = b;
      code[o] = k;
    }
    for (std::int64_t o = 0; o < n; ++o)  // code (row, col) = (k >> 1, k & 1)
      best_at[start + o] = at + 2 * (start + o) + (code[o] >> 1) * W + (code[o] & 1);
  }
}

// The maximum of each window and its position as a flat index y * W + x into the
// input's plane (PyTorch's return_indices); -1 for a window that holds no input
// position (possible only with dilation and padding), whose value is -inf.
// NOTE: on ties the first maximum in row-major window order wins (as PyTorch's CPU
// kernel); a nan counts as the maximum so it propagates.
template <typename T>
Tensor<T> max_kernel(const Tensor<T>& x, const PoolPlan& p, Tensor<std::int64_t>& indices) {
  Tensor<T> out = empty<T>(p.out_shape);
  indices = empty<std::int64_t>(p.out_shape);
  const T* px = x.data_ptr();
  T* po = out.data_ptr();
  std::int64_t* pi = indices.data_ptr();
  const std::int64_t W = p.cols.in, ow = p.cols.out;
  std::int64_t col_stride = 1;
  const bool rows_of_windows = uniform_axis(p.cols, col_stride);
  for (std::int64_t plane = 0; plane < p.planes; ++plane) {
    const T* src = px + plane * p.in_size();
    for (std::int64_t y = 0; y < p.rows.out; ++y) {
      const auto yi = static_cast<std::size_t>(y);
      const std::int64_t r0 = p.rows.first[yi], nr = p.rows.count[yi];
      T* best = po + plane * p.out_size() + y * ow;
      std::int64_t* best_at = pi + plane * p.out_size() + y * ow;
      if (rows_of_windows && nr > 0 && ow > 0 && p.cols.count[0] > 0) {
        // A whole row of windows at once, tap by tap in row-major window order: the
        // selects have no branch (which element wins is a coin toss on real data, and
        // a mispredicted branch per element had made this a sixth of a conv net step).
        const std::int64_t c0 = p.cols.first[0], nc = p.cols.count[0];
        if (nr == 2 && nc == 2 && col_stride == 2 && p.rows.step == 1 && p.cols.step == 1) {
          max_rows_2x2(src + r0 * W + c0, W, r0 * W + c0, ow, best, best_at);  // a conv net's pool
          continue;
        }
        for (std::int64_t o = 0; o < ow; ++o) {  // as the window loop below: -inf at the first tap
          best[o] = -std::numeric_limits<T>::infinity();
          best_at[o] = r0 * W + c0 + o * col_stride;
        }
        for (std::int64_t i = 0; i < nr; ++i)
          for (std::int64_t j = 0; j < nc; ++j) {
            const std::int64_t tap = (r0 + i * p.rows.step) * W + c0 + j * p.cols.step;
            const T* row = src + tap;
            for (std::int64_t o = 0; o < ow; ++o) {
              const T v = row[o * col_stride];
              const bool take = (v > best[o]) | (v != v);
              best[o] = take ? v : best[o];
              best_at[o] = take ? tap + o * col_stride : best_at[o];
            }
          }
        continue;
      }
      for (std::int64_t x0 = 0; x0 < ow; ++x0) {
        const auto xi = static_cast<std::size_t>(x0);
        const std::int64_t c0 = p.cols.first[xi], nc = p.cols.count[xi];
        T top = -std::numeric_limits<T>::infinity();
        std::int64_t top_at = nr > 0 && nc > 0 ? r0 * W + c0 : -1;
        for (std::int64_t i = 0; i < nr; ++i) {
          const std::int64_t row_at = (r0 + i * p.rows.step) * W + c0;
          const T* row = src + row_at;
          for (std::int64_t j = 0; j < nc; ++j) {
            const T v = row[j * p.cols.step];
            if (v > top || v != v) {
              top = v;
              top_at = row_at + j * p.cols.step;
            }
          }
        }
        best[x0] = top;
        best_at[x0] = top_at;
      }
    }
  }
  return out;
}

// Max pooling's backward and its adjoint as ops of their own. `target` [planes, L]
// holds, for window l of a plane, the input position (in the plane of hw pixels) of
// its maximum, or hw for a window without input positions.
//   scatter: gx = 0 of [planes, hw]; gx[p, target[p, l]] += g[p, l]   (the backward)
//   pick:    out[p, l] = gx[p, target[p, l]] (0 for hw)                (its adjoint)
// Each is linear, and each one's backward is the other, so every order is recorded.
// (This was scatter_add into zeros: its general index walk cost more than the adds.)
template <typename T>
Tensor<T> max_pool_pick(const Tensor<T>& gx, const Tensor<std::int64_t>& target, std::int64_t hw);

template <typename T>
Tensor<T> max_pool_scatter(const Tensor<T>& g, const Tensor<std::int64_t>& target, std::int64_t hw) {
  const std::int64_t planes = target.size(0), L = target.size(1);
  Tensor<T> gx = zeros<T>(Shape{planes, hw});
  const std::int64_t* pt = target.data_ptr();
  const T* pg = g.data_ptr();
  T* po = gx.data_ptr();
  for (std::int64_t p = 0; p < planes; ++p, po += hw)
    for (std::int64_t l = 0; l < L; ++l, ++pt, ++pg)
      if (*pt < hw) po[*pt] += *pg;
  return record(gx, "MaxPool2DWithIndicesBackwardBackward0", {g},
                [target, hw](Grads<T>& gr) { gr.in[0] = max_pool_pick(gr.out, target, hw); });
}

template <typename T>
Tensor<T> max_pool_pick(const Tensor<T>& gx, const Tensor<std::int64_t>& target, std::int64_t hw) {
  const std::int64_t planes = target.size(0), L = target.size(1);
  Tensor<T> out = empty<T>(Shape{planes, L});
  const std::int64_t* pt = target.data_ptr();
  const T* px = gx.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t p = 0; p < planes; ++p, px += hw)
    for (std::int64_t l = 0; l < L; ++l, ++pt, ++po) *po = *pt < hw ? px[*pt] : T(0);
  return record(out, "GatherBackward0", {gx},
                [target, hw](Grads<T>& gr) { gr.in[0] = max_pool_scatter(gr.out, target, hw); });
}

// A max pool as one recorded op. d/dx: g[y, x] goes to the argmax of window (y, x)
// (gradients of windows sharing an argmax add up); a window without input positions
// sends its gradient nowhere.
template <typename T>
MaxResult<T> max_pool_op(const char* name, const Tensor<T>& x, const PoolPlan& p) {
  Tensor<std::int64_t> indices;
  Tensor<T> out = max_kernel(x, p, indices);
  if (!should_record<T>(InputList<T>{x})) return {out, indices};
  // The backward's own copy of the indices as [planes, L] (the caller may change
  // `indices`), an empty window's -1 as hw.
  const std::int64_t hw = p.in_size(), L = p.out_size();
  Tensor<std::int64_t> target = empty<std::int64_t>(Shape{p.planes, L});
  for (std::int64_t i = 0, n = indices.numel(); i < n; ++i) {
    const std::int64_t at = indices.data_ptr()[i];
    target.data_ptr()[i] = at < 0 ? hw : at;
  }
  out = record(out, name, {x}, [target, hw, L, planes = p.planes, shape = p.in_shape](Grads<T>& g) {
    g.in[0] = reshape(max_pool_scatter(reshape(g.out, Shape{planes, L}), target, hw), shape);
  });
  return {out, indices};
}

}  // namespace detail

// ---- max pooling ----

// Max pooling over kH x kW windows, as torch.nn.functional.max_pool2d: x [N, C, H, W]
// or [C, H, W]. stride defaults to kernel_size ({} keeps the default); padding (at
// most half the effective kernel) pads with -inf; dilation spreads the window;
// ceil_mode rounds the output size up. Output size per dimension:
//   floor((H + 2*padding - dilation*(kH - 1) - 1) / stride) + 1   (ceil with ceil_mode)
// NOTE: the gradient goes to the first maximum of each window (as PyTorch).
template <typename T>
MaxResult<T> max_pool2d_with_indices(const Tensor<T>& x, Int2 kernel_size, Int2 stride = Int2(), Int2 padding = 0,
                                     Int2 dilation = 1, bool ceil_mode = false) {
  const detail::PoolPlan p =
      detail::strided_plan("max_pool2d", x.shape(), kernel_size, stride, padding, dilation, ceil_mode, true);
  return detail::max_pool_op("MaxPool2DWithIndicesBackward0", x, p);
}

template <typename T>
Tensor<T> max_pool2d(const Tensor<T>& x, Int2 kernel_size, Int2 stride = Int2(), Int2 padding = 0, Int2 dilation = 1,
                     bool ceil_mode = false) {
  return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode).values;
}

// ---- average pooling ----

// Average pooling, as torch.nn.functional.avg_pool2d: the mean of each kH x kW window.
// Padding (at most half the kernel) counts as zeros in the mean when count_include_pad
// (the divisor is the window clipped to the padded input), else the divisor is the
// number of input elements in the window; divisor_override replaces the divisor.
template <typename T>
Tensor<T> avg_pool2d(const Tensor<T>& x, Int2 kernel_size, Int2 stride = Int2(), Int2 padding = 0,
                     bool ceil_mode = false, bool count_include_pad = true,
                     std::optional<std::int64_t> divisor_override = std::nullopt) {
  detail::PoolPlan p =
      detail::strided_plan("avg_pool2d", x.shape(), kernel_size, stride, padding, 1, ceil_mode, count_include_pad);
  if (divisor_override) {
    if (*divisor_override == 0) detail::fail<ValueError>("avg_pool2d: divisor_override must be nonzero, got 0");
    p.divisor = *divisor_override;
  }
  return detail::avg_pool_op(x, p, "AvgPool2DBackward0", "AvgPool2DBackwardBackward0");
}

// ---- adaptive pooling ----

// Average pooling to a fixed output size, as torch.nn.functional.adaptive_avg_pool2d:
// output (y, x) averages rows [floor(y*H/oh), ceil((y+1)*H/oh)) and the columns
// likewise (windows may overlap when the size does not divide).
// NOTE: PyTorch records output_size (1, 1) as a mean (MeanBackward1); here it is
// always AdaptiveAvgPool2DBackward0, with the same values and gradients.
template <typename T>
Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, Int2 output_size) {
  const detail::PoolPlan p = detail::adaptive_plan("adaptive_avg_pool2d", x.shape(), output_size);
  return detail::avg_pool_op(x, p, "AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool2DBackwardBackward0");
}

// Max pooling to a fixed output size (the windows of adaptive_avg_pool2d), with the
// argmax of each window (flat y * W + x in the input's plane).
// NOTE: the gradient goes to the first maximum of each window.
template <typename T>
MaxResult<T> adaptive_max_pool2d_with_indices(const Tensor<T>& x, Int2 output_size) {
  const detail::PoolPlan p = detail::adaptive_plan("adaptive_max_pool2d", x.shape(), output_size);
  return detail::max_pool_op("AdaptiveMaxPool2DBackward0", x, p);
}

template <typename T>
Tensor<T> adaptive_max_pool2d(const Tensor<T>& x, Int2 output_size) {
  return adaptive_max_pool2d_with_indices(x, output_size).values;
}

}  // namespace tapegrad
