#include <cmath>
#include <cstdint>

#include "test_util.hpp"

namespace autograd_checkpoint_test {

// tg::checkpoint: same values and gradients as running f directly, fewer bytes held.

namespace {

std::int64_t bytes_now() { return tg::memory_stats().current_bytes; }

// A chain of ops whose intermediates a plain forward would keep for backward.
Tensor block(const Tensor& x, const Tensor& w) { return tg::gelu(tg::matmul(tg::tanh(x), w) + 0.5).sin(); }

// The MLP of the memory test: layers [from, to) of gelu(h W + b).
struct Mlp {
  std::vector<Tensor> weights, biases;
};

Mlp make_mlp(int layers, std::int64_t width, tg::Generator& gen) {
  Mlp m;
  const double scale = 1.5 / std::sqrt(static_cast<double>(width));  // keeps activations O(1) through 64 layers
  for (int l = 0; l < layers; ++l) {
    m.weights.push_back((tg::randn<double>({width, width}, gen) * scale).requires_grad_());
    m.biases.push_back((tg::randn<double>({width}, gen) * 0.1).requires_grad_());
  }
  return m;
}

Tensor run_layers(Tensor h, const Mlp& m, int from, int to) {
  for (int l = from; l < to; ++l) h = tg::gelu(tg::matmul(h, m.weights[l]) + m.biases[l]);
  return h;
}

struct Step {
  std::vector<Tensor> grads;  // weights then biases
  std::int64_t peak_bytes = 0;
  double loss = 0;
};

// One forward + backward; segment = 0 runs the layers directly, else in checkpoints of `segment` layers.
Step train_step(const Mlp& m, const Tensor& x, int segment) {
  for (Tensor p : m.weights) p.zero_grad(/*set_to_none=*/true);  // handles alias: clears the parameter's .grad
  for (Tensor p : m.biases) p.zero_grad(/*set_to_none=*/true);
  Step step;
  const std::int64_t baseline = bytes_now();
  tg::reset_peak_memory();
  {
    const int layers = static_cast<int>(m.weights.size());
    Tensor h = x;
    if (segment == 0) {
      h = run_layers(h, m, 0, layers);
    } else {
      for (int from = 0; from < layers; from += segment)
        h = tg::checkpoint([&m, from, segment](const Tensor& in) { return run_layers(in, m, from, from + segment); },
                           h);
    }
    Tensor loss = h.square().mean();
    step.loss = loss.item();
    loss.backward();
  }
  step.peak_bytes = tg::memory_stats().peak_bytes - baseline;
  for (auto& p : m.weights) step.grads.push_back(p.grad());
  for (auto& p : m.biases) step.grads.push_back(p.grad());
  return step;
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  double worst = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a.data_ptr()[i] - b.data_ptr()[i]));
  return worst;
}

}  // namespace

TEST_CASE("checkpoint gives f's values and gradients and keeps none of its intermediates", "[checkpoint]") {
  tg::Generator gen(1);
  auto x = away_from_zero({4, 3}, gen).requires_grad_();
  auto w = away_from_zero({3, 3}, gen).requires_grad_();

  const std::int64_t before = bytes_now();
  Tensor y = tg::checkpoint([&w](const Tensor& in) { return block(in, w); }, x);
  // Only the output's buffer is new: the inputs are referenced, f's intermediates are gone.
  CHECK(bytes_now() - before == y.numel() * static_cast<std::int64_t>(sizeof(double)));
  CHECK(grad_fn_name(y) == "CheckpointBackward");
  CHECK(y.requires_grad());
  CHECK(x.is_leaf());  // the caller's input is untouched

  Tensor plain = block(x, w);
  CHECK(bytes_now() - before > 3 * y.numel() * static_cast<std::int64_t>(sizeof(double)));
  require_values(y, plain.to_vector(), 0);

  auto seed = away_from_zero({4, 3}, gen);
  y.backward(seed);
  auto gx = x.grad().clone(), gw = w.grad().clone();  // w was captured by the closure: it gets .grad too
  x.zero_grad(true);
  w.zero_grad(true);
  plain.backward(seed);
  require_values(gx, x.grad().to_vector(), 1e-15);
  require_values(gw, w.grad().to_vector(), 1e-15);

  // tg::grad reaches captured parameters too: they are edges of CheckpointBackward.
  Tensor y2 = tg::checkpoint([&w](const Tensor& in) { return block(in, w); }, x);
  auto g = tg::grad(y2, {w}, {seed});
  require_values(g[0], gw.to_vector(), 1e-15);
}

