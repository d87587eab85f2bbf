// Samplers and the DataLoader: every index exactly once per epoch, orders reproducible
// from (seed, epoch) and different between epochs, batch counts with and without
// drop_last, batch contents against index_select of the indices they must hold, the
// collate paths, prefetching giving the same batches as building them in the loop, a
// worker's exception at the batch where it happened, and early exits (break, the loader
// destroyed while an iterator lives) that neither hang nor leak.
#include "../test_util.hpp"

#include <tapegrad/data/dataloader.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace data_dataloader_test {

namespace data = tg::data;
using Labels = tg::Tensor<std::int64_t>;
using Indices = std::vector<std::int64_t>;

std::vector<std::int64_t> to_vector(const Labels& t) { return Indices(t.data_ptr(), t.data_ptr() + t.numel()); }
std::vector<double> to_vector(const Tensor& t) { return std::vector<double>(t.data_ptr(), t.data_ptr() + t.numel()); }

// n samples: x[i] = [i, i + 0.5], y[i] = i, so a batch's y lists the indices it holds.
data::TensorDataset<double, std::int64_t> indexed(std::int64_t n) {
  std::vector<double> x;
  std::vector<std::int64_t> y;
  for (std::int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<double>(i));
    x.push_back(static_cast<double>(i) + 0.5);
    y.push_back(i);
  }
  return data::TensorDataset<double, std::int64_t>(tg::from_vector(x, {n, 2}), tg::from_vector(y, {n}));
}

bool is_permutation_of_range(Indices order, std::int64_t n) {
  std::sort(order.begin(), order.end());
  for (std::int64_t i = 0; i < n; ++i)
    if (order.size() != static_cast<std::size_t>(n) || order[static_cast<std::size_t>(i)] != i) return false;
  return true;
}

// One epoch of a loader over `indexed`: the y of every batch, and checks that each
// batch's x is index_select(X, 0, y), computed independently of the loader.
template <typename Loader>
std::vector<Indices> epoch_of(Loader& loader, const Tensor& all_x) {
  std::vector<Indices> batches;
  for (auto& [x, y] : loader) {
    require_values(x, to_vector(tg::index_select(all_x, 0, y)));
    batches.push_back(to_vector(y));
  }
  return batches;
}

Indices flatten(const std::vector<Indices>& batches) {
  Indices all;
  for (const Indices& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

TEST_CASE("SequentialSampler and RandomSampler: every index once per epoch", "[data][dataloader]") {
  data::SequentialSampler seq(5);
  CHECK(seq.indices() == Indices{0, 1, 2, 3, 4});
  data::RandomSampler rnd(50, 123);
  for (std::int64_t e = 0; e < 4; ++e) {
    rnd.set_epoch(e);
    CHECK(is_permutation_of_range(rnd.indices(), 50));
  }
  CHECK(data::RandomSampler(0, 1).indices().empty());
  CHECK_THROWS_WITH(data::RandomSampler(-2), TG_CONTAINS("RandomSampler: the number of samples must be >= 0, got -2"));
}

TEST_CASE("RandomSampler: a function of (seed, epoch), different between epochs", "[data][dataloader]") {
  data::RandomSampler a(40, 9), b(40, 9), other_seed(40, 10);
  const Indices epoch0 = a.indices();
  a.set_epoch(1);
  const Indices epoch1 = a.indices();
  CHECK(epoch0 != epoch1);
  CHECK(b.indices() == epoch0);  // a fresh sampler at epoch 0
  b.set_epoch(1);
  CHECK(b.indices() == epoch1);  // "resumed" at epoch 1
  CHECK(other_seed.indices() != epoch0);
  a.set_epoch(0);
  CHECK(a.indices() == epoch0);

  tg::Generator g1(5), g2(5);
  CHECK(data::RandomSampler(40, g1).indices() == data::RandomSampler(40, g2).indices());
}

TEST_CASE("BatchSampler: ceil(n / b) batches, floor(n / b) with drop_last", "[data][dataloader]") {
  auto seq = std::make_shared<data::SequentialSampler>(10);
  data::BatchSampler keep(seq, 4, false), drop(seq, 4, true);
  CHECK(keep.size() == 3);
  CHECK(keep.batches() == std::vector<Indices>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});
  CHECK(drop.size() == 2);
  CHECK(drop.batches() == std::vector<Indices>{{0, 1, 2, 3}, {4, 5, 6, 7}});
  data::BatchSampler exact(seq, 5, true);
  CHECK(exact.size() == 2);
  CHECK(exact.batches().size() == 2);
  CHECK_THROWS_AS(data::BatchSampler(seq, 0, false), tg::ValueError);
}

TEST_CASE("DataLoader: sequential batches hold the right rows; size() counts them", "[data][dataloader]") {
  auto ds = indexed(10);
  const Tensor all_x = std::get<0>(ds.tensors());
  data::DataLoader loader(ds, data::DataLoaderOptions(4));
  CHECK(loader.size() == 3);
  CHECK(epoch_of(loader, all_x) == std::vector<Indices>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});

  data::DataLoader dropping(ds, data::DataLoaderOptions(4).drop_last(true));
  CHECK(dropping.size() == 2);
  CHECK(epoch_of(dropping, all_x).size() == 2);

  data::DataLoader empty(indexed(0), data::DataLoaderOptions(3));
  CHECK(empty.size() == 0);
  CHECK(empty.begin() == empty.end());
}

