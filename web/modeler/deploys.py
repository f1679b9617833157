"""The one deploy the modeler, the REST API, the upload page and ``greenflow deploy`` share:
deploy's checks plus bpmnlint, then a new version (or a no-op), or every problem and nothing stored.

Problems are answered as ``{"file", "element_id", "line", "message", "severity"}``; an engine
problem and a lint error are errors, a lint warning (also "bpmnlint unavailable") a warning.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from engine.api import DeployResult, WorkflowEngine
from engine.errors import DeployError, DeployProblem
from web.modeler.lint import Linter, LintProblem, as_checks


class Refused(Exception):
    """The bundle was refused; ``problems`` are the JSON problems (errors first, then warnings)."""

    def __init__(self, problems: list[dict]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True)
class Deployed:
    result: DeployResult
    warnings: list[dict]


def problem_dict(problem: DeployProblem, severity: str = "error") -> dict:
    return {"file": problem.file, "element_id": problem.element, "line": problem.line, "message": problem.message,
            "severity": severity}


def _warnings(sink: list[LintProblem]) -> list[dict]:
    return [p.as_dict() for p in sink if p.severity != "error"]


def linter() -> Linter:
    return Linter.from_config(current_app.config)


def deploy(eng: WorkflowEngine, files: dict[str, bytes], *, deployed_by: str, note: str | None, source: str,
           overlay: bool) -> Deployed:
    """Deploy (``overlay``: over the newest bundle); Refused with every problem if anything is wrong."""
    sink: list[LintProblem] = []
    try:
        result = eng.deploy_files(files, deployed_by=deployed_by, note=note, source=source, overlay=overlay,
                                  checks=as_checks(linter(), sink))
    except DeployError as err:
        raise Refused([problem_dict(p) for p in err.problems] + _warnings(sink)) from None
    return Deployed(result, _warnings(sink))


def validate(eng: WorkflowEngine, files: dict[str, bytes], *, overlay: bool) -> list[dict]:
    """Every problem deploy would find (and lint warnings), storing nothing; [] when it would deploy."""
    sink: list[LintProblem] = []
    try:
        eng.check_files(files, overlay=overlay, checks=as_checks(linter(), sink))
    except DeployError as err:
        return [problem_dict(p) for p in err.problems] + _warnings(sink)
    return _warnings(sink)


def process_rows(eng: WorkflowEngine, result: DeployResult) -> list[dict]:
    """[{key, name, version, changed}] for every executable process of the deployed bundle."""
    names = eng.process_names()
    changed = set(result.changed)
    return [{"key": pid, "name": names.get(pid, pid), "version": result.versions.get(pid), "changed": pid in changed}
            for pid in sorted(result.processes)]
