"""A refusal on a page is a sentence for people, never the engine's English (issue 15 item 2)."""
from __future__ import annotations

import html

from handlers import demo
from tests.scenarios.driver import PASS
from tests.web.test_inbox import task_ids

U1 = demo.UNITS[0]  # 红花岗区 520302 (遵义市)
COUNTY = f"county-{U1.county}"


def visible(response) -> str:
    return response.get_data(as_text=True).split('data-testid="error-message">', 1)[1].split("</p>", 1)[0]


def test_a_bulk_answer_to_another_bureaus_step_is_refused_in_words_without_accounts(site):
    green = site.scenario
    iid = green.apply(U1)
    green.step(iid, "review", PASS)
    green.step(iid, "review", PASS)  # now the four bureaus are consulted
    taxes = task_ids(site.client("tax-520300").get("/inbox/?tab=claimable").get_data(as_text=True))
    client = site.client("eco-520300")
    for lang, expected, bad_id in (
            ("zh", "您没有办理“税务部门意见”的权限：它属于其他岗位或单位", "“x1”不是有效的事项编号"),
            ("en", "You may not act on “Tax bureau's opinion”: it belongs to another role or unit",
             "“x1” is not a task number")):
        client.post(f"/inbox/bulk?lang={lang}", data={"task_id": [str(taxes[0]), "x1"], "next": "/inbox/"})
        page = html.unescape(client.get(f"/inbox/?lang={lang}").get_data(as_text=True))
        assert expected in page and bad_id in page
        assert "tax-520300" not in page and "eco-520300" not in page
    assert green.task(iid, "opinion_tax").status == "open"


def test_a_missing_task_and_a_missing_page_are_said_plainly(site):
    client = site.client(COUNTY)
    assert visible(client.get("/tasks/987654")) == "事项 987654 不存在"
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and visible(missing) == "页面不存在，或已被移除"
    assert visible(client.get("/no-such-page?lang=en")) == "This page does not exist or was removed"


def test_a_message_no_pattern_knows_is_shown_as_the_engine_wrote_it(site):
    from web.error_words import for_people

    with site.app.test_request_context("/"):
        assert for_people("deployment refused, 1 problem(s)") == "deployment refused, 1 problem(s)"
        assert for_people("task 7 (县级审核) was already cancelled") == "“县级审核”已结束，无需再办"
        assert for_people(f"task 7 (县级审核) is claimed by {COUNTY}") == (
            "“县级审核”已由 红花岗区工信局 认领；如需办理，请联系其释放或由上级转办")
