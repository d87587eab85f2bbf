#include "test_util.hpp"

#include <tapegrad/ops/normalization.hpp>

#include <cmath>

namespace ops_normalization_test {

// layer_norm, group_norm, batch_norm (training and inference, running statistics).

namespace {
// (v - mean) / sqrt(var + eps) of a plain vector, computed independently.
std::vector<double> normalized(const std::vector<double>& v, double eps) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  s /= static_cast<double>(v.size());
  std::vector<double> out;
  for (double x : v) out.push_back((x - m) / std::sqrt(s + eps));
  return out;
}
}  // namespace

TEST_CASE("layer_norm", "[normalization][layer_norm]") {
  auto x = values({1, 2, 4, -1, 0, 7}, {2, 3}, true);
  auto y = tg::layer_norm(x, {3});
  auto r0 = normalized({1, 2, 4}, 1e-5), r1 = normalized({-1, 0, 7}, 1e-5);
  require_values(y, {r0[0], r0[1], r0[2], r1[0], r1[1], r1[2]}, 1e-12);
  // Normalizing over both dims at once: one group of six.
  auto all = normalized({1, 2, 4, -1, 0, 7}, 1e-5);
  require_values(tg::layer_norm(x, {2, 3}), all, 1e-12);
  // An affine transform afterwards.
  auto w = values({1, 2, 3}, {3}, true), b = values({0, 0.5, -1}, {3}, true);
  auto ya = tg::layer_norm(x, {3}, w, b);
  CHECK(ya.at({1, 2}) == Approx(r1[2] * 3 - 1).epsilon(1e-12));
  // The output of a normalization sums to zero, so its gradient under a constant
  // upstream gradient is zero.
  y.sum().backward();
  for (double g : x.grad().to_vector()) CHECK(g == Approx(0).margin(1e-12));

  tg::Generator gen(1);
  const auto f = [](const Tensors& in) { return tg::layer_norm(in[0], {3}, in[1], in[2]) * in[0]; };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRAD(f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));

  CHECK_THROWS_AS(tg::layer_norm(x, {2}), tg::ShapeError);
  CHECK_THROWS_WITH(tg::layer_norm(x, {2}),
                    TG_CONTAINS("layer_norm: normalized_shape [2] must match the trailing dimensions"));
  CHECK_THROWS_WITH(tg::layer_norm(x, {3}, values({1, 2}, {2})), TG_CONTAINS("layer_norm: weight has shape [2]"));
  CHECK_THROWS_AS(tg::layer_norm(x, {3}, Tensor(), Tensor(), -1.0), tg::ValueError);
}

