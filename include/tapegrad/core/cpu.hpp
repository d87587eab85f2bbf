#pragma once
// The instruction sets the CPU running the program has, read once, so that kernels
// compiled for AVX2 and AVX-512 (core/gemm.hpp) run in a build made with plain -O2.
//
// TAPEGRAD_ISA=baseline|avx2|avx512 caps the choice (tests run every kernel the machine
// has; a user can compare). A cap above what the CPU has is lowered to what it has.

#include <cstdlib>
#include <cstring>

namespace tapegrad {

enum class Isa { baseline = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return "avx512";
    case Isa::avx2:
      return "avx2";
    default:
      return "baseline";
  }
}

namespace detail {

// What the CPU and the operating system support (the cpuid bits GCC and Clang read also
// check that the OS saves the wide registers).
inline Isa cpu_isa() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::baseline;
}

// The ISA this translation unit was compiled for: Eigen's own kernels use it.
constexpr Isa compiled_isa() {
#if defined(__AVX512F__) && defined(__FMA__)
  return Isa::avx512;
#elif defined(__AVX2__) && defined(__FMA__)
  return Isa::avx2;
#else
  return Isa::baseline;
#endif
}

inline Isa detect_isa() {
  Isa isa = cpu_isa();
  if (const char* cap = std::getenv("TAPEGRAD_ISA")) {
    Isa wanted = isa;
    if (std::strcmp(cap, "baseline") == 0) wanted = Isa::baseline;
    else if (std::strcmp(cap, "avx2") == 0) wanted = Isa::avx2;
    else if (std::strcmp(cap, "avx512") == 0) wanted = Isa::avx512;
    if (wanted < isa) isa = wanted;
  }
  return isa;
}

inline Isa& isa_setting() {
  static Isa isa = detect_isa();
  return isa;
}

}  // namespace detail

// The widest instruction set the dispatched kernels use on this machine.
inline Isa active_isa() { return detail::isa_setting(); }

// Caps the kernels at `isa` (or at what the CPU has, if that is less); for tests and
// comparisons. Not to be called while other threads run ops.
inline void set_isa(Isa isa) {
  const Isa cpu = detail::cpu_isa();
  detail::isa_setting() = isa < cpu ? isa : cpu;
}

}  // namespace tapegrad
