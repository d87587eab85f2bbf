// SGD against PyTorch's algorithm, every option that changes the formula.
#include "optim_test_util.hpp"

namespace optim_sgd_test {

namespace optim = tg::optim;

// torch.optim.SGD's documented algorithm.
Reference sgd_reference(double lr, double mu, double dampening, double wd, bool nesterov, bool maximize) {
  auto buf = std::make_shared<std::vector<double>>(kSize, 0.0);
  return [=](std::vector<double>& p, const std::vector<double>& g, int t) {
    for (int i = 0; i < kSize; ++i) {
      double d = (maximize ? -g[i] : g[i]) + wd * p[i];
      if (mu != 0) {
        (*buf)[i] = t == 1 ? d : mu * (*buf)[i] + (1 - dampening) * d;
        d = nesterov ? d + mu * (*buf)[i] : (*buf)[i];
      }
      p[i] -= lr * d;
    }
  };
}

TEST_CASE("SGD: trajectories equal PyTorch's formula") {
  struct Case {
    double lr, mu, dampening, wd;
    bool nesterov, maximize;
  };
  for (const Case c : {Case{0.1, 0, 0, 0, false, false}, Case{0.05, 0.9, 0, 0, false, false},
                       Case{0.05, 0.9, 0.3, 0.01, false, false}, Case{0.05, 0.8, 0, 0.1, true, false},
                       Case{0.02, 0.5, 0.1, 0.2, false, true}}) {
    INFO("lr " << c.lr << " momentum " << c.mu << " dampening " << c.dampening << " wd " << c.wd << " nesterov "
               << c.nesterov << " maximize " << c.maximize);
    const auto o =
        optim::SGDOptions(c.lr).momentum(c.mu).dampening(c.dampening).weight_decay(c.wd).nesterov(c.nesterov).maximize(c.maximize);
    check_both(MAKE_BOTH(SGD, o), [&] { return sgd_reference(c.lr, c.mu, c.dampening, c.wd, c.nesterov, c.maximize); });
  }
}

TEST_CASE("SGD: invalid options are refused naming the option") {
  auto p = tg::zeros<double>({2}, tg::requires_grad());
  CHECK_THROWS_WITH(optim::SGD<double>({p}, optim::SGDOptions(-1)), TG_CONTAINS("SGD: invalid learning rate -1 (must be >= 0)"));
  CHECK_THROWS_WITH(optim::SGD<double>({p}, optim::SGDOptions(0.1).nesterov(true)),
                    TG_CONTAINS("SGD: nesterov momentum requires a momentum > 0 and zero dampening"));
  CHECK_THROWS_WITH(optim::SGD<double>({p}, optim::SGDOptions(0.1).momentum(-0.5)), TG_CONTAINS("invalid momentum -0.5"));
}

}  // namespace optim_sgd_test
