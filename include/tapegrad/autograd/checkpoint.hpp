#pragma once
// Activation checkpointing, as jax.checkpoint and torch.utils.checkpoint: trade
// compute for memory by keeping only a block's inputs and recomputing the block
// during backward.
//
//   auto h = x;
//   for (int s = 0; s < 8; ++s)   // 64 layers in 8 segments of 8
//     h = tg::checkpoint([&, s](const tg::Tensor<>& in) { return segment(in, s); }, h);
//   h.sum().backward();           // each segment runs again, with grad on, here
//
// How it works. The forward pass runs f once with recording on, only to learn which
// outputs require grad and which leaves f reaches (its parameters, captured by the
// closure), then drops that graph at once: nothing inside f stays alive. The outputs
// hang off one node, CheckpointBackward, with an edge to every input and to every
// parameter f reached, so their gradients flow like those of any op (into .grad,
// into tg::grad, through create_graph). Its backward rule runs f again on aliases of
// the inputs and differentiates that private graph with tg::grad. Peak memory is then
// the inputs of all segments plus one segment's graph, instead of every layer's
// saved tensors.
//
// What f may do. f must compute the same thing each time it runs (two or three
// times): deterministic, with no side effects it would not want repeated (dropout
// with a generator f copies from the closure on each call is fine; the thread's
// default generator is not). f must not modify its inputs in place (the backward
// then throws the usual version error). Tensors that require grad must reach f as
// inputs unless they are leaves (parameters): a non-leaf f captures from outside
// throws, as checkpoint could not recompute it. The node keeps a copy of f until
// backward: whatever f captures by reference must live that long.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gradcheck.hpp"

namespace tapegrad {
namespace detail {

// The inputs f sees: aliases of the caller's inputs (same data, no copy). One that
// requires grad gets its own grad_fn, a pass-through node with no edges yet, so the
// graph f builds on it ends there and never reaches the caller's graph.
template <typename T>
struct CheckpointProxies {
  std::vector<Tensor<T>> tensors;
  std::vector<std::shared_ptr<FunctionNode<T>>> links;  // null for inputs that do not require grad
};

template <typename T>
CheckpointProxies<T> checkpoint_proxies(const std::vector<Tensor<T>>& inputs, const std::vector<bool>& needs_grad) {
  CheckpointProxies<T> p;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto impl = alias_impl(*inputs[i].impl(), inputs[i].shape());
    std::shared_ptr<FunctionNode<T>> link;
    if (needs_grad[i]) {
      // d(alias)/dx = I. Stateless, so it stays usable for double backward.
      link = new_function_node<T>("AliasBackward0");
      link->set_rule([](Grads<T>& g) {
        if (!g.in.empty()) g.in[0] = g.out;
      });
      impl->requires_grad = true;
      impl->grad_fn = link;
      impl->output_nr = 0;
    }
    p.tensors.emplace_back(std::move(impl));
    p.links.push_back(std::move(link));
  }
  return p;
}

template <typename T>
bool is_link(const CheckpointProxies<T>& p, const Node<T>* node) {
  for (const auto& link : p.links)
    if (link.get() == node) return true;
  return false;
}

// What the forward pass learns from f's graph: the accumulators of the leaves f
// reached besides its inputs (its parameters), and the nodes f recorded, held weakly.
template <typename T>
struct CheckpointScan {
  std::vector<Edge<T>> parameters;
  std::vector<std::weak_ptr<Node<T>>> recorded;
};

// Walks f's graph from its outputs (iteratively) up to the input proxies.
template <typename T>
CheckpointScan<T> scan_graph(const std::vector<Tensor<T>>& outs, const CheckpointProxies<T>& proxies) {
  CheckpointScan<T> scan;
  std::unordered_set<const Node<T>*> seen;
  std::vector<Node<T>*> stack;
  auto visit = [&](const Edge<T>& e) {
    if (!e.node || is_link(proxies, e.node.get()) || !seen.insert(e.node.get()).second) return;
    if (e.node->as_accumulator())
      scan.parameters.push_back(e);
    else
      stack.push_back(e.node.get());
  };
  for (const Tensor<T>& out : outs)
    if (out.requires_grad()) visit(gradient_edge(out));
  while (!stack.empty()) {
    Node<T>* node = stack.back();
    stack.pop_back();
    scan.recorded.push_back(node->shared_from_this());
    for (const Edge<T>& e : node->next_edges()) visit(e);
  }
  return scan;
}

template <typename... Parts>
[[noreturn]] void fail_not_deterministic(const Parts&... what) {
  fail<GraphError>("checkpoint: recomputing f during backward ", what...,
                   "; f must be deterministic: compute the same thing each time it is called (no draws from a "
                   "generator shared with other code, no dependence on state that changed since the forward pass)");
}

// The backward rule of CheckpointBackward: recompute f and differentiate it.
template <typename T, typename F>
struct CheckpointRule {
  F f;
  std::vector<Saved<T>> inputs;
  std::vector<Shape> output_shapes;
  std::vector<bool> attached;  // outputs that required grad (and have this node as grad_fn)

