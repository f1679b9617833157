"""Sessions end: logout, a password change and a disable end every session of the user; idle
timeout and absolute lifetime; the password page and its policy (on SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import LoginAttempt
from tests.web.login_helpers import APPLICANT, OFFICIAL, PASSWORD, is_logged_in, logged_in_client, login, make_app
from web import accounts
from web.api.auth import issue_token

NEW_PASSWORD = "Quiet-Harbour-Lamp-93"


@pytest.fixture
def app(wf_engine, tmp_path):
    return make_app(wf_engine, tmp_path)


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def client_with_cookie(app, value: str):
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, repeat=None, query=""):
    return client.post(f"/auth/password{query}", data={"current_password": current, "new_password": new,
                                                       "repeat_password": new if repeat is None else repeat})


def test_a_cookie_saved_before_logout_no_longer_opens_the_inbox(app):
    first = logged_in_client(app)
    saved = session_cookie(first)
    second = logged_in_client(app)  # the same user on another device
    assert is_logged_in(client_with_cookie(app, saved)) and is_logged_in(second)

    response = first.post("/auth/logout")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]

    assert not is_logged_in(client_with_cookie(app, saved))  # the saved cookie is dead
    assert not is_logged_in(second)  # logout ends every session of that user
    assert not is_logged_in(first)
    assert is_logged_in(logged_in_client(app))  # logging in again works


def test_logout_of_one_user_leaves_the_others_logged_in(app):
    official, applicant = logged_in_client(app), logged_in_client(app, APPLICANT)
    official.post("/auth/logout")
    assert applicant.get("/portal/").status_code == 200


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    here, elsewhere = logged_in_client(app), logged_in_client(app)
    saved = session_cookie(here)
    response = change_password(here)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert "密码已修改" in here.get("/inbox/").get_data(as_text=True)  # still logged in, and told
    assert not is_logged_in(elsewhere)
    assert not is_logged_in(client_with_cookie(app, saved))  # the cookie from before the change
    assert login(app.test_client()).status_code == 401  # the old password is gone
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("case,expected", [
    ({"new": "Short-pw-1"}, "新密码至少需要 12 个字符"),
    ({"new": f"My-{OFFICIAL}-pass"}, "新密码不能包含用户名"),
    ({"new": "password1234"}, "新密码过于常见"),
    ({"new": "Woaini1314520"}, "新密码过于常见"),  # compared ignoring case
    ({"repeat": "Quiet-Harbour-Lamp-94"}, "两次输入的新密码不一致"),
    ({"current": "not-my-password"}, "当前密码不正确"),
    ({"new": PASSWORD}, "新密码不能与当前密码相同"),
    ({"current": ""}, "请填写当前密码"),
    ({"new": ""}, "请填写新密码"),
])
def test_the_policy_refuses_each_bad_case_with_its_message(app, case, expected):
    client = logged_in_client(app)
    response = change_password(client, **case)
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    assert is_logged_in(client)
    assert login(app.test_client()).status_code == 302  # the password is unchanged


def test_the_password_page_in_english(app):
    client = logged_in_client(app)
    page = client.get("/auth/password?lang=en").get_data(as_text=True)
    assert "Current password" in page and "Repeat the new password" in page
    response = change_password(client, new="abc")
    assert "The new password needs at least 12 characters" in response.get_data(as_text=True)


def test_a_wrong_current_password_counts_as_a_failed_login(app, wf_engine):
    client = logged_in_client(app)
    change_password(client, current="guess-guess-guess")
    with wf_engine.db.session() as s:
        results = s.scalars(select(LoginAttempt.result).where(LoginAttempt.username == OFFICIAL)
                            .order_by(LoginAttempt.id)).all()
    assert results == ["success", "bad_password"]


def test_a_disabled_users_cookie_and_api_token_stop_working(app, wf_engine):
    client = logged_in_client(app)
    _, token = issue_token(wf_engine, OFFICIAL, name="script")
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=auth).status_code == 200

    accounts.set_active(wf_engine, OFFICIAL, False)
    assert not is_logged_in(client)
    refused = api.get("/api/v1/me", headers=auth)
    assert refused.status_code == 401 and "deactivated" in refused.get_json()["message"]
    assert login(app.test_client()).status_code == 401  # the right password, but disabled

    accounts.set_active(wf_engine, OFFICIAL, True)
    assert not is_logged_in(client)  # the old session stays ended
    assert api.get("/api/v1/me", headers=auth).status_code == 200  # the token was not revoked
    assert is_logged_in(logged_in_client(app))


def test_a_session_ends_after_the_idle_timeout(app, clock):
    client = logged_in_client(app)
    for _ in range(4):  # used every 29 minutes: stays
        clock.advance(minutes=29)
        assert is_logged_in(client)
    clock.advance(minutes=31)
    assert not is_logged_in(client)


def test_a_session_ends_after_its_absolute_lifetime_even_when_used(app, clock):
    client = logged_in_client(app)
    for _ in range(35):  # 35 × 20 minutes = 11 h 40 min
        clock.advance(minutes=20)
        assert is_logged_in(client)
    clock.advance(minutes=21)  # 12 h 1 min after the login
    assert not is_logged_in(client)


def test_the_timeouts_are_settings(wf_engine, tmp_path, clock):
    app = make_app(wf_engine, tmp_path, session_idle_minutes=5, session_max_hours=1)
    client = logged_in_client(app)
    clock.advance(minutes=4)
    assert is_logged_in(client)
    clock.advance(minutes=6)
    assert not is_logged_in(client)
    client = logged_in_client(app)
    for _ in range(15):
        clock.advance(minutes=4)
        assert is_logged_in(client)
    clock.advance(minutes=4)  # 64 minutes
    assert not is_logged_in(client)


def test_a_session_without_the_new_keys_is_not_accepted(app):
    """A cookie signed before these checks existed (user id only) is logged out."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = OFFICIAL
        session["_fresh"] = True
    assert not is_logged_in(client)


def test_password_change_needs_a_login(app):
    response = app.test_client().get("/auth/password")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
