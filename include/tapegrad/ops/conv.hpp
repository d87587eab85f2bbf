#pragma once
// Convolution in PyTorch's layouts (NCHW, NCL; the batch dim may be left out):
// unfold/fold (im2col/col2im), conv1d, conv2d, conv_transpose1d, conv_transpose2d.
//
// unfold and fold are each other's adjoint and each other's backward, both recorded.
// conv2d is im2col into a [C*kh*kw, chunk*L] buffer followed by one Eigen GEMM per group
// and chunk of samples (L = output positions; a chunk holds one sample when L is large,
// enough samples for a GEMM of at least kConvChunkColumns columns otherwise);
// conv_transpose2d is its adjoint: one GEMM per group and chunk, then col2im. With
// stride 1 and no padding (from AVX on) all three products read and write the image
// in place through row_gemm instead, with no column buffer (the wide layout below).
// Both record a single node, ConvolutionBackward0:
//
//   y = conv(x, W) + b, per group  Y_g = W_g cols(x)_g:
//     dx = conv_transpose(dy, W)   (= col2im(W_g^T dY_g))
//     dW_g = sum_n dY_g cols(x)_g^T        db = dy summed over samples and positions
//   y = conv_transpose(x, W) + b, per group  y = col2im(W_g^T X_g):
//     dx = conv(dy, W)             (= W_g cols(dy)_g)
//     dW_g = sum_n X_g cols(dy)_g^T        db as above
//
// The input gradient runs the adjoint convolution (the same fast kernels, recorded as
// another ConvolutionBackward0), the weight gradient is a recorded op whose own
// adjoints are again convolutions, so derivatives of every order are recorded.

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core.hpp"
#include "../core/gemm.hpp"
#include "../core/row_gemm.hpp"

namespace tapegrad {

// A pair of ints (height, width) that also takes one int for both, like PyTorch's
// int-or-tuple arguments: conv2d(x, w, b, 2, {1, 0}). A default-constructed Int2 ({})
// stands for the op's default, like passing None in PyTorch: max_pool2d(x, 3, {}, 1).
// bool and floating-point values are refused at compile time (no silent truncation,
// and max_pool2d(x, 2, 2, 0, true) does not turn `true` into a dilation).
class Int2 {
 public:
  Int2() = default;
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Int2(I both) : h_(static_cast<std::int64_t>(both)), w_(static_cast<std::int64_t>(both)), given_(true) {}  // NOLINT
  Int2(std::int64_t h, std::int64_t w) : h_(h), w_(w), given_(true) {}
  Int2(const std::array<std::int64_t, 2>& hw) : Int2(hw[0], hw[1]) {}  // NOLINT
  template <typename F, std::enable_if_t<std::is_floating_point_v<F> || std::is_same_v<F, bool>, int> = 0>
  Int2(F) = delete;

  std::int64_t h() const { return h_; }
  std::int64_t w() const { return w_; }
  // False for {}: the op uses its default.
  bool given() const { return given_; }
  Int2 or_default(Int2 fallback) const { return given_ ? *this : fallback; }
  std::array<std::int64_t, 2> array() const { return {h_, w_}; }

 private:
  std::int64_t h_ = 0, w_ = 0;
  bool given_ = false;
};

// conv2d's padding: sizes (an int or a pair), or "valid" (no padding) or "same"
// (the output has the input's size; stride 1 only; an odd total pads one more on the
// bottom/right, as PyTorch).
class Padding2 {
 public:
  Padding2() : size_(0) {}
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Padding2(I both) : size_(both) {}  // NOLINT
  Padding2(std::int64_t h, std::int64_t w) : size_(h, w) {}
  Padding2(const std::array<std::int64_t, 2>& hw) : size_(hw) {}  // NOLINT
  Padding2(Int2 size) : size_(size.or_default(0)) {}             // NOLINT
  Padding2(const char* mode) : mode_(mode) {}                     // NOLINT
  Padding2(std::string mode) : mode_(std::move(mode)) {}          // NOLINT
  template <typename F, std::enable_if_t<std::is_floating_point_v<F> || std::is_same_v<F, bool>, int> = 0>
  Padding2(F) = delete;

  const Int2& size() const { return size_; }
  // "" for explicit sizes, else the mode string as given.
  const std::string& mode() const { return mode_; }

