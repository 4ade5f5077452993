#!/usr/bin/env bash
# Longer fuzzing of memopt's readers (trace, summary JSON, profile JSON) than the bounded
# run in the test suite (CTest "trace: fuzz readers (bounded)", 30 s).
# Usage: scripts/fuzz.sh [SECONDS] [--libfuzzer]
#   SECONDS      total time for the mutation fuzzer, split over the four targets (default 600)
#   --libfuzzer  afterwards, also run libFuzzer (coverage-guided; needs Debian's clang) on
#                each target for SECONDS/4 (or $MEMOPT_LIBFUZZER_SECONDS), built with
#                ASan+UBSan into build-fuzz/
# Findings are saved to build-fuzz/crashes/; replay one with
#   build-fuzz/fuzz_readers --target trace FILE   (or the libFuzzer binary with FILE)
# and keep it in tests/trace/corpus/ (TARGET-NAME.bin) with its fix, as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600
libfuzzer=0
for arg in "$@"; do
  case "$arg" in
    --libfuzzer) libfuzzer=1 ;;
    ''|*[!0-9]*) echo "fuzz: unknown argument $arg (usage: scripts/fuzz.sh [SECONDS] [--libfuzzer])" >&2; exit 2 ;;
    *) seconds=$arg ;;
  esac
done
build_dir=${MEMOPT_BUILD_DIR:-build}
out=build-fuzz
mkdir -p "$out/crashes"

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  scripts/setup.sh --no-build
  cmake -S . -B "$build_dir" -DPython_EXECUTABLE=/usr/bin/python3 -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" -j "$(nproc)" --target fuzz_readers
cp "$build_dir/tests/trace/fuzz_readers" "$out/fuzz_readers"
seed=$(date +%s)
echo "fuzz: mutation fuzzer, $seconds s, seed $seed"
"$out/fuzz_readers" --seconds "$seconds" --seed "$seed" --crash-dir "$out/crashes" | tee "$out/mutation.log"

if ((libfuzzer)); then
  command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 2; }
  # The readers and every renderer the targets call: profiler/trace, reports/ (not the
  # study), common/.
  sources=(tests/trace/fuzz/libfuzzer_entry.cpp tests/trace/fuzz/fuzz_targets.cpp
           profiler/trace/*.cpp reports/analysis/*.cpp reports/render/*.cpp reports/gate/*.cpp common/*.cpp)
  echo "fuzz: building the libFuzzer harness with clang (ASan+UBSan)"
  flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I.
         -DMEMOPT_SOURCE_PYTHON_DIR="\"$PWD/python\"")
  mkdir -p "$out/obj"
  printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -I{} sh -c \
    'clang++ "$@" -c {} -o "'"$out"'/obj/$(echo {} | tr / _).o"' _ "${flags[@]}"
  clang++ "${flags[@]}" "$out"/obj/*.o -lfmt -o "$out/fuzz_libfuzzer"
  per_target=${MEMOPT_LIBFUZZER_SECONDS:-$((seconds / 4 > 0 ? seconds / 4 : 1))}
  for target in trace trace-resealed summary profile; do
    corpus="$out/corpus-$target"
    mkdir -p "$corpus"
    # Seeds: the valid inputs the mutation fuzzer starts from, plus saved findings.
    "$out/fuzz_readers" --target "$target" --write-seeds "$corpus"
    cp tests/trace/corpus/"$target"-* "$corpus"/ 2>/dev/null || true
    echo "fuzz: libFuzzer on $target for $per_target s"
    MEMOPT_FUZZ_TARGET=$target "$out/fuzz_libfuzzer" "$corpus" -max_total_time="$per_target" \
      -timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$out/crashes/$target-" \
      -print_final_stats=1 2>&1 | tee "$out/libfuzzer-$target.log" | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==.*ERROR)" || true
  done
fi
echo "fuzz: findings (none is good): $(ls "$out/crashes" | wc -l)"
[ -z "$(ls "$out/crashes")" ]
