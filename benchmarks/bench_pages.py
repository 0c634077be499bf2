"""Page weight and speed in Chromium: bytes a visit costs and seconds to its first figure.

For every page (home, the five method pages on their demo runs, Your model, the runs
library, Compare, Dataset), in a fresh browser profile (nothing cached), against a server
that has just started (cold, the first page only) and one that has served the page before
(warm), in a new browser profile and in one that has seen the app before (its code
cached): bytes over HTTP (the browser's own ``encodedDataLength``), the websocket's
messages as the page reads them (Streamlit's messages: the figure specs, uncompressed),
all bytes the server sent on the wire (a counting proxy between browser and server:
HTTP and the websocket as transferred, compressed where the server compresses), seconds from navigation to the first drawn
figure, and to settled (the script finished and nothing new arrived for 1.5 s). Goals
(docs/benchmarks.md): a method page <= 1 MB in all and <= 3 s to its first figure on a
warm server; home <= 3 s on a cold one.

    python benchmarks/bench_pages.py [--pages jule,knet] [--shots DIR]
    python benchmarks/bench_pages.py --first-paint 0,0.5,1 [--repeat 3]

``--first-paint`` compares the pause a page gives the browser to draw its poster before
the charts (``CLUSTLIB_FIRST_PAINT_S``; 0: poster and charts in one run): for each, a
server, a browser that has seen the app, each method page visited ``--repeat`` times in a
new session; the median seconds to the first figure and to the first interactive chart.
"""

from __future__ import annotations

import argparse
import base64
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # app_server: the app as make app starts it

from app_server import CHROMIUM_ARGS, serve  # noqa: E402
from machine import machine_line  # noqa: E402

PAGES = ["", "jule", "knet", "dac", "dscl", "secu", "model", "runs", "compare", "dataset"]
FIGURE = "[data-testid='stPlotlyChart'] .main-svg, [data-testid='stImage'] img"
CHART = "[data-testid='stPlotlyChart'] .main-svg"
METHOD_PAGES = ["jule", "knet", "dac", "dscl", "secu", "model"]


class WireCounter:
    """A TCP proxy in front of the server that counts the bytes it sends to the browser:
    what a visit costs on the wire, websocket compression included (the browser's
    DevTools report websocket messages after decompression)."""

    def __init__(self, url: str):
        self.target = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
        self.sent = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self._listener.accept()
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src, dst, count):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if count:
                    with self._lock:
                        self.sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def first_paint(pauses: list[str], repeat: int) -> None:
    """Median seconds to the first figure and the first chart per method page, per pause."""
    import statistics

    from playwright.sync_api import sync_playwright

    print("| pause s | page | first figure s (median) | first chart s (median) | visits |")
    print("|---|---|---|---|---|")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for pause in pauses:
            with tempfile.TemporaryDirectory() as runs, serve(Path(runs), {"CLUSTLIB_FIRST_PAINT_S": pause}) as url:
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                warm = context.new_page()  # the app's code and plotly.js in the browser's cache
                warm.goto(f"{url}/knet")
                warm.wait_for_selector(CHART, timeout=120_000)
                warm.close()
                times: dict[str, list] = {name: [] for name in METHOD_PAGES}
                for _ in range(repeat):
                    for name in METHOD_PAGES:
                        page = context.new_page()  # a new session, as a new tab or a reload
                        t0 = time.perf_counter()
                        page.goto(f"{url}/{name}")
                        page.wait_for_selector(FIGURE, timeout=120_000)
                        first = time.perf_counter() - t0
                        page.wait_for_selector(CHART, timeout=120_000)
                        times[name].append((first, time.perf_counter() - t0))
                        page.close()
                context.close()
            for name, ts in times.items():
                print(f"| {pause} | {name} | {statistics.median(t[0] for t in ts):.1f} | "
                      f"{statistics.median(t[1] for t in ts):.1f} | {len(ts)} |", flush=True)
        browser.close()


def visit(browser, url: str, shot: Path | None = None, context=None, wire: WireCounter | None = None) -> dict:
    """One visit: bytes and seconds; in a new profile (nothing cached) unless ``context``
    (a browser that has been here before: the app's code is in its cache)."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    seen = {"http": 0, "ws": 0, "last": time.perf_counter()}
    wire_before = wire.sent if wire else 0

    def loaded(e):
        seen["http"] += int(e.get("encodedDataLength", 0))
        seen["last"] = time.perf_counter()

    def frame(e):
        data = e["response"].get("payloadData", "")
        seen["ws"] += len(base64.b64decode(data)) if e["response"].get("opcode") == 2 else len(data.encode())
        seen["last"] = time.perf_counter()

    cdp.on("Network.loadingFinished", loaded)
    cdp.on("Network.webSocketFrameReceived", frame)
    t0 = time.perf_counter()
    page.goto(url)
    first = None
    try:
        page.wait_for_selector(FIGURE, timeout=120_000)
        first = time.perf_counter() - t0
    except Exception:  # noqa: BLE001 - a page without figures (the runs library)
        pass
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=180_000)
    while time.perf_counter() - seen["last"] < 1.5:
        page.wait_for_timeout(250)
    settled = seen["last"] - t0
    if shot is not None:
        page.set_viewport_size({"width": 1366, "height": 3000})
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shot))
    page.close()
    if own:
        context.close()
    return {"first": first, "settled": settled, "http": seen["http"], "ws": seen["ws"],
            "wire": (wire.sent - wire_before) if wire else 0}


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--shots", default=None, help="write a tall screenshot of each page here")
    ap.add_argument("--first-paint", default=None, metavar="0,0.5,1",
                    help="compare these pauses before the charts (CLUSTLIB_FIRST_PAINT_S)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.first_paint:
        print(machine_line() + "\n")
        first_paint(args.first_paint.split(","), args.repeat)
        return
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    print(machine_line() + "\n")
    print("| page | server | first figure s | settled s | HTTP KB | websocket messages KB | on the wire KB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as runs, serve(Path(runs)) as served, sync_playwright() as p:
        wire = WireCounter(served)
        url = wire.url
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        cached = browser.new_context(viewport={"width": 1366, "height": 768})
        for i, name in enumerate(args.pages.split(",")):
            # cold: a server that has just started; new: a warm server, a browser with nothing
            # cached; cached: a browser that has seen the app (its 8 MB of code cached, as for a
            # visitor's second page), the page's own figures and images new to it
            rounds = ("cold", "cached") if i == 0 else ("new browser", "cached")
            for which in rounds:
                shot = shots / f"{name or 'home'}.png" if shots and which == "cached" else None
                r = visit(browser, f"{url}/{name}", shot, cached if which == "cached" else None, wire)
                first = f"{r['first']:.1f}" if r["first"] is not None else "-"
                print(f"| {name or 'home'} | {which} | {first} | {r['settled']:.1f} | {r['http'] / 1000:.0f} | "
                      f"{r['ws'] / 1000:.0f} | {r['wire'] / 1000:.0f} |", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
