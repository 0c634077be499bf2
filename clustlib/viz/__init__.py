"""Pure Plotly figure builders (trace -> go.Figure); never imports streamlit or torch."""

from .figures import (
    block_average,
    cluster_image_grid,
    embedding_animation,
    frame_indices,
    image_montage,
    kernel_heatmap_animation,
    metric_curves,
    scatter_2d,
    to_2d,
)

__all__ = ["block_average", "cluster_image_grid", "embedding_animation", "frame_indices",
           "image_montage", "kernel_heatmap_animation", "metric_curves", "scatter_2d", "to_2d"]
