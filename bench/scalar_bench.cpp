// FastAD's benchmark suite (issue 5) for scalar reverse mode (tg::Var<double>) and, where a
// user would write them so, Tensor ops: gradient time / plain-double primal time, both
// measured in the same iteration of the same run, and the memory per op.
//
//   sum_loop, prod_loop, log_sum_exp_loop, normal_log_pdf_{loop,fused}   N = 16384
//   matrix_product/{tensor,var_eigen,var_precomputed}                    sum(A B), 181 x 181
//   regression/{tensor,var,var_glm}                                      X 1000 x 150
//   stochastic_volatility/var                                            T = 8192
//
// Each workload is a struct with
//   name               what the benchmark prints (the argument N, n, p or T is appended)
//   double primal()    the function in plain double: the same loop, or Eigen for the matrix
//                      workloads, compiled normally (-O3: GCC vectorises the normal log-pdf's
//                      arithmetic 2-wide with SSE2; the sum and product loops stay scalar,
//                      their additions and multiplications being ordered)
//   double gradient()  records it with Var (or Tensor ops) on every call, inputs included,
//                      one reverse sweep, reads the gradient out; returns the value
//   void check()       runs gradient() once and compares it with the known gradient
// and is registered with one SCALAR_WORKLOAD(...) line. Counters:
//   ratio       gradient time / primal time (the number the targets are about)
//   primal_us   gradient_us
//   B/stmt      tape bytes per recorded statement of the function, the inputs' entries
//               excluded (for Var: entries * 12; adjoints, 8 bytes per variable, are extra)
//   B/elem      the same bytes per input element
//   peak_B      Tensor workloads: the peak bytes of tensor buffers during one gradient
//               (tg::memory_stats(); graph nodes are not counted), and peak_B/elem
//   record_us   sweep_us   where the gradient's time goes (workloads that time it): recording
//               the inputs and the function (Tensor: the forward ops), and the reverse sweep;
//               the rest of gradient_us is reading the gradient out
//   fastad_ratio  FastAD's published gradient / primal ratio for the workload, where there is
//               one: 1.53 log-sum-exp, 2.05 regression, 1.24 stochastic volatility (FastAD's
//               paper, as issue 5 quotes them), 3.16 matrix product (FastAD's ADBenchmark
//               README: "the time to AD this ... vs the time for a single matrix multiplication")
//
// Before timing, each workload's gradient is checked once against an analytic gradient or
// central differences of the primal; a wrong gradient aborts the run with a message.
//
// The *_stan_style workloads run the same loops on a minimal Stan-like tape (one
// arena-allocated node per op with value, adjoint, operand pointers and a virtual
// chain(), plus a stack of node pointers) so the two layouts are compared in one run.
#include <benchmark/benchmark.h>

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <tapegrad/scalar.hpp>
#include <tapegrad/tapegrad.hpp>

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

// Bytes and statements of one recording, inputs excluded; or, for Tensor workloads, the
// peak bytes of tensor buffers. `elements` is the number of inputs (0: the benchmark's
// argument).
struct Memory {
  double statements = 0, bytes = 0;
  double peak_bytes = 0;
  double elements = 0;
  static Memory since(const tg::TapeStats& start) {
    const tg::TapeStats s = tg::tape().stats();
    return {static_cast<double>(s.variables - start.variables),
            static_cast<double>(s.operand_bytes - start.operand_bytes)};
  }
};

// Where the gradient's time goes, accumulated over the timed iterations.
struct Phases {
  using clock = std::chrono::steady_clock;
  double record_s = 0, sweep_s = 0;
  clock::time_point start, swept_from;
  bool timing = false;  // off during the check, on while the benchmark loop runs
  void begin() { start = clock::now(); }
  void sweep_begins() { swept_from = clock::now(); }
  void sweep_ends() {
    const auto now = clock::now();
    if (!timing) return;
    record_s += std::chrono::duration<double>(swept_from - start).count();
    sweep_s += std::chrono::duration<double>(now - swept_from).count();
  }
};

