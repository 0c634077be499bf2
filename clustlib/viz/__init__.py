"""Pure Plotly figure builders (trace -> go.Figure); never imports streamlit or torch."""

from .. import deprecation
from .figures import (
    block_average,
    centers_animation,
    circle_animation,
    circle_map,
    class_color,
    cluster_grid,
    cluster_image_grid,
    confusion_heatmap,
    curves_of_runs,
    embedding_animation,
    frame_indices,
    glyph_maps,
    image_montage,
    kernel_heatmap_animation,
    labelled_maps,
    lineage_colors,
    merge_animation,
    merge_flow,
    metric_curves,
    png_uri,
    scatter_2d,
    selectable_scatter,
    sizes_animation,
    to_2d,
    unseen_figure,
)

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
