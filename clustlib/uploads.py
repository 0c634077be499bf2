"""What a visitor of the app may name and send: dataset specs limited to uploads and the
folders the server's operator allows, and uploaded files stored by content under their own
names, zips unpacked with guards. The CLI and the library trust their user and never call
this."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import secrets
import shutil
import zipfile
from pathlib import Path

from .dataset import DatasetError, parse_spec
from .limits import unzip
from .loaders import EMBEDDED, FILE_KINDS, IMAGE_EXT, TORCHVISION
from .settings import settings


def data_roots() -> list[Path]:
    """Folders under which the app may read dataset files: $CLUSTLIB_DATA_ROOTS, a list
    separated by the OS path separator (``:`` on Linux); empty by default."""
    raw = settings().data_roots
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def check_visitor_spec(spec: str, allowed_dirs) -> None:
    """The app's rule for a dataset spec that a visitor sent (URL, text box, uploaded run):
    embedded and generated datasets, torchvision sets in the server's default folder
    without download, and files inside ``allowed_dirs`` (the uploads folder and
    :func:`data_roots`). Anything else -- ``csv:/etc/passwd``, ``mnist:root=/home``,
    ``download=1`` -- raises a one-line DatasetError. The CLI and the library trust their
    user and never call this."""
    name, arg, opts = parse_spec(spec)
    if name == UPLOAD:  # an id only this server resolves, inside its uploads folder
        return
    if name in EMBEDDED:
        _check_visitor_size(name, opts)
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


VISITOR_GENERATED_BYTES = 64 * 2**20  # what a visitor's link may generate (faces: 16,384 images of 32 x 32)


def _check_visitor_size(name: str, opts: dict) -> None:
    """A generated set a visitor asks for stays small: ``faces:people=500,per=1000`` would
    take 2 GiB and minutes of the server's CPU before anything could be shown."""
    def number(key, default):
        try:
            return int(opts.get(key, default))
        except ValueError:
            return default  # load_dataset says what is wrong with it

    if name == "faces":
        n, features = number("people", 20) * number("per", 32), 32 * 32
    else:
        n, features = number("n", 0), 2
    if n * features * 4 > VISITOR_GENERATED_BYTES:
        raise DatasetError(f"{name}: {n:,} generated samples ({n * features * 4 / 2**20:,.0f} MiB) is more than a "
                           f"visitor may ask for ({VISITOR_GENERATED_BYTES // 2**20} MiB); ask for fewer.")


MAX_UPLOAD_BYTES = 100 * 2**20  # the same 100 MiB as Streamlit's server.maxUploadSize; unpacked: limits.unzip


def stored_bytes(filename: str, data: bytes) -> int:
    """What an upload will take on disk once kept: its bytes, or for a zip the sizes its
    images declare unpacked (a 0.5 MB zip of padded BMPs unpacks to hundreds of MB).
    Read from the zip's directory; nothing is decompressed."""
    if Path(filename).suffix.lower() != ".zip":
        return len(data)

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return sum(i.file_size for i in z.infolist()
                       if not i.is_dir() and Path(i.filename).suffix.lower() in IMAGE_EXT)
    except (zipfile.BadZipFile, ValueError):
        return len(data)  # save_upload says what is wrong with it


def upload_path(filename: str, data: bytes, folder) -> Path:
    """Where :func:`save_upload` keeps these bytes under this name: ``folder/<content
    hash>/<name>`` (a file, or the folder a zip unpacks into)."""

    ext = Path(filename).suffix.lower()
    stem = _safe_file_name(Path(filename).stem)
    home = Path(folder).expanduser() / hashlib.sha1(data).hexdigest()[:16]
    return home / (stem if ext == ".zip" else f"{stem}{ext}")


