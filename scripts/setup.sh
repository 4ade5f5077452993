#!/usr/bin/env bash
# Idempotent set-up: installs every Debian package memopt needs (only when something is
# missing), then configures and builds with CMake into build/ (or $MEMOPT_BUILD_DIR).
# Usage: scripts/setup.sh [--sanitize] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  libboost-program-options-dev pybind11-dev libfmt-dev catch2 libunwind-dev
  nlohmann-json3-dev libssl-dev libxxhash-dev libdw-dev libzstd-dev
  python3 python3-dev python3-numpy python3-scipy python3-pandas python3-sklearn
  python3-joblib python3-psutil python3-memory-profiler python3-pytest
  cloc heaptrack valgrind time bc
  chromium libxml2-utils
  clang
  python-sklearn-doc
)

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
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

build_dir=${MEMOPT_BUILD_DIR:-build}
cmake_args=(-DPython_EXECUTABLE=/usr/bin/python3 -DCMAKE_BUILD_TYPE=Release)
build=1
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_dir=${MEMOPT_BUILD_DIR:-build-sanitize}
                cmake_args+=(-DMEMOPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    --no-build) build=0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done
if ((build)); then
  cmake -S . -B "$build_dir" "${cmake_args[@]}" >/dev/null
  cmake --build "$build_dir" -j "$(nproc)"
fi
