"""Every date a person types is YYYY-MM-DD in both languages (issue 15 item 10).

A browser's own date picker (``<input type="date">``) shows the browser's locale: mm/dd/yyyy under an
English Chromium.  Date fields are text with the ISO pattern instead (``web/templates/_dates.html``).
"""
from __future__ import annotations

import pathlib

import pytest

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "web" / "templates"


def test_no_template_uses_the_browsers_date_picker():
    offenders = [str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                 if 'type="date"' in p.read_text(encoding="utf-8")]
    assert offenders == []


@pytest.mark.parametrize(("username", "path", "field"), [
    ("auditor", "/audit/", "from"),
    ("auditor", "/audit/access-log", "since"),
    ("auditor", "/audit/export", "until"),
    ("province", "/records/credit", "occurred_on"),
    ("province", "/records/windows", "opens_on"),
])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_date_fields_read_iso_in_both_languages(site, username, path, field, lang):
    response = site.client(username).get(f"{path}?lang={lang}")
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    assert f'name="{field}"' in html
    field_tag = html[html.rindex("<input", 0, html.index(f'name="{field}"')):]
    field_tag = field_tag[:field_tag.index(">")]
    assert 'type="text"' in field_tag and 'placeholder="YYYY-MM-DD"' in field_tag
