// The matrix product with kernels dispatched by CPU (core/gemm.hpp, core/cpu.hpp): every
// ISA this machine has, against the product in long double.
#include "test_util.hpp"

#include <tapegrad/core/gemm.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <random>
#include <vector>

namespace core_gemm_test {

using tg::Isa;

// Runs the body once per ISA the CPU has (baseline: Eigen), then restores the setting.
template <typename Body>
void for_each_isa(Body&& body) {
  const Isa saved = tg::active_isa();
  for (Isa isa : {Isa::baseline, Isa::avx2, Isa::avx512}) {
    tg::set_isa(isa);
    if (tg::active_isa() != isa) continue;  // the CPU does not have it
    body(isa);
  }
  tg::set_isa(saved);
}

template <typename T>
std::vector<T> random_values(std::size_t count, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<T> values(count);
  for (T& v : values) v = static_cast<T>(normal(gen));
  return values;
}

// C = A B (or C + A B) from strided A (n x k) and B (k x m) in long double, and each
// entry's bound on the rounding error of any summation order: k eps sum |terms|
// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1).
struct Reference {
  std::vector<long double> value, bound;
};

template <typename T>
Reference reference(std::int64_t n, std::int64_t m, std::int64_t k, const std::vector<T>& a, std::int64_t a_rs,
                    std::int64_t a_cs, const std::vector<T>& b, std::int64_t b_rs, std::int64_t b_cs,
                    const std::vector<T>& c0, bool accumulate) {
  Reference r{std::vector<long double>(static_cast<std::size_t>(n * m)),
              std::vector<long double>(static_cast<std::size_t>(n * m))};
  const long double eps = std::numeric_limits<T>::epsilon();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      long double sum = accumulate ? c0[static_cast<std::size_t>(i * m + j)] : 0.0L;
      long double magnitude = std::abs(sum);
      for (std::int64_t p = 0; p < k; ++p) {
        const long double term = static_cast<long double>(a[static_cast<std::size_t>(i * a_rs + p * a_cs)]) *
                                 b[static_cast<std::size_t>(p * b_rs + j * b_cs)];
        sum += term;
        magnitude += std::abs(term);
      }
      r.value[static_cast<std::size_t>(i * m + j)] = sum;
      r.bound[static_cast<std::size_t>(i * m + j)] = static_cast<long double>(k + 1) * eps * magnitude;
    }
  return r;
}

template <typename T>
void check_close(const std::vector<T>& got, const Reference& want) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("entry " << i << ": " << got[i] << " against " << static_cast<double>(want.value[i]));
    REQUIRE(std::abs(static_cast<long double>(got[i]) - want.value[i]) <= want.bound[i]);
  }
}

TEMPLATE_TEST_CASE("gemm: every ISA, tile edges and cache blocks, against long double", "[gemm]", float, double) {
  using T = TestType;
  // Sizes around the micro-tiles (MR 6 or 12, NR 8 to 32), past one KC (256) and MC block
  // (96 to 144) and small enough for Eigen.
  const std::int64_t shapes[][3] = {{1, 1, 1},     {5, 7, 3},      {12, 32, 256}, {13, 33, 257},
                                    {37, 53, 71},  {150, 40, 300}, {6, 16, 600},  {200, 100, 17},
                                    {97, 129, 513}};
  for_each_isa([&](Isa isa) {
    for (const auto& s : shapes) {
      const std::int64_t n = s[0], m = s[1], k = s[2];
      const auto a = random_values<T>(static_cast<std::size_t>(n * k), 1);
      const auto b = random_values<T>(static_cast<std::size_t>(k * m), 2);
      std::vector<T> c(static_cast<std::size_t>(n * m), T(-7));
      INFO("ISA " << tg::isa_name(isa) << ", " << n << " x " << m << " x " << k);
      tg::detail::gemm_row_major<T>(n, m, k, a.data(), b.data(), c.data());
      check_close(c, reference(n, m, k, a, k, 1, b, m, 1, c, false));
    }
  });
}

