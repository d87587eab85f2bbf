// Adam and AdamW against PyTorch's algorithms.
#include "optim_test_util.hpp"

namespace optim_adam_test {

namespace optim = tg::optim;

// torch.optim.Adam / AdamW's documented algorithm.
Reference adam_reference(double lr, double b1, double b2, double eps, double wd, bool amsgrad, bool maximize,
                         bool decoupled) {
  auto m = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto v = std::make_shared<std::vector<double>>(kSize, 0.0);
  auto vmax = std::make_shared<std::vector<double>>(kSize, 0.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int t) {
    for (int i = 0; i < kSize; ++i) {
      double grad = maximize ? -g[i] : g[i];
      if (decoupled) {
        p[i] *= 1 - lr * wd;
      } else {
        grad += wd * p[i];
      }
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * grad;
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * grad * grad;
      const double m_hat = (*m)[i] / (1 - std::pow(b1, t));
      double v_hat = (*v)[i] / (1 - std::pow(b2, t));
      if (amsgrad) {
        (*vmax)[i] = std::max((*vmax)[i], (*v)[i]);
        v_hat = (*vmax)[i] / (1 - std::pow(b2, t));
      }
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  };
}

TEST_CASE("Adam and AdamW: trajectories equal PyTorch's formulas") {
  struct Case {
    double lr, b1, b2, eps, wd;
    bool amsgrad, maximize;
  };
  for (const Case c : {Case{1e-2, 0.9, 0.999, 1e-8, 0, false, false}, Case{5e-2, 0.8, 0.99, 1e-6, 0.1, false, false},
                       Case{5e-2, 0.9, 0.9, 1e-8, 0.0, true, false}, Case{3e-2, 0.5, 0.95, 1e-3, 0.05, true, true}}) {
    INFO("lr " << c.lr << " betas " << c.b1 << "," << c.b2 << " eps " << c.eps << " wd " << c.wd << " amsgrad "
               << c.amsgrad << " maximize " << c.maximize);
    const auto o =
        optim::AdamOptions(c.lr).betas({c.b1, c.b2}).eps(c.eps).weight_decay(c.wd).amsgrad(c.amsgrad).maximize(c.maximize);
    {
      INFO("Adam");
      check_both(MAKE_BOTH(Adam, o), [&] { return adam_reference(c.lr, c.b1, c.b2, c.eps, c.wd, c.amsgrad, c.maximize, false); });
    }
    {
      INFO("AdamW");
      check_both(MAKE_BOTH(AdamW, o), [&] { return adam_reference(c.lr, c.b1, c.b2, c.eps, c.wd, c.amsgrad, c.maximize, true); });
    }
  }
}

TEST_CASE("Adam: defaults are PyTorch's; invalid betas are refused") {
  const optim::AdamOptions a;
  CHECK(a.lr() == 1e-3);
  CHECK(a.betas()[0] == 0.9);
  CHECK(a.betas()[1] == 0.999);
  CHECK(a.eps() == 1e-8);
  CHECK(a.weight_decay() == 0);
  CHECK(optim::AdamWOptions().weight_decay() == 1e-2);
  auto p = tg::zeros<float>({2}, tg::requires_grad());
  CHECK_THROWS_WITH(optim::Adam<float>({p}, optim::AdamOptions().betas({1.0, 0.9})),
                    TG_CONTAINS("Adam: invalid beta1 1 (must be in [0, 1))"));
}

}  // namespace optim_adam_test
