#pragma once
// Custom autograd functions, as torch::autograd::Function in libtorch: a struct with a
// static forward and a static backward becomes one node of the graph.
//
//   struct ScaledMul : tg::Function<ScaledMul> {
//     static constexpr const char* name = "ScaledMul";  // grad_fn: "ScaledMulBackward"
//     // f(x, y; alpha) = alpha x y
//     static tg::Tensor<> forward(tg::AutogradContext<>* ctx, const tg::Tensor<>& x, const tg::Tensor<>& y,
//                                 double alpha) {
//       ctx->save_for_backward({x, y});
//       ctx->saved_data["alpha"] = alpha;
//       return x * y * alpha;
//     }
//     // df/dx = alpha y, df/dy = alpha x; no gradient for alpha (not a tensor)
//     static std::vector<tg::Tensor<>> backward(tg::AutogradContext<>* ctx, std::vector<tg::Tensor<>> grads) {
//       auto saved = ctx->get_saved_variables();
//       const double alpha = ctx->saved_data["alpha"].toDouble();
//       return {grads[0] * saved[1] * alpha, grads[0] * saved[0] * alpha, tg::Tensor<>()};
//     }
//   };
//   auto z = ScaledMul::apply(x, y, 3.0);
//
// forward runs with grad mode off; its outputs get the node as grad_fn when grad mode
// is on and a tensor argument requires grad. backward returns one gradient per forward
// argument. It runs under the engine's grad mode, so a backward written with tapegrad
// ops is itself differentiable (create_graph=true); a function that declares
// `static constexpr bool once_differentiable = true;` runs its backward with grad mode
// off, and differentiating its gradients again throws.
//
// Not supported: mark_dirty (forward must not modify its inputs in place), forward-mode
// rules, and tensors inside containers as arguments (only direct Tensor<T> arguments
// get edges, as in libtorch).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core.hpp"

namespace tapegrad {

// A non-tensor value kept in ctx->saved_data for backward: none, a bool, an integer, a
// double, a string, an integer list (a shape, dims) or a list of doubles. The accessors
// keep the names of libtorch's IValue (toDouble, toInt, ...) so ported code reads the same.
class SavedValue {
 public:
  SavedValue() = default;  // none: what saved_data["key"] holds when nothing was stored
  template <typename B, std::enable_if_t<std::is_same_v<B, bool>, int> = 0>
  SavedValue(B value) : value_(value) {}
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  SavedValue(I value) : value_(static_cast<std::int64_t>(value)) {}
  template <typename F, std::enable_if_t<std::is_floating_point_v<F>, int> = 0>
  SavedValue(F value) : value_(static_cast<double>(value)) {}
  SavedValue(const char* value) : value_(std::string(value)) {}
  SavedValue(std::string value) : value_(std::move(value)) {}
  SavedValue(std::vector<std::int64_t> value) : value_(std::move(value)) {}
  SavedValue(std::vector<double> value) : value_(std::move(value)) {}

  bool isNone() const { return std::holds_alternative<std::monostate>(value_); }
  bool isBool() const { return std::holds_alternative<bool>(value_); }
  bool isInt() const { return std::holds_alternative<std::int64_t>(value_); }
  bool isDouble() const { return std::holds_alternative<double>(value_); }
  bool isString() const { return std::holds_alternative<std::string>(value_); }
  bool isIntList() const { return std::holds_alternative<std::vector<std::int64_t>>(value_); }
  bool isDoubleList() const { return std::holds_alternative<std::vector<double>>(value_); }

  bool toBool() const { return get<bool>("toBool", "a bool"); }
  std::int64_t toInt() const { return get<std::int64_t>("toInt", "an int"); }
  // An int widens to double (exact below 2^53); a double never narrows to an int.
  double toDouble() const {
    if (isInt()) return static_cast<double>(std::get<std::int64_t>(value_));
    return get<double>("toDouble", "a double");
  }
  const std::string& toStringRef() const { return get<std::string>("toStringRef", "a string"); }
  // Shapes are integer lists: saved_data["shape"] = x.shape(); ... .toIntVector()
  const std::vector<std::int64_t>& toIntVector() const {
    return get<std::vector<std::int64_t>>("toIntVector", "an int list (a shape)");
  }
  const std::vector<double>& toDoubleVector() const {
    return get<std::vector<double>>("toDoubleVector", "a double list");
  }

