#pragma once
// Shared by the optimizer tests: a fixed gradient sequence, and the comparison of an
// optimizer's trajectory with a reference implementation of PyTorch's documented
// algorithm written as plain double loops in each test.

#include "../test_util.hpp"

#include <tapegrad/optim.hpp>

#include <cmath>
#include <functional>
#include <memory>

constexpr int kSize = 7;    // elements of the parameter
constexpr int kSteps = 8;   // steps compared

inline double initial_value(int i) { return std::cos(1.0 + i) * 1.5; }
// g_t[i]: signs and magnitudes that vary over steps and elements (and one exact zero).
inline double gradient_at(int t, int i) { return i == 3 && t == 2 ? 0.0 : std::sin(0.7 * t + i) * (1 + 0.3 * i); }

// ref(p, g, t) applies step t (1-based) of the reference in place; it keeps its own state.
using Reference = std::function<void(std::vector<double>& p, const std::vector<double>& g, int t)>;

template <typename T>
using MakeOptimizer = std::function<std::unique_ptr<tg::optim::Optimizer<T>>(const std::vector<tg::Tensor<T>>&)>;

template <typename T>
void check_trajectory(const MakeOptimizer<T>& make, Reference ref, double tol) {
  std::vector<double> p_ref(kSize);
  std::vector<T> start(kSize);
  for (int i = 0; i < kSize; ++i) {
    p_ref[i] = initial_value(i);
    start[i] = static_cast<T>(initial_value(i));
  }
  if constexpr (std::is_same_v<T, float>)
    for (int i = 0; i < kSize; ++i) p_ref[i] = static_cast<double>(start[i]);  // the same start
  tg::Tensor<T> p = tg::from_vector(start, tg::requires_grad());
  auto opt = make({p});
  for (int t = 1; t <= kSteps; ++t) {
    std::vector<double> g(kSize);
    std::vector<T> gt(kSize);
    for (int i = 0; i < kSize; ++i) {
      gt[i] = static_cast<T>(gradient_at(t, i));
      g[i] = static_cast<double>(gt[i]);
    }
    p.set_grad(tg::from_vector(gt));
    opt->step();
    ref(p_ref, g, t);
    for (int i = 0; i < kSize; ++i) {
      INFO("step " << t << " element " << i);
      CHECK(static_cast<double>(p.data_ptr()[i]) == Approx(p_ref[i]).epsilon(tol).margin(tol));
    }
  }
}

// Both element types: double to 1e-12, float to 1e-6.
inline void check_both(const MakeOptimizer<double>& make_d, const MakeOptimizer<float>& make_f,
                       const std::function<Reference()>& make_ref) {
  {
    INFO("double");
    check_trajectory<double>(make_d, make_ref(), 1e-12);
  }
  {
    INFO("float");
    check_trajectory<float>(make_f, make_ref(), 1e-6);
  }
}

// An optimizer type with its options, for both element types.
#define MAKE_BOTH(Opt, options)                                                                        \
  [&](const std::vector<tg::Tensor<double>>& ps) -> std::unique_ptr<tg::optim::Optimizer<double>> {    \
    return std::make_unique<tg::optim::Opt<double>>(ps, options);                                      \
  },                                                                                                   \
      [&](const std::vector<tg::Tensor<float>>& ps) -> std::unique_ptr<tg::optim::Optimizer<float>> { \
        return std::make_unique<tg::optim::Opt<float>>(ps, options);                                   \
      }
