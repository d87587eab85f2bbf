#pragma once
// Samplers and the DataLoader, with PyTorch's names and semantics (torch.utils.data):
//
//   tg::data::TensorDataset train(images, labels);
//   tg::data::DataLoader loader(train, tg::data::DataLoaderOptions(64).shuffle(true).seed(1).prefetch(true));
//   for (int epoch = 0; epoch < 10; ++epoch) {
//     loader.set_epoch(epoch);                  // optional: the order is a function of (seed, epoch)
//     for (auto& [x, y] : loader) { ... }       // x [64, 784], y [64]; loader.size() batches
//   }
//
// Order. A RandomSampler's permutation for epoch e is drawn from a generator seeded with
// a mix of (seed, e), never from running generator state: a run resumed at epoch e
// (set_epoch(e), as DistributedSampler) sees exactly the order the first run saw. Each
// `begin()` uses the loader's current epoch and then advances it, so looping twice
// without set_epoch gives two different orders (PyTorch's shuffle does the same).
//
// Batches. The default collate stacks the samples along a new dimension 0 (a Tensor, a
// std::tuple or std::pair of tensors); a dataset with get_batch(indices) (TensorDataset,
// Subset of one) is asked for the whole batch instead, one index_select per tensor.
// Batches are data: they are built under NoGradGuard and never carry a grad_fn.
//
// Prefetch (PyTorch's num_workers=1). With prefetch(true) one background thread builds
// the next batches into a bounded queue (prefetch_depth, default 2) while the current one
// trains; the batches and their order are exactly those without prefetch. An exception
// thrown while building batch k is rethrown by the loop at batch k (by `++` or `begin()`),
// after batches 0..k-1 were delivered. Leaving the loop early (break, an exception)
// destroys the iterator, which stops the thread and joins it; an iterator holds what its
// epoch needs, so it stays valid even if the loader is destroyed first.
// Thread safety: the worker only reads the dataset (`get`/`get_batch` are const) and
// calls the collate function; tensors are safe to build on one thread and free on
// another (core/pool.hpp), and grad mode is per thread, so the worker sets its own
// NoGradGuard. A dataset's get() that draws random numbers should seed from the index
// (the default generator is per thread, so the worker's stream is not the main one's).

#include "dataset.hpp"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad::data {

// ---- samplers ----

// The order in which one epoch visits the dataset's indices.
class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::int64_t size() const = 0;
  // The indices of epoch `epoch()`.
  virtual std::vector<std::int64_t> indices() const = 0;
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  std::int64_t epoch() const { return epoch_; }

 private:
  std::int64_t epoch_ = 0;
};

namespace detail::loader {
inline std::int64_t checked_count(const char* op, std::int64_t n) {
  if (n < 0) tapegrad::detail::fail<ValueError>(op, ": the number of samples must be >= 0, got ", n);
  return n;
}
}  // namespace detail::loader

// 0, 1, ..., n-1 every epoch.
class SequentialSampler : public Sampler {
 public:
  explicit SequentialSampler(std::int64_t n) : n_(detail::loader::checked_count("SequentialSampler", n)) {}
  std::int64_t size() const override { return n_; }
  std::vector<std::int64_t> indices() const override {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n_));
    for (std::int64_t i = 0; i < n_; ++i) order[static_cast<std::size_t>(i)] = i;
    return order;
  }

 private:
  std::int64_t n_;
};

// A random permutation of 0..n-1 per epoch, a function of (seed, epoch) only.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(std::int64_t n, std::uint64_t seed = 0)
      : n_(detail::loader::checked_count("RandomSampler", n)), seed_(seed) {}
  // The seed is drawn from `gen` once, here.
  RandomSampler(std::int64_t n, Generator& gen) : RandomSampler(n, gen.engine()()) {}

  std::int64_t size() const override { return n_; }
  std::vector<std::int64_t> indices() const override {
    // Two rounds of SplitMix64 decorrelate neighbouring (seed, epoch) pairs.
    const std::uint64_t mixed = detail::loader::splitmix64(detail::loader::splitmix64(seed_) ^ static_cast<std::uint64_t>(epoch()));
    Generator gen(mixed);
    return randperm(n_, gen);
  }
  std::uint64_t seed() const { return seed_; }

 private:
  std::int64_t n_;
  std::uint64_t seed_;
};

