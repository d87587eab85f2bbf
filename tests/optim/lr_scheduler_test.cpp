// Learning-rate schedules against PyTorch's formulas, written out here independently of
// the header (and, for OneCycleLR and the warm restarts, values worked by hand).
#include "../test_util.hpp"
#include "tapegrad/optim/adagrad.hpp"
#include "tapegrad/optim/adam.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/sgd.hpp"

#include <cmath>

namespace optim_lr_scheduler_test {

namespace optim = tg::optim;

namespace {

std::vector<tg::Tensor<double>> one_parameter() {
  return {tg::zeros<double>({2}, tg::TensorOptions().requires_grad(true))};
}

const double pi = std::acos(-1.0);

}  // namespace

TEST_CASE("StepLR, MultiStepLR, ExponentialLR, ConstantLR, PolynomialLR follow their formulas") {
  auto p = one_parameter();
  optim::SGD<double> sgd(p, optim::SGDOptions(0.5));
  optim::StepLR<double> step(sgd, 3, 0.5);
  for (int t = 0; t < 20; ++t, step.step()) {
    CHECK(sgd.lr(0) == Approx(0.5 * std::pow(0.5, t / 3)).epsilon(1e-14));
    CHECK(step.last_epoch() == t);
  }

  optim::SGD<double> sgd2(one_parameter(), optim::SGDOptions(1.0));
  optim::MultiStepLR<double> multi(sgd2, {8, 5, 8}, 0.1);  // unsorted; 8 twice multiplies twice, as PyTorch's Counter
  for (int t = 0; t < 12; ++t, multi.step()) CHECK(sgd2.lr(0) == Approx(t < 5 ? 1.0 : t < 8 ? 0.1 : 0.001));

  optim::SGD<double> sgd3(one_parameter(), optim::SGDOptions(1.0));
  optim::ExponentialLR<double> expo(sgd3, 0.9);
  for (int t = 0; t < 20; ++t, expo.step()) CHECK(expo.get_last_lr()[0] == Approx(std::pow(0.9, t)));

  optim::SGD<double> sgd4(one_parameter(), optim::SGDOptions(0.3));
  optim::ConstantLR<double> constant(sgd4, 0.5, 3);
  for (int t = 0; t < 6; ++t, constant.step()) CHECK(sgd4.lr(0) == Approx(t < 3 ? 0.15 : 0.3));

  optim::SGD<double> sgd5(one_parameter(), optim::SGDOptions(2.0));
  optim::PolynomialLR<double> poly(sgd5, 4, 2.0);
  for (int t = 0; t < 7; ++t, poly.step()) CHECK(sgd5.lr(0) == Approx(2.0 * std::pow(1 - std::min(t, 4) / 4.0, 2)));
}

TEST_CASE("CosineAnnealingLR, LinearLR, LambdaLR follow their formulas") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(0.1));
  optim::CosineAnnealingLR<double> cosine(sgd, 10, 0.01);
  for (int t = 0; t <= 14; ++t, cosine.step())
    CHECK(sgd.lr(0) == Approx(0.01 + 0.09 * (1 + std::cos(pi * t / 10)) / 2).epsilon(1e-14));

  optim::SGD<double> sgd2(one_parameter(), optim::SGDOptions(0.3));
  optim::LinearLR<double> linear(sgd2, 0.25, 1.0, 4);
  for (int t = 0; t < 8; ++t, linear.step()) CHECK(sgd2.lr(0) == Approx(0.3 * (0.25 + 0.75 * std::min(t, 4) / 4.0)));

  optim::SGD<double> sgd3(one_parameter(), optim::SGDOptions(2.0));
  optim::LambdaLR<double> lambda(sgd3, [](std::int64_t t) { return 1.0 / (1 + static_cast<double>(t)); });
  for (int t = 0; t < 5; ++t, lambda.step()) CHECK(sgd3.lr(0) == Approx(2.0 / (1 + t)));

  optim::LambdaLR<double> bad(sgd3, [](std::int64_t t) { return t < 2 ? 1.0 : std::nan(""); });
  bad.step();
  const double before = sgd3.lr(0);
  CHECK_THROWS_WITH(bad.step(), TG_CONTAINS("LambdaLR: lr_lambda(2) returned nan"));
  CHECK(sgd3.lr(0) == before);  // a refused epoch changes nothing
  CHECK(bad.last_epoch() == 1);
}

