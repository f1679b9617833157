"""What the API returns: plain JSON-ready dicts, dates as ISO 8601 with their offset.

An applicant or its evaluator (a caller with no official role) reads its applications, but not what
others said about it in confidence: who objected during the public notice (第二十条: the
objector's name, ID number, organisation and contact) and the officials' internal working
notes (comments, CC, transfer and delegation notes, drafts, urging).
"""
from __future__ import annotations

from typing import Any

from engine.clock import isoformat_utc
from engine.commands import Outcome
from engine.identity import Actor
from engine.inbox import InboxPage, InboxRow

# Roles outside the administration: the applicant, and the evaluation firm it engaged.
PARTY_ROLES = frozenset({"applicant", "evaluator"})
# Events whose payload is the officials' internal working (or an operator's incident note), hidden from parties.
INTERNAL_EVENTS = frozenset({"comment_added", "task_cc", "task_delegated", "delegation_resolved",
                             "task_transferred", "task_urged", "incident_resolved", "incident_dismissed",
                             # the audit trail (engine.replay.recording): data changes, addresses, service results
                             "step", "service_called"})
# A public objection (第二十条) sits in the workflow data under this key (also inside ``objections``);
# the applicant may read what was objected, not who objected.
OBJECTION_KEY = "objection"
OBJECTOR_FIELDS = frozenset({"name", "id_number", "organisation", "contact"})


iso = isoformat_utc


def outcome_view(outcome: Outcome) -> dict[str, Any]:
    """The answer to every command: where the instance stands now, and what the command did."""
    return {"instance_id": outcome.instance_id, "status": outcome.status, "row_version": outcome.row_version,
            "result": outcome.result}


def is_party(actor: Actor) -> bool:
    """True for callers holding only party roles, or none (an applicant reading its own application)."""
    return all(role in PARTY_ROLES for role, _ in actor.grants)


def events_for(actor: Actor, events: list[dict]) -> list[dict]:
    """The history as ``actor`` may read it: parties see others' internal notes and messages as bare events."""
    if not is_party(actor):
        return events
    return [_bare(event) if _hidden_from_party(actor, event) else event for event in events]


def _hidden_from_party(actor: Actor, event: dict) -> bool:
    if event["actor"] == actor.username:
        return False
    return event["type"] in INTERNAL_EVENTS or event["type"] == "message_received"


def _bare(event: dict) -> dict:
    payload = event.get("payload") or {}
    kept = {key: payload[key] for key in ("task_id", "name", "delivered") if key in payload}
    return {**event, "payload": kept, "redacted": True}


# What a panel expert answered, kept out of the data while the panel still scores (第十八条, docs/expert-panel.md).
SEALED_DATA_KEYS = ("panel_review", "panel_round_reviews")


def _sealed(view: dict) -> dict:
    """The view with sealed answers (web.timeline.SEALED_UNTIL) emptied, for every reader."""
    from web.timeline import sealed_completions

    sealed = sealed_completions(view["events"])
    if not sealed:
        return view
    events = [{**e, "payload": {**(e.get("payload") or {}), "data": {}}} if e["seq"] in sealed else e
              for e in view["events"]]
    data = {k: v for k, v in (view.get("data") or {}).items() if k not in SEALED_DATA_KEYS}
    return {**view, "events": events, "data": data}


def instance_for(actor: Actor, view: dict) -> dict:
    """The engine's instance view as ``actor`` may read it (see the module docstring)."""
    view = _sealed(view)
    view = {**view, "events": events_for(actor, view["events"])}
    if is_party(actor):
        view["data"] = _without_objectors(view["data"])
        view["tasks"] = [{**task, "draft": None} for task in view["tasks"]]
    return view


def _without_objectors(value: Any) -> Any:
    """``value`` with the objector's identity removed from every objection in it (at any depth)."""
    if isinstance(value, list):
        return [_without_objectors(item) for item in value]
    if not isinstance(value, dict):
        return value
    cleaned = {}
    for key, item in value.items():
        if key == OBJECTION_KEY and isinstance(item, dict):
            item = {k: v for k, v in item.items() if k not in OBJECTOR_FIELDS}
        cleaned[key] = _without_objectors(item)
    return cleaned


def task_for(actor: Actor, task: dict) -> dict:
    return {**task, "draft": None} if is_party(actor) else task


def inbox_item(row: InboxRow) -> dict[str, Any]:
    return {"id": row.task_id, "instance_id": row.instance_id, "name": row.name, "role": row.role,
            "scope": row.scope, "status": row.status, "assignee": row.assignee, "owner": row.owner,
            "created_at": iso(row.created_at), "due_at": iso(row.due_at), "completed_at": iso(row.completed_at),
            "outcome": row.outcome, "urge_count": row.urge_count, "form": row.form, "version": row.version_id,
            "process_id": row.process_id, "title": row.title, "summary": row.summary}


def inbox_view(page: InboxPage) -> dict[str, Any]:
    return {"tab": page.query.tab, "items": [inbox_item(row) for row in page.rows], "counts": page.counts,
            "total": page.total, "page": page.query.page, "per_page": page.query.per_page, "pages": page.pages}