// Groups a sampler's indices into batches of batch_size, in order; the last batch is
// smaller unless drop_last drops it.
class BatchSampler {
 public:
  BatchSampler(std::shared_ptr<Sampler> sampler, std::int64_t batch_size, bool drop_last)
      : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
    if (!sampler_) tapegrad::detail::fail<ValueError>("BatchSampler: the sampler is null");
    if (batch_size_ < 1)
      tapegrad::detail::fail<ValueError>("BatchSampler: batch_size must be at least 1, got ", batch_size_);
  }

  // Batches per epoch: floor(n / b) with drop_last, ceil(n / b) without.
  std::int64_t size() const {
    const std::int64_t n = sampler_->size();
    return drop_last_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
  }

  std::vector<std::vector<std::int64_t>> batches() const {
    const std::vector<std::int64_t> order = sampler_->indices();
    std::vector<std::vector<std::int64_t>> out;
    out.reserve(static_cast<std::size_t>(size()));
    for (std::size_t start = 0; start < order.size(); start += static_cast<std::size_t>(batch_size_)) {
      const std::size_t stop = std::min(order.size(), start + static_cast<std::size_t>(batch_size_));
      if (drop_last_ && stop - start < static_cast<std::size_t>(batch_size_)) break;
      out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(stop));
    }
    return out;
  }

  void set_epoch(std::int64_t epoch) { sampler_->set_epoch(epoch); }
  Sampler& sampler() const { return *sampler_; }
  std::int64_t batch_size() const { return batch_size_; }
  bool drop_last() const { return drop_last_; }

 private:
  std::shared_ptr<Sampler> sampler_;
  std::int64_t batch_size_;
  bool drop_last_;
};

// ---- collate ----

// Stacks samples along a new dimension 0: a Tensor, or each tensor of a std::tuple /
// std::pair of tensors.
struct DefaultCollate {
  template <typename T>
  Tensor<T> operator()(const std::vector<Tensor<T>>& samples) const {
    return stack(samples, 0);
  }

  template <typename... T>
  std::tuple<Tensor<T>...> operator()(const std::vector<std::tuple<Tensor<T>...>>& samples) const {
    return stack_fields(samples, std::index_sequence_for<T...>{});
  }

  template <typename A, typename B>
  std::pair<Tensor<A>, Tensor<B>> operator()(const std::vector<std::pair<Tensor<A>, Tensor<B>>>& samples) const {
    std::vector<Tensor<A>> first;
    std::vector<Tensor<B>> second;
    for (const auto& s : samples) {
      first.push_back(s.first);
      second.push_back(s.second);
    }
    return {stack(first, 0), stack(second, 0)};
  }

 private:
  template <std::size_t I, typename Tuple>
  static auto stack_field(const std::vector<Tuple>& samples) {
    std::vector<std::tuple_element_t<I, Tuple>> field;
    field.reserve(samples.size());
    for (const Tuple& s : samples) field.push_back(std::get<I>(s));
    return stack(field, 0);
  }
  template <typename Tuple, std::size_t... I>
  static Tuple stack_fields(const std::vector<Tuple>& samples, std::index_sequence<I...>) {
    return Tuple(stack_field<I>(samples)...);
  }
};

// ---- DataLoader ----

// libtorch-style chainable options: DataLoaderOptions(64).shuffle(true).drop_last(true).
class DataLoaderOptions {
 public:
  explicit DataLoaderOptions(std::int64_t batch_size = 1) : batch_size_(batch_size) {}

  DataLoaderOptions& batch_size(std::int64_t v) { return set(batch_size_, v); }
  DataLoaderOptions& shuffle(bool v) { return set(shuffle_, v); }
  DataLoaderOptions& drop_last(bool v) { return set(drop_last_, v); }
  DataLoaderOptions& seed(std::uint64_t v) { return set(seed_, v); }
  DataLoaderOptions& prefetch(bool v) { return set(prefetch_, v); }
  DataLoaderOptions& prefetch_depth(std::int64_t v) { return set(prefetch_depth_, v); }
  // A custom order (exclusive with shuffle, as in PyTorch).
  DataLoaderOptions& sampler(std::shared_ptr<Sampler> v) { return set(sampler_, std::move(v)); }

  std::int64_t batch_size() const { return batch_size_; }
  bool shuffle() const { return shuffle_; }
  bool drop_last() const { return drop_last_; }
  std::uint64_t seed() const { return seed_; }
  bool prefetch() const { return prefetch_; }
  std::int64_t prefetch_depth() const { return prefetch_depth_; }
  const std::shared_ptr<Sampler>& sampler() const { return sampler_; }

 private:
  template <typename V, typename A>
  DataLoaderOptions& set(V& field, A&& value) {
    field = std::forward<A>(value);
    return *this;
  }

