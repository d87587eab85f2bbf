#pragma once
// Tensor hooks and retain_grad, as in PyTorch:
//
//   auto handle = h.register_hook([](const tg::Tensor<double>& g) { return g * 2; });
//   h.retain_grad();          // after backward, h.grad() holds dL/dh (a non-leaf)
//   loss.backward();          // the hook ran on dL/dh before h's grad_fn used it
//   handle.remove();
//
// Where hooks live: a leaf's on its TensorImpl (they run on the gradient before it is
// added into .grad); a non-leaf's on its grad_fn, keyed by output_nr (they run on the
// gradient flowing into that output before the node's backward rule, like PyTorch's
// tensor pre-hooks), so they keep working when the handle to the tensor is dropped.
//
// No reference cycles: handles hold the hook list weakly, and retain_grad makes the
// node hold the tensor weakly (tensor -> grad_fn -> tensor would otherwise never be
// freed). A hook that captures its own tensor by value closes exactly that cycle:
// capture a std::weak_ptr to t.impl(), or t.detach() when only the values are needed.
//
// Register and remove hooks before a tensor is shared with other threads: backward on
// one thread reads the hook lists that register_hook on another would change.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "anomaly.hpp"
#include "node.hpp"

namespace tapegrad {
namespace detail {

// What a RemovableHandle refers to: something hooks can be taken out of.
class HookRegistry {
 public:
  virtual ~HookRegistry() = default;
  virtual void remove(std::uint64_t id) = 0;
};

}  // namespace detail

// Returned by register_hook. remove() unregisters the hook; calling it again, or
// after the tensor and its graph are gone, does nothing. The handle holds the hooks
// weakly, so it keeps no tensor or graph alive. Dropping it does not remove the
// hook (as in PyTorch).
class RemovableHandle {
 public:
  RemovableHandle() = default;
  RemovableHandle(std::weak_ptr<detail::HookRegistry> registry, std::uint64_t id)
      : registry_(std::move(registry)), id_(id) {}

  void remove() {
    if (auto registry = registry_.lock()) registry->remove(id_);
    registry_.reset();
  }

 private:
  std::weak_ptr<detail::HookRegistry> registry_;
  std::uint64_t id_ = 0;
};

namespace detail {

template <typename T>
using TensorHook = std::function<Tensor<T>(const Tensor<T>&)>;

// Which gradient a list of hooks is on, for error messages: a leaf's (grad_fn null)
// or output `output_nr` of grad_fn.
template <typename T>
struct HookSite {
  const Node<T>* grad_fn;
  std::uint32_t output_nr;
  const Shape* leaf_shape;
};

// "the gradient of a leaf of shape [2, 3]" / "... of the tensor with grad_fn MulBackward0".
template <typename T>
std::string describe_hook_site(const HookSite<T>& site) {
  if (!site.grad_fn) return "the gradient of a leaf of shape " + to_string(*site.leaf_shape);
  std::string s = "the gradient of the tensor with grad_fn " + site.grad_fn->name();
  if (site.grad_fn->num_outputs() > 1) s += " (its output " + std::to_string(site.output_nr) + ")";
  return s;
}

// The hooks on one gradient (a leaf's, or one output of a node), in registration order.
template <typename T>
class HookList : public HookRegistry {
 public:
  std::uint64_t add(TensorHook<T> hook) {
    entries_.push_back(Entry{next_id_, std::make_shared<TensorHook<T>>(std::move(hook))});
    return next_id_++;
  }
  void remove(std::uint64_t id) override {
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [id](const Entry& e) { return e.id == id; }),
                   entries_.end());
  }
  bool empty() const { return entries_.empty(); }

  // Runs the hooks on `grad` in order, each on the previous one's result; an
  // undefined result keeps the gradient. Virtual so that the engine's call does not
  // instantiate it: a program that never registers a hook never compiles this.
  virtual Tensor<T> run(const char* op, Tensor<T> grad, bool check_anomaly, const HookSite<T>& site) const {
    const std::vector<Entry> hooks = entries_;  // a hook may remove itself (or add others) while we run
    for (std::size_t i = 0; i < hooks.size(); ++i) {
      Tensor<T> result = (*hooks[i].fn)(grad);
      if (!result.defined()) continue;
      if (result.shape() != grad.shape())
        fail<ShapeError>(op, ": hook ", i, " (of ", hooks.size(), ", counted from 0 in registration order) on ",
                         describe_hook_site(site), " returned a gradient of shape ", show(result.shape()),
                         ", but the gradient has shape ", show(grad.shape()), "; a hook must return a tensor of the "
                         "gradient's shape, or an undefined tensor to keep the gradient unchanged");
      if (check_anomaly)
        if (const char* bad = first_non_finite(result.data_ptr(), static_cast<std::size_t>(result.numel())))
          fail<GraphError>(op, ": hook ", i, " on ", describe_hook_site(site), " returned ", bad, " (anomaly mode)");
      grad = std::move(result);
    }
    return grad;
  }

