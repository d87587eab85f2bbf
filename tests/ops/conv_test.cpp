#include "test_util.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace ops_conv_test {

// unfold/fold, conv2d, conv1d, conv_transpose2d, conv_transpose1d.
//
// Forward values are checked against hand calculations and against a naive loop
// written here from the definition; conv_transpose against conv as its adjoint.
// unfold and fold are linear, so their second-order checks square the result.

namespace {

using I2 = std::array<std::int64_t, 2>;

// out[n, o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j] * x[n, group(o) * Cg + c, y*s - p + i*d, x*s - p + j*d]
std::vector<double> naive_conv2d(const Tensor& x, const Tensor& w, const std::vector<double>& b, I2 s, I2 p, I2 d,
                                 std::int64_t groups) {
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t O = w.size(0), Cg = w.size(1), KH = w.size(2), KW = w.size(3);
  const std::int64_t OH = (H + 2 * p[0] - d[0] * (KH - 1) - 1) / s[0] + 1;
  const std::int64_t OW = (W + 2 * p[1] - d[1] * (KW - 1) - 1) / s[1] + 1;
  const std::int64_t Og = O / groups;
  (void)C;
  std::vector<double> out;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t y = 0; y < OH; ++y)
        for (std::int64_t xx = 0; xx < OW; ++xx) {
          double acc = b.empty() ? 0.0 : b[static_cast<std::size_t>(o)];
          for (std::int64_t c = 0; c < Cg; ++c)
            for (std::int64_t i = 0; i < KH; ++i)
              for (std::int64_t j = 0; j < KW; ++j) {
                const std::int64_t iy = y * s[0] - p[0] + i * d[0], ix = xx * s[1] - p[1] + j * d[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += w.at({o, c, i, j}) * x.at({n, (o / Og) * Cg + c, iy, ix});
              }
          out.push_back(acc);
        }
  return out;
}

// The transposed conv from its definition: every input pixel scatters w * x.
std::vector<double> naive_conv_transpose2d(const Tensor& x, const Tensor& w, I2 s, I2 p, I2 op, I2 d,
                                           std::int64_t groups) {
  const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const std::int64_t Og = w.size(1), KH = w.size(2), KW = w.size(3), Cg = C / groups, O = Og * groups;
  const std::int64_t OH = (H - 1) * s[0] - 2 * p[0] + d[0] * (KH - 1) + op[0] + 1;
  const std::int64_t OW = (W - 1) * s[1] - 2 * p[1] + d[1] * (KW - 1) + op[1] + 1;
  std::vector<double> out(static_cast<std::size_t>(N * O * OH * OW), 0.0);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t y = 0; y < H; ++y)
        for (std::int64_t xx = 0; xx < W; ++xx)
          for (std::int64_t o = 0; o < Og; ++o)
            for (std::int64_t i = 0; i < KH; ++i)
              for (std::int64_t j = 0; j < KW; ++j) {
                const std::int64_t oy = y * s[0] - p[0] + i * d[0], ox = xx * s[1] - p[1] + j * d[1];
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                const std::int64_t oc = (c / Cg) * Og + o;
                out[static_cast<std::size_t>(((n * O + oc) * OH + oy) * OW + ox)] +=
                    x.at({n, c, y, xx}) * w.at({c, o, i, j});
              }
  return out;
}

double dot(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += a.data_ptr()[i] * b.data_ptr()[i];
  return s;
}

template <typename Op>
auto squared(Op op) {
  return [op](const Tensors& in) {
    const Tensor y = op(in);
    return y * y;
  };
}

// 1..9 in a 1x1x3x3 image, and the 2x2 kernel [[1, 2], [3, 4]].
Tensor image3x3(bool requires_grad = false) {
  return values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, requires_grad);
}
Tensor kernel2x2(bool requires_grad = false) { return values({1, 2, 3, 4}, {1, 1, 2, 2}, requires_grad); }

}  // namespace