  // What the value holds, for messages: "none", "a bool", "an int", ...
  const char* kind() const {
    static const char* const kinds[] = {"none",     "a bool",                "an int",       "a double",
                                        "a string", "an int list (a shape)", "a double list"};
    return kinds[value_.index()];
  }

 private:
  template <typename V>
  const V& get(const char* accessor, const char* wanted) const {
    if (const V* v = std::get_if<V>(&value_)) return *v;
    detail::fail<ValueError>("saved_data: ", accessor, "() needs ", wanted, " but the value is ", kind(),
                             isNone() ? "; nothing was stored under this key in forward (check the key's spelling)"
                                      : "; read it with the accessor of what was stored");
  }

  std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
               std::vector<double>>
      value_;
};

template <typename T>
class CustomFunctionNode;

namespace detail {
template <typename X, typename T, typename... Args>
auto apply_function(Args&&... args);
}

// What forward and backward of a custom function share (libtorch's AutogradContext).
// It lives in the function's node; forward and backward get a pointer to it.
template <typename T = double>
class AutogradContext {
 public:
  AutogradContext() = default;
  AutogradContext(const AutogradContext&) = delete;
  AutogradContext& operator=(const AutogradContext&) = delete;
  AutogradContext(AutogradContext&&) = default;
  AutogradContext& operator=(AutogradContext&&) = default;

  // Non-tensor values for backward: ctx->saved_data["alpha"] = 0.5; ... .toDouble().
  // Tensors go through save_for_backward instead, which guards them.
  std::map<std::string, SavedValue> saved_data;

  // Tensors backward needs (inputs, outputs, or anything computed in forward; undefined
  // tensors are allowed). Call it in forward; a later call replaces the list. They are
  // version-checked: an in-place change before backward is an error, not a wrong
  // gradient. An output is kept without its grad_fn, so saving it makes no reference
  // cycle (node -> saved output -> node).
  void save_for_backward(std::vector<Tensor<T>> to_save) {
    if (phase_ != Phase::forward)
      detail::fail<GraphError>("save_for_backward: ", function_name_, " called it outside forward; save tensors in "
                               "forward, where backward can get them back with get_saved_variables()");
    to_save_ = std::move(to_save);
  }

  // The tensors of save_for_backward, in the same order. In backward only. With
  // create_graph=true they lead back into the graph, so a backward written with
  // tapegrad ops can be differentiated again.
  std::vector<Tensor<T>> get_saved_variables() const {
    if (phase_ == Phase::forward)
      detail::fail<GraphError>("get_saved_variables: ", function_name_, " called it in forward; the saved tensors "
                               "are available in backward");
    if (released_)
      detail::fail<GraphError>("backward: trying to backward through ", function_name_, "Backward a second time, "
                               "but its saved tensors were freed by the first backward; pass retain_graph=true to "
                               "the first backward() (or tg::grad) to keep them");
    std::vector<Tensor<T>> out;
    out.reserve(saved_.size());
    for (const auto& s : saved_) out.push_back(s ? s->unpack(*node_) : Tensor<T>());
    return out;
  }

  // Outputs that get no gradient (indices, masks, counts): they do not require grad,
  // and backward still receives a (zero) gradient slot for each. In forward.
  void mark_non_differentiable(const std::vector<Tensor<T>>& outputs) {
    if (phase_ != Phase::forward)
      detail::fail<GraphError>("mark_non_differentiable: ", function_name_, " called it outside forward");
    for (const auto& t : outputs)
      if (t.defined()) non_differentiable_.push_back(t.impl());
  }

  // By default an output gradient the engine did not compute (an output that was not
  // used) reaches backward as zeros of the output's shape; false passes it undefined,
  // which saves the work when backward can skip it.
  void set_materialize_grads(bool value) { materialize_grads_ = value; }

  // Whether forward argument `index` (counting every argument, tensors or not) needs a
  // gradient: it is a tensor that requires grad and, in backward, the running pass
  // reaches it (tg::grad asks only for some inputs). Always false for non-tensors.
  bool needs_input_grad(std::size_t index) const {
    if (index >= edge_of_arg_.size())
      detail::fail<IndexError>("needs_input_grad: index ", index, " is out of range: ", function_name_,
                               "'s forward takes ", edge_of_arg_.size(), " argument",
                               edge_of_arg_.size() == 1 ? "" : "s");
    if (edge_of_arg_[index] < 0) return false;
    if (phase_ == Phase::forward || !node_) return requires_grad_[index];
    const auto& edge = node_->next_edges()[static_cast<std::size_t>(edge_of_arg_[index])];
    return edge.node && detail::needed_in_running_pass(*edge.node);
  }