 private:
  Int2 size_;
  std::string mode_;
};

namespace detail {

// "[h, w]" for 2-D ops, "[w]" for the 1-D ones (which run as 2-D with height 1).
inline std::string pair_text(std::int64_t h, std::int64_t w, int spatial = 2) {
  return spatial == 1 ? "[" + std::to_string(w) + "]" : "[" + std::to_string(h) + ", " + std::to_string(w) + "]";
}
inline std::string pair_text(const Int2& v, int spatial = 2) { return pair_text(v.h(), v.w(), spatial); }

// Where the sliding blocks of a convolution read an image [n, c, h, w]: block (y, x)
// with kernel offset (i, j) reads pixel (y*sh - ph + i*dh, x*sw - pw + j*dw), zero
// outside the image. ph, pw are the padding before (top, left); the padding after
// follows from the explicit block counts oh, ow (so "same" may pad asymmetrically,
// and conv_transpose can crop).
struct ConvGeometry {
  std::int64_t n = 1, c = 1, h = 1, w = 1;
  std::int64_t kh = 1, kw = 1;
  std::int64_t sh = 1, sw = 1;
  std::int64_t ph = 0, pw = 0;
  std::int64_t dh = 1, dw = 1;
  std::int64_t oh = 1, ow = 1;
  std::int64_t rows() const { return c * kh * kw; }  // rows of the column matrix
  std::int64_t image_size() const { return c * h * w; }  // one sample's image
  std::int64_t blocks() const { return oh * ow; }    // its columns (per sample)
};

// The block positions o in [0, count) whose pixel o*stride + offset lies in [0, size).
inline std::pair<std::int64_t, std::int64_t> valid_blocks(std::int64_t offset, std::int64_t stride, std::int64_t size,
                                                          std::int64_t count) {
  std::int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  std::int64_t hi = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
  lo = std::min(lo, count);
  hi = std::clamp(hi, lo, count);
  return {lo, hi};
}

// im2col: cols(s, r, l) = image pixel read by row r (channel, kernel offset) for block l
// of sample s; element (s, r, l) lives at s * sample_stride + r * row_stride + l, so
// the same loop fills [n, rows, L] (sample_stride = rows*L, row_stride = L) and the
// [rows, n*L] layout of conv's single GEMM (sample_stride = L, row_stride = n*L).
// Each (s, r) writes one contiguous run of L values, row by row of the image.
template <typename T>
void im2col(const T* image, T* cols, const ConvGeometry& g, std::int64_t sample_stride, std::int64_t row_stride) {
  for (std::int64_t s = 0; s < g.n; ++s)
    for (std::int64_t c = 0; c < g.c; ++c) {
      const T* plane = image + (s * g.c + c) * g.h * g.w;
      for (std::int64_t i = 0; i < g.kh; ++i)
        for (std::int64_t j = 0; j < g.kw; ++j) {
          const std::int64_t r = (c * g.kh + i) * g.kw + j;
          T* out = cols + s * sample_stride + r * row_stride;
          const std::int64_t x_off = j * g.dw - g.pw;
          const auto [x0, x1] = valid_blocks(x_off, g.sw, g.w, g.ow);
          for (std::int64_t y = 0; y < g.oh; ++y) {
            T* dst = out + y * g.ow;
            const std::int64_t iy = y * g.sh - g.ph + i * g.dh;
            if (iy < 0 || iy >= g.h) {
              std::fill_n(dst, g.ow, T(0));
              continue;
            }
            const T* src = plane + iy * g.w;  // index it only at valid pixels x * sw + x_off
            std::fill_n(dst, x0, T(0));
            if (g.sw == 1) {
              for (std::int64_t x = x0; x < x1; ++x) dst[x] = src[x + x_off];
            } else {
              for (std::int64_t x = x0; x < x1; ++x) dst[x] = src[x * g.sw + x_off];
            }
            std::fill(dst + x1, dst + g.ow, T(0));
          }
        }
    }
}

// col2im, the adjoint of im2col: adds every column entry into the pixel it was read
// from. `image` must be zeroed (or hold what the sums add to).
template <typename T>
void col2im(const T* cols, T* image, const ConvGeometry& g, std::int64_t sample_stride, std::int64_t row_stride) {
  for (std::int64_t s = 0; s < g.n; ++s)
    for (std::int64_t c = 0; c < g.c; ++c) {
      T* plane = image + (s * g.c + c) * g.h * g.w;
      for (std::int64_t i = 0; i < g.kh; ++i)
        for (std::int64_t j = 0; j < g.kw; ++j) {
          const std::int64_t r = (c * g.kh + i) * g.kw + j;
          const T* in = cols + s * sample_stride + r * row_stride;
          const std::int64_t x_off = j * g.dw - g.pw;
          const auto [x0, x1] = valid_blocks(x_off, g.sw, g.w, g.ow);
          for (std::int64_t y = 0; y < g.oh; ++y) {
            const std::int64_t iy = y * g.sh - g.ph + i * g.dh;
            if (iy < 0 || iy >= g.h) continue;
            const T* src = in + y * g.ow;
            T* dst = plane + iy * g.w;
            if (g.sw == 1) {  // contiguous: vectorises
              for (std::int64_t x = x0; x < x1; ++x) dst[x + x_off] += src[x];
            } else {
              for (std::int64_t x = x0; x < x1; ++x) dst[x * g.sw + x_off] += src[x];
            }
          }
        }
    }
}

// ---- The wide layout of stride-1 convolutions without padding ----
// Such a convolution can index its blocks over the image's full width: block (y, x)
// at column y*w + x with x in [0, w) instead of y*ow + x with x in [0, ow). Row
// r = (c, i, j) of im2col is then the plane itself, shifted by (i*dh, j*dw): one
// contiguous run that row_gemm reads (conv, weight gradient) or adds into (transposed
// conv) in place, with no column buffer and no im2col/col2im copies. Columns x >= ow
// are junk: they read pixels wrapped around from the next image row. The products
// carry them along (w/ow more columns, hence the limit of 1/8 junk); the forward
// drops them, and the backward passes zeros there on its gradient side, so they add
// exact zeros (0 * x = 0 for finite x: a non-finite image or weight takes the
// column-buffer path instead).
//
// The layout's products run on row_gemm, which beats Eigen's GEMM from AVX on (one
// broadcast load per value of A); SSE2 has no broadcast load, and there the column
// buffer and Eigen's GEMM are faster (the conv step of docs/performance.md: 26.2 ms
// against 23.0). TAPEGRAD_WIDE_CONV=1 or 0 forces the choice (the tests build both).
#ifndef TAPEGRAD_WIDE_CONV
#ifdef EIGEN_VECTORIZE_AVX
#define TAPEGRAD_WIDE_CONV 1
#else
#define TAPEGRAD_WIDE_CONV 0
#endif
#endif
inline bool wide_layout(const ConvGeometry& g) {
  const bool unpadded_stride_1 = g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  const bool blocks_inside = g.oh + g.dh * (g.kh - 1) <= g.h && g.ow + g.dw * (g.kw - 1) <= g.w;
  return TAPEGRAD_WIDE_CONV && unpadded_stride_1 && blocks_inside && g.oh > 1 && 8 * (g.w - g.ow) <= g.w;
}
inline std::int64_t wide_blocks(const ConvGeometry& g) { return g.oh * g.w; }  // columns per sample
// The part of a wide row that lies inside the plane: up to the last real block.
inline std::int64_t wide_run(const ConvGeometry& g) { return (g.oh - 1) * g.w + g.ow; }

// One sample [channels, oh*ow] (as tensors hold it) <-> the wide layout [channels, oh*w]
// (junk columns zero).
template <typename T>
void sample_to_wide(const T* src, T* dst, std::int64_t channels, const ConvGeometry& g) {
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t y = 0; y < g.oh; ++y) {
      T* row = dst + (c * g.oh + y) * g.w;
      std::copy_n(src + (c * g.oh + y) * g.ow, g.ow, row);
      std::fill(row + g.ow, row + g.w, T(0));
    }
}
template <typename T>
void wide_to_sample(const T* src, T* dst, std::int64_t channels, const ConvGeometry& g) {
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t y = 0; y < g.oh; ++y) std::copy_n(src + (c * g.oh + y) * g.w, g.ow, dst + (c * g.oh + y) * g.ow);
}

// True when every one of the n values at p is finite.
template <typename T>
bool all_finite(const T* p, std::int64_t n) {
  return ConstArrayMap<T>(p, n).allFinite();
}

