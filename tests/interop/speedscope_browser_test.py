#!/usr/bin/env python3
"""speedscope, the real client, opens our capture in headless Chromium (stdlib only).

`profile --format speedscope` samples the fixture (alpha() and beta() burn CPU 3:1 under main);
the file is checked against speedscope's file format here, then loaded into speedscope's own
page the way its command line does it (dist/release/index.html#localProfilePath=x.js, where x.js
calls speedscope.loadFileFromBase64). Chromium is driven over the DevTools protocol with the Cdp
class of tests/renderer/browser_test.py. Checks: no uncaught exception, console error or dialog;
the profile is shown (not the landing page); hovering the time-order flame chart finds main
with alpha and beta in the row below it and main's time in milliseconds; the Sandwich tab
(clicked with mouse events) lists alpha, beta and main with the totals the file implies, alpha
about 3x beta. Screenshots of the time-order, left-heavy and sandwich views stay in --out.

Usage: speedscope_browser_test.py --profile PROFILE --fixture FX_ALPHABETA
           --speedscope NODE_MODULES/speedscope --out DIR [--json FILE]
(--json checks an existing file instead of capturing.) Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "renderer"))
from browser_test import Cdp, Fail, check, click  # noqa: E402

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
UNITS = {"bytes", "microseconds", "milliseconds", "nanoseconds", "none", "seconds"}
TOTAL_BUDGET_S = 45.0  # (+ up to 10 s for Chromium to close)


class Deadline:
    def __init__(self, seconds):
        self.end = time.time() + seconds

    def left(self, cap):
        left = self.end - time.time()
        if left <= 0:
            raise Fail("the test ran out of its %.0f s budget" % TOTAL_BUDGET_S)
        return min(cap, left)


def read_file_checked(path):
    """Checks the file against speedscope's format; returns the active profile and the total
    of each frame name in it, as % of its weight (a sample counts once per name)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        doc = json.loads(raw.decode("utf-8"))  # strict: invalid UTF-8 or JSON fails here
    except (UnicodeDecodeError, ValueError) as e:
        raise Fail("%s is not valid UTF-8 JSON: %s" % (path, e))
    check(doc.get("$schema") == SCHEMA, "file names speedscope's schema")
    frames = doc["shared"]["frames"]
    check(all(isinstance(f.get("name"), str) for f in frames), "%d frames, each named"
          % len(frames))
    profiles = doc["profiles"]
    check(len(profiles) >= 1, "%d profile(s)" % len(profiles))
    for p in profiles:
        ok = (p["type"] == "sampled" and p["unit"] in UNITS and p["startValue"] == 0
              and len(p["samples"]) == len(p["weights"])
              and p["endValue"] == sum(p["weights"])
              and all(0 <= i < len(frames) for s in p["samples"] for i in s))
        check(ok, "profile %r: sampled, %d samples, weights sum to endValue, frames valid"
              % (p["name"], len(p["samples"])))
    active = profiles[doc.get("activeProfileIndex", 0)]
    total = float(sum(active["weights"]))
    by_name = {}
    for stack, w in zip(active["samples"], active["weights"]):
        for name in {frames[i]["name"] for i in stack}:
            by_name[name] = by_name.get(name, 0) + w
    pct = {n: 100.0 * w / total for n, w in by_name.items()}
    # main's spans in the time-order chart: maximal runs of consecutive samples under main (a
    # sample whose unwinding lost main, e.g. one in the vDSO, splits main in two).
    runs, run = [], 0
    for stack, w in zip(active["samples"], active["weights"]):
        if any(frames[i]["name"] == "main" for i in stack):
            run += w
        elif run:
            runs.append(run)
            run = 0
    if run:
        runs.append(run)
    active = dict(active, main_runs=runs)
    return active, pct


def js(cdp, expr, timeout=5.0, await_promise=False):
    """Runtime.evaluate with a short bound: a dialog (speedscope alerts on import errors)
    blocks evaluation, so a timeout is reported as the dialog when there is one."""
    try:
        r = cdp.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                          "awaitPromise": await_promise}, timeout=timeout)
    except Fail:
        dialogs = [e for e in cdp.events if e.get("method") == "Page.javascriptDialogOpening"]
        if dialogs:
            raise Fail("speedscope opened a dialog: %r" % dialogs[0]["params"].get("message"))
        raise
    if "exceptionDetails" in r:
        raise Fail("JS error in %r: %s" % (expr[:80], r["exceptionDetails"]))
    return r["result"].get("value")


