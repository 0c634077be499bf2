"""Who may do what on a shared server (a class of thirty): the host and the visitors.

**The host** is the person who started the server: every request from the server's own
machine (``make app`` serves only it by default; ``make app ADDRESS=0.0.0.0`` opens it to
the room and the teacher's own browser stays local) -- or, when ``$CLUSTLIB_HOST_TOKEN`` is
set, only a browser that opened a page with ``?host=TOKEN`` (behind a reverse proxy every
request looks local, so a token is the only proof). The host may delete and rename any
run of the runs folder and add run zips. **A visitor** may train, open, compare and
download any run, upload data within a quota, and delete only the runs their own browser
session made (a session lasts until the tab is reloaded or closed).

What a visitor may use is bounded (environment variables, defaults sized for 2 cores):
one training queued or running per session, ``$CLUSTLIB_MAX_QUEUE`` (4) waiting in all,
``$CLUSTLIB_VISITOR_JOB_S`` (600) seconds per training (then it stops after its round and
is saved), ``$CLUSTLIB_UPLOAD_QUOTA_MB`` (100) MiB of uploads per session and
``$CLUSTLIB_VISITOR_DISK_MB`` (2048) MiB of visitor uploads and runs in all (the oldest
visitor uploads are removed first to make room).

The registry here (which session made which run or upload) is plain Python; the small
Streamlit part (:func:`session`) reads the request.
"""

from __future__ import annotations

import hmac
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from ..settings import settings

LOCAL = {"127.0.0.1", "::1", "localhost"}


def max_queue() -> int:
    return settings().max_queue


def visitor_job_seconds() -> float:
    return settings().visitor_job_s


def upload_quota() -> int:
    return int(settings().upload_quota_mb * 2**20)


def visitor_disk() -> int:
    return int(settings().visitor_disk_mb * 2**20)


class Refused(ValueError):
    """What a visitor may not do (one line that says why and what to do instead)."""


@dataclass(frozen=True)
class Who:
    """A browser session: its random owner id, and whether it is the host's."""

    owner: str
    host: bool


def decide_host(ip: str | None, token_given: str | None, token: str | None = None) -> bool:
    """The rule: with a host token configured, the token alone; without, a local request
    (an unknown address -- a test harness -- counts as local, as ``make app`` serves only
    this machine unless told otherwise)."""
    token = settings().host_token if token is None else token
    if token:
        return bool(token_given) and hmac.compare_digest(str(token_given), token)
    return not isinstance(ip, str) or not ip or ip in LOCAL


# --------------------------------------------------------------------------- registry
_LOCK = threading.Lock()
_OWNERS: dict[str, str] = {}  # resolved path of a run or an upload -> owner id
_HOSTS: set[str] = set()  # the owner ids of host sessions (their files never count, nor go)
_UPLOADED: dict[str, int] = {}  # owner id -> bytes uploaded this session


def _key(path) -> str:
    return str(Path(path).expanduser().resolve())


def claim(path, owner: str | None, host: bool = False) -> None:
    """Record that ``owner``'s session made ``path`` (a run folder or an upload); the
    first to make it keeps it (the same bytes uploaded again are the first's upload)."""
    if owner:
        with _LOCK:
            if host or _key(path) not in _OWNERS:
                _OWNERS[_key(path)] = owner
            if host:
                _HOSTS.add(owner)


def owner_of(path) -> str | None:
    with _LOCK:
        return _OWNERS.get(_key(path))


def may_delete(who: Who, path) -> bool:
    return who.host or owner_of(path) == who.owner


def check_upload(who: Who, size: int, folder) -> None:
    """Before an upload of ``size`` bytes is kept: the session's quota (visitors), then the
    total for visitors' uploads and runs, making room by removing the oldest visitor
    uploads. Raises :class:`Refused` (nothing is written)."""
    if who.host:
        return
    quota = upload_quota()
    with _LOCK:
        used = _UPLOADED.get(who.owner, 0)
    if used + size > quota:
        raise Refused(f"this upload ({size / 2**20:.1f} MiB) would take your session past its upload quota of "
                      f"{quota / 2**20:.0f} MiB ({used / 2**20:.1f} MiB used); ask the host to raise "
                      "CLUSTLIB_UPLOAD_QUOTA_MB.")
    make_room(size, folder)


def count_upload(who: Who, path, size: int) -> None:
    """An upload was kept: it counts against the session's quota and is its own."""
    claim(path, who.owner, who.host)
    if not who.host:
        with _LOCK:
            _UPLOADED[who.owner] = _UPLOADED.get(who.owner, 0) + int(size)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def make_room(size: int, uploads) -> None:
    """Keep visitors' uploads and runs within ``visitor_disk()`` after adding ``size``
    bytes: remove visitor uploads, oldest first, until there is room, else refuse. The
    host's uploads and runs neither count nor go."""
    limit = visitor_disk()
    with _LOCK:
        owned = [Path(p) for p, o in _OWNERS.items() if o not in _HOSTS and Path(p).exists()]
    uploads = Path(uploads).expanduser().resolve()
    sizes = {p: _size(p) for p in owned}
    used = sum(sizes.values())
    removable = sorted((p for p in owned if uploads in p.parents), key=lambda p: p.stat().st_mtime)
    if used - sum(sizes[p] for p in removable) + size > limit:  # no room even without them: keep them
        removable = []
    while used + size > limit and removable:
        oldest = removable.pop(0)
        used -= sizes[oldest]
        if oldest.is_dir():
            shutil.rmtree(oldest, ignore_errors=True)
        else:
            oldest.unlink(missing_ok=True)
        try:
            oldest.parent.rmdir()  # its content folder, once nothing else is kept there
        except OSError:
            pass
        with _LOCK:
            _OWNERS.pop(_key(oldest), None)
    if used + size > limit:
        raise Refused(f"the server's space for visitors ({limit / 2**20:.1f} MiB) is full; ask the host to "
                      "delete some runs or raise CLUSTLIB_VISITOR_DISK_MB.")


def session() -> Who:
    """This browser session's :class:`Who` (Streamlit): decided once per session; a
    ``?host=TOKEN`` in the link is read and taken out of the address bar."""
    import streamlit as st

    who = st.session_state.get("_who")
    if who is None or (not who.host and "host" in st.query_params):
        given = st.query_params.get("host")
        try:
            ip = st.context.ip_address
        except Exception:  # noqa: BLE001 - no request (a test harness)
            ip = None
        owner = who.owner if who is not None else secrets.token_hex(8)
        who = Who(owner, decide_host(ip, given))
        st.session_state["_who"] = who
    if "host" in st.query_params:
        del st.query_params["host"]
    return who

