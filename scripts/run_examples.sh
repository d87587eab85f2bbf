#!/usr/bin/env bash
# The main job: installs what is missing, builds every example in Release and runs
# them all. Each example prints what it checked and exits non-zero on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install_deps.sh libeigen3-dev nlohmann-json3-dev cmake g++ make

build=build/examples
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

failed=0 passed=0
for program in "$build"/examples/example-*; do
  echo "=== ${program##*/}"
  if "$program"; then
    passed=$((passed + 1))
  else
    echo "*** ${program##*/} FAILED"
    failed=$((failed + 1))
  fi
done
echo "examples: $passed passed, $failed failed"
((failed == 0))
