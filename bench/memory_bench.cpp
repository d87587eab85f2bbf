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

#define MLP_ARGS ArgNames({"width", "batch"})->Args({32, 256})->Args({64, 64})->Unit(benchmark::kMillisecond)
BENCHMARK(BM_mlp64_plain)->MLP_ARGS;
BENCHMARK(BM_mlp64_checkpointed)->MLP_ARGS;
}  // namespace

BENCHMARK_MAIN();
