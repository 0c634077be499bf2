"""Screenshots of every method page at 1366x768 for the README (docs/screenshots/),
from the demo runs in assets/, in Debian's Chromium driven by Playwright.

    .venv/bin/python scripts/screenshots.py [--full out_dir]

``--full`` also writes full-page shots (for reviewing a page, not for git)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from app_server import CHROMIUM_ARGS, idle, serve  # noqa: E402

from clustlib.methods import METHODS  # noqa: E402

PAGES = list(METHODS)  # one shot per method page


def shoot(out: Path, full: Path | None, chromium: str = "/usr/bin/chromium") -> list[Path]:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as runs, serve(Path(runs)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        for name in PAGES:
            page.goto(f"{url}/{name}")
            idle(page, 180_000)
            chart = page.locator("[data-testid='stPlotlyChart']").first
            chart.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)  # Plotly draws after the script ends
            for rail in page.locator("[data-testid='stPlotlyChart'] .slider-rail-rect").all()[:3]:
                box = rail.bounding_box()  # each animation at its last frame: what was learned
                if box:
                    rail.scroll_into_view_if_needed()
                    box = rail.bounding_box()
                    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(800)
            chart.evaluate("el => { el.scrollIntoView({block: 'start'}); let p = el.parentElement;"
                           " while (p) { if (p.scrollTop > 0) { p.scrollBy(0, -70); break; } p = p.parentElement; } }")
            page.wait_for_timeout(500)
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
            written.append(path)
            if full is not None:  # Streamlit scrolls inside the page: a tall window shows it all
                full.mkdir(parents=True, exist_ok=True)
                page.set_viewport_size({"width": 1366, "height": 3600})
                page.wait_for_timeout(2000)
                page.screenshot(path=str(full / f"{name}-full.png"))
                page.set_viewport_size({"width": 1366, "height": 768})
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KiB")
        browser.close()
    return written


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--full", default=None, help="also write full-page shots here")
    args = ap.parse_args()
    shoot(Path(args.out), Path(args.full) if args.full else None)