 private:
  friend class CustomFunctionNode<T>;
  template <typename X, typename U, typename... Args>
  friend auto detail::apply_function(Args&&... args);

  enum class Phase { forward, backward };

  // Called once forward returned and the node exists: turns the tensors to save into
  // guarded Saved<T>, recognising outputs by identity so they are saved as outputs.
  void save_variables(const std::vector<TensorImpl<T>*>& raw_outputs, const std::vector<Tensor<T>>& outputs,
                      const Node<T>& node) {
    saved_.clear();
    for (const Tensor<T>& t : to_save_) {
      if (!t.defined()) {
        saved_.emplace_back();
        continue;
      }
      std::optional<Saved<T>> saved;
      for (std::size_t k = 0; k < outputs.size() && !saved; ++k)
        if (raw_outputs[k] == t.impl().get() && outputs[k].grad_fn().get() == &node)
          saved.emplace(outputs[k], true, static_cast<std::uint32_t>(k));
      if (!saved) saved.emplace(t, false);
      saved_.push_back(std::move(saved));
    }
    to_save_.clear();  // drop the raw handles: an output held here would be a cycle
  }

  bool is_non_differentiable(const TensorImpl<T>* impl) const {
    for (const auto& p : non_differentiable_)
      if (p.get() == impl) return true;
    return false;
  }

  void release() {
    if (!saved_.empty()) released_ = true;
    saved_.clear();
  }

  std::string function_name_ = "CustomFunction";
  Phase phase_ = Phase::forward;
  std::vector<int> edge_of_arg_;      // forward argument -> input edge of the node, -1: not a tensor
  std::vector<bool> requires_grad_;   // forward argument needs a gradient (known before forward)
  std::vector<Tensor<T>> to_save_;    // during forward only
  std::vector<std::shared_ptr<TensorImpl<T>>> non_differentiable_;  // during forward only
  std::vector<std::optional<Saved<T>>> saved_;
  bool materialize_grads_ = true;
  bool released_ = false;
  const Node<T>* node_ = nullptr;  // the node this context lives in
};

// Raised by the node that once-differentiable gradients hang from when they are
// differentiated again (PyTorch's DelayedError).
template <typename T>
class OnceDifferentiableNode final : public Node<T> {
 public:
  OnceDifferentiableNode(std::string function, std::size_t num_outputs)
      : Node<T>(num_outputs), function_(std::move(function)) {}
  std::string name() const override { return "DelayedError"; }
  void apply(const std::vector<Tensor<T>>&, std::vector<Tensor<T>>&) override {
    detail::fail<GraphError>("backward: ", function_, " is once_differentiable: its backward is not "
                             "differentiable, so it cannot be differentiated again (double backward); write its "
                             "backward with tapegrad ops and drop once_differentiable to allow it");
  }

 private:
  std::string function_;  // the node whose gradients hang from this one
};

namespace detail {
// once_differentiable under create_graph: the gradients `grad_inputs` that `node` (named
// `name`) computed become outputs of a node that throws when reached, so a second
// derivative fails loudly instead of coming out zero. Its edges are the node's inputs and
// the incoming gradients `grads`: whatever the true second derivative would depend on, so
// tg::grad reaches it too.
template <typename T>
void hang_from_error_node(const std::string& name, const Node<T>& node, const std::vector<Tensor<T>>& grads,
                          std::vector<Tensor<T>>& grad_inputs) {
  std::size_t count = 0;
  for (const auto& g : grad_inputs) count += g.defined() ? 1 : 0;
  if (count == 0) return;
  auto error_node = std::make_shared<OnceDifferentiableNode<T>>(name, count);
  for (const Edge<T>& e : node.next_edges()) error_node->add_next_edge(e);
  for (const auto& g : grads)
    if (g.defined() && g.requires_grad()) error_node->add_next_edge(gradient_edge(g));
  std::uint32_t k = 0;
  for (auto& g : grad_inputs) {
    if (!g.defined()) continue;
    auto impl = alias_impl(*g.impl(), g.shape());  // the caller's tensor may be shared
    impl->requires_grad = true;
    impl->grad_fn = error_node;
    impl->output_nr = k++;
    g = Tensor<T>(std::move(impl));
  }
}
}  // namespace detail

// The grad_fn of a custom function's outputs: runs the user's backward and checks
// what it returns before the engine sees it.
template <typename T>
class CustomFunctionNode final : public Node<T> {
 public:
  using BackwardFn = std::vector<Tensor<T>> (*)(AutogradContext<T>&, std::vector<Tensor<T>>);

