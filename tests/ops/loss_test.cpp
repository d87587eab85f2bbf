#include "test_util.hpp"

#include <tapegrad/ops/loss.hpp>

#include <cmath>

namespace ops_loss_test {

// mse, l1, smooth_l1, huber, binary_cross_entropy(_with_logits), cross_entropy,
// nll_loss, kl_div, cosine_similarity, cosine_embedding_loss, margin_ranking_loss.

namespace {
using Index = tg::Tensor<std::int64_t>;
using R = tg::Reduction;

Index ids(const std::vector<std::int64_t>& v, const tg::Shape& shape) { return tg::from_vector(v, shape); }

double log_sum_exp(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::exp(x);
  return std::log(s);
}
}  // namespace

TEST_CASE("mse_loss and l1_loss", "[loss][mse]") {
  auto x = values({1, 2, 3}, {3}, true), y = values({0, 2, 5}, {3});
  CHECK(tg::mse_loss(x, y).item() == Approx(5.0 / 3).epsilon(1e-14));
  CHECK(tg::mse_loss(x, y, R::sum).item() == 5.0);
  require_values(tg::mse_loss(x, y, R::none), {1, 0, 4});
  tg::mse_loss(x, y).backward();
  require_values(x.grad(), {2.0 / 3, 0, -4.0 / 3}, 1e-14);  // 2 (x - y) / n
  CHECK(tg::l1_loss(x, y).item() == 1.0);
  x.zero_grad();
  tg::l1_loss(x, y, R::sum).backward();
  require_values(x.grad(), {1, 0, -1});  // NOTE: 0 where x == y

  tg::Generator gen(1);
  const auto f = [](const Tensors& in) { return tg::mse_loss(in[0], in[1]); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(f, tg::randn<double>({}, gen), tg::randn<double>({}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));
  const auto fl = [](const Tensors& in) { return tg::l1_loss(in[0], in[1], R::none); };
  CHECK_GRAD(fl, values({0.5, -1, 2}, {3}), values({0, 1, 1}, {3}));

  CHECK_THROWS_AS(tg::mse_loss(x, values({1, 2, 3}, {3, 1})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::mse_loss(x, values({1, 2, 3}, {3, 1})),
                    TG_CONTAINS("mse_loss: the input has shape [3] but the target has shape [3, 1]"));
  CHECK_THROWS_WITH(tg::mse_loss(x, y, R::batchmean), TG_CONTAINS("'batchmean' is only for kl_div"));
}

TEST_CASE("smooth_l1_loss and huber_loss", "[loss][huber]") {
  auto x = values({0.5, -2, 1}, {3}, true), y = values({0, 0, 0}, {3});
  require_values(tg::smooth_l1_loss(x, y, R::none), {0.125, 1.5, 0.5});
  require_values(tg::smooth_l1_loss(x, y, R::none, 4.0), {0.03125, 0.5, 0.125});
  require_values(tg::huber_loss(x, y, R::none), {0.125, 1.5, 0.5});
  require_values(tg::huber_loss(x, y, R::none, 2.0), {0.125, 2, 0.5});
  tg::smooth_l1_loss(x, y, R::sum).backward();
  require_values(x.grad(), {0.5, -1, 1});  // d inside |d| < beta, sign(d) outside
  require_values(tg::smooth_l1_loss(x, y, R::none, 0.0), {0.5, 2, 1});  // beta 0 is l1

  tg::Generator gen(2);
  const auto f = [](const Tensors& in) { return tg::smooth_l1_loss(in[0], in[1], R::mean, 0.7); };
  const auto h = [](const Tensors& in) { return tg::huber_loss(in[0], in[1], R::sum, 0.7); };
  auto a = values({0.2, -1.5, 3, -0.1}, {2, 2}), b = values({0, 0.3, 0.4, 0.1}, {2, 2});
  CHECK_GRAD(f, a, b);
  CHECK_GRAD(h, a, b);
  CHECK_GRADGRAD(f, a, b);
  CHECK_GRADGRAD(h, a, b);
  CHECK_THROWS_AS(tg::huber_loss(x, y, R::mean, 0.0), tg::ValueError);
  CHECK_THROWS_AS(tg::smooth_l1_loss(x, y, R::mean, -1.0), tg::ValueError);
}

TEST_CASE("binary_cross_entropy", "[loss][bce]") {
  auto p = values({0.8, 0.3}, {2}, true), y = values({1, 0}, {2});
  CHECK(tg::binary_cross_entropy(p, y).item() == Approx((-std::log(0.8) - std::log(0.7)) / 2).epsilon(1e-14));
  tg::binary_cross_entropy(p, y, Tensor(), R::sum).backward();
  require_values(p.grad(), {-1 / 0.8, 1 / 0.7}, 1e-12);
  // The logs are clamped at -100: certain mistakes cost 100, not inf.
  CHECK(tg::binary_cross_entropy(values({0, 1}, {2}), values({1, 0}, {2}), Tensor(), R::sum).item() == 200.0);
  auto w = values({2, 0.5}, {2});
  CHECK(tg::binary_cross_entropy(p, y, w, R::sum).item() ==
        Approx(-2 * std::log(0.8) - 0.5 * std::log(0.7)).epsilon(1e-14));

  tg::Generator gen(3);
  const auto f = [](const Tensors& in) { return tg::binary_cross_entropy(in[0], in[1]); };
  auto probs = tg::rand<double>({2, 3}, gen) * 0.8 + 0.1, soft = tg::rand<double>({2, 3}, gen);
  CHECK_GRAD(f, probs, soft);
  CHECK_GRADGRAD(f, probs, soft);
  // A saturated sigmoid: sigmoid(40) is 1 in double. The loss is finite (70) and so is the
  // gradient: PyTorch 1.13 gives loss 70 and gradient 0 here; the clamped logs' chain rule
  // once gave 0 * inf = nan.
  auto z = values({40}, {1}, true);
  auto saturated = tg::binary_cross_entropy(tg::sigmoid(z), values({0.3}, {1}));
  CHECK(saturated.item() == Approx(70.0).epsilon(1e-14));
  saturated.backward();
  CHECK(z.grad().item() == 0.0);
  // dl/dp = (p - y) / max(p (1 - p), 1e-12) at p = 1, 0 and 0.5 (PyTorch: 7e11, -3e11, 0.8);
  // dl/dy = log(1 - p) - log p with the forward's clamped logs: -100, 100 and 0.
  auto edge = values({1, 0, 0.5}, {3}, true), soft_y = values({0.3, 0.3, 0.3}, {3}, true);
  auto edge_loss = tg::binary_cross_entropy(edge, soft_y, Tensor(), R::sum);
  CHECK(edge_loss.item() == Approx(70 + 30 + std::log(2.0)).epsilon(1e-14));
  edge_loss.backward();
  require_values(edge.grad(), {7e11, -3e11, 0.8}, 1e-3);
  require_values(soft_y.grad(), {-100, 100, 0}, 1e-12);
  CHECK_THROWS_AS(tg::binary_cross_entropy(values({1.5}, {1}), values({1}, {1})), tg::ValueError);
  CHECK_THROWS_WITH(tg::binary_cross_entropy(values({-0.1}, {1}), values({1}, {1})),
                    TG_CONTAINS("binary_cross_entropy: input values must be probabilities in [0, 1], got -0.1"));
}

TEST_CASE("binary_cross_entropy_with_logits", "[loss][bce]") {
  auto x = values({2, -1}, {2}, true), y = values({1, 0}, {2});
  require_values(tg::binary_cross_entropy_with_logits(x, y, Tensor(), R::none),
                 {std::log1p(std::exp(-2.0)), std::log1p(std::exp(-1.0))}, 1e-14);
  tg::binary_cross_entropy_with_logits(x, y, Tensor(), R::sum).backward();
  // d/dx = sigmoid(x) - y
  require_values(x.grad(), {1 / (1 + std::exp(-2.0)) - 1, 1 / (1 + std::exp(1.0))}, 1e-14);

  // Extreme logits stay exact: no inf, no nan.
  auto big = values({1000, -1000, 1000, -1000}, {4}, true), t = values({0, 1, 1, 0}, {4});
  require_values(tg::binary_cross_entropy_with_logits(big, t, Tensor(), R::none), {1000, 1000, 0, 0});
  tg::binary_cross_entropy_with_logits(big, t, Tensor(), R::sum).backward();
  require_values(big.grad(), {1, -1, 0, 0});

  // pos_weight scales the positive term only.
  auto pw = values({3}, {1});
  require_values(tg::binary_cross_entropy_with_logits(values({2, 2}, {2}), values({1, 0}, {2}), Tensor(), R::none, pw),
                 {3 * std::log1p(std::exp(-2.0)), 2 + std::log1p(std::exp(-2.0))}, 1e-13);

  tg::Generator gen(4);
  const auto f = [&](const Tensors& in) {
    return tg::binary_cross_entropy_with_logits(in[0], in[1], Tensor(), R::mean, values({2, 0.5, 1}, {3}));
  };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen) * 3.0, tg::rand<double>({2, 3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), tg::rand<double>({2, 3}, gen));
  CHECK_THROWS_AS(tg::binary_cross_entropy_with_logits(x, y, Tensor(), R::mean, values({1, 2, 3}, {3})),
                  tg::ShapeError);
}

TEST_CASE("cross_entropy and nll_loss with class indices", "[loss][cross_entropy]") {
  auto logits = values({1, 2, 3, 0.5, -1, 2}, {2, 3}, true);
  auto target = ids({2, 0}, {2});
  const double l0 = log_sum_exp({1, 2, 3}) - 3, l1 = log_sum_exp({0.5, -1, 2}) - 0.5;
  CHECK(tg::cross_entropy(logits, target).item() == Approx((l0 + l1) / 2).epsilon(1e-14));
  require_values(tg::cross_entropy(logits, target, Tensor(), -100, R::none), {l0, l1}, 1e-13);
  tg::cross_entropy(logits, target, Tensor(), -100, R::sum).backward();
  // d/dlogits = softmax - one_hot
  const double z0 = std::exp(log_sum_exp({1, 2, 3}));
  CHECK(logits.grad().at({0, 2}) == Approx(std::exp(3.0) / z0 - 1).epsilon(1e-12));
  CHECK(logits.grad().at({0, 0}) == Approx(std::exp(1.0) / z0).epsilon(1e-12));

  // ignore_index: the sample adds nothing and does not count in the mean.
  CHECK(tg::cross_entropy(logits, ids({2, -100}, {2})).item() == Approx(l0).epsilon(1e-14));
  CHECK(tg::cross_entropy(logits, ids({2, 7}, {2}), Tensor(), 7).item() == Approx(l0).epsilon(1e-14));
  // Class weights: a weighted mean over the samples' weights.
  auto w = values({0.5, 1, 2}, {3});
  CHECK(tg::cross_entropy(logits, target, w).item() == Approx((2 * l0 + 0.5 * l1) / 2.5).epsilon(1e-14));
  // Label smoothing eps: (1 - eps) nll + eps / C * sum_c -log p_c.
  const double eps = 0.1;
  const double s0 = 3 * log_sum_exp({1, 2, 3}) - 6, s1 = 3 * log_sum_exp({0.5, -1, 2}) - 1.5;
  CHECK(tg::cross_entropy(logits, target, Tensor(), -100, R::mean, eps).item() ==
        Approx((1 - eps) * (l0 + l1) / 2 + eps / 3 * (s0 + s1) / 2).epsilon(1e-13));
  // With an ignored sample the smoothing term's mean is over the kept samples too, as in
  // PyTorch 1.12 on (it once divided by all samples: 1.5848 where PyTorch gives 1.7698).
  const double kept1 = log_sum_exp({0.5, -1, 2}) + 1;  // sample 1, target 1
  CHECK(tg::cross_entropy(logits, ids({2, 1}, {2}), Tensor(), 2, R::mean, 0.3).item() ==
        Approx(0.7 * kept1 + 0.3 / 3 * s1).epsilon(1e-13));
  CHECK(tg::cross_entropy(logits, ids({2, 1}, {2}), Tensor(), 2, R::sum, 0.3).item() ==
        Approx(0.7 * kept1 + 0.3 / 3 * s1).epsilon(1e-13));

  // Extreme logits: exact, no nan.
  auto extreme = values({1000, -1000}, {1, 2});
  CHECK(tg::cross_entropy(extreme, ids({0}, {1})).item() == 0.0);
  CHECK(tg::cross_entropy(extreme, ids({1}, {1})).item() == 2000.0);

  // [N, C, d] logits with [N, d] targets, and a single [C] sample with a 0-d target.
  auto seq = values({1, 0, 2, 1, 0, 3}, {1, 3, 2});  // 3 classes at 2 positions
  require_values(tg::cross_entropy(seq, ids({1, 2}, {1, 2}), Tensor(), -100, R::none),
                 {log_sum_exp({1, 2, 0}) - 2, log_sum_exp({0, 1, 3}) - 3}, 1e-13);
  CHECK(tg::cross_entropy(values({1, 2, 3}, {3}), ids({2}, {})).item() == Approx(l0).epsilon(1e-14));

  // nll_loss on log-probabilities.
  auto logp = values({-0.5, -1, -2, -0.1}, {2, 2});
  CHECK(tg::nll_loss(logp, ids({1, 0}, {2})).item() == Approx((1 + 2) / 2.0).epsilon(1e-14));

  tg::Generator gen(5);
  const auto f = [](const Tensors& in) {
    return tg::cross_entropy(in[0], ids({2, 0, 1}, {3}), Tensor(), -100, R::mean, 0.2);
  };
  CHECK_GRAD(f, tg::randn<double>({3, 4}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({3, 4}, gen));
  const auto fs = [](const Tensors& in) { return tg::cross_entropy(in[0], ids({1, -100, 0, 2}, {2, 2})); };
  CHECK_GRAD(fs, tg::randn<double>({2, 3, 2}, gen));
  const auto fw = [](const Tensors& in) { return tg::nll_loss(in[0], ids({0, 1}, {2}), in[1]); };
  CHECK_GRAD(fw, tg::randn<double>({2, 3}, gen), positive({3}, gen));
  CHECK_GRADGRAD(fw, tg::randn<double>({2, 3}, gen), positive({3}, gen));

  CHECK_THROWS_AS(tg::cross_entropy(logits, ids({3, 0}, {2})), tg::IndexError);
  CHECK_THROWS_WITH(tg::cross_entropy(logits, ids({3, 0}, {2})),
                    TG_CONTAINS("cross_entropy: target 3 at position 0 is out of range for 3 classes"));
  CHECK_THROWS_WITH(tg::cross_entropy(logits, ids({0, 1, 2}, {3})),
                    TG_CONTAINS("cross_entropy: class-index targets need shape [2]"));
  CHECK_THROWS_WITH(tg::nll_loss(logp, ids({0, 1}, {2}), values({1}, {1})),
                    TG_CONTAINS("nll_loss: the class weight has shape [1], expected [2]"));
  CHECK_THROWS_AS(tg::cross_entropy(logits, target, Tensor(), -100, R::mean, 1.5), tg::ValueError);
}

TEST_CASE("cross_entropy with class probabilities", "[loss][cross_entropy]") {
  auto logits = values({1, 2, 3}, {1, 3}, true);
  auto probs = values({0.2, 0.3, 0.5}, {1, 3});
  const double lse = log_sum_exp({1, 2, 3});
  CHECK(tg::cross_entropy(logits, probs).item() ==
        Approx(0.2 * (lse - 1) + 0.3 * (lse - 2) + 0.5 * (lse - 3)).epsilon(1e-14));
  tg::Generator gen(6);
  const auto f = [](const Tensors& in) { return tg::cross_entropy(in[0], tg::softmax(in[1], 1)); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
}

TEST_CASE("kl_div", "[loss][kl_div]") {
  auto logq = values({std::log(0.25), std::log(0.75)}, {1, 2}, true);
  auto p = values({0.5, 0.5}, {1, 2});
  const double kl = 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75);
  CHECK(tg::kl_div(logq, p, R::batchmean).item() == Approx(kl).epsilon(1e-14));
  CHECK(tg::kl_div(logq, p, R::sum).item() == Approx(kl).epsilon(1e-14));
  CHECK(tg::kl_div(logq, p, R::mean).item() == Approx(kl / 2).epsilon(1e-14));
  CHECK(tg::kl_div(logq, tg::log(p), R::sum, /*log_target=*/true).item() == Approx(kl).epsilon(1e-14));
  // 0 log 0 = 0, with no nan in the gradient.
  auto zero_target = values({0, 1}, {2});
  auto lq = values({-1, -2}, {2}, true);
  CHECK(tg::kl_div(lq, zero_target, R::sum).item() == 2.0);
  tg::kl_div(lq, zero_target, R::sum).backward();
  require_values(lq.grad(), {0, -1});

  tg::Generator gen(7);
  const auto f = [](const Tensors& in) { return tg::kl_div(tg::log_softmax(in[0], 1), in[1], R::batchmean); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen), positive({2, 3}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen), positive({2, 3}, gen));
}

TEST_CASE("cosine similarity and embedding loss, margin ranking", "[loss][cosine]") {
  auto a = values({1, 0, 3, 4}, {2, 2}, true), b = values({1, 1, 3, 4}, {2, 2});
  require_values(tg::cosine_similarity(a, b), {1 / std::sqrt(2.0), 1}, 1e-14);
  CHECK(tg::cosine_similarity(values({0, 0}, {1, 2}), values({1, 1}, {1, 2})).item() == 0.0);  // eps guards 0/0

  auto y = values({1, -1}, {2});
  require_values(tg::cosine_embedding_loss(a, b, y, 0.0, R::none), {1 - 1 / std::sqrt(2.0), 1}, 1e-14);
  require_values(tg::cosine_embedding_loss(a, b, y, 0.5, R::none), {1 - 1 / std::sqrt(2.0), 0.5}, 1e-14);

  auto x1 = values({1, 2}, {2}, true), x2 = values({2, 1}, {2});
  CHECK(tg::margin_ranking_loss(x1, x2, values({1, 1}, {2}), 0.5).item() == 0.75);
  tg::margin_ranking_loss(x1, x2, values({1, 1}, {2}), 0.5, R::sum).backward();
  require_values(x1.grad(), {-1, 0});

  tg::Generator gen(8);
  const auto fc = [](const Tensors& in) { return tg::cosine_similarity(in[0], in[1], -1); };
  CHECK_GRAD(fc, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(fc, tg::randn<double>({2, 3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(fc, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  const auto fe = [&](const Tensors& in) { return tg::cosine_embedding_loss(in[0], in[1], y, -0.9); };
  CHECK_GRAD(fe, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  const auto fm = [](const Tensors& in) { return tg::margin_ranking_loss(in[0], in[1], values({1, -1, 1}, {3}), 0.1); };
  CHECK_GRAD(fm, values({0.5, 2, -1}, {3}), values({2, 1, 1}, {3}));

  CHECK_THROWS_AS(tg::cosine_embedding_loss(a, b, values({1, 0}, {2})), tg::ValueError);
  CHECK_THROWS_AS(tg::cosine_embedding_loss(a, b, values({1}, {1})), tg::ShapeError);
  CHECK_THROWS_AS(tg::cosine_similarity(a, values({1, 2, 3}, {3})), tg::ShapeError);

  // The norms are those of the broadcast vectors, as in PyTorch: [[1, 1]] against [[1]]
  // compares [1, 1] with [1, 1] (once 1.4142, the norm of the unbroadcast [1]).
  CHECK(tg::cosine_similarity(values({1, 1}, {1, 2}), values({1}, {1, 1}), 1).item() == Approx(1.0).epsilon(1e-15));
  require_values(tg::cosine_similarity(tg::ones<double>({2, 3}), tg::ones<double>({3}), 1), {1, 1}, 1e-15);
  // [[3, 4]] against a broadcast [1]: cos = (3 + 4) / (5 sqrt 2).
  CHECK(tg::cosine_similarity(values({3, 4}, {1, 2}), values({1}, {1}), 1).item() ==
        Approx(7 / (5 * std::sqrt(2.0))).epsilon(1e-14));
  CHECK_GRAD(fc, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 1}, gen));
  CHECK_GRADGRAD(fc, tg::randn<double>({1, 3}, gen), tg::randn<double>({2, 1}, gen));
}

TEST_CASE("losses in float", "[loss][float]") {
  auto x = tg::from_vector<float>({2.f, -1.f}, tg::requires_grad());
  auto l = tg::binary_cross_entropy_with_logits(x, tg::from_vector<float>({1.f, 0.f}));
  CHECK(l.item() == Approx((std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0))) / 2).epsilon(1e-6));
}

}  // namespace ops_loss_test
