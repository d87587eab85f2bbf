#pragma once
// The backward graph. Each recorded op creates one Node (its grad_fn) holding the
// backward rule, the tensors it saved, and edges to the nodes of its inputs. Leaves
// that require grad get an AccumulateGrad node. An op is written in one place:
//
//   Tensor<T> out = <forward kernel>;
//   return record(out, "MulBackward0", {a, b}, [sa = save(a), sb = save(b)](Grads<T>& g) {
//     if (g.needs(0)) g.in[0] = g.out * g[sb];  // d(ab)/da = b
//     if (g.needs(1)) g.in[1] = g.out * g[sa];  // d(ab)/db = a
//   });
//
// Backward rules use tapegrad ops, so with create_graph=true they record too and
// higher derivatives come for free. Gradients of broadcast inputs are reduced back
// to the input's shape by the engine, never inside a rule.

#include <array>
#include <cstddef>
#include <new>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "anomaly.hpp"
#include "tensor.hpp"

namespace tapegrad {

template <typename T>
struct Edge {
  std::shared_ptr<Node<T>> node;  // null: the input does not require grad
  std::uint32_t input_nr = 0;     // which gradient slot of `node` this edge feeds
  Shape shape;                    // shape of the input: gradients are summed back to it
};

// A node's edges, one per input: allocated from the per-thread block caches
// (core/pool.hpp), since every recorded op makes one such list.
template <typename T>
using EdgeList = std::vector<Edge<T>, detail::PoolAllocator<Edge<T>>>;

namespace detail {

// Sequence numbers order nodes by creation; per thread, as each thread records its own graphs.
inline std::uint64_t next_sequence_nr() {
  thread_local std::uint64_t counter = 0;
  return counter++;
}

// Leaves may be shared by graphs on several threads: creating their accumulator and
// adding into .grad take one of these locks (striped by address to stay small).
inline std::mutex& leaf_mutex(const void* leaf) {
  static std::array<std::mutex, 64> mutexes;
  return mutexes[(reinterpret_cast<std::uintptr_t>(leaf) >> 6) % mutexes.size()];
}

template <typename T>
struct EngineAccess;

// What one backward pass keeps per node.
template <typename T>
struct NodeScratch {
  std::vector<Tensor<T>> buffer;  // incoming gradients, one slot per output
  bool visited = false;           // reached by the graph walk
  bool needed = false;            // leads to a requested input (tg::grad)
  bool captured = false;          // a requested input's node
};

template <typename T>
class HookList;

// What few nodes carry, kept behind one pointer so the common node pays 8 bytes for it.
template <typename T>
struct NodeExtras {
  std::string creation_label;  // the AnomalyLabel active when the node was created (anomaly mode)
  std::vector<std::shared_ptr<HookList<T>>> hooks;     // tensor hooks by output_nr (null: none)
  std::vector<std::weak_ptr<TensorImpl<T>>> retained;  // retain_grad() outputs by output_nr, held weakly
};

}  // namespace detail

template <typename T>
class AccumulateGrad;

template <typename T>
class Node : public std::enable_shared_from_this<Node<T>> {
 public:
  explicit Node(std::size_t num_outputs = 1) : sequence_nr_(detail::next_sequence_nr()), num_outputs_(num_outputs) {
    // Here rather than in record(), so every node (custom functions too) gets it.
    if (is_anomaly_enabled()) remember_creation_label();
  }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Frees long chains iteratively: destroying the last handle to the output of a
  // million-op chain must not recurse a million frames deep.
  virtual ~Node() {
    std::vector<std::shared_ptr<Node>> pending;
    take_children(pending);
    while (!pending.empty()) {
      std::shared_ptr<Node> node = std::move(pending.back());
      pending.pop_back();
      if (node.use_count() == 1) {
        node->take_children(pending);
        node->release_saved();  // saved tensors may hold the next nodes too
      }
    }
  }