TEST_CASE("unfold and fold", "[conv][unfold][fold]") {
  auto x = image3x3(true);
  auto cols = tg::unfold(x, 2);
  CHECK(cols.shape() == tg::Shape{1, 4, 4});
  // row (i, j) lists the pixel at offset (i, j) of each of the 4 blocks
  require_values(cols, {1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9});
  CHECK(grad_fn_name(cols) == "Im2ColBackward0");
  cols.sum().backward();
  require_values(x.grad(), {1, 2, 1, 2, 4, 2, 1, 2, 1});  // how many blocks cover each pixel

  // padding 1, stride 2: blocks at (-1, -1), (-1, 1), (1, -1), (1, 1); zeros outside
  auto padded = tg::unfold(image3x3(), 2, 1, 1, 2);
  CHECK(padded.shape() == tg::Shape{1, 4, 4});
  require_values(padded, {0, 0, 0, 5, 0, 0, 4, 6, 0, 2, 0, 8, 1, 3, 7, 9});
  // dilation 2 on a 3x3 image: one block reading the corners
  require_values(tg::unfold(image3x3(), 2, 2), {1, 3, 7, 9});
  // unbatched [C, H, W] -> [C*kH*kW, L]; a 1x3 kernel over two channels
  auto two = values({1, 2, 3, 4, 5, 6}, {2, 1, 3});
  auto c2 = tg::unfold(two, {1, 2});
  CHECK(c2.shape() == tg::Shape{4, 2});
  require_values(c2, {1, 2, 2, 3, 4, 5, 5, 6});

  // fold sums the blocks back: fold(unfold(x)) = x * coverage
  auto folded = tg::fold(tg::unfold(image3x3(), 2), {3, 3}, 2);
  CHECK(folded.shape() == tg::Shape{1, 1, 3, 3});
  require_values(folded, {1, 4, 3, 8, 20, 12, 7, 16, 9});
  auto c = values({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {1, 4, 4}, true);
  auto f = tg::fold(c, 3, 2);
  CHECK(grad_fn_name(f) == "Col2ImBackward0");
  // pixel (0,0) only from block 0 at offset (0,0); the centre from every block
  CHECK(f.at({0, 0, 0, 0}) == 1.0);
  CHECK(f.at({0, 0, 1, 1}) == 4.0 + 7.0 + 10.0 + 13.0);
  (f * values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3})).sum().backward();
  require_values(c.grad(), {1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9});  // = unfold of the weights
  CHECK(tg::fold(values({1, 2, 3, 4}, {4, 1}), 2, 2).shape() == tg::Shape{1, 2, 2});

  // fold is the adjoint of unfold for any geometry
  tg::Generator gen(1);
  {
    auto xi = tg::randn<double>({2, 3, 5, 4}, gen);
    auto u = tg::unfold(xi, {2, 3}, {2, 1}, {1, 2}, {2, 1});
    auto ci = tg::randn<double>(u.shape(), gen);
    CHECK(dot(u, ci) == Approx(dot(xi, tg::fold(ci, {5, 4}, {2, 3}, {2, 1}, {1, 2}, {2, 1}))));
  }

  const auto fu = [](const Tensors& in) { return tg::unfold(in[0], 2, 1, 1, 2); };
  CHECK_GRAD(fu, tg::randn<double>({1, 2, 3, 3}, gen));
  CHECK_GRAD(fu, tg::randn<double>({2, 3, 3}, gen));
  CHECK_GRADGRAD(squared(fu), tg::randn<double>({1, 1, 3, 3}, gen));
  const auto ff = [](const Tensors& in) { return tg::fold(in[0], {3, 2}, {2, 1}, 1, {0, 1}, 1); };
  CHECK_GRAD(ff, tg::randn<double>({1, 4, 8}, gen));
  CHECK_GRAD(ff, tg::randn<double>({2, 8}, gen));
  CHECK_GRADGRAD(squared(ff), tg::randn<double>({1, 2, 8}, gen));

  // errors
  auto img = image3x3();
  CHECK_THROWS_AS(tg::unfold(values({1, 2}, {2}), 1), tg::ShapeError);
  CHECK_THROWS_WITH(tg::unfold(values({1, 2}, {2}), 1), TG_CONTAINS("unfold: expected a 3-D (unbatched) or 4-D"));
  CHECK_THROWS_AS(tg::unfold(img, 0), tg::ValueError);
  CHECK_THROWS_WITH(tg::unfold(img, {2, 0}), TG_CONTAINS("unfold: kernel_size must be positive, got [2, 0]"));
  CHECK_THROWS_WITH(tg::unfold(img, 2, 1, 0, -1), TG_CONTAINS("unfold: stride must be positive, got [-1, -1]"));
  CHECK_THROWS_WITH(tg::unfold(img, 2, 0), TG_CONTAINS("unfold: dilation must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(tg::unfold(img, 2, 1, -1), TG_CONTAINS("unfold: padding must be non-negative, got [-1, -1]"));
  CHECK_THROWS_AS(tg::unfold(img, 4), tg::ShapeError);
  CHECK_THROWS_WITH(tg::unfold(img, 4),
                    TG_CONTAINS("unfold: the kernel of effective size [4, 4] (kernel [4, 4], dilation [1, 1]) is "
                                "larger than the padded input [3, 3]"));
  CHECK_THROWS_WITH(tg::unfold(img, 2, 3), TG_CONTAINS("effective size [4, 4]"));
  CHECK_NOTHROW(tg::unfold(img, 4, 1, 1));  // fits the padded 5x5
  CHECK_THROWS_AS(tg::fold(values({1, 2, 3}, {3}), 2, 1), tg::ShapeError);
  CHECK_THROWS_WITH(tg::fold(c, 3, {2, 3}),
                    TG_CONTAINS("fold: the input's dimension 1 (4) must be divisible by the kernel area 6"));
  CHECK_THROWS_WITH(tg::fold(c, 4, 2), TG_CONTAINS("fold: the input has 4 blocks"));
  CHECK_THROWS_WITH(tg::fold(c, 4, 2), TG_CONTAINS("gives 3 x 3 = 9"));
  CHECK_THROWS_WITH(tg::fold(c, 0, 2), TG_CONTAINS("fold: output_size must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(tg::fold(c, 1, 2), TG_CONTAINS("larger than the padded output [1, 1]"));
}

TEST_CASE("conv2d forward values", "[conv][conv2d]") {
  auto x = image3x3(true);
  auto w = kernel2x2(true);
  auto b = values({0.5}, {1}, true);
  auto y = tg::conv2d(x, w, b);
  CHECK(y.shape() == tg::Shape{1, 1, 2, 2});
  // 1*1 + 2*2 + 4*3 + 5*4 = 37, then 47, 67, 77; plus the bias
  require_values(y, {37.5, 47.5, 67.5, 77.5});
  CHECK(grad_fn_name(y) == "ConvolutionBackward0");
  y.sum().backward();
  require_values(x.grad(), {1, 3, 2, 4, 10, 6, 3, 7, 4});  // sum of the kernel entries touching each pixel
  require_values(w.grad(), {12, 16, 24, 28});              // sums of the four 2x2 sub-blocks
  require_values(b.grad(), {4});

  // stride 2, padding 1: the corners of the padded image
  require_values(tg::conv2d(image3x3(), kernel2x2(), {}, 2, 1), {4, 18, 36, 77});
  // padding "valid" is no padding; "same" keeps the size (even kernel: the extra row/column is padded after)
  require_values(tg::conv2d(image3x3(), kernel2x2(), {}, 1, "valid"), {37, 47, 67, 77});
  auto same = tg::conv2d(image3x3(), kernel2x2(), {}, 1, "same");
  CHECK(same.shape() == tg::Shape{1, 1, 3, 3});
  require_values(same, {37, 47, 21, 67, 77, 33, 23, 26, 9});
  auto same3 = tg::conv2d(image3x3(), tg::ones<double>({1, 1, 3, 3}), {}, 1, std::string("same"));
  require_values(same3, {12, 21, 16, 27, 45, 33, 24, 39, 28});  // 3x3 box sums with zero padding

  // unbatched input
  auto u = tg::conv2d(values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3}), kernel2x2());
  CHECK(u.shape() == tg::Shape{1, 2, 2});
  require_values(u, {37, 47, 67, 77});

  // against the naive loop: batches, channels, groups, strides, padding, dilation, rectangles
  struct Config {
    tg::Shape x, w;
    I2 s, p, d;
    std::int64_t groups;
  };
  const std::vector<Config> configs{
      {{2, 3, 5, 6}, {4, 3, 3, 2}, {1, 1}, {0, 0}, {1, 1}, 1},
      {{2, 4, 6, 5}, {6, 2, 3, 3}, {2, 1}, {1, 2}, {1, 1}, 2},
      {{1, 2, 7, 7}, {3, 2, 2, 3}, {1, 2}, {2, 1}, {2, 3}, 1},
      {{3, 6, 4, 4}, {3, 2, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 3},
      {{2, 4, 5, 5}, {4, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 4},  // depthwise
  };
  tg::Generator gen(2);
  for (const auto& c : configs) {
    auto xi = tg::randn<double>(c.x, gen), wi = tg::randn<double>(c.w, gen), bi = tg::randn<double>({c.w[0]}, gen);
    auto yi = tg::conv2d(xi, wi, bi, c.s, c.p, c.d, c.groups);
    INFO("x " << tg::to_string(c.x) << " w " << tg::to_string(c.w) << " groups " << c.groups);
    require_values(yi, naive_conv2d(xi, wi, bi.to_vector(), c.s, c.p, c.d, c.groups), 1e-12);
    require_values(tg::conv2d(xi, wi, {}, c.s, c.p, c.d, c.groups), naive_conv2d(xi, wi, {}, c.s, c.p, c.d, c.groups),
                   1e-12);
  }
  // an empty batch gives an empty result
  CHECK(tg::conv2d(tg::zeros<double>({0, 1, 3, 3}), kernel2x2()).shape() == tg::Shape{0, 1, 2, 2});
  auto ex = tg::zeros<double>({0, 1, 3, 3}, tg::requires_grad());
  auto ew = kernel2x2(true);
  auto eb = values({1}, {1}, true);
  (tg::conv2d(ex, ew, eb).sum() + tg::conv_transpose2d(ex, ew, eb).sum()).backward();
  CHECK(ex.grad().shape() == tg::Shape{0, 1, 3, 3});
  require_values(ew.grad(), {0, 0, 0, 0});
  require_values(eb.grad(), {0});
}

TEST_CASE("conv2d gradients", "[conv][conv2d][grad]") {
  tg::Generator gen(3);
  const auto f_stride = [](const Tensors& in) { return tg::conv2d(in[0], in[1], in[2], 2, 1); };
  CHECK_GRAD(f_stride, tg::randn<double>({2, 2, 4, 4}, gen), tg::randn<double>({3, 2, 2, 2}, gen),
             tg::randn<double>({3}, gen));
  const auto f_dilation = [](const Tensors& in) { return tg::conv2d(in[0], in[1], in[2], 1, {0, 1}, 2); };
  CHECK_GRAD(f_dilation, tg::randn<double>({1, 2, 5, 4}, gen), tg::randn<double>({2, 2, 2, 2}, gen),
             tg::randn<double>({2}, gen));
  const auto f_groups = [](const Tensors& in) { return tg::conv2d(in[0], in[1], in[2], {1, 2}, 1, 1, 2); };
  CHECK_GRAD(f_groups, tg::randn<double>({2, 4, 3, 4}, gen), tg::randn<double>({4, 2, 2, 2}, gen),
             tg::randn<double>({4}, gen));
  const auto f_same = [](const Tensors& in) { return tg::conv2d(in[0], in[1], Tensor(), 1, "same"); };
  CHECK_GRAD(f_same, tg::randn<double>({3, 4, 4}, gen), tg::randn<double>({2, 3, 2, 3}, gen));

  // second order: conv is bilinear in (x, weight), so the cross terms carry it
  CHECK_GRADGRAD(f_stride, tg::randn<double>({1, 2, 3, 3}, gen), tg::randn<double>({2, 2, 2, 2}, gen),
                 tg::randn<double>({2}, gen));
  CHECK_GRADGRAD(f_groups, tg::randn<double>({1, 4, 2, 3}, gen), tg::randn<double>({2, 2, 2, 2}, gen),
                 tg::randn<double>({2}, gen));
  const auto f_sq = [](const Tensors& in) {
    const Tensor y = tg::conv2d(in[0], in[1], Tensor(), 1, 1, 2);
    return y * y;
  };
  CHECK_GRADGRAD(f_sq, tg::randn<double>({1, 1, 3, 3}, gen), tg::randn<double>({2, 1, 2, 2}, gen));
  // third order: gradgradcheck of a function that is itself a gradient (create_graph)
  const auto f_vjp = [](const Tensors& in) {
    tg::EnableGradGuard on;
    Tensors leaves;  // gradgradcheck first calls f on plain tensors to learn the output shapes
    for (const Tensor& t : in) leaves.push_back(t.requires_grad() ? t : t.detach().requires_grad_());
    const Tensor y = tg::conv_transpose2d(tg::conv2d(leaves[0], leaves[1], Tensor(), 2, 1), leaves[1], Tensor(), 2, 1);
    return tg::grad((y * y).sum(), leaves, {}, true, true);
  };
  CHECK_GRADGRAD(f_vjp, tg::randn<double>({1, 1, 3, 3}, gen), tg::randn<double>({1, 1, 2, 2}, gen));
  {
    // the input gradient is the adjoint conv, the weight gradient its own recorded op
    auto xs = tg::randn<double>({1, 1, 3, 3}, gen).requires_grad_();
    auto ws = tg::randn<double>({1, 1, 2, 2}, gen).requires_grad_();
    auto gs = tg::grad(tg::conv2d(xs, ws).sum(), {xs, ws}, {}, true, true);
    CHECK(grad_fn_name(gs[0]) == "ConvolutionBackward0");
    CHECK(grad_fn_name(gs[1]) == "ConvolutionBackwardBackward0");
  }

  // only some inputs require grad: the others get none
  auto x = tg::randn<double>({1, 2, 3, 3}, gen);
  auto w = tg::randn<double>({2, 2, 2, 2}, gen).requires_grad_();
  auto y = tg::conv2d(x, w);
  CHECK(grad_fn_name(y) == "ConvolutionBackward0");
  y.sum().backward();
  CHECK(w.grad().defined());
  CHECK_FALSE(x.grad().defined());
  CHECK(grad_fn_name(tg::conv2d(x, w.detach())) == "<none>");
}

// The kernels run one GEMM per chunk of samples: a sample on its own when it has at
// least 256 output positions, otherwise enough samples for 256 columns (the last chunk
// partial). Whole batches must agree with the definition and with each sample alone.
TEST_CASE("conv2d and conv_transpose2d in chunks of samples", "[conv][conv2d][conv_transpose2d][chunks]") {
  struct Config {
    tg::Shape x, w;
    std::int64_t groups;
  };
  const std::vector<Config> configs{
      {{3, 2, 18, 18}, {4, 2, 3, 3}, 1},  // 16x16 = 256 positions: one sample per chunk
      {{37, 4, 5, 5}, {6, 2, 2, 2}, 2},   // 16 positions: chunks of 16, 16 and 5 samples
  };
  tg::Generator gen(11);
  for (const auto& c : configs) {
    INFO("x " << tg::to_string(c.x) << " w " << tg::to_string(c.w) << " groups " << c.groups);
    auto x = tg::randn<double>(c.x, gen).requires_grad_();
    auto w = tg::randn<double>(c.w, gen).requires_grad_();
    auto b = tg::randn<double>({c.w[0]}, gen).requires_grad_();
    auto y = tg::conv2d(x, w, b, 1, 0, 1, c.groups);
    require_values(y, naive_conv2d(x.detach(), w.detach(), b.to_vector(), {1, 1}, {0, 0}, {1, 1}, c.groups), 1e-12);
    // conv_transpose2d runs the same chunks over its input's positions
    auto wt = tg::randn<double>({y.size(1), c.w[1], 2, 3}, gen);
    require_values(tg::conv_transpose2d(y.detach(), wt, {}, 1, 0, 0, c.groups),
                   naive_conv_transpose2d(y.detach(), wt, {1, 1}, {0, 0}, {0, 0}, {1, 1}, c.groups), 1e-12);

    // Gradients of the batch against each sample alone (a batch of one is one chunk).
    auto r = tg::randn<double>(y.shape(), gen);
    (y * r).sum().backward();
    std::vector<double> w_grad(static_cast<std::size_t>(w.numel()), 0.0), b_grad(static_cast<std::size_t>(b.numel()), 0.0);
    for (std::int64_t n = 0; n < c.x[0]; ++n) {
      auto xn = tg::narrow(x.detach(), 0, n, 1).requires_grad_();
      auto wn = w.detach().requires_grad_();
      auto bn = b.detach().requires_grad_();
      (tg::conv2d(xn, wn, bn, 1, 0, 1, c.groups) * tg::narrow(r, 0, n, 1)).sum().backward();
      require_values(tg::narrow(x.grad(), 0, n, 1), xn.grad().to_vector(), 1e-12);
      for (std::int64_t i = 0; i < w.numel(); ++i) w_grad[static_cast<std::size_t>(i)] += wn.grad().data_ptr()[i];
      for (std::int64_t i = 0; i < b.numel(); ++i) b_grad[static_cast<std::size_t>(i)] += bn.grad().data_ptr()[i];
    }
    require_values(w.grad(), w_grad, 1e-10);
    require_values(b.grad(), b_grad, 1e-10);
  }
  // 64 positions per sample: chunks of 4 samples and 1, through gradcheck
  const auto f = [](const Tensors& in) { return tg::conv2d(in[0], in[1], in[2]); };
  CHECK_GRAD(f, tg::randn<double>({5, 1, 9, 9}, gen), tg::randn<double>({2, 1, 2, 2}, gen), tg::randn<double>({2}, gen));
}

TEST_CASE("conv2d and conv_transpose2d in the wide layout", "[conv][conv2d][conv_transpose2d][wide]") {
  // Stride 1 without padding, at most 1/8 of the width lost to the kernel: the
  // convolutions read and write the image's shifted rows in place (row_gemm) and carry
  // "junk" columns past each row's end, which must never show in a value or gradient.
  struct Config {
    tg::Shape x, w;
    I2 dilation;
    std::int64_t groups;
  };
  const std::vector<Config> configs{
      {{2, 3, 17, 16}, {4, 3, 3, 3}, {1, 1}, 1},   // 16 wide, 14 blocks: the smallest 3x3 case
      {{1, 4, 9, 8}, {6, 2, 1, 1}, {1, 1}, 2},     // 1x1: no junk at all, groups
      {{2, 2, 12, 18}, {3, 2, 2, 3}, {2, 1}, 1},   // dilated rows, 3 wide
      {{1, 2, 30, 40}, {13, 2, 3, 5}, {1, 1}, 1},  // 13 output channels: tiles of 6, 4, 2 and 1 rows
  };
  tg::Generator gen(21);
  for (const auto& c : configs) {
    INFO("x " << tg::to_string(c.x) << " w " << tg::to_string(c.w));
    auto x = tg::randn<double>(c.x, gen).requires_grad_();
    auto w = tg::randn<double>(c.w, gen).requires_grad_();
    auto b = tg::randn<double>({c.w[0]}, gen).requires_grad_();
    auto y = tg::conv2d(x, w, b, 1, 0, c.dilation, c.groups);
    require_values(y, naive_conv2d(x.detach(), w.detach(), b.to_vector(), {1, 1}, {0, 0}, c.dilation, c.groups),
                   1e-12);
    // Its adjoint: <conv(x), r> = <x, conv_transpose(r)> and the same for W.
    auto r = tg::randn<double>(y.shape(), gen);
    (y * r).sum().backward();
    const auto xt = tg::conv_transpose2d(r, w.detach(), {}, 1, 0, 0, c.groups, c.dilation);
    require_values(xt, naive_conv_transpose2d(r, w.detach(), {1, 1}, {0, 0}, {0, 0}, c.dilation, c.groups), 1e-12);
    require_values(x.grad(), xt.to_vector(), 1e-12);
    const double y_dot_r = dot((y - b.detach().reshape({1, c.w[0], 1, 1})).detach(), r);
    CHECK(dot(w.grad(), w.detach()) == Approx(y_dot_r).epsilon(1e-12));  // y - b is linear in W
    CHECK(dot(x.grad(), x.detach()) == Approx(y_dot_r).epsilon(1e-12));  // ... and in x
  }
  const auto f = [](const Tensors& in) { return tg::conv2d(in[0], in[1], in[2]); };
  CHECK_GRAD(f, tg::randn<double>({1, 2, 10, 16}, gen), tg::randn<double>({3, 2, 3, 3}, gen),
             tg::randn<double>({3}, gen));
  const auto ft = [](const Tensors& in) { return tg::conv_transpose2d(in[0], in[1]); };
  CHECK_GRAD(ft, tg::randn<double>({1, 2, 6, 14}, gen), tg::randn<double>({2, 3, 3, 3}, gen));
  // Second order: the backward's convolutions and weight gradients run wide as well.
  CHECK_GRADGRAD(f, tg::randn<double>({1, 1, 6, 16}, gen), tg::randn<double>({2, 1, 3, 3}, gen),
                 tg::randn<double>({2}, gen));

  SECTION("an inf in the input or the weight stays where it belongs") {
    // A junk column reads a pixel from the next image row; with a zero gradient there
    // inf * 0 = nan would leak into gradients the inf does not touch.
    auto x = tg::randn<double>({2, 2, 18, 16}, gen);
    x.data_ptr()[0] = std::numeric_limits<double>::infinity();  // sample 0, channel 0, pixel (0, 0)
    x.requires_grad_();
    auto w = tg::randn<double>({3, 2, 3, 3}, gen).requires_grad_();
    auto y = tg::conv2d(x, w);
    const auto expected_y = naive_conv2d(x.detach(), w.detach(), {}, {1, 1}, {0, 0}, {1, 1}, 1);
    auto r = tg::randn<double>(y.shape(), gen);
    (y * r).sum().backward();
    // dW[o, c, i, j] = sum over samples and blocks of r * x shifted by (i, j)
    std::vector<double> expected_dw;
    for (std::int64_t o = 0; o < 3; ++o)
      for (std::int64_t ch = 0; ch < 2; ++ch)
        for (std::int64_t i = 0; i < 3; ++i)
          for (std::int64_t j = 0; j < 3; ++j) {
            double s = 0;
            for (std::int64_t n = 0; n < 2; ++n)
              for (std::int64_t yy = 0; yy < 16; ++yy)
                for (std::int64_t xx = 0; xx < 14; ++xx) s += r.at({n, o, yy, xx}) * x.detach().at({n, ch, yy + i, xx + j});
            expected_dw.push_back(s);
          }
    const auto same_values = [](const Tensor& got, const std::vector<double>& expected) {
      REQUIRE(got.numel() == static_cast<std::int64_t>(expected.size()));
      std::int64_t non_finite = 0;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        const double v = got.data_ptr()[i];
        INFO("element " << i << ": " << v << " vs " << expected[i]);
        REQUIRE(std::isfinite(v) == std::isfinite(expected[i]));
        if (std::isfinite(v)) {
          REQUIRE(v == Approx(expected[i]).margin(1e-10));
        } else {
          ++non_finite;
        }
      }
      return non_finite;
    };
    CHECK(same_values(y, expected_y) == 3);         // output (0, 0) of sample 0, every channel
    CHECK(same_values(w.grad(), expected_dw) == 3);  // W[:, 0, 0, 0]

    // An inf weight: x's gradient is inf exactly where that weight reaches.
    auto w_inf = w.detach().clone();
    w_inf.data_ptr()[8] = std::numeric_limits<double>::infinity();  // W[0, 0, 2, 2]
    auto x2 = x.detach().clone();
    x2.data_ptr()[0] = 1.0;
    x2.requires_grad_();
    (tg::conv2d(x2, w_inf) * r).sum().backward();
    CHECK(same_values(x2.grad(), naive_conv_transpose2d(r, w_inf, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1)) ==
          2 * 16 * 14);  // pixels (2.., 2..) of channel 0 in both samples
  }
}

TEST_CASE("conv1d", "[conv][conv1d]") {
  // [1, 2, 3, 4, 5] with kernel [1, 0, -1]: x[i] - x[i+2]
  auto x = values({1, 2, 3, 4, 5}, {1, 1, 5}, true);
  auto w = values({1, 0, -1}, {1, 1, 3}, true);
  auto y = tg::conv1d(x, w, values({10}, {1}));
  CHECK(y.shape() == tg::Shape{1, 1, 3});
  require_values(y, {8, 8, 8});
  CHECK(grad_fn_name(y) == "ConvolutionBackward0");
  y.sum().backward();
  require_values(x.grad(), {1, 1, 0, -1, -1});
  require_values(w.grad(), {6, 9, 12});
  require_values(tg::conv1d(values({1, 2, 3, 4, 5}, {1, 5}), values({1, 1}, {1, 1, 2}), {}, 2, 1), {1, 5, 9});
  auto same = tg::conv1d(values({1, 2, 3, 4, 5}, {1, 5}), values({1, 1, 1, 1}, {1, 1, 4}), {}, 1, "same");
  require_values(same, {6, 10, 14, 12, 9});  // total padding 3: one before, two after

  tg::Generator gen(4);
  const auto f = [](const Tensors& in) { return tg::conv1d(in[0], in[1], in[2], 2, 1, 1, 2); };
  CHECK_GRAD(f, tg::randn<double>({2, 4, 5}, gen), tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2}, gen));
  const auto fd = [](const Tensors& in) { return tg::conv1d(in[0], in[1], Tensor(), 1, 0, 2); };
  CHECK_GRAD(fd, tg::randn<double>({3, 6}, gen), tg::randn<double>({2, 3, 2}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({1, 2, 4}, gen), tg::randn<double>({2, 1, 2}, gen), tg::randn<double>({2}, gen));

  CHECK_THROWS_AS(tg::conv1d(values({1, 2}, {2}), w), tg::ShapeError);
  CHECK_THROWS_WITH(tg::conv1d(values({1, 2}, {2}), w),
                    TG_CONTAINS("conv1d: expected a 2-D (unbatched) or 3-D (batched) input [N, C, L], got shape [2]"));
  CHECK_THROWS_WITH(tg::conv1d(x, values({1}, {1, 1, 1, 1})), TG_CONTAINS("conv1d: the weight must be 3-D"));
  CHECK_THROWS_WITH(tg::conv1d(x, w, {}, 0), TG_CONTAINS("conv1d: stride must be positive, got [0]"));
  CHECK_THROWS_WITH(tg::conv1d(x, w, {}, 1, 0, 3),
                    TG_CONTAINS("conv1d: the kernel of effective size [7] (kernel [3], dilation [3]) is larger "
                                "than the padded input [5]"));
  CHECK_THROWS_WITH(tg::conv1d(x, w, {}, 2, "same"), TG_CONTAINS("padding='same' is not supported for strided"));
}

TEST_CASE("conv_transpose2d", "[conv][conv_transpose2d]") {
  auto x = values({1, 2, 3, 4}, {1, 1, 2, 2}, true);
  auto w = values({1, 1, 1, 1}, {1, 1, 2, 2}, true);
  auto y = tg::conv_transpose2d(x, w);
  CHECK(y.shape() == tg::Shape{1, 1, 3, 3});
  // every input pixel adds itself into a 2x2 patch
  require_values(y, {1, 3, 2, 4, 10, 6, 3, 7, 4});
  CHECK(grad_fn_name(y) == "ConvolutionBackward0");
  (y * values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3})).sum().backward();
  require_values(x.grad(), {12, 16, 24, 28});  // 2x2 box sums of the output weights
  require_values(w.grad(), {37, 47, 67, 77});  // = conv2d of those weights with x
  // stride 2: the patches tile without overlap
  require_values(tg::conv_transpose2d(values({1, 2, 3, 4}, {1, 1, 2, 2}), values({1, 1, 1, 1}, {1, 1, 2, 2}), {}, 2),
                 {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // padding crops, output_padding adds a row/column at the end; bias per output channel
  auto yb = tg::conv_transpose2d(values({1, 2, 3, 4}, {1, 2, 2}), values({1, 1, 1, 1}, {1, 1, 2, 2}),
                                 values({0.5}, {1}), 2, 1, 1);
  CHECK(yb.shape() == tg::Shape{1, 3, 3});
  require_values(yb, {1.5, 2.5, 2.5, 3.5, 4.5, 4.5, 3.5, 4.5, 4.5});

  // against the definition, with groups, stride, padding, output_padding, dilation
  struct Config {
    tg::Shape x, w;
    I2 s, p, op, d;
    std::int64_t groups;
  };
  const std::vector<Config> configs{
      {{2, 3, 3, 2}, {3, 2, 2, 3}, {1, 1}, {0, 0}, {0, 0}, {1, 1}, 1},
      {{1, 4, 3, 3}, {4, 3, 3, 2}, {2, 3}, {1, 0}, {1, 2}, {1, 1}, 2},
      {{2, 2, 2, 3}, {2, 1, 2, 2}, {2, 1}, {0, 1}, {1, 1}, {2, 2}, 2},
  };
  tg::Generator gen(5);
  for (const auto& c : configs) {
    auto xi = tg::randn<double>(c.x, gen), wi = tg::randn<double>(c.w, gen);
    INFO("x " << tg::to_string(c.x) << " w " << tg::to_string(c.w) << " groups " << c.groups);
    require_values(tg::conv_transpose2d(xi, wi, {}, c.s, c.p, c.op, c.groups, c.d),
                   naive_conv_transpose2d(xi, wi, c.s, c.p, c.op, c.d, c.groups), 1e-12);
  }

  // The adjoint of conv2d: <conv2d(x, W), y> = <x, conv_transpose2d(y, W)> with the
  // same weight, stride, padding, dilation and groups (output_padding restores the size).
  for (int groups : {1, 2}) {
    auto xi = tg::randn<double>({2, 4, 6, 5}, gen);
    auto wi = tg::randn<double>({6, 4 / groups, 3, 2}, gen);
    const I2 s{2, 2}, p{1, 0}, d{1, 2};
    auto cy = tg::conv2d(xi, wi, {}, s, p, d, groups);
    auto yi = tg::randn<double>(cy.shape(), gen);
    const I2 op{(6 + 2 * 1 - 1 * 2 - 1) % 2, (5 + 0 - 2 * 1 - 1) % 2};
    auto back = tg::conv_transpose2d(yi, wi, {}, s, p, op, groups, d);
    REQUIRE(back.shape() == xi.shape());
    CHECK(dot(cy, yi) == Approx(dot(xi, back)).epsilon(1e-12));
  }

  const auto f = [](const Tensors& in) { return tg::conv_transpose2d(in[0], in[1], in[2], 2, 1, 1, 2); };
  CHECK_GRAD(f, tg::randn<double>({2, 2, 2, 2}, gen), tg::randn<double>({2, 2, 2, 2}, gen),
             tg::randn<double>({4}, gen));
  const auto fd = [](const Tensors& in) { return tg::conv_transpose2d(in[0], in[1], Tensor(), 1, 0, 0, 1, {2, 1}); };
  CHECK_GRAD(fd, tg::randn<double>({3, 2, 3}, gen), tg::randn<double>({3, 2, 2, 2}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({1, 2, 2, 2}, gen), tg::randn<double>({2, 1, 2, 2}, gen),
                 tg::randn<double>({2}, gen));
  CHECK_GRADGRAD(squared(fd), tg::randn<double>({1, 2, 2}, gen), tg::randn<double>({1, 1, 2, 2}, gen));

  // conv_transpose1d
  auto y1 = tg::conv_transpose1d(values({1, 2, 3}, {1, 1, 3}), values({1, 10}, {1, 1, 2}), values({0.5}, {1}), 2);
  require_values(y1, {1.5, 10.5, 2.5, 20.5, 3.5, 30.5});
  CHECK(grad_fn_name(tg::conv_transpose1d(values({1, 2, 3}, {1, 3}, true), values({1, 10}, {1, 1, 2}))) ==
        "ConvolutionBackward0");
  const auto f1 = [](const Tensors& in) { return tg::conv_transpose1d(in[0], in[1], in[2], 2, 1, 1); };
  CHECK_GRAD(f1, tg::randn<double>({1, 2, 3}, gen), tg::randn<double>({2, 3, 3}, gen), tg::randn<double>({3}, gen));

  // errors
  CHECK_THROWS_AS(tg::conv_transpose2d(x, values({1}, {1, 1, 1})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, values({1}, {1, 1, 1})),
                    TG_CONTAINS("conv_transpose2d: the weight must be 4-D "
                                "[in_channels, out_channels / groups, kH, kW]"));
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, tg::ones<double>({2, 1, 2, 2})),
                    TG_CONTAINS("conv_transpose2d: the input has 1 channels (shape [1, 1, 2, 2]) but the weight of "
                                "shape [2, 1, 2, 2] expects 2"));
  CHECK_THROWS_AS(tg::conv_transpose2d(x, w, {}, 1, 0, 1), tg::ValueError);
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, w, {}, 1, 0, 1),
                    TG_CONTAINS("conv_transpose2d: output_padding [1, 1] must be smaller than either stride [1, 1] "
                                "or dilation [1, 1]"));
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, w, {}, 1, 2),
                    TG_CONTAINS("conv_transpose2d: the output size [-1, -1] is not positive"));
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, w, {}, 1, -1), TG_CONTAINS("padding must be non-negative"));
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, tg::ones<double>({1, 1, 2, 2}), {}, 1, 0, 0, 2),
                    TG_CONTAINS("conv_transpose2d: in_channels 1 (weight shape [1, 1, 2, 2]) is not divisible by "
                                "groups 2"));
  CHECK_THROWS_WITH(tg::conv_transpose2d(x, w, values({1, 2}, {2})),
                    TG_CONTAINS("conv_transpose2d: bias must have shape [1]"));
}

