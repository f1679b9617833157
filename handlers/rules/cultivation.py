"""第十条–第十三条: conditions on the cultivated units themselves.

Most of these conditions (GB/T 36132 conformity, benchmark energy efficiency, a park's
cultivation plan) are judged by the reviewers from the evaluation report; the one the
application data can show is the energy-management certification of 第十条第4项.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from handlers.rules._base import Application, Violation, flag

ARTICLE_10 = "第十条"
ENERGY_CERT_THRESHOLD_TCE = 3000.0


def art10_energy_management_certification(
    session: Session, application: Application, today: dt.date
) -> list[Violation]:
    """A factory using ≥ 3000 tce a year (3000 included) should hold an energy-management certificate.

    Only a flag, never a refusal: 第十条第4项 says 原则上 ("in principle"), so an uncertified
    large consumer is not automatically inadmissible; the system makes sure every reviewer
    sees the gap, and the official decides.  Energy is counted with electricity at its
    equivalent value (当量值), as the applicant declares it.  第十条 lists the conditions of
    green *factories*, so other unit types are not checked here.  A missing or non-numeric
    figure is flagged too, since the condition then cannot be checked at all.
    """
    if application.get("unit_type") != "factory":
        return []
    raw = application.get("energy_tce")
    try:
        energy = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return [
            flag(
                "art10_energy_use_unknown", ARTICLE_10, "energy_tce",
                f"年综合能源消费量 {raw!r} 无法识别，无法核对能源管理体系认证要求",
                f"annual energy use {raw!r} is not a number, so the certification condition cannot be checked",
                item=4,
            )
        ]
    if energy >= ENERGY_CERT_THRESHOLD_TCE and not application.get("energy_cert"):
        return [
            flag(
                "art10_energy_management_certification", ARTICLE_10, "energy_cert",
                f"年综合能源消费量 {energy:g} 吨标准煤，达到3000吨标准煤，原则上需开展能源管理体系认证，未提供认证",
                f"annual energy use of {energy:g} tce reaches 3000 tce: an energy-management certification "
                "is expected in principle and none is declared",
                item=4,
            )
        ]
    return []
