#pragma once
// The matrix product every op goes through (matmul, linear, conv): C = A B on row-major
// operands, with the widest kernel the CPU running the program has.
//
// Why: Eigen picks its SIMD width when the program is compiled. A plain -O2 build (what
// CMake's Release gives a user who adds tapegrad with find_package) gets SSE2, four floats
// per instruction, while libtorch's OpenBLAS picks AVX2 or AVX-512 when it runs. So the
// product is also compiled for AVX2+FMA and AVX-512 (core/gemm_kernel.inl, one body,
// compiled under a target pragma per ISA) and chosen once, by cpuid (core/cpu.hpp).
//
// - A build whose flags already give Eigen the CPU's widest ISA (-march=native) keeps
//   Eigen's product: there is nothing to add.
// - Small products (fewer than 32^3 multiply-adds) and narrow ones (fewer columns than
//   half a micro-tile) stay with Eigen, where packing would cost more than it saves.
// - TAPEGRAD_ISA=baseline (or tg::set_isa) turns the dispatch off.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cpu.hpp"
#include "tensor.hpp"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define TAPEGRAD_GEMM_DISPATCH 1
#include <immintrin.h>
#else
#define TAPEGRAD_GEMM_DISPATCH 0
#endif

#if defined(__clang__)
#define TAPEGRAD_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define TAPEGRAD_UNROLL _Pragma("GCC unroll 32")
#else
#define TAPEGRAD_UNROLL
#endif

