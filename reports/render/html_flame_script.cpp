// The flame graphs' script: draws each <div class="flame"> from its JSON data block, zooms
// (click a frame; click "all", an ancestor or "Reset zoom" to go back) and searches (the text
// box highlights the frames whose name contains the text and says what share of the bytes
// they hold). Trace text only ever reaches the page through JSON.parse and textContent: no
// eval, no innerHTML, no regular expression built from input.
#include "reports/render/html.h"

namespace memopt::reports::html {

const char* flame_script() {
    return R"JS(<script>
(function () {
"use strict";
var NS = "http://www.w3.org/2000/svg", ROW = 17, MARGIN = 10;
function el(tag, attrs, parent) {
  var e = document.createElementNS(NS, tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function mb(b) { return (b / 1e6).toFixed(2) + " MB"; }
function signedMb(b) { return (b > 0 ? "+" : b < 0 ? "\u2212" : "") + mb(Math.abs(b)); }
function pct(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + " %" : "0 %"; }
function warm(s) {
  var h = 0;
  for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return "rgb(" + (205 + h % 50) + "," + (80 + (h >>> 8) % 130) + "," + (40 + (h >>> 16) % 40) + ")";
}
function setup(box) {
  var data = JSON.parse(box.querySelector("script.flame-data").textContent);
  var svg = box.querySelector("svg"), info = box.querySelector(".flame-info");
  var W = +svg.getAttribute("width"), plotW = W - 2 * MARGIN, diff = !!data.diff, stride = diff ? 4 : 3;
  var raw = data.nodes, n = raw.length / stride;
  var parent = new Int32Array(n), name = new Int32Array(n), depth = new Int32Array(n), end = new Int32Array(n);
  var value = new Float64Array(n), before = new Float64Array(n), after = new Float64Array(n), kids = new Float64Array(n);
  var maxDepth = 0;
  for (var i = 0; i < n; i++) {
    parent[i] = raw[i * stride]; name[i] = raw[i * stride + 1];
    before[i] = raw[i * stride + 2]; after[i] = diff ? raw[i * stride + 3] : before[i];
    value[i] = Math.max(before[i], after[i]);
    depth[i] = i ? depth[parent[i]] + 1 : 0;
    maxDepth = Math.max(maxDepth, depth[i]);
    if (i) kids[parent[i]] += value[i];
  }
  for (var j = n - 1; j >= 0; j--) { end[j] = Math.max(end[j], j + 1); if (j) end[parent[j]] = Math.max(end[parent[j]], end[j]); }
  var H = (maxDepth + 1) * ROW + 40;
  svg.setAttribute("height", H); svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  var layer = el("g", {}, svg), zoom = 0, query = "";
  function label(i) { return i ? data.names[name[i]] : "all"; }
  function matches(i) { return query !== "" && label(i).toLowerCase().indexOf(query) >= 0; }
  function describe(i) {
    if (diff) return label(i) + " \u2014 before " + mb(before[i]) + ", after " + mb(after[i]) + ", change " + signedMb(after[i] - before[i]);
    return label(i) + " \u2014 " + mb(value[i]) + " (" + pct(value[i], value[0]) + ")";
  }
  function fill(i) {
    if (matches(i)) return "rgb(220,60,220)";
    if (diff) {
      // The deeper the colour, the larger the change against the frame's own bytes (new or gone: deepest).
      var d = after[i] - before[i], t = value[i] ? Math.abs(d) / value[i] : 0, c = Math.round(235 - 165 * Math.sqrt(t));
      return d > 0 ? "rgb(240," + c + "," + c + ")" : d < 0 ? "rgb(" + c + "," + c + ",240)" : "rgb(225,225,225)";
    }
    return i ? warm(label(i)) : "rgb(230,150,90)";
  }
  function frame(i, x, w, dim) {
    var y = H - 4 - (depth[i] + 1) * ROW, g = el("g", {}, layer);
    g.dataset.node = i;
    el("title", {}, g).textContent = describe(i);
    el("rect", {x: x.toFixed(1), y: y, width: w.toFixed(1), height: ROW - 1, fill: fill(i), stroke: "#fff",
                "stroke-width": 0.5, opacity: dim ? 0.55 : 1}, g);
    var chars = Math.floor((w - 6) / 6.2), text = label(i);
    if (chars >= 3) {
      el("text", {x: (x + 3).toFixed(1), y: y + ROW - 5, fill: "#1b1f24"}, g).textContent =
        text.length > chars ? text.slice(0, chars - 2) + ".." : text;
    }
  }
  function draw() {
    while (layer.firstChild) layer.removeChild(layer.firstChild);
    for (var a = parent[zoom]; zoom && a >= 0; a = a ? parent[a] : -1) frame(a, MARGIN, plotW, true);
    var x = new Float64Array(n), w = new Float64Array(n), next = new Float64Array(n);
    x[zoom] = next[zoom] = MARGIN; w[zoom] = plotW;
    frame(zoom, MARGIN, plotW, false);
    for (var i = zoom + 1; i < end[zoom]; i++) {
      var p = parent[i];
      w[i] = w[p] * value[i] / Math.max(value[p], kids[p]);
      x[i] = next[i] = next[p]; next[p] += w[i];
      if (w[i] >= 0.5) frame(i, x[i], w[i], false);
    }
    var shown = zoom ? "zoomed into " + describe(zoom) + "; " : "";
    if (query === "") { info.textContent = shown + "click a frame to zoom"; return; }
    var covered = new Uint8Array(n), hit = 0, hitBefore = 0, hitAfter = 0;
    for (var k = 0; k < n; k++) {
      var m = matches(k), inherited = k ? covered[parent[k]] : 0;
      if (m && !inherited) { hit += value[k]; hitBefore += before[k]; hitAfter += after[k]; }
      covered[k] = inherited || m ? 1 : 0;
    }
    info.textContent = shown + "matched: " + (diff ? "before " + mb(hitBefore) + ", after " + mb(hitAfter)
                                                     : mb(hit) + " (" + pct(hit, value[0]) + " of all bytes)");
  }
  layer.addEventListener("click", function (e) {
    var g = e.target.closest("g");
    if (g && g.dataset.node !== undefined) { zoom = +g.dataset.node; draw(); }
  });
  box.querySelector("button").addEventListener("click", function () { zoom = 0; draw(); });
  box.querySelector("input").addEventListener("input", function (e) { query = e.target.value.toLowerCase(); draw(); });
  draw();
}
var boxes = document.querySelectorAll("div.flame");
for (var b = 0; b < boxes.length; b++) setup(boxes[b]);
})();
</script>
)JS";
}

} // namespace memopt::reports::html
