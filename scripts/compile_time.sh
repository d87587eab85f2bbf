#!/usr/bin/env bash
# Compile time of a 20-line program with tapegrad (bench/compile_time/with_tapegrad.cpp)
# against the same program written with Eigen alone (with_eigen.cpp), at -O0 and -O2.
# The two are compiled alternately N times (default 5); prints the median user+sys
# seconds of each and their ratio. Run it on a quiet machine: noise is about +-0.3 s.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cxx=${CXX:-g++}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

seconds() {  # flags file
  { /usr/bin/time -f "%U %S" "$cxx" -std=c++17 $1 -I include -I /usr/include/eigen3 "$2" -o "$out"; } 2>&1 |
    tail -1 | awk '{print $1 + $2}'
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

printf "%-6s %14s %14s %8s\n" flags "tapegrad (s)" "Eigen (s)" ratio
for flags in -O0 -O2; do
  tg_times=() eigen_times=()
  for ((i = 0; i < runs; i++)); do
    tg_times+=("$(seconds "$flags" bench/compile_time/with_tapegrad.cpp)")
    eigen_times+=("$(seconds "$flags" bench/compile_time/with_eigen.cpp)")
  done
  tg=$(printf "%s\n" "${tg_times[@]}" | median)
  eigen=$(printf "%s\n" "${eigen_times[@]}" | median)
  printf "%-6s %14s %14s %8s\n" "$flags" "$tg" "$eigen" "$(awk -v a="$tg" -v b="$eigen" 'BEGIN {printf "%.2fx", a / b}')"
done
