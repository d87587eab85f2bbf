#pragma once
// Functional transforms over callables, as JAX and torch.autograd.functional:
// value_and_grad, grad, vjp, jvp, jacobian, hessian, hvp.
//
// f takes `const std::vector<Tensor<T>>&` (or one `const Tensor<T>&`) and returns a
// Tensor<T> (or, for vjp/jvp, a std::vector<Tensor<T>>). The inputs are not modified
// and their .grad is untouched: f runs on fresh leaves that share the inputs' data.
// With create_graph = true, inputs that require grad are used as they are, so the
// results are themselves differentiable with respect to them (higher order).
//
// jvp uses the double-vjp trick: J t = d/du <J^T u, t>, two reverse passes and no
// forward mode; its cost is about that of two gradients.

#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "../ops/indexing.hpp"
#include "gradcheck.hpp"

namespace tapegrad {

enum class JacobianStrategy {
  automatic,  // reverse sweeps (one per output element) unless the inputs have fewer elements
  reverse,    // one vjp per output element
  forward,    // one jvp per input element
};

template <typename T>
struct ValueAndGrad {
  Tensor<T> value;
  std::vector<Tensor<T>> grads;  // one per input, zeros for inputs f does not use
};

template <typename T>
struct OutputsAndProducts {
  std::vector<Tensor<T>> outputs;
  std::vector<Tensor<T>> products;  // vjp: one per input; jvp: one per output
};

namespace detail {

// The tensors f is run on: the inputs themselves when the result must stay connected
// to them (create_graph and they require grad), else fresh leaves sharing their data.
template <typename T>
std::vector<Tensor<T>> functional_leaves(const char* op, const std::vector<Tensor<T>>& inputs, bool create_graph) {
  std::vector<Tensor<T>> leaves;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail<ValueError>(op, ": input ", i, " is undefined");
    if (create_graph && inputs[i].requires_grad())
      leaves.push_back(inputs[i]);
    else
      leaves.push_back(inputs[i].detach().requires_grad_());
  }
  return leaves;
}

// Undefined gradients (inputs f did not use, outputs that do not depend on an input)
// become zeros of the right shape.
template <typename T>
std::vector<Tensor<T>> zeros_for_unused(std::vector<Tensor<T>> grads, const std::vector<Tensor<T>>& like) {
  for (std::size_t i = 0; i < grads.size(); ++i)
    if (!grads[i].defined()) grads[i] = zeros<T>(like[i].shape());
  return grads;
}

// Gradients of `outputs` seeded with `seeds` w.r.t. `wrt`; outputs that do not
// require grad (constant in the inputs) contribute nothing.
template <typename T>
std::vector<Tensor<T>> gradients(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& wrt,
                                 const std::vector<Tensor<T>>& seeds, bool create_graph) {
  std::vector<Tensor<T>> live, live_seeds;
  for (std::size_t k = 0; k < outputs.size(); ++k)
    if (outputs[k].requires_grad()) {
      live.push_back(outputs[k]);
      live_seeds.push_back(seeds[k]);
    }
  if (live.empty()) return zeros_for_unused(std::vector<Tensor<T>>(wrt.size()), wrt);
  return zeros_for_unused(grad(live, wrt, live_seeds, /*retain_graph=*/true, create_graph, /*allow_unused=*/true),
                          wrt);
}

template <typename T>
Tensor<T> scalar_output(const char* op, const std::vector<Tensor<T>>& outputs) {
  if (outputs.size() != 1 || outputs[0].numel() != 1)
    fail<ShapeError>(op, ": f must return one tensor with a single element (a scalar), got ", outputs.size(),
                     " output(s)", outputs.empty() ? "" : " of shape ", show(outputs.empty() ? Shape{} : outputs[0].shape()),
                     "; reduce it (e.g. .sum()) or use jacobian / vjp");
  return outputs[0];
}

template <typename T>
void check_like(const char* op, const char* what, const std::vector<Tensor<T>>& given,
                const std::vector<Tensor<T>>& like) {
  if (given.size() != like.size())
    fail<ValueError>(op, ": got ", given.size(), " ", what, " for ", like.size(), " tensors; pass one per tensor");
  for (std::size_t i = 0; i < given.size(); ++i)
    if (!given[i].defined() || given[i].shape() != like[i].shape())
      fail<ShapeError>(op, ": ", what, " ", i, " has shape ", show(given[i].defined() ? given[i].shape() : Shape{}),
                       " but must have shape ", show(like[i].shape()));
}

template <typename T>
Tensor<T> one_hot_like(const Tensor<T>& like, std::int64_t index) {
  Tensor<T> t = zeros<T>(like.shape());
  t.data_ptr()[index] = T(1);
  return t;
}

}  // namespace detail

