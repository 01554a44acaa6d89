#!/usr/bin/env python3
"""Browser test of the rendered flame graph: headless Chromium driven through the DevTools
protocol over --remote-debugging-pipe (stdlib only). It clicks a frame with a real mouse event
and checks the zoomed widths, searches with Ctrl-F (answering the prompt) and checks "Matched"
against the folded input's own numbers, resets with Escape, reloads a shared URL fragment, and
keeps a screenshot as an artifact.

Usage: browser_test.py --profile PATH --out DIR   (exit 0 pass, 1 fail, 77 skip)
"""
import argparse
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import base64

FOLDED = """main;parse;lex 40
main;parse;ast;lex 7
main;parse;ast 12
main;eval;call;lex_helper 30
main;eval 10
main;eval;parse_inline 5
main;write 8
other;lex 3
"""


def expected_matched(regex, prefix=None, flags=0, folded=FOLDED):
    """Percent of counts whose stack has a frame matching regex (each sample once), among the
    stacks under `prefix` (a zoomed frame). The root is searchable as "all"."""
    rx = re.compile(regex, flags)
    if rx.search("all"):
        return 100.0
    total = hit = 0
    for line in folded.strip().split("\n"):
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        if prefix and frames[:len(prefix)] != prefix:
            continue
        total += int(count)
        # A zoomed view: its ancestors count as matches for everything below them.
        if any(rx.search(f) for f in frames):
            hit += int(count)
    return 100.0 * hit / total


class Fail(Exception):
    pass


