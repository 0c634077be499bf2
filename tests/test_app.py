"""Page tests with Streamlit's AppTest (no browser)."""

import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def open_page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(f"app_pages/{name}.py")
    at.run()
    assert not at.exception
    return at


def open_link(name: str, **query) -> AppTest:
    """A shared link straight to a page: its query string set before the first run."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(f"app_pages/{name}.py")
    at.query_params.update(query)
    at.run()
    assert not at.exception
    return at


def knet_page():
    return open_page("knet")


def figures(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def values(v):
    """A Plotly JSON array: a list, or a typed array {"dtype", "bdata"}."""
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]) if isinstance(v, dict) else np.asarray(v)


def wait_until_maps_are_done(at, timeout=120):
    """Rerun the page (as its polling fragment does) until no map is being computed."""
    import time

    deadline = time.time() + timeout
    while any("in the background" in i.value for i in at.info) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and not any("in the background" in i.value for i in at.info)


def button(at, label):
    return next(b for b in at.sidebar.button if b.label.startswith(label))


def train_knet_tiny(data: str, unseen=None):
    """The KNet page after training its tiny preset on ``data`` (holding ``unseen`` out)."""
    at = knet_page()
    at.sidebar.selectbox(key="knet_preset").set_value("tiny")
    at.sidebar.selectbox(key="knet_ds").set_value(data)
    at.run()
    if unseen:
        at.sidebar.multiselect(key=f"knet_unseen_{data}").set_value(unseen)
        at.run()
    button(at, "Train").click()
    at.run()
    job = at.session_state["knet_job"]
    job.join(120)
    assert job.status == "done", job.error
    at.run()  # the polling fragment hands the finished run to the page
    assert not at.exception
    return at


def test_home_lists_methods():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert "KNet" in [h.value for h in at.subheader]
    assert "block-diagonal" in " ".join(m.value for m in at.markdown)


def test_knet_page_opens_on_the_demo_run_with_animations():
    at = knet_page()  # the pretrained spirals demo shows at once
    assert "knet-spirals" in at.session_state["knet_run_path"]
    assert "spirals" in at.subheader[0].value
    assert "knet-spirals" in at.sidebar.selectbox(key="knet_pick").value  # the box names the run on screen
    at.sidebar.selectbox(key="knet_pick").set_value(
        next(o for o in at.sidebar.selectbox(key="knet_pick").options if "knet-moons" in o))
    button(at, "Load run").click()  # the saved-runs picker loads another one
    at.run()
    assert not at.exception and "knet-moons" in at.session_state["knet_run_path"]
    figs = figures(at)
    kernel, embedding = figs[0], figs[1]
    assert len(kernel["frames"]) > 5 and kernel["frames"][0]["data"][0]["type"] == "image"
    assert kernel["frames"][-1]["data"][0]["source"].startswith("data:image/png;base64,")
    assert len(embedding["frames"]) == len(kernel["frames"])
    assert any(m.label == "NMI" for m in at.metric)


def test_knet_page_trains_saves_and_shows(runs_folder):
    at = train_knet_tiny("moons")
    figs = figures(at)
    est = at.session_state["knet_job"].run.estimator  # the tiny preset's schedule, not another preset's
    assert est.max_iter == 4 and est.theta_steps == 200 and 2 <= est.n_iter_ <= 4
    assert len(figs[0]["frames"]) == est.n_iter_ + 1
    saved = list(runs_folder.iterdir())
    assert len(saved) == 1 and (saved[0] / "run.json").exists()
    # a rerun keeps the run
    at.run()
    assert at.session_state["knet_run_path"] == str(saved[0])


def test_bad_dataset_spec_shows_error(monkeypatch):
    at = knet_page()
    at.sidebar.selectbox(key="knet_ds").set_value("other spec…")
    at.run()
    at.sidebar.text_input(key="knet_spec").input("npz:/no/such/file.npz")
    at.run()
    assert not at.exception  # a visitor may not name a server path
    assert any("reads files only from uploads" in e.value for e in at.sidebar.error)
    assert button(at, "Train").disabled
    monkeypatch.setenv("CLUSTLIB_DATA_ROOTS", "/no")  # the server's operator allows /no
    at.sidebar.text_input(key="knet_spec").input("npz:/no/such/file.npz")
    at.run()
    assert not at.exception
    assert any("no such file" in e.value for e in at.sidebar.error)
    assert button(at, "Train").disabled


def test_jule_page_opens_on_demo_with_merge_stages_and_image_grid():
    at = open_page("jule")
    assert "jule-digits" in at.session_state["jule_run_path"]
    figs = figures(at)
    merge = figs[0]
    titles = [f["layout"]["title"]["text"] for f in merge["frames"]]
    assert len(merge["frames"]) >= 4 and "clusters" in titles[0]
    counts = [int(t.split(" clusters")[0].split("· ")[-1]) for t in titles]
    assert counts[0] > counts[-1] == 10  # the number of clusters falls period by period
    assert any(f["data"][0]["type"] == "image" for f in figs[3:])  # sample images of clusters
    both = [c.value for c in at.caption if "OURS-SF" in c.value]
    assert both and "reports OURS-RC" in both[0]  # the demo run reports RC, and says so
    at.select_slider(key="jule_stage").set_value("init")
    at.run()
    assert not at.exception


def test_dscl_page_opens_on_omniglot_characters_of_unseen_alphabets():
    at = open_page("dscl")
    assert "dscl-omniglot" in at.session_state["dscl_run_path"]
    alphabets = at.sidebar.multiselect(key="dscl_unseen_groups_omniglot").value
    assert alphabets == ["Japanese_(katakana)", "Sanskrit", "Tagalog"]
    assert at.query_params["unseen"] == "Japanese_(katakana),Sanskrit,Tagalog"  # short, readable link
    figs = figures(at)
    view = figs[0]  # the glyph map of the unseen alphabets comes first
    titles = [a["text"] for a in view["layout"]["annotations"]]
    assert len(titles) == 2 and "input" in titles[0] and "learned" in titles[1]
    nmi_in, nmi_out = (float(t.split("NMI ")[1].split()[0]) for t in titles)
    assert nmi_out > nmi_in + 0.15  # characters of alphabets never seen form groups
    assert {d["name"] for d in view["data"] if d.get("showlegend") is not False} == set(alphabets)
    assert len(view["layout"]["images"]) == 2 * 106  # each unseen character drawn in both maps
    verdict = next(m.value for m in at.markdown if "On the unseen classes" in m.value)
    assert "better than" in verdict
    shared = next(f for f in figs if any("(unseen)" in str(d.get("name")) for d in f["data"]))
    assert {"Korean (seen)", "Sanskrit (unseen)"} <= {d["name"] for d in shared["data"]}


def test_dscl_page_shows_unseen_digits_from_a_shared_link():
    at = open_link("dscl", data="digits", preset="demo", unseen="5,6,7,8,9", seed="0")
    wait_until_maps_are_done(at)  # this run's maps are not shipped: computed on first visit
    assert "dscl-digits" in at.session_state["dscl_run_path"]
    assert at.sidebar.multiselect(key="dscl_unseen_digits").value == [5, 6, 7, 8, 9]
    figs = figures(at)
    view = figs[0]  # the unseen view comes first
    titles = [a["text"] for a in view["layout"]["annotations"]]
    assert len(titles) == 2 and "input" in titles[0] and "learned" in titles[1]
    assert all("NMI" in t and "R@1" in t for t in titles)
    classes = {d["name"] for d in view["data"]}
    assert classes == {f"class {c}" for c in range(5, 10)}  # only categories never seen
    # the verdict in words, with the numbers of the maps' titles (digits: worse than pixels)
    verdict = next(m.value for m in at.markdown if "On the unseen classes" in m.value)
    nmi_in, nmi_out = (float(t.split("NMI ")[1].split()[0].rstrip(",")) for t in titles)
    word = "better than" if nmi_out > nmi_in + 0.005 else "worse than" if nmi_out < nmi_in - 0.005 else "about"
    assert word in verdict and f"{nmi_in:.2f} → {nmi_out:.2f}" in verdict
    assert any(mt.label == "NMI (seen classes)" for mt in at.metric)
    shared = next(f for f in figs if any("(seen)" in str(d.get("name")) for d in f["data"]))
    names = {d["name"] for d in shared["data"]}
    assert "0 (seen)" in names and "9 (unseen)" in names
    at.radio(key="dscl_proj").set_value("PCA")
    at.run()
    wait_until_maps_are_done(at)
    assert "PCA" in figures(at)[0]["layout"]["annotations"][0]["text"]


def test_unseen_view_appears_on_every_method_page_after_training_with_unseen_classes(runs_folder):
    at = train_knet_tiny("blobs", unseen=[2, 3])
    at.radio(key="knet_proj").set_value("PCA")
    at.run()
    assert not at.exception
    # a new run has no maps yet: they are computed in the background, the page is drawn now
    if any("in the background" in i.value for i in at.info):
        assert any(m.label == "NMI (seen classes)" for m in at.metric)
        wait_until_maps_are_done(at)
    assert at.session_state["knet_job"].run.info["unseen"] == [2, 3]
    titles = [a["text"] for f in figures(at) for a in f["layout"].get("annotations", [])]
    assert any(t.startswith("PCA of learned embedding") for t in titles)


def test_dac_page_shows_the_circle_map_thresholds_and_sizes():
    at = open_page("dac")
    assert "dac-digits" in at.session_state["dac_run_path"]
    figs = figures(at)
    circle = figs[0]
    assert len(circle["frames"]) >= 10
    assert circle["layout"]["xaxis"]["range"] == [-1.2, 1.2]  # fixed across frames
    assert "clusters used" in circle["frames"][-1]["layout"]["title"]["text"]
    names = {d["name"] for d in figs[1]["data"]}
    assert {"u (same-pair threshold)", "l (different-pair threshold)", "share of pairs selected"} <= names
    sizes = figs[3]
    assert sizes["data"][0]["type"] == "bar" and len(sizes["frames"]) >= 10


def test_secu_page_shows_sizes_against_the_floor_and_centres():
    at = open_page("secu")
    assert "secu-digits" in at.session_state["secu_run_path"]
    figs = figures(at)
    sizes, centres = figs[0], figs[1]
    assert sizes["data"][0]["type"] == "bar" and len(sizes["frames"]) >= 10
    assert "floor" in sizes["frames"][-1]["layout"]["title"]["text"]
    assert any(s.get("type") == "line" for s in sizes["layout"].get("shapes", []))  # the γN/K line
    crosses = centres["data"][-1]  # after one trace per class (the legend)
    assert crosses["marker"]["symbol"] == "x" and crosses["name"] == "centre"
    assert len(values(centres["frames"][-1]["data"][-1]["x"])) == 10  # one cross per centre, moving


def test_a_shared_link_reproduces_the_selections_and_opens_the_matching_run():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/knet.py")
    at.query_params.update({"data": "moons", "preset": "demo", "seed": "0"})
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="knet_ds").value == "moons"
    assert "knet-moons" in at.session_state["knet_run_path"]  # the pretrained run that matches
    # changing a selection rewrites the link
    at.sidebar.number_input(key="knet_seed").set_value(7)
    at.run()
    assert at.query_params["seed"] == "7" and at.query_params["data"] == "moons"


def test_a_shared_link_with_unseen_classes_and_an_unknown_preset():
    at = open_link("dscl", data="digits", preset="nonsense", unseen="0,1,2", seed="x")
    assert at.sidebar.selectbox(key="dscl_preset").value == "demo"
    assert at.sidebar.multiselect(key="dscl_unseen_digits").value == [0, 1, 2]
    assert at.sidebar.number_input(key="dscl_seed").value == 0
    assert "dscl-omniglot" in at.session_state["dscl_run_path"]  # no run matches: the demo


def test_runs_library_lists_opens_and_deletes(runs_folder, fitted_moons):
    from clustlib.runs import Run

    ds, est = fitted_moons
    Run.from_estimator(est, method="knet", data="moons:n=300", y=ds.y).save(runs_folder / "mine")
    (runs_folder / "broken").mkdir()
    (runs_folder / "broken" / "run.json").write_text("{not json")
    at = open_page("runs")
    table = at.dataframe[0].value
    assert {"knet-spirals", "dac-digits", "mine", "broken"} <= set(table["run"])
    assert "damaged" in set(table["method"])
    at.selectbox(key="lib_pick").set_value("[runs] mine")
    at.run()
    assert not at.exception
    delete = next(b for b in at.button if b.label == "Delete")
    assert delete.disabled  # not before the confirmation
    at.checkbox(key="lib_sure_mine").check()
    at.run()
    next(b for b in at.button if b.label == "Delete").click()
    at.run()
    assert not at.exception and not (runs_folder / "mine").exists()
    assert (runs_folder / "broken").exists()
    at.selectbox(key="lib_pick").set_value("[demo] knet-moons")
    at.run()
    next(b for b in at.button if b.label.startswith("Open")).click()
    at.run()
    assert not at.exception
    assert "knet-moons" in at.session_state["knet_run_path"]


def test_dataset_page_shows_classes_map_and_baselines():
    at = open_page("dataset")
    assert any("in the background" in i.value for i in at.info)  # the map: computed beside the page
    wait_until_maps_are_done(at)
    figs = figures(at)
    grid = figs[0]
    assert grid["data"][0]["type"] == "image"  # one row of samples per class
    assert "Samples per class" in grid["layout"]["title"]["text"]
    raw = figs[1]
    assert {d["name"] for d in raw["data"]} == {f"class {c}" for c in range(10)}
    assert not at.dataframe  # the baselines run only once their section is opened
    at.session_state["data_peers_open"] = True
    at.run()
    deadline = time.time() + 120  # KMeans's row, not every peer (the UMAP ones: test_baselines)
    while not any("KMeans" in str(df.value) for df in at.dataframe) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and any("KMeans" in str(df.value) for df in at.dataframe)
    at.session_state["data_peers_open"] = False  # the map of another dataset, without its baselines
    at.selectbox(key="data_ds").set_value("wine")
    at.radio(key="data_proj").set_value("PCA")
    at.run()
    wait_until_maps_are_done(at)
    assert len(figures(at)) == 1  # vectors: no image grid, the map only


def test_compare_page_puts_runs_side_by_side():
    at = open_page("compare")
    assert any("Pick two" in i.value for i in at.info)
    options = at.multiselect(key="cmp_runs").options
    digits = [o for o in options if "digits)" in o and ("dac" in o or "secu" in o or "jule" in o)]
    at.multiselect(key="cmp_runs").set_value(digits[:3])
    at.run()
    wait_until_maps_are_done(at)  # the runs' maps
    at.session_state["cmp_peers_open"] = True
    at.run()
    deadline = time.time() + 120  # KMeans's row (every peer, the UMAP ones included: test_baselines)
    while not (len(at.dataframe) > 1 and "KMeans" in str(at.dataframe[1].value)) and time.time() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception
    table = at.dataframe[1].value  # the runs' metrics first, then scikit-learn's
    assert "KMeans" in " ".join(map(str, table.columns)) + " ".join(map(str, table.index))
    figs = figures(at)
    maps = figs[0]
    assert len(maps["layout"]["annotations"]) == 3  # one map per run, one legend
    heat = [f for f in figs if f["data"][0]["type"] == "heatmap"]
    assert len(heat) == 3
    curves = figs[-1]
    assert len(curves["data"]) == 3
    knet = [o for o in options if "spirals" in o]
    at.multiselect(key="cmp_runs").set_value(digits[:1] + knet)
    at.run()
    assert not at.exception and any("different datasets" in e.value for e in at.error)


def test_matched_confusion_is_diagonal_for_a_relabelled_perfect_clustering():
    import numpy as np

    from clustlib.metrics import matched_confusion

    y = np.array([0, 0, 1, 1, 2, 2, 2])
    table, classes, clusters = matched_confusion(y, (y + 1) % 3 + 5)
    assert np.array_equal(table, np.diag([2, 2, 3]))
    assert list(clusters) == [6, 7, 5]
    table, _, clusters = matched_confusion(y, np.array([0, 0, 1, 1, 2, 3, 3]))  # 4 clusters, 3 classes
    assert table.shape == (3, 4) and clusters[-1] == 2  # the unmatched cluster comes last


def test_too_few_samples_for_k_and_the_upload_box():
    at = knet_page()
    at.sidebar.selectbox(key="knet_ds").set_value("other spec…")
    at.run()
    at.sidebar.text_input(key="knet_spec").input("blobs:n=6")
    at.run()
    assert not at.exception
    assert any("too few for 4 clusters" in e.value for e in at.sidebar.error)
    assert button(at, "Train").disabled
    at.sidebar.selectbox(key="knet_ds").set_value("upload…")
    at.run()
    assert not at.exception and button(at, "Train").disabled  # nothing uploaded yet


def _npz_bytes(**arrays) -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_runs_library_upload_good_and_bad(runs_folder):
    from clustlib.library import zip_run

    at = open_page("runs")
    at.file_uploader(key="lib_upload").upload("junk.zip", b"not a zip", "application/zip")
    at.run()
    assert not at.exception
    assert any(e.value.startswith("Not added: the upload is not a zip") for e in at.error)
    assert not runs_folder.exists() or not [p for p in runs_folder.iterdir() if not p.name.startswith(".")]
    good = zip_run(Path(APP).parent / "assets" / "knet-moons")
    at.file_uploader(key="lib_upload").upload("shared-moons.zip", good, "application/zip")
    at.run()
    assert not at.exception and any("Added shared-moons" in s.value for s in at.success)
    assert "shared-moons" in set(at.dataframe[0].value["run"])


def test_own_data_uploads_on_a_method_page(runs_folder):
    import numpy as np

    rng = np.random.default_rng(0)
    at = knet_page()
    at.sidebar.selectbox(key="knet_ds").set_value("upload…")
    at.run()
    up = at.sidebar.file_uploader(key="knet_upload")
    up.upload("nan.npz", _npz_bytes(X=np.full((20, 2), np.nan), y=np.arange(20) % 2))
    at.run()
    assert any("NaN" in e.value for e in at.sidebar.error) and button(at, "Train").disabled
    at.sidebar.file_uploader(key="knet_upload").upload("shape.npz", _npz_bytes(X=np.zeros((4, 2, 2, 2, 2))))
    at.run()
    assert any("expected (N, d)" in e.value for e in at.sidebar.error)
    at.sidebar.file_uploader(key="knet_upload").upload("few.npz", _npz_bytes(X=rng.normal(size=(5, 2)),
                                                                            y=np.arange(5) % 3))
    at.run()
    assert any("too few for 3 clusters" in e.value for e in at.sidebar.error)
    at.sidebar.file_uploader(key="knet_upload").upload("ok.npz", _npz_bytes(X=rng.normal(size=(60, 2)),
                                                                           y=np.arange(60) % 2))
    at.run()
    assert not at.exception and not at.sidebar.error and not button(at, "Train").disabled


def test_knet_out_of_sample_demo_embeds_all_30000_points(runs_folder):
    at = knet_page()
    assert any("Algorithm 1" in m.value for m in at.markdown)  # which assignment labels the run
    button(at, "Out-of-sample demo").click()
    at.run()
    job = at.session_state["knet_job"]
    job.join(180)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception
    # the run as saved by the training process: psi trained on 1 %, labels for all points
    assert job.run.info["dataset"] == "spirals:n=30000" and job.run.info["params"]["train_size"] == 0.01
    assert job.run.estimator.labels_.size == 30000
    assert any(h.value.startswith("Out of sample") for h in at.subheader)
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures(at)]
    assert any("all 30000 points" in t for t in titles)


def test_dataset_page_colours_omniglot_by_alphabet_and_waits_to_run_baselines():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/dataset.py")
    at.session_state["data_ds"] = "omniglot"
    at.session_state["data_proj"] = "PCA"
    at.run()
    wait_until_maps_are_done(at)
    raw_map = figures(at)[-1]
    assert {d["name"] for d in raw_map["data"]} == {"Balinese", "Early_Aramaic", "Greek", "Japanese_(katakana)",
                                                   "Korean", "Latin", "Sanskrit", "Tagalog"}
    assert "3,000 of 4,840 samples" in raw_map["layout"]["annotations"][0]["text"]  # says what is drawn
    assert not at.dataframe  # the baselines: only when their section is opened


def slow_knet_job(at):
    """Start a KNet training on moons that runs until stopped (500 iterations)."""
    at.sidebar.selectbox(key="knet_preset").set_value("tiny")
    at.sidebar.selectbox(key="knet_ds").set_value("moons")
    at.run()
    at.sidebar.slider(key="knet_max_iter_tiny").set_value(100)
    at.run()
    button(at, "Train").click()
    at.run()
    return at.session_state["knet_job"]


def wait_rounds(job, n, timeout=90):
    import time

    deadline = time.time() + timeout
    while job.round < n and job.running and time.time() < deadline:
        time.sleep(0.1)


def test_training_shows_the_live_picture_and_a_reload_reattaches_with_stop(runs_folder):
    at = knet_page()
    job = slow_knet_job(at)
    wait_rounds(job, 2)
    at.run()
    assert not at.exception and job.running
    # the page is the live view: progress, Stop, and the kernel of the latest round
    assert any(p.value is not None for p in at.get("progress"))
    assert any(re.search(r"about \d+ s left|about \d+ min \d+ s left", p.proto.text) for p in at.get("progress"))
    figs = figures(at)
    assert figs and figs[0]["data"][0]["type"] == "image" and "iteration" in figs[0]["layout"]["title"]["text"]
    assert at.query_params["job"] == job.id
    # a reload is a new session with the same URL: the job is found again, Stop still works
    again = open_link("knet", **dict(at.query_params))
    assert again.session_state["knet_job"] is job
    stop = next(b for b in again.button if b.label == "Stop")
    stop.click()
    again.run()
    job.join(60)
    assert job.status == "stopped"
    again.run()
    assert not again.exception and again.session_state["knet_run_path"] == str(job.path)


def test_settings_survive_a_visit_to_another_page():
    at = open_page("jule")
    at.sidebar.selectbox(key="jule_preset").set_value("tiny")
    at.run()
    at.sidebar.number_input(key="jule_seed").set_value(7)
    at.sidebar.slider(key="jule_epochs_per_period_tiny").set_value(3)
    at.run()
    at.switch_page("app_pages/dac.py")
    at.run()
    at.switch_page("app_pages/jule.py")
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="jule_preset").value == "tiny"
    assert at.sidebar.number_input(key="jule_seed").value == 7
    assert at.sidebar.slider(key="jule_epochs_per_period_tiny").value == 3


def test_a_shared_link_without_a_saved_run_says_so_and_trains_it(runs_folder):
    at = open_link("knet", data="moons", preset="tiny", seed="5")
    note = " ".join(i.value for i in at.info)
    assert "No saved run matches this link" in note and "seed 5" in note
    next(b for b in at.button if b.label == "Train the linked run").click()
    at.run()
    job = at.session_state["knet_job"]
    job.join(120)
    assert job.status == "done" and job.run.info["seed"] == 5 and job.run.info["preset"] == "tiny"
    # the same link now opens that run, without the note
    back = open_link("knet", data="moons", preset="tiny", seed="5")
    assert back.session_state["knet_run_path"] == str(job.path)
    assert not any("No saved run matches" in i.value for i in back.info)


def test_a_link_keeps_the_number_of_clusters_within_bounds():
    at = open_link("jule", data="digits", preset="tiny", seed="2", k="4")
    assert at.sidebar.number_input(key="jule_k_digits_0").value == 4
    assert at.query_params["k"] == "4"
    at = open_link("jule", data="digits", preset="tiny", k="100000")
    assert at.sidebar.number_input(key="jule_k_digits_0").value == 300  # the page's k_max
    at = open_link("jule", data="digits", k="many")
    assert at.sidebar.number_input(key="jule_k_digits_0").value == 10  # ignored: the classes


def test_your_model_page_stands_the_recording_against_umap_and_kmeans_on_its_input():
    """The demo recording (an autoencoder, last epoch NMI 0.806) is below UMAP + k-means on
    the same tracked input: the page says so, naming the peer with both numbers, and draws
    both peers as levels on its quality curve."""
    at = open_page("external")
    wait_until_maps_are_done(at)
    warned = [w.value for w in at.warning if "strongest baseline" in w.value]
    assert len(warned) == 1 and "UMAP + k-means on the input (NMI 0.864)" in warned[0] and "NMI 0.806" in warned[0]
    curves = next(f for f in figures(at) if "Quality of its clusters" in json.dumps(f["layout"].get("title", {})))
    assert {"KMeans on the input (NMI)", "UMAP + k-means on the input (NMI)"} <= {d["name"] for d in curves["data"]}
