"""The reviewer's task page: the checks of 第十、十一、十二条 beside the evidence, one reason field per
原则上 flag, and a pass without a reason refused (422) with the error next to that flag."""
from __future__ import annotations

import io

from handlers import demo
from handlers.rules.eligibility_examples import sample_evidence
from tests.scenarios.driver import form_post

U1 = demo.UNITS[0]
COUNTY = f"county-{U1.county}"
MISSED = {**sample_evidence("factory", energy_tce=1800.0)["factory_evidence"], "efficiency_value": 131.0}
RULE = "art10_item3_below_quota_level"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0]


def test_the_review_page_shows_each_check_beside_its_evidence_and_a_reason_field_per_flag(site):
    iid = site.scenario.apply(U1, factory_evidence=MISSED)
    task = site.scenario.task(iid, "review")
    html = site.client(COUNTY).get(f"/tasks/{task.id}").get_data(as_text=True)
    checks = _section(html, "eligibility-checks")
    for expected in ("第十条第1项", "独立法人", "第十条第2项", "《绿色工厂评价通则》GB/T 36132", "第十条第3项", "131",
                     "原则上条款未满足", "第十条第4项", "按当量值核算", "1800"):
        assert expected in checks, expected
    assert 'data-check="第十条-3" data-status="flag"' in checks and 'data-check="第十条-1" data-status="pass"' in checks
    form = _section(html, "task-form")
    assert f'name="flag_acks-{RULE}"' in form and "未达到" in form  # labelled with the flag, not its id
    english = site.client(COUNTY).get(f"/tasks/{task.id}?lang=en").get_data(as_text=True)
    assert "Article 10, item 3" in _section(english, "eligibility-checks")


def test_a_pass_without_the_reason_is_refused_next_to_the_flag_and_with_it_goes_on(site):
    iid = site.scenario.apply(U1, factory_evidence=MISSED)
    task = site.scenario.task(iid, "review")
    client = site.client(COUNTY)
    refused = client.post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "符合要求"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    wrapper = html.split(f'data-field="flag_acks.{RULE}"', 1)[1].split('data-field="', 1)[0]
    assert "通过前须说明研判理由" in wrapper and "第十条第3项" in wrapper
    assert site.scenario.task(iid, "review").id == task.id  # nothing recorded
    done = client.post(f"/tasks/{task.id}", data={"decision": "pass", f"flag_acks-{RULE}": "已完成节能改造"})
    assert done.status_code in (302, 303)
    view = site.engine.instance(iid)
    assert view["data"]["eligibility"]["acknowledgements"]["county"][0]["reason"] == "已完成节能改造"
    city = site.scenario.task(iid, "review")
    page = site.client("city-520300").get(f"/tasks/{city.id}").get_data(as_text=True)
    assert "县级审核研判：已完成节能改造" in _section(page, "eligibility-checks")


def test_the_apply_form_takes_the_evidence_of_the_unit_type(site):
    client = site.client("ent-u1")
    page = client.get("/portal/apply").get_data(as_text=True)
    for field in ("factory_evidence.legal_status", "park_evidence.industrial_value_added_share",
                  "supply_chain_evidence.supplier_plan_title"):
        assert f'data-field="{field}"' in page, field
    data = form_post({k: v for k, v in demo.application_data(U1).items() if k != "factory_evidence"})
    refused = client.post("/portal/apply", data=data)
    assert refused.status_code == 422 and "绿色工厂申报条件" in refused.get_data(as_text=True)
    data = {**form_post(demo.application_data(U1)), "report_file": (io.BytesIO(PDF), "评价报告.pdf", "application/pdf")}
    accepted = client.post("/portal/apply", data=data, content_type="multipart/form-data")
    html = accepted.get_data(as_text=True)
    assert accepted.status_code == 303, [line for line in html.splitlines() if "error" in line][:10]
    iid = int(accepted.headers["Location"].rsplit("/", 1)[1])
    evidence = site.engine.instance(iid)["data"]["application"]["factory_evidence"]
    assert evidence["actually_producing"] is True and evidence["electricity_10k_kwh"] > 0
