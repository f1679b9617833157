"""Web fixtures: the app on the scenario's database, and clients logged in as demo users."""
from __future__ import annotations

import pytest

from web.app import create_app


class Site:
    """The app plus the scenario driver, sharing one database and the frozen clock."""

    def __init__(self, app, scenario):
        self.app = app
        self.scenario = scenario
        self.engine = scenario.engine

    def client(self, username: str | None = None):
        """A test client, logged in as ``username`` (the session a login sets, at the clock's now)."""
        client = self.app.test_client()
        if username:
            log_in_session(client, self.engine, username)
        return client


def log_in_session(client, engine, username: str) -> None:
    """Put into ``client``'s session what ``web.sessions.begin`` would: user, generation, times."""
    from sqlalchemy import select

    from engine.models import UserAccount
    from web import sessions

    with engine.db.session() as s:
        generation = s.scalar(select(UserAccount.session_generation).where(UserAccount.username == username))
    now = engine.clock.now().timestamp()
    with client.session_transaction() as session:
        session["_user_id"] = username
        session["_fresh"] = True
        session[sessions.GENERATION] = generation or 0
        session[sessions.LOGIN_AT] = now
        session[sessions.SEEN_AT] = now


@pytest.fixture
def site(green, tmp_path):
    app = create_app({"database_url": green.engine.db.url, "secret_key": "test",
                      "upload_dir": str(tmp_path / "uploads")})
    app.config.update(WTF_CSRF_ENABLED=False)
    return Site(app, green)