TEST_CASE("group_norm", "[normalization][group_norm]") {
  // [N=1, C=4, L=2] in 2 groups of 2 channels: each group normalizes 4 values.
  auto x = values({1, 2, 3, 5, -1, 0, 2, 8}, {1, 4, 2}, true);
  auto y = tg::group_norm(x, 2);
  auto g0 = normalized({1, 2, 3, 5}, 1e-5), g1 = normalized({-1, 0, 2, 8}, 1e-5);
  require_values(y, {g0[0], g0[1], g0[2], g0[3], g1[0], g1[1], g1[2], g1[3]}, 1e-12);
  auto w = values({1, 2, 3, 4}, {4}), b = values({0, 0, 0, 1}, {4});
  CHECK(tg::group_norm(x, 2, w, b).at({0, 3, 1}) == Approx(g1[3] * 4 + 1).epsilon(1e-12));

  tg::Generator gen(2);
  const auto f = [](const Tensors& in) { return tg::group_norm(in[0], 2, in[1], in[2]) * in[0]; };
  CHECK_GRAD(f, tg::randn<double>({2, 4, 2}, gen), tg::randn<double>({4}, gen), tg::randn<double>({4}, gen));
  CHECK_GRAD(f, tg::randn<double>({1, 4}, gen), tg::randn<double>({4}, gen), tg::randn<double>({4}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({1, 4, 2}, gen), tg::randn<double>({4}, gen), tg::randn<double>({4}, gen));

  CHECK_THROWS_WITH(tg::group_norm(x, 3), TG_CONTAINS("group_norm: 4 channels cannot be split into 3 groups"));
  CHECK_THROWS_AS(tg::group_norm(values({1, 2}, {2}), 1), tg::ShapeError);
  CHECK_THROWS_WITH(tg::group_norm(x, 2, values({1}, {1})), TG_CONTAINS("group_norm: weight has shape [1]"));
}

TEST_CASE("batch_norm trains on batch statistics and updates running ones", "[normalization][batch_norm]") {
  // [N=3, C=2]: channel 0 holds 1, 2, 6; channel 1 holds 0, 0, 3.
  auto x = values({1, 0, 2, 0, 6, 3}, {3, 2}, true);
  auto rm = tg::zeros<double>({2}), rv = tg::ones<double>({2});
  auto y = tg::batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/true, 0.1, 1e-5);
  auto c0 = normalized({1, 2, 6}, 1e-5), c1 = normalized({0, 0, 3}, 1e-5);
  require_values(y, {c0[0], c1[0], c0[1], c1[1], c0[2], c1[2]}, 1e-12);
  // running = 0.9 running + 0.1 batch; the variance is unbiased (divides by n - 1).
  require_values(rm, {0.1 * 3, 0.1 * 1}, 1e-14);
  require_values(rv, {0.9 + 0.1 * 7, 0.9 + 0.1 * 3}, 1e-14);
  CHECK_FALSE(rm.requires_grad());

  // Inference uses the running statistics.
  auto yi = tg::batch_norm(x, rm, rv, Tensor(), Tensor(), /*training=*/false, 0.1, 0.0);
  CHECK(yi.at({2, 0}) == Approx((6 - 0.3) / std::sqrt(1.6)).epsilon(1e-12));
  require_values(rm, {0.3, 0.1}, 1e-14);  // untouched

  // Spatial input [N, C, H, W]: statistics over N, H and W per channel.
  tg::Generator gen(3);
  auto img = tg::randn<double>({2, 3, 2, 2}, gen);
  auto out = tg::batch_norm(img, Tensor(), Tensor());
  for (std::int64_t c = 0; c < 3; ++c) {
    double m = 0;
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t i = 0; i < 4; ++i) m += out.at({n, c, i / 2, i % 2});
    CHECK(m / 8 == Approx(0).margin(1e-12));
  }

  const auto f = [](const Tensors& in) {
    return tg::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true) * in[0];
  };
  CHECK_GRAD(f, tg::randn<double>({3, 2}, gen), tg::randn<double>({2}, gen), tg::randn<double>({2}, gen));
  CHECK_GRAD(f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2}, gen), tg::randn<double>({2}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({3, 2}, gen), tg::randn<double>({2}, gen), tg::randn<double>({2}, gen));
  auto m = tg::randn<double>({2}, gen), v = positive({2}, gen);
  const auto fi = [&](const Tensors& in) { return tg::batch_norm(in[0], m, v, in[1], Tensor(), false); };
  CHECK_GRAD(fi, tg::randn<double>({2, 2}, gen), tg::randn<double>({2}, gen));

  CHECK_THROWS_WITH(tg::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                    TG_CONTAINS("batch_norm: inference (training = false) needs running_mean and running_var"));
  CHECK_THROWS_WITH(tg::batch_norm(values({1, 2}, {1, 2}), Tensor(), Tensor()),
                    TG_CONTAINS("expected more than 1 value per channel when training"));
  CHECK_THROWS_WITH(tg::batch_norm(x, tg::zeros<double>({3}), rv), TG_CONTAINS("running_mean has shape [3]"));
  CHECK_THROWS_AS(tg::batch_norm(values({1, 2}, {2}), Tensor(), Tensor()), tg::ShapeError);
}

TEST_CASE("normalization in float", "[normalization][float]") {
  auto x = tg::from_vector<float>({1.f, 3.f}, {1, 2});
  auto y = tg::layer_norm(x, {2});
  CHECK(y.at({0, 0}) == Approx(-1.0).epsilon(1e-4));
  CHECK(y.at({0, 1}) == Approx(1.0).epsilon(1e-4));
}

}  // namespace ops_normalization_test
