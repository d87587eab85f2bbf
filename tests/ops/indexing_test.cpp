#include "test_util.hpp"

namespace ops_indexing_test {

// cat, stack, split/chunk/unbind, slice/narrow/select, index_select/index_add,
// gather/scatter_add/take_along_dim, repeat, flip, embedding.
//
// These ops are linear, so their second-order checks square the result: the
// gradient of sum(op(x)^2) runs op's backward on op(x), and differentiating that
// again runs the backward of the backward.

namespace {
using Index = tg::Tensor<std::int64_t>;

Index ids(const std::vector<std::int64_t>& v, const tg::Shape& shape) { return tg::from_vector(v, shape); }

// 0, 1, 2, ... in `shape`, requiring grad.
Tensor iota(const tg::Shape& shape) {
  auto t = tg::arange<double>(static_cast<double>(tg::detail::numel_of(shape))).reshape(shape);
  return t.detach().requires_grad_();
}

template <typename Op>
auto squared(Op op) {
  return [op](const Tensors& in) {
    const Tensor y = op(in);
    return y * y;
  };
}
}  // namespace

TEST_CASE("slice, narrow and select", "[indexing][slice]") {
  auto x = iota({3, 4});
  auto s = tg::slice(x, 1, 1, 4, 2);
  CHECK(s.shape() == tg::Shape{3, 2});
  require_values(s, {1, 3, 5, 7, 9, 11});
  CHECK(grad_fn_name(s) == "SliceBackward0");
  (s * 2.0).sum().backward();
  require_values(x.grad(), {0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2});

  // Python's rules: negative bounds count from the end and everything is clamped.
  require_values(x.slice(0, -2), {4, 5, 6, 7, 8, 9, 10, 11});
  require_values(x.slice(1, -100, 100, 3), {0, 3, 4, 7, 8, 11});
  CHECK(x.slice(1, 3, 1).shape() == tg::Shape{3, 0});
  CHECK_THROWS_WITH(x.slice(1, 0, 4, 0), TG_CONTAINS("slice: step must be positive, got 0"));
  CHECK_THROWS_AS(x.slice(2), tg::IndexError);
  CHECK_THROWS_WITH(tg::slice(tg::scalar_tensor<double>(1.0), 0), TG_CONTAINS("slice: the input is 0-d"));

  require_values(x.narrow(1, 1, 2), {1, 2, 5, 6, 9, 10});
  require_values(x.narrow(0, -1, 1), {8, 9, 10, 11});
  CHECK_THROWS_AS(x.narrow(1, 3, 2), tg::IndexError);
  CHECK_THROWS_WITH(x.narrow(1, 3, 2), TG_CONTAINS("narrow: start 3 + length 2 exceeds dimension 1 of size 4"));
  // A negative length is named as such (it once read "start 1 + length -1 exceeds ...").
  TG_CHECK_THROWS(x.narrow(1, 1, -1), tg::IndexError, "narrow: length must be non-negative, got -1 (dimension 1 of size 4)");

  auto row = x.select(0, -1);
  CHECK(row.shape() == tg::Shape{4});
  require_values(row, {8, 9, 10, 11});
  CHECK(grad_fn_name(row) == "SelectBackward0");
  CHECK_THROWS_WITH(x.select(1, 4), TG_CONTAINS("select: index 4 is out of range for dimension 1 of size 4"));

  tg::Generator gen(1);
  for (const tg::Shape& shape : {tg::Shape{5}, tg::Shape{2, 5, 2}}) {
    const auto f = [](const Tensors& in) { return tg::slice(in[0], 1 % in[0].dim(), 1, 5, 2); };
    CHECK_GRAD(f, tg::randn<double>(shape, gen));
    CHECK_GRADGRAD(squared(f), tg::randn<double>(shape, gen));
  }
  const auto fs = [](const Tensors& in) { return in[0].select(1, 2) * in[0].narrow(1, 0, 1); };
  CHECK_GRAD(fs, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(fs, tg::randn<double>({2, 4, 2}, gen));
  CHECK_GRADGRAD(fs, tg::randn<double>({2, 3}, gen));
}

TEST_CASE("cat and stack", "[indexing][cat]") {
  auto a = iota({2, 2});
  auto b = iota({2, 1});
  auto c = tg::cat<double>({a, b}, 1);
  CHECK(c.shape() == tg::Shape{2, 3});
  require_values(c, {0, 1, 0, 2, 3, 1});
  // The natural spelling, without naming T: a braced list deduces it.
  require_values(tg::cat({a, b}, 1), {0, 1, 0, 2, 3, 1});
  require_values(tg::stack({b, b}, 0), {0, 1, 0, 1});
  require_values(tg::cat(std::vector<Tensor>{a, b}, 1), {0, 1, 0, 2, 3, 1});
  CHECK(grad_fn_name(c) == "CatBackward0");
  (c * values({1, 2, 3, 4, 5, 6}, {2, 3})).sum().backward();
  require_values(a.grad(), {1, 2, 4, 5});
  require_values(b.grad(), {3, 6});
  require_values(tg::cat<double>({a, a}, -2), {0, 1, 2, 3, 0, 1, 2, 3});

  auto s = tg::stack<double>({a, a * 10.0}, 2);
  CHECK(s.shape() == tg::Shape{2, 2, 2});
  require_values(s, {0, 0, 1, 10, 2, 20, 3, 30});
  CHECK(grad_fn_name(s) == "StackBackward0");
  CHECK(tg::stack<double>({a, a}, -1).shape() == tg::Shape{2, 2, 2});
  CHECK(tg::stack<double>({tg::scalar_tensor<double>(1.0), tg::scalar_tensor<double>(2.0)}).shape() == tg::Shape{2});

  // A constant input mixed with ones that require grad gets no gradient.
  auto k = values({7, 8}, {2, 1});
  auto mixed = tg::cat<double>({k, b}, 1);
  CHECK(mixed.requires_grad());

  tg::Generator gen(2);
  const auto fc = [](const Tensors& in) { return tg::cat<double>({in[0], in[1], in[0]}, 1); };
  CHECK_GRAD(fc, tg::randn<double>({2, 1}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRADGRAD(squared(fc), tg::randn<double>({1, 2}, gen), tg::randn<double>({1, 1}, gen));
  const auto fst = [](const Tensors& in) { return tg::stack<double>({in[0], in[1]}, 1); };
  CHECK_GRAD(fst, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(fst, tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));
  CHECK_GRADGRAD(squared(fst), tg::randn<double>({3}, gen), tg::randn<double>({3}, gen));

  CHECK_THROWS_WITH(tg::cat<double>({}), TG_CONTAINS("cat: expects a non-empty list"));
  CHECK_THROWS_AS(tg::cat<double>({a, iota({3, 3})}, 1), tg::ShapeError);
  CHECK_THROWS_WITH(tg::cat<double>({a, iota({3, 3})}, 1),
                    TG_CONTAINS("cat: tensor 1 has shape [3, 3] but tensor 0 has shape [2, 2]"));
  CHECK_THROWS_AS(tg::cat<double>({a, iota({4})}), tg::ShapeError);
  CHECK_THROWS_AS(tg::cat<double>({tg::scalar_tensor<double>(1.0)}), tg::IndexError);
  CHECK_THROWS_AS(tg::cat<double>({a, a}, 2), tg::IndexError);
  CHECK_THROWS_WITH(tg::stack<double>({a, b}), TG_CONTAINS("stack: tensor 1 has shape [2, 1]"));
  CHECK_THROWS_AS(tg::stack<double>({a, a}, 3), tg::IndexError);
}

TEST_CASE("split, chunk and unbind", "[indexing][split]") {
  auto x = iota({5, 2});
  auto parts = x.split(2);
  REQUIRE(parts.size() == 3);
  require_values(parts[0], {0, 1, 2, 3});
  require_values(parts[2], {8, 9});
  CHECK(grad_fn_name(parts[1]) == "SplitBackward0");
  CHECK(parts[1].output_nr() == 1);
  // Only the used pieces send gradient; the rest count as zeros.
  (parts[2] * 3.0).sum().backward();
  require_values(x.grad(), {0, 0, 0, 0, 0, 0, 0, 0, 3, 3});

  auto sized = tg::split(x, std::vector<std::int64_t>{1, 4}, 0);
  REQUIRE(sized.size() == 2);
  CHECK(sized[1].shape() == tg::Shape{4, 2});
  CHECK(grad_fn_name(sized[0]) == "SplitWithSizesBackward0");

  auto chunks = x.chunk(2, 1);
  REQUIRE(chunks.size() == 2);
  require_values(chunks[1], {1, 3, 5, 7, 9});
  CHECK(x.chunk(3).size() == 3);  // ceil(5 / 3) = 2 rows each: 2, 2, 1
  CHECK(iota({6}).chunk(4).size() == 3);  // as torch.chunk: pieces of 2

  auto rows = x.unbind(0);
  REQUIRE(rows.size() == 5);
  require_values(rows[4], {8, 9});

  tg::Generator gen(3);
  const auto f = [](const Tensors& in) {
    auto p = in[0].split(2, 1);
    return p[0].sum(1) * p[1].sum(1) + p[2].sum(1);  // uses every piece, non-linearly
  };
  CHECK_GRAD(f, tg::randn<double>({2, 5}, gen));
  CHECK_GRADGRAD(f, tg::randn<double>({3, 5}, gen));
  const auto g = [](const Tensors& in) { return in[0].unbind(0)[1] * in[0].chunk(2, 0)[0].sum(0); };
  CHECK_GRAD(g, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD(g, tg::randn<double>({3, 2}, gen));

  CHECK_THROWS_WITH(x.split(0), TG_CONTAINS("split: split_size must be positive, got 0"));
  CHECK_THROWS_WITH(tg::split(x, std::vector<std::int64_t>{2, 2}, 0),
                    TG_CONTAINS("split: sizes [2, 2] add up to 4 but dimension 0 has size 5"));
  CHECK_THROWS_AS(x.chunk(0), tg::ValueError);
  CHECK_THROWS_AS(x.unbind(2), tg::IndexError);
}

TEST_CASE("index_select and index_add", "[indexing][index_select]") {
  auto x = iota({2, 3});
  auto idx = ids({2, 0, 2}, {3});
  auto y = x.index_select(1, idx);
  require_values(y, {2, 0, 2, 5, 3, 5});
  CHECK(grad_fn_name(y) == "IndexSelectBackward0");
  y.sum().backward();
  require_values(x.grad(), {1, 0, 2, 1, 0, 2});  // column 2 was picked twice

  auto base = values({1, 1, 1}, {3}, true);
  auto src = values({10, 20, 30}, {3}, true);
  auto added = tg::index_add(base, 0, ids({0, 2, 0}, {3}), src);
  require_values(added, {41, 1, 21});
  CHECK(grad_fn_name(added) == "IndexAddBackward0");
  (added * values({1, 2, 3}, {3})).sum().backward();
  require_values(base.grad(), {1, 2, 3});
  require_values(src.grad(), {1, 3, 1});

  tg::Generator gen(4);
  const auto f = [&](const Tensors& in) { return tg::index_select(in[0], 0, ids({1, 1, 0}, {3})); };
  CHECK_GRAD(f, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(f, tg::randn<double>({2}, gen));
  CHECK_GRADGRAD(squared(f), tg::randn<double>({2, 2}, gen));
  const auto fa = [&](const Tensors& in) { return tg::index_add(in[0], 1, ids({1, 1}, {2}), in[1]); };
  CHECK_GRAD(fa, tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 2}, gen));
  CHECK_GRAD(fa, tg::randn<double>({1, 2, 2}, gen), tg::randn<double>({1, 2, 2}, gen));
  CHECK_GRADGRAD(squared(fa), tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 2}, gen));

  CHECK_THROWS_AS(x.index_select(1, ids({3}, {1})), tg::IndexError);
  CHECK_THROWS_WITH(x.index_select(1, ids({3}, {1})),
                    TG_CONTAINS("index_select: index 3 is out of range for dimension 1 of size 3"));
  CHECK_THROWS_AS(x.index_select(1, ids({-1}, {1})), tg::IndexError);
  CHECK_THROWS_AS(x.index_select(1, ids({0, 1}, {1, 2})), tg::ShapeError);
  CHECK_THROWS_WITH(tg::index_add(base, 0, ids({0}, {1}), src),
                    TG_CONTAINS("index_add: source has shape [3] but must have shape [1]"));
}

TEST_CASE("gather, scatter_add and take_along_dim", "[indexing][gather]") {
  auto x = iota({2, 3});
  auto idx = ids({0, 0, 2, 1}, {2, 2});
  auto y = x.gather(1, idx);
  require_values(y, {0, 0, 5, 4});
  CHECK(grad_fn_name(y) == "GatherBackward0");
  (y * values({1, 2, 3, 4}, {2, 2})).sum().backward();
  require_values(x.grad(), {3, 0, 0, 0, 4, 3});  // x[0][0] picked twice: 1 + 2

  auto base = tg::zeros<double>({2, 3}, tg::requires_grad());
  auto src = values({1, 2, 3, 4}, {2, 2}, true);
  auto s = tg::scatter_add(base, 1, idx, src);
  require_values(s, {3, 0, 0, 0, 4, 3});
  CHECK(grad_fn_name(s) == "ScatterAddBackward0");
  (s * values({1, 2, 3, 4, 5, 6}, {2, 3})).sum().backward();
  require_values(base.grad(), {1, 2, 3, 4, 5, 6});
  require_values(src.grad(), {1, 1, 6, 5});

  // A smaller index than src: the rest of src gets no gradient.
  auto big_src = values({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  tg::scatter_add(tg::zeros<double>({2, 3}), 1, ids({1, 2}, {2, 1}), big_src).sum().backward();
  require_values(big_src.grad(), {1, 0, 0, 1, 0, 0});

  // take_along_dim broadcasts: one index row for every row of x.
  auto t = tg::take_along_dim(x, ids({2, 0}, {1, 2}), 1);
  require_values(t, {2, 0, 5, 3});
  // Its errors are its own, not gather's, which it calls.
  CHECK_THROWS_AS(tg::take_along_dim(x, ids({3, 0}, {1, 2}), 1), tg::IndexError);
  CHECK_THROWS_WITH(tg::take_along_dim(x, ids({3, 0}, {1, 2}), 1), TG_CONTAINS("take_along_dim: "));

  tg::Generator gen(5);
  const auto fg = [&](const Tensors& in) { return tg::gather(in[0], 0, ids({1, 0, 1, 1}, {2, 2})); };
  CHECK_GRAD(fg, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(fg, tg::randn<double>({4, 2}, gen));
  CHECK_GRADGRAD(squared(fg), tg::randn<double>({3, 2}, gen));
  const auto fs = [&](const Tensors& in) { return tg::scatter_add(in[0], 0, ids({1, 0, 1}, {1, 3}), in[1]); };
  CHECK_GRAD(fs, tg::randn<double>({2, 3}, gen), tg::randn<double>({1, 3}, gen));
  CHECK_GRADGRAD(squared(fs), tg::randn<double>({2, 3}, gen), tg::randn<double>({2, 3}, gen));
  const auto ft = [&](const Tensors& in) { return tg::take_along_dim(in[0], ids({0, 2, 1}, {1, 3}), 1); };
  CHECK_GRAD(ft, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(ft, tg::randn<double>({3, 4}, gen));  // one index row broadcast over three rows
  CHECK_GRADGRAD(squared(ft), tg::randn<double>({2, 3}, gen));

  CHECK_THROWS_AS(x.gather(1, ids({3}, {1, 1})), tg::IndexError);
  CHECK_THROWS_WITH(x.gather(1, ids({0, 3}, {1, 2})),
                    TG_CONTAINS("gather: index 3 is out of range for dimension 1 of size 3"));
  CHECK_THROWS_WITH(x.gather(1, ids({0, 1}, {2})), TG_CONTAINS("gather: the index has 1 dimensions"));
  CHECK_THROWS_WITH(x.gather(1, ids({0, 0, 0}, {3, 1})),
                    TG_CONTAINS("gather: the index of shape [3, 1] is larger than the input of shape [2, 3]"));
  CHECK_THROWS_AS(tg::scatter_add(base, 1, idx, values({1}, {1, 1})), tg::ShapeError);
  CHECK_THROWS_AS(tg::take_along_dim(x, ids({0}, {1}), 1), tg::ShapeError);
}

TEST_CASE("repeat and flip", "[indexing][repeat]") {
  auto x = values({1, 2}, {2}, true);
  auto r = x.repeat({2, 3});
  CHECK(r.shape() == tg::Shape{2, 6});
  require_values(r, {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2});
  CHECK(grad_fn_name(r) == "RepeatBackward0");
  r.sum().backward();
  require_values(x.grad(), {6, 6});
  require_values(iota({2, 2}).repeat({1, 2}), {0, 1, 0, 1, 2, 3, 2, 3});
  CHECK(tg::scalar_tensor<double>(4.0).repeat({3}).shape() == tg::Shape{3});

  auto m = iota({2, 3});
  auto f1 = m.flip({1});
  require_values(f1, {2, 1, 0, 5, 4, 3});
  CHECK(grad_fn_name(f1) == "FlipBackward0");
  require_values(m.flip({0, -1}), {5, 4, 3, 2, 1, 0});
  (f1 * values({1, 2, 3, 4, 5, 6}, {2, 3})).sum().backward();
  require_values(m.grad(), {3, 2, 1, 6, 5, 4});

  tg::Generator gen(6);
  const auto fr = [](const Tensors& in) { return in[0].repeat({2, 1, 2}); };
  CHECK_GRAD(fr, tg::randn<double>({2, 3}, gen));
  CHECK_GRAD(fr, tg::randn<double>({}, gen));
  CHECK_GRADGRAD(squared(fr), tg::randn<double>({2, 1}, gen));
  const auto ff = [](const Tensors& in) { return in[0].flip({0, 2}); };
  CHECK_GRAD(ff, tg::randn<double>({2, 2, 3}, gen));
  CHECK_GRAD(ff, tg::randn<double>({3, 1, 2}, gen));
  CHECK_GRADGRAD(squared(ff), tg::randn<double>({2, 1, 2}, gen));

  CHECK_THROWS_WITH(iota({2, 2}).repeat({2}), TG_CONTAINS("repeat: 1 repeats given for a tensor with 2 dimensions"));
  CHECK_THROWS_AS(x.repeat({-1}), tg::ValueError);
  CHECK_THROWS_WITH(m.flip({1, -1}), TG_CONTAINS("flip: dim 1 appears more than once"));
  CHECK_THROWS_AS(m.flip({2}), tg::IndexError);
}

TEST_CASE("embedding", "[indexing][embedding]") {
  auto weight = iota({4, 2});
  auto tokens = ids({1, 3, 1, 0, 0, 2}, {2, 3});
  auto e = tg::embedding(weight, tokens);
  CHECK(e.shape() == tg::Shape{2, 3, 2});
  require_values(e, {2, 3, 6, 7, 2, 3, 0, 1, 0, 1, 4, 5});
  CHECK(grad_fn_name(e) == "EmbeddingBackward0");
  e.sum().backward();
  // Repeated ids accumulate: rows 0 and 1 appear twice each.
  require_values(weight.grad(), {2, 2, 2, 2, 1, 1, 1, 1});

  weight.zero_grad();
  tg::embedding(weight, tokens, /*padding_idx=*/0).sum().backward();
  require_values(weight.grad(), {0, 0, 2, 2, 1, 1, 1, 1});

  tg::Generator gen(7);
  const auto f = [&](const Tensors& in) { return tg::embedding(in[0], ids({2, 2, 0}, {3})); };
  CHECK_GRAD(f, tg::randn<double>({3, 2}, gen));
  CHECK_GRADGRAD(squared(f), tg::randn<double>({3, 2}, gen));
  // With a padding_idx set (but not among the ids, since a used padding row has a
  // numerical derivative that the convention deliberately drops).
  const auto fp = [&](const Tensors& in) { return tg::embedding(in[0], ids({2, 0, 0, 2}, {2, 2}), 1); };
  CHECK_GRAD(fp, tg::randn<double>({3, 3}, gen));
  CHECK_GRADGRAD(squared(fp), tg::randn<double>({3, 1}, gen));

  CHECK_THROWS_WITH(tg::embedding(weight, ids({4}, {1})),
                    TG_CONTAINS("embedding: index 4 is out of range for dimension 0 of size 4"));
  CHECK_THROWS_AS(tg::embedding(iota({4}), ids({0}, {1})), tg::ShapeError);
  CHECK_THROWS_AS(tg::embedding(weight, ids({0}, {1}), 4), tg::IndexError);
}

TEST_CASE("broadcast_to is expand", "[indexing][broadcast_to]") {
  auto x = values({1, 2}, {2, 1}, true);
  auto y = tg::broadcast_to(x, {2, 3});
  require_values(y, {1, 1, 1, 2, 2, 2});
  y.sum().backward();
  require_values(x.grad(), {3, 3});
}

TEST_CASE("indexing works on float tensors", "[indexing][float]") {
  auto x = tg::from_vector<float>({1.f, 2.f, 3.f, 4.f}, {2, 2}, tg::requires_grad());
  auto y = tg::cat<float>({x.flip({1}), x.gather(1, ids({1, 1, 0, 0}, {2, 2}))}, 0);
  CHECK(y.to_vector() == std::vector<float>{2.f, 1.f, 4.f, 3.f, 2.f, 2.f, 3.f, 3.f});
  y.sum().backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1.f, 3.f, 3.f, 1.f});
}

}  // namespace ops_indexing_test