  // As PyTorch prints it: "MulBackward0", "AccumulateGrad".
  virtual std::string name() const = 0;
  const EdgeList<T>& next_edges() const { return next_edges_; }
  std::uint64_t sequence_nr() const { return sequence_nr_; }
  // How many gradients this node receives: one per output of the forward op.
  std::size_t num_outputs() const { return num_outputs_; }

  // Runs the backward rule: `grad_outputs` has num_outputs() entries (undefined = zero),
  // `grad_inputs` is sized to next_edges() and filled with one gradient per input.
  virtual void apply(const std::vector<Tensor<T>>& grad_outputs, std::vector<Tensor<T>>& grad_inputs) = 0;
  // Drops saved tensors once a backward without retain_graph has used them.
  virtual void release_saved() {}
  // The engine defers leaf accumulation; this tells it which nodes are leaf sinks
  // without a dynamic_cast per node.
  virtual AccumulateGrad<T>* as_accumulator() { return nullptr; }

  // Graph construction: record() and custom functions add one edge per input.
  void add_next_edge(Edge<T> edge) { next_edges_.push_back(std::move(edge)); }
  void reserve_next_edges(std::size_t n) { next_edges_.reserve(n); }

  // Anomaly mode: the AnomalyLabel active when this node was created ("" if none).
  const std::string& creation_label() const {
    static const std::string none;
    return extras_ ? extras_->creation_label : none;
  }

 protected:
  EdgeList<T> next_edges_;

 private:
  friend struct detail::EngineAccess<T>;

  TAPEGRAD_COLD void remember_creation_label() {
    const std::string& label = current_anomaly_label();
    if (label.empty()) return;
    extras_ = std::make_unique<detail::NodeExtras<T>>();
    extras_->creation_label = label;
  }

  void take_children(std::vector<std::shared_ptr<Node>>& into) {
    for (auto& e : next_edges_)
      if (e.node) into.push_back(std::move(e.node));
    next_edges_.clear();
  }

  std::uint64_t sequence_nr_;
  std::size_t num_outputs_;
  // Scratch of the backward pass that owns this node (owner_), so a pass needs no
  // map from node to state. A node that another pass already owns (a leaf shared
  // by graphs on two threads, or an outer pass's node reached by a nested one)
  // gets its state in that pass's side map instead (detail::GraphTask::scratch).
  detail::NodeScratch<T> scratch_;
  std::atomic<const void*> owner_{nullptr};
  std::unique_ptr<detail::NodeExtras<T>> extras_;  // hooks, retain_grad, anomaly label; usually null
};

namespace detail {

// The engine's and the hooks' way into a node's private state.
template <typename T>
struct EngineAccess {
  static NodeScratch<T>& scratch(Node<T>& n) { return n.scratch_; }
  static std::atomic<const void*>& owner(Node<T>& n) { return n.owner_; }
  static NodeExtras<T>* extras_if_any(const Node<T>& n) { return n.extras_.get(); }
  static NodeExtras<T>& extras(Node<T>& n) {
    if (!n.extras_) n.extras_ = std::make_unique<NodeExtras<T>>();
    return *n.extras_;
  }
};

// For in-place ops, after they give `impl` a new grad_fn: as in PyTorch, retain_grad()
// follows the tensor to its new grad_fn (its .grad becomes the gradient of the new
// value), while hooks registered before stay on `old_fn` (they see the gradient of
// the old value).
template <typename T>
void move_retains_grad(const std::shared_ptr<TensorImpl<T>>& impl, Node<T>* old_fn, std::uint32_t old_output_nr) {
  NodeExtras<T>* old_extras = old_fn ? EngineAccess<T>::extras_if_any(*old_fn) : nullptr;
  if (!old_extras || old_output_nr >= old_extras->retained.size() ||
      old_extras->retained[old_output_nr].lock() != impl || !impl->grad_fn)
    return;
  old_extras->retained[old_output_nr].reset();
  auto& retained = EngineAccess<T>::extras(*impl->grad_fn).retained;
  if (retained.size() <= impl->output_nr) retained.resize(impl->output_nr + 1);
  retained[impl->output_nr] = impl;
}

}  // namespace detail

// The sink of a leaf that requires grad: the engine adds the gradient into .grad.
// It holds the leaf weakly: a leaf nobody holds has a .grad nobody can read, and a
// strong reference would close a cycle (leaf -> .grad -> its graph -> this node ->
// leaf) whenever backward(create_graph=true) leaves a differentiable .grad.
template <typename T>
class AccumulateGrad final : public Node<T> {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl<T>>& leaf) : leaf_(leaf) {}
  std::string name() const override { return "AccumulateGrad"; }
  std::shared_ptr<TensorImpl<T>> leaf() const { return leaf_.lock(); }
  AccumulateGrad* as_accumulator() override { return this; }