TEST_CASE("every parameter group follows the schedule from its own base lr") {
  auto a = one_parameter(), b = one_parameter();
  std::vector<optim::ParamGroup<double, optim::SGDOptions>> groups;
  groups.emplace_back(a, optim::SGDOptions(0.1));
  groups.emplace_back(b, optim::SGDOptions(1.0));
  optim::SGD<double> sgd(std::move(groups));
  optim::StepLR<double> step(sgd, 1, 0.5);
  step.step();
  step.step();
  CHECK(sgd.lr(0) == Approx(0.025));
  CHECK(sgd.lr(1) == Approx(0.25));
  CHECK(step.base_lrs() == std::vector<double>{0.1, 1.0});
}

TEST_CASE("CosineAnnealingWarmRestarts restarts after T_0, T_0 T_mult, ...") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(1.0));
  optim::CosineAnnealingWarmRestarts<double> sgdr(sgd, 2, 2, 0.0);
  // Cycles of 2, 4, 8 epochs start at t = 0, 2, 6, 14.
  const int cycle_start[] = {0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 6, 6, 6, 6, 14};
  const int cycle_length[] = {2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16};
  for (int t = 0; t < 15; ++t, sgdr.step()) {
    INFO("t = " << t);
    CHECK(sgd.lr(0) == Approx((1 + std::cos(pi * (t - cycle_start[t]) / cycle_length[t])) / 2).margin(1e-15));
  }
  optim::SGD<double> sgd2(one_parameter(), optim::SGDOptions(0.5));
  optim::CosineAnnealingWarmRestarts<double> fixed(sgd2, 3, 1, 0.1);
  for (int t = 0; t < 10; ++t, fixed.step()) CHECK(sgd2.lr(0) == Approx(0.1 + 0.4 * (1 + std::cos(pi * (t % 3) / 3)) / 2));
  CHECK_THROWS_WITH(optim::CosineAnnealingWarmRestarts<double>(sgd2, 3, 0),
                    TG_CONTAINS("CosineAnnealingWarmRestarts: invalid T_mult 0"));
}

TEST_CASE("SequentialLR: warm-up then cosine, both from the optimizer's initial lr") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(0.2));
  optim::LinearLR<double> warmup(sgd, 0.1, 1.0, 4);  // writes 0.02 into the optimizer ...
  optim::CosineAnnealingLR<double> decay(sgd, 6);    // ... and still starts from 0.2 (initial_lr)
  CHECK(decay.base_lrs()[0] == 0.2);
  optim::SequentialLR<double> schedule(sgd, {warmup, decay}, {4});
  for (int t = 0; t < 12; ++t, schedule.step()) {
    INFO("t = " << t);
    const double expected = t < 4 ? 0.2 * (0.1 + 0.9 * t / 4.0) : 0.1 * (1 + std::cos(pi * (t - 4) / 6));
    CHECK(sgd.lr(0) == Approx(expected).epsilon(1e-14));
  }
  optim::SGD<double> other(one_parameter(), optim::SGDOptions(0.2));
  CHECK_THROWS_WITH(optim::SequentialLR<double>(other, {warmup, decay}, {4}),
                    TG_CONTAINS("SequentialLR: scheduler 0 (LinearLR) belongs to another optimizer"));
  CHECK_THROWS_WITH(optim::SequentialLR<double>(sgd, {warmup, decay}, {}),
                    TG_CONTAINS("2 schedulers need 1 milestones, got 0"));
  CHECK_THROWS_WITH(optim::SequentialLR<double>(sgd, {warmup, decay, warmup}, {4, 4}),
                    TG_CONTAINS("milestones must be increasing"));
}

