"""What a visitor of the app may name and send: dataset specs limited to uploads and the
folders the server's operator allows, and uploaded files stored by content under their own
names, zips unpacked with guards. The CLI and the library trust their user and never call
this."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .dataset import DatasetError, parse_spec
from .loaders import EMBEDDED, FILE_KINDS, IMAGE_EXT, TORCHVISION


def data_roots() -> list[Path]:
    """Folders under which the app may read dataset files: $CLUSTLIB_DATA_ROOTS, a list
    separated by the OS path separator (``:`` on Linux); empty by default."""
    raw = os.environ.get("CLUSTLIB_DATA_ROOTS", "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def check_visitor_spec(spec: str, allowed_dirs) -> None:
    """The app's rule for a dataset spec that a visitor sent (URL, text box, uploaded run):
    embedded and generated datasets, torchvision sets in the server's default folder
    without download, and files inside ``allowed_dirs`` (the uploads folder and
    :func:`data_roots`). Anything else -- ``csv:/etc/passwd``, ``mnist:root=/home``,
    ``download=1`` -- raises a one-line DatasetError. The CLI and the library trust their
    user and never call this."""
    name, arg, opts = parse_spec(spec)
    if name in EMBEDDED:
        return
    if name in TORCHVISION:
        if "root" in opts or opts.get("download", "0") not in ("0", "", "false", "no"):
            raise DatasetError(f"{name}: the app reads torchvision sets only from the server's data "
                               "folder and never downloads on a visitor's request; drop root= and download=.")
        return
    if name in FILE_KINDS and arg:
        path = Path(arg).expanduser().resolve()
        for folder in allowed_dirs:
            folder = Path(folder).expanduser().resolve()
            if path == folder or folder in path.parents:
                return
        raise DatasetError(f"{spec.split(',')[0]}: the app reads files only from uploads and from the "
                           "folders in CLUSTLIB_DATA_ROOTS; upload the file instead.")
    # unknown names and missing paths: load_dataset gives its own one-line error


MAX_UPLOAD_BYTES = 100 * 2**20  # the same 100 MiB as Streamlit's server.maxUploadSize; unpacked: limits.unzip


def save_upload(filename: str, data: bytes, folder) -> str:
    """Store an uploaded dataset file (.npz, .csv, or a .zip of class folders of images)
    under ``folder`` (named by content, so a re-upload is free) and return its spec. The
    caller loads the spec with :func:`load_dataset`, which validates shapes, NaN and
    labels. A zip is unpacked with guards: no absolute or ``..`` paths, images only,
    bounded size and count."""
    import hashlib

    ext = Path(filename).suffix.lower().lstrip(".")
    if ext not in ("npz", "csv", "zip"):
        raise DatasetError(f"{filename}: upload a .npz (arrays X, y), a .csv (last column 'label') "
                           "or a .zip of class folders of images.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DatasetError(f"{filename} is {len(data):,} bytes, above the upload limit of "
                           f"{MAX_UPLOAD_BYTES:,} bytes ({MAX_UPLOAD_BYTES // 2**20} MiB); use a file "
                           "spec such as npz:PATH for larger data.")
    folder = Path(folder).expanduser()
    digest = hashlib.sha1(data).hexdigest()[:16]
    stem = _safe_file_name(Path(filename).stem)
    home = folder / digest  # named by content (a re-upload is free), the file keeps its name
    home.mkdir(parents=True, exist_ok=True)
    if ext in ("npz", "csv"):
        path = home / f"{stem}.{ext}"
        if not path.exists():
            tmp = home / f".{stem}.{ext}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return f"{ext}:{path}"
    target = home / stem
    if target.is_dir():
        return f"folder:{_class_root(target)}"
    try:
        _unzip_images(filename, data, home, target)
    except BaseException:
        if home.is_dir() and not any(home.iterdir()):
            home.rmdir()  # a refused upload leaves nothing behind
        raise
    return f"folder:{_class_root(target)}"


def _unzip_images(filename: str, data: bytes, home: Path, target: Path) -> None:
    """Unpack the images of an uploaded zip into ``target`` (via a hidden folder in ``home``)."""
    from .limits import unzip

    tmp = home / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        try:
            written = unzip(data, tmp, filename, keep=lambda parts: Path(parts[-1]).suffix.lower() in IMAGE_EXT)
        except ValueError as err:
            raise DatasetError(str(err)) from None
        if not written:
            raise DatasetError(f"{filename}: no images ({', '.join(sorted(IMAGE_EXT))}) in the zip.")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def upload_home(spec: str) -> Path:
    """The folder :func:`save_upload` made for an upload (``UPLOADS/<content hash>``)."""
    _, arg, _ = parse_spec(spec)
    path = Path(arg)
    parts = path.parts
    return Path(*parts[:parts.index(UPLOADS) + 2]) if UPLOADS in parts else path


def discard_upload(spec: str, folder) -> None:
    """Remove what :func:`save_upload` stored for ``spec`` when its data was refused, so a
    rejected upload leaves nothing behind (only inside ``folder``)."""
    name, arg, _ = parse_spec(spec)
    if name not in FILE_KINDS or not arg:
        return
    folder = Path(folder).expanduser().resolve()
    path = Path(arg).resolve()
    while path.parent != folder and folder in path.parents:
        path = path.parent  # the upload's own folder (named by its content)
    if path.parent != folder:
        return
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


UPLOADS = ".uploads"  # the app's uploads folder, inside its runs folder


def _safe_file_name(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:60] or "data"


def _class_root(d: Path) -> Path:
    """The folder whose sub-folders are the classes (a zip often wraps them in one folder)."""
    while True:
        subs = [p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")]
        files = [p for p in d.iterdir() if p.is_file()]
        if len(subs) == 1 and not files and any(q.is_dir() for q in subs[0].iterdir()):
            d = subs[0]
            continue
        return d
