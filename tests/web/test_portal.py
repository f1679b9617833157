"""The applicant portal: apply, follow, amend when returned, read the decision."""
from __future__ import annotations

from handlers import demo
from tests.scenarios.driver import PASS

U1, U5 = demo.UNITS[0], demo.UNITS[4]
RETURN = {"decision": "return", "opinion": "需补充", "reason": "请补充能源审计报告"}


def test_applicant_sees_only_its_own_applications(site):
    green = site.scenario
    mine, theirs = green.apply(U1), green.apply(demo.UNITS[1])
    html = site.client("ent-u1").get("/portal/").get_data(as_text=True)
    assert f'data-instance-id="{mine}"' in html and f'data-instance-id="{theirs}"' not in html
    assert site.client("ent-u1").get(f"/portal/applications/{mine}").status_code == 200
    assert site.client("ent-u1").get(f"/portal/applications/{theirs}").status_code == 403
    assert site.client("ent-u1").get(f"/instances/{theirs}").status_code == 403
    assert site.client("ent-u1").get("/portal/applications/999999").status_code == 404


def test_officials_have_no_portal(site):
    assert site.client(f"county-{U1.county}").get("/portal/").status_code == 403


def test_apply_form_refuses_bad_input_with_field_errors(site):
    client = site.client("ent-u1")
    page = client.get("/portal/apply").get_data(as_text=True)
    assert U1.credit_code in page  # prefilled with the unit's own code
    response = client.post("/portal/apply", data={"unit_name": "某公司", "year": "二〇二六"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-field="year"' in html and "某公司" in html


def test_amendment_loop(site):
    green = site.scenario
    iid = green.apply(U1)
    green.step(iid, "review", RETURN)
    client = site.client("ent-u1")
    html = client.get(f"/portal/applications/{iid}").get_data(as_text=True)
    assert 'data-testid="amend-needed"' in html
    amend = green.task(iid, "amend")
    form = client.get(f"/tasks/{amend.id}").get_data(as_text=True)
    assert "请补充能源审计报告" in form and U1.name in form  # the reason, and the form prefilled
    response = client.post(f"/tasks/{amend.id}", data={"amend_note": "已补充能源审计报告", "energy_tce": "1750.5"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
    assert green.open_tasks(iid) == ["review"]
    assert site.engine.instance(iid)["data"]["application"]["energy_tce"] == 1750.5


def test_decision_with_reason_and_article(site):
    green = site.scenario
    iid = green.apply(U5)  # a tobacco-supply unit: refused under 第五条
    html = site.client("ent-u5").get(f"/portal/applications/{iid}").get_data(as_text=True)
    assert 'data-testid="decision"' in html and "不予受理" in html and "第五条" in html


def test_applicant_timeline_hides_internal_work(site):
    green = site.scenario
    iid = green.apply(U1)
    task = green.task(iid, "review")
    site.engine.comment(task.id, "内部意见：待核实", actor=site.engine.actor(f"county-{U1.county}"))
    green.step(iid, "review", PASS)
    html = site.client("ent-u1").get(f"/portal/applications/{iid}").get_data(as_text=True)
    assert "内部意见" not in html and 'data-event="task_completed"' in html


def test_a_factory_sees_its_green_code_and_position(site):
    import datetime as dt

    from handlers.green_codes import GreenCode

    with site.engine.db.unit_of_work() as s:
        s.add(GreenCode(year=2025, credit_code=U1.credit_code, code="A", score=0.71, rank=12, cohort_size=100,
                        industry_code="39", industry_rank=3, industry_size=20, industry_tier="A",
                        config_version=1, computed_at=dt.datetime(2026, 4, 16, tzinfo=dt.timezone.utc)))
    html = site.client("ent-u1").get("/portal/").get_data(as_text=True)
    panel = html[html.index('data-testid="green-code"'):]
    assert "2025 年度企业绿码" in panel and ">A<" in panel and "全省第 12 名 / 共 100 家" in panel
    assert "行业内第 3 名 / 共 20 家" in panel
    assert 'data-testid="green-code"' not in site.client("ent-u2").get("/portal/").get_data(as_text=True)
