// Datasets: TensorDataset's samples and batches against the rows they must be, its shape
// and index errors, Subset's index mapping, random_split's sizes (PyTorch's rule for
// fractions), disjointness and reproducibility, and randperm's uniformity.
#include "../test_util.hpp"

#include <tapegrad/data/dataset.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace data_dataset_test {

namespace data = tg::data;
using Labels = tg::Tensor<std::int64_t>;

// x[i][j] = 10 i + j (4 rows of 3), y[i] = 100 + i: a row's values name the row.
Tensor features(std::int64_t n = 4) {
  std::vector<double> v;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < 3; ++j) v.push_back(static_cast<double>(10 * i + j));
  return values(v, {n, 3});
}
Labels labels(std::int64_t n = 4) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < n; ++i) v.push_back(100 + i);
  return tg::from_vector(v, {n});
}

std::vector<std::int64_t> to_vector(const Labels& t) { return std::vector<std::int64_t>(t.data_ptr(), t.data_ptr() + t.numel()); }

TEST_CASE("TensorDataset: sample i is row i of every tensor", "[data][dataset]") {
  data::TensorDataset ds(features(), labels());
  CHECK(ds.size() == 4);
  auto [x, y] = ds.get(2);
  CHECK(x.shape() == tg::Shape{3});
  require_values(x, {20, 21, 22});
  CHECK(y.shape() == tg::Shape{});
  CHECK(y.item() == 102);
}

TEST_CASE("TensorDataset: get_batch is index_select of the rows, in the order given", "[data][dataset]") {
  data::TensorDataset ds(features(), labels());
  auto [x, y] = ds.get_batch({3, 0, 3});
  CHECK(x.shape() == tg::Shape{3, 3});
  require_values(x, {30, 31, 32, 0, 1, 2, 30, 31, 32});
  CHECK(to_vector(y) == std::vector<std::int64_t>{103, 100, 103});
  auto [empty_x, empty_y] = ds.get_batch({});
  CHECK(empty_x.shape() == tg::Shape{0, 3});
  CHECK(empty_y.shape() == tg::Shape{0});
}

TEST_CASE("TensorDataset: one tensor, and tensors of higher rank", "[data][dataset]") {
  data::TensorDataset single(tg::arange<double>(0, 24).reshape({2, 3, 4}));
  auto [image] = single.get(1);
  CHECK(image.shape() == tg::Shape{3, 4});
  CHECK(image.at({2, 3}) == 23);  // 12 + 2 * 4 + 3
}

TEST_CASE("TensorDataset: tensors that do not share dim 0, or are 0-d, are ShapeErrors", "[data][dataset]") {
  CHECK_THROWS_AS(data::TensorDataset(features(4), labels(3)), tg::ShapeError);
  CHECK_THROWS_WITH(data::TensorDataset(features(4), labels(3)),
                    TG_CONTAINS("TensorDataset: tensor 1 has shape [3] but tensor 0 has shape [4, 3]") &&
                        TG_CONTAINS("(the number of samples: 3 != 4)"));
  CHECK_THROWS_AS(data::TensorDataset(features(), tg::scalar_tensor<double>(1.0)), tg::ShapeError);
  CHECK_THROWS_WITH(data::TensorDataset(features(), tg::scalar_tensor<double>(1.0)), TG_CONTAINS("tensor 1 is 0-d"));
}

TEST_CASE("TensorDataset: indices out of range are IndexErrors naming the size", "[data][dataset]") {
  data::TensorDataset ds(features(), labels());
  CHECK_THROWS_AS(ds.get(4), tg::IndexError);
  CHECK_THROWS_WITH(ds.get(4), TG_CONTAINS("TensorDataset::get: index 4 is out of range for a dataset of 4 samples"));
  CHECK_THROWS_WITH(ds.get(-1), TG_CONTAINS("index -1 is out of range"));
  CHECK_THROWS_WITH(ds.get_batch({0, 7}), TG_CONTAINS("TensorDataset::get_batch: index 7"));
}

TEST_CASE("Subset: sample i is the parent's sample indices[i]; get_batch maps too", "[data][dataset]") {
  data::TensorDataset ds(features(), labels());
  data::Subset<decltype(ds)> sub(ds, {3, 1});
  CHECK(sub.size() == 2);
  CHECK(std::get<1>(sub.get(0)).item() == 103);
  CHECK(std::get<1>(sub.get(1)).item() == 101);
  auto [x, y] = sub.get_batch({1, 0, 1});
  require_values(x, {10, 11, 12, 30, 31, 32, 10, 11, 12});
  CHECK(to_vector(y) == std::vector<std::int64_t>{101, 103, 101});
  CHECK_THROWS_WITH(sub.get(2), TG_CONTAINS("Subset::get: index 2 is out of range for a dataset of 2 samples"));
  CHECK_THROWS_AS((data::Subset<decltype(ds)>(ds, {0, 4})), tg::IndexError);
  CHECK_THROWS_WITH((data::Subset<decltype(ds)>(ds, {0, 4})), TG_CONTAINS("Subset: index 4 is out of range"));
}