TEST_CASE("OneCycleLR: the two-phase cosine cycle and its momentum, by hand") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(0.123).momentum(0.5));
  // max_lr 1, 10 steps, pct_start 0.3: rise over steps 0..2 (end_step = 3 - 1), fall over 2..9.
  optim::OneCycleLR<double> cycle(sgd, 1.0, 10);
  const double initial = 1.0 / 25, minimum = initial / 1e4;
  CHECK(sgd.lr(0) == Approx(initial));
  CHECK(sgd.momentum(0) == Approx(0.95));
  cycle.step();  // halfway up: cos(pi / 2) = 0
  CHECK(sgd.lr(0) == Approx((1.0 + initial) / 2));
  CHECK(sgd.momentum(0) == Approx(0.9));
  cycle.step();
  CHECK(sgd.lr(0) == Approx(1.0));
  CHECK(sgd.momentum(0) == Approx(0.85));
  for (int t = 3; t <= 9; ++t) {
    cycle.step();
    const double pct = (t - 2) / 7.0;
    CHECK(sgd.lr(0) == Approx(minimum + (1.0 - minimum) * (1 + std::cos(pi * pct)) / 2).epsilon(1e-13));
    CHECK(sgd.momentum(0) == Approx(0.95 + (0.85 - 0.95) * (1 + std::cos(pi * pct)) / 2));
  }
  CHECK(sgd.lr(0) == Approx(minimum));
  cycle.step();  // step total_steps, the step() after the last batch, is allowed (as PyTorch) and stays at the minimum
  CHECK(sgd.lr(0) == Approx(minimum));
  CHECK_THROWS_WITH(cycle.step(), TG_CONTAINS("OneCycleLR: stepped 11 times, past total_steps 10"));
  CHECK(cycle.last_epoch() == 10);
}

TEST_CASE("OneCycleLR: three phases, linear annealing, Adam's beta1, per-group max_lr") {
  auto a = one_parameter(), b = one_parameter();
  std::vector<optim::ParamGroup<double, optim::AdamOptions>> groups;
  groups.emplace_back(a, optim::AdamOptions(1e-3));
  groups.emplace_back(b, optim::AdamOptions(1e-3));
  optim::Adam<double> adam(std::move(groups));
  // 20 steps, pct_start 0.25: phase ends 4, 8, 19.
  optim::OneCycleLR<double> cycle(adam, std::vector<double>{2.0, 4.0}, 20,
                                  optim::OneCycleLROptions().pct_start(0.25).three_phase(true).div_factor(10).final_div_factor(100)
                                      .anneal_strategy(optim::AnnealStrategy::Linear));
  auto expected = [](double max_lr, int t) {
    const double init = max_lr / 10, low = init / 100;
    if (t <= 4) return init + (max_lr - init) * t / 4.0;
    if (t <= 8) return max_lr + (init - max_lr) * (t - 4) / 4.0;
    return init + (low - init) * (t - 8) / 11.0;
  };
  auto expected_beta1 = [](int t) {
    if (t <= 4) return 0.95 + (0.85 - 0.95) * t / 4.0;
    if (t <= 8) return 0.85 + (0.95 - 0.85) * (t - 4) / 4.0;
    return 0.95;
  };
  for (int t = 0; t < 20; ++t, cycle.step()) {
    INFO("t = " << t);
    CHECK(adam.lr(0) == Approx(expected(2.0, t)).epsilon(1e-13));
    CHECK(adam.lr(1) == Approx(expected(4.0, t)).epsilon(1e-13));
    CHECK(adam.options(0).betas()[0] == Approx(expected_beta1(t)));
  }
  CHECK(adam.options(0).betas()[1] == 0.999);  // beta2 is not cycled
  CHECK(adam.lr(0) == Approx(2.0 / 10 / 100));  // t = 20: held at the end value, not extrapolated below 0
}