  std::int64_t batch_size_;
  bool shuffle_ = false;
  bool drop_last_ = false;
  std::uint64_t seed_ = 0;
  bool prefetch_ = false;
  std::int64_t prefetch_depth_ = 2;  // batches built ahead of the one in use
  std::shared_ptr<Sampler> sampler_;
};

template <typename D, typename Collate = DefaultCollate>
class DataLoader {
 public:
  using dataset_type = D;
  using sample_type = typename D::sample_type;
  static_assert(std::is_invocable_v<const Collate&, std::vector<sample_type>&&>,
                "DataLoader: the collate function must take a std::vector of samples; the default one stacks "
                "Tensor, std::tuple<Tensor...> or std::pair<Tensor, Tensor> samples, so pass a collate function "
                "for other sample types");
  using batch_type = std::decay_t<std::invoke_result_t<const Collate&, std::vector<sample_type>&&>>;

  DataLoader(std::shared_ptr<const D> dataset, DataLoaderOptions options = DataLoaderOptions(), Collate collate = Collate())
      : shared_(make_shared_state(std::move(dataset), std::move(collate))),
        options_(std::move(options)),
        batch_sampler_(make_sampler(options_, shared_->dataset->size()), options_.batch_size(), options_.drop_last()) {
    if (options_.prefetch_depth() < 1)
      tapegrad::detail::fail<ValueError>("DataLoader: prefetch_depth must be at least 1, got ", options_.prefetch_depth());
  }
  DataLoader(const D& dataset, DataLoaderOptions options = DataLoaderOptions(), Collate collate = Collate())
      : DataLoader(std::make_shared<const D>(dataset), std::move(options), std::move(collate)) {}

  class Iterator;
  // Starts epoch `epoch()` (then advances the epoch) and builds its first batch.
  Iterator begin() {
    batch_sampler_.set_epoch(epoch_++);
    auto run = std::make_shared<Run>(shared_, batch_sampler_.batches(), options_.prefetch(),
                                     static_cast<std::size_t>(options_.prefetch_depth()));
    run->advance();
    return Iterator(std::move(run));
  }
  Iterator end() const { return Iterator(); }

