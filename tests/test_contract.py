"""The contract every registered method keeps (tiny presets on small seeded data): how it
describes itself, scikit-learn's estimator rules, Snapshots, callbacks, errors, seeds and
the Run round trip. A new method in clustlib/methods/ is tested here without a line added.

scikit-learn's own estimator checks run where they apply (``SKLEARN_CHECKS``). Not run:
``check_dont_overwrite_parameters``, ``check_fit2d_predict1d`` and
``check_methods_subset_invariance`` set ``n_clusters=1``, which no method accepts (one
cluster is not a clustering); ``check_param_validation`` reads scikit-learn's private
``_parameter_constraints`` (ours are ``PARAM_RULES``, checked in ``fit`` and fuzzed in
test_params_fuzz.py); ``check_dtype_object`` wants ``TypeError`` for an object array
(ours: one ``ValueError`` line, as for every bad input); ``check_pipeline_consistency``
needs scikit-learn's callback context, which our estimators do not use (their callbacks
are ``fit(callbacks=...)``); ``check_estimators_data_not_an_array`` is a helper, not a
check. A method declares the checks that do not apply to it, with the reason
(``sklearn_skips``: ``check_clustering`` for DSCL, which learns from labels, and SeCu, whose
size constraint holds every cluster at least 0.9 N / K).
"""

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as ec

from clustlib import Run, load_dataset
from clustlib.base import Snapshot, separation
from clustlib.data import list_datasets
from clustlib.methods import METHODS
from clustlib.methods.knet import KNet
from clustlib.params import COMMON
from clustlib.request import TrainRequest
from clustlib.rundir import is_run_dir
from clustlib.runs import _jsonable, read_run_json
from clustlib.train import OutputError, train_run

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(METHODS)
_FITTED: dict = {}


def data_for(name: str):
    ds = load_dataset("moons:n=120" if name == "knet" else "digits:n=200")
    return ds, (2 if name == "knet" else 10)


def tiny(name: str, **params):
    ds, k = data_for(name)
    return METHODS[name].from_preset("tiny", n_clusters=k, random_state=0, device="cpu", **params)


def fitted(name: str):
    """One fit per method, shared by the tests of this module."""
    if name not in _FITTED:
        ds, _ = data_for(name)
        _FITTED[name] = (ds, tiny(name).fit(ds.X, ds.y))
    return _FITTED[name]


@pytest.mark.parametrize("name", NAMES)
def test_method_describes_itself_and_has_its_three_files(name):
    cls = METHODS[name]
    about = cls.ABOUT
    assert about.name == name and about.title and about.page_title and about.icon
    assert about.description.startswith(about.title) and len(about.picture) > 40
    for path in (f"app_pages/{name}.py", f"tests/test_{name}.py", f"docs/{name}.md"):
        assert (ROOT / path).is_file(), f"{name}: {path} is missing"
    assert {"demo", "tiny", "paper"} <= set(cls.PRESETS)
    known = {row["name"] for row in list_datasets()}
    for demo_name, demo in about.demos.items():
        assert demo.dataset.split(":")[0] in known
        assert is_run_dir(ROOT / "assets" / demo_name), f"{demo_name}: run make demo-assets"
    assert set(about.progress) <= set(fitted(name)[1].trace_[-1].scalars)
    rules = {**COMMON, **cls.PARAM_RULES}
    assert [p for p in cls._get_param_names() if p not in rules] == []
    assert set(cls.PARAM_RULES) <= set(cls._get_param_names())  # no rule for a parameter that is gone


