"""Security headers on every kind of response, no inline script in any template, and the Secure
flag of the session cookie (forced, or behind a trusted proxy that says HTTPS)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

import config
from engine.models import LoginAttempt
from tests.web.login_helpers import login, make_app
from web.security import secure_cookie_mode

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
EXPECTED = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@pytest.fixture
def app(wf_engine, tmp_path):
    return make_app(wf_engine, tmp_path)


def directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}


@pytest.mark.parametrize("path,status", [
    ("/public/notices", 200),  # an HTML page
    ("/", 302),  # to the notices (a visitor's landing page)
    ("/favicon.ico", 200),
    ("/healthz", 200),  # JSON
    ("/api/v1/openapi.json", 200),  # the API's JSON
    ("/api/v1/me", 401),  # an API error
    ("/static/css/app.css", 200),  # a static file
    ("/static/js/diagram.js", 200),
    ("/no/such/page", 404),  # an error page
    ("/auth/login", 200),
])
def test_every_response_carries_the_headers(app, path, status):
    response = app.test_client().get(path)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]  # style sheets: ours only; style attributes: bpmn-js needs them
    assert not any("unsafe" in v for name, values in csp.items() if name != "style-src-attr" for v in values)


def test_headers_on_a_logged_in_page_and_a_405(app):
    client = app.test_client()
    login(client)
    for response in (client.get("/inbox/"), client.put("/auth/login")):
        assert response.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in response.headers


def test_no_template_has_an_inline_script_or_an_event_handler():
    """The CSP refuses inline scripts: every script is a file under web/static with src=."""
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script\s*>", text, re.I | re.S):
            if "src=" not in match.group(1) or match.group(2).strip():
                problems.append(f"{name}: inline <script> {match.group(0)[:80]!r}")
        for match in re.finditer(r"<[a-zA-Z][^>]*?\son[a-z]+\s*=", text, re.S):
            problems.append(f"{name}: event handler attribute {match.group(0)[-60:]!r}")
        if re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", text, re.I):
            problems.append(f"{name}: a javascript: URL")
        for match in re.finditer(r"<[a-zA-Z][^>]*?\sstyle\s*=", text, re.S):
            problems.append(f"{name}: a style attribute (use a class in static/css) {match.group(0)[-60:]!r}")
    assert problems == []


def cookie_of(response) -> str:
    cookies = [v for v in response.headers.getlist("Set-Cookie") if v.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_http_only_same_site_and_not_secure_over_http(app):
    cookie = cookie_of(login(app.test_client()))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_behind_a_trusted_proxy_that_says_https(wf_engine, tmp_path):
    app = make_app(wf_engine, tmp_path, trusted_proxies=1)
    https = login(app.test_client(), address="10.0.0.2", **{"X-Forwarded-Proto": "https",
                                                             "X-Forwarded-For": "203.0.113.7"})
    assert https.status_code == 302 and "Secure" in cookie_of(https)
    assert "Secure" not in cookie_of(login(app.test_client(), **{"X-Forwarded-Proto": "http"}))
    with wf_engine.db.session() as s:  # the client's address as the proxy saw it
        assert s.scalar(select(LoginAttempt.address).order_by(LoginAttempt.id).limit(1)) == "203.0.113.7"


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(app, wf_engine):
    response = login(app.test_client(), address="10.0.0.2", **{"X-Forwarded-Proto": "https",
                                                                "X-Forwarded-For": "203.0.113.7"})
    assert "Secure" not in cookie_of(response)
    with wf_engine.db.session() as s:
        assert s.scalar(select(LoginAttempt.address)) == "10.0.0.2"


def test_secure_cookies_can_be_forced_on_and_off(wf_engine, tmp_path):
    forced = make_app(wf_engine, tmp_path, secure_cookies="true")
    assert "Secure" in cookie_of(login(forced.test_client()))
    off = make_app(wf_engine, tmp_path, secure_cookies="false")
    client = off.test_client()
    response = client.post("/auth/login", data={"username": "county-520302", "password": "Lantern-Ridge-4417"},
                           base_url="https://localhost")
    assert "Secure" not in cookie_of(response)
    auto = make_app(wf_engine, tmp_path)
    response = auto.test_client().post("/auth/login", data={"username": "county-520302",
                                                             "password": "Lantern-Ridge-4417"},
                                       base_url="https://localhost")
    assert "Secure" in cookie_of(response)  # auto: HTTPS seen directly


def test_the_settings_come_from_the_environment():
    settings = config.Settings.load(environ={"GREENFLOW_SECURE_COOKIES": "true", "GREENFLOW_TRUSTED_PROXIES": "2",
                                             "GREENFLOW_SESSION_IDLE_MINUTES": "15"})
    assert settings.secure_cookies == "true" and settings.trusted_proxies == 2 and settings.session_idle_minutes == 15
    assert config.Settings.load(environ={}).secure_cookies == "auto"
    assert [secure_cookie_mode(v) for v in ("auto", "", "true", "1", "false", "off")] == [None, None, True, True,
                                                                                        False, False]
    with pytest.raises(ValueError, match="GREENFLOW_SECURE_COOKIES"):
        secure_cookie_mode("sometimes")
    with pytest.raises(ValueError, match="GREENFLOW_TRUSTED_PROXIES"):
        config.Settings.load(environ={"GREENFLOW_TRUSTED_PROXIES": "two"})
