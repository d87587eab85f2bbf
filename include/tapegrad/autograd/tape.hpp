#pragma once
// GradientTape: TensorFlow's way of asking for gradients, for users coming from it.
//
//   tg::GradientTape<> tape;           // records from here to the end of the scope
//   tape.watch(x);                     // x does not require grad: track it anyway
//   auto loss = ((x * w + b) - y).square().mean();
//   auto grads = tape.gradient(loss, {w, b});   // {dloss/dw, dloss/db}
//
// It is a view on the same define-by-run graph as backward() and tg::grad, not a
// second recorder:
// - The tape turns grad mode on for its lifetime (inside a NoGradGuard too) and
//   restores the previous mode when destroyed; stop_recording() pauses it.
// - Tensors that require grad (parameters) are tracked without watch(), like TF's
//   trainable variables. watch(x) on a tensor that does not require grad turns
//   requires_grad on for the tape's lifetime and back off when the tape is destroyed;
//   on a tensor that requires grad it does nothing. Only ops run after watch(x) see x.
// - gradient(target, sources) returns d(sum of target)/d(source) for each source (TF
//   seeds a non-scalar target with ones; pass output_gradient to weight it). It never
//   touches .grad. A source the target does not depend on (unused, or neither
//   watched nor requiring grad) gets an undefined tensor, where TF returns None, or
//   zeros with UnconnectedGradients::zero.
// - A tape computes one set of gradients and then frees the graph; a second
//   gradient() throws unless the tape is persistent (GradientTape<> tape(true)).
// - gradient() inside an enclosing tape records its own computation (create_graph),
//   so the enclosing tape can differentiate the gradient: TF's nested-tape idiom for
//   higher derivatives.
// - A tape belongs to the thread that created it. It cannot be copied or moved, so
//   gradient() on a destroyed tape cannot be written.

#include <initializer_list>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "../core.hpp"

namespace tapegrad {

// What gradient() returns for a source the target does not depend on (TF's tf.UnconnectedGradients).
enum class UnconnectedGradients {
  none,  // an undefined tensor (check .defined()), TF's None
  zero,  // zeros of the source's shape
};

namespace detail {
// Tapes alive on this thread: gradient() records its computation when one encloses it.
inline int& live_tapes() {
  thread_local int count = 0;
  return count;
}
}  // namespace detail

template <typename T = double>
class GradientTape {
  static_assert(std::is_floating_point_v<T>, "GradientTape<T> needs floating-point tensors (float or double)");

 public:
  explicit GradientTape(bool persistent = false)
      : persistent_(persistent), enclosed_(detail::live_tapes() > 0), grad_mode_(true) {
    ++detail::live_tapes();
  }
  ~GradientTape() {
    for (const auto& weak : switched_on_)
      if (const auto impl = weak.lock()) impl->requires_grad = false;
    --detail::live_tapes();
  }
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  bool persistent() const { return persistent_; }

  // Tracks x from now on. A non-leaf, or a tensor that requires grad, is tracked already.
  void watch(const Tensor<T>& x) {
    check_thread("watch");
    if (!x.defined()) detail::fail<ValueError>("GradientTape::watch: the tensor is undefined");
    if (x.requires_grad()) return;
    x.impl()->requires_grad = true;
    switched_on_.push_back(x.impl());
  }
  void watch(const std::vector<Tensor<T>>& xs) {
    for (const Tensor<T>& x : xs) watch(x);
  }

  // The tensors watch() switched requires_grad on for (TF's watched_variables()).
  std::vector<Tensor<T>> watched() const {
    std::vector<Tensor<T>> out;
    for (const auto& weak : switched_on_)
      if (auto impl = weak.lock()) out.emplace_back(std::move(impl));
    return out;
  }

  // Ops in the returned guard's scope are not recorded (TF's tape.stop_recording()):
  //   { auto pause = tape.stop_recording(); ... }
  NoGradGuard stop_recording() const { return NoGradGuard(); }

  // d(<output_gradient, target>)/d(source) for each source; output_gradient defaults to ones.
  std::vector<Tensor<T>> gradient(const Tensor<T>& target, const std::vector<Tensor<T>>& sources,
                                  const Tensor<T>& output_gradient = Tensor<T>(),
                                  UnconnectedGradients unconnected = UnconnectedGradients::none) {
    check_thread("gradient");
    if (used_ && !persistent_)
      detail::fail<GraphError>(
          "GradientTape::gradient: a non-persistent tape computes one set of gradients and frees "
          "its graph; create it as tg::GradientTape<T> tape(/*persistent=*/true) to call gradient() "
          "more than once");
    if (!target.defined()) detail::fail<ValueError>("GradientTape::gradient: the target is undefined");
    std::vector<Tensor<T>> live;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      if (!sources[i].defined()) detail::fail<ValueError>("GradientTape::gradient: source ", i, " is undefined");
      if (sources[i].requires_grad()) live.push_back(sources[i]);
    }
    Tensor<T> seed = output_gradient;
    if (seed.defined() && seed.shape() != target.shape())
      detail::fail<ShapeError>("GradientTape::gradient: output_gradient has shape ", detail::show(seed.shape()),
                               " but the target has shape ", detail::show(target.shape()),
                               "; pass one of the target's shape");
    used_ = true;

    std::vector<Tensor<T>> live_grads;
    if (target.requires_grad() && !live.empty()) {
      if (!seed.defined()) seed = ones_like(target);
      live_grads =
          tapegrad::grad(std::vector<Tensor<T>>{target}, live, {seed}, /*retain_graph=*/persistent_ || enclosed_,
                         /*create_graph=*/enclosed_, /*allow_unused=*/true);
    }
    std::vector<Tensor<T>> grads;
    for (std::size_t i = 0, next = 0; i < sources.size(); ++i) {
      Tensor<T> g;
      if (sources[i].requires_grad() && !live_grads.empty()) g = live_grads[next];
      if (sources[i].requires_grad()) ++next;
      if (!g.defined() && unconnected == UnconnectedGradients::zero) g = zeros<T>(sources[i].shape());
      grads.push_back(std::move(g));
    }
    return grads;
  }

  // A braced list of sources, {w} included, picks this one (not the single-source overload).
  std::vector<Tensor<T>> gradient(const Tensor<T>& target, std::initializer_list<Tensor<T>> sources,
                                  const Tensor<T>& output_gradient = Tensor<T>(),
                                  UnconnectedGradients unconnected = UnconnectedGradients::none) {
    return gradient(target, std::vector<Tensor<T>>(sources), output_gradient, unconnected);
  }

  Tensor<T> gradient(const Tensor<T>& target, const Tensor<T>& source, const Tensor<T>& output_gradient = Tensor<T>(),
                     UnconnectedGradients unconnected = UnconnectedGradients::none) {
    return gradient(target, std::vector<Tensor<T>>{source}, output_gradient, unconnected)[0];
  }

 private:
  void check_thread(const char* op) const {
    if (std::this_thread::get_id() != thread_)
      detail::fail<GraphError>("GradientTape::", op,
                               ": the tape belongs to the thread that created it (grad mode is per "
                               "thread); create a tape on this thread");
  }

  bool persistent_;
  bool enclosed_;  // another tape was alive on this thread when this one was created
  bool used_ = false;
  GradModeGuard grad_mode_;
  std::thread::id thread_ = std::this_thread::get_id();
  std::vector<std::weak_ptr<TensorImpl<T>>> switched_on_;
};

}  // namespace tapegrad
