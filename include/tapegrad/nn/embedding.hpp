#pragma once
// Embedding tables: Embedding (one row per id) and EmbeddingBag (a pooled row per bag of
// ids, the way recommenders encode multi-valued fields such as a film's genres).
//
//   tg::nn::Embedding<float> users(num_users, 16);
//   auto e = users.forward(ids);                          // ids Tensor<int64_t> [N] -> [N, 16]
//   tg::nn::EmbeddingBag<float> genres(20, 16, tg::nn::EmbeddingBagMode::mean);
//   auto g = genres.forward(flat_ids, offsets);           // one mean row per bag -> [B, 16]
//   auto h = genres.forward_multi_hot(multi_hot);         // the same from a [B, 20] 0/1 (or weights) matrix
//
// Default initialization is PyTorch's: N(0, 1), with the padding_idx row zero.

#include "module.hpp"
#include "../ops/indexing.hpp"
#include "../ops/nn.hpp"

#include <cmath>
#include <optional>
#include <random>
#include <string>

namespace tapegrad::detail {
template <typename T>
void fill_normal(Tensor<T>& t, Generator& gen = default_generator()) {
  std::normal_distribution<double> dist(0.0, 1.0);
  T* p = t.data_ptr();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(dist(gen.engine()));
}
inline std::int64_t wrap_padding_idx(const char* layer, std::optional<std::int64_t> padding_idx, std::int64_t rows) {
  if (!padding_idx) return -1;
  const std::int64_t p = *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
  if (p < 0 || p >= rows)
    fail<IndexError>(layer, ": padding_idx ", *padding_idx, " is out of range for num_embeddings = ", rows);
  return p;
}
// torch.embedding_renorm_: rows referenced by `ids` whose p-norm exceeds max_norm are
// scaled in place to max_norm / (norm + 1e-7). Not recorded (as in PyTorch).
template <typename T>
void renorm_rows(Tensor<T>& weight, const Tensor<std::int64_t>& ids, double max_norm, double norm_type) {
  NoGradGuard no_grad;
  const std::int64_t dim = weight.size(1), rows = weight.size(0);
  T* w = weight.data_ptr();
  const std::int64_t* id = ids.data_ptr();
  for (std::int64_t i = 0, n = ids.numel(); i < n; ++i) {
    if (id[i] < 0 || id[i] >= rows) continue;  // the lookup reports it
    T* row = w + id[i] * dim;
    double norm = 0;
    for (std::int64_t j = 0; j < dim; ++j) norm += std::pow(std::abs(static_cast<double>(row[j])), norm_type);
    norm = std::pow(norm, 1.0 / norm_type);
    if (norm > max_norm) {
      const double scale = max_norm / (norm + 1e-7);
      for (std::int64_t j = 0; j < dim; ++j) row[j] = static_cast<T>(row[j] * scale);
    }
  }
}
}  // namespace tapegrad::detail

namespace tapegrad::nn {

struct EmbeddingOptions {
  std::optional<std::int64_t> padding_idx;  // that row starts at zero and gets no gradient
  std::optional<double> max_norm;           // rows looked up are renormalised to at most this norm
  double norm_type = 2.0;
};

template <typename T>
class Embedding : public Module<T> {
 public:
  Tensor<T> weight;  // [num_embeddings, embedding_dim]
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, EmbeddingOptions options = {})
      : Module<T>("Embedding"), num_(num_embeddings), dim_(embedding_dim), options_(options) {
    detail::check_positive_size("Embedding", "num_embeddings", num_embeddings);
    detail::check_positive_size("Embedding", "embedding_dim", embedding_dim);
    padding_ = detail::wrap_padding_idx("Embedding", options.padding_idx, num_embeddings);
    if (options.max_norm && !(*options.max_norm > 0))
      detail::fail<ValueError>("Embedding: max_norm must be positive, got ", *options.max_norm);
    Tensor<T> w = empty<T>({num_embeddings, embedding_dim});
    detail::fill_normal(w);
    if (padding_ >= 0) std::fill(w.data_ptr() + padding_ * dim_, w.data_ptr() + (padding_ + 1) * dim_, T(0));
    weight = this->register_parameter("weight", w);
  }
  using Module<T>::forward;
  // ids of any shape -> [*ids.shape, embedding_dim].
  Tensor<T> forward(const Tensor<std::int64_t>& ids) {
    if (options_.max_norm) detail::renorm_rows(weight, ids, *options_.max_norm, options_.norm_type);
    return embedding(weight, ids, padding_);
  }
  Tensor<T> operator()(const Tensor<std::int64_t>& ids) { return forward(ids); }
  std::string extra_repr() const override {
    std::string s = std::to_string(num_) + ", " + std::to_string(dim_);
    if (padding_ >= 0) s += ", padding_idx=" + std::to_string(padding_);
    if (options_.max_norm) s += ", max_norm=" + detail::py_float(*options_.max_norm);
    return s;
  }

