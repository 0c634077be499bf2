"""Streamlit's own JavaScript and CSS, served compressed (ASGI middleware of the server).

Streamlit serves its static bundles uncompressed (its gzip middleware skips ``/static/``):
a first visit moved 8 MB, 7.8 MB of it JavaScript (plotly.js alone 4.7 MB). These files
never change while the server runs, so each is gzipped once, on its first request, and
kept in memory (about 2.5 MB for all of them); a browser that accepts gzip gets those
bytes, with Streamlit's cache headers for hashed bundles. Anything else passes through.
"""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
import threading
from pathlib import Path

COMPRESSED = (".js", ".css", ".svg", ".json", ".map", ".txt", ".html")
CACHE_CONTROL = b"public, immutable, max-age=31536000"  # the bundles' names carry their hash


class CompressedStatic:
    """ASGI middleware: GET/HEAD ``/static/...`` of a compressible file, for a client that
    accepts gzip, answered from an in-memory gzip of the file in Streamlit's static folder."""

    def __init__(self, app, static_dir: str | Path | None = None):
        self.app = app
        if static_dir is None:
            from streamlit import file_util

            static_dir = file_util.get_static_dir()
        self.root = Path(static_dir).resolve()

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if (scope.get("method") not in ("GET", "HEAD") or not path.startswith("/static/")
                or not path.endswith(COMPRESSED) or not self._accepts_gzip(scope)):
            await self.app(scope, receive, send)
            return
        body = await asyncio.to_thread(compressed, self.root, path)  # the first time: ~1 s for plotly.js
        if body is None:
            await self.app(scope, receive, send)
            return
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", kind.encode()), (b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding"),
            (b"content-length", str(len(body)).encode()), (b"cache-control", CACHE_CONTROL)]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    @staticmethod
    def _accepts_gzip(scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"accept-encoding":
                return b"gzip" in value
        return False



_CACHE: dict[str, tuple[bytes, int]] = {}  # file -> (its gzip, its mtime): the server's life long
_LOCK = threading.Lock()


def compressed(root: Path, url_path: str) -> bytes | None:
    """The gzip of the file ``url_path`` names inside the static folder ``root``, or None."""
    file = (root / url_path.lstrip("/")).resolve()
    if (root / "static") not in file.parents or not file.is_file():  # the bundles only
        return None
    key, mtime = str(file), file.stat().st_mtime_ns
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[1] == mtime:
            return hit[0]
    body = gzip.compress(file.read_bytes(), compresslevel=6, mtime=0)
    with _LOCK:
        _CACHE[key] = (body, mtime)
    return body


def warm() -> int:
    """Compress every bundle now (the server's start-up, before the first visitor); the
    bytes kept."""
    from streamlit import file_util

    root = Path(file_util.get_static_dir()).resolve()
    return sum(len(compressed(root, "/" + f.relative_to(root).as_posix()) or b"")
               for f in (root / "static").rglob("*") if f.name.endswith(COMPRESSED))
