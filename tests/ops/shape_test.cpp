#include "test_util.hpp"

#include <algorithm>
#include <string>

namespace ops_shape_test {

// reshape/view, expand, sum_to, transpose, t, clone.

namespace {

// [[0, 1, 2], [3, 4, 5]]
Tensor m23(bool requires_grad = false) { return values({0, 1, 2, 3, 4, 5}, {2, 3}, requires_grad); }

// x[i][j][k] = 12 i + 4 j + k
Tensor arange234() { return tg::arange<double>(24).reshape({2, 3, 4}); }

}  // namespace

TEST_CASE("reshape and view: values, -1 inference, grad_fn", "[shape][reshape]") {
  auto x = m23(true);
  auto y = x.reshape({3, 2});
  CHECK(y.shape() == tg::Shape{3, 2});
  require_values(y, {0, 1, 2, 3, 4, 5});
  CHECK(y.at({2, 0}) == 4.0);
  CHECK(grad_fn_name(y) == "ViewBackward0");
  CHECK(grad_fn_name(x.view({6})) == "ViewBackward0");

  CHECK(x.reshape({-1}).shape() == tg::Shape{6});
  CHECK(x.reshape({3, -1}).shape() == tg::Shape{3, 2});
  CHECK(x.reshape({-1, 1}).shape() == tg::Shape{6, 1});
  CHECK(x.view({1, -1, 3}).shape() == tg::Shape{1, 2, 3});
  CHECK(tg::reshape(x, {2, 1, 3, 1}).shape() == tg::Shape{2, 1, 3, 1});
  CHECK(tg::view(x, {-1, 2}).shape() == tg::Shape{3, 2});
  CHECK(tg::zeros<double>({0, 3}).reshape({-1}).shape() == tg::Shape{0});

  // 0-d <-> one element
  auto s = tg::scalar_tensor<double>(5.0);
  CHECK(s.reshape({1, 1}).shape() == tg::Shape{1, 1});
  CHECK(s.reshape({-1}).shape() == tg::Shape{1});
  auto one = values({7}, {1});
  CHECK(one.reshape({}).shape() == tg::Shape{});
  CHECK(one.reshape({}).item() == 7.0);

  // The gradient is reshaped back to the input's shape.
  auto w = values({1, 2, 3, 4, 5, 6}, {3, 2});
  (y * w).sum().backward();
  REQUIRE(x.grad().shape() == tg::Shape{2, 3});
  require_values(x.grad(), {1, 2, 3, 4, 5, 6});
}

TEST_CASE("reshape shares storage with its input", "[shape][reshape]") {
  auto x = m23();
  auto y = x.reshape({3, 2});
  auto v = x.view({-1});
  CHECK(y.data_ptr() == x.data_ptr());
  CHECK(v.data_ptr() == x.data_ptr());
  x.set({1, 2}, 50.0);
  CHECK(y.at({2, 1}) == 50.0);
  CHECK(v.at({5}) == 50.0);
  y.set({0, 0}, -1.0);
  CHECK(x.at({0, 0}) == -1.0);
  CHECK(y.version() == x.version());  // one storage, one version counter
  CHECK(x.version() == 2);
  // Without autograd a same-shape reshape is the tensor itself.
  CHECK(x.reshape({2, 3}).impl() == x.impl());
  // With autograd it is recorded (a new node), still on the same storage.
  auto g = m23(true);
  auto same = g.reshape({2, 3});
  CHECK(same.impl() != g.impl());
  CHECK(grad_fn_name(same) == "ViewBackward0");
  CHECK(same.data_ptr() == g.data_ptr());
}

TEST_CASE("reshape: gradcheck and gradgradcheck", "[shape][reshape]") {
  tg::Generator gen(21);
  // The outputs share storage with the input: gradcheck must copy them before it
  // perturbs the input again.
  const auto to32 = [](const Tensor& x) { return x.reshape({3, 2}); };
  const auto flat = [](const Tensor& x) { return x.view({-1}); };
  const auto to11 = [](const Tensor& x) { return x.reshape({1, 1}); };
  const auto to0d = [](const Tensor& x) { return x.reshape({}); };
  const auto to4x = [](const Tensor& x) { return x.reshape({4, -1}) * x.reshape({4, -1}); };
  const Tensor a = tg::randn<double>({2, 3}, gen), s = tg::randn<double>({}, gen), one = tg::randn<double>({1}, gen);
  const Tensor b = tg::randn<double>({2, 3, 4}, gen);
  CHECK_GRAD(to32, a);
  CHECK_GRAD(flat, a);
  CHECK_GRAD(to11, s);
  CHECK_GRAD(to0d, one);
  CHECK_GRAD(to4x, b);
  CHECK_GRADGRAD(to32, a);
  CHECK_GRADGRAD(to11, s);
  CHECK_GRADGRAD(to4x, b);
}

TEST_CASE("reshape: errors", "[shape][reshape][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.reshape({4}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.reshape({4}), TG_CONTAINS("reshape: shape [4] is invalid for a tensor of shape [2, 3] "
                                                  "(6 elements, the new shape has 4)"));
  REQUIRE_THROWS_AS(x.reshape({-1, -1}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.reshape({-1, -1}), TG_CONTAINS("only one dimension can be -1, got [-1, -1]"));
  REQUIRE_THROWS_AS(x.reshape({4, -1}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.reshape({4, -1}), TG_CONTAINS("shape [4, -1] is invalid for a tensor of shape [2, 3] (6 elements)"));
  REQUIRE_THROWS_AS(x.reshape({0, -1}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.reshape({0, -1}), TG_CONTAINS("shape [0, -1] is invalid"));
  REQUIRE_THROWS_AS(x.reshape({-2, 3}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.reshape({-2, 3}), TG_CONTAINS("invalid dimension -2 in shape [-2, 3]"));
  REQUIRE_THROWS_AS(x.view({5}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.view({5}), TG_CONTAINS("shape [5] is invalid for a tensor of shape [2, 3]"));
  REQUIRE_THROWS_AS(tg::scalar_tensor<double>(1.0).reshape({2}), tg::ShapeError);
  REQUIRE_THROWS_WITH(tg::scalar_tensor<double>(1.0).reshape({2}), TG_CONTAINS("for a tensor of shape []"));
  REQUIRE_THROWS_WITH(x.view({4}), TG_CONTAINS("view: shape [4] is invalid for a tensor of shape [2, 3]"));
}

TEST_CASE("expand: values, -1, grad_fn, gradients", "[shape][expand]") {
  auto row = values({1, 2, 3}, {3}, true);
  auto y = row.expand({2, 3});
  CHECK(y.shape() == tg::Shape{2, 3});
  require_values(y, {1, 2, 3, 1, 2, 3});
  CHECK(grad_fn_name(y) == "ExpandBackward0");
  CHECK(y.data_ptr() != row.data_ptr());  // materialised

  auto col = values({1, 2}, {2, 1});
  require_values(tg::expand(col, {2, 3}), {1, 1, 1, 2, 2, 2});
  auto c4 = col.expand({-1, 4});
  CHECK(c4.shape() == tg::Shape{2, 4});
  require_values(c4, {1, 1, 1, 1, 2, 2, 2, 2});
  auto c3 = col.expand({3, 2, 2});
  CHECK(c3.shape() == tg::Shape{3, 2, 2});
  require_values(c3, {1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2});
  auto s = tg::scalar_tensor<double>(7.0).expand({2, 2});
  CHECK(s.shape() == tg::Shape{2, 2});
  require_values(s, {7, 7, 7, 7});
  CHECK(tg::scalar_tensor<double>(7.0).expand({}).item() == 7.0);
  // Same shape: the tensor itself.
  CHECK(row.expand({3}).impl() == row.impl());
  CHECK(row.expand({-1}).impl() == row.impl());

  // The adjoint of broadcasting is summing.
  auto w = values({1, 2, 3, 4, 5, 6}, {2, 3});
  (y * w).sum().backward();
  require_values(row.grad(), {5, 7, 9});
}

TEST_CASE("expand: gradcheck and gradgradcheck", "[shape][expand]") {
  tg::Generator gen(22);
  const auto to23 = [](const Tensor& x) { return x.expand({2, 3}); };
  const auto to423 = [](const Tensor& x) { return x.expand({4, 2, 3}); };
  const auto keep = [](const Tensor& x) { return x.expand({-1, 3}) * x.expand({-1, 3}); };
  CHECK_GRAD(to23, tg::randn<double>({3}, gen));
  CHECK_GRAD(to23, tg::randn<double>({2, 1}, gen));
  CHECK_GRAD(to23, tg::randn<double>({}, gen));
  CHECK_GRAD(to423, tg::randn<double>({1, 3}, gen));
  CHECK_GRAD(keep, tg::randn<double>({2, 1}, gen));
  CHECK_GRADGRAD(to23, tg::randn<double>({2, 1}, gen));
  CHECK_GRADGRAD(to23, tg::randn<double>({}, gen));
  CHECK_GRADGRAD(keep, tg::randn<double>({2, 1}, gen));
}

TEST_CASE("expand: errors", "[shape][expand][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.expand({3, 3}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.expand({3, 3}), TG_CONTAINS("expand: a tensor of shape [2, 3] cannot be expanded to [3, 3]"));
  REQUIRE_THROWS_AS(x.expand({3}), tg::ShapeError);  // fewer dimensions than the tensor
  REQUIRE_THROWS_WITH(x.expand({3}), TG_CONTAINS("cannot be expanded to [3]"));
  REQUIRE_THROWS_AS(x.expand({4, 6}), tg::ShapeError);
  // -1 cannot stand for a new leading dimension.
  REQUIRE_THROWS_AS(x.expand({-1, 2, 3}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.expand({-1, 2, 3}), TG_CONTAINS("-1 is only allowed for dimensions the tensor already has"));
  REQUIRE_THROWS_AS(values({1, 2, 3}, {1, 3}).expand({-2, 3}), tg::ShapeError);
  REQUIRE_THROWS_WITH(values({1, 2, 3}, {1, 3}).expand({-2, 3}), TG_CONTAINS("expand: invalid size -2"));
}

TEST_CASE("sum_to: values, grad_fn, gradients", "[shape][sum_to]") {
  auto x = m23(true);
  auto y = x.sum_to({3});
  CHECK(y.shape() == tg::Shape{3});
  require_values(y, {3, 5, 7});
  CHECK(grad_fn_name(y) == "SumToBackward0");
  CHECK(tg::sum_to(x, {1, 3}).shape() == tg::Shape{1, 3});
  require_values(tg::sum_to(x, {1, 3}), {3, 5, 7});
  require_values(x.sum_to({2, 1}), {3, 12});
  CHECK(x.sum_to({}).shape() == tg::Shape{});
  CHECK(x.sum_to({}).item() == 15.0);
  CHECK(x.sum_to({1, 1}).shape() == tg::Shape{1, 1});
  CHECK(x.sum_to({1, 1}).item() == 15.0);
  CHECK(x.sum_to({2, 3}).impl() == x.impl());
  // out[j] = sum_{i,k} (12 i + 4 j + k) = 60 + 32 j
  auto z = arange234().sum_to({3, 1});
  CHECK(z.shape() == tg::Shape{3, 1});
  require_values(z, {60, 92, 124});
  // out[j][k] = sum_i (12 i + 4 j + k) = 12 + 8 j + 2 k
  require_values(arange234().sum_to({1, 3, 4}), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});

  // The adjoint of summing is broadcasting.
  (y * values({1, 2, 3}, {3})).sum().backward();
  require_values(x.grad(), {1, 2, 3, 1, 2, 3});
}

TEST_CASE("sum_to: gradcheck and gradgradcheck", "[shape][sum_to]") {
  tg::Generator gen(23);
  const auto to3 = [](const Tensor& x) { return x.sum_to({3}); };
  const auto to21 = [](const Tensor& x) { return x.sum_to({2, 1}); };
  const auto to0d = [](const Tensor& x) { return x.sum_to({}); };  // the input itself when it is 0-d
  const auto to31 = [](const Tensor& x) { return x.sum_to({3, 1}) * x.sum_to({3, 1}); };
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 4}, gen);
  CHECK_GRAD(to3, a);
  CHECK_GRAD(to21, a);
  CHECK_GRAD(to0d, a);
  CHECK_GRAD(to0d, tg::randn<double>({}, gen));
  CHECK_GRAD(to31, b);
  CHECK_GRADGRAD(to3, a);
  CHECK_GRADGRAD(to21, a);
  CHECK_GRADGRAD(to31, b);
}

TEST_CASE("sum_to: errors", "[shape][sum_to][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.sum_to({2}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.sum_to({2}), TG_CONTAINS("sum_to: a tensor of shape [2, 3] cannot be summed to [2]"));
  REQUIRE_THROWS_AS(x.sum_to({4, 2, 3}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.sum_to({4, 2, 3}), TG_CONTAINS("cannot be summed to [4, 2, 3]"));
  REQUIRE_THROWS_AS(x.sum_to({3, 1}), tg::ShapeError);
}

TEST_CASE("transpose: values, negative dims, grad_fn", "[shape][transpose]") {
  auto x = m23(true);
  auto y = x.transpose(0, 1);
  CHECK(y.shape() == tg::Shape{3, 2});
  require_values(y, {0, 3, 1, 4, 2, 5});  // contiguous in the new order
  CHECK(grad_fn_name(y) == "TransposeBackward0");
  require_values(tg::transpose(x, 1, 0), {0, 3, 1, 4, 2, 5});
  require_values(x.transpose(-1, -2), {0, 3, 1, 4, 2, 5});
  require_values(x.transpose(1, 1), {0, 1, 2, 3, 4, 5});
  CHECK(x.transpose(0, 0).data_ptr() != x.data_ptr());

  const auto a = arange234();
  const auto b = a.transpose(0, 2);
  REQUIRE(b.shape() == tg::Shape{4, 3, 2});
  const auto c = a.transpose(-1, 1);
  REQUIRE(c.shape() == tg::Shape{2, 4, 3});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) {
        const double expected = 12.0 * i + 4.0 * j + k;
        CHECK(b.at({k, j, i}) == expected);
        CHECK(c.at({i, k, j}) == expected);
      }

  // Rank < 2: a copy.
  require_values(values({1, 2, 3}, {3}).transpose(0, -1), {1, 2, 3});
  CHECK(tg::scalar_tensor<double>(4.0).transpose(0, -1).item() == 4.0);

  auto w = values({1, 2, 3, 4, 5, 6}, {3, 2});
  (y * w).sum().backward();
  require_values(x.grad(), {1, 3, 5, 2, 4, 6});  // w^T
}

TEST_CASE("transpose: gradcheck and gradgradcheck", "[shape][transpose]") {
  tg::Generator gen(24);
  const auto t01 = [](const Tensor& x) { return x.transpose(0, 1); };
  const auto t02 = [](const Tensor& x) { return x.transpose(0, 2); };
  const auto tneg = [](const Tensor& x) { return x.transpose(-1, 1) * x.transpose(1, 2); };
  const auto t00 = [](const Tensor& x) { return x.transpose(0, 0); };
  const Tensor a = tg::randn<double>({2, 3}, gen), b = tg::randn<double>({2, 3, 4}, gen);
  const Tensor s = tg::randn<double>({}, gen), v = tg::randn<double>({3}, gen);
  CHECK_GRAD(t01, a);
  CHECK_GRAD(t02, b);
  CHECK_GRAD(tneg, b);
  CHECK_GRAD(t00, s);
  CHECK_GRAD(t00, v);
  CHECK_GRADGRAD(t01, a);
  CHECK_GRADGRAD(t02, b);
  CHECK_GRADGRAD(tneg, b);
  CHECK_GRADGRAD(t00, s);
}

TEST_CASE("transpose: dims out of range", "[shape][transpose][errors]") {
  const auto x = m23();
  REQUIRE_THROWS_AS(x.transpose(0, 2), tg::IndexError);
  REQUIRE_THROWS_WITH(x.transpose(0, 2), TG_CONTAINS("transpose: dimension 2 is out of range for a tensor with 2 "
                                                     "dimensions (expected a dim in [-2, 1])"));
  REQUIRE_THROWS_AS(x.transpose(-3, 0), tg::IndexError);
  REQUIRE_THROWS_WITH(x.transpose(-3, 0), TG_CONTAINS("dimension -3 is out of range"));
  REQUIRE_THROWS_AS(tg::scalar_tensor<double>(1.0).transpose(0, 1), tg::IndexError);
  REQUIRE_THROWS_WITH(tg::scalar_tensor<double>(1.0).transpose(0, 1),
                      TG_CONTAINS("dimension 1 is out of range for a tensor with 0 dimensions (expected a dim in [-1, 0])"));
}

TEST_CASE("t: matrix transpose of at most 2 dimensions", "[shape][t]") {
  auto x = m23(true);
  auto y = x.t();
  CHECK(y.shape() == tg::Shape{3, 2});
  require_values(y, {0, 3, 1, 4, 2, 5});
  CHECK(grad_fn_name(y) == "TBackward0");
  require_values(tg::t(y), {0, 1, 2, 3, 4, 5});
  auto v = values({1, 2, 3}, {3}, true);
  CHECK(v.t().shape() == tg::Shape{3});
  require_values(v.t(), {1, 2, 3});
  CHECK(grad_fn_name(v.t()) == "TBackward0");
  CHECK(tg::scalar_tensor<double>(2.0).t().item() == 2.0);

  (y * values({1, 2, 3, 4, 5, 6}, {3, 2})).sum().backward();
  require_values(x.grad(), {1, 3, 5, 2, 4, 6});

  tg::Generator gen(25);
  const auto f = [](const Tensor& t) { return t.t(); };
  const auto g = [](const Tensor& t) { return t.t() * t.t(); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(f, tg::randn<double>({3}, gen));
  CHECK_GRAD(f, tg::randn<double>({}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(g, tg::randn<double>({3, 2}, gen));

  REQUIRE_THROWS_AS(arange234().t(), tg::ShapeError);
  REQUIRE_THROWS_WITH(arange234().t(), TG_CONTAINS("t: expects a tensor with at most 2 dimensions, got shape [2, 3, 4]"));
}

TEST_CASE("clone: own storage, gradients pass through", "[shape][clone]") {
  auto x = m23(true);
  auto y = x.clone();
  require_values(y, {0, 1, 2, 3, 4, 5});
  CHECK(y.shape() == tg::Shape{2, 3});
  CHECK(grad_fn_name(y) == "CloneBackward0");
  CHECK(y.data_ptr() != x.data_ptr());
  CHECK(grad_fn_name(tg::clone(x)) == "CloneBackward0");

  auto plain = m23();
  auto copy = plain.clone();
  copy.set({0, 0}, 9.0);
  CHECK(plain.at({0, 0}) == 0.0);
  CHECK(copy.grad_fn() == nullptr);

  (y * 3).sum().backward();
  require_values(x.grad(), {3, 3, 3, 3, 3, 3});

  tg::Generator gen(26);
  const auto f = [](const Tensor& t) { return t.clone(); };
  const auto g = [](const Tensor& t) { return t.clone() * t; };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(f, tg::randn<double>({}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(g, tg::randn<double>({}, gen));
}

TEST_CASE("permute: values, names, gradients and errors", "[shape][permute]") {
  auto x = tg::arange<double>(24).reshape({2, 3, 4});
  auto y = x.permute({2, 0, 1});
  CHECK(y.shape() == tg::Shape{4, 2, 3});
  CHECK(y.at({3, 1, 2}) == x.at({1, 2, 3}));
  CHECK(y.at({1, 0, 2}) == x.at({0, 2, 1}));
  CHECK(tg::permute(x, {-1, 0, 1}).to_vector() == y.to_vector());
  auto leaf = tg::arange<double>(24).reshape({2, 3, 4}).detach().requires_grad_();
  CHECK(grad_fn_name(leaf.permute({1, 2, 0})) == "PermuteBackward0");
  tg::Generator gen(11);
  const auto f = [](const Tensors& in) { return in[0].permute({1, 2, 0}); };
  CHECK_GRAD(f, tg::randn<double>({2, 3, 4}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({2, 3, 4}, gen));
  CHECK_GRAD([](const Tensors& in) { return in[0].permute({0}); }, tg::randn<double>({3}, gen));
  CHECK(tg::permute(tg::scalar_tensor<double>(2.0), {}).item() == 2.0);
  REQUIRE_THROWS_AS(x.permute({0, 1}), tg::ShapeError);
  REQUIRE_THROWS_WITH(x.permute({0, 0, 1}), TG_CONTAINS("permute: dims [0, 0, 1] are not a permutation of the 3 "
                                                        "dimensions of a tensor of shape [2, 3, 4]"));
  REQUIRE_THROWS_AS(x.permute({0, 1, 3}), tg::IndexError);
}

namespace {

// out[j] = x[i] where out's multi-index j reads x at i[perm[d]] = j[d]: the definition
// of permute, one element at a time.
std::vector<double> permute_reference(const Tensor& x, const std::vector<std::int64_t>& perm) {
  const tg::Shape& in = x.shape();
  const std::size_t rank = in.size();
  const tg::Shape strides = tg::detail::strides_of(in);
  tg::Shape out_shape(rank), out_index(rank, 0), in_index(rank);
  for (std::size_t d = 0; d < rank; ++d) out_shape[d] = in[static_cast<std::size_t>(perm[d])];
  std::vector<double> out;
  for (std::int64_t e = 0; e < x.numel(); ++e) {
    for (std::size_t d = 0; d < rank; ++d) in_index[static_cast<std::size_t>(perm[d])] = out_index[d];
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < rank; ++d) offset += in_index[d] * strides[d];
    out.push_back(x.data_ptr()[offset]);
    for (std::size_t d = rank; d-- > 0;) {  // the next multi-index of out, row-major
      if (++out_index[d] < out_shape[d]) break;
      out_index[d] = 0;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("permute family: every permutation up to rank 4 against a reference loop", "[shape][permute]") {
  // The identity permutation of a 2-D tensor once returned [[0, 3, 0], [1, 4, 0]]: the
  // 2-D path transposed whatever the permutation.
  CHECK(tg::arange<double>(0, 6).reshape({2, 3}).permute({0, 1}).to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5});
  const tg::Shape sizes{2, 3, 4, 5};
  for (std::size_t rank = 0; rank <= 4; ++rank) {
    const tg::Shape shape(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(rank));
    const Tensor x = tg::arange<double>(static_cast<double>(tg::detail::numel_of(shape))).reshape(shape);
    std::vector<std::int64_t> perm(rank);
    for (std::size_t d = 0; d < rank; ++d) perm[d] = static_cast<std::int64_t>(d);
    do {
      INFO("rank " << rank << ", perm " << tg::to_string(tg::Shape(perm.begin(), perm.end())));
      const Tensor y = x.permute(perm);
      for (std::size_t d = 0; d < rank; ++d) CHECK(y.shape()[d] == shape[static_cast<std::size_t>(perm[d])]);
      CHECK(y.to_vector() == permute_reference(x, perm));
    } while (std::next_permutation(perm.begin(), perm.end()));
    // transpose(i, j) is the permutation swapping i and j; movedim(i, j) moves one dimension.
    for (std::size_t i = 0; i < rank; ++i)
      for (std::size_t j = 0; j < rank; ++j) {
        INFO("rank " << rank << ", dims " << i << " and " << j);
        std::vector<std::int64_t> swap(rank);
        for (std::size_t d = 0; d < rank; ++d) swap[d] = static_cast<std::int64_t>(d);
        std::swap(swap[i], swap[j]);
        CHECK(x.transpose(static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)).to_vector() ==
              permute_reference(x, swap));
        std::vector<std::int64_t> moved;
        for (std::size_t d = 0; d < rank; ++d)
          if (d != i) moved.push_back(static_cast<std::int64_t>(d));
        moved.insert(moved.begin() + static_cast<std::ptrdiff_t>(j), static_cast<std::int64_t>(i));
        const Tensor m = tg::movedim(x, static_cast<std::int64_t>(i), static_cast<std::int64_t>(j));
        CHECK(m.to_vector() == permute_reference(x, moved));
        CHECK(m.shape()[j] == shape[i]);
      }
  }
}

TEST_CASE("movedim: several dimensions, gradients and errors", "[shape][permute]") {
  const Tensor x = tg::arange<double>(24).reshape({2, 3, 4});
  // PyTorch: torch.movedim(x, (0, 1), (2, 0)).shape == (3, 4, 2)
  const Tensor y = tg::movedim(x, {0, 1}, {2, 0});
  CHECK(y.shape() == tg::Shape{3, 4, 2});
  CHECK(y.to_vector() == x.permute({1, 2, 0}).to_vector());
  CHECK(tg::movedim(x, -1, 0).shape() == tg::Shape{4, 2, 3});
  CHECK(tg::movedim(tg::scalar_tensor<double>(3.0), 0, -1).item() == 3.0);
  tg::Generator gen(5);
  CHECK_GRAD([](const Tensors& in) { return tg::movedim(in[0], {0, 2}, {1, 0}); }, tg::randn<double>({2, 3, 4}, gen));
  TG_CHECK_THROWS(tg::movedim(x, {0, 0}, {1, 2}), tg::ShapeError, "movedim: source [0, 0] and destination [1, 2] must each name a dimension at most once");
  TG_CHECK_THROWS(tg::movedim(x, {0}, {1, 2}), tg::ShapeError, "movedim: source [0] and destination [1, 2] must name as many dimensions");
  CHECK_THROWS_AS(tg::movedim(x, 3, 0), tg::IndexError);
}

TEST_CASE("squeeze and unsqueeze: shapes, shared storage, gradients and errors", "[shape][squeeze]") {
  auto x = values({1, 2, 3}, {1, 3, 1}, true);
  auto all = x.squeeze();
  CHECK(all.shape() == tg::Shape{3});
  CHECK(grad_fn_name(all) == "SqueezeBackward0");
  CHECK(all.data_ptr() == x.data_ptr());
  CHECK(x.squeeze(0).shape() == tg::Shape{3, 1});
  CHECK(x.squeeze(-1).shape() == tg::Shape{1, 3});
  CHECK(x.squeeze(1).shape() == tg::Shape{1, 3, 1});  // size 3: unchanged, as in PyTorch
  CHECK(grad_fn_name(x.squeeze(0)) == "SqueezeBackward1");
  auto u = all.unsqueeze(0);
  CHECK(u.shape() == tg::Shape{1, 3});
  CHECK(all.unsqueeze(-1).shape() == tg::Shape{3, 1});
  CHECK(all.unsqueeze(1).shape() == tg::Shape{3, 1});
  CHECK(grad_fn_name(u) == "UnsqueezeBackward0");
  CHECK(tg::scalar_tensor<double>(1.0).unsqueeze(0).shape() == tg::Shape{1});
  CHECK(tg::scalar_tensor<double>(1.0).squeeze(0).shape() == tg::Shape{});
  (u * values({1, 2, 3}, {1, 3})).sum().backward();
  CHECK(x.grad().shape() == tg::Shape{1, 3, 1});
  require_values(x.grad(), {1, 2, 3});

  tg::Generator gen(12);
  CHECK_GRAD([](const Tensors& in) { return in[0].squeeze() * in[0].squeeze(); }, tg::randn<double>({2, 1, 3}, gen));
  CHECK_GRADGRAD([](const Tensors& in) { return in[0].unsqueeze(1).exp(); }, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD([](const Tensors& in) { return in[0].unsqueeze(0); }, tg::randn<double>({}, gen));
  REQUIRE_THROWS_AS(all.unsqueeze(3), tg::IndexError);
  REQUIRE_THROWS_WITH(all.unsqueeze(-3), TG_CONTAINS("unsqueeze: dimension -3 is out of range"));
  // The message counts the tensor's own dimensions, not the rank + 1 the new dim ranges over.
  REQUIRE_THROWS_WITH(all.unsqueeze(3), TG_CONTAINS("unsqueeze: dimension 3 is out of range for a tensor with 1 dimension (shape [3]); expected a dim in [-2, 1]"));
  REQUIRE_THROWS_AS(x.squeeze(3), tg::IndexError);
}

TEST_CASE("flatten: shapes, gradients and errors", "[shape][flatten]") {
  auto x = tg::arange<double>(24).reshape({2, 3, 4});
  CHECK(x.flatten().shape() == tg::Shape{24});
  CHECK(x.flatten(1).shape() == tg::Shape{2, 12});
  CHECK(x.flatten(0, 1).shape() == tg::Shape{6, 4});
  CHECK(x.flatten(-2, -1).shape() == tg::Shape{2, 12});
  CHECK(x.flatten(1, 1).shape() == tg::Shape{2, 3, 4});
  CHECK(x.flatten().to_vector() == x.to_vector());
  CHECK(tg::scalar_tensor<double>(5.0).flatten().shape() == tg::Shape{1});
  tg::Generator gen(13);
  CHECK_GRAD([](const Tensors& in) { return in[0].flatten(1).tanh(); }, tg::randn<double>({2, 3, 2}, gen));
  CHECK_GRADGRAD([](const Tensors& in) { return in[0].flatten().sin(); }, tg::randn<double>({2, 2}, gen));
  REQUIRE_THROWS_AS(x.flatten(2, 1), tg::IndexError);
  REQUIRE_THROWS_WITH(x.flatten(2, 1), TG_CONTAINS("flatten: start_dim 2 comes after end_dim 1"));
  REQUIRE_THROWS_AS(x.flatten(0, 3), tg::IndexError);
}

}  // namespace ops_shape_test
