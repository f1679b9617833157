"""No internal code reaches people (issue 15): every page of the demo, as each role, in Chinese.

The demo database is built as ``greenflow demo`` builds it (real histories, driven through the
engine). As each role — and as a visitor without an account — the test walks every page it can
reach by following the links of the pages (same site, GET, no file downloads), and looks in the
*visible* text of each (not in attributes, scripts or hidden inputs) for a known internal code:

- the answers of every shipped form (``pass``, ``return``, ``no_objection``, ``level_2`` …),
- every event type of the demo's histories and of ``web.vocab.EVENTS`` (``notice_opened`` …),
- instance and task statuses (``running``, ``waiting`` …), role keys, process ids,
- usernames (``county-520302``, ``ent-u1``) and the ``system:`` / ``public:`` actors.

Under ``?lang=en`` the English words ``pass`` or ``city`` are fine; there it looks for the codes
no English sentence has: snake_case ones, usernames and the actor prefixes. The process owners'
modeler (``/modeler/``) is a tool for BPMN and form ids and is not walked; the auditors' pages
(``/audit/``) are. A plain word inside an English phrase (a rule's English message) is a word; the
reference of an import file's columns (``/records/interchange``) lists the codes a file may carry.
Every page must also answer without a server error.
"""
from __future__ import annotations

import json
import re
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from sqlalchemy import select

import config
from engine.models import Event
from handlers import demo
from tests.scenarios.driver import BPMN
from tests.web.conftest import log_in_session
from web import vocab
from web.app import create_app

FORMS = Path(BPMN) / "forms"
PASSWORD = "internal-codes-pw"
PAGE_LIMIT = 70  # pages per role: every kind of page of the demo, without walking every list page
SKIP = re.compile(r"^/(modeler|static|api)/|/files/|/evidence|\.json$|\.zip$|\.csv$|\.xlsx?$|/auth/logout|"
                  r"^/audit/export/|/download")
ROLES = ["county-520302", "county-520103", "city-520300", "city-520400", "city-GA0000", "province", "expert",
         "eco-520300", "tax-520300", "eco-520400", "prov-eco", "ent-u1", "ent-u2", "ent-u6", "ent-u14", "owner",
         "auditor", "evaluator-ev001", None]
EN_ROLES = ["county-520302", "ent-u2", "province", None]
# The reference of an import file's columns lists the values a file may carry: there they are the format.
FORMAT_REFERENCES = re.compile(r"^/records/interchange")


