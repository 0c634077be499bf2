"""A page's sidebar head: preset, dataset (or an upload), unseen classes, clusters, seed and
the method's own settings -- taken from the link on a page's first run and written back to
it, so a link opens the same view."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import streamlit as st

from ..data import resolve_unseen
from ..dataset import DatasetError
from ..params import rules_of
from ..request import TrainRequest
from ..rundir import runs_dir
from ..uploads import (
    MAX_UPLOAD_BYTES,
    UPLOAD,
    UPLOADS,
    discard_upload,
    save_upload,
    stored_bytes,
    upload_id,
    upload_path,
)
from . import access
from .jobs import find_job, find_saved_run
from .store import cached_dataset, plain


def dataset_ui(key: str, options: list[str], linked: bool = False) -> tuple[str, object]:
    """Sidebar: a dataset spec (presets first, or typed) and the loaded Dataset. With
    ``linked`` (the Dataset page), the spec is taken from the link's ``?data=`` on the
    first run and written back to it."""
    if linked and not st.session_state.get(f"{key}_q_done"):
        st.session_state[f"{key}_q_done"] = True
        data = st.query_params.get("data")
        if data and data not in options:
            st.session_state[f"{key}_ds"], st.session_state[f"{key}_spec"] = "other spec…", str(data)[:500]
        elif data:
            st.session_state[f"{key}_ds"] = data
    choice = st.sidebar.selectbox("Dataset", options + ["upload…", "other spec…"], key=f"{key}_ds")
    spec = choice
    if choice == "upload…":
        return upload_dataset_ui(key)
    if choice == "other spec…":
        st.session_state.setdefault(f"{key}_spec", "npz:path/to/data.npz")
        spec = st.sidebar.text_input("Dataset spec", key=f"{key}_spec")
    if linked and spec and st.query_params.get("data") != spec:
        st.query_params["data"] = spec
    try:
        return spec, cached_dataset(spec)
    except DatasetError as err:
        st.sidebar.error(plain(err))
        return spec, None


def query_state_ui(key: str, cls, datasets: list[str], default: str) -> None:
    """On a page's first run in a session, read the link as a request
    (:meth:`TrainRequest.from_query`) and set the widgets' state from it: preset, dataset,
    seed, unseen classes, k and the method's settings; everything else starts from the
    defaults. Widgets are then created without their own default values (Streamlit warns
    when both are given)."""
    if st.session_state.get(f"{key}_q_done"):
        return
    st.session_state[f"{key}_q_done"] = True
    q = st.query_params
    query = q.to_dict()
    if "run" in query and "data" not in query:  # ?run=NAME alone: the sidebar starts from that run's settings
        found = find_saved_run(query["run"], cls.ABOUT.name)
        info = found[1] if found else None
        if info is not None and info.get("dataset"):
            query.update(data=str(info["dataset"]), preset=str(info.get("preset") or "demo"),
                         seed=str(info.get("seed") or 0))
    linked = TrainRequest.from_query(cls.ABOUT.name, query, default)
    st.session_state[f"{key}_preset"] = linked.preset
    if linked.data in datasets:
        st.session_state[f"{key}_ds"] = linked.data
    else:
        st.session_state[f"{key}_ds"] = "other spec…"
        st.session_state[f"{key}_spec"] = linked.data
    st.session_state[f"{key}_seed"] = linked.seed
    st.session_state[f"{key}_q_unseen"] = list(linked.unseen) if isinstance(linked.unseen, tuple) else linked.unseen
    st.session_state[f"{key}_q_k"] = linked.k
    st.session_state[f"{key}_q_settings"] = dict(linked.params)
    st.session_state[f"{key}_q_run"] = q.get("run")
    st.session_state[f"{key}_q_shared"] = any(k in q for k in ("data", "preset", "seed", "unseen"))
    job = find_job(q.get("job"), key)  # a reload during (or after) training: the same job again
    if job is not None:
        st.session_state[f"{key}_job"] = job


def setting_ui(key: str, cls, name: str, label: str, *, upto=None, lo=None, choices=None, **kwargs):
    """A method setting in the sidebar, drawn from its parameter rule (``PARAM_RULES``):
    a rule of options is a radio of them; a number is a slider from the rule's lower
    bound (or ``lo``, within the rule) to ``upto`` (at most the rule's upper bound), or a
    select slider of ``choices`` (named choices: a radio). Every value it offers passes the
    rule (a page that offers another fails on its first run). It starts from the chosen
    preset's value (each preset has its own widget) and is kept in the URL like the dataset
    and the seed (``?max_iter=5``): a link's value is taken once, when the widget can hold it."""

    rule = rules_of(cls)[name]
    preset = st.session_state.get(f"{key}_preset", "demo")
    default = cls.PRESETS[preset].get(name, inspect.signature(cls).parameters[name].default)
    if rule.kind == "choice" and choices is None:
        choices = list(rule.options)
    if choices is not None:
        choices = sorted({*choices, default}) if all(isinstance(c, (int, float)) for c in choices) else list(choices)
        radio = any(isinstance(c, str) for c in choices)  # named choices
        widget, kwargs = (st.sidebar.radio, {"horizontal": True, **kwargs}) if radio else (st.sidebar.select_slider, kwargs)
        kwargs["options"], bounds = choices, ()
    else:
        low = min(rule.lo if lo is None else lo, default)  # the preset's own value is always offered
        high = max(rule.hi if upto is None else min(upto, rule.hi), default)
        widget, bounds, radio = st.sidebar.slider, (type(default)(low), type(default)(high)), False
    offered = choices if choices is not None else list(bounds)
    bad = [v for v in offered if not rule.ok(v)]
    if bad:
        raise ValueError(f"{cls.__name__} page: {name} offers {bad}, outside its rule ({rule.describe()}).")
    wkey = f"{key}_{name}_{preset}"
    linked = (st.session_state.get(f"{key}_q_settings") or {}).pop(name, None)
    if linked is not None:
        value = _setting_value(linked, default, bounds, choices)
        if value is not None:
            st.session_state[wkey] = value
    if wkey not in st.session_state:  # a default only when the state holds none (no warning)
        if radio:
            kwargs["index"] = choices.index(default)
        else:
            kwargs["value"] = default
    return widget(label, *bounds, key=wkey, **kwargs)


def _setting_value(text: str, default, bounds: tuple, options):
    """A link's text as a setting's value, or None when the widget cannot hold it."""
    if options is not None:
        return next((o for o in options if str(o) == text), None)
    try:
        value = type(default)(float(text)) if isinstance(default, (int, float)) else text
    except (TypeError, ValueError):
        return None
    lo, hi = (bounds + (None, None))[:2]
    if lo is not None and not lo <= value <= hi:
        return None
    return value


def share_state_ui(key: str, request: TrainRequest) -> None:
    """Write the page's request to the URL query string (:meth:`TrainRequest.to_query`:
    data, preset, seed, k, unseen classes -- by alphabet where the page chose alphabets --
    and the method's settings), so the link reproduces it."""
    state = request.to_query()
    if state.get("unseen") and st.session_state.get(f"{key}_unseen_text"):
        state["unseen"] = st.session_state[f"{key}_unseen_text"]
    job = st.session_state.get(f"{key}_job")
    if job is not None and job.running:
        state["job"] = job.id
    if dict(st.query_params) != state:
        st.query_params.from_dict(state)


def upload_dataset_ui(key: str) -> tuple[str, object]:
    """Sidebar: upload your own data (.npz X/y, .csv with a 'label' column, or a .zip of
    class folders of images); validated exactly like a dataset spec. Kept once per upload
    (counted at its unpacked size); an upload the server removed to make room is said so,
    never silently written again."""

    up = st.sidebar.file_uploader(f"Your data (.npz, .csv or .zip of class folders; ≤ {MAX_UPLOAD_BYTES // 2**20} MiB)",
                                  type=["npz", "csv", "zip"], key=f"{key}_upload")
    if up is None:
        return "", None
    folder, who = runs_dir() / UPLOADS, access.session()
    held = st.session_state.get(f"{key}_upload_kept")  # (file id, spec, path) of this upload, once kept
    fresh = None  # the file this upload wrote (removed again when its data is refused)
    try:
        if held is not None and held[0] == up.file_id:
            spec = held[1]
            if not Path(held[2]).exists():
                raise access.Refused(f"{up.name} was removed from the server to make room for other visitors' "
                                     "data; upload it again.")
        else:
            data = up.getvalue()
            size = stored_bytes(up.name, data)
            access.check_upload(who, size, folder)  # quota and room, before anything is kept
            path = upload_path(up.name, data, folder)
            fresh = None if path.exists() else path
            save_upload(up.name, data, folder)
            spec = f"{UPLOAD}:{upload_id(path, folder)}"  # links and runs name it by an opaque id, never a path
            access.count_upload(who, path, size)
            st.session_state[f"{key}_upload_kept"] = (up.file_id, spec, str(path))
        ds = cached_dataset(spec)
        shape = " × ".join(map(str, ds.X.shape[1:]))
        classes = f"{ds.n_classes} classes" if ds.y is not None else "no labels"
        st.sidebar.success(f"{plain(up.name)}: {len(ds):,} samples, {classes}, each {shape}")
        side = int(round(np.sqrt(ds.X.shape[1]))) if ds.kind == "vector" else 0
        if side >= 4 and side * side == ds.X.shape[1]:  # rows of pixels: show them as images
            pixels = bool(ds.X.min() >= 0 and side >= 16)
            st.session_state.setdefault(f"{key}_upload_img", pixels)
            if st.sidebar.checkbox(f"Rows are {side} × {side} images", key=f"{key}_upload_img"):
                spec = f"{spec},shape={side}x{side}"
                ds = cached_dataset(spec)
        return spec, ds
    except (DatasetError, access.Refused) as err:
        if fresh is not None:  # a refused upload leaves nothing behind (and no one else's)
            discard_upload(fresh, folder)
            st.session_state.pop(f"{key}_upload_kept", None)
        st.sidebar.error(plain(err))
        return "", None


def train_setup_ui(key: str, cls, datasets: list[str], default: str,
                   k_max: int = 100, k_fallback: int = 10, unseen_half: bool = False) -> tuple[TrainRequest, object]:
    """Sidebar head shared by the method pages of estimator class ``cls``: preset (demo
    first chosen), dataset, unseen classes, the number of clusters and the seed,
    initialised from the link. Returns the request (the page adds its method's settings,
    :meth:`TrainRequest.with_params`) and the loaded Dataset (None when it cannot train)."""
    query_state_ui(key, cls, datasets, default)
    st.sidebar.header("Train")
    preset = st.sidebar.selectbox("Preset", list(cls.PRESETS), key=f"{key}_preset")
    spec, ds = dataset_ui(key, datasets)
    unseen = unseen_ui(key, ds, unseen_half)
    k_default = max(2, (ds.n_classes or 2) - len(unseen)) if ds is not None else k_fallback
    k_key = f"{key}_k_{spec}_{len(unseen)}"
    shared_k = st.session_state.pop(f"{key}_q_k", None)  # a link's k, once, within bounds
    if shared_k is not None and k_key not in st.session_state:
        st.session_state[k_key] = max(2, min(k_max, shared_k))
    default = {} if k_key in st.session_state else {"value": min(k_default, k_max)}
    k = st.sidebar.number_input("Clusters", 2, k_max, key=k_key, **default)
    n_train = 0 if ds is None else len(ds) - (int(np.isin(ds.y, unseen).sum()) if unseen else 0)
    if ds is not None and n_train < 2 * int(k):
        st.sidebar.error(f"{n_train} training samples are too few for {int(k)} clusters; "
                         f"use at least {2 * int(k)} or fewer clusters.")
        ds = None
    seed = st.sidebar.number_input("Seed", 0, 10_000, key=f"{key}_seed")
    request = TrainRequest(cls.ABOUT.name, spec, preset=preset, unseen=tuple(unseen), seed=int(seed), k=int(k))
    return request, ds


def unseen_ui(key: str, ds, upper_half: bool = False) -> list[int]:
    """Sidebar: classes held out of training (``upper_half``: the upper half by default;
    a dataset with its own split, e.g. Omniglot, starts from that split). A dataset whose
    classes come in groups (Omniglot's alphabets) is split by whole groups."""
    if ds is None or ds.y is None:
        return []
    classes = sorted(int(c) for c in np.unique(ds.y))
    if ds.default_unseen:
        default = [c for c in ds.default_unseen if c in set(classes)]
    else:
        default = classes[len(classes) // 2:] if upper_half and len(classes) >= 4 else []
    shared = st.session_state.get(f"{key}_q_unseen")
    if shared is not None:
        try:
            ids = resolve_unseen(ds, shared if isinstance(shared, str) else ",".join(map(str, shared)))
            if ids and set(ids) <= set(classes):
                default = ids
        except DatasetError:
            pass
    st.session_state.pop(f"{key}_unseen_text", None)
    if ds.class_groups:
        present = {ds.class_groups[c] for c in classes if c < len(ds.class_groups)}
        groups = sorted(present)
        gkey = f"{key}_unseen_groups_{ds.name}"
        st.session_state.setdefault(gkey, sorted({ds.class_groups[c] for c in default}))  # not both (a warning)
        chosen = st.sidebar.multiselect("Unseen alphabets (held out of training)", groups, key=gkey)
        st.session_state[f"{key}_unseen_text"] = ",".join(chosen)
        return [c for c in classes if ds.class_groups[c] in chosen]
    ukey = f"{key}_unseen_{ds.name}"
    st.session_state.setdefault(ukey, default)
    return st.sidebar.multiselect("Unseen classes (held out of training)", classes, key=ukey)
