#pragma once
// The reverse-mode engine. One backward pass:
//   1. walks the graph from the outputs iteratively (an explicit stack, never
//      recursion) and orders nodes topologically, consumers before producers;
//   2. runs each node's backward rule once all its consumers have run, summing
//      gradients per input and reducing broadcast gradients to the input's shape;
//   3. adds the leaf gradients into .grad only after every rule succeeded, so a
//      backward that throws leaves no .grad half-updated.
// Tensor hooks run on a gradient once it is complete (all consumers have run), just
// before the node it flows into uses it; retain_grad() gradients are deferred like
// leaf gradients. In anomaly mode every gradient a rule returns is checked for NaN/Inf.
// tg::grad() runs the same pass but returns the gradients of chosen inputs instead
// of touching .grad, and skips nodes that cannot reach them.

#include <atomic>
#include <optional>
#include <unordered_map>
#include <vector>

#include "anomaly.hpp"
#include "hooks.hpp"
#include "node.hpp"
#include "../ops/shape.hpp"

namespace tapegrad {
namespace detail {

// acc + g, in place when nobody else can observe acc's buffer.
template <typename T>
Tensor<T> add_gradients(Tensor<T> acc, const Tensor<T>& g) {
  if (!is_grad_enabled() && !acc.requires_grad() && acc.impl().use_count() == 1 &&
      acc.impl()->storage.use_count() == 1) {
    apply_run<T, AddFn>(acc.data_ptr(), true, g.data_ptr(), true, acc.data_ptr(), acc.numel());
    return acc;
  }
  return acc + g;
}

// t.grad += g, for leaves and retain_grad() tensors. Without create_graph the sum
// happens in place (handles to .grad see it, as in PyTorch); a gradient nobody else
// holds is adopted without a copy.
template <typename T>
TAPEGRAD_NOINLINE void accumulate_grad(TensorImpl<T>& t, const Tensor<T>& g, bool create_graph) {
  std::lock_guard<std::mutex> lock(leaf_mutex(&t));
  Tensor<T> current(t.grad);
  if (!current.defined()) {
    // Adopt g when nothing else holds its buffer; otherwise keep a private copy so
    // later in-place accumulation cannot write into someone else's tensor.
    const bool unique = g.impl().use_count() == 1 && g.impl()->storage.use_count() == 1;
    t.grad = create_graph || unique ? g.impl() : copy_kernel(g).impl();
  } else if (create_graph || current.requires_grad() || g.requires_grad()) {
    GradModeGuard mode(create_graph);
    t.grad = (current + g).impl();
  } else {
    apply_run<T, AddFn>(current.data_ptr(), true, g.data_ptr(), true, current.data_ptr(), current.numel());
    current.impl()->storage->bump_version();
  }
}

template <typename T>
class GraphTask;

// The backward pass running on this thread (innermost, when passes nest).
template <typename T>
GraphTask<T>*& running_task() {
  thread_local GraphTask<T>* task = nullptr;
  return task;
}

template <typename T>
class GraphTask {
  using Access = EngineAccess<T>;

 public:
  GraphTask(bool keep_graph, bool create_graph)
      : keep_graph_(keep_graph), create_graph_(create_graph), check_anomaly_(is_anomaly_enabled()),
        enclosing_(running_task<T>()) {
    running_task<T>() = this;
  }
  GraphTask(const GraphTask&) = delete;
  GraphTask& operator=(const GraphTask&) = delete;

  // Clears and releases the nodes this pass owned, whatever happens.
  ~GraphTask() {
    for (const std::shared_ptr<Node<T>>& n : claimed_) {
      Access::scratch(*n) = NodeScratch<T>();
      Access::owner(*n).store(nullptr, std::memory_order_release);
    }
    claimed_.clear();  // may destroy nodes no graph holds any more, after their owner_ is reset
    running_task<T>() = enclosing_;
  }

  // Whether the running pass will compute a gradient for `node` (custom functions'
  // needs_input_grad); read only, never claims the node.
  bool is_needed(Node<T>& node) const {
    if (Access::owner(node).load(std::memory_order_relaxed) == this) return Access::scratch(node).needed;
    const auto it = shared_.find(&node);
    return it != shared_.end() && it->second.needed;
  }

