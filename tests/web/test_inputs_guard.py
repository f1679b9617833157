"""The boundary (web/inputs_guard.py): text that is not valid Unicode is a 400 naming where it is,
and nothing behind it runs — no event, no incident, the row version unchanged (both databases)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.models import Event, Incident, ProcessInstance
from handlers import demo
from tests.web.test_api import COUNTY, app, as_user, assert_error, open_task, start  # noqa: F401  (fixtures)

SURROGATE_UTF8 = b"\xed\xa0\x80"  # U+D800 encoded as if it were a character: not UTF-8
U1 = demo.UNITS[0]


def snapshot(engine, iid: int) -> tuple:
    with engine.db.session() as s:
        row = s.get(ProcessInstance, iid)
        events = s.scalar(select(func.count()).select_from(Event).where(Event.instance_id == iid))
        incidents = s.scalar(select(func.count()).select_from(Incident))
        return row.row_version, row.status, events, incidents


@pytest.fixture
def review(as_user, green):
    """U1's application waiting for the county's review: (instance id, task id)."""
    iid = start(as_user("ent-u1"))
    return iid, open_task(as_user(COUNTY), iid, "review")["id"]


# --- the examples, through the API -------------------------------------------------------

@pytest.mark.parametrize("action, raw, field", [
    ("comments", r'{"text": "\ud800"}', "text"),
    ("transfer", r'{"to_user": "\udfff"}', "to_user"),
    ("claim", r'{"\ud800": 1}', "\\ud800"),
    ("complete", r'{"data": {"decision": "pass", "opinion": "\udc00"}}', "data.opinion"),
    ("complete", r'{"data": {"decision": "pass", "opinion": "a\u0000b"}}', "data.opinion"),
    ("cc", r'{"to_users": ["city-520300", "\ud83d"]}', "to_users.1"),
    ("comments", r'{"text": "ok", "note\ud800": 1}', "note\\ud800"),
])
def test_bad_text_in_a_json_body_is_400_and_writes_nothing(as_user, green, review, action, raw, field):
    iid, tid = review
    before = snapshot(green.engine, iid)
    response = as_user(COUNTY).post(f"/tasks/{tid}/{action}", data=raw.encode(), content_type="application/json")
    body = assert_error(response, 400, field)
    assert body["error"] == "invalid_text" and body["message"]
    assert snapshot(green.engine, iid) == before
    assert green.engine.incidents(status=None) == []


def test_a_good_comment_after_a_refused_one_is_fine(as_user, green, review):
    iid, tid = review
    county = as_user(COUNTY)
    county.post(f"/tasks/{tid}/comments", data=rb'{"text": "\ud800"}', content_type="application/json")
    ok = county.post(f"/tasks/{tid}/comments", {"text": "已阅 \U0001F600 \t(tab, emoji: a real pair)"})
    assert ok.status_code == 200 and ok.json["status"] == "running"


def test_malformed_or_non_utf8_json_is_400_bad_request(as_user, review):
    _, tid = review
    for raw in (b'{"text": ', "{\"text\": \"é\"}".encode("latin-1"), b'{"text": NaN}'):
        response = as_user(COUNTY).post(f"/tasks/{tid}/comments", data=raw, content_type="application/json")
        assert assert_error(response, 400, "body")["error"] == "bad_request"


def test_bad_text_in_the_query_string_and_path_is_400(as_user):
    county = as_user(COUNTY)
    for query in ("q=%ED%A0%80", "q=a%00b", "%ED%A0%80=1", "tab=todo&process_id=%FF"):
        response = county.get(f"/tasks?{query}")
        assert assert_error(response, 400)["error"] == "invalid_text", query
    assert "q" in county.get("/tasks?q=%ED%A0%80").json["fields"]
    assert "path" in assert_error(county.get("/definitions/1/forms/%ED%A0%80"), 400)["fields"]
    assert county.get("/tasks?q=%E7%BB%BF%E8%89%B2").status_code == 200  # 绿色: fine


# --- the pages: query strings, form fields, uploaded file names -----------------------------------

def multipart(parts: list[tuple[bytes, bytes]]) -> tuple[bytes, str]:
    """A multipart body from (Content-Disposition parameters, content) pairs."""
    body = b"".join(b"--B\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + content + b"\r\n"
                    for disposition, content in parts)
    return body + b"--B--\r\n", "multipart/form-data; boundary=B"


def assert_page_400(response, field: str | None = None) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert 'data-testid="error-message"' in page
    if field is not None:
        assert f"<code>{field}</code>" in page
    return page


def test_bad_text_in_a_page_query_is_400(site):
    county = site.client("county-520302")
    assert_page_400(county.get("/inbox/?q=%ED%A0%80"), "q")
    assert_page_400(county.get("/instances/?q=%00"), "q")
    assert county.get("/inbox/?q=%E7%BB%BF").status_code == 200


def test_bad_text_in_a_task_form_field_is_400_and_writes_nothing(site):
    green = site.scenario
    iid = green.apply(U1)
    tid = green.task(iid, "review").id
    county = site.client("county-520302")
    before = snapshot(site.engine, iid)
    url = f"/tasks/{tid}"
    assert_page_400(county.post(url, data=b"decision=pass&opinion=%ED%A0%80",
                                content_type="application/x-www-form-urlencoded"), "opinion")
    assert_page_400(county.post(url, data=b"decision=pass&opinion=" + SURROGATE_UTF8,
                                content_type="application/x-www-form-urlencoded"))
    body, content_type = multipart([(b'name="decision"', b"pass"), (b'name="opinion"', SURROGATE_UTF8)])
    assert_page_400(county.post(url, data=body, content_type=content_type), "opinion")
    body, content_type = multipart([(b'name="decision"', b"pass"), (b'name="opinion"', b"a\x00b")])
    assert_page_400(county.post(url, data=body, content_type=content_type), "opinion")
    assert snapshot(site.engine, iid) == before
    assert site.engine.incidents(status=None) == []


@pytest.mark.parametrize("disposition", [
    b'name="report_file"; filename="' + SURROGATE_UTF8 + b'.pdf"',
    b"name=\"report_file\"; filename*=UTF-8''%ED%A0%80.pdf",
    b'name="report_file"; filename="a\x00b.pdf"',
    b'name="report_file"; filename="a\x1bb.pdf"',
])
def test_a_bad_uploaded_file_name_is_400(site, disposition):
    green = site.scenario
    iid = green.apply(U1)
    tid = green.task(iid, "review").id
    before = snapshot(site.engine, iid)
    body, content_type = multipart([(b'name="decision"', b"pass"), (disposition, b"%PDF-1.4\n%%EOF\n")])
    assert_page_400(site.client("county-520302").post(f"/tasks/{tid}", data=body, content_type=content_type))
    assert snapshot(site.engine, iid) == before


def test_the_error_page_never_echoes_unencodable_text(site):
    body, content_type = multipart([(b'name="x\xed\xa0\x80"', b"1")])
    response = site.client("ent-u1").post("/portal/apply", data=body, content_type=content_type)
    assert response.status_code == 400
    response.get_data(as_text=True).encode("utf-8")
    page = assert_page_400(site.client().get("/public/notices?page=%ED%A0%80"), "page")
    assert not re.search("[\ud800-\udfff]", page)