  // Batches per epoch.
  std::int64_t size() const { return batch_sampler_.size(); }
  const D& dataset() const { return *shared_->dataset; }
  const DataLoaderOptions& options() const { return options_; }
  // The epoch the next begin() uses.
  std::int64_t epoch() const { return epoch_; }
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }

 private:
  struct Shared {
    std::shared_ptr<const D> dataset;
    Collate collate;
  };

  static std::shared_ptr<const Shared> make_shared_state(std::shared_ptr<const D> dataset, Collate collate) {
    if (!dataset) tapegrad::detail::fail<ValueError>("DataLoader: the dataset is null");
    return std::make_shared<const Shared>(Shared{std::move(dataset), std::move(collate)});
  }

  static std::shared_ptr<Sampler> make_sampler(const DataLoaderOptions& options, std::int64_t n) {
    if (options.batch_size() < 1)
      tapegrad::detail::fail<ValueError>("DataLoader: batch_size must be at least 1, got ", options.batch_size());
    if (options.sampler() && options.shuffle())
      tapegrad::detail::fail<ValueError>("DataLoader: the sampler option is exclusive with shuffle; shuffle inside "
                                         "the sampler (RandomSampler) or drop shuffle(true)");
    if (options.sampler()) return options.sampler();
    if (options.shuffle()) return std::make_shared<RandomSampler>(n, options.seed());
    return std::make_shared<SequentialSampler>(n);
  }

  // The dataset's own get_batch when the default collate would build the same type.
  static constexpr bool kBatchPath = [] {
    if constexpr (std::is_same_v<Collate, DefaultCollate> && detail::loader::has_get_batch<D>::value)
      return std::is_same_v<std::decay_t<decltype(std::declval<const D&>().get_batch(
                                std::declval<const std::vector<std::int64_t>&>()))>,
                            batch_type>;
    else
      return false;
  }();

  static batch_type make_batch(const Shared& shared, const std::vector<std::int64_t>& indices) {
    if constexpr (kBatchPath) {
      return shared.dataset->get_batch(indices);
    } else {
      std::vector<sample_type> samples;
      samples.reserve(indices.size());
      for (std::int64_t index : indices) samples.push_back(shared.dataset->get(index));
      return shared.collate(std::move(samples));
    }
  }

  // One epoch: its batches, the batch in use and, with prefetch, the worker and its queue.
  class Run {
   public:
    Run(std::shared_ptr<const Shared> shared, std::vector<std::vector<std::int64_t>> batches, bool prefetch,
        std::size_t depth)
        : shared_(std::move(shared)), batches_(std::move(batches)), prefetch_(prefetch), ring_(depth) {
      if (prefetch_ && !batches_.empty()) worker_ = std::thread([this] { produce(); });
    }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;
    ~Run() { stop_worker(); }

    bool finished() const { return finished_; }
    batch_type& current() { return *current_; }

    // Makes the next batch current, or finishes; rethrows a failure building it.
    void advance() {
      if (consumed_ == batches_.size()) {
        finished_ = true;
        current_.reset();
        return;
      }
      try {
        current_.emplace(prefetch_ ? take() : build(consumed_));
        ++consumed_;
      } catch (...) {
        finished_ = true;
        current_.reset();
        stop_worker();
        throw;
      }
    }

   private:
    struct Item {
      std::optional<batch_type> batch;
      std::exception_ptr error;
    };

    batch_type build(std::size_t k) const {
      NoGradGuard no_grad;
      return make_batch(*shared_, batches_[k]);
    }

    // Worker: batches 0, 1, ... into the ring, stopping after a failure or when told.
    void produce() noexcept {
      for (std::size_t k = 0; k < batches_.size(); ++k) {
        Item item;
        try {
          item.batch.emplace(build(k));
        } catch (...) {
          item.error = std::current_exception();
        }
        const bool failed = item.error != nullptr;
        if (!push(std::move(item)) || failed) return;
      }
    }

    // Waits for room; false when stopped instead.
    bool push(Item item) noexcept {
      std::unique_lock<std::mutex> lock(mutex_);
      room_.wait(lock, [this] { return stop_ || count_ < ring_.size(); });
      if (stop_) return false;
      ring_[(head_ + count_) % ring_.size()] = std::move(item);
      ++count_;
      lock.unlock();
      ready_.notify_one();
      return true;
    }

    // Consumer: the next item in order; its error is rethrown here.
    batch_type take() {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return count_ > 0; });
        item = std::move(ring_[head_]);
        ring_[head_] = Item();
        head_ = (head_ + 1) % ring_.size();
        --count_;
      }
      room_.notify_one();
      if (item.error) std::rethrow_exception(item.error);
      return std::move(*item.batch);
    }

    void stop_worker() noexcept {
      if (!worker_.joinable()) return;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
      }
      room_.notify_all();
      worker_.join();
    }

    std::shared_ptr<const Shared> shared_;
    std::vector<std::vector<std::int64_t>> batches_;
    bool prefetch_;
    std::size_t consumed_ = 0;  // batches handed to the loop
    bool finished_ = false;
    std::optional<batch_type> current_;

    std::mutex mutex_;
    std::condition_variable room_, ready_;
    std::vector<Item> ring_;  // built batches in order: ring_[head_], ..., count_ of them
    std::size_t head_ = 0, count_ = 0;
    bool stop_ = false;
    std::thread worker_;  // last: started after everything it uses exists
  };

 public:
  // An input iterator over one epoch's batches; copies share the epoch.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = batch_type;
    using difference_type = std::ptrdiff_t;
    using pointer = batch_type*;
    using reference = batch_type&;

    Iterator() = default;
    reference operator*() const { return run_->current(); }
    pointer operator->() const { return &run_->current(); }
    Iterator& operator++() {
      run_->advance();
      return *this;
    }
    // Only "at the end or not" is compared: enough for a loop against end().
    bool operator==(const Iterator& other) const { return at_end() == other.at_end(); }
    bool operator!=(const Iterator& other) const { return !(*this == other); }

   private:
    friend class DataLoader;
    explicit Iterator(std::shared_ptr<Run> run) : run_(std::move(run)) {}
    bool at_end() const { return !run_ || run_->finished(); }
    std::shared_ptr<Run> run_;
  };

 private:
  std::shared_ptr<const Shared> shared_;
  DataLoaderOptions options_;
  BatchSampler batch_sampler_;
  std::int64_t epoch_ = 0;
};

template <typename D>
DataLoader(std::shared_ptr<D>) -> DataLoader<std::remove_const_t<D>>;
template <typename D>
DataLoader(std::shared_ptr<D>, DataLoaderOptions) -> DataLoader<std::remove_const_t<D>>;
template <typename D, typename Collate>
DataLoader(std::shared_ptr<D>, DataLoaderOptions, Collate) -> DataLoader<std::remove_const_t<D>, Collate>;

}  // namespace tapegrad::data