  void apply(const std::vector<Tensor<T>>& grad_outputs, std::vector<Tensor<T>>&) override {
    accumulate(grad_outputs[0], is_grad_enabled());
  }

  // .grad += g. Without create_graph the sum happens in place (handles to .grad see
  // it, as in PyTorch); a gradient nobody else holds is adopted without a copy.
  void accumulate(const Tensor<T>& g, bool create_graph);

 private:
  std::weak_ptr<TensorImpl<T>> leaf_;
};

namespace detail {

// The node a gradient for `t` flows into: its grad_fn, or its leaf accumulator.
template <typename T>
TAPEGRAD_NOINLINE Edge<T> gradient_edge(const Tensor<T>& t) {
  const auto& impl = t.impl();
  if (!impl->requires_grad) return Edge<T>{nullptr, 0, impl->shape};
  if (impl->grad_fn) return Edge<T>{impl->grad_fn, impl->output_nr, impl->shape};
  std::lock_guard<std::mutex> lock(leaf_mutex(impl.get()));
  std::shared_ptr<Node<T>> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad<T>>(impl);
    impl->grad_accumulator = acc;
  }
  return Edge<T>{std::move(acc), 0, impl->shape};
}

}  // namespace detail

// A tensor saved by an op for its backward rule. It remembers the version of the
// storage when saved, so an in-place write before backward is caught instead of
// silently giving a wrong gradient.
template <typename T>
class Saved {
 public:
  Saved(const Tensor<T>& t, bool is_output, std::uint32_t output_nr = 0)
      : is_output_(is_output), output_nr_(output_nr), version_(t.version()) {
    // Ops build their saved tensors before record() decides whether to keep a node.
    // With grad mode off it never does (inference, and every backward without
    // create_graph), so skip the aliases there: nothing will unpack them.
    if (!is_grad_enabled()) return;
    if (is_output) {
      // An op's own output is saved without its grad_fn (which would be a reference
      // cycle, node -> output -> node); unpack() reattaches the node.
      tensor_ = Tensor<T>(detail::alias_impl(*t.impl(), t.shape()));
    } else if (t.requires_grad() && t.is_leaf()) {
      // A leaf is saved as its data plus a weak link to the leaf itself: a .grad
      // computed with create_graph may save the leaf, and a strong reference from
      // there (leaf -> .grad -> graph -> leaf) would keep the leaf alive forever.
      tensor_ = Tensor<T>(detail::alias_impl(*t.impl(), t.shape()));
      leaf_ = t.impl();
    } else {
      tensor_ = t;
    }
  }