  CustomFunctionNode(AutogradContext<T>&& ctx, std::vector<Shape> output_shapes, BackwardFn backward,
                     bool once_differentiable)
      : Node<T>(output_shapes.size()),
        ctx_(std::move(ctx)),
        name_(ctx_.function_name_ + "Backward"),
        output_shapes_(std::move(output_shapes)),
        backward_(backward),
        once_differentiable_(once_differentiable) {
    ctx_.node_ = this;
  }

  std::string name() const override { return name_; }
  bool once_differentiable() const { return once_differentiable_; }

  void apply(const std::vector<Tensor<T>>& grad_outputs, std::vector<Tensor<T>>& grad_inputs) override {
    std::vector<Tensor<T>> grads = grad_outputs;
    if (ctx_.materialize_grads_)
      for (std::size_t k = 0; k < grads.size(); ++k)
        if (!grads[k].defined()) grads[k] = zeros<T>(output_shapes_[k]);

    // create_graph: the engine runs rules with grad mode on, so a backward written
    // with tapegrad ops records and can be differentiated again.
    const bool create_graph = is_grad_enabled();
    std::vector<Tensor<T>> result;
    if (once_differentiable_) {
      NoGradGuard no_grad;
      result = backward_(ctx_, grads);
    } else {
      result = backward_(ctx_, grads);
    }

    check_and_route(result, grad_inputs);
    if (once_differentiable_ && create_graph) detail::hang_from_error_node(name_, *this, grads, grad_inputs);
  }

  void release_saved() override { ctx_.release(); }

 private:
  template <typename X, typename U, typename... Args>
  friend auto detail::apply_function(Args&&... args);

  // One gradient per forward argument; each tensor input's gradient has its shape
  // (or broadcasts to it, like PyTorch; the engine sums it back).
  void check_and_route(const std::vector<Tensor<T>>& result, std::vector<Tensor<T>>& grad_inputs) const {
    const auto& edge_of_arg = ctx_.edge_of_arg_;
    if (result.size() != edge_of_arg.size())
      detail::fail<GraphError>(name_, ": backward returned ", result.size(), " gradient",
                               result.size() == 1 ? "" : "s", " but forward took ", edge_of_arg.size(),
                               " argument", edge_of_arg.size() == 1 ? "" : "s",
                               "; return one per forward argument, in order (an undefined Tensor for non-tensor "
                               "arguments and for inputs without a gradient)");
    for (std::size_t i = 0; i < result.size(); ++i) {
      if (!result[i].defined()) continue;
      if (edge_of_arg[i] < 0)
        detail::fail<GraphError>(name_, ": backward returned a gradient for argument ", i,
                                 ", which is not a tensor of the function's element type (or is undefined); "
                                 "return an undefined Tensor there");
      const auto e = static_cast<std::size_t>(edge_of_arg[i]);
      const Edge<T>& edge = this->next_edges()[e];
      const Shape& got = result[i].shape();
      if (got != edge.shape && !detail::broadcastable_to(edge.shape, got))
        detail::fail<ShapeError>(name_, ": backward returned a gradient of shape ", detail::show(got),
                                 " for argument ", i, ", which has shape ", detail::show(edge.shape),
                                 "; each gradient must have its input's shape");
      if (edge.node) grad_inputs[e] = result[i];
    }
  }

