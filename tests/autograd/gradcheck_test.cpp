#include "test_util.hpp"

namespace autograd_gradcheck_test {

namespace {
// x^2 with a deliberately wrong backward (3x instead of 2x), to show gradcheck catches it.
tg::Tensor<double> bad_square(const tg::Tensor<double>& x) {
  tg::Tensor<double> out = tg::detail::unary_map(x, [](const auto& a) { return a * a; });
  return tg::record(out, "BadSquareBackward", {x}, [sx = tg::save(x)](tg::Grads<double>& g) {
    g.in[0] = g.out * g[sx] * 3.0;
  });
}
}  // namespace

TEST_CASE("gradcheck passes correct gradients of any output shape", "[gradcheck]") {
  tg::Generator gen(3);
  auto a = tg::randn<double>({2, 3}, gen, tg::requires_grad());
  auto b = tg::randn<double>({3}, gen, tg::requires_grad());
  auto r = tg::gradcheck([](const Tensors& in) { return tg::tanh(in[0] * in[1]); }, {a, b});
  INFO(r.report());
  CHECK(r.ok);
  CHECK(r.max_abs_error < 1e-8);
  CHECK(r.relative_error < 1e-8);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].shape == tg::Shape{2, 3});
  CHECK(r.inputs[1].shape == tg::Shape{3});
  CHECK_FALSE(a.grad().defined());  // the caller's tensors are untouched

  // One-tensor callables and several outputs work too.
  CHECK(tg::gradcheck([](const tg::Tensor<double>& x) { return x.exp().sum(); }, {a}).ok);
  CHECK(tg::gradcheck([](const Tensors& in) { return Tensors{in[0].sin(), in[0].cos().sum()}; }, {a}).ok);
}

TEST_CASE("gradcheck finds a wrong backward and reports where", "[gradcheck]") {
  auto x = tg::from_vector<double>({0.5, -1.0, 2.0}, tg::requires_grad());
  auto r = tg::gradcheck(bad_square, {x});
  CHECK_FALSE(r.ok);
  CHECK_FALSE(static_cast<bool>(r));
  // Analytic 3x vs numerical 2x: the worst element is x = 2 (error |6 - 4| = 2).
  CHECK(r.max_abs_error == Approx(2.0).epsilon(1e-6));
  CHECK(r.worst_input == 0);
  CHECK(r.worst_index == 2);
  CHECK(r.inputs[0].analytic == Approx(6.0));
  CHECK(r.inputs[0].numerical == Approx(4.0).epsilon(1e-6));
  CHECK(r.max_rel_error == Approx(1.0 / 3.0).epsilon(1e-6));
  CHECK_THAT(r.report(), TG_CONTAINS("FAILED"));
  CHECK_THAT(r.report(), TG_CONTAINS("analytic 6 vs numerical 4"));
}

TEST_CASE("gradcheck checks only inputs that require grad, or all when none does", "[gradcheck]") {
  auto x = tg::from_vector<double>({1, 2}, tg::requires_grad());
  auto c = tg::from_vector<double>({3, 4});
  auto r = tg::gradcheck([](const Tensors& in) { return in[0] * in[1]; }, {x, c});
  CHECK(r.ok);
  REQUIRE(r.inputs.size() == 1);
  CHECK(r.inputs[0].input == 0);
  auto all = tg::gradcheck([](const Tensors& in) { return in[0] * in[1]; }, {x.detach(), c});
  CHECK(all.inputs.size() == 2);
}

TEST_CASE("gradcheck works on float tensors with a coarser step", "[gradcheck]") {
  auto x = tg::from_vector<float>({0.3f, -0.7f}, tg::requires_grad());
  tg::GradcheckOptions opts;
  opts.atol = 1e-2;
  opts.rtol = 1e-2;
  auto r = tg::gradcheck([](const std::vector<tg::Tensor<float>>& in) { return in[0].tanh(); }, {x}, opts);
  INFO(r.report());
  CHECK(r.ok);
  CHECK(r.options.eps == Approx(1e-3));
}

TEST_CASE("gradgradcheck checks second derivatives", "[gradcheck]") {
  auto x = tg::from_vector<double>({0.3, -0.7, 1.1}, tg::requires_grad());
  CHECK_GRADGRAD([](const Tensors& in) { return (in[0].tanh() * in[0]).sum(); }, x);
  // A function whose gradient does not depend on x (second derivative zero).
  CHECK_GRADGRAD([](const Tensors& in) { return (in[0] * 3.0).sum(); }, x);
  // A wrong first derivative that is still a smooth function is caught by gradcheck,
  // and its derivative is consistent, so gradgradcheck alone would pass: both are needed.
  CHECK_FALSE(tg::gradcheck(bad_square, {x}).ok);
}

TEST_CASE("gradcheck handles outputs that share the input's storage", "[gradcheck]") {
  auto x = tg::from_vector<double>({0.5, -1.0, 2.0, 3.0}, {2, 2}, tg::requires_grad());
  CHECK(tg::gradcheck([](const Tensors& in) { return in[0]; }, {x}).ok);
  CHECK(tg::gradcheck([](const Tensors& in) { return in[0].reshape({4}); }, {x}).ok);
  CHECK(tg::gradcheck([](const Tensors& in) { return in[0].detach() * 0.0 + in[0]; }, {x}).ok);
}

TEST_CASE("gradcheck reports shape changes and undefined inputs", "[gradcheck]") {
  REQUIRE_THROWS_AS(tg::gradcheck([](const Tensors& in) { return in[0]; }, {tg::Tensor<double>()}), tg::ValueError);
}

}  // namespace autograd_gradcheck_test