// f(inputs) and its gradient with respect to every input; f must return a scalar.
template <typename T, typename F, typename = std::enable_if_t<!std::is_convertible_v<F, Tensor<T>>>>
ValueAndGrad<T> value_and_grad(F f, const std::vector<Tensor<T>>& inputs, bool create_graph = false) {
  const std::vector<Tensor<T>> leaves = detail::functional_leaves("value_and_grad", inputs, create_graph);
  const Tensor<T> value = detail::scalar_output("value_and_grad", detail::call_outputs<T>(f, leaves, "value_and_grad"));
  std::vector<Tensor<T>> grads = detail::gradients<T>({value}, leaves, {ones_like(value)}, create_graph);
  return {create_graph ? value : value.detach(), std::move(grads)};
}

// The gradient of scalar f with respect to every input (see value_and_grad).
template <typename T, typename F,
          typename = std::enable_if_t<std::is_invocable_v<F&, const std::vector<Tensor<T>>&> ||
                                      std::is_invocable_v<F&, const Tensor<T>&>>>
std::vector<Tensor<T>> grad(F f, const std::vector<Tensor<T>>& inputs, bool create_graph = false) {
  return value_and_grad(f, inputs, create_graph).grads;
}

// The same with the inputs in braces: tg::value_and_grad(f, {x, y}).
template <typename T, typename F>
ValueAndGrad<T> value_and_grad(F f, std::initializer_list<Tensor<T>> inputs, bool create_graph = false) {
  return value_and_grad(f, std::vector<Tensor<T>>(inputs), create_graph);
}
template <typename T, typename F,
          typename = std::enable_if_t<std::is_invocable_v<F&, const std::vector<Tensor<T>>&> ||
                                      std::is_invocable_v<F&, const Tensor<T>&>>>
std::vector<Tensor<T>> grad(F f, std::initializer_list<Tensor<T>> inputs, bool create_graph = false) {
  return value_and_grad(f, std::vector<Tensor<T>>(inputs), create_graph).grads;
}

// One tensor in, its gradient out: tg::grad(f, x) for f taking `const Tensor<T>&`.
template <typename T, typename F, typename = std::enable_if_t<std::is_invocable_v<F&, const Tensor<T>&>>>
Tensor<T> grad(F f, const Tensor<T>& x, bool create_graph = false) {
  return value_and_grad(f, std::vector<Tensor<T>>{x}, create_graph).grads[0];
}

// f's outputs and v^T J: the gradient of sum_k <outputs_k, v_k> w.r.t. each input.
template <typename T, typename F>
OutputsAndProducts<T> vjp(F f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& v,
                          bool create_graph = false) {
  const std::vector<Tensor<T>> leaves = detail::functional_leaves("vjp", inputs, create_graph);
  std::vector<Tensor<T>> outputs = detail::call_outputs<T>(f, leaves, "vjp");
  detail::check_like("vjp", "v", v, outputs);
  std::vector<Tensor<T>> products = detail::gradients(outputs, leaves, v, create_graph);
  if (!create_graph)
    for (auto& o : outputs) o = o.detach();
  return {std::move(outputs), std::move(products)};
}

