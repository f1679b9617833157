"""Log in, and the admin page where process owners load a year of the working-day calendar."""
from __future__ import annotations

import io
import re

import pytest

from engine.identity import hash_password, upsert_user
from tests.conftest import FIXTURES
from web.app import create_app

PASSWORD = "correct horse 2026"


@pytest.fixture
def app(wf_engine):
    app = create_app({"database_url": wf_engine.db.url, "secret_key": "test"})
    password_hash = hash_password(PASSWORD)
    with wf_engine.db.unit_of_work() as s:
        upsert_user(s, "owner", display_name="流程管理员", grants=[("process_owner", "520000")],
                    password_hash=password_hash)
        upsert_user(s, "ent", display_name="某企业", grants=[("applicant", "unit:X")], password_hash=password_hash)
    return app


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": csrf(client, "/auth/login")})


def upload(client, content: bytes, name: str = "2027.toml"):
    return client.post("/admin/calendar", data={"csrf_token": csrf(client, "/admin/calendar"),
                                                "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_wrong_password_is_refused(app):
    client = app.test_client()
    response = login(client, "owner", "guess")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(app):
    response = app.test_client().post("/auth/login", data={"username": "owner", "password": PASSWORD})
    assert response.status_code == 400


def test_session_cookie_is_http_only_and_same_site(app):
    client = app.test_client()
    response = login(client, "owner")
    cookie = response.headers.get("Set-Cookie", "")
    assert response.status_code == 302 and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_anonymous_is_sent_to_login(app):
    response = app.test_client().get("/admin/calendar")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_an_applicant_may_not_administer_the_calendar(app):
    client = app.test_client()
    login(client, "ent")
    assert client.get("/admin/calendar").status_code == 403


def test_process_owner_imports_a_year(app):
    client = app.test_client()
    login(client, "owner")
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "2026" in page and "2027" not in page
    response = upload(client, (FIXTURES / "calendar" / "2027.toml").read_bytes())
    assert response.status_code == 302
    assert "2027" in client.get("/admin/calendar").get_data(as_text=True)


@pytest.mark.parametrize("content,message", [
    (b"year = 2027\n[[workdays]]\nname = 'x'\ndates = ['2027-03-03']\n", "2027-03-03"),  # a Wednesday make-up day
    (b"not toml at all [", "TOML"),
    ("year = 2027\n".encode("gbk") + "# 中文".encode("gbk"), "UTF-8"),
])
def test_a_bad_calendar_file_is_refused_with_the_reason(app, content, message):
    client = app.test_client()
    login(client, "owner")
    response = upload(client, content)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert "2027" not in client.get("/admin/calendar").get_data(as_text=True).split("<h2>")[0]
