"""What the auditors' pages, the API and the CLI share for tamper evidence and exports (issue 14):
the signing key from the settings, verification, checkpoints and their statements, export filters
read from a request or the command line, and the right to see personal data.

Who may: auditors (``AUDITOR_ROLES``); exports show personal data unmasked only to a user who
also holds the ``personal_data`` right (config/roles.toml) and asks for it.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import IO, Mapping

from flask import current_app

import config as _config
from engine.api import WorkflowEngine
from engine.clock import CHINA
from engine.errors import EngineError, InvalidInput
from engine.evidence import checkpoints, statement
from engine.evidence.checkpoints import Checkpoint
from engine.evidence.verify import Report, verify_all
from engine.exports import FORMATS, ExportFilter, ExportSummary, export
from engine.identity import Actor
from engine.models import INSTANCE_STATUSES
from handlers.audit_objects import DOMAIN

AUDITOR_ROLES = ("auditor",)
PERSONAL_DATA_RIGHT = "personal_data"
KEY_FILE = "audit-signing-key.pem"
FILTER_FIELDS = ("process_id", "status", "since", "until")


def is_auditor(actor: Actor) -> bool:
    return any(actor.has_role(role) for role in AUDITOR_ROLES)


def may_unmask(actor: Actor) -> bool:
    return actor.has_role(PERSONAL_DATA_RIGHT)


def settings() -> _config.Settings:
    return current_app.config["GREENFLOW"]


def key_path(settings_: _config.Settings | None = None) -> Path:
    """Where the signing key lives: ``GREENFLOW_AUDIT_SIGNING_KEY``, else the app's instance folder."""
    configured = (settings_ or settings()).audit_signing_key
    return Path(configured) if configured else Path(current_app.instance_path) / KEY_FILE


def signing_key(settings_: _config.Settings | None = None) -> statement.SigningKey | None:
    """This system's signing key, or None when it was never made. Web requests never make one: one
    key per deployment, made by ``greenflow init`` (several web processes must not make their own)."""
    return statement.load_key(key_path(settings_))


class NoSigningKey(EngineError):
    """The system has no checkpoint signing key yet (a state to fix, not the caller's mistake)."""

    code = "no_signing_key"
    http_status = 409


def require_signing_key(settings_: _config.Settings | None = None) -> statement.SigningKey:
    """The signing key; NoSigningKey (409) naming the file and the fix when there is none."""
    key = signing_key(settings_)
    if key is None:
        path = key_path(settings_)
        raise NoSigningKey(f"本系统尚无检查点签名密钥（{path}），请运行 greenflow init / "
                       f"no checkpoint signing key at {path}: run greenflow init")
    return key


def verify(eng: WorkflowEngine, *, statement_bytes: bytes | None = None,
           settings_: _config.Settings | None = None) -> Report:
    """Verify everything; against the statement in ``statement_bytes`` when given (InvalidInput if it is none)."""
    kept = statement.parse(statement_bytes) if statement_bytes is not None else None
    key = signing_key(settings_)
    return verify_all(eng.db, now=eng.clock.now(), statement=kept, expected_key=key.fingerprint if key else None)


def take_checkpoint(eng: WorkflowEngine, *, by: str) -> Checkpoint:
    return checkpoints.create(eng.db, by=by, now=eng.clock.now())


def statement_of(eng: WorkflowEngine, checkpoint_id: int, settings_: _config.Settings | None = None) -> str:
    """The signed statement of a stored checkpoint (NotFound if there is none)."""
    with eng.db.session() as session:
        point = checkpoints.get(session, checkpoint_id)
    return statement.render(point, require_signing_key(settings_))


def statement_filename(checkpoint_id: int) -> str:
    return f"greenflow-checkpoint-{checkpoint_id}.txt"


# --- exports ------------------------------------------------------------------------------------

def parse_date(args: Mapping[str, str], name: str) -> dt.date | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD", field=name) from None


def export_format(value: str | None) -> str:
    if value not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", field="format")
    return value


def parse_filter(args: Mapping[str, str]) -> ExportFilter:
    """An export filter from a query string or options; InvalidInput naming the field."""
    process_id = (args.get("process_id") or "").strip() or None
    if process_id is not None and len(process_id) > 120:
        raise InvalidInput("process_id is longer than 120 characters", field="process_id")
    status = (args.get("status") or "").strip() or None
    if status is not None and status not in INSTANCE_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(INSTANCE_STATUSES)}", field="status")
    return ExportFilter(process_id=process_id, status=status, since=parse_date(args, "since"), until=parse_date(args, "until"))


def export_to_file(eng: WorkflowEngine, fmt: str, flt: ExportFilter, *, unmasked: bool) -> tuple[IO[bytes], ExportSummary]:
    """The export written to a temporary file (rewound; deleted when closed) and what it holds."""
    spool = tempfile.TemporaryFile(prefix="greenflow-export-")
    summary = export(eng.db, fmt, spool, flt=flt, domain=DOMAIN, unmasked=unmasked,
                     process_names=eng.process_names(), now=eng.clock.now())
    spool.seek(0)
    return spool, summary


def export_filename(fmt: str, now: dt.datetime) -> str:
    return f"greenflow-{now.astimezone(CHINA):%Y%m%d-%H%M%S}{FORMATS[fmt][1]}"


def export_detail(fmt: str, flt: ExportFilter, summary: ExportSummary) -> dict:
    """What the access log keeps of an export: the filter, the counts and the file's SHA-256."""
    return {"format": fmt, "filter": flt.to_dict(), "masked": summary.masked, "cases": summary.cases,
            "events": summary.events, "bytes": summary.bytes, "sha256": summary.sha256}
