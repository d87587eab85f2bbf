// The training toolkit (tg::optim, tg::nn) against libtorch, float, one thread each:
//   <workload>/tapegrad   the library,
//   <workload>/torch      libtorch (only when CMake found Torch: TAPEGRAD_HAVE_TORCH;
//                         without it the */torch variants are not registered),
// named like bench/throughput_bench.cpp's so that scripts/plot_benchmarks.py pairs them.
//
//   adam_step/1M, adamw_step/1M, sgd_momentum_step/1M
//       opt.step() alone over 1,011,010 parameters (a 1000x1000 weight and its bias, a
//       10x1000 head and its bias), gradients filled once before the loop; the same
//       values and options on both sides.
//   mlp_train_step/b128
//       one full step of a 784-512-256-10 ReLU MLP (tg::nn::Sequential of Linear/ReLU;
//       torch::nn::Sequential with tapegrad's initial weights copied in), batch 128:
//       zero_grad (gradients released, set_to_none, on both sides), forward,
//       cross-entropy, backward, clip_grad_norm_(params, 1.0), Adam step.
//
// Before timing, each workload runs a few steps on both sides from the same state and
// compares (parameters after the optimizer steps, losses of the MLP steps); a mismatch
// skips the benchmark with the reason (state.SkipWithError): a fast different
// computation is worth nothing. The checks run once per process and are cached.
//
// Counters, per timed step, after one warm-up step (the first step creates the
// optimizer's state):
//   allocs_per_step        every heap allocation: this file replaces malloc, calloc,
//                          realloc, posix_memalign, aligned_alloc and memalign (glibc
//                          supports replacing them) and the global operator new/delete,
//                          so it counts libtorch's tensor buffers (c10 uses
//                          posix_memalign), Eigen's scratch buffers (malloc) and every
//                          C++ object alike. A block tapegrad's pool hands back from its
//                          free list is not a heap allocation and is not counted.
//   alloc_bytes_per_step   the bytes of those allocations
//   new_per_step           the subset made through operator new
//   tensor_buffers_per_step  (tapegrad) tensor buffers by tg::memory_stats(), pooled or not
//   threads                the thread count of the side measured: Eigen::nbThreads()
//                          (1: no OpenMP) for tapegrad, torch::get_num_threads() for
//                          libtorch, which main() pins with torch::set_num_threads(1)
//                          as throughput_bench.cpp does (scripts/run_benchmarks.sh also
//                          sets OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1).
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <tapegrad/nn.hpp>
#include <tapegrad/optim.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#ifdef TAPEGRAD_HAVE_TORCH
#include <torch/torch.h>
#endif

// =================================================================================
// Counting heap allocations: the malloc family and the global operator new/delete.
// Defining malloc and friends in the executable replaces glibc's for the whole
// process, libtorch's shared libraries included; they forward to glibc's
// implementation (__libc_malloc, ...). Relaxed atomic counters: the benchmarks run on
// one thread, and a count that misses a concurrent allocation on another would only
// be a statistic off by one.

// Only with glibc (the __libc_* entry points), and not under AddressSanitizer, which
// replaces malloc itself: otherwise nothing is replaced and the heap counters are left
// out.
#if !defined(__GLIBC__) || TAPEGRAD_ASAN
#define TRAIN_BENCH_COUNT_HEAP 0
#else
#define TRAIN_BENCH_COUNT_HEAP 1
#endif

namespace heap_count {
std::atomic<std::uint64_t> allocations{0};  // malloc family, which operator new goes through
std::atomic<std::uint64_t> bytes{0};
std::atomic<std::uint64_t> news{0};  // operator new alone

inline void count(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  bytes.fetch_add(n, std::memory_order_relaxed);
}

struct Snapshot {
  std::uint64_t allocations, bytes, news;
  static Snapshot now() {
    return {heap_count::allocations.load(std::memory_order_relaxed), heap_count::bytes.load(std::memory_order_relaxed),
            heap_count::news.load(std::memory_order_relaxed)};
  }
};
}  // namespace heap_count

#if TRAIN_BENCH_COUNT_HEAP

extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void __libc_free(void*) noexcept;

