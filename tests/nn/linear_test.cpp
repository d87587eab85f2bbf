// Identity, Linear, Bilinear, Flatten, Unflatten.
#include "nn_test_util.hpp"

namespace nn_linear_test {

namespace nn = tg::nn;

TEST_CASE("Linear: y = x W^T + b by hand, PyTorch's init bounds, gradients") {
  tg::manual_seed(3);
  nn::Linear<double> lin(5, 3);
  CHECK(lin.weight.shape() == tg::Shape{3, 5});
  CHECK(lin.bias.shape() == tg::Shape{3});
  const double bound = 1 / std::sqrt(5.0);
  CHECK(lin.weight.abs().max().item() <= bound);
  CHECK(lin.bias.abs().max().item() <= bound);
  tg::Generator gen(4);
  const Tensor x = tg::randn<double>({2, 5}, gen);
  const Tensor y = lin(x);
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 3; ++o) {
      double expected = lin.bias.at({o});
      for (int i = 0; i < 5; ++i) expected += x.at({n, i}) * lin.weight.at({o, i});
      CHECK(y.at({n, o}) == Approx(expected).epsilon(1e-14));
    }
  Tensor xg = tg::randn<double>({2, 4, 5}, gen).requires_grad_();
  check_module_gradients(lin, [&] { return lin(xg); }, {xg});
  CHECK_THROWS_WITH(nn::Linear<double>(0, 2), TG_CONTAINS("Linear: in_features must be positive, got 0"));
}

TEST_CASE("Linear: initialization is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in distribution") {
  tg::manual_seed(5);
  nn::Linear<double> lin(400, 300);
  const double bound = 1 / 20.0;
  const Tensor w = lin.weight;
  const double n = static_cast<double>(w.numel());
  const double mean = w.mean().item();
  const double var = (w * w).mean().item() - mean * mean;
  // U(-b, b): mean 0, variance b^2 / 3; standard errors from the uniform's moments.
  CHECK(std::abs(mean) < 4 * std::sqrt(bound * bound / 3 / n));
  CHECK(var == Approx(bound * bound / 3).epsilon(0.02));
}

TEST_CASE("Bilinear: y_k = x1^T A_k x2 + b_k by hand, and gradients") {
  tg::manual_seed(6);
  nn::Bilinear<double> bl(3, 2, 4);
  tg::Generator gen(1);
  Tensor x1 = tg::randn<double>({5, 3}, gen).requires_grad_();
  Tensor x2 = tg::randn<double>({5, 2}, gen).requires_grad_();
  const Tensor y = bl.forward(x1, x2);
  REQUIRE(y.shape() == tg::Shape{5, 4});
  for (int n = 0; n < 5; ++n)
    for (int k = 0; k < 4; ++k) {
      double e = bl.bias.at({k});
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j) e += x1.at({n, i}) * bl.weight.at({k, i, j}) * x2.at({n, j});
      CHECK(y.at({n, k}) == Approx(e).epsilon(1e-13));
    }
  check_module_gradients(bl, [&] { return bl.forward(x1, x2); }, {x1, x2});
  CHECK_THROWS_WITH(bl.forward(x1, tg::zeros<double>({4, 2})), TG_CONTAINS("Bilinear: expected inputs [*, 3] and [*, 2]"));
}

TEST_CASE("Identity, Flatten and Unflatten") {
  const Tensor x = tg::arange<double>(0, 24).reshape({2, 3, 4});
  nn::Identity<double> id;
  CHECK(id(x).to_vector() == x.to_vector());
  nn::Flatten<double> flat;
  CHECK(flat(x).shape() == tg::Shape{2, 12});
  CHECK(nn::Flatten<double>(0, 1)(x).shape() == tg::Shape{6, 4});
  nn::Unflatten<double> un(1, {3, 4});
  CHECK(un(flat(x)).shape() == tg::Shape{2, 3, 4});
  CHECK(un(flat(x)).to_vector() == x.to_vector());
  CHECK(nn::Unflatten<double>(-1, {2, -1})(x).shape() == tg::Shape{2, 3, 2, 2});
  CHECK_THROWS_WITH(nn::Unflatten<double>(3, {1})(x), TG_CONTAINS("Unflatten: dim 3 is out of range"));
}

}  // namespace nn_linear_test