@pytest.mark.parametrize("name", NAMES)
def test_fit_gives_labels_snapshots_and_keeps_no_fit_time_state(name):
    ds, est = fitted(name)
    n, k = len(ds), est.n_clusters
    assert est.labels_.shape == (n,) and est.labels_.dtype == np.int64
    assert 0 <= est.labels_.min() and est.labels_.max() < k
    assert est.trace_[0].stage == "init" and len(est.trace_) == est.n_iter_ + 1
    m = min(est.track_max, n)
    for snap in est.trace_:
        assert isinstance(snap, Snapshot) and snap.labels.shape == (m,)
        assert snap.embedding is None or (snap.embedding.shape[0] == m and snap.embedding.dtype == np.float32)
        assert {"nmi", "acc", "ari", "n_clusters"} <= set(snap.scalars)
        assert all(isinstance(v, float) for v in snap.scalars.values())
    assert est.track_y_.shape == (m,)
    left = [a for a in vars(est) if a.startswith("_")]
    assert left == [], f"fit-time state kept after fit: {left}"
    assert est.transform(ds.X[:7]).shape[0] == 7 and est.predict(ds.X[:7]).shape == (7,)


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_params_round_trip(name):
    est = tiny(name)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    twin.set_params(**est.get_params())
    assert twin.get_params() == est.get_params()
    assert repr(est).startswith(type(est).__name__)


@pytest.mark.parametrize("name", NAMES)
def test_start_hook_hears_the_plan_and_a_callback_stops_training(name):
    ds, _ = data_for(name)
    heard = []

    class Stop:
        def on_start(self, est, planned):
            heard.append(planned)

        def __call__(self, est, snap):
            return snap.round >= 1

    est = tiny(name).fit(ds.X, ds.y, callbacks=[Stop()])
    assert len(heard) == 1 and heard[0] >= 1
    assert est.n_iter_ == 1 and len(est.trace_) == 2
    assert est.stopped_early_ or est.n_iter_ == heard[0]
    assert est.predict(ds.X[:5]).shape == (5,)


@pytest.mark.parametrize("name", NAMES)
def test_not_fitted_and_bad_input_are_one_line_errors(name):
    ds, est = fitted(name)
    with pytest.raises(NotFittedError):
        tiny(name).predict(ds.X[:3])
    bad = ds.X.copy()
    bad[3] = np.nan
    need = tiny(name)._min_samples()
    cases = [(lambda: tiny(name).fit(bad, ds.y), "NaN"),
             (lambda: tiny(name).fit(ds.X[:need - 1], ds.y[:need - 1]), "n_samples="),
             (lambda: est.predict(ds.X.reshape(len(ds), -1)[:, :-1]), "features"),
             (lambda: tiny(name).fit(np.zeros(5)), "shape")]
    for call, match in cases:
        with pytest.raises(ValueError, match=match) as err:
            call()
        assert "\n" not in str(err.value).strip()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_labels(name):
    ds, est = fitted(name)
    again = tiny(name).fit(ds.X, ds.y)
    np.testing.assert_array_equal(again.labels_, est.labels_)
    np.testing.assert_allclose(again.transform(ds.X[:50]), est.transform(ds.X[:50]), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_run_round_trip_keeps_predict_and_transform(name, tmp_path):
    ds, est = fitted(name)
    Run.from_estimator(est, method=name, data="test", y=ds.y).save(tmp_path / "r")
    back = Run.load(tmp_path / "r").estimator
    assert type(back) is type(est) and back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.predict(ds.X), est.predict(ds.X))
    np.testing.assert_allclose(back.transform(ds.X), est.transform(ds.X), atol=1e-5)
    np.testing.assert_array_equal(back.labels_, est.labels_)
    assert len(back.trace_) == len(est.trace_)


SKLEARN_CHECKS = [
    "check_no_attributes_set_in_init", "check_parameters_default_constructible", "check_get_params_invariance",
    "check_set_params", "check_estimator_cloneable", "check_estimator_repr", "check_estimators_unfitted",
    "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order", "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self", "check_fit_check_is_fitted", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_estimators_nan_inf", "check_estimators_empty_data_messages",
    "check_fit2d_1sample", "check_fit1d", "check_clusterer_compute_labels_predict", "check_clustering",
    "check_fit_idempotent", "check_estimators_dtypes", "check_estimators_pickle", "check_dict_unchanged",
    "check_fit_score_takes_y", "check_complex_data", "check_readonly_memmap_input",
    "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance"]
