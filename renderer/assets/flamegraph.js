// profile's flame graph viewer (written for this project). Configuration comes from fg_config,
// which the renderer writes just before this script. Every frame is a <g> (or <a> for
// --nameattr links) holding <title>, a <rect> with fg:x / fg:w (start and width in counts), and
// an optional <text> label. Positions are recomputed from those counts, never from rounded
// pixels, so zoom and the Matched figure are exact. Frames pruned for --minwidth come as
// fg_pruned (per name, the spans they covered), so Matched stays exact with them too.
"use strict";
var fg = null;

function fg_el(id) { return document.getElementById(id); }

// The load handler touches no frame: reading every frame's elements from script costs about
// as much as drawing them (the DOM builds a wrapper for each element on first access), so the
// graph is painted first and the frames are read just after, before anything needs them.
// Labels are written fitted by the renderer; a fluid drawing narrower than the width they were
// fitted for (the renderer lays a fluid drawing out 1200 px wide) hides them until they are refitted.
var FG_FLUID_LABEL_WIDTH = 1180;

function init(evt) {
  var c = fg_config;
  fg = {
    svg: document.documentElement, frames: fg_el("frames"), details: fg_el("details"),
    unzoombtn: fg_el("unzoom"), searchbtn: fg_el("search"), icbtn: fg_el("ignorecase"),
    matchedtxt: fg_el("matched"), nodes: [], root: null, zoomed: null, term: "",
    ignorecase: false, charpx: c.fontsize * c.fontwidth, width: 0, re: null,
    details_full: " ", pruned: [], pruned_hits: [], refits: 0, refit_timer: null,
    scanned: false
  };

  fg.frames.addEventListener("click", on_frame_click);
  fg.frames.addEventListener("mouseover", function (e) {
    var n = node_of(e.target);
    if (n) set_details(c.nametype + " " + n.tip);
  });
  fg.frames.addEventListener("mouseout", function (e) {
    if (node_of(e.target)) set_details(" ");
  });
  fg.unzoombtn.addEventListener("click", function () { unzoom(); save_state(); });
  fg.searchbtn.addEventListener("click", function () {
    if (fg.term) reset_search(); else search_prompt();
    save_state();
  });
  fg.icbtn.addEventListener("click", function () { toggle_ignorecase(); });
  window.addEventListener("keydown", on_key);
  if (c.fluid) window.addEventListener("resize", on_resize);
  fit_width();
  if (location.hash.length > 1) {  // a shared view: shown as it was, not after a first paint
    restore_state();
    return;
  }
  if (c.fluid && fg.width < FG_FLUID_LABEL_WIDTH - 0.5) fg.frames.setAttribute("class", "unfitted");
  var after_paint = function () {
    setTimeout(function () {
      restore_state();
      fg.frames.removeAttribute("class");
    }, 0);
  };
  if (window.requestAnimationFrame) requestAnimationFrame(after_paint); else after_paint();
}

// Reads the frames from the document (once): every entry point that needs them calls this.
function frames_ready() {
  if (fg.scanned) return;
  fg.scanned = true;
  var c = fg_config;
  fg.pruned = read_pruned();
  var groups = fg.frames.children;
  var rooty = c.inverted ? Infinity : -Infinity;
  for (var i = 0; i < groups.length; i++) {
    var g = groups[i];
    var title = g.firstElementChild;
    var rect = title ? title.nextElementSibling : null;
    if (!rect || rect.tagName !== "rect") continue;
    var tip = title.textContent;
    var paren = tip.lastIndexOf(" (");
    var n = {
      g: g, rect: rect, text: rect.nextElementSibling, tip: tip,
      name: paren >= 0 ? tip.substring(0, paren) : tip,
      x: +rect.getAttribute("fg:x"), w: +rect.getAttribute("fg:w"),
      y: +rect.getAttribute("y"), h: +rect.getAttribute("height"),
      fill: rect.getAttribute("fill"), depth: 0, label: null, cls: "",
      fx: -1, fw: -1, lpx: -1
    };
    if (n.text) n.label = n.text.textContent;
    if (c.inverted ? n.y < rooty : n.y > rooty) { rooty = n.y; fg.root = n; }
    g.fg_node = n;
    fg.nodes.push(n);
  }
  var rowh = fg.nodes.length ? fg.nodes[0].h + 1 : 1;
  for (var j = 0; j < fg.nodes.length; j++)
    fg.nodes[j].depth = Math.round(Math.abs(fg.nodes[j].y - rooty) / rowh);
  if (fg.root) {
    fg.root.name = "all";
    // The drawing's own geometry: the first layout then writes nothing that is already right.
    for (var k = 0; k < fg.nodes.length; k++) {
      var m = fg.nodes[k];
      m.fx = (m.x - fg.root.x) / fg.root.w; m.fw = m.w / fg.root.w;
    }
  }
}

