"""The server ``make app`` starts: Streamlit serving ``app.py``, with a start-up that
imports torch, scikit-learn and the five methods and starts the training jobs' forkserver
*before* the server answers -- so the first visitor of a freshly started server does not
wait for them (4.7 s on a 2-core machine: the home page took 5.8 s cold, now as long as
warm). Started by ``clustlib app`` (:func:`clustlib.app.server_command`; Streamlit's
``st.App``, 1.53 or later)."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from clustlib.app import app_file
from clustlib.ui.compress import CompressedStatic


def warm() -> float:
    """What every page needs, imported once for the whole server; seconds it took."""
    t0 = time.perf_counter()
    import plotly.graph_objects  # noqa: F401
    import sklearn.cluster  # noqa: F401

    import clustlib.methods  # noqa: F401 - torch, and every method's self-description
    import clustlib.viz  # noqa: F401
    from clustlib.ui import compress
    from clustlib.ui.jobs import warm_up

    warm_up()  # the process that forks training jobs and background tasks
    threading.Thread(target=compress.warm, name="clustlib-compress", daemon=True).start()  # gzip, then Brotli, once, meanwhile
    return time.perf_counter() - t0


@asynccontextmanager
async def lifespan(app):
    seconds = await asyncio.to_thread(warm)
    print(f"clustlib: ready ({seconds:.1f} s to import torch, scikit-learn and the methods)", flush=True)
    yield


app = st.App(str(app_file()), lifespan=lifespan, middleware=[Middleware(CompressedStatic)])