def form_codes() -> set[str]:
    """The ``const`` / ``enum`` strings of every shipped form that are identifiers, not words people wrote."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("oneOf", "anyOf"):
                for option in node.get(key) or []:
                    if isinstance(option, dict) and isinstance(option.get("const"), str):
                        found.add(option["const"])
            for value in node.get("enum") or []:
                if isinstance(value, str):
                    found.add(value)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in FORMS.glob("*.json"):
        walk(json.loads(path.read_text()))
    return {c for c in found if c.isascii() and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]+", c)}


def known_codes(engine) -> set[str]:
    with engine.db.session() as session:
        event_types = set(session.scalars(select(Event.type).distinct()))
    process_ids = set(engine.process_names())
    usernames = {u for u in demo.demo_users() if not re.fullmatch(r"[a-z]+", u)}  # county-520302, ent-u1 …
    return (form_codes() | event_types | set(vocab.EVENTS) | set(vocab.STATUSES) | set(config.role_keys())
            | process_ids | usernames)


def code_pattern(codes: set[str]) -> re.Pattern:
    alternatives = "|".join(sorted((re.escape(c) for c in codes), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_\-.@/])(?:{alternatives})(?![A-Za-z0-9_\-])|\b(?:system|public):")


def in_english_words(text: str, match: re.Match) -> bool:
    """A plain word (``city``, ``listed``) inside an English phrase people wrote or read — a rule's
    English message, an English page — is a word, not a code; ``no_objection`` or ``county-520302``
    never is. A plain word next to Chinese text or brackets (“审核层级county”, “（province）”) is a code."""
    if re.search(r"[_:-]", match.group(0)):
        return False
    before = text[:match.start()].rstrip()[-1:]
    after = text[match.end():].lstrip()[:1]
    return bool(re.fullmatch(r"[A-Za-z,.;]", before or "")) or bool(re.fullmatch(r"[A-Za-z,.;]", after or ""))


def visible_text(html: str) -> str:
    """The text a person sees: no scripts, styles, templates, hidden inputs or attribute values."""
    tree = lxml.html.fromstring(html)
    for node in tree.xpath("//script|//style|//template|//noscript|//*[@hidden]|//input[@type='hidden']"):
        node.drop_tree()
    return " ".join(tree.text_content().split())


def links(html: str, base: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    found = []
    for href in tree.xpath("//a/@href"):
        url = urlsplit(urljoin(base, href))
        if url.netloc not in ("", "localhost") or not url.path.startswith("/"):
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if "lang=" in url.query or SKIP.search(url.path):
            continue
        found.append(path)
    return found


def walk(client, start: list[str], pattern: re.Pattern, *, lang: str = "zh") -> tuple[list[str], list[str]]:
    """(pages seen, problems) of a breadth-first walk from ``start``."""
    client.get(f"/public/notices?lang={lang}")  # the session remembers the language
    queue, seen, problems = deque(start), set(), []
    while queue and len(seen) < PAGE_LIMIT:
        path = queue.popleft()
        kind = re.sub(r"\d+", "N", path.split("?")[0])  # one of each list page's numbered pages is enough
        if path in seen or (kind in seen and "?" in path):
            continue
        seen.update({path, kind})
        response = client.get(path)
        if response.status_code in (301, 302, 303):
            target = urlsplit(response.headers["Location"])
            if not SKIP.search(target.path):
                queue.appendleft(target.path + (f"?{target.query}" if target.query else ""))
            continue
        if response.status_code >= 500:
            problems.append(f"{path}: HTTP {response.status_code}")
            continue
        if "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        if not FORMAT_REFERENCES.search(path):
            text = visible_text(html)
            for match in pattern.finditer(text):
                if in_english_words(text, match):
                    continue
                context = text[max(0, match.start() - 40):match.end() + 40]
                problems.append(f"{path}: {match.group(0)!r} in “…{context}…”")
        queue.extend(links(html, f"http://localhost{path}"))
    return sorted(p for p in seen if p.startswith("/")), problems


@pytest.fixture
def demo_app(wf_engine, tmp_path):
    """The demo database as ``greenflow demo`` makes it, and the app on it."""
    wf_engine.deploy(BPMN, deployed_by="demo")
    demo.seed(wf_engine, password=PASSWORD)
    app = create_app({"database_url": wf_engine.db.url, "secret_key": "test", "upload_dir": str(tmp_path / "up")})
    app.config.update(WTF_CSRF_ENABLED=False)
    return app


def client_as(app, engine, username: str | None):
    client = app.test_client()
    if username:
        log_in_session(client, engine, username)
    return client


def test_no_page_of_the_demo_shows_an_internal_code(demo_app, wf_engine):
    pattern = code_pattern(known_codes(wf_engine))
    problems, visited = [], 0
    for username in ROLES:
        client = client_as(demo_app, wf_engine, username)
        pages, found = walk(client, ["/", "/inbox/", "/portal/", "/instances/", "/public/notices", "/public/lists",
                                     "/processes/", "/audit/", "/admin/incidents", "/admin/calendar"], pattern)
        visited += len(pages)
        problems += [f"{username or 'visitor'} {p}" for p in found]
    assert visited > 200, f"the walk reached only {visited} pages"
    assert not problems, "internal codes or errors on the pages:\n" + "\n".join(problems[:60])


def test_no_english_page_shows_an_internal_code(demo_app, wf_engine):
    codes = {c for c in known_codes(wf_engine) if "_" in c or "-" in c}
    pattern = code_pattern(codes)
    problems = []
    for username in EN_ROLES:
        client = client_as(demo_app, wf_engine, username)
        _pages, found = walk(client, ["/", "/inbox/", "/portal/", "/instances/", "/public/notices"], pattern,
                             lang="en")
        problems += [f"{username or 'visitor'} {p}" for p in found]
    assert not problems, "internal codes or errors on the English pages:\n" + "\n".join(problems[:60])


def test_the_walk_finds_a_code_where_there_is_one():
    """The check itself: a decision code or an actor in the visible text is found, in an attribute it is not."""
    pattern = code_pattern({"no_objection", "pass", "county-520302", "city"})
    assert pattern.search(visible_text("<p>审核 · pass · 材料齐全</p>"))
    for text, is_code in (("审核层级city审核开始", True), ("（city）", True), ("should follow a city listing", False),
                          ("无异议 no_objection in a sentence", True)):
        match = pattern.search(text)
        assert match and in_english_words(text, match) is not is_code, text
    assert pattern.search(visible_text("<li>公示开始 county-520302</li>"))
    assert pattern.search(visible_text("<li>异议 public:objection-e6e9</li>"))
    assert not pattern.search(visible_text('<p><input type="radio" value="pass"> 通过</p><a href="/x?u=county-520302">x</a>'))
    assert not pattern.search(visible_text("<p>password 统一社会信用代码 91520302MA0000001K</p>"))