// The im2col rows of one sample in the wide layout, read in place: row (c, i, j)
// starts at pixel (i*dh, j*dw) of plane c and is valid for wide_run(g) values.
template <typename P>  // const T (a conv's input) or T (the image a transposed conv adds into)
void wide_image_rows(P* sample, const ConvGeometry& g, std::vector<P*>& rows) {
  rows.resize(static_cast<std::size_t>(g.rows()));
  for (std::int64_t c = 0; c < g.c; ++c)
    for (std::int64_t i = 0; i < g.kh; ++i)
      for (std::int64_t j = 0; j < g.kw; ++j)
        rows[static_cast<std::size_t>((c * g.kh + i) * g.kw + j)] = sample + (c * g.h + i * g.dh) * g.w + j * g.dw;
}

// C[n, m] = A[n, k] B[k, m] on raw row-major buffers: matmul's product (core/gemm.hpp),
// the kernel dispatched by CPU or the same Eigen product kernel (compiled once per program).
template <typename T>
void gemm_into(const T* a, const T* b, T* c, std::int64_t n, std::int64_t k, std::int64_t m) {
  gemm_row_major(n, m, k, a, b, c);
}

// The convolutions' per-thread scratch (core/gemm.hpp's thread_scratch, apart from the
// product's own packing buffers). `Slot` tells apart the buffers one kernel uses at the
// same time.
struct ConvScratch {};
template <typename T, int Slot>
T* conv_scratch(std::int64_t n) {
  return thread_scratch<T, ConvScratch, Slot>(n);
}

template <typename T>
Tensor<T> fold_op(const Tensor<T>& cols, const ConvGeometry& g, const Shape& out_shape);

// im2col as a recorded op: the image data (x.numel() == n*c*h*w) to columns with
// shape `out_shape` (numel n * rows * blocks, layout [n, rows, blocks]).
template <typename T>
Tensor<T> unfold_op(const Tensor<T>& x, const ConvGeometry& g, const Shape& out_shape) {
  Tensor<T> out = empty<T>(out_shape);
  im2col(x.data_ptr(), out.data_ptr(), g, g.rows() * g.blocks(), g.blocks());
  // Linear in x; the adjoint of im2col is col2im.
  return record(out, "Im2ColBackward0", {x}, [g, shape = x.shape()](Grads<T>& gr) {
    gr.in[0] = fold_op(gr.out, g, shape);
  });
}

// col2im as a recorded op: columns [n, rows, blocks] summed into an image of
// `out_shape` (numel n*c*h*w).
template <typename T>
Tensor<T> fold_op(const Tensor<T>& cols, const ConvGeometry& g, const Shape& out_shape) {
  Tensor<T> out = empty<T>(out_shape);
  fill(out, T(0));
  col2im(cols.data_ptr(), out.data_ptr(), g, g.rows() * g.blocks(), g.blocks());
  // Linear in cols; the adjoint of col2im is im2col.
  return record(out, "Col2ImBackward0", {cols}, [g, shape = cols.shape()](Grads<T>& gr) {
    gr.in[0] = unfold_op(gr.out, g, shape);
  });
}

// A convolution as the engine sees it. geom's image is the input x for a conv and
// the output for a transposed conv (conv's adjoint); its blocks are the other side's
// pixels. The adjoint of a spec (transposed flipped, inputs and outputs swapped)
// keeps the geometry: that is how the backward reuses the forward kernels.
struct ConvSpec {
  ConvGeometry geom;
  std::int64_t groups = 1;
  bool transposed = false;
  std::int64_t in_channels = 0, out_channels = 0;
  Shape x_shape, w_shape, out_shape;  // as the caller sees them (batch dim optional, 1-D or 2-D)

  ConvSpec adjoint() const {
    ConvSpec a = *this;
    a.transposed = !transposed;
    std::swap(a.in_channels, a.out_channels);
    std::swap(a.x_shape, a.out_shape);
    return a;
  }
};

// out[s, o, :] += bias[o] over data laid out [n, channels, length].
template <typename T>
void add_channel_bias(Tensor<T>& out, const Tensor<T>& bias, std::int64_t n, std::int64_t channels,
                      std::int64_t length) {
  if (!bias.defined()) return;
  const T* pb = bias.data_ptr();
  T* po = out.data_ptr();
  for (std::int64_t s = 0; s < n; ++s)
    for (std::int64_t o = 0; o < channels; ++o) ArrayMap<T>(po + (s * channels + o) * length, length) += pb[o];
}

// Samples per GEMM. One sample at a time when it has enough output positions: its
// columns stay in cache between im2col and the GEMM, and the GEMM writes the [C, L]
// block of the output in place. Small images are grouped into chunks of at least
// kConvChunkColumns columns, so the GEMM still gets wide enough operands; those
// chunks are reordered between [C, chunk*L] and the [chunk, C, L] layout. (An earlier
// version put the whole batch in one GEMM: a conv net step of MNIST size spent a
// quarter of its time on the batch-sized column buffer and the reorders.)
constexpr std::int64_t kConvChunkColumns = 256;
inline std::int64_t conv_chunk(const ConvGeometry& g) {
  const std::int64_t L = std::max<std::int64_t>(g.blocks(), 1);
  return std::clamp<std::int64_t>((kConvChunkColumns + L - 1) / L, 1, std::max<std::int64_t>(g.n, 1));
}

// [nb, channels, L] (sample-major, as tensors hold it) <-> [channels, nb*L] (a chunk's GEMM layout).
template <typename T>
void samples_to_columns(const T* src, T* dst, std::int64_t nb, std::int64_t channels, std::int64_t L) {
  for (std::int64_t b = 0; b < nb; ++b)
    for (std::int64_t c = 0; c < channels; ++c) std::copy_n(src + (b * channels + c) * L, L, dst + (c * nb + b) * L);
}
template <typename T>
void columns_to_samples(const T* src, T* dst, std::int64_t nb, std::int64_t channels, std::int64_t L) {
  for (std::int64_t b = 0; b < nb; ++b)
    for (std::int64_t c = 0; c < channels; ++c) std::copy_n(src + (c * nb + b) * L, L, dst + (b * channels + c) * L);
}

// The geometry of samples [b0, b0 + nb) of g's batch.
inline ConvGeometry chunk_geometry(ConvGeometry g, std::int64_t nb) {
  g.n = nb;
  return g;
}

