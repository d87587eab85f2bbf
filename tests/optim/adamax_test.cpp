// Adamax against PyTorch's algorithm.
#include "optim_test_util.hpp"

namespace optim_adamax_test {

namespace optim = tg::optim;

Reference adamax_reference(double lr, double b1, double b2, double eps, double wd) {
  auto m = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto u = std::make_shared<std::vector<double>>(kSize, 0.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int t) {
    for (int i = 0; i < kSize; ++i) {
      const double grad = g[i] + wd * p[i];
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * grad;
      (*u)[i] = std::max(b2 * (*u)[i], std::abs(grad) + eps);
      p[i] -= lr / (1 - std::pow(b1, t)) * (*m)[i] / (*u)[i];
    }
  };
}

TEST_CASE("Adamax: trajectories equal PyTorch's formula") {
  for (double wd : {0.0, 0.1}) {
    INFO("wd " << wd);
    const auto o = optim::AdamaxOptions(2e-2).betas({0.8, 0.95}).weight_decay(wd);
    check_both(MAKE_BOTH(Adamax, o), [&] { return adamax_reference(2e-2, 0.8, 0.95, 1e-8, wd); });
  }
  CHECK(optim::AdamaxOptions().lr() == 2e-3);
}

}  // namespace optim_adamax_test
