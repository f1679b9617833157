"""The eligibility rules, one module per chapter of the regulation, each citing its article.

``check_application`` runs every rule in article order and splits the findings into
violations (refuse: 不予受理) and flags (原则上: shown to every reviewer).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from handlers.rules import eligibility, evaluators, management, procedure, scope
from handlers.rules._base import Application, EligibilityResult, Rule, Violation, article_number
from handlers.rules.eligibility_checks import with_checks

__all__ = ["RULES", "Rule", "Violation", "EligibilityResult", "article_number", "check_application"]

RULES: tuple[Rule, ...] = (
    scope.art5_manufacturing_only,
    scope.art5_park_provincial_or_above,
    # 第十、十一、十二条 on the evidence of each unit type (docs/eligibility.md); 第十条第4项 keeps the
    # rule ids of the former declared-total rule, now on the parts at 当量值.
    *eligibility.RULES,
    evaluators.art15_evaluator_known,
    procedure.art22_listing_order,
    procedure.art23_supply_chain_needs_green_factory,
    procedure.art23_park_needs_green_units,
    management.art27_no_recent_bar,
    management.art27_park_enterprises_clear,
    evaluators.art30_evaluator_not_banned,
    evaluators.art31_national_evaluation_cap,
)


def check_application(session: Session, application: Application, today: dt.date) -> EligibilityResult:
    """Every rule on ``application`` as of ``today`` (a China calendar date); nothing is written.

    The rules assume the shape checked by ``handlers.application.normalise_application``
    (known unit type, target level and evaluation mode); they judge content, not shape.
    """
    found = [v for rule in RULES for v in rule(session, application, today)]
    violations = tuple(v for v in found if v.severity == "refuse")
    flags = tuple(v for v in found if v.severity == "flag")
    return with_checks(EligibilityResult(eligible=not violations, violations=violations, flags=flags), application)