// f's outputs and J t, the directional derivative of each output along the input
// tangents t (one per input), by the double-vjp trick.
template <typename T, typename F>
OutputsAndProducts<T> jvp(F f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& t,
                          bool create_graph = false) {
  detail::check_like("jvp", "tangent", t, inputs);
  const std::vector<Tensor<T>> leaves = detail::functional_leaves("jvp", inputs, create_graph);
  std::vector<Tensor<T>> outputs;
  std::vector<Tensor<T>> products;
  {
    // The inner vjp must be differentiable in u whatever the caller asked.
    EnableGradGuard grad_on;
    outputs = detail::call_outputs<T>(f, leaves, "jvp");
    std::vector<Tensor<T>> u;
    for (const auto& o : outputs) u.push_back(zeros<T>(o.shape(), TensorOptions().requires_grad(true)));
    const std::vector<Tensor<T>> g = detail::gradients(outputs, leaves, u, /*create_graph=*/true);
    // J t = d/du sum_i <g_i(u), t_i>; g is linear in u.
    std::vector<Tensor<T>> live_g, live_t;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i].requires_grad()) {
        live_g.push_back(g[i]);
        live_t.push_back(t[i]);
      }
    products = detail::gradients(live_g, u, live_t, create_graph);
  }
  if (!create_graph)
    for (auto& o : outputs) o = o.detach();
  return {std::move(outputs), std::move(products)};
}

// The Jacobian of f (one output tensor) with respect to each input: J_i has shape
// output.shape + input_i.shape. Reverse mode costs one backward per output element,
// forward (jvp) one double backward per input element; automatic picks the cheaper.
template <typename T, typename F>
std::vector<Tensor<T>> jacobian(F f, const std::vector<Tensor<T>>& inputs,
                                JacobianStrategy strategy = JacobianStrategy::automatic, bool create_graph = false) {
  const std::vector<Tensor<T>> leaves = detail::functional_leaves("jacobian", inputs, create_graph);
  const std::vector<Tensor<T>> outputs = detail::call_outputs<T>(f, leaves, "jacobian");
  if (outputs.size() != 1)
    detail::fail<ValueError>("jacobian: f must return one tensor, got ", outputs.size(),
                             "; compute the Jacobian of each output separately");
  const Tensor<T> out = outputs[0];
  std::int64_t in_total = 0;
  for (const auto& in : inputs) in_total += in.numel();
  if (strategy == JacobianStrategy::automatic)
    strategy = out.numel() <= in_total ? JacobianStrategy::reverse : JacobianStrategy::forward;

  std::vector<Tensor<T>> result;
  if (strategy == JacobianStrategy::reverse) {
    // Row e of every J_i: the gradient of output element e.
    std::vector<std::vector<Tensor<T>>> rows(inputs.size());
    for (std::int64_t e = 0; e < out.numel(); ++e) {
      const auto g = detail::gradients<T>({out}, leaves, {detail::one_hot_like(out, e)}, create_graph);
      for (std::size_t i = 0; i < g.size(); ++i) rows[i].push_back(reshape(g[i], {-1}));
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      Shape shape = out.shape();
      shape.insert(shape.end(), inputs[i].shape().begin(), inputs[i].shape().end());
      result.push_back(rows[i].empty() ? zeros<T>(shape) : reshape(stack(rows[i], 0), shape));
    }
    return result;
  }
  // Forward: column k of J_i is J_i applied to the k-th unit tangent of input i.
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<Tensor<T>> columns;
    for (std::int64_t k = 0; k < inputs[i].numel(); ++k) {
      std::vector<Tensor<T>> tangents;
      for (std::size_t j = 0; j < inputs.size(); ++j)
        tangents.push_back(j == i ? detail::one_hot_like(inputs[j], k) : zeros<T>(inputs[j].shape()));
      columns.push_back(reshape(jvp(f, inputs, tangents, create_graph).products[0], {-1}));
    }
    Shape shape = out.shape();
    shape.insert(shape.end(), inputs[i].shape().begin(), inputs[i].shape().end());
    result.push_back(columns.empty() ? zeros<T>(shape) : reshape(stack(columns, 1), shape));
  }
  return result;
}

