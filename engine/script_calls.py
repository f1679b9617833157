"""Builtins and methods under the script budget (see ``engine.script_budget``).

Compiled diagram code calls the whitelisted builtins that consume a whole iterable in C
(``sum(x)``, ``sorted(x)``, ``list(x)``…) as methods of the evaluation's meter, and reads
attributes through :meth:`ScriptMeter.getattr`, which hands out checked versions of the
string and list methods that can build a big value or scan a long one.
"""
from __future__ import annotations

import builtins
from typing import Any, Callable

from RestrictedPython.Guards import safer_getattr

from engine.script_budget import Meter, ScriptBudgetExceeded

_MISSING = object()

# Builtins that run over a whole iterable in one C call; a call by name goes to the meter.
CONSUMING_BUILTINS = ("sum", "min", "max", "sorted", "any", "all", "list", "tuple", "set", "dict",
                      "enumerate", "zip", "reversed", "range", "str")


class ScriptMeter(Meter):
    """The meter with the call guards; one per evaluation."""

    __slots__ = ()

    # --- builtins ------------------------------------------------------------------------
    def _consume(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        if args:
            first = args[0]
            if isinstance(first, range):
                self._refuse_items(len(first), "a range")
            if hasattr(first, "__len__"):
                self.charge(len(first))
            elif hasattr(first, "__iter__") and not isinstance(first, (str, bytes)):
                args = (self.iterate(first), *args[1:])
        return fn(*args, **kwargs)

    def range(self, *args: int) -> range:
        value = range(*args)
        self._refuse_items(len(value), "a range")
        return value

    def str(self, *args: Any) -> str:
        return self.text(*args)

    def sum(self, *a, **k): return self._consume(builtins.sum, a, k)  # noqa: E704
    def min(self, *a, **k): return self._consume(builtins.min, a, k)  # noqa: E704
    def max(self, *a, **k): return self._consume(builtins.max, a, k)  # noqa: E704
    def sorted(self, *a, **k): return self._consume(builtins.sorted, a, k)  # noqa: E704
    def any(self, *a, **k): return self._consume(builtins.any, a, k)  # noqa: E704
    def all(self, *a, **k): return self._consume(builtins.all, a, k)  # noqa: E704
    def list(self, *a, **k): return self._consume(builtins.list, a, k)  # noqa: E704
    def tuple(self, *a, **k): return self._consume(builtins.tuple, a, k)  # noqa: E704
    def set(self, *a, **k): return self._consume(builtins.set, a, k)  # noqa: E704
    def dict(self, *a, **k): return self._consume(builtins.dict, a, k)  # noqa: E704
    def enumerate(self, *a, **k): return self._consume(builtins.enumerate, a, k)  # noqa: E704
    def zip(self, *a, **k): return self._consume(builtins.zip, a, k)  # noqa: E704
    def reversed(self, *a, **k): return self._consume(builtins.reversed, a, k)  # noqa: E704

    # --- attributes ----------------------------------------------------------------------
    def getattr(self, obj: Any, name: str, default: Any = _MISSING) -> Any:
        """RestrictedPython's ``_getattr_``: the safe lookup, then a checked method if needed."""
        value = safer_getattr(obj, name) if default is _MISSING else safer_getattr(obj, name, default)
        if isinstance(obj, (str, bytes)):
            checked = _TEXT_METHODS.get(name)
            if checked is not None:
                return lambda *args, **kwargs: checked(self, obj, *args, **kwargs)
            if callable(value):  # every other text method reads the text once
                self.charge(len(obj) >> 6)
        elif isinstance(obj, list):
            if name == "extend":
                return lambda items: _extend(self, obj, items)
            if callable(value) and name in ("index", "count", "remove", "sort", "copy", "reverse", "insert"):
                self.charge(len(obj))
        elif isinstance(obj, (dict, set)) and callable(value):
            if name in ("update", "union", "intersection", "difference", "symmetric_difference",
                        "issubset", "issuperset", "copy", "values", "keys", "items"):
                self.charge(len(obj))
        return value


def _width(meter: ScriptMeter, text: Any, width: Any, *rest: Any, method: str) -> Any:
    if isinstance(width, int):
        meter._sized(text, width, f"str.{method}")
    return getattr(text, method)(width, *rest)


def _replace(meter: ScriptMeter, text: Any, old: Any, new: Any, count: int = -1) -> Any:
    if isinstance(old, type(text)) and isinstance(new, type(text)):
        meter.charge(len(text) >> 6)
        hits = len(text) + 1 if not old else text.count(old)
        if count >= 0:
            hits = min(hits, count)
        meter._sized(text, len(text) + hits * (len(new) - len(old)), "str.replace")
    return text.replace(old, new, count)


def _join(meter: ScriptMeter, separator: Any, parts: Any) -> Any:
    parts = meter.list(parts)
    if all(isinstance(p, (str, bytes)) for p in parts):
        total = sum(len(p) for p in parts) + len(separator) * max(len(parts) - 1, 0)
        meter._sized(separator, total, "str.join")
    return separator.join(parts)


def _expandtabs(meter: ScriptMeter, text: Any, tabsize: int = 8) -> Any:
    if isinstance(tabsize, int):
        tab = "\t" if isinstance(text, str) else b"\t"
        meter._sized(text, len(text) + text.count(tab) * max(tabsize, 0), "str.expandtabs")
    return text.expandtabs(tabsize)


def _extend(meter: ScriptMeter, target: list, items: Any) -> None:
    if hasattr(items, "__len__"):
        if isinstance(items, range):
            meter._refuse_items(len(items), "a range")
        meter._refuse_items(len(target) + len(items), "an extended list")
        meter.charge(len(items))
        target.extend(items)
    else:
        target.extend(meter.iterate(items))


_TEXT_METHODS: dict[str, Callable[..., Any]] = {
    "ljust": lambda m, t, *a, **k: _width(m, t, *a, method="ljust", **k),
    "rjust": lambda m, t, *a, **k: _width(m, t, *a, method="rjust", **k),
    "center": lambda m, t, *a, **k: _width(m, t, *a, method="center", **k),
    "zfill": lambda m, t, *a, **k: _width(m, t, *a, method="zfill", **k),
    "replace": _replace,
    "join": _join,
    "expandtabs": _expandtabs,
}

__all__ = ["CONSUMING_BUILTINS", "ScriptMeter", "ScriptBudgetExceeded"]
