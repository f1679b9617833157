"""Helpers the evaluators' registry, findings and work reports share: input checks, representatives in office."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import china_date
from engine.errors import InvalidInput
from handlers.evaluators._models import ARTICLE_15, EvaluatorRepresentative, _EVALUATOR_ID
from handlers.records import ApplicationRecord, Evaluator


def _text(values: Mapping[str, Any], key: str, *, limit: int, required: bool = True, label: str = "") -> str:
    value = values.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{label or key} 必填 / {key} is required", field=key)
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{label or key} 超过{limit}个字符 / {key} is longer than {limit} characters", field=key)
    return value


def _evaluator_id(value: object, *, field: str = "evaluator_id") -> str:
    text = str(value or "").strip().upper()
    if not _EVALUATOR_ID.fullmatch(text):
        raise InvalidInput(f"第三方机构编号 {value!r} 无效（2–32位字母、数字或连字符） / evaluator id {value!r} is "
                           f"invalid (2–32 letters, digits or hyphens)", field=field)
    return text


def _known_evaluator(session: Session, value: object, *, field: str = "evaluator_id") -> Evaluator:
    evaluator = session.get(Evaluator, _evaluator_id(value, field=field))
    if evaluator is None:
        raise InvalidInput(f"第三方机构 {value} 未登记（{ARTICLE_15}） / evaluator {value} is not registered "
                           f"(Article 15)", field=field)
    return evaluator


def _date(value: object, *, field: str) -> dt.date:
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} 不是日期：{value!r} / {field} is not a date", field=field) from None


def _year(year: object, field: str = "year") -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise InvalidInput(f"年度无效：{year!r} / invalid year {year!r}", field=field)
    return year


def _history(session: Session, evaluator_ids: Iterable[str]) -> dict[str, list[EvaluatorRepresentative]]:
    ids = sorted(set(evaluator_ids))
    found: dict[str, list[EvaluatorRepresentative]] = {i: [] for i in ids}
    if ids:
        for row in session.scalars(select(EvaluatorRepresentative)
                                   .where(EvaluatorRepresentative.evaluator_id.in_(ids))
                                   .order_by(EvaluatorRepresentative.id)):
            found[row.evaluator_id].append(row)
    return found


def _in_office(row: EvaluatorRepresentative, day: dt.date) -> bool:
    return (row.valid_from is None or row.valid_from <= day) and (row.valid_to is None or day < row.valid_to)


def _representative(rows: list[EvaluatorRepresentative], day: dt.date, current: str) -> str:
    """The row in office on ``day``; before the first row, the first known one; no rows: ``current``."""
    for row in rows:
        if _in_office(row, day):
            return row.legal_representative
    if rows:
        return min(rows, key=lambda r: (r.valid_from or dt.date.min, r.id)).legal_representative
    return current


def representative_on(session: Session, evaluator_id: str, day: dt.date) -> str | None:
    """The legal representative of ``evaluator_id`` on China date ``day`` (第三十一条).

    From the history when it covers ``day``; a day before the first recorded term gets the
    first known representative (an application imported from before the registration); an
    evaluator without history gets the register's current ``legal_representative``. None for
    an unknown id.
    """
    evaluator = session.get(Evaluator, evaluator_id)
    if evaluator is None:
        return None
    return _representative(_history(session, [evaluator_id])[evaluator_id], day, evaluator.legal_representative)


def national_projects_of(session: Session, legal_representative: str, year: int) -> set[tuple[str, str]]:
    """The national evaluation projects (credit code, unit type) of ``year`` charged to one representative.

    Every third-party national application of ``year`` counts for the representative of its
    evaluator *on the China date it was submitted* (``representative_on``), whichever
    evaluator he represented then (第三十一条: 同一法定代表人的第三方机构 … 总计). A unit applying
    twice with the same report is one project.
    """
    rows = session.execute(
        select(ApplicationRecord.credit_code, ApplicationRecord.unit_type, ApplicationRecord.evaluator_id,
               ApplicationRecord.submitted_at)
        .where(ApplicationRecord.year == year, ApplicationRecord.target_level == "national",
               ApplicationRecord.evaluation_mode == "third_party", ApplicationRecord.evaluator_id.is_not(None))
    ).all()
    if not rows:
        return set()
    ids = {r.evaluator_id for r in rows}
    history = _history(session, ids)
    current = dict(session.execute(select(Evaluator.id, Evaluator.legal_representative)
                                   .where(Evaluator.id.in_(sorted(ids)))).all())
    projects: set[tuple[str, str]] = set()
    for row in rows:
        if row.evaluator_id not in current:
            continue  # an unknown evaluator is refused by 第十五条 and represents nobody
        name = _representative(history[row.evaluator_id], china_date(row.submitted_at), current[row.evaluator_id])
        if name == legal_representative:
            projects.add((row.credit_code, row.unit_type))
    return projects
