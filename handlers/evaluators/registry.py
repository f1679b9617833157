"""The evaluator registry (``evaluator_registry``, 第十五条): register or update an evaluator."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import InvalidInput
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.evaluators._common import _date, _evaluator_id, _history, _text
from handlers.evaluators._models import ARTICLE_31, EvaluatorRepresentative
from handlers.records import Evaluator


@start_hook("evaluator_registry")
def start_evaluator_registry(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Normalise the registry form into ``registration``; raises InvalidInput naming the field."""
    evaluator_id = _evaluator_id(data.get("evaluator_id"))
    registration = {
        "evaluator_id": evaluator_id,
        "name": _text(data, "name", limit=200, label="机构名称"),
        "legal_representative": _text(data, "legal_representative", limit=100, label="法定代表人"),
        "national_qualified": bool(data.get("national_qualified", False)),
        "effective_on": str(data["effective_on"]) if data.get("effective_on") else None,
        "note": _text(data, "note", limit=2000, required=False),
    }
    if registration["effective_on"]:
        _date(registration["effective_on"], field="effective_on")
    existing = session.get(Evaluator, evaluator_id)
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"registration": registration},
        title=f"{'变更' if existing else '登记'}第三方评价机构 {evaluator_id} {registration['name']}",
        business_key=f"evaluator:{evaluator_id}",
        summary={"evaluator_id": evaluator_id, "evaluator_name": registration["name"],
                 "legal_representative": registration["legal_representative"]},
    )


@service_task("register_evaluator")
def register_evaluator(ctx: ServiceContext, *, registration: Mapping[str, Any]) -> dict[str, Any]:
    """Register a new evaluator or update one; a new legal representative starts a new history row.

    ``effective_on`` (China date, default today) is the day the new representative took office;
    it may lie in the past (a late registration moves the applications submitted since then to
    the new representative's quota, 第三十一条) but not in the future, and not on or before the
    day the current representative took office. Returns ``{"evaluator_id", "created",
    "representative_changed", "legal_representative", "previous_representative", "effective_on"}``.
    Raises InvalidInput naming the field.
    """
    values = dict(registration or {})
    evaluator_id = _evaluator_id(values.get("evaluator_id"))
    name = _text(values, "name", limit=200, label="机构名称")
    representative = _text(values, "legal_representative", limit=100, label="法定代表人")
    qualified = bool(values.get("national_qualified", False))
    note = _text(values, "note", limit=2000, required=False)
    now = ctx.clock.now()
    today = china_date(now)
    effective = _date(values["effective_on"], field="effective_on") if values.get("effective_on") else today
    if effective > today:
        raise InvalidInput(f"生效日期 {effective} 晚于今天 / effective_on {effective} is in the future",
                           field="effective_on")
    evaluator = ctx.session.get(Evaluator, evaluator_id)
    created = evaluator is None
    previous = None if created else evaluator.legal_representative
    changed = not created and previous != representative
    rows = _history(ctx.session, [evaluator_id])[evaluator_id]
    open_rows = [r for r in rows if r.valid_to is None]
    if created:
        evaluator = Evaluator(id=evaluator_id, name=name, legal_representative=representative,
                              national_qualified=qualified)
        ctx.session.add(evaluator)
        ctx.session.flush()
        ctx.session.add(EvaluatorRepresentative(
            evaluator_id=evaluator_id, legal_representative=representative, valid_from=effective, valid_to=None,
            recorded_by=ctx.actor, recorded_at=now, instance_id=ctx.instance_id, note=note))
    elif changed:
        current = open_rows[-1] if open_rows else None
        if current is not None and current.valid_from is not None and effective <= current.valid_from:
            raise InvalidInput(
                f"生效日期 {effective} 不晚于现任法定代表人{current.legal_representative}的任职起始日 "
                f"{current.valid_from}（{ARTICLE_31}按法定代表人计数） / effective_on must be after "
                f"{current.valid_from}, when the current representative took office", field="effective_on")
        if current is None:  # first change of an evaluator registered before the history existed
            current = EvaluatorRepresentative(
                evaluator_id=evaluator_id, legal_representative=previous, valid_from=None,
                recorded_by=ctx.actor, recorded_at=now, instance_id=ctx.instance_id,
                note="登记簿原有法定代表人（变更前） / representative on the register before the change")
            ctx.session.add(current)
        current.valid_to = effective
        ctx.session.add(EvaluatorRepresentative(
            evaluator_id=evaluator_id, legal_representative=representative, valid_from=effective, valid_to=None,
            recorded_by=ctx.actor, recorded_at=now, instance_id=ctx.instance_id, note=note))
    evaluator.name = name
    evaluator.legal_representative = representative
    evaluator.national_qualified = qualified
    ctx.session.flush()
    result = {"evaluator_id": evaluator_id, "created": created, "representative_changed": changed,
              "legal_representative": representative, "previous_representative": previous if changed else None,
              "effective_on": effective.isoformat() if (created or changed) else None,
              "national_qualified": qualified}
    ctx.record("evaluator_registered" if created else "evaluator_updated", **result, name=name)
    return result
