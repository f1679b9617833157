"""Browser tests: the real app on a demo database, served by waitress, driven by Chromium (Playwright).

Fixtures
    demo_site   (session)  DemoSite(url, app, password, report): a fresh SQLite demo database built
                           like ``greenflow demo`` (schema, divisions, bpmn/ deployed, demo accounts
                           with DEMO_PASSWORD, sample applications), served on 127.0.0.1:<free port>
    live_server (session)  the base URL of demo_site, e.g. "http://127.0.0.1:41234" (no trailing /)
    browser     (session)  a Playwright Chromium Browser (the Debian /usr/bin/chromium)
    page        (function) a Page in a new context: locale zh-CN, viewport 1366x900, base_url set to
                           live_server (so page.goto("/auth/login") works); a failing test leaves
                           build/screenshots/failed-<test>.png
    page_errors (function) the uncaught JavaScript errors of ``page`` (a list of str)

Helpers (``from tests.browser.conftest import login, screenshot``)
    login(page, username, password=DEMO_PASSWORD)   through the real login form
    screenshot(page, name) -> Path                  full page, build/screenshots/<name>.png

Without Chromium the tests skip with the reason, except under CI=true, where they fail (the
policy of the PostgreSQL tests). scripts/setup_browser.sh installs it; GREENFLOW_CHROMIUM points
elsewhere. Mark every browser test module with ``pytestmark = pytest.mark.browser``.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_DIR / "build" / "screenshots"
CHROMIUM = os.environ.get("GREENFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 # without these Chromium hangs on network connections the machine blocks
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() == "true"
DEMO_PASSWORD = "browser-demo-pw"
TIMEOUT_MS = 15_000
SITE_START = dt.datetime(2026, 4, 7, 1, 0, tzinfo=dt.timezone.utc)  # a Tuesday, 09:00 in 贵阳


@dataclass(frozen=True)
class DemoSite:
    url: str
    app: object  # flask.Flask
    password: str
    report: str  # what ``greenflow demo`` prints: accounts and the sample applications
    clock: object  # engine.clock.FrozenClock shared with the server

    @property
    def engine(self):
        return self.app.extensions["greenflow"]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable, or skip (fail under CI=true) when there is none."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    problem = f"Chromium not found at {CHROMIUM} (run scripts/setup_browser.sh or set GREENFLOW_CHROMIUM)"
    if IN_CI:
        pytest.fail(f"CI=true requires the browser tests to run: {problem}")
    pytest.skip(problem)


_limiter_filter_installed = False


def _exempt_from_rate_limits() -> None:
    """The login form allows 10 posts a minute per address; every browser test logs in from 127.0.0.1.
    Exempt only apps flagged GREENFLOW_TEST_NO_RATELIMIT (the limiter is a module-level singleton)."""
    global _limiter_filter_installed
    if _limiter_filter_installed:
        return
    from flask import current_app

    from web.extensions import limiter

    limiter.request_filter(lambda: bool(current_app.config.get("GREENFLOW_TEST_NO_RATELIMIT")))
    _limiter_filter_installed = True


@pytest.fixture(scope="session")
def demo_site(chromium_path, tmp_path_factory):
    """A demo database as ``greenflow demo`` builds it, served by waitress in a daemon thread."""
    from waitress import create_server

    from engine.clock import FrozenClock, set_clock
    from handlers import demo, setup
    from web.app import create_app

    # A frozen "now" the tests may move (e.g. past a notice's end); the server thread reads it too.
    clock = FrozenClock(SITE_START)
    previous_clock = set_clock(clock)
    folder = tmp_path_factory.mktemp("browser-site")
    app = create_app({"database_url": f"sqlite:///{folder / 'greenflow.db'}", "secret_key": "test",
                      "upload_dir": str(folder / "uploads")})
    app.config["GREENFLOW_TEST_NO_RATELIMIT"] = True
    _exempt_from_rate_limits()
    settings = app.config["GREENFLOW"]
    settings.ensure_instance_dir()
    engine = app.extensions["greenflow"]
    setup.init_database(engine)
    engine.deploy(settings.bpmn_dir, deployed_by="demo")
    from web.cli import demo_file_store  # the demo's PDFs, stored and attached as `greenflow demo` does

    report = demo.seed(engine, password=DEMO_PASSWORD, store_file=demo_file_store(settings.upload_dir))

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="browser-test-server", daemon=True)
    thread.start()
    yield DemoSite(url=f"http://127.0.0.1:{server.effective_port}", app=app, password=DEMO_PASSWORD, report=report,
                   clock=clock)
    server.task_dispatcher.shutdown(timeout=5)
    server.close()
    thread.join(timeout=5)
    engine.db.dispose()
    set_clock(previous_clock)


@pytest.fixture(scope="session")
def live_server(demo_site) -> str:
    return demo_site.url


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import expect, sync_playwright

    # expect() waits 5 s by default; a loaded 2-core machine renders bpmn-js slower than that, so
    # assertions wait as long as actions do (the conditions asserted are unchanged).
    expect.set_options(timeout=TIMEOUT_MS)

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=60_000)
    except Exception as exc:
        playwright.stop()
        if IN_CI:
            pytest.fail(f"CI=true requires the browser tests to run: Chromium did not start: {exc}")
        pytest.skip(f"Chromium at {chromium_path} did not start: {type(exc).__name__}: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"_browser_report_{report.when}", report)


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "_browser_report_call", None)
    if report is not None and report.failed:
        try:
            screenshot(page, "failed-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name))
        except Exception:  # the page may be gone; the test failure is what matters
            pass
    context.close()


@pytest.fixture
def page_errors(page) -> list[str]:
    """Uncaught JavaScript exceptions of ``page`` (listening from before the test body runs)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the real login page; returns once the header shows a logged-in user."""
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector("[data-testid=current-user]")


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as build/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
