"""Task functions for tests/test_background.py (importable by the task processes)."""

import time


def forever(*args):
    """A baseline that never finishes (ARPACK on a bad affinity)."""
    time.sleep(10**6)


def double(x):
    return 2 * x


def fail(*args):
    raise ValueError("this data has nothing to cluster\nsecond line")
