#!/usr/bin/env bash
# The whole activity pipeline in one command (docs/activity.md):
#   build the native predictor, generate the recording, train and export the forest, run
#   app.py and the native predictor under /usr/bin/time -v, check that both predictions
#   files are identical, count lines of code, and write OUT/figures.md.
#
# Usage: examples/activity/run.sh [-o OUT_DIR] [--rows N] [--train-rows N] [--trees N]
#                                 [--build-dir DIR] [--skip-train]
# Defaults: OUT_DIR=out/activity, the paper's 197,633 rows, train.py's default training set
# (12.8 M rows, about 30 s), 20 trees, build dir build (the one scripts/setup.sh makes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3
out=$repo/out/activity
rows=197633
train_args=()
build_dir=$repo/build
skip_train=0
while (($#)); do
  case "$1" in
    -o) out=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --train-rows) train_args+=(--train-rows "$2" --test-rows "$(($2 / 10 + 1280))"); shift 2 ;;
    --trees) train_args+=(--trees "$2"); shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --skip-train) skip_train=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
export MPLBACKEND=Agg

step() { printf '\n== %s\n' "$*"; }

step "build the native predictor ($build_dir)"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build_dir" -DPython_EXECUTABLE=$python -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" --target activity_predict -j 2 >/dev/null
native=$build_dir/bin/activity_predict

step "generate the recording ($rows rows, seed 1)"
$python "$here/generate.py" -o "$out/recording.csv" --rows "$rows" --seed 1

if ((skip_train)) && [ -f "$out/model.joblib" ]; then
  step "train: reusing $out/model.joblib"
else
  step "train the forest"
  $python "$here/train.py" -o "$out/model.joblib" "${train_args[@]}"
fi
$python "$here/export_model.py" "$out/model.joblib" -o "$out/model.forest"

# peak RSS (KiB) and wall time (s) from a `/usr/bin/time -v` log
peak_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall_s() {
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"
}

step "run app.py (the static baseline)"
(cd "$out" && /usr/bin/time -v -o "$out/app.time" \
  $python "$here/app.py" recording.csv model.joblib predictions.csv)

step "run the native predictor"
(cd "$out" && /usr/bin/time -v -o "$out/native.time" \
  "$native" recording.csv model.forest native_predictions.csv)

step "compare"
if ! cmp "$out/predictions.csv" "$out/native_predictions.csv"; then
  echo "run.sh: predictions differ between app.py and the native predictor" >&2
  exit 1
fi
echo "identical: $(($(wc -l <"$out/predictions.csv") - 1)) predictions"

step "lines of code (cloc: code lines, no blanks or comments)"
py_loc=$(cloc --quiet --csv "$here/app.py" | awk -F, '$2 == "Python" {print $5}')
cpp_loc=$(cloc --quiet --csv --include-lang='C++,C/C++ Header' "$here/native" |
  awk -F, '$2 == "SUM" {print $5}')

memopt=$repo/build/bin/memopt
record_line="pending (memopt record not available)"
if [ -x "$memopt" ] && "$memopt" record --help >/dev/null 2>&1; then
  rm -f "$out/app.trace"
  if (cd "$out" && "$memopt" record -o "$out/app.trace" -- \
        $python "$here/app.py" recording.csv model.joblib predictions_traced.csv >/dev/null) &&
     "$memopt" report "$out/app.trace" --format json -o "$out/app.summary.json" 2>/dev/null; then
    record_line=$($python -c "import json,sys; s=json.load(open(sys.argv[1]));
print('%.1f MB peak RSS, %.1f MB peak heap' % (s['peak_rss_bytes']/1e6, s['peak_heap_bytes']/1e6))" \
      "$out/app.summary.json" 2>/dev/null || echo "see $out/app.trace")
  fi
fi

app_kib=$(peak_kib "$out/app.time"); app_s=$(wall_s "$out/app.time")
nat_kib=$(peak_kib "$out/native.time"); nat_s=$(wall_s "$out/native.time")
{
  echo "| | peak RSS (/usr/bin/time) | wall time | lines of code |"
  echo "|---|---|---|---|"
  awk -v k="$app_kib" -v s="$app_s" -v l="$py_loc" \
    'BEGIN {printf "| app.py (static baseline) | %.1f MB | %.2f s | %d (1x) |\n", k * 1024 / 1e6, s, l}'
  awk -v k="$nat_kib" -v s="$nat_s" -v l="$cpp_loc" -v p="$py_loc" \
    'BEGIN {printf "| native C++ predictor | %.2f MB | %.2f s | %d (%.1fx) |\n", k * 1024 / 1e6, s, l, l / p}'
  echo
  echo "memopt record of app.py: $record_line"
  echo "model: $(cat "$out/model.json" | tr -d '\n ' )"
} >"$out/figures.md"
step "figures ($out/figures.md)"
cat "$out/figures.md"
