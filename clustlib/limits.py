"""Budgets checked before anything is allocated: what a file *declares* (array shapes in
an .npz header, an image's pixel count) against a limit, with a one-line error that
names the limit and the environment variable that raises it.

>>> from clustlib.limits import max_array_bytes
>>> max_array_bytes() >= 2**20
True
"""

from __future__ import annotations

import os
import zipfile

import numpy as np


class BudgetError(ValueError):
    """An input declares more than a limit allows (one line, naming the limit)."""


def _env_mib(name: str, default_mib: int) -> int:
    try:
        return max(int(float(os.environ.get(name, default_mib)) * 2**20), 2**20)
    except ValueError:
        return default_mib * 2**20


def max_array_bytes() -> int:
    """Largest array data a dataset file may declare ($CLUSTLIB_MAX_ARRAY_MB, default 512)."""
    return _env_mib("CLUSTLIB_MAX_ARRAY_MB", 512)


def max_image_pixels() -> int:
    """Most pixels one image of a folder dataset may have ($CLUSTLIB_MAX_IMAGE_PIXELS,
    default 4,000,000): a 10 KB PNG can declare 9000 x 9000."""
    try:
        return int(os.environ.get("CLUSTLIB_MAX_IMAGE_PIXELS", 4_000_000))
    except ValueError:
        return 4_000_000


def npz_declared_bytes(source) -> int:
    """Total bytes the arrays of an .npz (a path or file object) declare in their headers,
    read without loading any array. Raises ValueError for members that are not plain
    .npy arrays (pickled objects included)."""
    total = 0
    with zipfile.ZipFile(source) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename!r} is not an .npy array")
            with z.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            if dtype.hasobject:
                raise ValueError(f"member {info.filename!r} holds Python objects")
            total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return total


def check_npz(source, where: str, limit: int | None = None) -> None:
    """Raise BudgetError (one line) when the .npz declares more than ``limit`` bytes."""
    limit = max_array_bytes() if limit is None else limit
    declared = npz_declared_bytes(source)
    if declared > limit:
        raise BudgetError(f"{where}: its arrays declare {declared / 2**20:,.0f} MiB, above the limit "
                         f"of {limit / 2**20:,.0f} MiB (set CLUSTLIB_MAX_ARRAY_MB to raise it).")