function node_of(el) {
  frames_ready();
  while (el && el !== fg.frames) {
    if (el.fg_node) return el.fg_node;
    el = el.parentNode;
  }
  return null;
}

function set_details(s) { fg.details_full = s; fit_details(); }

// The details line ends before "Matched" (or the right margin): a long one is shortened with an
// ellipsis (the frame's <title> tooltip keeps the whole text). Measured, as it is one element.
function fit_details() {
  var el = fg.details, s = fg.details_full, c = fg_config;
  if (el.textContent !== s) el.textContent = s;
  var right = fg.width + c.xpad;
  if (fg.matchedtxt.getAttribute("class") !== "hide" && fg.matchedtxt.textContent.trim())
    right -= fg.matchedtxt.getComputedTextLength() + 2 * c.fontsize * c.fontwidth;
  var room = right - (+el.getAttribute("x"));
  if (el.getComputedTextLength() <= room) return;
  var cps = Array.from(s), lo = 0, hi = cps.length;
  while (lo < hi) {  // the longest prefix that fits with the ellipsis
    var mid = (lo + hi + 1) >> 1;
    el.textContent = cps.slice(0, mid).join("") + "\u2026";
    if (el.getComputedTextLength() <= room) lo = mid; else hi = mid - 1;
  }
  el.textContent = lo > 0 ? cps.slice(0, lo).join("") + "\u2026" : "";
}

// A resize moves the controls at once; the frames need nothing (their geometry is relative to
// the frame area), only their labels are refitted, once the resizing has paused.
function on_resize() {
  fit_width();
  fit_details();
  if (fg.refit_timer !== null) clearTimeout(fg.refit_timer);
  fg.refit_timer = setTimeout(refit_labels, 100);
}

function refit_labels() {
  frames_ready();
  fg.refit_timer = null;
  fg.refits++;
  for (var i = 0; i < fg.nodes.length; i++)
    if (fg.nodes[i].cls !== "hide") fit_text(fg.nodes[i]);
}

// Fluid drawings fill the window: move the right-hand controls and resize the frame area.
function fit_width() {
  var c = fg_config;
  var w = c.fluid ? fg.svg.getBoundingClientRect().width : +fg.svg.getAttribute("width");
  if (!(w > 0)) w = 1200;
  fg.width = w - 2 * c.xpad;
  if (!c.fluid) return;
  fg.frames.setAttribute("width", fg.width);
  fg.searchbtn.setAttribute("x", w - c.xpad - 100);
  fg.icbtn.setAttribute("x", w - c.xpad - 16);
  fg.matchedtxt.setAttribute("x", w - c.xpad);
  var title = fg_el("title"), sub = fg_el("subtitle");
  if (title) title.setAttribute("x", w / 2);
  if (sub) sub.setAttribute("x", w / 2);
}

function on_frame_click(e) {
  var n = node_of(e.target);
  if (!n) return;
  // --nameattr links are followed; Ctrl-click zooms instead.
  if (n.g.tagName === "a" && !e.ctrlKey) return;
  e.preventDefault();
  if (n === fg.root || n === fg.zoomed) { if (n === fg.root) unzoom(); }
  else zoom(n);
  save_state();
}

// The letter of a shortcut: the typed one on Latin layouts, else the physical key (e.code), so
// Ctrl-F works on Cyrillic, Greek... layouts as well.
function key_letter(e) {
  if (/^[a-z]$/i.test(e.key)) return e.key.toLowerCase();
  var m = /^Key([A-Z])$/.exec(e.code || "");
  return m ? m[1].toLowerCase() : "";
}

function on_key(e) {
  var k = e.key, mod = e.ctrlKey || e.metaKey, letter = key_letter(e);
  if ((mod && letter === "f") || k === "F3") {
    e.preventDefault();
    search_prompt();
    save_state();
  } else if (mod && letter === "i") {
    e.preventDefault();
    toggle_ignorecase();
  } else if (k === "Escape") {
    unzoom();
    reset_search();
    save_state();
  }
}

// Fits a label arithmetically (average glyph width), so relayout stays fast with many frames.
function fit_label(name, px) {
  var chars = Math.floor(px / fg.charpx);
  if (chars < 3) return "";
  var cps = Array.from(name);
  if (cps.length <= chars) return name;
  if (fg_config.truncate_left) return ".." + cps.slice(cps.length - (chars - 2)).join("");
  return cps.slice(0, chars - 2).join("") + "..";
}