// Forward of conv. In the wide layout: per sample and group, row_gemm reads the
// im2col rows in place from the image into a wide [out_channels, oh*w] buffer, whose
// junk columns are dropped on the way to the output. Otherwise per chunk of samples:
// im2col into [rows, nb*L], one Eigen GEMM per group into [out_channels, nb*L]
// (straight into the output when nb == 1).
template <typename T>
Tensor<T> conv_kernel(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const ConvSpec& s) {
  const ConvGeometry& g = s.geom;
  const std::int64_t n = g.n, L = g.blocks(), G = s.groups, chunk = conv_chunk(g);
  const std::int64_t rows_g = g.rows() / G, out_g = s.out_channels / G;
  Tensor<T> out = empty<T>(s.out_shape);
  if (wide_layout(g)) {
    const std::int64_t lw = wide_blocks(g);
    T* wide_out = conv_scratch<T, 1>(s.out_channels * lw);
    const auto w_rows = matrix_rows(w.data_ptr(), s.out_channels, rows_g);  // W_g = rows [k*out_g, (k+1)*out_g)
    const auto out_rows = matrix_rows(wide_out, s.out_channels, lw);
    std::vector<const T*> image_rows;
    for (std::int64_t b = 0; b < n; ++b) {
      wide_image_rows(x.data_ptr() + b * g.image_size(), g, image_rows);
      for (std::int64_t k = 0; k < G; ++k)  // Y_g = W_g cols_g
        row_gemm(w_rows.data() + k * out_g, image_rows.data() + k * rows_g, out_rows.data() + k * out_g, out_g, rows_g,
                 wide_run(g), false);
      wide_to_sample(wide_out, out.data_ptr() + b * s.out_channels * L, s.out_channels, g);
    }
  } else {
    T* cols = conv_scratch<T, 0>(g.rows() * chunk * L);
    for (std::int64_t b0 = 0; b0 < n; b0 += chunk) {
      const std::int64_t nb = std::min(chunk, n - b0), cl = nb * L;
      im2col(x.data_ptr() + b0 * g.image_size(), cols, chunk_geometry(g, nb), L, cl);
      T* samples = out.data_ptr() + b0 * s.out_channels * L;
      T* dst = nb == 1 ? samples : conv_scratch<T, 1>(s.out_channels * cl);
      for (std::int64_t k = 0; k < G; ++k)
        gemm_into(w.data_ptr() + k * out_g * rows_g, cols + k * rows_g * cl, dst + k * out_g * cl, out_g, rows_g, cl);
      if (nb > 1) columns_to_samples(dst, samples, nb, s.out_channels, L);
    }
  }
  add_channel_bias(out, bias, n, s.out_channels, L);
  return out;
}

// Forward of the transposed conv. In the wide layout (and a finite weight): per sample,
// x to the wide layout [in_channels, oh*w] (junk columns zero), then per group
// row_gemm adds W_g^T X_g straight into the image's shifted rows, col2im with no
// column buffer. Otherwise per chunk of samples: x as [in_channels, nb*L] (reordered
// when nb > 1), per group cols = W_g^T X_g (one Eigen GEMM), then col2im.
template <typename T>
Tensor<T> conv_transpose_kernel(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const ConvSpec& s) {
  const ConvGeometry& g = s.geom;
  const std::int64_t n = g.n, L = g.blocks(), G = s.groups, chunk = conv_chunk(g);
  const std::int64_t rows_g = g.rows() / G, in_g = s.in_channels / G;
  // W_g^T [rows_g, in_g] for every group, copied once (the weight is small).
  std::vector<T> wt(static_cast<std::size_t>(G * rows_g * in_g));
  for (std::int64_t k = 0; k < G; ++k)
    MatrixMap<T>(wt.data() + k * rows_g * in_g, rows_g, in_g) =
        ConstMatrixMap<T>(w.data_ptr() + k * in_g * rows_g, in_g, rows_g).transpose();
  Tensor<T> out = empty<T>(s.out_shape);
  fill(out, T(0));
  // The junk columns add W^T 0 = 0 to pixels outside their blocks; with an inf or nan
  // in W that would be nan, so such weights take the column-buffer path.
  if (wide_layout(g) && all_finite(w.data_ptr(), w.numel())) {
    const std::int64_t lw = wide_blocks(g);
    T* xw = conv_scratch<T, 1>(s.in_channels * lw);
    const auto wt_rows = matrix_rows(static_cast<const T*>(wt.data()), g.rows(), in_g);
    const auto x_rows = matrix_rows(static_cast<const T*>(xw), s.in_channels, lw);
    std::vector<T*> image_rows;
    for (std::int64_t b = 0; b < n; ++b) {
      sample_to_wide(x.data_ptr() + b * s.in_channels * L, xw, s.in_channels, g);
      wide_image_rows(out.data_ptr() + b * g.image_size(), g, image_rows);
      for (std::int64_t k = 0; k < G; ++k)  // image rows += W_g^T X_g
        row_gemm(wt_rows.data() + k * rows_g, x_rows.data() + k * in_g, image_rows.data() + k * rows_g, rows_g, in_g,
                 wide_run(g), true);
    }
  } else {
    T* cols = conv_scratch<T, 0>(g.rows() * chunk * L);
    for (std::int64_t b0 = 0; b0 < n; b0 += chunk) {
      const std::int64_t nb = std::min(chunk, n - b0), cl = nb * L;
      const T* xm = x.data_ptr() + b0 * s.in_channels * L;
      if (nb > 1) {
        T* reordered = conv_scratch<T, 1>(s.in_channels * cl);
        samples_to_columns(xm, reordered, nb, s.in_channels, L);
        xm = reordered;
      }
      for (std::int64_t k = 0; k < G; ++k)
        gemm_into(wt.data() + k * rows_g * in_g, xm + k * in_g * cl, cols + k * rows_g * cl, rows_g, in_g, cl);
      col2im(cols, out.data_ptr() + b0 * g.image_size(), chunk_geometry(g, nb), L, cl);
    }
  }
  add_channel_bias(out, bias, n, s.out_channels, g.h * g.w);
  return out;
}

template <typename T>
Tensor<T> convolution(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const ConvSpec& s);