  // Returns the gradients of `inputs` when given (tg::grad), else accumulates into leaves.
  std::vector<Tensor<T>> run(const char* op, const std::vector<Tensor<T>>& outputs,
                             const std::vector<Tensor<T>>& grad_outputs, const std::vector<Tensor<T>>* inputs,
                             bool allow_unused) {
    std::vector<Edge<T>> roots;
    roots.reserve(outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) roots.push_back(gradient_edge(outputs[i]));

    std::vector<Edge<T>> targets;
    if (inputs) {
      capturing_ = true;
      for (std::size_t i = 0; i < inputs->size(); ++i) {
        const Tensor<T>& in = (*inputs)[i];
        if (!in.defined() || !in.requires_grad())
          fail<GraphError>(op, ": input ", i, " does not require grad, so no gradient can be computed for it; "
                               "call requires_grad_() on it before building the graph");
        targets.push_back(gradient_edge(in));
        scratch(*targets.back().node).captured = true;
      }
    }

    order_graph(roots);

    for (std::size_t i = 0; i < roots.size(); ++i) deliver(roots[i], Tensor<T>(grad_outputs[i]));

    std::vector<Tensor<T>> captured(targets.size());
    {
      GradModeGuard mode(create_graph_);
      for (std::size_t p = post_order_.size(); p-- > 0;) {
        Node<T>& node = *post_order_[p];
        NodeScratch<T>& state = scratch(node);
        if (!state.needed) continue;
        // The previous node's gradient vector is done with: its capacity goes to a later
        // node's buffer (deliver), so a pass allocates about as many of these as its widest
        // frontier, not one per node.
        grads_.clear();
        if (grads_.capacity() != 0) spare_buffers_.push_back(std::move(grads_));
        grads_ = std::move(state.buffer);
        state.buffer.clear();
        std::vector<Tensor<T>>& grads = grads_;
        // Hooks run first: tg::grad captures, and .grad receives, the hooked gradient (as in PyTorch).
        if (AccumulateGrad<T>* acc = node.as_accumulator()) {
          take_leaf_gradient(op, *acc, grads, targets, captured);
          continue;
        }
        if (const NodeExtras<T>* extras = Access::extras_if_any(node)) run_tensor_hooks(op, node, *extras, grads);
        if (state.captured) capture(node, grads, targets, captured);
        if (!feeds_needed_node(node) || !any_defined(grads)) continue;
        std::vector<Tensor<T>>& input_grads = input_grads_;  // one vector for every node of the pass
        input_grads.assign(node.next_edges().size(), Tensor<T>());
        if (check_anomaly_)
          apply_checked(op, node, grads, input_grads);
        else
          node.apply(grads, input_grads);
        if (!keep_graph_) node.release_saved();
        for (std::size_t i = 0; i < input_grads.size(); ++i) {
          const Edge<T>& edge = node.next_edges()[i];
          if (!edge.node || !input_grads[i].defined() || !scratch(*edge.node).needed) continue;
          deliver(edge, reduce_to_input(node, i, std::move(input_grads[i])));
        }
      }
    }

    grads_.clear();  // gradients held for the last node run: release them now
    input_grads_.clear();

    for (auto& [acc, g] : leaf_updates_) acc->accumulate(g, create_graph_);
    for (auto& [impl, g] : retained_updates_) accumulate_grad(*impl, g, create_graph_);

    for (std::size_t k = 0; k < captured.size(); ++k)
      if (!captured[k].defined() && !allow_unused)
        fail<GraphError>(op, ": input ", k, " is not reached from the outputs (it was not used to compute them, or "
                             "only through non-differentiable paths); pass allow_unused=true to get an undefined "
                             "tensor for it");
    return captured;
  }

 private:
  // Iterative depth-first search; post_order_ lists every node after all nodes it
  // leads to, so walking it backwards runs consumers before producers.
  void order_graph(const std::vector<Edge<T>>& roots) {
    std::vector<std::pair<Node<T>*, std::size_t>> stack;
    for (const Edge<T>& root : roots) {
      if (!root.node || scratch(*root.node).visited) continue;
      scratch(*root.node).visited = true;
      stack.emplace_back(root.node.get(), 0);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        const auto& edges = node->next_edges();
        if (next < edges.size()) {
          Node<T>* child = edges[next++].node.get();
          NodeScratch<T>* child_state = child ? &scratch(*child) : nullptr;
          if (child_state && !child_state->visited) {
            child_state->visited = true;
            stack.emplace_back(child, 0);
          }
          continue;
        }
        // In tg::grad only nodes that lead to a requested input need to run.
        NodeScratch<T>& state = scratch(*node);
        bool needed = !capturing_ || state.captured;
        for (const Edge<T>& e : edges) needed = needed || (e.node && scratch(*e.node).needed);
        state.needed = needed;
        post_order_.push_back(node);
        stack.pop_back();
      }
    }
  }

