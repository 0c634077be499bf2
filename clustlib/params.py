"""Parameter rules, declared once per estimator (``PARAM_RULES``) and checked by the base
class before any work, in the spirit of scikit-learn's parameter constraints: every bad
value -- wrong type, out of range, NaN, an unknown option -- is one ``ValueError`` line.
Upper bounds keep a typo (``max_iter=10**9``, a hidden width of 10**6) from turning into
hours of work or gigabytes of memory.

>>> from clustlib.params import Int
>>> Int(1, 10).check("epochs", 3)
>>> Int(1, 10).check("epochs", 2.5)
Traceback (most recent call last):
...
ValueError: epochs=2.5 must be an integer in [1, 10].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rule:
    kind: str  # "int" | "real" | "choice" | "bool" | "int_tuple" | "str" | "share"
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    options: tuple = ()
    none: bool = False  # None allowed
    hi_open: bool = False
    at_most: str | None = None  # another parameter this one may not exceed

    def describe(self) -> str:
        if self.kind == "choice":
            what = "one of " + ", ".join(repr(o) for o in self.options)
        elif self.kind == "bool":
            what = "True or False"
        elif self.kind == "str":
            what = "a string"
        elif self.kind == "share":
            what = f"a fraction in (0, 1] or a count in [2, {self.hi:g}]"
        else:
            noun = {"int": "an integer", "real": "a number", "int_tuple": "a list of integers"}[self.kind]
            lo = "-inf" if self.lo is None else f"{self.lo:g}"
            hi = "inf" if self.hi is None else f"{self.hi:g}"
            what = f"{noun} in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"
        if self.options and self.kind in ("int", "real"):
            what += ", or one of " + ", ".join(repr(o) for o in self.options)
        return what + (" or None" if self.none else "")

    def ok(self, v) -> bool:
        if v is None:
            return self.none
        if isinstance(v, str) and self.kind in ("int", "real"):
            return v in self.options  # a number or a named rule, e.g. sigma="knn"
        if self.kind == "bool":
            return isinstance(v, (bool, np.bool_))
        if self.kind == "choice":
            return isinstance(v, str) and v in self.options
        if self.kind == "str":
            return isinstance(v, str)
        if self.kind == "share":  # a fraction of the samples, or a count of them
            if isinstance(v, (float, np.floating)):
                return math.isfinite(v) and 0 < v <= 1
            return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and 2 <= v <= self.hi
        if self.kind == "int_tuple":
            return isinstance(v, (list, tuple)) and len(v) <= 16 and all(
                Rule("int", self.lo, self.hi).ok(x) for x in v)
        if isinstance(v, (bool, np.bool_)):
            return False
        if self.kind == "int" and not isinstance(v, (int, np.integer)):
            return False
        if self.kind == "real" and not isinstance(v, (int, float, np.integer, np.floating)):
            return False
        v = float(v)
        if not math.isfinite(v):
            return False
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            return False
        return self.hi is None or v < self.hi or (v == self.hi and not self.hi_open)

    def check(self, name: str, value) -> None:
        if not self.ok(value):
            raise ValueError(f"{name}={value!r} must be {self.describe()}.")


def Int(lo=None, hi=None, none: bool = False, at_most: str | None = None) -> Rule:  # noqa: N802 - a type
    return Rule("int", lo, hi, none=none, at_most=at_most)


def Real(lo=None, hi=None, lo_open: bool = False, none: bool = False, hi_open: bool = False) -> Rule:  # noqa: N802
    return Rule("real", lo, hi, lo_open=lo_open, none=none, hi_open=hi_open)


def Share(hi: int, none: bool = False) -> Rule:  # noqa: N802
    """A part of the samples: a fraction in (0, 1] (float) or a count (int >= 2)."""
    return Rule("share", 2, hi, none=none)


def Choice(*options: str) -> Rule:  # noqa: N802
    return Rule("choice", options=tuple(options))


def Bool() -> Rule:  # noqa: N802
    return Rule("bool")


def IntTuple(lo=None, hi=None) -> Rule:  # noqa: N802
    return Rule("int_tuple", lo, hi)


# every estimator's common parameters
COMMON = {
    "n_clusters": Int(2, 100_000),
    "track_max": Int(1, 100_000),
    "random_state": Int(0, 2**32 - 1, none=True),
    "device": Rule("str"),  # then resolved by base.resolve_device (one line too)
}


def rules_of(cls) -> dict:
    """Every parameter rule of an estimator class: the common ones and its own."""
    return {**COMMON, **getattr(cls, "PARAM_RULES", {})}


def check_params(est) -> None:
    """Check every constructor parameter of ``est`` against its class's rules, then the
    relations between them (``at_most``); a parameter without a rule is a bug of the class
    (the contract test finds it)."""
    rules = rules_of(type(est))
    for name in est._get_param_names():
        rule = rules.get(name)
        if rule is None:
            raise TypeError(f"{type(est).__name__}.{name} has no parameter rule (PARAM_RULES).")
        rule.check(name, getattr(est, name))
    for name, rule in rules.items():
        value = getattr(est, name, None)
        if rule.at_most and value is not None and value > getattr(est, rule.at_most):
            raise ValueError(f"{name}={value!r} must be at most {rule.at_most}={getattr(est, rule.at_most)!r}.")
