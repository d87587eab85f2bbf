// RMSprop against PyTorch's algorithm (plain, centered, momentum).
#include "optim_test_util.hpp"

namespace optim_rmsprop_test {

namespace optim = tg::optim;

Reference rmsprop_reference(double lr, double alpha, double eps, double wd, double mu, bool centered, bool maximize) {
  auto v = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto a = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto b = std::make_shared<std::vector<double>>(kSize, 0.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int) {
    for (int i = 0; i < kSize; ++i) {
      const double grad = (maximize ? -g[i] : g[i]) + wd * p[i];
      (*v)[i] = alpha * (*v)[i] + (1 - alpha) * grad * grad;
      double v_tilde = (*v)[i];
      if (centered) {
        (*a)[i] = alpha * (*a)[i] + (1 - alpha) * grad;
        v_tilde -= (*a)[i] * (*a)[i];
      }
      const double denom = std::sqrt(v_tilde) + eps;
      if (mu > 0) {
        (*b)[i] = mu * (*b)[i] + grad / denom;
        p[i] -= lr * (*b)[i];
      } else {
        p[i] -= lr * grad / denom;
      }
    }
  };
}

TEST_CASE("RMSprop: trajectories equal PyTorch's formula") {
  struct Case {
    double lr, alpha, eps, wd, mu;
    bool centered, maximize;
  };
  for (const Case c : {Case{1e-2, 0.99, 1e-8, 0, 0, false, false}, Case{1e-2, 0.9, 1e-6, 0.1, 0, true, false},
                       Case{5e-3, 0.9, 1e-8, 0, 0.9, false, false}, Case{5e-3, 0.8, 1e-4, 0.05, 0.5, true, true}}) {
    INFO("alpha " << c.alpha << " wd " << c.wd << " momentum " << c.mu << " centered " << c.centered);
    const auto o = optim::RMSpropOptions(c.lr).alpha(c.alpha).eps(c.eps).weight_decay(c.wd).momentum(c.mu).centered(c.centered).maximize(c.maximize);
    check_both(MAKE_BOTH(RMSprop, o), [&] { return rmsprop_reference(c.lr, c.alpha, c.eps, c.wd, c.mu, c.centered, c.maximize); });
  }
}

}  // namespace optim_rmsprop_test
