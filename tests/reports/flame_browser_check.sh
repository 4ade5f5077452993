#!/usr/bin/env bash
# The flame graphs' script in a real browser: headless Chromium loads a record report and a
# --diff report with a small test harness added, which types in each graph's search box, clicks
# a frame, then "Reset zoom", and writes what it saw into the page; the check fails on a script
# error, a graph that drew nothing, a search that matched nothing or a zoom that did not zoom.
#
# Usage: flame_browser_check.sh --memopt BIN
set -euo pipefail
memopt=""
while (($#)); do
  case "$1" in
    --memopt) memopt=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "flame_browser_check: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$memopt" ] || { echo "flame_browser_check: --memopt BIN is required" >&2; exit 2; }
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "flame_browser_check: chromium is not installed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf 'keep = [bytearray(4_000_000) for i in range(8)]\nx = [bytes(100) for i in range(20000)]\n' >"$work/before.py"
printf 'keep = [bytearray(4_000_000) for i in range(14)]\n' >"$work/after.py"
for name in before after; do
  "$memopt" record -o "$work/$name.trace" --stacks -- /usr/bin/python3 "$work/$name.py" >/dev/null 2>&1
done
"$memopt" report "$work/after.trace" --format html -o "$work/report.html"
"$memopt" report --diff "$work/before.trace" "$work/after.trace" --format html -o "$work/diff.html"

# Errors are caught from the first script on; the test runs after the page's own script.
head_harness='<script>window.__errors=[];window.addEventListener("error",function(e){window.__errors.push(String(e.message))});</script>'
tail_harness=$(cat <<'JS'
<script>
(function () {
  var results = [];
  document.querySelectorAll("div.flame").forEach(function (box) {
    var r = {}, info = box.querySelector(".flame-info"), svg = box.querySelector("svg");
    r.rects = svg.querySelectorAll("rect").length;
    var data = JSON.parse(box.querySelector("script.flame-data").textContent);
    var input = box.querySelector("input");
    input.value = data.names[data.names.length > 1 ? 1 : 0].slice(0, 6);
    input.dispatchEvent(new Event("input"));
    r.search = info.textContent;
    r.highlighted = Array.prototype.filter.call(svg.querySelectorAll("rect"),
      function (e) { return e.getAttribute("fill") === "rgb(220,60,220)"; }).length;
    input.value = ""; input.dispatchEvent(new Event("input"));
    var frames = svg.querySelectorAll("g[data-node]");
    var target = frames[Math.min(frames.length - 1, 2)];
    var node = target.dataset.node;
    target.querySelector("rect").dispatchEvent(new MouseEvent("click", {bubbles: true}));
    var zoomed = svg.querySelector('g[data-node="' + node + '"] rect');
    r.zoomedWidth = zoomed ? +zoomed.getAttribute("width") : -1;
    r.zoomInfo = info.textContent;
    box.querySelector("button").click();
    r.resetInfo = info.textContent;
    r.resetRects = svg.querySelectorAll("rect").length;
    results.push(r);
  });
  var pre = document.createElement("pre");
  pre.id = "flame-test";
  pre.textContent = JSON.stringify({errors: window.__errors, graphs: results});
  document.body.appendChild(pre);
})();
</script>
JS
)
status=0
for page in report diff; do
  /usr/bin/python3 - "$work/$page.html" "$work/$page-test.html" "$head_harness" "$tail_harness" <<'PY'
import sys
src, dst, head, tail = sys.argv[1:5]
html = open(src, encoding="utf-8").read()
html = html.replace("<body>", "<body>\n" + head, 1).replace("</body>", tail + "\n</body>", 1)
open(dst, "w", encoding="utf-8").write(html)
PY
  profile=$(mktemp -d -p "$work")
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --dump-dom "file://$work/$page-test.html" >"$work/$page.dom" 2>/dev/null || true
  if ! /usr/bin/python3 - "$work/$page.dom" "$page" <<'PY'; then
import html, json, re, sys
dom, page = open(sys.argv[1], encoding="utf-8", errors="replace").read(), sys.argv[2]
m = re.search(r'<pre id="flame-test">(.*?)</pre>', dom, re.S)
if not m:
    print(f"{page}: the test harness did not run (a script error before it?)"); sys.exit(1)
result = json.loads(html.unescape(m.group(1)))
problems = [f"script error: {e}" for e in result["errors"]]
expected = 3 if page == "report" else 1
if len(result["graphs"]) < expected:
    problems.append(f"{len(result['graphs'])} flame graphs, expected {expected}")
for i, g in enumerate(result["graphs"]):
    if g["rects"] < 2: problems.append(f"graph {i}: {g['rects']} frames drawn")
    if "matched:" not in g["search"] or g["highlighted"] < 1: problems.append(f"graph {i}: search found nothing ({g['search']})")
    if "zoomed into" not in g["zoomInfo"] or abs(g["zoomedWidth"] - 1080) > 0.5:
        problems.append(f"graph {i}: the click did not zoom ({g['zoomInfo']}, width {g['zoomedWidth']})")
    if "zoomed" in g["resetInfo"] or g["resetRects"] != g["rects"]: problems.append(f"graph {i}: reset did not go back")
if problems:
    print(f"{page}: " + "; ".join(problems)); sys.exit(1)
print(f"ok   {page}: {len(result['graphs'])} flame graphs searched, zoomed and reset")
PY
    status=1
  fi
done
exit $status