// The weight gradient of a conv or transposed conv with geometry `g`: per group,
//   dW_g = sum over samples of S_g cols_g^T,   cols = im2col(image)
// where `image` is geom's image (x for conv, dy for conv_transpose) and `signal` the
// tensor on the blocks' side (dy for conv, x for conv_transpose) with
// `signal_channels` channels. One GEMM per group and chunk of samples (conv_chunk),
// accumulated; the result has `w_shape`.
template <typename T>
Tensor<T> weight_grad_kernel(const Tensor<T>& image, const Tensor<T>& signal, const ConvGeometry& g,
                             std::int64_t groups, std::int64_t signal_channels, const Shape& w_shape) {
  const std::int64_t n = g.n, L = g.blocks(), G = groups, chunk = conv_chunk(g);
  const std::int64_t rows_g = g.rows() / G, k_g = signal_channels / G;
  Tensor<T> out = empty<T>(w_shape);
  // In the wide layout the image's im2col rows are read in place. The transposed
  // product dW_g^T = sum over samples of cols_g S_g^T has the long sum over positions
  // inside row_gemm; S^T's junk rows are zero, which zeroes the junk's share unless the
  // image holds an inf or nan (inf * 0 = nan): such images take the column-buffer path.
  if (wide_layout(g) && all_finite(image.data_ptr(), image.numel())) {
    const std::int64_t lw = wide_blocks(g), C = signal_channels;
    T* st = conv_scratch<T, 1>(lw * C);  // S^T of one sample, [oh*w, C]
    std::fill_n(st, lw * C, T(0));       // junk rows stay zero; real rows are overwritten
    std::vector<T> dwt(static_cast<std::size_t>(g.rows() * k_g), T(0));  // dW_g^T [rows_g, k_g] per group
    const auto dwt_rows = matrix_rows(dwt.data(), g.rows(), k_g);
    std::vector<const T*> image_rows;
    std::vector<std::vector<const T*>> st_rows;  // group k's columns of S^T
    for (std::int64_t k = 0; k < G; ++k) st_rows.push_back(matrix_rows(static_cast<const T*>(st) + k * k_g, lw, C));
    T* s_t = conv_scratch<T, 0>(L * C);  // S^T of one sample, [oh*ow, C]
    for (std::int64_t b = 0; b < n; ++b) {
      // S^T in 8x8 tiles (as matmul's transposes), then each output row's ow*C values
      // to rows y*w .. y*w + ow of the wide S^T.
      transpose_into(signal.data_ptr() + b * C * L, C, L, s_t);
      for (std::int64_t y = 0; y < g.oh; ++y) std::copy_n(s_t + y * g.ow * C, g.ow * C, st + y * g.w * C);
      wide_image_rows(image.data_ptr() + b * g.image_size(), g, image_rows);
      for (std::int64_t k = 0; k < G; ++k)
        row_gemm(image_rows.data() + k * rows_g, st_rows[static_cast<std::size_t>(k)].data(),
                 dwt_rows.data() + k * rows_g, rows_g, wide_run(g), k_g, true);
    }
    for (std::int64_t k = 0; k < G; ++k)
      transpose_into(dwt.data() + k * rows_g * k_g, rows_g, k_g, out.data_ptr() + k * k_g * rows_g);
    return out;
  }
  fill(out, T(0));
  T* cols = conv_scratch<T, 0>(g.rows() * chunk * L);
  for (std::int64_t b0 = 0; b0 < n; b0 += chunk) {
    const std::int64_t nb = std::min(chunk, n - b0), cl = nb * L;
    im2col(image.data_ptr() + b0 * g.image_size(), cols, chunk_geometry(g, nb), L, cl);
    const T* sm = signal.data_ptr() + b0 * signal_channels * L;  // S as [signal_channels, nb*L]
    if (nb > 1) {
      T* reordered = conv_scratch<T, 1>(signal_channels * cl);
      samples_to_columns(sm, reordered, nb, signal_channels, L);
      sm = reordered;
    }
    // dW_g += S_g cols_g^T; both the dispatched kernel and Eigen's GEMM read the row-major
    // cols_g as a transpose in place, so nothing is copied.
    for (std::int64_t k = 0; k < G; ++k) {
      T* dw = out.data_ptr() + k * k_g * rows_g;
      const T* s_g = sm + k * k_g * cl;
      const T* cols_g = cols + k * rows_g * cl;
      if (gemm_dispatched<T>(k_g, rows_g, cl, s_g, cl, 1, cols_g, 1, cl, dw, rows_g, true)) continue;
      MatrixMap<T>(dw, k_g, rows_g).noalias() +=
          ConstMatrixMap<T>(s_g, k_g, cl) * ConstMatrixMap<T>(cols_g, rows_g, cl).transpose();
    }
  }
  return out;
}

// The weight gradient as a recorded op. It is bilinear in (image, signal), and its
// adjoints are convolutions with the incoming gradient gW as the weight:
//   d/d image  = conv_transpose(signal, gW)     d/d signal = conv(image, gW)
template <typename T>
Tensor<T> weight_grad(const Tensor<T>& image, const Tensor<T>& signal, const ConvGeometry& g, std::int64_t groups,
                      std::int64_t signal_channels, const Shape& w_shape) {
  Tensor<T> out = weight_grad_kernel(image, signal, g, groups, signal_channels, w_shape);
  ConvSpec to_signal;  // conv from the image to the signal, with weight gW
  to_signal.geom = g;
  to_signal.groups = groups;
  to_signal.in_channels = g.c;
  to_signal.out_channels = signal_channels;
  to_signal.x_shape = image.shape();
  to_signal.w_shape = w_shape;
  to_signal.out_shape = signal.shape();
  return record(out, "ConvolutionBackwardBackward0", {image, signal},
                [to_signal, si = save(image), ss = save(signal)](Grads<T>& gr) {
    if (gr.needs(0)) gr.in[0] = convolution(gr[ss], gr.out, Tensor<T>(), to_signal.adjoint());
    if (gr.needs(1)) gr.in[1] = convolution(gr[si], gr.out, Tensor<T>(), to_signal);
  });
}