  void operator()(Grads<T>& g) {
    const std::size_t n = inputs.size();
    const std::size_t num_parameters = g.node.next_edges().size() - n;
    const bool create_graph = is_grad_enabled();

    std::vector<Tensor<T>> originals;
    std::vector<bool> needs_grad(n);
    for (std::size_t i = 0; i < n; ++i) {
      originals.push_back(g[inputs[i]]);  // throws if an input was modified in place since the forward
      needs_grad[i] = g.needs(i);
    }
    const CheckpointProxies<T> proxies = checkpoint_proxies(originals, needs_grad);
    std::vector<Tensor<T>> outs;
    {
      EnableGradGuard record;
      outs = call_outputs<T>(f, proxies.tensors, "checkpoint");
    }
    if (outs.size() != output_shapes.size())
      fail_not_deterministic("returned ", outs.size(), " outputs, the forward pass ", output_shapes.size());
    for (std::size_t k = 0; k < outs.size(); ++k) {
      if (!outs[k].defined()) fail_not_deterministic("returned an undefined tensor as output ", k);
      if (outs[k].shape() != output_shapes[k])
        fail_not_deterministic("gave output ", k, " the shape ", show(outs[k].shape()), ", the forward pass ",
                               show(output_shapes[k]));
      if (attached[k] && !outs[k].requires_grad())
        fail_not_deterministic("gave an output ", k, " that does not require grad (in the forward pass it did)");
    }

    // The parameters (leaves f captured) are differentiated directly: the inner
    // tg::grad reaches their accumulators, which the outer pass also uses, and the
    // engine gives a nested pass its own state for such nodes (GraphTask::scratch).
    std::unordered_map<const Node<T>*, std::size_t> parameter_index;
    for (std::size_t k = 0; k < num_parameters; ++k) parameter_index.emplace(g.node.next_edges()[n + k].node.get(), k);
    std::vector<Tensor<T>> parameters(num_parameters);  // undefined: not reached, or the leaf is gone

    // Roots: the outputs that received a gradient (an undefined one is zero, so the
    // others are left out, and parameters only they reach get no gradient, as without
    // checkpointing). An output that is a parameter itself passes its gradient on.
    std::vector<Tensor<T>> roots, seeds, direct(num_parameters);
    std::unordered_set<const Node<T>*> seen;
    std::vector<Node<T>*> stack;
    for (std::size_t k = 0; k < outs.size(); ++k) {
      if (!attached[k] || !g.outs[k].defined()) continue;
      const Tensor<T>& seed = g.outs[k];
      if (outs[k].is_leaf()) {
        const auto found = parameter_index.find(gradient_edge(outs[k]).node.get());
        if (found == parameter_index.end())
          fail_not_deterministic("reached a leaf that requires grad which the forward pass did not use");
        Tensor<T>& d = direct[found->second];
        d = d.defined() ? d + seed : seed;
        continue;
      }
      roots.push_back(outs[k]);
      seeds.push_back(seed);
      if (seen.insert(outs[k].grad_fn().get()).second) stack.push_back(outs[k].grad_fn().get());
    }

    // Which parameters the recomputed graph reaches (all of them must be ones the
    // forward pass saw).
    while (!stack.empty()) {
      Node<T>* node = stack.back();
      stack.pop_back();
      if (is_link(proxies, node)) continue;
      for (const Edge<T>& e : node->next_edges()) {
        if (!e.node) continue;
        if (AccumulateGrad<T>* acc = e.node->as_accumulator()) {
          const auto found = parameter_index.find(e.node.get());
          if (found == parameter_index.end())
            fail_not_deterministic("reached a leaf that requires grad which the forward pass did not use");
          if (!parameters[found->second].defined())
            if (std::shared_ptr<TensorImpl<T>> leaf = acc->leaf()) parameters[found->second] = Tensor<T>(leaf);
        } else if (seen.insert(e.node.get()).second) {
          stack.push_back(e.node.get());
        }
      }
    }

    std::vector<Tensor<T>> wrt;
    for (std::size_t i = 0; i < n; ++i)
      if (needs_grad[i]) wrt.push_back(proxies.tensors[i]);
    for (std::size_t k = 0; k < num_parameters; ++k)
      if (parameters[k].defined()) wrt.push_back(parameters[k]);
    std::vector<Tensor<T>> grads;
    if (!roots.empty() && !wrt.empty())
      grads = tapegrad::grad(roots, wrt, seeds, std::nullopt, create_graph, /*allow_unused=*/true);

    std::size_t next = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (needs_grad[i]) {
        if (!grads.empty()) g.in[i] = grads[next];
        ++next;
      }
    for (std::size_t k = 0; k < num_parameters; ++k) {
      Tensor<T> total = direct[k];
      if (parameters[k].defined() && !grads.empty() && grads[next].defined())
        total = total.defined() ? total + grads[next] : grads[next];
      if (parameters[k].defined()) ++next;
      g.in[n + k] = total;
    }

    // create_graph: the gradients just recorded lead to the proxies; connect those to
    // the real inputs so a second backward goes on into the caller's graph. (Not
    // before: the pass above must not enter the caller's graph either.)
    if (create_graph)
      for (std::size_t i = 0; i < n; ++i)
        if (proxies.links[i]) {
          const Edge<T>& edge = g.node.next_edges()[i];
          proxies.links[i]->add_next_edge(edge);
        }
  }
};

template <typename T, typename F>
std::vector<Tensor<T>> checkpoint_outputs(F f, const std::vector<Tensor<T>>& inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].defined()) fail<ValueError>("checkpoint: input ", i, " is undefined");
  if (!is_grad_enabled()) return call_outputs<T>(f, inputs, "checkpoint");

  std::vector<bool> needs_grad(inputs.size());
  std::vector<Saved<T>> saved;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    needs_grad[i] = inputs[i].requires_grad();
    saved.push_back(save(inputs[i]));  // before f runs: an f that writes its inputs is caught
  }

  // Run f once with recording on to learn what it reaches, then keep only the values.
  std::vector<Tensor<T>> outs;
  CheckpointScan<T> scan;
  {
    const CheckpointProxies<T> proxies = checkpoint_proxies(inputs, needs_grad);
    outs = call_outputs<T>(f, proxies.tensors, "checkpoint");
    bool any_requires = false;
    for (std::size_t k = 0; k < outs.size(); ++k) {
      if (!outs[k].defined()) fail<ValueError>("checkpoint: f returned an undefined tensor as output ", k);
      any_requires = any_requires || outs[k].requires_grad();
    }
    if (!any_requires) return outs;  // nothing f computes depends on anything that requires grad
    scan = scan_graph(outs, proxies);
  }
  std::vector<Shape> shapes;
  std::vector<bool> attached;
  for (Tensor<T>& out : outs) {
    shapes.push_back(out.shape());
    attached.push_back(out.requires_grad());
    if (out.requires_grad()) out = Tensor<T>(alias_impl(*out.impl(), out.shape()));  // the values, without f's graph
  }
  // f's graph is gone now unless something outside f holds part of it: a non-leaf
  // that requires grad and that f used without receiving it as an input.
  for (const auto& weak : scan.recorded)
    if (const std::shared_ptr<Node<T>> outside = weak.lock())
      fail<GraphError>("checkpoint: f uses a tensor that requires grad and was computed outside f (by ",
                       outside->name(),
                       ") without receiving it as an input; pass it in the inputs, so that "
                       "checkpoint can recompute f from them (only leaves such as parameters may be captured)");

  std::shared_ptr<FunctionNode<T>> node = new_function_node<T>("CheckpointBackward", outs.size());
  node->set_rule(CheckpointRule<T, F>{std::move(f), std::move(saved), std::move(shapes), attached});
  add_input_edges(*node, inputs);
  for (Edge<T>& parameter : scan.parameters) node->add_next_edge(std::move(parameter));
  for (std::size_t k = 0; k < outs.size(); ++k) {
    if (!attached[k]) continue;
    outs[k].impl()->requires_grad = true;
    outs[k].impl()->grad_fn = node;
    outs[k].impl()->output_nr = static_cast<std::uint32_t>(k);
  }
  return outs;
}

