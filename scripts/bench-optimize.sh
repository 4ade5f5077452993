#!/usr/bin/env bash
# Generality benchmark (issue 14): `memopt optimize` on the corpus of scikit-learn examples
# (scripts/bench/optimize-corpus.txt), each final program checked and measured independently;
# writes docs/generality.md and keeps the raw JSON lines in scripts/bench/results/generality.jsonl.
#   scripts/bench-optimize.sh [--only PATTERN] [--jobs N] [--optimize-jobs N] [--out DIR] [--runs N]
#                             [--time-limit-min M] [--cold-cache] [--doc docs/generality.md] [--note TEXT]
# --only: globs or substrings of the corpus paths, comma-separated (svm/*,plot_iris). --jobs: scripts at a time
# (default 1: measurements must not overlap). --optimize-jobs: memopt optimize's own --jobs (default 2). --out: raw per-script directories (default
# build/bench-optimize). --cold-cache: each script's optimize starts with an empty lazy-imports analysis cache
# (default: one cache, empty at the start, shared by the run's scripts). Per-script steps are described in scripts/bench/optimize_corpus.py.
set -euo pipefail
cd "$(dirname "$0")/.."
only=""
jobs=1
optimize_jobs=2
out=build/bench-optimize
runs=3
limit=20
doc=docs/generality.md
note=""
cold=()
while (($#)); do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --optimize-jobs) optimize_jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --time-limit-min) limit=$2; shift 2 ;;
    --doc) doc=$2; shift 2 ;;
    --note) note=$2; shift 2 ;;
    --cold-cache) cold=(--cold-cache); shift ;;
    *) echo "bench-optimize: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "bench-optimize: --jobs needs a positive integer, got '$jobs'" >&2; exit 2; }
[[ $optimize_jobs =~ ^[12]$ ]] || { echo "bench-optimize: --optimize-jobs needs 1 or 2, got '$optimize_jobs'" >&2; exit 2; }

# The corpus comes from Debian's python-sklearn-doc (installed as scripts/setup.sh installs).
if ! dpkg-query -W -f='${Status}' python-sklearn-doc 2>/dev/null | grep -q "install ok installed"; then
  echo "bench-optimize: installing python-sklearn-doc"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python-sklearn-doc
fi
if [ -x build/bin/memopt ]; then
  cmake --build build --target memopt -j 2 >/dev/null
else
  scripts/setup.sh
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- transforms python 2>/dev/null | head -1)
command="scripts/bench-optimize.sh"
[ -n "$only" ] && command+=" --only '$only'"
((jobs != 1)) && command+=" --jobs $jobs"
((optimize_jobs != 2)) && command+=" --optimize-jobs $optimize_jobs"
[ "$limit" = 20 ] || command+=" --time-limit-min $limit"
((${#cold[@]})) && command+=" --cold-cache"
echo "bench-optimize: $command (started $started, memopt at $commit${dirty:+ with local changes})" >&2
/usr/bin/python3 scripts/bench/optimize_corpus.py --memopt build/bin/memopt --out "$out" \
  --only "$only" --jobs "$jobs" --optimize-jobs "$optimize_jobs" --runs "$runs" --time-limit-min "$limit" "${cold[@]}" >/dev/null
mkdir -p scripts/bench/results
cp "$out/results.jsonl" scripts/bench/results/generality.jsonl
/usr/bin/python3 scripts/bench/generality_table.py scripts/bench/results/generality.jsonl --out "$doc" \
  --command "$command" --code "commit $commit${dirty:+ with local changes}, started $started" --date "${started%% *}" --note "$note"
echo "bench-optimize: wrote $doc and scripts/bench/results/generality.jsonl" >&2
