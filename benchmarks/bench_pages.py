"""Page weight and speed in Chromium: bytes a visit costs and seconds to its first figure.

For every page (home, the five method pages on their demo runs, Your model, the runs
library, Compare, Dataset), in a fresh browser profile (nothing cached), against a server
that has just started (cold, the first page only) and one that has served the page before
(warm), in a new browser profile and in one that has seen the app before (its code
cached): bytes over HTTP (the browser's own ``encodedDataLength``) and over the websocket
(Streamlit's messages: the figure specs), seconds from navigation to the first drawn
figure, and to settled (the script finished and nothing new arrived for 1.5 s). Goals
(docs/benchmarks.md): a method page <= 1 MB in all and <= 3 s to its first figure on a
warm server; home <= 3 s on a cold one.

    python benchmarks/bench_pages.py [--pages jule,knet] [--shots DIR]
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # app_server: the app as make app starts it

from app_server import CHROMIUM_ARGS, serve  # noqa: E402
from machine import machine_line  # noqa: E402

PAGES = ["", "jule", "knet", "dac", "dscl", "secu", "model", "runs", "compare", "dataset"]
FIGURE = "[data-testid='stPlotlyChart'] .main-svg, [data-testid='stImage'] img"


def visit(browser, url: str, shot: Path | None = None, context=None) -> dict:
    """One visit: bytes and seconds; in a new profile (nothing cached) unless ``context``
    (a browser that has been here before: the app's code is in its cache)."""
    own = context is None
    context = context or browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    seen = {"http": 0, "ws": 0, "last": time.perf_counter()}

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
    return {"first": first, "settled": settled, "http": seen["http"], "ws": seen["ws"]}


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--shots", default=None, help="write a tall screenshot of each page here")
    args = ap.parse_args()
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    print(machine_line() + "\n")
    print("| page | server | first figure s | settled s | HTTP KB | websocket KB | total KB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as runs, serve(Path(runs)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        cached = browser.new_context(viewport={"width": 1366, "height": 768})
        for i, name in enumerate(args.pages.split(",")):
            # cold: a server that has just started; new: a warm server, a browser with nothing
            # cached; cached: a browser that has seen the app (its 8 MB of code cached, as for a
            # visitor's second page), the page's own figures and images new to it
            rounds = ("cold", "cached") if i == 0 else ("new browser", "cached")
            for which in rounds:
                shot = shots / f"{name or 'home'}.png" if shots and which == "cached" else None
                r = visit(browser, f"{url}/{name}", shot, cached if which == "cached" else None)
                first = f"{r['first']:.1f}" if r["first"] is not None else "-"
                print(f"| {name or 'home'} | {which} | {first} | {r['settled']:.1f} | {r['http'] / 1000:.0f} | "
                      f"{r['ws'] / 1000:.0f} | {(r['http'] + r['ws']) / 1000:.0f} |", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
