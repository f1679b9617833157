"""The CPU-time and memory budget of one script or expression evaluation.

Diagram code is compiled by ``engine.script_policy`` so that everything that can take long
or grow memory passes through a :class:`Meter`:

* every loop iteration, comprehension element, ``while`` round and function call *ticks*;
* every operation that can make a big value in one step — ``*``, ``**``, ``<<``, ``+``,
  ``%`` formatting, f-string fields, ``str()``, ``*``-unpacking, membership tests and the
  string and list methods that build or scan — checks the size of its result (or the work
  it will do) *before* it runs, and charges that work as ticks;
* the builtins that consume a whole iterable in C (``sum``, ``sorted``, ``list``…) charge
  its length, and ``range`` refuses a range longer than the item cap.

Every 1,024 ticks (and after every large operation) the meter reads the thread's CPU time
and the process's resident memory and stops the evaluation when either is over budget.
One operation can therefore never run for long or allocate past the caps, and a loop of
cheap operations is stopped within a millisecond of its budget. Memory is the growth of
the process's resident set since the first check, so an evaluation that never checks (no
loop, nothing big) costs one ``time.monotonic()`` and nothing else.

Limits are per evaluation and come from :data:`current_limits` (the command runner sets it
from the engine's settings; the default is one second and 256 MiB).
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

CHECK_EVERY_TICKS = 1024
LARGE_OPERATION_ITEMS = 64 * 1024  # an operation at least this big checks the budget at once
LARGE_OPERATION_BYTES = 1024 * 1024
MAX_INT_BITS = 100_000             # about 30,000 decimal digits


@dataclass(frozen=True)
class ScriptLimits:
    cpu_seconds: float = 1.0
    memory_bytes: int = 256 * 1024 * 1024
    # The most items one list, tuple, set, dict or range may have (and the most element
    # visits one operation may charge); strings may be as long as the memory budget.
    max_items: int = 1_000_000

    def describe(self) -> str:
        return f"CPU {self.cpu_seconds:g} s, memory {self.memory_bytes // (1024 * 1024)} MiB"


current_limits: contextvars.ContextVar[ScriptLimits] = contextvars.ContextVar(
    "greenflow_script_limits", default=ScriptLimits())


@contextlib.contextmanager
def script_limits(limits: ScriptLimits):
    """Evaluations inside the block run under ``limits``."""
    token = current_limits.set(limits)
    try:
        yield
    finally:
        current_limits.reset(token)


class ScriptBudgetExceeded(Exception):
    """A diagram script or expression went over its CPU-time or memory budget."""

    def __init__(self, what: str, limits: ScriptLimits):
        super().__init__(f"script budget exceeded: {what} (budget per evaluation: {limits.describe()})")
        self.what = what
        self.limits = limits


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """The process's resident memory (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_SIZE
    except OSError:  # pragma: no cover - not Linux
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_FORMAT_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


