#include "test_util.hpp"

#include <cstdint>
#include <limits>

namespace core_factory_test {

TEST_CASE("constant factories", "[factory]") {
  require_values(tg::zeros<double>({2, 3}), {0, 0, 0, 0, 0, 0});
  require_values(tg::ones<double>({3}), {1, 1, 1});
  require_values(tg::full<double>({2}, 3.5), {3.5, 3.5});
  CHECK(tg::zeros<double>({}).dim() == 0);
  CHECK(tg::zeros<double>({}).numel() == 1);
  CHECK(tg::zeros<double>({0, 3}).numel() == 0);
  auto like = tg::full_like(tg::zeros<double>({2, 2}), 4.0);
  CHECK(like.shape() == tg::Shape{2, 2});
  require_values(like, {4, 4, 4, 4});
  require_values(tg::ones_like(like), {1, 1, 1, 1});
  require_values(tg::zeros_like(like), {0, 0, 0, 0});
  CHECK(tg::zeros<>({1}).to_vector() == std::vector<double>{0.0});  // double by default
  REQUIRE_THROWS_AS(tg::zeros<double>({2, -1}), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::ones<double>({-3}), TG_CONTAINS("negative dimension in shape [-3]"));
}

TEST_CASE("ranges and identity", "[factory]") {
  require_values(tg::arange<double>(5), {0, 1, 2, 3, 4});
  require_values(tg::arange<double>(1, 2, 0.25), {1, 1.25, 1.5, 1.75});
  require_values(tg::arange<double>(3, 0, -1), {3, 2, 1});
  REQUIRE_THROWS_WITH(tg::arange<double>(0, 1, 0), TG_CONTAINS("step must be nonzero"));
  REQUIRE_THROWS_AS(tg::arange<double>(3, 0, 1), tg::ValueError);
  require_values(tg::linspace<double>(0, 1, 5), {0, 0.25, 0.5, 0.75, 1});
  require_values(tg::linspace<double>(2, 2, 1), {2});
  CHECK(tg::linspace<double>(0, 1, 0).numel() == 0);
  REQUIRE_THROWS_AS(tg::linspace<double>(0, 1, -1), tg::ValueError);
  require_values(tg::eye<double>(2), {1, 0, 0, 1});
  REQUIRE_THROWS_AS(tg::eye<double>(-1), tg::ValueError);
  REQUIRE_THROWS_WITH(tg::eye<double>(2, -3), TG_CONTAINS("sizes must be non-negative"));
  auto r = tg::eye<double>(2, 3);
  CHECK(r.shape() == tg::Shape{2, 3});
  require_values(r, {1, 0, 0, 0, 1, 0});
}

TEST_CASE("element counts that overflow int64 are a ShapeError in every factory and view", "[factory][overflow]") {
  const std::int64_t big = std::int64_t(1) << 32;
  // zeros({2^32, 2^32}) once wrapped the count to 0 (signed overflow) and then wrote past it.
  TG_CHECK_THROWS(tg::zeros<double>({big, big}), tg::ShapeError,
                  "shape [4294967296, 4294967296] has more elements than 2^63 - 1");
  CHECK_THROWS_AS(tg::ones<float>({big, big}), tg::ShapeError);
  CHECK_THROWS_AS(tg::full<double>({3, big, big}, 1.0), tg::ShapeError);
  CHECK_THROWS_AS(tg::rand<double>({big, big}), tg::ShapeError);
  CHECK_THROWS_AS(tg::randn<double>({big, big}), tg::ShapeError);
  CHECK_THROWS_AS(tg::eye<double>(big, big), tg::ShapeError);
  // A count that fits int64 but whose bytes do not fit an address space.
  TG_CHECK_THROWS(tg::zeros<double>({std::int64_t(1) << 62}), tg::ShapeError, "more bytes than an address space holds");
  // expand to [2^62, 4] once reported numel 0.
  const Tensor one = tg::ones<double>({1, 4});
  TG_CHECK_THROWS(one.expand({std::int64_t(1) << 62, 4}), tg::ShapeError, "has more elements than 2^63 - 1");
  // reshape: a requested shape whose count wraps around to the tensor's must not pass.
  const Tensor sixteen = tg::zeros<double>({16});
  TG_CHECK_THROWS(sixteen.reshape({std::int64_t(1) << 62, 64, 16}), tg::ShapeError, "has more elements than 2^63 - 1");
  CHECK_THROWS_AS(sixteen.reshape({-1, big, big}), tg::ShapeError);
  // A zero anywhere makes the shape empty, however large the other sizes.
  CHECK(tg::zeros<double>({big, 0, big}).numel() == 0);
  CHECK(tg::zeros<double>({0}).reshape({big, big, 0}).numel() == 0);
  // repeat: one tiled size overflowing, even when another repeat is 0.
  CHECK_THROWS_AS(tg::repeat(tg::ones<double>({2}), {big, big}), tg::ShapeError);
  CHECK_THROWS_AS(tg::repeat(tg::ones<double>({4}), {0, std::int64_t(1) << 62}), tg::ShapeError);
}

TEST_CASE("arange refuses non-finite bounds and counts beyond int64", "[factory]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // These once returned an empty tensor, or one of shape [-9223372036854775808].
  TG_CHECK_THROWS(tg::arange<double>(0, nan), tg::ValueError, "arange: start, end and step must be finite");
  CHECK_THROWS_AS(tg::arange<double>(0, inf), tg::ValueError);
  CHECK_THROWS_AS(tg::arange<double>(-inf, 0), tg::ValueError);
  CHECK_THROWS_AS(tg::arange<double>(0, 1, nan), tg::ValueError);
  CHECK_THROWS_AS(tg::arange<float>(0, std::numeric_limits<float>::infinity()), tg::ValueError);
  TG_CHECK_THROWS(tg::arange<double>(0, 1e30), tg::ValueError, "elements, more than a tensor can index");
  // The count is computed in double, as PyTorch does: no overflow of end - start in int64.
  CHECK(tg::arange<std::int64_t>(std::numeric_limits<std::int64_t>::max() - 2, std::numeric_limits<std::int64_t>::max())
            .numel() == 2);
  require_values(tg::arange<double>(0, 1, 0.3), {0, 0.3, 0.6, 0.9});
}

TEST_CASE("random factories are seedable", "[factory]") {
  tg::manual_seed(42);
  auto a = tg::randn<double>({100});
  auto u = tg::rand<double>({100});
  tg::manual_seed(42);
  auto b = tg::randn<double>({100});
  CHECK(a.to_vector() == b.to_vector());
  for (double v : u.to_vector()) {
    CHECK(v >= 0.0);
    CHECK(v < 1.0);
  }
  tg::Generator g1(7), g2(7);
  CHECK(tg::rand<double>({5}, g1).to_vector() == tg::rand<double>({5}, g2).to_vector());
  // A standard normal sample of 10,000 has mean within 0.05 and variance within 0.1 of (0, 1).
  tg::Generator g(123);
  auto big = tg::randn<double>({10000}, g);
  const double mean = big.mean().item();
  const double var = ((big - mean) * (big - mean)).mean().item();
  CHECK(std::abs(mean) < 0.05);
  CHECK(std::abs(var - 1.0) < 0.1);
}

TEST_CASE("from_vector and scalar tensors", "[factory]") {
  auto m = tg::from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2}, tg::requires_grad());
  CHECK(m.shape() == tg::Shape{3, 2});
  CHECK(m.requires_grad());
  CHECK(m.at({2, 1}) == 6.0);
  CHECK(tg::from_vector<double>({1, 2, 3}).shape() == tg::Shape{3});
  CHECK(tg::tensor({1.0, 2.0}).to_vector() == std::vector<double>{1, 2});
  REQUIRE_THROWS_AS(tg::from_vector<double>({1, 2, 3}, {2, 2}), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::from_vector<double>({1, 2, 3}, {2, 2}), TG_CONTAINS("3 values cannot fill shape [2, 2]"));
  // An empty shape is a 0-d tensor; `{}` once was ambiguous between shape and options.
  const auto zero_d = tg::from_vector<double>({1.5}, {});
  CHECK(zero_d.dim() == 0);
  CHECK(zero_d.item() == 1.5);
  CHECK(tg::from_vector<double>({1, 2}, tg::requires_grad()).requires_grad());
  auto s = tg::scalar_tensor<double>(3.0, tg::requires_grad());
  CHECK(s.shape().empty());
  CHECK(s.requires_grad());
}

TEST_CASE("from_eigen accepts any storage order and arrays", "[factory]") {
  Eigen::Matrix<double, 2, 3, Eigen::RowMajor> rm;
  rm << 1, 2, 3, 4, 5, 6;
  Eigen::Matrix<double, 2, 3, Eigen::ColMajor> cm = rm;
  auto a = tg::from_eigen(rm);
  auto b = tg::from_eigen(cm);
  CHECK(a.shape() == tg::Shape{2, 3});
  require_values(a, {1, 2, 3, 4, 5, 6});
  require_values(b, {1, 2, 3, 4, 5, 6});
  Eigen::VectorXd v(3);
  v << 1, 2, 3;
  auto tv = tg::from_eigen(v, tg::requires_grad());
  CHECK(tv.shape() == tg::Shape{3});
  CHECK(tv.requires_grad());
  Eigen::ArrayXXf arr = Eigen::ArrayXXf::Constant(2, 2, 1.5f);
  auto ta = tg::from_eigen(arr);
  CHECK(ta.shape() == tg::Shape{2, 2});
  CHECK(ta.at({1, 1}) == 1.5f);
  // Round trip.
  CHECK(tg::from_eigen(cm).to_eigen() == cm);
}

}  // namespace core_factory_test
