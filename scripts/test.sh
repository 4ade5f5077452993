#!/usr/bin/env bash
# Set up (install + build), then run every test with CTest.
# Usage: scripts/test.sh [--sanitize] [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
setup_args=()
build_dir=${MEMOPT_BUILD_DIR:-build}
if [ "${1:-}" = "--sanitize" ]; then
  setup_args+=(--sanitize)
  build_dir=${MEMOPT_BUILD_DIR:-build-sanitize}
  shift
fi
scripts/setup.sh "${setup_args[@]}"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" "$@"