class Meter:
    """Counts one evaluation's work; the guard functions compiled code calls live here."""

    __slots__ = ("limits", "ticks", "next_check", "started", "cpu_base", "rss_base", "failure")

    def __init__(self, limits: ScriptLimits):
        self.limits = limits
        self.ticks = 0
        self.next_check = CHECK_EVERY_TICKS
        self.started = time.monotonic()
        self.cpu_base: float | None = None
        self.rss_base = 0
        # Once over budget, every later tick raises again: a script's ``except`` cannot
        # swallow the budget, and the sandbox re-raises it after the evaluation.
        self.failure: ScriptBudgetExceeded | None = None

    # --- the clock and the scales ------------------------------------------------------
    def tick(self) -> None:
        self.ticks += 1
        if self.ticks >= self.next_check:
            self.check()

    def charge(self, work: int, new_bytes: int = 0) -> None:
        """Count ``work`` element visits about to happen, allocating about ``new_bytes``;
        a large operation checks the budget before it runs."""
        self.ticks += work
        if self.ticks >= self.next_check or work >= LARGE_OPERATION_ITEMS or new_bytes >= LARGE_OPERATION_BYTES:
            self.check(new_bytes)

    def check(self, new_bytes: int = 0) -> None:
        if self.failure is not None:
            raise self.failure
        try:
            self._measure(new_bytes)
        except ScriptBudgetExceeded as exceeded:
            self.fail(exceeded)

    def fail(self, exceeded: ScriptBudgetExceeded) -> None:
        self.failure = exceeded
        self.next_check = self.ticks  # every later tick checks, and so raises
        raise exceeded

    def _measure(self, new_bytes: int) -> None:
        cpu = time.thread_time()
        if self.cpu_base is None:
            # Before the first check only wall time is known; count all of it as CPU time.
            self.cpu_base = cpu - (time.monotonic() - self.started)
            self.rss_base = resident_bytes()
        if resident_bytes() - self.rss_base + new_bytes > self.limits.memory_bytes:
            raise ScriptBudgetExceeded(f"memory grew by more than {self.limits.memory_bytes // 2**20} MiB",
                                       self.limits)
        if cpu - self.cpu_base > self.limits.cpu_seconds:
            raise ScriptBudgetExceeded(f"CPU time over {self.limits.cpu_seconds:g} s", self.limits)
        self.next_check = self.ticks + CHECK_EVERY_TICKS

    def _refuse_items(self, items: int, what: str) -> None:
        if items > self.limits.max_items:
            self.fail(ScriptBudgetExceeded(f"{what} would have {items:,} items (at most {self.limits.max_items:,})",
                                           self.limits))

    def _refuse_chars(self, chars: int, what: str) -> None:
        if chars > self.limits.memory_bytes:
            self.fail(ScriptBudgetExceeded(f"{what} would be {chars:,} characters long", self.limits))

    def _sized(self, kind: Any, length: int, what: str) -> None:
        """Refuse a result of ``length`` elements of ``kind``'s type, then charge it."""
        if isinstance(kind, (str, bytes)):
            self._refuse_chars(length, what)
            self.charge(length // 64, length)
        else:
            self._refuse_items(length, what)
            self.charge(length, 8 * length)

    # --- iteration and calls -------------------------------------------------------------
    def iterate(self, iterable: Iterable) -> Iterator:
        """``for`` loops and comprehensions iterate through here: a tick per element."""
        tick = self.tick
        for item in iterable:
            tick()
            yield item

    def spread(self, value: Any) -> Any:
        """``*value`` / ``**value`` in a display or call: charge its length."""
        if isinstance(value, range):
            self._refuse_items(len(value), "an unpacked range")
        size = len(value) if hasattr(value, "__len__") else 0
        self.charge(size)
        return value if size or hasattr(value, "__len__") else list(self.iterate(value))

    # --- operators -----------------------------------------------------------------------
    def mul(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int):
            if a and b and a.bit_length() + b.bit_length() > MAX_INT_BITS:
                self.fail(ScriptBudgetExceeded(f"a product of more than {MAX_INT_BITS:,} bits", self.limits))
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            self._repeat(a, b)
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            self._repeat(b, a)
        return a * b

    def _repeat(self, seq: Any, times: int) -> None:
        if times <= 1:
            return
        self._sized(seq, len(seq) * times, "a repeated sequence")
        if isinstance(seq, (list, tuple)):  # [big] * n is n references that str() would expand
            self._refuse_items(self.deep_size(seq) * times, "a repeated sequence of containers")

    def pow(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            if (a.bit_length() - 1) * b > MAX_INT_BITS:
                self.fail(ScriptBudgetExceeded(f"a power of more than {MAX_INT_BITS:,} bits", self.limits))
        return a ** b

    def lshift(self, a: Any, b: Any) -> Any:
        if isinstance(a, int) and isinstance(b, int) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
            self.fail(ScriptBudgetExceeded(f"a shift to more than {MAX_INT_BITS:,} bits", self.limits))
        return a << b

    def add(self, a: Any, b: Any) -> Any:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self._sized(a, len(a) + len(b), "a concatenation")
        return a + b

    def mod(self, a: Any, b: Any) -> Any:
        if isinstance(a, (str, bytes)):
            self.percent_format(a, b)
        return a % b

    def inplace(self, op: str, a: Any, b: Any) -> Any:
        """``x op= y`` (RestrictedPython's ``_inplacevar_``) through the same guards."""
        if op == "*=":
            return self.mul(a, b)
        if op == "+=":
            if isinstance(a, list) and hasattr(b, "__len__"):
                self._refuse_items(len(a) + len(b), "an extended list")
                self.charge(len(b))
                a += b
                return a
            return self.add(a, b)
        if op == "**=":
            return self.pow(a, b)
        if op == "<<=":
            return self.lshift(a, b)
        if op == "%=":
            return self.mod(a, b)
        return _INPLACE[op](a, b)

    def contains(self, item: Any, container: Any) -> bool:
        """``item in container``: scanning a list or string costs its length."""
        if isinstance(container, range):
            return item in container
        if hasattr(container, "__len__") and not isinstance(container, (dict, set, frozenset)):
            self.charge(len(container) // (64 if isinstance(container, (str, bytes)) else 1))
        return item in container

    # --- text ----------------------------------------------------------------------------
    def deep_size(self, value: Any) -> int:
        """Elements and characters ``str(value)`` would write, counted up to just over the cap."""
        cap = self.limits.max_items
        total, stack = 0, [value]
        while stack and total <= cap:
            item = stack.pop()
            if isinstance(item, (str, bytes)):
                total += 1 + len(item) // 64
            elif isinstance(item, dict):
                total += 1 + len(item)
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, _CONTAINERS):
                total += 1 + len(item)
                stack.extend(item)
            else:
                total += 1
        return total

    def text(self, *args: Any) -> str:
        """``str(value)``: the text of a container is checked before it is written."""
        if args and isinstance(args[0], _CONTAINERS):
            self._check_text(args[0])
        return str(*args)

    def _check_text(self, value: Any) -> None:
        size = self.deep_size(value)
        self._refuse_items(size, "the text of a container")
        self.charge(size)

    def formatted(self, value: Any, conversion: int, spec: str = "") -> str:
        """An f-string field ``{value!conversion:spec}``."""
        if isinstance(value, _CONTAINERS):
            self._check_text(value)
        self._check_width(spec, "an f-string field")
        if conversion == ord("r"):
            value = repr(value)
        elif conversion == ord("s"):
            value = str(value)
        elif conversion == ord("a"):
            value = ascii(value)
        return format(value, spec)

    def percent_format(self, template: Any, args: Any) -> None:
        for value in (args if isinstance(args, tuple) else (args,)):
            if isinstance(value, _CONTAINERS):
                self._check_text(value)
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        for width, precision in _PERCENT_SPEC.findall(text):
            if "*" in (width, precision):
                self.fail(ScriptBudgetExceeded("'*' widths in % formatting are not allowed in diagram scripts",
                                               self.limits))
            for number in (width, precision):
                if number and int(number) > self.limits.memory_bytes:
                    self.fail(ScriptBudgetExceeded(f"a % format width of {int(number):,}", self.limits))

    def _check_width(self, spec: str, what: str) -> None:
        for number in _FORMAT_NUMBER.findall(spec or ""):
            if len(number) > 12 or int(number) > self.limits.memory_bytes:
                self.fail(ScriptBudgetExceeded(f"{what} wider than the memory budget", self.limits))
        self.charge(len(spec or ""))


def _inplace_ops() -> dict:
    import operator
    return {
        "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
        "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
        "^=": operator.ixor, ">>=": operator.irshift, "**=": operator.ipow, "<<=": operator.ilshift,
    }


_INPLACE = _inplace_ops()
