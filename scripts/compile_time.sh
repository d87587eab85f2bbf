#!/usr/bin/env bash
# Compile time of a 20-line program with tapegrad (bench/compile_time/with_tapegrad.cpp)
# against the same program written with Eigen alone (with_eigen.cpp), at -O0 and -O2.
# Prints the best user+sys seconds of N runs (default 3) and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cxx=${CXX:-g++}
measure() {  # flags file
  local best=""
  for ((i = 0; i < runs; i++)); do
    local t
    t=$({ /usr/bin/time -f "%U %S" "$cxx" -std=c++17 $1 -I include -I /usr/include/eigen3 "$2" -o /tmp/tapegrad_compile_time.out; } 2>&1 | tail -1 | awk '{print $1 + $2}')
    best=$(awk -v a="${best:-$t}" -v b="$t" 'BEGIN {print (a < b ? a : b)}')
  done
  echo "$best"
}
printf "%-6s %12s %12s %8s\n" flags "tapegrad (s)" "Eigen (s)" ratio
for flags in -O0 -O2; do
  tg=$(measure "$flags" bench/compile_time/with_tapegrad.cpp)
  eigen=$(measure "$flags" bench/compile_time/with_eigen.cpp)
  printf "%-6s %12s %12s %8s\n" "$flags" "$tg" "$eigen" "$(awk -v a="$tg" -v b="$eigen" 'BEGIN {printf "%.2fx", a / b}')"
done
rm -f /tmp/tapegrad_compile_time.out
