"""Pure Plotly figure builders (trace -> go.Figure); never imports streamlit or torch."""

from .figures import (
    block_average,
    centres_animation,
    circle_animation,
    circle_map,
    class_colour,
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
    lineage_colours,
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

__all__ = ["class_colour", "lineage_colours", "merge_animation", "merge_flow", "block_average", "centres_animation", "circle_animation", "circle_map", "confusion_heatmap", "curves_of_runs", "sizes_animation", "selectable_scatter", "cluster_grid", "cluster_image_grid", "png_uri", "embedding_animation", "frame_indices", "glyph_maps",
           "image_montage", "kernel_heatmap_animation", "labelled_maps", "metric_curves", "scatter_2d", "to_2d",
           "unseen_figure"]