@pytest.mark.parametrize("check", SKLEARN_CHECKS)
@pytest.mark.parametrize("name", NAMES)
def test_scikit_learn_estimator_checks(name, check):
    if check in METHODS[name].sklearn_skips:  # declared by the method, with the reason
        pytest.skip(METHODS[name].sklearn_skips[check])
    est = METHODS[name].from_preset("tiny", n_clusters=2, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(ec, check)(type(est).__name__, est)


def test_train_run_is_the_one_way_to_train(tmp_path):
    """The CLI, the app's jobs and the demo-asset script all train a TrainRequest through train_run."""
    request = TrainRequest("secu", "digits:n=200", preset="tiny", unseen="8,9", seed=0, device="cpu")
    run = train_run(request, tmp_path / "r")
    assert run.info["unseen"] == [8, 9] and run.estimator.n_clusters == 8  # k = classes trained on
    assert run.info["preset"] == "tiny" and run.info["threads"] >= 1 and run.metrics["seconds"] > 0
    back = Run.load(tmp_path / "r")
    np.testing.assert_array_equal(back.estimator.labels_, run.estimator.labels_)
    with pytest.raises(OutputError, match="already exists"):
        train_run(TrainRequest("secu", "digits:n=200", preset="tiny"), tmp_path / "r")
    assert Run.load(tmp_path / "r").info["unseen"] == [8, 9]  # the saved run is untouched
    with pytest.raises(ValueError, match="unknown method"):
        train_run(TrainRequest("kmeans", "digits:n=200"), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    # the run knows the request it came from: read back, it trains the same estimator
    again = TrainRequest.from_info(back.info)
    assert again.unseen == (8, 9) and again.matches(back.info)  # "8,9" was recorded as the ids it meant
    assert _jsonable(again.estimator().get_params()) == _jsonable(back.estimator.get_params())
    assert TrainRequest.from_info(read_run_json(tmp_path / "r")).unseen == (8, 9)
    # the older call still trains the same run, and says it is deprecated
    with pytest.warns(DeprecationWarning, match="TrainRequest"):
        old = train_run("secu", "digits:n=200", tmp_path / "old", preset="tiny", unseen="8,9",
                        params={"random_state": 0, "device": "cpu"})
    np.testing.assert_array_equal(old.estimator.labels_, run.estimator.labels_)


def test_a_request_is_its_share_link():
    """to_query / from_query round-trip (the app's links); a visitor's link is read leniently;
    matches() finds a run by every parameter the preset and the page decide."""
    request = TrainRequest("knet", "moons", preset="tiny", params={"max_iter": 5, "sigma": "median"},
                           unseen=(), seed=4, k=2)
    query = request.to_query()
    assert query == {"data": "moons", "preset": "tiny", "seed": "4", "k": "2", "max_iter": "5", "sigma": "median"}
    back = TrainRequest.from_query("knet", query, "spirals")
    assert (back.data, back.preset, back.seed, back.k) == ("moons", "tiny", 4, 2)
    assert dict(back.params) == {"max_iter": "5", "sigma": "median"}  # text: the page's widgets check it
    odd = TrainRequest.from_query("knet", {"preset": "nonsense", "seed": "x", "k": "y", "unseen": "Latin",
                                           "n_clusters": "9"}, "spirals")
    assert (odd.data, odd.preset, odd.seed, odd.k, odd.unseen, dict(odd.params)) == ("spirals", "demo", 0, None,
                                                                                  "Latin", {})
    info = {"method": "knet", "dataset": "moons", "preset": "tiny", "seed": 4, "unseen": [],
            "params": {**KNet.PRESETS["tiny"], "max_iter": 5, "sigma": "median", "n_clusters": 2,
                       "random_state": 4, "device": "cpu"}}
    assert request.matches(info)
    assert not request.with_params(max_iter=6).matches(info)
    assert not dataclasses.replace(request, seed=5).matches(info)
    with pytest.raises(ValueError, match="n_clusters as k="):
        TrainRequest("knet", "moons", params={"n_clusters": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.seed = 1
    with pytest.raises(TypeError):
        request.params["max_iter"] = 1


@pytest.mark.parametrize("name", [n for n in NAMES if "n_init" in METHODS[n]._get_param_names()])
def test_several_starts_keep_the_best_separated_one(name, tmp_path):
    """n_init: every start trains from its own seed; the kept one has the highest
    label-free separation, and its own trace; a stop ends all starts."""
    ds, one = fitted(name)
    est = tiny(name, n_init=2).fit(ds.X, ds.y)
    assert len(est.start_scores_) == 2 and est.best_start_ == int(np.argmax(est.start_scores_))
    assert est.trace_[0].stage == f"start {est.best_start_ + 1} of 2 · init"
    last = [separation(snap) for snap in est.trace_[-3:]]  # the last three rounds of the kept start
    assert est.start_scores_[est.best_start_] == pytest.approx(np.mean(last))
    if est.best_start_ == 0:  # the first start is the single-start fit
        np.testing.assert_array_equal(est.labels_, one.labels_)
    back = Run.load(Run.from_estimator(est, method=name, data="test").save(tmp_path / "r")).estimator
    assert back.start_scores_ == est.start_scores_ and back.best_start_ == est.best_start_
    stopped = tiny(name, n_init=3).fit(ds.X, ds.y, callbacks=[lambda e, s: s.round >= 1])
    assert stopped.stopped_early_ and len(stopped.start_scores_) == 1 and stopped.n_iter_ == 1


@pytest.mark.parametrize("name", [n for n in NAMES if "init_rounds" in METHODS[n]._get_param_names()])
def test_starts_compared_early_then_the_best_repeats_its_first_rounds_exactly(name):
    ds, one = fitted(name)
    seen, heard = [], []

    class Watch:
        def on_start(self, est, planned):
            heard.append(planned)

        def __call__(self, est, snap):
            seen.append(snap)

    est = tiny(name, n_init=3, init_rounds=1).fit(ds.X, ds.y, callbacks=[Watch()])
    best = est.best_start_
    assert len(est.start_scores_) == 3 and best == int(np.argmax(est.start_scores_))
    assert heard == [3 * 1 + one.n_iter_]  # three one-round starts, then the best to the end
    assert est.trace_[0].stage == f"start {best + 1}, the best of 3 · init"
    assert est.n_iter_ == one.n_iter_ and len(seen) == 3 * 2 + one.n_iter_ + 1
    probe = [s for s in seen if s.stage.startswith(f"start {best + 1} of 3")]
    for a, b in zip(probe, est.trace_[:2]):  # the best start's rounds, again to the letter
        assert a.scalars == b.scalars and np.array_equal(a.labels, b.labels)
    if best == 0:
        np.testing.assert_array_equal(est.labels_, one.labels_)


def _documented(cls) -> set[str]:
    """Names listed in the Attributes sections of ``cls``'s docstring and its bases'."""
    import re

    names = set()
    for klass in cls.__mro__:
        doc = klass.__dict__.get("__doc__") or ""
        if "Attributes\n" not in doc:
            continue
        section = doc.split("Attributes\n", 1)[1]
        for line in section.splitlines()[1:]:
            m = re.match(r"    ([a-z][\w, ]*_) :", line)
            if m:
                names |= {n.strip() for n in m.group(1).split(",")}
    return names


@pytest.mark.parametrize("name", NAMES)
def test_every_fitted_attribute_is_documented(name, tmp_path):
    """A user can work from the docstring: every public attribute a fit (or a saved run's
    load) sets is listed under Attributes with its type."""
    ds, est = fitted(name)
    Run.from_estimator(est, method=name, data="test", y=ds.y).save(tmp_path / "r")
    loaded = Run.load(tmp_path / "r").estimator
    public = {a for obj in (est, loaded) for a in vars(obj) if a.endswith("_") and not a.startswith("_")}
    missing = public - _documented(type(est))
    assert not missing, f"{type(est).__name__} does not document {sorted(missing)}"


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_is_documented_with_its_type_and_default(name):
    """numpydoc: each ``__init__`` parameter has a ``name : type; default value`` line in
    the Parameters section that agrees with the signature (a changed default must change
    the docstring too)."""
    import inspect
    import re

    cls = METHODS[name]
    section = cls.__doc__.split("Parameters\n", 1)[1].split("Attributes\n", 1)[0]
    said = {}
    for m in re.finditer(r"^    ([a-z_][\w, ]*?) : (.+?); default (.+)$", section, re.M):
        names = [n.strip() for n in m.group(1).split(",")]
        types = [t.strip() for t in m.group(2).split(",")]
        defaults = [d.strip() for d in m.group(3).split(", ")]
        assert len(names) == len(types) == len(defaults), m.group(0)
        said.update(zip(names, zip(types, defaults)))
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        assert p.name in said, f"{cls.__name__}: parameter {p.name} is not documented"
        assert said[p.name] == (" or ".join(p.annotation.split(" | ")), repr(p.default)), (p.name, said[p.name])


def test_one_name_per_idea_and_the_old_names_still_work(tmp_path):
    """Every method caps its rounds with max_iter; a renamed parameter's old name still
    works everywhere a user or a saved run gives it -- and warns -- and is read under the
    new name from a run saved with it."""
    from clustlib.methods.secu import SeCu

    assert all("max_iter" in cls._get_param_names() for cls in METHODS.values())
    for cls in METHODS.values():
        assert not set(cls.RENAMED) & set(cls._get_param_names())  # an old name is not a parameter
        assert set(cls.RENAMED.values()) <= set(cls._get_param_names())
    with pytest.warns(DeprecationWarning, match=r"SeCu\(epochs=, feat_dim=.* is now SeCu\(max_iter=, embed_dim="):
        est = SeCu(epochs=3, feat_dim=8, centre_update="closed", centre_lr=0.5)
    assert (est.max_iter, est.embed_dim, est.center_update, est.center_lr) == (3, 8, "closed", 0.5)
    assert "epochs" not in est.get_params() and clone(est).max_iter == 3
    with pytest.warns(DeprecationWarning):
        assert est.set_params(epochs=4).max_iter == 4
    with pytest.warns(DeprecationWarning):
        assert SeCu.from_preset("tiny", epochs=2).max_iter == 2
    with pytest.warns(DeprecationWarning):
        assert dict(TrainRequest("dac", "digits", params={"max_epochs": 2}).params) == {"max_iter": 2}
    assert dict(TrainRequest.from_query("dscl", {"epochs": "5"}, "digits").params) == {"max_iter": "5"}  # old links
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        SeCu(epoch=3)
    # a run saved before the renames: its run.json has the old names
    run = train_run(TrainRequest("secu", "digits:n=200", preset="tiny", seed=0, params={"max_iter": 2}), tmp_path / "r")
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    params = doc["params"]
    params["epochs"], params["feat_dim"], params["centre_update"] = (params.pop("max_iter"), params.pop("embed_dim"),
                                                                     params.pop("center_update"))
    (tmp_path / "r" / "run.json").write_text(json.dumps(doc))
    tensors = torch.load(tmp_path / "r" / "model.pt", weights_only=True)
    tensors["centres.0"] = tensors.pop("centers.0")  # and its centres under their old key
    torch.save(tensors, tmp_path / "r" / "model.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # reading an old run is not the user's doing
        back = Run.load(tmp_path / "r")
        assert read_run_json(tmp_path / "r")["params"]["max_iter"] == 2
    assert back.estimator.max_iter == 2 and back.info["params"]["embed_dim"] == run.estimator.embed_dim
    np.testing.assert_array_equal(back.estimator.predict(load_dataset("digits:n=200").X[:50]),
                                  run.estimator.predict(load_dataset("digits:n=200").X[:50]))
    assert TrainRequest.from_info(back.info).with_params().matches(read_run_json(tmp_path / "r"))
    with pytest.warns(DeprecationWarning, match="data="):
        old_kw = Run.from_estimator(back.estimator, method="secu", dataset="digits:n=200")
    assert old_kw.info["dataset"] == "digits:n=200"
    import clustlib.viz as viz

    with pytest.warns(DeprecationWarning, match="class_color"):
        assert viz.class_colour(3) == viz.class_color(3)


def test_settings_are_read_in_one_place_and_documented_as_they_are(monkeypatch):
    import re
    from pathlib import Path

    from clustlib.settings import Settings, settings, table

    root = Path(__file__).resolve().parents[1]
    assert table() in (root / "docs" / "settings.md").read_text()  # python -m clustlib.settings > the table
    readers = [str(p.relative_to(root)) for p in (root / "clustlib").rglob("*.py")
               if re.search(r"os\.environ(\.get)?\(.?CLUSTLIB_|getenv\(.?CLUSTLIB_", p.read_text())]
    assert readers == []  # no CLUSTLIB_ variable read outside clustlib/settings.py
    monkeypatch.setenv("CLUSTLIB_MAX_JOBS", "0")
    monkeypatch.setenv("CLUSTLIB_VISITOR_JOB_S", "not a number")
    monkeypatch.setenv("CLUSTLIB_FIRST_PAINT_S", "9")
    now = settings()
    assert (now.max_jobs, now.visitor_job_s, now.first_paint_s) == (1, Settings.visitor_job_s, 5.0)
    monkeypatch.setenv("CLUSTLIB_MAX_JOBS", "3")
    assert settings().max_jobs == 3  # read again when a variable changes


def test_static_bundles_are_served_compressed_and_nothing_else_is_touched(tmp_path):
    import asyncio
    import gzip

    import brotli

    from clustlib.ui import compress
    from clustlib.ui.compress import CompressedStatic

    (tmp_path / "static" / "js").mkdir(parents=True)
    code = b"function f(){return 1}\n" * 2000
    (tmp_path / "static" / "js" / "main.abc.js").write_bytes(code)
    (tmp_path / "secret.txt").write_text("no")
    passed = []

    async def inner(scope, receive, send):
        passed.append(scope["path"])

    def call(path, accept=b"gzip, deflate, br, zstd"):
        sent = []

        async def send(msg):
            sent.append(msg)
        scope = {"type": "http", "method": "GET", "path": path, "headers": [(b"accept-encoding", accept)]}
        asyncio.run(CompressedStatic(inner, tmp_path)(scope, None, send))
        return sent

    start, body = call("/static/js/main.abc.js")  # Brotli not ready yet: gzip at once
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == b"gzip" and b"javascript" in headers[b"content-type"]
    assert gzip.decompress(body["body"]) == code and len(body["body"]) < len(code) / 20
    br = compress.compressed(tmp_path, "/static/js/main.abc.js", "br")  # what warm() does meanwhile
    start, body = call("/static/js/main.abc.js")
    assert dict(start["headers"])[b"content-encoding"] == b"br" and body["body"] == br
    assert brotli.decompress(br) == code
    start, body = call("/static/js/main.abc.js", accept=b"gzip, br;q=0")  # refused
    assert dict(start["headers"])[b"content-encoding"] == b"gzip"
    assert call("/static/js/main.abc.js", accept=b"identity") == [] and passed[-1] == "/static/js/main.abc.js"
    for path in ("/static/../secret.txt", "/static/js/none.js", "/", "/static/x.png"):
        assert call(path) == [] and passed[-1] == path  # outside, missing or not compressible: Streamlit's


def test_idle_openmp_threads_spin_briefly_unless_the_user_says_otherwise():
    import os
    import subprocess
    import sys

    code = "import os, clustlib; print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}

    def seen(**extra) -> str:
        return subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True,
                              text=True).stdout.strip()

    assert seen() == ("1000 None" if sys.platform.startswith("linux") else "None PASSIVE")
    assert seen(OMP_WAIT_POLICY="ACTIVE") == "None ACTIVE"  # the user's choice, untouched
    assert seen(GOMP_SPINCOUNT="5") == "5 None"
