"""Budgets checked before anything is allocated: what a file *declares* (array shapes in
an .npz header, an image's pixel count) against a limit, with a one-line error that
names the limit and the environment variable that raises it.

>>> from clustlib.limits import max_array_bytes
>>> max_array_bytes() >= 2**20
True
"""

from __future__ import annotations

import io
import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from .settings import settings


class BudgetError(ValueError):
    """An input declares more than a limit allows (one line, naming the limit)."""


def max_array_bytes() -> int:
    """Largest array data a dataset file may declare (``settings().max_array_mb``)."""
    return int(settings().max_array_mb * 2**20)


def max_image_pixels() -> int:
    """Most pixels one image of a folder dataset may have: a 10 KB PNG can declare
    9000 x 9000 (``settings().max_image_pixels``)."""
    return settings().max_image_pixels


def read_npy_header(fh) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) of the .npy stream ``fh``, left at its first byte of data."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def npz_headers(source) -> dict[str, tuple[tuple, np.dtype]]:
    """The (shape, dtype) each array of an .npz (a path or file object) declares, read
    from its header without loading it. Raises ValueError for members that are not plain
    .npy arrays (pickled objects included)."""
    out = {}
    with zipfile.ZipFile(source) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                raise ValueError(f"member {info.filename!r} is not an .npy array")
            with z.open(info) as fh:
                shape, _, dtype = read_npy_header(fh)
            if dtype.hasobject:
                raise ValueError(f"member {info.filename!r} holds Python objects")
            out[info.filename[:-4]] = (tuple(shape), dtype)
    return out


def npz_declared_bytes(source) -> int:
    """Total bytes the arrays of an .npz declare in their headers (:func:`npz_headers`)."""
    return sum(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize for shape, dtype in npz_headers(source).values())


def check_npz(source, where: str, limit: int | None = None) -> None:
    """Raise BudgetError (one line) when the .npz declares more than ``limit`` bytes."""
    limit = max_array_bytes() if limit is None else limit
    declared = npz_declared_bytes(source)
    if declared > limit:
        raise BudgetError(f"{where}: its arrays declare {declared / 2**20:,.0f} MiB, above the limit "
                         f"of {limit / 2**20:,.0f} MiB (set CLUSTLIB_MAX_ARRAY_MB to raise it).")


MAX_ZIP_MEMBERS = 50_000  # files a zip may hold
MAX_UNZIPPED_BYTES = 500 * 2**20  # what a zip's members may declare in all (guards against zip bombs)


def unzip(data: bytes, dest, where: str, keep=lambda parts: True) -> list:
    """The one guarded unzip of the app (run zips and dataset zips): reads the members'
    declared count and sizes first (at most ``MAX_ZIP_MEMBERS`` and ``MAX_UNZIPPED_BYTES``),
    refuses absolute and ``..`` paths, skips macOS's ``__MACOSX`` folders and what ``keep``
    (the member's path parts) declines, and writes the rest under ``dest`` keeping their
    paths. Returns the written members' path parts. Raises ValueError (one line, naming
    ``where``); what was written stays in ``dest`` for the caller to remove."""

    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in z.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError) as err:
        raise ValueError(f"{where} is not a zip file ({str(err)[:120]}).") from None
    if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise BudgetError(f"{where}: more than {MAX_ZIP_MEMBERS:,} files or {MAX_UNZIPPED_BYTES // 2**20} MiB "
                          "unpacked.")
    written = []
    for info in infos:
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if any(p.startswith("__MACOSX") for p in parts):
            continue
        if info.filename.startswith("/") or ".." in parts or not parts:
            raise ValueError(f"{where}: unsafe path {info.filename!r} in the zip.")
        if not keep(parts):
            continue
        out = Path(dest).joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with z.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (RuntimeError, NotImplementedError, zipfile.BadZipFile, EOFError, zlib.error) as err:
            raise ValueError(f"{where}: {info.filename!r} cannot be unpacked ({str(err)[:80]}; encrypted, damaged "
                             "or an unsupported compression).") from None
        written.append(parts)
    return written