// Positions a frame at fraction fx of the frame area with width fraction fw. Fluid drawings
// use percentages of the frame area, so only zooming moves rects, never a resize.
function place(n, fx, fw) {
  if (n.fx !== fx || n.fw !== fw) {
    n.fx = fx; n.fw = fw;
    var c = fg_config, r = n.rect;
    if (c.fluid) {
      r.setAttribute("x", (fx * 100).toFixed(4) + "%");
      r.setAttribute("width", (fw * 100).toFixed(4) + "%");
    } else {
      r.setAttribute("x", (c.xpad + fx * fg.width).toFixed(1));
      r.setAttribute("width", (fw * fg.width).toFixed(1));
    }
    if (n.text) n.text.setAttribute("x", text_x(n));
  }
  fit_text(n);
}

function text_x(n) {
  return fg_config.fluid ? (n.fx * 100).toFixed(4) + "%"
                         : (fg_config.xpad + n.fx * fg.width + 3).toFixed(2);
}

// Fits the label to the frame's width in pixels; writes only when the text changes.
function fit_text(n) {
  var px = n.fw * fg.width;
  if (n.lpx === px) return;
  n.lpx = px;
  var label = fit_label(n.name, px);
  if (label && !n.text) {
    n.text = document.createElementNS("http://www.w3.org/2000/svg", "text");
    n.text.setAttribute("x", text_x(n));
    n.text.setAttribute("y", 3 + n.y + n.h / 2);
    if (fg_config.fluid) n.text.setAttribute("dx", "3");
    n.g.appendChild(n.text);
  }
  if (n.text && n.label !== label) { n.text.textContent = label; n.label = label; }
}

// DOM writes are the cost with tens of thousands of frames: only changes are written.
function show(n, cls) {
  if (n.cls === cls) return;
  n.cls = cls;
  if (cls) n.g.setAttribute("class", cls); else n.g.removeAttribute("class");
}

// Lays every frame out for the current zoom target (the root when not zoomed).
function relayout() {
  frames_ready();
  var z = fg.zoomed || fg.root;
  if (!z) return;
  var zs = z.x, zw = z.w, ze = z.x + z.w, eps = 1e-9 * Math.max(1, fg.root.w);
  for (var i = 0; i < fg.nodes.length; i++) {
    var n = fg.nodes[i];
    if (n.depth < z.depth) {
      // Root side: ancestors of the target span the whole width, dimmed; the rest is hidden.
      if (n.x <= zs + eps && n.x + n.w >= ze - eps) { show(n, "parent"); place(n, 0, 1); }
      else show(n, "hide");
    } else if (n.depth === z.depth) {
      if (n === z) { show(n, ""); place(n, 0, 1); }
      else show(n, "hide");
    } else if (n.x >= zs - eps && n.x < ze - eps || (n.w === 0 && n.x >= zs && n.x <= ze)) {
      show(n, "");
      place(n, (n.x - zs) / zw, n.w / zw);
    } else {
      show(n, "hide");
    }
  }
  if (z === fg.root) fg.unzoombtn.setAttribute("class", "hide");
  else fg.unzoombtn.removeAttribute("class");
  update_matched();
}

function zoom(n) { fg.zoomed = n; relayout(); }
function unzoom() { fg.zoomed = null; relayout(); }

function search_prompt() {
  var term = prompt("Enter a search term (regular expression; 'ic' toggles case):", fg.term || "");
  if (term !== null) search(term);
}

function toggle_ignorecase() {
  fg.ignorecase = !fg.ignorecase;
  fg.icbtn.setAttribute("class", fg.ignorecase ? "show" : "");
  if (fg.term) search(fg.term);
  save_state();
}

function reset_search() {
  frames_ready();
  fg.term = "";
  for (var i = 0; i < fg.nodes.length; i++) {
    var n = fg.nodes[i];
    if (n.matched) { n.rect.setAttribute("fill", n.fill); n.matched = false; }
  }
  fg.searchbtn.removeAttribute("class");
  fg.searchbtn.textContent = "Search";
  fg.matchedtxt.setAttribute("class", "hide");
  fg.matchedtxt.textContent = " ";
  fg.re = null;
  fg.pruned_hits = [];
  fit_details();
}

// Searches frame names (not the count text of tooltips) with a JavaScript regular expression.
function search(term) {
  frames_ready();
  if (!term) { reset_search(); return; }
  var re;
  try { re = new RegExp(term, fg.ignorecase ? "i" : ""); }
  catch (err) {
    fg.matchedtxt.textContent = "Invalid regex";
    fg.matchedtxt.removeAttribute("class");
    fit_details();
    return;
  }
  fg.term = term;
  fg.re = re;
  fg.pruned_hits = fg.pruned.filter(function (p) { return re.test(p.name); });
  for (var i = 0; i < fg.nodes.length; i++) {
    var n = fg.nodes[i];
    var m = re.test(n.name);
    if (m !== !!n.matched) {
      n.rect.setAttribute("fill", m ? fg_config.searchcolor : n.fill);
      n.matched = m;
    }
  }
  fg.searchbtn.setAttribute("class", "show");
  fg.searchbtn.textContent = "Reset Search";
  update_matched();
}

