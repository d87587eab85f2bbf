// Scalar reverse mode (tg::Var<double>): gradient time / plain-double primal time, both
// measured in the same iteration of the same run, and the tape's bytes per statement.
//
// Each workload is a struct with
//   name, n            what the benchmark prints
//   double primal()    the function in plain double: the same loop, compiled normally
//                      (-O3: GCC vectorises the normal log-pdf's arithmetic 2-wide with
//                      SSE2; the sum and product loops stay scalar, their additions and
//                      multiplications being ordered)
//   double gradient()  records it with Var on every call (inputs included), one reverse
//                      sweep, reads the gradient into `grad`; returns the value
// and is registered with one SCALAR_WORKLOAD(...) line. Counters:
//   ratio       gradient time / primal time (the number the targets are about)
//   primal_us   gradient_us
//   B/stmt      tape bytes per recorded statement of the function, the inputs' entries
//               excluded (for Var: entries * 12; adjoints, 8 bytes per variable, are extra)
//
// The *_stan_style workloads run the same loops on a minimal Stan-like tape (one
// arena-allocated node per op with value, adjoint, operand pointers and a virtual
// chain(), plus a stack of node pointers) so the two layouts are compared in one run.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <new>
#include <random>
#include <vector>

#include <tapegrad/scalar.hpp>

namespace tg = tapegrad;
using V = tg::Var<double>;

namespace {

std::vector<double> random_values(std::size_t n, double lo, double hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = u(rng);
  return v;
}

// Shared by the workloads: inputs recorded as variables (one bulk write), the gradient
// read back. `recorded` is the tape's state once all inputs are recorded.
struct VarInputs {
  std::vector<V> xs;
  std::vector<double> grad;
  tg::TapeStats recorded;
  void record(const std::vector<double>& x) {
    xs = tg::variables(x);
    inputs_done();
  }
  void inputs_done() { recorded = tg::tape().stats(); }
  void read() { grad = tg::grads(xs); }
};

// Bytes and statements of one recording, inputs excluded.
struct Memory {
  double statements = 0, bytes = 0;
  static Memory since(const tg::TapeStats& start) {
    const tg::TapeStats s = tg::tape().stats();
    return {static_cast<double>(s.variables - start.variables),
            static_cast<double>(s.operand_bytes - start.operand_bytes)};
  }
};

// ---- workloads ----

// s = x_0 + x_1 + ... as a scalar loop.
struct SumLoop {
  static constexpr const char* name = "sum_loop";
  std::vector<double> x;
  VarInputs in;
  Memory memory;
  explicit SumLoop(std::size_t n) : x(random_values(n, -1, 1, 1)) {}
  double primal() const {
    double s = 0;
    for (double v : x) s += v;
    return s;
  }
  double gradient() {
    tg::TapeScope scope;
    in.record(x);
    V s = 0;
    for (const V& v : in.xs) s += v;
    s.backward();
    in.read();
    memory = Memory::since(in.recorded);
    return s.val();
  }
};

// p = x_0 * x_1 * ... as a scalar loop (values near 1 so the product stays finite).
struct ProdLoop {
  static constexpr const char* name = "prod_loop";
  std::vector<double> x;
  VarInputs in;
  Memory memory;
  explicit ProdLoop(std::size_t n) : x(random_values(n, 0.99, 1.01, 2)) {}
  double primal() const {
    double p = 1;
    for (double v : x) p *= v;
    return p;
  }
  double gradient() {
    tg::TapeScope scope;
    in.record(x);
    V p = 1;
    for (const V& v : in.xs) p *= v;
    p.backward();
    in.read();
    memory = Memory::since(in.recorded);
    return p.val();
  }
};

// log(sum exp(x_i)), stabilised by the largest x (a number: the result does not depend
// on the shift, so it needs no derivative).
struct LogSumExpLoop {
  static constexpr const char* name = "log_sum_exp_loop";
  std::vector<double> x;
  VarInputs in;
  Memory memory;
  explicit LogSumExpLoop(std::size_t n) : x(random_values(n, -3, 3, 3)) {}
  double primal() const {
    double m = x[0];
    for (double v : x) m = std::max(m, v);
    double s = 0;
    for (double v : x) s += std::exp(v - m);
    return m + std::log(s);
  }
  double gradient() {
    tg::TapeScope scope;
    in.record(x);
    double m = x[0];
    for (double v : x) m = std::max(m, v);
    V s = 0;
    for (const V& v : in.xs) s += exp(v - m);
    V y = m + log(s);
    y.backward();
    in.read();
    memory = Memory::since(in.recorded);
    return y.val();
  }
};

// sum_i log N(x_i | mu, sigma) with x, mu and sigma all variables.
struct NormalLogPdfLoop {
  static constexpr const char* name = "normal_log_pdf_loop";
  std::vector<double> x;
  double mu = 0.3, sigma = 1.7;
  VarInputs in;
  Memory memory;
  explicit NormalLogPdfLoop(std::size_t n) : x(random_values(n, -3, 3, 4)) {}
  double primal() const { return with(x, mu, sigma); }
  static double with(const std::vector<double>& x, double mu, double sigma) {
    const double half_log_2pi = 0.91893853320467274178;
    double lp = 0;
    for (double v : x) {
      const double z = (v - mu) / sigma;
      lp -= 0.5 * z * z;
    }
    return lp - static_cast<double>(x.size()) * (std::log(sigma) + half_log_2pi);
  }
  double gradient() {
    const double half_log_2pi = 0.91893853320467274178;
    tg::TapeScope scope;
    in.record(x);
    const V m = tg::variable(mu), s = tg::variable(sigma);
    in.inputs_done();
    V lp = 0;
    for (const V& v : in.xs) {
      const V z = (v - m) / s;
      lp -= 0.5 * z * z;
    }
    lp -= static_cast<double>(x.size()) * (log(s) + half_log_2pi);
    lp.backward();
    in.read();
    memory = Memory::since(in.recorded);
    return lp.val();
  }
};

// The same log-density as one fused statement of N + 2 operands, written by the user
// with tg::precomputed_gradients (as Stan's normal_lpdf is written):
//   d/dx_i = -z_i / sigma,  d/dmu = sum z_i / sigma,  d/dsigma = sum (z_i^2 - 1) / sigma.
struct NormalLogPdfFused {
  static constexpr const char* name = "normal_log_pdf_fused";
  std::vector<double> x;
  double mu = 0.3, sigma = 1.7;
  VarInputs in;
  Memory memory;
  std::vector<V> operands;
  std::vector<double> partials;
  explicit NormalLogPdfFused(std::size_t n) : x(random_values(n, -3, 3, 4)) {}
  double primal() const { return NormalLogPdfLoop(0).with(x, mu, sigma); }
  double gradient() {
    const double half_log_2pi = 0.91893853320467274178;
    tg::TapeScope scope;
    in.record(x);
    const V m = tg::variable(mu), s = tg::variable(sigma);
    in.inputs_done();
    const std::size_t n = x.size();
    operands.resize(n + 2);
    partials.resize(n + 2);
    const double inv_s = 1 / s.val();
    double lp = 0, dmu = 0, dsigma = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double z = (in.xs[i].val() - m.val()) * inv_s;
      lp -= 0.5 * z * z;
      operands[i] = in.xs[i];
      partials[i] = -z * inv_s;
      dmu += z;
      dsigma += z * z;
    }
    operands[n] = m;
    partials[n] = dmu * inv_s;
    operands[n + 1] = s;
    partials[n + 1] = (dsigma - static_cast<double>(n)) * inv_s;
    lp -= static_cast<double>(n) * (std::log(s.val()) + half_log_2pi);
    const V y = tg::precomputed_gradients(lp, operands, partials);
    y.backward();
    in.read();
    memory = Memory::since(in.recorded);
    return y.val();
  }
};