 private:
  struct Entry {
    std::uint64_t id;
    std::shared_ptr<TensorHook<T>> fn;
  };
  std::vector<Entry> entries_;
  std::uint64_t next_id_ = 0;
};

// Wraps a user callable into a TensorHook: callables returning void only observe.
template <typename T, typename F>
TensorHook<T> make_tensor_hook(F&& hook) {
  using Fn = std::decay_t<F>;
  static_assert(std::is_invocable_v<Fn&, const Tensor<T>&>,
                "register_hook: the hook must be callable as hook(const tg::Tensor<T>& grad)");
  using Result = std::invoke_result_t<Fn&, const Tensor<T>&>;
  static_assert(std::is_void_v<Result> || std::is_convertible_v<Result, Tensor<T>>,
                "register_hook: the hook must return a tg::Tensor<T> (the new gradient; undefined keeps it) or void");
  if constexpr (std::is_void_v<Result>) {
    return [fn = Fn(std::forward<F>(hook))](const Tensor<T>& grad) mutable {
      fn(grad);
      return Tensor<T>();
    };
  } else {
    return [fn = Fn(std::forward<F>(hook))](const Tensor<T>& grad) mutable -> Tensor<T> { return fn(grad); };
  }
}

}  // namespace detail

template <typename T>
template <typename F>
RemovableHandle Tensor<T>::register_hook(F&& hook) const {
  TensorImpl<T>& impl = checked();
  if (!impl.requires_grad)
    detail::fail<GraphError>("register_hook: cannot register a hook on a tensor that does not require grad (no "
                             "gradient will ever flow into it); call requires_grad_() on the leaf first, or register "
                             "it on a tensor computed from inputs that require grad");
  detail::TensorHook<T> fn = detail::make_tensor_hook<T>(std::forward<F>(hook));
  std::shared_ptr<detail::HookList<T>> list;
  if (impl.grad_fn) {
    auto& hooks = detail::EngineAccess<T>::extras(*impl.grad_fn).hooks;
    if (hooks.size() <= impl.output_nr) hooks.resize(impl.output_nr + 1);
    auto& slot = hooks[impl.output_nr];
    if (!slot) slot = std::make_shared<detail::HookList<T>>();
    list = slot;
  } else {
    if (!impl.hooks) impl.hooks = std::make_unique<detail::LeafHooks<T>>();
    if (!impl.hooks->list) impl.hooks->list = std::make_shared<detail::HookList<T>>();
    list = impl.hooks->list;
  }
  const std::uint64_t id = list->add(std::move(fn));
  return RemovableHandle(std::weak_ptr<detail::HookRegistry>(list), id);
}

template <typename T>
void Tensor<T>::retain_grad() const {
  TensorImpl<T>& impl = checked();
  if (!impl.requires_grad)
    detail::fail<GraphError>("retain_grad: cannot retain the gradient of a tensor that does not require grad; call "
                             "requires_grad_() on the leaf inputs before computing it");
  if (!impl.grad_fn) return;  // leaves keep their .grad anyway
  auto& retained = detail::EngineAccess<T>::extras(*impl.grad_fn).retained;
  if (retained.size() <= impl.output_nr) retained.resize(impl.output_nr + 1);
  retained[impl.output_nr] = impl_;  // weakly: the node must not keep its own output alive
}

template <typename T>
bool Tensor<T>::retains_grad() const {
  const TensorImpl<T>& impl = checked();
  if (!impl.grad_fn) return false;  // as in PyTorch: only non-leaves "retain"
  const detail::NodeExtras<T>* extras = detail::EngineAccess<T>::extras_if_any(*impl.grad_fn);
  return extras && impl.output_nr < extras->retained.size() && extras->retained[impl.output_nr].lock() == impl_;
}

template <typename T>
Tensor<T> Tensor<T>::grad() const {
  const TensorImpl<T>& impl = checked();
  if (impl.grad_fn && impl.requires_grad && !impl.grad && !retains_grad()) {
    if (!detail::warning_state().nonleaf_grad_warned.exchange(true))
      warn("grad(): reading .grad() of a tensor that is not a leaf (grad_fn " + impl.grad_fn->name() +
           "); backward() does not fill it, so it is undefined. Call retain_grad() on it before backward() if you "
           "want its gradient, or read the gradient of the leaf you meant (a parameter built as randn(...) * 0.01 "
           "is not a leaf: scale it inside a tg::NoGradGuard or register it with tg::nn::Module::register_parameter)");
  }
  return Tensor(impl.grad);
}

}  // namespace tapegrad