 private:
  std::int64_t num_, dim_, padding_ = -1;
  EmbeddingOptions options_;
};

enum class EmbeddingBagMode { sum, mean, max };

// One pooled row per bag. A bag is a run of ids: either `offsets` into a 1-D id list
// (bag b is ids[offsets[b] : offsets[b + 1]]; the last runs to the end, or with
// include_last_offset the last offset closes it), or the rows of a 2-D [B, L] id
// matrix, or the non-zero entries of a [B, num_embeddings] multi-hot/weights matrix.
// Empty bags give zero rows. per_sample_weights (sum mode only, as PyTorch) scale each
// id's row. padding_idx entries are left out of the bag (and out of the mean's count).
template <typename T>
class EmbeddingBag : public Module<T> {
 public:
  Tensor<T> weight;
  EmbeddingBag(std::int64_t num_embeddings, std::int64_t embedding_dim, EmbeddingBagMode mode = EmbeddingBagMode::mean,
               EmbeddingOptions options = {}, bool include_last_offset = false)
      : Module<T>("EmbeddingBag"), num_(num_embeddings), dim_(embedding_dim), mode_(mode), options_(options),
        include_last_offset_(include_last_offset) {
    detail::check_positive_size("EmbeddingBag", "num_embeddings", num_embeddings);
    detail::check_positive_size("EmbeddingBag", "embedding_dim", embedding_dim);
    padding_ = detail::wrap_padding_idx("EmbeddingBag", options.padding_idx, num_embeddings);
    Tensor<T> w = empty<T>({num_embeddings, embedding_dim});
    detail::fill_normal(w);
    if (padding_ >= 0) std::fill(w.data_ptr() + padding_ * dim_, w.data_ptr() + (padding_ + 1) * dim_, T(0));
    weight = this->register_parameter("weight", w);
  }
  using Module<T>::forward;

  // ids 1-D with offsets [B] (or [B + 1] with include_last_offset); or ids 2-D [B, L]
  // with offsets undefined.
  Tensor<T> forward(const Tensor<std::int64_t>& ids, const Tensor<std::int64_t>& offsets = Tensor<std::int64_t>(),
                    const Tensor<T>& per_sample_weights = Tensor<T>()) {
    std::vector<std::int64_t> starts;
    Tensor<std::int64_t> flat = ids;
    if (ids.dim() == 2) {
      if (offsets.defined())
        detail::fail<ValueError>("EmbeddingBag: offsets must be undefined for 2-D ids [B, L] (each row is a bag), got ",
                                 "offsets of shape ", detail::show(offsets.shape()));
      for (std::int64_t b = 0; b < ids.size(0); ++b) starts.push_back(b * ids.size(1));
      flat = reshape(ids, {-1});
    } else if (ids.dim() == 1) {
      if (!offsets.defined() || offsets.dim() != 1)
        detail::fail<ValueError>("EmbeddingBag: 1-D ids need 1-D offsets (the start of each bag)");
      starts.assign(offsets.data_ptr(), offsets.data_ptr() + offsets.numel());
      if (include_last_offset_) {
        if (starts.empty() || starts.back() != ids.numel())
          detail::fail<ValueError>("EmbeddingBag: with include_last_offset the last offset must equal the number of ids (",
                                   ids.numel(), ")");
        starts.pop_back();
      }
    } else {
      detail::fail<ShapeError>("EmbeddingBag: ids must be 1-D (with offsets) or 2-D [B, L], got shape ",
                               detail::show(ids.shape()));
    }
    const std::int64_t n = flat.numel();
    for (std::size_t b = 0; b < starts.size(); ++b) {
      const std::int64_t end = b + 1 < starts.size() ? starts[b + 1] : n;
      if (starts[b] < 0 || starts[b] > end || end > n)
        detail::fail<ValueError>("EmbeddingBag: offsets must be non-decreasing and within [0, ", n, "]; bag ", b,
                                 " runs from ", starts[b], " to ", end);
    }
    if (per_sample_weights.defined()) {
      if (mode_ != EmbeddingBagMode::sum)
        detail::fail<ValueError>("EmbeddingBag: per_sample_weights are only supported in mode sum (as in PyTorch)");
      if (per_sample_weights.numel() != n)
        detail::fail<ShapeError>("EmbeddingBag: per_sample_weights has ", per_sample_weights.numel(),
                                 " elements for ", n, " ids");
    }
    return pool(flat, starts, per_sample_weights.defined() ? reshape(per_sample_weights, {-1}) : Tensor<T>());
  }
  Tensor<T> operator()(const Tensor<std::int64_t>& ids, const Tensor<std::int64_t>& offsets = Tensor<std::int64_t>()) {
    return forward(ids, offsets);
  }

