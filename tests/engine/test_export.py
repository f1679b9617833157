"""Exports for process mining and for the record, read back with pm4py (a test-only dependency).

The whole year of the province (tests/scenarios/test_whole_year.py) is the source: every process
of the regulation, with complaints, objections, annual tables and evaluators. XES must import and
yield a process model; OCEL 2.0 must import with the right objects and events, an application's
events meeting its unit's complaint on the unit; CSV opens as UTF-8 with a BOM. Personal data is
masked unless asked for. Both databases.
"""
from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from sqlalchemy import func, select

from lxml import etree

from engine.errors import InvalidInput
from engine.exports import ExportFilter, export
from engine.exports.masking import Masker, mask_text
from engine.exports.xes import NS
from engine.models import Event, ProcessInstance
from handlers import demo
from handlers.audit_objects import DOMAIN, PERSONAL_KEYS
from handlers.complaints import Complaint
from handlers.records import AnnualFiling, ApplicationRecord, Evaluator, Notice, Objection, Unit
from tests.scenarios import test_whole_year as wy

pm4py = pytest.importorskip("pm4py")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pm4py")  # "install r4pm to go faster"

PERSONAL = ("13900000000", "520102198805051234", "李某", "13800000000", "王某", "520102199001011234")


def run_the_year(green) -> dict[str, int]:
    """The whole-year scenario, as its test runs it; the instances of its stories."""
    year = wy.Year(green)
    green.engine.clock.set(wy.china("01-05 08:00"))
    wy.january_seed_the_province(year)
    complaints = wy.january_february_complaints(year)
    wy.march_april_annual_tables(year)
    wy.may_change_and_incident(year)
    batch = wy.june_national_recommendation_opens(year)
    applications = wy.june_july_applications(year)
    wy.july_november_recommendation(year, batch)
    wy.december_publications(year)
    reapplied = wy.december_barred_reapplication(year)
    year.at("12-31 18:00")
    return {"confirmed_complaint": complaints["confirmed"], "z3_reapplication": reapplied, **applications}


def write(green, fmt: str, tmp_path, **kw):
    path = tmp_path / f"log.{fmt}"
    with path.open("wb") as fh:
        summary = export(green.engine.db, fmt, fh, domain=DOMAIN, process_names=green.engine.process_names(),
                         now=green.engine.clock.now(), **kw)
    return path, summary


def counts(green) -> tuple[int, int]:
    with green.engine.db.session() as s:
        return (s.scalar(select(func.count()).select_from(ProcessInstance)),
                s.scalar(select(func.count()).select_from(Event)))


@pytest.fixture
def year(green):
    return green, run_the_year(green)


