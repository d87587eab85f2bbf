#pragma once
// Bridges between the tensor library and scalar reverse mode, for code that mixes the
// two styles (a model written with Tensor ops whose likelihood is a scalar loop, or the
// other way round). This header includes both libraries.
//
//   std::vector<tg::Var<double>> xs = tg::variables(t);   // t's values as new Var inputs
//   tg::Tensor<double> v = tg::to_tensor(ys, {2, 3});     // Var values as a tensor (no graph)
//   tg::Tensor<double> g = tg::grads_to_tensor(xs, t.shape());  // their gradients
//
//   // A Tensor op computed by a Var function: gradients flow through it.
//   tg::Tensor<double> lp = tg::var_function(log_density, theta);   // 0-d when f returns a Var
//   lp.backward();                                                  // theta.grad()
//
// Tensors are row-major, so a tensor's element k is Var k in both directions.

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../autograd/function.hpp"
#include "../core.hpp"
#include "functions.hpp"

namespace tapegrad {

// New input variables on this thread's Var<T> tape holding t's values, in row-major
// order. Like tg::variables(std::vector): differentiate, then read tg::grads(xs).
template <typename T>
std::vector<Var<T>> variables(const Tensor<T>& t) {
  static_assert(std::is_floating_point_v<T>, "tapegrad::variables: Var needs a float or double tensor");
  const T* p = t.data_ptr();
  return variables(std::vector<T>(p, p + t.numel()));
}

// A tensor of shape `shape` holding the values of `vars` (row-major). It is a plain
// tensor: no graph connects it to the Vars (use tg::var_function for that).
template <typename T>
Tensor<T> to_tensor(const std::vector<Var<T>>& vars, const Shape& shape, TensorOptions options = {}) {
  std::vector<T> values(vars.size());
  for (std::size_t i = 0; i < vars.size(); ++i) values[i] = vars[i].val();
  return from_vector(values, shape, options);
}
template <typename T>
Tensor<T> to_tensor(const std::vector<Var<T>>& vars, TensorOptions options = {}) {
  return to_tensor(vars, {static_cast<std::int64_t>(vars.size())}, options);
}

// A tensor of shape `shape` holding the gradients of `vars` after a backward().
template <typename T>
Tensor<T> grads_to_tensor(const std::vector<Var<T>>& vars, const Shape& shape) {
  return from_vector(grads(vars), shape);
}

namespace detail {
// What f returned, as a list of Vars: one Var, or a std::vector / Eigen vector of them.
template <typename T, typename Y>
std::vector<Var<T>> as_var_list(const Y& y) {
  if constexpr (std::is_convertible_v<Y, Var<T>>) {
    return {Var<T>(y)};
  } else if constexpr (std::is_same_v<Y, std::vector<Var<T>>>) {
    return y;
  } else {
    static_assert(std::is_base_of_v<Eigen::EigenBase<Y>, Y>,
                  "tapegrad::var_function: f must return tg::Var<T>, std::vector<tg::Var<T>> or an Eigen vector "
                  "of tg::Var<T>");
    const auto plain = y.eval();
    return std::vector<Var<T>>(plain.data(), plain.data() + plain.size());
  }
}

template <typename T>
void check_same_outputs(std::size_t forward, std::size_t now) {
  if (forward != now)
    fail<GraphError>("backward: VarFunctionBackward0: f returned ", forward, " outputs in forward but ", now,
                     " when it was recorded again for backward; var_function needs an f that computes the same "
                     "function every time it is called");
}
}  // namespace detail

// y = f(x) as a Tensor op, where f is written with Var<T>:
//   f(const std::vector<tg::Var<T>>& x)  ->  tg::Var<T>               (y is 0-d)
//                                        ->  std::vector<tg::Var<T>>  (y is 1-D)
//                                        or an Eigen vector of Var<T> (y is 1-D)
// x's elements reach f in row-major order. When x requires grad (and grad mode is on),
// y's grad_fn is VarFunctionBackward0:
//   - a scalar y: f is recorded once and swept at once; backward scales that gradient.
//   - a vector y: forward keeps only x; backward records f again and sweeps
//     sum_i g_i y_i once, which gives the vector-Jacobian product J^T g. So f must be
//     deterministic (no random draws, no state), as for tg::checkpoint.
// Vars of enclosing scopes that f captures are constants here, as in any TapeScope.
// Second derivatives through var_function are not available: differentiating its
// gradient again (create_graph) throws, rather than returning a wrong zero.
template <typename F, typename T>
Tensor<T> var_function(F&& f, const Tensor<T>& x) {
  static_assert(std::is_floating_point_v<T>, "tapegrad::var_function: Var needs a float or double tensor");
  const bool differentiate = is_grad_enabled() && x.requires_grad();
  std::vector<T> values;
  Tensor<T> gradient;  // scalar y: d y / d x, computed with the forward pass
  {
    TapeScope scope;
    const std::vector<Var<T>> xs = variables(x);
    const std::vector<Var<T>> ys = detail::as_var_list<T>(f(std::as_const(xs)));
    values.reserve(ys.size());
    for (const Var<T>& y : ys) values.push_back(y.val());
    if (differentiate && ys.size() == 1 && !xs.empty()) {
      VectorX<Var<T>> inputs = Eigen::Map<const VectorX<Var<T>>>(xs.data(), static_cast<Eigen::Index>(xs.size()));
      const VectorX<T> g = detail::gradient_of(ys[0], inputs);
      gradient = from_vector(std::vector<T>(g.data(), g.data() + g.size()), x.shape());
    }
  }
  using Returned = std::decay_t<decltype(f(std::declval<const std::vector<Var<T>>&>()))>;
  const bool scalar_output = std::is_convertible_v<Returned, Var<T>>;
  Tensor<T> out = scalar_output ? from_vector(values, Shape{}) : from_vector(values);
  if (!differentiate) return out;

  if (scalar_output) {
    // d/dx (g y) = g dy/dx, with dy/dx from the forward sweep
    return record(out, "VarFunctionBackward0", {x}, [gradient](Grads<T>& g) {
      g.in[0] = g.out * gradient;
      if (is_grad_enabled()) detail::hang_from_error_node<T>("VarFunctionBackward0", g.node, g.outs, g.in);
    });
  }
  // J^T g = d/dx sum_i g_i y_i(x), by one sweep of a new recording
  const std::size_t outputs = values.size();
  return record(out, "VarFunctionBackward0", {x},
                [sx = save(x), f = std::forward<F>(f), outputs](Grads<T>& g) mutable {
                  const Tensor<T> input = g[sx];
                  const Tensor<T>& weights = g.out;
                  std::vector<T> vjp;
                  {
                    TapeScope scope;
                    const std::vector<Var<T>> xs = variables(input);
                    const std::vector<Var<T>> ys = detail::as_var_list<T>(f(std::as_const(xs)));
                    detail::check_same_outputs<T>(outputs, ys.size());
                    const T* w = weights.data_ptr();
                    Var<T> weighted(T(0));
                    for (std::size_t i = 0; i < ys.size(); ++i) weighted += w[i] * ys[i];
                    VectorX<Var<T>> inputs =
                        Eigen::Map<const VectorX<Var<T>>>(xs.data(), static_cast<Eigen::Index>(xs.size()));
                    const VectorX<T> v = xs.empty() ? VectorX<T>() : detail::gradient_of(weighted, inputs);
                    vjp.assign(v.data(), v.data() + v.size());
                  }
                  g.in[0] = from_vector(vjp, input.shape());
                  if (is_grad_enabled()) detail::hang_from_error_node<T>("VarFunctionBackward0", g.node, g.outs, g.in);
                });
}

}  // namespace tapegrad
