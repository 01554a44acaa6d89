#!/usr/bin/env python3
"""Browser test of the viewer's layout and behaviour details (issue 14 item 13), in headless
Chromium through the DevTools protocol (the Cdp driver of browser_test.py):

  details   the hover line and "Matched" never overlap (800 px and other widths)
  resize    a resize rewrites no rect; only labels are refitted, once, after a debounce
  keys      Ctrl-F / Cmd-F work by physical key (e.code "KeyF") on non-Latin layouts
  pruned    "Matched" is exact when narrow frames were pruned (truth from the folded input)
  grid      past its size budget the pruned index is snapped to a grid: "Matched" says "≈" and
            stays within 0.2 points of the truth
  root      the root frame is labelled "all"

Each check says what it did on e91aebd (before the fix). A screenshot at 800 px is kept.
Usage: viewer_test.py --profile PATH --out DIR   (exit 0 pass, 1 fail, 77 skip)
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_test as bt  # noqa: E402  (the Chromium driver)

from browser_test import Fail, check  # noqa: E402

LONG = ("std::_Function_handler<void (unsigned long), (anonymous namespace)::Pipeline::run("
        "std::vector<std::string, std::allocator<std::string> > const&)::{lambda(unsigned long)#2}"
        ">::_M_invoke(std::_Any_data const&, unsigned long&&)")

# A graph whose long-named frame is wide enough to hover at every width tested.
DETAILS_FOLDED = "main;%s;work 60\nmain;parse;lex 30\nmain;write 10\n" % LONG


def many_frames_folded():
    """About 400 frames with names of different lengths, so a resize changes some labels."""
    lines = []
    for i in range(40):
        for j in range(8):
            lines.append("main;mod_%d_%s;fn_%d_%d;leaf_%s %d" % (
                i, "x" * (i % 13), i, j, "y" * (j * 3), 5 + (i * 7 + j * 3) % 23))
    return "\n".join(lines) + "\n"


def pruned_folded():
    """Stacks where many one-sample frames are pruned at 1200 px (0.1 px minimum width).
    'needle' is drawn once (200 samples) and appears in 1000 pruned stacks; 'tiny_' names
    appear only in pruned frames; 'needle' is also nested under itself (recursion)."""
    lines = ["main;big;work 50000", "main;other 48000", "main;big;needle 200",
             "main;big;needle;needle 300"]
    for i in range(1000):
        lines.append("main;mid;tiny_%d;needle 1" % i)
        if i % 3 == 0:
            lines.append("main;mid;tiny_%d;leaf 1" % i)
        if i % 7 == 0:
            lines.append("main;mid;tiny_%d;needle;inner 1" % i)
    return "\n".join(lines) + "\n"


def truth(folded, regex, prefix=None):
    return bt.expected_matched(regex, prefix=prefix, folded=folded)


def render(profile, out_dir, name, folded, args):
    path = os.path.abspath(os.path.join(out_dir, name))
    with open(path, "wb") as f:
        r = subprocess.run([profile, "render"] + args + ["-"], input=folded.encode(), stdout=f,
                           stderr=subprocess.PIPE)
    check(r.returncode == 0, "render %s exits 0 (%s)" % (name, r.stderr.decode().strip()))
    return path


class Page:
    def __init__(self, cdp):
        self.cdp = cdp
        self.loads = 0

    def open(self, path, width=1300, height=900):
        self.size(width, height)
        self.cdp.eval("window.fg_stale = true") if self.loads else None
        self.loads += 1
        # A distinct query string makes every open a real load.
        self.cdp.send("Page.navigate", {"url": "file://%s?n=%d" % (path, self.loads)})
        check(bt.wait_ready(self.cdp), "viewer initialised: %s" % os.path.basename(path))

    def size(self, width, height=900):
        self.cdp.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1,
                       "mobile": False})

    def screenshot(self, path):
        shot = self.cdp.send("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("screenshot:", path)


def poll(cdp, expr, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cdp.eval(expr):
            return
        time.sleep(0.02)
    raise Fail("timed out waiting: " + what)


BOX_JS = """(function(){
  function box(el){ var r = el.getBoundingClientRect();
    return {l: r.left, r: r.right, t: r.top, b: r.bottom, w: r.width}; }
  return {d: box(fg_el('details')), m: box(fg_el('matched')), text: fg_el('details').textContent,
          mtext: fg_el('matched').textContent, vw: window.innerWidth,
          svgw: fg.svg.getBoundingClientRect().width};
})()"""


def hover(cdp, name):
    f = bt.frame(cdp, name)
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": f["x"], "y": f["y"]})
    return f


def check_details(cdp, label):
    """Fails on e91aebd: the details line runs under "Matched" (boxes intersect at 800 px)."""
    cdp.eval("search('work|lex')")
    hover(cdp, LONG)
    b = cdp.eval(BOX_JS)
    check(b["text"].startswith("Function: std::_Function_handler"),
          "%s: details shows the hovered frame (%r)" % (label, b["text"][:40]))
    check(b["mtext"].startswith("Matched: "), "%s: Matched shown (%r)" % (label, b["mtext"]))
    overlap_x = b["d"]["r"] > b["m"]["l"] and b["m"]["r"] > b["d"]["l"]
    overlap_y = b["d"]["b"] > b["m"]["t"] and b["m"]["b"] > b["d"]["t"]
    check(not (overlap_x and overlap_y),
          "%s: details [%.0f, %.0f] and Matched [%.0f, %.0f] do not overlap"
          % (label, b["d"]["l"], b["d"]["r"], b["m"]["l"], b["m"]["r"]))
    check(b["m"]["r"] <= b["svgw"] + 0.5 and b["d"]["l"] >= 0,
          "%s: both inside the drawing (svg width %.0f)" % (label, b["svgw"]))
    return b


def check_all_details(cdp, page, profile, out_dir):
    fluid = render(profile, out_dir, "details.svg", DETAILS_FOLDED, [])
    page.open(fluid, 800, 600)
    b = check_details(cdp, "fluid 800 px")
    check(b["text"].endswith("\u2026"), "long details text is shortened with an ellipsis")
    page.screenshot(os.path.join(out_dir, "viewer-800.png"))
    for w in (500, 1200, 1900):
        page.open(fluid, w, 600)
        check_details(cdp, "fluid %d px" % w)
    # With room to spare the whole text is shown (and with no search, up to the right edge).
    cdp.eval("reset_search()")
    hover(cdp, "lex")
    check(cdp.eval("fg_el('details').textContent") == "Function: lex (30 samples, 30.00%)",
          "short details text shown whole")
    fixed = render(profile, out_dir, "details-800.svg", DETAILS_FOLDED, ["--width", "800"])
    page.open(fixed, 1300, 600)
    check_details(cdp, "--width 800")


LABELS_OK_JS = """(function(){
  var cpx = fg_config.fontsize * fg_config.fontwidth, bad = 0;
  fg.nodes.forEach(function(n){
    if (n.cls === 'hide') return;
    var chars = Math.floor(n.fw * fg.width / cpx), cps = Array.from(n.name), want;
    if (chars < 3) want = ''; else if (cps.length <= chars) want = n.name;
    else want = cps.slice(0, chars - 2).join('') + '..';
    var got = n.text ? n.text.textContent : '';
    if (got !== want) bad++;
  });
  return bad === 0 && fg.width === window.innerWidth - 2 * fg_config.xpad;
})()"""

OBSERVE_JS = """(function(){
  window.fg_muts = [];
  window.fg_obs = new MutationObserver(function(recs){
    recs.forEach(function(r){
      var el = r.target.nodeType === 1 ? r.target : r.target.parentNode;
      fg_muts.push({tag: el.tagName, type: r.type, attr: r.attributeName});
    });
  });
  fg_obs.observe(fg.frames, {subtree: true, attributes: true, characterData: true,
                             childList: true});
  return true;
})()"""

COUNT_JS = """(function(){
  fg_muts = fg_muts.concat(fg_obs.takeRecords().map(function(r){
    var el = r.target.nodeType === 1 ? r.target : r.target.parentNode;
    return {tag: el.tagName, type: r.type, attr: r.attributeName}; }));
  var c = {rect: 0, label: 0, other: 0};
  fg_muts.forEach(function(m){
    if (m.tag === 'rect') c.rect++;
    else if (m.tag === 'text' || (m.tag === 'g' && m.type === 'childList')) c.label++;
    else c.other++;
  });
  fg_muts = [];
  return c;
})()"""


def check_resize(cdp, page, profile, out_dir):
    """Fails on e91aebd: every resize rewrote every rect's x and width (and at once, for each
    resize event)."""
    fluid = render(profile, out_dir, "resize.svg", many_frames_folded(), [])
    page.open(fluid, 1300, 700)
    poll(cdp, LABELS_OK_JS, "labels fitted at 1300 px")
    nodes = cdp.eval("fg.nodes.length")
    cdp.eval(OBSERVE_JS)
    page.size(800, 700)
    poll(cdp, LABELS_OK_JS, "labels refitted at 800 px")
    c = cdp.eval(COUNT_JS)
    check(c["rect"] == 0, "resize 1300 -> 800 px rewrote no rect (%d rect mutations, %d frames)"
          % (c["rect"], nodes))
    check(c["label"] > 0, "labels refitted (%d label mutations)" % c["label"])
    # Debounce: five resize events in one task give one refit, after the task.
    r0 = cdp.eval("fg.refits")
    check(isinstance(r0, int), "the viewer counts its label refits (%r)" % r0)
    same = cdp.eval("for (var i = 0; i < 5; i++) window.dispatchEvent(new Event('resize'));"
                    "fg.refits")
    check(same == r0, "no refit inside the resize events themselves")
    poll(cdp, "fg.refits > %d && fg.refit_timer === null" % r0, "a debounced refit")
    check(cdp.eval("fg.refits") == r0 + 1, "five resize events, one refit")
    c = cdp.eval(COUNT_JS)
    check(c["rect"] == 0, "refit without a size change writes no rect (%s)" % c)
    # Zoomed, a resize still moves no rect; zoom and unzoom after it are right.
    ev = bt.frame(cdp, "mod_3_xxx")
    bt.click(cdp, ev["x"], ev["y"])
    cdp.eval(COUNT_JS)
    page.size(1100, 700)
    poll(cdp, LABELS_OK_JS, "labels refitted at 1100 px, zoomed")
    c = cdp.eval(COUNT_JS)
    check(c["rect"] == 0 and c["label"] > 0, "zoomed resize: labels only (%s)" % c)
    w = cdp.eval("fg.nodes.filter(function(n){return n.name==='mod_3_xxx'})[0]"
                 ".rect.getBoundingClientRect().width")
    check(abs(w - 1080) < 1, "zoomed frame fills the new width (%.1f)" % w)
    cdp.eval("unzoom()")
    poll(cdp, LABELS_OK_JS, "labels right after unzoom")
    cdp.eval("fg_obs.disconnect()")


def check_keys(cdp, page, profile, out_dir):
    """Fails on e91aebd: Ctrl+F on a Cyrillic layout (key 'а', code KeyF) did nothing."""
    svg = render(profile, out_dir, "keys.svg", bt.FOLDED, ["--width", "1200"])
    page.open(svg)
    for mods, what in ((2, "Ctrl"), (4, "Cmd (meta)")):
        cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": "\u0430",
                                            "code": "KeyF", "windowsVirtualKeyCode": 70,
                                            "modifiers": mods}, wait=False)
        try:
            dlg = cdp.wait_event("Page.javascriptDialogOpening", timeout=5)
        except Fail:
            raise Fail("%s+F with a Cyrillic layout opens no search prompt" % what)
        check(dlg["params"]["type"] == "prompt",
              "%s+F (key '\u0430', code KeyF) opens the search prompt" % what)
        cdp.send("Page.handleJavaScriptDialog", {"accept": True, "promptText": "lex"})
        cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": "\u0430", "code": "KeyF",
                                            "windowsVirtualKeyCode": 70, "modifiers": mods})
        check(cdp.eval("fg.term") == "lex", "%s+F search ran" % what)
        cdp.eval("reset_search()")
    # Ctrl-I by physical key too; a plain 'а' does nothing.
    bt.key(cdp, "\u0448", "KeyI", 73, modifiers=2)
    check(cdp.eval("fg.ignorecase") is True, "Ctrl+I (key '\u0448', code KeyI) toggles case")
    bt.key(cdp, "\u0430", "KeyF", 70, modifiers=0)
    check(cdp.eval("fg.term") == "", "KeyF without a modifier does not search")


def check_pruned(cdp, page, profile, out_dir):
    """Fails on e91aebd: Matched counted drawn frames only (needle 5.1% for a truth of 6.0%)."""
    folded = pruned_folded()
    svg = render(profile, out_dir, "pruned.svg", folded, ["--width", "1200"])
    page.open(svg)
    drawn = cdp.eval("fg.nodes.length")
    lines = len(folded.strip().split("\n"))
    check(drawn < 20, "narrow frames were pruned (%d drawn for %d stacks)" % (drawn, lines))
    for term in ("needle", "tiny_", "tiny_7|inner", "leaf|needle", "^mid$", "work|tiny_12$"):
        cdp.eval("search(%s)" % json.dumps(term))
        want = truth(folded, term)
        got = cdp.eval("fg_state().matched")
        check(abs(got - want) < 1e-9, "Matched(%r) %.6f%% == truth %.6f%%" % (term, got, want))
        check(cdp.eval("fg.matchedtxt.textContent") == "Matched: %.1f%%" % want,
              "shown as %.1f%%" % want)
    # Zoomed into main;mid (a drawn frame with pruned children).
    cdp.eval("zoom(fg.nodes.filter(function(n){return n.name==='mid'})[0])")
    for term in ("needle", "tiny_3"):
        cdp.eval("search(%s)" % json.dumps(term))
        want = truth(folded, term, prefix=["main", "mid"])
        got = cdp.eval("fg_state().matched")
        check(abs(got - want) < 1e-9, "zoomed Matched(%r) %.6f%% == %.6f%%" % (term, got, want))


def check_pruned_grid(cdp, page, profile, out_dir):
    """Fails on da6ddba: 60,000 scattered pruned frames wrote a 400 kB index of exact spans
    (no budget) and no "≈"."""
    lines = ["main;big 3000000"]
    for i in range(60000):
        lines.append("main;mid;p%d;fn%d%s 1" % (i, i % 40, ";deep" if i % 3 == 0 else ""))
    folded = "\n".join(lines) + "\n"
    svg = render(profile, out_dir, "pruned-grid.svg", folded, ["--width", "1200"])
    size = os.path.getsize(svg)
    check(size < 200 * 1024, "the SVG stays small (%d bytes)" % size)
    page.open(svg)
    check(cdp.eval("typeof fg_pruned_grid") == "number", "the pruned index is on a grid")
    for term in ("fn7$", "fn1", "deep", "fn3$|deep", "^p1"):
        cdp.eval("search(%s)" % json.dumps(term))
        want = truth(folded, term)
        got = cdp.eval("fg_state().matched")
        check(abs(got - want) < 0.2, "Matched(%r) %.4f%% within 0.2 of truth %.4f%%" %
              (term, got, want))
        text = cdp.eval("fg.matchedtxt.textContent")
        check(text.startswith("Matched: \u2248"), "shown as approximate: %r" % text)


def check_root(cdp, page, profile, out_dir):
    """Fails on e91aebd: the root frame had no label."""
    for args, what in ((["--width", "1200"], "fixed"), ([], "fluid")):
        svg = render(profile, out_dir, "root-%s.svg" % what, bt.FOLDED, args)
        page.open(svg)
        got = cdp.eval("fg.root.text ? fg.root.text.textContent : null")
        check(got == "all", "%s: root labelled %r" % (what, got))
        ev = bt.frame(cdp, "eval")
        bt.click(cdp, ev["x"], ev["y"])
        got = cdp.eval("fg.root.text ? fg.root.text.textContent : null")
        check(got == "all", "%s: zoomed, the dimmed root still reads %r" % (what, got))


def run(profile, out_dir, chrome):
    os.makedirs(out_dir, exist_ok=True)
    user_dir = tempfile.mkdtemp(prefix="prof-chromium-")
    cdp = bt.Cdp(chrome, user_dir)
    failures = []
    try:
        cdp.open_page()
        page = Page(cdp)
        for name, fn in (("root", check_root), ("keys", check_keys),
                         ("details", check_all_details), ("resize", check_resize),
                         ("pruned", check_pruned), ("grid", check_pruned_grid)):
            try:
                fn(cdp, page, profile, out_dir)
            except Fail as e:
                print("FAIL (%s): %s" % (name, e))
                failures.append(name)
                # A prompt left open would block the next check.
                try:
                    cdp.send("Page.handleJavaScriptDialog", {"accept": False}, timeout=2)
                except Fail:
                    pass
    finally:
        cdp.close()
        shutil.rmtree(user_dir, ignore_errors=True)
    if failures:
        raise Fail("failed checks: " + ", ".join(failures))


if __name__ == "__main__":
    sys.exit(bt.main(run))
