"""The access log (等保 2.0): sensitive reads and exports by auditors and officials.

Each entry says when, who (with the grants they held), what (``action``), from where (the source
address, behind ``GREENFLOW_TRUSTED_PROXIES`` the client's), on what (``object_ref``) and with
what result, plus a few details (filters, counts, the exported file's SHA-256, the user agent).
Entries are appended to a hash chain (``engine.evidence.logs``) that ``greenflow history verify
--all`` and every checkpoint cover, so an entry cannot be removed or changed unseen.

Pages call ``record_access`` after a sensitive read succeeds, and with ``result="denied"`` when
it is refused; the CLI calls ``record_cli_access``.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select

from engine.api import WorkflowEngine
from engine.clock import end_of_china_day, start_of_china_day
from engine.evidence.logs import append_access
from engine.evidence.models import AccessLogEntry
from engine.errors import EngineError
from engine.identity import Actor
from web.extensions import engine

RESULTS = ("ok", "denied", "failed")
# What each action is called on the auditors' page (others are shown as recorded).
ACTIONS = {
    "instance.view": ("查看流程实例", "Viewed an instance"),
    "instance.file": ("下载附件", "Downloaded a file"),
    "api.instance.view": ("接口读取流程实例", "Read an instance (API)"),
    "api.instance.events": ("接口读取流程历史", "Read an instance's history (API)"),
    "audit.verify": ("完整性校验", "Verified the histories"),
    "audit.checkpoint.create": ("生成检查点", "Took a checkpoint"),
    "audit.checkpoint.download": ("下载检查点", "Downloaded a checkpoint"),
    "audit.export": ("导出历史", "Exported histories"),
    "audit.access_log.view": ("查看访问日志", "Viewed the access log"),
    "audit.personal_data_right": ("授予或收回个人信息查阅权限", "Granted or revoked the personal-data right"),
    "audit.page": ("访问审计页面", "Opened an audit page"),
    # the step-through replay pages and API (issue 13, web/blueprints/audit.py, web/api/audit_replay.py)
    "audit.view_instance": ("逐步查看流程实例", "Stepped through an instance"),
    "api.audit.steps": ("接口读取流程步骤", "Read an instance's steps (API)"),
    "audit.replay": ("重新执行核验", "Re-executed against the record"),
    "audit.api": ("使用审计接口", "Used the audit API"),
}


def _grants(actor: Actor | None) -> str:
    return ",".join(f"{role}@{scope}" for role, scope in sorted(actor.grants)) if actor else ""


def _requester() -> tuple[str, Actor | None]:
    caller = g.get("api_caller")
    if caller is not None:
        return caller.actor.username, caller.actor
    if current_user and current_user.is_authenticated:
        return current_user.actor.username, current_user.actor
    return "anonymous", None


def record_access(action: str, object_ref: str, *, result: str = "ok", detail: dict | None = None) -> None:
    """Record that the current user did ``action`` (e.g. ``audit.view_instance``) on ``object_ref``
    (e.g. ``instance:17``) with ``result``; the time, user and source address come from the request."""
    username, actor = _requester() if has_request_context() else ("system", None)
    details = dict(detail or {})
    address = ""
    if has_request_context():
        address = request.remote_addr or ""
        details.setdefault("user_agent", (request.user_agent.string or "")[:200])
        details.setdefault("path", request.path[:200])
    _append(engine(), username=username, actor=actor, action=action, object_ref=object_ref, result=result,
            address=address, detail=details)


def record_cli_access(eng: WorkflowEngine, username: str, action: str, object_ref: str, *, result: str = "ok",
                      detail: dict | None = None) -> None:
    """The same for a command run from the shell: the user named with ``--as`` (or the OS account)."""
    try:
        actor = eng.actor(username)
    except EngineError:  # an operator's name that is no account is still recorded as given
        actor = None
    _append(eng, username=username, actor=actor, action=action, object_ref=object_ref, result=result,
            address="cli", detail=detail or {})


def _append(eng: WorkflowEngine, *, username: str, actor: Actor | None, action: str, object_ref: str, result: str,
            address: str, detail: dict) -> None:
    with eng.db.unit_of_work() as session:
        append_access(session, at=eng.clock.now(), username=username, roles=_grants(actor), action=action,
                      object_ref=object_ref, result=result, address=address, detail=detail)


# --- reading it (the auditors' page and the API) ---------------------------------------------------

@dataclass(frozen=True)
class AccessQuery:
    username: str | None = None
    action: str | None = None
    result: str | None = None
    since: dt.date | None = None  # China dates, inclusive
    until: dt.date | None = None
    page: int = 1
    per_page: int = 50




def access_page(eng: WorkflowEngine, query: AccessQuery) -> tuple[list[dict], int]:
    """One page of the access log, newest first, and how many entries match."""
    conditions = []
    if query.username:
        conditions.append(AccessLogEntry.username == query.username)
    if query.action:
        conditions.append(AccessLogEntry.action == query.action)
    if query.result:
        conditions.append(AccessLogEntry.result == query.result)
    if query.since:
        conditions.append(AccessLogEntry.at >= start_of_china_day(query.since))
    if query.until:
        conditions.append(AccessLogEntry.at < end_of_china_day(query.until))
    with eng.db.session() as session:
        total = session.scalar(select(func.count()).select_from(AccessLogEntry).where(*conditions)) or 0
        rows = session.scalars(select(AccessLogEntry).where(*conditions).order_by(AccessLogEntry.seq.desc())
                               .offset((query.page - 1) * query.per_page).limit(query.per_page)).all()
        return [entry_view(row) for row in rows], total


def entry_view(row: AccessLogEntry) -> dict:
    return {"seq": row.seq, "at": row.at, "username": row.username, "roles": row.roles, "action": row.action,
            "action_zh": ACTIONS.get(row.action, (row.action,))[0], "object": row.object_ref, "result": row.result,
            "address": row.address, "detail": json.loads(row.detail), "hash": row.hash}
