// Adagrad against PyTorch's algorithm.
#include "optim_test_util.hpp"

namespace optim_adagrad_test {

namespace optim = tg::optim;

Reference adagrad_reference(double lr, double lr_decay, double wd, double init, double eps) {
  auto s = std::make_shared<std::vector<double>>(kSize, init);
  return [=](std::vector<double>& p, const std::vector<double>& g, int t) {
    const double clr = lr / (1 + (t - 1) * lr_decay);
    for (int i = 0; i < kSize; ++i) {
      const double grad = g[i] + wd * p[i];
      (*s)[i] += grad * grad;
      p[i] -= clr * grad / (std::sqrt((*s)[i]) + eps);
    }
  };
}

TEST_CASE("Adagrad: trajectories equal PyTorch's formula") {
  for (auto [lr_decay, wd, init] : {std::tuple{0.0, 0.0, 0.0}, std::tuple{0.1, 0.05, 0.5}}) {
    INFO("lr_decay " << lr_decay << " wd " << wd << " initial " << init);
    const auto o = optim::AdagradOptions(0.1).lr_decay(lr_decay).weight_decay(wd).initial_accumulator_value(init);
    check_both(MAKE_BOTH(Adagrad, o), [&, lr_decay = lr_decay, wd = wd, init = init] { return adagrad_reference(0.1, lr_decay, wd, init, 1e-10); });
  }
  CHECK_THROWS_WITH(optim::Adagrad<double>({tg::zeros<double>({1}, tg::requires_grad())}, optim::AdagradOptions().lr_decay(-1)),
                    TG_CONTAINS("Adagrad: invalid lr_decay -1"));
}

}  // namespace optim_adagrad_test
