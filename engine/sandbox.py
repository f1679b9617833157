"""Scripts and expressions from diagrams run here, and nowhere else.

RestrictedPython compiles them (no names or attributes starting with ``_``, guarded
attribute access); on top of it we refuse ``import`` outright, and the builtins are a
short whitelist plus the functions registered with ``@script_function``. Compiled code is
cached by source text, which also makes repeated conditions cheap.
"""
from __future__ import annotations

import ast
import functools
import json
import operator
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


def _inplace(op: str, x: Any, y: Any) -> Any:
    return {
        "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
        "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
    }[op](x, y)


def _write(obj: Any) -> Any:
    # Task data is plain dicts and lists; writing into them is what scripts are for.
    if isinstance(obj, (dict, list)):
        return obj
    return full_write_guard(obj)


GUARDS = {
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write,
    "_inplacevar_": _inplace,
}


@functools.lru_cache(maxsize=4096)
def compile_source(source: str, mode: str):
    """Compile ``source`` ('exec' for scripts, 'eval' for expressions) or raise ScriptRefused."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ScriptRefused(f"syntax error: {err.msg}", ("<script>", err.lineno, err.offset, err.text)) from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ScriptRefused("import is not allowed in diagram scripts", ("<script>", node.lineno, 0, None))
    try:
        return compile_restricted(source, filename="<script>", mode=mode)
    except SyntaxError as err:
        messages = err.msg if isinstance(err.msg, tuple) else (err.msg,)
        line = err.lineno
        found = re.match(r"Line (\d+): ", messages[0])
        if found:
            line = int(found.group(1))
        text = "; ".join(re.sub(r"^Line \d+: ", "", m) for m in messages)
        raise ScriptRefused(text, ("<script>", line, err.offset, err.text)) from None


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
        code = compile_source(expression.strip(), "eval")
        scope = dict(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        return eval(code, scope)

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        code = compile_source(script, "exec")
        scope = dict(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        exec(code, scope)
        for key in list(context):
            if key not in scope:
                del context[key]  # the script deleted it
        for key, value in scope.items():
            if key in self.globals or key.startswith("_") or callable(value):
                continue
            if external_context and key in external_context:
                continue
            context[key] = value
        return True

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