def next_frame(cdp):
    """Resolves after two animation frames, so that canvas and DOM show the last input."""
    js(cdp, "new Promise(function(r){requestAnimationFrame(function(){"
            "requestAnimationFrame(function(){r(1)})})})", await_promise=True)


def page_errors(cdp):
    """Uncaught exceptions, console errors (or logged Error objects), error log entries and
    dialogs seen so far."""
    out = []
    for e in cdp.events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append("exception: %s" % d.get("exception", {}).get("description", d.get("text")))
        elif m == "Runtime.consoleAPICalled" and (
                p.get("type") in ("error", "assert")
                or any(a.get("subtype") == "error" for a in p.get("args", []))):
            # (speedscope logs a failed import with console.log("Failed to load format", e))
            out.append("console.%s: %s" % (p["type"], " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append("log: %s %s" % (p["entry"].get("text"), p["entry"].get("url", "")))
        elif m == "Page.javascriptDialogOpening":
            out.append("dialog: %s" % p.get("message"))
    return out


def wait_until(cdp, deadline, what, expr, cap=20.0):
    end = time.time() + deadline.left(cap)
    value = None
    while time.time() < end:
        value = js(cdp, expr)
        if value and value.get("ok"):
            return value
        errors = page_errors(cdp)
        if errors:
            raise Fail("%s: page errors: %s" % (what, errors))
        if value and value.get("broken"):
            raise Fail("%s: speedscope says %r" % (what, value.get("text")))
        time.sleep(0.05)
    raise Fail("timed out waiting for %s (last state %s)" % (what, value))


def screenshot(cdp, out_dir, name):
    next_frame(cdp)
    shot = cdp.send("Page.captureScreenshot", {"format": "png"})
    path = os.path.join(out_dir, name)
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    print("screenshot:", path)


# The state of the page: landing page or a loaded profile (the view tabs and a canvas).
STATE_JS = """(function(){
  var text = document.body ? document.body.innerText : '';
  var tabs = Array.from(document.querySelectorAll('div')).filter(function(e){
    return /^\\W*(Time Order|Left Heavy|Sandwich)$/.test(e.textContent.trim()) &&
           e.children.length <= 1; }).length;
  var landing = /Drag and drop|Browse/.test(text);
  var broken = /Something went wrong/.test(text);
  return {ok: tabs === 3 && !landing && document.querySelectorAll('canvas').length > 0 &&
              text.indexOf(%s) >= 0,
          broken: broken, tabs: tabs, landing: landing, text: text.slice(0, 300)};
})()"""

# Centre of the element whose own text is `label` (a tab or a table header).
CENTRE_JS = """(function(label){
  var el = Array.from(document.querySelectorAll('div,th')).filter(function(e){
    return e.textContent.replace(/^\\W+/, '').trim() === label &&
           e.getBoundingClientRect().width > 0; })[0];
  if (!el) return null;
  var r = el.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
})(%s)"""

# The hover tooltip's text, or ''.
TOOLTIP_JS = """(function(){
  var t = Array.from(document.querySelectorAll('div[style*="left"][style*="top"]'))
      .filter(function(e){ return e.querySelector('span'); })[0];
  return t ? t.innerText : '';
})()"""

# The flame chart: the tallest canvas below the toolbar.
CHART_JS = """(function(){
  var best = null;
  document.querySelectorAll('canvas').forEach(function(c){
    var r = c.getBoundingClientRect();
    if (r.top > 0 && (!best || r.height > best.height))
      best = {left: r.left, top: r.top, width: r.width, height: r.height};
  });
  return best;
})()"""

# The sandwich table's rows: total, self, name.
ROWS_JS = """Array.from(document.querySelectorAll('table tr')).map(function(tr){
  return Array.from(tr.querySelectorAll('td')).map(function(td){
    return td.textContent.trim(); }); }).filter(function(r){ return r.length === 3; })"""


def click_label(cdp, label):
    xy = js(cdp, CENTRE_JS % json.dumps(label))
    if not xy:
        raise Fail("no %r control on the page" % label)
    click(cdp, xy[0], xy[1])


def hover(cdp, x, y):
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    next_frame(cdp)
    text = js(cdp, TOOLTIP_JS)
    m = re.match(r"^(\S+) \(([^)]*)\) (.*)$", text.split("\n")[0]) if text else None
    return (m.group(3), m.group(1)) if m else (None, None)


def seconds(value):
    """speedscope's time format ("1:05", "1.20s", "600.60ms", "3.00µs", "12.00ns")."""
    m = re.match(r"^(\d+):(\d\d)$", value)
    if m:
        return int(m.group(1)) * 60 + int(m.group(2))
    m = re.match(r"^([\d.]+)(s|ms|\u00b5s|ns)$", value)
    if not m:
        raise Fail("not a time: %r" % value)
    return float(m.group(1)) * {"s": 1, "ms": 1e-3, "\u00b5s": 1e-6, "ns": 1e-9}[m.group(2)]


def percent(cell):
    m = re.search(r"\([<>]?([\d.]+)%\)", cell)  # "(67%)", "(>99%)", "(<0.01%)"
    if not m:
        raise Fail("no percentage in %r" % cell)
    return float(m.group(1))


def check_flame_chart(cdp, deadline, active):
    """Hovers the time-order flame chart: main, and alpha and beta in the row right below it
    (stacks root first), main's time in the file's unit."""
    chart = js(cdp, CHART_JS)
    check(chart and chart["height"] > 100, "flame chart canvas %s" % chart)
    mid = chart["left"] + chart["width"] / 2
    rows = []  # (y, name, value) down the middle
    y = chart["top"] + 2
    while y < chart["top"] + chart["height"] and deadline.left(1) > 0:
        name, value = hover(cdp, mid, y)
        rows.append((y, name, value))
        if name is None and any(r[1] for r in rows[:-4]) and not any(r[1] for r in rows[-4:]):
            break  # past the deepest frame
        y += 4
    mains = [r for r in rows if r[1] == "main"]
    check(mains, "hovering the flame chart finds main (rows seen: %s)"
          % sorted({r[1] for r in rows if r[1]}))
    if active["unit"] == "nanoseconds":
        # The hovered main is one of its spans in time order (the whole of main's weight when
        # no sample splits it).
        got = seconds(mains[0][2])
        spans = [r / 1e9 for r in active["main_runs"]]
        check(any(abs(got - want) <= 0.01 * want + 1e-5 for want in spans),
              "main's hover time %s is one of main's spans in the file: %s s" %
              (mains[0][2], ", ".join("%.4f" % s for s in spans)))
    row_h = mains[-1][0] - mains[0][0] + 4
    below = mains[-1][0] + 4 + row_h / 2
    seen = {}
    for k in range(32):
        x = chart["left"] + (k + 0.5) * chart["width"] / 32
        name, _ = hover(cdp, x, below)
        seen[name] = seen.get(name, 0) + 1
    check("alpha" in seen and "beta" in seen,
          "the row below main holds alpha and beta (hovered: %s)" % seen)


def check_sandwich(cdp, deadline, expect_pct):
    click_label(cdp, "Sandwich")
    wait_until(cdp, deadline, "the sandwich table",
               "(function(){var r=%s; return {ok: r.length > 0, rows: r.length};})()" % ROWS_JS)
    click_label(cdp, "Total")  # sort by total, so main, alpha and beta are near the top
    state = wait_until(cdp, deadline, "the table sorted by total", """(function(){
      var r = %s, p = r.map(function(x){
        var m = /\\([<>]?([\\d.]+)%%\\)/.exec(x[0]); return m ? +m[1] : -1; });
      for (var i = 1; i < p.length; ++i) if (p[i] > p[i - 1]) return {ok: false, p: p};
      return {ok: r.length > 0 && p[0] >= 0, rows: r};
    })()""" % ROWS_JS)
    shown = {}
    for total, _self, name in state["rows"]:
        shown[name] = shown.get(name, 0.0) + percent(total)
    for name in ("alpha", "beta", "main"):
        check(name in shown, "sandwich lists %s" % name)
        # (shown rounded: "75%", "0.17%"; one name may have several rows, one per file:line)
        check(abs(shown[name] - expect_pct[name]) <= 1.0,
              "%s's total %.2f%% as the file implies (%.2f%%)"
              % (name, shown[name], expect_pct[name]))
    ratio = shown["alpha"] / max(shown["beta"], 1e-9)
    check(2.0 <= ratio <= 4.5, "alpha/beta = %.2f (the fixture burns 3:1)" % ratio)


def run(args, chrome, index):
    deadline = Deadline(TOTAL_BUDGET_S)
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    path = args.json
    if not path:
        path = os.path.join(out_dir, "alphabeta.speedscope.json")
        if os.path.exists(path):
            os.unlink(path)
        cmd = [args.profile, "--format", "speedscope", "-F", "999", "-o", path, "--",
               args.fixture, "600"]
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=deadline.left(30))
        except subprocess.TimeoutExpired:
            raise Fail("%s did not finish in time" % " ".join(cmd))
        check(r.returncode == 0 and os.path.exists(path), "%s exits 0 (%s)"
              % (" ".join(cmd), r.stderr.decode(errors="replace").strip()[-500:]))
    active, pct = read_file_checked(path)
    check(re.match(r"^fx_alphabeta \d+/\d+", active["name"]) is not None,
          "the active profile is the fixture's thread (%r)" % active["name"])
    for name in ("alpha", "beta", "main"):
        check(pct.get(name, 0) > 5, "%s in %.1f%% of the file's weight" % (name, pct.get(name, 0)))

    with open(path, "rb") as f:
        loader = os.path.join(out_dir, "load-profile.js")
        with open(loader, "w") as out:
            out.write("speedscope.loadFileFromBase64(%s, %s)\n" % (
                json.dumps(os.path.basename(path)), json.dumps(base64.b64encode(f.read())
                                                                .decode())))
    url = ("file://" + urllib.parse.quote(index) + "#localProfilePath="
           + urllib.parse.quote(loader, safe=""))

    user_dir = tempfile.mkdtemp(prefix="prof-chromium-")
    cdp = Cdp(chrome, user_dir)
    try:
        cdp.open_page()
        cdp.send("Log.enable")
        cdp.send("Page.navigate", {"url": url})
        wait_until(cdp, deadline, "speedscope to show the profile",
                   STATE_JS % json.dumps(active["name"]))
        print("ok: speedscope shows %r (not its landing page)" % active["name"])
        next_frame(cdp)
        screenshot(cdp, out_dir, "time-order.png")
        check_flame_chart(cdp, deadline, active)
        screenshot(cdp, out_dir, "time-order-hover.png")

        click_label(cdp, "Left Heavy")
        next_frame(cdp)
        screenshot(cdp, out_dir, "left-heavy.png")

        check_sandwich(cdp, deadline, pct)
        screenshot(cdp, out_dir, "sandwich.png")

        js(cdp, "1")  # (reads the events sent before it)
        errors = page_errors(cdp)
        check(not errors, "no exception, console error or dialog (%s)" % errors)
    finally:
        cdp.close()
        shutil.rmtree(user_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--speedscope", required=True, help="the speedscope npm package directory")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", help="check this file instead of capturing one")
    args = ap.parse_args()
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    index = os.path.abspath(os.path.join(args.speedscope, "dist", "release", "index.html"))
    missing = None if chrome else "chromium not found"
    if not missing and not os.path.isfile(index):
        missing = "speedscope not installed (%s missing; scripts/setup.sh installs it)" % index
    if missing:
        if os.environ.get("PROF_REQUIRE_LIVE") == "1":
            print("FAIL: %s but PROF_REQUIRE_LIVE=1" % missing)
            return 1
        print("SKIP:", missing)
        return 77
    try:
        run(args, chrome, index)
    except Fail as e:
        print("FAIL:", e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