TEST_CASE("checkpoint with several inputs and outputs", "[checkpoint]") {
  auto x = values({0.3, -1.2, 2.0}, {3}, true);
  auto c = values({2, 0.5, -1}, {3});  // does not require grad
  auto w = values({1.5}, {}, true);
  const auto f = [&w](const Tensors& in) { return Tensors{tg::sin(in[0]) * in[1] * w, tg::cos(in[0])}; };
  Tensors outs = tg::checkpoint(f, {x, c});
  REQUIRE(outs.size() == 2);
  CHECK(grad_fn_name(outs[0]) == "CheckpointBackward");
  CHECK(outs[1].grad_fn() == outs[0].grad_fn());  // one node, two outputs
  CHECK(outs[1].output_nr() == 1);

  // Only the second output is used: the first one's gradient is undefined (zero), and w,
  // which only the first reaches, gets no gradient, as without checkpointing.
  outs[1].sum().backward();
  require_values(x.grad(), {-std::sin(0.3), -std::sin(-1.2), -std::sin(2.0)}, 1e-15);
  CHECK_FALSE(w.grad().defined());
  CHECK_FALSE(c.grad().defined());

  x.zero_grad(true);
  outs = tg::checkpoint(f, {x, c});
  (outs[0].sum() + outs[1].sum()).backward();
  // d/dx [sin(x) c w + cos(x)] = cos(x) c w - sin(x);  d/dw = sum sin(x) c
  require_values(x.grad(),
                 {std::cos(0.3) * 2 * 1.5 - std::sin(0.3), std::cos(-1.2) * 0.5 * 1.5 - std::sin(-1.2),
                  std::cos(2.0) * -1 * 1.5 - std::sin(2.0)},
                 1e-14);
  require_values(w.grad(), {std::sin(0.3) * 2 + std::sin(-1.2) * 0.5 - std::sin(2.0)}, 1e-14);
}

TEST_CASE("checkpoint: gradcheck and gradgradcheck (double backward recomputes with recording on)", "[checkpoint]") {
  tg::Generator gen(2);
  auto x = away_from_zero({2, 3}, gen), w = away_from_zero({3, 2}, gen);
  const auto through_checkpoint = [](const Tensors& in) {
    return tg::checkpoint([](const Tensors& v) { return tg::tanh(tg::matmul(v[0], v[1])) * v[0].sum(); }, in);
  };
  CHECK_GRAD(through_checkpoint, x, w);
  CHECK_GRADGRAD(through_checkpoint, x, w);

  // Second derivatives reach captured parameters as well. y = sum (x w)^3:
  // dy/dx = 3 x^2 w^3, and d/dw sum(dy/dx) = sum 9 x^2 w^2, d/dx sum(dy/dx) = 6 x w^3.
  auto a = values({0.5, -2}, {2}, true), p = values({1.5}, {}, true);
  Tensor y = tg::checkpoint([&p](const Tensor& in) { return (in * p).pow(3.0).sum(); }, a);
  Tensor dy = tg::grad(y, {a}, {}, std::nullopt, /*create_graph=*/true)[0];
  require_values(dy, {3 * 0.25 * 3.375, 3 * 4 * 3.375}, 1e-13);
  REQUIRE(dy.requires_grad());
  dy.sum().backward();
  require_values(p.grad(), {9 * (0.25 + 4) * 2.25}, 1e-12);
  require_values(a.grad(), {6 * 0.5 * 3.375, 6 * -2 * 3.375}, 1e-12);
}

