// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d.
#include "nn_test_util.hpp"

#include <sstream>

namespace nn_pooling_test {

namespace nn = tg::nn;

TEST_CASE("Pooling modules: values against loops, stride defaults to the kernel, printing") {
  tg::Generator gen(5);
  const Tensor x = tg::randn<double>({2, 3, 4, 6}, gen);
  nn::MaxPool2d<double> mp(2);
  nn::AvgPool2d<double> ap(2);
  nn::AdaptiveAvgPool2d<double> gap(1);
  const Tensor m = mp(x), a = ap(x), g = gap(x);
  REQUIRE(m.shape() == tg::Shape{2, 3, 2, 3});
  REQUIRE(g.shape() == tg::Shape{2, 3, 1, 1});
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c) {
      double total = 0;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 6; ++j) total += x.at({n, c, i, j});
      CHECK(g.at({n, c, 0, 0}) == Approx(total / 24).epsilon(1e-13));
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) {
          const double v[4] = {x.at({n, c, 2 * i, 2 * j}), x.at({n, c, 2 * i, 2 * j + 1}), x.at({n, c, 2 * i + 1, 2 * j}),
                               x.at({n, c, 2 * i + 1, 2 * j + 1})};
          CHECK(m.at({n, c, i, j}) == std::max({v[0], v[1], v[2], v[3]}));
          CHECK(a.at({n, c, i, j}) == Approx((v[0] + v[1] + v[2] + v[3]) / 4).epsilon(1e-14));
        }
    }
  std::ostringstream os;
  os << mp << "|" << nn::AvgPool2d<float>(3, 1, 1) << "|" << nn::AdaptiveAvgPool2d<float>({2, 3});
  CHECK(os.str() ==
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)|"
        "AvgPool2d(kernel_size=3, stride=1, padding=1)|AdaptiveAvgPool2d(output_size=(2, 3))");
  Tensor xg = tg::randn<double>({1, 2, 4, 4}, gen).requires_grad_();
  check_module_gradients(ap, [&] { return ap(xg); }, {xg});
  check_module_gradients(gap, [&] { return nn::AdaptiveAvgPool2d<double>({2, 3})(xg); }, {xg});
  check_module_gradients(mp, [&] { return mp(xg); }, {xg});
}

}  // namespace nn_pooling_test
