#pragma once
// row_gemm: a register-blocked matrix product whose operands are given row by row,
//   C[m][n] (+)= sum_k A[m][k] * B[k][n]     (A: M x K, B: K x N, C: M x N)
// with A, B and C each an array of row pointers. Rows need not be evenly spaced and
// C's rows may overlap in memory: that is what lets a stride-1 convolution read its
// im2col rows straight out of the image (row (c, i, j) is the plane shifted by (i, j))
// and add col2im's rows straight into it, with no column buffer in between.
//
// The kernel keeps an MR x NP block of packets of C in registers while it runs over
// k: per k it loads NP packets of B's row k and broadcasts MR values of A's column k.
// B's rows are read in place (no packing: they are contiguous, which is what the
// packing of a general GEMM buys), A's values are read through their row pointers.
// On this project's convolution shapes (M = 16..144 channels, K = 32..144, N =
// 500..700 positions) with AVX-512 it measured 150-200 GFLOP/s, 70-95% of the FMA
// peak, where Eigen's general GEMM, which packs both operands for any layout, ran at
// 100-135 (docs/performance.md). With SSE2 alone it is slower than Eigen's (no
// broadcast load), so the convolutions use it from AVX on.

#include <algorithm>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

// Eigen's packet types are vector types with attributes (__m512 is 64-byte aligned);
// GCC warns that those attributes are dropped when such a type is a template
// argument, which is harmless here (the packets are loaded and stored unaligned)
// and which Eigen silences for its own templates the same way.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace tapegrad {
namespace detail {

namespace row_gemm_impl {

// One block of C: rows c_rows[0..MR), columns [n0, n0 + NP * packet size).
template <typename T, typename Packet, int MR, int NP>
void tile(const T* const* a_rows, const T* const* b_rows, T* const* c_rows, std::int64_t K, std::int64_t n0,
          bool accumulate) {
  constexpr int kSize = Eigen::internal::unpacket_traits<Packet>::size;
  Packet acc[MR][NP];
  const T* a[MR];
  for (int m = 0; m < MR; ++m) {
    a[m] = a_rows[m];
    for (int p = 0; p < NP; ++p) acc[m][p] = Eigen::internal::pset1<Packet>(T(0));
  }
  for (std::int64_t k = 0; k < K; ++k) {
    const T* b = b_rows[k] + n0;
    Packet bk[NP];
    for (int p = 0; p < NP; ++p) bk[p] = Eigen::internal::ploadu<Packet>(b + p * kSize);
    for (int m = 0; m < MR; ++m) {
      const Packet amk = Eigen::internal::pset1<Packet>(a[m][k]);
      for (int p = 0; p < NP; ++p) acc[m][p] = Eigen::internal::pmadd(amk, bk[p], acc[m][p]);
    }
  }
  // Row by row, load-add-store: rows that overlap in memory see each other's sums.
  for (int m = 0; m < MR; ++m)
    for (int p = 0; p < NP; ++p) {
      T* c = c_rows[m] + n0 + p * kSize;
      Eigen::internal::pstoreu(c, accumulate ? Eigen::internal::padd(Eigen::internal::ploadu<Packet>(c), acc[m][p])
                                             : acc[m][p]);
    }
}

// Columns [n0, n0 + NP * packet size) of every row of C: tiles of MR rows, then the
// remaining rows in tiles of 4, 2 and 1.
template <typename T, typename Packet, int MR, int NP>
void column_block(const T* const* a_rows, const T* const* b_rows, T* const* c_rows, std::int64_t M, std::int64_t K,
                  std::int64_t n0, bool accumulate) {
  std::int64_t m = 0;
  for (; m + MR <= M; m += MR) tile<T, Packet, MR, NP>(a_rows + m, b_rows, c_rows + m, K, n0, accumulate);
  if constexpr (MR > 4)
    for (; m + 4 <= M; m += 4) tile<T, Packet, 4, NP>(a_rows + m, b_rows, c_rows + m, K, n0, accumulate);
  if constexpr (MR > 2)
    for (; m + 2 <= M; m += 2) tile<T, Packet, 2, NP>(a_rows + m, b_rows, c_rows + m, K, n0, accumulate);
  for (; m < M; ++m) tile<T, Packet, 1, NP>(a_rows + m, b_rows, c_rows + m, K, n0, accumulate);
}

// Block shapes by register file: with 32 vector registers (AVX-512) 24 accumulators,
// 6 x 4 or 8 x 3 packets for wide C (whichever divides M: a 2-row remainder tile is
// load-bound) and 12 x 2 when C is two packets wide (a weight gradient's 32 output
// channels); with 16 (SSE, AVX) 12 accumulators, 6 x 2 or 4 x 3. Each leaves room
// for the NP packets of B and one broadcast.
constexpr bool kManyRegisters = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS >= 32;
constexpr int kWideRows = 6, kWidePackets = kManyRegisters ? 4 : 2;
constexpr int kAltRows = kManyRegisters ? 8 : 4, kAltPackets = 3;
constexpr int kNarrowRows = kManyRegisters ? 12 : 6;

// Columns [n, N), fewer than a packet: B's values are copied into zero-padded
// packets, one full-width column block is computed into a buffer, and its first
// columns are added to (or stored in) C row by row, which keeps the row-by-row
// semantics for overlapping rows.
template <typename T, typename Packet>
void tail_columns(const T* const* a_rows, const T* const* b_rows, T* const* c_rows, std::int64_t M, std::int64_t K,
                  std::int64_t n, std::int64_t N, bool accumulate) {
  constexpr std::int64_t kSize = Eigen::internal::unpacket_traits<Packet>::size;
  const std::int64_t width = N - n;
  std::vector<T> b_pad(static_cast<std::size_t>(K * kSize), T(0)), c_pad(static_cast<std::size_t>(M * kSize));
  std::vector<const T*> b_pad_rows(static_cast<std::size_t>(K));
  std::vector<T*> c_pad_rows(static_cast<std::size_t>(M));
  for (std::int64_t k = 0; k < K; ++k) {
    T* row = b_pad.data() + k * kSize;
    std::copy_n(b_rows[k] + n, width, row);
    b_pad_rows[static_cast<std::size_t>(k)] = row;
  }
  for (std::int64_t m = 0; m < M; ++m) c_pad_rows[static_cast<std::size_t>(m)] = c_pad.data() + m * kSize;
  column_block<T, Packet, kNarrowRows, 1>(a_rows, b_pad_rows.data(), c_pad_rows.data(), M, K, 0, false);
  for (std::int64_t m = 0; m < M; ++m) {
    T* c = c_rows[m] + n;
    const T* sums = c_pad.data() + m * kSize;
    for (std::int64_t q = 0; q < width; ++q) c[q] = accumulate ? c[q] + sums[q] : sums[q];
  }
}

}  // namespace row_gemm_impl

// C[m][n] = sum_k A[m][k] B[k][n] (accumulate: +=) for m < M, n < N, k < K. a_rows[m]
// points at K values, b_rows[k] at N values, c_rows[m] at N values; nothing past them
// is read. Each sum runs over k in order, so the result does not depend on how C is
// blocked.
template <typename T>
void row_gemm(const T* const* a_rows, const T* const* b_rows, T* const* c_rows, std::int64_t M, std::int64_t K,
              std::int64_t N, bool accumulate) {
  using namespace row_gemm_impl;
  using Packet = typename Eigen::internal::packet_traits<T>::type;
  constexpr std::int64_t kSize = Eigen::internal::unpacket_traits<Packet>::size;
  std::int64_t n = 0;
  if (M % kWideRows != 0 && M % kAltRows == 0) {
    for (; n + kAltPackets * kSize <= N; n += kAltPackets * kSize)
      column_block<T, Packet, kAltRows, kAltPackets>(a_rows, b_rows, c_rows, M, K, n, accumulate);
  } else {
    for (; n + kWidePackets * kSize <= N; n += kWidePackets * kSize)
      column_block<T, Packet, kWideRows, kWidePackets>(a_rows, b_rows, c_rows, M, K, n, accumulate);
  }
  for (; n + 2 * kSize <= N; n += 2 * kSize)
    column_block<T, Packet, kNarrowRows, 2>(a_rows, b_rows, c_rows, M, K, n, accumulate);
  for (; n + kSize <= N; n += kSize) column_block<T, Packet, kNarrowRows, 1>(a_rows, b_rows, c_rows, M, K, n, accumulate);
  if (n < N) tail_columns<T, Packet>(a_rows, b_rows, c_rows, M, K, n, N, accumulate);
}

// Row pointers of a matrix stored with `stride` elements between rows.
template <typename P>
std::vector<P*> matrix_rows(P* first, std::int64_t rows, std::int64_t stride) {
  std::vector<P*> out(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) out[static_cast<std::size_t>(r)] = first + r * stride;
  return out;
}

}  // namespace detail
}  // namespace tapegrad

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
