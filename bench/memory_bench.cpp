// Activation checkpointing on a 64-layer MLP (gelu(h W + b) per layer): peak memory
// of one forward + backward by the library's allocation counter, without and with
// tg::checkpoint over segments of 8 layers, and the time of each.
//
// Counters: peak_bytes (bytes allocated above the state before the step: activations,
// gradients, and the parameters' .grad), and on the checkpointed runs
// peak_ratio = plain peak / checkpointed peak. Arguments: width, batch. Checkpointing
// shrinks what grows with batch x layers (activations) but not the parameters'
// gradients (width^2 x layers), so the ratio is largest when the batch is wide
// compared to the layers.
//
// The large-buffer cache (core/buffer_cache.hpp): the Fashion-MNIST MLP 784-256-128-10
// in float, a forward pass at batch 4,000 (evaluation, no graph) and a training step at
// batch 1,024 (forward and backward), each with the cache (`/cached`) and with it turned
// off by set_buffer_cache_limit(0) (`/uncached`: every buffer from malloc, as before the
// cache). Counter page_faults: minor page faults per iteration (getrusage).
#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tg = tapegrad;
using Tensor = tg::Tensor<double>;

namespace {
constexpr int kLayers = 64, kSegment = 8;

struct Mlp {
  std::vector<Tensor> weights, biases;
  Tensor x;
};

Mlp make_mlp(std::int64_t width, std::int64_t batch) {
  tg::Generator gen(5);
  Mlp m;
  const double scale = 1.5 / std::sqrt(static_cast<double>(width));
  for (int l = 0; l < kLayers; ++l) {
    m.weights.push_back((tg::randn<double>({width, width}, gen) * scale).requires_grad_());
    m.biases.push_back((tg::randn<double>({width}, gen) * 0.1).requires_grad_());
  }
  m.x = tg::randn<double>({batch, width}, gen);
  return m;
}

Tensor run_layers(Tensor h, const Mlp& m, int from, int to) {
  for (int l = from; l < to; ++l) h = tg::gelu(tg::matmul(h, m.weights[l]) + m.biases[l]);
  return h;
}

// One training step's forward + backward; returns its peak bytes above the start.
std::int64_t step(const Mlp& m, bool checkpointed) {
  for (Tensor p : m.weights) p.zero_grad(/*set_to_none=*/true);
  for (Tensor p : m.biases) p.zero_grad(/*set_to_none=*/true);
  const std::int64_t baseline = tg::memory_stats().current_bytes;
  tg::reset_peak_memory();
  Tensor h = m.x;
  if (checkpointed) {
    for (int from = 0; from < kLayers; from += kSegment)
      h = tg::checkpoint([&m, from](const Tensor& in) { return run_layers(in, m, from, from + kSegment); }, h);
  } else {
    h = run_layers(h, m, 0, kLayers);
  }
  h.square().mean().backward();
  return tg::memory_stats().peak_bytes - baseline;
}

void run(benchmark::State& state, bool checkpointed) {
  const Mlp m = make_mlp(state.range(0), state.range(1));
  std::int64_t peak = 0;
  for (auto _ : state) {
    peak = step(m, checkpointed);
    benchmark::DoNotOptimize(m.weights[0].grad().data_ptr());
  }
  state.counters["peak_bytes"] = static_cast<double>(peak);
  if (checkpointed) state.counters["peak_ratio"] = static_cast<double>(step(m, false)) / static_cast<double>(peak);
}

void BM_mlp64_plain(benchmark::State& state) { run(state, false); }
void BM_mlp64_checkpointed(benchmark::State& state) { run(state, true); }

std::int64_t minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

struct FashionMlp {
  std::vector<tg::Tensor<float>> weights, biases;
};

FashionMlp make_fashion_mlp() {
  tg::Generator gen(7);
  FashionMlp m;
  const std::int64_t sizes[] = {784, 256, 128, 10};
  for (int l = 0; l < 3; ++l) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(sizes[l]));
    m.weights.push_back((tg::randn<float>({sizes[l], sizes[l + 1]}, gen) * scale).requires_grad_());
    m.biases.push_back(tg::zeros<float>({sizes[l + 1]}, tg::requires_grad()));
  }
  return m;
}

tg::Tensor<float> fashion_logits(const FashionMlp& m, tg::Tensor<float> h) {
  for (int l = 0; l < 3; ++l) {
    h = tg::matmul(h, m.weights[l]) + m.biases[l];
    if (l < 2) h = tg::relu(h);
  }
  return h;
}

// The cache on or off for one benchmark, then back to what it was.
void run_fashion(benchmark::State& state, bool cached, bool train) {
  const std::size_t saved_limit = tg::buffer_cache_limit();
  if (!cached) tg::set_buffer_cache_limit(0);
  tg::empty_cache();
  const FashionMlp m = make_fashion_mlp();
  tg::Generator gen(8);
  const auto x = tg::rand<float>({state.range(0), 784}, gen);
  auto once = [&] {
    if (train) {
      for (auto p : m.weights) p.zero_grad(/*set_to_none=*/true);
      for (auto p : m.biases) p.zero_grad(/*set_to_none=*/true);
      fashion_logits(m, x).square().mean().backward();
      benchmark::DoNotOptimize(m.weights[0].grad().data_ptr());
    } else {
      tg::NoGradGuard no_grad;
      auto logits = fashion_logits(m, x);
      benchmark::DoNotOptimize(logits.data_ptr());
    }
  };
  once();  // warm: the cache's first fill is not what a training loop sees
  const std::int64_t faults_before = minor_page_faults();
  for (auto _ : state) once();
  state.counters["page_faults"] =
      benchmark::Counter(static_cast<double>(minor_page_faults() - faults_before), benchmark::Counter::kAvgIterations);
  tg::set_buffer_cache_limit(saved_limit);
  tg::empty_cache();
}

void BM_fashion_forward_cached(benchmark::State& state) { run_fashion(state, true, false); }
void BM_fashion_forward_uncached(benchmark::State& state) { run_fashion(state, false, false); }
void BM_fashion_train_step_cached(benchmark::State& state) { run_fashion(state, true, true); }
void BM_fashion_train_step_uncached(benchmark::State& state) { run_fashion(state, false, true); }

#define MLP_ARGS ArgNames({"width", "batch"})->Args({32, 256})->Args({64, 64})->Unit(benchmark::kMillisecond)
BENCHMARK(BM_mlp64_plain)->MLP_ARGS;
BENCHMARK(BM_mlp64_checkpointed)->MLP_ARGS;
BENCHMARK(BM_fashion_forward_cached)->ArgName("batch")->Arg(4000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fashion_forward_uncached)->ArgName("batch")->Arg(4000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fashion_train_step_cached)->ArgName("batch")->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fashion_train_step_uncached)->ArgName("batch")->Arg(1024)->Unit(benchmark::kMillisecond);
}  // namespace

BENCHMARK_MAIN();