// Share of the zoomed frame's counts whose stacks contain a match: the union of the matched
// frames' intervals and the matching pruned spans, so a match nested in another match is
// counted once.
function matched_fraction() {
  frames_ready();
  var z = fg.zoomed || fg.root;
  var zs = z.x, ze = z.x + z.w, iv = [];
  for (var i = 0; i < fg.nodes.length; i++) {
    var n = fg.nodes[i];
    if (!n.matched) continue;
    var s = Math.max(n.x, zs), e = Math.min(n.x + n.w, ze);
    if (e > s) iv.push([s, e]);
  }
  for (var p = 0; p < fg.pruned_hits.length; p++) {
    var sp = fg.pruned_hits[p].spans;
    for (var q = 0; q < sp.length; q += 2) {
      var ps = Math.max(sp[q], zs), pe = Math.min(sp[q + 1], ze);
      if (pe > ps) iv.push([ps, pe]);
    }
  }
  iv.sort(function (a, b) { return a[0] - b[0]; });
  var total = 0, cs = -Infinity, ce = -Infinity;
  for (var j = 0; j < iv.length; j++) {
    if (iv[j][0] > ce) { if (ce > cs) total += ce - cs; cs = iv[j][0]; ce = iv[j][1]; }
    else if (iv[j][1] > ce) ce = iv[j][1];
  }
  if (ce > cs) total += ce - cs;
  return z.w > 0 ? total / z.w : 0;
}

function update_matched() {
  if (!fg.term) {
    if (fg.searchbtn.textContent !== "Search") fg.searchbtn.textContent = "Search";
    return;
  }
  var pct = 100 * matched_fraction();
  var s = pct === 100 ? "100" : pct.toFixed(1);
  var approx = typeof fg_pruned_grid !== "undefined" && fg.pruned_hits.length > 0;
  fg.matchedtxt.textContent = "Matched: " + (approx ? "\u2248" : "") + s + "%";
  fg.matchedtxt.removeAttribute("class");
  fit_details();
}

// fg_pruned (written by the renderer when frames were pruned): "name", then start and width of
// the first span, then gap-from-the-previous-end and width of each further one. With
// fg_pruned_grid the spans are in grid cells of that many counts (snapped: Matched shows "≈").
function read_pruned() {
  var out = [], src = typeof fg_pruned === "undefined" ? [] : fg_pruned, cur = null, end = 0;
  var cell = typeof fg_pruned_grid === "undefined" ? 1 : fg_pruned_grid;
  for (var i = 0; i < src.length; i++) {
    if (typeof src[i] === "string") { cur = { name: src[i], spans: [] }; out.push(cur); end = 0; }
    else { var s = end + src[i]; end = s + src[++i]; cur.spans.push(s * cell, end * cell); }
  }
  return out;
}

// View state lives in the URL fragment: #x=<fg:x>&y=<y>&s=<regex>&ic=1, so a zoomed or searched
// view can be shared by copying the address.
function save_state() {
  var p = [];
  if (fg.zoomed) p.push("x=" + fg.zoomed.x, "y=" + fg.zoomed.y);
  if (fg.term) p.push("s=" + encodeURIComponent(fg.term));
  if (fg.ignorecase) p.push("ic=1");
  var url = location.href.split("#")[0] + (p.length ? "#" + p.join("&") : "");
  try { history.replaceState(null, "", url); } catch (err) { /* file: in some browsers */ }
}

function restore_state() {
  frames_ready();
  var h = location.hash.replace(/^#/, ""), p = {};
  if (h) h.split("&").forEach(function (kv) {
    var i = kv.indexOf("=");
    if (i > 0) p[kv.substring(0, i)] = decodeURIComponent(kv.substring(i + 1));
  });
  if (p.ic === "1") { fg.ignorecase = true; fg.icbtn.setAttribute("class", "show"); }
  var target = null;
  if (p.x !== undefined && p.y !== undefined) {
    for (var i = 0; i < fg.nodes.length; i++) {
      var n = fg.nodes[i];
      if (n.x === +p.x && n.y === +p.y) { target = n; break; }
    }
  }
  fg.zoomed = target && target !== fg.root ? target : null;
  if (p.s) search(p.s);
  relayout();
}

// For tests and other scripts: the state of the view.
function fg_state() {
  frames_ready();
  return { zoomed: fg.zoomed ? fg.zoomed.name : null, term: fg.term,
           matched: fg.term ? 100 * matched_fraction() : null };
}
