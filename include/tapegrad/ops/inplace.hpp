#pragma once
// In-place ops: add_, sub_, mul_, div_, zero_, fill_, clamp_, copy_, relu_ (and the
// compound assignments, x += y being x.add_(y)). They write into the tensor's own
// buffer, bump its version counter, and, when autograd is recording, make a new node
// the tensor's grad_fn, as PyTorch does: x.mul_(2) on a non-leaf leaves x with
// grad_fn MulBackward0, whose edge leads to the node that produced x's old value.
//
// What keeps this safe:
// - every op that saved the old value (y = x.exp() saves y) notices the version bump
//   at backward and throws instead of using the overwritten data;
// - a leaf that requires grad cannot be modified while grad mode is on: autograd needs
//   its value, and parameter updates belong inside a NoGradGuard scope;
// - while recording, a buffer shared with a live view (reshape, view, flatten, squeeze,
//   unsqueeze) cannot be modified: the other tensor's grad_fn would go stale. PyTorch
//   rewrites the view's graph here; tapegrad refuses and says to clone() (docs/design.md).
// Each rule below saves only what it needs, and never the overwritten value itself:
// mul_ keeps a clone of the old value when the other factor needs its gradient, div_
// and relu_ use their result, clamp_ keeps the mask of the old value.

#include <optional>
#include <utility>

#include "../core/node.hpp"
#include "arithmetic.hpp"
#include "shape.hpp"
#include "unary.hpp"

