#!/usr/bin/env bash
# The paper's evaluation on this machine, in one command (docs/study.md):
#   installs what is missing and builds (scripts/setup.sh), then runs the example's study
#   (build/bin/activity_study, examples/activity/study/) with the paper's settings: 197,633
#   rows (1544 blocks), a 20-tree forest of unlimited depth, every step measured 3 times.
#   Prints where the report is. About a minute on 2 quiet cores (docs/study.md, "Measured here").
#
# Usage: scripts/study.sh [-o OUT_DIR] [--force] [--quick] [--no-setup] [--screenshots]
#                         [-- MORE activity_study OPTIONS (activity_study --help)]
#   -o OUT_DIR      where the report goes (default study-out/)
#   --force         replace a previous study in OUT_DIR
#   --quick         a small study (20,000 rows, 5 trees, 1 run per step)
#   --no-setup      skip scripts/setup.sh (use the existing build/)
#   --screenshots   then render index.html in headless Chromium into docs/images/
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/study-out
setup=1
shots=0
study_args=()
while (($#)); do
  case "$1" in
    -o) out=$2; shift 2 ;;
    --force) study_args+=(--force); shift ;;
    --quick) study_args+=(--rows 20000 --train-rows 200000 --trees 5 --repeat 1); shift ;;
    --no-setup) setup=0; shift ;;
    --screenshots) shots=1; shift ;;
    --) shift; study_args+=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "study.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
build_dir=${MEMOPT_BUILD_DIR:-build}
if ((setup)); then
  echo "== set-up (scripts/setup.sh: Debian packages and the build in $build_dir/)"
  "$repo/scripts/setup.sh"
fi
study=$repo/$build_dir/bin/activity_study
[ -x "$repo/$build_dir/bin/memopt" ] || { echo "study.sh: $repo/$build_dir/bin/memopt not found: run scripts/setup.sh" >&2; exit 2; }
# activity_study depends on memopt, the preload library and activity_predict: one target builds all.
[ -x "$study" ] && [ -x "$repo/$build_dir/bin/activity_predict" ] || cmake --build "$repo/$build_dir" --target activity_study -j "$(nproc)"

echo "== activity_study -o $out ${study_args[*]}"
export MPLBACKEND=Agg
status=0
"$study" -o "$out" "${study_args[@]}" || status=$?
if ((status == 0 || status == 1)) && [ -f "$out/index.html" ]; then
  if ((shots)); then
    "$repo/tests/reports/browser_check.sh" --study "$out" --screenshots "$repo/docs/images"
  fi
  echo
  echo "The report:   file://$out/index.html"
  echo "As text:      $out/results.md"
  echo "All numbers:  $out/results.json"
  echo "How to read it: docs/study.md"
fi
exit $status
