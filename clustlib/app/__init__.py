"""The app's own files, found through the package: ``app.py`` (the navigation), the pages
of ``app_pages/`` and the demo runs of ``assets/``. The repository keeps them at its top
level, where a reader looks for them; this folder links to them there, and a wheel carries
the files themselves (``pip install clustlib`` is the whole tool). Nothing here finds a
file through the source tree's layout.

:func:`server_command` is the one way the dashboard is started: ``clustlib app`` (and
``make app``, and the browser tests' server) run it.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Streamlit settings of the dashboard (flags, so they hold from any directory): no file
# watcher (in-app training was 5-10x slower with inotify floods while runs are written),
# uploads refused above clustlib's own 100 MiB (clustlib.uploads.MAX_UPLOAD_BYTES), no
# full garbage collection after every script run (with torch and plotly loaded it took
# most of a core from training while a page polled a job), no usage statistics.
STREAMLIT_FLAGS = {
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "server.maxUploadSize": "100",
    "server.enableWebsocketCompression": "true",  # permessage-deflate: the figure specs, 45 % smaller on the wire
    "server.headless": "true",
    "runner.postScriptGC": "false",
    "browser.gatherUsageStats": "false",
}


def root() -> Path:
    """The folder that holds ``app.py``, ``app_pages/`` and ``assets/``."""
    return Path(str(resources.files(__name__)))


def app_file() -> Path:
    return root() / "app.py"


def assets_dir() -> Path:
    """The demo runs shipped with clustlib (made by ``scripts/make_demo_assets.py``)."""
    return root() / "assets"


@lru_cache(maxsize=1)
def favicon():
    """The browser tab's icon, drawn here (three clusters of dots), so no page asks a font
    host for one: the app works offline."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for (cx, cy), colour in zip(((20, 22), (44, 20), (32, 44)), ("#1f77b4", "#ff7f0e", "#2ca02c")):
        for dx, dy in ((-6, -4), (5, -5), (0, 6), (-3, 2), (4, 3)):
            draw.ellipse((cx + dx - 4, cy + dy - 4, cx + dx + 4, cy + dy + 4), fill=colour)
    return im


def server_command(port: int = 8501, address: str = "localhost") -> list[str]:
    """The command that serves the dashboard (``clustlib/ui/asgi.py``: Streamlit's app
    with a start-up that imports torch and the methods before the first visitor)."""
    asgi = Path(str(resources.files("clustlib.ui") / "asgi.py"))
    flags = [arg for key, value in {**STREAMLIT_FLAGS, "server.port": str(port),
                                     "server.address": address}.items() for arg in (f"--{key}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(asgi), *flags]