  // The hook and anomaly paths are cold and out of line, and hooks run through a
  // virtual call (HookList::run is compiled only where a hook is registered): the loop
  // above stays as it was without them (bench/overhead_bench.cpp, within 1%).

  static void capture(const Node<T>& node, const std::vector<Tensor<T>>& grads, const std::vector<Edge<T>>& targets,
                      std::vector<Tensor<T>>& captured) {
    for (std::size_t k = 0; k < targets.size(); ++k)
      if (targets[k].node.get() == &node && targets[k].input_nr < grads.size())
        captured[k] = grads[targets[k].input_nr];
  }

  // A leaf's gradient: its hooks run, tg::grad captures the result, backward() defers
  // adding it into .grad until every rule has succeeded.
  TAPEGRAD_COLD void take_leaf_gradient(const char* op, AccumulateGrad<T>& acc, std::vector<Tensor<T>>& grads,
                                        const std::vector<Edge<T>>& targets, std::vector<Tensor<T>>& captured) {
    if (grads.empty() || !grads[0].defined()) return;
    const std::shared_ptr<TensorImpl<T>> leaf = acc.leaf();
    if (leaf && leaf->hooks && leaf->hooks->list) {
      const std::shared_ptr<HookList<T>> hooks = leaf->hooks->list;  // a hook may remove the others
      grads[0] = hooks->run(op, std::move(grads[0]), check_anomaly_, HookSite<T>{nullptr, 0, &leaf->shape});
    }
    if (check_anomaly_) check_leaf_gradient(op, acc, grads[0]);
    if (scratch(acc).captured) capture(acc, grads, targets, captured);
    if (!capturing_)
      leaf_updates_.emplace_back(std::static_pointer_cast<AccumulateGrad<T>>(acc.shared_from_this()), std::move(grads[0]));
  }

  // A non-leaf's hooks run on the gradient of output k of its grad_fn before the rule
  // uses it; retain_grad() outputs then keep that (hooked) gradient for .grad.
  TAPEGRAD_COLD void run_tensor_hooks(const char* op, Node<T>& node, const NodeExtras<T>& extras,
                                      std::vector<Tensor<T>>& grads) {
    for (std::size_t k = 0; k < extras.hooks.size() && k < grads.size(); ++k) {
      const std::shared_ptr<HookList<T>> hooks = extras.hooks[k];  // a hook may add hooks to this node
      if (!hooks || !grads[k].defined()) continue;
      grads[k] = hooks->run(op, std::move(grads[k]), check_anomaly_,
                            HookSite<T>{&node, static_cast<std::uint32_t>(k), nullptr});
    }
    if (capturing_) return;  // tg::grad leaves every .grad alone
    for (std::size_t k = 0; k < extras.retained.size() && k < grads.size(); ++k)
      if (grads[k].defined())
        if (std::shared_ptr<TensorImpl<T>> retained = extras.retained[k].lock())
          retained_updates_.emplace_back(std::move(retained), grads[k]);
  }

  // Anomaly mode: runs the rule, then throws "LogBackward0 returned nan in its 0th
  // output" if it returned NaN or Inf, where output i is the gradient for the node's
  // input i (PyTorch's wording). With create_graph, the nodes the rule records inherit
  // the forward op's label.
  TAPEGRAD_COLD void apply_checked(const char* op, Node<T>& node, const std::vector<Tensor<T>>& grads,
                                   std::vector<Tensor<T>>& input_grads) const {
    if (create_graph_ && !node.creation_label().empty()) {
      AnomalyLabelOverride label(node.creation_label());
      node.apply(grads, input_grads);
    } else {
      node.apply(grads, input_grads);
    }
    for (std::size_t i = 0; i < input_grads.size(); ++i) {
      const Tensor<T>& g = input_grads[i];
      if (!g.defined()) continue;
      if (const char* bad = first_non_finite(g.data_ptr(), static_cast<std::size_t>(g.numel())))
        fail<GraphError>(op, ": ", node.name(), " returned ", bad, " in its ", ordinal(i), " output",
                         created_at(node));
    }
  }

