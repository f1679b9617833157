"""Pages that answer “what do I do next” (issue 15): where each role lands, the applicant's own
page, the apply form's defaults and messages, the words of the history, the favicon, the CLI."""
from __future__ import annotations

import io
import json
import re

import pytest

from handlers import demo
from tests.scenarios.driver import PASS, form_post
from tests.web.login_helpers import PASSWORD
from web import vocab

U1, U2 = demo.UNITS[0], demo.UNITS[1]
RETURN = {"decision": "return", "opinion": "需补充", "reason": "请补充能源计量器具配备情况"}


@pytest.mark.parametrize("username, landing", [
    ("county-520302", "/inbox/"), ("eco-520300", "/inbox/"), ("expert", "/inbox/"), ("province", "/inbox/"),
    ("ent-u1", "/portal/"), ("owner", "/modeler/"), ("auditor", "/audit/"), (None, "/public/notices"),
])
def test_each_role_lands_on_its_work(site, username, landing):
    response = site.client(username).get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith(landing)


def test_logging_in_goes_straight_to_the_work(site):
    from engine.identity import hash_password, upsert_user

    with site.engine.db.unit_of_work() as s:
        upsert_user(s, "ent-u1", display_name=U1.name, grants=[("applicant", f"unit:{U1.credit_code}")],
                    password_hash=hash_password(PASSWORD))
    response = site.app.test_client().post("/auth/login", data={"username": "ent-u1", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")


def test_the_favicon_is_served(site):
    response = site.client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/x-icon" and response.data[:4] == b"\0\0\1\0"
    assert 'rel="icon"' in site.client().get("/public/notices").get_data(as_text=True)


def test_the_applicant_amends_on_a_page_of_its_own(site):
    green = site.scenario
    iid = green.apply(U1)
    green.step(iid, "review", RETURN)
    amend = green.task(iid, "amend")
    client = site.client("ent-u1")
    portal = client.get("/portal/").get_data(as_text=True)
    assert 'data-testid="to-do"' in portal and f'href="/portal/tasks/{amend.id}"' in portal
    page = client.get(f"/portal/tasks/{amend.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    reason = re.search(r'data-testid="return-reason">(.*?)</section>', html, re.S).group(1)
    assert "请补充能源计量器具配备情况" in reason and "红花岗区工信局" in reason and "退回修改" in reason
    assert html.index("return-reason") < html.index('data-testid="task-form"')  # the reason on top
    assert 'data-testid="deadline"' in html and 'data-testid="kept-files"' in html
    for official_only in ("认领", "转办", "委派", "抄送", "返回待办"):
        assert official_only not in html
    refused = client.post(f"/portal/tasks/{amend.id}", data={"energy_tce": "1700"})
    assert refused.status_code == 422 and "请填写修改说明" in refused.get_data(as_text=True)
    done = client.post(f"/portal/tasks/{amend.id}", data={"amend_note": "已补充", "energy_tce": "1700"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/portal/")
    assert green.open_tasks(iid) == ["review"]


def test_the_portal_task_page_is_the_units_only(site):
    green = site.scenario
    iid = green.apply(U1)
    green.step(iid, "review", RETURN)
    amend = green.task(iid, "amend")
    assert site.client("ent-u2").get(f"/portal/tasks/{amend.id}").status_code == 403
    assert site.client("ent-u1").get("/portal/tasks/999999").status_code == 404
    review = green.task(green.apply(U2), "review")
    assert site.client("ent-u2").get(f"/portal/tasks/{review.id}").status_code == 403  # an official's step


def test_the_apply_form_starts_with_what_the_platform_knows(site):
    html = site.client("ent-u1").get("/portal/apply").get_data(as_text=True)
    year = site.engine.clock.now().year
    assert re.search(rf'name="year" value="{year}"', html)
    assert f'name="unit_name" value="{U1.name}"' in html and f'name="credit_code" value="{U1.credit_code}"' in html
    assert re.search(rf'<option value="{U1.county}" selected>', html)


@pytest.mark.parametrize("field, post, message", [
    ("year", {"year": ""}, "请填写申报年度"),
    ("unit_type", {"unit_type": ""}, "请选择申报类型"),
    ("report_file", {}, "请上传评价报告"),
    ("contact_phone", {"contact_phone": "12345"}, "联系电话格式不正确：请填写手机号或带区号的固定电话"),
    ("energy_tce", {"energy_tce": "-5"}, "年综合能源消费量（吨标准煤）不能小于 0"),
])
def test_apply_messages_name_the_field_and_what_to_do(site, field, post, message):
    form = {**demo.application_data(U1), "report_file": None, **post}
    data = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in form.items() if v is not None}
    response = site.client("ent-u1").post("/portal/apply", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    wrapper = html.split(f'data-field="{field}"', 1)[1].split('data-field="', 1)[0]
    assert message in wrapper and "required:" not in html and "必填 /" not in html


def test_an_english_message_in_english(site):
    response = site.client("ent-u1").post("/portal/apply?lang=en", data={"year": ""})
    assert "Please fill in Application year" in response.get_data(as_text=True)


def test_a_kept_file_is_named_not_hashed_when_the_form_comes_back(site, tmp_path):
    client = site.client("ent-u1")
    pdf = b"%PDF-1.4\n% demo\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    form = form_post({k: v for k, v in demo.application_data(U1, target_level="province").items()
                      if k != "report_file"})
    first = client.post("/portal/apply", data={**form, "report_file": (io.BytesIO(pdf), "评价报告.pdf")},
                        content_type="multipart/form-data")
    assert first.status_code == 303
    iid = int(first.headers["Location"].rsplit("/", 1)[1])
    site.scenario.step(iid, "review", RETURN)
    amend = site.scenario.task(iid, "amend")
    page = client.get(f"/portal/tasks/{amend.id}").get_data(as_text=True)
    sha = re.search(r'name="report_file" value="sha256:([0-9a-f]{64})"', page).group(1)
    again = client.post(f"/portal/tasks/{amend.id}", data={"report_file": f"sha256:{sha}",
                                                           "report_file--filename": "评价报告.pdf"})
    html = again.get_data(as_text=True)
    assert again.status_code == 422 and ">评价报告.pdf</a>" in html and f"sha256:{sha[:12]}…" not in html


def test_the_history_reads_in_words_with_system_actions_named_as_such(site):
    green = site.scenario
    iid = green.to_notice(U1)
    html = site.client("city-520300").get(f"/instances/{iid}").get_data(as_text=True)
    timeline = re.search(r'data-testid="timeline">(.*?)</ol>', html, re.S).group(1)
    assert "通过" in timeline and "无异议" in timeline
    words = re.sub(r"<[^>]+>", " ", timeline)  # what people read, not the attributes
    assert not re.search(r"\b(pass|no_objection|task_completed|county-520302|tax-520300)\b", words)
    notice = re.search(r'<li data-event="notice_opened">(.*?)</li>', timeline, re.S).group(1)
    assert "公示开始" in notice and "系统" in notice and "税务" not in notice
    status = re.search(r'data-testid="instance-status">(.*?)</dd>', html).group(1)
    assert status.startswith("公示中（至 20")


def test_vocab_labels_prefer_the_forms_titles_and_never_show_a_code(site):
    with site.app.test_request_context("/"):
        prop = {"oneOf": [{"const": "pass", "title": "同意通过", "x-title-en": "Agreed"}]}
        assert vocab.decision_label("pass", prop) == "同意通过"
        assert vocab.decision_label("pass") == "通过"
        assert vocab.decision_label("level_9") == "其他"
        assert vocab.decision_label("材料齐全") == "材料齐全"
        assert vocab.actor_label("system:scheduler") == "系统" and vocab.actor_label("public:objection-e6e9") == "公众"
        assert vocab.actor_label("county-520302", {"county-520302": "红花岗区工信局"}) == "红花岗区工信局"
        assert "county" not in vocab.actor_label("county-520302")
        assert vocab.event_label("brand_new_event") == "系统记录"
        assert vocab.event_actor_label("notice_opened", "tax-520300") == "系统"
    with site.app.test_request_context("/?lang=en"):
        assert vocab.decision_label("pass") == "Pass" and vocab.actor_label("system:x") == "System"


def test_the_calendar_page_shows_china_time(site):
    html = site.client("owner").get("/admin/calendar").get_data(as_text=True)
    assert "(UTC)" not in html and "+00:00" not in html
    assert re.search(r"<td>\d{4}-\d{2}-\d{2} \d{2}:\d{2}</td>", html)


def test_the_cli_shows_our_commands_and_takes_json_before_the_command(site):
    site.scenario.apply(U1)
    runner = site.app.test_cli_runner()
    from web.cli import main

    helped = runner.invoke(main, ["--help"])
    assert helped.exit_code == 0
    assert "--app" not in helped.output and "--env-file" not in helped.output and "limiter" not in helped.output
    before = runner.invoke(main, ["--json", "instances", "show", "1"])
    after = runner.invoke(main, ["instances", "show", "1", "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["id"] == 1 == json.loads(after.output)["id"]


def test_a_task_name_and_outcome_in_the_list_read_as_words(site):
    green = site.scenario
    iid = green.apply(U1)
    green.step(iid, "review", PASS, as_user="county-520302")
    html = site.client("county-520302").get("/inbox/?tab=done").get_data(as_text=True)
    assert "已办理 · 通过" in html and "· pass" not in html


def test_the_audit_pages_read_a_running_notice_as_such(site):
    """The auditors' search and step pages say 公示中（至…） like every other page, not 等待中."""
    iid = site.scenario.to_notice(U1)
    auditor = site.client("auditor")
    found = auditor.get(f"/audit/?unit={U1.credit_code}").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*>\s*<td>{iid}</td>.*?</tr>', found, re.S).group(0)
    assert "公示中（至 20" in row and "等待中" not in row
    page = auditor.get(f"/audit/instances/{iid}").get_data(as_text=True)
    assert "公示中（至 20" in page
