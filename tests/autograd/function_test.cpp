#include "test_util.hpp"

#include <cmath>
#include <limits>

namespace autograd_function_test {

// Custom functions: tg::Function<X>, AutogradContext, once_differentiable.

namespace {

using Ctx = tg::AutogradContext<double>;

// f(x, y; alpha) = alpha x y with a backward written in tapegrad ops (differentiable).
struct ScaledMul : tg::Function<ScaledMul> {
  static constexpr const char* name = "ScaledMul";
  static Tensor forward(Ctx* ctx, const Tensor& x, const Tensor& y, double alpha) {
    ctx->save_for_backward({x, y});
    ctx->saved_data["alpha"] = alpha;
    return x * y * alpha;
  }
  // df/dx = alpha y, df/dy = alpha x; nothing for alpha
  static Tensors backward(Ctx* ctx, Tensors grads) {
    const auto saved = ctx->get_saved_variables();
    const double alpha = ctx->saved_data["alpha"].toDouble();
    return {grads[0] * saved[1] * alpha, grads[0] * saved[0] * alpha, Tensor()};
  }
};

// exp(x), saving its output: d/dx e^x = e^x. No name: the generic node name.
struct SavedExp : tg::Function<SavedExp> {
  static Tensor forward(Ctx* ctx, const Tensor& x) {
    auto y = tg::exp(x);
    ctx->save_for_backward({y});
    return y;
  }
  static Tensors backward(Ctx* ctx, Tensors grads) { return {grads[0] * ctx->get_saved_variables()[0]}; }
};

// Two outputs from one node: (sin x, cos x); d/dx = g0 cos x - g1 sin x.
struct SinCos : tg::Function<SinCos> {
  static constexpr const char* name = "SinCos";
  static Tensors forward(Ctx& ctx, const Tensor& x) {  // a reference context works too
    ctx.save_for_backward({x});
    return {tg::sin(x), tg::cos(x)};
  }
  static Tensors backward(Ctx& ctx, Tensors grads) {
    const auto x = ctx.get_saved_variables()[0];
    return {grads[0] * tg::cos(x) - grads[1] * tg::sin(x)};
  }
};

// x^3 with backward 3 x^2 g: its second derivative is 6 x.
struct Cube : tg::Function<Cube> {
  static constexpr const char* name = "Cube";
  static Tensor forward(Ctx* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static Tensors backward(Ctx* ctx, Tensors grads) {
    const auto x = ctx->get_saved_variables()[0];
    return {grads[0] * x * x * 3.0};
  }
};

// The same cube with a backward that works on raw buffers, so it cannot be differentiated.
struct RawCube : tg::Function<RawCube> {
  static constexpr const char* name = "RawCube";
  static constexpr bool once_differentiable = true;
  static Tensor forward(Ctx* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static Tensors backward(Ctx* ctx, Tensors grads) {
    const auto x = ctx->get_saved_variables()[0];
    CHECK_FALSE(tg::is_grad_enabled());  // once_differentiable: backward runs without recording
    auto out = tg::zeros_like(x);
    for (std::int64_t i = 0; i < x.numel(); ++i)
      out.data_ptr()[i] = 3 * x.data_ptr()[i] * x.data_ptr()[i] * grads[0].data_ptr()[i];
    return {out};
  }
};

// What the test functions below observed, for the test cases to check.
struct Observed {
  std::vector<bool> forward_needs, backward_needs;
  bool forward_grad_mode = true;
  bool grad1_defined = true;
  Tensor grad1;
};
Observed observed;

// Records needs_input_grad and computes only the gradients that are needed.
struct NeedsGrad : tg::Function<NeedsGrad> {
  static Tensor forward(Ctx* ctx, const Tensor& x, int scale, const Tensor& y) {
    observed.forward_grad_mode = tg::is_grad_enabled();
    observed.forward_needs = {ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2)};
    ctx->saved_data["scale"] = scale;
    return (x + y) * static_cast<double>(scale);
  }
  static Tensors backward(Ctx* ctx, Tensors grads) {
    observed.backward_needs = {ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2)};
    const double scale = ctx->saved_data["scale"].toDouble();  // an int widens
    return {ctx->needs_input_grad(0) ? grads[0] * scale : Tensor(), Tensor(),
            ctx->needs_input_grad(2) ? grads[0] * scale : Tensor()};
  }
};

// (2x, [x > 0]): the indicator is marked non-differentiable.
struct DoubleAndSign : tg::Function<DoubleAndSign> {
  static Tensors forward(Ctx* ctx, const Tensor& x) {
    auto positive = tg::zeros_like(x);
    for (std::int64_t i = 0; i < x.numel(); ++i) positive.data_ptr()[i] = x.data_ptr()[i] > 0 ? 1.0 : 0.0;
    ctx->mark_non_differentiable({positive});
    return {x * 2.0, positive};
  }
  static Tensors backward(Ctx*, Tensors grads) {
    observed.grad1 = grads[1];
    return {grads[0] * 2.0};
  }
};

// (x, 3x) with materialize_grads off: an unused output's gradient arrives undefined.
struct TwoOutputsLazy : tg::Function<TwoOutputsLazy> {
  static Tensors forward(Ctx* ctx, const Tensor& x) {
    ctx->set_materialize_grads(false);
    return {x * 1.0, x * 3.0};
  }
  static Tensors backward(Ctx*, Tensors grads) {
    observed.grad1_defined = grads[1].defined();
    Tensor g = grads[0];
    if (grads[1].defined()) g = g.defined() ? g + grads[1] * 3.0 : grads[1] * 3.0;
    return {g};
  }
};

// Every kind of saved_data value, read back in backward.
struct SavesData : tg::Function<SavesData> {
  static Tensor forward(Ctx* ctx, const Tensor& x, double alpha) {
    ctx->saved_data["alpha"] = alpha;
    ctx->saved_data["count"] = 7;
    ctx->saved_data["flag"] = true;
    ctx->saved_data["shape"] = x.shape();
    ctx->saved_data["label"] = "scaled";
    ctx->saved_data["weights"] = std::vector<double>{0.5, 0.25};
    return x * alpha;
  }
  static Tensors backward(Ctx* ctx, Tensors grads) {
    auto& d = ctx->saved_data;
    CHECK(d["alpha"].isDouble());
    CHECK(d["count"].toInt() == 7);
    CHECK(d["flag"].toBool());
    CHECK(d["shape"].toIntVector() == tg::Shape{2, 3});
    CHECK(d["label"].toStringRef() == "scaled");
    CHECK(d["weights"].toDoubleVector() == std::vector<double>{0.5, 0.25});
    CHECK(d["missing"].isNone());
    return {grads[0] * d["alpha"].toDouble(), Tensor()};
  }
};

// x * weights with integer weights: an integer tensor argument gets no gradient.
struct IntWeights : tg::Function<IntWeights> {
  static Tensor forward(Ctx* ctx, const Tensor& x, const tg::Tensor<std::int64_t>& weights) {
    auto w = weights.to<double>();
    ctx->save_for_backward({w});
    return x * w;
  }
  static Tensors backward(Ctx* ctx, Tensors grads) { return {grads[0] * ctx->get_saved_variables()[0], Tensor()}; }
};

// Identity that returns its input tensor itself.
struct ReturnsInput : tg::Function<ReturnsInput> {
  static Tensor forward(Ctx*, const Tensor& x) { return x; }
  static Tensors backward(Ctx*, Tensors grads) { return grads; }
};

// A backward that returns a [2, 3] gradient for a [3] input: summed back, like PyTorch.
struct BroadcastGrad : tg::Function<BroadcastGrad> {
  static Tensor forward(Ctx*, const Tensor& x) { return x * 1.0; }
  static Tensors backward(Ctx*, Tensors grads) { return {grads[0].expand({2, 3}) * 0.5}; }
};

// Broken backward functions, one per error.
struct WrongCount : tg::Function<WrongCount> {
  static constexpr const char* name = "WrongCount";
  static Tensor forward(Ctx*, const Tensor& x, const Tensor& y) { return x * y; }
  static Tensors backward(Ctx*, Tensors grads) { return {grads[0]}; }
};
struct WrongShape : tg::Function<WrongShape> {
  static constexpr const char* name = "WrongShape";
  static Tensor forward(Ctx*, const Tensor& x) { return x * 2.0; }
  static Tensors backward(Ctx*, Tensors) { return {tg::ones<double>({3})}; }
};
struct GradForNumber : tg::Function<GradForNumber> {
  static constexpr const char* name = "GradForNumber";
  static Tensor forward(Ctx*, const Tensor& x, double alpha) { return x * alpha; }
  static Tensors backward(Ctx*, Tensors grads) { return {grads[0], grads[0]}; }
};
struct UndefinedOutput : tg::Function<UndefinedOutput> {
  static constexpr const char* name = "UndefinedOutput";
  static Tensor forward(Ctx*, const Tensor&) { return Tensor(); }
  static Tensors backward(Ctx*, Tensors grads) { return grads; }
};
struct SavesInBackward : tg::Function<SavesInBackward> {
  static constexpr const char* name = "SavesInBackward";
  static Tensor forward(Ctx*, const Tensor& x) { return x * 2.0; }
  static Tensors backward(Ctx* ctx, Tensors grads) {
    ctx->save_for_backward({grads[0]});
    return grads;
  }
};
struct ReadsSavedInForward : tg::Function<ReadsSavedInForward> {
  static constexpr const char* name = "ReadsSavedInForward";
  static Tensor forward(Ctx* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    ctx->get_saved_variables();
    return x;
  }
  static Tensors backward(Ctx*, Tensors grads) { return grads; }
};
struct BadIndex : tg::Function<BadIndex> {
  static constexpr const char* name = "BadIndex";
  static Tensor forward(Ctx* ctx, const Tensor& x) {
    ctx->needs_input_grad(1);
    return x;
  }
  static Tensors backward(Ctx*, Tensors grads) { return grads; }
};

// For float and double alike: a template forward and backward. tanh(x), d/dx = 1 - tanh^2.
struct Tanh : tg::Function<Tanh> {
  static constexpr const char* name = "MyTanh";
  template <typename T>
  static tg::Tensor<T> forward(tg::AutogradContext<T>* ctx, const tg::Tensor<T>& x) {
    auto y = tg::tanh(x);
    ctx->save_for_backward({y});
    return y;
  }
  template <typename T>
  static std::vector<tg::Tensor<T>> backward(tg::AutogradContext<T>* ctx, std::vector<tg::Tensor<T>> grads) {
    const auto y = ctx->get_saved_variables()[0];
    return {grads[0] * (T(1) - y * y)};
  }
};

}  // namespace

TEST_CASE("apply records one node with the function's name", "[function]") {
  auto x = values({1, 2}, {2}, true), y = values({3, -1}, {2}, true);
  auto z = ScaledMul::apply(x, y, 0.5);
  require_values(z, {1.5, -1});
  CHECK(grad_fn_name(z) == "ScaledMulBackward");
  CHECK(z.grad_fn()->next_edges().size() == 2);  // one edge per tensor argument
  z.sum().backward();
  require_values(x.grad(), {1.5, -0.5});  // alpha y
  require_values(y.grad(), {0.5, 1});     // alpha x
  // Without a name: the generic one.
  CHECK(grad_fn_name(SavedExp::apply(x)) == "CustomFunctionBackward");
  // An integer tensor is passed through like a number.
  auto v = IntWeights::apply(x, tg::from_vector<std::int64_t>({2, -3}));
  CHECK(v.grad_fn()->next_edges().size() == 1);
  x.zero_grad();
  v.sum().backward();
  require_values(x.grad(), {2, -3});
  // Nothing requires grad, or grad mode is off: no node, like any op.
  CHECK_FALSE(ScaledMul::apply(x.detach(), y.detach(), 2.0).requires_grad());
  {
    tg::NoGradGuard no_grad;
    CHECK_FALSE(ScaledMul::apply(x, y, 2.0).requires_grad());
  }
}

TEST_CASE("gradcheck of custom functions", "[function]") {
  tg::Generator gen(3);
  auto x = tg::randn<double>({2, 3}, gen, tg::requires_grad()), y = tg::randn<double>({2, 3}, gen, tg::requires_grad());
  // Two tensors and a double.
  CHECK_GRAD([](const Tensors& in) { return ScaledMul::apply(in[0], in[1], -1.7); }, x, y);
  // Two outputs, each checked.
  CHECK_GRAD([](const Tensors& in) { return SinCos::apply(in[0]); }, x);
  // One output saved for backward.
  CHECK_GRAD([](const Tensors& in) { return SavedExp::apply(in[0]); }, x);
  // An int argument between two tensors.
  CHECK_GRAD([](const Tensors& in) { return NeedsGrad::apply(in[0], 3, in[1]); }, x, y);
  // A 0-d input.
  CHECK_GRAD([](const Tensors& in) { return Cube::apply(in[0]); }, tg::scalar_tensor<double>(0.7));
}

TEST_CASE("a backward written in tapegrad ops is differentiable", "[function]") {
  tg::Generator gen(5);
  auto x = tg::randn<double>({3}, gen, tg::requires_grad()), y = tg::randn<double>({3}, gen, tg::requires_grad());
  CHECK_GRADGRAD([](const Tensors& in) { return ScaledMul::apply(in[0], in[1], 2.5); }, x, y);
  CHECK_GRADGRAD([](const Tensors& in) { return SinCos::apply(in[0]); }, x);
  // The saved output leads back to the node under create_graph: d2/dx2 e^x = e^x.
  CHECK_GRADGRAD([](const Tensors& in) { return SavedExp::apply(in[0]); }, x);

  // Against the closed form: d/dx x^3 = 3 x^2, d2/dx2 = 6 x.
  auto t = values({0.5, -2}, {2}, true);
  auto g = tg::grad(Cube::apply(t).sum(), {t}, {}, std::nullopt, /*create_graph=*/true)[0];
  require_values(g, {0.75, 12}, 1e-15);
  REQUIRE(g.requires_grad());
  auto gg = tg::grad(g.sum(), {t})[0];
  require_values(gg, {3, -12}, 1e-15);
}

TEST_CASE("once_differentiable: first order works, double backward is a clear error", "[function]") {
  auto x = values({0.5, -2}, {2}, true);
  CHECK_GRAD([](const Tensors& in) { return RawCube::apply(in[0]); }, x);
  RawCube::apply(x).sum().backward();
  require_values(x.grad(), {0.75, 12});

  // create_graph: the gradient has the right values but cannot be differentiated again.
  auto g = tg::grad(RawCube::apply(x).sum(), {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  require_values(g, {0.75, 12});
  REQUIRE(g.requires_grad());
  CHECK(grad_fn_name(g) == "DelayedError");
  CHECK_THROWS_AS(tg::grad(g.sum(), {x}), tg::GraphError);
  CHECK_THROWS_WITH(tg::grad(g.sum(), {x}),
                    TG_CONTAINS("RawCubeBackward is once_differentiable: its backward is not differentiable, so it "
                                "cannot be differentiated again (double backward)"));
  CHECK_THROWS_WITH(g.sum().backward(), TG_CONTAINS("RawCubeBackward is once_differentiable"));
  // Also when the second derivative would only flow through the incoming gradient.
  auto v = values({1, 1}, {2}, true);
  auto gv = tg::grad({RawCube::apply(x)}, {x}, {v}, std::nullopt, true)[0];
  CHECK_THROWS_WITH(tg::grad(gv.sum(), {v}), TG_CONTAINS("RawCubeBackward is once_differentiable"));
  // gradgradcheck fails with that error rather than a silent zero.
  CHECK_THROWS_WITH(tg::gradgradcheck([](const Tensors& in) { return RawCube::apply(in[0]); }, Tensors{x}),
                    TG_CONTAINS("once_differentiable"));
}

TEST_CASE("forward runs without recording; needs_input_grad follows the pass", "[function]") {
  auto x = values({1, 2}, {2}, true), y = values({3, 4}, {2}, true);
  auto z = NeedsGrad::apply(x, 2, y);
  CHECK_FALSE(observed.forward_grad_mode);
  CHECK(observed.forward_needs == std::vector<bool>{true, false, true});
  z.sum().backward(tg::Tensor<double>(), /*retain_graph=*/true);
  CHECK(observed.backward_needs == std::vector<bool>{true, false, true});
  require_values(x.grad(), {2, 2});
  require_values(y.grad(), {2, 2});
  // tg::grad asks only for x: y's gradient is not needed in this pass.
  auto gx = tg::grad(z.sum(), {x})[0];
  CHECK(observed.backward_needs == std::vector<bool>{true, false, false});
  require_values(gx, {2, 2});
  // An input that does not require grad is never needed.
  NeedsGrad::apply(x, 2, y.detach()).sum().backward();
  CHECK(observed.forward_needs == std::vector<bool>{true, false, false});
  CHECK(observed.backward_needs == std::vector<bool>{true, false, false});

  CHECK_THROWS_AS(BadIndex::apply(x), tg::IndexError);
  CHECK_THROWS_WITH(BadIndex::apply(x),
                    TG_CONTAINS("needs_input_grad: index 1 is out of range: BadIndex's forward takes 1 argument"));
}

TEST_CASE("mark_non_differentiable and unused outputs", "[function]") {
  auto x = values({-1, 2, 3}, {3}, true);
  auto outs = DoubleAndSign::apply(x);
  REQUIRE(outs.size() == 2);
  CHECK(outs[0].requires_grad());
  CHECK_FALSE(outs[1].requires_grad());
  CHECK(outs[1].is_leaf());
  require_values(outs[1], {0, 1, 1});
  CHECK(outs[0].grad_fn()->num_outputs() == 2);
  outs[0].sum().backward();
  require_values(x.grad(), {2, 2, 2});
  require_values(observed.grad1, {0, 0, 0});  // the slot is there, materialized as zeros

  // An output nobody used reaches backward as zeros by default...
  auto sc = SinCos::apply(x);
  auto gx = tg::grad(sc[1].sum(), {x})[0];  // d/dx cos x, with 0 for the unused sin x
  require_values(gx, {-std::sin(-1.0), -std::sin(2.0), -std::sin(3.0)}, 1e-15);
  // ...or undefined with set_materialize_grads(false).
  auto lazy = TwoOutputsLazy::apply(x);
  auto g = tg::grad(lazy[0].sum(), {x})[0];
  CHECK_FALSE(observed.grad1_defined);
  require_values(g, {1, 1, 1});
  g = tg::grad((lazy[0] + lazy[1]).sum(), {x})[0];
  CHECK(observed.grad1_defined);
  require_values(g, {4, 4, 4});
}

TEST_CASE("saved_data keeps non-tensor values for backward", "[function]") {
  auto x = tg::ones<double>({2, 3}, tg::requires_grad());
  SavesData::apply(x, 1.5).sum().backward();
  require_values(x.grad(), {1.5, 1.5, 1.5, 1.5, 1.5, 1.5});

  tg::SavedValue d = 2.5, i = 3, none;
  CHECK(d.toDouble() == 2.5);
  CHECK(i.toDouble() == 3.0);  // ints widen to double
  CHECK(tg::SavedValue("text").isString());  // not a bool
  CHECK_THROWS_AS(d.toInt(), tg::ValueError);
  CHECK_THROWS_WITH(d.toInt(), TG_CONTAINS("saved_data: toInt() needs an int but the value is a double"));
  CHECK_THROWS_WITH(none.toDouble(), TG_CONTAINS("the value is none; nothing was stored under this key"));
  CHECK_THROWS_WITH(i.toIntVector(), TG_CONTAINS("needs an int list (a shape) but the value is an int"));
}

TEST_CASE("returned inputs are aliased; broadcast gradients are summed back", "[function]") {
  auto x = values({1, 2, 3}, {3}, true);
  auto y = ReturnsInput::apply(x);
  CHECK(x.is_leaf());  // the input was not rewired into the graph
  CHECK(grad_fn_name(y) == "CustomFunctionBackward");
  CHECK(y.data_ptr() == x.data_ptr());
  (y * 2.0).sum().backward();
  require_values(x.grad(), {2, 2, 2});

  auto g = tg::grad(BroadcastGrad::apply(x).sum(), {x})[0];
  require_values(g, {1, 1, 1});  // 0.5 summed over 2 rows
}

TEST_CASE("wrong backward results and misuse of the context are clear errors", "[function]") {
  auto x = values({1, 2}, {2}, true), y = values({3, 4}, {2}, true);

  auto z = WrongCount::apply(x, y).sum();
  CHECK_THROWS_AS(z.backward(tg::Tensor<double>(), true), tg::GraphError);
  CHECK_THROWS_WITH(z.backward(tg::Tensor<double>(), true),
                    TG_CONTAINS("WrongCountBackward: backward returned 1 gradient but forward took 2 arguments"));
  CHECK_FALSE(x.grad().defined());  // nothing half-updated

  auto w = WrongShape::apply(x).sum();
  CHECK_THROWS_AS(w.backward(tg::Tensor<double>(), true), tg::ShapeError);
  CHECK_THROWS_WITH(w.backward(tg::Tensor<double>(), true),
                    TG_CONTAINS("WrongShapeBackward: backward returned a gradient of shape [3] for argument 0, "
                                "which has shape [2]"));

  auto n = GradForNumber::apply(x, 2.0).sum();
  CHECK_THROWS_AS(n.backward(tg::Tensor<double>(), true), tg::GraphError);
  CHECK_THROWS_WITH(n.backward(tg::Tensor<double>(), true),
                    TG_CONTAINS("GradForNumberBackward: backward returned a gradient for argument 1, which is not "
                                "a tensor"));

  CHECK_THROWS_AS(UndefinedOutput::apply(x), tg::ValueError);
  CHECK_THROWS_WITH(UndefinedOutput::apply(x),
                    TG_CONTAINS("UndefinedOutput::apply: forward returned an undefined tensor as output 0"));

  auto s = SavesInBackward::apply(x).sum();
  CHECK_THROWS_WITH(s.backward(), TG_CONTAINS("save_for_backward: SavesInBackward called it outside forward"));
  CHECK_THROWS_WITH(ReadsSavedInForward::apply(x),
                    TG_CONTAINS("get_saved_variables: ReadsSavedInForward called it in forward"));
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("saved tensors are version-checked and released after backward", "[function]") {
  const auto ones = tg::ones<double>({2});
  // In-place change of a saved input...
  auto x = values({1, 2}, {2}, true), w = values({3, 4}, {2});
  auto z = ScaledMul::apply(x, w, 1.0);
  {
    tg::NoGradGuard no_grad;
    w += 1.0;
  }
  CHECK_THROWS_AS(z.backward(ones, true), tg::GraphError);
  CHECK_THROWS_WITH(z.backward(ones, true), TG_CONTAINS("modified by an in-place operation"));
  CHECK_THROWS_WITH(z.backward(ones, true), TG_CONTAINS("ScaledMulBackward"));
  // ... and of a saved output.
  auto y = SavedExp::apply(x);
  {
    tg::NoGradGuard no_grad;
    y *= 2.0;
  }
  CHECK_THROWS_WITH(y.backward(ones, true), TG_CONTAINS("modified by an in-place operation"));
  CHECK_THROWS_WITH(y.backward(ones, true), TG_CONTAINS("CustomFunctionBackward"));
  CHECK_FALSE(x.grad().defined());

  // Second backward without retain_graph: the built-in message.
  auto c = Cube::apply(x);
  c.backward(ones, /*retain_graph=*/true);
  c.backward(ones);
  require_values(x.grad(), {6, 24});
  CHECK_THROWS_AS(c.backward(ones), tg::GraphError);
  CHECK_THROWS_WITH(c.backward(ones), TG_CONTAINS("trying to backward through CubeBackward a second time"));
  CHECK_THROWS_WITH(c.backward(ones), TG_CONTAINS("retain_graph=true"));
  require_values(x.grad(), {6, 24});
  // A function that saved nothing has nothing to free and may run again, like AddBackward0.
  auto r = ReturnsInput::apply(x);
  r.backward(ones);
  CHECK_NOTHROW(r.backward(ones));
  require_values(x.grad(), {8, 26});
}

TEST_CASE("graphs of custom functions are freed: no reference cycles", "[function]") {
  const auto base = tg::memory_stats().current_bytes;
  std::weak_ptr<tg::Node<double>> node;
  {
    auto x = tg::randn<double>({100}, tg::requires_grad());
    auto y = SavedExp::apply(x);  // saves its own output: node -> y would be a cycle
    node = y.grad_fn();
    CHECK(tg::memory_stats().current_bytes > base);
  }
  CHECK(node.expired());
  CHECK(tg::memory_stats().current_bytes == base);
  {
    auto x = tg::randn<double>({100}, tg::requires_grad());
    auto outs = SinCos::apply(SavedExp::apply(x));
    (outs[0] * outs[1]).sum().backward();
    auto g = tg::grad(SavedExp::apply(x).sum(), {x}, {}, std::nullopt, /*create_graph=*/true)[0];
    tg::grad(g.sum(), {x});
    tg::grad(RawCube::apply(x).sum(), {x}, {}, std::nullopt, true)[0].sum();  // hangs from a DelayedError
    (RawCube::apply(x) * 1.0).sum().backward(tg::Tensor<double>(), std::nullopt, /*create_graph=*/true);
    CHECK(x.grad().requires_grad());  // .grad holds a graph leading back to x
  }
  CHECK(tg::memory_stats().current_bytes == base);
}

TEST_CASE("custom functions on float tensors", "[function][float]") {
  auto x = tg::from_vector<float>({0.3f, -0.7f}, tg::requires_grad());
  auto y = Tanh::apply(x);
  CHECK(y.grad_fn()->name() == "MyTanhBackward");
  y.sum().backward();
  CHECK(x.grad().at({0}) == Approx(1 - std::tanh(0.3f) * std::tanh(0.3f)).epsilon(1e-6));
  CHECK(x.grad().at({1}) == Approx(1 - std::tanh(0.7f) * std::tanh(0.7f)).epsilon(1e-6));
  tg::GradcheckOptions opts;
  opts.atol = 1e-2;
  opts.rtol = 1e-2;
  auto r = tg::gradcheck([](const std::vector<tg::Tensor<float>>& in) { return Tanh::apply(in[0]); }, {x}, opts);
  INFO(r.report());
  CHECK(r.ok);
  // The same struct on double, and differentiable twice: d2/dx2 tanh = -2 tanh (1 - tanh^2).
  auto xd = values({0.3, -0.7}, {2}, true);
  auto g = tg::grad(Tanh::apply(xd).sum(), {xd}, {}, std::nullopt, true)[0];
  auto gg = tg::grad(g.sum(), {xd})[0];
  const double t0 = std::tanh(0.3), t1 = std::tanh(-0.7);
  require_values(gg, {-2 * t0 * (1 - t0 * t0), -2 * t1 * (1 - t1 * t1)}, 1e-15);
}

}  // namespace autograd_function_test
