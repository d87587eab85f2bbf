// Dropout: training zeroes a fraction p and scales the rest; eval is the identity.
#include "nn_test_util.hpp"

namespace nn_dropout_test {

namespace nn = tg::nn;

TEST_CASE("Dropout: fraction dropped, scaling, eval identity, gradient mask") {
  tg::manual_seed(21);
  nn::Dropout<double> drop(0.3);
  Tensor x = tg::ones<double>({200, 500}, tg::requires_grad());
  const Tensor y = drop(x);
  std::int64_t zeros = 0;
  bool scaled = true;
  for (double v : y.to_vector()) {
    if (v == 0) {
      ++zeros;
    } else {
      scaled = scaled && std::abs(v - 1 / 0.7) < 1e-12;
    }
  }
  CHECK(scaled);
  const double n = 1e5, frac = static_cast<double>(zeros) / n;
  CHECK(std::abs(frac - 0.3) < 4 * std::sqrt(0.3 * 0.7 / n));  // binomial standard error
  y.sum().backward();
  const auto g = x.grad().to_vector(), yv = y.to_vector();
  for (std::size_t i = 0; i < g.size(); i += 997) CHECK(g[i] == yv[i]);  // d/dx = the mask
  drop.eval();
  CHECK(drop(x).impl() == x.impl());
  CHECK_THROWS_WITH(nn::Dropout<double>(1.5), TG_CONTAINS("Dropout: p must be in [0, 1], got 1.5"));
}

}  // namespace nn_dropout_test
