"""How a method describes itself, once (``ABOUT``): its name, paper, page and demo runs.
Everything outside the method's module -- the registry, the CLI, the pages, the demo
assets -- reads this."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Demo:
    """A demo run shipped in ``assets/`` (made by ``scripts/make_demo_assets.py``)."""

    dataset: str  # dataset spec
    params: dict  # beyond the ``demo`` preset (n_clusters, track_max, ...)
    unseen: tuple | str = ()  # classes held out, or "default" (the dataset's own split)
    views: tuple = ()  # projections of the unseen / shared maps computed with the run


@dataclass(frozen=True)
class About:
    """How a method describes itself, once: everything outside its module reads this."""

    name: str  # registry key: CLI name, URL path, page file app_pages/<name>.py, Run format
    title: str  # short name, e.g. "JULE"
    year: int  # of the paper (the registry lists methods in this order)
    description: str  # one line: paper, venue, what it does
    page_title: str  # navigation label
    icon: str
    picture: str  # what its page shows (home page)
    demos: dict  # demo run name -> Demo; the first is the one its page opens on
    progress: tuple = ("nmi", "acc", "loss", "n_clusters")  # scalars a progress display shows

    @property
    def demo(self) -> str:
        return next(iter(self.demos))
