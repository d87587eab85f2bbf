// Backward-pass throughput (issue 6): every workload in three versions in one binary,
//   <workload>/tapegrad   the library,
//   <workload>/eigen      the same function and its gradient written by hand in Eigen
//                         (no graph, no tape: the floor),
//   <workload>/torch      libtorch (only when CMake found Torch: TAPEGRAD_HAVE_TORCH),
// so that scripts/run_benchmarks.sh can pair the names and print the ratios
// tapegrad / eigen and tapegrad / torch from one run. Before anything is timed, main()
// runs every workload once in every version and compares the gradients; a mismatch
// aborts with a message (a fast wrong gradient is worth nothing).
//
// Everything runs on one thread: Eigen is built without OpenMP, libtorch gets
// torch::set_num_threads(1), OpenBLAS is pinned by OPENBLAS_NUM_THREADS=1 in the script.
// Each timed iteration starts with the parameters' gradients released (set_to_none), so
// all three versions allocate their gradient buffers inside the step.
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#ifdef TAPEGRAD_HAVE_TORCH
#include <torch/torch.h>
#endif

namespace tg = tapegrad;

namespace {

// ---------------------------------------------------------------------------------
// Shared data: every version starts from the same numbers.

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <typename T>
using ConstMap = Eigen::Map<const Mat<T>>;
template <typename T>
using MutMap = Eigen::Map<Mat<T>>;

// A named array with a shape, row-major (NumPy order), as all three libraries store it.
template <typename T>
struct Array {
  tg::Shape shape;
  std::vector<T> values;
  std::int64_t rows() const { return shape[0]; }
  std::int64_t cols() const { return static_cast<std::int64_t>(values.size()) / shape[0]; }
  ConstMap<T> matrix() const { return ConstMap<T>(values.data(), rows(), cols()); }
  Eigen::Map<const RowVec<T>> row_vector() const {
    return Eigen::Map<const RowVec<T>>(values.data(), static_cast<std::int64_t>(values.size()));
  }
};

std::int64_t count(const tg::Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

// Normal(0, scale^2) values from a fixed seed.
template <typename T>
Array<T> random_array(tg::Shape shape, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, scale);
  Array<T> a{shape, std::vector<T>(static_cast<std::size_t>(count(shape)))};
  for (T& v : a.values) v = static_cast<T>(normal(rng));
  return a;
}

std::vector<std::int64_t> random_classes(std::int64_t n, std::int64_t classes, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::int64_t> pick(0, classes - 1);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (auto& id : ids) id = pick(rng);
  return ids;
}

// A workload's data: parameters (whose gradients are compared), one input and, for
// classifiers, class ids or regression targets.
template <typename T>
struct Problem {
  std::vector<Array<T>> params;
  Array<T> input;
  Array<T> target;                     // regression targets (small model)
  std::vector<std::int64_t> classes;  // class ids (classifiers)
};

// Gradients in parameter order, as doubles for the comparison.
using Gradients = std::vector<std::vector<double>>;

template <typename Vector>
std::vector<double> as_doubles(const Vector& v) {
  return std::vector<double>(v.begin(), v.end());
}
template <typename Derived>
std::vector<double> as_doubles_eigen(const Eigen::MatrixBase<Derived>& m) {
  // Row-major element order, matching the tensors.
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(m.size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) out.push_back(static_cast<double>(m(r, c)));
  return out;
}

// Aborts unless every gradient of `b` matches `a` to `tolerance`, relative to the
// largest gradient entry of that parameter (float sums of thousands of terms differ
// in the last digits between libraries).
void expect_same(const std::string& workload, const char* name_a, const Gradients& a, const char* name_b,
                 const Gradients& b, double tolerance) {
  if (a.size() != b.size()) {
    std::fprintf(stderr, "%s: %s has %zu gradients, %s has %zu\n", workload.c_str(), name_a, a.size(), name_b,
                 b.size());
    std::exit(1);
  }
  for (std::size_t p = 0; p < a.size(); ++p) {
    if (a[p].size() != b[p].size()) {
      std::fprintf(stderr, "%s: gradient %zu has %zu elements in %s, %zu in %s\n", workload.c_str(), p, a[p].size(),
                   name_a, b[p].size(), name_b);
      std::exit(1);
    }
    double largest = 0, worst = 0;
    std::size_t worst_at = 0;
    for (std::size_t i = 0; i < a[p].size(); ++i) {
      largest = std::max(largest, std::abs(a[p][i]));
      const double diff = std::abs(a[p][i] - b[p][i]);
      if (!(diff <= worst)) worst = diff, worst_at = i;  // also catches nan
    }
    if (!(worst <= tolerance * std::max(largest, 1e-30))) {
      std::fprintf(stderr,
                   "%s: the gradients of %s and %s disagree: parameter %zu, element %zu: %.9g against %.9g "
                   "(largest entry %.3g, tolerance %.1g relative)\n",
                   workload.c_str(), name_a, name_b, p, worst_at, a[p][worst_at], b[p][worst_at], largest,
                   tolerance);
      std::exit(1);
    }
  }
  std::printf("gradient check %-16s %s matches %s\n", workload.c_str(), name_a, name_b);
}

// --- tapegrad helpers ---
template <typename T>
std::vector<tg::Tensor<T>> tg_params(const Problem<T>& p) {
  std::vector<tg::Tensor<T>> out;
  for (const auto& a : p.params) out.push_back(tg::from_vector(a.values, a.shape, tg::requires_grad()));
  return out;
}
template <typename T>
tg::Tensor<T> tg_input(const Problem<T>& p) {
  return tg::from_vector(p.input.values, p.input.shape);
}
inline tg::Tensor<std::int64_t> tg_classes(const Problem<float>& p) {
  return tg::from_vector(p.classes, tg::Shape{static_cast<std::int64_t>(p.classes.size())});
}
template <typename T>
void tg_release_grads(std::vector<tg::Tensor<T>>& params) {
  for (auto& w : params) w.zero_grad(/*set_to_none=*/true);
}
template <typename T>
Gradients tg_grads(const std::vector<tg::Tensor<T>>& params) {
  Gradients g;
  for (const auto& w : params) g.push_back(as_doubles(w.grad().to_vector()));
  return g;
}

#ifdef TAPEGRAD_HAVE_TORCH
// --- libtorch helpers ---
template <typename T>
constexpr torch::Dtype torch_dtype() {
  return std::is_same<T, float>::value ? torch::kFloat32 : torch::kFloat64;
}
template <typename T>
torch::Tensor torch_from(const Array<T>& a, bool requires_grad) {
  std::vector<int64_t> sizes(a.shape.begin(), a.shape.end());
  auto t = torch::from_blob(const_cast<T*>(a.values.data()), sizes, torch_dtype<T>()).clone();
  return requires_grad ? t.requires_grad_(true) : t;
}
template <typename T>
std::vector<torch::Tensor> torch_params(const Problem<T>& p) {
  std::vector<torch::Tensor> out;
  for (const auto& a : p.params) out.push_back(torch_from(a, true));
  return out;
}
inline torch::Tensor torch_classes(const Problem<float>& p) {
  return torch::from_blob(const_cast<std::int64_t*>(p.classes.data()), {static_cast<int64_t>(p.classes.size())},
                          torch::kInt64)
      .clone();
}
inline void torch_release_grads(std::vector<torch::Tensor>& params) {
  for (auto& w : params) w.mutable_grad().reset();
}
template <typename T>
Gradients torch_grads(const std::vector<torch::Tensor>& params) {
  Gradients g;
  for (const auto& w : params) {
    const torch::Tensor c = w.grad().contiguous();
    const T* d = c.data_ptr<T>();
    g.emplace_back(d, d + c.numel());
  }
  return g;
}
#endif

// Softmax cross-entropy (mean over rows) on logits [N, C], by hand: returns the loss
// and turns `logits` into its gradient (p - onehot) / N in place.
template <typename T>
double softmax_cross_entropy_in_place(Mat<T>& logits, const std::vector<std::int64_t>& classes) {
  const auto n = logits.rows();
  double loss = 0;
  for (Eigen::Index r = 0; r < n; ++r) {
    auto row = logits.row(r);
    row.array() -= row.maxCoeff();  // shift by the max: exp never overflows
    row = row.array().exp().matrix();
    const T total = row.sum();
    row /= total;
    const auto target = static_cast<Eigen::Index>(classes[static_cast<std::size_t>(r)]);
    loss -= std::log(static_cast<double>(row(target)));
    row(target) -= T(1);  // d/dz mean CE = (softmax(z) - onehot) / N
  }
  logits /= static_cast<T>(n);
  return loss / static_cast<double>(n);
}

// Google Benchmark's "ns per op" counter: iterations x ops per iteration, inverted rate.
benchmark::Counter per_op_counter(benchmark::State& state, int ops) {
  return benchmark::Counter(static_cast<double>(state.iterations()) * ops,
                            benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// =================================================================================
// 1. Per-op overhead: 200 element-wise ops, alternating x*c and x+c, on a 4x4 double
//    tensor, forward + backward. d/dx of the chain = c^100 everywhere.

constexpr int kChainOps = 200;
constexpr double kChainMul = 1.0001, kChainAdd = 0.001;

Gradients per_op_tapegrad(tg::Tensor<double>& x) {
  auto y = x;
  for (int i = 0; i < kChainOps; ++i) y = (i % 2 == 0) ? y * kChainMul : y + kChainAdd;
  y.sum().backward();
  return {as_doubles(x.grad().to_vector())};
}

// The floor keeps every step's value (as a tape would) and runs the adjoint by hand.
Gradients per_op_eigen(const Eigen::Array44d& x) {
  std::vector<Eigen::Array44d> values(kChainOps + 1);
  values[0] = x;
  for (int i = 0; i < kChainOps; ++i) {
    if (i % 2 == 0)
      values[i + 1] = values[i] * kChainMul;
    else
      values[i + 1] = values[i] + kChainAdd;
  }
  Eigen::Array44d g = Eigen::Array44d::Ones();  // d sum / d y
  for (int i = kChainOps; i-- > 0;)
    if (i % 2 == 0) g *= kChainMul;  // (x c)' = c; (x + c)' = 1
  benchmark::DoNotOptimize(values.back().data());
  return {as_doubles_eigen(g.matrix())};
}

void bm_per_op_tapegrad(benchmark::State& state) {
  auto x = tg::ones<double>({4, 4}, tg::requires_grad());
  for (auto _ : state) {
    x.zero_grad(true);
    per_op_tapegrad(x);
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
  state.counters["ns_per_op"] = per_op_counter(state, kChainOps);
}
void bm_per_op_eigen(benchmark::State& state) {
  const Eigen::Array44d x = Eigen::Array44d::Ones();
  for (auto _ : state) benchmark::DoNotOptimize(per_op_eigen(x));
  state.counters["ns_per_op"] = per_op_counter(state, kChainOps);
}

#ifdef TAPEGRAD_HAVE_TORCH
Gradients per_op_torch(torch::Tensor& x) {
  auto y = x;
  for (int i = 0; i < kChainOps; ++i) y = (i % 2 == 0) ? y * kChainMul : y + kChainAdd;
  y.sum().backward();
  return torch_grads<double>({x});
}
void bm_per_op_torch(benchmark::State& state) {
  auto x = torch::ones({4, 4}, torch::kFloat64).requires_grad_(true);
  for (auto _ : state) {
    x.mutable_grad().reset();
    per_op_torch(x);
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
  state.counters["ns_per_op"] = per_op_counter(state, kChainOps);
}
#endif

void check_per_op() {
  auto x = tg::ones<double>({4, 4}, tg::requires_grad());
  const Gradients a = per_op_tapegrad(x);
  const Gradients e = per_op_eigen(Eigen::Array44d::Ones());
  expect_same("per_op", "tapegrad", a, "eigen", e, 1e-12);
#ifdef TAPEGRAD_HAVE_TORCH
  auto xt = torch::ones({4, 4}, torch::kFloat64).requires_grad_(true);
  expect_same("per_op", "torch", per_op_torch(xt), "eigen", e, 1e-12);
#endif
}

// =================================================================================
// 2. MLP training step, float: 784-256-128-10,
//    h1 = tanh(x W1^T + b1), h2 = relu(h1 W2^T + b2), z = h2 W3^T + b3,
//    loss = mean cross-entropy(z, classes). Parameters W1 b1 W2 b2 W3 b3 (torch's
//    nn.Linear layout: W is [out, in]).

Problem<float> make_mlp(std::int64_t batch) {
  std::mt19937_64 rng(2024);
  Problem<float> p;
  const std::int64_t sizes[] = {784, 256, 128, 10};
  for (int l = 0; l < 3; ++l) {
    p.params.push_back(random_array<float>({sizes[l + 1], sizes[l]}, 1.0 / std::sqrt(double(sizes[l])), rng));
    p.params.push_back(random_array<float>({sizes[l + 1]}, 0.1, rng));
  }
  p.input = random_array<float>({batch, 784}, 1.0, rng);
  p.classes = random_classes(batch, 10, rng);
  return p;
}

Gradients mlp_tapegrad(std::vector<tg::Tensor<float>>& w, const tg::Tensor<float>& x,
                       const tg::Tensor<std::int64_t>& classes) {
  auto h1 = tg::tanh(tg::linear(x, w[0], w[1]));
  auto h2 = tg::relu(tg::linear(h1, w[2], w[3]));
  tg::cross_entropy(tg::linear(h2, w[4], w[5]), classes).backward();
  return {};
}

// Every buffer one hand-written step allocates (the memory floor of workload 7 is
// their total): activations kept for the backward pass, and the gradients.
struct MlpEigenStep {
  Mat<float> h1, h2, dz, dh2, dh1;
  Mat<float> dw1, dw2, dw3;
  RowVec<float> db1, db2, db3;
  std::int64_t bytes() const {
    const Eigen::Index n = h1.size() + h2.size() + dz.size() + dh2.size() + dh1.size() + dw1.size() + dw2.size() +
                           dw3.size() + db1.size() + db2.size() + db3.size();
    return static_cast<std::int64_t>(n * sizeof(float));
  }
  Gradients gradients() const {
    return {as_doubles_eigen(dw1), as_doubles_eigen(db1), as_doubles_eigen(dw2),
            as_doubles_eigen(db2), as_doubles_eigen(dw3), as_doubles_eigen(db3)};
  }
};

void mlp_eigen(const Problem<float>& p, MlpEigenStep& s) {
  const auto x = p.input.matrix();
  const auto w1 = p.params[0].matrix(), w2 = p.params[2].matrix(), w3 = p.params[4].matrix();
  // Forward, keeping what the backward pass needs.
  s.h1.noalias() = x * w1.transpose();
  s.h1.rowwise() += p.params[1].row_vector();
  s.h1 = s.h1.array().tanh().matrix();
  s.h2.noalias() = s.h1 * w2.transpose();
  s.h2.rowwise() += p.params[3].row_vector();
  s.h2 = s.h2.cwiseMax(0.0f);
  s.dz.noalias() = s.h2 * w3.transpose();
  s.dz.rowwise() += p.params[5].row_vector();
  softmax_cross_entropy_in_place(s.dz, p.classes);  // dz = d loss / d z
  // Backward: dW = dz^T h_in, db = column sums, dh_in = dz W.
  s.dw3.noalias() = s.dz.transpose() * s.h2;
  s.db3 = s.dz.colwise().sum();
  s.dh2.noalias() = s.dz * w3;
  s.dh2 = (s.h2.array() > 0.0f).select(s.dh2, 0.0f);  // relu' = [h2 > 0]
  s.dw2.noalias() = s.dh2.transpose() * s.h1;
  s.db2 = s.dh2.colwise().sum();
  s.dh1.noalias() = s.dh2 * w2;
  s.dh1.array() *= 1.0f - s.h1.array().square();  // tanh' = 1 - h1^2
  s.dw1.noalias() = s.dh1.transpose() * x;
  s.db1 = s.dh1.colwise().sum();
}

void bm_mlp_tapegrad(benchmark::State& state, std::int64_t batch) {
  const Problem<float> p = make_mlp(batch);
  auto w = tg_params(p);
  const auto x = tg_input(p);
  const auto classes = tg_classes(p);
  for (auto _ : state) {
    tg_release_grads(w);
    mlp_tapegrad(w, x, classes);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
void bm_mlp_eigen(benchmark::State& state, std::int64_t batch) {
  const Problem<float> p = make_mlp(batch);
  for (auto _ : state) {
    MlpEigenStep s;  // fresh buffers every step, as the other versions allocate theirs
    mlp_eigen(p, s);
    benchmark::DoNotOptimize(s.dw1.data());
  }
}

#ifdef TAPEGRAD_HAVE_TORCH
void mlp_torch(std::vector<torch::Tensor>& w, const torch::Tensor& x, const torch::Tensor& classes) {
  auto h1 = torch::tanh(torch::linear(x, w[0], w[1]));
  auto h2 = torch::relu(torch::linear(h1, w[2], w[3]));
  torch::nn::functional::cross_entropy(torch::linear(h2, w[4], w[5]), classes).backward();
}
void bm_mlp_torch(benchmark::State& state, std::int64_t batch) {
  const Problem<float> p = make_mlp(batch);
  auto w = torch_params(p);
  const auto x = torch_from(p.input, false);
  const auto classes = torch_classes(p);
  for (auto _ : state) {
    torch_release_grads(w);
    mlp_torch(w, x, classes);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
#endif

void check_mlp(std::int64_t batch) {
  const std::string name = "mlp_step/b" + std::to_string(batch);
  const Problem<float> p = make_mlp(batch);
  auto w = tg_params(p);
  mlp_tapegrad(w, tg_input(p), tg_classes(p));
  MlpEigenStep s;
  mlp_eigen(p, s);
  expect_same(name, "tapegrad", tg_grads(w), "eigen", s.gradients(), 1e-4);
#ifdef TAPEGRAD_HAVE_TORCH
  auto wt = torch_params(p);
  mlp_torch(wt, torch_from(p.input, false), torch_classes(p));
  expect_same(name, "torch", torch_grads<float>(wt), "eigen", s.gradients(), 1e-4);
#endif
}

// =================================================================================
// 7. Memory: peak bytes of one MLP step at batch 64 (float). tapegrad: the library's
//    allocation counter, above what was held before the step (parameters and input
//    excluded, the gradients and everything the graph keeps included). The floor: the
//    total of the hand-written step's buffers (MlpEigenStep::bytes), all alive at its end.
//    Neither counts per-thread GEMM scratch (tapegrad's transposed copies, Eigen's
//    blocking buffers).

std::int64_t mlp_peak_tapegrad(std::vector<tg::Tensor<float>>& w, const tg::Tensor<float>& x,
                               const tg::Tensor<std::int64_t>& classes) {
  tg_release_grads(w);
  const std::int64_t before = tg::memory_stats().current_bytes;
  tg::reset_peak_memory();
  mlp_tapegrad(w, x, classes);
  return tg::memory_stats().peak_bytes - before;
}

void bm_mlp_memory_tapegrad(benchmark::State& state) {
  const Problem<float> p = make_mlp(64);
  auto w = tg_params(p);
  const auto x = tg_input(p);
  const auto classes = tg_classes(p);
  std::int64_t peak = 0;
  for (auto _ : state) peak = std::max(peak, mlp_peak_tapegrad(w, x, classes));
  state.counters["peak_bytes"] = static_cast<double>(peak);
}
void bm_mlp_memory_eigen(benchmark::State& state) {
  const Problem<float> p = make_mlp(64);
  std::int64_t peak = 0;
  for (auto _ : state) {
    MlpEigenStep s;
    mlp_eigen(p, s);
    peak = std::max(peak, s.bytes());
  }
  state.counters["peak_bytes"] = static_cast<double>(peak);
}

// =================================================================================
// 3. Matmul chain, double: h_{l+1} = tanh(h_l M_l) for 8 layers on 256x256,
//    loss = sum(h_8); gradients for M_0..M_7.

constexpr int kChainLayers = 8;
constexpr std::int64_t kChainSize = 256;

Problem<double> make_matmul_chain() {
  std::mt19937_64 rng(7);
  Problem<double> p;
  for (int l = 0; l < kChainLayers; ++l)
    p.params.push_back(random_array<double>({kChainSize, kChainSize}, 1.0 / std::sqrt(double(kChainSize)), rng));
  p.input = random_array<double>({kChainSize, kChainSize}, 1.0, rng);
  return p;
}

void matmul_chain_tapegrad(std::vector<tg::Tensor<double>>& m, const tg::Tensor<double>& x) {
  auto h = x;
  for (auto& layer : m) h = tg::tanh(tg::matmul(h, layer));
  h.sum().backward();
}

// The gradients M_0..M_7 of the hand-written chain.
std::vector<Mat<double>> matmul_chain_eigen(const Problem<double>& p) {
  std::vector<Mat<double>> h(kChainLayers + 1);
  h[0] = p.input.matrix();
  for (int l = 0; l < kChainLayers; ++l) {
    h[l + 1].noalias() = h[l] * p.params[l].matrix();
    h[l + 1] = h[l + 1].array().tanh().matrix();
  }
  // Backward: g = d loss / d h_{l+1} (ones for the sum); dz = g (1 - h_{l+1}^2);
  // dM_l = h_l^T dz; d loss / d h_l = dz M_l^T.
  std::vector<Mat<double>> dm(kChainLayers);
  Mat<double> g = Mat<double>::Ones(kChainSize, kChainSize), next;
  for (int l = kChainLayers; l-- > 0;) {
    g.array() *= 1.0 - h[l + 1].array().square();
    dm[l].noalias() = h[l].transpose() * g;
    if (l > 0) {
      next.noalias() = g * p.params[l].matrix().transpose();
      g.swap(next);
    }
  }
  return dm;
}

Gradients to_gradients(const std::vector<Mat<double>>& grads) {
  Gradients out;
  for (const auto& g : grads) out.push_back(as_doubles_eigen(g));
  return out;
}

void bm_matmul_chain_tapegrad(benchmark::State& state) {
  const Problem<double> p = make_matmul_chain();
  auto m = tg_params(p);
  const auto x = tg_input(p);
  for (auto _ : state) {
    tg_release_grads(m);
    matmul_chain_tapegrad(m, x);
    benchmark::DoNotOptimize(m[0].grad().data_ptr());
  }
}
void bm_matmul_chain_eigen(benchmark::State& state) {
  const Problem<double> p = make_matmul_chain();
  for (auto _ : state) {
    auto dm = matmul_chain_eigen(p);
    benchmark::DoNotOptimize(dm[0].data());
  }
}

#ifdef TAPEGRAD_HAVE_TORCH
void matmul_chain_torch(std::vector<torch::Tensor>& m, const torch::Tensor& x) {
  auto h = x;
  for (auto& layer : m) h = torch::tanh(torch::matmul(h, layer));
  h.sum().backward();
}
void bm_matmul_chain_torch(benchmark::State& state) {
  const Problem<double> p = make_matmul_chain();
  auto m = torch_params(p);
  const auto x = torch_from(p.input, false);
  for (auto _ : state) {
    torch_release_grads(m);
    matmul_chain_torch(m, x);
    benchmark::DoNotOptimize(m[0].grad().data_ptr());
  }
}
#endif

void check_matmul_chain() {
  const Problem<double> p = make_matmul_chain();
  auto m = tg_params(p);
  matmul_chain_tapegrad(m, tg_input(p));
  const Gradients e = to_gradients(matmul_chain_eigen(p));
  expect_same("matmul_chain", "tapegrad", tg_grads(m), "eigen", e, 1e-10);
#ifdef TAPEGRAD_HAVE_TORCH
  auto mt = torch_params(p);
  matmul_chain_torch(mt, torch_from(p.input, false));
  expect_same("matmul_chain", "torch", torch_grads<double>(mt), "eigen", e, 1e-10);
#endif
}

// =================================================================================
// 4. Small model, double: 32-32-1 on batch 8, out = tanh(x W1^T + b1) W2^T + b2,
//    loss = mean (out - y)^2. Parameters W1 b1 W2 b2. Few flops per op: the regime
//    where a library's per-op overhead decides.

Problem<double> make_small_mlp() {
  std::mt19937_64 rng(11);
  Problem<double> p;
  p.params.push_back(random_array<double>({32, 32}, 1.0 / std::sqrt(32.0), rng));
  p.params.push_back(random_array<double>({32}, 0.1, rng));
  p.params.push_back(random_array<double>({1, 32}, 1.0 / std::sqrt(32.0), rng));
  p.params.push_back(random_array<double>({1}, 0.1, rng));
  p.input = random_array<double>({8, 32}, 1.0, rng);
  p.target = random_array<double>({8, 1}, 1.0, rng);
  return p;
}

void small_mlp_tapegrad(std::vector<tg::Tensor<double>>& w, const tg::Tensor<double>& x,
                        const tg::Tensor<double>& y) {
  auto out = tg::linear(tg::tanh(tg::linear(x, w[0], w[1])), w[2], w[3]);
  tg::mse_loss(out, y).backward();
}

struct SmallMlpGrads {
  Mat<double> dw1, dw2;
  RowVec<double> db1, db2;
};

SmallMlpGrads small_mlp_eigen(const Problem<double>& p) {
  const auto x = p.input.matrix();
  Mat<double> h;
  h.noalias() = x * p.params[0].matrix().transpose();
  h.rowwise() += p.params[1].row_vector();
  h = h.array().tanh().matrix();
  Mat<double> d;  // becomes d loss / d out = 2 (out - y) / N
  d.noalias() = h * p.params[2].matrix().transpose();
  d.array() += p.params[3].values[0] - p.target.matrix().array();
  d *= 2.0 / static_cast<double>(x.rows());
  SmallMlpGrads g;
  g.dw2.noalias() = d.transpose() * h;
  g.db2 = d.colwise().sum();
  Mat<double> dh;
  dh.noalias() = d * p.params[2].matrix();
  dh.array() *= 1.0 - h.array().square();
  g.dw1.noalias() = dh.transpose() * x;
  g.db1 = dh.colwise().sum();
  return g;
}

void bm_small_mlp_tapegrad(benchmark::State& state) {
  const Problem<double> p = make_small_mlp();
  auto w = tg_params(p);
  const auto x = tg_input(p);
  const auto y = tg::from_vector(p.target.values, p.target.shape);
  for (auto _ : state) {
    tg_release_grads(w);
    small_mlp_tapegrad(w, x, y);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
void bm_small_mlp_eigen(benchmark::State& state) {
  const Problem<double> p = make_small_mlp();
  for (auto _ : state) {
    auto g = small_mlp_eigen(p);
    benchmark::DoNotOptimize(g.dw1.data());
  }
}

#ifdef TAPEGRAD_HAVE_TORCH
void small_mlp_torch(std::vector<torch::Tensor>& w, const torch::Tensor& x, const torch::Tensor& y) {
  auto out = torch::linear(torch::tanh(torch::linear(x, w[0], w[1])), w[2], w[3]);
  torch::mse_loss(out, y).backward();
}
void bm_small_mlp_torch(benchmark::State& state) {
  const Problem<double> p = make_small_mlp();
  auto w = torch_params(p);
  const auto x = torch_from(p.input, false), y = torch_from(p.target, false);
  for (auto _ : state) {
    torch_release_grads(w);
    small_mlp_torch(w, x, y);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
#endif

void check_small_mlp() {
  const Problem<double> p = make_small_mlp();
  auto w = tg_params(p);
  small_mlp_tapegrad(w, tg_input(p), tg::from_vector(p.target.values, p.target.shape));
  const SmallMlpGrads g = small_mlp_eigen(p);
  const Gradients e = {as_doubles_eigen(g.dw1), as_doubles_eigen(g.db1), as_doubles_eigen(g.dw2),
                       as_doubles_eigen(g.db2)};
  expect_same("small_mlp", "tapegrad", tg_grads(w), "eigen", e, 1e-10);
#ifdef TAPEGRAD_HAVE_TORCH
  auto wt = torch_params(p);
  small_mlp_torch(wt, torch_from(p.input, false), torch_from(p.target, false));
  expect_same("small_mlp", "torch", torch_grads<double>(wt), "eigen", e, 1e-10);
#endif
}

// =================================================================================
// 5. Attention block, float: x [B=8, S=64, D=128], 4 heads of d = 32.
//    q, k, v = x Wq^T, x Wk^T, x Wv^T split into heads; o_h = softmax(q_h k_h^T / sqrt(d)) v_h;
//    y = concat_h(o_h) Wo^T; loss = sum(y). Parameters Wq Wk Wv Wo [D, D].

constexpr std::int64_t kAttB = 8, kAttS = 64, kAttD = 128, kAttH = 4, kAttHd = kAttD / kAttH;

Problem<float> make_attention() {
  std::mt19937_64 rng(13);
  Problem<float> p;
  for (int i = 0; i < 4; ++i)
    p.params.push_back(random_array<float>({kAttD, kAttD}, 1.0 / std::sqrt(double(kAttD)), rng));
  p.input = random_array<float>({kAttB, kAttS, kAttD}, 1.0, rng);
  return p;
}

void attention_tapegrad(std::vector<tg::Tensor<float>>& w, const tg::Tensor<float>& x) {
  // [B, S, D] -> [B, H, S, d]
  auto heads = [](const tg::Tensor<float>& t) { return t.reshape({kAttB, kAttS, kAttH, kAttHd}).permute({0, 2, 1, 3}); };
  auto o = tg::scaled_dot_product_attention(heads(tg::linear(x, w[0])), heads(tg::linear(x, w[1])),
                                            heads(tg::linear(x, w[2])));
  auto merged = o.permute({0, 2, 1, 3}).reshape({kAttB, kAttS, kAttD});
  tg::linear(merged, w[3]).sum().backward();
}

struct AttentionGrads {
  Mat<float> dwq, dwk, dwv, dwo;
};

AttentionGrads attention_eigen(const Problem<float>& p) {
  using M = Mat<float>;
  const std::int64_t rows = kAttB * kAttS;
  const ConstMap<float> x(p.input.values.data(), rows, kAttD);
  const auto wq = p.params[0].matrix(), wk = p.params[1].matrix(), wv = p.params[2].matrix(),
             wo = p.params[3].matrix();
  const float scale = 1.0f / std::sqrt(static_cast<float>(kAttHd));
  M q, k, v;
  q.noalias() = x * wq.transpose();
  k.noalias() = x * wk.transpose();
  v.noalias() = x * wv.transpose();
  // Head h of sequence b is the block of rows b*S.. and columns h*d.. of q, k, v.
  auto block = [](auto& m, std::int64_t b, std::int64_t h) { return m.block(b * kAttS, h * kAttHd, kAttS, kAttHd); };
  std::vector<M> probs(static_cast<std::size_t>(kAttB * kAttH));  // kept for the backward pass
  M o(rows, kAttD);
  for (std::int64_t b = 0; b < kAttB; ++b)
    for (std::int64_t h = 0; h < kAttH; ++h) {
      M& pr = probs[static_cast<std::size_t>(b * kAttH + h)];
      pr.noalias() = block(q, b, h) * block(k, b, h).transpose();
      pr *= scale;
      for (Eigen::Index r = 0; r < pr.rows(); ++r) {
        auto row = pr.row(r);
        row.array() = (row.array() - row.maxCoeff()).exp();
        row /= row.sum();
      }
      block(o, b, h).noalias() = pr * block(v, b, h);
    }
  // Backward. d loss / d y = ones.
  AttentionGrads g;
  const M dy = M::Ones(rows, kAttD);
  g.dwo.noalias() = dy.transpose() * o;
  M d_o;
  d_o.noalias() = dy * wo;
  M dq(rows, kAttD), dk(rows, kAttD), dv(rows, kAttD), dp, ds;
  for (std::int64_t b = 0; b < kAttB; ++b)
    for (std::int64_t h = 0; h < kAttH; ++h) {
      const M& pr = probs[static_cast<std::size_t>(b * kAttH + h)];
      dp.noalias() = block(d_o, b, h) * block(v, b, h).transpose();  // d loss / d P
      block(dv, b, h).noalias() = pr.transpose() * block(d_o, b, h);
      // softmax backward per row: dS = P (dP - sum_j dP_j P_j), then the 1/sqrt(d) scale.
      const Eigen::Matrix<float, Eigen::Dynamic, 1> dot = (dp.array() * pr.array()).rowwise().sum();
      ds = (pr.array() * (dp.array().colwise() - dot.array())) * scale;
      block(dq, b, h).noalias() = ds * block(k, b, h);
      block(dk, b, h).noalias() = ds.transpose() * block(q, b, h);
    }
  g.dwq.noalias() = dq.transpose() * x;
  g.dwk.noalias() = dk.transpose() * x;
  g.dwv.noalias() = dv.transpose() * x;
  return g;
}

void bm_attention_tapegrad(benchmark::State& state) {
  const Problem<float> p = make_attention();
  auto w = tg_params(p);
  const auto x = tg_input(p);
  for (auto _ : state) {
    tg_release_grads(w);
    attention_tapegrad(w, x);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
void bm_attention_eigen(benchmark::State& state) {
  const Problem<float> p = make_attention();
  for (auto _ : state) {
    auto g = attention_eigen(p);
    benchmark::DoNotOptimize(g.dwq.data());
  }
}

#ifdef TAPEGRAD_HAVE_TORCH
void attention_torch(std::vector<torch::Tensor>& w, const torch::Tensor& x) {
  auto heads = [](const torch::Tensor& t) { return t.view({kAttB, kAttS, kAttH, kAttHd}).permute({0, 2, 1, 3}); };
  auto q = heads(torch::linear(x, w[0])), k = heads(torch::linear(x, w[1])), v = heads(torch::linear(x, w[2]));
  const double scale = 1.0 / std::sqrt(static_cast<double>(kAttHd));
  auto o = torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
  auto merged = o.permute({0, 2, 1, 3}).reshape({kAttB, kAttS, kAttD});
  torch::linear(merged, w[3]).sum().backward();
}
void bm_attention_torch(benchmark::State& state) {
  const Problem<float> p = make_attention();
  auto w = torch_params(p);
  const auto x = torch_from(p.input, false);
  for (auto _ : state) {
    torch_release_grads(w);
    attention_torch(w, x);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
#endif

void check_attention() {
  const Problem<float> p = make_attention();
  auto w = tg_params(p);
  attention_tapegrad(w, tg_input(p));
  const AttentionGrads g = attention_eigen(p);
  const Gradients e = {as_doubles_eigen(g.dwq), as_doubles_eigen(g.dwk), as_doubles_eigen(g.dwv),
                       as_doubles_eigen(g.dwo)};
  expect_same("attention", "tapegrad", tg_grads(w), "eigen", e, 1e-4);
#ifdef TAPEGRAD_HAVE_TORCH
  auto wt = torch_params(p);
  attention_torch(wt, torch_from(p.input, false));
  expect_same("attention", "torch", torch_grads<float>(wt), "eigen", e, 1e-4);
#endif
}

// =================================================================================
// 6. Conv net step, float: x [32, 1, 28, 28] -> conv3x3 16 ch -> relu -> conv3x3 32 ch
//    -> relu -> max pool 2x2 -> flatten [32, 4608] -> linear 10 -> cross-entropy.
//    No padding, stride 1. Parameters W1 [16, 1, 3, 3] b1 W2 [32, 16, 3, 3] b2 W3 [10, 4608] b3.
//    The hand version runs each convolution as im2col + one GEMM per image.

constexpr std::int64_t kConvN = 32, kConvIn = 28, kConvC1 = 16, kConvC2 = 32;
constexpr std::int64_t kConvH1 = kConvIn - 2, kConvH2 = kConvH1 - 2, kConvP = kConvH2 / 2;
constexpr std::int64_t kConvFeatures = kConvC2 * kConvP * kConvP;

Problem<float> make_conv() {
  std::mt19937_64 rng(17);
  Problem<float> p;
  p.params.push_back(random_array<float>({kConvC1, 1, 3, 3}, 1.0 / 3.0, rng));
  p.params.push_back(random_array<float>({kConvC1}, 0.1, rng));
  p.params.push_back(random_array<float>({kConvC2, kConvC1, 3, 3}, 1.0 / 12.0, rng));
  p.params.push_back(random_array<float>({kConvC2}, 0.1, rng));
  p.params.push_back(random_array<float>({10, kConvFeatures}, 1.0 / std::sqrt(double(kConvFeatures)), rng));
  p.params.push_back(random_array<float>({10}, 0.1, rng));
  p.input = random_array<float>({kConvN, 1, kConvIn, kConvIn}, 1.0, rng);
  p.classes = random_classes(kConvN, 10, rng);
  return p;
}

void conv_tapegrad(std::vector<tg::Tensor<float>>& w, const tg::Tensor<float>& x,
                   const tg::Tensor<std::int64_t>& classes) {
  auto h = tg::relu(tg::conv2d(x, w[0], w[1]));
  h = tg::max_pool2d(tg::relu(tg::conv2d(h, w[2], w[3])), 2);
  tg::cross_entropy(tg::linear(h.reshape({kConvN, kConvFeatures}), w[4], w[5]), classes).backward();
}

// One image [C, H, W] to its 3x3 column matrix [C*9, (H-2)*(W-2)]: row (c*3 + i)*3 + j
// holds channel c shifted by (i, j); each row is built from contiguous runs.
void im2col3x3(const float* in, std::int64_t channels, std::int64_t size, float* cols) {
  const std::int64_t out = size - 2;
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 3; ++j, cols += out * out)
        for (std::int64_t y = 0; y < out; ++y)
          std::copy_n(in + (c * size + y + i) * size + j, out, cols + y * out);
}
// Its adjoint: adds each column entry back to the pixel it came from.
void col2im3x3(const float* cols, std::int64_t channels, std::int64_t size, float* in) {
  const std::int64_t out = size - 2;
  for (std::int64_t c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 3; ++j, cols += out * out)
        for (std::int64_t y = 0; y < out; ++y) {
          float* dst = in + (c * size + y + i) * size + j;
          const float* src = cols + y * out;
          for (std::int64_t x = 0; x < out; ++x) dst[x] += src[x];
        }
}

struct ConvGrads {
  Mat<float> dw1, dw2, dw3;
  RowVec<float> db1, db2, db3;
};

ConvGrads conv_eigen(const Problem<float>& p) {
  using M = Mat<float>;
  const std::int64_t n_img = kConvN, l1 = kConvH1 * kConvH1, l2 = kConvH2 * kConvH2, k1 = 9, k2 = kConvC1 * 9;
  const auto w1 = p.params[0].matrix(), w2 = p.params[2].matrix(), w3 = p.params[4].matrix();  // [16, 9], [32, 144]
  const Eigen::Map<const Eigen::VectorXf> b1(p.params[1].values.data(), kConvC1), b2(p.params[3].values.data(), kConvC2);
  // Per-image buffers are rows of these matrices, viewed as [channels, positions].
  M cols1(n_img, k1 * l1), h1(n_img, kConvC1 * l1), cols2(n_img, k2 * l2), h2(n_img, kConvC2 * l2);
  M pooled(n_img, kConvFeatures);
  std::vector<std::int32_t> argmax(static_cast<std::size_t>(n_img * kConvFeatures));
  for (std::int64_t n = 0; n < n_img; ++n) {
    im2col3x3(p.input.values.data() + n * kConvIn * kConvIn, 1, kConvIn, cols1.row(n).data());
    MutMap<float> a1(h1.row(n).data(), kConvC1, l1);
    a1.noalias() = w1 * MutMap<float>(cols1.row(n).data(), k1, l1);
    a1.colwise() += b1;
    a1 = a1.cwiseMax(0.0f);
    im2col3x3(h1.row(n).data(), kConvC1, kConvH1, cols2.row(n).data());
    MutMap<float> a2(h2.row(n).data(), kConvC2, l2);
    a2.noalias() = w2 * MutMap<float>(cols2.row(n).data(), k2, l2);
    a2.colwise() += b2;
    a2 = a2.cwiseMax(0.0f);
    // 2x2 max pool; ties go to the first maximum in row-major window order.
    for (std::int64_t c = 0; c < kConvC2; ++c)
      for (std::int64_t y = 0; y < kConvP; ++y)
        for (std::int64_t x = 0; x < kConvP; ++x) {
          const float* plane = h2.row(n).data() + c * l2;
          std::int32_t best = static_cast<std::int32_t>(2 * y * kConvH2 + 2 * x);
          for (std::int32_t at : {best + 1, best + static_cast<std::int32_t>(kConvH2),
                                  best + static_cast<std::int32_t>(kConvH2) + 1})
            if (plane[at] > plane[best]) best = at;
          const std::int64_t o = c * kConvP * kConvP + y * kConvP + x;
          pooled(n, o) = plane[best];
          argmax[static_cast<std::size_t>(n * kConvFeatures + o)] = best;
        }
  }
  M dz;
  dz.noalias() = pooled * w3.transpose();
  dz.rowwise() += p.params[5].row_vector();
  softmax_cross_entropy_in_place(dz, p.classes);
  // Backward.
  ConvGrads g;
  g.dw3.noalias() = dz.transpose() * pooled;
  g.db3 = dz.colwise().sum();
  M dpooled;
  dpooled.noalias() = dz * w3;
  M dh2 = M::Zero(n_img, kConvC2 * l2), dh1 = M::Zero(n_img, kConvC1 * l1), dcols(k2, l2), dcols1(k1, l1);
  g.dw2 = M::Zero(kConvC2, k2);
  g.dw1 = M::Zero(kConvC1, k1);
  Eigen::VectorXf db2 = Eigen::VectorXf::Zero(kConvC2), db1 = Eigen::VectorXf::Zero(kConvC1);
  for (std::int64_t n = 0; n < n_img; ++n) {
    float* d2 = dh2.row(n).data();
    for (std::int64_t c = 0; c < kConvC2; ++c)
      for (std::int64_t o = 0; o < kConvP * kConvP; ++o) {
        const std::int64_t f = c * kConvP * kConvP + o;
        d2[c * l2 + argmax[static_cast<std::size_t>(n * kConvFeatures + f)]] += dpooled(n, f);
      }
    MutMap<float> da2(d2, kConvC2, l2);
    da2 = (MutMap<float>(h2.row(n).data(), kConvC2, l2).array() > 0.0f).select(da2, 0.0f);  // relu'
    g.dw2.noalias() += da2 * MutMap<float>(cols2.row(n).data(), k2, l2).transpose();
    db2 += da2.rowwise().sum();
    dcols.noalias() = w2.transpose() * da2;
    col2im3x3(dcols.data(), kConvC1, kConvH1, dh1.row(n).data());
    MutMap<float> da1(dh1.row(n).data(), kConvC1, l1);
    da1 = (MutMap<float>(h1.row(n).data(), kConvC1, l1).array() > 0.0f).select(da1, 0.0f);
    g.dw1.noalias() += da1 * MutMap<float>(cols1.row(n).data(), k1, l1).transpose();
    db1 += da1.rowwise().sum();
  }
  g.db2 = db2.transpose();
  g.db1 = db1.transpose();
  return g;
}

void bm_conv_tapegrad(benchmark::State& state) {
  const Problem<float> p = make_conv();
  auto w = tg_params(p);
  const auto x = tg_input(p);
  const auto classes = tg_classes(p);
  for (auto _ : state) {
    tg_release_grads(w);
    conv_tapegrad(w, x, classes);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
void bm_conv_eigen(benchmark::State& state) {
  const Problem<float> p = make_conv();
  for (auto _ : state) {
    auto g = conv_eigen(p);
    benchmark::DoNotOptimize(g.dw1.data());
  }
}

#ifdef TAPEGRAD_HAVE_TORCH
void conv_torch(std::vector<torch::Tensor>& w, const torch::Tensor& x, const torch::Tensor& classes) {
  auto h = torch::relu(torch::conv2d(x, w[0], w[1]));
  h = torch::max_pool2d(torch::relu(torch::conv2d(h, w[2], w[3])), 2);
  torch::nn::functional::cross_entropy(torch::linear(h.reshape({kConvN, kConvFeatures}), w[4], w[5]), classes)
      .backward();
}
void bm_conv_torch(benchmark::State& state) {
  const Problem<float> p = make_conv();
  auto w = torch_params(p);
  const auto x = torch_from(p.input, false);
  const auto classes = torch_classes(p);
  for (auto _ : state) {
    torch_release_grads(w);
    conv_torch(w, x, classes);
    benchmark::DoNotOptimize(w[0].grad().data_ptr());
  }
}
#endif

void check_conv() {
  const Problem<float> p = make_conv();
  auto w = tg_params(p);
  conv_tapegrad(w, tg_input(p), tg_classes(p));
  const ConvGrads g = conv_eigen(p);
  const Gradients e = {as_doubles_eigen(g.dw1), as_doubles_eigen(g.db1), as_doubles_eigen(g.dw2),
                       as_doubles_eigen(g.db2), as_doubles_eigen(g.dw3), as_doubles_eigen(g.db3)};
  expect_same("conv_step", "tapegrad", tg_grads(w), "eigen", e, 1e-4);
#ifdef TAPEGRAD_HAVE_TORCH
  auto wt = torch_params(p);
  conv_torch(wt, torch_from(p.input, false), torch_classes(p));
  expect_same("conv_step", "torch", torch_grads<float>(wt), "eigen", e, 1e-4);
#endif
}

// =================================================================================

template <typename Fn>
benchmark::internal::Benchmark* add(const std::string& name, Fn fn, benchmark::TimeUnit unit) {
  return benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(unit);
}

void register_all() {
  using benchmark::kMicrosecond;
  using benchmark::kMillisecond;
  add("per_op/tapegrad", bm_per_op_tapegrad, kMicrosecond);
  add("per_op/eigen", bm_per_op_eigen, kMicrosecond);
#ifdef TAPEGRAD_HAVE_TORCH
  add("per_op/torch", bm_per_op_torch, kMicrosecond);
#endif
  for (std::int64_t batch : {16, 64, 256}) {
    const std::string name = "mlp_step/b" + std::to_string(batch);
    // The batch is captured rather than passed as ->Arg, which would append "/16" to the name.
    add(name + "/tapegrad", [batch](benchmark::State& s) { bm_mlp_tapegrad(s, batch); }, kMicrosecond);
    add(name + "/eigen", [batch](benchmark::State& s) { bm_mlp_eigen(s, batch); }, kMicrosecond);
#ifdef TAPEGRAD_HAVE_TORCH
    add(name + "/torch", [batch](benchmark::State& s) { bm_mlp_torch(s, batch); }, kMicrosecond);
#endif
  }
  add("matmul_chain/tapegrad", bm_matmul_chain_tapegrad, kMillisecond);
  add("matmul_chain/eigen", bm_matmul_chain_eigen, kMillisecond);
#ifdef TAPEGRAD_HAVE_TORCH
  add("matmul_chain/torch", bm_matmul_chain_torch, kMillisecond);
#endif
  add("small_mlp/tapegrad", bm_small_mlp_tapegrad, kMicrosecond);
  add("small_mlp/eigen", bm_small_mlp_eigen, kMicrosecond);
#ifdef TAPEGRAD_HAVE_TORCH
  add("small_mlp/torch", bm_small_mlp_torch, kMicrosecond);
#endif
  add("attention/tapegrad", bm_attention_tapegrad, kMillisecond);
  add("attention/eigen", bm_attention_eigen, kMillisecond);
#ifdef TAPEGRAD_HAVE_TORCH
  add("attention/torch", bm_attention_torch, kMillisecond);
#endif
  add("conv_step/tapegrad", bm_conv_tapegrad, kMillisecond);
  add("conv_step/eigen", bm_conv_eigen, kMillisecond);
#ifdef TAPEGRAD_HAVE_TORCH
  add("conv_step/torch", bm_conv_torch, kMillisecond);
#endif
  add("mlp_memory/b64/tapegrad", bm_mlp_memory_tapegrad, kMicrosecond);
  add("mlp_memory/b64/eigen", bm_mlp_memory_eigen, kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
#ifdef TAPEGRAD_HAVE_TORCH
  torch::set_num_threads(1);
#else
  std::printf("note: CMake did not find Torch, so the */torch variants are skipped\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Every version's gradients against the others, once, before any timing.
  check_per_op();
  for (std::int64_t batch : {16, 64, 256}) check_mlp(batch);
  check_matmul_chain();
  check_small_mlp();
  check_attention();
  check_conv();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
