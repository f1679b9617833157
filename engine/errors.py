"""The typed errors of the engine.

Every error a caller can cause is an ``EngineError``; ``web/errors.py`` and the CLI turn
them into 4xx responses or exit codes.  Anything else escaping a command is a bug in a
diagram or in the platform, and becomes an *incident* (see ``engine.incidents``).
"""
from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    code = "engine_error"
    http_status = 400
    # True for errors that mean "the platform lacks something", not "the caller erred":
    # raised inside a workflow they become incidents even when a person acted.
    becomes_incident = False

    def __init__(self, message: str, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message, "fields": self.fields}


class InvalidInput(EngineError):
    """Bad input from the caller; ``fields`` names what is wrong."""

    code = "invalid_input"
    http_status = 422

    def __init__(self, message: str, *, field: str | None = None, fields: dict[str, str] | None = None):
        merged = dict(fields or {})
        if field:
            merged.setdefault(field, message)
        super().__init__(message, fields=merged)
        self.field = field


class InvalidText(InvalidInput):
    """Input that is not valid Unicode text (a lone surrogate, a control character) or not JSON.

    400, not 422: the request itself is malformed, whatever the form says (``engine.text``).
    """

    code = "invalid_text"
    http_status = 400


class RuleViolation(InvalidInput):
    """Input that breaks a rule of the regulation; ``article`` cites it (e.g. 第五条)."""

    code = "rule_violation"

    def __init__(self, message: str, *, article: str, field: str | None = None):
        super().__init__(message, field=field)
        self.article = article

    def to_dict(self) -> dict:
        return {**super().to_dict(), "article": self.article}


class NotAuthenticated(EngineError):
    code = "not_authenticated"
    http_status = 401


class NotPermitted(EngineError):
    code = "forbidden"
    http_status = 403


class NotFound(EngineError):
    code = "not_found"
    http_status = 404


class Conflict(EngineError):
    """The state changed under the caller (task already completed, stale row version)."""

    code = "conflict"
    http_status = 409


class StaleVersion(Conflict):
    code = "stale_version"


class DeployError(EngineError):
    """A bundle was refused; ``problems`` lists every fault with file, element and line."""

    code = "deploy_refused"
    http_status = 422

    def __init__(self, problems: list["DeployProblem"]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"deployment refused, {len(problems)} problem(s):\n{lines}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problems": [p.__dict__ for p in self.problems]}


class DeployProblem:
    def __init__(self, file: str, message: str, *, element: str | None = None, line: int | None = None):
        self.file = file
        self.element = element
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" [{self.element}]"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"DeployProblem({self})"


class CalendarYearMissing(EngineError):
    """A date falls in a year whose working-day calendar is not loaded: never guess.

    Raised inside a workflow (a timer or due date) it always becomes an incident, so an
    operator loads the year (``greenflow calendar import``) and retries.
    """

    code = "calendar_year_missing"
    http_status = 409
    becomes_incident = True

    def __init__(self, year: int):
        super().__init__(f"calendar for {year} not loaded / {year}年工作日历尚未导入", fields={"year": str(year)})
        self.year = year


class PayloadTooLarge(EngineError):
    code = "payload_too_large"
    http_status = 413
