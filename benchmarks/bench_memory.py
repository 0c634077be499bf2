"""Peak memory of training from disk (``folder:PATH,lazy=1``) against loading the folder
into memory, on a 60,000-image folder made by ``scripts/make_image_folder.py``.

Each variant runs in a fresh process (its peak RSS is its own): load the dataset, then one
DAC epoch of 20 steps (global batch 128, width 16) with its whole-set passes (the cluster
sizes each round, the final labels) and 2,000 tracked points. Also: how fast each source
reads the whole set in chunks (images per second).

    python benchmarks/bench_memory.py                       # makes the folder in a temp dir
    python benchmarks/bench_memory.py --folder /tmp/digits60k --sizes 60000 --workers 0,2
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def variant(folder: str, n: int, lazy: bool, workers: int) -> dict:
    import torch

    from clustlib.data import load_dataset
    from clustlib.methods.dac import DAC
    from clustlib.stream import Disk, Memory

    torch.set_num_threads(2)
    t0 = time.perf_counter()
    ds = load_dataset(f"folder:{folder},n={n}" + (f",lazy=1,workers={workers}" if lazy else ""))
    load_s = time.perf_counter() - t0
    src = Disk(ds.X, torch.device("cpu")) if lazy else Memory(torch.as_tensor(ds.X))
    t0 = time.perf_counter()
    n = sum(len(x) for x in src.chunks(2048))
    read_rate = n / (time.perf_counter() - t0)
    est = DAC.from_preset("tiny", n_clusters=10, max_iter=1, steps_per_epoch=20, batch_size=128, width=16,
                          augment=1.0, track_max=2000, random_state=0, device="cpu")
    t0 = time.perf_counter()
    est.fit(ds.X, ds.y)
    fit_s = time.perf_counter() - t0
    kib = 1024
    return {"n": len(ds), "load_s": load_s, "fit_s": fit_s, "read_per_s": read_rate,
            "peak_main_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib,
            "peak_worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib,
            "array_mib": (None if lazy else ds.X.nbytes / 2**20), "nmi": est.trace_[-1].scalars.get("nmi")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folder", help="an image folder (default: 60,000 images made in a temp dir)")
    p.add_argument("--sizes", default="20000,60000", help="images used (n= of the folder: stratified subsets)")
    p.add_argument("--workers", default="2", help="DataLoader workers of the lazy variants")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one variant, print JSON
    a = p.parse_args()
    if a.one:
        n, lazy, workers = json.loads(a.one)
        print(json.dumps(variant(a.folder, n, lazy, workers)))
        return
    sys.path.insert(0, str(HERE))
    from machine import start

    made = None
    if not a.folder:
        sys.path.insert(0, str(HERE.parent / "scripts"))
        from make_image_folder import make

        made = Path(tempfile.mkdtemp(prefix="clustlib-bench-")) / "images"
        a.folder = str(make(made, max(int(v) for v in a.sizes.split(","))))
    start("| data | peak RSS, main process | peak RSS, one loader worker | dataset in memory | load s | "
          "whole-set read, images/s | DAC fit s (20 steps + passes) |", "|---|---|---|---|---|---|---|")
    try:
        runs = [(int(n), lazy, w) for n in a.sizes.split(",")
                for lazy, w in [(False, 0)] + [(True, int(w)) for w in a.workers.split(",")]]
        for n, lazy, workers in runs:
            out = subprocess.run([sys.executable, __file__, "--folder", a.folder, "--one", json.dumps([n, lazy, workers])],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            name = f"from disk, {workers} workers" if lazy else "in memory"
            worker = f"{r['peak_worker_mib']:,.0f} MiB" if lazy and workers else "-"
            array = f"{r['array_mib']:,.0f} MiB" if r["array_mib"] is not None else "-"
            print(f"| {r['n']:,} images, {name} | {r['peak_main_mib']:,.0f} MiB | {worker} | {array} | "
                  f"{r['load_s']:.1f} | {r['read_per_s']:,.0f} | {r['fit_s']:.1f} |", flush=True)
    finally:
        if made is not None:
            shutil.rmtree(made.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
