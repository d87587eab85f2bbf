#!/usr/bin/env bash
# The main job: installs what is missing, builds every example in Release and runs them
# all. Each example prints what it checked and exits non-zero on a failure.
#
#   scripts/run_examples.sh                 # the model examples in their short mode
#                                           # (a few hundred batches, metric asserted above chance)
#   scripts/run_examples.sh --full          # the model examples' full runs (Fashion-MNIST: 5 epochs)
#   scripts/run_examples.sh --movielens DIR # the MovieLens examples on a downloaded ml-1m or ml-100k
#   scripts/run_examples.sh --only NAME     # one example (e.g. fashion_mnist_cnn)
#
# The model examples write their training log, curve (PNG, drawn by scripts/plot_training.py),
# checkpoint and images under build/examples/out/<example>/.
set -euo pipefail
cd "$(dirname "$0")/.."

full=0 movielens="" only=""
while (($#)); do
  case $1 in
    --full) full=1; shift ;;
    --movielens) movielens=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

# dataset-fashion-mnist: the real Fashion-MNIST under /usr/share/datasets/fashion-mnist;
# python3-matplotlib draws the curves.
scripts/install_deps.sh libeigen3-dev nlohmann-json3-dev zlib1g-dev cmake g++ make \
  dataset-fashion-mnist python3-matplotlib

build=build/examples
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

# The examples that train a model on data take --out DIR (and --full, --movielens DIR).
model_examples=" deepfm_movielens split_deepfm_movielens preference_model fashion_mnist_mlp fashion_mnist_cnn fashion_mnist_autoencoder fashion_mnist_vae "
python=/usr/bin/python3  # Debian's matplotlib is in the system interpreter
[[ -x $python ]] || python=python3

failed=0 passed=0
for program in "$build"/examples/example-*; do
  name=${program##*/example-}
  [[ -n $only && $name != "$only" ]] && continue
  echo "=== example-$name"
  args=()
  if [[ $model_examples == *" $name "* ]]; then
    out=$build/out/$name
    mkdir -p "$out"
    args=(--out "$out")
    ((full)) && args+=(--full)
    [[ -n $movielens && $name == *movielens* ]] && args+=(--movielens "$movielens")
  fi
  if "$program" "${args[@]}"; then
    passed=$((passed + 1))
    if [[ -f ${out:-/nonexistent}/log.csv ]]; then
      "$python" scripts/plot_training.py "$out/log.csv" --out "$out/curve.png" --title "$name" ||
        echo "(no curve drawn for $name)"
    fi
  else
    echo "*** example-$name FAILED"
    failed=$((failed + 1))
  fi
  out=""
done
echo "examples: $passed passed, $failed failed"
((failed == 0))
