"""Animations to take away: a standalone HTML file that plays offline, an animated GIF.

The HTML file is Plotly's own page with plotly.js inlined (about 5 MB; it opens from a USB
stick in any browser, no network). The GIF is drawn here with Pillow from the figure's
frames -- markers, images (KNet's kernel) and bars (SeCu's sizes), each frame's axis
ranges and title -- so that it needs no browser: a picture for slides, not a copy of
every detail of the chart (no legend, no hover).

>>> import numpy as np
>>> from clustlib.base import Snapshot
>>> from clustlib.viz import embedding_animation
>>> snaps = [Snapshot(r, f"epoch {r}", np.arange(6) % 2, np.random.rand(6, 2), {}, {}) for r in range(3)]
>>> to_gif(embedding_animation(snaps))[:6]
b'GIF89a'
"""

from __future__ import annotations

import base64
import functools
import io
import re

import numpy as np
import plotly.graph_objects as go


def to_html(fig: go.Figure, title: str = "clustlib animation") -> str:
    """A page holding the figure with plotly.js inlined: it plays with no network."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False,
                       config={"displaylogo": False, "responsive": True})
    return html.replace("<head>", f"<head><meta charset='utf-8'><title>{_plain(title)}</title>", 1)


def _plain(text) -> str:
    return re.sub(r"<[^>]+>", " ", str(text or "")).replace("  ", " ").strip()


_ASCII = str.maketrans({"ψ": "psi", "γ": "gamma", "η": "eta", "σ": "sigma", "λ": "lambda", "θ": "theta",
                        "×": "x", "→": "->", "−": "-", "≤": "<=", "≥": ">=", "⁺": "+"})


FONT_PX = 17  # a slide's titles: readable from the back of a room (Pillow's old bitmap font was 8 px)
_GREEK_FONTS = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/Library/Fonts/Arial Unicode.ttf", "C:/Windows/Fonts/arial.ttf")


@functools.lru_cache(maxsize=4)
def _font(size: int = FONT_PX):
    """(font, whether it draws Greek): a system font with Greek letters where one is found,
    else Pillow's own scalable font (Latin only: Greek is then spelled out)."""
    from PIL import ImageFont

    for name in _GREEK_FONTS:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def _drawn(text, greek: bool = False) -> str:
    """A title as the font can draw it (ψ spelled ``psi`` by a font without Greek)."""
    return _plain(text) if greek else _plain(text).translate(_ASCII)


def _values(v) -> np.ndarray | None:
    """A Plotly array property (a list, a numpy array or a typed-array dict) as numpy."""
    if v is None:
        return None
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"])
    return np.asarray(v)


def _merge(base: dict, delta: dict) -> dict:
    out = dict(base)
    for k, v in delta.items():
        out[k] = {**out.get(k, {}), **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _rgb(color) -> tuple:
    c = str(color)
    if c.startswith("#") and len(c) == 7:
        return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))
    m = re.match(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)", c)
    if m:
        return tuple(int(float(x)) for x in m.groups())
    return {"black": (0, 0, 0), "white": (255, 255, 255)}.get(c, (80, 80, 80))


def _colors(trace: dict, n: int) -> list:
    """One RGB color per point: a single color, a list of colors, or integer codes into
    a discrete colorscale (clustlib's compact per-point colors)."""
    marker = trace.get("marker") or {}
    c = marker.get("color", "#1f77b4")
    if isinstance(c, str):
        return [_rgb(c)] * n
    arr = _values(c)
    scale = marker.get("colorscale")
    if arr is not None and arr.dtype.kind in "iu" and scale:
        steps = [_rgb(col) for _, col in scale[::2]]
        return [steps[int(v) % len(steps)] for v in arr]
    return [_rgb(x) for x in arr] if arr is not None else [(31, 119, 180)] * n


def _frames(fig: go.Figure) -> list[tuple[list[dict], dict]]:
    """(traces, layout) of every frame: each frame's data merged into the traces it names."""
    traces = [t.to_plotly_json() for t in fig.data]
    layout = fig.layout.to_plotly_json()
    if not fig.frames:
        return [(traces, layout)]
    out = []
    for fr in fig.frames:
        f = fr.to_plotly_json()
        idx = f.get("traces") or list(range(len(f.get("data", []))))
        traces = list(traces)
        for i, d in zip(idx, f.get("data", [])):
            traces[i] = _merge(traces[i], d)
        layout = _merge(layout, f.get("layout", {}))
        out.append((traces, layout))
    return out


