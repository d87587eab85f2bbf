#pragma once
// Datasets, with PyTorch's names and semantics (torch.utils.data):
//
//   tg::data::TensorDataset ds(images, labels);      // images [N, 784], labels [N]: one sample per row
//   auto [x, y] = ds.get(3);                          // x [784], y [] (a 0-d tensor)
//   auto [xb, yb] = ds.get_batch({3, 0, 7});          // xb [3, 784]: one index_select per tensor
//   auto parts = tg::data::random_split(ds, {0.8, 0.2}, gen);   // two disjoint Subsets, 80% / 20%
//
// A dataset is anything with `sample_type`, `size()` and `get(i)`; deriving from
// Dataset<Sample> gives the virtual interface (so a loader can hold any dataset of one
// sample type), and a dataset that also has `get_batch(indices)` lets the DataLoader skip
// the per-sample copies. Datasets are read, never written, by the loader: `get` is const
// and may run on the loader's background thread.

#include "../core.hpp"
#include "../ops/indexing.hpp"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad::data {

// The interface: `size()` samples, `get(i)` for i in [0, size()).
template <typename Sample>
class Dataset {
 public:
  using sample_type = Sample;
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  virtual Sample get(std::int64_t index) const = 0;
};

// Helpers of the data loading headers (nested, so they cannot meet the names of the
// other data headers in one translation unit).
namespace detail::loader {

inline void check_sample_index(const char* op, std::int64_t index, std::int64_t size) {
  if (index < 0 || index >= size)
    tapegrad::detail::fail<IndexError>(op, ": index ", index, " is out of range for a dataset of ", size, " samples; indices must be in [0, ",
                     size - 1, "]");
}

// D has get_batch(const std::vector<std::int64_t>&): the loader's fast path.
template <typename D, typename = void>
struct has_get_batch : std::false_type {};
template <typename D>
struct has_get_batch<D, std::void_t<decltype(std::declval<const D&>().get_batch(std::declval<const std::vector<std::int64_t>&>()))>>
    : std::true_type {};

// SplitMix64 (Steele, Lea, Flood 2014): a bijective mix of 64 bits, used to derive
// independent seeds from (seed, epoch) so an epoch's order needs no generator state.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace detail::loader

// A uniformly random permutation of 0..n-1 (Fisher-Yates: position i swaps with a
// uniform j <= i, so each of the n! orders has probability 1/n!).
inline std::vector<std::int64_t> randperm(std::int64_t n, Generator& gen) {
  if (n < 0) tapegrad::detail::fail<ValueError>("randperm: n must be non-negative, got ", n);
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(tapegrad::detail::uniform_below(gen.engine(), static_cast<std::uint64_t>(i) + 1));
    std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
  }
  return p;
}

// ---- TensorDataset ----

// Tensors sharing their first dimension; sample i is the tuple of their rows i.
template <typename... T>
class TensorDataset : public Dataset<std::tuple<Tensor<T>...>> {
  static_assert(sizeof...(T) >= 1, "TensorDataset: give at least one tensor");

 public:
  using sample_type = std::tuple<Tensor<T>...>;
  using batch_type = sample_type;  // get_batch: the same tensors with a leading batch dimension

  explicit TensorDataset(Tensor<T>... tensors) : tensors_(std::move(tensors)...) {
    check_shapes(std::index_sequence_for<T...>{});
  }

  std::int64_t size() const override { return std::get<0>(tensors_).size(0); }

  // Row `index` of every tensor (each loses its first dimension).
  sample_type get(std::int64_t index) const override {
    detail::loader::check_sample_index("TensorDataset::get", index, size());
    return std::apply([index](const auto&... t) { return sample_type(select(t, 0, index)...); }, tensors_);
  }

  // The rows at `indices`, in that order, as one index_select per tensor: a batch in
  // one copy per tensor instead of a copy per sample and a stack.
  batch_type get_batch(const std::vector<std::int64_t>& indices) const {
    for (std::int64_t index : indices) detail::loader::check_sample_index("TensorDataset::get_batch", index, size());
    const Tensor<std::int64_t> rows = from_vector(indices, {static_cast<std::int64_t>(indices.size())});
    return std::apply([&rows](const auto&... t) { return batch_type(index_select(t, 0, rows)...); }, tensors_);
  }

  const std::tuple<Tensor<T>...>& tensors() const { return tensors_; }

 private:
  template <std::size_t... I>
  void check_shapes(std::index_sequence<I...>) const {
    (check_shape(I, std::get<I>(tensors_).shape()), ...);
  }
  void check_shape(std::size_t i, const Shape& shape) const {
    const Shape& first = std::get<0>(tensors_).shape();
    if (shape.empty())
      tapegrad::detail::fail<ShapeError>("TensorDataset: tensor ", i, " is 0-d; every tensor needs a first dimension that "
                               "counts the samples (reshape a scalar to [1])");
    if (shape[0] != first[0])
      tapegrad::detail::fail<ShapeError>("TensorDataset: tensor ", i, " has shape ", tapegrad::detail::show(shape),
                               " but tensor 0 has shape ", tapegrad::detail::show(first), "; every tensor needs the same size in "
                               "dim 0 (the number of samples: ", shape[0], " != ", first[0], ")");
  }

  std::tuple<Tensor<T>...> tensors_;
};

// ---- Subset ----

// The samples of `dataset` at `indices`, in that order (sample i is dataset[indices[i]]).
template <typename D>
class Subset : public Dataset<typename D::sample_type> {
 public:
  using sample_type = typename D::sample_type;