  AutogradContext<T> ctx_;
  std::string name_;
  std::vector<Shape> output_shapes_;
  BackwardFn backward_;
  bool once_differentiable_;
};

namespace detail {

template <typename A>
struct float_tensor_scalar {
  using type = void;
};
template <typename U>
struct float_tensor_scalar<Tensor<U>> {
  using type = std::conditional_t<std::is_floating_point_v<U>, U, void>;
};

// The element type of the first floating-point Tensor among Args (void if none).
template <typename... Args>
struct first_float_tensor {
  using type = void;
};
template <typename A, typename... Rest>
struct first_float_tensor<A, Rest...> {
  using own = typename float_tensor_scalar<std::decay_t<A>>::type;
  using type = std::conditional_t<std::is_void_v<own>, typename first_float_tensor<Rest...>::type, own>;
};

template <typename T, typename A>
constexpr bool is_other_float_tensor() {
  using U = typename float_tensor_scalar<std::decay_t<A>>::type;
  return !std::is_void_v<U> && !std::is_same_v<U, T>;
}

// Which of forward(ctx*, args...) and forward(ctx&, args...) the user wrote.
template <typename X, typename... A>
constexpr auto forward_accepts(int) -> decltype(X::forward(std::declval<A>()...), true) {
  return true;
}
template <typename X, typename... A>
constexpr bool forward_accepts(...) {
  return false;
}
template <typename X, typename... A>
constexpr auto backward_accepts(int) -> decltype(X::backward(std::declval<A>()...), true) {
  return true;
}
template <typename X, typename... A>
constexpr bool backward_accepts(...) {
  return false;
}

template <typename X, typename = void>
struct has_function_name : std::false_type {};
template <typename X>
struct has_function_name<X, std::void_t<decltype(std::string(X::name))>> : std::true_type {};

template <typename X, typename = void>
struct is_once_differentiable : std::false_type {};
template <typename X>
struct is_once_differentiable<X, std::void_t<decltype(X::once_differentiable)>>
    : std::bool_constant<static_cast<bool>(X::once_differentiable)> {};

template <typename X>
std::string function_name() {
  if constexpr (has_function_name<X>::value)
    return std::string(X::name);
  else
    return "CustomFunction";
}

template <typename X, typename T>
std::vector<Tensor<T>> invoke_backward(AutogradContext<T>& ctx, std::vector<Tensor<T>> grads) {
  using Grads = std::vector<Tensor<T>>;
  if constexpr (backward_accepts<X, AutogradContext<T>*, Grads>(0)) {
    static_assert(std::is_convertible_v<decltype(X::backward(&ctx, std::move(grads))), Grads>,
                  "Function: backward must return std::vector<Tensor<T>> (one gradient per forward argument)");
    return X::backward(&ctx, std::move(grads));
  } else {
    static_assert(backward_accepts<X, AutogradContext<T>&, Grads>(0),
                  "Function: declare static std::vector<Tensor<T>> backward(tg::AutogradContext<T>* ctx, "
                  "std::vector<Tensor<T>> grad_outputs)");
    static_assert(std::is_convertible_v<decltype(X::backward(ctx, std::move(grads))), Grads>,
                  "Function: backward must return std::vector<Tensor<T>> (one gradient per forward argument)");
    return X::backward(ctx, std::move(grads));
  }
}

template <typename X, typename T, typename... Args>
decltype(auto) invoke_forward(AutogradContext<T>& ctx, Args&&... args) {
  if constexpr (forward_accepts<X, AutogradContext<T>*, Args&&...>(0)) {
    return X::forward(&ctx, std::forward<Args>(args)...);
  } else {
    static_assert(forward_accepts<X, AutogradContext<T>&, Args&&...>(0),
                  "Function: no forward(tg::AutogradContext<T>* ctx, ...) of this struct takes the arguments "
                  "given to apply()");
    return X::forward(ctx, std::forward<Args>(args)...);
  }
}

template <typename T, typename A>
void collect_argument(const A& arg, std::vector<Tensor<T>>& inputs, std::vector<int>& edge_of_arg,
                      std::vector<bool>& requires_grad) {
  if constexpr (std::is_same_v<A, Tensor<T>>) {
    if (arg.defined()) {
      edge_of_arg.push_back(static_cast<int>(inputs.size()));
      requires_grad.push_back(arg.requires_grad());
      inputs.push_back(arg);
      return;
    }
  }
  edge_of_arg.push_back(-1);  // a number, an integer tensor, an undefined tensor: no gradient
  requires_grad.push_back(false);
}

template <typename X, typename T, typename... Args>
auto apply_function(Args&&... args) {
  static_assert(!(is_other_float_tensor<T, Args>() || ...),
                "Function::apply: all floating-point tensor arguments must have the same element type");
  AutogradContext<T> ctx;
  ctx.function_name_ = function_name<X>();
  std::vector<Tensor<T>> inputs;
  (collect_argument<T>(args, inputs, ctx.edge_of_arg_, ctx.requires_grad_), ...);
  const bool record = should_record<T>(inputs);
  if (!record) ctx.requires_grad_.assign(ctx.requires_grad_.size(), false);

  // forward computes values only: the node recorded below stands for all of it.
  auto result = [&]() {
    NoGradGuard no_grad;
    return invoke_forward<X, T>(ctx, std::forward<Args>(args)...);
  }();
  using Result = decltype(result);
  constexpr bool single = std::is_same_v<Result, Tensor<T>>;
  static_assert(single || std::is_same_v<Result, std::vector<Tensor<T>>>,
                "Function: forward must return a Tensor<T> or a std::vector<Tensor<T>>");
  std::vector<Tensor<T>> outputs;
  if constexpr (single)
    outputs.push_back(std::move(result));
  else
    outputs = std::move(result);

  // An output that is an input, a repeat, or anything already in a graph is handed
  // out as a fresh alias: giving it this node as grad_fn must not rewire the original.
  std::vector<TensorImpl<T>*> raw(outputs.size());
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!outputs[k].defined())
      fail<ValueError>(ctx.function_name_, "::apply: forward returned an undefined tensor as output ", k,
                       "; return only defined tensors");
    raw[k] = outputs[k].impl().get();
    bool shared = outputs[k].requires_grad();
    for (const auto& in : inputs) shared = shared || in.impl().get() == raw[k];
    for (std::size_t j = 0; j < k; ++j) shared = shared || raw[j] == raw[k];
    if (shared) outputs[k] = Tensor<T>(alias_impl(*outputs[k].impl(), outputs[k].shape()));
  }