  Tensor<T> unpack(const Node<T>& node) const {
    if (tensor_.version() != version_)
      detail::fail<GraphError>(
          "backward: a tensor needed for gradient computation has been modified by an in-place operation: version ",
          tensor_.version(), ", expected ", version_, " (the tensor of shape ", detail::show(tensor_.shape()),
          " saved by ", node.name(), " was changed after the forward op). Use an out-of-place op, or clone() the "
          "tensor before modifying it");
    if (!is_grad_enabled()) return tensor_;
    if (!is_output_) {
      // create_graph: a saved leaf must be the leaf itself, so higher derivatives reach
      // its .grad; if it is gone, nobody can read that .grad and its data will do.
      if (auto leaf = leaf_.lock()) return Tensor<T>(std::move(leaf));
      return tensor_;
    }
    // create_graph: the saved output must lead back to this node so the backward
    // formula that uses it can itself be differentiated.
    auto impl = detail::alias_impl(*tensor_.impl(), tensor_.shape());
    impl->requires_grad = true;
    impl->grad_fn = std::const_pointer_cast<Node<T>>(node.shared_from_this());
    impl->output_nr = output_nr_;
    return Tensor<T>(std::move(impl));
  }

 private:
  Tensor<T> tensor_;
  std::weak_ptr<TensorImpl<T>> leaf_;  // set when a leaf that requires grad was saved
  bool is_output_;
  std::uint32_t output_nr_;  // which output of the node a saved output is
  std::uint32_t version_;
};

template <typename T>
Saved<T> save(const Tensor<T>& input) {
  return Saved<T>(input, false);
}
// `output_nr` says which output it is, for ops with several (record_multi).
template <typename T>
Saved<T> save_output(const Tensor<T>& output, std::uint32_t output_nr = 0) {
  return Saved<T>(output, true, output_nr);
}

// What a backward rule sees: `out` is dL/d(output), it fills `in[i]` = dL/d(input i)
// (left undefined: no gradient), and `g[saved]` unpacks a saved tensor.
template <typename T>
struct Grads {
  const Tensor<T>& out;
  const std::vector<Tensor<T>>& outs;  // all output gradients (multi-output ops)
  std::vector<Tensor<T>>& in;
  const Node<T>& node;

  bool needs(std::size_t i) const { return node.next_edges()[i].node != nullptr; }
  Tensor<T> operator[](const Saved<T>& s) const { return s.unpack(node); }
};

// The node of every recorded op. Its backward rule (a lambda) is stored type-erased
// in an inline buffer: one node class for all ops instead of one per lambda, which
// keeps both allocations (one per op) and compile time down. Releasing the node
// destroys the lambda and with it the saved tensors.
template <typename T>
class FunctionNode final : public Node<T> {
 public:
  explicit FunctionNode(const char* name, std::size_t num_outputs = 1) : Node<T>(num_outputs), name_(name) {}

  // Stores the backward rule (once, right after construction).
  template <typename F>
  void set_rule(F&& backward) {
    using Fn = std::decay_t<F>;
    if constexpr (sizeof(Fn) <= sizeof(inline_) && alignof(Fn) <= alignof(std::max_align_t)) {
      rule_ = new (inline_) Fn(std::forward<F>(backward));
    } else {
      rule_ = new Fn(std::forward<F>(backward));
    }
    invoke_ = [](void* rule, Grads<T>& g) { (*static_cast<Fn*>(rule))(g); };
    destroy_ = [](void* rule, bool is_inline) {
      if (is_inline)
        static_cast<Fn*>(rule)->~Fn();
      else
        delete static_cast<Fn*>(rule);
    };
    // A rule that captured nothing keeps nothing alive and stays runnable after
    // backward (like AddBackward0 in PyTorch); one that captured state is freed.
    stateless_ = std::is_empty_v<Fn>;
  }
  ~FunctionNode() override { destroy_rule(); }

  std::string name() const override { return name_; }

  void apply(const std::vector<Tensor<T>>& grad_outputs, std::vector<Tensor<T>>& grad_inputs) override {
    if (!rule_)
      detail::fail<GraphError>(
          "backward: trying to backward through ", name_, " a second time, but its saved tensors were freed by "
          "the first backward; pass retain_graph=true to the first backward() (or tg::grad) to keep them");
    Tensor<T> undefined;
    Grads<T> g{grad_outputs.empty() ? undefined : grad_outputs[0], grad_outputs, grad_inputs, *this};
    invoke_(rule_, g);
  }

