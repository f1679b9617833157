"""A complaint received: the competent authority, the form, the start hook, the record and the intake."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound, RuleViolation
from engine.services import ServiceContext, StartInfo, service_task, start_hook
from handlers.complaints._models import (
    ARTICLE,
    Complaint,
    INTAKE_DECISIONS,
    PROCESS_ID,
    SUBJECT_KINDS,
    _LEVEL_RANK,
    _LIMITS,
    _NOT_A_NAME,
)
from handlers.divisions import PROVINCE
from handlers.fields import record_key, stored_row
from handlers.records import Evaluator, Listing, Unit


def competent_authority(session: Session, credit_code: str) -> tuple[str, str, str]:
    """(role, scope, highest level) of the authority that takes a complaint about a listed unit.

    A unit on a provincial or national list goes to the province (``520000``); a unit on a
    city list only, to that city's department (the listing's scope, 第三条、第七条).
    Raises RuleViolation(第三十二条) when the unit is on no list: 第三十二条 covers
    绿色制造单位 and 第三方机构 only.
    """
    listings = session.scalars(
        select(Listing).where(Listing.credit_code == credit_code, Listing.status == "listed")
        .order_by(Listing.listed_at.desc(), Listing.id.desc())
    ).all()
    if not listings:
        raise RuleViolation(
            f"统一社会信用代码为 {credit_code} 的单位不在绿色制造名单内，不属于实名举报受理范围（{ARTICLE}：针对绿色制造单位和"
            f"第三方机构） / the unit {credit_code} is on no green-manufacturing list; Article 32 complaints concern "
            f"listed units and third-party evaluators",
            article=ARTICLE, field="unit",
        )
    top = max(listings, key=lambda row: _LEVEL_RANK.get(row.level, 0))
    if top.level in ("province", "national"):
        return "province_official", PROVINCE, top.level
    return "city_official", top.scope, top.level


def _find_unit(session: Session, text: str) -> tuple[str, str | None]:
    """(credit code, name) of the unit a reporter names by credit code or full name."""
    code = text.strip().upper()
    unit = session.scalar(select(Unit).where(Unit.credit_code == code))
    if unit is not None:
        return unit.credit_code, unit.name
    if len(code) == 18 and code.isalnum():
        return code, None  # perhaps on an imported list without a unit row
    named = session.scalars(select(Unit).where(Unit.name == text.strip()).limit(2)).all()
    if len(named) == 1:
        return named[0].credit_code, named[0].name
    if len(named) > 1:
        raise InvalidInput("同名单位不止一家，请填写统一社会信用代码 / several units have that name: give the credit code",
                           field="unit")
    raise RuleViolation(
        f"未找到名为“{text.strip()}”的绿色制造单位，请核对全称或填写统一社会信用代码（{ARTICLE}） / no listed unit of that "
        f"name; check the full name or give the credit code (Article 32)",
        article=ARTICLE, field="unit",
    )


# --------------------------------------------------------------------------- the form

def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return (str(value).strip() or None) if value is not None else None


def _check_real_name(values: dict[str, str | None]) -> None:
    """Refuse an anonymous complaint: 第三十二条 asks for 实名举报 with contact details."""
    problems: dict[str, str] = {}
    name = values["reporter_name"]
    if not name or name.lower() in _NOT_A_NAME:
        problems["reporter_name"] = "须填写举报人真实姓名或组织名称 / the reporter's real name is required"
    if not values["id_number"]:
        problems["id_number"] = "须填写身份证件号码（组织填统一社会信用代码） / an ID number is required"
    if not values["contact"]:
        problems["contact"] = "须填写联系方式 / contact details are required"
    if problems:
        raise RuleViolation(
            f"举报须实名，并提供联系方式（{ARTICLE}），不受理匿名举报：{'；'.join(problems.values())} / "
            f"complaints must be made under a real name with contact details (Article 32)",
            article=ARTICLE, field=next(iter(problems)),
        )


def normalise_complaint(session: Session, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The complaint as the diagram keeps it, with the competent authority; nothing is written.

    Checks, in order: every text within its limit, the real name, ID number and contact
    (第三十二条: 实名举报), the matter, then the subject: a unit on a list (by credit code
    or full name) or an evaluator of the registry.  Raises RuleViolation(第三十二条) for an
    anonymous complaint or an unlisted unit, InvalidInput naming the field otherwise.
    """
    if not isinstance(fields, Mapping):
        raise InvalidInput("举报内容应为对象 / the complaint must be an object", field="complaint")
    values = {key: _text(fields, key) for key in _LIMITS}
    for key, limit in _LIMITS.items():
        if values[key] and len(values[key]) > limit:  # type: ignore[arg-type]
            raise InvalidInput(f"{key} 超过{limit}个字符 / {key} is longer than {limit} characters", field=key)
    _check_real_name(values)
    if not values["matter"]:
        raise InvalidInput("举报事项必填 / the matter reported is required", field="matter")
    kind = fields.get("subject_kind")
    if kind not in SUBJECT_KINDS:
        raise InvalidInput("请选择举报对象：绿色制造单位或第三方评价机构 / choose a listed unit or an evaluator",
                           field="subject_kind")
    complaint: dict[str, Any] = {
        "subject_kind": kind, "credit_code": None, "unit_name": None, "evaluator_id": None, "evaluator_name": None,
        "listing_level": None,
        **{key: values[key] for key in ("reporter_name", "id_number", "contact", "matter", "evidence",
                                        "evidence_file", "evidence_filename")},
    }
    if kind == "unit":
        if not values["unit"]:
            raise InvalidInput("请填写被举报单位的统一社会信用代码或全称 / give the unit's credit code or full name",
                               field="unit")
        credit_code, name = _find_unit(session, values["unit"])
        role, scope, level = competent_authority(session, credit_code)
        complaint.update(credit_code=credit_code, unit_name=name, listing_level=level)
    else:
        evaluator = session.get(Evaluator, values["evaluator_id"]) if values["evaluator_id"] else None
        if evaluator is None:
            raise InvalidInput("请从名录中选择第三方评价机构 / choose an evaluator from the registry", field="evaluator_id")
        role, scope = "province_official", PROVINCE  # 第三十、三十二条: the province supervises evaluators
        complaint.update(evaluator_id=evaluator.id, evaluator_name=evaluator.name)
    complaint.update(authority_role=role, authority_scope=scope)
    return complaint


