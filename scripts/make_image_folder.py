"""Write a large image folder (one sub-folder per class) for the data-on-disk benchmark:
scikit-learn's 8x8 digits, upscaled to 28x28 and each drawn with its own random rotation,
shift, scale and noise, so every file is a distinct image. Offline, seeded.

    python scripts/make_image_folder.py /tmp/digits60k            # 60,000 images
    python scripts/make_image_folder.py /tmp/digits6k --n 6000 --size 32

It then trains as ``folder:/tmp/digits60k,lazy=1`` (read from disk) or ``folder:/tmp/digits60k``
(loaded into memory).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def digits(n: int = 60_000, size: int = 28, seed: int = 0):
    """(uint8 image, label) pairs: each a digit of scikit-learn's set, upscaled, turned,
    shifted, scaled and noised with its own random draw."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(seed)
    for _ in range(n):
        j = int(rng.integers(len(d.target)))
        im = Image.fromarray((d.images[j] * (255 / 16)).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        angle, scale = rng.uniform(-15, 15), rng.uniform(0.85, 1.1)
        dx, dy = rng.uniform(-0.1, 0.1, 2) * size
        im = im.rotate(angle, resample=Image.BILINEAR, translate=(dx, dy))
        im = im.resize((round(size * scale),) * 2, Image.BILINEAR).resize((size, size), Image.BILINEAR)
        yield np.clip(np.asarray(im, np.float32) + rng.normal(0, 12, (size, size)), 0, 255).astype(np.uint8), int(d.target[j])


def make(root: Path, n: int = 60_000, size: int = 28, seed: int = 0) -> Path:
    from tqdm.auto import tqdm

    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} exists and is not empty; choose a new folder.")
    for c in range(10):
        (root / f"digit{c}").mkdir(parents=True, exist_ok=True)
    for i, (a, label) in enumerate(tqdm(digits(n, size, seed), total=n, unit="image", desc=f"writing {root}")):
        Image.fromarray(a).save(root / f"digit{label}" / f"{i:06d}.png")
    return root


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--n", type=int, default=60_000)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(make(Path(a.out), a.n, a.size, a.seed), file=sys.stderr)
