#include <cmath>
#include <thread>

#include "test_util.hpp"

namespace autograd_tape_test {

// tg::GradientTape: TensorFlow's scope-based gradients on the same graph as backward().

TEST_CASE("GradientTape: gradients of parameters, as TF and as PyTorch computes them", "[tape]") {
  // Linear regression: loss = mean((x w + b - y)^2); dloss/dw = 2 mean(r x), dloss/db = 2 mean(r), r = x w + b - y.
  auto x = values({1, 2, 3}, {3}), y = values({2, 3, 7}, {3});
  auto w = values({0.5}, {}, true), b = values({1.0}, {}, true);
  const std::vector<double> r{1 * 0.5 + 1 - 2, 2 * 0.5 + 1 - 3, 3 * 0.5 + 1 - 7};  // -0.5, -1, -4.5
  const double dw = 2.0 / 3 * (r[0] * 1 + r[1] * 2 + r[2] * 3), db = 2.0 / 3 * (r[0] + r[1] + r[2]);

  tg::GradientTape<> tape;
  auto loss = (x * w + b - y).square().mean();
  auto grads = tape.gradient(loss, {w, b});
  REQUIRE(grads.size() == 2);
  require_values(grads[0], {dw}, 1e-14);
  require_values(grads[1], {db}, 1e-14);
  CHECK_FALSE(w.grad().defined());  // gradient() never touches .grad
  CHECK_FALSE(grads[0].requires_grad());

  // The PyTorch spelling of the same thing gives the same numbers.
  auto loss2 = (x * w + b - y).square().mean();
  loss2.backward();
  require_values(w.grad(), {dw}, 1e-14);
  require_values(b.grad(), {db}, 1e-14);
}

TEST_CASE("GradientTape::watch tracks a constant for the tape's lifetime", "[tape]") {
  auto x = values({0.5, -2}, {2});
  {
    tg::GradientTape<> tape;
    tape.watch(x);
    CHECK(x.requires_grad());
    REQUIRE(tape.watched().size() == 1);
    auto y = (x * x * x).sum();
    require_values(tape.gradient(y, x), {3 * 0.25, 3 * 4});  // 3 x^2
  }
  CHECK_FALSE(x.requires_grad());  // switched back off with the tape

  // A tensor that requires grad is tracked already; watch() leaves it alone.
  auto p = values({2}, {}, true);
  {
    tg::GradientTape<> tape;
    tape.watch(p);
    CHECK(tape.watched().empty());
  }
  CHECK(p.requires_grad());

  // A non-leaf: the gradient with respect to the intermediate itself.
  tg::GradientTape<> tape;
  auto h = p * 3.0;  // 6
  tape.watch(h);
  auto z = h * h;
  CHECK(tape.gradient(z, h).item() == 12);  // 2h
}

TEST_CASE("GradientTape records inside a NoGradGuard, and stop_recording pauses it", "[tape]") {
  auto w = values({1.5}, {}, true);
  tg::NoGradGuard no_grad;
  {
    tg::GradientTape<> tape;
    CHECK(tg::is_grad_enabled());
    auto a = w * w;  // recorded
    tg::Tensor<double> c;
    {
      auto pause = tape.stop_recording();
      CHECK_FALSE(tg::is_grad_enabled());
      c = w * 10.0;  // not recorded: a constant
    }
    CHECK(tg::is_grad_enabled());
    auto grads = tape.gradient(a + c, {w});
    require_values(grads[0], {3.0});  // 2w, nothing through c
  }
  CHECK_FALSE(tg::is_grad_enabled());  // the outer mode is back
  CHECK_FALSE((w * 2.0).requires_grad());
}

TEST_CASE("GradientTape: one set of gradients unless persistent", "[tape]") {
  auto x = values({3}, {}, true);
  {
    tg::GradientTape<> tape;
    auto y = x * x;
    CHECK(tape.gradient(y, x).item() == 6);
    CHECK_THROWS_AS(tape.gradient(y, x), tg::GraphError);
    CHECK_THROWS_WITH(tape.gradient(y, x), TG_CONTAINS("GradientTape::gradient: a non-persistent tape computes one "
                                                       "set of gradients") &&
                                               TG_CONTAINS("persistent=*/true"));
  }
  tg::GradientTape<> tape(/*persistent=*/true);
  CHECK(tape.persistent());
  auto y = x * x, z = y * x;
  CHECK(tape.gradient(y, x).item() == 6);   // 2x
  CHECK(tape.gradient(z, x).item() == 27);  // 3x^2: the graph of y was kept
  CHECK(tape.gradient(z, y).item() == 3);   // x
}

TEST_CASE("GradientTape: unconnected sources and non-scalar targets", "[tape]") {
  auto x = values({1, 2}, {2}, true), unused = values({5}, {}, true), constant = values({7}, {});
  tg::GradientTape<> tape(true);
  auto y = x * x;  // not a scalar: TF differentiates its sum
  auto g = tape.gradient(y, {x, unused, constant});
  require_values(g[0], {2, 4});
  CHECK_FALSE(g[1].defined());  // TF's None
  CHECK_FALSE(g[2].defined());
  auto z = tape.gradient(y, {x, unused}, tg::Tensor<double>(), tg::UnconnectedGradients::zero);
  require_values(z[1], {0});
  CHECK(z[1].shape() == tg::Shape{});

  // output_gradient weights the target's elements: d<v, x^2>/dx = 2 x v.
  require_values(tape.gradient(y, x, values({3, -1}, {2})), {6, -4});

  // A target that depends on nothing tracked: every gradient is undefined.
  auto c = constant * 2.0;
  CHECK_FALSE(tape.gradient(c, constant).defined());

  CHECK_THROWS_AS(tape.gradient(y, x, values({1, 2, 3}, {3})), tg::ShapeError);
  CHECK_THROWS_WITH(tape.gradient(y, x, values({1, 2, 3}, {3})),
                    TG_CONTAINS("GradientTape::gradient: output_gradient has shape [3] but the target has shape [2]"));
  CHECK_THROWS_WITH(tape.gradient(tg::Tensor<double>(), x),
                    TG_CONTAINS("GradientTape::gradient: the target is undefined"));
  CHECK_THROWS_AS(tape.gradient(y, {x, tg::Tensor<double>()}), tg::ValueError);
  CHECK_THROWS_WITH(tape.gradient(y, {x, tg::Tensor<double>()}),
                    TG_CONTAINS("GradientTape::gradient: source 1 is undefined"));
  CHECK_THROWS_WITH(tape.watch(tg::Tensor<double>()), TG_CONTAINS("GradientTape::watch: the tensor is undefined"));
}

TEST_CASE("GradientTape: nested tapes give higher derivatives", "[tape]") {
  // y = sin(x): y' = cos x, y'' = -sin x, y''' = -cos x.
  auto x = values({0.7}, {});
  tg::GradientTape<> t3;
  t3.watch(x);
  tg::Tensor<double> d1, d2;
  {
    tg::GradientTape<> t2;
    {
      tg::GradientTape<> t1;
      auto y = tg::sin(x);
      d1 = t1.gradient(y, x);
    }
    d2 = t2.gradient(d1, x);
  }
  auto d3 = t3.gradient(d2, x);
  CHECK(d1.item() == Approx(std::cos(0.7)).epsilon(1e-15));
  CHECK(d2.item() == Approx(-std::sin(0.7)).epsilon(1e-15));
  CHECK(d3.item() == Approx(-std::cos(0.7)).epsilon(1e-15));
  CHECK_FALSE(d3.requires_grad());  // the outermost tape records nothing more
}

TEST_CASE("GradientTape belongs to its thread", "[tape]") {
  auto x = values({2}, {}, true);
  tg::GradientTape<> tape;
  auto y = x * x;
  bool threw = false;
  std::string message;
  std::thread other([&] {
    try {
      tape.gradient(y, x);
    } catch (const tg::GraphError& e) {
      threw = true;
      message = e.what();
    }
  });
  other.join();
  CHECK(threw);
  CHECK_THAT(message, TG_CONTAINS("GradientTape::gradient: the tape belongs to the thread that created it"));
  CHECK(tape.gradient(y, x).item() == 4);  // still usable on its own thread

  tg::GradientTape<float> tf;
  auto xf = tg::full<float>(tg::Shape{}, 2.0f);
  tf.watch(xf);
  CHECK(tf.gradient(xf * xf * xf, xf).item() == 12.0f);
}

}  // namespace autograd_tape_test