// The one ConvolutionBackward0 node of conv1d/2d and conv_transpose1d/2d. The input
// gradient is the adjoint convolution of g with the same weight (itself recorded as
// a ConvolutionBackward0), the weight gradient is weight_grad, the bias gradient g
// summed over samples and positions; so every derivative order is recorded.
template <typename T>
Tensor<T> convolution(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const ConvSpec& s) {
  Tensor<T> out = s.transposed ? conv_transpose_kernel(x, w, bias, s) : conv_kernel(x, w, bias, s);
  auto rule = [s, sx = save(x), sw = save(w)](Grads<T>& g) {
    // conv: dx = conv_transpose(g, W); conv_transpose: dx = conv(g, W)
    if (g.needs(0)) g.in[0] = convolution(g.out, g[sw], Tensor<T>(), s.adjoint());
    if (g.needs(1)) {
      // dW_g = sum_n dY_g cols(x)_g^T (conv);  sum_n X_g cols(dY)_g^T (conv_transpose)
      g.in[1] = s.transposed ? weight_grad(g.out, g[sx], s.geom, s.groups, s.in_channels, s.w_shape)
                             : weight_grad(g[sx], g.out, s.geom, s.groups, s.out_channels, s.w_shape);
    }
    if (g.in.size() > 2 && g.needs(2)) {
      // d/dbias[o] = sum of g over samples and positions
      const std::int64_t positions = s.transposed ? s.geom.h * s.geom.w : s.geom.blocks();
      g.in[2] = sum(sum(reshape(g.out, {s.geom.n, s.out_channels, positions}), 2), 0);
    }
  };
  if (bias.defined()) return record(out, "ConvolutionBackward0", {x, w, bias}, std::move(rule));
  return record(out, "ConvolutionBackward0", {x, w}, std::move(rule));
}

// ---- argument checks ----

inline void check_positive(const char* op, const char* what, const Int2& v, int spatial) {
  if (v.h() <= 0 || v.w() <= 0)
    fail<ValueError>(op, ": ", what, " must be positive, got ", pair_text(v, spatial));
}
inline void check_non_negative(const char* op, const char* what, const Int2& v, int spatial) {
  if (v.h() < 0 || v.w() < 0)
    fail<ValueError>(op, ": ", what, " must be non-negative, got ", pair_text(v, spatial));
}

// Sizes of a (batch?, channels, spatial...) input: n = 1 without the batch dim.
struct ImageDims {
  bool batched = true;
  std::int64_t n = 1, c = 1, h = 1, w = 1;
};
inline ImageDims image_dims(const char* op, const Shape& shape, int spatial) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  if (rank != spatial + 1 && rank != spatial + 2)
    fail<ShapeError>(op, ": expected a ", spatial + 1, "-D (unbatched) or ", spatial + 2, "-D (batched) input ",
                     spatial == 2 ? "[N, C, H, W]" : "[N, C, L]", ", got shape ", show(shape));
  ImageDims d;
  d.batched = rank == spatial + 2;
  const std::size_t off = d.batched ? 1 : 0;
  d.n = d.batched ? shape[0] : 1;
  d.c = shape[off];
  d.h = spatial == 2 ? shape[off + 1] : 1;
  d.w = shape[off + static_cast<std::size_t>(spatial)];
  return d;
}

// Block counts of a sliding kernel over a padded image; throws when the kernel does
// not fit.
inline std::pair<std::int64_t, std::int64_t> block_counts(const char* op, std::int64_t h, std::int64_t w,
                                                          const Int2& kernel, const Int2& dilation,
                                                          const Int2& padding_before, std::int64_t pad_total_h,
                                                          std::int64_t pad_total_w, const Int2& stride, int spatial,
                                                          const char* input_name = "input") {
  const std::int64_t eh = dilation.h() * (kernel.h() - 1) + 1, ew = dilation.w() * (kernel.w() - 1) + 1;
  const std::int64_t ph = h + pad_total_h, pw = w + pad_total_w;
  if (eh > ph || ew > pw)
    fail<ShapeError>(op, ": the kernel of effective size ", pair_text(eh, ew, spatial), " (kernel ",
                     pair_text(kernel, spatial), ", dilation ", pair_text(dilation, spatial),
                     ") is larger than the padded ", input_name, " ", pair_text(ph, pw, spatial), " (", input_name, " ",
                     pair_text(h, w, spatial), " plus padding ", pair_text(padding_before, spatial),
                     " on each side); use a smaller kernel or dilation, or more padding");
  return {(ph - eh) / stride.h() + 1, (pw - ew) / stride.w() + 1};
}

// The checks convolutions and transposed convolutions share; returns the kernel size.
// `layout` names the weight's first two dims ("out_channels, in_channels").
inline Int2 check_conv_args(const char* op, const Shape& ws, int spatial, const char* layout, std::int64_t groups,
                            Int2 stride, Int2 dilation) {
  if (static_cast<std::int64_t>(ws.size()) != spatial + 2)
    fail<ShapeError>(op, ": the weight must be ", spatial + 2, "-D [", layout, " / groups, ",
                     spatial == 2 ? "kH, kW]" : "kL]", ", got shape ", show(ws));
  if (groups <= 0) fail<ValueError>(op, ": groups must be positive, got ", groups);
  check_positive(op, "stride", stride, spatial);
  check_positive(op, "dilation", dilation, spatial);
  const Int2 kernel(spatial == 2 ? ws[2] : 1, ws[static_cast<std::size_t>(spatial) + 1]);
  if (kernel.h() <= 0 || kernel.w() <= 0)
    fail<ShapeError>(op, ": the kernel size must be positive, got a weight of shape ", show(ws));
  return kernel;
}

// The geometry and shapes of conv1d/conv2d (spatial = 1 or 2) after checking every argument.
template <typename T>
ConvSpec conv_spec(const char* op, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, int spatial,
                   Int2 stride, const Padding2& padding, Int2 dilation, std::int64_t groups) {
  const ImageDims d = image_dims(op, x.shape(), spatial);
  const Shape& ws = w.shape();
  const Int2 kernel = check_conv_args(op, ws, spatial, "out_channels, in_channels", groups, stride, dilation);
  const std::int64_t out_channels = ws[0];
  if (out_channels % groups != 0)
    fail<ShapeError>(op, ": out_channels ", out_channels, " (weight shape ", show(ws),
                     ") is not divisible by groups ", groups);
  if (d.c != ws[1] * groups)
    fail<ShapeError>(op, ": the input has ", d.c, " channels (shape ", show(x.shape()), ") but the weight of shape ",
                     show(ws), " with groups = ", groups, " expects ", ws[1] * groups,
                     " (weight.size(1) * groups); check in_channels and groups");
  if (bias.defined() && bias.shape() != Shape{out_channels})
    fail<ShapeError>(op, ": bias must have shape [", out_channels, "] (one value per output channel), got ",
                     show(bias.shape()));

  // Padding before (top/left) and in total per dimension.
  std::int64_t before_h = 0, before_w = 0, total_h = 0, total_w = 0;
  if (padding.mode().empty()) {
    const Int2 p = padding.size().or_default(0);
    check_non_negative(op, "padding", p, spatial);
    before_h = p.h();
    before_w = p.w();
    total_h = 2 * before_h;
    total_w = 2 * before_w;
  } else if (padding.mode() == "same") {
    if (stride.h() != 1 || stride.w() != 1)
      fail<ValueError>(op, ": padding='same' is not supported for strided convolutions (stride ",
                       pair_text(stride, spatial), "); give the padding explicitly");
    total_h = dilation.h() * (kernel.h() - 1);
    total_w = dilation.w() * (kernel.w() - 1);
    before_h = total_h / 2;  // an odd total pads one more after, as PyTorch
    before_w = total_w / 2;
  } else if (padding.mode() != "valid") {
    fail<ValueError>(op, ": padding must be sizes, 'same' or 'valid', got '", padding.mode(), "'");
  }
  const auto [oh, ow] = block_counts(op, d.h, d.w, kernel, dilation, Int2(before_h, before_w), total_h, total_w,
                                     stride, spatial);

  ConvSpec s;
  s.geom = ConvGeometry{d.n, d.c, d.h, d.w, kernel.h(), kernel.w(), stride.h(), stride.w(),
                        before_h, before_w, dilation.h(), dilation.w(), oh, ow};
  s.groups = groups;
  s.in_channels = d.c;
  s.out_channels = out_channels;
  s.x_shape = x.shape();
  s.w_shape = ws;
  if (d.batched) s.out_shape.push_back(d.n);
  s.out_shape.push_back(out_channels);
  if (spatial == 2) s.out_shape.push_back(oh);
  s.out_shape.push_back(ow);
  return s;
}