def subject_name(complaint: Mapping[str, Any]) -> str:
    """The unit's or the evaluator's name (or the credit code when the name is unknown)."""
    if complaint.get("subject_kind") == "evaluator":
        return str(complaint.get("evaluator_name") or complaint.get("evaluator_id") or "")
    return str(complaint.get("unit_name") or complaint.get("credit_code") or "")


@start_hook(PROCESS_ID)
def start_complaint(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Check the complaint form and route it to the competent authority (第三十二条).

    Leaves ``complaint`` (normalised, with ``authority_role`` / ``authority_scope``) and the
    intake lane's ``intake_role`` / ``intake_scope`` as the instance data.
    """
    complaint = normalise_complaint(session, data.get("complaint", data))
    for key in list(data):
        data.pop(key)
    summary: dict[str, Any] = {"subject_kind": complaint["subject_kind"], "subject_name": subject_name(complaint),
                               "intake_scope": complaint["authority_scope"]}
    if complaint["credit_code"]:
        summary.update(credit_code=complaint["credit_code"], listing_level=complaint["listing_level"])
    if complaint["evaluator_id"]:
        summary["evaluator_id"] = complaint["evaluator_id"]
    return StartInfo(
        data={"complaint": complaint, "intake_role": complaint["authority_role"],
              "intake_scope": complaint["authority_scope"]},
        title=f"实名举报 · {subject_name(complaint)}",
        summary=summary,
    )


# --------------------------------------------------------------------------- service tasks

def _record_of(session: Session, record: object) -> Complaint:
    row = stored_row(session, Complaint, record)
    if row is None:
        key = record_key(record)
        raise NotFound(f"举报 {key!r} 不存在 / complaint {key!r} not found", fields={"complaint": "not found"})
    return row


def _view(row: Complaint) -> dict[str, Any]:
    return {"id": row.id, "receipt": row.receipt, "status": row.status, "received_at": row.received_at.isoformat()}


@service_task("record_complaint")
def record_complaint(ctx: ServiceContext, *, complaint: dict[str, Any]) -> dict[str, Any]:
    """Store the complaint and give it its receipt number; returns ``{id, receipt, status, received_at}``.

    Idempotent per instance: a retried task returns the record made the first time.
    """
    row = ctx.session.scalar(select(Complaint).where(Complaint.instance_id == ctx.instance_id))
    if row is None:
        if not isinstance(complaint, Mapping):
            raise InvalidInput("举报内容应为对象 / the complaint must be an object", field="complaint")
        row = Complaint(
            instance_id=ctx.instance_id, status="received", received_at=ctx.clock.now(),
            **{key: complaint.get(key) for key in (
                "subject_kind", "credit_code", "unit_name", "evaluator_id", "listing_level", "authority_role",
                "authority_scope", "reporter_name", "id_number", "contact", "matter", "evidence", "evidence_file",
                "evidence_filename")},
        )
        ctx.session.add(row)
        ctx.session.flush()
        ctx.record("complaint_recorded", complaint_id=row.id, receipt=row.receipt, subject_kind=row.subject_kind,
                   authority_role=row.authority_role, authority_scope=row.authority_scope)
    return _view(row)


@service_task("record_complaint_intake")
def record_complaint_intake(
    ctx: ServiceContext, *, complaint_record: dict[str, Any], decision: str, reason: str
) -> dict[str, Any]:
    """Keep the intake decision: 受理 → ``accepted`` (verification follows), 不予受理 → ``closed``
    (outcome ``not_accepted``; the reply follows).

    Raises InvalidInput for an unknown decision or a refusal without a reason.
    """
    if decision not in INTAKE_DECISIONS:
        raise InvalidInput(f"受理结论应为 {' / '.join(INTAKE_DECISIONS)} / unknown intake decision {decision!r}",
                           field="intake_decision")
    reason = str(reason or "").strip()
    if decision == "not_accepted" and not reason:
        raise InvalidInput("不予受理须说明理由 / a refusal needs a reason", field="intake_reason")
    row = _record_of(ctx.session, complaint_record)
    row.status = "accepted" if decision == "accept" else "closed"
    row.outcome = None if decision == "accept" else "not_accepted"
    row.decision, row.decision_reason = decision, reason or None
    row.decided_by, row.decided_at = ctx.actor, ctx.clock.now()
    ctx.record("complaint_intake_decided", complaint_id=row.id, decision=decision, status=row.status)
    return _view(row)
