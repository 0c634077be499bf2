"""A class, simulated: 30 visitors on one server (each a browser context of its own).

Every visitor opens the five method pages (seconds from navigation to the page's first
figure); a third of them then train their page's ``tiny`` preset (one training per visitor,
queued; the queue's cap refuses the rest in one line), some upload a small .npz on the
Dataset page, some try to delete a demo run or another visitor's run (refused: no delete
button, one line); the server runs with a host token, so every browser here is a visitor. Reported:
page times (median, worst), trainings finished and refused, refusals seen, the server's
peak memory (its own process, and with its training and task processes), and whether every
run and upload that should exist exists. The browsers share the server's cores, which a
real class does not: page times here are an upper bound.

    python benchmarks/bench_class.py [--visitors 30] [--stagger 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # app_server: the app as make app starts it

from app_server import CHROMIUM_ARGS, serve  # noqa: E402
from machine import machine_line  # noqa: E402

PAGES = ["jule", "knet", "dac", "dscl", "secu"]
TOKEN = "bench-host"
TRAIN = {"jule": "data=digits:n=600&preset=tiny&seed={s}", "dac": "data=digits:n=600&preset=tiny&seed={s}",
         "secu": "data=digits:n=600&preset=tiny&seed={s}", "knet": "data=moons&preset=tiny&seed={s}",
         "dscl": "data=digits:n=600&preset=tiny&seed={s}"}


def rss_mib(pid: int) -> tuple[float, float]:
    """(RSS of the process, RSS of it and all its descendants) in MiB."""
    def one(p):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def children(p):
        try:
            kids = open(f"/proc/{p}/task/{p}/children").read().split()
        except OSError:
            return []
        return [int(k) for k in kids] + [g for k in kids for g in children(int(k))]

    return one(pid), one(pid) + sum(one(c) for c in children(pid))


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of the process and its finished, waited-for children."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def server_pid(port: int) -> int | None:
    import subprocess

    out = subprocess.run(["pgrep", "-f", f"server.port {port}"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


async def idle(page, timeout=180_000):
    await page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)


async def visit(page, url: str) -> float:
    t0 = time.perf_counter()
    await page.goto(url, wait_until="commit", timeout=240_000)  # a slow page is measured, not an error
    await page.wait_for_selector("[data-testid='stPlotlyChart'] .main-svg", timeout=240_000)
    seconds = time.perf_counter() - t0
    await idle(page)
    return seconds


def npz_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    np.savez(buf, X=rng.normal(size=(300, 6)).astype(np.float32), y=np.arange(300) % 3)
    return buf.getvalue()


async def visitor(i: int, browser, url: str, n: int, stats: dict, stagger: float, runs: Path) -> None:
    await asyncio.sleep(i * stagger)
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    where = "start"
    try:
        for name in PAGES:
            where = f"/{name}"
            stats["page_s"].append(await visit(page, f"{url}/{name}"))
        where = "after the pages"
        role = i % 6
        if role in (0, 3):  # a third train their page's tiny preset
            name = PAGES[i % len(PAGES)]
            await page.goto(f"{url}/{name}?{TRAIN[name].format(s=i)}", timeout=240_000)
            await idle(page)
            await page.get_by_role("button", name="Train", exact=True).click()
            done = page.get_by_text("Training done in")
            refused = page.get_by_text("Not started:")
            for _ in range(1200):
                if await done.count() or await refused.count():
                    break
                await page.wait_for_timeout(500)
            if await done.count():
                stats["trained"] += 1
            elif await refused.count():
                stats["refused_train"] += 1
            else:
                stats["unfinished"] += 1
        elif role == 1:  # upload a small dataset on the Dataset page
            await page.goto(f"{url}/dataset", timeout=240_000)
            await idle(page)
            await page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
            await page.get_by_role("option", name="upload…").click()
            await idle(page)
            await page.locator("input[type=file]").set_input_files(
                files=[{"name": f"visitor{i}.npz", "mimeType": "application/octet-stream", "buffer": npz_bytes(i)}], timeout=120_000)
            await page.get_by_text(f"visitor{i}.npz").first.wait_for(timeout=60_000)
            await idle(page)
            stats["uploaded"] += 1
        elif role == 2:  # try to delete a demo run and another visitor's run
            await page.goto(f"{url}/runs", timeout=240_000)
            await idle(page)
            text = await page.inner_text("body")
            stats["refusals_seen"] += ("cannot be deleted here" in text) + (await page.get_by_role(
                "button", name="Delete").count() == 0)
    except Exception as err:  # noqa: BLE001 - counted, the class goes on
        stats["errors"].append(f"visitor {i} at {where}: {type(err).__name__}: {str(err).splitlines()[0][:120]}")
    finally:
        await context.close()


async def main_async(n: int, stagger: float) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        with serve(runs, env={"CLUSTLIB_HOST_TOKEN": TOKEN}) as url:
            port = int(url.rsplit(":", 1)[1])
            pid = server_pid(port)
            peak = [0.0, 0.0]
            stop = threading.Event()

            def watch():
                while not stop.is_set():
                    own, total = rss_mib(pid) if pid else (0.0, 0.0)
                    peak[0], peak[1] = max(peak[0], own), max(peak[1], total)
                    time.sleep(0.5)

            threading.Thread(target=watch, daemon=True).start()
            stats = {"page_s": [], "trained": 0, "refused_train": 0, "unfinished": 0, "uploaded": 0,
                     "refusals_seen": 0, "errors": []}
            t0, cpu0 = time.perf_counter(), cpu_seconds(pid) if pid else 0.0
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                await asyncio.gather(*(visitor(i, browser, url, n, stats, stagger, runs) for i in range(n)))
                await browser.close()
            stop.set()
            wall = time.perf_counter() - t0
            server_cpu = (cpu_seconds(pid) - cpu0) if pid else float("nan")
            saved = sorted(d for d in runs.iterdir() if d.is_dir() and not d.name.startswith("."))
            uploads = list((runs / ".uploads").rglob("*.npz")) if (runs / ".uploads").exists() else []
            log = (runs / "server.log").read_text(errors="replace")
            noise = {w: log.count(w) for w in ("missing ScriptRunContext", "created with a default value",
                                               "Traceback")}
            times = sorted(stats["page_s"])
            print(machine_line() + "\n")
            print("| visitors | page visits | first figure s, median | worst | trainings done | refused (queue) "
                  "| unfinished | uploads kept | delete refusals seen | server peak MiB | with its processes MiB "
                  "| runs on disk = trainings | uploads on disk | errors | wall s |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
            print(f"| {n} | {len(times)} | {statistics.median(times):.1f} | {times[-1]:.1f} | {stats['trained']} | "
                  f"{stats['refused_train']} | {stats['unfinished']} | {stats['uploaded']} | {stats['refusals_seen']} | "
                  f"{peak[0]:.0f} | {peak[1]:.0f} | {'yes' if len(saved) == stats['trained'] else f'NO ({len(saved)})'} | "
                  f"{len(uploads)} | {len(stats['errors'])} | {wall:.0f} |")
            for e in stats["errors"][:10]:
                print("  ", e)
            print(f"\nThe server's own CPU: {server_cpu:.0f} s in {wall:.0f} s of wall time "
                  f"({server_cpu / max(1, len(times)):.2f} s per page visit; trainings and tasks run in its children).")
            print("\nServer log: " + ", ".join(f"{n} × '{w}'" for w, n in noise.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=30)
    ap.add_argument("--stagger", type=float, default=1.0, help="seconds between two visitors' arrivals")
    args = ap.parse_args()
    asyncio.run(main_async(args.visitors, args.stagger))


if __name__ == "__main__":
    main()
