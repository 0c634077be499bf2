"""Training in the app against the CLI: for each method's demo preset on its page's
default dataset, Train -> "Training done" in a real browser divided by the wall time of
``clustlib train`` for the same fit (process start and imports included in both), and
how long a page rerun takes while a job trains. Goal: ratio <= 1.3, rerun < 1 s.

    .venv/bin/python benchmarks/bench_app.py [--methods jule,knet] [--chromium /usr/bin/chromium]

Needs Debian's chromium and the playwright package (``make test`` installs both). Run it
alone: Chromium, the server and the training share this machine's cores."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # app_server: the app as make app starts it
sys.path.insert(0, str(ROOT / "benchmarks"))

DEFAULT_DATA = {"jule": "digits", "knet": "spirals", "dac": "digits", "dscl": "omniglot", "secu": "digits"}


def cli_seconds(method: str, out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "clustlib.cli", "train", method, "--preset", "demo",
                    "--data", DEFAULT_DATA[method], "--out", str(out), "--quiet"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def app_seconds(page, url: str, method: str) -> tuple[float, float, float, str]:
    """(Train click -> the new run shown, one page rerun while training, the training
    process's own time from start to saved) in seconds, and the threads it chose."""
    from app_server import idle

    page.goto(f"{url}/{method}")
    idle(page, 180_000)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training", exact=False).first.wait_for(timeout=60_000)
    rerun = float("nan")
    try:  # a rerun while training: the seed box, changed and changed back
        page.get_by_role("button", name="Stop").wait_for(timeout=30_000)
        seed = page.locator("[data-testid='stSidebar'] input[aria-label='Seed']")
        idle(page)
        r0 = time.perf_counter()
        seed.fill("1")
        seed.press("Enter")
        page.wait_for_selector("[data-test-script-state='running']", timeout=5_000)
        idle(page)
        rerun = time.perf_counter() - r0
        seed.fill("0")
        seed.press("Enter")
    except Exception:  # noqa: BLE001 - a fit too short to catch running: no rerun time
        pass
    done = page.get_by_text("Training done in")
    done.wait_for(timeout=1_800_000)
    total = time.perf_counter() - t0
    text = done.inner_text()
    job = float(text.split("Training done in")[1].split("s")[0])
    threads = text.split(" with ")[1].split(" thread")[0] if " with " in text else "?"
    return total, rerun, job, threads


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # DSCL last: after it the page computes its unseen maps in the background, which would
    # share the cores with the next method's timings
    ap.add_argument("--methods", default="jule,knet,dac,secu,dscl")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args, _ = ap.parse_known_args()
    from machine import machine_line

    print(machine_line())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: the playwright package is missing (make test installs it).")
        return 0
    if not Path(args.chromium).exists():
        print(f"skipped: no Chromium at {args.chromium} (apt-get install chromium).")
        return 0
    from app_server import CHROMIUM_ARGS, serve

    rows = []
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "runs") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        for method in args.methods.split(","):
            cli = cli_seconds(method, Path(tmp) / f"cli-{method}")
            app, rerun, job, threads = app_seconds(page, url, method)
            rows.append((method, DEFAULT_DATA[method], cli, app, app / cli, job, threads, rerun))
            print(f"  {method}: CLI {cli:.1f} s, app {app:.1f} s", file=sys.stderr, flush=True)
        browser.close()
    print("\n| method | dataset | CLI s | app s (Train -> run shown) | app / CLI | of which the training process | its threads | page rerun while training, s |")
    print("|---|---|---|---|---|---|---|---|")
    for method, data, cli, app, ratio, job, threads, rerun in rows:
        print(f"| {method} | {data} | {cli:.1f} | {app:.1f} | {ratio:.2f} | {job:.1f} | {threads} | {rerun:.2f} |")
    print("\nGoal: app / CLI <= 1.3 and a rerun < 1 s (demo presets; browser, server and training on one machine).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
