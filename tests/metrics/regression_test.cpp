// Regression metrics against sklearn's documented examples (single and multi-output),
// R^2 of a constant target, and every error path.
#include "../test_util.hpp"

#include <tapegrad/metrics.hpp>

#include <cmath>
#include <vector>

namespace metrics_regression_test {

namespace m = tg::metrics;

Tensor vec(const std::vector<double>& v) { return double_vector(v); }

TEST_CASE("mse, mae, rmse, r2: sklearn's single-output example", "[metrics][regression]") {
  // y = [3, -0.5, 2, 7], y_hat = [2.5, 0, 2, 8]: errors .5, -.5, 0, -1.
  const Tensor pred = vec({2.5, 0.0, 2, 8}), target = vec({3, -0.5, 2, 7});
  CHECK(m::mse(pred, target) == Approx(0.375));            // (.25 + .25 + 0 + 1) / 4
  CHECK(m::mae(pred, target) == Approx(0.5));              // (.5 + .5 + 0 + 1) / 4
  CHECK(m::rmse(pred, target) == Approx(std::sqrt(0.375)));
  // mean y = 2.875; SS_tot = .015625 + 11.390625 + .765625 + 17.015625 = 29.1875; SS_res = 1.5.
  CHECK(m::r2(pred, target) == Approx(1 - 1.5 / 29.1875));  // 0.948608...
  // [N, 1] columns and float tensors give the same.
  CHECK(m::mse(pred.reshape({4, 1}), target.reshape({4, 1})) == Approx(0.375));
  CHECK(m::r2(pred.to<float>(), target.to<float>()) == Approx(1 - 1.5 / 29.1875).epsilon(1e-6));
}

TEST_CASE("multi-output [N, K]: per-output scores, uniformly averaged", "[metrics][regression]") {
  // sklearn: y = [[.5, 1], [-1, 1], [7, -6]], y_hat = [[0, 2], [-1, 2], [8, -5]].
  const Tensor target = values({0.5, 1, -1, 1, 7, -6}, {3, 2});
  const Tensor pred = values({0, 2, -1, 2, 8, -5}, {3, 2});
  // Column 0 errors .5, 0, -1 (mse 1.25/3); column 1 errors -1, -1, -1 (mse 1).
  CHECK(m::mse(pred, target) == Approx((1.25 / 3 + 1) / 2));  // 0.708333
  CHECK(m::mae(pred, target) == Approx((1.5 / 3 + 1) / 2));    // 0.75
  CHECK(m::rmse(pred, target) == Approx((std::sqrt(1.25 / 3) + 1) / 2));  // 0.822749, not sqrt(0.708333)
  // Column 0: mean 6.5/3, SS_tot = 32.1667, SS_res 1.25; column 1: mean -4/3, SS_tot 32.6667, SS_res 3.
  const double ss_tot0 = std::pow(0.5 - 6.5 / 3, 2) + std::pow(-1 - 6.5 / 3, 2) + std::pow(7 - 6.5 / 3, 2);
  const double ss_tot1 = 2 * std::pow(1 + 4.0 / 3, 2) + std::pow(-6 + 4.0 / 3, 2);
  CHECK(m::r2(pred, target) == Approx(((1 - 1.25 / ss_tot0) + (1 - 3 / ss_tot1)) / 2));  // 0.936800...
  CHECK(m::r2(pred, target) == Approx(0.9368005266622779));
}

TEST_CASE("r2 of a constant target: 1 if exact, else 0 (sklearn's force_finite)", "[metrics][regression]") {
  CHECK(m::r2(vec({2, 2, 2}), vec({2, 2, 2})) == 1.0);
  CHECK(m::r2(vec({1, 2, 3}), vec({2, 2, 2})) == 0.0);
  CHECK(m::r2(vec({5, 5}), vec({1, 3})) < 0);  // worse than the mean: 1 - 20/2 = -9
  CHECK(m::r2(vec({5, 5}), vec({1, 3})) == Approx(-9));
}

TEST_CASE("regression errors", "[metrics][regression]") {
  TG_CHECK_THROWS(m::mse(vec({1, 2}), vec({1, 2, 3})), tg::ShapeError,
                    "mse: predictions have shape [2] but targets have shape [3]");
  TG_CHECK_THROWS(m::mae(vec({1, 2}), values({1, 2}, {2, 1})), tg::ShapeError, "same shape");
  TG_CHECK_THROWS(m::rmse(values({1, 2}, {1, 1, 2}), values({1, 2}, {1, 1, 2})), tg::ShapeError,
                    "rmse: expected [N] or [N, K] (K outputs), got shape [1, 1, 2]");
  TG_CHECK_THROWS(m::mse(vec({}), vec({})), tg::ValueError, "mse: empty input");
  TG_CHECK_THROWS(m::mse(vec({1, NAN}), vec({1, 2})), tg::ValueError, "mse: predictions hold NaN at flat index 1");
  TG_CHECK_THROWS(m::r2(vec({1, 2}), vec({NAN, 2})), tg::ValueError, "r2: targets hold NaN at flat index 0");
  TG_CHECK_THROWS(m::r2(vec({1}), vec({2})), tg::ValueError, "r2: R^2 is not well-defined with less than two samples");
  TG_CHECK_THROWS(m::mse(Tensor(), vec({1})), tg::ValueError, "mse: undefined tensor");
}

}  // namespace metrics_regression_test

#undef METRICS_REG_FAILS
