"""Scripts and expressions from diagrams run here, and nowhere else.

RestrictedPython compiles them (no names or attributes starting with ``_``, guarded
attribute access); on top of it we refuse ``import`` outright, and the builtins are a
short whitelist plus the functions registered with ``@script_function``. Compiled code is
cached by source text, which also makes repeated conditions cheap.

Every evaluation runs within a CPU-time and memory budget (``engine.script_budget``): the
compiler policy (``engine.script_policy``) routes loops, calls and every operation that can
grow a value through a per-evaluation meter. Code with nothing to meter (most conditions)
runs as it is, at no extra cost.
"""
from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass
import re
from typing import Any

from RestrictedPython import compile_restricted, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from engine import services
from engine.script_budget import ScriptBudgetExceeded, current_limits
from engine.script_calls import ScriptMeter
from engine.script_policy import METER, BudgetPolicy

ALLOWED_BUILTINS = {
    name: getattr(__builtins__, name, None) if not isinstance(__builtins__, dict) else __builtins__[name]
    for name in (
        "len", "min", "max", "sum", "any", "all", "sorted", "round", "abs", "int", "float", "str",
        "bool", "list", "dict", "set", "tuple", "range", "enumerate", "zip", "isinstance", "reversed",
    )
}
ALLOWED_BUILTINS.update({k: v for k, v in safe_builtins.items() if k in ("True", "False", "None")})


class ScriptRefused(SyntaxError):
    """A script or expression that may not run here (import, dunder access, syntax)."""


def _write(obj: Any) -> Any:
    # Task data is plain dicts and lists; writing into them is what scripts are for.
    if isinstance(obj, (dict, list)):
        return obj
    return full_write_guard(obj)


GUARDS = {
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write,
}
# Names through which compiled code reaches the evaluation's meter; bound per evaluation.
METERED_NAMES = frozenset({METER, "_getattr_", "_getiter_", "_inplacevar_"})


@dataclass(frozen=True)
class Compiled:
    code: Any
    metered: bool  # does the code call the meter at all?


def _names(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


@functools.lru_cache(maxsize=4096)
def compile_source(source: str, mode: str) -> Compiled:
    """Compile ``source`` ('exec' for scripts, 'eval' for expressions) or raise ScriptRefused."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ScriptRefused(f"syntax error: {err.msg}", ("<script>", err.lineno, err.offset, err.text)) from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ScriptRefused("import is not allowed in diagram scripts", ("<script>", node.lineno, 0, None))
    try:
        code = compile_restricted(source, filename="<script>", mode=mode, policy=BudgetPolicy)
    except SyntaxError as err:
        messages = err.msg if isinstance(err.msg, tuple) else (err.msg,)
        line = err.lineno
        found = re.match(r"Line (\d+): ", messages[0])
        if found:
            line = int(found.group(1))
        text = "; ".join(re.sub(r"^Line \d+: ", "", m) for m in messages)
        raise ScriptRefused(text, ("<script>", line, err.offset, err.text)) from None
    return Compiled(code, bool(_names(code) & METERED_NAMES))


def _scope(base: dict[str, Any], compiled: Compiled) -> tuple[dict[str, Any], ScriptMeter | None]:
    """A fresh scope for one evaluation, with a meter bound in if the code uses one."""
    scope = dict(base)
    if not compiled.metered:
        return scope, None
    meter = ScriptMeter(current_limits.get())
    scope[METER] = meter
    scope["_getattr_"] = meter.getattr
    scope["_getiter_"] = meter.iterate
    scope["_inplacevar_"] = meter.inplace
    return scope, meter


def _settle(meter: ScriptMeter | None) -> None:
    """A budget the script swallowed (``except:``) still ends the evaluation."""
    if meter is not None and meter.failure is not None:
        raise meter.failure


def base_globals() -> dict[str, Any]:
    return {"__builtins__": ALLOWED_BUILTINS, **GUARDS, **services.script_functions()}


class SandboxEnvironment(TaskDataEnvironment):
    """Evaluates in task data with restricted builtins; service calls go to the registry."""

    def __init__(self):
        super().__init__(base_globals())

    def refresh(self) -> None:
        """Pick up script functions registered after construction."""
        self.globals = base_globals()

    def evaluate(self, expression, context, external_context=None):
        compiled = compile_source(expression.strip(), "eval")
        scope, meter = _scope(self.globals, compiled)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        result = eval(compiled.code, scope)
        _settle(meter)
        return result

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        compiled = compile_source(script, "exec")
        scope, meter = _scope(self.globals, compiled)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        exec(compiled.code, scope)
        _settle(meter)
        self.write_back(scope, context, external_context)
        return True

    def write_back(self, scope: dict, context: dict, external_context: dict | None) -> None:
        """Task data after a script: what it deleted goes, what it assigned (data, not functions) stays."""
        for key in list(context):
            if key not in scope:
                del context[key]  # the script deleted it
        for key, value in scope.items():
            if key in self.globals or key.startswith("_") or callable(value):
                continue
            if external_context and key in external_context:
                continue
            context[key] = value

    def call_service(self, context, operation_name=None, operation_params=None, **_):
        fn = services.get_service(operation_name)
        if fn is None:
            raise LookupError(f"no service task registered as {operation_name!r}")
        ctx = services.current_context.get()
        if ctx is None:
            raise RuntimeError(f"service {operation_name!r} called outside a command")
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(fn(ctx, **params), ensure_ascii=False, default=str)


class SandboxScriptEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=SandboxEnvironment())

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptBudgetExceeded as err:
            raise _over_budget(task, err) from err
        except WorkflowTaskException:
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{expression}'", task=task, exception=err)

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ScriptBudgetExceeded as err:
            raise _over_budget(task, err) from err
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err)

    def call_service(self, task, **kwargs):
        # The library's version masks errors with a NameError (see SPIFFWORKFLOW-NOTES §3).
        try:
            return self.environment.call_service(task.data, **kwargs)
        except WorkflowTaskException:
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"service task {kwargs.get('operation_name')!r} failed: {type(err).__name__}: {err}",
                task=task,
                exception=err,
            ) from err


def _over_budget(task, err: ScriptBudgetExceeded) -> WorkflowTaskException:
    """The incident names the process, the element and the budget."""
    process = getattr(task.workflow.spec, "name", "?")
    element = task.task_spec.bpmn_id or task.task_spec.name
    return WorkflowTaskException(f"{err} in process {process!r}, element {element!r}", task=task, exception=err)
