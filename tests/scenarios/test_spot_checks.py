"""Spot checks (不定期现场抽查复核, 第二十六条; issue 16 item 7): a reproducible sample of listed units, one site
check each with a due date in working days, and "no longer meets the standard" starting the removal path."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine.errors import InvalidInput, NotPermitted
from engine.models import HumanTask, ProcessInstance
from handlers import demo
from handlers.list_publication import compose_publication
from handlers.records import Listing, Unit
from handlers.removals import PendingRemoval
from handlers.spot_checks import SpotCheck, SpotCheckUnit, draw
from handlers.uscc import make_uscc

MEETS = {"spot_finding": "meets", "spot_checked_on": "2026-03-02"}


def unit(n: int, county: str = "520103") -> demo.DemoUnit:
    return demo.DemoUnit(f"U{n}", f"贵阳抽查样本{n}号有限公司", county, "34")


def listed(green, units, level="city", scope="520100", unit_type="factory") -> None:
    with green.engine.db.unit_of_work() as s:
        for u in units:
            if s.scalar(select(Unit.id).where(Unit.credit_code == u.credit_code)) is None:
                s.add(Unit(credit_code=u.credit_code, name=u.name, unit_type=unit_type, county_code=u.county,
                           industry_code=u.industry, created_at=green.engine.clock.now()))
            s.add(Listing(credit_code=u.credit_code, unit_type=unit_type, level=level, scope=scope, year=2025,
                          status="listed", listed_at=dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)))


def start(green, actor="city-520100", **fields) -> int:
    data = {"list_level": "city", "unit_type": "all", "sample_size": 3, "seed": "2026-05-抽查", **fields}
    return green.engine.start("spot_check", {k: v for k, v in data.items() if v is not None},
                              actor=green.engine.actor(actor)).instance_id


def drawn(green, iid) -> list[str]:
    with green.engine.db.session() as s:
        check = s.scalar(select(SpotCheck).where(SpotCheck.instance_id == iid))
        return list(check.sample)


def site_tasks(green, iid) -> list[HumanTask]:
    with green.engine.db.session() as s:
        return s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == "check_site",
                                                 HumanTask.status == "open").order_by(HumanTask.id)).all()


def finish(green, task: HumanTask, data: dict) -> None:
    green.engine.cache.clear()
    green.engine.complete(task.id, data, actor=green.engine.actor(demo.user_for(task.role, task.scope)))


def test_the_same_seed_and_population_draw_the_same_sample(green):
    units = [unit(n) for n in range(30, 40)]
    listed(green, units)
    listed(green, [unit(50, "520302")], scope="520300")  # another city's list: not in 贵阳's population
    first, second = start(green), start(green)
    assert drawn(green, first) == drawn(green, second) and len(drawn(green, first)) == 3
    assert drawn(green, start(green, seed="另一个种子")) != drawn(green, first)
    population = sorted(u.credit_code for u in units)
    assert drawn(green, first) == draw(list(reversed(population)), "2026-05-抽查", 3)  # anyone can redo it
    with green.engine.db.session() as s:
        check = s.scalar(select(SpotCheck).where(SpotCheck.instance_id == first))
        assert (check.population_size, check.population, check.seed) == (10, population, "2026-05-抽查")
        assert check.list_scope == "520100" and check.status == "open"
    view = green.view(first)
    assert "spot_check_sample_drawn" in [e["type"] for e in view["events"]]
    assert all(e["payload"]["article"] == "第二十六条" for e in view["events"] if e["type"] == "spot_check_sample_drawn")


def test_a_missing_seed_is_made_up_and_recorded_and_a_rate_rounds_up(green):
    listed(green, [unit(n) for n in range(30, 37)])
    iid = start(green, seed=None, sample_size=None, sample_rate=20)  # 20 % of 7 -> 2
    with green.engine.db.session() as s:
        check = s.scalar(select(SpotCheck).where(SpotCheck.instance_id == iid))
        assert len(check.seed) == 16 and check.sample_rate == 20 and len(check.sample) == 2
        assert check.sample == draw(check.population, check.seed, 2)


def test_each_drawn_unit_gets_a_site_check_due_in_working_days(green):
    listed(green, [unit(n) for n in range(30, 35)])
    iid = start(green)
    tasks = site_tasks(green, iid)
    assert len(tasks) == 3 and {(t.role, t.scope) for t in tasks} == {("city_official", "520100")}
    # config/deadlines.toml [spot_check_site]: 20 working days from Monday 2026-03-02 -> Monday 2026-03-30
    assert {t.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() for t in tasks} == {dt.date(2026, 3, 30)}
    for task in tasks:
        finish(green, task, MEETS)
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["spot_summary"]["meets"] == 3
    with green.engine.db.session() as s:
        assert s.scalar(select(SpotCheck.status)) == "closed"
        assert s.scalar(select(func.count()).select_from(PendingRemoval)) == 0
    assert green.engine.verify_history(iid).ok


def test_a_unit_that_no_longer_meets_the_standard_goes_the_removal_path_citing_article_26(green):
    target = unit(30)
    listed(green, [target])
    listed(green, [target], level="province", scope="520000")
    iid = start(green, sample_size=1)
    [task] = site_tasks(green, iid)
    with pytest.raises(InvalidInput) as err:  # the reason is required
        finish(green, task, {"spot_finding": "no_longer_meets", "spot_checked_on": "2026-03-02"})
    assert "spot_reason" in err.value.fields
    finish(green, task, {"spot_finding": "no_longer_meets", "spot_checked_on": "2026-03-02",
                         "spot_reason": "主要能耗指标已不满足绿色工厂评价要求", "spot_evidence": "现场检测报告",
                         "spot_evidence_file": "sha256:" + "c" * 64})
    with green.engine.db.session() as s:
        pending = s.scalars(select(PendingRemoval).order_by(PendingRemoval.id)).all()
        assert sorted((p.level, p.article, p.ground_item) for p in pending) == [
            ("city", "第二十六条", None), ("province", "第二十六条", None)]
        row = s.scalar(select(SpotCheckUnit))
        assert (row.finding, row.evidence_file, row.pending_removals) == (
            "no_longer_meets", "sha256:" + "c" * 64, [p.id for p in pending])
        composed = compose_publication(s, level="city", scope="520100", year=2026, today=dt.date(2026, 3, 20))
    [removed] = composed["removed"]
    assert removed["credit_code"] == target.credit_code and removed["grounds"][0]["ground"] == "第二十六条"
    events = green.view(iid)["events"]
    finding = next(e["payload"] for e in events if e["type"] == "spot_check_finding_recorded")
    assert (finding["finding"], finding["article"]) == ("no_longer_meets", "第二十六条")
    assert {e["payload"]["scope"] for e in events if e["type"] == "notification_queued"} == {"520100", "520000"}


def test_a_province_spot_check_of_a_national_unit_asks_for_the_miit_report(green):
    target = unit(31)
    listed(green, [target], level="national", scope="national")
    iid = start(green, actor="province", list_level="national", sample_size=5)
    [task] = site_tasks(green, iid)
    assert (task.role, task.scope) == ("province_official", "520000")
    finish(green, task, {"spot_finding": "no_longer_meets", "spot_checked_on": "2026-03-02", "spot_reason": "已停产"})
    messages = [e["payload"]["message_zh"] for e in green.view(iid)["events"] if e["type"] == "notification_queued"]
    assert any("上报工业和信息化部" in m and "第二十六条第二款" in m for m in messages)


@pytest.mark.parametrize("actor, fields, error, field", [
    ("county-520103", {}, NotPermitted, None),
    ("ent-u1", {}, NotPermitted, None),
    ("city-520100", {"list_level": "province"}, InvalidInput, "list_level"),
    ("city-520100", {"sample_size": None}, InvalidInput, "sample_size"),  # neither size nor rate
    ("city-520100", {"sample_rate": 10}, InvalidInput, "sample_size"),  # both
    ("city-520100", {"sample_size": 0}, InvalidInput, None),
    ("city-520100", {"unit_type": "farm"}, InvalidInput, None),
    ("city-520300", {}, InvalidInput, "list_level"),  # 遵义's city list is empty here
])
def test_bad_requests_are_refused_and_start_nothing(green, actor, fields, error, field):
    listed(green, [unit(n) for n in range(30, 34)])
    with green.engine.db.session() as s:
        before = s.scalar(select(func.count()).select_from(ProcessInstance))
    with pytest.raises(error) as err:
        start(green, actor=actor, **fields)
    if field:
        assert field in (err.value.fields or {}) or getattr(err.value, "field", None) == field
    with green.engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == before
        assert s.scalar(select(func.count()).select_from(SpotCheck)) == 0


def test_the_demo_seeds_a_park_with_members_and_a_running_spot_check(green):
    from engine.identity import upsert_user
    from handlers import demo_parks_spot_checks
    from handlers.park_members import ParkMember

    with green.engine.db.unit_of_work() as s:
        for username, name, grants in demo.accounts():
            upsert_user(s, username, display_name=name, grants=grants)
    demo._seed_listed_units(green.engine)
    lines = demo_parks_spot_checks.seed(green.engine)
    assert len(lines) == 2 and not any("未生成" in text for _, text in lines)
    assert demo_parks_spot_checks.seed(green.engine) == []  # once
    with green.engine.db.session() as s:
        assert sorted(m.status for m in s.scalars(select(ParkMember))) == ["confirmed", "proposed"]
        check = s.scalar(select(SpotCheck))
        assert (check.seed, check.population_size, check.status) == (demo_parks_spot_checks.SEED, 2, "open")
        assert sorted(str(u.finding) for u in s.scalars(select(SpotCheckUnit))) == ["None", "meets"]
    assert green.engine.verify_history(check.instance_id).ok
