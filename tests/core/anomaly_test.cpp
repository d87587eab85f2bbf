#include "test_util.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <thread>

namespace core_anomaly_test {

namespace {
// log(x) * 0 at x = 0: the forward gives -inf * 0 = nan, the backward of log gets
// gradient 0 and returns 0 / x = 0 / 0 = nan for its input.
Tensor nan_loss(const Tensor& x) { return (tg::log(x) * 0.0).sum(); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("anomaly mode names the op whose backward returned nan", "[anomaly]") {
  auto x = tg::from_vector<double>({0, 1}, tg::requires_grad());
  tg::AnomalyGuard anomaly;
  auto loss = nan_loss(x);
  CHECK_THROWS_AS(loss.backward(Tensor(), true), tg::GraphError);
  CHECK_THROWS_WITH(loss.backward(Tensor(), true),
                    TG_CONTAINS("backward: LogBackward0 returned nan in its 0th output"));
  CHECK_THROWS_WITH(loss.backward(Tensor(), true), TG_CONTAINS("tg::AnomalyLabel"));  // the hint, with no label
  CHECK_THROWS_WITH(tg::grad(loss, {x}), TG_CONTAINS("grad: LogBackward0 returned nan in its 0th output"));
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("anomaly mode reports inf and -inf, and which input's gradient it was", "[anomaly]") {
  tg::AnomalyGuard anomaly;
  auto x = tg::from_vector<double>({0, 4}, tg::requires_grad());
  CHECK_THROWS_WITH(tg::sqrt(x).sum().backward(), TG_CONTAINS("SqrtBackward0 returned inf in its 0th output"));
  CHECK_THROWS_WITH((tg::sqrt(x) * -1.0).sum().backward(),
                    TG_CONTAINS("SqrtBackward0 returned -inf in its 0th output"));

  // a * b with a = log(0) = -inf: d/da = b is finite, d/db = a is -inf: the 1st output.
  auto z = tg::zeros<double>({1}, tg::requires_grad());
  auto b = tg::full<double>({1}, 2.0, tg::requires_grad());
  CHECK_THROWS_WITH((tg::log(z) * b).sum().backward(), TG_CONTAINS("MulBackward0 returned -inf in its 1st output"));
  CHECK_FALSE(z.grad().defined());
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("ordinals follow English (PyTorch's message counts outputs from 0th)", "[anomaly]") {
  CHECK(tg::detail::ordinal(0) == "0th");
  CHECK(tg::detail::ordinal(1) == "1st");
  CHECK(tg::detail::ordinal(2) == "2nd");
  CHECK(tg::detail::ordinal(3) == "3rd");
  CHECK(tg::detail::ordinal(4) == "4th");
  CHECK(tg::detail::ordinal(11) == "11th");
  CHECK(tg::detail::ordinal(12) == "12th");
  CHECK(tg::detail::ordinal(13) == "13th");
  CHECK(tg::detail::ordinal(21) == "21st");
  CHECK(tg::detail::ordinal(102) == "102nd");
  CHECK(tg::detail::ordinal(111) == "111th");
}

TEST_CASE("a labelled forward op is named in the anomaly message", "[anomaly]") {
  tg::AnomalyGuard anomaly;
  auto x = tg::from_vector<double>({0, 1}, tg::requires_grad());
  Tensor y;
  {
    tg::AnomalyLabel encoder("encoder");
    tg::AnomalyLabel layer("layer2");
    CHECK(tg::current_anomaly_label() == "encoder/layer2");
    {
      tg::AnomalyLabel attention("attention");
      y = tg::log(x);
    }
    CHECK(tg::current_anomaly_label() == "encoder/layer2");
  }
  CHECK(tg::current_anomaly_label().empty());
  CHECK(y.grad_fn()->creation_label() == "encoder/layer2/attention");
  auto loss = (y * 0.0).sum();
  CHECK(loss.grad_fn()->creation_label().empty());
  const std::string message = error_of([&] { loss.backward(); });
  CHECK_THAT(message, TG_CONTAINS("backward: LogBackward0 returned nan in its 0th output. The forward op was created "
                                  "at: encoder/layer2/attention"));
}

TEST_CASE("labels are not remembered while anomaly mode is off (no per-node cost)", "[anomaly]") {
  auto x = tg::from_vector<double>({0, 1}, tg::requires_grad());
  Tensor y;
  {
    tg::AnomalyLabel label("encoder");
    y = tg::log(x);
  }
  CHECK(y.grad_fn()->creation_label().empty());
  tg::AnomalyGuard anomaly;  // on for backward only: the error has no creation point
  const std::string message = error_of([&] { (y * 0.0).sum().backward(); });
  CHECK_THAT(message, TG_CONTAINS("LogBackward0 returned nan in its 0th output"));
  CHECK_THAT(message, !TG_CONTAINS("created at"));
}

TEST_CASE("with anomaly mode off a NaN gradient just flows into .grad", "[anomaly]") {
  CHECK_FALSE(tg::is_anomaly_enabled());  // off by default
  auto x = tg::from_vector<double>({0, 1}, tg::requires_grad());
  CHECK_NOTHROW(nan_loss(x).backward());
  CHECK(std::isnan(x.grad().data_ptr()[0]));
  CHECK(x.grad().data_ptr()[1] == 0.0);
}

TEST_CASE("anomaly mode checks the seed, leaf gradients and hook results", "[anomaly]") {
  tg::AnomalyGuard anomaly;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  CHECK_THROWS_WITH((x * 2).backward(tg::from_vector<double>({1, nan})),
                    TG_CONTAINS("backward: the gradient passed for output 0 contains nan"));

  // Two finite gradients whose sum overflows float: caught where they meet, at the leaf.
  auto f = tg::scalar_tensor<float>(1.0f, tg::requires_grad());
  CHECK_THROWS_WITH((f * 3e38f + f * 3e38f).backward(),
                    TG_CONTAINS("backward: AccumulateGrad received inf for a leaf of shape []"));
  CHECK_FALSE(f.grad().defined());

  x.register_hook([nan](const Tensor& g) { return g * nan; });
  CHECK_THROWS_WITH((x * 2).sum().backward(),
                    TG_CONTAINS("backward: hook 0 on the gradient of a leaf of shape [2] returned nan"));
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("an anomaly leaves no .grad half-updated", "[anomaly]") {
  tg::AnomalyGuard anomaly;
  auto a = tg::ones<double>({2}, tg::requires_grad());
  auto x = tg::from_vector<double>({0, 1}, tg::requires_grad());
  auto h = a * 3;
  h.retain_grad();
  // a's gradient is complete (and h's retained) long before LogBackward0 runs
  auto loss = h.sum() + nan_loss(x);
  CHECK_THROWS_AS(loss.backward(), tg::GraphError);
  CHECK_FALSE(a.grad().defined());
  CHECK_FALSE(h.grad().defined());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("anomaly mode is per thread", "[anomaly]") {
  tg::AnomalyGuard anomaly;
  tg::AnomalyLabel label("main");
  bool other_enabled = true, other_threw = true, other_inner = false;
  std::string other_label = "unset";
  std::thread worker([&] {
    other_enabled = tg::is_anomaly_enabled();
    other_label = tg::current_anomaly_label();
    auto x = tg::from_vector<double>({0, 1}, tg::requires_grad());
    other_threw = !error_of([&] { nan_loss(x).backward(); }).empty();
    tg::AnomalyGuard inner(true);
    other_inner = tg::is_anomaly_enabled();
  });
  worker.join();
  CHECK_FALSE(other_enabled);
  CHECK(other_label.empty());
  CHECK_FALSE(other_threw);  // the NaN flowed on the worker, whose mode is off
  CHECK(other_inner);
  CHECK(tg::is_anomaly_enabled());  // the worker's guard did not touch this thread
  CHECK(tg::current_anomaly_label() == "main");
}

TEST_CASE("anomaly guards nest and restore the previous mode", "[anomaly]") {
  CHECK_FALSE(tg::is_anomaly_enabled());
  {
    tg::AnomalyGuard on;
    CHECK(tg::is_anomaly_enabled());
    {
      tg::AnomalyGuard off(false);
      CHECK_FALSE(tg::is_anomaly_enabled());
      {
        tg::AnomalyGuard again;
        CHECK(tg::is_anomaly_enabled());
      }
      CHECK_FALSE(tg::is_anomaly_enabled());
    }
    CHECK(tg::is_anomaly_enabled());
  }
  CHECK_FALSE(tg::is_anomaly_enabled());
  tg::set_anomaly_enabled(true);
  CHECK(tg::is_anomaly_enabled());
  tg::set_anomaly_enabled(false);
  CHECK_FALSE(tg::is_anomaly_enabled());
}

TEST_CASE("nodes recorded by a backward rule (create_graph) carry the forward op's label", "[anomaly]") {
  tg::AnomalyGuard anomaly;
  auto x = tg::from_vector<double>({0.5, 2}, tg::requires_grad());
  Tensor y;
  {
    tg::AnomalyLabel label("decoder");
    y = tg::log(x);
  }
  auto g = tg::grad(y.sum(), {x}, {}, std::nullopt, /*create_graph=*/true)[0];  // 1 / x
  require_values(g, {2, 0.5});
  REQUIRE(g.grad_fn());
  CHECK(g.grad_fn()->creation_label() == "decoder");
  CHECK(tg::current_anomaly_label().empty());  // restored after the pass
  auto gg = tg::grad(g.sum(), {x})[0];           // -1 / x^2, finite: no throw
  require_values(gg, {-4, -0.25});
}

}  // namespace core_anomaly_test