class Cdp:
    def __init__(self, chrome, user_dir):
        self.to_r, self.to_w = os.pipe()      # our writes -> chromium fd 3
        self.from_r, self.from_w = os.pipe()  # chromium fd 4 -> our reads

        # subprocess closes descriptors after preexec_fn unless they are passed, so move ours
        # above 3/4 first (no collisions), then let the child dup them onto 3 and 4.
        os.dup2(self.to_r, 100)
        os.dup2(self.from_w, 101)
        os.close(self.to_r)
        os.close(self.from_w)
        self.to_r, self.from_w = 100, 101

        def child():
            os.dup2(100, 3)
            os.dup2(101, 4)

        args = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--window-size=1300,900", "--remote-debugging-pipe",
                "--user-data-dir=" + user_dir, "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.to_r)
        os.close(self.from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", session=False, wait=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise Fail("timed out waiting for Chromium")
            r, _, _ = select.select([self.from_r], [], [], left)
            if r:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    raise Fail("Chromium closed the pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, wait=True, timeout=20):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        if not wait:
            return None
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Fail("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=20):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def open_page(self):
        """Opens a tab and attaches to it (page and runtime events on)."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        att = self.send("Target.attachToTarget", {"targetId": target["targetId"],
                                                  "flatten": True}, session=False)
        self.session = att["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise Fail("JS error in %r: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")


def wait_ready(cdp, timeout=20):
    """Polls until the viewer has initialised (a load event may belong to about:blank)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cdp.eval("typeof fg === 'object' && fg !== null && fg.nodes.length > 0 && "
                    "location.protocol === 'file:' && typeof fg_stale === 'undefined'"):
            return True
        time.sleep(0.05)
    return False


def click(cdp, x, y):
    for t in ("mouseMoved", "mousePressed", "mouseReleased"):
        p = {"type": t, "x": x, "y": y, "button": "left", "clickCount": 1}
        if t == "mouseMoved":
            p["button"] = "none"
        cdp.send("Input.dispatchMouseEvent", p)


def key(cdp, k, code, vk, modifiers=0, up=True):
    """Presses a key. With up=False only the key-down is sent, without waiting for its reply
    (a prompt opened by the key holds the reply until it is answered)."""
    for t in ("rawKeyDown", "keyUp") if up else ("rawKeyDown",):
        cdp.send("Input.dispatchKeyEvent", {"type": t, "key": k, "code": code,
                                            "windowsVirtualKeyCode": vk,
                                            "modifiers": modifiers}, wait=up)


FRAME_JS = """(function(name){
  var out = [];
  fg.nodes.forEach(function(n){
    if (n.name !== name) return;
    var r = n.rect.getBoundingClientRect();
    out.push({x: r.left + r.width/2, y: r.top + r.height/2, w: +n.rect.getAttribute('width'),
              cls: n.g.getAttribute('class') || '', fgw: n.w});
  });
  return out;
})(%s)"""


def frame(cdp, name):
    f = cdp.eval(FRAME_JS % json.dumps(name))
    if not f:
        raise Fail("frame %r not found" % name)
    return f[0]


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("ok:", what)


def run(profile, out_dir, chrome):
    os.makedirs(out_dir, exist_ok=True)
    svg = os.path.abspath(os.path.join(out_dir, "graph.svg"))
    with open(svg, "wb") as f:
        r = subprocess.run([profile, "render", "--width", "1200", "--minwidth", "0", "-"],
                           input=FOLDED.encode(), stdout=f, stderr=subprocess.PIPE)
    check(r.returncode == 0, "profile render exits 0 (%s)" % r.stderr.decode().strip())
    user_dir = tempfile.mkdtemp(prefix="prof-chromium-")
    cdp = Cdp(chrome, user_dir)
    try:
        url = "file://" + svg
        cdp.open_page()
        cdp.send("Page.navigate", {"url": url})
        check(wait_ready(cdp), "viewer initialised")

        full = 1180.0
        total = frame(cdp, "all")["fgw"]
        eval_before = frame(cdp, "eval")
        call_before = frame(cdp, "call")
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": call_before["x"],
                                              "y": call_before["y"]})
        counts = [int(l.rsplit(" ", 1)[1]) for l in FOLDED.strip().split("\n")]
        tip = "call (30 samples, %.2f%%)" % (100.0 * 30 / sum(counts))
        details = cdp.eval("fg_el('details').textContent")
        check(details == "Function: " + tip, "hover details %r" % details)
        check(cdp.eval("fg.nodes.filter(function(n){return n.name==='call'})[0]"
                       ".g.getElementsByTagName('title')[0].textContent") == tip, "tooltip title")
        click(cdp, eval_before["x"], eval_before["y"])
        ev, call, main = frame(cdp, "eval"), frame(cdp, "call"), frame(cdp, "main")
        check(abs(ev["w"] - full) < 0.11, "clicked frame fills the width (%s)" % ev["w"])
        want = call["fgw"] / ev["fgw"] * full
        check(abs(call["w"] - want) < 0.11, "child width scaled %.1f -> %.1f (want %.1f)"
              % (call_before["w"], call["w"], want))
        check("parent" in main["cls"] and abs(main["w"] - full) < 0.11,
              "ancestor dimmed and full width")
        check("hide" in frame(cdp, "parse")["cls"], "sibling subtree hidden")
        check(cdp.eval("fg_state().zoomed") == "eval", "zoom state")
        href = cdp.eval("location.href")
        check("#x=" in href and "&y=" in href, "zoom kept in the URL fragment (%s)" % href)

        # Ctrl-F opens the prompt; answer it through the protocol.
        key(cdp, "f", "KeyF", 70, modifiers=2, up=False)
        dlg = cdp.wait_event("Page.javascriptDialogOpening")
        check(dlg["params"]["type"] == "prompt", "Ctrl-F opens a search prompt")
        cdp.send("Page.handleJavaScriptDialog", {"accept": True, "promptText": "parse|lex"})
        key(cdp, "f", "KeyF", 70, modifiers=0)  # (the matching key-up; 'f' alone does nothing)
        got = cdp.eval("fg.matchedtxt.textContent")
        want = expected_matched("parse|lex", prefix=["main", "eval"])
        check(got == "Matched: %.1f%%" % want, "zoomed Matched %r == %.1f%%" % (got, want))

        key(cdp, "Escape", "Escape", 27)
        check(cdp.eval("fg_state().zoomed") is None, "Escape resets the zoom")
        check(abs(frame(cdp, "eval")["w"] - eval_before["w"]) < 0.11, "widths restored")

        cdp.eval("search('parse|lex')")
        got = cdp.eval("fg.matchedtxt.textContent")
        want = expected_matched("parse|lex")
        check(got == "Matched: %.1f%%" % want,
              "Matched %r == %.1f%% (nested matches counted once)" % (got, want))
        check(cdp.eval("fg.nodes.filter(function(n){return n.matched}).length") >= 5,
              "matching frames highlighted")
        cdp.eval("toggle_ignorecase(); search('PARSE')")
        want = expected_matched("PARSE", flags=re.I)
        check(cdp.eval("fg.matchedtxt.textContent") == "Matched: %.1f%%" % want,
              "case-insensitive search")

        shot = cdp.send("Page.captureScreenshot", {"format": "png"})
        png = os.path.join(out_dir, "search.png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("screenshot:", png)

        # A shared URL restores zoom and search.
        ev = cdp.eval("(function(){var n=fg.nodes.filter(function(n){return n.name==='ast'})[0];"
                      "return [n.x, n.y];})()")
        cdp.eval("window.fg_stale = true")  # marks the old document until the reload lands
        # A new query string makes this a real load, not a same-document fragment change.
        cdp.send("Page.navigate", {"url": url + "?shared#x=%s&y=%s&s=lex" % (ev[0], ev[1])})
        check(wait_ready(cdp), "viewer initialised after reload")
        st = cdp.eval("fg_state()")
        check(st["zoomed"] == "ast" and st["term"] == "lex", "state restored from URL: %s" % st)
        shot = cdp.send("Page.captureScreenshot", {"format": "png"})
        with open(os.path.join(out_dir, "zoomed.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        del total

        # Fluid drawing (no --width, the default): the frame area follows the window.
        fluid = os.path.abspath(os.path.join(out_dir, "fluid.svg"))
        with open(fluid, "wb") as f:
            r = subprocess.run([profile, "render", "--minwidth", "0", "-"],
                               input=FOLDED.encode(), stdout=f)
        check(r.returncode == 0, "fluid render exits 0")
        cdp.eval("window.fg_stale = true")
        cdp.send("Page.navigate", {"url": "file://" + fluid})
        check(wait_ready(cdp), "fluid viewer initialised")
        inner = cdp.eval("window.innerWidth")
        fw = cdp.eval("+fg.frames.getAttribute('width')")
        check(abs(fw - (inner - 20)) < 1, "fluid frame area %s = window %s - 2*xpad" % (fw, inner))
        ev = frame(cdp, "eval")
        click(cdp, ev["x"], ev["y"])
        got = cdp.eval("fg_state().zoomed + ' ' + frame_width('call')"
                       .replace("frame_width('call')",
                                "fg.nodes.filter(function(n){return n.name==='call'})[0]"
                                ".rect.getBoundingClientRect().width"))
        name, px = got.split(" ")
        want = 30.0 / 45.0 * fw
        check(name == "eval" and abs(float(px) - want) < 1.0,
              "fluid zoom: call is %s px (want %.1f)" % (px, want))
        cdp.send("Emulation.setDeviceMetricsOverride", {"width": 800, "height": 600,
                                                        "deviceScaleFactor": 1, "mobile": False})
        deadline = time.time() + 10
        # (the resize event follows the size change at the next frame)
        while time.time() < deadline and cdp.eval(
                "window.innerWidth !== 800 || +fg.frames.getAttribute('width') !== 780"):
            time.sleep(0.02)
        fw2 = cdp.eval("+fg.frames.getAttribute('width')")
        check(abs(fw2 - 780) < 1, "resize to 800 px refits the frame area (%s)" % fw2)
        shot = cdp.send("Page.captureScreenshot", {"format": "png"})
        with open(os.path.join(out_dir, "fluid-zoomed.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    finally:
        cdp.close()
        shutil.rmtree(user_dir, ignore_errors=True)


def main(run_checks=None):
    """Command line of this and the other browser tests: --profile, --out; exit 0/1/77."""
    run_checks = run_checks or run
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chrome:
        if os.environ.get("PROF_REQUIRE_LIVE") == "1":
            print("FAIL: chromium not found but PROF_REQUIRE_LIVE=1")
            return 1
        print("SKIP: chromium not found")
        return 77
    try:
        run_checks(a.profile, a.out, chrome)
    except Fail as e:
        print("FAIL:", e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