// ---- checking a gradient before it is timed ----

[[noreturn]] void wrong_gradient(const std::string& workload, const std::string& message) {
  std::fprintf(stderr, "scalar_bench: the gradient of %s is wrong: %s\n", workload.c_str(), message.c_str());
  std::abort();
}

// |got - want| <= tol * max(1, |want|) in every entry, or the run stops.
void expect_close(const std::string& workload, const char* what, const Eigen::VectorXd& got,
                  const Eigen::VectorXd& want, double tol) {
  if (got.size() != want.size())
    wrong_gradient(workload, std::string(what) + ": " + std::to_string(got.size()) + " entries, expected " +
                                 std::to_string(want.size()));
  for (Eigen::Index i = 0; i < got.size(); ++i) {
    const double err = std::abs(got(i) - want(i));
    if (!(err <= tol * std::max(1.0, std::abs(want(i)))))
      wrong_gradient(workload, std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(got(i)) +
                                   ", expected " + std::to_string(want(i)) + " (error " + std::to_string(err) + ")");
  }
}

Eigen::VectorXd as_eigen(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

// Central differences of f at x in the coordinates `which`:
// df/dx_k ~ (f(x + h e_k) - f(x - h e_k)) / 2h, with h = 1e-6 max(1, |x_k|).
template <typename F>
Eigen::VectorXd central_differences(F f, std::vector<double> x, const std::vector<std::size_t>& which) {
  Eigen::VectorXd d(static_cast<Eigen::Index>(which.size()));
  for (std::size_t k = 0; k < which.size(); ++k) {
    const std::size_t i = which[k];
    const double xi = x[i], h = 1e-6 * std::max(1.0, std::abs(xi));
    x[i] = xi + h;
    const double up = f(x);
    x[i] = xi - h;
    const double down = f(x);
    x[i] = xi;
    d(static_cast<Eigen::Index>(k)) = (up - down) / (2 * h);
  }
  return d;
}

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
  // ds/dx_i = 1
  void check() {
    gradient();
    expect_close(name, "ds/dx", as_eigen(in.grad), Eigen::VectorXd::Ones(static_cast<Eigen::Index>(x.size())), 1e-12);
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
  // dp/dx_i = p / x_i
  void check() {
    const double p = gradient();
    Eigen::VectorXd want(static_cast<Eigen::Index>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) want(static_cast<Eigen::Index>(i)) = p / x[i];
    expect_close(name, "dp/dx", as_eigen(in.grad), want, 1e-10);
  }
};

// log(sum exp(x_i)), stabilised by the largest x (a number: the result does not depend
// on the shift, so it needs no derivative).
struct LogSumExpLoop {
  static constexpr const char* name = "log_sum_exp_loop";
  static constexpr double fastad_ratio = 1.53;
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
  // dy/dx_i = exp(x_i - y), the softmax
  void check() {
    const double y = gradient();
    Eigen::VectorXd want(static_cast<Eigen::Index>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) want(static_cast<Eigen::Index>(i)) = std::exp(x[i] - y);
    expect_close(name, "dy/dx", as_eigen(in.grad), want, 1e-12);
  }
};

// d/dx_i = -z_i / sigma, d/dmu = sum z_i / sigma, d/dsigma = sum (z_i^2 - 1) / sigma,
// with z_i = (x_i - mu) / sigma.
void check_normal_log_pdf(const char* name, const std::vector<double>& x, double mu, double sigma,
                          const std::vector<double>& dx, double dmu, double dsigma) {
  Eigen::VectorXd want(static_cast<Eigen::Index>(x.size()));
  double want_mu = 0, want_sigma = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double z = (x[i] - mu) / sigma;
    want(static_cast<Eigen::Index>(i)) = -z / sigma;
    want_mu += z / sigma;
    want_sigma += (z * z - 1) / sigma;
  }
  expect_close(name, "dlp/dx", as_eigen(dx), want, 1e-10);
  expect_close(name, "dlp/dmu, dlp/dsigma", Eigen::Vector2d(dmu, dsigma), Eigen::Vector2d(want_mu, want_sigma), 1e-10);
}

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
    dmu = m.grad();
    dsigma = s.grad();
    memory = Memory::since(in.recorded);
    return lp.val();
  }
  double dmu = 0, dsigma = 0;
  void check() {
    gradient();
    check_normal_log_pdf(name, x, mu, sigma, in.grad, dmu, dsigma);
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
    dmu_ = m.grad();
    dsigma_ = s.grad();
    memory = Memory::since(in.recorded);
    return y.val();
  }
  double dmu_ = 0, dsigma_ = 0;
  void check() {
    gradient();
    check_normal_log_pdf(name, x, mu, sigma, in.grad, dmu_, dsigma_);
  }
};