TEST_CASE("OneCycleLR refuses what PyTorch would divide by zero on, and optimizers without momentum") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(0.1));
  CHECK_THROWS_WITH(optim::OneCycleLR<double>(sgd, 1.0, 10, optim::OneCycleLROptions().pct_start(0.1)),
                    TG_CONTAINS("OneCycleLR: phase 0 of the cycle is empty"));
  CHECK_THROWS_WITH(optim::OneCycleLR<double>(sgd, std::vector<double>{1.0, 2.0}, 10),
                    TG_CONTAINS("got 2 max_lr values for 1 parameter groups"));
  CHECK_THROWS_WITH(optim::OneCycleLR<double>(sgd, 1.0, 0), TG_CONTAINS("invalid total_steps 0"));
  optim::Adagrad<double> adagrad(one_parameter(), optim::AdagradOptions(0.1));
  CHECK_THROWS_WITH(optim::OneCycleLR<double>(adagrad, 1.0, 10), TG_CONTAINS("has no momentum to cycle"));
  optim::OneCycleLR<double> no_momentum(adagrad, 1.0, 10, optim::OneCycleLROptions().cycle_momentum(false));
  CHECK(adagrad.lr(0) == Approx(0.04));
}

TEST_CASE("ReduceLROnPlateau: patience, threshold, cooldown, min_lr, as PyTorch's") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(1.0));
  optim::ReduceLROnPlateau<double> plateau(
      sgd, optim::ReduceLROnPlateauOptions().factor(0.5).patience(2).cooldown(1).min_lr(0.2));
  // epoch:             1    2    3    4       5    6    7    8    9    10   11   12   13
  const double loss[] = {1.0, 0.9, 0.9, 0.89995, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
  // 0.89995 is not below 0.9 (1 - 1e-4) = 0.89991: not an improvement. Bad epochs 3, 4, 5 make
  // 3 > patience: halve at 5, cooldown at 6 forgives it, bad 7, 8, 9 halve at 9, ...
  const double lr[] = {1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2};
  for (int e = 0; e < 13; ++e) {
    INFO("epoch " << e + 1);
    plateau.step(loss[e]);
    CHECK(sgd.lr(0) == Approx(lr[e]));
  }
  CHECK(plateau.best() == 0.9);

  optim::SGD<double> sgd2(one_parameter(), optim::SGDOptions(1.0));
  optim::ReduceLROnPlateau<double> accuracy(sgd2, optim::ReduceLROnPlateauOptions()
                                                       .mode(optim::PlateauMode::Max)
                                                       .threshold_mode(optim::ThresholdMode::Abs)
                                                       .threshold(0.01)
                                                       .patience(0));
  accuracy.step(0.50);
  accuracy.step(0.505);  // not above 0.50 + 0.01: reduce at once (patience 0)
  CHECK(sgd2.lr(0) == Approx(0.1));
  accuracy.step(tg::scalar_tensor<double>(0.52));
  CHECK(accuracy.best() == 0.52);
  CHECK(accuracy.num_bad_epochs() == 0);
  CHECK(sgd2.lr(0) == Approx(0.1));

  CHECK_THROWS_WITH(accuracy.step(std::nan("")), TG_CONTAINS("ReduceLROnPlateau.step: the metric is nan"));
  CHECK(accuracy.last_epoch() == 3);
  CHECK_THROWS_WITH(optim::ReduceLROnPlateau<double>(sgd2, optim::ReduceLROnPlateauOptions().factor(1.0)),
                    TG_CONTAINS("invalid factor 1 (must be in (0, 1))"));
}

TEST_CASE("ReduceLROnPlateau state_dict resumes the counters") {
  optim::SGD<double> a(one_parameter(), optim::SGDOptions(1.0)), b(one_parameter(), optim::SGDOptions(1.0));
  const auto options = optim::ReduceLROnPlateauOptions().patience(3);
  optim::ReduceLROnPlateau<double> pa(a, options), pb(b, options);
  for (double m : {1.0, 2.0, 2.0}) pa.step(m);
  pb.load_state_dict(pa.state_dict());
  CHECK(pb.num_bad_epochs() == 2);
  for (int i = 0; i < 3; ++i) {
    pa.step(5.0);
    pb.step(5.0);
    CHECK(b.lr(0) == a.lr(0));
  }
  CHECK(a.lr(0) == Approx(0.1));
  auto sd = pa.state_dict();
  sd.set("num_bad_epochs", tg::scalar_tensor<double>(1.5));
  CHECK_THROWS_WITH(pb.load_state_dict(sd), TG_CONTAINS("\"num_bad_epochs\" must be a whole number"));
}