TEST_CASE("conv2d errors", "[conv][conv2d][errors]") {
  auto x = tg::ones<double>({1, 4, 5, 5});
  auto w = tg::ones<double>({2, 2, 3, 3});
  CHECK_NOTHROW(tg::conv2d(x, w, {}, 1, 0, 1, 2));
  CHECK_THROWS_AS(tg::conv2d(tg::ones<double>({4, 5}), w), tg::ShapeError);
  CHECK_THROWS_WITH(tg::conv2d(tg::ones<double>({4, 5}), w),
                    TG_CONTAINS("conv2d: expected a 3-D (unbatched) or 4-D (batched) input [N, C, H, W], got "
                                "shape [4, 5]"));
  CHECK_THROWS_WITH(tg::conv2d(x, tg::ones<double>({2, 2, 3})),
                    TG_CONTAINS("conv2d: the weight must be 4-D [out_channels, in_channels / groups, kH, kW], got "
                                "shape [2, 2, 3]"));
  CHECK_THROWS_AS(tg::conv2d(x, w), tg::ShapeError);  // 4 channels, the weight wants 2
  CHECK_THROWS_WITH(tg::conv2d(x, w),
                    TG_CONTAINS("conv2d: the input has 4 channels (shape [1, 4, 5, 5]) but the weight of shape "
                                "[2, 2, 3, 3] with groups = 1 expects 2"));
  CHECK_THROWS_WITH(tg::conv2d(x, tg::ones<double>({3, 2, 3, 3}), {}, 1, 0, 1, 2),
                    TG_CONTAINS("conv2d: out_channels 3 (weight shape [3, 2, 3, 3]) is not divisible by groups 2"));
  CHECK_THROWS_AS(tg::conv2d(x, w, {}, 1, 0, 1, 0), tg::ValueError);
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, 1, 0, 1, 0), TG_CONTAINS("conv2d: groups must be positive, got 0"));
  CHECK_THROWS_AS(tg::conv2d(x, w, {}, 0, 0, 1, 2), tg::ValueError);
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, {1, 0}, 0, 1, 2), TG_CONTAINS("conv2d: stride must be positive, got [1, 0]"));
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, -2, 0, 1, 2), TG_CONTAINS("conv2d: stride must be positive, got [-2, -2]"));
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, 1, 0, 0, 2), TG_CONTAINS("conv2d: dilation must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, 1, {0, -1}, 1, 2),
                    TG_CONTAINS("conv2d: padding must be non-negative, got [0, -1]"));
  CHECK_THROWS_WITH(tg::conv2d(x, tg::ones<double>({2, 2, 0, 3}), {}, 1, 0, 1, 2),
                    TG_CONTAINS("conv2d: the kernel size must be positive, got a weight of shape [2, 2, 0, 3]"));
  CHECK_THROWS_AS(tg::conv2d(x, w, {}, 1, 0, 3, 2), tg::ShapeError);
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, 1, 0, 3, 2),
                    TG_CONTAINS("conv2d: the kernel of effective size [7, 7] (kernel [3, 3], dilation [3, 3]) is "
                                "larger than the padded input [5, 5] (input [5, 5] plus padding [0, 0] on each side)"));
  CHECK_NOTHROW(tg::conv2d(x, w, {}, 1, 1, 3, 2));  // padded to 7x7 it fits
  CHECK_THROWS_WITH(tg::conv2d(x, w, values({1, 2, 3}, {3}), 1, 0, 1, 2),
                    TG_CONTAINS("conv2d: bias must have shape [2] (one value per output channel), got [3]"));
  CHECK_THROWS_AS(tg::conv2d(x, w, {}, 1, "full", 1, 2), tg::ValueError);
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, 1, "full", 1, 2),
                    TG_CONTAINS("conv2d: padding must be sizes, 'same' or 'valid', got 'full'"));
  CHECK_THROWS_WITH(tg::conv2d(x, w, {}, {1, 2}, "same", 1, 2),
                    TG_CONTAINS("conv2d: padding='same' is not supported for strided convolutions (stride [1, 2])"));
}

