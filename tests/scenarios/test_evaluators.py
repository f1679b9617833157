"""Third-party evaluators through the engine, on both databases (第十五、三十、三十一条).

The registry and the 15-a-year cap per legal representative across a change of representative;
a finding (弄虚作假) → public naming → three-year ban → applications naming the evaluator refused;
the national evaluators' annual work report due April 30 (reminders, review, non-filers noted).
The clock starts on Monday 2026-03-02 09:00 China time (conftest.START).
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.clock import CHINA
from engine.errors import InvalidInput, NotPermitted, RuleViolation
from engine.identity import system_actor, upsert_user
from engine.models import HumanTask, Outbox
from handlers import demo
from handlers.evaluators import (
    EvaluatorFinding,
    EvaluatorNote,
    EvaluatorRepresentative,
    EvaluatorWorkReport,
    WorkReportCampaign,
    published_findings,
    representative_on,
)
from handlers.records import ApplicationRecord, Evaluator, EvaluatorBan
from handlers.rules.evaluators import art30_evaluator_not_banned
from handlers.uscc import make_uscc


def china(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHINA)


def event_types(view: dict) -> list[str]:
    return [e["type"] for e in view["events"]]


def province(green):
    return green.engine.actor("province")


def register(green, evaluator_id: str, representative: str, *, name: str | None = None, national: bool = True,
             **extra) -> int:
    data = {"evaluator_id": evaluator_id, "name": name or f"{evaluator_id} 评价咨询有限公司",
            "legal_representative": representative, "national_qualified": national, **extra}
    return green.engine.start("evaluator_registry", data, actor=province(green)).instance_id


def history(green, evaluator_id: str) -> list[tuple[str, dt.date | None, dt.date | None]]:
    with green.engine.db.session() as s:
        return [(r.legal_representative, r.valid_from, r.valid_to) for r in s.scalars(
            select(EvaluatorRepresentative).where(EvaluatorRepresentative.evaluator_id == evaluator_id)
            .order_by(EvaluatorRepresentative.id))]


def past_national_evaluations(green, evaluator_id: str, n: int, *, submitted: dt.datetime) -> None:
    with green.engine.db.unit_of_work() as s:
        for i in range(n):
            s.add(ApplicationRecord(instance_id=20_000 + i + 100 * int(evaluator_id[-1]),
                                    credit_code=make_uscc(f"91520302MA{8000 + i:07d}"), unit_type="factory",
                                    target_level="national", year=2026, evaluation_mode="third_party",
                                    evaluator_id=evaluator_id, status="open", submitted_at=submitted))


def national_application(green, unit, evaluator_id: str) -> dict:
    iid = green.apply(unit, target_level="national", evaluation_mode="third_party", evaluator_id=evaluator_id,
                      report_file="第三方评价报告.pdf")
    return green.view(iid)


def cap_refused(view: dict) -> bool:
    return any(v["rule"] == "art31_national_evaluation_cap" for v in view["data"]["eligibility"]["violations"])


# --------------------------------------------------------------------------- registry (第三十一条)

def test_registering_an_evaluator_keeps_its_legal_representative_with_a_start_date(green):
    iid = register(green, "ev002", "王建国", name="黔南绿色评价中心")
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["registration_result"]["created"] is True
    with green.engine.db.session() as s:
        row = s.get(Evaluator, "EV002")
        assert (row.name, row.legal_representative, row.national_qualified) == ("黔南绿色评价中心", "王建国", True)
    assert history(green, "EV002") == [("王建国", dt.date(2026, 3, 2), None)]
    assert "evaluator_registered" in event_types(view)


@pytest.mark.parametrize("field,value", [
    ("evaluator_id", "E"),                       # too short
    ("legal_representative", "   "),             # blank
    ("effective_on", "2026-03-09"),              # in the future
])
def test_a_bad_registration_is_refused_naming_the_field_and_nothing_is_written(green, field, value):
    data = {"evaluator_id": "EV009", "name": "某评价公司", "legal_representative": "赵六", "national_qualified": True,
            field: value}
    with pytest.raises(InvalidInput) as err:
        green.engine.start("evaluator_registry", data, actor=province(green))
    assert field in err.value.fields
    with green.engine.db.session() as s:
        assert s.get(Evaluator, "EV009") is None


def test_only_the_province_maintains_the_registry(green):
    data = {"evaluator_id": "EV009", "name": "某评价公司", "legal_representative": "赵六", "national_qualified": True}
    with pytest.raises(NotPermitted):
        green.engine.start("evaluator_registry", data, actor=green.engine.actor("city-520300"))


def test_the_cap_counts_each_evaluation_for_the_representative_in_office_when_it_was_submitted(green):
    """EV001 and EV002 both belong to 王建国; EV002's 15 national evaluations of 2026 used his quota."""
    register(green, "EV002", "王建国")
    past_national_evaluations(green, "EV002", 15, submitted=china(2026, 1, 20, 10, 0))

    refused = national_application(green, demo.UNITS[0], "EV001")  # 王建国 has 15 already (第三十一条)
    assert refused["data"]["outcome"] == "refused" and cap_refused(refused)
    assert "第三十一条" in refused["data"]["outcome_reason"]

    green.engine.clock.set(china(2026, 3, 3, 9, 0))
    change = green.view(register(green, "EV002", "李四", note="工商变更登记"))
    assert change["data"]["registration_result"] == {
        "evaluator_id": "EV002", "created": False, "representative_changed": True, "legal_representative": "李四",
        "previous_representative": "王建国", "effective_on": "2026-03-03", "national_qualified": True}
    assert history(green, "EV002") == [("王建国", dt.date(2026, 3, 2), dt.date(2026, 3, 3)),
                                       ("李四", dt.date(2026, 3, 3), None)]
    assert "evaluator_updated" in event_types(change)
    with green.engine.db.session() as s:
        assert representative_on(s, "EV002", dt.date(2026, 1, 20)) == "王建国"  # before the first recorded term
        assert representative_on(s, "EV002", dt.date(2026, 3, 3)) == "李四"

    # EV002's earlier evaluations stay 王建国's: 李四 starts with none ...
    passed = national_application(green, demo.UNITS[1], "EV002")
    assert not cap_refused(passed) and passed["data"]["eligibility"]["eligible"] is True
    assert green.open_tasks(passed["id"]) == ["review"]
    # ... and 王建国 does not get his quota back by handing EV002 over.
    again = national_application(green, demo.UNITS[2], "EV001")
    assert again["data"]["outcome"] == "refused" and cap_refused(again)


