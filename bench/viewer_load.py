#!/usr/bin/env python3
"""Viewer start-up in headless Chromium: for each SVG, the page's first paint, DOMContentLoaded
(the document parsed) and load (after the viewer's onload handler), in ms from navigation, from
the DevTools protocol's lifecycle events. load - DOMContentLoaded is what the viewer's start-up
adds. Three rounds, files alternated.

    bench/viewer_load.py A.svg B.svg ...     (e.g. ours and flamegraph.pl's of the same input)
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "renderer"))
import browser_test as bt  # noqa: E402  (the Chromium driver of the tests)

EVENTS = ("firstPaint", "DOMContentLoaded", "load")


def main(files):
    user = tempfile.mkdtemp(prefix="prof-viewer-load-")
    cdp = bt.Cdp(shutil.which("chromium"), user)
    try:
        cdp.open_page()
        cdp.send("Page.setLifecycleEventsEnabled", {"enabled": True})
        for rnd in range(3):
            for f in files:
                cdp.events.clear()
                cdp.send("Page.navigate", {"url": "file://%s?r=%d" % (os.path.abspath(f), rnd)})
                t = {}
                deadline = time.time() + 120
                while time.time() < deadline and not all(e in t for e in EVENTS + ("init",)):
                    m = cdp._read_message(deadline)
                    if m.get("method") == "Page.lifecycleEvent":
                        t.setdefault(m["params"]["name"], m["params"]["timestamp"])
                ms = {e: 1000 * (t[e] - t["init"]) for e in EVENTS}
                print("%-24s first paint %6.0f  DOMContentLoaded %6.0f  load %6.0f  "
                      "load-DCL %5.0f ms" % (os.path.basename(f), ms["firstPaint"],
                                             ms["DOMContentLoaded"], ms["load"],
                                             ms["load"] - ms["DOMContentLoaded"]))
    finally:
        cdp.close()
        shutil.rmtree(user, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