TEST_CASE("conv2d on float", "[conv][float]") {
  auto x = tg::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, tg::requires_grad());
  auto w = tg::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}, tg::requires_grad());
  auto b = tg::from_vector<float>({0.5f}, {1}, tg::requires_grad());
  auto y = tg::conv2d(x, w, b);
  CHECK(y.to_vector() == std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f});
  y.sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4});
  CHECK(w.grad().to_vector() == std::vector<float>{12, 16, 24, 28});
  CHECK(b.grad().to_vector() == std::vector<float>{4});
  auto t = tg::conv_transpose2d(tg::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2}), w);
  CHECK(t.to_vector() == std::vector<float>{1, 4, 4, 6, 20, 16, 9, 24, 16});
  auto u = tg::unfold(x, 2);
  CHECK(u.to_vector() == std::vector<float>{1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9});

  tg::Generator gen(6);
  const auto f = [](const std::vector<tg::Tensor<float>>& in) { return tg::conv2d(in[0], in[1], in[2], 2, 1); };
  tg::GradcheckOptions loose;
  loose.atol = 1e-2;
  loose.rtol = 1e-2;
  const auto r = tg::gradcheck(f,
                               std::vector<tg::Tensor<float>>{tg::randn<float>({1, 2, 3, 3}, gen),
                                                              tg::randn<float>({2, 2, 2, 2}, gen),
                                                              tg::randn<float>({2}, gen)},
                               loose);
  INFO(r.report());
  CHECK(r.ok);
}

}  // namespace ops_conv_test