template <typename T, typename F>
constexpr bool returns_one_tensor() {
  if constexpr (std::is_invocable_v<F&, const std::vector<Tensor<T>>&>)
    return std::is_same_v<std::decay_t<std::invoke_result_t<F&, const std::vector<Tensor<T>>&>>, Tensor<T>>;
  else if constexpr (std::is_invocable_v<F&, const Tensor<T>&>)
    return std::is_same_v<std::decay_t<std::invoke_result_t<F&, const Tensor<T>&>>, Tensor<T>>;
  else
    return false;  // call_outputs reports the wrong signature
}

}  // namespace detail

// f(inputs) without keeping f's intermediate tensors: they are recomputed during
// backward. f takes `const std::vector<Tensor<T>>&` (or one `const Tensor<T>&`) and
// returns a Tensor<T> or a std::vector<Tensor<T>>; checkpoint returns the same.
// Gradients reach the inputs and every leaf f uses (parameters it captures), exactly
// as without checkpointing, also with create_graph (double backward recomputes f
// with recording on). See the top of this file for what f may do.
template <typename T, typename F>
auto checkpoint(F f, const std::vector<Tensor<T>>& inputs) {
  std::vector<Tensor<T>> outs = detail::checkpoint_outputs<T>(std::move(f), inputs);
  if constexpr (detail::returns_one_tensor<T, F>())
    return outs[0];
  else
    return outs;
}

template <typename T, typename F>
auto checkpoint(F f, std::initializer_list<Tensor<T>> inputs) {
  return checkpoint<T>(std::move(f), std::vector<Tensor<T>>(inputs));
}

template <typename T, typename F>
auto checkpoint(F f, const Tensor<T>& input) {
  return checkpoint<T>(std::move(f), std::vector<Tensor<T>>{input});
}

}  // namespace tapegrad
