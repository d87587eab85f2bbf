// The shared optimizer machinery: parameter checks, groups, skipping, state dicts,
// closures, and steps that allocate nothing and record nothing.
#include "optim_test_util.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace optim = tg::optim;

// Counts heap allocations of the whole test program (this executable only). Under
// AddressSanitizer, which owns operator new, the count is not taken.
static std::atomic<long> g_allocations{0};
#if TAPEGRAD_ASAN
#define TAPEGRAD_COUNTS_ALLOCATIONS 0
#else
#define TAPEGRAD_COUNTS_ALLOCATIONS 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace optim_optimizer_test {

TEST_CASE("Optimizer: a non-leaf, a tensor without requires_grad and a duplicate are refused by name") {
  auto w = tg::randn<double>({10}, tg::requires_grad());
  auto scaled = w * 0.01;
  CHECK_THROWS_WITH(optim::Adam<double>({w, scaled}),
                    TG_CONTAINS("Adam: parameter 1 of group 0 (shape [10]) is not a leaf (it was computed by MulBackward0)"));
  CHECK_THROWS_WITH(optim::SGD<double>({tg::zeros<double>({3})}, optim::SGDOptions(0.1)),
                    TG_CONTAINS("SGD: parameter 0 of group 0 (shape [3]) does not require grad"));
  CHECK_THROWS_WITH(optim::SGD<double>({w, w}, optim::SGDOptions(0.1)), TG_CONTAINS("appears more than once"));
  optim::SGD<double> sgd({w}, optim::SGDOptions(0.1));
  CHECK_THROWS_WITH(sgd.add_param_group({{w}, optim::SGDOptions(0.2)}), TG_CONTAINS("parameter 0 of group 1"));
  CHECK_THROWS_WITH(sgd.lr(3), TG_CONTAINS("SGD: parameter group 3 does not exist (1 groups)"));
}

