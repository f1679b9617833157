"""Drives the green-manufacturing processes through the engine as their users would (tests only)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.identity import public_actor
from engine.models import HumanTask
from handlers import demo
from handlers.records import ApplicationRecord, Listing

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
PUBLIC = public_actor("objector")
PASS = {"decision": "pass", "opinion": "符合要求"}
NO_OBJECTION = {"opinion": "no_objection"}
BUREAUS = ("opinion_eco", "opinion_emergency", "opinion_market", "opinion_tax")
OBJECTION = {"name": "王某", "id_number": "520102199001011234", "contact": "13800000000",
             "matter": "该企业去年曾发生环境污染事件", "evidence": "照片 3 张"}


def form_post(data: dict, prefix: str = "") -> dict[str, str]:
    """``data`` as a browser posts the form: nested objects as ``outer-inner`` names (web.formkit),
    booleans as "true"/"false", None left out (the evidence objects of docs/eligibility.md)."""
    post: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            post.update(form_post(value, f"{prefix}{key}-"))
        else:
            post[f"{prefix}{key}"] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return post


class Scenario:
    def __init__(self, engine):
        self.engine = engine

    def apply(self, unit=demo.UNITS[0], **overrides) -> int:
        data = demo.application_data(unit, **overrides)
        return self.engine.start("green_application", data, actor=demo.applicant(self.engine, unit)).instance_id

    def to_notice(self, unit=demo.UNITS[0], **overrides) -> int:
        """A city-level application passed by county and city and all four bureaus: its notice runs."""
        iid = self.apply(unit, **overrides)
        self.step(iid, "review", PASS)
        self.step(iid, "review", PASS)
        self.consult(iid)
        return iid

    def task(self, iid: int, bpmn_id: str) -> HumanTask:
        with self.engine.db.session() as s:
            rows = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == bpmn_id,
                                                     HumanTask.status == "open")).all()
        assert len(rows) == 1, f"expected one open {bpmn_id}, found {len(rows)}: {self.open_tasks(iid)}"
        return rows[0]

    def open_tasks(self, iid: int) -> list[str]:
        with self.engine.db.session() as s:
            return sorted(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == iid,
                                                                    HumanTask.status == "open")))

    def step(self, iid: int, bpmn_id: str, data: dict, *, as_user: str | None = None):
        task = self.task(iid, bpmn_id)
        data = self.acknowledging(iid, bpmn_id, data)
        self.engine.cache.clear()  # the next command restores the instance from the database
        actor = self.engine.actor(as_user or demo.user_for(task.role, task.scope))
        return self.engine.complete(task.id, data, actor=actor)

    # --- the province's expert panel (第十八条, docs/expert-panel.md)

    def pass_review(self, iid: int, *, as_user: str | None = None):
        """Pass the open review, with a reason for each in-principle flag (原则上, e.g. 第二十二条) if any."""
        flags = self.view(iid)["data"].get("eligibility", {}).get("flags") or []
        acks = {f["rule"]: "已研判，同意推荐" for f in flags}
        return self.step(iid, "review", {**PASS, "flag_acks": acks} if acks else PASS, as_user=as_user)

    def to_panel(self, unit=demo.UNITS[3], **overrides) -> int:
        """A province-level application passed by county and city: the province's panel is drawn."""
        iid = self.apply(unit, **{"target_level": "province", **overrides})
        self.pass_review(iid)
        self.pass_review(iid)
        return iid

    def panel_tasks(self, iid: int) -> list[HumanTask]:
        """The open 专家评分 tasks of ``iid`` in draw order (one per drawn expert, assigned to them)."""
        with self.engine.db.session() as s:
            return list(s.scalars(select(HumanTask).where(HumanTask.instance_id == iid,
                                                          HumanTask.bpmn_id == "expert_score",
                                                          HumanTask.status == "open").order_by(HumanTask.id)))

    def panel(self, iid: int, scores, *, site_check: bool = False, opinion: str = "符合绿色制造要求"):
        """Each drawn expert answers in draw order: an int is a score, a str declares a conflict (its reason),
        a dict is the whole form. ``site_check``: the first scoring expert asks for a site check."""
        tasks = self.panel_tasks(iid)
        assert len(tasks) == len(scores), f"{len(tasks)} experts drawn, {len(scores)} answers: {self.open_tasks(iid)}"
        asked = False
        for task, answer in zip(tasks, scores):
            if isinstance(answer, str):
                answer = {"conflict_of_interest": True, "conflict_reason": answer}
            elif isinstance(answer, int):
                answer = {"conflict_of_interest": False, "expert_score": answer, "expert_opinion": opinion,
                          "site_check_needed": site_check and not asked}
                asked = asked or site_check
            self.engine.cache.clear()
            self.engine.complete(task.id, answer, actor=self.engine.actor(task.assignee))
        return [t.assignee for t in tasks]

    def acknowledging(self, iid: int, bpmn_id: str, data: dict) -> dict:
        """A review that passes without ``flag_acks`` gives a reason for every 原则上 flag, as a reviewer
        who read them would (a pass without them is refused: tests/scenarios/test_eligibility.py)."""
        if bpmn_id != "review" or data.get("decision") != "pass" or "flag_acks" in data:
            return data
        flags = (self.engine.instance(iid)["data"].get("eligibility") or {}).get("flags") or []
        return {**data, "flag_acks": {f["rule"]: "已核实，同意" for f in flags}} if flags else data

    def consult(self, iid: int, answers: dict | None = None) -> None:
        for branch in BUREAUS:
            self.step(iid, branch, (answers or {}).get(branch, NO_OBJECTION))

    def end_notice(self) -> int:
        """Move past the end of a 7-working-day notice (at most 15 calendar days) and fire."""
        self.engine.clock.advance(days=15)
        return self.engine.fire_due_timers()

    def view(self, iid: int) -> dict:
        return self.engine.instance(iid)

    def object(self, iid: int, **overrides):
        return self.engine.deliver(iid, "notice_objection", {**OBJECTION, **overrides}, actor=PUBLIC)

    def listings(self, credit_code: str) -> list[tuple[str, str, str]]:
        with self.engine.db.session() as s:
            return sorted((l.level, l.scope, l.status) for l in s.scalars(
                select(Listing).where(Listing.credit_code == credit_code)))

    def record(self, iid: int) -> ApplicationRecord:
        with self.engine.db.session() as s:
            return s.scalar(select(ApplicationRecord).where(ApplicationRecord.instance_id == iid))



    # --- added for tests/scenarios/test_whole_year.py: several open tasks of one id in one instance
    # (a campaign's filings and reviews), and a worker's catch-up of every due timer.

    def task_in(self, iid: int, bpmn_id: str, scope: str) -> HumanTask:
        """The one open ``bpmn_id`` task of ``iid`` in ``scope`` (e.g. one unit's filing in a campaign)."""
        with self.engine.db.session() as s:
            rows = s.scalars(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == bpmn_id,
                                                     HumanTask.scope == scope, HumanTask.status == "open")).all()
        assert len(rows) == 1, f"expected one open {bpmn_id} at {scope}, found {len(rows)}: {self.open_tasks(iid)}"
        return rows[0]

    def step_in(self, iid: int, bpmn_id: str, scope: str, data: dict, *, as_user: str | None = None):
        task = self.task_in(iid, bpmn_id, scope)
        self.engine.cache.clear()
        actor = self.engine.actor(as_user or demo.user_for(task.role, task.scope))
        return self.engine.complete(task.id, data, actor=actor)

    def fire_all(self, *, rounds: int = 50) -> int:
        """Fire due timers until none is due (one timer per instance and call), as a worker catching up."""
        total = 0
        for _ in range(rounds):
            fired = self.engine.fire_due_timers()
            if not fired:
                return total
            total += fired
        raise AssertionError(f"timers still firing after {rounds} rounds")
