#pragma once
// Containers: Sequential (a chain of single-tensor modules), ModuleList (an indexed list
// of submodules) and ModuleDict (submodules by key, in insertion order). Their children
// are named "0", "1", ... (or by key), so parameters are "0.weight", "layers.3.bias", ...
//
//   tg::nn::Sequential<float> net(std::make_shared<tg::nn::Linear<float>>(4, 8),
//                                 std::make_shared<tg::nn::ReLU<float>>(),
//                                 std::make_shared<tg::nn::Linear<float>>(8, 1));
//   auto y = net(x);
//   std::cout << net;     // Sequential(
//                         //   (0): Linear(in_features=4, out_features=8, bias=True)
//                         //   (1): ReLU()
//                         //   (2): Linear(in_features=8, out_features=1, bias=True)
//                         // )

#include "module.hpp"

#include <memory>
#include <string>
#include <vector>

namespace tapegrad::nn {

template <typename T>
class ModuleList : public Module<T> {
 public:
  using Ptr = typename Module<T>::Ptr;
  ModuleList() : Module<T>("ModuleList") {}
  template <typename... M>
  explicit ModuleList(std::shared_ptr<M>... modules) : ModuleList() {
    (push_back(std::move(modules)), ...);
  }
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    this->register_module(std::to_string(items_.size()), module);
    items_.push_back(module);
    return module;
  }
  // Negative i counts from the end.
  const Ptr& operator[](std::int64_t i) const { return items_[index(i)]; }
  // The module at i as its own type: list.at<Linear<float>>(0)->weight (null if it is another type).
  template <typename M>
  std::shared_ptr<M> at(std::int64_t i) const {
    return std::dynamic_pointer_cast<M>(items_[index(i)]);
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  typename std::vector<Ptr>::const_iterator begin() const { return items_.begin(); }
  typename std::vector<Ptr>::const_iterator end() const { return items_.end(); }

 protected:
  ModuleList(const char* name) : Module<T>(name) {}  // for Sequential

 private:
  std::size_t index(std::int64_t i) const {
    const auto n = static_cast<std::int64_t>(items_.size());
    if (i < -n || i >= n) detail::fail<IndexError>(this->type_name(), ": index ", i, " is out of range for ", n, " modules");
    return static_cast<std::size_t>(i < 0 ? i + n : i);
  }
  std::vector<Ptr> items_;
};

// forward(x) runs the modules in order, each on the previous one's output.
template <typename T>
class Sequential : public ModuleList<T> {
 public:
  Sequential() : ModuleList<T>("Sequential") {}
  template <typename... M>
  explicit Sequential(std::shared_ptr<M>... modules) : Sequential() {
    (this->push_back(std::move(modules)), ...);
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> h = x;
    for (const auto& m : *this) h = m->forward(h);
    return h;
  }
};

template <typename T>
class ModuleDict : public Module<T> {
 public:
  using Ptr = typename Module<T>::Ptr;
  ModuleDict() : Module<T>("ModuleDict") {}
  // A key already present is replaced (in its old position), as in PyTorch.
  template <typename M>
  std::shared_ptr<M> insert(const std::string& key, std::shared_ptr<M> module) {
    this->register_module(key, module);
    for (auto& entry : items_)
      if (entry.first == key) {
        entry.second = module;
        return module;
      }
    items_.emplace_back(key, module);
    return module;
  }
  const Ptr& operator[](const std::string& key) const {
    for (const auto& entry : items_)
      if (entry.first == key) return entry.second;
    detail::fail<IndexError>("ModuleDict: no module named \"", key, "\"");
  }
  template <typename M>
  std::shared_ptr<M> at(const std::string& key) const {
    return std::dynamic_pointer_cast<M>((*this)[key]);
  }
  bool contains(const std::string& key) const {
    for (const auto& entry : items_)
      if (entry.first == key) return true;
    return false;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& entry : items_) out.push_back(entry.first);
    return out;
  }
  std::size_t size() const { return items_.size(); }
  typename std::vector<std::pair<std::string, Ptr>>::const_iterator begin() const { return items_.begin(); }
  typename std::vector<std::pair<std::string, Ptr>>::const_iterator end() const { return items_.end(); }

 private:
  std::vector<std::pair<std::string, Ptr>> items_;
};

}  // namespace tapegrad::nn