TEMPLATE_TEST_CASE("gemm: transposed operands are read in place, and += accumulates", "[gemm]", float, double) {
  using T = TestType;
  for_each_isa([&](Isa isa) {
    const std::int64_t n = 70, m = 90, k = 300;
    const auto a = random_values<T>(static_cast<std::size_t>(n * k), 3);  // A^T stored k x n
    const auto b = random_values<T>(static_cast<std::size_t>(k * m), 4);  // B^T stored m x k
    for (bool accumulate : {false, true}) {
      auto c = random_values<T>(static_cast<std::size_t>(n * m), 5);
      const auto want = reference(n, m, k, a, 1, n, b, 1, k, c, accumulate);
      INFO("ISA " << tg::isa_name(isa) << (accumulate ? ", +=" : ", ="));
      if (!tg::detail::gemm_dispatched<T>(n, m, k, a.data(), 1, n, b.data(), 1, k, c.data(), m, accumulate)) {
        CHECK(isa == Isa::baseline);  // only Eigen's product is left: nothing was written
        continue;
      }
      CHECK(isa != Isa::baseline);
      check_close(c, want);
    }
  });
}

TEST_CASE("gemm: the dispatch keeps small and narrow products and -march=native builds with Eigen", "[gemm]") {
  const Isa saved = tg::active_isa();
  tg::set_isa(Isa::avx512);
  const Isa isa = tg::active_isa();
  const bool wider_than_compiled = isa > tg::detail::compiled_isa();
  CHECK(tg::detail::gemm_isa<float>(8, 8, 8) == Isa::baseline);     // 512 multiply-adds
  CHECK(tg::detail::gemm_isa<float>(1000, 1, 1000) == Isa::baseline);  // a matrix-vector product
  CHECK(tg::detail::gemm_isa<float>(100, 100, 0) == Isa::baseline);
  CHECK(tg::detail::gemm_isa<float>(256, 256, 256) == (wider_than_compiled ? isa : Isa::baseline));
  CHECK(tg::detail::gemm_isa<std::int64_t>(256, 256, 256) == Isa::baseline);
  tg::set_isa(Isa::baseline);
  CHECK(tg::detail::gemm_isa<double>(256, 256, 256) == Isa::baseline);
  tg::set_isa(saved);
}

TEST_CASE("gemm: matmul, its gradients and conv agree across ISAs", "[gemm]") {
  // The whole op, not only the kernel: the transposes of matmul's backward go through the
  // dispatched kernel's strides.
  tg::Generator gen(11);
  const auto a0 = tg::randn<double>({64, 96}, gen), b0 = tg::randn<double>({96, 80}, gen);
  const auto x0 = tg::randn<double>({2, 3, 12, 12}, gen), w0 = tg::randn<double>({40, 3, 3, 3}, gen);
  std::vector<std::vector<double>> results;
  for_each_isa([&](Isa) {
    auto a = a0.detach().requires_grad_(), b = b0.detach().requires_grad_();
    auto c = tg::matmul(a, b);
    (c * c).sum().backward();
    auto x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
    auto y = tg::conv2d(x, w);
    (y * y).sum().backward();
    std::vector<double> all;
    for (const auto& t : {c, a.grad(), b.grad(), y, x.grad(), w.grad()})
      all.insert(all.end(), t.data_ptr(), t.data_ptr() + t.numel());
    results.push_back(all);
  });
  for (std::size_t r = 1; r < results.size(); ++r)
    for (std::size_t i = 0; i < results[0].size(); ++i)
      REQUIRE(results[r][i] == Approx(results[0][i]).epsilon(1e-12).margin(1e-9));
}

TEST_CASE("cpu: isa names and set_isa never go above what the CPU has", "[gemm]") {
  CHECK(std::string(tg::isa_name(Isa::baseline)) == "baseline");
  CHECK(std::string(tg::isa_name(Isa::avx2)) == "avx2");
  CHECK(std::string(tg::isa_name(Isa::avx512)) == "avx512");
  const Isa saved = tg::active_isa();
  tg::set_isa(Isa::avx512);
  CHECK(tg::active_isa() == tg::detail::cpu_isa());
  tg::set_isa(Isa::baseline);
  CHECK(tg::active_isa() == Isa::baseline);
  tg::set_isa(saved);
}

}  // namespace core_gemm_test
