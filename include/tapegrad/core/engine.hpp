#pragma once
// The reverse-mode engine. One backward pass:
//   1. walks the graph from the outputs iteratively (an explicit stack, never
//      recursion) and orders nodes topologically, consumers before producers;
//   2. runs each node's backward rule once all its consumers have run, summing
//      gradients per input and reducing broadcast gradients to the input's shape;
//   3. adds the leaf gradients into .grad only after every rule succeeded, so a
//      backward that throws leaves no .grad half-updated.
// tg::grad() runs the same pass but returns the gradients of chosen inputs instead
// of touching .grad, and skips nodes that cannot reach them.

#include <optional>
#include <vector>

#include "node.hpp"
#include "../ops/shape.hpp"

namespace tapegrad {
namespace detail {

template <typename T>
struct EngineAccess {
  static std::vector<Tensor<T>>& buffer(Node<T>& n) { return n.buffer_; }
  static bool& visited(Node<T>& n) { return n.visited_; }
  static bool& needed(Node<T>& n) { return n.needed_; }
  static bool& captured(Node<T>& n) { return n.captured_; }
};

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

template <typename T>
class GraphTask {
  using Access = EngineAccess<T>;

 public:
  GraphTask(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), create_graph_(create_graph) {}
  GraphTask(const GraphTask&) = delete;
  GraphTask& operator=(const GraphTask&) = delete;

  // Engine scratch lives in the nodes; clear it whatever happens.
  ~GraphTask() {
    for (Node<T>* n : post_order_) {
      Access::visited(*n) = Access::needed(*n) = Access::captured(*n) = false;
      Access::buffer(*n).clear();
    }
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
        Access::captured(*targets.back().node) = true;
      }
    }

    order_graph(roots);

    for (std::size_t i = 0; i < roots.size(); ++i) deliver(roots[i], Tensor<T>(grad_outputs[i]));

    std::vector<Tensor<T>> captured(targets.size());
    std::vector<std::pair<AccumulateGrad<T>*, Tensor<T>>> leaf_updates;
    {
      GradModeGuard mode(create_graph_);
      for (std::size_t p = post_order_.size(); p-- > 0;) {
        Node<T>& node = *post_order_[p];
        if (!Access::needed(node)) continue;
        std::vector<Tensor<T>> grads = std::move(Access::buffer(node));
        Access::buffer(node).clear();
        if (Access::captured(node))
          for (std::size_t k = 0; k < targets.size(); ++k)
            if (targets[k].node.get() == &node && targets[k].input_nr < grads.size())
              captured[k] = grads[targets[k].input_nr];
        if (AccumulateGrad<T>* acc = node.as_accumulator()) {
          if (!capturing_ && !grads.empty() && grads[0].defined()) leaf_updates.emplace_back(acc, std::move(grads[0]));
          continue;
        }
        if (!feeds_needed_node(node) || !any_defined(grads)) continue;
        std::vector<Tensor<T>> input_grads(node.next_edges().size());
        node.apply(grads, input_grads);
        if (!keep_graph_) node.release_saved();
        for (std::size_t i = 0; i < input_grads.size(); ++i) {
          const Edge<T>& edge = node.next_edges()[i];
          if (!edge.node || !input_grads[i].defined() || !Access::needed(*edge.node)) continue;
          deliver(edge, reduce_to_input(node, i, std::move(input_grads[i])));
        }
      }
    }

    for (auto& [acc, g] : leaf_updates) acc->accumulate(g, create_graph_);

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
      if (!root.node || Access::visited(*root.node)) continue;
      Access::visited(*root.node) = true;
      stack.emplace_back(root.node.get(), 0);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        const auto& edges = node->next_edges();
        if (next < edges.size()) {
          Node<T>* child = edges[next++].node.get();
          if (child && !Access::visited(*child)) {
            Access::visited(*child) = true;
            stack.emplace_back(child, 0);
          }
          continue;
        }
        // In tg::grad only nodes that lead to a requested input need to run.
        bool needed = !capturing_ || Access::captured(*node);
        for (const Edge<T>& e : edges) needed = needed || (e.node && Access::needed(*e.node));
        Access::needed(*node) = needed;
        post_order_.push_back(node);
        stack.pop_back();
      }
    }
  }

  bool feeds_needed_node(const Node<T>& node) const {
    if (!capturing_) return true;
    for (const Edge<T>& e : node.next_edges())
      if (e.node && Access::needed(*e.node)) return true;
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
    auto& buffer = Access::buffer(*edge.node);
    if (buffer.empty()) buffer.resize(edge.node->num_outputs());
    Tensor<T>& slot = buffer[edge.input_nr];
    slot = slot.defined() ? add_gradients(std::move(slot), g) : std::move(g);
  }

  bool keep_graph_, create_graph_;
  bool capturing_ = false;
  std::vector<Node<T>*> post_order_;
};

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
  std::lock_guard<std::mutex> lock(detail::leaf_mutex(leaf.get()));
  Tensor<T> current(leaf->grad);
  if (!current.defined()) {
    // Adopt g when nothing else holds its buffer; otherwise keep a private copy so
    // later in-place accumulation cannot write into someone else's tensor.
    const bool unique = g.impl().use_count() == 1 && g.impl()->storage.use_count() == 1;
    leaf->grad = create_graph || unique ? g.impl() : detail::copy_kernel(g).impl();
  } else if (create_graph || current.requires_grad() || g.requires_grad()) {
    GradModeGuard mode(create_graph);
    leaf->grad = (current + g).impl();
  } else {
    detail::apply_run<T, detail::AddFn>(current.data_ptr(), true, g.data_ptr(), true, current.data_ptr(),
                                        current.numel());
    current.impl()->storage->bump_version();
  }
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