def _range(axis: dict, values: list[np.ndarray]) -> tuple[float, float]:
    r = (axis or {}).get("range")
    if r is not None and len(r) == 2 and None not in r:
        return float(r[0]), float(r[1])
    v = np.concatenate([x for x in values if x is not None and x.size] or [np.zeros(1)]).astype(float)
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    pad = 0.05 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def render(traces: list[dict], layout: dict, width: int = 640, height: int = 480):
    """One frame as a Pillow image."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    title = layout.get("title") or {}
    lines = [s for s in re.split(r"<br\s*/?>", str(title.get("text", "") if isinstance(title, dict) else title)) if s]
    font, greek = _font()
    step = FONT_PX + 5
    for i, line in enumerate(lines[:3]):
        draw.text((12, 8 + step * i), _drawn(line, greek), fill=(42, 63, 95), font=font)
    top, left, bottom, right = 16 + step * len(lines[:3]), 12, height - 12, width - 12
    legend = [t for t in traces if t.get("name") and t.get("showlegend", True) is not False
              and t.get("type") in ("scatter", "scattergl")]
    if len(legend) > 1:  # a legend down the right side, as the page's chart has it
        small = _font(FONT_PX - 3)[0]
        right -= 125
        heading = (layout.get("legend") or {}).get("title", {}).get("text") or layout.get("legend_title_text")
        y = top
        if heading:
            draw.text((right + 14, y), _drawn(heading, greek), fill=(42, 63, 95), font=small)
            y += FONT_PX + 2
        for t in legend[:16]:
            c = _colors(t, 1)[0]
            draw.ellipse((right + 14, y + 4, right + 24, y + 14), fill=c)
            draw.text((right + 30, y), _drawn(t["name"], greek)[:14], fill=(42, 63, 95), font=small)
            y += FONT_PX + 2
    xs = [_values(t.get("x")) for t in traces if t.get("type") in ("scatter", "scattergl", "bar")]
    ys = [_values(t.get("y")) for t in traces if t.get("type") in ("scatter", "scattergl", "bar")]
    x0, x1 = _range(layout.get("xaxis"), xs)
    y0, y1 = _range(layout.get("yaxis"), ys)
    if any(t.get("type") == "bar" for t in traces):
        y0 = min(y0, 0.0)
    if (layout.get("yaxis") or {}).get("scaleanchor") == "x":  # one unit is as long on both axes
        side = min(right - left, bottom - top)
        scale = side / max(abs(x1 - x0), abs(y1 - y0), 1e-12)  # abs: a heatmap's y axis runs downwards
        mid = (left + right) / 2
        left, right = mid - abs(x1 - x0) * scale / 2, mid + abs(x1 - x0) * scale / 2
        bottom = top + abs(y1 - y0) * scale

    def px(x, y):
        return (left + (np.asarray(x, float) - x0) / ((x1 - x0) or 1) * (right - left),
                bottom - (np.asarray(y, float) - y0) / ((y1 - y0) or 1) * (bottom - top))

    for t in traces:
        kind = t.get("type")
        if kind == "image" and str(t.get("source", "")).startswith("data:image"):
            pic = Image.open(io.BytesIO(base64.b64decode(t["source"].split(",", 1)[1]))).convert("RGB")
            side = max(int(min(right - left, bottom - top)), 1)  # the square axes make the bounds floats
            img.paste(pic.resize((side, side), Image.NEAREST), (int(left + (right - left - side) // 2), int(top)))
        elif kind in ("scatter", "scattergl") and t.get("x") is not None:
            x, y = _values(t["x"]), _values(t["y"])
            u, v = px(x, y)
            size = float((t.get("marker") or {}).get("size", 5) or 5) / 2
            symbol = (t.get("marker") or {}).get("symbol")
            for (a, b), c in zip(zip(u, v), _colors(t, len(u))):
                if symbol == "x":
                    draw.line((a - size, b - size, a + size, b + size), fill=c, width=2)
                    draw.line((a - size, b + size, a + size, b - size), fill=c, width=2)
                else:
                    draw.ellipse((a - size, b - size, a + size, b + size), fill=c)
            if "text" in str(t.get("mode", "")) and t.get("text") is not None:  # DAC's vertex numbers
                for a, b, words in zip(u, v, list(t["text"])):
                    draw.text((a, b - size - 3), _drawn(words, greek), fill=(68, 68, 68), font=font, anchor="mb")
        elif kind == "bar" and t.get("y") is not None:
            y = _values(t["y"])
            x = _values(t.get("x")) if t.get("x") is not None else np.arange(len(y))
            half = 0.4 * ((x1 - x0) / max(len(y), 1))
            for xi, yi, c in zip(x, y, _colors(t, len(y))):
                a, b = px(xi - half, yi)
                a2, b0 = px(xi + half, 0)
                draw.rectangle((a, min(b, b0), a2, max(b, b0)), fill=c)
    for shape in layout.get("shapes") or []:  # a horizontal line (SeCu's floor)
        if shape.get("type") == "line" and shape.get("y0") == shape.get("y1") and shape.get("y0") is not None:
            _, b = px(x0, shape["y0"])
            draw.line((left, float(b), right, float(b)), fill=_rgb((shape.get("line") or {}).get("color", "red")), width=1)
    return img


def to_gif(fig: go.Figure, width: int = 640, height: int = 480, ms: int = 500) -> bytes:
    """The figure's frames as an animated GIF (``ms`` a frame, the last one held longer)."""
    frames = [render(t, lay, width, height) for t, lay in _frames(fig)]
    buf = io.BytesIO()
    durations = [ms] * (len(frames) - 1) + [ms * 4]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=True)
    return buf.getvalue()


def poster(fig: go.Figure, width: int = 880, height: int = 320) -> bytes:
    """The figure's first and last frames side by side as one PNG: the animation's start
    and end at a glance. A page shows it first (a PNG is drawn in about a second, before a
    browser has loaded plotly.js for the interactive chart) and a slide can hold it."""
    from PIL import Image, ImageDraw

    frames = _frames(fig)
    ends = [frames[0], frames[-1]] if len(frames) > 1 else frames
    half = width // len(ends)
    img = Image.new("RGB", (width, height), "white")
    for i, (traces, layout) in enumerate(ends):
        img.paste(render(traces, layout, half, height), (i * half, 0))
    if len(ends) == 2:  # an arrow from the start to the end
        draw = ImageDraw.Draw(img)
        x, y = half, height // 2
        draw.line((x, 40, x, y - 18), fill=(215, 215, 215), width=1)
        draw.line((x, y + 18, x, height - 12), fill=(215, 215, 215), width=1)
        draw.polygon([(x - 10, y - 11), (x + 1, y), (x - 10, y + 11)], fill=(42, 63, 95))  # in the margins
    buf = io.BytesIO()  # 64 shades: a noisy first kernel is 160 KB in RGB, a quarter of that in a palette
    img.quantize(64, dither=Image.Dither.NONE).save(buf, format="PNG", optimize=True)
    return buf.getvalue()