TEST_CASE("DataLoader: shuffled epochs are permutations, differ, and resume by set_epoch", "[data][dataloader]") {
  auto ds = indexed(23);
  const Tensor all_x = std::get<0>(ds.tensors());
  data::DataLoader loader(ds, data::DataLoaderOptions(5).shuffle(true).seed(77));
  std::vector<Indices> orders;
  for (int e = 0; e < 3; ++e) {
    const auto batches = epoch_of(loader, all_x);
    CHECK(batches.size() == 5);
    CHECK(batches.back().size() == 3);  // 23 = 4 * 5 + 3
    orders.push_back(flatten(batches));
    CHECK(is_permutation_of_range(orders.back(), 23));
  }
  CHECK(orders[0] != orders[1]);
  CHECK(orders[1] != orders[2]);
  CHECK(loader.epoch() == 3);

  // A new run resumed at epoch 2 sees epoch 2's order; the sampler alone agrees.
  data::DataLoader resumed(ds, data::DataLoaderOptions(5).shuffle(true).seed(77));
  resumed.set_epoch(2);
  CHECK(flatten(epoch_of(resumed, all_x)) == orders[2]);
  data::RandomSampler sampler(23, 77);
  sampler.set_epoch(1);
  CHECK(sampler.indices() == orders[1]);
}

TEST_CASE("DataLoader: prefetching gives exactly the batches of the plain loop", "[data][dataloader]") {
  auto ds = indexed(37);
  const Tensor all_x = std::get<0>(ds.tensors());
  for (int depth : {1, 3}) {
    INFO("prefetch_depth " << depth);
    data::DataLoader plain(ds, data::DataLoaderOptions(4).shuffle(true).seed(3));
    data::DataLoader ahead(ds, data::DataLoaderOptions(4).shuffle(true).seed(3).prefetch(true).prefetch_depth(depth));
    for (int e = 0; e < 3; ++e) CHECK(epoch_of(plain, all_x) == epoch_of(ahead, all_x));
  }
}

// A dataset with no get_batch: samples go through the collate function.
struct Squares : data::Dataset<std::pair<Tensor, Labels>> {
  std::int64_t n;
  explicit Squares(std::int64_t count) : n(count) {}
  std::int64_t size() const override { return n; }
  std::pair<Tensor, Labels> get(std::int64_t i) const override {
    const double v = static_cast<double>(i);
    return {values({v, v * v}, {2}), tg::scalar_tensor<std::int64_t>(i)};
  }
};

