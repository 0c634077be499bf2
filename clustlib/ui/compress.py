"""Streamlit's own JavaScript and CSS, served compressed (ASGI middleware of the server).

Streamlit serves its static bundles uncompressed (its gzip middleware skips ``/static/``):
a first visit moved 8 MB, 7.8 MB of it JavaScript (plotly.js alone 4.7 MB). These files
never change while the server runs, so each is compressed once and kept in memory: gzip
on its first request (plotly.js: 0.1 s, 1.42 MB), and Brotli at its best quality in a
background thread of the lowest priority (plotly.js: 8 s, 1.06 MB; all bundles: about
40 s of one core) -- a browser that accepts ``br`` gets it once it is ready, gzip before.
Both with Streamlit's cache headers for hashed bundles. Anything else passes through.
"""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
import os
import threading
from pathlib import Path

import brotli

COMPRESSED = (".js", ".css", ".svg", ".json", ".map", ".txt", ".html")
CACHE_CONTROL = b"public, immutable, max-age=31536000"  # the bundles' names carry their hash


class CompressedStatic:
    """ASGI middleware: GET/HEAD ``/static/...`` of a compressible file, for a client that
    accepts br or gzip, answered from an in-memory compression of the file in Streamlit's
    static folder (br where it is ready, else gzip)."""

    def __init__(self, app, static_dir: str | Path | None = None):
        self.app = app
        if static_dir is None:
            from streamlit import file_util

            static_dir = file_util.get_static_dir()
        self.root = Path(static_dir).resolve()

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        accepted = accepted_encodings(scope)
        if (scope.get("method") not in ("GET", "HEAD") or not path.startswith("/static/")
                or not path.endswith(COMPRESSED) or "gzip" not in accepted):
            await self.app(scope, receive, send)
            return
        encoding, body = await asyncio.to_thread(best, self.root, path, accepted)  # file I/O off the event loop
        if body is None:
            await self.app(scope, receive, send)
            return
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", kind.encode()), (b"content-encoding", encoding.encode()), (b"vary", b"Accept-Encoding"),
            (b"content-length", str(len(body)).encode()), (b"cache-control", CACHE_CONTROL)]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def accepted_encodings(scope) -> set[str]:
    """The codings a request's Accept-Encoding allows (``;q=0`` refuses one)."""
    for name, value in scope.get("headers", []):
        if name == b"accept-encoding":
            allowed = set()
            for part in value.decode("latin-1").lower().split(","):
                coding, _, q = part.partition(";")
                try:
                    weight = float(q.strip()[2:]) if q.strip().startswith("q=") else 1.0
                except ValueError:
                    weight = 1.0
                if weight > 0:
                    allowed.add(coding.strip())
            return allowed
    return set()


_CACHE: dict[tuple[str, str], tuple[bytes, int]] = {}  # (file, coding) -> (bytes, its mtime): the server's life long
_LOCK = threading.Lock()


def _encode(data: bytes, encoding: str) -> bytes:
    return brotli.compress(data, quality=11) if encoding == "br" else gzip.compress(data, compresslevel=6, mtime=0)


def compressed(root: Path, url_path: str, encoding: str = "gzip", wait: bool = True) -> bytes | None:
    """The ``encoding`` ("gzip" or "br") of the file ``url_path`` names inside the static
    folder ``root``, or None (not a bundle; or, with ``wait=False``, not compressed yet)."""
    file = (root / url_path.lstrip("/")).resolve()
    if (root / "static") not in file.parents or not file.is_file():  # the bundles only
        return None
    key, mtime = (str(file), encoding), file.stat().st_mtime_ns
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[1] == mtime:
            return hit[0]
    if not wait:
        return None
    body = _encode(file.read_bytes(), encoding)
    with _LOCK:
        _CACHE[key] = (body, mtime)
    return body


def best(root: Path, url_path: str, accepted: set[str]) -> tuple[str, bytes | None]:
    """(coding, bytes) for a client that accepts gzip: Brotli where it accepts ``br`` and
    warm() has made it, else gzip (made now the first time: ~0.1 s for plotly.js)."""
    if "br" in accepted:
        body = compressed(root, url_path, "br", wait=False)
        if body is not None:
            return "br", body
    return "gzip", compressed(root, url_path)


def warm() -> int:
    """Compress every bundle now (the server's start-up, before and after the first
    visitor): gzip, then Brotli largest first, this thread at the lowest priority so that
    a training job or a page never waits for it. The bytes kept."""
    from streamlit import file_util

    try:  # Linux: a thread's own nice value
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass
    root = Path(file_util.get_static_dir()).resolve()
    files = sorted((f for f in (root / "static").rglob("*") if f.name.endswith(COMPRESSED)),
                   key=lambda f: -f.stat().st_size)
    return sum(len(compressed(root, "/" + f.relative_to(root).as_posix(), encoding) or b"")
               for encoding in ("gzip", "br") for f in files)