  // From a [B, num_embeddings] matrix: bag b holds the ids whose entry is non-zero.
  // sum: rows weighted by the entries (a matmul); mean: that sum divided by the sum of
  // the bag's entries (with 0/1 entries, the plain mean); max: the element-wise max over
  // the bag's rows, entries only select. Gradients flow to the weight table and, in sum
  // and mean modes, to the matrix.
  Tensor<T> forward_multi_hot(const Tensor<T>& bags) {
    if (bags.dim() != 2 || bags.size(1) != num_)
      detail::fail<ShapeError>("EmbeddingBag::forward_multi_hot: expected a [B, ", num_, "] matrix, got shape ",
                               detail::show(bags.shape()));
    Tensor<T> w = bags;
    if (padding_ >= 0) {
      Tensor<T> keep = ones<T>({num_});
      keep.data_ptr()[padding_] = T(0);
      w = bags * keep;
    }
    if (mode_ == EmbeddingBagMode::sum) return matmul(w, weight);
    if (mode_ == EmbeddingBagMode::mean) {
      // (w W) / s with s the row sums of w; an empty bag (s = 0) divides by 1 instead
      // and gives 0, not nan. The correction is a constant, so s keeps its gradient.
      const Tensor<T> s = sum(w, 1, true);
      Tensor<T> empty_bag = zeros<T>(s.shape());
      for (std::int64_t i = 0; i < s.numel(); ++i) empty_bag.data_ptr()[i] = s.data_ptr()[i] == T(0) ? T(1) : T(0);
      return matmul(w, weight) / (s + empty_bag);
    }
    std::vector<std::int64_t> ids, starts;
    const T* p = bags.data_ptr();
    for (std::int64_t b = 0; b < bags.size(0); ++b) {
      starts.push_back(static_cast<std::int64_t>(ids.size()));
      for (std::int64_t j = 0; j < num_; ++j)
        if (p[b * num_ + j] != T(0)) ids.push_back(j);
    }
    return pool(from_vector(ids), starts, Tensor<T>());
  }

  std::string extra_repr() const override {
    static const char* names[] = {"sum", "mean", "max"};
    std::string s = std::to_string(num_) + ", " + std::to_string(dim_) + ", mode='" +
                    names[static_cast<int>(mode_)] + "'";
    if (padding_ >= 0) s += ", padding_idx=" + std::to_string(padding_);
    return s;
  }

 private:
  // Bag b is flat[starts[b] : starts[b + 1]] (the last to the end).
  Tensor<T> pool(const Tensor<std::int64_t>& flat, const std::vector<std::int64_t>& starts, const Tensor<T>& psw) {
    const std::int64_t n = flat.numel(), bags = static_cast<std::int64_t>(starts.size());
    if (options_.max_norm) detail::renorm_rows(weight, flat, *options_.max_norm, options_.norm_type);
    // Keep the entries that are not padding, and note each one's bag.
    std::vector<std::int64_t> kept_ids, kept_pos, bag_of;
    std::vector<T> count(static_cast<std::size_t>(bags), T(0));
    const std::int64_t* id = flat.data_ptr();
    for (std::int64_t b = 0; b < bags; ++b) {
      const std::int64_t end = b + 1 < bags ? starts[b + 1] : n;
      for (std::int64_t i = starts[b]; i < end; ++i) {
        if (id[i] == padding_) continue;
        kept_ids.push_back(id[i]);
        kept_pos.push_back(i);
        bag_of.push_back(b);
        count[b] += T(1);
      }
    }
    const Tensor<std::int64_t> ids_t = from_vector(kept_ids);
    Tensor<T> rows = embedding(weight, ids_t);  // [kept, dim]
    if (psw.defined()) rows = rows * unsqueeze(index_select(psw, 0, from_vector(kept_pos)), 1);
    if (mode_ == EmbeddingBagMode::max) {
      std::vector<Tensor<T>> out;
      std::int64_t at = 0;
      for (std::int64_t b = 0; b < bags; ++b) {
        const auto len = static_cast<std::int64_t>(count[b]);
        out.push_back(len == 0 ? zeros<T>({dim_}) : amax(slice(rows, 0, at, at + len), 0));
        at += len;
      }
      return bags == 0 ? zeros<T>({0, dim_}) : stack(out, 0);
    }
    // sum: out[bag_of[i]] += rows[i]  (d/drows = g[bag_of[i]]).
    Tensor<T> out = index_add(zeros<T>({bags, dim_}), 0, from_vector(bag_of), rows);
    if (mode_ == EmbeddingBagMode::mean) {
      for (auto& c : count) c = c == T(0) ? T(1) : c;  // empty bags stay 0
      out = out / from_vector(count, {bags, 1});
    }
    return out;
  }

  std::int64_t num_, dim_, padding_ = -1;
  EmbeddingBagMode mode_;
  EmbeddingOptions options_;
  bool include_last_offset_;
};

}  // namespace tapegrad::nn