def test_a_late_registered_change_moves_the_evaluations_since_it_took_effect(green):
    register(green, "EV002", "王建国")
    green.engine.clock.set(china(2026, 3, 20, 9, 0))
    past_national_evaluations(green, "EV002", 15, submitted=china(2026, 3, 10, 10, 0))
    register(green, "EV002", "李四", effective_on="2026-03-05")  # registered late: 李四 since 5 March
    assert not cap_refused(national_application(green, demo.UNITS[0], "EV001"))  # 王建国: none left with him
    assert cap_refused(national_application(green, demo.UNITS[1], "EV002"))      # 李四: the 15 of 10 March
    with pytest.raises(InvalidInput) as err:  # not before the current representative took office
        register(green, "EV002", "赵六", effective_on="2026-03-05")
    assert "effective_on" in err.value.fields


# --------------------------------------------------------------------------- findings (第三十条)

FINDING = {"evaluator_id": "EV001", "kind": "fraud", "finding": "为某企业出具的绿色工厂评价报告中能耗数据与企业台账不符，系评价机构编造",
           "evidence": "企业能源台账、评价报告第12页", "found_on": "2026-02-27"}


def test_a_published_finding_names_the_evaluator_and_bans_it_for_three_years(green):
    iid = green.engine.start("evaluator_finding", FINDING, actor=province(green)).instance_id
    with green.engine.db.session() as s:
        [row] = s.scalars(select(EvaluatorFinding)).all()
        assert (row.status, row.ban_id, row.legal_representative, row.found_on) == \
            ("pending", None, "王建国", dt.date(2026, 2, 27))
        assert s.scalars(select(EvaluatorBan)).all() == [] and published_findings(s) == []
    task = green.task(iid, "confirm_finding")
    assert (task.role, task.scope) == ("province_official", "520000")

    green.step(iid, "confirm_finding", {"decision": "publish"})
    view = green.view(iid)
    assert view["status"] == "completed" and view["data"]["finding_result"]["status"] == "published"
    with green.engine.db.session() as s:
        [ban] = s.scalars(select(EvaluatorBan)).all()
        assert (ban.evaluator_id, ban.article, ban.starts_on, ban.ends_on) == \
            ("EV001", "第三十条", dt.date(2026, 3, 2), dt.date(2029, 3, 1))
        [public] = published_findings(s)
    assert public == {"evaluator_id": "EV001", "evaluator_name": "黔绿评价咨询有限公司", "legal_representative": "王建国",
                      "kind": "fraud", "kind_zh": "弄虚作假", "finding": FINDING["finding"], "found_on": "2026-02-27",
                      "published_on": "2026-03-02", "article": "第三十条", "not_accepted_until": "2029-03-01"}
    assert "evidence" not in public
    types = event_types(view)
    for expected in ("evaluator_finding_recorded", "evaluator_named", "evaluator_banned", "instance_completed"):
        assert expected in types, expected
    assert green.engine.verify_history(iid).ok

    # 第三十条: 三年内不予采信 — an application relying on its report is refused, citing the article.
    refused = green.view(green.apply(demo.UNITS[0], evaluation_mode="third_party", evaluator_id="EV001"))
    assert refused["data"]["outcome"] == "refused" and "第三十条" in refused["data"]["outcome_reason"]
    assert [v["rule"] for v in refused["data"]["eligibility"]["violations"]] == ["art30_evaluator_not_banned"]
    with green.engine.db.session() as s:  # the last day of the ban, then the day after (no 2029 calendar to run on)
        app = {"evaluation_mode": "third_party", "evaluator_id": "EV001"}
        assert art30_evaluator_not_banned(s, app, dt.date(2029, 3, 1)) != []
        assert art30_evaluator_not_banned(s, app, dt.date(2029, 3, 2)) == []