// ---- matrix product + sum: f(A, B) = sum(A B), A and B n x n ----
//
// df/dA = 1 B^T (every row is B's row sums), df/dB = A^T 1 (every column is A's column
// sums): d/dA_ik sum_ij (A B)_ij = sum_j B_kj.

struct MatrixProductData {
  Eigen::MatrixXd a, b;
  explicit MatrixProductData(std::size_t n) {
    const auto size = static_cast<Eigen::Index>(n);
    const std::vector<double> av = random_values(n * n, -1, 1, 5), bv = random_values(n * n, -1, 1, 6);
    a = Eigen::Map<const Eigen::MatrixXd>(av.data(), size, size);
    b = Eigen::Map<const Eigen::MatrixXd>(bv.data(), size, size);
  }
  mutable Eigen::MatrixXd product;
  // Eigen's blocked, vectorised GEMM, then the sum.
  double primal() const {
    product.noalias() = a * b;
    return product.sum();
  }
  void check(const char* name, const Eigen::MatrixXd& da, const Eigen::MatrixXd& db) const {
    const Eigen::MatrixXd want_a = Eigen::VectorXd::Ones(a.rows()) * b.rowwise().sum().transpose();
    const Eigen::MatrixXd want_b = a.colwise().sum().transpose() * Eigen::RowVectorXd::Ones(b.cols());
    expect_close(name, "df/dA", da.reshaped(), want_a.reshaped(), 1e-10);
    expect_close(name, "df/dB", db.reshaped(), want_b.reshaped(), 1e-10);
  }
};

// What a user of the Tensor library writes: matmul, sum, backward.
struct MatrixProductTensor : MatrixProductData {
  static constexpr const char* name = "matrix_product/tensor";
  static constexpr double fastad_ratio = 3.16;
  Memory memory;
  Phases phases;
  Eigen::MatrixXd da, db;
  explicit MatrixProductTensor(std::size_t n) : MatrixProductData(n) { memory.elements = 2.0 * double(n * n); }
  double gradient() {
    tg::reset_peak_memory();
    const auto held = tg::memory_stats().current_bytes;
    phases.begin();
    const auto ta = tg::from_eigen(a, tg::requires_grad()), tb = tg::from_eigen(b, tg::requires_grad());
    const auto f = tg::matmul(ta, tb).sum();
    phases.sweep_begins();
    f.backward();
    phases.sweep_ends();
    da = ta.grad().to_eigen();
    db = tb.grad().to_eigen();
    memory.peak_bytes = static_cast<double>(tg::memory_stats().peak_bytes - held);
    return f.item();
  }
  void check() {
    gradient();
    MatrixProductData::check(name, da, db);
  }
};