// ---- a minimal Stan-style tape, for comparison ----
namespace stanlike {
struct vari {
  double val, adj = 0;
  explicit vari(double v) : val(v) {}
  virtual void chain() {}
  virtual ~vari() = default;
};
struct Arena {  // pointer bump in 1 MiB blocks, reused after reset()
  std::vector<std::unique_ptr<char[]>> blocks;
  std::size_t block = 0, used = 0;
  static constexpr std::size_t kBlock = 1 << 20;
  std::size_t bytes = 0;
  void* alloc(std::size_t n) {
    if (blocks.empty() || used + n > kBlock) {
      if (!blocks.empty()) ++block;
      if (block == blocks.size()) blocks.emplace_back(new char[kBlock]);
      used = 0;
    }
    void* p = blocks[block].get() + used;
    used += (n + 7) & ~std::size_t(7);
    bytes += (n + 7) & ~std::size_t(7);
    return p;
  }
  void reset() { block = used = bytes = 0; }
};
struct Stack {
  Arena arena;
  std::vector<vari*> nodes;
  void reset() {
    arena.reset();
    nodes.clear();
  }
};
inline Stack& stack() {
  static thread_local Stack s;
  return s;
}
struct add_vari : vari {
  vari *a, *b;
  add_vari(vari* x, vari* y) : vari(x->val + y->val), a(x), b(y) {}
  void chain() override {
    a->adj += adj;
    b->adj += adj;
  }
};
struct mul_vari : vari {
  vari *a, *b;
  mul_vari(vari* x, vari* y) : vari(x->val * y->val), a(x), b(y) {}
  void chain() override {
    a->adj += adj * b->val;
    b->adj += adj * a->val;
  }
};
template <typename Node, typename... Args>
vari* make(Args... args) {
  Stack& s = stack();
  vari* p = new (s.arena.alloc(sizeof(Node))) Node(args...);
  s.nodes.push_back(p);
  return p;
}
inline void grad(vari* y) {
  y->adj = 1;
  std::vector<vari*>& nodes = stack().nodes;
  for (std::size_t k = nodes.size(); k-- > 0;) nodes[k]->chain();
}
}  // namespace stanlike

