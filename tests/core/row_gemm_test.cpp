// row_gemm (core/row_gemm.hpp): the register-blocked product on row pointers behind
// the wide-layout convolutions. Every block shape and tail is compared against the
// product computed in long double from its definition.
#include "test_util.hpp"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <tapegrad/core/row_gemm.hpp>

namespace core_row_gemm_test {

namespace {

using tg::detail::row_gemm;

// Rows of `count` values at irregular offsets (gaps of 0..4 values) inside `storage`.
template <typename T>
std::vector<std::int64_t> scattered_rows(std::int64_t rows, std::int64_t count, std::mt19937& rng,
                                         std::vector<T>& storage) {
  std::uniform_int_distribution<int> gap(0, 4);
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  std::vector<std::int64_t> offsets;
  std::int64_t at = gap(rng);
  for (std::int64_t r = 0; r < rows; ++r) {
    offsets.push_back(at);
    at += count + gap(rng);
  }
  storage.resize(static_cast<std::size_t>(at));
  for (auto& v : storage) v = static_cast<T>(value(rng));
  return offsets;
}

template <typename T>
std::vector<const T*> const_pointers(const std::vector<T>& storage, const std::vector<std::int64_t>& offsets) {
  std::vector<const T*> out;
  for (auto o : offsets) out.push_back(storage.data() + o);
  return out;
}
template <typename T>
std::vector<T*> pointers(std::vector<T>& storage, const std::vector<std::int64_t>& offsets) {
  std::vector<T*> out;
  for (auto o : offsets) out.push_back(storage.data() + o);
  return out;
}

// C (+)= A B through row_gemm on scattered rows, against long double; also checks
// that the values between C's rows are left alone.
template <typename T>
void check_product(std::int64_t M, std::int64_t K, std::int64_t N, bool accumulate, double tolerance,
                   std::mt19937& rng) {
  INFO("M " << M << " K " << K << " N " << N << " accumulate " << accumulate);
  std::vector<T> a, b, c;
  const auto a_at = scattered_rows(M, K, rng, a), b_at = scattered_rows(K, N, rng, b),
             c_at = scattered_rows(M, N, rng, c);
  const std::vector<T> c_before = c;
  row_gemm(const_pointers(a, a_at).data(), const_pointers(b, b_at).data(), pointers(c, c_at).data(), M, K, N,
           accumulate);
  std::vector<bool> in_c(c.size(), false);
  double worst = 0;
  for (std::int64_t m = 0; m < M; ++m)
    for (std::int64_t n = 0; n < N; ++n) {
      const std::size_t at = static_cast<std::size_t>(c_at[static_cast<std::size_t>(m)] + n);
      in_c[at] = true;
      long double expected = accumulate ? c_before[at] : 0.0L;
      for (std::int64_t k = 0; k < K; ++k)
        expected += static_cast<long double>(a[static_cast<std::size_t>(a_at[static_cast<std::size_t>(m)] + k)]) *
                    b[static_cast<std::size_t>(b_at[static_cast<std::size_t>(k)] + n)];
      worst = std::max(worst, static_cast<double>(std::fabs(expected - c[at])));
    }
  CHECK(worst <= tolerance * double(K));  // rounding grows with the length of each sum
  for (std::size_t i = 0; i < c.size(); ++i)
    if (!in_c[i]) REQUIRE(c[i] == c_before[i]);
}

}  // namespace

TEST_CASE("row_gemm matches the product's definition for every block shape and tail", "[row_gemm]") {
  std::mt19937 rng(5);
  // M covers the 6-, 8- and 12-row tiles and their 4-, 2- and 1-row remainders;
  // N covers 4-, 3-, 2- and 1-packet blocks and tails shorter than a packet (for
  // packets of 2 to 16 values).
  const std::vector<std::int64_t> ms{1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 16, 32, 37};
  const std::vector<std::int64_t> ns{1, 3, 7, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 131};
  for (std::int64_t M : ms)
    for (std::int64_t N : ns)
      for (std::int64_t K : {1, 4, 23}) {
        check_product<double>(M, K, N, false, 1e-15, rng);
        check_product<float>(M, K, N, true, 1e-6, rng);
      }
  check_product<double>(144, 32, 622, true, 1e-15, rng);  // a conv's input gradient
  check_product<float>(32, 144, 622, false, 1e-6, rng);   // its forward
  check_product<float>(144, 622, 32, true, 1e-6, rng);    // its weight gradient's shape
}

TEST_CASE("row_gemm adds into overlapping rows of C as if row by row", "[row_gemm]") {
  // The input gradient of a convolution adds row (c, i, j) into the image shifted by
  // (i, j): C's rows overlap. Every sum must land, whatever the blocking.
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  for (std::int64_t N : {5, 40, 70, 130}) {
    const std::int64_t M = 9, K = 6, shift = 3;
    INFO("N " << N);
    std::vector<double> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N)),
        c(static_cast<std::size_t>((M - 1) * shift + N));
    for (auto& v : a) v = value(rng);
    for (auto& v : b) v = value(rng);
    for (auto& v : c) v = value(rng);
    std::vector<double> expected = c;
    for (std::int64_t m = 0; m < M; ++m)
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < K; ++k)
          expected[static_cast<std::size_t>(m * shift + n)] +=
              a[static_cast<std::size_t>(m * K + k)] * b[static_cast<std::size_t>(k * N + n)];
    const auto a_rows = tg::detail::matrix_rows(static_cast<const double*>(a.data()), M, K);
    const auto b_rows = tg::detail::matrix_rows(static_cast<const double*>(b.data()), K, N);
    const auto c_rows = tg::detail::matrix_rows(c.data(), M, shift);  // rows `shift` apart, N long
    row_gemm(a_rows.data(), b_rows.data(), c_rows.data(), M, K, N, true);
    for (std::size_t i = 0; i < c.size(); ++i) REQUIRE(c[i] == Approx(expected[i]).margin(1e-13));
  }
}

}  // namespace core_row_gemm_test