// Var through Eigen::Matrix<Var>: Eigen's generic GEMM records every multiply and add,
// about 2 n^3 statements. The honest cost of a dynamic scalar tape on dense linear algebra.
struct MatrixProductVarEigen : MatrixProductData {
  static constexpr const char* name = "matrix_product/var_eigen";
  static constexpr double fastad_ratio = 3.16;
  using MatrixXv = Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>;
  Memory memory;
  Phases phases;
  Eigen::MatrixXd da, db;
  explicit MatrixProductVarEigen(std::size_t n) : MatrixProductData(n) {}
  double gradient() {
    tg::TapeScope scope;
    phases.begin();
    const MatrixXv va = tg::variables(a), vb = tg::variables(b);
    const tg::TapeStats inputs = tg::tape().stats();
    const V f = (va * vb).sum();
    phases.sweep_begins();
    f.backward();
    phases.sweep_ends();
    da = tg::grads(va);
    db = tg::grads(vb);
    memory = Memory::since(inputs);
    memory.elements = double(2 * a.size());
    return f.val();
  }
  void check() {
    gradient();
    MatrixProductData::check(name, da, db);
  }
};

// The same f as one statement whose partials the user derived (df/dA = 1 B^T, df/dB =
// A^T 1) and passes to tg::precomputed_gradients: Stan's way of writing a hot function.
// It only fits this particular f; for products inside larger models use the Tensor ops.
struct MatrixProductVarPrecomputed : MatrixProductData {
  static constexpr const char* name = "matrix_product/var_precomputed";
  static constexpr double fastad_ratio = 3.16;
  using MatrixXv = Eigen::Matrix<V, Eigen::Dynamic, Eigen::Dynamic>;
  Memory memory;
  Phases phases;
  Eigen::MatrixXd da, db;
  std::vector<V> operands;
  std::vector<double> partials;
  explicit MatrixProductVarPrecomputed(std::size_t n) : MatrixProductData(n) {}
  double gradient() {
    tg::TapeScope scope;
    phases.begin();
    const MatrixXv va = tg::variables(a), vb = tg::variables(b);
    const tg::TapeStats inputs = tg::tape().stats();
    const double f = primal();
    // sum(A B) = (column sums of A) . (row sums of B)
    const Eigen::VectorXd a_colsums = a.colwise().sum().transpose(), b_rowsums = b.rowwise().sum();
    const Eigen::Index n = a.rows(), nn = a.size();
    operands.resize(static_cast<std::size_t>(2 * nn));
    partials.resize(static_cast<std::size_t>(2 * nn));
    for (Eigen::Index j = 0; j < n; ++j)  // column-major, as va and vb
      for (Eigen::Index i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i + j * n);
        operands[k] = va(i, j);
        partials[k] = b_rowsums(j);  // df/dA_ij
        operands[static_cast<std::size_t>(nn) + k] = vb(i, j);
        partials[static_cast<std::size_t>(nn) + k] = a_colsums(i);  // df/dB_ij
      }
    const V y = tg::precomputed_gradients(f, operands, partials);
    phases.sweep_begins();
    y.backward();
    phases.sweep_ends();
    da = tg::grads(va);
    db = tg::grads(vb);
    memory = Memory::since(inputs);
    memory.elements = double(2 * nn);
    return y.val();
  }
  void check() {
    gradient();
    MatrixProductData::check(name, da, db);
  }
};

