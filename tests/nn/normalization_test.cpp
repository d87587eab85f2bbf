// BatchNorm1d/2d, LayerNorm, GroupNorm.
#include "nn_test_util.hpp"

#include <sstream>

namespace nn_normalization_test {

namespace nn = tg::nn;

TEST_CASE("BatchNorm2d: batch statistics in training, PyTorch's running-statistics update, eval uses them") {
  tg::Generator gen(31);
  nn::BatchNorm2d<double> bn(2, 1e-5, 0.1);
  CHECK(bn.state_dict().keys() ==
        std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
  std::vector<double> rm(2, 0.0), rv(2, 1.0);
  for (int step = 0; step < 3; ++step) {
    const Tensor x = tg::randn<double>({4, 2, 3, 3}, gen) * 2.0 + 1.0;
    const Tensor y = bn(x);
    for (int c = 0; c < 2; ++c) {
      double s = 0, ss = 0;
      for (int n = 0; n < 4; ++n)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) s += x.at({n, c, i, j});
      const double mean = s / 36;
      for (int n = 0; n < 4; ++n)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) ss += (x.at({n, c, i, j}) - mean) * (x.at({n, c, i, j}) - mean);
      const double var = ss / 36;  // biased in the normalization, unbiased in the running estimate
      CHECK(y.at({1, c, 2, 0}) == Approx((x.at({1, c, 2, 0}) - mean) / std::sqrt(var + 1e-5)).epsilon(1e-12));
      rm[c] = 0.9 * rm[c] + 0.1 * mean;
      rv[c] = 0.9 * rv[c] + 0.1 * ss / 35;
      CHECK(bn.running_mean.at({c}) == Approx(rm[c]).epsilon(1e-12));
      CHECK(bn.running_var.at({c}) == Approx(rv[c]).epsilon(1e-12));
    }
  }
  CHECK(bn.num_batches_tracked.item() == 3.0);
  bn.eval();
  const Tensor x = tg::randn<double>({1, 2, 2, 2}, gen);
  const Tensor y = bn(x);
  CHECK(y.at({0, 1, 1, 0}) == Approx((x.at({0, 1, 1, 0}) - rm[1]) / std::sqrt(rv[1] + 1e-5)).epsilon(1e-12));
  CHECK(bn.num_batches_tracked.item() == 3.0);  // eval does not count
  CHECK_THROWS_WITH(bn(tg::zeros<double>({1, 3, 2, 2})), TG_CONTAINS("BatchNorm2d: expected 2 channels"));
  CHECK_THROWS_WITH(bn(tg::zeros<double>({2, 2})), TG_CONTAINS("BatchNorm2d: expected 4-D input"));
  std::ostringstream os;
  os << bn;
  CHECK(os.str() == "BatchNorm2d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
}

TEST_CASE("BatchNorm1d: cumulative average with momentum = nullopt; gradients; a failing call changes nothing") {
  tg::Generator gen(32);
  nn::BatchNorm1d<double> bn(3, 1e-5, std::nullopt);
  std::vector<Tensor> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(tg::randn<double>({5, 3}, gen));
  for (const auto& b : batches) bn(b);
  // After k batches the running mean is the plain average of the k batch means.
  for (int c = 0; c < 3; ++c) {
    double avg = 0;
    for (const auto& b : batches) avg += tg::mean(b, 0).at({c}) / 4;
    CHECK(bn.running_mean.at({c}) == Approx(avg).epsilon(1e-12));
  }
  const auto before = bn.num_batches_tracked.item();
  CHECK_THROWS(bn(tg::zeros<double>({1, 3})));  // one value per channel cannot be normalized
  CHECK(bn.num_batches_tracked.item() == before);
  {
    tg::NoGradGuard no_grad;
    bn.weight.copy_(tg::from_vector<double>({0.5, 2.0, -1.0}));
    bn.bias.copy_(tg::from_vector<double>({0.1, 0.2, 0.3}));
  }
  Tensor x = tg::randn<double>({6, 3, 2}, gen).requires_grad_();
  check_module_gradients(bn, [&] { return bn(x); }, {x});
  bn.eval();
  check_module_gradients(bn, [&] { return bn(x); }, {x});
}

TEST_CASE("LayerNorm and GroupNorm: the normalization formula by hand, gradients") {
  tg::Generator gen(33);
  nn::LayerNorm<double> ln(tg::Shape{4});
  {
    tg::NoGradGuard no_grad;
    ln.weight.copy_(tg::from_vector<double>({1, 2, 3, 4}));
    ln.bias.copy_(tg::from_vector<double>({0, 1, 0, -1}));
  }
  Tensor x = tg::randn<double>({3, 4}, gen).requires_grad_();
  const Tensor y = ln(x);
  for (int n = 0; n < 3; ++n) {
    double m = 0, v = 0;
    for (int j = 0; j < 4; ++j) m += x.at({n, j}) / 4;
    for (int j = 0; j < 4; ++j) v += (x.at({n, j}) - m) * (x.at({n, j}) - m) / 4;
    for (int j = 0; j < 4; ++j)
      CHECK(y.at({n, j}) == Approx((x.at({n, j}) - m) / std::sqrt(v + 1e-5) * (j + 1) + ln.bias.at({j})).epsilon(1e-12));
  }
  check_module_gradients(ln, [&] { return ln(x); }, {x});

  nn::GroupNorm<double> gn(2, 4);
  Tensor z = tg::randn<double>({2, 4, 3}, gen).requires_grad_();
  const Tensor out = gn(z);
  // Group 1 of sample 0: channels 2 and 3, six values.
  double m = 0, v = 0;
  for (int c = 2; c < 4; ++c)
    for (int t = 0; t < 3; ++t) m += z.at({0, c, t}) / 6;
  for (int c = 2; c < 4; ++c)
    for (int t = 0; t < 3; ++t) v += (z.at({0, c, t}) - m) * (z.at({0, c, t}) - m) / 6;
  CHECK(out.at({0, 3, 1}) == Approx((z.at({0, 3, 1}) - m) / std::sqrt(v + 1e-5)).epsilon(1e-12));
  check_module_gradients(gn, [&] { return gn(z); }, {z});
  CHECK_THROWS_WITH(nn::GroupNorm<double>(3, 4), TG_CONTAINS("GroupNorm: num_channels (4) must be divisible by num_groups (3)"));
  std::ostringstream os;
  os << ln << "|" << gn;
  CHECK(os.str() == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)|GroupNorm(2, 4, eps=1e-05, affine=True)");
}

}  // namespace nn_normalization_test
