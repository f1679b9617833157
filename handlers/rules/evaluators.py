"""第十五条、第三十条、第三十一条: the third-party evaluator behind an application.

A third-party evaluation needs a known evaluator (第十五条: 委托具备评价能力的第三方机构),
not under a ban (第三十条 and 第三十二条: 三年内不予采信), and one legal representative's
evaluators may run at most 15 national-level evaluations a year (第三十一条).  All three
are hard conditions, so they refuse.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.evaluators import national_projects_of  # the registry's history of representatives
from handlers.records import Evaluator, EvaluatorBan
from handlers.rules._base import Application, Violation, refuse

ARTICLE_15 = "第十五条"
ARTICLE_30 = "第三十条"
ARTICLE_31 = "第三十一条"
NATIONAL_EVALUATIONS_PER_YEAR = 15


def _third_party_evaluator(session: Session, application: Application) -> Evaluator | None:
    """The evaluator of a third-party application, or None (self-evaluation, or unknown id)."""
    if application.get("evaluation_mode") != "third_party" or not application.get("evaluator_id"):
        return None
    return session.get(Evaluator, str(application["evaluator_id"]))


def art15_evaluator_known(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """A third-party evaluation must name a registered evaluator."""
    if application.get("evaluation_mode") != "third_party":
        return []
    evaluator_id = application.get("evaluator_id")
    if _third_party_evaluator(session, application) is not None:
        return []
    return [
        refuse(
            "art15_evaluator_known", ARTICLE_15, "evaluator_id",
            f"委托第三方评价但第三方机构 {evaluator_id or '（空）'} 未登记",
            f"third-party evaluation names evaluator {evaluator_id or '(none)'}, which is not registered",
        )
    ]


def art30_evaluator_not_banned(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """Reports of an evaluator under a ban covering ``today`` are not accepted (不予采信)."""
    evaluator = _third_party_evaluator(session, application)
    if evaluator is None:
        return []
    ban = session.scalars(
        select(EvaluatorBan)
        .where(EvaluatorBan.evaluator_id == evaluator.id)
        .where(EvaluatorBan.starts_on <= today, EvaluatorBan.ends_on >= today)
        .order_by(EvaluatorBan.ends_on.desc())
    ).first()
    if ban is None:
        return []
    return [
        refuse(
            "art30_evaluator_not_banned", ARTICLE_30, "evaluator_id",
            f"第三方机构 {evaluator.id}（{evaluator.name}）因{ban.reason}被通报（{ban.article}），"
            f"{ban.ends_on.isoformat()}前不予采信其评价结果",
            f"evaluator {evaluator.id} was named for {ban.reason} ({ban.article}); "
            f"its reports are not accepted until {ban.ends_on.isoformat()}",
        )
    ]


def national_evaluations(session: Session, legal_representative: str, year: int, *, excluding: tuple[str, str]) -> int:
    """National-level evaluation projects of one legal representative's evaluators in ``year``.

    A project is one (unit, unit type): a unit that applies again in the same year with the
    same report is one project, not two.  ``excluding`` is the (credit_code, unit_type) being
    checked.  The representative is matched by name, the only identity the register holds,
    and an application counts for the representative in office on the day it was submitted
    (``handlers.evaluators.national_projects_of``): a change of legal representative neither
    frees the old one's quota nor charges his evaluations to the new one.
    """
    return len(national_projects_of(session, legal_representative, year) - {excluding})


def art31_national_evaluation_cap(session: Session, application: Application, today: dt.date) -> list[Violation]:
    """At most 15 national evaluations a year per legal representative, across all his evaluators."""
    evaluator = _third_party_evaluator(session, application)
    if evaluator is None or application.get("target_level") != "national":
        return []
    year = int(application["year"])
    done = national_evaluations(
        session, evaluator.legal_representative, year,
        excluding=(str(application.get("credit_code")), str(application.get("unit_type"))),
    )
    if done < NATIONAL_EVALUATIONS_PER_YEAR:
        return []
    return [
        refuse(
            "art31_national_evaluation_cap", ARTICLE_31, "evaluator_id",
            f"第三方机构 {evaluator.id} 的法定代表人{evaluator.legal_representative}名下机构{year}年度"
            f"已开展国家层面绿色制造评价{done}项，每年总计不得超过{NATIONAL_EVALUATIONS_PER_YEAR}项",
            f"the legal representative of evaluator {evaluator.id} already has {done} national-level evaluations "
            f"in {year}; at most {NATIONAL_EVALUATIONS_PER_YEAR} a year are allowed",
        )
    ]