def test_a_withdrawn_finding_bans_nobody_and_is_not_published(green):
    iid = green.engine.start("evaluator_finding", FINDING, actor=province(green)).instance_id
    with pytest.raises(InvalidInput) as err:
        green.step(iid, "confirm_finding", {"decision": "withdraw"})
    assert "reason" in err.value.fields
    green.step(iid, "confirm_finding", {"decision": "withdraw", "reason": "复核发现系企业台账录入错误"})
    view = green.view(iid)
    assert view["data"]["finding_result"] == {"status": "withdrawn", "ban_id": None, "ban_starts_on": None,
                                              "ban_ends_on": None}
    assert "evaluator_finding_withdrawn" in event_types(view)
    with green.engine.db.session() as s:
        assert s.scalars(select(EvaluatorBan)).all() == [] and published_findings(s) == []
    assert green.view(green.apply(demo.UNITS[0], evaluation_mode="third_party",
                                  evaluator_id="EV001"))["data"]["eligibility"]["eligible"] is True


@pytest.mark.parametrize("field,value", [("evaluator_id", "EV404"), ("kind", "late"), ("found_on", "2026-03-09")])
def test_a_bad_finding_is_refused_naming_the_field(green, field, value):
    with pytest.raises(InvalidInput) as err:
        green.engine.start("evaluator_finding", {**FINDING, field: value}, actor=province(green))
    assert field in err.value.fields
    with green.engine.db.session() as s:
        assert s.scalars(select(EvaluatorFinding)).all() == []


# --------------------------------------------------------------------------- annual work report (第三十一条)

REPORT = {"national_evaluations": 12, "province_evaluations": 20, "city_evaluations": 31, "staff": 40,
          "qualified_staff": 18, "summary": "2025年开展国家层面绿色制造评价12项，均按《绿色制造第三方评价工作要求》开展"}


