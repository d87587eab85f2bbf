#!/usr/bin/env bash
# Builds the libFuzzer targets of the file readers (checkpoints and data) (tests/fuzz/*_fuzz.cpp) with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs each for a fixed number of
# inputs, starting from the committed seeds (tests/fuzz/seeds/<target>/). Exits non-zero
# on any finding: a crash, a sanitizer report, a leak, an exception other than
# a tg::Error, an allocation over 256 MB, a timeout. See docs/fuzzing.md.
#
#   scripts/run_fuzz.sh                  # CI: 100000 inputs per target, seed 1 (about 1-2 minutes)
#   scripts/run_fuzz.sh 2000000          # a longer run
#   FUZZ_SEED=0 scripts/run_fuzz.sh 2000000 -max_len=16384   # a random seed; extra flags go to libFuzzer
#
# Everything it writes is under build/fuzz/: the binaries, a scratch corpus per target
# (recreated each run, so the repo's seeds are never touched), logs, and the input of
# any finding (build/fuzz/artifacts/<target>-crash-...). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-100000}
shift || true
[[ $runs =~ ^[0-9]+$ ]] || { echo "usage: $0 [runs per target] [libFuzzer flags...]" >&2; exit 2; }
seed=${FUZZ_SEED:-1}  # fixed by default: CI fuzzes the same inputs each time, and a failure reproduces

scripts/install_deps.sh clang-14 libfuzzer-14-dev libeigen3-dev nlohmann-json3-dev zlib1g-dev

start=$SECONDS
out=build/fuzz
mkdir -p "$out/artifacts"

# clang 14 compiles against Debian 12's libstdc++ (g++ 12) headers with -std=c++17 as
# they are; no extra flags needed. -O1 keeps the fuzzer fast enough while the stacks
# stay readable; -fno-sanitize-recover=all makes every UBSan report fatal (a finding).
cxxflags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -Wall -Wextra -Werror -I include -isystem /usr/include/eigen3)

# Every tests/fuzz/<target>_fuzz.cpp is a target; its seeds are tests/fuzz/seeds/<target>/
# and its dictionary tests/fuzz/<target>.dict. zlib is linked for the gzip'd IDX reader.
targets=()
for harness in tests/fuzz/*_fuzz.cpp; do
  t=${harness##*/}
  targets+=("${t%_fuzz.cpp}")
done
# The harnesses compile, and then fuzz, as many at a time as there are cores (each is
# one single-threaded process): on CI's 2 cores that halves the stage.
cores=$(nproc)
wait_for_a_core() {
  while (($(jobs -rp | wc -l) >= cores)); do wait -n || true; done
}
rm -f "$out/compile-failed"
for t in "${targets[@]}"; do
  bin=$out/${t}_fuzz
  # Rebuilt when missing or older than its harness or any header.
  if [[ ! -x $bin || -n $(find tests/fuzz/${t}_fuzz.cpp include -newer "$bin" -print -quit) ]]; then
    echo "compiling $bin"
    wait_for_a_core
    { clang++-14 "${cxxflags[@]}" tests/fuzz/${t}_fuzz.cpp -o "$bin" -lz || echo "$t" >>"$out/compile-failed"; } &
  fi
done
wait
if [[ -f $out/compile-failed ]]; then
  echo "the harnesses of $(tr '\n' ' ' <"$out/compile-failed")did not compile" >&2
  exit 1
fi
echo "compiled in $((SECONDS - start)) s"

# fuzz_one TARGET: fuzzes one reader and writes what it found to $out/TARGET.summary,
# whose first line ends in "no findings" when it found nothing.
fuzz_one() {
  local t=$1 corpus=$out/corpus/$1 log=$out/$1.log t0=$SECONDS rc=0
  rm -rf "$corpus"
  mkdir -p "$corpus"
  cp tests/fuzz/seeds/$t/* "$corpus"/
  # -malloc_limit_mb: no input of at most 4 KB (libFuzzer's default -max_len here) needs
  # 256 MB, so a larger allocation is a reader trusting a size it read. -rss_limit_mb
  # catches growth, -timeout a hang (the readers are linear in the input).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$out/${t}_fuzz" -runs="$runs" -seed="$seed" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 \
    -dict=tests/fuzz/$t.dict -artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 "${fuzz_flags[@]}" \
    "$corpus" >"$log" 2>&1 || rc=$?
  if ((rc == 0)); then
    echo "  $t: $(grep -m1 -o 'Done [0-9]* runs in [0-9]* second(s)' "$log"), $(grep -m1 -o 'stat::new_units_added: *[0-9]*' "$log" | tr -s ' '), in $((SECONDS - t0)) s: no findings" >"$out/$t.summary"
  else
    {
      echo "  $t: FINDING (exit $rc), in $((SECONDS - t0)) s; the end of $log:"
      # The first report with its stack, and where the input was saved.
      awk '/ERROR|runtime error|_fuzz: |^ *#[0-9]+ /{if(!done)print} /^SUMMARY/{if(!done)print; done=1} /Test unit written/{print; exit}' "$log" |
        head -60 | sed 's/^/    /'
    } >"$out/$t.summary"
  fi
}
fuzz_flags=("$@")
for t in "${targets[@]}"; do
  echo "fuzzing $t: $runs inputs (seed $seed, log $out/$t.log)"
  rm -f "$out/$t.summary"
  wait_for_a_core
  fuzz_one "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
  cat "$out/$t.summary"
  head -n 1 "$out/$t.summary" 2>/dev/null | grep -q 'no findings$' || failed+=("$t")
done

echo "fuzzing took $((SECONDS - start)) s in all"
if ((${#failed[@]})); then
  echo "findings in: ${failed[*]} (reproduce: build/fuzz/<target>_fuzz build/fuzz/artifacts/<target>-crash-...)" >&2
  exit 1
fi