namespace tapegrad {
namespace detail {

// The checks every in-place op makes before writing, and the node it will record:
// null when nothing is recorded (grad mode off, or no operand requires grad).
// `operands` are the op's inputs, the tensor being modified first; their edges are
// taken now, while its grad_fn is still the node that produced its old value.
template <typename T>
std::shared_ptr<FunctionNode<T>> begin_inplace(const char* op, const char* node_name, InputList<T> operands) {
  const Tensor<T>& self = operands.begin()->get();
  if (!is_grad_enabled()) return nullptr;
  if (self.requires_grad() && self.is_leaf())
    fail<GraphError>(op, ": a leaf tensor that requires grad (shape ", show(self.shape()),
                     ") is being used in an in-place operation; autograd needs its value. Update parameters inside a "
                     "tg::NoGradGuard scope, or use the out-of-place op (on a clone() if you need a copy)");
  if (!should_record<T>(operands)) return nullptr;
  if (self.impl()->storage->has_views())
    fail<GraphError>(op, ": the tensor (shape ", show(self.shape()),
                     ") shares its buffer with a view (a reshape, view, flatten, squeeze or unsqueeze result, or the "
                     "tensor it was taken from) and autograd cannot update the other tensor's graph; use the "
                     "out-of-place op, or clone() the tensor before modifying it in place");
  std::shared_ptr<FunctionNode<T>> node = new_function_node<T>(node_name);
  add_input_edges(*node, operands);
  return node;
}

// After the write: bumps the version and, when recording, makes `node` self's grad_fn.
// Returns whether a node was attached (the caller then sets its backward rule).
template <typename T>
bool commit_inplace(Tensor<T>& self, const std::shared_ptr<FunctionNode<T>>& node) {
  self.impl()->storage->bump_version();
  if (!node) return false;
  TensorImpl<T>& impl = *self.impl();
  const std::shared_ptr<Node<T>> old_fn = std::move(impl.grad_fn);
  const std::uint32_t old_output_nr = impl.output_nr;
  impl.requires_grad = true;
  impl.grad_fn = node;
  impl.output_nr = 0;
  // retain_grad() follows the tensor to its new grad_fn, as in PyTorch (hooks stay
  // with the old value's node).
  move_retains_grad(self.impl(), old_fn.get(), old_output_nr);
  return true;
}

template <typename T>
void check_inplace_broadcast(const char* op, const Tensor<T>& self, const Tensor<T>& other) {
  if (!broadcastable_to(other.shape(), self.shape()))
    fail<ShapeError>(op, ": a tensor of shape ", show(other.shape()), " cannot be broadcast to the shape ",
                     show(self.shape()), " of the tensor being updated; in-place ops keep the shape of the tensor "
                     "they modify, so use the out-of-place op to get the broadcast shape");
}

// self = F(self, other), other broadcast to self's shape. Equal shapes run in place
// (element-wise, so other may alias self); otherwise compute first, then copy.
template <typename F, typename T>
void write_binary(const char* op, Tensor<T>& self, const Tensor<T>& other) {
  if (other.shape() == self.shape()) {
    vec(self) = F()(vec(self), vec(other));
  } else {
    const Tensor<T> result = binary_map<F>(op, self, other);
    copy_into(result, self);
  }
}

template <typename T>
Tensor<T> scaled(const Tensor<T>& t, T alpha) {
  return alpha == T(1) ? t : unary_map(t, [alpha](const auto& a) { return a * alpha; });
}

// A factor the backward rule saves must outlive the write: if it shares self's buffer
// (x.mul_(x)), use a recorded copy of it.
template <typename T>
Tensor<T> unaliased(const Tensor<T>& other, const Tensor<T>& self) {
  return other.impl()->storage == self.impl()->storage ? tapegrad::clone(other) : other;
}

}  // namespace detail

namespace detail {
// self = kernel(self) with a number as the other operand: records `node_name` with `rule`
// (a scalar operand has no gradient, so the rule fills g.in[0] only).
template <typename T, typename Kernel, typename Rule>
Tensor<T>& scalar_inplace(Tensor<T>& self, const char* op, const char* node_name, Kernel kernel, Rule rule) {
  auto node = begin_inplace<T>(op, node_name, {self});
  kernel(vec(self));
  if (commit_inplace(self, node)) node->set_rule(std::move(rule));
  return self;
}
}  // namespace detail

// ---- add_, sub_: self += alpha * other ----

// d/dself = 1, d/dother = alpha
template <typename T>
Tensor<T>& Tensor<T>::add_(const Tensor& other, T alpha) {
  detail::check_inplace_broadcast("add_", *this, other);
  auto node = detail::begin_inplace<T>("add_", "AddBackward0", {*this, other});
  detail::write_binary<detail::AddFn>("add_", *this, detail::scaled(other, alpha));
  if (detail::commit_inplace(*this, node))
    node->set_rule([alpha](Grads<T>& g) {
      if (g.needs(0)) g.in[0] = g.out;
      if (g.needs(1)) g.in[1] = alpha == T(1) ? g.out : g.out * alpha;
    });
  return *this;
}

// d/dself (self + value) = 1
template <typename T>
Tensor<T>& Tensor<T>::add_(T value) {
  return detail::scalar_inplace(*this, "add_", "AddBackward0", [value](auto v) { v += value; },
                                [](Grads<T>& g) { g.in[0] = g.out; });
}

// d/dself = 1, d/dother = -alpha
template <typename T>
Tensor<T>& Tensor<T>::sub_(const Tensor& other, T alpha) {
  detail::check_inplace_broadcast("sub_", *this, other);
  auto node = detail::begin_inplace<T>("sub_", "SubBackward0", {*this, other});
  detail::write_binary<detail::SubFn>("sub_", *this, detail::scaled(other, alpha));
  if (detail::commit_inplace(*this, node))
    node->set_rule([alpha](Grads<T>& g) {
      if (g.needs(0)) g.in[0] = g.out;
      if (g.needs(1)) g.in[1] = g.out * -alpha;
    });
  return *this;
}

// d/dself (self - value) = 1
template <typename T>
Tensor<T>& Tensor<T>::sub_(T value) {
  return detail::scalar_inplace(*this, "sub_", "SubBackward0", [value](auto v) { v -= value; },
                                [](Grads<T>& g) { g.in[0] = g.out; });
}

// ---- mul_, div_ ----

// d/dself = other, d/dother = old self (kept as a clone only when other needs a gradient)
template <typename T>
Tensor<T>& Tensor<T>::mul_(const Tensor& other_in) {
  detail::check_inplace_broadcast("mul_", *this, other_in);
  const bool recording = is_grad_enabled() && (requires_grad() || other_in.requires_grad());
  const Tensor other = recording ? detail::unaliased(other_in, *this) : other_in;
  auto node = detail::begin_inplace<T>("mul_", "MulBackward0", {*this, other});
  const Tensor old_self = node && other.requires_grad() ? tapegrad::clone(*this) : Tensor();
  detail::write_binary<detail::MulFn>("mul_", *this, other);
  if (detail::commit_inplace(*this, node))
    node->set_rule([so = save(other), old_self](Grads<T>& g) {
      if (g.needs(0)) g.in[0] = g.out * g[so];
      if (g.needs(1)) g.in[1] = g.out * old_self;
    });
  return *this;
}

// d/dself (self * value) = value
template <typename T>
Tensor<T>& Tensor<T>::mul_(T value) {
  return detail::scalar_inplace(*this, "mul_", "MulBackward0", [value](auto v) { v *= value; },
                                [value](Grads<T>& g) { g.in[0] = g.out * value; });
}

// out = self / other:  d/dself = 1 / other,  d/dother = -self / other^2 = -out / other
template <typename T>
Tensor<T>& Tensor<T>::div_(const Tensor& other_in) {
  detail::check_inplace_broadcast("div_", *this, other_in);
  const bool recording = is_grad_enabled() && (requires_grad() || other_in.requires_grad());
  const Tensor other = recording ? detail::unaliased(other_in, *this) : other_in;
  auto node = detail::begin_inplace<T>("div_", "DivBackward0", {*this, other});
  detail::write_binary<detail::DivFn>("div_", *this, other);
  if (detail::commit_inplace(*this, node))
    node->set_rule([so = save(other), sout = save_output(*this)](Grads<T>& g) {
      const Tensor<T> b = g[so];
      if (g.needs(0)) g.in[0] = g.out / b;
      if (g.needs(1)) g.in[1] = -g.out * g[sout] / b;
    });
  return *this;
}

// d/dself (self / value) = 1 / value
template <typename T>
Tensor<T>& Tensor<T>::div_(T value) {
  return detail::scalar_inplace(*this, "div_", "DivBackward0", [value](auto v) { v /= value; },
                                [value](Grads<T>& g) { g.in[0] = g.out / value; });
}

// ---- zero_, fill_, copy_: the old value is overwritten, so its gradient is 0 ----

template <typename T>
Tensor<T>& Tensor<T>::zero_() {
  auto node = detail::begin_inplace<T>("zero_", "ZeroBackward0", {*this});
  detail::fill(*this, T(0));
  // d/dself = 0: no gradient flows to the node that produced the old value.
  if (detail::commit_inplace(*this, node)) node->set_rule([](Grads<T>&) {});
  return *this;
}

template <typename T>
Tensor<T>& Tensor<T>::fill_(T value) {
  auto node = detail::begin_inplace<T>("fill_", "FillBackward0", {*this});
  detail::fill(*this, value);
  if (detail::commit_inplace(*this, node)) node->set_rule([](Grads<T>&) {});
  return *this;
}

// self = src broadcast to self's shape:  d/dself = 0,  d/dsrc = g (summed over broadcast dims)
template <typename T>
Tensor<T>& Tensor<T>::copy_(const Tensor& src) {
  detail::check_inplace_broadcast("copy_", *this, src);
  auto node = detail::begin_inplace<T>("copy_", "CopyBackwards", {*this, src});
  if (src.shape() != shape()) {
    const Tensor expanded = detail::expand_kernel(src, shape());
    detail::copy_into(expanded, *this);
  } else if (src.data_ptr() != data_ptr()) {
    detail::copy_into(src, *this);
  }
  if (detail::commit_inplace(*this, node))
    node->set_rule([](Grads<T>& g) {
      if (g.needs(1)) g.in[1] = g.out;
    });
  return *this;
}

// ---- clamp_, relu_ ----

// d/dself = [min <= old self <= max]; the mask is taken before the write.
// NOTE: the same conventions as clamp (gradient 1 at the bounds; min > max gives max).
template <typename T>
Tensor<T>& Tensor<T>::clamp_(std::optional<T> min, std::optional<T> max) {
  if (!min && !max)
    detail::fail<ValueError>("clamp_: at least one of min and max must be given (both are std::nullopt)");
  if (min) detail::ew::check_bound("clamp_", "min", *min);
  if (max) detail::ew::check_bound("clamp_", "max", *max);
  const T lo = min.value_or(-std::numeric_limits<T>::infinity());
  const T hi = max.value_or(std::numeric_limits<T>::infinity());
  auto node = detail::begin_inplace<T>("clamp_", "ClampBackward1", {*this});
  const Tensor outside = node ? detail::ew::mask(*this, [lo, hi](T v) { return !(v >= lo && v <= hi); }) : Tensor();
  detail::copy_into(detail::ew::clamp_kernel(*this, lo, hi), *this);
  if (detail::commit_inplace(*this, node))
    node->set_rule([outside](Grads<T>& g) { g.in[0] = detail::zero_where(g.out, outside); });
  return *this;
}

// d/dself = [out > 0], from the result (relu'(0) = 0, as in PyTorch)
template <typename T>
Tensor<T>& Tensor<T>::relu_() {
  auto node = detail::begin_inplace<T>("relu_", "ReluBackward0", {*this});
  detail::vec(*this) = detail::vec(*this).max(T(0));
  if (detail::commit_inplace(*this, node))
    node->set_rule([so = save_output(*this)](Grads<T>& g) { g.in[0] = detail::keep_where_positive(g.out, g[so]); });
  return *this;
}

}  // namespace tapegrad
