// Conv1d, Conv2d, ConvTranspose2d.
#include "nn_test_util.hpp"

#include <sstream>

namespace nn_conv_test {

namespace nn = tg::nn;

template <typename M>
std::string repr(const M& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}

TEST_CASE("Conv2d: the functional op with the module's parameters; init bound 1/sqrt(fan_in); gradients") {
  tg::manual_seed(11);
  nn::Conv2d<double> conv(2, 3, 3, 2, 1);
  CHECK(conv.weight.shape() == tg::Shape{3, 2, 3, 3});
  const double bound = 1 / std::sqrt(2.0 * 9);
  CHECK(conv.weight.abs().max().item() <= bound);
  CHECK(conv.bias.abs().max().item() <= bound);
  tg::Generator gen(2);
  Tensor x = tg::randn<double>({2, 2, 5, 5}, gen).requires_grad_();
  const Tensor y = conv(x);
  CHECK(y.shape() == tg::Shape{2, 3, 3, 3});
  // out[0, o, 1, 1] = b[o] + sum w[o, c, i, j] x[0, c, 1*2 - 1 + i, 1*2 - 1 + j]
  for (int o = 0; o < 3; ++o) {
    double e = conv.bias.at({o});
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) e += conv.weight.at({o, c, i, j}) * x.at({0, c, 1 + i, 1 + j});
    CHECK(y.at({0, o, 1, 1}) == Approx(e).epsilon(1e-13));
  }
  check_module_gradients(conv, [&] { return conv(x); }, {x});
  CHECK(repr(conv) == "Conv2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))");
  CHECK(repr(nn::Conv2d<float>(4, 8, {3, 1}, 1, "same", 1, 2, false)) ==
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(1, 1), padding=same, groups=2, bias=False)");
  CHECK_THROWS_WITH(nn::Conv2d<double>(3, 4, 3, 1, 0, 1, 2), TG_CONTAINS("Conv2d: in_channels (3) and out_channels (4) must be divisible by groups (2)"));
}

TEST_CASE("Conv1d: shapes, values against a loop, gradients") {
  tg::manual_seed(12);
  nn::Conv1d<double> conv(2, 2, 3, 1, 1, 2);
  tg::Generator gen(3);
  Tensor x = tg::randn<double>({1, 2, 6}, gen).requires_grad_();
  const Tensor y = conv(x);
  REQUIRE(y.shape() == tg::Shape{1, 2, 4});  // L' = 6 + 2 - 2 * 2 - 1 + 1
  for (int o = 0; o < 2; ++o)
    for (int t = 0; t < 4; ++t) {
      double e = conv.bias.at({o});
      for (int c = 0; c < 2; ++c)
        for (int k = 0; k < 3; ++k) {
          const int at = t - 1 + 2 * k;
          if (at >= 0 && at < 6) e += conv.weight.at({o, c, k}) * x.at({0, c, at});
        }
      CHECK(y.at({0, o, t}) == Approx(e).epsilon(1e-13));
    }
  check_module_gradients(conv, [&] { return conv(x); }, {x});
  CHECK(repr(conv) == "Conv1d(2, 2, kernel_size=(3,), stride=(1,), padding=(1,), dilation=(2,))");
}

TEST_CASE("ConvTranspose2d: the adjoint of Conv2d with the same weight; shapes; gradients") {
  tg::manual_seed(13);
  nn::ConvTranspose2d<double> up(3, 2, 2, 2, 0, 0, 1, false);
  CHECK(up.weight.shape() == tg::Shape{3, 2, 2, 2});
  CHECK(up.weight.abs().max().item() <= 1 / std::sqrt(2.0 * 4));
  tg::Generator gen(4);
  Tensor x = tg::randn<double>({1, 3, 3, 3}, gen).requires_grad_();
  const Tensor y = up(x);
  REQUIRE(y.shape() == tg::Shape{1, 2, 6, 6});
  // <conv_transpose(x), z> = <x, conv(z)>: the defining property of the adjoint.
  const Tensor z = tg::randn<double>({1, 2, 6, 6}, gen);
  const double lhs = (y * z).sum().item();
  const double rhs = (x * tg::conv2d(z, up.weight, Tensor(), 2)).sum().item();
  CHECK(lhs == Approx(rhs).epsilon(1e-12));
  nn::ConvTranspose2d<double> biased(3, 2, 3, 2, 1, 1);
  check_module_gradients(biased, [&] { return biased(x); }, {x});
  CHECK(biased(x).shape() == tg::Shape{1, 2, 6, 6});
  CHECK(repr(biased) == "ConvTranspose2d(3, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))");
}

}  // namespace nn_conv_test
