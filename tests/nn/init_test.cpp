// tg::nn::init: statistics over large tensors against the formulas, fans, gains.
#include "nn_test_util.hpp"

namespace nn_init_test {

namespace init = tg::nn::init;

namespace {
struct Moments {
  double mean, var;
};
Moments moments(const Tensor& t) {
  const double m = t.mean().item();
  return {m, (t * t).mean().item() - m * m};
}
// |sample mean - mu| within 5 standard errors of the mean, variance within 3%.
void check_moments(const Tensor& t, double mu, double var) {
  const Moments m = moments(t);
  const double n = static_cast<double>(t.numel());
  CHECK(std::abs(m.mean - mu) < 5 * std::sqrt(var / n));
  CHECK(m.var == Approx(var).epsilon(0.03));
}
}  // namespace

TEST_CASE("init: fans and gains as PyTorch computes them") {
  CHECK(init::calculate_fan_in_and_fan_out({10, 20}) == std::pair<std::int64_t, std::int64_t>{20, 10});
  CHECK(init::calculate_fan_in_and_fan_out({16, 3, 5, 5}) == std::pair<std::int64_t, std::int64_t>{75, 400});
  CHECK_THROWS_WITH(init::calculate_fan_in_and_fan_out({5}), TG_CONTAINS("fewer than 2 dimensions (shape [5])"));
  CHECK(init::calculate_gain("linear") == 1.0);
  CHECK(init::calculate_gain("conv2d") == 1.0);
  CHECK(init::calculate_gain("sigmoid") == 1.0);
  CHECK(init::calculate_gain("tanh") == Approx(5.0 / 3));
  CHECK(init::calculate_gain("relu") == Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain("leaky_relu") == Approx(std::sqrt(2 / (1 + 1e-4))));
  CHECK(init::calculate_gain("leaky_relu", std::sqrt(5.0)) == Approx(std::sqrt(2.0 / 6)));
  CHECK(init::calculate_gain("selu") == 0.75);
  CHECK_THROWS_WITH(init::calculate_gain("swish"), TG_CONTAINS("calculate_gain: unsupported nonlinearity \"swish\""));
}

TEST_CASE("init: distributions match their formulas over 200,000 values") {
  tg::Generator gen(71);
  auto w = tg::empty<double>({400, 500}, tg::requires_grad());  // a parameter: works without recording
  init::uniform_(w, -2, 3, gen);
  check_moments(w, 0.5, 25.0 / 12);
  CHECK(w.min().item() >= -2);
  CHECK(w.max().item() < 3);
  init::normal_(w, 1, 2, gen);
  check_moments(w, 1, 4);
  init::xavier_uniform_(w, 2.0, gen);
  const double a = 2 * std::sqrt(6.0 / 900);
  check_moments(w, 0, a * a / 3);
  CHECK(w.abs().max().item() <= a);
  init::xavier_normal_(w, 1.0, gen);
  check_moments(w, 0, 2.0 / 900);
  init::kaiming_uniform_(w, 0, init::FanMode::fan_in, "relu", gen);
  check_moments(w, 0, 2.0 / 500);  // bound^2 / 3 = gain^2 / fan
  init::kaiming_normal_(w, 0, init::FanMode::fan_out, "relu", gen);
  check_moments(w, 0, 2.0 / 400);
  init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::fan_in, "leaky_relu", gen);  // Linear's default
  CHECK(w.abs().max().item() <= 1 / std::sqrt(500.0));
  check_moments(w, 0, 1.0 / 500 / 3);
  CHECK(w.is_leaf());
  CHECK(w.requires_grad());
}

TEST_CASE("init: trunc_normal_ stays in [a, b] with the truncated normal's moments") {
  tg::Generator gen(72);
  auto w = tg::empty<double>({200000});
  init::trunc_normal_(w, 0.5, 1.0, -1.0, 1.5, gen);
  CHECK(w.min().item() >= -1.0);
  CHECK(w.max().item() <= 1.5);
  // Truncated N(mu, s) on [a, b]: alpha = (a - mu)/s, beta = (b - mu)/s, Z = Phi(beta) - Phi(alpha),
  // mean = mu + s (phi(alpha) - phi(beta)) / Z,
  // var = s^2 (1 + (alpha phi(alpha) - beta phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z)^2).
  auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * 3.14159265358979323846); };
  auto Phi = [](double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); };
  const double al = -1.5, be = 1.0, z = Phi(be) - Phi(al);
  const double mean = 0.5 + (phi(al) - phi(be)) / z;
  const double var = 1 + (al * phi(al) - be * phi(be)) / z - std::pow((phi(al) - phi(be)) / z, 2);
  check_moments(w, mean, var);
  CHECK_THROWS_WITH(init::trunc_normal_(w, 0, 1, 2, 1), TG_CONTAINS("trunc_normal_: expected a < b"));
}

TEST_CASE("init: orthogonal_, eye_, constants, seeds and errors") {
  tg::Generator gen(73);
  for (auto shape : {tg::Shape{6, 4}, tg::Shape{4, 6}, tg::Shape{3, 2, 2}}) {
    auto w = tg::empty<double>(shape);
    init::orthogonal_(w, 1.0, gen);
    const Eigen::MatrixXd q = w.reshape({shape[0], -1}).to_eigen();
    const Eigen::MatrixXd gram = q.rows() >= q.cols() ? Eigen::MatrixXd(q.transpose() * q) : Eigen::MatrixXd(q * q.transpose());
    CHECK((gram - Eigen::MatrixXd::Identity(gram.rows(), gram.cols())).cwiseAbs().maxCoeff() < 1e-12);
  }
  auto e = tg::empty<double>({2, 3});
  init::eye_(e);
  CHECK(e.to_vector() == std::vector<double>{1, 0, 0, 0, 1, 0});
  init::constant_(e, 2.5);
  CHECK(e.to_vector() == std::vector<double>(6, 2.5));
  init::zeros_(e);
  CHECK(e.abs().sum().item() == 0);
  const auto v = e.version();
  init::ones_(e);
  CHECK(e.version() == v + 1);
  tg::Generator g1(5), g2(5);
  auto a = tg::empty<float>({10}), b = tg::empty<float>({10});
  CHECK_THROWS_WITH(init::kaiming_normal_(a, 0, init::FanMode::fan_in, "leaky_relu", g1), TG_CONTAINS("[10]"));  // 1-D: no fan
  init::normal_(a, 0, 1, g1);
  init::normal_(b, 0, 1, g2);
  CHECK(a.to_vector() == b.to_vector());  // the same seed, the same values
  tg::Generator g3(10);
  init::normal_(a, 0, 1, g3);
  CHECK(a.to_vector() != b.to_vector());
  CHECK_THROWS_WITH(init::eye_(a), TG_CONTAINS("eye_: only 2-D tensors are supported, got shape [10]"));
  CHECK_THROWS_WITH(init::uniform_(a, 1, 0), TG_CONTAINS("uniform_: expected a <= b"));
  CHECK_THROWS_WITH(init::normal_(a, 0, -1), TG_CONTAINS("normal_: std must be >= 0, got -1"));
}

}  // namespace nn_init_test
