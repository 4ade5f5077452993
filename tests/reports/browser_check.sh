#!/usr/bin/env bash
# Real-browser check of memopt's HTML reports: headless Chromium renders each page, and the
# check fails when the page is empty or broken (no heading, fewer charts than expected, or a
# screenshot that is blank).
#
# Usage: browser_check.sh [--memopt BIN] [--study DIR] [--screenshots DIR] [PAGE.html[:MIN_SVGS]]...
#   --memopt BIN       also record a small Python program with BIN and check its HTML report
#   --study DIR        check DIR/index.html (an activity_study output; 3 charts)
#   --screenshots DIR  keep the screenshots there (e.g. docs/images) instead of a temp dir
set -euo pipefail
memopt=""
study_page=""
pages=()
shots=""
while (($#)); do
  case "$1" in
    --memopt) memopt=$2; shift 2 ;;
    --study) pages+=("$2/index.html:3"); study_page=$2/index.html; shift 2 ;;
    --screenshots) shots=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) pages+=("$1"); shift ;;
  esac
done
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "browser_check: chromium is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$shots" ] && mkdir -p "$shots"

if [ -n "$memopt" ]; then
  cat >"$work/alloc.py" <<'PY'
import memopt
keep = []
with memopt.phase("grow"):
    for i in range(10):
        keep.append(bytearray(4_000_000))
with memopt.phase("shrink"):
    del keep[:5]
PY
  "$memopt" record -o "$work/alloc.trace" --stacks -- /usr/bin/python3 "$work/alloc.py" >/dev/null 2>&1
  "$memopt" report "$work/alloc.trace" --format html -o "$work/record-report.html"
  pages+=("$work/record-report.html:2")
fi
((${#pages[@]})) || { echo "browser_check: no page to check (see --help)" >&2; exit 2; }

browser() {
  local profile
  profile=$(mktemp -d -p "$work")
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" "$@" 2>/dev/null
}

status=0
for entry in "${pages[@]}"; do
  page=${entry%:*}; min_svgs=${entry##*:}
  [ "$page" = "$entry" ] && min_svgs=1
  [ -f "$page" ] || { echo "FAIL $page: not found"; status=1; continue; }
  url="file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
  name=$(basename "$(dirname "$page")")-$(basename "$page" .html)
  [ "$page" = "$work/record-report.html" ] && name=record-report
  height=2400
  if [ "$page" = "$study_page" ]; then name=study; height=3300; fi
  shot=${shots:-$work}/$name.png
  browser --dump-dom "$url" >"$work/$name.dom" || true
  browser --screenshot="$shot" --window-size=1280,$height "$url" >/dev/null || true
  if ! /usr/bin/python3 - "$work/$name.dom" "$shot" "$min_svgs" <<'PY'; then
import re, struct, sys
dom_path, png_path, min_svgs = sys.argv[1], sys.argv[2], int(sys.argv[3])
dom = open(dom_path, encoding="utf-8", errors="replace").read()
problems = []
if "<h1>" not in dom:
    problems.append("no <h1> in the rendered page")
svgs = len(re.findall(r"<svg\b", dom))
if svgs < min_svgs:
    problems.append(f"{svgs} charts rendered, expected at least {min_svgs}")
if len(re.findall(r"<(rect|polyline|path)\b", dom)) < 5:
    problems.append("the charts have no shapes")
try:
    data = open(png_path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    # A blank 1280x2400 page compresses to ~14 KB; a page with text and charts to 100s of KB.
    per_pixel = len(data) / max(1, width * height)
    if per_pixel < 0.01:
        problems.append(f"the screenshot looks blank ({len(data)} bytes for {width}x{height})")
except Exception as e:  # no screenshot, or not a PNG
    problems.append(f"no usable screenshot ({e})")
if problems:
    print("; ".join(problems))
    sys.exit(1)
print(f"{svgs} charts, screenshot ok")
PY
    echo "FAIL $page"; status=1
  else
    echo "ok   $page -> $shot"
  fi
done
exit $status