  void release_saved() override {
    if (!stateless_) destroy_rule();
  }

 private:
  void destroy_rule() {
    if (!rule_) return;
    destroy_(rule_, rule_ == static_cast<void*>(inline_));
    rule_ = nullptr;
  }

  const char* name_;
  void* rule_ = nullptr;
  void (*invoke_)(void*, Grads<T>&) = nullptr;
  void (*destroy_)(void*, bool) = nullptr;
  bool stateless_ = false;
  alignas(std::max_align_t) unsigned char inline_[96];
};

namespace detail {

template <typename T>
using InputList = std::initializer_list<std::reference_wrapper<const Tensor<type_identity_t<T>>>>;

template <typename T>
TAPEGRAD_NOINLINE std::shared_ptr<FunctionNode<T>> new_function_node(const char* name, std::size_t num_outputs = 1) {
  return std::allocate_shared<FunctionNode<T>>(PoolAllocator<FunctionNode<T>>(), name, num_outputs);
}

template <typename T, typename Inputs>
bool should_record(const Inputs& inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor<T>& in : inputs)
    if (in.requires_grad()) return true;
  return false;
}

template <typename T, typename Inputs>
void add_input_edges(Node<T>& node, const Inputs& inputs) {
  node.reserve_next_edges(inputs.size());
  for (const Tensor<T>& in : inputs) node.add_next_edge(gradient_edge(in));
}

// The part of record() that does not depend on the backward rule's type, kept out
// of line so each op does not carry its own copy.
template <typename T>
TAPEGRAD_NOINLINE Tensor<T> attach_node(Tensor<T> out, std::shared_ptr<Node<T>> node, InputList<T> inputs) {
  add_input_edges(*node, inputs);
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
  out.impl()->output_nr = 0;
  return out;
}

}  // namespace detail

// Connects `out` to the graph: if grad mode is on and any input requires grad, `out`
// gets a grad_fn named `name` whose rule is `backward`. Returns `out`.
template <typename T, typename F>
Tensor<T> record(Tensor<T> out, const char* name, detail::InputList<T> inputs, F&& backward) {
  if (!detail::should_record<T>(inputs)) return out;
  std::shared_ptr<FunctionNode<T>> node = detail::new_function_node<T>(name);
  node->set_rule(std::forward<F>(backward));
  return detail::attach_node<T>(std::move(out), std::move(node), inputs);
}

// record() for a list of inputs known only at run time (cat, stack, einsum).
template <typename T, typename F>
Tensor<T> record_list(Tensor<T> out, const char* name, const std::vector<Tensor<T>>& inputs, F&& backward) {
  if (!detail::should_record<T>(inputs)) return out;
  std::shared_ptr<FunctionNode<T>> node = detail::new_function_node<T>(name);
  node->set_rule(std::forward<F>(backward));
  detail::add_input_edges(*node, inputs);
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
  out.impl()->output_nr = 0;
  return out;
}

// record() for an op with several differentiable outputs (qr, eigh, ...): one node
// whose rule sees g.outs[k] = dL/d(output k), undefined where output k was unused
// (treat it as zero). Save output k with save_output(outs[k], k).
template <typename T, typename F>
std::vector<Tensor<T>> record_multi(std::vector<Tensor<T>> outs, const char* name, detail::InputList<T> inputs,
                                    F&& backward) {
  if (!detail::should_record<T>(inputs)) return outs;
  std::shared_ptr<FunctionNode<T>> node = detail::new_function_node<T>(name, outs.size());
  node->set_rule(std::forward<F>(backward));
  detail::add_input_edges(*node, inputs);
  for (std::size_t k = 0; k < outs.size(); ++k) {
    outs[k].impl()->requires_grad = true;
    outs[k].impl()->grad_fn = node;
    outs[k].impl()->output_nr = static_cast<std::uint32_t>(k);
  }
  return outs;
}

}  // namespace tapegrad
