import base64
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from clustlib.base import Snapshot
from clustlib.viz import (
    block_average,
    cluster_grid,
    cluster_image_grid,
    embedding_animation,
    frame_indices,
    kernel_heatmap_animation,
    metric_curves,
    scatter_2d,
)


def test_frame_indices_bounded_and_keep_ends():
    idx = frame_indices(200, 50)
    assert len(idx) <= 50 and idx[0] == 0 and idx[-1] == 199
    assert frame_indices(5, 50) == [0, 1, 2, 3, 4]


def test_block_average_preserves_mean_and_size(rng):
    M = rng.random((600, 600))
    B = block_average(M, 256)
    assert B.shape == (256, 256) and B.mean() == pytest.approx(M.mean(), rel=1e-2)
    assert block_average(M[:100, :100]).shape == (100, 100)


def test_embedding_animation_frames_and_fixed_ranges(fitted_moons):
    _, est = fitted_moons
    fig = embedding_animation(est.trace_, est.track_y_, "label")
    assert len(fig.frames) == len(est.trace_)
    xr = fig.layout.xaxis.range
    for fr in fig.frames:
        assert xr[0] <= min(fr.data[0].x) and max(fr.data[0].x) <= xr[1]
    assert fig.layout.updatemenus[0].buttons[0].label.endswith("Play")
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)


def test_embedding_animation_zooms_per_frame_when_asked(fitted_moons):
    _, est = fitted_moons  # psi contracts the moons: the last frame is far smaller than the first
    fig = embedding_animation(est.trace_, est.track_y_, "label", frame_axes=True)
    widths = []
    for fr in fig.frames:
        xr = fr.layout.xaxis.range
        assert xr[0] <= min(fr.data[0].x) and max(fr.data[0].x) <= xr[1]
        widths.append(xr[1] - xr[0])
    assert tuple(fig.layout.xaxis.range) == tuple(fig.frames[0].layout.xaxis.range)
    assert widths[-1] < 0.5 * widths[0]


def _decode(src):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))


def test_kernel_heatmap_turns_block_diagonal():
    # two clusters whose embeddings separate over rounds
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 150)
    snaps = []
    for r, gap in enumerate([0.0, 1.0, 4.0]):
        emb = rng.normal(scale=0.3, size=(300, 2)) + gap * y[:, None]
        snaps.append(Snapshot(r, f"iteration {r}", y, emb.astype(np.float32), {"sigma": 0.5}, {}))
    fig = kernel_heatmap_animation(snaps, track_y=y)
    assert len(fig.frames) == 3
    first, last = _decode(fig.frames[0].data[0].source), _decode(fig.frames[-1].data[0].source)
    assert first.shape[:2] == (200, 200)  # 300 points block-averaged to 200 px (class 1 from px 75)
    # off-diagonal block: dark (similar) at the start, white (dissimilar) at the end
    assert first[:70, 110:, 0].mean() < 200 and last[:70, 110:, 0].mean() > 250
    assert last[:70, :70, 0].mean() < 200  # the diagonal block stays dark
    assert all(set(fr.data[0].to_plotly_json()) == {"type", "source"} for fr in fig.frames)  # only what changes
    with pytest.raises(ValueError, match="sigma"):
        kernel_heatmap_animation([Snapshot(0, "x", y, snaps[0].embedding, {}, {})])


def test_metric_curves_and_scatter(fitted_moons):
    _, est = fitted_moons
    fig = metric_curves(est.trace_, ["hsic", "nmi", "absent"])
    assert [t.name for t in fig.data] == ["hsic", "NMI"]  # readable names in the legend
    assert fig.layout.xaxis.title.text == "iteration" and fig.layout.yaxis.title.text
    assert len(fig.data[0].x) == len(est.trace_)
    starts = [dataclasses.replace(s, stage=f"start 2, the best of 3 · {s.stage}") for s in est.trace_]
    assert metric_curves(starts, ["nmi"]).layout.xaxis.title.text == "iteration"  # not "start"
    fig = scatter_2d(np.random.rand(50, 5), np.arange(50) % 3)
    assert len(fig.data[0].x) == 50


