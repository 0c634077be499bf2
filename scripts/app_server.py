"""Start the app as ``make app`` does, on a free local port, for the browser tests, the
screenshots script and the benchmarks that drive Chromium: ``with serve(runs) as url: ...``.
A test harness, so it lives beside the scripts, not in the library."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from clustlib.app import server_command
from clustlib.distributed import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@contextmanager
def serve(runs: Path, env: dict | None = None, timeout: float = 90.0, log: Path | None = None):
    """The dashboard as ``clustlib app`` (and ``make app``) serves it
    (:func:`clustlib.app.server_command`), runs saved under ``runs``; yields the URL once the server answers. The
    server's output goes to ``log`` (default: ``runs/server.log``), never to a pipe that
    nobody reads (a full pipe would stop the server)."""
    port = free_port()
    log = Path(log) if log is not None else Path(runs) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "wb")
    proc = subprocess.Popen(server_command(port, "127.0.0.1"), cwd=ROOT,
                            env={**os.environ, "CLUSTLIB_RUNS": str(runs), **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        stop(proc)
        out.close()


def stop(proc: subprocess.Popen, wait_s: float = 15) -> None:
    """End a server as Ctrl-C's neighbour SIGTERM does (its trainings save), then for sure."""
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def idle(page, timeout: int = 90_000) -> None:
    """Wait until the page's script has finished its run."""
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)
