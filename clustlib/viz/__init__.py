"""Pure Plotly figure builders (trace -> go.Figure); never imports streamlit or torch."""

from .figures import (
                      block_average,
                      embedding_animation,
                      frame_indices,
                      kernel_heatmap_animation,
                      metric_curves,
                      scatter_2d,
                      to_2d,
)

__all__ = ["block_average", "embedding_animation", "frame_indices", "kernel_heatmap_animation",
           "metric_curves", "scatter_2d", "to_2d"]
