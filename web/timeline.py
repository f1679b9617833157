"""An instance's history as people read it: when, who, what, and the words they wrote.

No code reaches the page: events read by their label (``vocab.event_label``), answers by the
titles of the form of the version that ran (``vocab.decision_label``), people by their name and
unit (``people_of``), and what followed from a command by 系统.

    items = timeline_for(instance_view)             # the task, instance and portal pages
    items = timeline_of(events, forms=…, people=…)  # any list of events (the auditors' pages)
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

import config

from engine.clock import CHINA
from engine.models import RoleGrant, UserAccount
from web import vocab
from web.i18n import pick, term

# Routine bookkeeping a reader does not need to see (the replay's ``step`` and ``service_called``
# records too); an event type without a label in ``vocab.EVENTS`` is bookkeeping as well until it has one.
HIDDEN = {"task_opened", "notification_queued", "step", "service_called"}
TEXT_KEYS = ("reason", "comment", "opinion_text", "note", "amend_note")  # free text worth showing
LABELS = vocab.EVENTS  # kept for callers of the earlier name

FormLookup = Callable[[int], Mapping | None]  # task id -> the JSON Schema of its form


@dataclass(frozen=True)
class TimelineItem:
    seq: int
    at: dt.datetime
    actor: str  # who, as people read it (系统, 公众, a name and unit)
    type: str
    label: str
    detail: str


def people_of(usernames: Iterable[str]) -> dict[str, str]:
    """username -> “display name” or “display name（unit）”, for the accounts among ``usernames``.

    The unit (division and department, from the first grant) is added only when the display name
    does not already say it (“红花岗区工信局” does; a person's own name does not).
    """
    from web.extensions import engine

    wanted = sorted({u for u in usernames if u and not vocab.is_system(u) and not vocab.is_public(u)})
    if not wanted:
        return {}
    found: dict[str, str] = {}
    with engine().db.session() as session:
        rows = session.execute(select(UserAccount.username, UserAccount.display_name, RoleGrant.role, RoleGrant.scope)
                               .outerjoin(RoleGrant, RoleGrant.user_id == UserAccount.id)
                               .where(UserAccount.username.in_(wanted))
                               .order_by(UserAccount.username, RoleGrant.id)).all()
    for username, display, role, scope in rows:
        if username in found:
            continue
        found[username] = _with_unit(display or "", role, scope)
    return found


def person_name(username: str | None) -> str:
    """One person as pages show them (系统, 公众, name and unit; never the username). A template
    global: ``{{ person_name(row.imported_by) }}``. For a list, ``people_of`` once is cheaper."""
    return vocab.actor_label(username, people_of([username] if username else []))


def _with_unit(display: str, role: str | None, scope: str | None) -> str:
    if not role or role == "applicant":
        return display or pick("申报单位", "Applicant")
    role_zh = config.roles().get(role, {}).get("zh", "")
    place = vocab.place(scope)
    if display and (role_zh and role_zh in display or place and place in display):
        return display
    unit = " ".join(p for p in (place, vocab.role_label(role)) if p)
    return f"{display}（{unit}）" if display else unit


def _answers(data: Mapping, schema: Mapping | None) -> list[str]:
    """The answers of a completed form worth a line: required choices by their titles, and the free
    text people wrote (reasons, opinions, notes)."""
    parts: list[str] = []
    if schema:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        for key, prop in properties.items():
            if key not in data or data[key] in (None, ""):
                continue
            value = data[key]
            if key in required and vocab.choice_title(prop, value):
                parts.append(vocab.decision_label(value, prop))
            elif isinstance(value, str) and _is_free_text(key, prop):
                parts.append(value)
        return parts
    for key in vocab.OUTCOME_KEYS:
        if key in data:
            parts.append(vocab.decision_label(data[key]))
    parts += [str(data[k]) for k in TEXT_KEYS if isinstance(data.get(k), str) and data[k]]
    return parts


def _is_free_text(key: str, prop: Mapping) -> bool:
    """Text someone wrote (a reason, an opinion): a long text field, not a choice or a file."""
    if prop.get("oneOf") or prop.get("anyOf") or prop.get("enum") or prop.get("x-widget") == "file":
        return False
    return key in TEXT_KEYS or (prop.get("maxLength") or 0) > 200


def _detail(event: dict, forms: FormLookup | None, people: Mapping[str, str]) -> str:
    payload = event.get("payload") or {}
    parts: list[str] = []
    kind = event["type"]
    if kind == "task_completed":
        parts.append(term(payload.get("name", "")))
        schema = forms(payload.get("task_id")) if forms and payload.get("task_id") is not None else None
        parts += _answers(payload.get("data") or {}, schema)
    elif kind == "notice_opened" and payload.get("last_day"):
        parts.append(pick(f"至 {payload['last_day']}", f"until {payload['last_day']}"))
    for key in ("from", "to", "delegate", "owner"):
        value = payload.get(key)
        if value and kind in ("task_transferred", "task_delegated", "task_cc", "task_urged", "delegation_resolved"):
            names = value if isinstance(value, list) else [value]
            parts.append("、".join(vocab.actor_label(n, people) for n in names if isinstance(n, str)))
    for key in ("text", "note"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
    return " · ".join(p for p in parts if p)


def _people_in(events: list[dict]) -> set[str]:
    names: set[str] = set()
    for event in events:
        names.add(event.get("actor") or "")
        payload = event.get("payload") or {}
        for key in ("from", "to", "delegate", "owner"):
            value = payload.get(key)
            names.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return names


def _label(event: dict) -> str:
    if event["type"] == "instance_started" and vocab.is_system(event.get("actor")):
        return pick("按计划发起", "Started on schedule")  # an annual campaign, not someone's submission
    return vocab.event_label(event["type"])


# Answers sealed until an event: a panel expert's score shows once the whole panel has settled
# (第十八条, docs/expert-panel.md), so no expert reads another's score before giving their own.
SEALED_UNTIL = {"expert_score": "expert_panel_settled"}


def sealed_completions(events: list[dict]) -> set[int]:
    """Sequence numbers of completions whose answers are still sealed (also used by the API)."""
    waiting: dict[str, list[int]] = {}
    for event in events:
        if event["type"] == "task_completed" and event.get("bpmn_id") in SEALED_UNTIL:
            waiting.setdefault(SEALED_UNTIL[event["bpmn_id"]], []).append(event["seq"])
        elif event["type"] in waiting:
            del waiting[event["type"]]
    return {seq for seqs in waiting.values() for seq in seqs}


def timeline_of(events: list[dict], *, show_hidden: bool = False, forms: FormLookup | None = None,
                people: Mapping[str, str] | None = None) -> list[TimelineItem]:
    """The events as timeline items; ``people`` defaults to a lookup of every account they name."""
    sealed = sealed_completions(events)
    events = [{**e, "payload": {**(e.get("payload") or {}), "data": {}}} if e["seq"] in sealed else e
              for e in events]
    shown = [e for e in events if show_hidden or (e["type"] not in HIDDEN and e["type"] in vocab.EVENTS)]
    if people is None:
        people = people_of(_people_in(shown))
    items = []
    for event in shown:
        items.append(TimelineItem(seq=event["seq"], at=dt.datetime.fromisoformat(event["at"]).astimezone(CHINA),
                                  actor=vocab.event_actor_label(event["type"], event.get("actor"), people),
                                  type=event["type"], label=_label(event),
                                  detail=_detail(event, forms, people)))
    return items


def form_lookup(instance: Mapping[str, Any]) -> FormLookup:
    """Task id -> the schema of its form in the version the instance ran (``engine.form``)."""
    from web.extensions import engine

    forms = {t["id"]: t.get("form") for t in instance.get("tasks", [])}
    cache: dict[int, Mapping | None] = {}

    def lookup(task_id: int) -> Mapping | None:
        if task_id not in cache:
            name = forms.get(task_id)
            cache[task_id] = engine().form(instance["version"], name) if name else None
        return cache[task_id]

    return lookup


def timeline_for(instance: Mapping[str, Any], events: list[dict] | None = None) -> list[TimelineItem]:
    """The timeline of an instance view (``engine.instance``), or of some of its ``events``."""
    return timeline_of(list(instance["events"] if events is None else events), forms=form_lookup(instance))
