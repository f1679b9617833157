"""The application factory and the one page this issue ships."""
from __future__ import annotations

import pytest

from web.app import create_app


@pytest.fixture
def client(db, clock):
    app = create_app({"database_url": db.url, "secret_key": "test"})
    return app.test_client()


def test_front_page_is_chinese_first(client):
    """A visitor without an account lands on the public notices (issue 15: no internal dashboard)."""
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200 and page.request.path == "/public/notices"
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "绿色制造名单公示" in html and "流程概况" not in html


def test_health_reports_the_database(client, db):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": db.dialect, "versions": 0}


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_importing_web_starts_nothing(tmp_path):
    """Importing the app module and the CLI connects to nothing, starts no thread, writes no file."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = ("import threading, web.app, web.cli; import sys; "
             "sys.stdout.write(str(threading.active_count()))")
    env = {"GREENFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}", "PYTHONPATH": str(root), "PATH": ""}
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=True)
    assert result.stdout == "1"
    assert list(tmp_path.iterdir()) == []
