// tg::nn::utils: clipping and flattening.
#include "nn_test_util.hpp"

namespace nn_utils_test {

namespace utils = tg::nn::utils;

TEST_CASE("clip_grad_norm_: norms of order 1, 2, 3 and inf over all gradients; scaling; nonfinite") {
  for (double p : {1.0, 2.0, 3.0, std::numeric_limits<double>::infinity()}) {
    INFO("norm_type " << p);
    auto a = tg::zeros<double>({2}, tg::requires_grad());
    auto b = tg::zeros<double>({3}, tg::requires_grad());
    auto c = tg::zeros<double>({1}, tg::requires_grad());  // no gradient: skipped
    const std::vector<double> ga{3, -4}, gb{1, 2, -2};
    a.set_grad(tg::from_vector(ga));
    b.set_grad(tg::from_vector(gb));
    double expected = 0;
    for (double x : {3.0, 4.0, 1.0, 2.0, 2.0}) expected = std::isinf(p) ? std::max(expected, x) : expected + std::pow(x, p);
    if (!std::isinf(p)) expected = std::pow(expected, 1 / p);
    const double total = utils::clip_grad_norm_(std::vector<Tensor>{a, b, c}, 1.0, p);
    CHECK(total == Approx(expected).epsilon(1e-14));
    const double scale = 1.0 / (expected + 1e-6);
    CHECK(a.grad().at({1}) == Approx(-4 * scale).epsilon(1e-14));
    CHECK(b.grad().at({2}) == Approx(-2 * scale).epsilon(1e-14));
    CHECK_FALSE(c.grad().defined());
  }
  auto w = tg::zeros<double>({2}, tg::requires_grad());
  w.set_grad(tg::from_vector<double>({0.1, 0.2}));
  CHECK(utils::clip_grad_norm_(std::vector<Tensor>{w}, 1.0) == Approx(std::sqrt(0.05)));
  CHECK(w.grad().to_vector() == std::vector<double>{0.1, 0.2});  // under the limit: unchanged
  w.set_grad(tg::from_vector<double>({std::nan(""), 1}));
  CHECK_THROWS_WITH(utils::clip_grad_norm_(std::vector<Tensor>{w}, 1.0, 2.0, true),
                    TG_CONTAINS("clip_grad_norm_: the total norm of order 2 of the gradients is nan"));
  CHECK(std::isnan(utils::clip_grad_norm_(std::vector<Tensor>{w}, 1.0)));
}

TEST_CASE("clip_grad_value_, parameters_to_vector and vector_to_parameters") {
  auto a = tg::zeros<float>({3}, tg::requires_grad());
  a.set_grad(tg::from_vector<float>({-2, 0.5, 3}));
  utils::clip_grad_value_(std::vector<tg::Tensor<float>>{a}, 1.0);
  CHECK(a.grad().to_vector() == std::vector<float>{-1, 0.5, 1});
  auto p = tg::from_vector<double>({1, 2, 3, 4}, {2, 2}, tg::requires_grad());
  auto q = tg::from_vector<double>({5, 6}, tg::requires_grad());
  const std::vector<Tensor> ps{p, q};
  const Tensor flat = utils::parameters_to_vector(ps);
  CHECK(flat.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  utils::vector_to_parameters(flat * 2.0, ps);
  CHECK(p.to_vector() == std::vector<double>{2, 4, 6, 8});
  CHECK(q.to_vector() == std::vector<double>{10, 12});
  CHECK_THROWS_WITH(utils::vector_to_parameters(tg::zeros<double>({5}), ps),
                    TG_CONTAINS("vector_to_parameters: expected a 1-D tensor of 6 elements"));
}

}  // namespace nn_utils_test