TEST_CASE("DataLoader: default collate stacks pairs; prefetch agrees on that path too", "[data][dataloader]") {
  data::DataLoader plain(Squares(7), data::DataLoaderOptions(3).shuffle(true).seed(11));
  data::DataLoader ahead(Squares(7), data::DataLoaderOptions(3).shuffle(true).seed(11).prefetch(true));
  for (int e = 0; e < 2; ++e) {
    std::vector<std::vector<double>> xs_plain, xs_ahead;
    for (auto& [x, y] : plain) {
      std::vector<double> expected;  // row k of x is [i, i^2] for i = y[k]
      for (std::int64_t i : to_vector(y)) {
        expected.push_back(static_cast<double>(i));
        expected.push_back(static_cast<double>(i * i));
      }
      CHECK(x.shape() == tg::Shape{y.numel(), 2});
      require_values(x, expected);
      xs_plain.push_back(to_vector(x));
    }
    for (auto& batch : ahead) xs_ahead.push_back(to_vector(batch.first));
    CHECK(xs_plain == xs_ahead);
    CHECK(xs_plain.size() == 3);
  }
}

TEST_CASE("DataLoader: a custom collate function, and a dataset held through its interface", "[data][dataloader]") {
  std::shared_ptr<const data::Dataset<std::pair<Tensor, Labels>>> ds = std::make_shared<Squares>(5);
  auto sum_of_ids = [](const std::vector<std::pair<Tensor, Labels>>& samples) {
    std::int64_t s = 0;
    for (const auto& sample : samples) s += sample.second.item();
    return s;
  };
  data::DataLoader loader(ds, data::DataLoaderOptions(2), sum_of_ids);
  std::vector<std::int64_t> sums;
  for (std::int64_t s : loader) sums.push_back(s);
  CHECK(sums == std::vector<std::int64_t>{0 + 1, 2 + 3, 4});
}

TEST_CASE("DataLoader: a Subset's batches come through its get_batch", "[data][dataloader]") {
  auto ds = indexed(12);
  const Tensor all_x = std::get<0>(ds.tensors());
  tg::Generator gen(4);
  auto parts = data::random_split(ds, {9, 3}, gen);
  data::DataLoader test_loader(parts[1], data::DataLoaderOptions(2));
  CHECK(flatten(epoch_of(test_loader, all_x)) == parts[1].indices());
}

TEST_CASE("DataLoader: batches never carry a graph, with or without prefetch", "[data][dataloader]") {
  data::TensorDataset ds(tg::ones<double>({4, 2}, tg::requires_grad()));
  for (bool prefetch : {false, true}) {
    data::DataLoader loader(ds, data::DataLoaderOptions(2).prefetch(prefetch));
    for (auto& [x] : loader) {
      CHECK_FALSE(x.requires_grad());
      CHECK(x.grad_fn() == nullptr);
    }
  }
}

// get(i) throws for i == bad; counts the samples read.
struct Faulty : data::Dataset<Tensor> {
  std::int64_t n, bad;
  std::shared_ptr<std::atomic<std::int64_t>> reads = std::make_shared<std::atomic<std::int64_t>>(0);
  Faulty(std::int64_t count, std::int64_t bad_index) : n(count), bad(bad_index) {}
  std::int64_t size() const override { return n; }
  Tensor get(std::int64_t i) const override {
    ++*reads;
    if (i == bad) throw std::runtime_error("sample " + std::to_string(i) + " is corrupt");
    return tg::scalar_tensor<double>(static_cast<double>(i));
  }
};