// ---- Bayesian linear regression (FastAD's / ADBenchmark's "regression") ----
//
// Data X (m x p), y (m); parameters w (p), b, sigma:
//   y ~ N(X w + b, sigma),  w_j ~ N(0, 1),  b ~ N(0, 1),  sigma ~ Uniform(0.1, 10)
// log density, constants (-log sqrt(2 pi)) dropped as FastAD does, r = y - X w - b:
//   lp = -|r|^2 / (2 sigma^2) - m log sigma - |w|^2 / 2 - b^2 / 2 - log 9.9
//   dlp/dw = X^T r / sigma^2 - w,  dlp/db = sum r / sigma^2 - b,
//   dlp/dsigma = |r|^2 / sigma^3 - m / sigma
struct RegressionData {
  static constexpr Eigen::Index rows = 1000;
  Eigen::MatrixXd x;                                            // column-major, for Eigen's GEMV
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x_rows;  // for the loops
  Eigen::VectorXd y, w0;
  double b0 = 0.3, sigma0 = 1.3;
  explicit RegressionData(std::size_t p) {
    const auto cols = static_cast<Eigen::Index>(p);
    const std::vector<double> xv = random_values(std::size_t(rows) * p, -1, 1, 7), yv = random_values(rows, -1, 1, 8),
                              wv = random_values(p, -1, 1, 9);
    x = Eigen::Map<const Eigen::MatrixXd>(xv.data(), rows, cols);
    x_rows = x;
    y = as_eigen(yv);
    w0 = as_eigen(wv);
  }
  mutable Eigen::VectorXd residual;  // r = y - X w - b, kept between calls
  double primal() const { return log_density(w0, b0, sigma0); }
  double log_density(const Eigen::VectorXd& w, double b, double sigma) const {
    residual.noalias() = y - x * w;
    residual.array() -= b;
    return -residual.squaredNorm() / (2 * sigma * sigma) - double(rows) * std::log(sigma) - w.squaredNorm() / 2 -
           b * b / 2 - std::log(9.9);
  }
  // The analytic gradient, (dw, db, dsigma) stacked.
  Eigen::VectorXd analytic_gradient() const {
    log_density(w0, b0, sigma0);
    const Eigen::VectorXd r = residual;
    Eigen::VectorXd g(w0.size() + 2);
    g.head(w0.size()) = x.transpose() * r / (sigma0 * sigma0) - w0;
    g(w0.size()) = r.sum() / (sigma0 * sigma0) - b0;
    g(w0.size() + 1) = r.squaredNorm() / (sigma0 * sigma0 * sigma0) - double(rows) / sigma0;
    return g;
  }
  void check(const char* name, const Eigen::VectorXd& got) const {
    expect_close(name, "d lp / d(w, b, sigma)", got, analytic_gradient(), 1e-9);
  }
};

// Tensor ops: what a user of the Tensor library writes (X and y are data tensors made once).
struct RegressionTensor : RegressionData {
  static constexpr const char* name = "regression/tensor";
  static constexpr double fastad_ratio = 2.05;
  tg::Tensor<double> tx, ty;
  Memory memory;
  Phases phases;
  Eigen::VectorXd grad;
  explicit RegressionTensor(std::size_t p)
      : RegressionData(p), tx(tg::from_eigen(x)), ty(tg::from_eigen(y)) {
    memory.elements = double(p + 2);
  }
  double gradient() {
    tg::reset_peak_memory();
    const auto held = tg::memory_stats().current_bytes;
    phases.begin();
    const auto w = tg::from_eigen(w0, tg::requires_grad());
    const auto b = tg::scalar_tensor<double>(b0, tg::requires_grad());
    const auto sigma = tg::scalar_tensor<double>(sigma0, tg::requires_grad());
    const auto r = ty - (tg::matmul(tx, w) + b);
    const auto lp = -0.5 * (r * r).sum() / (sigma * sigma) - double(rows) * tg::log(sigma) - 0.5 * (w * w).sum() -
                    0.5 * b * b - std::log(9.9);
    phases.sweep_begins();
    lp.backward();
    phases.sweep_ends();
    grad.resize(w0.size() + 2);
    grad.head(w0.size()) = w.grad().to_eigen();
    grad(w0.size()) = b.grad().item();
    grad(w0.size() + 1) = sigma.grad().item();
    memory.peak_bytes = static_cast<double>(tg::memory_stats().peak_bytes - held);
    return lp.item();
  }
  void check() {
    gradient();
    RegressionData::check(name, grad);
  }
};