  // Every rule's outputs are checked already; what can still go wrong on the way to a
  // leaf is the sum of several finite gradients overflowing.
  TAPEGRAD_COLD static void check_leaf_gradient(const char* op, AccumulateGrad<T>& acc, const Tensor<T>& g) {
    if (const char* bad = first_non_finite(g.data_ptr(), static_cast<std::size_t>(g.numel())))
      fail<GraphError>(op, ": AccumulateGrad received ", bad, " for a leaf of shape ", show(g.shape()),
                       " (the finite gradients reaching it overflow when summed)", created_at(acc));
  }

  static std::string created_at(const Node<T>& node) {
    const std::string& label = node.creation_label();
    if (!label.empty()) return ". The forward op was created at: " + label;
    return " (anomaly mode; wrap the forward code in a tg::AnomalyLabel scope to see where this op was created)";
  }

  bool feeds_needed_node(const Node<T>& node) {
    if (!capturing_) return true;
    for (const Edge<T>& e : node.next_edges())
      if (e.node && scratch(*e.node).needed) return true;
    return false;
  }

  static bool any_defined(const std::vector<Tensor<T>>& grads) {
    for (const Tensor<T>& g : grads)
      if (g.defined()) return true;
    return false;
  }

  // The one place where gradients of broadcast inputs are summed back to the input's shape.
  static Tensor<T> reduce_to_input(const Node<T>& node, std::size_t i, Tensor<T> g) {
    const Shape& shape = node.next_edges()[i].shape;
    if (g.shape() == shape) return g;
    if (!broadcastable_to(shape, g.shape()))
      fail<GraphError>("backward: ", node.name(), " returned a gradient of shape ", show(g.shape()), " for its input ",
                       i, ", which has shape ", show(shape), " (the backward rule is wrong)");
    return sum_to(g, shape);
  }

  void deliver(const Edge<T>& edge, Tensor<T> g) {
    if (!edge.node) return;
    auto& buffer = scratch(*edge.node).buffer;
    if (buffer.empty()) {
      if (!spare_buffers_.empty()) {  // a vector of a node already run (see run())
        buffer.swap(spare_buffers_.back());
        spare_buffers_.pop_back();
      }
      buffer.resize(edge.node->num_outputs());
    }
    Tensor<T>& slot = buffer[edge.input_nr];
    slot = slot.defined() ? add_gradients(std::move(slot), g) : std::move(g);
  }

  // This pass's state for `node`: in the node when this pass owns it (claimed on first
  // touch with one compare-and-swap), else in shared_. Graphs on different threads
  // share leaves (a parameter's AccumulateGrad), and a nested pass (checkpoint's
  // recomputation, a custom function's backward calling tg::grad) reaches nodes its
  // enclosing pass owns: both get a private state instead of racing on the node's.
  NodeScratch<T>& scratch(Node<T>& node) {
    std::atomic<const void*>& owner = Access::owner(node);
    const void* current = owner.load(std::memory_order_relaxed);
    if (current == this) return Access::scratch(node);
    if (!shared_.empty()) {
      const auto it = shared_.find(&node);
      if (it != shared_.end()) return it->second;
    }
    if (current == nullptr && owner.compare_exchange_strong(current, this, std::memory_order_acquire)) {
      // Owned, not pointed to: a node this pass claimed may otherwise die before the pass
      // resets it in ~GraphTask (an input's fresh accumulator, held only by run()'s
      // targets, or a leaf's accumulator shared with a graph another thread drops).
      claimed_.push_back(node.shared_from_this());
      return Access::scratch(node);
    }
    return shared_[&node];
  }

