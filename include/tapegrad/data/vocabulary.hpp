#pragma once
// Vocabularies for categorical features, as Keras' StringLookup / IntegerLookup / Hashing:
//
//   auto genders = tg::data::StringLookup::adapt({"M", "F", "M"});     // [UNK]=0, M=1, F=2
//   tg::Tensor<std::int64_t> ids = genders.lookup({"F", "M", "X"});    // [2, 1, 0]
//   tg::data::Hashing zip_bins(1000, /*salt=*/7);                      // zip_bins.index("48067")
//
// Indices: the num_oov_indices out-of-vocabulary buckets come first (default 1, so index 0 is
// "unknown"), then the vocabulary in its order. adapt() orders by frequency, most frequent first,
// ties by value (string bytes, or numerically), so the same data always gives the same indices.
// With 0 OOV buckets an unknown value is an error naming the value and the field; with several,
// an unknown value goes to bucket stable_hash(value) % num_oov_indices.
//
// The hash is FNV-1a 64 followed by MurmurHash3's 64-bit finaliser (see stable_hash): defined
// on bytes, so the same on every platform and compiler (std::hash is neither). Keras hashes with
// FarmHash (SipHash when salted), so the bin of a value differs from Keras'.

#include "../core.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tapegrad::data {

// FNV-1a 64 over the bytes: h = 14695981039346656037; for each byte b: h = (h ^ b) * 1099511628211
// (mod 2^64). Then h ^= salt and MurmurHash3's fmix64: the multiply only carries upwards, so
// FNV's low k bits depend only on the low k bits of each byte ("a" and "q" would share every
// bin of a power-of-two count); fmix64 spreads every bit over all 64.
inline std::uint64_t stable_hash(std::string_view bytes, std::uint64_t salt = 0) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char b : bytes) h = (h ^ b) * 1099511628211ull;
  h ^= salt;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

namespace detail {

// Integers hash as their decimal text, as Keras' Hashing does (tf.as_string): 42 and "42" share a bin.
inline std::uint64_t hash_value(std::int64_t value, std::uint64_t salt) { return stable_hash(std::to_string(value), salt); }
inline std::uint64_t hash_value(const std::string& value, std::uint64_t salt) { return stable_hash(value, salt); }

inline std::string show_value(const std::string& v) { return "\"" + v + "\""; }
inline std::string show_value(std::int64_t v) { return std::to_string(v); }

}  // namespace detail

// How adapt() builds a vocabulary (Keras' arguments of the same names; no mask token).
struct VocabularyOptions {
  std::int64_t max_tokens = -1;       // the whole size, OOV buckets included (as Keras); -1: no limit
  std::int64_t min_frequency = 1;     // values seen fewer times are left out (they become OOV)
  std::int64_t num_oov_indices = 1;   // buckets for unknown values, indices 0 .. num_oov_indices-1
};

// A value <-> index table; Key is std::string (StringLookup) or std::int64_t (IntegerLookup).
template <typename Key>
class Lookup {
  static_assert(std::is_same_v<Key, std::string> || std::is_same_v<Key, std::int64_t>,
                "tapegrad::data::Lookup: Key must be std::string or std::int64_t");

 public:
  Lookup() = default;