def save_upload(filename: str, data: bytes, folder) -> str:
    """Store an uploaded dataset file (.npz, .csv, or a .zip of class folders of images)
    under ``folder`` (named by content, so a re-upload is free) and return its spec. The
    caller loads the spec with :func:`load_dataset`, which validates shapes, NaN and
    labels. A zip is unpacked with guards: no absolute or ``..`` paths, images only,
    bounded size and count."""
    ext = Path(filename).suffix.lower().lstrip(".")
    if ext not in ("npz", "csv", "zip"):
        raise DatasetError(f"{filename}: upload a .npz (arrays X, y), a .csv (last column 'label') "
                           "or a .zip of class folders of images.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DatasetError(f"{filename} is {len(data):,} bytes, above the upload limit of "
                           f"{MAX_UPLOAD_BYTES:,} bytes ({MAX_UPLOAD_BYTES // 2**20} MiB); use a file "
                           "spec such as npz:PATH for larger data.")
    target = upload_path(filename, data, folder)  # named by content (a re-upload is free), keeping its name
    home = target.parent
    home.mkdir(parents=True, exist_ok=True)
    if ext in ("npz", "csv"):
        if not target.exists():
            tmp = home / f".{target.name}.tmp-{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return f"{ext}:{target}"
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


def discard_upload(path, folder) -> None:
    """Remove one upload :func:`save_upload` stored (``path``: :func:`upload_path`) when its
    data was refused -- that file or unpacked folder only, never another name kept under
    the same content, and its content folder only once empty (only inside ``folder``)."""
    folder = Path(folder).expanduser().resolve()
    path = Path(path).expanduser().resolve()
    if path.parent.parent != folder:
        return
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # only when nothing else is kept there
    except OSError:
        pass


UPLOADS = ".uploads"  # the app's uploads folder, inside its runs folder
UPLOAD = "upload"  # the spec of an upload in links and runs: upload:ID (an opaque id, never a path)


def uploads_dir() -> Path:
    return Path(settings().runs).expanduser() / UPLOADS


def _secret(folder: Path) -> bytes:
    """The uploads folder's own key (made once, readable by the server only): ids are
    keyed hashes of the uploads' places, which nobody outside can compute or reverse."""

    f = folder / ".key"
    if not f.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".key.tmp-{os.getpid()}"
        tmp.write_bytes(secrets.token_bytes(32))
        os.chmod(tmp, 0o600)
        if not f.exists():
            os.replace(tmp, f)
        tmp.unlink(missing_ok=True)
    return f.read_bytes()


def upload_id(path, folder=None) -> str:
    """The opaque id of a kept upload (:func:`upload_path`): what a link and a run carry."""

    folder = Path(folder).expanduser() if folder is not None else uploads_dir()
    rel = Path(path).expanduser().resolve().relative_to(folder.resolve()).as_posix()
    return hmac.new(_secret(folder), rel.encode(), hashlib.sha256).hexdigest()[:20]


def resolve_upload(uid: str, folder=None) -> Path:
    """The kept upload an id names (its file, or the folder a zip was unpacked into);
    a one-line DatasetError when there is none (removed, or another server's)."""
    folder = Path(folder).expanduser() if folder is not None else uploads_dir()
    if folder.is_dir() and len(uid) == 20 and all(c in "0123456789abcdef" for c in uid):
        for home in folder.iterdir():
            if not home.is_dir() or home.name.startswith("."):
                continue
            for kept in home.iterdir():
                if not kept.name.startswith(".") and upload_id(kept, folder) == uid:
                    return kept
    raise DatasetError(f"upload:{uid[:40]}: no such upload on this server (removed to make room, or made on "
                       "another server); upload the file again.")


def upload_spec(uid: str, folder=None) -> str:
    """The file spec an upload id stands for (``npz:PATH``, ``csv:PATH``, ``folder:PATH``)."""
    kept = resolve_upload(uid, folder)
    if kept.is_dir():
        return f"folder:{_class_root(kept)}"
    return f"{kept.suffix.lstrip('.').lower()}:{kept}"


def _safe_file_name(name: str) -> str:
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
