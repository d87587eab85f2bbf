#include "test_util.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

namespace ops_activation_test {

// relu6, hardtanh, leaky_relu, hardsigmoid, hardswish, hardshrink, softshrink, elu, selu,
// celu, softplus, log_sigmoid, silu, mish, gelu, softsign, tanhshrink.
// Reference values marked "mpmath" were computed with mpmath 1.3 at 50 significant
// digits (derivatives by mpmath.diff).

namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kSeluAlpha = 1.6732632423543772848170429916717;
const double kSeluScale = 1.0507009873554804934193349852946;

using Fn = std::function<Tensor(const Tensor&)>;

// x.grad() after f(x).sum().backward(), i.e. f'(x) element-wise.
Tensor grad_of(const Fn& f, const std::vector<double>& x_values) {
  auto x = values(x_values, {static_cast<std::int64_t>(x_values.size())}, true);
  f(x).sum().backward();
  return x.grad();
}

// The second derivative f''(x) element-wise, by differentiating f'(x) (create_graph).
Tensor second_derivative(const Fn& f, const std::vector<double>& x_values) {
  auto x = values(x_values, {static_cast<std::int64_t>(x_values.size())}, true);
  auto g = tg::grad(std::vector<Tensor>{f(x).sum()}, std::vector<Tensor>{x}, {}, true, true);
  if (!g[0].requires_grad()) return tg::zeros_like(x);  // f' does not depend on x
  const Tensor second = tg::grad(std::vector<Tensor>{g[0].sum()}, std::vector<Tensor>{x}, {}, std::nullopt, false, true)[0];
  return second.defined() ? second : tg::zeros_like(x);
}

// gradcheck and gradgradcheck on a [2, 3] tensor, a 0-d scalar and `extra`.
void check_smooth(const Fn& f, const Tensor& extra, std::uint64_t seed) {
  tg::Generator gen(seed);
  for (const Tensor& in : {tg::randn<double>({2, 3}, gen) * 2.0, tg::randn<double>({}, gen), extra}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

void require_finite(const Tensor& t) {
  for (double v : t.to_vector()) CHECK(std::isfinite(v));
}

// The points the mpmath tables below are taken at.
const std::vector<double> kPoints = {-3, -1, -0.5, 0.5, 1, 2.5};

}  // namespace

TEST_CASE("hardtanh", "[activation][hardtanh]") {
  auto x = values({-2, -1, -0.5, 0, 1, 3}, {6}, true);
  auto y = tg::hardtanh(x);
  require_values(y, {-1, -1, -0.5, 0, 1, 1});
  CHECK(grad_fn_name(y) == "HardtanhBackward0");
  // NOTE: gradient 0 at the bounds themselves (PyTorch's hardtanh_backward), unlike clamp.
  (y * 2).sum().backward();
  require_values(x.grad(), {0, 0, 2, 2, 0, 0});

  require_values(tg::hardtanh(values({-3, -2, 0, 0.5, 2}, {5}), -2.0, 0.5), {-2, -2, 0, 0.5, 0.5});
  require_values(grad_of([](const Tensor& t) { return tg::hardtanh(t, -2.0, 0.5); }, {-3, -2, 0, 0.5, 2}),
                 {0, 0, 1, 0, 0});
  // min_val == max_val: constant, no gradient anywhere.
  require_values(tg::hardtanh(values({-1, 0, 1}, {3}), 0.0, 0.0), {0, 0, 0});
  require_values(grad_of([](const Tensor& t) { return tg::hardtanh(t, 0.0, 0.0); }, {-1, 0, 1}), {0, 0, 0});
  // nan stays nan; an infinite upstream gradient outside the band gives 0, not nan.
  CHECK(std::isnan(tg::hardtanh(values({std::nan("")}, {1})).item()));
  {
    auto z = values({-5, 0, 5}, {3}, true);
    tg::hardtanh(z).backward(values({kInf, 1, kInf}, {3}));
    require_values(z.grad(), {0, 1, 0});
  }

  CHECK_THROWS_AS(tg::hardtanh(x, 1.0, -1.0), tg::ValueError);
  CHECK_THROWS_WITH(tg::hardtanh(x, 1.0, -1.0), TG_CONTAINS("hardtanh: min_val (1) must not be greater than max_val (-1)"));
  CHECK_THROWS_AS(tg::hardtanh(x, std::nan(""), 1.0), tg::ValueError);

  const Fn f = [](const Tensor& t) { return tg::hardtanh(t, -1.0, 1.0); };
  for (const Tensor& in : {values({-2, -0.5, 0.3, 0.9, 1.7, 3}, {2, 3}), tg::scalar_tensor<double>(0.25),
                           tg::scalar_tensor<double>(-4.0)}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);  // hardtanh'' = 0 away from the kinks
  }
}

TEST_CASE("relu6", "[activation][relu6]") {
  auto x = values({-1, 0, 3, 6, 7.5}, {5}, true);
  auto y = tg::relu6(x);
  require_values(y, {0, 0, 3, 6, 6});
  CHECK(grad_fn_name(y) == "HardtanhBackward0");  // PyTorch's relu6 is hardtanh(x, 0, 6)
  // NOTE: relu6'(0) = relu6'(6) = 0 (hardtanh's convention).
  y.sum().backward();
  require_values(x.grad(), {0, 0, 1, 0, 0});

  const Fn f = [](const Tensor& t) { return tg::relu6(t); };
  for (const Tensor& in : {values({-2, 0.5, 2, 5.5, 6.5, 9}, {2, 3}), tg::scalar_tensor<double>(4.0)}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("leaky_relu", "[activation][leaky_relu]") {
  auto x = values({-2, -0.5, 0, 0.5, 3}, {5}, true);
  auto y = tg::leaky_relu(x);
  require_values(y, {-0.02, -0.005, 0, 0.5, 3}, 1e-15);
  CHECK(grad_fn_name(y) == "LeakyReluBackward0");
  // NOTE: leaky_relu'(0) = negative_slope (PyTorch takes the x <= 0 slope).
  y.sum().backward();
  require_values(x.grad(), {0.01, 0.01, 0.01, 1, 1});

  require_values(tg::leaky_relu(values({-2, 0, 2}, {3}), 0.2), {-0.4, 0, 2}, 1e-15);
  require_values(grad_of([](const Tensor& t) { return tg::leaky_relu(t, 0.2); }, {-2, 0, 2}), {0.2, 0.2, 1});
  // Any slope is accepted, as in PyTorch (a slope above 1 or below 0 too).
  require_values(tg::leaky_relu(values({-2, 2}, {2}), -1.0), {2, 2});
  require_values(grad_of([](const Tensor& t) { return tg::leaky_relu(t, 3.0); }, {-1, 1}), {3, 1});
  require_values(second_derivative([](const Tensor& t) { return tg::leaky_relu(t, 0.3); }, {-1, 1}), {0, 0});

  tg::Generator gen(41);
  const Fn f = [](const Tensor& t) { return tg::leaky_relu(t, 0.1); };
  for (const Tensor& in : {away_from_zero({2, 3}, gen), away_from_zero({}, gen), values({-1000, 1000}, {2})}) {
    CHECK_GRAD(f, in);
    CHECK_GRADGRAD(f, in);
  }
}

TEST_CASE("hardsigmoid and hardswish", "[activation][hardsigmoid][hardswish]") {
  auto x = values({-4, -3, -1.5, 0, 1.5, 3, 4}, {7}, true);
  auto y = tg::hardsigmoid(x);
  require_values(y, {0, 0, 0.25, 0.5, 0.75, 1, 1}, 1e-15);
  CHECK(grad_fn_name(y) == "HardsigmoidBackward0");
  // NOTE: gradient 0 at x = -3 and x = 3 (PyTorch passes 1/6 only strictly inside).
  y.sum().backward();
  require_values(x.grad(), {0, 0, 1 / 6.0, 1 / 6.0, 1 / 6.0, 0, 0}, 1e-15);

  auto u = values({-4, -3, -1.5, 0, 1.5, 3, 4}, {7}, true);
  auto h = tg::hardswish(u);
  require_values(h, {0, 0, -0.375, 0, 1.125, 3, 4}, 1e-15);  // x (x + 3) / 6 in the middle
  CHECK(grad_fn_name(h) == "HardswishBackward0");
  // NOTE: at x = -3 the gradient is 0 and at x = 3 it is 1 (current PyTorch); x/3 + 1/2 between.
  h.sum().backward();
  require_values(u.grad(), {0, 0, 0, 0.5, 1, 1, 1}, 1e-15);
  // Second derivative: 1/3 strictly inside (-3, 3), 0 outside and at the kinks.
  require_values(second_derivative([](const Tensor& t) { return tg::hardswish(t); }, {-4, -3, 0, 2, 3, 4}),
                 {0, 0, 1 / 3.0, 1 / 3.0, 0, 0}, 1e-15);
  CHECK(std::isnan(tg::hardswish(values({std::nan("")}, {1})).item()));
  CHECK(std::isnan(tg::hardsigmoid(values({std::nan("")}, {1})).item()));

  const Fn fs = [](const Tensor& t) { return tg::hardsigmoid(t); };
  const Fn fw = [](const Tensor& t) { return tg::hardswish(t); };
  for (const Tensor& in : {values({-5, -2.5, -0.5, 1, 2.5, 5}, {2, 3}), tg::scalar_tensor<double>(0.7),
                           values({-1000, 1000}, {2})}) {
    CHECK_GRAD(fs, in);
    CHECK_GRAD(fw, in);
    CHECK_GRADGRAD(fs, in);
    CHECK_GRADGRAD(fw, in);
  }
}

TEST_CASE("hardshrink and softshrink", "[activation][hardshrink][softshrink]") {
  auto x = values({-2, -0.5, -0.2, 0, 0.5, 0.7}, {6}, true);
  auto h = tg::hardshrink(x);
  require_values(h, {-2, 0, 0, 0, 0, 0.7});
  CHECK(grad_fn_name(h) == "HardshrinkBackward0");
  // NOTE: gradient 0 on the closed band [-lambd, lambd], also at its edges (PyTorch).
  h.sum().backward();
  require_values(x.grad(), {1, 0, 0, 0, 0, 1});

  auto u = values({-2, -0.5, -0.2, 0, 0.5, 0.7}, {6}, true);
  auto s = tg::softshrink(u);
  require_values(s, {-1.5, 0, 0, 0, 0, 0.2}, 1e-15);
  CHECK(grad_fn_name(s) == "SoftshrinkBackward0");
  s.sum().backward();
  require_values(u.grad(), {1, 0, 0, 0, 0, 1});
  require_values(tg::softshrink(values({-3, 1, 3}, {3}), 2.0), {-1, 0, 1});
  require_values(tg::hardshrink(values({-3, 1, 3}, {3}), 2.0), {-3, 0, 3});
  require_values(tg::softshrink(values({-3, 0, 3}, {3}), 0.0), {-3, 0, 3});  // lambd = 0: identity

  CHECK_THROWS_AS(tg::softshrink(x, -0.5), tg::ValueError);
  CHECK_THROWS_WITH(tg::softshrink(x, -0.5), TG_CONTAINS("softshrink: lambd must be >= 0, got -0.5"));

  const Fn fh = [](const Tensor& t) { return tg::hardshrink(t); };
  const Fn fs = [](const Tensor& t) { return tg::softshrink(t, 0.3); };
  for (const Tensor& in : {values({-2, -0.4, 0.1, 0.45, 0.7, 3}, {3, 2}), tg::scalar_tensor<double>(-1.5)}) {
    CHECK_GRAD(fh, in);
    CHECK_GRAD(fs, in);
    CHECK_GRADGRAD(fh, in);
    CHECK_GRADGRAD(fs, in);
  }
}

TEST_CASE("elu, selu and celu", "[activation][elu][selu][celu]") {
  auto x = values(kPoints, {6}, true);
  auto y = tg::elu(x);
  // mpmath
  require_values(y, {-0.950212931632136, -0.6321205588285577, -0.3934693402873666, 0.5, 1.0, 2.5}, 1e-15);
  CHECK(grad_fn_name(y) == "EluBackward0");
  y.sum().backward();
  require_values(x.grad(), {0.049787068367863944, 0.36787944117144233, 0.6065306597126334, 1, 1, 1}, 1e-15);

  auto s = values(kPoints, {6}, true);
  auto ys = tg::selu(s);
  require_values(ys, {-1.670568728767112, -1.1113307378125628, -0.6917581878028713, 0.5253504936777402,
                      1.0507009873554805, 2.6267524683887014}, 1e-15);
  CHECK(grad_fn_name(ys) == "EluBackward0");  // as PyTorch: selu is an elu
  ys.sum().backward();
  require_values(s.grad(), {0.08753061208026489, 0.6467686030348141, 1.0663411530445055, 1.0507009873554805,
                            1.0507009873554805, 1.0507009873554805}, 1e-15);

  auto c = values(kPoints, {6}, true);
  auto yc = tg::celu(c, 2.0);
  require_values(yc, {-1.5537396797031404, -0.7869386805747332, -0.44239843385719024, 0.5, 1, 2.5}, 1e-15);
  CHECK(grad_fn_name(yc) == "EluBackward0");
  yc.sum().backward();
  require_values(c.grad(), {0.22313016014842982, 0.6065306597126334, 0.7788007830714049, 1, 1, 1}, 1e-15);
  require_values(tg::celu(values({-1, 1}, {2})), tg::elu(values({-1, 1}, {2})).to_vector(), 0);  // alpha = 1

  // NOTE: at x = 0 the left branch, alpha * scale * input_scale (PyTorch):
  // elu(alpha) -> alpha, selu -> alpha * scale, celu -> 1.
  require_values(grad_of([](const Tensor& t) { return tg::elu(t, 0.5); }, {0}), {0.5});
  require_values(grad_of([](const Tensor& t) { return tg::elu(t); }, {0}), {1});
  require_values(grad_of([](const Tensor& t) { return tg::selu(t); }, {0}), {kSeluAlpha * kSeluScale}, 1e-15);
  require_values(grad_of([](const Tensor& t) { return tg::celu(t, 3.0); }, {0}), {1}, 1e-15);
  // elu with alpha != 1: value alpha (e^x - 1).
  require_values(tg::elu(values({-1, 2}, {2}), 0.5), {0.5 * std::expm1(-1.0), 2}, 1e-15);
  // Second derivative: alpha e^x on the left, 0 on the right.
  require_values(second_derivative([](const Tensor& t) { return tg::elu(t, 2.0); }, {-1, 1}),
                 {2 * std::exp(-1.0), 0}, 1e-15);

  CHECK_THROWS_AS(tg::celu(x, 0.0), tg::ValueError);
  CHECK_THROWS_WITH(tg::celu(x, 0.0), TG_CONTAINS("celu: alpha must be nonzero"));

  tg::Generator gen(42);
  const Fn fe = [](const Tensor& t) { return tg::elu(t, 1.5); };
  const Fn fs = [](const Tensor& t) { return tg::selu(t); };
  const Fn fc = [](const Tensor& t) { return tg::celu(t, 0.7); };
  for (const Tensor& in : {away_from_zero({2, 3}, gen), away_from_zero({}, gen), values({-30, -4, 4, 30}, {4})}) {
    CHECK_GRAD(fe, in);
    CHECK_GRAD(fs, in);
    CHECK_GRAD(fc, in);
    CHECK_GRADGRAD(fe, in);
    CHECK_GRADGRAD(fs, in);
    CHECK_GRADGRAD(fc, in);
  }
}

TEST_CASE("softplus", "[activation][softplus]") {
  auto x = values(kPoints, {6}, true);
  auto y = tg::softplus(x);
  require_values(y, {0.04858735157374206, 0.3132616875182228, 0.4740769841801067, 0.9740769841801067,
                     1.3132616875182228, 2.5788897342925496}, 1e-15);  // mpmath
  CHECK(grad_fn_name(y) == "SoftplusBackward0");
  y.sum().backward();
  require_values(x.grad(), {0.04742587317756678, 0.2689414213699951, 0.37754066879814546, 0.6224593312018546,
                            0.7310585786300049, 0.9241418199787564}, 1e-15);

  // beta = 2: log(1 + e^(2x)) / 2 (mpmath).
  auto b = values(kPoints, {6}, true);
  auto yb = tg::softplus(b, 2.0);
  require_values(yb, {0.0012378425688652247, 0.06346400552148625, 0.1566308437591114, 0.6566308437591114,
                      1.0634640055214863, 2.503357674244559}, 1e-15);
  yb.sum().backward();
  require_values(b.grad(), {0.0024726231566347743, 0.11920292202211756, 0.2689414213699951, 0.7310585786300049,
                            0.8807970779778824, 0.9933071490757152}, 1e-15);

  // Linear above the threshold (beta x > threshold), as PyTorch: x itself, gradient 1.
  // NOTE: the gradient jumps there from sigmoid(threshold) to 1.
  require_values(tg::softplus(values({20, 20.5, 30}, {3})), {std::log1p(std::exp(20.0)), 20.5, 30}, 1e-15);
  require_values(grad_of([](const Tensor& t) { return tg::softplus(t); }, {20, 20.5}),
                 {1 / (1 + std::exp(-20.0)), 1}, 1e-15);
  require_values(tg::softplus(values({3, 6}, {2}), 2.0, 10.0), {std::log1p(std::exp(6.0)) / 2, 6}, 1e-15);
  require_values(grad_of([](const Tensor& t) { return tg::softplus(t, 2.0, 10.0); }, {3, 6}),
                 {1 / (1 + std::exp(-6.0)), 1}, 1e-15);
  // Without a threshold: still no overflow (mpmath: softplus(1000) = 1000, softplus(30) = 30 + 9.4e-14).
  const double inf_threshold = kInf;
  require_values(tg::softplus(values({30, 1000}, {2}), 1.0, inf_threshold), {30.000000000000092, 1000}, 1e-15);
  // A negative beta is allowed (as PyTorch): log(1 + e^(-x)) / -1 = -softplus(-x).
  require_values(tg::softplus(values({-1, 2}, {2}), -1.0), {-1.3132616875182228, -0.12692801104297263}, 1e-15);

  CHECK_THROWS_AS(tg::softplus(x, 0.0), tg::ValueError);
  CHECK_THROWS_WITH(tg::softplus(x, 0.0), TG_CONTAINS("softplus: beta must be nonzero"));

  const Fn f = [](const Tensor& t) { return tg::softplus(t); };
  const Fn fb = [](const Tensor& t) { return tg::softplus(t, 0.5, 5.0); };
  check_smooth(f, values({-30, -5, 5, 19}, {4}), 43);
  check_smooth(fb, values({-30, 9, 11, 30}, {4}), 44);  // both sides of beta x = threshold
}

TEST_CASE("log_sigmoid", "[activation][log_sigmoid]") {
  auto x = values(kPoints, {6}, true);
  auto y = tg::log_sigmoid(x);
  require_values(y, {-3.048587351573742, -1.3132616875182228, -0.9740769841801067, -0.4740769841801067,
                     -0.3132616875182228, -0.07888973429254963}, 1e-15);  // mpmath
  CHECK(grad_fn_name(y) == "LogSigmoidBackward0");
  y.sum().backward();
  require_values(x.grad(), {0.9525741268224333, 0.7310585786300049, 0.6224593312018546, 0.37754066879814546,
                            0.2689414213699951, 0.07585818002124355}, 1e-15);
  // The tails keep their digits: log sigmoid(30) = -9.36e-14, log sigmoid(-30) = -30 - 9.4e-14 (mpmath).
  require_values(tg::log_sigmoid(values({30, -30}, {2})), {-9.357622968839737e-14, -30.000000000000092}, 1e-15);
  CHECK(tg::log_sigmoid(values({30}, {1})).item() == Approx(-9.357622968839737e-14).epsilon(1e-14));

  check_smooth([](const Tensor& t) { return tg::log_sigmoid(t); }, values({-30, -5, 5, 30}, {4}), 45);
}

TEST_CASE("silu", "[activation][silu]") {
  auto x = values(kPoints, {6}, true);
  auto y = tg::silu(x);
  require_values(y, {-0.14227761953270035, -0.2689414213699951, -0.18877033439907273, 0.3112296656009273,
                     0.7310585786300049, 2.310354549946891}, 1e-15);  // mpmath
  CHECK(grad_fn_name(y) == "SiluBackward0");
  y.sum().backward();
  require_values(x.grad(), {-0.08810410601516962, 0.07232948812851327, 0.2600388126973482, 0.7399611873026518,
                            0.9276705118714867, 1.0994011113415267}, 1e-15);
  CHECK(tg::silu(values({-30}, {1})).item() == Approx(-2.8072868906517896e-12).epsilon(1e-13));  // mpmath

  check_smooth([](const Tensor& t) { return tg::silu(t); }, values({-30, -5, 5, 30}, {4}), 46);
}

TEST_CASE("mish", "[activation][mish]") {
  auto x = values(kPoints, {6}, true);
  auto y = tg::mish(x);
  require_values(y, {-0.14564746127562458, -0.3034014613741089, -0.22074377465173, 0.37524521130489513,
                     0.8650983882673103, 2.471392304557881}, 1e-15);  // mpmath
  CHECK(grad_fn_name(y) == "MishBackward0");
  y.sum().backward();
  require_values(x.grad(), {-0.09339311453232084, 0.05921675587739495, 0.2895106779135122, 0.8864243753577272,
                            1.0490362200997922, 1.0411295301313532}, 1e-14);
  auto far = values({-30, 30}, {2}, true);
  auto yf = tg::mish(far);
  CHECK(yf.at({0}) == Approx(-2.807286890651921e-12).epsilon(1e-13));  // mpmath
  CHECK(yf.at({1}) == 30.0);
  yf.sum().backward();
  CHECK(far.grad().at({0}) == Approx(-2.713710660963392e-12).epsilon(1e-12));
  CHECK(far.grad().at({1}) == 1.0);

  check_smooth([](const Tensor& t) { return tg::mish(t); }, values({-30, -5, 5, 30}, {4}), 47);
}

TEST_CASE("gelu", "[activation][gelu]") {
  auto x = values(kPoints, {6}, true);
  auto y = tg::gelu(x);
  require_values(y, {-0.0040496940948902835, -0.15865525393145705, -0.15426876936299344, 0.34573123063700656,
                     0.8413447460685429, 2.4844758366855597}, 1e-15);  // mpmath: x Phi(x)
  CHECK(grad_fn_name(y) == "GeluBackward0");
  y.sum().backward();
  require_values(x.grad(), {-0.011945647204183927, -0.0833154705876863, 0.13250487534383715, 0.8674951246561629,
                            1.0833154705876864, 1.037611085908145}, 1e-15);
  // The left tail keeps its digits (Phi via erfc): gelu(-30) = -1.47e-196 (mpmath).
  CHECK(tg::gelu(values({-30}, {1})).item() == Approx(-1.472014178144456e-196).epsilon(1e-13));
  CHECK(grad_of([](const Tensor& t) { return tg::gelu(t); }, {-30}).item() ==
        Approx(-4.416031690708495e-195).epsilon(1e-13));

  auto t = values(kPoints, {6}, true);
  auto yt = tg::gelu(t, "tanh");
  require_values(yt, {-0.003637392081773019, -0.1588080093917233, -0.15428599017485609, 0.34571400982514394,
                      0.8411919906082767, 2.484915733910001}, 1e-15);  // mpmath: PyTorch's tanh formula
  CHECK(grad_fn_name(yt) == "GeluBackward0");
  yt.sum().backward();
  require_values(t.grad(), {-0.011584166630969726, -0.08296408384578255, 0.1326300964653577, 0.8673699035346423,
                            1.0829640838457826, 1.037951576212666}, 1e-15);
  require_values(tg::gelu(x, tg::GeluApproximate::tanh), yt.to_vector(), 0);
  require_values(tg::gelu(x, "none"), y.to_vector(), 0);
  require_values(tg::gelu(x, std::string("none")), y.to_vector(), 0);

  CHECK_THROWS_AS(tg::gelu(x, "erf"), tg::ValueError);
  CHECK_THROWS_WITH(tg::gelu(x, "Tanh"), TG_CONTAINS("gelu: approximate must be \"none\" or \"tanh\", got \"Tanh\""));

  check_smooth([](const Tensor& u) { return tg::gelu(u); }, values({-30, -5, 5, 30}, {4}), 48);
  check_smooth([](const Tensor& u) { return tg::gelu(u, "tanh"); }, values({-30, -5, 5, 30}, {4}), 49);
}

TEST_CASE("softsign and tanhshrink", "[activation][softsign][tanhshrink]") {
  auto x = values({-3, 0, 0.5, 1000}, {4}, true);
  auto y = tg::softsign(x);
  require_values(y, {-0.75, 0, 1 / 3.0, 1000 / 1001.0}, 1e-15);
  CHECK(grad_fn_name(y) == "DivBackward0");  // a composition in PyTorch too
  y.sum().backward();  // 1 / (1 + |x|)^2, 1 at 0
  require_values(x.grad(), {1 / 16.0, 1, 1 / 2.25, 1 / (1001.0 * 1001.0)}, 1e-15);

  auto u = values({-2, 0, 0.5}, {3}, true);
  auto t = tg::tanhshrink(u);
  require_values(t, {-2 - std::tanh(-2.0), 0, 0.5 - std::tanh(0.5)}, 1e-15);
  CHECK(grad_fn_name(t) == "SubBackward0");
  t.sum().backward();  // tanh(x)^2
  require_values(u.grad(), {std::pow(std::tanh(2.0), 2), 0, std::pow(std::tanh(0.5), 2)}, 1e-15);

  tg::Generator gen(50);
  const Fn fs = [](const Tensor& v) { return tg::softsign(v); };
  for (const Tensor& in : {away_from_zero({2, 3}, gen), away_from_zero({}, gen)}) {
    CHECK_GRAD(fs, in);
    CHECK_GRADGRAD(fs, in);
  }
  check_smooth([](const Tensor& v) { return tg::tanhshrink(v); }, values({-30, -3, 3, 30}, {4}), 51);
}

TEST_CASE("activations at +-1000 stay finite and exact", "[activation][stability]") {
  const std::vector<double> far = {-1000, 1000};
  struct Expect {
    const char* name;
    Fn f;
    std::vector<double> value, grad, second;
  };
  const double selu_left = kSeluAlpha * kSeluScale;
  const std::vector<Expect> cases = {
      {"softplus", [](const Tensor& t) { return tg::softplus(t); }, {0, 1000}, {0, 1}, {0, 0}},
      {"softplus, no threshold", [](const Tensor& t) { return tg::softplus(t, 1.0, kInf); }, {0, 1000}, {0, 1}, {0, 0}},
      {"softplus, beta 3", [](const Tensor& t) { return tg::softplus(t, 3.0, kInf); }, {0, 1000}, {0, 1}, {0, 0}},
      {"log_sigmoid", [](const Tensor& t) { return tg::log_sigmoid(t); }, {-1000, 0}, {1, 0}, {0, 0}},
      {"mish", [](const Tensor& t) { return tg::mish(t); }, {0, 1000}, {0, 1}, {0, 0}},
      {"selu", [](const Tensor& t) { return tg::selu(t); }, {-selu_left, 1000 * kSeluScale}, {0, kSeluScale}, {0, 0}},
      {"elu", [](const Tensor& t) { return tg::elu(t); }, {-1, 1000}, {0, 1}, {0, 0}},
      {"celu", [](const Tensor& t) { return tg::celu(t, 0.5); }, {-0.5, 1000}, {0, 1}, {0, 0}},
      {"silu", [](const Tensor& t) { return tg::silu(t); }, {0, 1000}, {0, 1}, {0, 0}},
      {"gelu", [](const Tensor& t) { return tg::gelu(t); }, {0, 1000}, {0, 1}, {0, 0}},
      {"gelu tanh", [](const Tensor& t) { return tg::gelu(t, "tanh"); }, {0, 1000}, {0, 1}, {0, 0}},
      {"softsign", [](const Tensor& t) { return tg::softsign(t); }, {-1000 / 1001.0, 1000 / 1001.0},
       {1 / (1001.0 * 1001.0), 1 / (1001.0 * 1001.0)}, {2 / (1001.0 * 1001.0 * 1001.0), -2 / (1001.0 * 1001.0 * 1001.0)}},
      {"hardswish", [](const Tensor& t) { return tg::hardswish(t); }, {0, 1000}, {0, 1}, {0, 0}},
      {"leaky_relu", [](const Tensor& t) { return tg::leaky_relu(t); }, {-10, 1000}, {0.01, 1}, {0, 0}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto x = values(far, {2}, true);
    auto y = c.f(x);
    require_finite(y);
    require_values(y, c.value, 1e-15);
    y.sum().backward();
    require_finite(x.grad());
    require_values(x.grad(), c.grad, 1e-15);
    const Tensor second = second_derivative(c.f, far);
    require_finite(second);
    require_values(second, c.second, 1e-15);
  }
  // At the largest double: hardswish is x itself (x * relu6(x + 3) / 6 must not overflow),
  // and mish's second derivative stays finite.
  const double top = std::numeric_limits<double>::max();
  CHECK(tg::hardswish(values({top, -top}, {2})).to_vector() == std::vector<double>{top, -0.0});
  require_finite(second_derivative([](const Tensor& t) { return tg::mish(t); }, {-top, top}));
  // Even further out, where x^2 or x^3 overflows.
  for (const Fn& f : {Fn([](const Tensor& t) { return tg::gelu(t, "tanh"); }), Fn([](const Tensor& t) { return tg::gelu(t); }),
                      Fn([](const Tensor& t) { return tg::mish(t); }), Fn([](const Tensor& t) { return tg::silu(t); }),
                      Fn([](const Tensor& t) { return tg::softplus(t); }), Fn([](const Tensor& t) { return tg::log_sigmoid(t); })}) {
    require_finite(grad_of(f, {-1e200, 1e200}));
    require_finite(second_derivative(f, {-1e200, 1e200}));
  }
}

TEST_CASE("activations on float tensors", "[activation][float]") {
  auto x = tg::tensor<float>({-1000.0f, -1.0f, 0.5f, 1000.0f}, tg::requires_grad());
  const auto all = tg::softplus(x) + tg::log_sigmoid(x) + tg::mish(x) + tg::selu(x) + tg::gelu(x) +
                   tg::gelu(x, "tanh") + tg::silu(x) + tg::elu(x) + tg::leaky_relu(x) + tg::relu6(x) +
                   tg::hardswish(x) + tg::hardsigmoid(x);
  for (float v : all.to_vector()) CHECK(std::isfinite(v));
  all.sum().backward();
  for (float v : x.grad().to_vector()) CHECK(std::isfinite(v));
  CHECK(tg::gelu(x).at({2}) == Approx(0.34573123f).epsilon(1e-6));
  CHECK(tg::mish(x).at({1}) == Approx(-0.30340146f).epsilon(1e-6));
  CHECK(tg::softplus(x).at({3}) == 1000.0f);
  CHECK(tg::log_sigmoid(x).at({0}) == -1000.0f);
  CHECK(tg::selu(x).at({0}) == Approx(-1.7580993f).epsilon(1e-6));
  auto v = tg::tensor<float>({-1.0f, 0.5f}, tg::requires_grad());
  tg::silu(v).sum().backward();
  CHECK(v.grad().at({0}) == Approx(0.07232949f).epsilon(1e-5));  // mpmath
  CHECK(v.grad().at({1}) == Approx(0.73996119f).epsilon(1e-5));
}

}  // namespace ops_activation_test
