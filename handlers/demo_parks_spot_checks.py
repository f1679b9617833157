"""Demo data for issue 16 items 3 and 7: a park with confirmed members (and one waiting), and a spot check
with one site check done and one to do.  Called by ``handlers.demo`` (accounts, then ``seed`` after the
listed units exist); each sample once.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.clock import china_date
from handlers.uscc import make_uscc

if TYPE_CHECKING:  # pragma: no cover
    from engine.api import WorkflowEngine

PARK_CODE = make_uscc("12520303MB0000021")
PARK_NAME = "遵义汇川经济技术开发区（演示）"
PARK_COUNTY = "520303"  # 汇川区, 遵义市
PARK_ACCOUNT = "ent-p21"
SEED = "黔工信抽查-2026-演示"


def accounts() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The demo park's managing body."""
    return [(PARK_ACCOUNT, f"{PARK_NAME}管委会", [("applicant", f"unit:{PARK_CODE}")])]


def seed(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    """The park and the spot check, each once; returns lines for the demo's report."""
    from engine.errors import EngineError

    made: list[tuple[int | None, str]] = []
    for sample in (_park_with_members, _spot_check):
        try:
            made.extend(sample(engine))
        except EngineError as err:
            made.append((None, f"{sample.__name__}: 未生成 / not seeded: {err}"))
    return made


def _park_with_members(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    from handlers import demo, park_members
    from handlers.records import Unit

    now, today = engine.clock.now(), china_date(engine.clock.now())
    with engine.db.unit_of_work() as session:
        if session.scalar(select(Unit.id).where(Unit.credit_code == PARK_CODE)) is not None:
            return []
        session.add(Unit(credit_code=PARK_CODE, name=PARK_NAME, unit_type="park", county_code=PARK_COUNTY,
                         park_level="national", created_at=now))
        session.flush()
        body, county = engine.actor(PARK_ACCOUNT), engine.actor(f"county-{PARK_COUNTY}")
        confirmed, waiting = demo.LISTED_UNITS[0], demo.UNITS[4]  # 汇川区: a city-listed unit; a pending one
        for unit in (confirmed, waiting):
            row = park_members.propose_member(
                session, PARK_CODE, {"member_credit_code": unit.credit_code, "member_name": unit.name,
                                     "joined_on": (today - dt.timedelta(days=400)).isoformat()},
                actor=body, now=now, today=today)
            if unit is confirmed:
                park_members.decide(session, row.id, "confirm", actor=county, now=now, note="已核对入园协议")
    return [(None, f"入园企业（第二十三、二十七条）：{PARK_NAME} 已确认 1 家、待汇川区工信局确认 1 家；"
                   f"园区账户 {PARK_ACCOUNT}，页面 /parks/ / park members")]


def _spot_check(engine: "WorkflowEngine") -> list[tuple[int | None, str]]:
    from engine.models import HumanTask
    from handlers import demo
    from handlers.spot_checks import SpotCheck

    with engine.db.session() as session:
        if session.scalar(select(SpotCheck.id).where(SpotCheck.seed == SEED)) is not None:
            return []
    province = engine.actor("province")
    iid = engine.start("spot_check", {"list_level": "province", "unit_type": "all", "sample_size": 2, "seed": SEED,
                                      "note": "2026年度省级绿色制造名单现场抽查复核（演示）"}, actor=province).instance_id
    with engine.db.session() as session:
        first = session.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == "check_site",
                                                       HumanTask.status == "open").order_by(HumanTask.id))
    if first is not None:
        engine.complete(first.id, {"spot_finding": "meets", "spot_checked_on": china_date(engine.clock.now()).isoformat(),
                                   "spot_evidence": "现场核查记录表"},
                        actor=engine.actor(demo.user_for(first.role, first.scope)))
    return [(iid, f"现场抽查复核（第二十六条）：省级名单抽取 2 家（种子 {SEED}），1 家已核查仍符合标准、1 家待核查；"
                  f"页面 /spot-checks/ / a spot check")]