  // The vocabulary of `data`: values seen at least min_frequency times, most frequent first
  // (ties by value), at most max_tokens - num_oov_indices of them. `field` names it in errors.
  static Lookup adapt(const std::vector<Key>& data, const VocabularyOptions& options = {}, std::string field = "") {
    check_options(options, field);
    std::unordered_map<Key, std::int64_t> counts;
    for (const Key& v : data) ++counts[v];
    std::vector<std::pair<Key, std::int64_t>> sorted(counts.begin(), counts.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<Key> tokens;
    for (const auto& [value, count] : sorted) {
      if (count < options.min_frequency) break;  // sorted by count: the rest are rarer
      if (options.max_tokens >= 0 && static_cast<std::int64_t>(tokens.size()) + options.num_oov_indices >= options.max_tokens)
        break;
      tokens.push_back(value);
    }
    return Lookup(std::move(tokens), options.num_oov_indices, std::move(field));
  }

  // The vocabulary given in order (Keras' vocabulary= argument); a repeated value is an error.
  static Lookup from_list(std::vector<Key> tokens, std::int64_t num_oov_indices = 1, std::string field = "") {
    VocabularyOptions options;
    options.num_oov_indices = num_oov_indices;
    check_options(options, field);
    return Lookup(std::move(tokens), num_oov_indices, std::move(field));
  }

  // The index of one value: its vocabulary index, else its OOV bucket.
  std::int64_t index(const Key& value) const {
    const auto it = index_.find(value);
    if (it != index_.end()) return it->second;
    if (num_oov_ == 0)
      tapegrad::detail::fail<ValueError>(name(), ": ", detail::show_value(value), " is not in the vocabulary of ", tokens_.size(),
                               " values and num_oov_indices is 0; adapt on data that holds it, or use "
                               "num_oov_indices >= 1 to map unknown values to an OOV bucket");
    return static_cast<std::int64_t>(detail::hash_value(value, 0) % static_cast<std::uint64_t>(num_oov_));
  }

  // The indices of many values: a Tensor<int64_t> of shape [values.size()].
  Tensor<std::int64_t> lookup(const std::vector<Key>& values) const {
    std::vector<std::int64_t> ids(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) ids[i] = index(values[i]);
    return from_vector(ids, {static_cast<std::int64_t>(ids.size())});
  }

  // The value of an index (inverse lookup); an OOV bucket gives oov_token() ("[UNK]" or -1, as Keras).
  Key token(std::int64_t index) const {
    if (index < 0 || index >= size())
      tapegrad::detail::fail<IndexError>(name(), ": index ", index, " is out of range for a vocabulary of size ", size(),
                               " (valid: 0 .. ", size() - 1, ")");
    if (index < num_oov_) return oov_token();
    return tokens_[static_cast<std::size_t>(index - num_oov_)];
  }
  std::vector<Key> inverse(const Tensor<std::int64_t>& ids) const {
    std::vector<Key> out(static_cast<std::size_t>(ids.numel()));
    for (std::int64_t i = 0; i < ids.numel(); ++i) out[static_cast<std::size_t>(i)] = token(ids.data_ptr()[i]);
    return out;
  }

  static Key oov_token() {
    if constexpr (std::is_same_v<Key, std::string>) return "[UNK]";
    else return -1;
  }
  bool contains(const Key& value) const { return index_.count(value) != 0; }
  std::int64_t size() const { return num_oov_ + static_cast<std::int64_t>(tokens_.size()); }  // embedding rows needed
  std::int64_t num_oov_indices() const { return num_oov_; }
  const std::vector<Key>& tokens() const { return tokens_; }  // the vocabulary, without the OOV buckets
  const std::string& field() const { return field_; }

 private:
  Lookup(std::vector<Key> tokens, std::int64_t num_oov, std::string field)
      : tokens_(std::move(tokens)), num_oov_(num_oov), field_(std::move(field)) {
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const bool fresh = index_.emplace(tokens_[i], num_oov_ + static_cast<std::int64_t>(i)).second;
      if (!fresh)
        tapegrad::detail::fail<ValueError>(name(), ": ", detail::show_value(tokens_[i]), " appears twice in the vocabulary list "
                                 "(positions ", index_[tokens_[i]] - num_oov_, " and ", i, "); give each value once");
    }
  }

  std::string name() const {
    std::string n = std::is_same_v<Key, std::string> ? "StringLookup" : "IntegerLookup";
    return field_.empty() ? n : n + " (field " + field_ + ")";
  }
  static void check_options(const VocabularyOptions& o, const std::string& field) {
    const std::string n = std::string(std::is_same_v<Key, std::string> ? "StringLookup" : "IntegerLookup") +
                          (field.empty() ? "" : " (field " + field + ")");
    if (o.num_oov_indices < 0) tapegrad::detail::fail<ValueError>(n, ": num_oov_indices is ", o.num_oov_indices, "; use 0 or more");
    if (o.min_frequency < 1) tapegrad::detail::fail<ValueError>(n, ": min_frequency is ", o.min_frequency, "; use 1 or more");
    if (o.max_tokens >= 0 && o.max_tokens < o.num_oov_indices)
      tapegrad::detail::fail<ValueError>(n, ": max_tokens ", o.max_tokens, " leaves no room for the ", o.num_oov_indices,
                               " OOV buckets it includes; use max_tokens >= num_oov_indices, or -1 for no limit");
  }

  std::vector<Key> tokens_;
  std::unordered_map<Key, std::int64_t> index_;
  std::int64_t num_oov_ = 1;
  std::string field_;
};

using StringLookup = Lookup<std::string>;
using IntegerLookup = Lookup<std::int64_t>;

// The hashing trick (Keras' Hashing): value -> stable_hash(value, salt) % num_bins, no vocabulary.
class Hashing {
 public:
  explicit Hashing(std::int64_t num_bins, std::uint64_t salt = 0) : num_bins_(num_bins), salt_(salt) {
    if (num_bins < 1) tapegrad::detail::fail<ValueError>("Hashing: num_bins is ", num_bins, "; use 1 or more");
  }
  std::int64_t index(const std::string& value) const { return bin(detail::hash_value(value, salt_)); }
  std::int64_t index(std::int64_t value) const { return bin(detail::hash_value(value, salt_)); }
  template <typename Key>
  Tensor<std::int64_t> lookup(const std::vector<Key>& values) const {
    std::vector<std::int64_t> ids(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) ids[i] = index(values[i]);
    return from_vector(ids, {static_cast<std::int64_t>(ids.size())});
  }
  std::int64_t num_bins() const { return num_bins_; }
  std::int64_t size() const { return num_bins_; }
  std::uint64_t salt() const { return salt_; }

 private:
  std::int64_t bin(std::uint64_t h) const { return static_cast<std::int64_t>(h % static_cast<std::uint64_t>(num_bins_)); }
  std::int64_t num_bins_;
  std::uint64_t salt_;
};

}  // namespace tapegrad::data