void* malloc(std::size_t n) noexcept {
  heap_count::count(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  heap_count::count(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  heap_count::count(n);  // a resize counts as an allocation (it may move)
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t alignment, std::size_t n) noexcept {
  heap_count::count(n);
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  heap_count::count(n);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  heap_count::count(n);
  void* p = __libc_memalign(alignment, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}  // extern "C"

namespace heap_count {
inline void* new_or_null(std::size_t n) noexcept {
  news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
inline void* new_aligned_or_null(std::size_t n, std::align_val_t a) noexcept {
  news.fetch_add(1, std::memory_order_relaxed);
  return aligned_alloc(static_cast<std::size_t>(a), n ? n : 1);
}
inline void* new_or_throw(std::size_t n) {
  if (void* p = new_or_null(n)) return p;
  throw std::bad_alloc();
}
inline void* new_aligned_or_throw(std::size_t n, std::align_val_t a) {
  if (void* p = new_aligned_or_null(n, a)) return p;
  throw std::bad_alloc();
}
}  // namespace heap_count

void* operator new(std::size_t n) { return heap_count::new_or_throw(n); }
void* operator new[](std::size_t n) { return heap_count::new_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return heap_count::new_or_null(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return heap_count::new_or_null(n); }
void* operator new(std::size_t n, std::align_val_t a) { return heap_count::new_aligned_or_throw(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return heap_count::new_aligned_or_throw(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return heap_count::new_aligned_or_null(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return heap_count::new_aligned_or_null(n, a);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#endif  // TRAIN_BENCH_COUNT_HEAP

namespace tg = tapegrad;

namespace {

// Allocations made by the timed loop, per iteration, as counters.
class AllocationMeter {
 public:
  AllocationMeter() : heap_(heap_count::Snapshot::now()), buffers_(tg::memory_stats().allocations) {}
  void report(benchmark::State& state, bool tapegrad_side) const {
    const heap_count::Snapshot end = heap_count::Snapshot::now();
    const double steps = static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
    if (tapegrad_side)
      state.counters["tensor_buffers_per_step"] =
          static_cast<double>(tg::memory_stats().allocations - buffers_) / steps;
    if (!TRAIN_BENCH_COUNT_HEAP) return;
    state.counters["allocs_per_step"] = static_cast<double>(end.allocations - heap_.allocations) / steps;
    state.counters["alloc_bytes_per_step"] = static_cast<double>(end.bytes - heap_.bytes) / steps;
    state.counters["new_per_step"] = static_cast<double>(end.news - heap_.news) / steps;
  }

 private:
  heap_count::Snapshot heap_;
  std::int64_t buffers_;
};

void report_threads(benchmark::State& state, bool tapegrad_side) {
#ifdef TAPEGRAD_HAVE_TORCH
  state.counters["threads"] = tapegrad_side ? Eigen::nbThreads() : torch::get_num_threads();
#else
  (void)tapegrad_side;
  state.counters["threads"] = Eigen::nbThreads();
#endif
}

// ---------------------------------------------------------------------------------
// Shared data: both sides start from the same numbers.

struct Array {
  tg::Shape shape;
  std::vector<float> values;
};

std::int64_t count(const tg::Shape& shape) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  return n;
}

Array random_array(tg::Shape shape, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, scale);
  Array a{shape, std::vector<float>(static_cast<std::size_t>(count(shape)))};
  for (float& v : a.values) v = static_cast<float>(normal(rng));
  return a;
}

#ifdef TAPEGRAD_HAVE_TORCH
torch::Tensor torch_from(const std::vector<float>& values, const tg::Shape& shape) {
  std::vector<int64_t> sizes(shape.begin(), shape.end());
  return torch::from_blob(const_cast<float*>(values.data()), sizes, torch::kFloat32).clone();
}
std::vector<float> torch_values(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous();
  const float* d = c.data_ptr<float>();
  return std::vector<float>(d, d + c.numel());
}
#endif

// =================================================================================
// 1. Optimizer steps over 1,011,010 parameters.

enum class Opt { adam, adamw, sgd_momentum };
constexpr int kOptKinds = 3;

// The options, the same on both sides (PyTorch's defaults but for weight decay,
// non-zero so that its code path is measured too).
constexpr double kAdamLr = 1e-3, kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
constexpr double kAdamWeightDecay = 1e-4, kAdamWWeightDecay = 1e-2;
constexpr double kSgdLr = 1e-2, kSgdMomentum = 0.9, kSgdWeightDecay = 1e-4;

// Parameters and their (fixed) gradients.
struct OptProblem {
  std::vector<Array> params, grads;
};

OptProblem make_opt_problem() {
  std::mt19937_64 rng(2025);
  OptProblem p;
  for (const tg::Shape& shape : {tg::Shape{1000, 1000}, tg::Shape{1000}, tg::Shape{10, 1000}, tg::Shape{10}}) {
    p.params.push_back(random_array(shape, 0.05, rng));
    p.grads.push_back(random_array(shape, 1e-2, rng));
  }
  return p;
}

std::int64_t total_params(const OptProblem& p) {
  std::int64_t n = 0;
  for (const Array& a : p.params) n += count(a.shape);
  return n;
}

std::vector<tg::Tensor<float>> tg_opt_params(const OptProblem& p) {
  std::vector<tg::Tensor<float>> out;
  for (std::size_t i = 0; i < p.params.size(); ++i) {
    auto t = tg::from_vector(p.params[i].values, p.params[i].shape, tg::requires_grad());
    t.set_grad(tg::from_vector(p.grads[i].values, p.grads[i].shape));
    out.push_back(t);
  }
  return out;
}

std::unique_ptr<tg::optim::Optimizer<float>> tg_optimizer(Opt kind, const std::vector<tg::Tensor<float>>& params) {
  namespace o = tg::optim;
  switch (kind) {
    case Opt::adam:
      return std::make_unique<o::Adam<float>>(
          params, o::AdamOptions(kAdamLr).betas({kBeta1, kBeta2}).eps(kEps).weight_decay(kAdamWeightDecay));
    case Opt::adamw:
      return std::make_unique<o::AdamW<float>>(
          params, o::AdamWOptions(kAdamLr).betas({kBeta1, kBeta2}).eps(kEps).weight_decay(kAdamWWeightDecay));
    case Opt::sgd_momentum:
      return std::make_unique<o::SGD<float>>(
          params, o::SGDOptions(kSgdLr).momentum(kSgdMomentum).weight_decay(kSgdWeightDecay));
  }
  return nullptr;
}

#ifdef TAPEGRAD_HAVE_TORCH
std::vector<torch::Tensor> torch_opt_params(const OptProblem& p) {
  std::vector<torch::Tensor> out;
  for (std::size_t i = 0; i < p.params.size(); ++i) {
    auto t = torch_from(p.params[i].values, p.params[i].shape).requires_grad_(true);
    t.mutable_grad() = torch_from(p.grads[i].values, p.grads[i].shape);
    out.push_back(t);
  }
  return out;
}

std::unique_ptr<torch::optim::Optimizer> torch_optimizer(Opt kind, const std::vector<torch::Tensor>& params) {
  namespace o = torch::optim;
  switch (kind) {
    case Opt::adam:
      return std::make_unique<o::Adam>(params, o::AdamOptions(kAdamLr)
                                                   .betas(std::make_tuple(kBeta1, kBeta2))
                                                   .eps(kEps)
                                                   .weight_decay(kAdamWeightDecay));
    case Opt::adamw:
      return std::make_unique<o::AdamW>(params, o::AdamWOptions(kAdamLr)
                                                    .betas(std::make_tuple(kBeta1, kBeta2))
                                                    .eps(kEps)
                                                    .weight_decay(kAdamWWeightDecay));
    case Opt::sgd_momentum:
      return std::make_unique<o::SGD>(
          params, o::SGDOptions(kSgdLr).momentum(kSgdMomentum).weight_decay(kSgdWeightDecay));
  }
  return nullptr;
}

// Both sides take kCheckSteps steps from the same state; the parameters must agree to
// 1e-4 of the largest change any parameter made (float rounding differs between the
// two; a wrong bias correction, decay or momentum differs by far more). "" if they do.
std::string compare_optimizers(Opt kind) {
  constexpr int kCheckSteps = 3;
  const OptProblem p = make_opt_problem();
  auto a = tg_opt_params(p);
  auto b = torch_opt_params(p);
  auto opt_a = tg_optimizer(kind, a);
  auto opt_b = torch_optimizer(kind, b);
  for (int s = 0; s < kCheckSteps; ++s) {
    opt_a->step();
    opt_b->step();
  }
  double largest_change = 0, worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<float> va = a[i].to_vector(), vb = torch_values(b[i]);
    for (std::size_t k = 0; k < va.size(); ++k) {
      largest_change = std::max(largest_change, std::abs(double(vb[k]) - double(p.params[i].values[k])));
      const double diff = std::abs(double(va[k]) - double(vb[k]));
      if (!(diff <= worst)) worst = diff;  // also catches nan
    }
  }
  if (!(largest_change > 0) || !(worst <= 1e-4 * largest_change)) {
    char msg[200];
    std::snprintf(msg, sizeof msg,
                  "tapegrad and libtorch disagree after %d steps: largest difference %.3g, largest update %.3g",
                  kCheckSteps, worst, largest_change);
    return msg;
  }
  return "";
}
#endif

// The check's verdict, computed once per optimizer.
const std::string& optimizer_check(Opt kind) {
  static std::string verdicts[kOptKinds];
  static bool done[kOptKinds] = {};
  const auto k = static_cast<int>(kind);
  if (!done[k]) {
#ifdef TAPEGRAD_HAVE_TORCH
    verdicts[k] = compare_optimizers(kind);
#endif
    done[k] = true;
  }
  return verdicts[k];
}

void set_opt_counters(benchmark::State& state, std::int64_t n) {
  state.counters["params"] = static_cast<double>(n);
  // Parameter updates per second.
  state.counters["params_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n), benchmark::Counter::kIsRate);
}

void bm_opt_tapegrad(benchmark::State& state, Opt kind) {
  if (const std::string& error = optimizer_check(kind); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const OptProblem p = make_opt_problem();
  auto params = tg_opt_params(p);
  auto opt = tg_optimizer(kind, params);
  opt->step();  // warm-up: creates the state
  const AllocationMeter meter;
  for (auto _ : state) {
    opt->step();
    benchmark::ClobberMemory();
  }
  meter.report(state, true);
  report_threads(state, true);
  set_opt_counters(state, total_params(p));
}

#ifdef TAPEGRAD_HAVE_TORCH
void bm_opt_torch(benchmark::State& state, Opt kind) {
  if (const std::string& error = optimizer_check(kind); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const OptProblem p = make_opt_problem();
  auto params = torch_opt_params(p);
  auto opt = torch_optimizer(kind, params);
  opt->step();
  const AllocationMeter meter;
  for (auto _ : state) {
    opt->step();
    benchmark::ClobberMemory();
  }
  meter.report(state, false);
  report_threads(state, false);
  set_opt_counters(state, total_params(p));
}
#endif

// =================================================================================
// 2. A full training step of a 784-512-256-10 ReLU MLP, batch 128.

constexpr std::int64_t kBatch = 128, kIn = 784, kHidden1 = 512, kHidden2 = 256, kClasses = 10;
constexpr double kClipNorm = 1.0;
constexpr std::uint64_t kMlpSeed = 7;

struct MlpData {
  Array input;
  std::vector<std::int64_t> classes;
};

MlpData make_mlp_data() {
  std::mt19937_64 rng(99);
  MlpData d;
  d.input = random_array({kBatch, kIn}, 1.0, rng);
  std::uniform_int_distribution<std::int64_t> pick(0, kClasses - 1);
  d.classes.resize(static_cast<std::size_t>(kBatch));
  for (auto& c : d.classes) c = pick(rng);
  return d;
}

// The model with PyTorch's default initialization from a fixed seed (the same values
// on every call), its Adam optimizer and data.
struct TgMlp {
  std::shared_ptr<tg::nn::Sequential<float>> net;
  std::vector<tg::Tensor<float>> params;
  std::unique_ptr<tg::optim::Adam<float>> opt;
  tg::Tensor<float> x;
  tg::Tensor<std::int64_t> y;

  TgMlp() {
    tg::manual_seed(kMlpSeed);
    using L = tg::nn::Linear<float>;
    using R = tg::nn::ReLU<float>;
    net = std::make_shared<tg::nn::Sequential<float>>(std::make_shared<L>(kIn, kHidden1), std::make_shared<R>(),
                                                      std::make_shared<L>(kHidden1, kHidden2), std::make_shared<R>(),
                                                      std::make_shared<L>(kHidden2, kClasses));
    params = net->parameters();
    opt = std::make_unique<tg::optim::Adam<float>>(
        params, tg::optim::AdamOptions(kAdamLr).betas({kBeta1, kBeta2}).eps(kEps).weight_decay(kAdamWeightDecay));
    const MlpData d = make_mlp_data();
    x = tg::from_vector(d.input.values, d.input.shape);
    y = tg::from_vector(d.classes, tg::Shape{kBatch});
  }
  // One training step; returns the loss (before the update).
  float step() {
    opt->zero_grad();  // set_to_none
    tg::Tensor<float> loss = tg::cross_entropy((*net)(x), y);
    loss.backward();
    tg::nn::utils::clip_grad_norm_(params, kClipNorm);
    opt->step();
    return loss.item();
  }
};

#ifdef TAPEGRAD_HAVE_TORCH
// The same model in libtorch, with tapegrad's initial weights copied in (torch's
// nn::Linear holds weight [out, in] and bias [out], as tapegrad's, and lists them in
// the same order).
struct TorchMlp {
  torch::nn::Sequential net;
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::Adam> opt;
  torch::Tensor x, y;

  TorchMlp() {
    namespace nn = torch::nn;
    net = nn::Sequential(nn::Linear(kIn, kHidden1), nn::ReLU(), nn::Linear(kHidden1, kHidden2), nn::ReLU(),
                         nn::Linear(kHidden2, kClasses));
    params = net->parameters();
    const TgMlp source;
    if (source.params.size() != params.size()) std::abort();  // both list weight, bias per Linear
    {
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& s = source.params[i];
        const std::vector<int64_t> sizes(s.shape().begin(), s.shape().end());
        if (params[i].sizes() != c10::IntArrayRef(sizes)) std::abort();
        params[i].copy_(torch_from(s.to_vector(), s.shape()));
      }
    }
    opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(kAdamLr)
                                                           .betas(std::make_tuple(kBeta1, kBeta2))
                                                           .eps(kEps)
                                                           .weight_decay(kAdamWeightDecay));
    const MlpData d = make_mlp_data();
    x = torch_from(d.input.values, d.input.shape);
    y = torch::from_blob(const_cast<std::int64_t*>(d.classes.data()), {kBatch}, torch::kInt64).clone();
  }
  float step() {
    for (auto& p : params) p.mutable_grad().reset();  // set_to_none, as tapegrad's zero_grad()
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(params, kClipNorm);
    opt->step();
    return loss.item<float>();
  }
};

// Three steps on both sides from the same weights: the losses must agree to 1e-4
// relative (the first checks forward and loss, the next two also backward, clipping
// and the Adam update). "" if they do.
std::string compare_mlps() {
  TgMlp a;
  TorchMlp b;
  std::string out;
  for (int s = 0; s < 3; ++s) {
    const double la = a.step(), lb = b.step();
    std::fprintf(stderr, "mlp_train_step check, step %d: loss tapegrad %.8f, libtorch %.8f\n", s + 1, la, lb);
    if (!(std::abs(la - lb) <= 1e-4 * std::abs(lb)) && out.empty()) {
      char msg[200];
      std::snprintf(msg, sizeof msg, "the losses of step %d disagree: tapegrad %.8g, libtorch %.8g", s + 1, la, lb);
      out = msg;
    }
  }
  return out;
}
#endif

const std::string& mlp_check() {
#ifdef TAPEGRAD_HAVE_TORCH
  static const std::string verdict = compare_mlps();
#else
  static const std::string verdict;
#endif
  return verdict;
}

template <typename Model>
void bm_mlp(benchmark::State& state, bool tapegrad_side) {
  if (const std::string& error = mlp_check(); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  Model m;
  m.step();  // warm-up: the optimizer's state
  const AllocationMeter meter;
  for (auto _ : state) {
    const float loss = m.step();  // item(): waits for the whole step
    benchmark::DoNotOptimize(loss);
  }
  meter.report(state, tapegrad_side);
  report_threads(state, tapegrad_side);
}

// =================================================================================

template <typename Fn>
void add(const std::string& name, Fn fn) {
  benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMicrosecond);
}

void register_all() {
  const std::pair<const char*, Opt> optimizers[] = {
      {"adam_step/1M", Opt::adam}, {"adamw_step/1M", Opt::adamw}, {"sgd_momentum_step/1M", Opt::sgd_momentum}};
  for (const auto& [name, kind] : optimizers) {
    const Opt k = kind;
    add(std::string(name) + "/tapegrad", [k](benchmark::State& s) { bm_opt_tapegrad(s, k); });
#ifdef TAPEGRAD_HAVE_TORCH
    add(std::string(name) + "/torch", [k](benchmark::State& s) { bm_opt_torch(s, k); });
#endif
  }
  add("mlp_train_step/b128/tapegrad", [](benchmark::State& s) { bm_mlp<TgMlp>(s, true); });
#ifdef TAPEGRAD_HAVE_TORCH
  add("mlp_train_step/b128/torch", [](benchmark::State& s) { bm_mlp<TorchMlp>(s, false); });
#endif
}

}  // namespace

int main(int argc, char** argv) {
#ifdef TAPEGRAD_HAVE_TORCH
  torch::set_num_threads(1);
#else
  std::printf("note: CMake did not find Torch, so the */torch variants and the cross-checks are skipped\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
