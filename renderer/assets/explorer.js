// The HTML explorer's viewer (profile --format html): heatmap, per-CPU lanes, flame graph,
// icicle, sandwich and functions table of one embedded capture. Our own code, no library; the
// page loads nothing. The data format is written by renderer/src/explorer.cpp.
"use strict";
(function () {
  var D = JSON.parse(document.getElementById("profile-data").textContent);

  function bytesOf(b64) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
    var bin = atob(b64), n = bin.length, bytes = new Uint8Array(n);
    for (var i = 0; i < n; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  // {width, data}: little-endian unsigned values of 1, 2 or 4 bytes.
  function column(c) {
    var b = bytesOf(c.data);
    var T = c.width === 1 ? Uint8Array : c.width === 2 ? Uint16Array : Uint32Array;
    return new T(b.buffer, b.byteOffset, b.length / c.width);
  }
  // Zigzag LEB128 differences -> microseconds from the capture's start.
  function times(b64, n) {
    var b = bytesOf(b64), out = new Uint32Array(n), prev = 0, k = 0;
    for (var i = 0; i < n; i++) {
      var z = 0, mul = 1, byte;
      do { byte = b[k++]; z += (byte & 127) * mul; mul *= 128; } while (byte & 128);
      prev += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      out[i] = prev;
    }
    return out;
  }
  function minusOne(col, Type) {
    var out = new Type(col.length);
    for (var i = 0; i < col.length; i++) out[i] = col[i] - 1;
    return out;
  }

  var frames = D.frames;
  var nodeParent = minusOne(column(D.nodeParent), Int32Array);
  var nodeFrame = column(D.nodeFrame);
  var N = D.samples;
  var sTime = times(D.timeDeltas, N);
  var sCpu = minusOne(column(D.cpu), Int16Array);
  var sThread = column(D.thread);
  var sNode = column(D.node);
  var sWeight = D.weight ? column(D.weight) : null;
  var threads = D.threads; // [pid, tid, comm]
  var nodes = nodeParent.length;
  var durationS = D.durationUs / 1e6;

  // --- static indexes ------------------------------------------------------------------------
  var depthOf = new Int32Array(nodes);
  var dupAnc = new Uint8Array(nodes); // the frame also appears rootward of the node
  for (var i = 1; i < nodes; i++) {
    var p = nodeParent[i];
    depthOf[i] = depthOf[p] + 1;
    for (var a = p; a > 0; a = nodeParent[a]) {
      if (nodeFrame[a] === nodeFrame[i]) { dupAnc[i] = 1; break; }
    }
  }
  // Children of each node, sorted by name (the flame graph's alphabetical order).
  var childCount = new Int32Array(nodes + 1);
  for (i = 1; i < nodes; i++) childCount[nodeParent[i] + 1]++;
  for (i = 1; i <= nodes; i++) childCount[i] += childCount[i - 1];
  var childStart = childCount.slice(0);
  var childList = new Int32Array(Math.max(nodes - 1, 0));
  var fill = childStart.slice(0);
  for (i = 1; i < nodes; i++) childList[fill[nodeParent[i]]++] = i;
  for (i = 0; i < nodes; i++) {
    if (childStart[i + 1] - childStart[i] > 1) {
      var part = Array.prototype.slice.call(childList, childStart[i], childStart[i + 1]);
      part.sort(function (x, y) {
        var nx = frames[nodeFrame[x]], ny = frames[nodeFrame[y]];
        return nx < ny ? -1 : nx > ny ? 1 : 0;
      });
      childList.set(part, childStart[i]);
    }
  }
  var cpus = [];
  var pids = {};
  for (i = 0; i < N; i++) if (sCpu[i] >= 0 && cpus.indexOf(sCpu[i]) < 0) cpus.push(sCpu[i]);
  cpus.sort(function (x, y) { return x - y; });
  threads.forEach(function (t) { if (!(t[0] in pids)) pids[t[0]] = t[2]; });

  // --- state and URL fragment ----------------------------------------------------------------
  var S = { range: null, cpu: null, pid: null, tid: null, search: "", fn: "", view: "flame",
            zoom: 0, sort: "total" };

  function num(v) { return v === "" || v === undefined || isNaN(+v) ? null : +v; }
  function readHash() {
    var h = location.hash.replace(/^#/, "");
    var next = { range: null, cpu: null, pid: null, tid: null, search: "", fn: "", view: "flame" };
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var k = kv.indexOf("=") < 0 ? kv : kv.slice(0, kv.indexOf("="));
      var v = kv.indexOf("=") < 0 ? "" : decodeURIComponent(kv.slice(kv.indexOf("=") + 1));
      if (k === "range") {
        var ab = v.split(",").map(Number);
        if (ab.length === 2 && isFinite(ab[0]) && isFinite(ab[1]) && ab[1] > ab[0]) next.range = ab;
      } else if (k === "cpu" || k === "pid" || k === "tid") next[k] = num(v);
      else if (k === "search") next.search = v;
      else if (k === "fn") { next.fn = v; next.view = "sandwich"; }
      else if (k === "view" && (v === "icicle" || v === "flame" || v === "sandwich")) next.view = v;
    });
    if (next.view === "sandwich" && !next.fn) next.view = "flame";
    for (var key in next) S[key] = next[key];
  }
  function enc(v) { return encodeURIComponent(v).replace(/%2C/g, ","); }
  function writeHash() {
    var parts = [];
    if (S.range) parts.push("range=" + fmtS(S.range[0]) + "," + fmtS(S.range[1]));
    if (S.cpu !== null) parts.push("cpu=" + S.cpu);
    if (S.pid !== null) parts.push("pid=" + S.pid);
    if (S.tid !== null) parts.push("tid=" + S.tid);
    if (S.search) parts.push("search=" + enc(S.search));
    if (S.view === "sandwich" && S.fn) parts.push("fn=" + enc(S.fn));
    else if (S.view === "icicle") parts.push("view=icicle");
    var h = parts.length ? "#" + parts.join("&") : "";
    if (h !== location.hash && !(h === "" && location.hash === "#")) {
      history.replaceState(null, "", h || location.pathname + location.search);
    }
  }
  function fmtS(x) { return String(Math.round(x * 1000) / 1000); }
  function fmtN(x) { return x.toLocaleString("en-US"); }
  function pct(x, of) { return of > 0 ? (100 * x / of).toFixed(2) + "%" : "0%"; }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  // --- the selection ---------------------------------------------------------------------------
  var nodeSelf = new Float64Array(nodes), nodeTotal = new Float64Array(nodes);
  var selTotal = 0;
  function passes(i, withRange) {
    if (S.cpu !== null && sCpu[i] !== S.cpu) return false;
    var th = threads[sThread[i]];
    if (S.pid !== null && th[0] !== S.pid) return false;
    if (S.tid !== null && th[1] !== S.tid) return false;
    if (withRange && S.range) {
      var t = sTime[i];
      if (t < S.range[0] * 1e6 || t >= S.range[1] * 1e6) return false;
    }
    return true;
  }
  function computeSelection() {
    nodeSelf.fill(0);
    selTotal = 0;
    for (var i = 0; i < N; i++) {
      if (!passes(i, true)) continue;
      var w = sWeight ? sWeight[i] : 1;
      nodeSelf[sNode[i]] += w;
      selTotal += w;
    }
    nodeTotal.set(nodeSelf);
    for (var n = nodes - 1; n > 0; n--) nodeTotal[nodeParent[n]] += nodeTotal[n];
  }

  // --- colours -----------------------------------------------------------------------------------
  function hash(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return h >>> 0;
  }
  function frameColour(name) {
    var h = hash(name);
    var r = 205 + (h & 63) * 50 / 63, g = ((h >>> 6) & 255) * 200 / 255,
        b = ((h >>> 14) & 63) * 55 / 63;
    return "rgb(" + (r | 0) + "," + (g | 0) + "," + (b | 0) + ")";
  }
  function processColour(pid) {
    var h = hash(String(pid));
    return "hsl(" + (h % 360) + "," + (45 + (h >>> 9) % 30) + "%," + (45 + (h >>> 17) % 20) + "%)";
  }

  // --- heatmap ---------------------------------------------------------------------------------
  var ROWS = 50, CW = 14, CH = 6, LEFT = 44, TOP = 16; // CW: see drawHeatmap
  var heat = document.getElementById("heatmap");
  var cols = Math.max(1, Math.floor(durationS) + 1);
  var drag = null;
  function cellAt(ev) {
    var r = heat.getBoundingClientRect();
    var c = Math.floor((ev.clientX - r.left - LEFT) / CW);
    var row = Math.floor((ev.clientY - r.top - TOP) / CH);
    return { c: Math.max(0, Math.min(cols - 1, c)), r: Math.max(0, Math.min(ROWS - 1, row)) };
  }
  function cellTime(cell) { return cell.c + cell.r / ROWS; }
  function dragRange(a, b) {
    var ta = cellTime(a), tb = cellTime(b);
    return [Math.min(ta, tb), Math.max(ta, tb) + 1 / ROWS];
  }
  function drawHeatmap() {
    if (!D.hasTime) return;
    // Columns as wide as the panel allows (FlameScope's layout), scrolling beyond 10 px each.
    var room = document.getElementById("heatmap-scroll").clientWidth - LEFT - 8;
    CW = Math.max(10, Math.min(48, Math.floor(room / cols)));
    // The counts depend on the filters only: a drag redraws without counting again.
    var key = S.cpu + "/" + S.pid + "/" + S.tid, counts, max = 0, i, c, r;
    if (heat._key === key) {
      counts = heat._counts;
      max = heat._max;
    } else {
      counts = new Float64Array(cols * ROWS);
      for (i = 0; i < N; i++) {
        if (!passes(i, false)) continue;
        var t = sTime[i] / 1e6;
        c = Math.floor(t);
        r = Math.floor((t - c) * ROWS);
        if (c >= cols) continue;
        var k = c * ROWS + r;
        counts[k] += sWeight ? sWeight[i] : 1;
        if (counts[k] > max) max = counts[k];
      }
      heat._key = key;
      heat._counts = counts;
      heat._max = max;
    }
    var W = LEFT + cols * CW + 4, H = TOP + ROWS * CH + 2, dpr = window.devicePixelRatio || 1;
    heat.width = W * dpr; heat.height = H * dpr;
    heat.style.width = W + "px"; heat.style.height = H + "px";
    heat.dataset.columns = cols; heat.dataset.rows = ROWS; heat.dataset.left = LEFT;
    heat.dataset.top = TOP; heat.dataset.cellWidth = CW; heat.dataset.cellHeight = CH;
    heat.dataset.max = max;
    var g = heat.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
    g.font = "10px sans-serif"; g.fillStyle = "#555"; g.textBaseline = "top";
    var step = Math.max(1, Math.ceil(30 / CW));
    for (var c2 = 0; c2 < cols; c2 += step) g.fillText(c2 + "s", LEFT + c2 * CW, 2);
    for (var r2 = 0; r2 < ROWS; r2 += 10) g.fillText(r2 * 1000 / ROWS + "ms", 2, TOP + r2 * CH);
    var sel = drag ? dragRange(drag.a, drag.b) : S.range;
    for (c = 0; c < cols; c++) {
      for (r = 0; r < ROWS; r++) {
        var v = counts[c * ROWS + r], x = LEFT + c * CW, y = TOP + r * CH;
        if (v > 0) {
          var f = Math.sqrt(v / max);
          g.fillStyle = "rgb(" + (255 - 90 * f | 0) + "," + (236 - 226 * f | 0) + "," +
            (220 - 215 * f | 0) + ")";
        } else g.fillStyle = "#f6f6f6";
        g.fillRect(x, y, CW - 1, CH - 1);
        var t0 = c + r / ROWS + 1e-9;
        if (sel && t0 >= sel[0] && t0 < sel[1]) {
          g.fillStyle = "rgba(42,111,219,0.35)";
          g.fillRect(x, y, CW - 1, CH - 1);
        }
      }
    }
  }
  heat.addEventListener("mousedown", function (ev) {
    if (ev.button !== 0) return;
    ev.preventDefault();
    var cell = cellAt(ev);
    drag = { a: cell, b: cell };
    drawHeatmap();
  });
  heat.addEventListener("mousemove", function (ev) {
    var cell = cellAt(ev);
    if (drag) {
      if (cell.c !== drag.b.c || cell.r !== drag.b.r) { drag.b = cell; drawHeatmap(); }
    }
    var counts = heat._counts, v = counts ? counts[cell.c * ROWS + cell.r] : 0;
    var t = cellTime(cell);
    showTip(ev, fmtS(t) + "–" + fmtS(t + 1 / ROWS) + " s: " + fmtN(v) + " " + D.countName +
      (drag ? "\nselecting " + dragRange(drag.a, drag.b).map(fmtS).join("–") + " s" : ""));
  });
  heat.addEventListener("mouseleave", hideTip);
  window.addEventListener("mouseup", function (ev) {
    if (!drag) return;
    if (ev.target === heat) drag.b = cellAt(ev);
    S.range = dragRange(drag.a, drag.b);
    drag = null;
    S.zoom = 0;
    update();
  });

  // --- per-CPU lanes ---------------------------------------------------------------------------
  var lanes = document.getElementById("lanes");
  var LANE_H = 14, LANE_LEFT = 52, laneBins = null;
  function laneVotes(B, cpuRow, span) {
    var cand = new Int32Array(cpus.length * B).fill(-1), votes = new Int32Array(cpus.length * B);
    var b, k;
    for (var i = 0; i < N; i++) {
      if (sCpu[i] < 0) continue;
      b = Math.min(B - 1, Math.floor(sTime[i] / span * B));
      k = cpuRow[sCpu[i]] * B + b;
      var th = sThread[i];
      if (votes[k] === 0) { cand[k] = th; votes[k] = 1; }
      else if (cand[k] === th) votes[k]++;
      else votes[k]--;
      if (votes[k] === 0) cand[k] = -1;
    }
    for (i = 0; i < N; i++) { // cells whose vote cancelled out: any thread of theirs
      if (sCpu[i] < 0) continue;
      b = Math.min(B - 1, Math.floor(sTime[i] / span * B)); k = cpuRow[sCpu[i]] * B + b;
      if (cand[k] < 0) cand[k] = -2 - sThread[i];
    }
    return cand;
  }
  function drawLanes() {
    if (!D.hasTime || cpus.length === 0) { lanes.hidden = true; return; }
    var W = Math.max(200, lanes.parentNode.clientWidth - 24), H = cpus.length * LANE_H + 2;
    var dpr = window.devicePixelRatio || 1;
    lanes.width = W * dpr; lanes.height = H * dpr; lanes.style.height = H + "px";
    var B = Math.max(1, Math.floor((W - LANE_LEFT) / 2)), cpuRow = {};
    cpus.forEach(function (c, k) { cpuRow[c] = k; });
    // The thread that ran most in each bin (majority vote: one candidate and a count per cell),
    // counted again only when the width changes.
    var span = Math.max(D.durationUs, 1);
    if (!laneBins || laneBins.B !== B) laneBins = { B: B, cand: laneVotes(B, cpuRow, span), W: W };
    laneBins.W = W;
    var cand = laneBins.cand;
    var g = lanes.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
    g.font = "10px sans-serif"; g.textBaseline = "middle";
    var bw = (W - LANE_LEFT) / B;
    cpus.forEach(function (c, row) {
      g.fillStyle = S.cpu === c ? "#2a6fdb" : "#555";
      g.fillText("CPU " + c, 2, row * LANE_H + LANE_H / 2);
      for (var b2 = 0; b2 < B; b2++) {
        var t = cand[row * B + b2];
        if (t === -1) continue;
        if (t < -1) t = -2 - t;
        var th = threads[t];
        var dim = (S.pid !== null && th[0] !== S.pid) || (S.tid !== null && th[1] !== S.tid);
        g.fillStyle = dim ? "#ddd" : processColour(th[0]);
        g.fillRect(LANE_LEFT + b2 * bw, row * LANE_H + 1, Math.ceil(bw), LANE_H - 2);
      }
    });
    if (S.range) {
      g.fillStyle = "rgba(42,111,219,0.18)";
      var x0 = LANE_LEFT + S.range[0] * 1e6 / span * (W - LANE_LEFT);
      var x1 = LANE_LEFT + S.range[1] * 1e6 / span * (W - LANE_LEFT);
      g.fillRect(x0, 0, Math.max(1, x1 - x0), H);
    }
  }
  function laneAt(ev) {
    var r = lanes.getBoundingClientRect(), row = Math.floor((ev.clientY - r.top) / LANE_H);
    if (!laneBins || row < 0 || row >= cpus.length) return null;
    var b = Math.floor((ev.clientX - r.left - LANE_LEFT) / ((laneBins.W - LANE_LEFT) / laneBins.B));
    if (b < 0 || b >= laneBins.B) return { cpu: cpus[row] };
    var t = laneBins.cand[row * laneBins.B + b];
    if (t < -1) t = -2 - t;
    return { cpu: cpus[row], thread: t >= 0 ? threads[t] : null,
             time: b / laneBins.B * D.durationUs / 1e6 };
  }
  lanes.addEventListener("mousemove", function (ev) {
    var l = laneAt(ev);
    if (!l) return hideTip();
    showTip(ev, "CPU " + l.cpu + (l.time !== undefined ? " at " + fmtS(l.time) + " s" : "") +
      (l.thread ? ": " + l.thread[2] + " (pid " + l.thread[0] + ", tid " + l.thread[1] + ")" : ""));
  });
  lanes.addEventListener("mouseleave", hideTip);
  lanes.addEventListener("click", function (ev) {
    var l = laneAt(ev);
    if (!l) return;
    S.cpu = S.cpu === l.cpu ? null : l.cpu;
    S.zoom = 0;
    update();
  });

  // --- trees (flame graph, sandwich) -------------------------------------------------------------
  // A drawable tree: {name, total, self, node (main tree only), children: [...]}.
  function mainTree(n, minTotal) {
    var t = { name: n === 0 ? "all" : frames[nodeFrame[n]], total: nodeTotal[n],
              self: nodeSelf[n], node: n, children: [] };
    for (var k = childStart[n]; k < childStart[n + 1]; k++) {
      var c = childList[k];
      if (nodeTotal[c] > 0 && nodeTotal[c] >= minTotal) t.children.push(mainTree(c, minTotal));
    }
    return t;
  }
  function fnFrame(name) { return frames.indexOf(name); }
  function sortTree(t) {
    var list = [];
    t.children.forEach(function (c) { list.push(sortTree(c)); });
    list.sort(function (x, y) { return x.name < y.name ? -1 : x.name > y.name ? 1 : 0; });
    t.children = list;
    return t;
  }
  function sandwichTrees(name) {
    var f = fnFrame(name);
    var callers = { name: name, total: 0, self: 0, children: [], map: {} };
    var callees = { name: name, total: 0, self: 0, children: [], map: {} };
    if (f < 0) return { callers: callers, callees: callees };
    function child(t, nm) {
      var c = t.map[nm];
      if (!c) { c = t.map[nm] = { name: nm, total: 0, self: 0, children: [], map: {} };
                t.children.push(c); }
      return c;
    }
    var mapped = new Array(nodes);
    for (var n = 1; n < nodes; n++) {
      if (nodeTotal[n] === 0) continue;
      var m = null;
      if (nodeFrame[n] === f && !dupAnc[n]) {
        m = callees;
        callers.total += nodeTotal[n];
        var up = callers;
        for (var a = nodeParent[n]; a > 0; a = nodeParent[a]) {
          up = child(up, frames[nodeFrame[a]]);
          up.total += nodeTotal[n];
        }
      } else if (mapped[nodeParent[n]]) m = child(mapped[nodeParent[n]], frames[nodeFrame[n]]);
      if (m) {
        m.total += nodeTotal[n];
        m.self += nodeSelf[n];
        mapped[n] = m;
      }
    }
    callers.self = callees.self;
    return { callers: sortTree(callers), callees: sortTree(callees) };
  }

  var ROW_H = 16;
  var flame = document.getElementById("flame"), calleesCanvas = document.getElementById("callees");
  var searchRe = null;
  // Lays out and draws `tree` into `canvas`; `up`: root at the bottom. With `zoomNode` (main
  // tree), its ancestors span the width and its subtree is scaled to it.
  function drawTree(canvas, tree, up, zoomPath) {
    var W = Math.max(300, canvas.parentNode.clientWidth - 24);
    var rects = [], maxDepth = 0;
    var charW = 6.6;
    // Zoom: the path of trees from the root to the zoomed one.
    var start = tree, depth0 = 0;
    if (zoomPath && zoomPath.length > 1) {
      for (var z = 0; z < zoomPath.length - 1; z++) {
        rects.push({ t: zoomPath[z], depth: z, x: 0, w: W, ancestor: true });
      }
      start = zoomPath[zoomPath.length - 1];
      depth0 = zoomPath.length - 1;
    }
    if (start.total > 0) {
      (function placeScaled(t, depth, x, w) {
        rects.push({ t: t, depth: depth, x: x, w: w });
        if (depth > maxDepth) maxDepth = depth;
        var cx = x;
        t.children.forEach(function (c) {
          var cw = w * c.total / t.total;
          if (cw >= 0.4) placeScaled(c, depth + 1, cx, cw);
          cx += cw;
        });
      })(start, depth0, 0, W);
    }
    var H = (maxDepth + 1) * ROW_H + 2, dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr; canvas.height = H * dpr; canvas.style.height = H + "px";
    var g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    g.font = "11px ui-monospace, 'DejaVu Sans Mono', monospace";
    g.textBaseline = "middle";
    // One path per colour: a fillRect per frame costs far more on a software canvas.
    var byColour = {}, labels = [];
    rects.forEach(function (r) {
      r.y = up ? (maxDepth - r.depth) * ROW_H : r.depth * ROW_H;
      r.h = ROW_H - 1;
      var matched = searchRe && searchRe.test(r.t.name);
      var c = matched ? "rgb(230,0,230)" : r.ancestor ? "#e8d9a8" : frameColour(r.t.name);
      (byColour[c] || (byColour[c] = [])).push(r);
      if (r.w >= 3 * charW + 6) labels.push(r);
    });
    Object.keys(byColour).forEach(function (c) {
      g.beginPath();
      byColour[c].forEach(function (r) { g.rect(r.x, r.y, Math.max(r.w - 0.5, 0.5), r.h); });
      g.fillStyle = c;
      g.fill();
    });
    g.fillStyle = "#000";
    labels.forEach(function (r) {
      var chars = Math.floor((r.w - 6) / charW);
      var label = r.t.name.length <= chars ? r.t.name : r.t.name.slice(0, chars - 2) + "..";
      g.fillText(label, r.x + 3, r.y + r.h / 2 + 1);
    });
    canvas._rects = rects;
    return rects;
  }
  function rectAt(canvas, ev) {
    var b = canvas.getBoundingClientRect(), x = ev.clientX - b.left, y = ev.clientY - b.top;
    var rs = canvas._rects || [];
    for (var i = rs.length - 1; i >= 0; i--) {
      var r = rs[i];
      if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h + 1) return r;
    }
    return null;
  }
  function describe(r, of) {
    return r.t.name + " — total " + fmtN(r.t.total) + " " + D.countName + " (" +
      pct(r.t.total, of) + "), self " + fmtN(r.t.self);
  }
  [flame, calleesCanvas].forEach(function (cv) {
    cv.addEventListener("mousemove", function (ev) {
      var r = rectAt(cv, ev);
      if (!r) { hideTip(); return; }
      var d = describe(r, selTotal);
      document.getElementById("details").textContent = d;
      showTip(ev, d);
    });
    cv.addEventListener("mouseleave", hideTip);
    cv.addEventListener("click", function (ev) {
      var r = rectAt(cv, ev);
      if (!r) return;
      if (S.view === "sandwich") { // a caller or callee becomes the sandwiched function
        if (r.t.name !== S.fn) { S.fn = r.t.name; update(); }
        return;
      }
      S.zoom = r.t.node || 0;
      drawGraph();
    });
    cv.addEventListener("dblclick", function (ev) {
      var r = rectAt(cv, ev);
      if (r && r.t.node) { S.fn = r.t.name; S.view = "sandwich"; update(); }
    });
  });

  function drawGraph() {
    var head = document.getElementById("sandwich-head");
    var matchedEl = document.getElementById("matched");
    matchedEl.textContent = "";
    if (S.view === "sandwich") {
      var sw = sandwichTrees(S.fn);
      head.hidden = false;
      head.textContent = "Sandwich: " + S.fn + " — total " + fmtN(sw.callers.total) + " (" +
        pct(sw.callers.total, selTotal) + "), self " + fmtN(sw.callees.self) +
        ". Callers above, callees below; click a frame to sandwich it.";
      calleesCanvas.hidden = false;
      drawTree(flame, sw.callers, true, null);
      drawTree(calleesCanvas, sw.callees, false, null);
      return;
    }
    head.hidden = true;
    calleesCanvas.hidden = true;
    if (nodeTotal[S.zoom] === 0) S.zoom = 0;
    // Frames narrower than 0.4 px of the zoomed one's width are neither built nor drawn.
    var W = Math.max(300, flame.parentNode.clientWidth - 24);
    var tree = mainTree(0, nodeTotal[S.zoom] * 0.4 / W), zoomPath = null;
    if (S.zoom !== 0) {
      var chain = [];
      for (var a = S.zoom; a >= 0; a = nodeParent[a]) { chain.unshift(a); if (a === 0) break; }
      zoomPath = [];
      var t = tree;
      chain.forEach(function (n, k) {
        if (k > 0) t = t.children.filter(function (c) { return c.node === n; })[0];
        zoomPath.push(t);
      });
    }
    drawTree(flame, tree, S.view !== "icicle", zoomPath);
    document.getElementById("reset").disabled = S.zoom === 0;
    if (searchRe) {
      var m = matchedTotal(searchRe, S.zoom);
      matchedEl.textContent = "Matched: " + pct(m, nodeTotal[S.zoom]);
      matchedEl.dataset.matched = m;
      matchedEl.dataset.of = nodeTotal[S.zoom];
    }
  }
  // Exact: the samples under the zoomed node whose stacks hold a matching frame (the union,
  // counted once per sample however many frames of it match).
  function matchedTotal(re, zoom) {
    var fm = new Uint8Array(frames.length);
    frames.forEach(function (nm, k) { fm[k] = re.test(nm) ? 1 : 0; });
    for (var a = zoom; a > 0; a = nodeParent[a]) if (fm[nodeFrame[a]]) return nodeTotal[zoom];
    var inside = new Uint8Array(nodes), covered = new Uint8Array(nodes), sum = 0;
    inside[zoom] = 1;
    for (var n = 1; n < nodes; n++) {
      var p = nodeParent[n];
      if (!inside[p] && n !== zoom) continue;
      inside[n] = 1;
      if (covered[p]) { covered[n] = 1; continue; }
      if (fm[nodeFrame[n]]) { covered[n] = 1; sum += nodeTotal[n]; }
    }
    return sum;
  }

  // --- functions table -------------------------------------------------------------------------
  var table = document.getElementById("functions");
  function drawTable() {
    var self = new Float64Array(frames.length), total = new Float64Array(frames.length);
    for (var n = 1; n < nodes; n++) {
      if (nodeTotal[n] === 0) continue;
      self[nodeFrame[n]] += nodeSelf[n];
      if (!dupAnc[n]) total[nodeFrame[n]] += nodeTotal[n];
    }
    var rows = [];
    for (var f = 0; f < frames.length; f++) if (total[f] > 0) rows.push(f);
    var key = S.sort;
    rows.sort(function (x, y) {
      if (key === "name") return frames[x] < frames[y] ? -1 : frames[x] > frames[y] ? 1 : 0;
      var a = key === "self" ? self : total;
      return a[y] - a[x] || total[y] - total[x] || (frames[x] < frames[y] ? -1 : 1);
    });
    var html = [];
    rows.forEach(function (r) {
      var nm = esc(frames[r]);
      html.push("<tr data-name=\"" + nm + "\" data-self=\"" + self[r] + "\" data-total=\"" +
        total[r] + "\"" + (S.view === "sandwich" && frames[r] === S.fn ? " class=\"current\"" : "") +
        "><td>" + nm + "</td><td class=\"num\">" + fmtN(self[r]) + " (" + pct(self[r], selTotal) +
        ")</td><td class=\"num\">" + fmtN(total[r]) + " (" + pct(total[r], selTotal) + ")</td></tr>");
    });
    table.tBodies[0].innerHTML = html.join("");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.classList.toggle("sorted", th.dataset.key === key);
    });
  }
  table.tHead.addEventListener("click", function (ev) {
    var th = ev.target.closest("th");
    if (!th) return;
    S.sort = th.dataset.key;
    drawTable();
  });
  table.tBodies[0].addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr");
    if (!tr) return;
    S.fn = tr.dataset.name;
    S.view = "sandwich";
    update();
  });

  // --- controls ----------------------------------------------------------------------------------
  var fCpu = document.getElementById("f-cpu"), fPid = document.getElementById("f-pid"),
      fTid = document.getElementById("f-tid");
  cpus.forEach(function (c) { fCpu.add(new Option("CPU " + c, c)); });
  Object.keys(pids).map(Number).sort(function (x, y) { return x - y; }).forEach(function (p) {
    fPid.add(new Option(pids[p] + " (" + p + ")", p));
  });
  function fillThreads() {
    while (fTid.options.length > 1) fTid.remove(1);
    threads.forEach(function (t) {
      if (S.pid === null || t[0] === S.pid) fTid.add(new Option(t[2] + " (" + t[1] + ")", t[1]));
    });
  }
  function onFilter() {
    S.cpu = num(fCpu.value); S.pid = num(fPid.value); S.tid = num(fTid.value);
    S.zoom = 0;
    update();
  }
  fCpu.addEventListener("change", onFilter);
  fPid.addEventListener("change", onFilter);
  fTid.addEventListener("change", onFilter);
  function setView(v) {
    if (v === "sandwich" && !S.fn) {
      var first = table.tBodies[0].rows[0];
      if (!first) return;
      S.fn = first.dataset.name;
    }
    S.view = v;
    update();
  }
  document.getElementById("v-flame").addEventListener("click", function () { setView("flame"); });
  document.getElementById("v-icicle").addEventListener("click", function () { setView("icicle"); });
  document.getElementById("v-sandwich").addEventListener("click",
    function () { setView("sandwich"); });
  document.getElementById("reset").addEventListener("click", function () {
    S.zoom = 0;
    drawGraph();
  });
  document.getElementById("range-all").addEventListener("click", function () {
    S.range = null; S.zoom = 0; update();
  });
  var search = document.getElementById("search");
  function compileSearch() {
    searchRe = null;
    search.classList.remove("bad");
    if (!S.search) return;
    try { searchRe = new RegExp(S.search); } catch (e) { search.classList.add("bad"); }
  }
  search.addEventListener("input", function () {
    S.search = search.value;
    compileSearch();
    writeHash();
    drawGraph();
  });
  document.addEventListener("keydown", function (ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.code === "KeyF") { ev.preventDefault(); search.focus(); }
    if (ev.key === "Escape" && document.activeElement !== search) { S.zoom = 0; drawGraph(); }
  });

  var tip = document.getElementById("tip");
  function showTip(ev, text) {
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + "px";
    tip.style.top = ev.clientY + 14 + "px";
  }
  function hideTip() { tip.hidden = true; }

  function drawSelection() {
    var txt = (S.range ? "Selection " + fmtS(S.range[0]) + "–" + fmtS(S.range[1]) + " s"
      : "Whole capture") + ": " + fmtN(selTotal) + " " + D.countName +
      (S.cpu !== null ? ", CPU " + S.cpu : "") + (S.pid !== null ? ", pid " + S.pid : "") +
      (S.tid !== null ? ", tid " + S.tid : "") + ".";
    document.getElementById("sel-text").textContent = txt;
    var cmd = document.getElementById("command");
    cmd.textContent = D.command && S.range ? D.command + " --time-range " + fmtS(S.range[0]) +
      "," + fmtS(S.range[1]) : D.command;
    cmd.hidden = !D.command;
  }
  function update() {
    fCpu.value = S.cpu === null ? "" : S.cpu;
    fPid.value = S.pid === null ? "" : S.pid;
    fillThreads();
    fTid.value = S.tid === null ? "" : S.tid;
    search.value = S.search;
    compileSearch();
    ["flame", "icicle", "sandwich"].forEach(function (v) {
      document.getElementById("v-" + v).classList.toggle("on", S.view === v);
    });
    computeSelection();
    drawHeatmap();
    drawLanes();
    drawSelection();
    drawTable();
    drawGraph();
    writeHash();
  }

  document.getElementById("title").textContent = D.title;
  document.getElementById("summary").textContent = fmtN(N) + " samples, " +
    (D.hasTime ? fmtS(durationS) + " s from the first sample, " : "") + cpus.length + " CPUs, " +
    Object.keys(pids).length + " processes, " + threads.length + " threads";
  if (!D.hasTime) {
    document.getElementById("heatmap-scroll").hidden = true;
    document.getElementById("no-time").hidden = false;
    lanes.hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll("#time-panel .panel-head"),
      function (e) { e.hidden = true; });
  }
  window.addEventListener("hashchange", function () { readHash(); S.zoom = 0; update(); });
  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { drawHeatmap(); drawLanes(); drawGraph(); }, 100);
  });
  readHash();
  update();

  // For automation and tests: the drawn frames of a canvas, in client coordinates.
  window.explorer = {
    ready: true,
    state: S,
    selectionTotal: function () { return selTotal; },
    frames: function (canvasId) {
      var cv = document.getElementById(canvasId || "flame"), b = cv.getBoundingClientRect();
      return (cv._rects || []).map(function (r) {
        return { name: r.t.name, total: r.t.total, self: r.t.self, depth: r.depth,
                 x: b.left + r.x, y: b.top + r.y, w: r.w, h: r.h };
      });
    }
  };
})();
