#pragma once
// A tiny reporter shared by the examples: each check prints PASS/FAIL with what it
// compared, and the program's exit code counts the failures.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace example {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void check(bool ok, const std::string& what) {
  std::printf("[%s] %s\n", ok ? "PASS" : "FAIL", what.c_str());
  if (!ok) ++failures();
}

// The best of `repeats` wall times of f(), in seconds: the least disturbed run. For the
// timings the examples print; no example asserts on a time (shared machines are noisy).
template <typename F>
double best_time(int repeats, F&& f) {
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    const auto stop = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(stop - start).count());
  }
  return best;
}

inline int finish() {
  if (failures() == 0)
    std::printf("all checks passed\n");
  else
    std::printf("%d check(s) FAILED\n", failures());
  return failures() == 0 ? 0 : 1;
}

}  // namespace example
