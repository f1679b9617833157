"""The per-account login limit with back-off, the login log, and ``greenflow users``
(on SQLite and PostgreSQL)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import LoginAttempt
from tests.web.login_helpers import OFFICIAL, PASSWORD, is_logged_in, logged_in_client, login, make_app

LOCKED = "该账户登录失败次数过多"


@pytest.fixture
def app(wf_engine, tmp_path):
    return make_app(wf_engine, tmp_path)


def results(wf_engine, username: str = OFFICIAL) -> list[str]:
    with wf_engine.db.session() as s:
        return list(s.scalars(select(LoginAttempt.result).where(LoginAttempt.username == username)
                              .order_by(LoginAttempt.id)))


def fail(app, times: int, *, username: str = OFFICIAL, address: str = "198.51.100.1") -> None:
    for _ in range(times):
        assert login(app.test_client(), username, "wrong-password", address=address).status_code == 401


def test_failures_from_two_addresses_lock_the_account_then_it_opens_again(app, wf_engine, clock):
    fail(app, 3, address="198.51.100.1")
    fail(app, 2, address="203.0.113.9")  # another address: the same account
    locked = login(app.test_client(), address="192.0.2.50")  # the right password, from a third address
    assert locked.status_code == 429 and LOCKED in locked.get_data(as_text=True)
    assert "1 分钟" in locked.get_data(as_text=True) and int(locked.headers["Retry-After"]) == 60
    assert results(wf_engine) == ["bad_password"] * 5 + ["locked"]

    clock.advance(seconds=61)
    assert login(app.test_client(), address="192.0.2.50").status_code == 302
    assert results(wf_engine)[-1] == "success"
    fail(app, 4)  # a success forgot the earlier failures: four are not enough
    assert login(app.test_client()).status_code == 302


def test_the_lock_doubles_with_each_further_failure(app, clock):
    fail(app, 5)
    for minutes in (2, 4, 8):
        clock.advance(minutes=minutes // 2, seconds=1)  # the previous lock is over
        fail(app, 1)  # one more failure: locked for twice as long
        clock.advance(minutes=minutes - 1)
        response = login(app.test_client())
        assert response.status_code == 429 and f"{1} 分钟" in response.get_data(as_text=True)
        clock.advance(seconds=61)
    assert login(app.test_client()).status_code == 302


def test_the_lock_is_capped(wf_engine, tmp_path, clock):
    app = make_app(wf_engine, tmp_path, login_lockout_max_minutes=3)
    fail(app, 5)
    for _ in range(4):  # 1, 2, 3 (capped), 3 minutes
        clock.advance(minutes=3, seconds=1)
        fail(app, 1)
    response = login(app.test_client())
    assert response.status_code == 429 and "3 分钟" in response.get_data(as_text=True)
    clock.advance(minutes=3, seconds=1)
    assert login(app.test_client()).status_code == 302


def test_an_unknown_username_locks_the_same_way(app, wf_engine):
    fail(app, 5, username="ghost")
    fail(app, 5)
    ghost, real = login(app.test_client(), "ghost", "x"), login(app.test_client(), OFFICIAL, "x")
    assert ghost.status_code == real.status_code == 429
    assert ghost.headers["Retry-After"] == real.headers["Retry-After"]
    message = lambda r: [line for line in r.get_data(as_text=True).splitlines() if LOCKED in line]
    assert message(ghost) == message(real)
    assert results(wf_engine, "ghost") == ["unknown_user"] * 5 + ["locked"]


def test_failures_are_forgotten_after_the_window(app, clock):
    fail(app, 4)
    clock.advance(hours=24, seconds=1)
    fail(app, 1)
    assert login(app.test_client()).status_code == 302


def test_the_per_address_limit_stays(app):
    statuses = [login(app.test_client(), f"user-{i}", "x", address="198.51.100.77").status_code for i in range(11)]
    assert statuses == [401] * 10 + [429]


def test_the_login_log_has_time_user_address_result_and_agent(app, wf_engine, clock):
    login(app.test_client(), OFFICIAL, "wrong", address="198.51.100.5", **{"User-Agent": "Probe/1.0 " + "x" * 300})
    login(app.test_client(), address="198.51.100.6")
    with wf_engine.db.session() as s:
        rows = s.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(r.username, r.address, r.result) for r in rows] == [(OFFICIAL, "198.51.100.5", "bad_password"),
                                                                (OFFICIAL, "198.51.100.6", "success")]
    assert rows[0].at == clock.now() and rows[0].user_agent.startswith("Probe/1.0") and len(rows[0].user_agent) == 200


def test_an_empty_login_form_is_a_400_with_a_message(app, wf_engine):
    response = app.test_client().post("/auth/login", data={"username": "", "password": ""})
    assert response.status_code == 400 and "请填写用户名" in response.get_data(as_text=True)
    assert results(wf_engine) == []


# --- greenflow users ------------------------------------------------------------------------

def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def test_cli_disable_ends_sessions_and_enable_allows_login(app, wf_engine):
    client = logged_in_client(app)
    result = run(app, "disable", OFFICIAL)
    assert result.exit_code == 0 and "disabled" in result.output
    assert not is_logged_in(client)
    assert login(app.test_client()).status_code == 401
    assert results(wf_engine)[-1] == "disabled"
    assert run(app, "enable", OFFICIAL).exit_code == 0
    assert is_logged_in(logged_in_client(app))
    unknown = run(app, "disable", "nobody")
    assert unknown.exit_code == 2 and "no user named 'nobody'" in unknown.output


def test_cli_set_password_applies_the_policy_and_ends_sessions(app):
    client = logged_in_client(app)
    weak = run(app, "set-password", OFFICIAL, "--password", "qwertyuiop123")
    assert weak.exit_code == 2 and "common" in weak.output and "Traceback" not in weak.output
    assert is_logged_in(client)
    ok = run(app, "set-password", OFFICIAL, input="Granite-Meadow-Owl-58\nGranite-Meadow-Owl-58\n")
    assert ok.exit_code == 0, ok.output
    assert not is_logged_in(client)
    assert login(app.test_client(), password="Granite-Meadow-Owl-58").status_code == 302


def test_cli_unlock_and_login_log(app):
    fail(app, 5)
    assert login(app.test_client()).status_code == 429
    assert run(app, "unlock", OFFICIAL).exit_code == 0
    assert login(app.test_client()).status_code == 302
    rows = json.loads(run(app, "login-log", "--user", OFFICIAL, "--limit", "3", "--json").output)
    assert [r["result"] for r in rows] == ["success", "unlocked", "locked"]
    assert set(rows[0]) == {"id", "at", "username", "address", "result", "user_agent"}
    text = run(app, "login-log").output
    assert "bad_password" in text and "198.51.100.1" in text
    assert run(app, "login-log", "--limit", "0").exit_code == 2