template <bool Product>
struct StanStyleLoop {
  static constexpr const char* name = Product ? "prod_loop_stan_style" : "sum_loop_stan_style";
  std::vector<double> x;
  struct {
    std::vector<stanlike::vari*> xs;
    std::vector<double> grad;
  } in;
  Memory memory;
  explicit StanStyleLoop(std::size_t n) : x(random_values(n, Product ? 0.99 : -1, Product ? 1.01 : 1, Product ? 2 : 1)) {}
  double primal() const {
    double r = Product ? 1 : 0;
    for (double v : x) r = Product ? r * v : r + v;
    return r;
  }
  double gradient() {
    stanlike::Stack& st = stack_reset();
    in.xs.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) in.xs[i] = stanlike::make<stanlike::vari>(x[i]);
    const std::size_t input_bytes = st.arena.bytes;
    stanlike::vari* r = in.xs[0];
    for (std::size_t i = 1; i < x.size(); ++i)
      r = Product ? stanlike::make<stanlike::mul_vari>(r, in.xs[i]) : stanlike::make<stanlike::add_vari>(r, in.xs[i]);
    stanlike::grad(r);
    in.grad.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) in.grad[i] = in.xs[i]->adj;
    const double statements = static_cast<double>(x.size() - 1);
    // node bytes plus one stack pointer per node
    memory = {statements, static_cast<double>(st.arena.bytes - input_bytes) + statements * sizeof(void*)};
    return r->val;
  }
  static stanlike::Stack& stack_reset() {
    stanlike::Stack& s = stanlike::stack();
    s.reset();
    return s;
  }
};

// ---- the harness ----

template <typename W>
void BM_scalar(benchmark::State& state) {
  using clock = std::chrono::steady_clock;
  W w(static_cast<std::size_t>(state.range(0)));
  double primal_s = 0, gradient_s = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    double p = w.primal();
    benchmark::DoNotOptimize(p);
    const auto t1 = clock::now();
    double g = w.gradient();
    benchmark::DoNotOptimize(g);
    benchmark::DoNotOptimize(w.in.grad.data());
    const auto t2 = clock::now();
    primal_s += std::chrono::duration<double>(t1 - t0).count();
    gradient_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double iters = static_cast<double>(state.iterations());
  const double n = static_cast<double>(state.range(0));
  state.counters["ratio"] = gradient_s / primal_s;
  state.counters["primal_us"] = 1e6 * primal_s / iters;
  state.counters["gradient_us"] = 1e6 * gradient_s / iters;
  state.counters["stmts/elem"] = w.memory.statements / n;
  state.counters["B/stmt"] = w.memory.bytes / w.memory.statements;
}

#define SCALAR_WORKLOAD(W) BENCHMARK_TEMPLATE(BM_scalar, W)->Name(std::string("scalar/") + W::name)->Arg(16384)

SCALAR_WORKLOAD(SumLoop);
SCALAR_WORKLOAD(ProdLoop);
SCALAR_WORKLOAD(StanStyleLoop<false>);
SCALAR_WORKLOAD(StanStyleLoop<true>);
SCALAR_WORKLOAD(LogSumExpLoop);
SCALAR_WORKLOAD(NormalLogPdfLoop);
SCALAR_WORKLOAD(NormalLogPdfFused);

// Bytes of one recorded binary op (x * y of two variables): tape entries, and with the
// adjoint of its result counted too.
void BM_bytes_per_binary_op(benchmark::State& state) {
  const std::size_t n = 1 << 16;
  tg::TapeStats before, after;
  for (auto _ : state) {
    tg::TapeScope scope;
    const V a = tg::variable(1.0), b = tg::variable(1.0);
    before = tg::tape().stats();
    V y = a;
    for (std::size_t i = 0; i < n; ++i) benchmark::DoNotOptimize(y = a * b);
    after = tg::tape().stats();
  }
  const double ops = static_cast<double>(after.variables - before.variables);
  state.counters["tape_B/op"] = static_cast<double>(after.operand_bytes - before.operand_bytes) / ops;
  state.counters["with_adj_B/op"] =
      static_cast<double>(after.operand_bytes - before.operand_bytes) / ops + static_cast<double>(sizeof(double));
  state.counters["sizeof_Var"] = static_cast<double>(sizeof(V));
}
BENCHMARK(BM_bytes_per_binary_op)->Name("scalar/bytes_per_binary_op");

}  // namespace

BENCHMARK_MAIN();