  if (record) {
    std::vector<Shape> shapes;
    for (const auto& out : outputs) shapes.push_back(out.shape());
    std::vector<bool> differentiable(outputs.size());
    for (std::size_t k = 0; k < outputs.size(); ++k) differentiable[k] = !ctx.is_non_differentiable(raw[k]);
    ctx.non_differentiable_.clear();
    ctx.phase_ = AutogradContext<T>::Phase::backward;
    auto node = std::make_shared<CustomFunctionNode<T>>(std::move(ctx), std::move(shapes), &invoke_backward<X, T>,
                                                        is_once_differentiable<X>::value);
    add_input_edges(*node, inputs);
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      if (!differentiable[k]) continue;
      auto& impl = *outputs[k].impl();
      impl.requires_grad = true;
      impl.grad_fn = node;
      impl.output_nr = static_cast<std::uint32_t>(k);
    }
    node->ctx_.save_variables(raw, outputs, *node);
  }

  if constexpr (single)
    return outputs[0];
  else
    return outputs;
}

}  // namespace detail

// Base of a custom function X (CRTP, as torch::autograd::Function<X>). X declares
//   static Tensor<T> (or std::vector<Tensor<T>>) forward(AutogradContext<T>* ctx, args...);
//   static std::vector<Tensor<T>> backward(AutogradContext<T>* ctx, std::vector<Tensor<T>> grad_outputs);
// (a reference AutogradContext<T>& works as well) and optionally
//   static constexpr const char* name = "MyOp";          // grad_fn name "MyOpBackward"
//   static constexpr bool once_differentiable = true;    // backward is not differentiable
// Without a name the grad_fn is "CustomFunctionBackward". forward and backward may be
// templates on T to serve float and double. Local classes cannot have static data
// members, so a struct with a name is declared at namespace scope.
template <typename X>
struct Function {
  // Runs X::forward on the arguments and records one node for it. T comes from the
  // first floating-point Tensor argument; other arguments (numbers, integer tensors)
  // are passed through and get no gradient.
  template <typename... Args>
  static auto apply(Args&&... args) {
    using T = typename detail::first_float_tensor<Args...>::type;
    static_assert(!std::is_void_v<T>, "Function::apply: pass at least one floating-point Tensor argument");
    return detail::apply_function<X, T>(std::forward<Args>(args)...);
  }
};

}  // namespace tapegrad