TEST_CASE("Optimizer: groups with their own options; parameters without a gradient are skipped") {
  auto a = tg::ones<double>({2}, tg::requires_grad());
  auto b = tg::ones<double>({2}, tg::requires_grad());
  auto c = tg::ones<double>({2}, tg::requires_grad());
  optim::SGD<double> sgd({{{a}, optim::SGDOptions(0.1)}, {{b, c}, optim::SGDOptions(0.5).momentum(0.9)}});
  CHECK(sgd.num_param_groups() == 2);
  CHECK(sgd.lr(1) == 0.5);
  CHECK(sgd.momentum(1) == 0.9);
  a.set_grad(tg::ones<double>({2}));
  b.set_grad(tg::ones<double>({2}));
  sgd.step();
  CHECK(a.at({0}) == Approx(0.9).epsilon(1e-15));
  CHECK(b.at({0}) == Approx(0.5).epsilon(1e-15));
  CHECK(c.at({0}) == 1.0);  // no gradient: untouched, and no state
  CHECK(sgd.step_count(2) == 0);
  CHECK_FALSE(sgd.state_dict().contains("state.2.step"));
  sgd.set_lr(0, 0.2);
  CHECK(sgd.lr(0) == 0.2);
  sgd.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("Optimizer: a step records nothing and does not break a backward through the parameters") {
  auto w = tg::from_vector<double>({1, 2}, tg::requires_grad());
  optim::Adam<double> opt({w}, optim::AdamOptions(0.1));
  const auto version = w.version();
  (w * w).sum().backward();
  opt.step();
  CHECK(w.version() == version);
  CHECK(w.is_leaf());
  CHECK(w.at({0}) == Approx(0.9).epsilon(1e-9));  // the first Adam step moves by lr
  opt.zero_grad();
  (w * w).sum().backward();  // a new graph over the updated values
  CHECK(w.grad().at({0}) == Approx(1.8).epsilon(1e-9));
}

TEST_CASE("Optimizer: steps after the first allocate nothing") {
  if (!TAPEGRAD_COUNTS_ALLOCATIONS) return;
  for (int which = 0; which < 8; ++which) {
    INFO("optimizer " << which);
    auto w = tg::randn<float>({1000}, tg::requires_grad());
    w.set_grad(tg::randn<float>({1000}));
    std::unique_ptr<optim::Optimizer<float>> opt;
    switch (which) {
      case 0: opt = std::make_unique<optim::SGD<float>>(std::vector<tg::Tensor<float>>{w}, optim::SGDOptions(0.1).momentum(0.9)); break;
      case 1: opt = std::make_unique<optim::Adam<float>>(std::vector<tg::Tensor<float>>{w}, optim::AdamOptions().amsgrad(true)); break;
      case 2: opt = std::make_unique<optim::AdamW<float>>(std::vector<tg::Tensor<float>>{w}); break;
      case 3: opt = std::make_unique<optim::RMSprop<float>>(std::vector<tg::Tensor<float>>{w}, optim::RMSpropOptions().centered(true).momentum(0.5)); break;
      case 4: opt = std::make_unique<optim::Adagrad<float>>(std::vector<tg::Tensor<float>>{w}); break;
      case 5: opt = std::make_unique<optim::Adadelta<float>>(std::vector<tg::Tensor<float>>{w}); break;
      case 6: opt = std::make_unique<optim::NAdam<float>>(std::vector<tg::Tensor<float>>{w}); break;
      default: opt = std::make_unique<optim::RAdam<float>>(std::vector<tg::Tensor<float>>{w}); break;
    }
    opt->step();  // creates the state
    const long before = g_allocations.load();
    for (int i = 0; i < 5; ++i) opt->step();
    CHECK(g_allocations.load() - before == 0);
  }
}

TEST_CASE("Optimizer: state_dict round trip resumes the same trajectory; bad state dicts load nothing") {
  auto run = [](int steps, optim::Adam<double>& opt, tg::Tensor<double>& w, int from) {
    for (int t = from; t < from + steps; ++t) {
      std::vector<double> g(kSize);
      for (int i = 0; i < kSize; ++i) g[i] = gradient_at(t, i);
      w.set_grad(tg::from_vector(g));
      opt.step();
    }
  };
  auto w1 = tg::zeros<double>({kSize}, tg::requires_grad());
  optim::Adam<double> uninterrupted({w1}, optim::AdamOptions(0.05).amsgrad(true));
  run(6, uninterrupted, w1, 1);

  auto w2 = tg::zeros<double>({kSize}, tg::requires_grad());
  optim::Adam<double> first({w2}, optim::AdamOptions(0.05).amsgrad(true));
  run(3, first, w2, 1);
  const auto sd = first.state_dict();
  CHECK(sd.keys() == std::vector<std::string>{"state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq",
                                              "state.0.max_exp_avg_sq", "param_groups.0.lr", "param_groups.0.beta1",
                                              "param_groups.0.beta2", "param_groups.0.eps",
                                              "param_groups.0.weight_decay", "param_groups.0.amsgrad",
                                              "param_groups.0.maximize"});
  auto w3 = w2.detach().clone().requires_grad_();
  optim::Adam<double> resumed({w3}, optim::AdamOptions(1.0));  // options come from the state dict
  resumed.load_state_dict(sd);
  CHECK(resumed.lr(0) == 0.05);
  run(3, resumed, w3, 4);
  CHECK(w3.to_vector() == w1.to_vector());

  optim::Adam<double> target({tg::zeros<double>({kSize}, tg::requires_grad())});
  auto wrong = sd;
  wrong.set("state.0.exp_avg", tg::zeros<double>({2}));
  CHECK_THROWS_WITH(target.load_state_dict(wrong), TG_CONTAINS("\"state.0.exp_avg\" has shape [2], the parameter [7]"));
  CHECK(target.step_count(0) == 0);
  CHECK(target.lr(0) == 1e-3);  // nothing loaded
  auto extra = sd;
  extra.insert("momentum", tg::zeros<double>({}));
  CHECK_THROWS_WITH(target.load_state_dict(extra), TG_CONTAINS("unexpected key \"momentum\""));
  tg::StateDict<double> missing;
  CHECK_THROWS_WITH(target.load_state_dict(missing), TG_CONTAINS("missing key \"param_groups.0.lr\""));
}

TEST_CASE("Optimizer: a float state dict restores the same double options exactly, others as stored") {
  auto w = tg::zeros<float>({3}, tg::requires_grad());
  optim::Adam<float> saved({w}, optim::AdamOptions(1e-2).betas({0.9, 0.999}).weight_decay(1e-4));
  auto sd = saved.state_dict();
  CHECK(static_cast<double>(sd.at("param_groups.0.beta1").item()) != 0.9);  // 0.9f

  // Built with the same options: every option keeps its exact double value, so the
  // bias corrections 1 - 0.9^t of a resumed run equal the uninterrupted run's.
  optim::Adam<float> same({w}, optim::AdamOptions(1e-2).betas({0.9, 0.999}).weight_decay(1e-4));
  same.load_state_dict(sd);
  CHECK(same.lr(0) == 1e-2);
  CHECK(same.options(0).betas()[0] == 0.9);
  CHECK(same.options(0).weight_decay() == 1e-4);

  // Built otherwise: the stored values, as T holds them.
  optim::Adam<float> other({w}, optim::AdamOptions(0.5));
  other.load_state_dict(sd);
  CHECK(other.lr(0) == static_cast<double>(1e-2f));
  CHECK(other.options(0).betas()[0] == 0.9);  // the default 0.9 rounds to the stored 0.9f
  CHECK(other.options(0).weight_decay() == static_cast<double>(1e-4f));
}

TEST_CASE("Optimizer: step(closure) evaluates the loss with grad mode on and returns it") {
  auto w = tg::from_vector<double>({3.0}, tg::requires_grad());
  optim::SGD<double> sgd({w}, optim::SGDOptions(0.25));
  tg::NoGradGuard off;  // the closure still records
  const auto loss = sgd.step([&] {
    sgd.zero_grad();
    auto l = (w * w).sum();
    l.backward();
    return l;
  });
  CHECK(loss.item() == 9.0);
  CHECK(w.at({0}) == Approx(3.0 - 0.25 * 6.0).epsilon(1e-15));
}

}  // namespace optim_optimizer_test
