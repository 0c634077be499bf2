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

from ..request import TrainRequest  # noqa: F401 - what a page trains
from . import background  # noqa: F401 - the pages ask for background tasks through w.background
from .picking import current_run_ui, upload_recording_ui  # noqa: F401
from .results import baselines_table_ui, baselines_ui, metrics_row_ui, standing_ui, starts_ui  # noqa: F401
from .setup import (  # noqa: F401
    dataset_ui,
    setting_ui,
    train_setup_ui,
)
from .store import (  # noqa: F401
    RunFormatError,
    all_runs,
    data_label,
    load_run,
    plain,
    run_dataset_ui,
    short_run_name,
    tracked_samples,
)
from .training import busy, start_job_ui, train_ui  # noqa: F401
from .views import (  # noqa: F401
    PROJECTIONS,
    chart,
    inspect_ui,
    poster_ui,
    run_view_ui,
    shared_map_ui,
    task_ui,
    unseen_names,
    unseen_view_ui,
)
