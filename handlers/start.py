"""What happens before a green-manufacturing application starts (the start hook of ``green_application``).

The applicant fills in the flat fields of ``bpmn/forms/application.schema.json``; here they
are normalised (credit code check digit, division, choices) and wrapped as ``application``,
and the applicant's scope is derived, so only the unit itself may start or amend it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.clock import china_date, get_clock
from engine.identity import load_actor
from engine.services import StartInfo, start_hook
from handlers.application import normalise_application
from handlers.divisions import city_of, division
from handlers.rules.admission import check_start

UNIT_TYPE_ZH = {"factory": "绿色工厂", "supply_chain": "绿色供应链管理企业", "park": "绿色工业园区"}
LEVEL_ZH = {"city": "市级", "province": "省级", "national": "国家级"}


def applicant_scope(credit_code: str) -> str:
    return f"unit:{credit_code}"


@start_hook("green_application")
def start_application(session: Session, data: dict[str, Any], actor: str) -> StartInfo:
    """Normalise the start form into ``application``; raises InvalidInput naming a bad field.

    Refuses with RuleViolation(第十四条), writing nothing, a second running application of the
    unit for the same type, level and year, and one outside an open application notice
    (``handlers.rules.admission``).
    """
    fields = data.get("application", data)
    app = normalise_application(fields)
    who = load_actor(session, actor)
    if who.is_system or who.holds("applicant", applicant_scope(app["credit_code"])):
        # Only for someone who may start it: the engine refuses anyone else, and tells them nothing.
        refused = check_start(session, app, china_date(get_clock().now()))
        if refused:
            raise refused[0].to_error()
    city = city_of(app["county_code"])
    title = f"{app['unit_name']} · {LEVEL_ZH[app['target_level']]}{UNIT_TYPE_ZH[app['unit_type']]}"
    for key in list(data):
        data.pop(key)
    return StartInfo(
        data={"application": app, "applicant_scope": applicant_scope(app["credit_code"])},
        title=title,
        summary={"unit_name": app["unit_name"], "credit_code": app["credit_code"], "unit_type": app["unit_type"],
                 "applicant_scope": applicant_scope(app["credit_code"]),
                 "target_level": app["target_level"], "year": app["year"], "county_code": app["county_code"],
                 "city_code": city, "county_name": division(app["county_code"]).name},
    )
