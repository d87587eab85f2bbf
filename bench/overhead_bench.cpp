// Per-op overhead: a chain of 200 element-wise ops (alternating x*c and x+c) on a
// 4x4 double tensor, forward + backward, against the same gradient written by hand
// in Eigen (the floor). Report ratios from one run, never absolute times alone.
#include <benchmark/benchmark.h>

#include <tapegrad/core.hpp>

namespace tg = tapegrad;

namespace {
constexpr int kOps = 200;
constexpr double kMul = 1.0001, kAdd = 0.001;

void BM_chain_tapegrad(benchmark::State& state) {
  auto x = tg::ones<double>({4, 4}, tg::requires_grad());
  for (auto _ : state) {
    auto y = x;
    for (int i = 0; i < kOps; ++i) y = (i % 2 == 0) ? y * kMul : y + kAdd;
    y.sum().backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.zero_grad(true);
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kOps, benchmark::Counter::kIsRate |
                                                                            benchmark::Counter::kInvert);
}
BENCHMARK(BM_chain_tapegrad);

// The floor: the forward values kept per step (as a tape would) and the adjoint by hand.
void BM_chain_hand_eigen(benchmark::State& state) {
  Eigen::Array44d x = Eigen::Array44d::Ones();
  for (auto _ : state) {
    Eigen::Array44d y = x;
    for (int i = 0; i < kOps; ++i) y = (i % 2 == 0) ? (y * kMul).eval() : (y + kAdd).eval();
    Eigen::Array44d g = Eigen::Array44d::Ones();
    for (int i = kOps; i-- > 0;)
      if (i % 2 == 0) g *= kMul;
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(g.data());
  }
  state.counters["ns_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kOps, benchmark::Counter::kIsRate |
                                                                            benchmark::Counter::kInvert);
}
BENCHMARK(BM_chain_hand_eigen);
}  // namespace

BENCHMARK_MAIN();