namespace tapegrad::detail {

// Per-thread scratch that only grows: a fresh large buffer per call would cost page
// faults on every call. `Tag` keeps one user's buffers apart from another's (conv hands
// its column buffer to the product, which must not reuse it); `Slot` tells apart the
// buffers one user holds at the same time.
template <typename T, typename Tag, int Slot>
T* thread_scratch(std::int64_t n) {
  thread_local std::vector<T> buffer;
  if (static_cast<std::int64_t>(buffer.size()) < n) {
    std::vector<T>().swap(buffer);  // no copy of the old contents
    buffer.resize(static_cast<std::size_t>(n));
  }
  return buffer.data();
}

struct GemmScratch {};  // the packed blocks of B (slot 0) and A (slot 1)

#if TAPEGRAD_GEMM_DISPATCH

// ---- AVX2 + FMA: 256-bit vectors, 16 registers: a 6 x 2-vector tile (12 accumulators).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace gemm_avx2_float {
using Scalar = float;
using Vec = __m256;
constexpr int kWidth = 8, kMR = 6, kNV = 2;
constexpr std::int64_t kKC = 256, kMC = 120, kNC = 4096;
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vload(const Scalar* p) { return _mm256_loadu_ps(p); }
inline void vstore(Scalar* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline Vec vbroadcast(const Scalar* p) { return _mm256_broadcast_ss(p); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
#include "gemm_kernel.inl"
}  // namespace gemm_avx2_float
namespace gemm_avx2_double {
using Scalar = double;
using Vec = __m256d;
constexpr int kWidth = 4, kMR = 6, kNV = 2;
constexpr std::int64_t kKC = 256, kMC = 96, kNC = 2048;
inline Vec vzero() { return _mm256_setzero_pd(); }
inline Vec vload(const Scalar* p) { return _mm256_loadu_pd(p); }
inline void vstore(Scalar* p, Vec v) { _mm256_storeu_pd(p, v); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_pd(a, b); }
inline Vec vbroadcast(const Scalar* p) { return _mm256_broadcast_sd(p); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
#include "gemm_kernel.inl"
}  // namespace gemm_avx2_double
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---- AVX-512: 512-bit vectors, 32 registers: a 12 x 2-vector tile (24 accumulators).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
namespace gemm_avx512_float {
using Scalar = float;
using Vec = __m512;
constexpr int kWidth = 16, kMR = 12, kNV = 2;
constexpr std::int64_t kKC = 256, kMC = 144, kNC = 4096;
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vload(const Scalar* p) { return _mm512_loadu_ps(p); }
inline void vstore(Scalar* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline Vec vbroadcast(const Scalar* p) { return _mm512_set1_ps(*p); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
#include "gemm_kernel.inl"
}  // namespace gemm_avx512_float
namespace gemm_avx512_double {
using Scalar = double;
using Vec = __m512d;
constexpr int kWidth = 8, kMR = 12, kNV = 2;
constexpr std::int64_t kKC = 256, kMC = 96, kNC = 2048;
inline Vec vzero() { return _mm512_setzero_pd(); }
inline Vec vload(const Scalar* p) { return _mm512_loadu_pd(p); }
inline void vstore(Scalar* p, Vec v) { _mm512_storeu_pd(p, v); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_pd(a, b); }
inline Vec vbroadcast(const Scalar* p) { return _mm512_set1_pd(*p); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
#include "gemm_kernel.inl"
}  // namespace gemm_avx512_double
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // TAPEGRAD_GEMM_DISPATCH

// The ISA the dispatched product would use for C = A B of this size, or baseline for
// Eigen's product.
template <typename T>
Isa gemm_isa(std::int64_t n, std::int64_t m, std::int64_t k) {
  if constexpr (!TAPEGRAD_GEMM_DISPATCH || !(std::is_same_v<T, float> || std::is_same_v<T, double>)) {
    return Isa::baseline;
  } else {
    const Isa isa = active_isa();
    if (isa <= compiled_isa()) return Isa::baseline;  // Eigen is already as wide
    const std::int64_t tile_columns = (isa == Isa::avx512 ? 64 : 32) / static_cast<std::int64_t>(sizeof(T)) * 2;
    if (k == 0 || 2 * m < tile_columns || n * m * k < 32 * 32 * 32) return Isa::baseline;
    return isa;
  }
}

// C (n x m, row-major, rows ldc apart) = A B, or += A B when `accumulate`, with the
// dispatched kernel; false (and nothing written) when Eigen should do it (gemm_isa). A is
// n x k and B k x m, each given by row and column strides: a transposed operand is read
// in place.
template <typename T>
bool gemm_dispatched(std::int64_t n, std::int64_t m, std::int64_t k, const T* a, std::int64_t a_rs,
                     std::int64_t a_cs, const T* b, std::int64_t b_rs, std::int64_t b_cs, T* c, std::int64_t ldc,
                     bool accumulate) {
#if TAPEGRAD_GEMM_DISPATCH
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    const Isa isa = gemm_isa<T>(n, m, k);
    if (isa == Isa::avx512) {
      if constexpr (std::is_same_v<T, float>)
        gemm_avx512_float::gemm(n, m, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate);
      else
        gemm_avx512_double::gemm(n, m, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate);
      return true;
    }
    if (isa == Isa::avx2) {
      if constexpr (std::is_same_v<T, float>)
        gemm_avx2_float::gemm(n, m, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate);
      else
        gemm_avx2_double::gemm(n, m, k, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate);
      return true;
    }
  }
#else
  (void)n, (void)m, (void)k, (void)a, (void)a_rs, (void)a_cs, (void)b, (void)b_rs, (void)b_cs, (void)c, (void)ldc,
      (void)accumulate;
#endif
  return false;
}

// C (n x m) = A (n x k) B (k x m); row-major, each operand contiguous.
template <typename T>
void gemm_row_major(std::int64_t n, std::int64_t m, std::int64_t k, const T* a, const T* b, T* c) {
  if (gemm_dispatched(n, m, k, a, k, 1, b, m, 1, c, m, false)) return;
  MatrixMap<T>(c, n, m).noalias() = ConstMatrixMap<T>(a, n, k) * ConstMatrixMap<T>(b, k, m);
}

}  // namespace tapegrad::detail