@pytest.mark.slow
def test_the_whole_year_exports_to_xes_ocel_and_csv_that_pm4py_reads(year, tmp_path):
    green, stories = year
    instances, events = counts(green)

    # XES: one trace per instance, every event, the standard attributes; a model can be discovered.
    path, summary = write(green, "xes", tmp_path)
    assert (summary.cases, summary.events) == (instances, events)
    log = pm4py.read_xes(str(path), return_legacy_log_object=False)
    assert len(log) == events and log["case:concept:name"].nunique() == instances
    assert {"concept:name", "org:resource", "org:role", "lifecycle:transition", "time:timestamp",
            "case:unit_type", "case:level", "case:county", "case:outcome"} <= set(log.columns)
    assert str(log["time:timestamp"].dt.tz) == "UTC"
    assert "审核" in set(log["concept:name"]) and "县级工信部门" in set(log["org:role"])
    assert set(log["lifecycle:transition"]) == {"schedule", "complete", "withdraw"}
    applications = pm4py.filter_event_attribute_values(
        log, "case:greenflow:process", ["green_application"], level="case")
    net, initial, final = pm4py.discover_petri_net_inductive(
        pm4py.filter_event_attribute_values(applications, "lifecycle:transition", ["complete"], level="event"))
    assert len(net.transitions) > 10 and initial and final
    assert not any(secret in path.read_text("utf-8") for secret in PERSONAL)
    first = etree.parse(str(path)).getroot().find(f"{{{NS}}}trace/{{{NS}}}event/{{{NS}}}date")
    assert first is not None and first.get("key") == "time:timestamp"  # in the XES namespace, as read

    # OCEL 2.0: every object type, the right counts, events linked to what they touch.
    path, summary = write(green, "ocel", tmp_path)
    ocel = pm4py.read_ocel2_json(str(path))
    with green.engine.db.session() as s:
        expected = Counter({"instance": instances, "unit": s.scalar(select(func.count()).select_from(Unit)),
                            "application": s.scalar(select(func.count()).select_from(ApplicationRecord)),
                            "notice": s.scalar(select(func.count()).select_from(Notice)),
                            "objection": s.scalar(select(func.count()).select_from(Objection)),
                            "complaint": s.scalar(select(func.count()).select_from(Complaint)),
                            "annual_table": s.scalar(select(func.count()).select_from(AnnualFiling)),
                            "evaluator": s.scalar(select(func.count()).select_from(Evaluator))})
        z3 = s.scalar(select(Complaint.credit_code).where(Complaint.instance_id == stories["confirmed_complaint"]))
    assert len(ocel.events) == summary.events == events
    assert Counter(ocel.objects["ocel:type"]) == expected and all(expected.values())
    assert summary.objects == sum(expected.values())
    relations = ocel.relations
    on_z3 = relations[relations["ocel:oid"] == f"unit:{z3}"]
    instances_on_z3 = {int(eid.split("-")[0].removeprefix("e")) for eid in on_z3["ocel:eid"]}
    assert {stories["confirmed_complaint"], stories["z3_reapplication"]} <= instances_on_z3  # they meet on the unit
    objections = relations[relations["ocel:type"] == "objection"]
    assert set(objections["ocel:activity"]) >= {"收到公示异议", "登记公示异议"}

    # CSV: UTF-8 with a BOM, a header and one row per event.
    path, summary = write(green, "csv", tmp_path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == events + 1 and rows[0][0] == "实例 (instance)" and "结果 (outcome)" in rows[0]
    assert not any(secret in raw.decode("utf-8") for secret in PERSONAL)


def test_personal_data_is_masked_unless_asked_for(green, tmp_path):
    iid = green.to_notice()
    green.object(iid)  # 王某, 13800000000, 520102199001011234
    for fmt in ("xes", "ocel", "csv"):
        masked = write(green, fmt, tmp_path)[0].read_bytes().decode("utf-8")
        assert not any(secret in masked for secret in ("13800000000", "王某", "520102199001011234", "张经理"))
        assert "138****0000" in masked and "王*" in masked and "520102********1234" in masked
        assert "遵义黔北绿色电子科技有限公司" in masked  # a company's name is not personal data
        plain, summary = write(green, fmt, tmp_path, unmasked=True)
        assert "13800000000" in plain.read_text("utf-8") and not summary.masked


def test_filters_choose_the_cases(green, tmp_path):
    first = green.apply()
    green.engine.clock.advance(days=3)
    second = green.apply(demo.UNITS[1])
    _, by_process = write(green, "csv", tmp_path, flt=ExportFilter(process_id="green_application"))
    _, later = write(green, "csv", tmp_path, flt=ExportFilter(since=green.engine.clock.now().date()))
    _, none = write(green, "csv", tmp_path, flt=ExportFilter(status="completed"))
    assert (by_process.cases, later.cases, none.cases) == (2, 1, 0)
    path, _ = write(green, "xes", tmp_path, flt=ExportFilter(instance_ids=(second,)))
    assert f'value="{second}"' in path.read_text("utf-8") and f'key="greenflow:instance" value="{first}"' not in \
        path.read_text("utf-8")


@pytest.mark.parametrize("value, masked", [("李某", "李*"), ("张经理", "张**"), ("13800000000", "138****0000"),
                                           ("0851-88880000", "085******0000"), ("520102199001011234",
                                                                                "520102********1234"), ("王", "*")])
def test_mask_text_keeps_the_shape_and_little_else(value, masked):
    assert mask_text(value) == masked


def test_a_name_is_personal_only_in_a_persons_record():
    masker = Masker(PERSONAL_KEYS)
    payload = {"name": "审核", "data": {"decision": "pass"},
               "payload": {"name": "王某", "contact": "13800000000", "matter": "扬尘"},
               "application": {"unit_name": "某公司", "contact_name": "张经理", "contact_phone": "0851-88880000"}}
    assert masker(payload) == {"name": "审核", "data": {"decision": "pass"},
                               "payload": {"name": "王*", "contact": "138****0000", "matter": "扬尘"},
                               "application": {"unit_name": "某公司", "contact_name": "张**",
                                               "contact_phone": "085******0000"}}
    assert payload["payload"]["name"] == "王某"  # the input is left alone


def test_an_unknown_format_is_refused(green, tmp_path):
    with pytest.raises(InvalidInput, match="format"):
        write(green, "pdf", tmp_path)