// Var, written as the loops of the model: each row's linear predictor is p multiply-adds,
// 2 statements each.
struct RegressionVar : RegressionData {
  static constexpr const char* name = "regression/var";
  static constexpr double fastad_ratio = 2.05;
  VarInputs in;
  Memory memory;
  Phases phases;
  explicit RegressionVar(std::size_t p) : RegressionData(p) {}
  double gradient() {
    tg::TapeScope scope;
    phases.begin();
    std::vector<double> params(w0.data(), w0.data() + w0.size());
    params.push_back(b0);
    params.push_back(sigma0);
    in.record(params);
    const std::size_t p = static_cast<std::size_t>(w0.size());
    const V& b = in.xs[p];
    const V& sigma = in.xs[p + 1];
    V sum_sq = 0;
    for (Eigen::Index i = 0; i < rows; ++i) {
      V mean = b;
      for (std::size_t j = 0; j < p; ++j) mean += x_rows(i, static_cast<Eigen::Index>(j)) * in.xs[j];
      const V r = y(i) - mean;
      sum_sq += r * r;
    }
    V w_sq = 0;
    for (std::size_t j = 0; j < p; ++j) w_sq += in.xs[j] * in.xs[j];
    const V lp = -sum_sq / (2 * sigma * sigma) - double(rows) * log(sigma) - w_sq / 2 - b * b / 2 - std::log(9.9);
    phases.sweep_begins();
    lp.backward();
    phases.sweep_ends();
    in.read();
    memory = Memory::since(in.recorded);
    memory.elements = double(params.size());
    return lp.val();
  }
  void check() {
    gradient();
    RegressionData::check(name, as_eigen(in.grad));
  }
};

// Var, with the likelihood as one statement whose partials come from Eigen (Stan's
// normal_id_glm_lpdf is written this way); the priors stay Var loops.
struct RegressionVarGlm : RegressionData {
  static constexpr const char* name = "regression/var_glm";
  static constexpr double fastad_ratio = 2.05;
  VarInputs in;
  Memory memory;
  Phases phases;
  Eigen::VectorXd partials, wv;
  explicit RegressionVarGlm(std::size_t p) : RegressionData(p) {}
  double gradient() {
    tg::TapeScope scope;
    phases.begin();
    std::vector<double> params(w0.data(), w0.data() + w0.size());
    params.push_back(b0);
    params.push_back(sigma0);
    in.record(params);
    const Eigen::Index p = w0.size();
    const V& b = in.xs[std::size_t(p)];
    const V& sigma = in.xs[std::size_t(p) + 1];
    // log N(y | X w + b, sigma) and its partials, in double
    wv.resize(p);
    for (Eigen::Index j = 0; j < p; ++j) wv(j) = in.xs[std::size_t(j)].val();
    const double s = sigma.val(), inv_var = 1 / (s * s);
    residual.noalias() = y - x * wv;
    residual.array() -= b.val();
    const double sum_sq = residual.squaredNorm();
    partials.resize(p + 2);
    partials.head(p).noalias() = x.transpose() * residual * inv_var;
    partials(p) = residual.sum() * inv_var;
    partials(p + 1) = sum_sq * inv_var / s - double(rows) / s;
    const V likelihood =
        tg::precomputed_gradients(-0.5 * sum_sq * inv_var - double(rows) * std::log(s), in.xs, partials);
    V w_sq = 0;
    for (Eigen::Index j = 0; j < p; ++j) w_sq += in.xs[std::size_t(j)] * in.xs[std::size_t(j)];
    const V lp = likelihood - w_sq / 2 - b * b / 2 - std::log(9.9);
    phases.sweep_begins();
    lp.backward();
    phases.sweep_ends();
    in.read();
    memory = Memory::since(in.recorded);
    memory.elements = double(params.size());
    return lp.val();
  }
  void check() {
    gradient();
    RegressionData::check(name, as_eigen(in.grad));
  }
};