  bool keep_graph_, create_graph_;
  bool check_anomaly_;  // read once per pass: anomaly mode costs nothing per node when off
  bool capturing_ = false;
  GraphTask* enclosing_;  // the pass running on this thread when this one started
  std::vector<Node<T>*> post_order_;
  std::vector<std::shared_ptr<Node<T>>> claimed_;  // nodes whose owner_ is this pass
  std::vector<Tensor<T>> grads_, input_grads_;           // the running node's gradients in and out
  std::vector<std::vector<Tensor<T>>> spare_buffers_;    // emptied gradient vectors, for reuse
  std::unordered_map<Node<T>*, NodeScratch<T>> shared_;
  // Deferred so that a backward that throws leaves every .grad as it was.
  std::vector<std::pair<std::shared_ptr<AccumulateGrad<T>>, Tensor<T>>> leaf_updates_;
  std::vector<std::pair<std::shared_ptr<TensorImpl<T>>, Tensor<T>>> retained_updates_;
};

// Whether the backward pass running on this thread computes a gradient for `node`
// (true outside backward).
template <typename T>
bool needed_in_running_pass(Node<T>& node) {
  GraphTask<T>* task = running_task<T>();
  return !task || task->is_needed(node);
}

template <typename T>
std::vector<Tensor<T>> run_backward(const char* op, const std::vector<Tensor<T>>& outputs,
                                    const std::vector<Tensor<T>>& grad_outputs, std::optional<bool> retain_graph,
                                    bool create_graph, const std::vector<Tensor<T>>* inputs, bool allow_unused) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    fail<ValueError>(op, ": got ", grad_outputs.size(), " gradients for ", outputs.size(),
                     " outputs; pass one per output (or none for scalar outputs)");
  std::vector<Tensor<T>> seeds(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor<T>& out = outputs[i];
    if (!out.defined()) fail<ValueError>(op, ": output ", i, " is an undefined tensor");
    if (!out.requires_grad())
      fail<GraphError>(op, ": the output does not require grad and has no grad_fn, so there is nothing to "
                           "differentiate; call requires_grad_() on the leaf inputs before computing it (and do not "
                           "compute it inside a NoGradGuard)");
    const Tensor<T> given = grad_outputs.empty() ? Tensor<T>() : grad_outputs[i];
    if (!given.defined()) {
      if (out.numel() != 1)
        fail<ShapeError>(op, ": output has ", out.numel(), " elements; pass a gradient of shape ", show(out.shape()),
                         " or reduce it to a scalar first (e.g. y.sum().backward())");
      Tensor<T> one = empty<T>(out.shape());
      one.data_ptr()[0] = T(1);
      seeds[i] = one;
    } else {
      if (given.shape() != out.shape())
        fail<ShapeError>(op, ": gradient has shape ", show(given.shape()), " but the output has shape ",
                         show(out.shape()), "; pass a gradient of the output's shape");
      if (is_anomaly_enabled())
        if (const char* bad = first_non_finite(given.data_ptr(), static_cast<std::size_t>(given.numel())))
          fail<GraphError>(op, ": the gradient passed for output ", i, " contains ", bad, " (anomaly mode)");
      seeds[i] = given;
    }
  }
  GraphTask<T> task(retain_graph.value_or(create_graph), create_graph);
  return task.run(op, outputs, seeds, inputs, allow_unused);
}

}  // namespace detail

template <typename T>
void AccumulateGrad<T>::accumulate(const Tensor<T>& g, bool create_graph) {
  const std::shared_ptr<TensorImpl<T>> leaf = leaf_.lock();
  if (!leaf) return;  // the leaf is gone, and with it every way to read its .grad
  detail::accumulate_grad(*leaf, g, create_graph);
}

template <typename T>
void Tensor<T>::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  detail::run_backward<T>("backward", {*this}, {gradient}, retain_graph, create_graph, nullptr, false);
}

// Gradients of `outputs` with respect to `inputs`, returned instead of accumulated
// into .grad. `grad_outputs` seeds each output (may be empty for scalar outputs);
// retain_graph defaults to create_graph; with create_graph=true the results are
// themselves differentiable. Unused inputs throw unless allow_unused, which returns
// an undefined tensor for them.
template <typename T>
std::vector<Tensor<T>> grad(const std::vector<Tensor<T>>& outputs,
                            const std::vector<Tensor<detail::type_identity_t<T>>>& inputs,
                            const std::vector<Tensor<detail::type_identity_t<T>>>& grad_outputs = {},
                            std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                            bool allow_unused = false) {
  return detail::run_backward<T>("grad", outputs, grad_outputs, retain_graph, create_graph, &inputs, allow_unused);
}

template <typename T>
std::vector<Tensor<T>> grad(std::initializer_list<Tensor<T>> outputs,
                            const std::vector<Tensor<detail::type_identity_t<T>>>& inputs,
                            const std::vector<Tensor<detail::type_identity_t<T>>>& grad_outputs = {},
                            std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                            bool allow_unused = false) {
  return grad(std::vector<Tensor<T>>(outputs), inputs, grad_outputs, retain_graph, create_graph, allow_unused);
}

template <typename T>
std::vector<Tensor<T>> grad(const Tensor<T>& output, const std::vector<Tensor<detail::type_identity_t<T>>>& inputs,
                            const std::vector<Tensor<detail::type_identity_t<T>>>& grad_outputs = {},
                            std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                            bool allow_unused = false) {
  return grad(std::vector<Tensor<T>>{output}, inputs, grad_outputs, retain_graph, create_graph, allow_unused);
}

}  // namespace tapegrad
