"""Benchmark: what the script budget costs per evaluation, on the shipped diagrams' own scripts.

Records every script, condition and expression that the province-level lifecycle of
``bench/engine.py`` evaluates (with the task data each one saw), then replays each recorded
evaluation many times two ways:

- before: RestrictedPython's plain compile and the sandbox as it was before the budget
  (no meter, ``iter`` as ``_getiter_``);
- budgeted: ``engine.sandbox.SandboxEnvironment`` as it runs now (the metering policy and,
  for code that needs one, a per-evaluation meter).

Prints the mean time per evaluation of each, their ratio (target < 2×), how many of the
recorded sources are metered at all, and the time of a metered loop for scale.

Usage: python bench/scripts.py [--repeat N]
"""
from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from RestrictedPython import compile_restricted  # noqa: E402

from bench import engine as lifecycle  # noqa: E402
from engine import calendar, sandbox  # noqa: E402
from engine.clock import FrozenClock, use_clock  # noqa: E402

OLD_GUARDS = {**sandbox.GUARDS, "_getiter_": iter, "_getattr_": sandbox.safer_getattr,
              "_inplacevar_": lambda op, x, y: {"+=": x.__add__, "-=": x.__sub__}[op](y)}


@functools.lru_cache(maxsize=4096)
def _old_compile(source: str, mode: str):
    return compile_restricted(source, filename="<script>", mode=mode)


class BeforeBudgetEnvironment(sandbox.SandboxEnvironment):
    """The sandbox's evaluate/execute as they were before the budget (commit 940fa9e)."""

    def __init__(self):
        super().__init__()
        self.globals.update(OLD_GUARDS)

    def evaluate(self, expression, context, external_context=None):
        code = _old_compile(expression.strip(), "eval")
        scope = dict(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        return eval(code, scope)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = _old_compile(script, "exec")
        scope = dict(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        exec(code, scope)
        self.write_back(scope, context, external_context)
        return True


def record() -> list[tuple[str, str, dict, dict | None]]:
    """Every evaluation of one lifecycle: (mode, source, task data, external context)."""
    seen: list[tuple[str, str, dict, dict | None]] = []
    env_class = sandbox.SandboxEnvironment
    real_evaluate, real_execute = env_class.evaluate, env_class.execute

    def evaluate(self, expression, context, external_context=None):
        seen.append(("eval", expression, _copy(context), _copy(external_context)))
        return real_evaluate(self, expression, context, external_context)

    def execute(self, script, context, external_context=None):
        seen.append(("exec", script, _copy(context), _copy(external_context)))
        return real_execute(self, script, context, external_context)

    env_class.evaluate, env_class.execute = evaluate, execute
    try:
        lifecycle.run_raw(1)
    finally:
        env_class.evaluate, env_class.execute = real_evaluate, real_execute
    return seen


def _copy(value):
    import copy
    return copy.deepcopy(value) if value is not None else None


def _time(fn, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    evaluations = record()
    with use_clock(FrozenClock(lifecycle.START)), calendar.use_calendar(calendar.shipped_calendar()):
        replay(evaluations, args.repeat)


def replay(evaluations, repeat: int) -> None:
    env = sandbox.SandboxEnvironment()
    before_env = BeforeBudgetEnvironment()
    before = budgeted = 0.0
    metered = set()
    for mode, source, context, external in evaluations:
        if mode == "eval":
            old = functools.partial(before_env.evaluate, source, context, external)
            new = functools.partial(env.evaluate, source, context, external)
        else:
            old = lambda s=source, c=context, e=external: before_env.execute(s, dict(c), e)  # noqa: E731
            new = lambda s=source, c=context, e=external: env.execute(s, dict(c), e)  # noqa: E731
        old(), new()  # warm the compile caches
        before += _time(old, repeat)
        budgeted += _time(new, repeat)
        if sandbox.compile_source(source.strip() if mode == "eval" else source, mode).metered:
            metered.add(source)
    count = len(evaluations)
    loop = _time(lambda: env.execute("n = 0\nfor i in range(1000):\n    n += i", {}), 200)
    sources = {source for _, source, _, _ in evaluations}
    print(f"evaluations recorded in one province lifecycle: {count} ({len(sources)} distinct sources, "
          f"{len(metered)} of them metered)")
    print(f"mean per evaluation, before the budget: {before / count * 1e6:8.2f} µs")
    print(f"mean per evaluation, budgeted:          {budgeted / count * 1e6:8.2f} µs")
    print(f"ratio budgeted / before:                {budgeted / before:8.2f}×  (target < 2×)")
    print(f"a metered 1,000-round loop:             {loop * 1e6:8.1f} µs")


if __name__ == "__main__":
    main()
