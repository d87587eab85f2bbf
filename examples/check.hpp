#pragma once
// A tiny reporter shared by the examples: each check prints PASS/FAIL with what it
// compared, and the program's exit code counts the failures.

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

inline int finish() {
  if (failures() == 0)
    std::printf("all checks passed\n");
  else
    std::printf("%d check(s) FAILED\n", failures());
  return failures() == 0 ? 0 : 1;
}

}  // namespace example
