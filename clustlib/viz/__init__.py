"""Pure Plotly figure builders (trace -> go.Figure); never imports streamlit or torch.

One module per kind of picture: ``animations`` (a trace over its rounds), ``kernel``
(KNet's kernel), ``charts`` (curves, tables), ``maps`` (2-D maps of samples), ``images``
(sample montages), on ``style`` (what they share); ``export`` writes an animation as an
HTML page or a GIF."""

from .. import deprecation
from .animations import (  # noqa: F401
    centers_animation,
    circle_animation,
    circle_map,
    embedding_animation,
    lineage_colors,
    merge_animation,
    merge_flow,
    sizes_animation,
)
from .charts import confusion_heatmap, curves_of_runs, metric_curves  # noqa: F401
from .images import cluster_grid, cluster_image_grid, image_montage, png_uri  # noqa: F401
from .kernel import block_average, kernel_heatmap_animation  # noqa: F401
from .maps import glyph_maps, labelled_maps, scatter_2d, selectable_scatter, unseen_figure  # noqa: F401
from .style import class_color, frame_indices, to_2d  # noqa: F401

__all__ = ["class_color", "lineage_colors", "merge_animation", "merge_flow", "block_average", "centers_animation", "circle_animation", "circle_map", "confusion_heatmap", "curves_of_runs", "sizes_animation", "selectable_scatter", "cluster_grid", "cluster_image_grid", "png_uri", "embedding_animation", "frame_indices", "glyph_maps",
           "image_montage", "kernel_heatmap_animation", "labelled_maps", "metric_curves", "scatter_2d", "to_2d",
           "unseen_figure"]

RENAMED = {  # old name -> name now (clustlib.deprecation)
    "class_colour": "class_color", "lineage_colours": "lineage_colors", "centres_animation": "centers_animation"}


def __getattr__(name: str):
    """The old names of renamed figure functions still work (and warn)."""
    if name in RENAMED:
        deprecation.warn(f"clustlib.viz.{name}", f"clustlib.viz.{RENAMED[name]}", stacklevel=3)
        return globals()[RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
