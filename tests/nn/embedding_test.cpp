// Embedding and EmbeddingBag.
#include "nn_test_util.hpp"

namespace nn_embedding_test {

namespace nn = tg::nn;
using Ids = tg::Tensor<std::int64_t>;

TEST_CASE("Embedding: rows by id, padding_idx row zero without gradient, N(0, 1) init") {
  tg::manual_seed(2);
  nn::EmbeddingOptions opt;
  opt.padding_idx = 1;
  nn::Embedding<double> emb(6, 3, opt);
  for (int j = 0; j < 3; ++j) CHECK(emb.weight.at({1, j}) == 0.0);
  const Ids ids = tg::from_vector<std::int64_t>({4, 1, 4, 0}, {2, 2});
  const Tensor y = emb(ids);
  REQUIRE(y.shape() == tg::Shape{2, 2, 3});
  for (int j = 0; j < 3; ++j) CHECK(y.at({0, 0, j}) == emb.weight.at({4, j}));
  y.sum().backward();
  // Row 4 looked up twice, row 0 once, the padding row never gets a gradient.
  for (int j = 0; j < 3; ++j) {
    CHECK(emb.weight.grad().at({4, j}) == 2.0);
    CHECK(emb.weight.grad().at({0, j}) == 1.0);
    CHECK(emb.weight.grad().at({1, j}) == 0.0);
  }
  nn::Embedding<double> big(1000, 100);
  CHECK(big.weight.mean().item() == Approx(0).margin(4 / std::sqrt(1e5)));
  CHECK((big.weight * big.weight).mean().item() == Approx(1).epsilon(0.02));
  CHECK_THROWS_WITH(nn::Embedding<double>(4, 2, nn::EmbeddingOptions{7, std::nullopt}),
                    TG_CONTAINS("Embedding: padding_idx 7 is out of range for num_embeddings = 4"));
}

TEST_CASE("Embedding: max_norm renormalizes the rows looked up, in place") {
  nn::EmbeddingOptions opt;
  opt.max_norm = 1.0;
  nn::Embedding<double> emb(3, 2, opt);
  {
    tg::NoGradGuard no_grad;
    emb.weight.copy_(tg::from_vector<double>({3, 4, 0.3, 0.4, 6, 8}, {3, 2}));
  }
  const Tensor y = emb(tg::from_vector<std::int64_t>({0, 1}));
  CHECK(y.at({0, 0}) == Approx(0.6 * 5 / (5 + 1e-7)).epsilon(1e-12));
  CHECK(y.at({1, 1}) == 0.4);                // under the limit: unchanged
  CHECK(emb.weight.at({2, 0}) == 6.0);       // not looked up: unchanged
  CHECK(emb.weight.at({0, 1}) == Approx(0.8).epsilon(1e-6));  // the table itself was renormalized
}

TEST_CASE("EmbeddingBag: sum, mean and max over offsets equal loops over the bags") {
  tg::manual_seed(8);
  const Ids ids = tg::from_vector<std::int64_t>({1, 2, 4, 4, 3, 0});
  const Ids offsets = tg::from_vector<std::int64_t>({0, 2, 2, 5});  // bags {1,2}, {}, {4,4,3}, {0}
  const std::vector<std::vector<int>> bags = {{1, 2}, {}, {4, 4, 3}, {0}};
  for (auto mode : {nn::EmbeddingBagMode::sum, nn::EmbeddingBagMode::mean, nn::EmbeddingBagMode::max}) {
    nn::EmbeddingBag<double> bag(5, 3, mode);
    const Tensor y = bag.forward(ids, offsets);
    REQUIRE(y.shape() == tg::Shape{4, 3});
    for (int b = 0; b < 4; ++b)
      for (int j = 0; j < 3; ++j) {
        double s = 0, mx = -1e300;
        for (int id : bags[b]) {
          s += bag.weight.at({id, j});
          mx = std::max(mx, bag.weight.at({id, j}));
        }
        const double n = static_cast<double>(bags[b].size());
        const double expected = bags[b].empty() ? 0.0
                                : mode == nn::EmbeddingBagMode::sum ? s
                                : mode == nn::EmbeddingBagMode::mean ? s / n
                                                                      : mx;
        INFO("mode " << static_cast<int>(mode) << " bag " << b);
        CHECK(y.at({b, j}) == Approx(expected).epsilon(1e-14));
      }
    check_module_gradients(bag, [&] { return bag.forward(ids, offsets); });
  }
}

TEST_CASE("EmbeddingBag: 2-D ids, include_last_offset, per_sample_weights, padding_idx") {
  nn::EmbeddingOptions opt;
  opt.padding_idx = 0;
  nn::EmbeddingBag<double> bag(5, 2, nn::EmbeddingBagMode::mean, opt);
  // Fixed-length bags with padding (id 0) that is left out of the mean.
  const Ids rows = tg::from_vector<std::int64_t>({1, 2, 0, 3, 0, 0}, {2, 3});
  const Tensor y = bag.forward(rows);
  for (int j = 0; j < 2; ++j) {
    CHECK(y.at({0, j}) == Approx((bag.weight.at({1, j}) + bag.weight.at({2, j})) / 2).epsilon(1e-14));
    CHECK(y.at({1, j}) == Approx(bag.weight.at({3, j})).epsilon(1e-14));
  }
  nn::EmbeddingBag<double> last(5, 2, nn::EmbeddingBagMode::sum, {}, true);
  const Ids flat = tg::from_vector<std::int64_t>({1, 2, 3});
  const Tensor z = last.forward(flat, tg::from_vector<std::int64_t>({0, 1, 3}));
  REQUIRE(z.shape() == tg::Shape{2, 2});
  CHECK(z.at({1, 0}) == Approx(last.weight.at({2, 0}) + last.weight.at({3, 0})).epsilon(1e-14));

  nn::EmbeddingBag<double> weighted(5, 2, nn::EmbeddingBagMode::sum);
  Tensor w = tg::from_vector<double>({0.5, 2.0, -1.0}).requires_grad_();
  const Ids off = tg::from_vector<std::int64_t>({0, 2});
  const Tensor s = weighted.forward(flat, off, w);
  CHECK(s.at({0, 1}) == Approx(0.5 * weighted.weight.at({1, 1}) + 2.0 * weighted.weight.at({2, 1})).epsilon(1e-14));
  check_module_gradients(weighted, [&] { return weighted.forward(flat, off, w); }, {w});

  CHECK_THROWS_WITH(nn::EmbeddingBag<double>(5, 2).forward(flat, off, w),
                    TG_CONTAINS("per_sample_weights are only supported in mode sum"));
  CHECK_THROWS_WITH(weighted.forward(flat, tg::from_vector<std::int64_t>({0, 4})),
                    TG_CONTAINS("offsets must be non-decreasing and within [0, 3]"));
  CHECK_THROWS_WITH(weighted.forward(flat), TG_CONTAINS("1-D ids need 1-D offsets"));
  CHECK_THROWS_WITH(weighted.forward(tg::from_vector<std::int64_t>({9}), tg::from_vector<std::int64_t>({0})),
                    TG_CONTAINS("embedding"));
}

TEST_CASE("EmbeddingBag: a multi-hot or weights matrix pools like the equivalent id lists") {
  // A film's genres as a multi-hot row: sum and mean via a matmul, max via the ids.
  const Tensor multi_hot = tg::from_vector<double>({1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, {3, 5});
  const Ids ids = tg::from_vector<std::int64_t>({0, 2, 3, 1});
  const Ids offsets = tg::from_vector<std::int64_t>({0, 3, 3});  // the middle film has no genre
  for (auto mode : {nn::EmbeddingBagMode::sum, nn::EmbeddingBagMode::mean, nn::EmbeddingBagMode::max}) {
    nn::EmbeddingBag<double> bag(5, 4, mode);
    const Tensor a = bag.forward_multi_hot(multi_hot);
    const Tensor b = bag.forward(ids, offsets);
    const auto av = a.to_vector(), bv = b.to_vector();
    REQUIRE(av.size() == bv.size());
    for (std::size_t i = 0; i < av.size(); ++i) CHECK(av[i] == Approx(bv[i]).epsilon(1e-14));
    check_module_gradients(bag, [&] { return bag.forward_multi_hot(multi_hot); });
  }
  nn::EmbeddingBag<double> mean(5, 2, nn::EmbeddingBagMode::mean);
  Tensor weights = tg::from_vector<double>({0.5, 0, 1.5, 0, 0, 0, 0, 0, 0, 2}, {2, 5}).requires_grad_();
  const Tensor y = mean.forward_multi_hot(weights);
  CHECK(y.at({0, 1}) == Approx((0.5 * mean.weight.at({0, 1}) + 1.5 * mean.weight.at({2, 1})) / 2.0).epsilon(1e-14));
  check_module_gradients(mean, [&] { return mean.forward_multi_hot(weights); }, {weights});
  CHECK_THROWS_WITH(mean.forward_multi_hot(tg::zeros<double>({2, 4})), TG_CONTAINS("expected a [B, 5] matrix"));
}

}  // namespace nn_embedding_test
