#!/usr/bin/env bash
# Builds and runs tests/consumer/main.cpp the three documented ways, and compiles the
# library as C++20 with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=build/consumers
rm -rf "$work"
mkdir -p "$work"
warn=(-Wall -Wextra -Wpedantic -Werror)

# The CMake consumers (1, 2) build in the background while the compiler-only ones (3 and
# on) build in the foreground: two single-threaded compiles at a time, CI's two cores.
(
  # 1. cmake --install, then find_package(tapegrad) from another project.
  cmake -S . -B "$work/lib" -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF >/dev/null
  cmake --install "$work/lib" --prefix "$root/$work/prefix" >/dev/null
  cmake -S tests/consumer -B "$work/find_package" -DTAPEGRAD_CONSUMER_MODE=find_package \
    -DCMAKE_PREFIX_PATH="$root/$work/prefix" >/dev/null
  cmake --build "$work/find_package" >/dev/null
  "$work/find_package/consumer"
  echo "find_package: ok"

  # 2. add_subdirectory(tapegrad) in another project.
  cmake -S tests/consumer -B "$work/subdirectory" -DTAPEGRAD_CONSUMER_MODE=subdirectory \
    -DTAPEGRAD_SOURCE_DIR="$root" >/dev/null
  cmake --build "$work/subdirectory" >/dev/null
  "$work/subdirectory/consumer"
  echo "add_subdirectory: ok"
) >"$work/cmake_consumers.log" 2>&1 &
cmake_consumers=$!

# 3. No CMake at all: the include path and Eigen's.
g++ -std=c++17 "${warn[@]}" -I include -I /usr/include/eigen3 tests/consumer/main.cpp -o "$work/plain"
"$work/plain"
echo "plain -I include: ok"

# Every method Tensor declares links with <tapegrad/core.hpp> alone.
g++ -std=c++17 "${warn[@]}" -I include -I /usr/include/eigen3 tests/consumer/every_method.cpp -o "$work/every_method"
"$work/every_method"

# C++20: the same program and the tutorial example compile cleanly and run.
g++ -std=c++20 "${warn[@]}" -I include -I /usr/include/eigen3 tests/consumer/main.cpp -o "$work/cxx20"
"$work/cxx20"
g++ -std=c++20 "${warn[@]}" -I include -I /usr/include/eigen3 examples/gradient_check.cpp -o "$work/cxx20_example"
"$work/cxx20_example" >/dev/null
# Every public header parses as C++20 too (C++20 keywords such as `requires` as names).
printf '#include <tapegrad/tapegrad.hpp>\n#include <tapegrad/scalar.hpp>\n#include <tapegrad/scalar/bridge.hpp>\nint main() {}\n' >"$work/all_headers.cpp"
g++ -std=c++20 "${warn[@]}" -fsyntax-only -I include -I /usr/include/eigen3 "$work/all_headers.cpp"
echo "C++20: ok"

if ! wait "$cmake_consumers"; then
  cat "$work/cmake_consumers.log"
  echo "consumers: find_package or add_subdirectory FAILED" >&2
  exit 1
fi
cat "$work/cmake_consumers.log"
echo "consumers: 5 passed, 0 failed"
