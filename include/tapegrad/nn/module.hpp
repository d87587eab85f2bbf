#pragma once
// tg::nn::Module<T>: the base of every layer and model. It keeps named parameters,
// buffers and submodules in registration order, so a model is walked, printed, saved and
// loaded by name, exactly as torch.nn.Module:
//
//   struct Net : tg::nn::Module<float> {
//     std::shared_ptr<tg::nn::Linear<float>> fc1, fc2;
//     Net() : Module("Net") {
//       fc1 = register_module("fc1", std::make_shared<tg::nn::Linear<float>>(784, 64));
//       fc2 = register_module("fc2", std::make_shared<tg::nn::Linear<float>>(64, 10));
//     }
//     tg::Tensor<float> forward(const tg::Tensor<float>& x) override { return fc2->forward(tg::relu(fc1->forward(x))); }
//   };
//   Net net;
//   for (auto& [name, p] : net.named_parameters()) { /* "fc1.weight", "fc1.bias", ... */ }
//   net.eval();                                   // Dropout off, BatchNorm uses running statistics
//   tg::StateDict<float> sd = net.state_dict();   // parameters and persistent buffers
//
// Parameters are leaves by construction: register_parameter detaches a computed tensor
// and switches requires_grad on, so `randn(...) * 0.01f` registered as a parameter trains.
// A layer keeps its own handle to each parameter (`weight`, `bias`); handles alias the
// registered tensor, and load_state_dict copies values into the existing buffers, so
// both stay the same tensor. Assigning a new tensor to a member handle does not change
// the registry: call register_parameter again with the same name to replace it.

#include "../core.hpp"
#include "../io/state_dict.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad::nn {

// What load_state_dict(sd, /*strict=*/false) did not match, as PyTorch's
// _IncompatibleKeys.
struct LoadResult {
  std::vector<std::string> missing_keys;     // in the module, not in the state dict
  std::vector<std::string> unexpected_keys;  // in the state dict, not in the module
};

template <typename T>
class Module {
 public:
  static_assert(std::is_floating_point_v<T>, "tg::nn::Module<T>: T must be float or double");
  using Ptr = std::shared_ptr<Module<T>>;
  template <typename V>
  using Named = std::vector<std::pair<std::string, V>>;

  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  // Copying would alias parameters silently (Tensor is a handle): use clone of the
  // state dict instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The single-tensor forward most layers have (what Sequential calls). Layers with
  // other inputs add overloads.
  virtual Tensor<T> forward(const Tensor<T>& /*input*/) {
    detail::fail<ValueError>(type_name_, ": this module has no forward(tensor); call its own forward overload");
  }
  Tensor<T> operator()(const Tensor<T>& input) { return forward(input); }

  // ---- registration ----

