#pragma once
// StateDict<T>: named tensors in insertion order, what Module::state_dict(),
// Optimizer::state_dict() and the schedulers' state_dict() return and what tg::save
// writes. Only the tensor headers are needed here (no JSON, no file I/O), so the
// training layers can use it without pulling in the serialization library.
//
//   tg::StateDict<float> sd = model.state_dict();   // "encoder.0.weight", ...
//   for (auto& [name, tensor] : sd) { ... }
//   sd.at("encoder.0.bias");                         // tg::IndexError naming the key if absent

#include "../core/error.hpp"
#include "../core/tensor.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tapegrad {

template <typename T>
class StateDict {
 public:
  using Entry = std::pair<std::string, Tensor<T>>;
  using iterator = typename std::vector<Entry>::iterator;
  using const_iterator = typename std::vector<Entry>::const_iterator;

  StateDict() = default;

  // Adds a new entry; a key that is already present is an error (state dicts of
  // submodules are merged with prefixes, and a duplicate means two owners).
  void insert(const std::string& key, const Tensor<T>& tensor) {
    if (index_.count(key) != 0) {
      throw ValueError("StateDict::insert: the key \"" + key + "\" is already present; keys must be unique");
    }
    index_.emplace(key, entries_.size());
    entries_.emplace_back(key, tensor);
  }
  // Adds or replaces.
  void set(const std::string& key, const Tensor<T>& tensor) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      insert(key, tensor);
    } else {
      entries_[it->second].second = tensor;
    }
  }

  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  const Tensor<T>& at(const std::string& key) const { return entries_[position(key)].second; }
  Tensor<T>& at(const std::string& key) { return entries_[position(key)].second; }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.first);
    return out;
  }

  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

  // Every entry of `other` with `prefix` in front of its key ("encoder." + "0.weight").
  void merge(const StateDict& other, const std::string& prefix = "") {
    for (const auto& [key, tensor] : other) insert(prefix + key, tensor);
  }

  // The inverse of merge: the entries whose key starts with `prefix`, with the prefix
  // removed, in order. One checkpoint file can hold a model and its optimizer:
  //   sd.merge(model.state_dict(), "model.");  sd.merge(opt.state_dict(), "optimizer.");
  //   model.load_state_dict(loaded.with_prefix("model."));
  // The tensors are shared, not copied. No entry matching is an empty dict, which the
  // loader then reports key by key.
  StateDict with_prefix(const std::string& prefix) const {
    StateDict out;
    for (const auto& [key, tensor] : entries_) {
      if (key.compare(0, prefix.size(), prefix) == 0) out.insert(key.substr(prefix.size()), tensor);
    }
    return out;
  }

 private:
  std::size_t position(const std::string& key) const {
    auto it = index_.find(key);
    if (it == index_.end()) {
      throw IndexError("StateDict: no entry named \"" + key + "\" (" + std::to_string(entries_.size()) +
                       " entries)");
    }
    return it->second;
  }

  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace tapegrad
