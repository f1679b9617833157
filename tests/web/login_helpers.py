"""Helpers of the login, session and header tests: an app with a few accounts, a real login."""
from __future__ import annotations

from engine.identity import hash_password, upsert_user
from web.app import create_app

PASSWORD = "Lantern-Ridge-4417"
OFFICIAL = "county-520302"  # an official: /inbox/ answers 200
APPLICANT = "ent-x"


def make_app(wf_engine, tmp_path, **settings):
    """An app on the test database (CSRF off, rate limits as configured) with two accounts."""
    app = create_app({"database_url": wf_engine.db.url, "secret_key": "test",
                      "upload_dir": str(tmp_path / "uploads"), **settings})
    app.config.update(WTF_CSRF_ENABLED=False)
    password_hash = hash_password(PASSWORD)
    with wf_engine.db.unit_of_work() as s:
        upsert_user(s, OFFICIAL, display_name="红花岗区工信局", grants=[("county_official", "520302")],
                    password_hash=password_hash)
        upsert_user(s, APPLICANT, display_name="某企业", grants=[("applicant", "unit:X")], password_hash=password_hash)
    return app


def login(client, username: str = OFFICIAL, password: str = PASSWORD, address: str = "127.0.0.1", **headers):
    return client.post("/auth/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def logged_in_client(app, username: str = OFFICIAL, password: str = PASSWORD):
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def is_logged_in(client) -> bool:
    """Whether the client's session still opens the inbox (else: sent to the login page)."""
    response = client.get("/inbox/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"], response.status_code
    return False