  // Registers `tensor` as the parameter `name` and returns it: a leaf that requires grad
  // (a tensor computed by ops is detached first; values are kept). A name already used
  // by a parameter replaces it; by a buffer or submodule it is an error.
  Tensor<T>& register_parameter(const std::string& name, Tensor<T> tensor, bool requires_grad = true) {
    check_name("register_parameter", name, &parameters_);
    if (!tensor.defined())
      detail::fail<ValueError>(type_name_, ".register_parameter: the tensor for \"", name,
                               "\" is undefined; create it with a factory (zeros, empty, randn, ...)");
    if (!tensor.is_leaf()) tensor = tensor.detach();
    tensor.requires_grad_(requires_grad);
    return put(parameters_, name, std::move(tensor));
  }
  // A buffer is state that is not trained (BatchNorm's running statistics). Persistent
  // buffers are in state_dict().
  Tensor<T>& register_buffer(const std::string& name, Tensor<T> tensor, bool persistent = true) {
    check_name("register_buffer", name, &buffers_);
    if (tensor.defined() && !tensor.is_leaf()) tensor = tensor.detach();
    if (!persistent) non_persistent_.push_back(name);
    return put(buffers_, name, std::move(tensor));
  }
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module<T>, M>, "register_module: M must derive from tg::nn::Module<T> of the same T");
    check_name("register_module", name, &children_);
    if (!module) detail::fail<ValueError>(type_name_, ".register_module: the module for \"", name, "\" is null");
    put(children_, name, Ptr(module));
    return module;
  }

  // ---- traversal ----

  std::vector<Tensor<T>> parameters(bool recurse = true) const { return values(named_parameters(recurse)); }
  // Names are dotted paths: "encoder.0.weight". A tensor registered twice (shared
  // weights) is listed once, under its first name, as in PyTorch.
  Named<Tensor<T>> named_parameters(bool recurse = true) const {
    Named<Tensor<T>> out;
    collect(out, "", recurse, [](const Module& m) -> const Named<Tensor<T>>& { return m.parameters_; });
    return dedupe(out);
  }
  std::vector<Tensor<T>> buffers(bool recurse = true) const { return values(named_buffers(recurse)); }
  Named<Tensor<T>> named_buffers(bool recurse = true) const {
    Named<Tensor<T>> out;
    collect(out, "", recurse, [](const Module& m) -> const Named<Tensor<T>>& { return m.buffers_; });
    return out;
  }
  std::vector<Ptr> children() const { return values(children_); }
  const Named<Ptr>& named_children() const { return children_; }
  // This module (as a non-owning pointer) and every descendant, depth first.
  std::vector<Module*> modules() {
    std::vector<Module*> out;
    for (auto& [name, m] : named_modules()) out.push_back(m);
    return out;
  }
  Named<Module*> named_modules(const std::string& prefix = "") {
    Named<Module*> out{{prefix, this}};
    for (auto& [name, child] : children_) {
      for (auto& entry : child->named_modules(prefix.empty() ? name : prefix + "." + name)) out.push_back(entry);
    }
    return out;
  }

  // ---- modes ----

  Module& train(bool on = true) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
    return *this;
  }
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }

  // Clears (set_to_none) or zeroes every parameter's .grad.
  void zero_grad(bool set_to_none = true) {
    for (auto& p : parameters()) p.zero_grad(set_to_none);
  }

  // fn(module) for every submodule, children first, then this one (PyTorch's order).
  Module& apply(const std::function<void(Module&)>& fn) {
    for (auto& [name, child] : children_) child->apply(fn);
    fn(*this);
    return *this;
  }

  // ---- state ----

  // Parameters and persistent buffers, by dotted name (the tensors themselves, not
  // copies: save them or clone them).
  StateDict<T> state_dict() const {
    StateDict<T> out;
    add_state(out, "");
    return out;
  }

  // Copies the values of `sd` into this module's parameters and buffers. Everything is
  // checked before anything is written: a shape mismatch is always an error, and with
  // `strict` so is any missing or unexpected key; each is reported by name. The
  // tensors are written in place (handles held elsewhere, e.g. by an optimizer, stay
  // valid).
  LoadResult load_state_dict(const StateDict<T>& sd, bool strict = true) {
    StateDict<T> own = state_dict();
    LoadResult result;
    std::vector<std::string> shape_errors;
    for (const auto& [key, tensor] : own) {
      if (!sd.contains(key)) {
        result.missing_keys.push_back(key);
      } else if (const Tensor<T>& src = sd.at(key); !src.defined() || src.shape() != tensor.shape()) {
        shape_errors.push_back("\"" + key + "\": the checkpoint has shape " +
                               (src.defined() ? to_string(src.shape()) : std::string("<undefined>")) +
                               ", the module " + to_string(tensor.shape()));
      }
    }
    for (const auto& [key, tensor] : sd)
      if (!own.contains(key)) result.unexpected_keys.push_back(key);
    if (!shape_errors.empty() || (strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty()))) {
      std::ostringstream os;
      os << type_name_ << ".load_state_dict: the state dict does not match (nothing was loaded)";
      auto list = [&](const char* what, const std::vector<std::string>& items) {
        if (items.empty()) return;
        os << "; " << what << ": ";
        for (std::size_t i = 0; i < items.size(); ++i) os << (i ? ", " : "") << items[i];
      };
      list("size mismatch", shape_errors);
      if (strict) {
        list("missing keys", result.missing_keys);
        list("unexpected keys", result.unexpected_keys);
        os << ". Pass strict = false to load the matching keys only";
      }
      detail::fail<ValueError>(os.str());
    }
    NoGradGuard no_grad;
    for (auto& [key, tensor] : own)
      if (sd.contains(key)) tensor.copy_(sd.at(key));
    return result;
  }

  // ---- printing ----

  const std::string& type_name() const { return type_name_; }
  // The text inside the parentheses of this module's line: "in_features=4, out_features=2, bias=True".
  virtual std::string extra_repr() const { return ""; }
  // The module tree as PyTorch prints it.
  void pretty_print(std::ostream& os, int indent = 0) const {
    os << type_name_ << "(" << extra_repr();
    if (!children_.empty()) {
      os << "\n";
      for (const auto& [name, child] : children_) {
        os << std::string(indent + 2, ' ') << "(" << name << "): ";
        child->pretty_print(os, indent + 2);
        os << "\n";
      }
      os << std::string(indent, ' ');
    }
    os << ")";
  }

 protected:
  // The handle registered under `name` (for layers that re-read their parameters).
  Tensor<T>& parameter(const std::string& name) { return lookup(parameters_, name, "parameter"); }
  Tensor<T>& buffer(const std::string& name) { return lookup(buffers_, name, "buffer"); }

 private:
  template <typename V>
  static std::vector<V> values(const Named<V>& named) {
    std::vector<V> out;
    out.reserve(named.size());
    for (const auto& entry : named) out.push_back(entry.second);
    return out;
  }
  static Named<Tensor<T>> dedupe(const Named<Tensor<T>>& in) {
    Named<Tensor<T>> out;
    std::vector<const void*> seen;
    for (const auto& entry : in) {
      const void* id = entry.second.impl().get();
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      out.push_back(entry);
    }
    return out;
  }
  template <typename Select>
  void collect(Named<Tensor<T>>& out, const std::string& prefix, bool recurse, Select select) const {
    for (const auto& [name, t] : select(*this))
      if (t.defined()) out.emplace_back(prefix + name, t);
    if (!recurse) return;
    for (const auto& [name, child] : children_) child->collect(out, prefix + name + ".", true, select);
  }
  void add_state(StateDict<T>& out, const std::string& prefix) const {
    for (const auto& [name, t] : parameters_)
      if (t.defined()) out.insert(prefix + name, t);
    for (const auto& [name, t] : buffers_)
      if (t.defined() && std::find(non_persistent_.begin(), non_persistent_.end(), name) == non_persistent_.end())
        out.insert(prefix + name, t);
    for (const auto& [name, child] : children_) child->add_state(out, prefix + name + ".");
  }

  template <typename V>
  static V& put(Named<V>& list, const std::string& name, V value) {
    for (auto& entry : list)
      if (entry.first == name) return entry.second = std::move(value);
    list.emplace_back(name, std::move(value));
    return list.back().second;
  }
  template <typename V>
  V& lookup(Named<V>& list, const std::string& name, const char* what) {
    for (auto& entry : list)
      if (entry.first == name) return entry.second;
    detail::fail<IndexError>(type_name_, ": no ", what, " named \"", name, "\"");
  }
  template <typename V>
  bool has(const Named<V>& list, const std::string& name) const {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  }
  // Names are non-empty, contain no '.', and live in one of the three registries.
  template <typename V>
  void check_name(const char* fn, const std::string& name, const Named<V>* own) const {
    if (name.empty() || name.find('.') != std::string::npos)
      detail::fail<ValueError>(type_name_, ".", fn, ": the name \"", name,
                               "\" must be non-empty and contain no '.' (dots separate submodules)");
    const bool taken = (static_cast<const void*>(own) != &parameters_ && has(parameters_, name)) ||
                       (static_cast<const void*>(own) != &buffers_ && has(buffers_, name)) ||
                       (static_cast<const void*>(own) != &children_ && has(children_, name));
    if (taken)
      detail::fail<ValueError>(type_name_, ".", fn, ": \"", name,
                               "\" is already registered as another kind (parameter, buffer or module)");
  }

  std::string type_name_;
  bool training_ = true;
  Named<Tensor<T>> parameters_;
  Named<Tensor<T>> buffers_;
  std::vector<std::string> non_persistent_;
  Named<Ptr> children_;
};

template <typename T>
std::ostream& operator<<(std::ostream& os, const Module<T>& m) {
  m.pretty_print(os);
  return os;
}

}  // namespace tapegrad::nn

namespace tapegrad::detail {
// "True"/"False" as PyTorch prints booleans in extra_repr.
inline const char* py_bool(bool b) { return b ? "True" : "False"; }
// A number as Python prints it in repr: 1e-05, 0.1, 1.0.
inline std::string py_float(double v) {
  std::ostringstream os;
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}
}  // namespace tapegrad::detail