  Subset(std::shared_ptr<const D> dataset, std::vector<std::int64_t> indices)
      : dataset_(std::move(dataset)), indices_(std::move(indices)) {
    if (!dataset_) tapegrad::detail::fail<ValueError>("Subset: the dataset is null");
    for (std::int64_t index : indices_) detail::loader::check_sample_index("Subset", index, dataset_->size());
  }
  Subset(const D& dataset, std::vector<std::int64_t> indices)
      : Subset(std::make_shared<const D>(dataset), std::move(indices)) {}

  std::int64_t size() const override { return static_cast<std::int64_t>(indices_.size()); }

  sample_type get(std::int64_t index) const override {
    detail::loader::check_sample_index("Subset::get", index, size());
    return dataset_->get(indices_[static_cast<std::size_t>(index)]);
  }

  // Present when the parent has it: the parent's batch at the mapped indices.
  template <typename P = D, std::enable_if_t<detail::loader::has_get_batch<P>::value, int> = 0>
  auto get_batch(const std::vector<std::int64_t>& indices) const {
    std::vector<std::int64_t> mapped;
    mapped.reserve(indices.size());
    for (std::int64_t index : indices) {
      detail::loader::check_sample_index("Subset::get_batch", index, size());
      mapped.push_back(indices_[static_cast<std::size_t>(index)]);
    }
    return dataset_->get_batch(mapped);
  }

  const std::vector<std::int64_t>& indices() const { return indices_; }
  const D& dataset() const { return *dataset_; }

 private:
  std::shared_ptr<const D> dataset_;
  std::vector<std::int64_t> indices_;
};

// ---- random_split ----

namespace detail::loader {

// PyTorch's rule for fractions: floor(n * f) each, then the remainder handed out one by
// one to the first splits, round robin.
inline std::vector<std::int64_t> lengths_from_fractions(const std::vector<double>& fractions, std::int64_t n) {
  double total = 0;
  for (std::size_t i = 0; i < fractions.size(); ++i) {
    if (!(fractions[i] >= 0 && fractions[i] <= 1))
      tapegrad::detail::fail<ValueError>("random_split: fraction ", i, " is ", fractions[i], "; fractions must be in [0, 1]");
    total += fractions[i];
  }
  if (std::abs(total - 1) > 1e-9)
    tapegrad::detail::fail<ValueError>("random_split: the fractions add up to ", total, ", not 1; give fractions summing to 1 or sizes");
  std::vector<std::int64_t> lengths;
  std::int64_t assigned = 0;
  for (double f : fractions) {
    lengths.push_back(static_cast<std::int64_t>(std::floor(static_cast<double>(n) * f)));
    assigned += lengths.back();
  }
  for (std::int64_t i = 0; i < n - assigned; ++i) ++lengths[static_cast<std::size_t>(i) % lengths.size()];
  return lengths;
}

inline void check_lengths(const std::vector<std::int64_t>& lengths, std::int64_t n) {
  std::int64_t total = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] < 0) tapegrad::detail::fail<ValueError>("random_split: length ", i, " is ", lengths[i], "; lengths must be >= 0");
    total += lengths[i];
  }
  if (total != n)
    tapegrad::detail::fail<ValueError>("random_split: the lengths add up to ", total, " but the dataset has ", n,
                     " samples; give lengths summing to ", n, " or fractions summing to 1");
}

template <typename N>
std::vector<std::int64_t> split_lengths(const std::vector<N>& lengths, std::int64_t n) {
  static_assert(std::is_arithmetic_v<N>, "random_split: lengths are sizes (integers) or fractions (floating point)");
  if (lengths.empty()) tapegrad::detail::fail<ValueError>("random_split: give at least one length");
  std::vector<std::int64_t> sizes;
  if constexpr (std::is_floating_point_v<N>) {
    sizes = lengths_from_fractions(std::vector<double>(lengths.begin(), lengths.end()), n);
  } else {
    for (N length : lengths) sizes.push_back(static_cast<std::int64_t>(length));
  }
  check_lengths(sizes, n);
  return sizes;
}

}  // namespace detail::loader

// Disjoint random subsets covering the dataset: `lengths` are sizes summing to
// dataset->size(), or fractions summing to 1. One random permutation is cut in order.
template <typename D, typename N>
std::vector<Subset<D>> random_split(const std::shared_ptr<const D>& dataset, const std::vector<N>& lengths,
                                    Generator& gen = default_generator()) {
  if (!dataset) tapegrad::detail::fail<ValueError>("random_split: the dataset is null");
  const std::vector<std::int64_t> sizes = detail::loader::split_lengths(lengths, dataset->size());
  const std::vector<std::int64_t> order = randperm(dataset->size(), gen);
  std::vector<Subset<D>> parts;
  auto begin = order.begin();
  for (std::int64_t size : sizes) {
    parts.emplace_back(dataset, std::vector<std::int64_t>(begin, begin + size));
    begin += size;
  }
  return parts;
}
template <typename D, typename N>
std::vector<Subset<D>> random_split(const std::shared_ptr<D>& dataset, const std::vector<N>& lengths,
                                    Generator& gen = default_generator()) {
  return random_split(std::shared_ptr<const D>(dataset), lengths, gen);
}
template <typename D, typename N>
std::vector<Subset<D>> random_split(const D& dataset, const std::vector<N>& lengths, Generator& gen = default_generator()) {
  return random_split(std::make_shared<const D>(dataset), lengths, gen);
}
// random_split(ds, {800, 200}, gen) and random_split(ds, {0.8, 0.2}, gen).
template <typename D, typename N>
auto random_split(const D& dataset, std::initializer_list<N> lengths, Generator& gen = default_generator()) {
  return random_split(dataset, std::vector<N>(lengths), gen);
}

}  // namespace tapegrad::data