template <typename T>
ConvSpec conv_transpose_spec(const char* op, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                             int spatial, Int2 stride, Int2 padding, Int2 output_padding, std::int64_t groups,
                             Int2 dilation) {
  const ImageDims d = image_dims(op, x.shape(), spatial);
  const Shape& ws = w.shape();
  const Int2 kernel = check_conv_args(op, ws, spatial, "in_channels, out_channels", groups, stride, dilation);
  check_non_negative(op, "padding", padding, spatial);
  check_non_negative(op, "output_padding", output_padding, spatial);
  if ((output_padding.h() >= stride.h() && output_padding.h() >= dilation.h()) ||
      (output_padding.w() >= stride.w() && output_padding.w() >= dilation.w()))
    fail<ValueError>(op, ": output_padding ", pair_text(output_padding, spatial),
                     " must be smaller than either stride ", pair_text(stride, spatial), " or dilation ",
                     pair_text(dilation, spatial), " in each dimension");
  const std::int64_t in_channels = ws[0];
  if (in_channels % groups != 0)
    fail<ShapeError>(op, ": in_channels ", in_channels, " (weight shape ", show(ws), ") is not divisible by groups ",
                     groups);
  if (d.c != in_channels)
    fail<ShapeError>(op, ": the input has ", d.c, " channels (shape ", show(x.shape()), ") but the weight of shape ",
                     show(ws), " expects ", in_channels, " (weight.size(0))");
  const std::int64_t out_channels = ws[1] * groups;
  if (bias.defined() && bias.shape() != Shape{out_channels})
    fail<ShapeError>(op, ": bias must have shape [", out_channels, "] (one value per output channel), got ",
                     show(bias.shape()));
  // The size whose conv (same stride, padding, dilation) has x's size, plus output_padding.
  const std::int64_t oh = (d.h - 1) * stride.h() - 2 * padding.h() + dilation.h() * (kernel.h() - 1) +
                          output_padding.h() + 1;
  const std::int64_t ow = (d.w - 1) * stride.w() - 2 * padding.w() + dilation.w() * (kernel.w() - 1) +
                          output_padding.w() + 1;
  if (oh <= 0 || ow <= 0)
    fail<ShapeError>(op, ": the output size ", pair_text(oh, ow, spatial), " is not positive (input ",
                     pair_text(d.h, d.w, spatial), ", stride ", pair_text(stride, spatial), ", padding ",
                     pair_text(padding, spatial), ", kernel ", pair_text(kernel, spatial), ", dilation ",
                     pair_text(dilation, spatial), "); reduce the padding");

  ConvSpec s;
  // The image of the im2col geometry is the output; x's pixels are its blocks.
  s.geom = ConvGeometry{d.n, out_channels, oh, ow, kernel.h(), kernel.w(), stride.h(), stride.w(),
                        padding.h(), padding.w(), dilation.h(), dilation.w(), d.h, d.w};
  s.groups = groups;
  s.transposed = true;
  s.in_channels = in_channels;
  s.out_channels = out_channels;
  s.x_shape = x.shape();
  s.w_shape = ws;
  if (d.batched) s.out_shape.push_back(d.n);
  s.out_shape.push_back(out_channels);
  if (spatial == 2) s.out_shape.push_back(oh);
  s.out_shape.push_back(ow);
  return s;
}

}  // namespace detail

// ---- unfold / fold ----

// Sliding local blocks (im2col), as torch.nn.functional.unfold: x [N, C, H, W] (or
// [C, H, W]) -> [N, C*kH*kW, L] (or [C*kH*kW, L]), L = number of block positions;
// row (c*kH + i)*kW + j holds channel c at kernel offset (i, j), zero in the padding.
template <typename T>
Tensor<T> unfold(const Tensor<T>& x, Int2 kernel_size, Int2 dilation = 1, Int2 padding = 0, Int2 stride = 1) {
  const char* op = "unfold";
  const detail::ImageDims d = detail::image_dims(op, x.shape(), 2);
  if (!kernel_size.given()) detail::fail<ValueError>("unfold: kernel_size must be given");
  dilation = dilation.or_default(1);
  padding = padding.or_default(0);
  stride = stride.or_default(1);
  detail::check_positive(op, "kernel_size", kernel_size, 2);
  detail::check_positive(op, "dilation", dilation, 2);
  detail::check_non_negative(op, "padding", padding, 2);
  detail::check_positive(op, "stride", stride, 2);
  const auto [oh, ow] = detail::block_counts(op, d.h, d.w, kernel_size, dilation, padding, 2 * padding.h(),
                                             2 * padding.w(), stride, 2);
  const detail::ConvGeometry g{d.n, d.c, d.h, d.w, kernel_size.h(), kernel_size.w(), stride.h(), stride.w(),
                               padding.h(), padding.w(), dilation.h(), dilation.w(), oh, ow};
  Shape shape;
  if (d.batched) shape.push_back(d.n);
  shape.push_back(g.rows());
  shape.push_back(g.blocks());
  return detail::unfold_op(x, g, shape);
}