TEST_CASE("checkpoint: parameters captured by f, shared with code outside it, and nested checkpoints", "[checkpoint]") {
  tg::Generator gen(3);
  auto x = away_from_zero({3, 2}, gen).requires_grad_();
  auto w1 = away_from_zero({2, 2}, gen).requires_grad_(), w2 = away_from_zero({2, 2}, gen).requires_grad_();
  const auto inner = [&](const Tensor& in) { return tg::tanh(tg::matmul(in, w1)); };
  const auto outer = [&](const Tensor& in) { return tg::matmul(tg::sin(inner(in)), w2) * w1.sum(); };
  // w1 is used inside and outside the checkpoints (weight tying); the result must not care.
  const auto loss_plain = [&] { return (outer(x) * w1.mean()).sum(); };
  const auto loss_checkpointed = [&] {
    const auto outer_ckpt = [&](const Tensor& in) {
      return tg::matmul(tg::sin(tg::checkpoint(inner, in)), w2) * w1.sum();
    };
    return (tg::checkpoint(outer_ckpt, x) * w1.mean()).sum();
  };
  loss_plain().backward();
  const Tensors expected{x.grad().clone(), w1.grad().clone(), w2.grad().clone()};
  for (auto* t : {&x, &w1, &w2}) t->zero_grad(true);
  Tensor loss = loss_checkpointed();
  CHECK(grad_fn_name(loss) == "SumBackward0");
  loss.backward();
  require_values(x.grad(), expected[0].to_vector(), 1e-14);
  require_values(w1.grad(), expected[1].to_vector(), 1e-14);
  require_values(w2.grad(), expected[2].to_vector(), 1e-14);

  // A first segment whose input is data (no grad): only the parameters make it differentiable.
  auto data = away_from_zero({3, 2}, gen);
  Tensor y = tg::checkpoint(inner, data);
  CHECK(grad_fn_name(y) == "CheckpointBackward");
  w1.zero_grad(true);
  y.sum().backward();
  auto gw1 = w1.grad().clone();
  w1.zero_grad(true);
  inner(data).sum().backward();
  require_values(gw1, w1.grad().to_vector(), 1e-15);

  // Nothing requires grad: f's outputs come back as they are.
  auto constant = values({1, 2}, {1, 2});
  Tensor z = tg::checkpoint([](const Tensor& in) { return in * 2.0; }, constant);
  CHECK_FALSE(z.requires_grad());
  require_values(z, {2, 4});
}

TEST_CASE("checkpoint: outputs that are an input or a parameter, retain_graph, grad mode off", "[checkpoint]") {
  auto x = values({1, -2}, {2}, true), w = values({3, 4}, {2}, true);
  Tensors outs = tg::checkpoint([&w](const Tensor& in) { return Tensors{in, w}; }, x);
  CHECK(grad_fn_name(outs[0]) == "CheckpointBackward");
  CHECK(x.is_leaf());
  (outs[0] * 2.0 + outs[1] * 3.0).sum().backward();
  require_values(x.grad(), {2, 2});
  require_values(w.grad(), {3, 3});

  // retain_graph: the node can run again, recomputing f each time.
  x.zero_grad(true);
  int calls = 0;
  Tensor y = tg::checkpoint(
      [&calls](const Tensor& in) {
        ++calls;
        return (in * in).sum();
      },
      x);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  require_values(x.grad(), {4, -8});  // twice 2x
  CHECK(calls == 3);                  // forward, then once per backward
  CHECK_THROWS_WITH(y.backward(), TG_CONTAINS("CheckpointBackward a second time"));

  // Grad mode off: f simply runs.
  tg::NoGradGuard no_grad;
  Tensor z = tg::checkpoint([](const Tensor& in) { return in * 2.0; }, x);
  CHECK_FALSE(z.requires_grad());
  require_values(z, {2, -4});
}

TEST_CASE("checkpoint: dropout with the generator copied inside f is recomputed identically", "[checkpoint]") {
  tg::Generator gen(4);
  auto x = away_from_zero({6, 5}, gen).requires_grad_();
  const tg::Generator seeded(123);
  // Each call draws the same mask: f copies the generator instead of advancing a shared one.
  const auto f = [seeded](const Tensor& in) {
    tg::Generator g = seeded;
    return tg::dropout(tg::sin(in), 0.5, /*training=*/true, g) * in;
  };
  tg::checkpoint(f, x).sum().backward();
  auto checkpointed = x.grad().clone();
  x.zero_grad(true);
  f(x).sum().backward();
  require_values(checkpointed, x.grad().to_vector(), 0);
  std::int64_t dropped = 0;
  for (double v : f(x).to_vector()) dropped += v == 0;
  CHECK(dropped > 5);  // the mask did drop elements
}

