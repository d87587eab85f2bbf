#include "test_util.hpp"

#include <tapegrad/ops/nn.hpp>

#include <cmath>

namespace ops_nn_test {

// linear, dropout, one_hot, pad, interpolate, scaled_dot_product_attention,
// lstm_cell, gru_cell.

namespace {
using Index = tg::Tensor<std::int64_t>;
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
}  // namespace

TEST_CASE("linear", "[nn][linear]") {
  auto x = values({1, 2}, {1, 2}, true);
  auto w = values({1, 0, 0, 1, 1, 1}, {3, 2}, true), b = values({0, 1, 2}, {3}, true);
  auto y = tg::linear(x, w, b);
  CHECK(y.shape() == tg::Shape{1, 3});
  require_values(y, {1, 3, 5});
  require_values(tg::linear(values({1, 2}, {2}), w), {1, 2, 3});  // 1-D input, no bias
  y.sum().backward();
  require_values(w.grad(), {1, 2, 1, 2, 1, 2});
  require_values(x.grad(), {2, 2});
  require_values(b.grad(), {1, 1, 1});

  tg::Generator gen(1);
  const auto f = [](const Tensors& in) { return tg::linear(in[0], in[1], in[2]) * in[0].sum(); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({4, 3}, gen), tg::randn<double>({4}, gen));
  CHECK_GRAD(f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2, 3}, gen), tg::randn<double>({2}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen), tg::randn<double>({2}, gen));

  CHECK_THROWS_WITH(tg::linear(x, values({1, 2, 3}, {1, 3})),
                    TG_CONTAINS("linear: the input of shape [1, 2] does not end in in_features = 3"));
  CHECK_THROWS_AS(tg::linear(x, values({1, 2}, {2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::linear(x, w, values({1}, {1})), TG_CONTAINS("linear: the bias has shape [1], expected [3]"));
}

TEST_CASE("dropout", "[nn][dropout]") {
  tg::Generator gen(2);
  auto x = tg::ones<double>({1000}, tg::requires_grad());
  auto y = tg::dropout(x, 0.25, true, gen);
  std::int64_t zeros = 0;
  for (double v : y.to_vector()) {
    CHECK((v == 0.0 || v == Approx(1 / 0.75).epsilon(1e-15)));
    zeros += v == 0.0;
  }
  CHECK(zeros > 200);  // 250 expected; a 4.6-sigma band around it
  CHECK(zeros < 300);
  y.sum().backward();
  CHECK(x.grad().to_vector() == y.to_vector());  // the gradient is the same mask

  // Seeded: the same generator state gives the same mask.
  tg::Generator g1(9), g2(9);
  CHECK(tg::dropout(x, 0.5, true, g1).to_vector() == tg::dropout(x, 0.5, true, g2).to_vector());
  // The identity in inference or with p = 0; zeros with p = 1.
  CHECK(tg::dropout(x, 0.5, false).impl() == x.impl());
  CHECK(tg::dropout(x, 0.0, true).impl() == x.impl());
  CHECK(tg::dropout(x, 1.0, true).sum().item() == 0.0);
  CHECK_THROWS_WITH(tg::dropout(x, 1.5), TG_CONTAINS("dropout: p must be in [0, 1], got 1.5"));
}

TEST_CASE("one_hot", "[nn][one_hot]") {
  auto oh = tg::one_hot(tg::from_vector<std::int64_t>({0, 2, 1}, {3}));
  CHECK(oh.shape() == tg::Shape{3, 3});
  CHECK(oh.to_vector() == std::vector<std::int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0});
  CHECK(tg::one_hot(tg::from_vector<std::int64_t>({1}, {1, 1}), 4).shape() == tg::Shape{1, 1, 4});
  CHECK_THROWS_AS(tg::one_hot(tg::from_vector<std::int64_t>({3}, {1}), 3), tg::IndexError);
  CHECK_THROWS_AS(tg::one_hot(tg::from_vector<std::int64_t>({-1}, {1}), 3), tg::IndexError);
  CHECK_THROWS_AS(tg::one_hot(Index(tg::zeros<std::int64_t>({0}))), tg::ValueError);
}

TEST_CASE("pad", "[nn][pad]") {
  auto x = values({1, 2, 3}, {3}, true);
  require_values(tg::pad(x, {1, 2}), {0, 1, 2, 3, 0, 0});
  require_values(tg::pad(x, {1, 0}, tg::PadMode::constant, -5.0), {-5, 1, 2, 3});
  require_values(tg::pad(x, {-1, 0}), {2, 3});  // negative pads crop
  require_values(tg::pad(x, {2, 1}, tg::PadMode::reflect), {3, 2, 1, 2, 3, 2});
  require_values(tg::pad(x, {2, 1}, tg::PadMode::replicate), {1, 1, 1, 2, 3, 3});
  tg::pad(x, {2, 1}, tg::PadMode::reflect).sum().backward();
  require_values(x.grad(), {1, 3, 2});  // 2 is read three times, 3 twice
  auto m = values({1, 2, 3, 4}, {2, 2});
  auto p2 = tg::pad(m, {1, 1, 1, 0});  // last dim by 1 on both sides, rows by 1 on top
  CHECK(p2.shape() == tg::Shape{3, 4});
  require_values(p2, {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0});

  tg::Generator gen(3);
  for (auto mode : {tg::PadMode::constant, tg::PadMode::reflect, tg::PadMode::replicate}) {
    const auto f = [mode](const Tensors& in) { return tg::pad(in[0], {2, 1, 1, 1}, mode, 0.5) * in[0].sum(); };
    CHECK_GRAD(f, tg::randn<double>({1, 3, 3}, gen));
    CHECK_GRADGRAD(f, tg::randn<double>({3, 3}, gen));
  }
  CHECK_THROWS_WITH(tg::pad(x, {1}), TG_CONTAINS("pad: 1 pad values given"));
  CHECK_THROWS_AS(tg::pad(x, {1, 1, 1, 1}), tg::ShapeError);
  CHECK_THROWS_WITH(tg::pad(x, {3, 0}, tg::PadMode::reflect), TG_CONTAINS("pad: reflect padding of (3, 0)"));
  CHECK_THROWS_AS(tg::pad(x, {-1, 0}, tg::PadMode::replicate), tg::ValueError);
  CHECK_THROWS_AS(tg::pad(x, {-2, -2}), tg::ShapeError);
}

TEST_CASE("interpolate", "[nn][interpolate]") {
  auto x = values({1, 2}, {1, 1, 2}, true);
  require_values(tg::interpolate(x, {4}), {1, 1, 2, 2});
  require_values(tg::interpolate(x, {4}, tg::InterpolateMode::linear), {1, 1.25, 1.75, 2});
  require_values(tg::interpolate(x, {3}, tg::InterpolateMode::linear, true), {1, 1.5, 2});
  tg::interpolate(x, {4}, tg::InterpolateMode::linear).sum().backward();
  require_values(x.grad(), {2, 2});
  auto img = values({1, 2, 3, 4}, {1, 1, 2, 2});
  auto up = tg::interpolate(img, {3, 3}, tg::InterpolateMode::bilinear, true);
  require_values(up, {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
  require_values(tg::interpolate(img, {1, 1}, tg::InterpolateMode::bilinear), {2.5});  // the centre
  require_values(tg::interpolate(img, {4, 4}), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});

  tg::Generator gen(4);
  const auto f = [](const Tensors& in) {
    return tg::interpolate(in[0], {3, 5}, tg::InterpolateMode::bilinear) * in[0].sum();
  };
  CHECK_GRAD(f, tg::randn<double>({1, 2, 2, 3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({1, 1, 2, 2}, gen));
  const auto fn = [](const Tensors& in) { return tg::interpolate(in[0], {2, 5}); };
  CHECK_GRAD(fn, tg::randn<double>({1, 1, 3, 2}, gen));

  CHECK_THROWS_AS(tg::interpolate(x, {2, 2}), tg::ShapeError);
  CHECK_THROWS_WITH(tg::interpolate(x, {2}, tg::InterpolateMode::bilinear), TG_CONTAINS("bilinear mode needs 4-D"));
  CHECK_THROWS_AS(tg::interpolate(x, {0}), tg::ValueError);
  CHECK_THROWS_AS(tg::interpolate(x, {2}, tg::InterpolateMode::nearest, true), tg::ValueError);
}

TEST_CASE("scaled_dot_product_attention", "[nn][attention]") {
  // One head, 2 queries, 3 keys, d = 2: compare with the formula done by hand.
  auto q = values({1, 0, 0, 1}, {2, 2}), k = values({1, 0, 0, 1, 1, 1}, {3, 2});
  auto v = values({1, 2, 3, 4, 5, 6}, {3, 2});
  auto out = tg::scaled_dot_product_attention(q, k, v);
  const double s = 1 / std::sqrt(2.0);
  for (std::int64_t i = 0; i < 2; ++i) {
    const double scores[3] = {(i == 0 ? 1.0 : 0.0) * s, (i == 1 ? 1.0 : 0.0) * s, 1.0 * s};
    double z = 0, o0 = 0, o1 = 0;
    for (double sc : scores) z += std::exp(sc);
    for (int j = 0; j < 3; ++j) {
      o0 += std::exp(scores[j]) / z * v.at({j, 0});
      o1 += std::exp(scores[j]) / z * v.at({j, 1});
    }
    CHECK(out.at({i, 0}) == Approx(o0).epsilon(1e-13));
    CHECK(out.at({i, 1}) == Approx(o1).epsilon(1e-13));
  }
  // Causal: query 0 sees key 0 only.
  auto causal = tg::scaled_dot_product_attention(q, k.narrow(0, 0, 2), v.narrow(0, 0, 2), tg::Tensor<bool>(), true);
  require_values(causal.select(0, 0), {1, 2}, 1e-14);
  // A bool mask that hides key 2 equals an additive mask of -inf there.
  auto keep = values({1, 1, 0}, {3}) > 0.5;
  auto additive = values({0, 0, -std::numeric_limits<double>::infinity()}, {3});
  auto masked = tg::scaled_dot_product_attention(q, k, v, keep);
  require_values(masked, tg::scaled_dot_product_attention(q, k, v, additive).to_vector(), 1e-14);
  require_values(masked, tg::scaled_dot_product_attention(q, k.narrow(0, 0, 2), v.narrow(0, 0, 2)).to_vector(), 1e-14);
  // A custom scale.
  auto scaled = tg::scaled_dot_product_attention(q, k, v, tg::Tensor<bool>(), false, 0.0);
  require_values(scaled, {3, 4, 3, 4}, 1e-14);  // scale 0: uniform weights, the mean of v

  tg::Generator gen(5);
  auto mask = values({1, 1, 0, 1, 0, 1}, {2, 1, 3}) > 0.5;  // per batch, broadcast over queries
  const auto f = [&](const Tensors& in) { return tg::scaled_dot_product_attention(in[0], in[1], in[2], mask); };
  CHECK_GRAD(f, tg::randn<double>({2, 2, 3}, gen), tg::randn<double>({2, 3, 3}, gen), tg::randn<double>({2, 3, 2}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 2, 2}, gen), tg::randn<double>({2, 3, 2}, gen), tg::randn<double>({2, 3, 1}, gen));
  const auto fc = [](const Tensors& in) {
    return tg::scaled_dot_product_attention(in[0], in[1], in[2], tg::Tensor<bool>(), true);
  };
  CHECK_GRAD(fc, tg::randn<double>({1, 2, 3, 2}, gen), tg::randn<double>({1, 2, 3, 2}, gen), tg::randn<double>({1, 2, 3, 2}, gen));

  CHECK_THROWS_AS(tg::scaled_dot_product_attention(q, values({1, 2, 3}, {1, 3}), v), tg::ShapeError);
  CHECK_THROWS_WITH(tg::scaled_dot_product_attention(q, k, v, values({1, 0}, {2}) > 0.5),
                    TG_CONTAINS("the mask of shape [2] cannot be broadcast to the attention scores of shape [2, 3]"));
  CHECK_THROWS_AS(tg::scaled_dot_product_attention(q, k, v, keep, true), tg::ValueError);
  CHECK_THROWS_AS(tg::scaled_dot_product_attention(values({1}, {1}), k, v), tg::ShapeError);
}

TEST_CASE("lstm_cell and gru_cell", "[nn][rnn]") {
  // Input size 1, hidden size 1: the gates by hand.
  auto x = values({0.5}, {1, 1}), h = values({-0.3}, {1, 1}), c = values({0.8}, {1, 1});
  auto w_ih = values({0.1, 0.2, 0.3, 0.4}, {4, 1}), w_hh = values({-0.5, 0.6, -0.7, 0.8}, {4, 1});
  auto b = values({0.01, 0.02, 0.03, 0.04}, {4});
  auto [h1, c1] = tg::lstm_cell(x, h, c, w_ih, w_hh, b, b);
  auto gate = [&](int i) { return 0.5 * w_ih.at({i, 0}) + -0.3 * w_hh.at({i, 0}) + 2 * b.at({i}); };
  const double c_ref = sigmoid(gate(1)) * 0.8 + sigmoid(gate(0)) * std::tanh(gate(2));
  CHECK(c1.item() == Approx(c_ref).epsilon(1e-14));
  CHECK(h1.item() == Approx(sigmoid(gate(3)) * std::tanh(c_ref)).epsilon(1e-14));

  auto gw_ih = values({0.1, 0.2, 0.3}, {3, 1}), gw_hh = values({-0.5, 0.6, -0.7}, {3, 1});
  auto gb_ih = values({0.01, 0.02, 0.03}, {3}), gb_hh = values({0.04, 0.05, 0.06}, {3});
  auto hg = tg::gru_cell(x, h, gw_ih, gw_hh, gb_ih, gb_hh);
  const double r = sigmoid(0.05 + 0.01 + -0.3 * -0.5 + 0.04), z = sigmoid(0.1 + 0.02 + -0.3 * 0.6 + 0.05);
  const double n = std::tanh(0.15 + 0.03 + r * (-0.3 * -0.7 + 0.06));
  CHECK(hg.item() == Approx((1 - z) * n + z * -0.3).epsilon(1e-14));

  tg::Generator gen(6);
  const auto fl = [](const Tensors& in) {
    auto [hn, cn] = tg::lstm_cell(in[0], in[1], in[2], in[3], in[4], in[5], Tensor());
    return hn * cn;
  };
  CHECK_GRAD(fl, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 2}, gen), tg::randn<double>({2, 2}, gen),
             tg::randn<double>({8, 3}, gen), tg::randn<double>({8, 2}, gen), tg::randn<double>({8}, gen));
  CHECK_GRADGRAD(fl, tg::randn<double>({1, 2}, gen), tg::randn<double>({1, 1}, gen), tg::randn<double>({1, 1}, gen),
                 tg::randn<double>({4, 2}, gen), tg::randn<double>({4, 1}, gen), tg::randn<double>({4}, gen));
  const auto fg = [](const Tensors& in) { return tg::gru_cell(in[0], in[1], in[2], in[3], in[4], in[5]); };
  CHECK_GRAD(fg, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 2}, gen), tg::randn<double>({6, 3}, gen),
             tg::randn<double>({6, 2}, gen), tg::randn<double>({6}, gen), tg::randn<double>({6}, gen));
  CHECK_GRADGRAD(fg, tg::randn<double>({1, 2}, gen), tg::randn<double>({1, 1}, gen), tg::randn<double>({3, 2}, gen),
                 tg::randn<double>({3, 1}, gen), tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));

  CHECK_THROWS_WITH(tg::lstm_cell(x, h, c, values({1, 2, 3}, {3, 1}), w_hh),
                    TG_CONTAINS("lstm_cell: for hidden size 1 expected w_ih [4, input]"));
  CHECK_THROWS_AS(tg::gru_cell(x, h, w_ih, w_hh), tg::ShapeError);
}

}  // namespace ops_nn_test
