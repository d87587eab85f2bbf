// One blocked matrix product, C = A B on row-major operands, written once and compiled
// once per instruction set: core/gemm.hpp includes this file inside a namespace per ISA,
// between pragmas that set the target (AVX2+FMA, AVX-512), after defining there
//   Scalar, Vec, kWidth (scalars per Vec), kMR (rows per micro-tile), kNV (Vecs per
//   micro-tile row), kKC, kMC, kNC (cache blocks), and vzero, vload, vstore, vadd,
//   vbroadcast, vfma (a b + c).
// No include guard: it is meant to be included once per ISA.
//
// The method is Goto's (and BLIS's): a KC x NC block of B is packed into strips NR wide,
// an MC x KC block of A into strips MR tall, and a micro-kernel keeps one MR x NR tile of
// C in registers through KC rank-1 updates: per step one row of the B strip is loaded
// (kNV Vecs), each of the MR values of the A strip broadcast and multiplied into it.
// Packing makes both operands contiguous in the order the kernel reads them, and the
// blocks keep B's strip in L1, A's block in L2 and B's block in L3.

static constexpr int kNR = kNV * kWidth;

// C[MR x NR] (+)= A-strip (kc x MR, step-major) * B-strip (kc x NR, row-major).
inline void micro_kernel(std::int64_t kc, const Scalar* a, const Scalar* b, Scalar* c, std::int64_t ldc,
                         bool accumulate) {
  Vec acc[kMR][kNV];
  TAPEGRAD_UNROLL
  for (int i = 0; i < kMR; ++i) {
    TAPEGRAD_UNROLL
    for (int v = 0; v < kNV; ++v) acc[i][v] = vzero();
  }
  for (std::int64_t p = 0; p < kc; ++p) {
    Vec row[kNV];
    TAPEGRAD_UNROLL
    for (int v = 0; v < kNV; ++v) row[v] = vload(b + v * kWidth);
    TAPEGRAD_UNROLL
    for (int i = 0; i < kMR; ++i) {
      const Vec ai = vbroadcast(a + i);
      TAPEGRAD_UNROLL
      for (int v = 0; v < kNV; ++v) acc[i][v] = vfma(ai, row[v], acc[i][v]);
    }
    a += kMR;
    b += kNR;
  }
  TAPEGRAD_UNROLL
  for (int i = 0; i < kMR; ++i) {
    TAPEGRAD_UNROLL
    for (int v = 0; v < kNV; ++v) {
      Scalar* out = c + i * ldc + v * kWidth;
      vstore(out, accumulate ? vadd(vload(out), acc[i][v]) : acc[i][v]);
    }
  }
}

// Rows [0, rows) of an MR-row strip of A (element (i, p) at a[i rs + p cs]), columns
// [0, kc), step-major; rows past the matrix are zeros, so the kernel needs no edge case.
inline void pack_a(const Scalar* a, std::int64_t rs, std::int64_t cs, std::int64_t rows, std::int64_t kc,
                   Scalar* out) {
  for (std::int64_t p = 0; p < kc; ++p) {
    for (std::int64_t i = 0; i < rows; ++i) out[i] = a[i * rs + p * cs];
    for (std::int64_t i = rows; i < kMR; ++i) out[i] = Scalar(0);
    out += kMR;
  }
}

// Columns [0, cols) of an NR-column strip of B (element (p, j) at b[p rs + j cs]), rows
// [0, kc); zeros past it.
inline void pack_b(const Scalar* b, std::int64_t rs, std::int64_t cs, std::int64_t cols, std::int64_t kc,
                   Scalar* out) {
  for (std::int64_t p = 0; p < kc; ++p) {
    const Scalar* row = b + p * rs;
    if (cs == 1) {
      for (std::int64_t j = 0; j < cols; ++j) out[j] = row[j];
    } else {
      for (std::int64_t j = 0; j < cols; ++j) out[j] = row[j * cs];
    }
    for (std::int64_t j = cols; j < kNR; ++j) out[j] = Scalar(0);
    out += kNR;
  }
}

// C (n x m, row-major, rows ldc apart) = A B, or += A B when `accumulate`; A is n x k
// and B k x m, each given by its row and column strides (a transpose is a swap of the
// two, read as it is packed); k > 0.
inline void gemm(std::int64_t n, std::int64_t m, std::int64_t k, const Scalar* a, std::int64_t a_rs,
                 std::int64_t a_cs, const Scalar* b, std::int64_t b_rs, std::int64_t b_cs, Scalar* c,
                 std::int64_t ldc, bool accumulate) {
  const std::int64_t nc_max = std::min<std::int64_t>(kNC, (m + kNR - 1) / kNR * kNR);
  const std::int64_t mc_max = std::min<std::int64_t>(kMC, (n + kMR - 1) / kMR * kMR);
  Scalar* packed_b = thread_scratch<Scalar, GemmScratch, 0>(kKC * nc_max);
  Scalar* packed_a = thread_scratch<Scalar, GemmScratch, 1>(kKC * mc_max);
  alignas(64) Scalar edge[kMR * kNR];  // a partial tile of C, computed whole, copied in part
  for (std::int64_t jc = 0; jc < m; jc += kNC) {
    const std::int64_t nc = std::min<std::int64_t>(kNC, m - jc);
    for (std::int64_t pc = 0; pc < k; pc += kKC) {
      const std::int64_t kc = std::min<std::int64_t>(kKC, k - pc);
      const bool add = accumulate || pc > 0;
      for (std::int64_t jr = 0; jr < nc; jr += kNR)
        pack_b(b + pc * b_rs + (jc + jr) * b_cs, b_rs, b_cs, std::min<std::int64_t>(kNR, nc - jr), kc,
               packed_b + jr * kc);
      for (std::int64_t ic = 0; ic < n; ic += kMC) {
        const std::int64_t mc = std::min<std::int64_t>(kMC, n - ic);
        for (std::int64_t ir = 0; ir < mc; ir += kMR)
          pack_a(a + (ic + ir) * a_rs + pc * a_cs, a_rs, a_cs, std::min<std::int64_t>(kMR, mc - ir), kc,
                 packed_a + ir * kc);
        for (std::int64_t jr = 0; jr < nc; jr += kNR) {
          const std::int64_t cols = std::min<std::int64_t>(kNR, nc - jr);
          for (std::int64_t ir = 0; ir < mc; ir += kMR) {
            const std::int64_t rows = std::min<std::int64_t>(kMR, mc - ir);
            Scalar* tile = c + (ic + ir) * ldc + jc + jr;
            if (rows == kMR && cols == kNR) {
              micro_kernel(kc, packed_a + ir * kc, packed_b + jr * kc, tile, ldc, add);
              continue;
            }
            micro_kernel(kc, packed_a + ir * kc, packed_b + jr * kc, edge, kNR, false);
            for (std::int64_t i = 0; i < rows; ++i)
              for (std::int64_t j = 0; j < cols; ++j)
                tile[i * ldc + j] = add ? tile[i * ldc + j] + edge[i * kNR + j] : edge[i * kNR + j];
          }
        }
      }
    }
  }
}