// ---- stochastic volatility (Stan's model, non-centred, as FastAD's benchmark) ----
//
// Data y (T returns); parameters h_std (T), phi, sigma, mu. The log volatility
//   h_0 = mu + sigma h_std_0 / sqrt(1 - phi^2),  h_t = mu + phi (h_{t-1} - mu) + sigma h_std_t
// and the log density, constants dropped as FastAD does:
//   y_t ~ N(0, exp(h_t / 2)):  -y_t^2 exp(-h_t) / 2 - h_t / 2
//   h_std_t ~ N(0, 1):         -h_std_t^2 / 2
//   sigma ~ Cauchy(0, 5), mu ~ Cauchy(0, 10):  -log(s (1 + (x / s)^2))
//   phi ~ Uniform(-1, 1):      -log 2
struct StochasticVolatility {
  static constexpr const char* name = "stochastic_volatility/var";
  static constexpr double fastad_ratio = 1.24;
  std::vector<double> y_sq, params;  // params = (h_std_0 .. h_std_{T-1}, phi, sigma, mu)
  VarInputs in;
  Memory memory;
  Phases phases;
  explicit StochasticVolatility(std::size_t t) : params(random_values(t, -1, 1, 11)) {
    const std::vector<double> y = random_values(t, -1, 1, 10);
    y_sq.resize(t);
    for (std::size_t i = 0; i < t; ++i) y_sq[i] = y[i] * y[i];
    params.push_back(0.6);   // phi
    params.push_back(0.4);   // sigma
    params.push_back(-0.2);  // mu
  }
  static double cauchy_log_pdf(double x, double scale) { return -std::log(scale * (1 + (x / scale) * (x / scale))); }
  double primal() const { return log_density(params); }
  double log_density(const std::vector<double>& p) const {
    const std::size_t t_end = y_sq.size();
    const double phi = p[t_end], sigma = p[t_end + 1], mu = p[t_end + 2];
    double h = mu + sigma * p[0] / std::sqrt(1 - phi * phi);
    double sum = 0;
    for (std::size_t t = 0; t < t_end; ++t) {
      if (t > 0) h = mu + phi * (h - mu) + sigma * p[t];
      sum += y_sq[t] * std::exp(-h) + h + p[t] * p[t];
    }
    return -0.5 * sum + cauchy_log_pdf(sigma, 5) + cauchy_log_pdf(mu, 10) - std::log(2.0);
  }
  double gradient() {
    tg::TapeScope scope;
    phases.begin();
    in.record(params);
    const std::size_t t_end = y_sq.size();
    const V& phi = in.xs[t_end];
    const V& sigma = in.xs[t_end + 1];
    const V& mu = in.xs[t_end + 2];
    V h = mu + sigma * in.xs[0] / sqrt(1 - phi * phi);
    V sum = 0;
    for (std::size_t t = 0; t < t_end; ++t) {
      const V& h_std = in.xs[t];
      if (t > 0) h = mu + phi * (h - mu) + sigma * h_std;
      sum += y_sq[t] * exp(-h) + h + h_std * h_std;
    }
    // Cauchy(0, s) log densities, written out: -log(s (1 + (x/s)^2))
    const V lp = -0.5 * sum - log(5 * (1 + (sigma / 5) * (sigma / 5))) - log(10 * (1 + (mu / 10) * (mu / 10))) -
                 std::log(2.0);
    phases.sweep_begins();
    lp.backward();
    phases.sweep_ends();
    in.read();
    memory = Memory::since(in.recorded);
    memory.elements = double(params.size());
    return lp.val();
  }
  // Against central differences of the primal in a sample of coordinates, and phi, sigma, mu.
  void check() {
    gradient();
    const std::size_t t_end = y_sq.size();
    std::vector<std::size_t> which = {0, 1, 2, t_end / 3, t_end / 2, t_end - 2, t_end - 1, t_end, t_end + 1, t_end + 2};
    Eigen::VectorXd got(static_cast<Eigen::Index>(which.size()));
    for (std::size_t k = 0; k < which.size(); ++k) got(static_cast<Eigen::Index>(k)) = in.grad[which[k]];
    const Eigen::VectorXd want =
        central_differences([this](const std::vector<double>& p) { return log_density(p); }, params, which);
    expect_close(name, "d lp / d(h_std, phi, sigma, mu)", got, want, 1e-5);
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

template <typename W, typename = void>
struct has_check : std::false_type {};
template <typename W>
struct has_check<W, std::void_t<decltype(std::declval<W&>().check())>> : std::true_type {};
template <typename W, typename = void>
struct has_phases : std::false_type {};
template <typename W>
struct has_phases<W, std::void_t<decltype(std::declval<W&>().phases)>> : std::true_type {};
template <typename W, typename = void>
struct fastad {  // FastAD's published ratio, 0 where it has none
  static constexpr double ratio = 0;
};
template <typename W>
struct fastad<W, std::void_t<decltype(W::fastad_ratio)>> {
  static constexpr double ratio = W::fastad_ratio;
};

template <typename W>
void BM_scalar(benchmark::State& state) {
  using clock = std::chrono::steady_clock;
  W w(static_cast<std::size_t>(state.range(0)));
  if constexpr (has_check<W>::value) {
    static bool checked = false;  // once per workload and run: the check can take a few gradients' time
    if (!checked) w.check();
    checked = true;
  }
  if constexpr (has_phases<W>::value) w.phases.timing = true;
  double primal_s = 0, gradient_s = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    double p = w.primal();
    benchmark::DoNotOptimize(p);
    const auto t1 = clock::now();
    double g = w.gradient();
    benchmark::DoNotOptimize(g);
    benchmark::ClobberMemory();  // the gradient, written into w, counts as used
    const auto t2 = clock::now();
    primal_s += std::chrono::duration<double>(t1 - t0).count();
    gradient_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double iters = static_cast<double>(state.iterations());
  const double n = w.memory.elements > 0 ? w.memory.elements : static_cast<double>(state.range(0));
  state.counters["ratio"] = gradient_s / primal_s;
  if (fastad<W>::ratio > 0) state.counters["fastad_ratio"] = fastad<W>::ratio;
  state.counters["primal_us"] = 1e6 * primal_s / iters;
  state.counters["gradient_us"] = 1e6 * gradient_s / iters;
  if constexpr (has_phases<W>::value) {
    state.counters["record_us"] = 1e6 * w.phases.record_s / iters;
    state.counters["sweep_us"] = 1e6 * w.phases.sweep_s / iters;
  }
  if (w.memory.statements > 0) {
    state.counters["stmts/elem"] = w.memory.statements / n;
    state.counters["B/stmt"] = w.memory.bytes / w.memory.statements;
    state.counters["B/elem"] = w.memory.bytes / n;
  }
  if (w.memory.peak_bytes > 0) {
    state.counters["peak_B"] = w.memory.peak_bytes;
    state.counters["peak_B/elem"] = w.memory.peak_bytes / n;
  }
}

// The argument is N (loops), n (n x n matrices), p (regression features) or T (time steps);
// what the counters divide by is the number of inputs.
#define SCALAR_WORKLOAD_N(W, N) BENCHMARK_TEMPLATE(BM_scalar, W)->Name(std::string("scalar/") + W::name)->Arg(N)
#define SCALAR_WORKLOAD(W) SCALAR_WORKLOAD_N(W, 16384)

SCALAR_WORKLOAD(SumLoop);
SCALAR_WORKLOAD(ProdLoop);
SCALAR_WORKLOAD(StanStyleLoop<false>);
SCALAR_WORKLOAD(StanStyleLoop<true>);
SCALAR_WORKLOAD(LogSumExpLoop);
SCALAR_WORKLOAD(NormalLogPdfLoop);
SCALAR_WORKLOAD(NormalLogPdfFused);
SCALAR_WORKLOAD_N(MatrixProductTensor, 181);
SCALAR_WORKLOAD_N(MatrixProductVarEigen, 181)->Unit(benchmark::kMillisecond);
SCALAR_WORKLOAD_N(MatrixProductVarPrecomputed, 181);
SCALAR_WORKLOAD_N(RegressionTensor, 150);
SCALAR_WORKLOAD_N(RegressionVar, 150);
SCALAR_WORKLOAD_N(RegressionVarGlm, 150);
SCALAR_WORKLOAD_N(StochasticVolatility, 8192);

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