def start_reports(green, year: int = 2026) -> int:
    green.engine.clock.set(china(year, 4, 1, 9, 0, 1))  # the occurrence the scheduler would start
    data = {"scheduled_for": f"{year}-04-01T09:00:00+08:00", "scheduled_year": year}
    return green.engine.start("evaluator_work_report", data, actor=system_actor("scheduler")).instance_id


def report_task(green, iid: int, evaluator_id: str, bpmn_id: str = "fill_work_report") -> HumanTask:
    with green.engine.db.session() as s:
        [task] = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.status == "open",
                                                   HumanTask.bpmn_id == bpmn_id,
                                                   HumanTask.scope == f"evaluator:{evaluator_id}")).all()
    return task


def file_report(green, iid: int, evaluator_id: str, data=REPORT, bpmn_id: str = "fill_work_report"):
    task = report_task(green, iid, evaluator_id, bpmn_id)
    green.engine.cache.clear()
    return green.engine.complete(task.id, data, actor=green.engine.actor(f"evaluator-{evaluator_id.lower()}"))


def notifications(green) -> list[dict]:
    with green.engine.db.session() as s:
        return [r.payload for r in s.scalars(select(Outbox).where(Outbox.kind == "notification").order_by(Outbox.id))]


@pytest.fixture
def evaluators(green):
    """EV001 (national, from the fixture), EV002 (national) and EV003 (not national), with accounts."""
    register(green, "EV002", "刘芳", name="贵州节能技术服务中心")
    register(green, "EV003", "赵强", name="某绿色认证咨询公司", national=False)
    with green.engine.db.unit_of_work() as s:
        upsert_user(s, "evaluator-ev002", display_name="贵州节能技术服务中心", grants=[("evaluator", "evaluator:EV002")])
    return green


def test_the_scheduler_opens_the_work_report_on_april_1(evaluators):
    from engine import schedules

    green = evaluators
    green.engine.clock.set(china(2027, 3, 31, 9, 0))
    schedules.run_due(green.engine)  # registers the next occurrences
    green.engine.clock.set(china(2027, 4, 1, 9, 0, 1))
    started = schedules.run_due(green.engine)
    [iid] = [i for i in started if green.view(i)["process_id"] == "evaluator_work_report"]
    view = green.view(iid)
    assert view["data"]["scheduled_year"] == 2027 and view["started_by"] == "system:scheduler"
    assert [e["evaluator_id"] for e in view["data"]["evaluators"]] == ["EV001", "EV002"]


