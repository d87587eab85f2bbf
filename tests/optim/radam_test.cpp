// RAdam against PyTorch's algorithm, across the rectification threshold.
#include "optim_test_util.hpp"

namespace optim_radam_test {

namespace optim = tg::optim;

Reference radam_reference(double lr, double b1, double b2, double eps, double wd) {
  auto m = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto v = std::make_shared<std::vector<double>>(kSize, 0.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int t) {
    const double rho_inf = 2 / (1 - b2) - 1;
    const double rho_t = rho_inf - 2 * t * std::pow(b2, t) / (1 - std::pow(b2, t));
    for (int i = 0; i < kSize; ++i) {
      const double grad = g[i] + wd * p[i];
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * grad;
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * grad * grad;
      const double m_hat = (*m)[i] / (1 - std::pow(b1, t));
      if (rho_t > 5) {
        const double l = std::sqrt(1 - std::pow(b2, t)) / (std::sqrt((*v)[i]) + eps);
        const double r = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
        p[i] -= lr * m_hat * r * l;
      } else {
        p[i] -= lr * m_hat;
      }
    }
  };
}

TEST_CASE("RAdam: trajectories equal PyTorch's formula before and after rectification starts") {
  // With beta2 = 0.9, rho_inf = 19 and rho_t passes 5 at step 6: both branches are used.
  for (double wd : {0.0, 0.05}) {
    INFO("wd " << wd);
    optim::RAdamOptions o(1e-2);
    o.betas({0.9, 0.9}).weight_decay(wd);
    check_both(MAKE_BOTH(RAdam, o), [&] { return radam_reference(1e-2, 0.9, 0.9, 1e-8, wd); });
  }
}

}  // namespace optim_radam_test
