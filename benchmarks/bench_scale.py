"""A run of 60,000 samples in the app: pages stay within their goals and the server's memory
stays bounded.

Makes 60,000 distinct 28 x 28 digits (scripts/make_image_folder.py's generator) as one .npz,
trains DAC's tiny preset for one epoch on all of them (the CLI), records a second run of the
same data (an external model: PCA of the tracked samples, ``clustlib import``), then opens in
Chromium (a browser that has seen the app, on a warm server) the Dataset page, the DAC page
on the 60k run (its Inspect points), Your model, and Compare with both: seconds to the first
figure, to settled, bytes (HTTP + websocket) and the server's memory after each.

    python benchmarks/bench_scale.py [--n 60000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from app_server import CHROMIUM_ARGS, serve  # noqa: E402
from bench_class import rss_mib, server_pid  # noqa: E402
from bench_pages import visit  # noqa: E402
from machine import machine_line  # noqa: E402
from make_image_folder import digits  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright
    from sklearn.decomposition import PCA

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60_000)
    args = ap.parse_args()
    print(machine_line() + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        pairs = list(digits(args.n))
        X, y = np.stack([a for a, _ in pairs]), np.asarray([c for _, c in pairs])
        np.savez(tmp / "digits60k.npz", X=X, y=y)
        spec = f"npz:{tmp / 'digits60k.npz'}"
        print(f"data: {args.n:,} images of 28 x 28 written in {time.perf_counter() - t0:.0f} s")
        runs = tmp / "runs"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "clustlib.cli", "train", "dac", "--data", spec, "--preset", "tiny",
                        "--set", "max_iter=1", "--out", str(runs / "dac60k"), "--quiet"], check=True)
        print(f"DAC tiny, one epoch on {args.n:,}: {time.perf_counter() - t0:.0f} s")
        idx = np.sort(np.random.default_rng(0).choice(args.n, 2000, replace=False))
        emb = PCA(10, random_state=0).fit_transform(X[idx].reshape(len(idx), -1).astype(np.float32) / 255)
        np.savez(tmp / "pca.npz", embeddings=emb[None], y=y[idx], X=X[idx])
        subprocess.run([sys.executable, "-m", "clustlib.cli", "import", str(tmp / "pca.npz"), "--out",
                        str(runs / "pca60k"), "--name", "PCA of 2,000 of the 60k", "--dataset", spec], check=False)
        pages = [("dataset", f"dataset?data={spec}"), ("dac, 60k run", "dac?run=dac60k"),
                 ("Your model, 60k data", "model?run=pca60k"), ("compare", "compare?runs=dac60k,pca60k")]
        with serve(runs, env={"CLUSTLIB_DATA_ROOTS": str(tmp)}) as url, sync_playwright() as p:
            pid = server_pid(int(url.rsplit(":", 1)[1]))
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            visit(browser, url, context=context)  # the app's code into the browser's cache
            print("\n| page | first figure s | settled s | KB (HTTP + websocket) | server MiB | with its processes MiB |")
            print("|---|---|---|---|---|---|")
            for name, path in pages:
                for which in ("first", "again"):
                    r = visit(browser, f"{url}/{path}", context=context)
                    own, total = rss_mib(pid)
                    first = f"{r['first']:.1f}" if r["first"] is not None else "-"
                    print(f"| {name} ({which}) | {first} | {r['settled']:.1f} | {(r['http'] + r['ws']) / 1000:.0f} | "
                          f"{own:.0f} | {total:.0f} |", flush=True)
            browser.close()


if __name__ == "__main__":
    main()