TEST_CASE("checkpoint: errors", "[checkpoint]") {
  auto x = values({1, 2}, {2}, true), w = values({0.5, -1}, {2}, true);

  // An input modified in place after the checkpoint: backward would recompute from the new values.
  auto data = values({1, 2}, {2});
  Tensor y = tg::checkpoint([&w](const Tensor& in) { return (in * w).exp(); }, data);
  data.add_(1.0);
  CHECK_THROWS_AS(y.sum().backward(), tg::GraphError);
  Tensor y2 = tg::checkpoint([&w](const Tensor& in) { return (in * w).exp(); }, data);
  data.mul_(2.0);
  CHECK_THROWS_WITH(y2.sum().backward(),
                    TG_CONTAINS("modified by an in-place operation") && TG_CONTAINS("saved by CheckpointBackward"));

  // A non-leaf that requires grad, captured instead of passed in.
  Tensor h = w * 2.0;
  const auto uses_h = [&h](const Tensor& in) { return in * h; };
  CHECK_THROWS_AS(tg::checkpoint(uses_h, x), tg::GraphError);
  CHECK_THROWS_WITH(tg::checkpoint(uses_h, x),
                    TG_CONTAINS("checkpoint: f uses a tensor that requires grad and was computed outside f (by "
                                "MulBackward0)") &&
                        TG_CONTAINS("pass it in the inputs"));
  // Passed as an input it is fine.
  Tensor ok = tg::checkpoint([](const Tensors& in) { return in[0] * in[1]; }, {x, h});
  ok.sum().backward();
  require_values(w.grad(), {2, 4});  // d/dw sum(x * 2w) = 2x

  // f that changes between the forward pass and the recomputation.
  int calls = 0;
  const auto changing = [&calls](const Tensor& in) { return ++calls == 1 ? in * 2.0 : (in * 2.0).sum(); };
  Tensor z = tg::checkpoint(changing, x);
  CHECK_THROWS_AS(z.sum().backward(), tg::GraphError);
  calls = 0;
  Tensor z2 = tg::checkpoint(changing, x);
  CHECK_THROWS_WITH(z2.sum().backward(), TG_CONTAINS("checkpoint: recomputing f during backward gave output 0 the "
                                                     "shape [], the forward pass [2]") &&
                                             TG_CONTAINS("deterministic"));

  CHECK_THROWS_AS(tg::checkpoint([](const Tensor& in) { return in; }, Tensor()), tg::ValueError);
  CHECK_THROWS_WITH(tg::checkpoint([](const Tensors& in) { return in[0]; }, {x, Tensor()}),
                    TG_CONTAINS("checkpoint: input 1 is undefined"));
  CHECK_THROWS_WITH(tg::checkpoint([](const Tensors&) { return Tensors{Tensor()}; }, {x}),
                    TG_CONTAINS("checkpoint: f returned an undefined tensor as output 0"));
}

TEST_CASE("checkpoint frees everything once backward is done, and works in float", "[checkpoint]") {
  const std::int64_t before = bytes_now();
  {
    auto x = tg::ones<double>({8, 8}, tg::requires_grad());
    auto w = tg::full<double>({8, 8}, 0.1, tg::requires_grad());
    Tensor y = x;
    for (int s = 0; s < 3; ++s) y = tg::checkpoint([&w](const Tensor& in) { return block(in, w); }, y);
    y.sum().backward();
    CHECK(x.grad().defined());
  }
  CHECK(bytes_now() == before);

  auto xf = tg::from_vector<float>({0.5f, -1.0f}, {2}, tg::requires_grad());
  tg::Tensor<float> yf = tg::checkpoint([](const tg::Tensor<float>& in) { return (in * in * in).sum(); }, xf);
  yf.backward();
  CHECK(xf.grad().data_ptr()[0] == Approx(0.75f));
  CHECK(xf.grad().data_ptr()[1] == Approx(3.0f));
}

TEST_CASE("checkpoint: 64-layer MLP, same gradients, at least 4x less peak memory", "[checkpoint]") {
  constexpr int kLayers = 64, kSegment = 8;
  constexpr std::int64_t kWidth = 32, kBatch = 256;
  tg::Generator gen(5);
  const Mlp mlp = make_mlp(kLayers, kWidth, gen);
  const Tensor x = tg::randn<double>({kBatch, kWidth}, gen);

  const Step plain = train_step(mlp, x, 0);
  const Step checkpointed = train_step(mlp, x, kSegment);
  CHECK(checkpointed.loss == plain.loss);
  REQUIRE(checkpointed.grads.size() == plain.grads.size());
  double worst = 0;
  for (std::size_t i = 0; i < plain.grads.size(); ++i)
    worst = std::max(worst, max_abs_difference(checkpointed.grads[i], plain.grads[i]));
  INFO("largest gradient difference " << worst);
  CHECK(worst <= 1e-12);

  const double ratio = static_cast<double>(plain.peak_bytes) / static_cast<double>(checkpointed.peak_bytes);
  INFO("peak bytes without checkpointing " << plain.peak_bytes << ", with " << checkpointed.peak_bytes << ", ratio "
                                           << ratio);
  CHECK(ratio >= 4.0);
  // The activations dominate: the plain run holds at least two [batch, width] buffers per layer.
  CHECK(plain.peak_bytes >= 2 * kLayers * kBatch * kWidth * static_cast<std::int64_t>(sizeof(double)));
}

}  // namespace autograd_checkpoint_test
