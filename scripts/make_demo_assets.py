"""Regenerate the small pretrained demo runs in assets/ (run by `make demo-assets`).

Each run is trained with a fixed seed on an embedded dataset, so the app shows an
animation the moment it opens. Sizes are kept small (tracked points, float16 traces).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from clustlib import METHODS, Run
from clustlib.external import DEMO as EXTERNAL_DEMO
from clustlib.request import TrainRequest
from clustlib.train import train_run
from clustlib.ui.background import INPUT_PEERS
from clustlib.viz.kernel import block_average, gaussian_kernel_np, kernel_rgb

ASSETS = Path(__file__).resolve().parents[1] / "assets"

# name: (method, Demo) -- each method lists its demo runs in its ABOUT
DEMOS = {name: (method, demo) for method, cls in METHODS.items() for name, demo in cls.ABOUT.demos.items()}


def precompute_views(path: Path, kinds, projections) -> None:
    """The maps a page would otherwise compute on its first open (in the background):
    each ``kind`` ("unseen", "shared", "final", a peer on the input) for each projection."""
    from clustlib.project import save_view, view_file
    from clustlib.ui.background import _compute_view

    for old in (path.parent / ".views").glob(f"{path.name}-*.npz"):
        old.unlink()
    for kind in kinds:
        for proj in projections if kind not in INPUT_PEERS else ["none"]:
            save_view(_compute_view(kind, str(path), proj), view_file(path, kind, proj))


def kernel_strip(run: Run, out: Path, px: int = 160) -> None:
    """README picture: the kernel of psi(x) for the tracked points, rows by true class, at
    the start (psi = identity), after the first rounds and at the end."""
    est = run.estimator
    order = np.argsort(est.track_y_, kind="stable")
    sigma = est.trace_[-1].scalars["sigma"]
    picks = [est.trace_[0], est.trace_[min(2, len(est.trace_) - 1)], est.trace_[-1]]
    tiles = [kernel_rgb(block_average(gaussian_kernel_np(s.embedding[order], sigma), px)) for s in picks]
    gap = np.full((tiles[0].shape[0], 8, 3), 255, np.uint8)
    Image.fromarray(np.hstack([tiles[0], gap, tiles[1], gap, tiles[2]])).save(out, optimize=True)


def main(names: list[str]) -> None:
    unknown = set(names) - set(DEMOS) - {EXTERNAL_DEMO}
    if unknown:
        sys.exit(f"unknown demo(s) {', '.join(sorted(unknown))}; demos: {', '.join(DEMOS)}")
    for name, (method, demo) in DEMOS.items():
        if names and name not in names:
            continue
        unseen = None if demo.unseen == "default" else ",".join(str(c) for c in demo.unseen) or "none"
        request = TrainRequest.from_params(method, demo.dataset, {"random_state": 0, "device": "cpu", **demo.params},
                                           preset="demo", unseen=unseen)
        run = train_run(request, ASSETS / name, overwrite=True)
        est, out = run.estimator, ASSETS / name
        size = sum(f.stat().st_size for f in out.iterdir())
        print(f"{name}: NMI {run.metrics.get('nmi', float('nan')):.3f}, {est.n_iter_} rounds, "
              f"{size / 1024:.0f} KiB -> {out}")
        kinds = (["unseen", "shared"] if demo.views else []) + (["final"] if method == "jule" else [])
        if kinds:
            precompute_views(out, kinds, demo.views or ("tsne",))
        if name == "knet-spirals":
            kernel_strip(run, ASSETS / "knet-kernel-strip.png")
    if not names or EXTERNAL_DEMO in names:  # a recorded model for the "Your model" page
        sys.path.insert(0, str(ASSETS.parent / "examples"))
        from record_autoencoder import main as record

        record(str(ASSETS / EXTERNAL_DEMO))
        precompute_views(ASSETS / EXTERNAL_DEMO, ["final", *INPUT_PEERS, "unseen"], ("tsne",))
    for stale in ASSETS.glob(".*.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