TEST_CASE("DataLoader: an exception building batch k reaches the loop at batch k", "[data][dataloader]") {
  for (bool prefetch : {false, true}) {
    INFO("prefetch " << prefetch);
    // Batches of 2: index 7 is in batch 3, so batches 0, 1, 2 arrive first.
    data::DataLoader loader(Faulty(12, 7), data::DataLoaderOptions(2).prefetch(prefetch));
    std::vector<std::vector<double>> seen;
    auto run = [&] {
      for (auto& batch : loader) seen.push_back(to_vector(batch));
    };
    CHECK_THROWS_WITH(run(), "sample 7 is corrupt");
    CHECK(seen == std::vector<std::vector<double>>{{0, 1}, {2, 3}, {4, 5}});
    seen.clear();
    data::DataLoader first_fails(Faulty(4, 0), data::DataLoaderOptions(2).prefetch(prefetch));
    CHECK_THROWS_WITH(first_fails.begin(), "sample 0 is corrupt");  // from begin(): batch 0
  }
}

TEST_CASE("DataLoader: breaking early stops the worker, which never runs ahead of its queue", "[data][dataloader]") {
  Faulty ds(1000, -1);
  const auto reads = ds.reads;
  data::DataLoader loader(ds, data::DataLoaderOptions(10).prefetch(true).prefetch_depth(2));
  int used = 0;
  for (auto& batch : loader) {
    CHECK(batch.numel() == 10);
    if (++used == 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // time for the worker to fill its queue
      // In use: batch 1; queued: at most 2; being built: at most 1. 5 batches of 10.
      CHECK(reads->load() <= 50);
      break;
    }
  }
  const std::int64_t after_break = reads->load();
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(reads->load() == after_break);  // the worker is gone
  // The next epoch starts from the beginning.
  auto it = loader.begin();
  CHECK(to_vector(*it).front() == 0);
}

TEST_CASE("DataLoader: an iterator outlives its loader; destroying it mid-epoch does not hang", "[data][dataloader]") {
  auto loader = std::make_unique<data::DataLoader<Faulty>>(Faulty(9, -1), data::DataLoaderOptions(2).prefetch(true));
  auto it = loader->begin();
  const auto end = loader->end();
  loader.reset();  // the epoch keeps what it needs
  std::vector<double> got;
  for (; it != end; ++it)
    for (double v : to_vector(*it)) got.push_back(v);
  CHECK(got == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8});

  data::DataLoader<Faulty> other(Faulty(1000, -1), data::DataLoaderOptions(1).prefetch(true));
  { auto mid = other.begin(); ++mid; }  // the worker is blocked on a full queue here: joined
  CHECK(other.size() == 1000);
}

TEST_CASE("DataLoader: bad options are ValueErrors naming the fix", "[data][dataloader]") {
  auto ds = indexed(4);
  CHECK_THROWS_AS(data::DataLoader(ds, data::DataLoaderOptions(0)), tg::ValueError);
  CHECK_THROWS_WITH(data::DataLoader(ds, data::DataLoaderOptions(0)), TG_CONTAINS("batch_size must be at least 1, got 0"));
  CHECK_THROWS_WITH(data::DataLoader(ds, data::DataLoaderOptions(2).prefetch_depth(0)),
                    TG_CONTAINS("prefetch_depth must be at least 1, got 0"));
  auto sampler = std::make_shared<data::SequentialSampler>(4);
  CHECK_THROWS_WITH(data::DataLoader(ds, data::DataLoaderOptions(2).sampler(sampler).shuffle(true)),
                    TG_CONTAINS("the sampler option is exclusive with shuffle"));
  // A custom sampler sets the order.
  struct Reversed : data::Sampler {
    std::int64_t size() const override { return 4; }
    Indices indices() const override { return {3, 2, 1, 0}; }
  };
  data::DataLoader reversed(ds, data::DataLoaderOptions(3).sampler(std::make_shared<Reversed>()));
  CHECK(flatten(epoch_of(reversed, std::get<0>(ds.tensors()))) == Indices{3, 2, 1, 0});
}

}  // namespace data_dataloader_test