// Sums sliding local blocks back into an image (col2im), as torch.nn.functional.fold:
// [N, C*kH*kW, L] (or [C*kH*kW, L]) -> [N, C, H, W] (or [C, H, W]) with
// (H, W) = output_size. Overlapping entries add up. fold is unfold's adjoint (not its
// inverse): fold(unfold(x)) multiplies each pixel by the number of blocks covering it.
template <typename T>
Tensor<T> fold(const Tensor<T>& cols, Int2 output_size, Int2 kernel_size, Int2 dilation = 1, Int2 padding = 0,
               Int2 stride = 1) {
  const char* op = "fold";
  if (cols.dim() != 2 && cols.dim() != 3)
    detail::fail<ShapeError>("fold: expected a 2-D (unbatched) or 3-D (batched) input [N, C*kH*kW, L], got shape ",
                             detail::show(cols.shape()));
  if (!output_size.given() || !kernel_size.given())
    detail::fail<ValueError>("fold: output_size and kernel_size must be given");
  dilation = dilation.or_default(1);
  padding = padding.or_default(0);
  stride = stride.or_default(1);
  detail::check_positive(op, "output_size", output_size, 2);
  detail::check_positive(op, "kernel_size", kernel_size, 2);
  detail::check_positive(op, "dilation", dilation, 2);
  detail::check_non_negative(op, "padding", padding, 2);
  detail::check_positive(op, "stride", stride, 2);
  const bool batched = cols.dim() == 3;
  const std::int64_t n = batched ? cols.shape()[0] : 1;
  const std::int64_t rows = cols.shape()[batched ? 1 : 0], length = cols.shape()[batched ? 2 : 1];
  const std::int64_t area = kernel_size.h() * kernel_size.w();
  if (rows % area != 0)
    detail::fail<ShapeError>("fold: the input's dimension ", batched ? 1 : 0, " (", rows,
                             ") must be divisible by the kernel area ", area, " (kernel_size ",
                             detail::pair_text(kernel_size), "); it holds C*kH*kW rows");
  const auto [oh, ow] = detail::block_counts(op, output_size.h(), output_size.w(), kernel_size, dilation, padding,
                                             2 * padding.h(), 2 * padding.w(), stride, 2, "output");
  if (oh * ow != length)
    detail::fail<ShapeError>("fold: the input has ", length, " blocks (its last dimension, shape ",
                             detail::show(cols.shape()), ") but output_size ", detail::pair_text(output_size),
                             " with kernel_size ", detail::pair_text(kernel_size), ", dilation ",
                             detail::pair_text(dilation), ", padding ", detail::pair_text(padding), " and stride ",
                             detail::pair_text(stride), " gives ", oh, " x ", ow, " = ", oh * ow);
  const detail::ConvGeometry g{n, rows / area, output_size.h(), output_size.w(), kernel_size.h(), kernel_size.w(),
                               stride.h(), stride.w(), padding.h(), padding.w(), dilation.h(), dilation.w(), oh, ow};
  Shape shape;
  if (batched) shape.push_back(n);
  shape.insert(shape.end(), {g.c, g.h, g.w});
  return detail::fold_op(cols, g, shape);
}

// ---- convolution ----

// 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W] or [C, H, W],
// weight [out_channels, C / groups, kH, kW], optional bias [out_channels] (pass {} for
// none). padding: sizes, "valid" or "same".
//   out[n, o, y, x] = bias[o] + sum_{c in o's group, i, j} weight[o, c, i, j] *
//                     x_padded[n, c, y*sh + i*dh, x*sw + j*dw]
template <typename T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                 Int2 stride = 1, Padding2 padding = 0, Int2 dilation = 1, std::int64_t groups = 1) {
  const detail::ConvSpec s = detail::conv_spec("conv2d", input, weight, bias, 2, stride.or_default(1), padding,
                                               dilation.or_default(1), groups);
  return detail::convolution(input, weight, bias, s);
}

// 1-D convolution: x [N, C, L] or [C, L], weight [out_channels, C / groups, kL]; run
// as conv2d over a unit height.
template <typename T>
Tensor<T> conv1d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                 std::int64_t stride = 1, std::int64_t padding = 0, std::int64_t dilation = 1,
                 std::int64_t groups = 1) {
  const detail::ConvSpec s = detail::conv_spec("conv1d", input, weight, bias, 1, Int2(1, stride),
                                               Padding2(0, padding), Int2(1, dilation), groups);
  return detail::convolution(input, weight, bias, s);
}

// conv1d with padding "same" or "valid".
template <typename T>
Tensor<T> conv1d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, std::int64_t stride,
                 const std::string& padding, std::int64_t dilation = 1, std::int64_t groups = 1) {
  const detail::ConvSpec s = detail::conv_spec("conv1d", input, weight, bias, 1, Int2(1, stride), Padding2(padding),
                                               Int2(1, dilation), groups);
  return detail::convolution(input, weight, bias, s);
}

// Transposed 2-D convolution (the adjoint of conv2d with the same weight, stride,
// padding, dilation and groups; sometimes called deconvolution): x [N, C_in, H, W] or
// [C_in, H, W], weight [C_in, C_out / groups, kH, kW]. Output size per dimension:
//   (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
template <typename T>
Tensor<T> conv_transpose2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                           Int2 stride = 1, Int2 padding = 0, Int2 output_padding = 0, std::int64_t groups = 1,
                           Int2 dilation = 1) {
  const detail::ConvSpec s =
      detail::conv_transpose_spec("conv_transpose2d", input, weight, bias, 2, stride.or_default(1),
                                  padding.or_default(0), output_padding.or_default(0), groups, dilation.or_default(1));
  return detail::convolution(input, weight, bias, s);
}

// Transposed 1-D convolution: x [N, C_in, L] or [C_in, L], weight [C_in, C_out / groups, kL].
template <typename T>
Tensor<T> conv_transpose1d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(),
                           std::int64_t stride = 1, std::int64_t padding = 0, std::int64_t output_padding = 0,
                           std::int64_t groups = 1, std::int64_t dilation = 1) {
  const detail::ConvSpec s =
      detail::conv_transpose_spec("conv_transpose1d", input, weight, bias, 1, Int2(1, stride), Int2(0, padding),
                                  Int2(0, output_padding), groups, Int2(1, dilation));
  return detail::convolution(input, weight, bias, s);
}

}  // namespace tapegrad