def test_viz_does_not_import_torch_or_streamlit():
    import subprocess
    import sys

    code = ("import sys, clustlib.viz; "
            "print(any(m in sys.modules for m in ('streamlit',)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_import_clustlib_stays_light():
    import subprocess
    import sys

    code = ("import sys, clustlib; print(' '.join(m for m in ('streamlit', 'plotly', 'openTSNE', 'umap') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cluster_image_grid_rows_are_largest_clusters_first():
    images = np.zeros((10, 4, 4))
    images[:6] = 1.0  # cluster 2 (six bright images) is the largest
    labels = np.array([2] * 6 + [0] * 3 + [1])
    grid, sizes = cluster_grid(images, labels, n_clusters=2, per_cluster=3, min_px=0)
    assert grid.shape == (4 + 3 + 4, 3 * 4 + 2 * 2, 3)  # 2 rows of 3 tiles with gaps
    assert grid[:4, :4].mean() == 255 and grid[7:, :4].mean() == 0  # bright row first
    fig = cluster_image_grid(images, labels, n_clusters=2, per_cluster=3)
    assert "#2: 6" in sizes and "#2: 6" in fig.layout.title.text
    assert fig.data[0].source.startswith("data:image/png;base64,")  # a PNG, not an array of numbers


def test_image_montage_enlarges_small_images_by_whole_pixels_and_wraps_rows():
    from clustlib.viz import image_montage

    digits = np.random.default_rng(0).random((5, 8, 8))
    assert image_montage(digits).shape == (8, 5 * 8 + 4 * 2)  # as before: one row, native size
    big = image_montage(digits, min_px=64, per_row=2)
    assert big.shape == (3 * 64 + 2 * 2, 2 * 64 + 2)  # 3 rows of 2, 64 px tiles
    tile = big[:64, :64]
    assert (tile == np.kron(tile[::8, ::8], np.ones((8, 8), np.uint8))).all()  # no blur: blocks of 8 x 8
    assert (big[-64:, 66:] == 255).all()  # the last row is completed by a blank tile
    assert image_montage(np.random.default_rng(1).random((2, 3, 28, 28)), min_px=64).shape == (84, 170, 3)


def _merging_trace():
    """Three periods of merges on 12 tracked points: 6 clusters -> 3 -> 2."""
    from clustlib.base import Snapshot

    rng = np.random.default_rng(0)
    stages = [[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],   # init: pairs
              [0, 0, 0, 0, 0, 0, 3, 3, 4, 4, 4, 4],   # 0+1+2, 4+5 (3 stays)
              [0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4, 4]]   # 3 joins 4
    return [Snapshot(r, "init" if r == 0 else f"period {r}", np.array(lab), rng.normal(size=(12, 3)).astype(np.float32),
                     {"n_clusters": float(len(set(lab)))}, {}) for r, lab in enumerate(stages)]


def test_lineage_colors_persist_through_merges_and_the_final_clusters_differ():
    from clustlib.viz import lineage_colors
    from clustlib.viz.style import PALETTE

    trace = _merging_trace()
    col = lineage_colors(trace)
    # cluster 4 absorbs 5 (same size: the first parent found) then 3: its colour never changes
    assert col[2][4] == col[1][4] == col[0][4]
    assert col[2][0] == col[1][0] == col[0][0]
    assert col[2][0] != col[2][4]  # the two final clusters: two strong colours
    assert col[0][0] in PALETTE and col[0][4] in PALETTE
    assert col[0][1] not in PALETTE  # absorbed clusters start light


def test_merge_animation_keeps_one_layout_and_merge_flow_conserves_points():
    from clustlib.viz import merge_animation, merge_flow

    trace = _merging_trace()
    xy = np.random.default_rng(1).normal(size=(12, 2))
    fig = merge_animation(trace, xy)
    assert len(fig.frames) == 3
    assert np.allclose(fig.data[0].x, xy[:, 0])  # the points never move: their place is sent once,
    assert all(f.data[0].x is None for f in fig.frames)  # each frame carries only the colours
    colours = [list(f.data[0].marker.color) for f in fig.frames]
    assert len(set(colours[-1])) == 2 and len(set(colours[0])) == 6
    assert fig.layout.xaxis.title.text.startswith("t-SNE")
    flow = merge_flow(trace, min_share=0.0).data[0]
    assert sum(flow.link.value) == 2 * 12  # every tracked point flows through both steps
    assert len(flow.node.label) == 6 + 3 + 2


def test_animations_have_legends_speed_control_and_per_frame_axes():
    from clustlib.base import Snapshot
    from clustlib.viz import circle_animation

    y = np.repeat([0, 1, 2], 10)
    snaps = [Snapshot(r, f"epoch {r}", y, (np.random.default_rng(r).normal(size=(30, 4)) * (1 + 10 * r)).astype(np.float32),
                      {}, {}) for r in range(3)]
    fig = embedding_animation(snaps, y, "label")
    assert [t.name for t in fig.data] == ["class 0", "class 1", "class 2"]  # a legend
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    ranges = [f.layout.xaxis.range for f in fig.frames]
    assert ranges[0][1] - ranges[0][0] < (ranges[-1][1] - ranges[-1][0]) / 5  # the small start is zoomed
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert labels == ["▶ Play", "▶▶ Fast", "❚❚ Pause"]
    assert fig.layout.sliders[0].pad.t >= 30 and fig.layout.sliders[0].currentvalue.visible  # below the buttons
    one = embedding_animation(snaps[-1:], y, "label")  # a live frame: no controls
    assert not one.layout.updatemenus and not one.layout.sliders
    circ = circle_animation([Snapshot(0, "epoch 0", y, np.abs(snaps[0].embedding), {}, {})], y)
    assert [t.name for t in circ.data] == ["class 0", "class 1", "class 2", "cluster vertex"]
    assert circ.data[1].marker.color == embedding_animation(snaps, y, "label").data[1].marker.color


def test_an_animation_exports_as_a_gif_of_its_frames_and_as_an_offline_page():
    from clustlib.viz import circle_animation, sizes_animation
    from clustlib.viz.export import to_gif, to_html

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    snaps = [Snapshot(r, f"epoch {r}", y, np.abs(rng.normal(size=(60, 3))) + 3 * r * np.eye(3)[y],
                      {"u": 0.9, "l": 0.5}, {"sizes": np.bincount(y, minlength=3)}) for r in range(4)]
    gif = Image.open(io.BytesIO(to_gif(circle_animation(snaps, y), width=320, height=240)))
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (320, 240)
    gif.seek(3)
    last = np.asarray(gif.convert("RGB"))
    assert (last.reshape(-1, 3) != 255).any(axis=1).mean() > 0.01  # something is drawn
    assert Image.open(io.BytesIO(to_gif(sizes_animation(snaps, floor=15)))).n_frames == 4
    html = to_html(circle_animation(snaps, y), "circle")
    assert "<title>circle</title>" in html and "Plotly.newPlot" in html and "addFrames" in html
    assert "cdn" not in html.lower().split("<body>")[0]  # plotly.js inside the page: it plays offline


def test_a_poster_shows_the_first_and_the_last_frame_and_the_kernel_exports():
    """The page's first picture: start and end side by side as one small PNG. The kernel
    heatmap (an image on square axes whose y runs downwards) draws in it and in its GIF --
    its GIF crashed before: the square axes gave the renderer float pixel bounds."""
    from clustlib.viz.export import poster, to_gif

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 150)
    snaps = [Snapshot(r, f"iteration {r}", y, (rng.normal(scale=0.3, size=(300, 2)) + gap * y[:, None]).astype(np.float32),
                      {"sigma": 0.5}, {}) for r, gap in enumerate([0.0, 1.0, 4.0])]
    kernel = kernel_heatmap_animation(snaps, track_y=y, title="Kernel of ψ(x)")
    png = poster(kernel, width=800, height=320)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    assert img.shape == (320, 800) and len(png) < 80_000  # small: the first thing a page sends
    start, end = img[60:, 40:380], img[60:, 440:780]  # the heatmaps, below the titles
    assert (start < 250).mean() > 0.1 and (end < 250).mean() > 0.1  # both drawn, not a sliver
    # the end is block diagonal: its off-diagonal quarter is white, the start's is not
    top_right = lambda half: half[: half.shape[0] // 3, half.shape[1] * 2 // 3:]  # noqa: E731
    assert top_right(end).mean() > top_right(start).mean() + 20
    assert Image.open(io.BytesIO(to_gif(kernel, width=320, height=240))).n_frames == 3


def test_curves_over_a_few_rounds_tick_whole_rounds():
    from clustlib.base import Snapshot
    from clustlib.viz import metric_curves

    trace = [Snapshot(r, f"period {r}", np.zeros(4, int), None, {"nmi": 0.1 * r}, {}) for r in range(4)]
    fig = metric_curves(trace, ["nmi"])
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == "d"  # no period 0.5
    long = metric_curves([Snapshot(r, f"epoch {r}", np.zeros(4, int), None, {"nmi": 0.0}, {}) for r in range(60)], ["nmi"])
    assert long.layout.xaxis.dtick is None
