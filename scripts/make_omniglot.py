"""Regenerate clustlib/datasets/omniglot.npz (+ OMNIGLOT_LICENSE) from the two
"background small" zips of Omniglot (Lake, Salakhutdinov and Tenenbaum, "Human-level
concept learning through probabilistic program induction", Science 350, 2015; data from
github.com/brendenlake/omniglot, MIT licence).

    python scripts/make_omniglot.py [FOLDER]   # FOLDER holds images_background_small{1,2}.zip

What is kept: every image of ``images_background_small1`` (Balinese, Early_Aramaic, Greek,
Korean, Latin: 136 characters) and the alphabets of ``images_background_small2`` that are
not in small1 (Japanese_(katakana), Sanskrit, Tagalog: 106 characters) -- Greek and Latin
are the same 1,000 files in both zips. 242 characters x 20 drawers = 4,840 images.

Each 105 x 105 binary PNG (black strokes on white) is inverted (strokes = 1) and resized
to 28 x 28 with Pillow's bilinear filter (it averages over the source pixels when it
shrinks), as MNIST-sized inputs keep a CPU epoch to about a second; stored as uint8
(0-255) in a compressed .npz, with each image's character id, each character's name
(``Alphabet/characterNN``) and alphabet, and the drawer id. No pickled objects.
"""

from __future__ import annotations

import sys
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

from clustlib.loaders import omniglot_ink

HERE = Path(__file__).resolve().parents[1]
OUT = HERE / "clustlib" / "datasets" / "omniglot.npz"
SIZE = 28
ZIPS = ("images_background_small1.zip", "images_background_small2.zip")


def read_zip(path: Path, skip_alphabets: set[str]) -> list[tuple[str, str, int, np.ndarray]]:
    rows = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if n.endswith(".png")):
            _, alphabet, character, file = name.split("/")
            if alphabet in skip_alphabets:
                continue
            with Image.open(BytesIO(z.read(name))) as im:
                small = omniglot_ink(im, SIZE)
            drawer = int(Path(file).stem.split("_")[1])
            rows.append((alphabet, character, drawer, small))
    return rows


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "shared" / "data" / "omniglot"
    first = read_zip(folder / ZIPS[0], set())
    second = read_zip(folder / ZIPS[1], {a for a, *_ in first})
    rows = first + second
    names = sorted({f"{a}/{c}" for a, c, *_ in rows}, key=lambda n: (n.split("/")[0] not in
                                                                  {a for a, *_ in first}, n))
    index = {n: i for i, n in enumerate(names)}
    X = np.stack([r[3] for r in rows])
    y = np.array([index[f"{a}/{c}"] for a, c, *_ in rows], dtype=np.int16)
    drawer = np.array([r[2] for r in rows], dtype=np.int8)
    order = np.lexsort((drawer, y))
    np.savez_compressed(OUT, X=X[order], y=y[order], drawer=drawer[order],
                        class_names=np.array(names), alphabets=np.array([n.split("/")[0] for n in names]))
    (OUT.parent / "OMNIGLOT_LICENSE").write_text((folder / "LICENSE").read_text())
    print(f"{OUT}: {X.shape[0]} images of {len(names)} characters in "
          f"{len(set(n.split('/')[0] for n in names))} alphabets, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
