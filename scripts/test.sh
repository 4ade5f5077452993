#!/usr/bin/env bash
# Set up (install + build), then run every test with CTest.
# Usage: scripts/test.sh [--sanitize | --tsan] [ctest arguments...]
#   --sanitize  everything under AddressSanitizer+UBSan (build-sanitize/; docs/reliability.md)
#   --tsan      the tracer core's threaded tests under ThreadSanitizer (build-tsan/)
set -euo pipefail
cd "$(dirname "$0")/.."
setup_args=()
build_dir=${MEMOPT_BUILD_DIR:-build}
if [ "${1:-}" = "--sanitize" ]; then
  setup_args+=(--sanitize)
  build_dir=${MEMOPT_BUILD_DIR:-build-sanitize}
  shift
  # Findings fail the test that hit them; leak reports stay on.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp}
elif [ "${1:-}" = "--tsan" ]; then
  # ThreadSanitizer on the tracer core's threaded unit tests only (a small separate build).
  shift
  build_dir=${MEMOPT_BUILD_DIR:-build-tsan}
  scripts/setup.sh --no-build
  cmake -S . -B "$build_dir" -DPython_EXECUTABLE=/usr/bin/python3 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMOPT_TSAN=ON >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target tracer_core_tsan_tests
  cd "$build_dir"
  exec ctest --output-on-failure -R '^tsan:' "$@"
fi
scripts/setup.sh "${setup_args[@]}"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" "$@"