// The Jacobian of f with respect to one tensor: shape f(x).shape + x.shape.
template <typename T, typename F, typename = std::enable_if_t<std::is_invocable_v<F&, const Tensor<T>&>>>
Tensor<T> jacobian(F f, const Tensor<T>& x, JacobianStrategy strategy = JacobianStrategy::automatic,
                   bool create_graph = false) {
  return jacobian(f, std::vector<Tensor<T>>{x}, strategy, create_graph)[0];
}

// The Hessian of scalar f: H[i][j] = d^2 f / (d input_i d input_j), of shape
// input_i.shape + input_j.shape (reverse over reverse: one double backward per
// input element).
template <typename T, typename F>
std::vector<std::vector<Tensor<T>>> hessian(F f, const std::vector<Tensor<T>>& inputs, bool create_graph = false) {
  const std::vector<Tensor<T>> leaves = detail::functional_leaves("hessian", inputs, create_graph);
  std::vector<Tensor<T>> g;
  {
    EnableGradGuard grad_on;
    const Tensor<T> value = detail::scalar_output("hessian", detail::call_outputs<T>(f, leaves, "hessian"));
    g = detail::gradients<T>({value}, leaves, {ones_like(value)}, /*create_graph=*/true);
  }
  std::vector<std::vector<Tensor<T>>> h(inputs.size(), std::vector<Tensor<T>>(inputs.size()));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<std::vector<Tensor<T>>> rows(inputs.size());
    for (std::int64_t e = 0; e < inputs[i].numel(); ++e) {
      const auto second = detail::gradients<T>({g[i]}, leaves, {detail::one_hot_like(g[i], e)}, create_graph);
      for (std::size_t j = 0; j < inputs.size(); ++j) rows[j].push_back(reshape(second[j], {-1}));
    }
    for (std::size_t j = 0; j < inputs.size(); ++j) {
      Shape shape = inputs[i].shape();
      shape.insert(shape.end(), inputs[j].shape().begin(), inputs[j].shape().end());
      h[i][j] = rows[j].empty() ? zeros<T>(shape) : reshape(stack(rows[j], 0), shape);
    }
  }
  return h;
}

// The Hessian of scalar f with respect to one tensor: shape x.shape + x.shape.
template <typename T, typename F>
Tensor<T> hessian(F f, const Tensor<T>& x, bool create_graph = false) {
  return hessian(f, std::vector<Tensor<T>>{x}, create_graph)[0][0];
}

// f(inputs) and H v, the Hessian of scalar f applied to v (one tensor per input),
// without forming H: the gradient of <grad f, v>.
template <typename T, typename F>
ValueAndGrad<T> hvp(F f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& v,
                    bool create_graph = false) {
  detail::check_like("hvp", "v", v, inputs);
  const std::vector<Tensor<T>> leaves = detail::functional_leaves("hvp", inputs, create_graph);
  Tensor<T> value, inner;
  {
    EnableGradGuard grad_on;
    value = detail::scalar_output("hvp", detail::call_outputs<T>(f, leaves, "hvp"));
    const auto g = detail::gradients<T>({value}, leaves, {ones_like(value)}, /*create_graph=*/true);
    for (std::size_t i = 0; i < g.size(); ++i) {
      const Tensor<T> term = sum(g[i] * v[i]);
      inner = inner.defined() ? inner + term : term;
    }
  }
  std::vector<Tensor<T>> products = detail::gradients<T>({inner}, leaves, {ones_like(inner)}, create_graph);
  return {create_graph ? value : value.detach(), std::move(products)};
}

// hvp with respect to one tensor: f(x) and H v, both single tensors.
template <typename T>
struct ValueAndProduct {
  Tensor<T> value;
  Tensor<T> product;
};
template <typename T, typename F, typename = std::enable_if_t<std::is_invocable_v<F&, const Tensor<T>&>>>
ValueAndProduct<T> hvp(F f, const Tensor<T>& x, const Tensor<T>& v, bool create_graph = false) {
  ValueAndGrad<T> r = hvp(f, std::vector<Tensor<T>>{x}, std::vector<Tensor<T>>{v}, create_graph);
  return {std::move(r.value), std::move(r.grads[0])};
}

}  // namespace tapegrad