// The labels of a split: which rows of the 0..n-1 dataset it holds.
template <typename S>
std::vector<std::int64_t> rows_of(const S& split) {
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < split.size(); ++i) rows.push_back(std::get<1>(split.get(i)).item() - 100);
  return rows;
}

TEST_CASE("random_split: sizes, disjoint, covering, reproducible", "[data][dataset]") {
  data::TensorDataset ds(features(10), labels(10));
  tg::Generator gen(7);
  auto parts = data::random_split(ds, {6, 3, 1}, gen);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size() == 6);
  CHECK(parts[1].size() == 3);
  CHECK(parts[2].size() == 1);
  std::vector<std::int64_t> all;
  for (const auto& p : parts)
    for (std::int64_t r : rows_of(p)) all.push_back(r);
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // every row exactly once

  tg::Generator again(7);
  auto same = data::random_split(ds, std::vector<std::int64_t>{6, 3, 1}, again);
  for (std::size_t k = 0; k < parts.size(); ++k) CHECK(same[k].indices() == parts[k].indices());
  tg::Generator other(8);
  CHECK(data::random_split(ds, {6, 3, 1}, other)[0].indices() != parts[0].indices());
}

TEST_CASE("random_split: fractions follow PyTorch's floor-then-round-robin rule", "[data][dataset]") {
  data::TensorDataset ds(features(11), labels(11));
  tg::Generator gen(1);
  // floor(11 * [0.5, 0.3, 0.2]) = [5, 3, 2] = 10; the 1 left over goes to split 0.
  auto parts = data::random_split(ds, {0.5, 0.3, 0.2}, gen);
  CHECK(parts[0].size() == 6);
  CHECK(parts[1].size() == 3);
  CHECK(parts[2].size() == 2);
  // floor(11 * [0.25] * 4) = [2, 2, 2, 2] = 8; 3 left over: splits 0, 1, 2 get one each.
  auto quarters = data::random_split(ds, {0.25, 0.25, 0.25, 0.25}, gen);
  CHECK(quarters[0].size() == 3);
  CHECK(quarters[2].size() == 3);
  CHECK(quarters[3].size() == 2);
}

TEST_CASE("random_split: lengths that do not fit are ValueErrors", "[data][dataset]") {
  data::TensorDataset ds(features(10), labels(10));
  CHECK_THROWS_AS(data::random_split(ds, {7, 2}), tg::ValueError);
  CHECK_THROWS_WITH(data::random_split(ds, {7, 2}), TG_CONTAINS("the lengths add up to 9 but the dataset has 10 samples"));
  CHECK_THROWS_WITH(data::random_split(ds, {11, -1}), TG_CONTAINS("length 1 is -1"));
  CHECK_THROWS_WITH(data::random_split(ds, {0.5, 0.6}), TG_CONTAINS("the fractions add up to 1.1, not 1"));
  CHECK_THROWS_WITH(data::random_split(ds, {1.5, -0.5}), TG_CONTAINS("fraction 0 is 1.5"));
}

TEST_CASE("random_split: a shared dataset is shared, not copied", "[data][dataset]") {
  auto ds = std::make_shared<data::TensorDataset<double, std::int64_t>>(features(10), labels(10));
  tg::Generator gen(3);
  auto parts = data::random_split(ds, std::vector<double>{0.5, 0.5}, gen);
  CHECK(&parts[0].dataset() == ds.get());
  CHECK(parts[1].size() == 5);
}

TEST_CASE("randperm: a permutation, every order equally likely", "[data][dataset]") {
  tg::Generator gen(42);
  std::vector<std::int64_t> p = data::randperm(100, gen);
  std::vector<std::int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 100; ++i) CHECK(sorted[static_cast<std::size_t>(i)] == i);
  CHECK(p != sorted);
  CHECK(data::randperm(0, gen).empty());
  CHECK_THROWS_AS(data::randperm(-1, gen), tg::ValueError);

  // 6000 permutations of 3: each of the 6 orders has count ~ Binomial(6000, 1/6), mean
  // 1000, sd sqrt(6000 * 1/6 * 5/6) = 28.9; 5 sd either side fails with p < 1e-5.
  std::map<std::vector<std::int64_t>, int> counts;
  for (int k = 0; k < 6000; ++k) ++counts[data::randperm(3, gen)];
  CHECK(counts.size() == 6);
  for (const auto& [order, count] : counts) {
    INFO("order " << order[0] << order[1] << order[2]);
    CHECK(count > 1000 - 145);
    CHECK(count < 1000 + 145);
  }
}

}  // namespace data_dataset_test
