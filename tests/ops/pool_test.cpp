#include "test_util.hpp"

#include <cmath>
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace ops_pool_test {

// max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d.
//
// Average pooling is linear, so its second-order checks square the result; max
// pooling's gradient only routes g, so its second-order check squares it as well.

namespace {

using Index = tg::Tensor<std::int64_t>;

std::vector<std::int64_t> index_values(const Index& t) { return t.to_vector(); }

// 0, 1, 2, ... in `shape`, requiring grad.
Tensor iota(const tg::Shape& shape, bool requires_grad = true) {
  auto t = tg::arange<double>(static_cast<double>(tg::detail::numel_of(shape))).reshape(shape).detach();
  return requires_grad ? t.requires_grad_() : t;
}

template <typename Op>
auto squared(Op op) {
  return [op](const Tensors& in) {
    const Tensor y = op(in);
    return y * y;
  };
}

// adaptive_avg_pool2d from its definition, with std::floor / std::ceil windows.
std::vector<double> naive_adaptive_avg(const Tensor& x, std::int64_t oh, std::int64_t ow) {
  const std::int64_t P = x.size(0), H = x.size(1), W = x.size(2);
  std::vector<double> out;
  for (std::int64_t p = 0; p < P; ++p)
    for (std::int64_t i = 0; i < oh; ++i)
      for (std::int64_t j = 0; j < ow; ++j) {
        const auto ratio = [](std::int64_t a, std::int64_t b) {
          return static_cast<double>(a) / static_cast<double>(b);
        };
        const auto h0 = static_cast<std::int64_t>(std::floor(ratio(i * H, oh)));
        const auto h1 = static_cast<std::int64_t>(std::ceil(ratio((i + 1) * H, oh)));
        const auto w0 = static_cast<std::int64_t>(std::floor(ratio(j * W, ow)));
        const auto w1 = static_cast<std::int64_t>(std::ceil(ratio((j + 1) * W, ow)));
        double s = 0;
        for (std::int64_t r = h0; r < h1; ++r)
          for (std::int64_t c = w0; c < w1; ++c) s += x.at({p, r, c});
        out.push_back(s / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
  return out;
}

}  // namespace

TEST_CASE("max_pool2d values, indices and gradients", "[pool][max_pool2d]") {
  auto x = values({1, 5, 2, 0,
                   3, 4, 8, 7,
                   6, 2, 1, 9,
                   0, 3, 4, 2}, {1, 1, 4, 4}, true);
  auto r = tg::max_pool2d_with_indices(x, 2);
  CHECK(r.values.shape() == tg::Shape{1, 1, 2, 2});
  require_values(r.values, {5, 8, 6, 9});
  CHECK(index_values(r.indices) == std::vector<std::int64_t>{1, 6, 8, 11});  // flat in the 4x4 plane
  CHECK(r.indices.shape() == tg::Shape{1, 1, 2, 2});
  CHECK(grad_fn_name(r.values) == "MaxPool2DWithIndicesBackward0");
  (r.values * values({1, 2, 3, 4}, {1, 1, 2, 2})).sum().backward();
  require_values(x.grad(), {0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 0, 4, 0, 0, 0, 0});
  CHECK(grad_fn_name(tg::max_pool2d(x, 2)) == "MaxPool2DWithIndicesBackward0");

  // overlapping windows (stride 1) that share their maximum add their gradients there
  auto c = values({1, 2, 3, 4, 9, 5, 6, 7, 8}, {1, 3, 3}, true);
  auto y = tg::max_pool2d(c, 2, 1);
  CHECK(y.shape() == tg::Shape{1, 2, 2});
  require_values(y, {9, 9, 9, 9});
  y.sum().backward();
  require_values(c.grad(), {0, 0, 0, 0, 4, 0, 0, 0, 0});

  // ties: the first maximum of each window (row-major) gets the gradient
  auto t = tg::full<double>({1, 1, 2, 3}, 7.0, tg::requires_grad());
  auto ty = tg::max_pool2d_with_indices(t, 2, 1);
  CHECK(index_values(ty.indices) == std::vector<std::int64_t>{0, 1});
  ty.values.sum().backward();
  require_values(t.grad(), {1, 1, 0, 0, 0, 0});

  // padding pads with -inf: an all-negative input never yields the padding
  auto neg = values({-1, -2, -3, -4, -5, -6, -7, -8, -9}, {1, 1, 3, 3});
  auto pn = tg::max_pool2d_with_indices(neg, 2, 2, 1);
  require_values(pn.values, {-1, -2, -4, -5});
  CHECK(index_values(pn.indices) == std::vector<std::int64_t>{0, 1, 3, 4});

  // dilation 2: each window reads every other row and column
  auto d = tg::max_pool2d_with_indices(iota({1, 1, 4, 4}, false), 2, 1, 0, 2);
  require_values(d.values, {10, 11, 14, 15});
  CHECK(index_values(d.indices) == std::vector<std::int64_t>{10, 11, 14, 15});

  // ceil_mode keeps the partial windows at the end
  auto five = iota({1, 1, 5, 5}, false);
  require_values(tg::max_pool2d(five, 2), {6, 8, 16, 18});
  auto ceiled = tg::max_pool2d(five, 2, 2, 0, 1, true);
  CHECK(ceiled.shape() == tg::Shape{1, 1, 3, 3});
  require_values(ceiled, {6, 8, 9, 16, 18, 19, 21, 23, 24});
  // {} keeps stride's default (the kernel size), like None in PyTorch
  require_values(tg::max_pool2d(five, 3, {}, 1), {6, 9, 21, 24});

  // nan is the maximum, so it propagates; the gradient goes to it
  auto n = values({1, std::nan(""), 3, 2}, {1, 1, 2, 2}, true);
  auto ny = tg::max_pool2d_with_indices(n, 2);
  CHECK(std::isnan(ny.values.item()));
  CHECK(index_values(ny.indices) == std::vector<std::int64_t>{1});
  ny.values.sum().backward();
  require_values(n.grad(), {0, 1, 0, 0});

  // a window holding no input position (dilation + padding) gives -inf, index -1
  // and no gradient
  auto one = values({5}, {1, 1, 1, 1}, true);
  auto e = tg::max_pool2d_with_indices(one, 2, 1, 1, 2);
  CHECK(e.values.shape() == tg::Shape{1, 1, 1, 1});
  CHECK(e.values.item() == -std::numeric_limits<double>::infinity());
  CHECK(index_values(e.indices) == std::vector<std::int64_t>{-1});
  e.values.sum().backward();
  require_values(one.grad(), {0});
  // empty and non-empty windows side by side: taps at -2 and 1, -1 and 2, 0 and 3 of a row of 2
  auto row = values({3, 4}, {1, 1, 1, 2}, true);
  auto mixed = tg::max_pool2d_with_indices(row, {1, 2}, 1, {0, 2}, {1, 3});
  require_values(mixed.values, {4, -std::numeric_limits<double>::infinity(), 3});
  CHECK(index_values(mixed.indices) == std::vector<std::int64_t>{1, -1, 0});
  mixed.values.backward(values({1, 5, 2}, {1, 1, 1, 3}));
  require_values(row.grad(), {2, 1});
  const auto fe = [](const Tensors& in) {
    const Tensor y = tg::max_pool2d(in[0], {1, 2}, 1, {0, 2}, {1, 3});
    return tg::narrow(y, -1, 0, 1) * tg::narrow(y, -1, 2, 1);  // the finite outputs
  };
  CHECK_GRAD(fe, tg::randn<double>({2, 1, 2}));
  CHECK_GRADGRAD(fe, tg::randn<double>({2, 1, 2}));

  // an empty batch
  CHECK(tg::max_pool2d(tg::zeros<double>({0, 2, 4, 4}), 2).shape() == tg::Shape{0, 2, 2, 2});

  tg::Generator gen(7);
  const auto f1 = [](const Tensors& in) { return tg::max_pool2d(in[0], 2, 1, 1); };
  CHECK_GRAD(f1, tg::randn<double>({2, 1, 3, 3}, gen));
  const auto f2 = [](const Tensors& in) { return tg::max_pool2d(in[0], {2, 3}, {1, 2}, {1, 0}, {1, 2}, true); };
  CHECK_GRAD(f2, tg::randn<double>({2, 3, 5}, gen));
  CHECK_GRADGRAD(squared(f1), tg::randn<double>({1, 1, 3, 3}, gen));
  CHECK_GRADGRAD(squared(f2), tg::randn<double>({1, 3, 5}, gen));
}

// max_pool2d takes windows a row at a time when every window along W has the same
// taps (no padding clipped them), and one window at a time otherwise; both against the
// definition, ties and nans included (as PyTorch: the first of tied maxima, the last nan).
TEST_CASE("max_pool2d against the definition", "[pool][max_pool2d]") {
  using I2 = std::array<std::int64_t, 2>;
  struct Config {
    tg::Shape x;
    I2 k, s, p, d;
  };
  const std::vector<Config> configs{
      {{2, 3, 8, 10}, {2, 2}, {2, 2}, {0, 0}, {1, 1}},  // rows of windows
      {{1, 2, 9, 11}, {3, 2}, {2, 3}, {0, 0}, {1, 2}},  // rows of windows, dilated
      {{2, 1, 7, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}},   // padding: window by window
  };
  tg::Generator gen(5);
  for (const auto& c : configs) {
    INFO("x " << tg::to_string(c.x) << " kernel " << c.k[0] << "x" << c.k[1]);
    // values on a coarse grid so that windows hold ties, and two nans
    auto x = tg::round(tg::randn<double>(c.x, gen) * 2.0);
    x.data_ptr()[3] = std::nan("");
    x.data_ptr()[x.numel() - 5] = std::nan("");
    auto r = tg::max_pool2d_with_indices(x, c.k, c.s, c.p, c.d);
    const std::int64_t H = c.x[2], W = c.x[3], OH = r.values.size(2), OW = r.values.size(3);
    for (std::int64_t plane = 0; plane < c.x[0] * c.x[1]; ++plane)
      for (std::int64_t y = 0; y < OH; ++y)
        for (std::int64_t o = 0; o < OW; ++o) {
          double best = -std::numeric_limits<double>::infinity();
          std::int64_t at = -1;
          for (std::int64_t i = 0; i < c.k[0]; ++i)
            for (std::int64_t j = 0; j < c.k[1]; ++j) {
              const std::int64_t iy = y * c.s[0] - c.p[0] + i * c.d[0], ix = o * c.s[1] - c.p[1] + j * c.d[1];
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const double v = x.data_ptr()[plane * H * W + iy * W + ix];
              if (at < 0 || v > best || v != v) {  // the first maximum; a nan always takes over
                best = v;
                at = iy * W + ix;
              }
            }
          const std::int64_t out = (plane * OH + y) * OW + o;
          CHECK(r.indices.data_ptr()[out] == at);
          const double got = r.values.data_ptr()[out];
          CHECK(((got == best) || (got != got && best != best)));
        }
  }
}

TEST_CASE("avg_pool2d", "[pool][avg_pool2d]") {
  auto x = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, true);
  auto y = tg::avg_pool2d(x, 2, 1);
  require_values(y, {3, 4, 6, 7});
  CHECK(grad_fn_name(y) == "AvgPool2DBackward0");
  y.sum().backward();
  require_values(x.grad(), {0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25});  // windows covering / 4

  auto img = values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
  // padding counts as zeros in the mean (count_include_pad), or not
  require_values(tg::avg_pool2d(img, 2, 2, 1), {0.25, 1.25, 2.75, 7});
  require_values(tg::avg_pool2d(img, 2, 2, 1, false, false), {1, 2.5, 5.5, 7});
  // ceil_mode: the partial windows past the input are divided by what they cover
  require_values(tg::avg_pool2d(img, 2, 2, 0, true), {3, 4.5, 7.5, 9});
  require_values(tg::avg_pool2d(img, 2, 2, 0, true, false), {3, 4.5, 7.5, 9});
  // divisor_override replaces the divisor
  require_values(tg::avg_pool2d(img, 2, 1, 0, false, true, 2), {6, 8, 12, 14});
  require_values(tg::avg_pool2d(img, 3), {5});  // stride defaults to the kernel
  CHECK(tg::avg_pool2d(img, {1, 3}).shape() == tg::Shape{1, 3, 1});

  tg::Generator gen(8);
  const auto f1 = [](const Tensors& in) { return tg::avg_pool2d(in[0], 2, 1, 1); };
  CHECK_GRAD(f1, tg::randn<double>({2, 1, 3, 3}, gen));
  const auto f2 = [](const Tensors& in) { return tg::avg_pool2d(in[0], {3, 2}, 2, {1, 0}, true, false); };
  CHECK_GRAD(f2, tg::randn<double>({2, 4, 3}, gen));
  const auto f3 = [](const Tensors& in) { return tg::avg_pool2d(in[0], 2, 1, 0, false, true, 3); };
  CHECK_GRAD(f3, tg::randn<double>({1, 1, 3, 3}, gen));
  CHECK_GRADGRAD(squared(f1), tg::randn<double>({1, 1, 3, 3}, gen));
  CHECK_GRADGRAD(squared(f2), tg::randn<double>({1, 4, 3}, gen));
  // the backward of the backward is recorded too
  auto xs = tg::randn<double>({1, 1, 3, 3}, gen).requires_grad_();
  auto ys = tg::avg_pool2d(xs, 2, 1);
  auto gs = tg::grad(ys, {xs}, {tg::ones<double>(ys.shape(), tg::requires_grad())}, true, true);
  CHECK(grad_fn_name(gs[0]) == "AvgPool2DBackwardBackward0");
}

TEST_CASE("adaptive pooling", "[pool][adaptive]") {
  tg::Generator gen(9);
  auto x = tg::randn<double>({2, 5, 5}, gen).requires_grad_();
  auto y = tg::adaptive_avg_pool2d(x, 3);
  CHECK(y.shape() == tg::Shape{2, 3, 3});
  require_values(y, naive_adaptive_avg(x, 3, 3), 1e-12);
  CHECK(grad_fn_name(y) == "AdaptiveAvgPool2DBackward0");
  auto r = tg::randn<double>({3, 7, 4}, gen);
  require_values(tg::adaptive_avg_pool2d(r, {2, 3}), naive_adaptive_avg(r, 2, 3), 1e-12);
  require_values(tg::adaptive_avg_pool2d(r, {7, 4}), r.to_vector(), 1e-15);  // same size: identity
  require_values(tg::adaptive_avg_pool2d(r, {9, 6}), naive_adaptive_avg(r, 9, 6), 1e-12);  // upsampling repeats
  auto m = tg::adaptive_avg_pool2d(r, 1);
  for (std::int64_t p = 0; p < 3; ++p) CHECK(m.at({p, 0, 0}) == Approx(r.select(0, p).mean().item()));
  // 1..9 into 2x2: windows rows/cols [0, 2) and [1, 3)
  require_values(tg::adaptive_avg_pool2d(values({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}), 2), {3, 4, 6, 7});

  // windows [0, 2), [1, 4), [3, 5) along both dims of 0..24: the maximum is each window's last element
  auto mx = tg::adaptive_max_pool2d_with_indices(iota({1, 1, 5, 5}), 3);
  require_values(mx.values, {6, 8, 9, 16, 18, 19, 21, 23, 24});
  CHECK(index_values(mx.indices) == std::vector<std::int64_t>{6, 8, 9, 16, 18, 19, 21, 23, 24});
  CHECK(grad_fn_name(mx.values) == "AdaptiveMaxPool2DBackward0");
  auto a = iota({1, 3, 3});
  tg::adaptive_max_pool2d(a, 2).sum().backward();
  require_values(a.grad(), {0, 0, 0, 0, 1, 1, 0, 1, 1});  // maxima at (1,1), (1,2), (2,1), (2,2)

  const auto fa = [](const Tensors& in) { return tg::adaptive_avg_pool2d(in[0], {2, 3}); };
  CHECK_GRAD(fa, tg::randn<double>({1, 3, 4}, gen));
  CHECK_GRAD(fa, tg::randn<double>({2, 1, 2, 2}, gen));
  CHECK_GRADGRAD(squared(fa), tg::randn<double>({1, 3, 4}, gen));
  const auto fm = [](const Tensors& in) { return tg::adaptive_max_pool2d(in[0], {2, 2}); };
  CHECK_GRAD(fm, tg::randn<double>({1, 3, 5}, gen));
  CHECK_GRAD(fm, tg::randn<double>({2, 1, 2, 3}, gen));
  CHECK_GRADGRAD(squared(fm), tg::randn<double>({1, 3, 3}, gen));
}

TEST_CASE("pooling errors", "[pool][errors]") {
  auto x = tg::ones<double>({1, 1, 3, 3});
  CHECK_THROWS_AS(tg::max_pool2d(values({1, 2}, {2}), 1), tg::ShapeError);
  CHECK_THROWS_WITH(tg::max_pool2d(values({1, 2}, {2}), 1),
                    TG_CONTAINS("max_pool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got shape [2]"));
  CHECK_THROWS_WITH(tg::avg_pool2d(tg::ones<double>({1, 0, 3, 3}), 1),
                    TG_CONTAINS("avg_pool2d: expected a non-empty input except for the batch dimension, got shape "
                                "[1, 0, 3, 3] with dimension 1 empty"));
  CHECK_THROWS_AS(tg::max_pool2d(x, 0), tg::ValueError);
  CHECK_THROWS_WITH(tg::max_pool2d(x, 0), TG_CONTAINS("max_pool2d: kernel_size must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(tg::max_pool2d(x, {2, -1}), TG_CONTAINS("max_pool2d: kernel_size must be positive, got [2, -1]"));
  CHECK_THROWS_WITH(tg::max_pool2d(x, 2, {0, 1}), TG_CONTAINS("max_pool2d: stride must be positive, got [0, 1]"));
  CHECK_THROWS_WITH(tg::max_pool2d(x, 2, 1, 0, 0), TG_CONTAINS("max_pool2d: dilation must be positive, got [0, 0]"));
  CHECK_THROWS_WITH(tg::avg_pool2d(x, 2, 1, -1), TG_CONTAINS("avg_pool2d: padding must be non-negative, got [-1, -1]"));
  CHECK_THROWS_AS(tg::max_pool2d(x, 3, 1, 2), tg::ValueError);
  CHECK_THROWS_WITH(tg::max_pool2d(x, 3, 1, 2),
                    TG_CONTAINS("max_pool2d: padding [2, 2] must be at most half of the effective kernel size [3, 3] "
                                "(kernel [3, 3], dilation [1, 1])"));
  CHECK_NOTHROW(tg::max_pool2d(x, 3, 1, 2, 2));  // dilation 2: effective size 5
  CHECK_THROWS_AS(tg::max_pool2d(x, 4), tg::ShapeError);
  CHECK_THROWS_WITH(tg::max_pool2d(x, 4),
                    TG_CONTAINS("max_pool2d: the kernel of effective size [4, 4] (kernel [4, 4], dilation [1, 1]) is "
                                "larger than the padded input [3, 3]"));
  CHECK_THROWS_WITH(tg::avg_pool2d(x, {1, 4}), TG_CONTAINS("avg_pool2d: the kernel of effective size [1, 4]"));
  CHECK_THROWS_WITH(tg::max_pool2d(x, tg::Int2()),
                    TG_CONTAINS("max_pool2d: kernel_size must be given"));
  CHECK_THROWS_AS(tg::avg_pool2d(x, 2, 1, 0, false, true, 0), tg::ValueError);
  CHECK_THROWS_WITH(tg::avg_pool2d(x, 2, 1, 0, false, true, 0),
                    TG_CONTAINS("avg_pool2d: divisor_override must be nonzero, got 0"));
  CHECK_THROWS_AS(tg::adaptive_avg_pool2d(x, {-1, 2}), tg::ValueError);
  CHECK_THROWS_WITH(tg::adaptive_avg_pool2d(x, {-1, 2}),
                    TG_CONTAINS("adaptive_avg_pool2d: output_size must be non-negative, got [-1, 2]"));
  CHECK_THROWS_WITH(tg::adaptive_max_pool2d(tg::ones<double>({2, 2}), 1),
                    TG_CONTAINS("adaptive_max_pool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input"));
  CHECK(tg::adaptive_avg_pool2d(x, 0).shape() == tg::Shape{1, 1, 0, 0});
}

TEST_CASE("pooling on float", "[pool][float]") {
  auto x = tg::from_vector<float>({1, 5, 2, 0, 3, 4, 8, 7, 6, 2, 1, 9, 0, 3, 4, 2}, {1, 4, 4}, tg::requires_grad());
  auto m = tg::max_pool2d(x, 2);
  CHECK(m.to_vector() == std::vector<float>{5, 8, 6, 9});
  auto a = tg::avg_pool2d(x, 2);
  CHECK(a.to_vector() == std::vector<float>{3.25f, 4.25f, 2.75f, 4.0f});
  auto ad = tg::adaptive_avg_pool2d(x, 1);
  CHECK(ad.item() == Approx(57.0 / 16.0));
  (m.sum() + a.sum() * 4.0f).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 2, 1, 1, 1, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1});
}

}  // namespace ops_pool_test
