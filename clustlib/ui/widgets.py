"""The page toolkit in one import (``from clustlib.ui import widgets as w``): each room
holds one job of a page --

- ``store``: what pages load, once per server (datasets, runs), and text escaped;
- ``setup``: the sidebar head (preset, dataset or upload, unseen classes, k, seed, the
  method's settings), read from and written to the link;
- ``training``: Train, the job's progress, the live picture;
- ``picking``: which run the page shows (demo, saved, linked, new, uploaded recording);
- ``views``: figures built once per run with their downloads, background maps, unseen
  categories, Inspect points;
- ``results``: metrics, starts, scikit-learn baselines.

Widget functions end in ``_ui``. Only ``clustlib.ui`` imports Streamlit.
"""

from ..train import TrainRequest  # noqa: F401 - what a page trains
from . import background  # noqa: F401 - the pages ask for background tasks through w.background
from .picking import current_run_ui, default_run_ui, load_run_ui, upload_recording_ui  # noqa: F401
from .results import baselines_table_ui, baselines_ui, metrics_row_ui, starts_ui  # noqa: F401
from .setup import (  # noqa: F401
    dataset_ui,
    query_state_ui,
    setting_ui,
    share_state_ui,
    train_setup_ui,
    unseen_ui,
    upload_dataset_ui,
)
from .store import (  # noqa: F401
    DatasetError,
    RunFormatError,
    all_runs,
    available_runs,
    cached_dataset,
    cached_run,
    data_label,
    load_run,
    matching_run,
    plain,
    run_dataset_ui,
    short_run_name,
    tracked_samples,
)
from .training import busy, job_progress_ui, live_figures, live_ui, start_job_ui, train_ui  # noqa: F401
from .views import (  # noqa: F401
    PROJECTIONS,
    chart,
    export_ui,
    inspect_ui,
    poster_ui,
    run_view_ui,
    shared_map_ui,
    task_ui,
    unseen_names,
    unseen_verdict,
    unseen_view_ui,
)