def test_work_report_returned_and_refiled_reminders_and_a_non_filer_noted_after_april_30(evaluators):
    green = evaluators
    iid = start_reports(green)
    view = green.view(iid)
    assert [e["evaluator_id"] for e in view["data"]["evaluators"]] == ["EV001", "EV002"]  # EV003 is not national
    first = report_task(green, iid, "EV001")
    assert (first.role, first.scope, first.name, first.due_at) == \
        ("evaluator", "evaluator:EV001", "填报第三方机构年度工作情况", None)
    with pytest.raises(Exception):  # another evaluator may not file EV001's report
        green.engine.complete(first.id, REPORT, actor=green.engine.actor("evaluator-ev002"))

    green.engine.clock.set(china(2026, 4, 8, 10, 0))
    with pytest.raises(InvalidInput) as err:
        file_report(green, iid, "EV001", {**REPORT, "qualified_staff": 50})
    assert "qualified_staff" in err.value.fields
    file_report(green, iid, "EV001")
    review = green.task(iid, "review_work_report_task")
    assert (review.role, review.scope) == ("province_official", "520000")
    with pytest.raises(InvalidInput):
        green.step(iid, "review_work_report_task", {"decision": "return"})  # a return needs a reason
    green.step(iid, "review_work_report_task", {"decision": "return", "reason": "请补充国家层面评价项目清单"})
    green.engine.clock.set(china(2026, 4, 10, 10, 0))
    file_report(green, iid, "EV001", {**REPORT, "summary": REPORT["summary"] + "；项目清单见附件"},
                bpmn_id="correct_work_report")
    green.step(iid, "review_work_report_task", {"decision": "accept", "opinion": "同意"})
    with green.engine.db.session() as s:
        [report] = s.scalars(select(EvaluatorWorkReport)).all()
        assert (report.evaluator_id, report.year, report.status, report.version) == ("EV001", 2026, "accepted", 2)
        assert report.history[0]["review_reason"] == "请补充国家层面评价项目清单"
        assert report.filed_at == china(2026, 4, 8, 10, 0) and report.content["summary"].endswith("项目清单见附件")

    green.engine.clock.set(china(2026, 4, 16, 9, 0, 1))
    assert green.engine.fire_due_timers() == 1
    [reminder] = notifications(green)  # only EV002, which has not filed
    assert (reminder["kind"], reminder["role"], reminder["scope"]) == ("reminder", "evaluator", "evaluator:EV002")
    assert "4月30日" in reminder["message_zh"] and "第三十一条" in reminder["message_zh"]
    green.engine.clock.set(china(2026, 4, 27, 9, 0, 1))
    assert green.engine.fire_due_timers() == 1
    assert [n["scope"] for n in notifications(green)] == ["evaluator:EV002", "evaluator:EV002"]

    green.engine.clock.set(china(2026, 4, 30, 23, 59))
    assert green.engine.fire_due_timers() == 0  # April 30 still counts
    green.engine.clock.set(china(2026, 5, 1, 0, 0, 1))
    assert green.engine.fire_due_timers() == 1
    view = green.view(iid)
    assert view["status"] == "completed"
    assert view["data"]["work_report_result"] == {"year": 2026, "accepted": ["EV001"], "returned": [],
                                                  "missing": ["EV002"], "notes": ["EV002"]}
    assert [t["status"] for t in view["tasks"] if t["scope"] == "evaluator:EV002"] == ["cancelled"]
    with green.engine.db.session() as s:
        [note] = s.scalars(select(EvaluatorNote)).all()
        assert (note.evaluator_id, note.year, note.kind, note.article, note.occurred_on) == \
            ("EV002", 2026, "work_report_not_filed", "第三十一条", dt.date(2026, 5, 1))
        assert s.scalars(select(EvaluatorBan)).all() == []  # a note, not a ban
        campaign = s.scalar(select(WorkReportCampaign))
        assert (campaign.status, campaign.instance_id, campaign.deadline) == ("closed", iid, dt.date(2026, 4, 30))
    types = event_types(view)
    for expected in ("work_report_campaign_opened", "work_report_filed", "work_report_reviewed",
                     "work_report_corrected", "work_report_reminders", "notification_queued", "timer_fired",
                     "evaluator_note_recorded", "work_report_campaign_closed", "instance_completed"):
        assert expected in types, expected
    assert green.engine.verify_history(iid).ok


def test_a_returned_report_not_corrected_by_april_30_is_noted_and_a_late_one_refused(evaluators):
    green = evaluators
    iid = start_reports(green)
    file_report(green, iid, "EV001")
    green.step(iid, "review_work_report_task", {"decision": "return", "reason": "数据不完整"})
    file_report(green, iid, "EV002")
    green.engine.clock.set(china(2026, 5, 1, 0, 0, 30))  # the worker has not fired the deadline yet
    with pytest.raises(RuleViolation) as err:
        file_report(green, iid, "EV001", bpmn_id="correct_work_report")
    assert err.value.article == "第三十一条"
    assert green.engine.fire_due_timers() >= 1  # reminders catch up (too late: nobody) and the deadline fires
    assert notifications(green) == []
    with green.engine.db.session() as s:
        assert [(n.evaluator_id, n.kind) for n in s.scalars(select(EvaluatorNote))] == \
            [("EV001", "work_report_not_corrected")]
    # EV002's report was filed in time: its review may still be done after April 30.
    assert green.view(iid)["status"] != "completed"
    green.step(iid, "review_work_report_task", {"decision": "accept"})
    view = green.view(iid)
    assert view["status"] == "completed"
    assert view["data"]["work_report_result"] == {"year": 2026, "accepted": ["EV002"], "returned": ["EV001"],
                                                  "missing": [], "notes": ["EV001"]}
