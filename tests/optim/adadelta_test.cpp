// Adadelta against PyTorch's algorithm.
#include "optim_test_util.hpp"

namespace optim_adadelta_test {

namespace optim = tg::optim;

Reference adadelta_reference(double lr, double rho, double eps, double wd) {
  auto v = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto u = std::make_shared<std::vector<double>>(kSize, 0.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int) {
    for (int i = 0; i < kSize; ++i) {
      const double grad = g[i] + wd * p[i];
      (*v)[i] = rho * (*v)[i] + (1 - rho) * grad * grad;
      const double delta = std::sqrt((*u)[i] + eps) / std::sqrt((*v)[i] + eps) * grad;
      (*u)[i] = rho * (*u)[i] + (1 - rho) * delta * delta;
      p[i] -= lr * delta;
    }
  };
}

TEST_CASE("Adadelta: trajectories equal PyTorch's formula") {
  for (auto [rho, wd] : {std::pair{0.9, 0.0}, std::pair{0.5, 0.1}}) {
    INFO("rho " << rho << " wd " << wd);
    const auto o = optim::AdadeltaOptions(1.0).rho(rho).weight_decay(wd);
    check_both(MAKE_BOTH(Adadelta, o), [&, rho = rho, wd = wd] { return adadelta_reference(1.0, rho, 1e-6, wd); });
  }
}

}  // namespace optim_adadelta_test
