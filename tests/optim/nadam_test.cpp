// NAdam against PyTorch's algorithm.
#include "optim_test_util.hpp"

namespace optim_nadam_test {

namespace optim = tg::optim;

Reference nadam_reference(double lr, double b1, double b2, double eps, double wd, double psi) {
  auto m = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto v = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto mu_product = std::make_shared<double>(1.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int t) {
    const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi));
    const double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
    *mu_product *= mu;
    for (int i = 0; i < kSize; ++i) {
      const double grad = g[i] + wd * p[i];
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * grad;
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * grad * grad;
      const double v_hat = (*v)[i] / (1 - std::pow(b2, t));
      const double m_hat = mu_next * (*m)[i] / (1 - *mu_product * mu_next) + (1 - mu) * grad / (1 - *mu_product);
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  };
}

TEST_CASE("NAdam: trajectories equal PyTorch's formula; mu_product is saved and restored") {
  for (auto [wd, psi] : {std::pair{0.0, 4e-3}, std::pair{0.1, 0.5}}) {
    INFO("wd " << wd << " momentum_decay " << psi);
    optim::NAdamOptions o(2e-2);
    o.weight_decay(wd);
    o.momentum_decay(psi);
    check_both(MAKE_BOTH(NAdam, o), [&, wd = wd, psi = psi] { return nadam_reference(2e-2, 0.9, 0.999, 1e-8, wd, psi); });
  }
  auto p = tg::ones<double>({2}, tg::requires_grad());
  optim::NAdam<double> opt({p});
  p.set_grad(tg::ones<double>({2}));
  opt.step();
  opt.step();
  const auto sd = opt.state_dict();
  const double b1 = 0.9, psi = 4e-3;
  const double expected = b1 * (1 - 0.5 * std::pow(0.96, psi)) * b1 * (1 - 0.5 * std::pow(0.96, 2 * psi));
  CHECK(sd.at("state.0.mu_product").item() == Approx(expected).epsilon(1e-15));
}

}  // namespace optim_nadam_test
