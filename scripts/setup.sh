#!/usr/bin/env bash
# Idempotent set-up: installs the Debian packages memopt needs (only when something is
# missing), then configures and builds with CMake into build/ (or $MEMOPT_BUILD_DIR).
# Usage: scripts/setup.sh [--minimal] [--sanitize] [--no-build]
#   --minimal   what building and running memopt needs, nothing more (the CI path of
#               docs/ci.md): no test suite, examples, browser, compilers for fuzzing,
#               comparison profilers or corpus; builds with -DBUILD_TESTING=OFF.
#   --sanitize  an ASan+UBSan build in build-sanitize/
#   --no-build  packages only
set -euo pipefail
cd "$(dirname "$0")/.."

# To build: every find_package/pkg_check_modules of the CMake files and every header the
# product includes (Catch2 only for the tests). Checked in docs/ci.md ("What setup.sh installs").
build_packages=(
  build-essential cmake pkg-config
  python3 python3-dev pybind11-dev
  libboost-program-options-dev libfmt-dev nlohmann-json3-dev libunwind-dev
  libssl-dev libxxhash-dev libdw-dev libzstd-dev
)
# To run: the pytest plugin (python3-psutil gives its failure message the process RSS).
run_packages=(python3-pytest python3-psutil)
# The test suite and the paper experiment: Catch2, the ML stack of the examples, the tools
# the tests check the exports with (ms_print from valgrind, xmllint), /usr/bin/time and git.
test_packages=(
  catch2 git time valgrind libxml2-utils
  python3-numpy python3-scipy python3-pandas python3-sklearn python3-joblib
)
# Development only: the browser check of the HTML reports, clang for the fuzzers, the
# profilers of the benchmarks, line counts of the study, the optimize corpus.
dev_packages=(
  chromium clang heaptrack python3-memory-profiler cloc bc
  python-sklearn-doc
)

build_dir=${MEMOPT_BUILD_DIR:-build}
cmake_args=(-DPython_EXECUTABLE=/usr/bin/python3 -DCMAKE_BUILD_TYPE=Release)
build=1
minimal=0
for arg in "$@"; do
  case "$arg" in
    --minimal) minimal=1
               cmake_args+=(-DBUILD_TESTING=OFF -DMEMOPT_BUILD_EXAMPLES=OFF) ;;
    --sanitize) build_dir=${MEMOPT_BUILD_DIR:-build-sanitize}
                cmake_args+=(-DMEMOPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    --no-build) build=0 ;;
    *) echo "setup: unknown option $arg (use --minimal, --sanitize, --no-build)" >&2; exit 2 ;;
  esac
done

packages=("${build_packages[@]}" "${run_packages[@]}")
((minimal)) || packages+=("${test_packages[@]}" "${dev_packages[@]}")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  apt_options=(-y -qq)
  # A CI image needs no recommended extras; the full set keeps them (the corpus's matplotlib).
  if ((minimal)); then apt_options+=(--no-install-recommends); fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install "${apt_options[@]}" "${missing[@]}"
fi

if ((build)); then
  cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
  cmake --build "$build_dir" -j "$(nproc)"
fi
