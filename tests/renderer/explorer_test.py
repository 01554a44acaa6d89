#!/usr/bin/env python3
"""The HTML explorer (--format html) in headless Chromium, on one live capture of fx_phases
(phase_one() for 2 s, then phase_two() for 2 s, both calling shared_work()).

One 4 s capture is shared by every check: the all-in-one writes the page and --save keeps the
perf.data, from which `report` writes it again and `profile symbolize` gives the perf script
text that this script counts samples from by itself (the oracle for the page's table). Checks:
whole-capture table ~50/50; #range=0.2,1.6 leaves phase_two out; a drag with real mouse events
over the heatmap's second half leaves phase_one out; --time-range cuts the same samples in the
page, `report` and `fold`; sandwich of shared_work (two callers, exact counts), click-zoom,
search with exact Matched %, and no request leaving file://. Screenshots are kept in --out.

Usage: explorer_test.py --profile PATH --fixtures DIR --out DIR   (exit 0 pass, 1 fail, 77 skip)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser_test  # noqa: E402
from browser_test import Cdp, Fail, check  # noqa: E402

FIXTURES = None


def capture(profile, out_dir):
    """Runs the one live capture; returns (perf.data path, all-in-one page path)."""
    data = os.path.join(out_dir, "phases.data")
    page = os.path.join(out_dir, "live.html")
    fx = os.path.join(FIXTURES, "fx_phases")
    r = subprocess.run([profile, "-F", "499", "-q", "--save", data, "--format", "html",
                        "-o", page, "--", fx, "2000"], stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        err = r.stderr.decode().strip()
        if os.environ.get("PROF_REQUIRE_LIVE") != "1" and (
                "perf_event_paranoid" in err or "CAP_PERFMON" in err or "permission" in err.lower()):
            print("SKIP: cannot sample here:", err)
            sys.exit(77)
        raise Fail("live capture failed: " + err)
    return data, page


def script_samples(profile, data):
    """Every sample of the capture from `profile symbolize` text: (time_ns, [function...])."""
    r = subprocess.run([profile, "symbolize", data], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "profile symbolize exits 0 (%s)" % r.stderr.decode().strip())
    samples = []
    for block in r.stdout.decode().split("\n\n"):
        lines = [l for l in block.split("\n") if l.strip()]
        if not lines:
            continue
        m = re.search(r"\s(\d+)\.(\d+):\s", lines[0])
        if not m:
            continue
        t = int(m.group(1)) * 10**9 + int(m.group(2).ljust(9, "0"))
        c = re.search(r"\[(\d+)\]", lines[0])
        funcs = []
        for l in lines[1:]:
            parts = l.split(None, 1)
            if len(parts) == 2:
                funcs.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0]))
        samples.append((t, funcs, int(c.group(1)) if c else -1))
    check(len(samples) > 200, "the capture has samples (%d)" % len(samples))
    return samples


def in_range(samples, a, b):
    """The samples a page selection (or --time-range) A,B keeps: microseconds from the first."""
    start = min(s[0] for s in samples)
    return [s for s in samples if a * 1e6 <= (s[0] - start) // 1000 < b * 1e6]


def total_of(samples, name):
    return sum(1 for s in samples if name in s[1])


def caller_count(samples, caller, callee):
    """Samples whose stack has `callee` called directly by `caller` (leaf first lists)."""
    n = 0
    for s in samples:
        f = s[1]
        for i in range(len(f) - 1):
            if f[i] == callee and f[i + 1] == caller:
                n += 1
                break
    return n


def js_seconds(x):
    """Seconds as the page writes them: at most 3 decimals, no trailing zeros."""
    return ("%.3f" % x).rstrip("0").rstrip(".")


def wait_ready(cdp, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cdp.eval("typeof explorer === 'object' && explorer.ready === true"):
            return True
        time.sleep(0.05)
    return False


def table(cdp):
    return cdp.eval("""Array.prototype.map.call(document.querySelectorAll(
        '#functions tbody tr'), function(r){ return [r.dataset.name, +r.dataset.self,
        +r.dataset.total]; })""")


def row(rows, name):
    for n, s, t in rows:
        if n == name:
            return {"self": s, "total": t}
    return {"self": 0, "total": 0}


def open_url(cdp, url):
    """A fresh load of `url` (about:blank between, so that a fragment change reloads too)."""
    cdp.send("Page.navigate", {"url": "about:blank"})
    deadline = time.time() + 30
    while cdp.eval("location.href") != "about:blank":
        if time.time() > deadline:
            raise Fail("about:blank did not open")
        time.sleep(0.05)
    cdp.send("Page.navigate", {"url": url})
    check(wait_ready(cdp), "page ready: " + url)


def screenshot(cdp, path):
    import base64
    shot = cdp.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    print("screenshot:", path)


def mouse(cdp, kind, x, y, buttons=0):
    p = {"type": kind, "x": x, "y": y, "button": "left" if kind != "mouseMoved" else "none",
         "buttons": buttons, "clickCount": 1}
    if kind == "mouseMoved" and buttons:
        p["button"] = "left"
    cdp.send("Input.dispatchMouseEvent", p)


def frames(cdp, canvas="flame"):
    return cdp.eval("explorer.frames(%s)" % json.dumps(canvas))


def frame_named(cdp, name, canvas="flame"):
    f = [r for r in frames(cdp, canvas) if r["name"] == name]
    if not f:
        raise Fail("frame %r not drawn in #%s" % (name, canvas))
    return f[0]


def run(profile, out_dir, chrome):
    os.makedirs(out_dir, exist_ok=True)
    data, live_page = capture(profile, out_dir)
    page = os.path.join(out_dir, "report.html")
    r = subprocess.run([profile, "report", data, "--format", "html", "-o", page],
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, "report --format html exits 0 (%s)" % r.stderr.decode().strip())
    samples = script_samples(profile, data)
    # Where phase_two ran, in ns from the first sample (2 s to 4 s on an idle machine; the
    # phases are CPU time, so later when the capture's CPU was shared).
    start = min(x[0] for x in samples)
    t_two = min(x[0] for x in samples if "phase_two" in x[1]) - start
    t_end = max(x[0] for x in samples) - start
    check(t_end - t_two > 1e9, "phase_two lasted over a second (%.2f s)" % ((t_end - t_two) / 1e9))
    second = "%s,%s" % (js_seconds(t_two / 1e9 + 0.1), js_seconds(t_end / 1e9))

    # CLI parity: fold on perf script text and report on perf.data cut the same samples.
    text = subprocess.run([profile, "symbolize", data], stdout=subprocess.PIPE,
                          timeout=60).stdout
    folded_text = subprocess.run([profile, "fold", "--time-range", "0.2,1.6"], input=text,
                                 stdout=subprocess.PIPE, timeout=60)
    folded_report = subprocess.run([profile, "report", data, "--format", "folded",
                                    "--time-range", "0.2,1.6"], stdout=subprocess.PIPE,
                                   timeout=60)
    check(folded_text.returncode == 0 and folded_report.returncode == 0,
          "fold and report take --time-range")
    check(folded_text.stdout == folded_report.stdout and folded_text.stdout,
          "fold --time-range (perf script text) == report --time-range (perf.data)")
    top = subprocess.run([profile, "top", data, "--time-range", second, "--json", "-n", "0"],
                         stdout=subprocess.PIPE, timeout=60)
    check(top.returncode == 0, "top takes --time-range")
    rows_ = {r["function"]: r["total"] for r in json.loads(top.stdout)["tables"][0]["rows"]}
    check(rows_.get("phase_two", 0) > 0 and rows_.get("phase_one", 0) <= 0.02 * rows_["phase_two"],
          "top --time-range %s: phase_two only" % second)
    bad = subprocess.run([profile, "report", data, "--time-range", "1.6,0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = bad.stderr.decode().strip()
    check(bad.returncode == 2 and err.count("\n") == 0 and "expected A,B" in err,
          "a reversed --time-range is a one-line usage error (%r)" % err)

    user_dir = tempfile.mkdtemp(prefix="prof-chromium-")
    cdp = Cdp(chrome, user_dir)
    try:
        cdp.open_page()
        cdp.send("Network.enable")
        cdp.send("Emulation.setDeviceMetricsOverride", {"width": 1300, "height": 900,
                                                        "deviceScaleFactor": 1,
                                                        "mobile": False})
        url = "file://" + os.path.abspath(page)

        # 1. The whole capture: phase_one and phase_two about half each, exact counts.
        open_url(cdp, url)
        rows = table(cdp)
        one, two = row(rows, "phase_one"), row(rows, "phase_two")
        check(one["total"] == total_of(samples, "phase_one"),
              "phase_one total %d == samples with it %d" % (one["total"],
                                                            total_of(samples, "phase_one")))
        check(two["total"] == total_of(samples, "phase_two"), "phase_two total exact")
        share = one["total"] / float(one["total"] + two["total"])
        check(0.35 < share < 0.65, "whole capture ~50/50 (phase_one %.2f)" % share)
        check(cdp.eval("document.getElementById('heatmap') !== null"), "element #heatmap")
        screenshot(cdp, os.path.join(out_dir, "explorer-whole.png"))

        # The all-in-one's own page holds the same samples.
        open_url(cdp, "file://" + os.path.abspath(live_page))
        check(row(table(cdp), "phase_one")["total"] == one["total"],
              "the all-in-one's --format html page matches report's")

        # 2. #range=0.2,1.6: phase_two absent (<= 2 % of phase_one); the page shows the command.
        open_url(cdp, url + "#range=0.2,1.6")
        rows = table(cdp)
        sel = in_range(samples, 0.2, 1.6)
        one, two = row(rows, "phase_one"), row(rows, "phase_two")
        check(one["total"] == total_of(sel, "phase_one") and one["total"] > 50,
              "range phase_one %d == oracle %d" % (one["total"], total_of(sel, "phase_one")))
        check(two["total"] <= 0.02 * one["total"], "range: phase_two %d <= 2%% of %d"
              % (two["total"], one["total"]))
        cmd = cdp.eval("document.getElementById('command').textContent")
        check(cmd.startswith("profile report ") and cmd.endswith("--time-range 0.2,1.6"),
              "the page shows the command for the selection (%r)" % cmd)
        screenshot(cdp, os.path.join(out_dir, "explorer-range.png"))

        # 3. A drag over the second half of the heatmap (real mouse events).
        open_url(cdp, url)
        geo = cdp.eval("""(function(){ var h = document.getElementById('heatmap'),
            b = h.getBoundingClientRect(); return {x: b.left, y: b.top, l: +h.dataset.left,
            t: +h.dataset.top, cw: +h.dataset.cellWidth, ch: +h.dataset.cellHeight,
            rows: +h.dataset.rows, cols: +h.dataset.columns}; })()""")
        check(geo["cols"] >= 4, "heatmap has a column per second (%d)" % geo["cols"])

        def cell(sec, row_):
            return (geo["x"] + geo["l"] + sec * geo["cw"] + geo["cw"] / 2,
                    geo["y"] + geo["t"] + row_ * geo["ch"] + geo["ch"] / 2)

        # From 0.1 s after phase_two's first sample to 0.1 s before the last sample.
        rows_n = geo["rows"]
        c0, r0 = divmod(int((t_two / 1e9 + 0.1) * rows_n), rows_n)
        c1, r1 = divmod(int((t_end / 1e9 - 0.1) * rows_n), rows_n)
        x0, y0 = cell(c0, r0)
        x1, y1 = cell(c1, r1)
        mouse(cdp, "mouseMoved", x0, y0)
        mouse(cdp, "mousePressed", x0, y0, 1)
        for k in range(1, 6):
            mouse(cdp, "mouseMoved", x0 + (x1 - x0) * k / 5, y0 + (y1 - y0) * k / 5, 1)
        mouse(cdp, "mouseReleased", x1, y1)
        a, b = cdp.eval("explorer.state.range")
        check(abs(a - (c0 + r0 / float(rows_n))) < 1e-9 and
              abs(b - (c1 + (r1 + 1) / float(rows_n))) < 1e-9,
              "the drag selected its first cell's start to its last cell's end (%s, %s)" % (a, b))

        want_hash = "#range=%s,%s" % (js_seconds(a), js_seconds(b))
        href = cdp.eval("location.href")
        check(want_hash in href, "the drag's range %s is in the URL fragment (%s)"
              % (want_hash, href))
        rows = table(cdp)
        sel = in_range(samples, a, b)
        one, two = row(rows, "phase_one"), row(rows, "phase_two")
        check(two["total"] == total_of(sel, "phase_two") and two["total"] > 50,
              "drag phase_two %d == oracle %d" % (two["total"], total_of(sel, "phase_two")))
        check(one["total"] <= 0.02 * two["total"], "drag: phase_one %d <= 2%% of %d"
              % (one["total"], two["total"]))
        screenshot(cdp, os.path.join(out_dir, "explorer-drag.png"))

        # 4. Sandwich of shared_work, opened by clicking its table row: both callers, exact.
        open_url(cdp, url)
        pos = cdp.eval("""(function(){ var r = document.querySelector(
            '#functions tr[data-name="shared_work"]'); r.scrollIntoView({block: 'center'});
            var b = r.getBoundingClientRect(); return {x: b.left + 20, y: b.top + b.height/2};
            })()""")
        browser_test.click(cdp, pos["x"], pos["y"])
        check(cdp.eval("explorer.state.view") == "sandwich", "a row click opens the sandwich")
        check("fn=shared_work" in cdp.eval("location.hash"), "#fn= in the URL")
        callers = {f["name"]: f["total"] for f in frames(cdp, "flame") if f["depth"] == 1}
        for c in ("phase_one", "phase_two"):
            want = caller_count(samples, c, "shared_work")
            check(callers.get(c) == want, "sandwich caller %s: %s == %d" % (c, callers.get(c),
                                                                           want))
        check(frame_named(cdp, "shared_work", "callees")["depth"] == 0, "callees view")
        cdp.eval("window.scrollTo(0, document.getElementById('controls').offsetTop)")
        screenshot(cdp, os.path.join(out_dir, "explorer-sandwich.png"))

        # 5. Click-zoom and reset on the flame graph.
        open_url(cdp, url)
        cdp.eval("window.scrollTo(0, document.getElementById('controls').offsetTop)")
        full = cdp.eval("document.getElementById('flame').getBoundingClientRect().width")
        p1 = frame_named(cdp, "phase_one")
        before = frame_named(cdp, "phase_two")
        browser_test.click(cdp, p1["x"] + p1["w"] / 2, p1["y"] + p1["h"] / 2)
        z = frame_named(cdp, "phase_one")
        check(abs(z["w"] - full) < 1.5, "clicked frame fills the width (%.1f of %.1f)"
              % (z["w"], full))
        check(not [f for f in frames(cdp) if f["name"] == "phase_two"],
              "the sibling is gone when zoomed")
        sw = [f for f in frames(cdp) if f["name"] == "shared_work" and f["depth"] > z["depth"]]
        check(sw and abs(sw[0]["w"] - sw[0]["total"] / z["total"] * full) < 1.5,
              "child scaled to the zoomed frame")
        rb = cdp.eval("""(function(){ var b = document.getElementById('reset')
            .getBoundingClientRect(); return {x: b.left + b.width/2, y: b.top + b.height/2};
            })()""")
        browser_test.click(cdp, rb["x"], rb["y"])
        after = frame_named(cdp, "phase_two")
        check(abs(after["w"] - before["w"]) < 0.5, "reset restores the whole graph")

        # The icicle toggle puts the root on top.
        flame_all, flame_main = frame_named(cdp, "all"), frame_named(cdp, "main")
        check(flame_all["y"] > flame_main["y"], "flame graph: root below its callees")
        ib = cdp.eval("""(function(){ var b = document.getElementById('v-icicle')
            .getBoundingClientRect(); return {x: b.left + b.width/2, y: b.top + b.height/2};
            })()""")
        browser_test.click(cdp, ib["x"], ib["y"])
        ice_all, ice_main = frame_named(cdp, "all"), frame_named(cdp, "main")
        check(ice_all["y"] < ice_main["y"], "icicle: root above its callees")
        check("view=icicle" in cdp.eval("location.hash"), "icicle kept in the URL")
        fb = cdp.eval("""(function(){ var b = document.getElementById('v-flame')
            .getBoundingClientRect(); return {x: b.left + b.width/2, y: b.top + b.height/2};
            })()""")
        browser_test.click(cdp, fb["x"], fb["y"])
        check(frame_named(cdp, "all")["y"] > frame_named(cdp, "main")["y"], "back to flame")

        # 6. Search: exact Matched % (of the whole selection), highlighted, kept in the URL.
        sb = cdp.eval("""(function(){ var b = document.getElementById('search')
            .getBoundingClientRect(); return {x: b.left + 10, y: b.top + b.height/2}; })()""")
        browser_test.click(cdp, sb["x"], sb["y"])
        cdp.send("Input.insertText", {"text": "^phase_two$"})
        matched = cdp.eval("document.getElementById('matched').textContent")
        want = 100.0 * total_of(samples, "phase_two") / len(samples)
        check(matched == "Matched: %.2f%%" % want, "Matched %r == %.2f%%" % (matched, want))
        check("search=%5Ephase_two%24" in cdp.eval("location.hash"), "search in the URL")
        screenshot(cdp, os.path.join(out_dir, "explorer-search.png"))

        # A CPU filter from the URL: the busiest CPU's samples only, exactly.
        busiest = max(set(x[2] for x in samples), key=lambda c: sum(1 for x in samples
                                                                    if x[2] == c))
        open_url(cdp, url + "#cpu=%d" % busiest)
        on_cpu = [x for x in samples if x[2] == busiest]
        check(cdp.eval("explorer.selectionTotal()") == len(on_cpu),
              "#cpu=%d selects its %d samples" % (busiest, len(on_cpu)))
        check(row(table(cdp), "shared_work")["total"] == total_of(on_cpu, "shared_work"),
              "the table follows the CPU filter")

        # merge --format html of a pprof (no sample times): table and flame graph, no heatmap.
        pb = os.path.join(out_dir, "phases.pb.gz")
        merged = os.path.join(out_dir, "merged.html")
        r1 = subprocess.run([profile, "report", data, "--format", "pprof", "-o", pb], timeout=60)
        r2 = subprocess.run([profile, "merge", "--format", "html", pb, pb, "-o", merged],
                            timeout=60)
        check(r1.returncode == 0 and r2.returncode == 0, "merge --format html exits 0")
        open_url(cdp, "file://" + os.path.abspath(merged))
        check(row(table(cdp), "phase_one")["total"] > 0, "the merged page has its table")
        check(cdp.eval("document.getElementById('heatmap-scroll').hidden && "
                       "!document.getElementById('no-time').hidden"),
              "an input without times says it has no heatmap")

        # 7. Nothing left file://: every request the page made, and its resource entries.
        urls = [e["params"]["request"]["url"] for e in cdp.events
                if e.get("method") == "Network.requestWillBeSent"]
        check(urls and all(u.startswith("file://") for u in urls),
              "no request leaves file:// (%s)" % [u for u in urls if not u.startswith("file:")])
        check(cdp.eval("performance.getEntriesByType('resource').length") == 0,
              "the page loads no resource")
    finally:
        cdp.close()


def main():
    global FIXTURES
    args = sys.argv[1:]
    if "--fixtures" in args:
        i = args.index("--fixtures")
        FIXTURES = args[i + 1]
        del sys.argv[i + 1:i + 3]
    if not FIXTURES:
        print("FAIL: --fixtures DIR is required")
        return 1
    return browser_test.main(run)


if __name__ == "__main__":
    sys.exit(main())
