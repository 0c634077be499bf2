"""TensorBoard embedding logs as runs: what ``SummaryWriter.add_embedding(emb,
metadata=labels, label_img=images, global_step=epoch)`` writes (torch.utils.tensorboard or
tensorboardX) opens as an animated run -- one frame per global step -- with k-means
NMI/ACC of every step beside KMeans on the first step, classes from the metadata and
thumbnails cut from the sprite::

    LOGDIR/projector_config.pbtxt          embeddings { tensor_name: "default:00003" ... }
    LOGDIR/00003/default/tensors.tsv       one row per sample, tab-separated numbers
    LOGDIR/00003/default/metadata.tsv      labels (one column), or a header and columns
    LOGDIR/00003/default/sprite.png        the label images in a grid, ceil(sqrt(n)) a row

Read without TensorFlow or the tensorboard package: the config is a small text protobuf
(parsed here, never executed), the rest is text and PNG. Bounded like every visitor file:
the config's size, the steps, a TSV's rows and columns (counted before anything is
allocated), the sprite's pixels (read from its header before it is decoded).
``clustlib import LOGDIR --out runs/x`` makes a run of it; ``clustlib app --runs DIR``
lists the logs under DIR beside the runs and opens them the same way.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from pathlib import Path

import numpy as np

from . import sources
from .external import Recorder
from .limits import max_array_bytes, max_image_pixels

CONFIG = "projector_config.pbtxt"
MAX_CONFIG_BYTES = 2**20
MAX_STEPS = 100_000
MAX_ROWS = 1_000_000
MAX_COLUMNS = 65_536


class LogError(ValueError):
    """A TensorBoard log that cannot be read (one line that says what and where)."""


def is_logdir(path) -> bool:
    """A folder with a projector config and no clustlib run of its own."""
    path = Path(path)
    return (path / CONFIG).is_file() and not (path / "run.json").exists()


# --------------------------------------------------------------------------- the config

_TOKEN = re.compile(r'\s*(?:#[^\n]*|([A-Za-z_][A-Za-z0-9_]*)|"((?:[^"\\]|\\.)*)"|([-+0-9.eE]+)|([{}:]))')


def parse_config(text: str, where: str = CONFIG) -> list[dict]:
    """The ``embeddings`` entries of a projector config (text protobuf): each a dict of
    its fields (a repeated field as a list, ``sprite`` a dict)."""
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise LogError(f"{where}: cannot read the config near {text[pos:pos + 30]!r}.")
        pos = m.end()
        name, string, number, punct = m.groups()
        if name is not None or string is not None or number is not None or punct is not None:
            tokens.append(("s", string.encode().decode("unicode_escape")) if string is not None
                          else ("n", number) if number is not None else ("p", punct) if punct else ("i", name))
    fields, i = _message(tokens, 0, where, 0)
    if i != len(tokens):
        raise LogError(f"{where}: an unmatched '}}' in the config.")
    entries = fields.get("embeddings", [])
    if len(entries) > MAX_STEPS:
        raise LogError(f"{where}: {len(entries):,} embeddings, more than {MAX_STEPS:,}.")
    return entries


def _message(tokens: list, i: int, where: str, depth: int) -> tuple[dict, int]:
    if depth > 8:
        raise LogError(f"{where}: the config is nested too deeply.")
    fields: dict = {}
    while i < len(tokens) and tokens[i] != ("p", "}"):
        kind, name = tokens[i]
        if kind != "i":
            raise LogError(f"{where}: expected a field name, found {name!r}.")
        i += 1
        if i < len(tokens) and tokens[i] == ("p", ":"):
            i += 1
        if i >= len(tokens):
            raise LogError(f"{where}: the config ends inside {name}.")
        if tokens[i] == ("p", "{"):
            value, i = _message(tokens, i + 1, where, depth + 1)
            if i >= len(tokens):
                raise LogError(f"{where}: '{{' of {name} is never closed.")
            i += 1
        else:
            value = tokens[i][1]
            i += 1
        fields.setdefault(name, []).append(value)
    return fields, i


def steps(logdir, tag: str | None = None) -> tuple[str, list[tuple[int, dict]]]:
    """(tag, [(global step, entry), ...] in step order) of the tag asked for, or of the tag
    with the most steps."""
    logdir = Path(logdir)
    f = logdir / CONFIG
    if f.stat().st_size > MAX_CONFIG_BYTES:
        raise LogError(f"{f}: {f.stat().st_size:,} bytes is too large for a projector config.")
    by_tag: dict[str, list] = {}
    for n, entry in enumerate(parse_config(f.read_text(errors="replace"), str(f))):
        name = _one(entry, "tensor_name", str(n))
        head, _, tail = name.rpartition(":")
        step = int(tail) if head and tail.isdigit() else n
        by_tag.setdefault(head or name, []).append((step, entry))
    if not by_tag:
        raise LogError(f"{f}: no embeddings logged.")
    if tag is None:
        tag = max(by_tag, key=lambda t: len(by_tag[t]))
    elif tag not in by_tag:
        raise LogError(f"{logdir}: no tag {tag!r}; its tags: {', '.join(sorted(by_tag))}.")
    return tag, sorted(by_tag[tag], key=lambda se: se[0])


def _one(entry: dict, key: str, default=None):
    value = entry.get(key, [default])
    return value[0] if value else default


def _inside(logdir: Path, rel, what: str) -> Path:
    """A path the config names, which must stay inside the log directory."""
    if not isinstance(rel, str) or not rel:
        raise LogError(f"{logdir / CONFIG}: an embedding without its {what}.")
    path = (logdir / rel).resolve()
    if logdir.resolve() not in path.parents:
        raise LogError(f"{logdir / CONFIG}: {what} {rel!r} points outside the log directory.")
    return path


def _check_declared(logdir: Path, step: int, shape: list) -> None:
    try:
        dims = [int(v) for v in shape]
    except ValueError:
        raise LogError(f"{logdir / CONFIG}: step {step} declares tensor_shape {shape!r}, not whole numbers.") from None
    if dims and (dims[0] > MAX_ROWS or math.prod(dims) * 4 > max_array_bytes()):
        raise LogError(f"{logdir / CONFIG}: step {step} declares a tensor of {' x '.join(f'{d:,}' for d in dims)}, "
                       f"above the limits ({MAX_ROWS:,} rows, {max_array_bytes() / 2**20:,.0f} MiB).")


# --------------------------------------------------------------------------- the files


def read_tensors(path: Path) -> np.ndarray:
    """tensors.tsv as float32 (n, d): rows and columns counted and checked (same length,
    within limits) before the array is allocated; one line for anything else."""

    if not path.is_file():
        raise LogError(f"{path}: missing.")
    if path.stat().st_size > 16 * max_array_bytes():
        raise LogError(f"{path}: {path.stat().st_size / 2**20:,.0f} MiB of text is above what clustlib reads "
                       "(CLUSTLIB_MAX_ARRAY_MB raises it).")
    rows, width = 0, None
    with open(path, "rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            n = line.count(b"\t") + 1
            rows += 1
            if width is None:
                width = n
            elif n != width:
                raise LogError(f"{path}: row {rows} has {n} values, row 1 has {width}; every row must have as many.")
            if rows > MAX_ROWS:
                raise LogError(f"{path}: more than {MAX_ROWS:,} rows.")
    if not rows:
        raise LogError(f"{path}: no rows.")
    if width > MAX_COLUMNS or rows * width * 4 > max_array_bytes():
        raise LogError(f"{path}: {rows:,} rows of {width:,} values is above the limit of "
                       f"{max_array_bytes() / 2**20:,.0f} MiB (CLUSTLIB_MAX_ARRAY_MB raises it).")
    try:
        E = np.loadtxt(path, delimiter="\t", dtype=np.float32, ndmin=2)
    except ValueError as err:
        raise LogError(f"{path}: not numbers ({str(err).splitlines()[0][:100]}).") from None
    if not np.isfinite(E).all():
        raise LogError(f"{path}: holds NaN or infinity.")
    return E


LABEL_COLUMNS = ("label", "labels", "class", "y", "target")


def read_metadata(path: Path, n: int, column: str | None = None) -> tuple[np.ndarray, list[str], str]:
    """(class ids, class names, the column used) of metadata.tsv for n samples: one column
    without a header, or a header and tab-separated columns (``column`` picks one by name;
    default a label-like name, else the first). Numbers are ids; names are numbered in
    sorted order."""
    if path.stat().st_size > 64 * 2**20:
        raise LogError(f"{path}: larger than 64 MiB.")
    lines = path.read_text(errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    header = None
    if len(lines) == n + 1 and "\t" in lines[0]:
        header, lines = lines[0].split("\t"), lines[1:]
    if len(lines) != n:
        raise LogError(f"{path}: {len(lines):,} rows of metadata for {n:,} embedded samples.")
    if header is None:
        if column not in (None, "", "0"):
            raise LogError(f"{path}: one column without a name; leave out the column choice.")
        values, used = lines, "label"
    else:
        if column:
            if column not in header:
                raise LogError(f"{path}: no column {column!r}; its columns: {', '.join(header)}.")
            used = column
        else:
            used = next((h for h in header if h.strip().lower() in LABEL_COLUMNS), header[0])
        j = header.index(used)
        rows = [line.split("\t") for line in lines]
        if any(len(r) != len(header) for r in rows):
            raise LogError(f"{path}: a row does not have the {len(header)} columns of its header.")
        values = [r[j] for r in rows]
    values = [v.strip() for v in values]
    if all(re.fullmatch(r"\d{1,9}", v) for v in values):
        ids = np.array([int(v) for v in values], np.int64)
        return ids, [str(c) for c in range(int(ids.max()) + 1)], used
    names = sorted(set(values))
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup[v] for v in values], np.int64), names, used


def read_sprite(path: Path, n: int, size, keep: np.ndarray) -> np.ndarray:
    """The thumbnails of samples ``keep`` cut from sprite.png (n images of ``size`` = (W, H)
    in rows of ceil(sqrt(n)), as TensorBoard lays them out): (m, 3, H, W) uint8, or
    (m, H, W) when grey. Its size is checked from the PNG header before decoding."""
    from PIL import Image

    try:
        W, H = (int(v) for v in size)
    except (TypeError, ValueError):
        raise LogError(f"{path}: the config gives no single_image_dim for its sprite.") from None
    per_row = math.ceil(math.sqrt(n))
    need = (per_row * W, math.ceil(n / per_row) * H)
    try:
        with Image.open(path) as im:
            if im.size[0] * im.size[1] > max(max_image_pixels(), need[0] * need[1]):
                raise LogError(f"{path}: {im.size[0]} x {im.size[1]} pixels is above the limit "
                               "(CLUSTLIB_MAX_IMAGE_PIXELS raises it).")
            if im.size[0] != need[0] or im.size[1] < need[1]:
                raise LogError(f"{path}: {im.size[0]} x {im.size[1]} pixels; {n:,} images of {W} x {H} "
                               f"({per_row} a row) need {need[0]} x {need[1]}.")
            grid = np.asarray(im.convert("RGB"))
    except OSError as err:
        raise LogError(f"{path}: not a readable PNG ({str(err)[:80]}).") from None
    thumbs = np.stack([grid[(i // per_row) * H:(i // per_row + 1) * H, (i % per_row) * W:(i % per_row + 1) * W]
                       for i in keep])
    if (thumbs[..., 0] == thumbs[..., 1]).all() and (thumbs[..., 1] == thumbs[..., 2]).all():
        return thumbs[..., 0]
    return thumbs.transpose(0, 3, 1, 2)  # channels first, as a Recorder keeps them


# --------------------------------------------------------------------------- as a run


def describe(logdir) -> dict:
    """What the runs library shows of a log (its config only: cheap)."""
    logdir = Path(logdir)
    tag, found = steps(logdir)
    created = _dt.datetime.fromtimestamp((logdir / CONFIG).stat().st_mtime, _dt.timezone.utc)
    return {"method": "external", "model": logdir.name, "dataset": "", "source": "tensorboard",
            "created": created.isoformat(timespec="seconds"), "metrics": {}, "unseen": [], "params": {},
            "preset": None, "seed": None, "tag": tag, "steps": len(found)}


def load(logdir, tag: str | None = None, column: str | None = None, n_clusters: int | None = None,
         max_frames: int = 300, name: str | None = None):
    """A Run of one tag of a log directory: its steps in order (at most ``max_frames``,
    evenly spaced), the first step's metadata as classes, the sprite's thumbnails."""

    logdir = Path(logdir).expanduser()
    if not is_logdir(logdir):
        raise LogError(f"{logdir}: no {CONFIG}; point at the folder SummaryWriter wrote (its log_dir).")
    tag, found = steps(logdir, tag)
    for step, entry in found:  # what the config declares is checked before any file is read
        _check_declared(logdir, step, entry.get("tensor_shape", []))
    pick = np.unique(np.linspace(0, len(found) - 1, min(len(found), max(int(max_frames), 2))).round().astype(int))
    chosen = [found[i] for i in pick]
    first = read_tensors(_inside(logdir, _one(chosen[0][1], "tensor_path"), "tensor_path"))
    n = first.shape[0]
    y, classes, used = None, [], None
    meta = next((e for _, e in found if _one(e, "metadata_path")), None)
    if meta is not None:
        y, classes, used = read_metadata(_inside(logdir, _one(meta, "metadata_path"), "metadata_path"), n, column)
    if y is not None and np.unique(y).size < 2 and not n_clusters:
        raise LogError(f"{logdir}: the metadata column {used!r} holds one class; choose another column "
                       "(--column) or give the number of clusters (--n-clusters).")
    if y is None and not n_clusters:
        raise LogError(f"{logdir}: tag {tag!r} has no metadata (labels); give the number of clusters for k-means "
                       "(--n-clusters).")
    rec = Recorder(first, y=y, name=name or logdir.name, n_clusters=n_clusters)
    sprite = next((e for _, e in found if isinstance(_one(e, "sprite"), dict)), None)
    if sprite is not None:
        s = _one(sprite, "sprite")
        rec.images = read_sprite(_inside(logdir, _one(s, "image_path"), "sprite image_path"), n,
                                 s.get("single_image_dim"), rec.keep)
    for k, (step, entry) in enumerate(chosen):
        E = first if k == 0 else read_tensors(_inside(logdir, _one(entry, "tensor_path"), "tensor_path"))
        if E.shape[0] != n:
            raise LogError(f"{logdir}: step {step} embeds {E.shape[0]:,} samples, step {chosen[0][0]} {n:,}; "
                           "log the same samples at every step.")
        rec.record(f"step {step}", E)
    run = rec.to_run()
    run.info.update(source="tensorboard", tag=tag, dataset="", **({"classes": classes[:10_000], "label_column": used}
                                                                  if used else {}))
    return run


sources.register_folder(sources.FolderReader("tensorboard", is_logdir, load, describe, LogError))
