#include "test_util.hpp"

namespace core_tensor_test {

TEST_CASE("shape queries, negative sizes and element access", "[tensor]") {
  auto x = tg::arange<double>(0, 24).reshape({2, 3, 4});
  CHECK(x.shape() == tg::Shape{2, 3, 4});
  CHECK(x.dim() == 3);
  CHECK(x.numel() == 24);
  CHECK(x.size(0) == 2);
  CHECK(x.size(-1) == 4);
  CHECK(x.size(-3) == 2);
  CHECK(x.at({1, 2, 3}) == 23.0);
  CHECK(x.at({-1, 0, -1}) == 15.0);
  REQUIRE_THROWS_AS(x.size(3), tg::IndexError);
  REQUIRE_THROWS_WITH(x.size(-4), TG_CONTAINS("dimension -4 is out of range for a tensor with 3 dimensions"));
  REQUIRE_THROWS_WITH(x.at({0, 3, 0}), TG_CONTAINS("index 3 is out of range for dimension 1 of size 3"));
  REQUIRE_THROWS_WITH(x.at({0, 0}), TG_CONTAINS("2 indices given for a tensor of shape [2, 3, 4]"));

  auto s = tg::scalar_tensor<double>(1.0);
  REQUIRE_THROWS_AS(s.size(0), tg::IndexError);
  REQUIRE_THROWS_WITH(s.size(-1), TG_CONTAINS("out of range for a 0-d tensor"));

  x.set({0, 1, 2}, -5.0);
  CHECK(x.at({0, 1, 2}) == -5.0);
}

TEST_CASE("item, to_vector and to_eigen", "[tensor]") {
  auto s = tg::scalar_tensor<double>(2.5);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 2.5);
  auto m = tg::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(m.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  REQUIRE_THROWS_AS(m.item(), tg::ValueError);
  REQUIRE_THROWS_WITH(m.item(), TG_CONTAINS("a tensor with 6 elements (shape [2, 3]) cannot be converted to a scalar"));
  Eigen::MatrixXd e = m.to_eigen();
  REQUIRE(e.rows() == 2);
  REQUIRE(e.cols() == 3);
  CHECK(e(1, 0) == 4.0);
  CHECK(e(0, 2) == 3.0);
  Eigen::MatrixXd v = tg::from_vector<double>({7, 8}).to_eigen();
  CHECK(v.rows() == 2);
  CHECK(v.cols() == 1);
  REQUIRE_THROWS_AS(tg::zeros<double>({2, 2, 2}).to_eigen(), tg::ShapeError);
}

TEST_CASE("requires_grad, leaves, detach", "[tensor]") {
  auto x = tg::ones<double>({2}, tg::requires_grad());
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  CHECK(x.grad_fn() == nullptr);
  CHECK_FALSE(x.grad().defined());

  auto y = x * 2;
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  REQUIRE_THROWS_AS(y.requires_grad_(false), tg::GraphError);
  REQUIRE_THROWS_WITH(y.requires_grad_(false), TG_CONTAINS("only leaf tensors can turn requires_grad off"));
  CHECK(y.requires_grad_(true).requires_grad());  // asking again is allowed, as in PyTorch

  auto d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.data_ptr() == y.data_ptr());  // shares storage

  auto plain = tg::zeros<double>({2});
  CHECK(plain.is_leaf());
  CHECK_FALSE(plain.requires_grad());
  plain.requires_grad_();
  CHECK(plain.requires_grad());
  CHECK(plain.is_leaf());
}

TEST_CASE("set_grad replaces .grad and checks the shape", "[tensor]") {
  auto x = tg::ones<double>({2}, tg::requires_grad());
  x.set_grad(tg::full<double>({2}, 5.0));
  (x * 2).sum().backward();
  require_values(x.grad(), {7, 7});
  REQUIRE_THROWS_AS(x.set_grad(tg::ones<double>({3})), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.set_grad(tg::ones<double>({3})),
                      TG_CONTAINS("a gradient of shape [3] does not match the tensor's shape [2]"));
  require_values(x.grad(), {7, 7});
  x.set_grad(tg::Tensor<double>());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("copies of a handle alias one tensor", "[tensor]") {
  auto x = tg::zeros<double>({3});
  auto alias = x;
  alias.set({1}, 4.0);
  CHECK(x.at({1}) == 4.0);
  auto copy = x.clone();
  copy.set({1}, 9.0);
  CHECK(x.at({1}) == 4.0);
}

TEST_CASE("undefined tensors fail clearly", "[tensor]") {
  tg::Tensor<double> u;
  CHECK_FALSE(u.defined());
  CHECK_FALSE(u.requires_grad());
  REQUIRE_THROWS_AS(u.shape(), tg::ValueError);
  REQUIRE_THROWS_WITH(u.numel(), TG_CONTAINS("undefined"));
}

TEST_CASE("compound assignment for no-grad code", "[tensor]") {
  auto w = tg::from_vector<double>({1, 2, 3, 4}, {2, 2});
  w += tg::from_vector<double>({10, 20}, {2});  // broadcast over rows
  require_values(w, {11, 22, 13, 24});
  w -= 1.0;
  require_values(w, {10, 21, 12, 23});
  w *= tg::full<double>({2, 1}, 2.0);
  require_values(w, {20, 42, 24, 46});
  w /= 2.0;
  require_values(w, {10, 21, 12, 23});
  w *= 0.5;
  require_values(w, {5, 10.5, 6, 11.5});
  w.fill_(7.0);
  require_values(w, {7, 7, 7, 7});
  w += w;  // aliasing is fine
  require_values(w, {14, 14, 14, 14});
  REQUIRE_THROWS_AS(w += tg::ones<double>({3}), tg::ShapeError);
  REQUIRE_THROWS_WITH(w += tg::ones<double>({3}), TG_CONTAINS("cannot be broadcast to the shape [2, 2]"));
  REQUIRE_THROWS_AS(w += tg::ones<double>({2, 2, 2}), tg::ShapeError);
  require_values(w, {14, 14, 14, 14});  // a throwing update changes nothing
}

TEST_CASE("in-place updates of parameters need NoGradGuard", "[tensor]") {
  auto p = tg::ones<double>({2}, tg::requires_grad());
  REQUIRE_THROWS_AS(p -= 0.1, tg::GraphError);
  REQUIRE_THROWS_WITH(p.set({0}, 3.0), TG_CONTAINS("NoGradGuard"));
  require_values(p, {1, 1});
  const auto v0 = p.version();
  {
    tg::NoGradGuard no_grad;
    p -= tg::full<double>({2}, 0.25);
  }
  require_values(p, {0.75, 0.75});
  CHECK(p.version() == v0 + 1);
}

TEST_CASE("float tensors work like double ones", "[tensor]") {
  auto x = tg::ones<float>({2, 2}, tg::requires_grad());
  auto y = ((x + 2.0f) * (x + 2.0f) * 3.0f).mean();
  y.backward();
  CHECK(y.item() == 27.0f);
  for (float g : x.grad().to_vector()) CHECK(g == Approx(4.5f));
}

}  // namespace core_tensor_test
