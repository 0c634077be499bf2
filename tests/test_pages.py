"""Pages that tell the truth and stay light (AppTest: the figure specs as the browser gets them)."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`

APP = str(Path(__file__).resolve().parents[1] / "app.py")
DEMO_JULE = Path(APP).parent / "assets" / "jule-digits"
BUDGET = 1_000_000  # bytes of figure specs a method page may send (the standards' 1 MB)


@pytest.fixture(autouse=True)
def runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def page(name: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()  # the navigation first (a page whose URL is not its file's name: Your model, /model)
    at.switch_page(f"app_pages/{name}.py")
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def text(at) -> str:
    parts = [e.value for kind in ("title", "subheader", "caption", "markdown", "info", "warning") for e in at.get(kind)]
    return " ".join(str(p) for p in parts)


def _kinds(node) -> list[str]:
    """The element types of a page, in order."""
    out = []
    for child in (node.children.values() if isinstance(node.children, dict) else node.children):
        out.append(child.type)
        if hasattr(child, "children"):
            out += _kinds(child)
    return out


@pytest.mark.parametrize("name", ["jule", "knet", "dac", "dscl", "secu", "external"])
def test_a_method_page_opens_on_its_poster_and_sends_at_most_1_mb_of_figures(name, monkeypatch):
    """The first picture is the run's start -> end as one server-drawn PNG (a browser shows it
    before plotly.js has loaded): the first page of a session stops after it, gives the browser
    a moment to draw it and runs again with the charts -- at most 1 MB of figure specs."""
    monkeypatch.setenv("CLUSTLIB_FIRST_PAINT_S", "0.5")  # the default a user gets
    at = page(name)
    kinds = _kinds(at.main)
    assert "image" in kinds and kinds.index("image") < kinds.index("plotly_chart")
    assert "At a glance" in at.get("image")[0].proto.imgs[0].caption
    assert at.session_state["_charts_loaded"] and "interactive charts are loading" not in text(at)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert specs and sum(len(s.encode()) for s in specs) <= BUDGET, sum(len(s) for s in specs)
    for spec in map(json.loads, specs):  # a frame carries only what changes
        for frame in spec.get("frames", []):
            for trace in frame["data"]:
                assert not {"name", "legendgroup", "hoverinfo"} & set(trace), trace.keys()


def test_the_dscl_captions_describe_the_data_on_screen():
    at = page("dscl")  # the Omniglot demo
    words = text(at)
    assert "alphabets" in words and "better than the input" in words
    box = at.sidebar.selectbox(key="dscl_pick")
    box.set_value(next(o for o in box.options if "dscl-digits" in o))
    next(b for b in at.sidebar.button if b.label == "Load run").click()
    at.run()
    words = text(at)
    assert "digits" in at.subheader[0].value and "Omniglot" not in words and "alphabet" not in words
    assert "5, 6, 7, 8, 9" in words  # the held-out digits are named, whatever the verdict
    assert "Saved runs" and "dscl-digits" in at.sidebar.selectbox(key="dscl_pick").value


def test_the_seen_categories_of_omniglot_are_coloured_by_alphabet():
    at = page("dscl")
    seen = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "Seen categories" in json.dumps(json.loads(c.proto.spec)["layout"].get("title", {})))
    names = [t["name"] for t in seen["data"]]
    assert len(names) == 5 and "Latin" in names  # five seen alphabets, not 136 characters in 20 colours
    assert seen["layout"]["legend"]["title"]["text"] == "alphabet"


def test_a_link_keeps_the_method_settings(runs_folder):
    at = page("secu", data="digits", preset="demo", seed="0", epochs="5", gamma="0.5")  # epochs: the old name, still read
    assert at.sidebar.slider(key="secu_max_iter_demo").value == 5 and at.sidebar.slider(key="secu_gamma_demo").value == 0.5
    assert at.query_params["max_iter"] == "5" and at.query_params["gamma"] == "0.5"
    at.run()  # what a reload sends back: the same link
    assert at.sidebar.slider(key="secu_max_iter_demo").value == 5
    bad = page("secu", preset="demo", epochs="100000")  # out of the slider's range: the preset's
    assert bad.sidebar.slider(key="secu_max_iter_demo").value == 60


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_an_upload_keeps_its_name_and_rows_of_pixels_become_images(runs_folder):
    from sklearn.datasets import load_digits

    d = load_digits()
    big = np.kron(d.images[:300] / 16.0, np.ones((2, 2)))  # 16 x 16 digits, as rows of 256 pixels
    at = page("jule")
    at.sidebar.selectbox(key="jule_ds").set_value("upload…").run()
    at.sidebar.file_uploader(key="jule_upload").upload(
        "my digits.npz", _npz(X=big.reshape(300, -1).astype(np.float32), y=d.target[:300])).run()
    assert not at.exception and not at.sidebar.error
    assert at.sidebar.checkbox(key="jule_upload_img").value  # 256 columns, none negative: images
    spec = at.query_params["data"]
    assert re.fullmatch(r"upload:[0-9a-f]{20},shape=16x16", spec), spec  # an opaque id, never a server path
    assert not any(".uploads" in str(e.value) for e in at.get("info"))
    from clustlib.data import display_name

    assert display_name(spec) == "my-digits.npz (shape=16x16)"


def test_jule_draws_its_nmi_on_its_own_axis():
    from clustlib.runs import Run
    from clustlib.viz import metric_curves

    trace = Run.load(DEMO_JULE).trace
    fig = metric_curves(trace, ["n_clusters", "nmi"], "Clusters and NMI per period", right=("nmi",))
    nmi = next(t for t in fig.data if t.name == "NMI")
    assert nmi.yaxis == "y2" and tuple(fig.layout.yaxis2.range) == (0, 1.05)
    loss = metric_curves(trace, ["loss"]).data[0]
    assert np.isnan(loss.y[0]) or loss.y[0] is None  # no loss before the first period: a gap, not "nan"


def test_the_readme_link_opens_a_run_that_shows_the_method():
    """The guide's example link opens the saved run it names, and that run shows DSCL's
    point: the unseen alphabets cluster better in its embedding than in the pixels."""
    import re
    from urllib.parse import parse_qsl, urlsplit

    readme = (Path(APP).parent / "docs" / "guide.md").read_text()  # the guide holds the README's example link
    link = re.search(r"`(http://localhost:8501/dscl\?[^`]+)`", readme).group(1)
    at = page("dscl", **dict(parse_qsl(urlsplit(link).query)))
    assert at.session_state["dscl_run_path"].endswith("dscl-omniglot")
    assert not any("No saved run matches" in i.value for i in at.info)
    words = text(at)
    assert "better than the input" in words and "alphabets" in words


def test_a_run_opened_by_its_name_sets_the_sidebar_and_a_change_is_said():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = "knet-spirals"
    at.run()
    at.switch_page("app_pages/knet.py")
    at.run()
    assert not at.exception and at.session_state["knet_run_path"].endswith("knet-spirals")
    assert at.session_state["knet_ds"] == "spirals"  # Train trains what is shown
    assert not [c for c in at.caption if c.value.startswith("The run shown was trained on")]
    at.sidebar.number_input(key="knet_seed").set_value(3).run()
    said = [c.value for c in at.caption if c.value.startswith("The run shown was trained on")]
    assert len(said) == 1 and "seed 0" in said[0] and "seed 3" in said[0]


def test_the_expected_time_is_said_before_train_from_saved_runs(monkeypatch):
    from clustlib import cpu
    from clustlib.runs import Run

    demo_cpu = (Run.load(DEMO_JULE).info.get("machine") or {}).get("cpu")
    for here, expect in (("a CPU no run was trained on", "jule-digits"),  # the demo run's, until one runs here
                         (demo_cpu, "measured: 1 run on this machine")):  # the CPU the demo run was trained on
        monkeypatch.setattr(cpu, "machine", lambda here=here: {"cpu": here, "cores": 2, "platform": "test"})
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page("app_pages/jule.py")
        at.run()
        said = [c.value for c in at.sidebar.caption if c.value.startswith("Expected: about")]
        assert len(said) == 1 and expect in said[0], (here, said)
        train = next(b for b in at.sidebar.button if b.label == "Train")
        assert train.proto.help == said[0]


@pytest.mark.parametrize("kind", ["csv", "zip"])
def test_a_csv_or_a_zip_of_images_uploads_as_the_users_own_data(runs_folder, kind):
    """The other two upload forms a new user tries (the npz: above, and in Chromium):
    a CSV with a label column, a zip of one folder of PNGs per class."""
    import zipfile

    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = (d.images[:120] / 16.0 * 255).astype(np.uint8)
    if kind == "csv":
        rows = [",".join([f"p{i}" for i in range(64)] + ["label"])]
        rows += [",".join(str(v) for v in im.ravel()) + f",digit{t}" for im, t in zip(imgs, d.target)]
        payload = "\n".join(rows).encode()
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for i, (im, t) in enumerate(zip(imgs, d.target)):
                png = io.BytesIO()
                Image.fromarray(im).save(png, "PNG")
                z.writestr(f"digits/{t}/{i}.png", png.getvalue())
        payload = buf.getvalue()
    at = page("jule")
    at.sidebar.selectbox(key="jule_ds").set_value("upload…").run()
    at.sidebar.file_uploader(key="jule_upload").upload(f"my digits.{kind}", payload).run()
    assert not at.exception and not at.sidebar.error, [e.value for e in at.sidebar.error]
    spec = at.query_params["data"]
    assert re.fullmatch(r"upload:[0-9a-f]{20}.*", spec), spec  # an opaque id, never a server path
    from clustlib.data import display_name, load_dataset

    ds = load_dataset(spec)  # what Train would train
    assert len(ds) == 120 and ds.n_classes == 10
    assert display_name(spec).startswith(f"my-digits.{kind}")
