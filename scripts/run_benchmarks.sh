#!/usr/bin/env bash
# Backward-pass throughput suite (issue 6): installs what is missing (libtorch-dev,
# OpenBLAS, matplotlib...), builds bench/throughput_bench.cpp in Release, runs it on one
# thread, and prints a table of medians and of the ratios tapegrad / hand-written Eigen
# and tapegrad / libtorch; a PNG bar chart of the ratios goes into the build folder.
#
#   scripts/run_benchmarks.sh [--suite S] [--repetitions N] [--cpu C] [--native] [--filter REGEX] [-- benchmark flags...]
#
#   --suite S        throughput (default): bench/throughput_bench.cpp; train: bench/train_bench.cpp
#                    (optimizer steps over 1M parameters and a full MLP training step against
#                    libtorch, with heap allocations per step); models: bench/models_bench.cpp
#                    (DeepFM, the Fashion-MNIST MLP and CNN trained against libtorch: epoch
#                    times and final metrics; its flags follow `--`, e.g. -- --epochs 1 --seeds 1);
#                    all: throughput and train, one after the other
#   --repetitions N  repetitions of each benchmark (default 5; the table shows medians)
#   --cpu C          pin the run to CPU C with taskset (steadier numbers on a shared machine)
#   --native         compile with -march=native (build/bench-release-native); the default
#                    is CMake's plain Release flags (-O3 -DNDEBUG), what users get
#   --filter REGEX   run only the matching benchmarks (--benchmark_filter)
# Outputs: build/bench-release[-native]/throughput.json (Google Benchmark JSON with every
# repetition) and throughput_ratios.png next to it (train.json and train_ratios.png for the
# train suite). JOBS=N sets the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=throughput repetitions=5 cpu="" native=0 filter="" extra=()
while (($#)); do
  case $1 in
    --suite) suite=$2; shift 2 ;;
    --repetitions) repetitions=$2; shift 2 ;;
    --cpu) cpu=$2; shift 2 ;;
    --native) native=1; shift ;;
    --filter) filter=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
case $suite in
  throughput) suites=(throughput) ;;
  train) suites=(train) ;;
  models) suites=(models) ;;
  all) suites=(throughput train) ;;
  *) echo "unknown suite: $suite (throughput, train, models or all)" >&2; exit 2 ;;
esac

scripts/install_deps.sh cmake g++ make libeigen3-dev libbenchmark-dev libtorch-dev libopenblas-dev \
  python3 python3-matplotlib zlib1g-dev nlohmann-json3-dev dataset-fashion-mnist

build=build/bench-release
flags=()
if ((native)); then
  build=build/bench-release-native
  # GCC 12 reports false maybe-uninitialized warnings inside its AVX-512 intrinsics
  # (avx512fintrin.h, reached through Eigen), which -Werror would turn into errors.
  flags=("-DCMAKE_CXX_FLAGS=-march=native -Wno-maybe-uninitialized")
fi
echo "=== build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "${flags[@]}" -DTAPEGRAD_BUILD_BENCH=ON \
  -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF >/dev/null
targets=()
for name in "${suites[@]}"; do targets+=("tapegrad_${name}_bench"); done
cmake --build "$build" --target "${targets[@]}" -j "${JOBS:-$(nproc)}"

# One thread everywhere: OpenMP (libtorch's intra-op pool), OpenBLAS (behind libtorch's
# GEMMs); the binary also calls torch::set_num_threads(1). Eigen runs single-threaded
# without -fopenmp.
run=(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1)
if [[ -n $cpu ]]; then
  run+=(taskset -c "$cpu")
fi
# Debian's python3-matplotlib lives in the system interpreter; a python3 from pyenv or a
# virtualenv earlier on PATH would not see it.
python=/usr/bin/python3
[[ -x $python ]] || python=python3
for name in "${suites[@]}"; do
  if [[ $name == models ]]; then
    # Not a Google Benchmark binary: it trains each model for whole epochs and prints its table.
    echo "=== run models (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    "${run[@]}" "$build/bench/tapegrad_models_bench" "${extra[@]}"
    continue
  fi
  args=(--benchmark_repetitions="$repetitions" --benchmark_display_aggregates_only=true
        --benchmark_enable_random_interleaving=true
        --benchmark_out="$build/$name.json" --benchmark_out_format=json)
  if [[ -n $filter ]]; then
    args+=(--benchmark_filter="$filter")
  fi
  echo "=== run $name (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  "${run[@]}" "$build/bench/tapegrad_${name}_bench" "${args[@]}" "${extra[@]}"

  echo "=== summary $name (compiler flags: Release -O3 -DNDEBUG$( ((native)) && echo " -march=native"))"
  if ! grep -q '"run_name"' "$build/$name.json"; then
    echo "(no $name benchmark matched the filter)"
    continue
  fi
  "$python" scripts/plot_benchmarks.py "$build/$name.json" --png "$build/${name}_ratios.png"
done