TEST_CASE("scheduler state_dict: resume on the same trajectory, validated before loading") {
  optim::SGD<double> a(one_parameter(), optim::SGDOptions(0.1)), b(one_parameter(), optim::SGDOptions(0.7));
  optim::CosineAnnealingWarmRestarts<double> sa(a, 3, 2), sb(b, 3, 2);
  for (int i = 0; i < 5; ++i) sa.step();
  const auto sd = sa.state_dict();
  CHECK(sd.at("last_epoch").item() == 5);
  CHECK(sd.at("base_lrs.0").item() == 0.1);
  sb.load_state_dict(sd);
  CHECK(b.lr(0) == a.lr(0));
  for (int i = 0; i < 12; ++i, sa.step(), sb.step()) CHECK(b.lr(0) == a.lr(0));

  optim::SGD<double> c(one_parameter(), optim::SGDOptions(0.3));
  optim::StepLR<double> sc(c, 2);
  auto broken = sd;
  broken.set("last_epoch", tg::scalar_tensor<double>(-1.0));
  CHECK_THROWS_WITH(sc.load_state_dict(broken), TG_CONTAINS("StepLR.load_state_dict: last_epoch must be a whole number"));
  auto extra = sd;
  extra.insert("base_lrs.1", tg::scalar_tensor<double>(0.1));
  CHECK_THROWS_WITH(sc.load_state_dict(extra), TG_CONTAINS("has 3 entries, this scheduler expects 2"));
  CHECK(sc.last_epoch() == 0);
  CHECK(c.lr(0) == 0.3);

  // OneCycleLR refuses an epoch past its cycle at load too, and keeps its state.
  optim::SGD<double> d(one_parameter(), optim::SGDOptions(0.1).momentum(0.9));
  optim::OneCycleLR<double> cycle(d, 1.0, 10);
  auto far = cycle.state_dict();
  far.set("last_epoch", tg::scalar_tensor<double>(50));
  CHECK_THROWS_WITH(cycle.load_state_dict(far), TG_CONTAINS("past total_steps 10"));
  CHECK(cycle.base_lrs()[0] == Approx(0.04));
}

TEST_CASE("scheduler arguments are checked, naming the scheduler") {
  optim::SGD<double> sgd(one_parameter(), optim::SGDOptions(0.1));
  CHECK_THROWS_WITH(optim::StepLR<double>(sgd, 0), TG_CONTAINS("StepLR: invalid step_size 0 (must be > 0)"));
  CHECK_THROWS_WITH(optim::ExponentialLR<double>(sgd, -1), TG_CONTAINS("ExponentialLR: invalid gamma -1"));
  CHECK_THROWS_WITH(optim::LinearLR<double>(sgd, 0.0), TG_CONTAINS("LinearLR: invalid start_factor 0"));
  CHECK_THROWS_WITH(optim::MultiStepLR<double>(sgd, {-3}), TG_CONTAINS("MultiStepLR: invalid milestone -3"));
  CHECK_THROWS_WITH(optim::CosineAnnealingLR<double>(sgd, 0), TG_CONTAINS("CosineAnnealingLR: invalid T_max 0"));
  CHECK_THROWS_WITH(optim::LambdaLR<double>(sgd, nullptr), TG_CONTAINS("LambdaLR: lr_lambda is empty"));
  CHECK(sgd.lr(0) == 0.1);  // a refused scheduler writes nothing
}

TEST_CASE("schedulers drive float optimizers too") {
  std::vector<tg::Tensor<float>> p = {tg::zeros<float>({3}, tg::TensorOptions().requires_grad(true))};
  optim::AdamW<float> adamw(p, optim::AdamWOptions(1e-2));
  optim::CosineAnnealingLR<float> cosine(adamw, 4);
  for (int i = 0; i < 4; ++i) cosine.step();
  CHECK(adamw.lr(0) == Approx(0.0).margin(1e-18));
}

}  // namespace optim_lr_scheduler_test
